/**
 * Every persistence port of `@zhongbao/core` on PostgreSQL, through `@effect/sql`.
 * The same code serves a PostgreSQL server and the embedded PGlite:
 *
 * ```ts
 * import { PgPersistence } from "@zhongbao/adapter-pg"
 * import { Zhongbao, Settings } from "@zhongbao/core"
 *
 * // a PostgreSQL server, configured from DATABASE_URL & co.
 * const ports = PgPersistence.layerConfig()
 * // or PGlite in a folder, for trying things out
 * const embedded = PgPersistence.layerEmbedded({ dataDir: "./data" })
 * // or the host's own SqlClient, tables in the schema "crowd"
 * const hosted = PgPersistence.layer({ schema: "crowd" })
 * ```
 *
 * Building a layer migrates its schema (see `PgMigrations`). The database holds
 * the invariants on its own: unique keys, partial unique indexes (one active
 * response, one open commission), foreign keys and checks. Concurrency is the
 * database's: units of work are transactions (nested ones savepoints),
 * a demand's and a thread's `…ForUpdate` reads are `SELECT … FOR UPDATE` (a
 * member's `FOR NO KEY UPDATE`, a commission's and a round's `…ForShare` reads
 * `FOR SHARE`), versioned updates compare the
 * version in their `WHERE`, numbers come from a counter row, the outbox is claimed
 * with `FOR UPDATE SKIP LOCKED`.
 *
 * Round trips: the adapter has core's optional capabilities, so a command reads its
 * actor (account and member, and with an idempotency key the account's record under
 * it) in one statement, a response with its demand locked
 * in one, and writes its audit events, notifications (phones joined from the
 * accounts) and idempotency record in one (`Persistence.Journal`).
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Errors, FileStore, Persistence } from "@zhongbao/core"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PgDatabase from "./PgDatabase.js"
import * as PgMigrations from "./PgMigrations.js"
import { makeConsultations, makeServiceLog } from "./internal/consultation.js"
import { isSchemaName, makeDb } from "./internal/db.js"
import { makeDemands } from "./internal/demands.js"
import { makeFiles } from "./internal/files.js"
import { makeJournal } from "./internal/journal.js"
import { makeOutbox } from "./internal/outbox.js"
import { makeAccounts, makeManagers, makeMembers } from "./internal/parties.js"
import { makeAudit, makeCommissions, makeIdempotency, makeNumbering } from "./internal/records.js"
import { makeResponses } from "./internal/responses.js"
import { makeRewards } from "./internal/rewards.js"
import { makeStatistics } from "./internal/statistics.js"
import { makeUnitOfWork } from "./internal/unitOfWork.js"

/**
 * Options of the ports.
 *
 * - `schema`: the PostgreSQL schema of every table (default `zhongbao`), created
 *   if missing; a lower-case identifier;
 * - `migrate`: whether building the layer runs the migrations (default `true`);
 *   with `false` the host runs `PgMigrations.run` itself, e.g. in a deploy step, and
 *   building the layer fails on a schema not migrated that far (`PgMigrations.check`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly schema?: string | undefined
  readonly migrate?: boolean | undefined
}

/**
 * What the adapter provides: every port of `Persistence.Ports`, with their optional
 * one-round-trip capabilities, and the optional `Persistence.Journal`.
 *
 * @since 0.1.1
 * @category models
 */
export type Provided = Persistence.Ports | Persistence.Journal

/**
 * The ports over a client, without migrating. Throws a `TypeError` when `schema` is
 * not a lower-case identifier (a-z, 0-9, _; 63 characters at most).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePorts = (
  client: SqlClient.SqlClient,
  schema: string = PgMigrations.defaultSchema
): Context.Context<Provided> => {
  const db = makeDb(client, schema)
  return Context.make(Persistence.MemberRepository, makeMembers(db)).pipe(
    Context.add(Persistence.AccountRepository, makeAccounts(db)),
    Context.add(Persistence.TechnologyManagerRepository, makeManagers(db)),
    Context.add(Persistence.DemandRepository, makeDemands(db)),
    Context.add(Persistence.ResponseRepository, makeResponses(db)),
    Context.add(Persistence.ConsultationRepository, makeConsultations(db)),
    Context.add(Persistence.ServiceLogRepository, makeServiceLog(db)),
    Context.add(Persistence.CommissionRepository, makeCommissions(db)),
    Context.add(Persistence.AuditRepository, makeAudit(db)),
    Context.add(Persistence.IdempotencyRepository, makeIdempotency(db)),
    Context.add(Persistence.DemandNumbering, makeNumbering(db)),
    Context.add(Persistence.Outbox, makeOutbox(db)),
    Context.add(Persistence.RewardRepository, makeRewards(db)),
    Context.add(Persistence.StatisticsSource, makeStatistics(db)),
    Context.add(FileStore.FileStore, makeFiles(db)),
    Context.add(Persistence.UnitOfWork, makeUnitOfWork(db)),
    Context.add(Persistence.Journal, makeJournal(db))
  )
}

/**
 * Every port of `Persistence.Ports` over the `SqlClient` in context (a `PgClient`
 * of the host, or one of `PgDatabase`), its schema migrated first.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<Provided, Errors.InfrastructureError, SqlClient.SqlClient> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const schema = options.schema ?? PgMigrations.defaultSchema
      if (options.migrate !== false) yield* PgMigrations.run({ schema })
      else if (!isSchemaName(schema)) {
        return yield* new Errors.InfrastructureError({
          port: "PgPersistence",
          message: "the schema name must be a lower-case identifier (a-z, 0-9, _; 63 characters at most)"
        })
      } else yield* PgMigrations.check({ schema })
      return makePorts(yield* SqlClient.SqlClient, schema)
    })
  )

/**
 * Every port over a PostgreSQL server configured from effect `Config`
 * (`PgDatabase.config`: `DATABASE_URL`, `DATABASE_POOL_SIZE`,
 * `DATABASE_CONNECT_TIMEOUT`, `DATABASE_STATEMENT_TIMEOUT`,
 * `DATABASE_PREPARED_STATEMENTS`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Options & { readonly config?: Parameters<typeof PgDatabase.layerConfig>[0] } = {}
): Layer.Layer<Provided, ConfigError.ConfigError | Errors.InfrastructureError> =>
  layer(options).pipe(Layer.provide(PgDatabase.layerConfig(options.config)))

/**
 * Every port over an embedded PGlite served by pglite-socket: in memory, or in
 * `dataDir`; `maxConnections` is the socket server's limit (default 10), the
 * adapter's pool has one connection (`PgDatabase.layerEmbeddedClient`). The database
 * stops when the layer is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEmbedded = (
  options: Options & PgDatabase.EmbeddedOptions = {}
): Layer.Layer<Provided, Errors.InfrastructureError> =>
  layer(options).pipe(Layer.provide(PgDatabase.layerEmbedded(options)))
