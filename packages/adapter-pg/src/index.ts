/**
 * @since 0.1.0
 */
export * as PgDatabase from "./PgDatabase.js"
export * as PgMigrations from "./PgMigrations.js"
export * as PgPersistence from "./PgPersistence.js"
export * as PgRateLimit from "./PgRateLimit.js"
