/**
 * The schema of the adapter as numbered migrations, run by `@effect/sql`'s
 * `Migrator` from a record of effects (so they bundle with the code: no migration
 * files to ship). Every table lives in one PostgreSQL schema (default `zhongbao`),
 * and so does the migrations table (`<schema>.effect_sql_migrations`): several
 * schemas in one database are migrated independently, and a host embedding the
 * adapter in its own database keeps its own migrations apart.
 *
 * | id | name                | what                                                        |
 * | -- | ------------------- | ----------------------------------------------------------- |
 * | 1  | `parties`           | members, accounts, technology managers                      |
 * | 2  | `demands`           | demands, number counters, responses, threads, messages, log |
 * | 3  | `records`           | commissions, audit trail, idempotency records, outbox       |
 * | 4  | `rewards_and_files` | reward rounds, institution profiles, applications, files    |
 * | 5  | `audit_shared`      | R4: index of a demand's trail without response events       |
 * | 6  | `audit_member_shared` | R4: member rows say whether the member is shown the event |
 * | 7  | `rate_limits`       | rate-limit windows shared by instances (`PgRateLimit`)      |
 * | 8  | `selection_responded` | R25: the sweeper's index of open rounds holding responses |
 * | 9  | `list_indexes`      | §9: a member's demands by publication or deadline, responses by status, registered institutions |
 * | 10 | `open_rounds`       | R25, §9: the sweeper's open rounds per service mode, the hall taking responses |
 * | 11 | `audit_append_only` | R60: triggers refusing `UPDATE` and `DELETE` of the audit trail's rows |
 * | 12 | `outbox_last_code`  | R64: a delivery's last failure code, to list dead letters by it |
 * | 13 | `round_window`      | R23: a round's selection window, fixed when it is approved  |
 * | 14 | `outbox_retention`  | R64: settled messages by when they settled, for the purge   |
 * | 15 | `manager_active`    | R1: whether a technology manager is active (retired ones are not named again) |
 * | 16 | `account_reactivated` | §3: when an account was last made active again (older credentials do not act) |
 *
 * Each migration is one multi-statement SQL string, sent in one round trip.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import { Errors } from "@zhongbao/core"
import * as Effect from "effect/Effect"
import { infrastructure, isSchemaName, schemaIdentifier, sqlState } from "./internal/db.js"
import * as Ddl from "./internal/ddl.js"

/**
 * The schema used when none is given.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultSchema = "zhongbao"

/**
 * The name of the migrations table, inside the adapter's schema.
 *
 * @since 0.1.0
 * @category constants
 */
export const migrationsTable = "effect_sql_migrations"

/**
 * The migrations of a schema, keyed `<id>_<name>` as `Migrator.fromRecord` reads
 * them. `schema` is the adapter's schema and `trgmSchema` the schema where the
 * `pg_trgm` extension is installed (its operator class is named with it). Throws a
 * `TypeError` when `schema` is not a lower-case identifier.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrations = (
  schema: string,
  trgmSchema: string
): Record<string, Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient>> => {
  const s = schemaIdentifier(schema)
  const x = `"${trgmSchema.replace(/"/g, '""')}"`
  const exec = (text: string) => Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(sql.unsafe(text)))
  return {
    "1_parties": exec(Ddl.parties(s)),
    "2_demands": exec(Ddl.demands(s, x)),
    "3_records": exec(Ddl.records(s)),
    "4_rewards_and_files": exec(Ddl.rewards(s)),
    "5_audit_shared": exec(Ddl.auditShared(s)),
    "6_audit_member_shared": exec(Ddl.auditMemberShared(s)),
    "7_rate_limits": exec(Ddl.rateLimits(s)),
    "8_selection_responded": exec(Ddl.selectionResponded(s)),
    "9_list_indexes": exec(Ddl.listIndexes(s)),
    "10_open_rounds": exec(Ddl.openRounds(s)),
    "11_audit_append_only": exec(Ddl.auditAppendOnly(s)),
    "12_outbox_last_code": exec(Ddl.outboxLastCode(s)),
    "13_round_window": exec(Ddl.roundWindow(s)),
    "14_outbox_retention": exec(Ddl.outboxRetention(s)),
    "15_manager_active": exec(Ddl.managerActive(s)),
    "16_account_reactivated": exec(Ddl.accountReactivated(s))
  }
}

/**
 * The id of the last migration of this version of the adapter.
 *
 * @since 0.1.0
 * @category constants
 */
export const latest: number = Math.max(
  ...Object.keys(migrations(defaultSchema, "public")).map((key) => Number.parseInt(key, 10))
)

/**
 * Fails when the schema is not migrated to {@link latest}: its migrations table is
 * missing (a new database, or a schema name misspelt) or holds an earlier last id.
 * What a host that runs the migrations in a deploy step (`PgPersistence.layer({
 * migrate: false })`) is told at start, instead of answering every request with a
 * `500` on a missing table. A schema migrated further (by a newer version of the
 * adapter) passes. So does a database that does not answer, or any other failure to
 * read the migrations table (a role that may not read it): whether the database
 * serves is the host's readiness probe's to say, as when the layer is built without
 * this check. A schema name that is not a lower-case identifier is refused, as `run`
 * refuses it.
 *
 * @since 0.1.0
 * @category migrations
 */
