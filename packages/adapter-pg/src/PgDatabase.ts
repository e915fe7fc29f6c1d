/**
 * The database connection of the adapter: an `@effect/sql-pg` `PgClient` (which is
 * also the generic `SqlClient`) over a `pg` pool, either to a PostgreSQL server
 * (from explicit options or from effect `Config`) or to an embedded PGlite served
 * by pglite-socket. `PgPersistence` builds the ports on any of these, or on a
 * client the host already has.
 *
 * Pool sizing: every open unit of work holds one connection until it commits, and
 * every statement outside a unit of work borrows one for its duration. A caller
 * waiting longer than `connectTimeout` for a free connection fails with an
 * `InfrastructureError` — `pg`'s pool would otherwise wait forever.
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlError from "@effect/sql/SqlError"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Errors } from "@zhongbao/core"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Pg from "pg"
import * as Client from "./internal/client.js"
import { infrastructure, poolOf, statementNamesOf } from "./internal/db.js"
import * as Embedded from "./internal/embedded.js"
import * as Prepared from "./internal/prepared.js"

/**
 * Options of a pool to a PostgreSQL server. Either `url` or the parts of it.
 *
 * - `maxConnections`: the pool size (default 10);
 * - `connectTimeout`: how long a caller waits to connect or for a free connection
 *   (default 10 seconds);
 * - `statementTimeout`: PostgreSQL's `statement_timeout` for every connection
 *   (default none);
 * - `idleTimeout`: how long an unused connection stays open (default 10 seconds);
 *
 * A timeout of zero (or an infinite one) is none, as `pg` and PostgreSQL read 0.
 * - `pipelining`: `pg`'s pipeline mode (default `true`): statements issued together
 *   on one connection (the writes a use case defers and its journal, see core's
 *   `Ctx.writeLater`) are written before the first is answered, in one round trip,
 *   each with its own Sync, so each is answered (or fails) on its own. `pg` refuses
 *   cursors (`pg-cursor`, `sql.stream`) on such a connection; set `false` to stream
 *   rows through this client.
 * - `preparedStatements`: whether statements with parameters are sent as named
 *   prepared statements, parsed once per connection (default `true`): outside a
 *   unit of work (lists, look-ups, writes made on their own), each execution still
 *   planned with its own values (the connections set `plan_cache_mode =
 *   force_custom_plan`; PostgreSQL's CPU per public-hall page fell by about a
 *   quarter), and inside the adapter's own units of work, the statement that carries
 *   BEGIN included, with PostgreSQL's own choice of plan (`SET LOCAL plan_cache_mode =
 *   auto` travels with BEGIN; PostgreSQL's CPU per respond fell from about 2.0 to
 *   1.1–1.2 ms). Set `false`
 *   behind a pooler that does not keep prepared statements per client (PgBouncer
 *   before 1.21 in transaction mode); a prepared statement that has gone missing is
 *   otherwise sent again unnamed (a unit of work runs again from its start), and that
 *   text stays unnamed.
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolOptions {
  readonly url?: Redacted.Redacted | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly database?: string | undefined
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted | undefined
  readonly ssl?: boolean | undefined
  readonly maxConnections?: number | undefined
  readonly connectTimeout?: Duration.DurationInput | undefined
  readonly statementTimeout?: Duration.DurationInput | undefined
  readonly idleTimeout?: Duration.DurationInput | undefined
  readonly applicationName?: string | undefined
  readonly pipelining?: boolean | undefined
  readonly preparedStatements?: boolean | undefined
}

/**
 * The pool size when none is given.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxConnections = 10

/**
 * The connect timeout when none is given.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultConnectTimeout: Duration.Duration = Duration.seconds(10)

/** A timeout for `pg` and PostgreSQL, where 0 is none: zero or infinite is 0, anything else at least 1 ms. */
const millis = (d: Duration.DurationInput | undefined) => {
  if (d === undefined) return undefined
  const ms = Duration.toMillis(Duration.decode(d))
  return ms === 0 || !Number.isFinite(ms) ? 0 : Math.max(1, Math.round(ms))
}

const poolConfig = (options: PoolOptions): Pg.PoolConfig => {
  const statementTimeout = millis(options.statementTimeout)
  return {
    ...(options.url === undefined ? {} : { connectionString: Redacted.value(options.url) }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.database === undefined ? {} : { database: options.database }),
    ...(options.username === undefined ? {} : { user: options.username }),
    ...(options.password === undefined ? {} : { password: Redacted.value(options.password) }),
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    max: options.maxConnections ?? defaultMaxConnections,
    connectionTimeoutMillis: millis(options.connectTimeout ?? defaultConnectTimeout),
    idleTimeoutMillis: millis(options.idleTimeout ?? Duration.seconds(10)),
    ...(statementTimeout === undefined ? {} : { statement_timeout: statementTimeout }),
    application_name: options.applicationName ?? "zhongbao",
    ...(options.pipelining === false ? {} : ({ pipeline: true } as Pg.PoolConfig))
  }
}

