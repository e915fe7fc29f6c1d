/**
 * The example server as a value: the layers of every package composed from the
 * configuration, mounted on a `node:http` server with health and readiness probes,
 * the outbox dispatcher and the selection sweeper running, and demo data seeded as
 * `SEED` says.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { type AddressInfo, isIPv6 } from "node:net"
import { Authentication, Mount, RateLimit } from "@zhongbao/adapter-http"
import { PgDatabase, PgPersistence, PgRateLimit } from "@zhongbao/adapter-pg"
import { AliyunSms, ConsoleSms, TencentSms, Transport } from "@zhongbao/adapter-sms"
import { Dispatcher, Ids, Persistence, Settings, Sweeper, Zhongbao } from "@zhongbao/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { instanceNumber, listensEarly } from "./cluster.js"
import type { ServerConfig } from "./config.js"
import { type DemoAccount, demoAccounts, seed } from "./seed.js"

/** The running server. */
export interface App {
  readonly server: Server
  readonly url: string
  readonly demo: ReadonlyArray<DemoAccount & { readonly token: string }> | null
  readonly stop: () => Promise<void>
}

/** The configured database: `DATABASE_URL`'s PostgreSQL or PGlite in `DATA_DIR`. */
export const database = (config: ServerConfig) =>
  Option.isSome(config.databaseUrl)
    ? PgDatabase.layerPool({ url: config.databaseUrl.value, ...config.pool })
    : PgDatabase.layerEmbedded({ dataDir: config.dataDir })

/** The ports on the configured database, migrated unless `MIGRATE=false`; its `SqlClient` too. */
export const persistence = (config: ServerConfig) =>
  PgPersistence.layer({ schema: config.schema, migrate: config.migrate }).pipe(
    Layer.provideMerge(database(config))
  )

/**
 * `RATE_LIMIT_STORE`: the limits counted in the database's `rate_limit_window`
 * table, shared by every instance, or in this process's memory.
 */
const rateLimiter = <E>(
  config: ServerConfig,
  persisted: Layer.Layer<Layer.Layer.Success<ReturnType<typeof persistence>>, E>
) =>
  config.rateLimitStore === "memory"
    ? RateLimit.layerMemory
    : Layer.effect(RateLimit.RateLimiter, PgRateLimit.make({ schema: config.schema })).pipe(
        Layer.provide(persisted)
      )

const sms = (config: ServerConfig) =>
  config.smsProvider === "aliyun"
    ? AliyunSms.layerConfig().pipe(Layer.provide(Transport.layerUndici()))
    : config.smsProvider === "tencent"
      ? TencentSms.layerConfig().pipe(Layer.provide(Transport.layerUndici()))
      : ConsoleSms.layerConfig

/** The server's logger: JSON lines or pretty ones, each naming its instance when it is one of several. */
const loggerOf = (config: ServerConfig) => {
  const instance = instanceNumber()
  const format =
    config.logFormat === "json" ? Logger.withConsoleLog(Logger.jsonLogger) : Logger.prettyLogger()
  return Logger.replace(
    Logger.defaultLogger,
    instance === null
      ? format
      : Logger.mapInputOptions(format, (options) => ({
          ...options,
          annotations: HashMap.set(options.annotations, "instance", instance)
        }))
  )
}

/** Every service the server runs, over the configured database and SMS provider. */
export const layer = (config: ServerConfig) => {
  const { outbox, ...rest } = config.settings
  const settings = Settings.layer({
    ...rest,
    ...(typeof outbox === "object" && outbox !== null
      ? { outbox: { ...Settings.defaults.outbox, ...outbox } }
      : {})
  } as Partial<Settings.PlatformSettings>).pipe(
    Layer.mapError((error) => new Error(`SETTINGS_JSON: ${error.field}: ${error.message}`)),
    Layer.orDie
  )
  const persisted = persistence(config)
  // The settings and the SMS sender's configuration first: a value they refuse stops
  // the start before the database is reached or made.
  const base = persisted.pipe(
    Layer.provideMerge(Layer.merge(settings, sms(config).pipe(Layer.provide(settings))))
  )
  const core = Layer.mergeAll(Zhongbao.layer, Zhongbao.layerWorkers).pipe(Layer.provideMerge(base))
  const sessions = Option.match(config.sessionSecret, {
    onNone: () => Authentication.layerSessionsMemory(),
    onSome: (secret) => Authentication.layerSessionsSigned({ secret })
  })
  const auth = Authentication.layerBearer.pipe(Layer.provideMerge(sessions))
  const logger = loggerOf(config)
  const rateLimits = Layer.merge(rateLimiter(config, base), RateLimit.layerPolicies(config.rateLimits))
  // No tracer exports spans here: the runtime (the workers, the seeding) makes none,
  // and the HTTP handler makes none (`tracing: false` below).
  // The logger both for the runtime and for building the services (the database's
  // start logs too).
  return Layer.mergeAll(core, auth, rateLimits, logger, Layer.setTracerEnabled(false)).pipe(
    Layer.provide(logger)
  )
}

