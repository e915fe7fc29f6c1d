/**
 * The databases the tests run on: a PostgreSQL server when `DATABASE_URL` is set
 * (CI: postgres://postgres@127.0.0.1:5432/test), the embedded PGlite otherwise. A
 * test file shares one client (one PGlite, or one pool) across its tests; every
 * build of the ports gets a schema of its own, so each conformance test starts from
 * an empty store and files run in parallel. On PostgreSQL the schema is dropped when
 * the build is released; an in-memory PGlite is discarded with its file.
 */
import { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import type { Errors, Persistence } from "@zhongbao/core"
import { type Context, type Duration, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { afterAll } from "vitest"

/** Where a test file runs. */
export type Backend = "postgres" | "pglite"

/** PostgreSQL when `DATABASE_URL` is set, PGlite otherwise. */
export const backend: Backend = process.env.DATABASE_URL ? "postgres" : "pglite"

/** The server's URL. */
export const databaseUrl = (): Redacted.Redacted => Redacted.make(process.env.DATABASE_URL ?? "")

/** The pool size of the tests, and the PGlite socket server's connection limit. */
export const poolSize = 10

type Client = PgClient.PgClient | SqlClient.SqlClient

/** The client layer of a backend (a new pool or a new PGlite each time it is built). */
export const clientLayer = (
  on: Backend,
  options: {
    readonly maxConnections?: number
    readonly connectTimeout?: Duration.DurationInput
    readonly statementTimeout?: Duration.DurationInput
  } = {}
): Layer.Layer<Client, Errors.InfrastructureError> =>
  on === "postgres"
    ? PgDatabase.layerPool({
        url: databaseUrl(),
        maxConnections: options.maxConnections ?? poolSize,
        connectTimeout: options.connectTimeout ?? "60 seconds",
        statementTimeout: options.statementTimeout
      })
    : PgDatabase.layerEmbedded({
        maxConnections: options.maxConnections ?? poolSize,
        connectTimeout: options.connectTimeout ?? "60 seconds"
      })

/**
 * The client of this file: started by the first test that needs it, stopped after
 * the last. Call at the top level of a test file.
 */
export const sharedClient = (on: Backend): Effect.Effect<Context.Context<Client>, unknown> => {
  let runtime: ManagedRuntime.ManagedRuntime<Client, unknown> | undefined
  afterAll(async () => {
    await Promise.all(pendingDrops)
    await runtime?.dispose()
  }, 60_000)
  return Effect.suspend(() => {
    runtime ??= ManagedRuntime.make(clientLayer(on))
    const started = runtime
    return Effect.map(
      Effect.tryPromise(() => started.runtime()),
      (rt) => rt.context
    )
  })
}

let builds = 0

/** A fresh schema name: unique in this process, and across processes. */
export const freshSchema = (prefix = "zbt"): string =>
  `${prefix}_${process.pid}_${Date.now().toString(36)}_${(builds++).toString(36)}`

/** Drops of schemas still running in the background. */
const pendingDrops = new Set<Promise<unknown>>()

/**
 * Drops a schema when the scope closes; in the background with the shared client
 * (the next test need not wait for it; the file waits for every drop at its end),
 * at once with a client of the test's own (whose pool closes right after).
 */
export const dropAfterwards = (schema: string, options: { readonly background: boolean }) =>
  Effect.addFinalizer(() =>
    Effect.flatMap(SqlClient.SqlClient, (sql) => {
      const drop = sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).pipe(Effect.ignore)
      if (!options.background) return drop
      return Effect.sync(() => {
        const running = Effect.runPromise(drop)
        pendingDrops.add(running)
        void running.finally(() => pendingDrops.delete(running))
      })
    })
  )

/** The ports on a schema of a client, with the client in the output for probes. */
export const portsIn = (
  schema: string,
  client: Effect.Effect<Context.Context<Client>, unknown>,
  options: { readonly drop: boolean; readonly background?: boolean }
): Layer.Layer<Persistence.Ports | Client, unknown> =>
  Layer.unwrapEffect(
    Effect.map(client, (context) =>
      Layer.scopedContext(
        Effect.zipRight(
          options.drop ? dropAfterwards(schema, { background: options.background ?? true }) : Effect.void,
          Layer.build(PgPersistence.layer({ schema }))
        )
      ).pipe(Layer.provideMerge(Layer.succeedContext(context)))
    )
  )

/**
 * The ports on a fresh schema of a client, each time the layer is built (the
 * conformance suite builds it once per test).
 */
export const freshPorts = (
  client: Effect.Effect<Context.Context<Client>, unknown>,
  options: { readonly drop: boolean }
): Layer.Layer<Persistence.Ports | Client, unknown> =>
  Layer.unwrapEffect(Effect.sync(() => portsIn(freshSchema(), client, options)))

/** The ports on a schema of a client of its own (built and released with the layer). */
export const portsWith = (
  schema: string,
  client: Layer.Layer<Client, unknown>,
  options: { readonly drop: boolean }
): Layer.Layer<Persistence.Ports | Client, unknown> =>
  Layer.unwrapScoped(
    Effect.map(Layer.build(client), (context) =>
      portsIn(schema, Effect.succeed(context), { ...options, background: false })
    )
  )

/**
 * The ports the conformance suite runs on, for a backend; with `tracing: false` the
 * suite runs untraced, as the example server does, so that statements take the
 * adapter's direct path to the transaction's connection.
 */
export const ports = (
  on: Backend,
  options: { readonly tracing: boolean }
): Layer.Layer<Persistence.Ports, unknown> => {
  const built = freshPorts(sharedClient(on), { drop: on === "postgres" })
  return options.tracing ? built : Layer.merge(built, Layer.setTracerEnabled(false))
}
