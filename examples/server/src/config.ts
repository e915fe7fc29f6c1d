/**
 * The example server's configuration, from the environment.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `PORT` | `3000` | port to listen on |
 * | `HOST` | `127.0.0.1` | address to bind (`0.0.0.0` to expose it) |
 * | `DATABASE_URL` | — | PostgreSQL; without it, embedded PGlite in `DATA_DIR` |
 * | `DATA_DIR` | `.data/pglite` | PGlite's folder; a relative one is taken from the server's folder (`examples/server`), wherever the command runs (a URL, `memory://` or `file://…`, as given) |
 * | `DATABASE_SCHEMA` | `zhongbao` | the schema zhongbao's tables live in |
 * | `DATABASE_POOL_SIZE` | `10` | with `DATABASE_URL`: the pool size, a whole number from 1; `DATABASE_CONNECT_TIMEOUT`, `DATABASE_STATEMENT_TIMEOUT`, `DATABASE_PREPARED_STATEMENTS` too (`PgDatabase.poolSettingsConfig`); checked at start either way |
 * | `SMS_PROVIDER` | `console` | `console`, `aliyun` or `tencent` (keys: see @zhongbao/adapter-sms) |
 * | `SMS_LANGUAGE` | `zh-CN` | the language of the senders' failure reasons (dead letters' `lastError`): `zh-CN` or `en` |
 * | `SEED` | `true` without `DATABASE_URL`, `false` with it | seed demo data into an empty database; print tokens for the demo accounts (the operator's among them), found again on every later start |
 * | `SESSION_SECRET` | — | signs session tokens (≥ 32 characters), so that several instances accept one another's; without it, sessions live in this process's memory |
 * | `WORKERS` | `true` | run the outbox dispatcher and the selection sweeper in this process (`false` for API-only instances) |
 * | `UPLOAD_CONCURRENCY` | `4` | uploads read and stored at once per instance; others wait their turn (each is held whole in memory until stored) |
 * | `UPLOAD_CONCURRENCY_PER_ACCOUNT` | `2` | of those turns, how many one account holds at once; its further uploads wait for one of its own |
 * | `UPLOAD_IDLE_TIMEOUT_SECONDS` | `30` | how long an upload's body may stop arriving before it is refused `408` and its turn given up (1 to 3600) |
 * | `BODY_CONCURRENCY_PER_ACCOUNT` | `8` | JSON bodies one account has being read at once; its further requests wait for one of its own turns, their bodies unread |
 * | `BODY_IDLE_TIMEOUT_SECONDS` | `30` | how long a JSON body may stop arriving before it is refused `408` (1 to 3600) |
 * | `MAX_CONNECTIONS` | `4096` | connections one instance holds open at once; a further one is closed as it comes (so that idle or slow clients cannot take every file descriptor). A request's headers must arrive within 20 s, the whole request within 300 s (checked every 5 s) |
 * | `WEB_CONCURRENCY` | `1` | instances of the server in this container, sharing its port (`auto`: one per core); more than one needs `DATABASE_URL` and `SESSION_SECRET` |
 * | `LOG_FORMAT` | `json` | `json` or `pretty` |
 * | `ACCESS_LOG` | `false` | log one line per request: method, path, status, milliseconds |
 * | `RATE_LIMIT_STORE` | `database` | where the rate limits count: `database` (shared by every instance on it) or `memory` (each process its own count; one statement less per limited command) |
 * | `RATE_LIMITS_JSON` | `{}` | per-account rate limits by bucket (see @zhongbao/adapter-http `RateLimit`), e.g. `{"responding":{"limit":60,"windowMillis":3600000}}` |
 * | `SETTINGS_JSON` | `{}` | overrides of the platform settings (core's README, "Settings") as JSON, e.g. `{"numberingPrefix":"TJ","outbox":{"sendConcurrency":32}}`; `outbox` is merged key by key |
 */