/** How long a stopping server waits for open connections before it cuts them. */
const drainMillis = 20_000

const json = (res: import("node:http").ServerResponse, status: number, body: unknown) => {
  res.statusCode = status
  res.setHeader("content-type", "application/json")
  res.end(JSON.stringify(body))
}

/**
 * The host part of the server's URL: a loopback address for a wildcard one (`0.0.0.0`,
 * `::`), an IPv6 address in brackets.
 */
export const hostOfUrl = (host: string): string =>
  host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : isIPv6(host) ? `[${host}]` : host

/**
 * `ACCESS_LOG`: one line per request once its answer is sent (or its connection
 * closed first): method, path with its query, status, milliseconds. The request's
 * headers are not logged (they carry tokens).
 */
const logRequest = (
  runtime: { readonly runFork: (effect: Effect.Effect<void>) => unknown },
  req: IncomingMessage,
  res: ServerResponse
) => {
  const started = performance.now()
  const done = () => {
    res.off("finish", done)
    res.off("close", done)
    const millis = Math.round((performance.now() - started) * 10) / 10
    runtime.runFork(
      Effect.logInfo("request").pipe(
        Effect.annotateLogs({
          method: req.method,
          path: req.url,
          status: res.writableFinished ? res.statusCode : "closed before the answer was sent",
          millis
        })
      )
    )
  }
  res.on("finish", done)
  res.on("close", done)
}

/** How long `/ready` waits for the database's answer. */
const probeMillis = 2_000

/** How long one answer of the database serves `/ready`'s probes. */
const probeReuseMillis = 1_000

const notReady = { ready: false, reason: "starting or stopping" }

/**
 * The answer to a request that comes while the server starts (a single instance
 * listens from the start), or on a kept-alive connection after it began to stop: the
 * API's `503 Unavailable`, in the caller's language.
 */
const unavailable = (res: ServerResponse, req: IncomingMessage, reason: "starting" | "stopping") => {
  const { status, body, headers } = Mount.unavailable(reason, req.headers["accept-language"])
  res.writeHead(status, headers)
  res.end(body)
}

/**
 * Whether the database answers a read within {@link probeMillis}: an account
 * looked up by an id no account has (any adapter's ports answer it; a database that
 * is unreachable, or lacks zhongbao's tables, fails it).
 */
const databaseAnswers = Effect.flatMap(Persistence.AccountRepository, (accounts) =>
  accounts.findById("ready-probe" as Ids.AccountId)
).pipe(
  Effect.timeout(probeMillis),
  Effect.as(true),
  Effect.catchAllCause(() => Effect.succeed(false))
)

/**
 * Starts the server: listens (a single instance, and the first of several on their first
 * start; the others once ready), migrates
 * (through the persistence layer); with `SEED`, seeds an empty database (or finds the
 * demo accounts of one seeded before) and issues demo tokens; then starts the workers.
 * Until it is ready, requests other than `/health` and `/ready` are answered 503
 * `server.starting`. What it started is stopped again when a step
 * fails (the port taken, the database unreachable), or when `signal` aborts before
 * the server is ready (the migration or the seed under way is interrupted, and rolled
 * back), and the failure is thrown.
 * `/health` answers `{ status: "ok" }`, with the instance's number (`instance`) when
 * it is one of several (`WEB_CONCURRENCY`); `/ready` answers 200 `{ ready: true }`
 * while the server takes requests and its database answers, 503 otherwise (starting,
 * stopping, or the database unreachable: `reason` says which).
 */
