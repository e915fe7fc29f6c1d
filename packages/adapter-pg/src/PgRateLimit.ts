/**
 * Rate-limit windows in PostgreSQL, shared by every instance on the database: the
 * store behind `@zhongbao/adapter-http`'s `RateLimit.RateLimiter` port when several
 * instances serve one platform. Counted in each instance's memory
 * (`RateLimit.layerMemory`), an account could make a window's limit of requests at
 * each instance.
 *
 * Fixed windows, as `layerMemory` counts them: one row per bucket key in the schema's
 * `rate_limit_window` table (migration 7, run by `PgPersistence.layer`), taken by one
 * statement per request, `INSERT … ON CONFLICT DO UPDATE`, so that PostgreSQL's row
 * lock counts concurrent requests of every instance one after another, outside the
 * command's transaction; a refund is one `UPDATE` more. Times are the instances'
 * effect `Clock`: their clocks should agree to well within a window. A refused
 * request is counted up to one over the limit and no further. A key's row is reused
 * from window to window: the table holds one row per account and bucket that was
 * ever limited.
 *
 * This package does not depend on `@zhongbao/adapter-http`: {@link make} returns
 * the port's shape, and the host provides it under the port's tag:
 *
 * ```ts
 * Layer.effect(RateLimit.RateLimiter, PgRateLimit.make({ schema }))
 * ```
 *
 * @since 0.1.3
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Errors } from "@zhongbao/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as PgMigrations from "./PgMigrations.js"
import { isSchemaName, makeDb, read } from "./internal/db.js"

/**
 * A bucket's policy: at most `limit` requests per window of `windowMillis`.
 *
 * @since 0.1.3
 * @category models
 */
export interface Policy {
  readonly limit: number
  readonly windowMillis: number
}

/**
 * Whether a request is allowed, and if not, in how many milliseconds its window ends.
 *
 * @since 0.1.3
 * @category models
 */
export interface Decision {
  readonly allowed: boolean
  readonly retryAfterMillis: number
  /** The start of the window that counted an allowed request. */
  readonly windowStart?: number | undefined
}

/**
 * The limiter: the shape of `@zhongbao/adapter-http`'s `RateLimit.RateLimiter`.
 * `consume` takes a request from the bucket `key`; `refund` gives back a request
 * `consume` allowed (`decision`) if the window that counted it is still the key's,
 * at most `policy.limit` times per window.
 *
 * @since 0.1.3
 * @category models
 */
export interface Limiter {
  readonly consume: (key: string, policy: Policy) => Effect.Effect<Decision, Errors.InfrastructureError>
  readonly refund: (
    key: string,
    policy: Policy,
    decision: Decision
  ) => Effect.Effect<void, Errors.InfrastructureError>
}

/**
 * The limiter on a schema's `rate_limit_window` table (default `zhongbao`), over the
 * `SqlClient` in context; the schema must be migrated (`PgPersistence.layer` does,
 * or `PgMigrations.run`). Fails with an `InfrastructureError` when `schema` is not a
 * lower-case identifier.
 *
 * @since 0.1.3
 * @category constructors
 */
export const make = (
  options: { readonly schema?: string | undefined } = {}
): Effect.Effect<Limiter, Errors.InfrastructureError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const schema = options.schema ?? PgMigrations.defaultSchema
    if (!isSchemaName(schema)) {
      return yield* new Errors.InfrastructureError({
        port: "RateLimiter",
        message: "the schema name must be a lower-case identifier (a-z, 0-9, _; 63 characters at most)"
      })
    }
    const db = makeDb(yield* SqlClient.SqlClient, schema)
    const table = db.t("rate_limit_window")
    // $2 now, $3 the window's length, $4 the limit: a window that has ended starts
    // afresh; in an open one the count goes up, to one over the limit at most.
    const ended = "w.window_start <= $2::int8 - $3::int8"
    const consumeSql = `INSERT INTO ${table} AS w (key, window_start, count, refunded) VALUES ($1, $2::int8, 1, 0)
ON CONFLICT (key) DO UPDATE SET
  window_start = CASE WHEN ${ended} THEN $2::int8 ELSE w.window_start END,
  count = CASE WHEN ${ended} THEN 1 ELSE least(w.count + 1, $4::int8 + 1) END,
  refunded = CASE WHEN ${ended} THEN 0 ELSE w.refunded END
RETURNING window_start, count`
    // $2 the window that counted the request, $3 the limit.
    const refundSql = `UPDATE ${table} SET count = least(count, $3::int8) - 1, refunded = refunded + 1
WHERE key = $1 AND window_start = $2::int8 AND count > 0 AND refunded < $3::int8`
    return {
      consume: (key, policy) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const rows = yield* db.query("RateLimiter.consume", consumeSql, [
            key,
            now,
            policy.windowMillis,
            policy.limit
          ])
          const row = rows[0]!
          const windowStart = read.int(row, "window_start")
          return read.int(row, "count") <= policy.limit
            ? { allowed: true, retryAfterMillis: 0, windowStart }
            : { allowed: false, retryAfterMillis: windowStart + policy.windowMillis - now }
        }),
      refund: (key, policy, decision) =>
        decision.windowStart === undefined
          ? Effect.void
          : Effect.asVoid(
              db.query("RateLimiter.refund", refundSql, [key, decision.windowStart, policy.limit])
            )
    } satisfies Limiter
  })