import { RateLimit } from "@zhongbao/adapter-http"
import { PgDatabase } from "@zhongbao/adapter-pg"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { availableParallelism } from "node:os"
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"

/** A decoding failure's issues on one line: `path: message; …`. */
export const issuesOf = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.join(".") || "(the object)"}: ${issue.message}`)
    .join("; ")

/**
 * The server's own folder (`examples/server`), the parent of `src` and of `dist`
 * alike: a relative `DATA_DIR` is taken from it, so that `node dist/migrate.js` run
 * from elsewhere opens the server's database, not a new one where it was run. An
 * empty one is the default's; a URL (`memory://`, `file://…`) is passed on as it is.
 */
const serverFolder = fileURLToPath(new URL("..", import.meta.url))

/** PGlite's folder without `DATA_DIR`, or with it empty. */
const defaultDataDir = ".data/pglite"

const jsonObject = (name: string) =>
  Config.string(name).pipe(
    Config.withDefault("{}"),
    Config.mapOrFail((text) => {
      try {
        const value: unknown = JSON.parse(text)
        if (typeof value === "object" && value !== null && !Array.isArray(value))
          return Either.right(value as Record<string, unknown>)
      } catch {}
      return Either.left(ConfigError.InvalidData([name], `${name} must be a JSON object`))
    })
  )

/** Whether a connection string is a URL the `pg` driver reads: `postgres://`, `postgresql://` or `socket:`. */
const isPostgresUrl = (text: string): boolean => {
  try {
    return ["postgres:", "postgresql:", "socket:"].includes(new URL(text.trim()).protocol)
  } catch {
    return false
  }
}

/** The variable `name`, a whole number from 1 to `max` (`fallback` when unset), else refused with `message`. */
const wholeNumber = (name: string, fallback: number, max: number, message: string) =>
  Config.string(name).pipe(
    Config.withDefault(String(fallback)),
    Config.mapOrFail((text) =>
      /^\d+$/.test(text.trim()) && Number(text) >= 1 && Number(text) <= max
        ? Either.right(Number(text))
        : Either.left(ConfigError.InvalidData([name], message))
    )
  )

/** The port and host the server listens on when `PORT` or `HOST` is unset or empty. */
const defaultPort = 3000
const defaultHost = "127.0.0.1"

const instances = Config.string("WEB_CONCURRENCY").pipe(
  Config.withDefault("1"),
  Config.mapOrFail((text) => {
    const value = text.trim()
    if (value === "auto") return Either.right(availableParallelism())
    return /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 256
      ? Either.right(Number(value))
      : Either.left(
          ConfigError.InvalidData(
            ["WEB_CONCURRENCY"],
            "WEB_CONCURRENCY must be a whole number from 1 to 256, or auto"
          )
        )
  })
)

