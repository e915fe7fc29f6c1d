/**
 * The example server's configuration, read in this process from the variables each
 * case sets (`ServerConfig` under a `ConfigProvider` of them, as `main.ts` reads it
 * from the environment): each variable it cannot use is refused with the one line
 * `main.ts` prints before it exits, naming the variable and what it must be. That a
 * refusal ends the process with that line and nothing started is checked on a started
 * process, once for a single instance (`startup.test.ts`) and once for several
 * (`cluster.test.ts`); each refusal here would otherwise cost a process's start.
 */
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { refusalLine, ServerConfig } from "../src/config.js"

/** `ServerConfig` read from `env` alone, as from the process's environment. */
const read = (env: Record<string, string>) =>
  Effect.runSync(
    Effect.either(
      Effect.withConfigProvider(
        ServerConfig,
        ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_", seqDelim: "," })
      )
    )
  )

/** The line a refused `env` is printed as; fails the test where `env` is accepted. */
const refusal = (env: Record<string, string>) => {
  const result = read(env)
  if (Either.isRight(result)) throw new Error(`accepted: ${JSON.stringify(env)}`)
  return refusalLine(result.left)
}

const secret = "a-session-secret-of-at-least-32-characters"
const database = "postgres://127.0.0.1:1/none"
const line = (variable: string, message: string) =>
  `zhongbao: the configuration is not valid: (Invalid data at ${variable}: "${message}")`