export const start = async (config: ServerConfig, signal?: AbortSignal): Promise<App> => {
  let ready = false
  const instance = instanceNumber()
  const mounted = Mount.toNodeListener(layer(config), {
    docs: "/docs",
    tracing: false,
    uploadConcurrency: config.uploadConcurrency,
    uploadConcurrencyPerAccount: config.uploadConcurrencyPerAccount,
    uploadIdleTimeout: Duration.seconds(config.uploadIdleTimeoutSeconds),
    bodyConcurrencyPerAccount: config.bodyConcurrencyPerAccount,
    bodyIdleTimeout: Duration.seconds(config.bodyIdleTimeoutSeconds)
  })
  const runtime = mounted.runtime
  // Probes that arrive together share one read, and its answer serves for a second:
  // a flood of probes does not take the database from the requests.
  let probe: { readonly at: number; readonly answer: Promise<boolean> } | undefined
  const probeDatabase = () => {
    if (probe === undefined || Date.now() - probe.at > probeReuseMillis) {
      probe = { at: Date.now(), answer: runtime.runPromise(databaseAnswers).catch(() => false) }
    }
    return probe.answer
  }
  let stopping = false
  const underWay = new Set<ServerResponse>()
  /**
   * Once the server stops, a response says `Connection: close`, and its connection
   * ends once it is sent (one whose head was already sent ends after it): a client
   * that keeps its connections alive gets no further request served on it.
   */
  const closeAfter = (req: IncomingMessage, res: ServerResponse) => {
    if (!res.headersSent) res.setHeader("Connection", "close")
    else res.once("finish", () => req.socket.end())
  }
  // Node's defaults but for the headers' 60 s, written out: a deployment reads them
  // here; Node checks them every `connectionsCheckingInterval` (30 s by default).
  const timeouts = { headersTimeout: 20_000, requestTimeout: 300_000, connectionsCheckingInterval: 5_000 }
  const server = createServer(timeouts, (req, res) => {
    if (config.accessLog) logRequest(runtime, req, res)
    if (stopping) {
      closeAfter(req, res)
      if (req.url !== "/health" && req.url !== "/ready") return unavailable(res, req, "stopping")
    } else if (!ready && req.url !== "/health" && req.url !== "/ready") {
      return unavailable(res, req, "starting")
    } else {
      underWay.add(res)
      res.once("close", () => underWay.delete(res))
      res.once("finish", () => underWay.delete(res))
    }
    if (req.url === "/health")
      return json(res, 200, instance === null ? { status: "ok" } : { status: "ok", instance })
    if (req.url === "/ready") {
      if (!ready) return json(res, 503, notReady)
      return void probeDatabase().then((answers) =>
        !ready
          ? json(res, 503, notReady)
          : answers
            ? json(res, 200, { ready: true })
            : json(res, 503, { ready: false, reason: "the database does not answer" })
      )
    }
    mounted.listener(req, res)
  })
  server.maxConnections = config.maxConnections
  let workers: ReadonlyArray<Fiber.RuntimeFiber<never, never>> = []
  /**
   * Stops taking requests and answers those under way: idle keep-alive connections
   * are closed at once, the others once their response is sent (a request that comes
   * on one meanwhile is answered 503), and any connection still open after
   * `drainMillis` (a client holding a request half sent) is cut. Then the workers stop (the dispatcher once
   * its sends are recorded) before the database and transports close.
   */
  const stop = async () => {
    ready = false
    stopping = true
    for (const res of underWay) closeAfter(res.req, res)
    if (server.listening) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const cut = setTimeout(() => server.closeAllConnections(), drainMillis)
      await closed
      clearTimeout(cut)
    }
    try {
      if (workers.length > 0) await runtime.runPromise(Effect.forEach(workers, Fiber.interrupt))
    } finally {
      await mounted.dispose()
    }
  }
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(config.port, config.host, () => {
        server.off("error", reject)
        resolve()
      })
    })
  const urlOf = () => `http://${hostOfUrl(config.host)}:${(server.address() as AddressInfo).port}`
  // A single instance, and the first of several on their first start, listens from the
  // start, so that `/health` answers (and `/ready` says it is starting) while the
  // database migrates; the others join the shared port once ready (`listensEarly`).
  const early = listensEarly()
  const database = config.migrate ? "migrating the database" : "checking the database is migrated"
  try {
    if (early) {
      await listen()
      await Effect.runPromise(
        Effect.logInfo(`listening: /health answers; ${database}`).pipe(
          Effect.annotateLogs({ url: urlOf() }),
          Effect.provide(loggerOf(config))
        )
      )
    }
    const options = signal === undefined ? undefined : { signal }
    await runtime.runPromise(Effect.logInfo(`${database} and starting services`), options)
    const demo = await runtime.runPromise(
      Effect.gen(function* () {
        // A later start finds the demo accounts again and prints fresh tokens: tokens
        // kept in memory die with the process, and signed ones could not be read again
        // where the first start had no SESSION_SECRET (or after they expired). A seed
        // that failed because another process seeded at the same time (see `seed`)
        // finds that one's demo.
        const accounts = config.seed
          ? ((yield* seed.pipe(
              Effect.catchAll((error) =>
                Effect.flatMap(
                  Effect.orElseSucceed(demoAccounts, () => null),
                  (found) => (found === null ? Effect.fail(error) : Effect.succeed(found))
                )
              )
            )) ?? (yield* demoAccounts))
          : null
        if (accounts === null) return null
        const sessions = yield* Authentication.Sessions
        return yield* Effect.forEach(accounts, (account) =>
          Effect.map(sessions.issue(account.accountId, { ttlMillis: 30 * 24 * 3600_000 }), (token) => ({
            ...account,
            token: Redacted.value(token)
          }))
        )
      }),
      options
    )
    if (!early) await listen()
    signal?.throwIfAborted()
    if (config.workers) {
      workers = await runtime.runPromise(
        Effect.all([
          Effect.forkDaemon(
            Effect.flatMap(Dispatcher.Dispatcher, (d) => {
              const owner = Ids.make()
              return Effect.zipRight(
                Effect.logInfo("outbox dispatcher started").pipe(Effect.annotateLogs({ owner })),
                d.run(owner)
              )
            })
          ),
          Effect.forkDaemon(Effect.flatMap(Sweeper.Sweeper, (s) => s.run()))
        ])
      )
    }
    const url = urlOf()
    ready = true
    await runtime.runPromise(Effect.logInfo("ready").pipe(Effect.annotateLogs({ url, docs: `${url}/docs` })))
    return { server, url, demo, stop }
  } catch (error) {
    await stop().catch(() => undefined)
    throw error
  }
}