const fields = Config.all({
  // An empty PORT or HOST (`HOST=${HOST}` in a compose file, a blank line of a .env) is
  // the default, as an empty DATA_DIR is: read as given, PORT would be 0 (any free
  // port) and HOST "" (every interface).
  port: Config.string("PORT").pipe(
    Config.withDefault(String(defaultPort)),
    Config.mapOrFail((text) => {
      const value = text.trim() === "" ? String(defaultPort) : text.trim()
      return /^\d{1,5}$/.test(value) && Number(value) <= 65_535
        ? Either.right(Number(value))
        : Either.left(
            ConfigError.InvalidData(["PORT"], "PORT must be a port number from 0 to 65535 (0: any free port)")
          )
    })
  ),
  host: Config.string("HOST").pipe(
    Config.withDefault(defaultHost),
    Config.map((host) => (host.trim() === "" ? defaultHost : host.trim()))
  ),
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")).pipe(
    Config.map(Option.filter((url) => Redacted.value(url).trim() !== "")),
    Config.mapOrFail((url) =>
      Option.isNone(url) || isPostgresUrl(Redacted.value(url.value))
        ? Either.right(url)
        : Either.left(
            ConfigError.InvalidData(
              ["DATABASE_URL"],
              "DATABASE_URL must be a PostgreSQL URL, postgres://user@host:port/database"
            )
          )
    )
  ),
  dataDir: Config.string("DATA_DIR").pipe(
    Config.withDefault(defaultDataDir),
    Config.map((dir) => (dir.trim() === "" ? defaultDataDir : dir)),
    Config.map((dir) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(dir) ? dir : resolve(serverFolder, dir)))
  ),
  schema: Config.string("DATABASE_SCHEMA").pipe(Config.withDefault("zhongbao")),
  /** With `DATABASE_URL`: `DATABASE_POOL_SIZE` & co., read (and refused) before anything starts. */
  pool: PgDatabase.poolSettingsConfig,
  smsProvider: Config.literal(
    "console",
    "aliyun",
    "tencent"
  )("SMS_PROVIDER").pipe(Config.withDefault("console")),
  seed: Config.option(Config.boolean("SEED")),
  sessionSecret: Config.option(Config.redacted("SESSION_SECRET")).pipe(
    Config.map(Option.filter((secret) => Redacted.value(secret).trim() !== "")),
    Config.mapOrFail((secret) =>
      Option.isNone(secret) || Redacted.value(secret.value).length >= 32
        ? Either.right(secret)
        : Either.left(
            ConfigError.InvalidData(
              ["SESSION_SECRET"],
              "SESSION_SECRET must be a secret of at least 32 characters (or none: sessions in memory)"
            )
          )
    )
  ),
  workers: Config.boolean("WORKERS").pipe(Config.withDefault(true)),
  migrate: Config.boolean("MIGRATE").pipe(Config.withDefault(true)),
  uploadConcurrency: wholeNumber(
    "UPLOAD_CONCURRENCY",
    4,
    1024,
    "UPLOAD_CONCURRENCY must be a whole number from 1 to 1024 (uploads read and stored at once)"
  ),
  uploadConcurrencyPerAccount: wholeNumber(
    "UPLOAD_CONCURRENCY_PER_ACCOUNT",
    2,
    1024,
    "UPLOAD_CONCURRENCY_PER_ACCOUNT must be a whole number from 1 to 1024 (uploads one account has read at once)"
  ),
  uploadIdleTimeoutSeconds: wholeNumber(
    "UPLOAD_IDLE_TIMEOUT_SECONDS",
    30,
    3600,
    "UPLOAD_IDLE_TIMEOUT_SECONDS must be a whole number of seconds from 1 to 3600 (how long an upload's body may stop arriving)"
  ),
  bodyConcurrencyPerAccount: wholeNumber(
    "BODY_CONCURRENCY_PER_ACCOUNT",
    8,
    1024,
    "BODY_CONCURRENCY_PER_ACCOUNT must be a whole number from 1 to 1024 (JSON bodies one account has read at once)"
  ),
  bodyIdleTimeoutSeconds: wholeNumber(
    "BODY_IDLE_TIMEOUT_SECONDS",
    30,
    3600,
    "BODY_IDLE_TIMEOUT_SECONDS must be a whole number of seconds from 1 to 3600 (how long a JSON body may stop arriving)"
  ),
  maxConnections: wholeNumber(
    "MAX_CONNECTIONS",
    4096,
    1_000_000,
    "MAX_CONNECTIONS must be a whole number from 1 to 1000000 (connections this instance holds open at once)"
  ),
  logFormat: Config.literal("json", "pretty")("LOG_FORMAT").pipe(Config.withDefault("json")),
  accessLog: Config.boolean("ACCESS_LOG").pipe(Config.withDefault(false)),
  rateLimitStore: Config.literal(
    "database",
    "memory"
  )("RATE_LIMIT_STORE").pipe(Config.withDefault("database")),
  rateLimits: jsonObject("RATE_LIMITS_JSON").pipe(
    Config.mapOrFail((value) =>
      Either.mapLeft(
        Schema.decodeUnknownEither(RateLimit.PoliciesInput, { onExcessProperty: "error" })(value),
        (error) =>
          ConfigError.InvalidData(
            ["RATE_LIMITS_JSON"],
            `RATE_LIMITS_JSON: ${issuesOf(error)} (buckets responding, consulting, sms, uploads, writes; each { limit, windowMillis }, positive integers)`
          )
      )
    )
  ),
  settings: jsonObject("SETTINGS_JSON"),
  instances
})