/**
 * A pool, checked with one query, ended when the scope closes. An error of an idle
 * connection (a terminated backend) only removes it from the pool.
 */
const acquirePool = (config: Pg.PoolConfig, options: PoolKind) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const pool = new Pg.Pool({
        ...config,
        // pg-pool hands its options to each client it makes (`client.ts`, 6.).
        ...(options.named ? { beginSetting: Prepared.transactionPlans } : {}),
        Client: (options.embedded ? Client.EmbeddedClient : Client.Client) as unknown as NonNullable<
          Pg.PoolConfig["Client"]
        >,
        // pg-pool waits for it before a new connection's first use. Should it fail, plans are PostgreSQL's default.
        ...(options.named
          ? {
              onConnect: (client: Pg.ClientBase) =>
                client.query(Prepared.customPlans).then(
                  () => undefined,
                  () => undefined
                )
            }
          : {})
      })
      pool.on("error", () => {})
      if (options.named) statementNamesOf.set(pool, Prepared.makeStatementNames())
      if (options.embedded) {
        // PgClient cancels an interrupted statement with `pg_cancel_backend(processID)`
        // on another connection. PGlite runs that query only after the interrupted
        // connection's transaction ends, which waits for the interruption: without a
        // process id the statement simply runs to its end instead.
        pool.on("connect", (client) => {
          ;(client as { processID?: number | undefined }).processID = undefined
        })
      }
      return pool
    }),
    (pool) => Effect.promise(() => pool.end().catch(() => undefined))
  ).pipe(
    Effect.tap((pool) =>
      Effect.tryPromise({
        try: () => pool.query("SELECT 1"),
        catch: (cause) => new SqlError.SqlError({ cause, message: "PgDatabase: failed to connect" })
      })
    )
  )

/**
 * What kind of pool: to the embedded database (its client class, no process id), and
 * whether it names statements (never on the embedded database, whose one backend
 * serves every connection: a name one connection prepared would be taken on the next).
 */
interface PoolKind {
  readonly embedded: boolean
  readonly named: boolean
}

/** The client over a pool of its own; the pool is known to the adapter (`poolOf`) for its direct statements. */
const clientLayer = (config: Pg.PoolConfig, options: PoolKind) =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const pool = yield* acquirePool(config, options)
      const client = yield* PgClient.fromPool({ acquire: Effect.succeed(pool) })
      poolOf.set(client, pool)
      return Context.make(PgClient.PgClient, client).pipe(Context.add(SqlClient.SqlClient, client))
    })
  ).pipe(
    Layer.provide(Reactivity.layer),
    Layer.mapError((error) => infrastructure("PgDatabase.connect", error))
  )

/**
 * A client over a new pool to a PostgreSQL server.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPool = (
  options: PoolOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, Errors.InfrastructureError> =>
  clientLayer(poolConfig(options), { embedded: false, named: options.preparedStatements !== false })

/**
 * `DATABASE_URL`, required and not blank, as `Redacted`. Not `Config.redacted`: its
 * failures all read `"<redacted>"`, even for a variable that is missing, and it took an
 * empty one. Here the messages name the variable and never hold its value.
 */
const requiredUrl: Config.Config<Redacted.Redacted<string>> = Config.string("DATABASE_URL").pipe(
  Config.mapOrFail((url) =>
    url.trim() === ""
      ? Either.left(
          ConfigError.InvalidData(
            [],
            "DATABASE_URL is empty: it must be a PostgreSQL URL, postgres://user@host:port/database"
          )
        )
      : Either.right(Redacted.make(url))
  )
)

/**
 * The pool's options but its address, from effect Config: `DATABASE_POOL_SIZE` (10, a
 * whole number from 1), `DATABASE_CONNECT_TIMEOUT` (10 seconds),
 * `DATABASE_STATEMENT_TIMEOUT` (30 seconds) and `DATABASE_PREPARED_STATEMENTS`
 * (`true`), durations as effect reads them (`"5 seconds"`, `"500 millis"`; `"0
 * seconds"` is no timeout). A value that cannot be read fails naming its variable. A
 * host that reads its configuration up front (before it starts anything) reads these
 * with it, and gives them to {@link layerPool} with its own URL.
 *
 * @since 0.2.0
 * @category config
 */
export const poolSettingsConfig: Config.Config<
  Required<Pick<PoolOptions, "maxConnections" | "connectTimeout" | "statementTimeout" | "preparedStatements">>
> = Config.all({
  maxConnections: Config.integer("DATABASE_POOL_SIZE").pipe(
    Config.withDefault(defaultMaxConnections),
    Config.mapOrFail((n) =>
      n >= 1
        ? Either.right(n)
        : Either.left(
            ConfigError.InvalidData(
              ["DATABASE_POOL_SIZE"],
              "DATABASE_POOL_SIZE must be a whole number from 1"
            )
          )
    )
  ),
  connectTimeout: Config.duration("DATABASE_CONNECT_TIMEOUT").pipe(Config.withDefault(defaultConnectTimeout)),
  statementTimeout: Config.duration("DATABASE_STATEMENT_TIMEOUT").pipe(
    Config.withDefault(Duration.seconds(30))
  ),
  preparedStatements: Config.boolean("DATABASE_PREPARED_STATEMENTS").pipe(Config.withDefault(true))
})