export const check = (options: {
  readonly schema?: string | undefined
}): Effect.Effect<void, Errors.InfrastructureError, SqlClient.SqlClient> => {
  const schema = options.schema ?? defaultSchema
  if (!isSchemaName(schema)) return Effect.fail(badSchemaName())
  return Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const table = `"${schema}".${migrationsTable}`
    const [found] = yield* sql.unsafe<{ readonly present: boolean }>(
      "SELECT to_regclass($1) IS NOT NULL AS present",
      [table]
    )
    const [last] =
      found?.present === true
        ? yield* sql.unsafe<{ readonly id: number | null }>(`SELECT max(migration_id) AS id FROM ${table}`)
        : [{ id: null }]
    return last?.id ?? 0
  }).pipe(
    Effect.orElseSucceed(() => latest),
    Effect.flatMap((ran) =>
      ran >= latest
        ? Effect.void
        : Effect.fail(
            new Errors.InfrastructureError({
              port: "PgMigrations",
              message: `the schema "${schema}" is not migrated (its last migration ${ran}, this version's ${latest}): run PgMigrations.run before the servers start, or let them migrate`
            })
          )
    )
  )
}

const badSchemaName = () =>
  new Errors.InfrastructureError({
    port: "PgMigrations",
    message: "the schema name must be a lower-case identifier (a-z, 0-9, _; 63 characters at most)"
  })

/** Runs a statement that a concurrent starter may run at the same time; its loss is no failure. */
const racing = (effect: Effect.Effect<unknown, SqlError.SqlError>) =>
  Effect.catchIf(
    Effect.asVoid(effect),
    (e) => ["23505", "42P06", "42P07", "42710"].includes(sqlState(e) ?? ""),
    () => Effect.void
  )

/**
 * Finds the schema of the `pg_trgm` extension, creating the extension (in the
 * database's default schema for new objects, usually `public`) when it is missing.
 */
const trgmSchema = (sql: SqlClient.SqlClient) => {
  const find = Effect.map(
    sql.unsafe<{ readonly schema: string }>(
      `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
       WHERE e.extname = 'pg_trgm'`
    ),
    (rows) => rows[0]?.schema
  )
  return Effect.flatMap(find, (found) =>
    found !== undefined
      ? Effect.succeed(found)
      : Effect.zipRight(
          racing(sql.unsafe("CREATE EXTENSION IF NOT EXISTS pg_trgm")),
          Effect.flatMap(find, (again) =>
            again === undefined
              ? Effect.dieMessage("pg_trgm was created but cannot be found")
              : Effect.succeed(again)
          )
        )
  )
}

/**
 * Creates the schema if it is missing, makes sure `pg_trgm` is installed and runs
 * the migrations the schema has not run yet, under the `Migrator`'s table lock
 * (several instances starting at once migrate once: the others wait for it). The
 * migrations run without the connection's `statement_timeout`, so that neither a
 * long migration nor the wait for another instance's is cancelled. Answers the
 * migrations run.
 * Fails with an `InfrastructureError` (port `PgMigrations`) when the schema name
 * is not a lower-case identifier or the database refuses.
 *
 * @since 0.1.0
 * @category migrations
 */
export const run = (options: {
  readonly schema?: string | undefined
}): Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Errors.InfrastructureError,
  SqlClient.SqlClient
> => {
  const schema = options.schema ?? defaultSchema
  if (!isSchemaName(schema)) return Effect.fail(badSchemaName())
  return Effect.gen(function* () {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    // Existing objects are looked up first: a role without CREATE on the database
    // (a schema provisioned by a DBA) can still migrate inside its schema.
    const [found] = yield* sql.unsafe<{ readonly schema: boolean; readonly table: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS schema,
         to_regclass($2) IS NOT NULL AS table`,
      [schema, `"${schema}".${migrationsTable}`]
    )
    if (found?.schema !== true) yield* racing(sql.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`))
    const trgm = yield* trgmSchema(sql)
    if (found?.table !== true) {
      yield* racing(
        sql.unsafe(`CREATE TABLE IF NOT EXISTS "${schema}".${migrationsTable} (
          migration_id integer PRIMARY KEY,
          created_at timestamptz NOT NULL DEFAULT now(),
          name text NOT NULL)`)
      )
    }
    // The pool's statement_timeout bounds requests, not migrations: an instance
    // waits for another's migration (the Migrator's table lock) as long as it takes,
    // and a migration of a large table is not cancelled halfway and retried at every
    // start. The Migrator's own transaction becomes a savepoint of this one.
    return yield* sql
      .withTransaction(
        Effect.zipRight(
          sql.unsafe("SET LOCAL statement_timeout = 0"),
          Migrator.make({})({
            loader: Migrator.fromRecord(migrations(schema, trgm)),
            table: `${schema}.${migrationsTable}`
          })
        )
      )
      .pipe(Effect.provideService(SqlClient.SqlClient, sql))
  }).pipe(
    Effect.catchAll((error) => Effect.fail(infrastructure("PgMigrations.run", unwrap(error)))),
    Effect.catchAllDefect((defect) => Effect.fail(infrastructure("PgMigrations.run", unwrap(defect))))
  )
}

/** A failed migration dies with a `MigrationError` whose cause is the `SqlError`. */
const unwrap = (error: unknown): unknown =>
  error instanceof Migrator.MigrationError && error.cause !== undefined ? error.cause : error