/**
 * The configuration of the example server. Several instances (`WEB_CONCURRENCY`)
 * share one PostgreSQL (the embedded database belongs to one process) and accept
 * one another's tokens (sessions kept in one process's memory would not be). Demo
 * data is seeded by default only on the embedded database: on a `DATABASE_URL`,
 * which is where a platform deploys, a demo operator whose token every start
 * prints would be an administrator's key in the logs; `SEED=true` asks for it.
 */
export const ServerConfig = fields.pipe(
  Config.mapOrFail((config) =>
    config.instances > 1 && Option.isNone(config.databaseUrl)
      ? Either.left(
          ConfigError.InvalidData(
            ["WEB_CONCURRENCY"],
            "WEB_CONCURRENCY: more than one instance needs DATABASE_URL (the embedded database belongs to one process)"
          )
        )
      : config.instances > 1 && Option.isNone(config.sessionSecret)
        ? Either.left(
            ConfigError.InvalidData(
              ["WEB_CONCURRENCY"],
              "WEB_CONCURRENCY: more than one instance needs SESSION_SECRET (each instance must accept the others' tokens)"
            )
          )
        : Either.right({
            ...config,
            seed: Option.getOrElse(config.seed, () => Option.isNone(config.databaseUrl))
          })
  )
)

export type ServerConfig = Config.Config.Success<typeof ServerConfig>

/**
 * The one line a configuration `ServerConfig` refuses is printed as, before the
 * process exits with 1 and nothing started: the variable and what it must be.
 */
export const refusalLine = (error: ConfigError.ConfigError): string =>
  `zhongbao: the configuration is not valid: ${String(error)}`

/**
 * The refusal of one of the server's commands (`npm run operator`, `npm run migrate`):
 * one line on stderr naming the command, then exit 1.
 */
export const refuser =
  (command: string) =>
  (message: string): never => {
    console.error(`zhongbao ${command}: ${message}`)
    return process.exit(1)
  }

/** The server's configuration for a command, or `refuse` naming what is not valid. */
export const commandConfig = (refuse: (message: string) => never): Promise<ServerConfig> =>
  Effect.runPromise(
    Effect.catchAll(ServerConfig, (error) =>
      Effect.sync(() => refuse(`the configuration is not valid: ${String(error)}`))
    )
  )

/**
 * A failure to start, on one line for the operator who reads it: the error's message
 * and those of its causes (`InfrastructureError` → the driver's `ECONNREFUSED`), the
 * squashed cause of a failed effect, without stack traces. A configuration error of a
 * layer (the SMS sender's `SMS_*`, `ALIYUN_*`, `TENCENT_*`) is printed with the
 * variable it names.
 */
export const explain = (error: unknown): string => {
  const messages: Array<string> = []
  let current: unknown = Runtime.isFiberFailure(error)
    ? Cause.squash(error[Runtime.FiberFailureCauseId])
    : error
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    // A ConfigError's message leaves out the variable it is about; its text names it.
    const message = ConfigError.isConfigError(current)
      ? String(current)
      : current instanceof Error || (typeof current === "object" && "message" in current)
        ? String((current as { message: unknown }).message)
        : String(current)
    if (message !== "" && !messages.some((m) => m.includes(message))) messages.push(message)
    current = typeof current === "object" ? (current as { cause?: unknown }).cause : undefined
  }
  return messages.join(": ") || "unknown error"
}