/**
 * The options `layerConfig` reads by default: `DATABASE_URL` (required) and
 * {@link poolSettingsConfig}.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<PoolOptions> = Config.map(
  Config.all({ url: requiredUrl, settings: poolSettingsConfig }),
  ({ url, settings }) => ({ url, ...settings })
)

/**
 * A client over a new pool configured from effect `Config` ({@link config} by
 * default).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config<PoolOptions> = config
): Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  ConfigError.ConfigError | Errors.InfrastructureError
> => Layer.unwrapEffect(Effect.map(options, layerPool))

/**
 * Options of the embedded database.
 *
 * - `dataDir`: PGlite's data folder, made with its parents when missing (in memory
 *   when absent);
 * - `maxConnections`: the connections the socket server accepts (default 10); the
 *   adapter's own pool has one (see {@link layerEmbeddedClient});
 * - `connectTimeout`: how long a caller waits for a free connection (default 30
 *   seconds: PGlite runs one statement at a time, so waits are longer);
 * - `lockTimeout`: how long to wait for the data folder when another process holds
 *   it (default 5 seconds; `0`: fail at once; `Duration.infinity`: wait for it). A
 *   lock its holder stopped refreshing, as a killed process does, is taken over 30
 *   seconds after its last refresh.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbeddedOptions {
  readonly dataDir?: string | undefined
  readonly maxConnections?: number | undefined
  readonly connectTimeout?: Duration.DurationInput | undefined
  readonly lockTimeout?: Duration.DurationInput | undefined
}

/**
 * A running embedded database: PGlite served on `host:port` to at most
 * `maxConnections` connections.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbeddedServer {
  readonly host: string
  readonly port: number
  readonly maxConnections: number
}

/**
 * Starts PGlite (with the `pg_trgm` extension) and a pglite-socket server on
 * 127.0.0.1 and a free port; both stop when the scope closes. One process at a time
 * may open a data folder (PGlite itself has no lock, and two processes on one folder
 * lose each other's writes): it holds the lock `zhongbao.lock` in it, refreshed every
 * 2 seconds, while it runs; another process (or a second layer of the same one)
 * waits for it up to `lockTimeout`, then fails with an `InfrastructureError` naming
 * the folder. A lock not refreshed for 30 seconds (its process killed) is taken
 * over. A holder whose lock was taken (its process frozen for longer) stops the
 * process rather than write on. In memory (no `dataDir`, or `memory://`), the
 * process's first start runs PGlite's `initdb` and keeps a dump of the empty
 * database it made, which later in-memory starts load instead (about twice as
 * fast). PGlite has one
 * backend: statements of different connections run one after another, a
 * transaction holds the database until it ends, and `statement_timeout` cannot
 * cancel a running statement.
 *
 * @since 0.1.0
 * @category embedded
 */
export const startEmbedded = (
  options: Pick<EmbeddedOptions, "dataDir" | "maxConnections" | "lockTimeout"> = {}
): Effect.Effect<EmbeddedServer, Errors.InfrastructureError, Scope.Scope> =>
  Embedded.start({
    dataDir: options.dataDir,
    maxConnections: options.maxConnections ?? defaultMaxConnections,
    lockWaitMillis:
      options.lockTimeout === undefined
        ? Embedded.defaultLockWaitMillis
        : Duration.toMillis(Duration.decode(options.lockTimeout))
  })

/**
 * A client of a running embedded server, with a pool of one connection.
 * pglite-socket queues the protocol messages of its connections one by one and, while
 * no transaction is open, runs them in arrival order: the Parse, Bind and Execute of
 * two connections' statements interleave on PGlite's one backend, and one connection
 * binds or runs another's unnamed statement (wrong rows, writes with another
 * statement's values, `26000`/`34000`). One connection sends one statement at a
 * time; PGlite runs one at a time anyway. A unit of work holds the connection until
 * it ends, as it holds the whole database. The server's other connections
 * (`maxConnections`) are for tools (`psql`), whose statements can interleave so.
 *
 * @since 0.1.0
 * @category embedded
 */
export const layerEmbeddedClient = (
  server: EmbeddedServer,
  options: Pick<EmbeddedOptions, "connectTimeout"> = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, Errors.InfrastructureError> =>
  clientLayer(
    poolConfig({
      host: server.host,
      port: server.port,
      username: "postgres",
      database: "postgres",
      maxConnections: 1,
      connectTimeout: options.connectTimeout ?? Duration.seconds(30),
      pipelining: false
    }),
    { embedded: true, named: false }
  )

/**
 * An embedded database and a client of it: {@link startEmbedded} then
 * {@link layerEmbeddedClient}. Everything stops when the layer is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEmbedded = (
  options: EmbeddedOptions = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, Errors.InfrastructureError> =>
  Layer.unwrapScoped(Effect.map(startEmbedded(options), (server) => layerEmbeddedClient(server, options)))