describe("example server: configuration", () => {
  it("DATA_DIR: a relative folder, the default's included, is taken from the server's folder wherever the command runs; an absolute folder and memory:// as given", () => {
    const dataDir = (env: Record<string, string>) => Either.getOrThrow(read(env)).dataDir
    const serverFolder = join(import.meta.dirname, "..")
    expect(dataDir({})).toBe(join(serverFolder, ".data/pglite"))
    expect(dataDir({ DATA_DIR: "" }), "empty: the default, not the server's folder").toBe(
      join(serverFolder, ".data/pglite")
    )
    expect(dataDir({ DATA_DIR: "state/db" })).toBe(join(serverFolder, "state/db"))
    expect(dataDir({ DATA_DIR: "../shared-db" })).toBe(join(serverFolder, "..", "shared-db"))
    expect(dataDir({ DATA_DIR: "/var/lib/zhongbao" })).toBe("/var/lib/zhongbao")
    expect(dataDir({ DATA_DIR: "memory://" })).toBe("memory://")
  })

  it("PORT and HOST empty (a blank line of a .env file) are their defaults, 3000 on 127.0.0.1: not any free port on every interface", () => {
    const listening = (env: Record<string, string>) => {
      const config = Either.getOrThrow(read(env))
      return [config.port, config.host]
    }
    expect(listening({})).toEqual([3000, "127.0.0.1"])
    expect(listening({ PORT: "", HOST: "" })).toEqual([3000, "127.0.0.1"])
    expect(listening({ PORT: " ", HOST: "  " })).toEqual([3000, "127.0.0.1"])
    expect(listening({ PORT: "0", HOST: "0.0.0.0" })).toEqual([0, "0.0.0.0"])
    expect(listening({ PORT: "8080", HOST: "::" })).toEqual([8080, "::"])
  })

  it("PORT outside 0–65535, a DATABASE_URL that is not a PostgreSQL URL, a DATABASE_POOL_SIZE that is not a whole number from 1, a SESSION_SECRET under 32 characters: refused on one line naming the variable", () => {
    expect(refusal({ PORT: "70000" })).toBe(
      line("PORT", "PORT must be a port number from 0 to 65535 (0: any free port)")
    )
    for (const port of ["-1", "abc", "80.5", "1e3"]) {
      expect(refusal({ PORT: port }), port).toBe(
        line("PORT", "PORT must be a port number from 0 to 65535 (0: any free port)")
      )
    }
    expect(refusal({ DATABASE_URL: "notaurl" })).toBe(
      line("DATABASE_URL", "DATABASE_URL must be a PostgreSQL URL, postgres://user@host:port/database")
    )
    expect(refusal({ DATABASE_URL: "mysql://127.0.0.1/test" })).toBe(
      line("DATABASE_URL", "DATABASE_URL must be a PostgreSQL URL, postgres://user@host:port/database")
    )
    expect(refusal({ SESSION_SECRET: "short" })).toBe(
      line(
        "SESSION_SECRET",
        "SESSION_SECRET must be a secret of at least 32 characters (or none: sessions in memory)"
      )
    )
    expect(refusal({ DATABASE_URL: database, DATABASE_POOL_SIZE: "abc" })).toBe(
      line("DATABASE_POOL_SIZE", 'Expected an integer value but received "abc"')
    )
    expect(refusal({ DATABASE_URL: database, DATABASE_POOL_SIZE: "0" })).toBe(
      line("DATABASE_POOL_SIZE", "DATABASE_POOL_SIZE must be a whole number from 1")
    )
  })

  it("WEB_CONCURRENCY: more than one instance without DATABASE_URL or SESSION_SECRET, or a count that is not one, is refused naming the variable; so are rate limits, a rate-limit store, upload and connection limits it cannot use", () => {
    const cases: ReadonlyArray<readonly [Record<string, string>, string, RegExp]> = [
      [
        { WEB_CONCURRENCY: "2", SESSION_SECRET: secret },
        "WEB_CONCURRENCY",
        /WEB_CONCURRENCY: more than one instance needs DATABASE_URL/
      ],
      [
        { WEB_CONCURRENCY: "2", DATABASE_URL: database },
        "WEB_CONCURRENCY",
        /WEB_CONCURRENCY: more than one instance needs SESSION_SECRET/
      ],
      [
        { WEB_CONCURRENCY: "0" },
        "WEB_CONCURRENCY",
        /WEB_CONCURRENCY must be a whole number from 1 to 256, or auto/
      ],
      [
        { WEB_CONCURRENCY: "257", DATABASE_URL: database, SESSION_SECRET: secret },
        "WEB_CONCURRENCY",
        /WEB_CONCURRENCY must be a whole number from 1 to 256, or auto/
      ],
      [
        { WEB_CONCURRENCY: "two" },
        "WEB_CONCURRENCY",
        /WEB_CONCURRENCY must be a whole number from 1 to 256, or auto/
      ],
      [
        { RATE_LIMITS_JSON: '{"consulting":{"limit":2}}' },
        "RATE_LIMITS_JSON",
        /RATE_LIMITS_JSON: consulting\.windowMillis/
      ],
      [
        { RATE_LIMITS_JSON: '{"chat":{"limit":2,"windowMillis":1000}}' },
        "RATE_LIMITS_JSON",
        /RATE_LIMITS_JSON: chat/
      ],
      [
        { RATE_LIMITS_JSON: '{"sms":{"limit":0,"windowMillis":1000}}' },
        "RATE_LIMITS_JSON",
        /RATE_LIMITS_JSON: sms\.limit/
      ],
      [{ RATE_LIMITS_JSON: "[]" }, "RATE_LIMITS_JSON", /RATE_LIMITS_JSON must be a JSON object/],
      [{ RATE_LIMIT_STORE: "redis" }, "RATE_LIMIT_STORE", /RATE_LIMIT_STORE/],
      [
        { UPLOAD_CONCURRENCY: "0" },
        "UPLOAD_CONCURRENCY",
        /UPLOAD_CONCURRENCY must be a whole number from 1 to 1024/
      ],
      [
        { UPLOAD_CONCURRENCY: "four" },
        "UPLOAD_CONCURRENCY",
        /UPLOAD_CONCURRENCY must be a whole number from 1 to 1024/
      ],
      [
        { UPLOAD_CONCURRENCY_PER_ACCOUNT: "0" },
        "UPLOAD_CONCURRENCY_PER_ACCOUNT",
        /UPLOAD_CONCURRENCY_PER_ACCOUNT must be a whole number from 1 to 1024/
      ],
      [
        { UPLOAD_IDLE_TIMEOUT_SECONDS: "0" },
        "UPLOAD_IDLE_TIMEOUT_SECONDS",
        /UPLOAD_IDLE_TIMEOUT_SECONDS must be a whole number of seconds/
      ],
      [
        { UPLOAD_IDLE_TIMEOUT_SECONDS: "1.5" },
        "UPLOAD_IDLE_TIMEOUT_SECONDS",
        /UPLOAD_IDLE_TIMEOUT_SECONDS must be a whole number of seconds/
      ],
      [
        { MAX_CONNECTIONS: "0" },
        "MAX_CONNECTIONS",
        /MAX_CONNECTIONS must be a whole number from 1 to 1000000/
      ]
    ]
    for (const [env, variable, message] of cases) {
      const printed = refusal(env)
      expect(printed, JSON.stringify(env)).toMatch(
        new RegExp(`^zhongbao: the configuration is not valid: \\(Invalid data at ${variable}: `)
      )
      expect(printed, JSON.stringify(env)).toMatch(message)
      expect(printed, JSON.stringify(env)).not.toContain("\n")
    }
  })

  it("the variables the refusals above name, set as they may be, are taken; unset, their defaults", () => {
    const taken = read({
      PORT: "0",
      DATABASE_URL: database,
      DATABASE_POOL_SIZE: "16",
      SESSION_SECRET: secret,
      WEB_CONCURRENCY: "2",
      RATE_LIMITS_JSON: '{"sms":{"limit":3,"windowMillis":1000}}',
      RATE_LIMIT_STORE: "memory",
      UPLOAD_CONCURRENCY: "8",
      UPLOAD_IDLE_TIMEOUT_SECONDS: "3600",
      MAX_CONNECTIONS: "1000000"
    })
    if (Either.isLeft(taken)) throw new Error(refusalLine(taken.left))
    expect(taken.right.port).toBe(0)
    expect(Option.map(taken.right.databaseUrl, Redacted.value)).toEqual(Option.some(database))
    expect(taken.right.instances).toBe(2)
    expect(taken.right.rateLimitStore).toBe("memory")
    expect(taken.right.uploadConcurrency).toBe(8)
    expect(taken.right.uploadIdleTimeoutSeconds).toBe(3600)
    expect(taken.right.maxConnections).toBe(1_000_000)
    expect(taken.right.seed, "SEED defaults to false on a DATABASE_URL").toBe(false)

    const defaults = read({})
    if (Either.isLeft(defaults)) throw new Error(refusalLine(defaults.left))
    expect(defaults.right.port).toBe(3000)
    expect(Option.isNone(defaults.right.databaseUrl)).toBe(true)
    expect(defaults.right.instances).toBe(1)
    expect(defaults.right.rateLimitStore).toBe("database")
    expect(defaults.right.maxConnections).toBe(4096)
    expect(defaults.right.seed, "SEED defaults to true on the embedded database").toBe(true)
  })
})
