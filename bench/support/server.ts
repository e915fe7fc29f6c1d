/**
 * The example server as a child process, for `npm run bench` and `npm run reliability`:
 * started from the built JavaScript (`npm run build` first: the packages and the
 * example's `dist/main.js`, run by `node` with the flags of the example's `start:built`
 * script, as in production), on `DATABASE_URL` in a schema of its own, with signed sessions
 * so that several instances accept the same tokens, and the SMS provider the caller
 * names. Tokens are minted here with the shared secret, as a host portal would.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Authentication } from "@zhongbao/adapter-http"
import type { Ids } from "@zhongbao/core"
import { Redacted } from "effect"
import * as Pg from "pg"

/** The database every run uses (CI sets it; the machine's PostgreSQL otherwise). */
export const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** The secret every instance signs sessions with. */
export const sessionSecret = "bench-and-reliability-session-secret-0123456789"

const serverDir = fileURLToPath(new URL("../../examples/server/", import.meta.url))
const builtServer = fileURLToPath(new URL("../../examples/server/dist/main.js", import.meta.url))

/**
 * The flags `node` gets in the example server's `start:built` script (`exec node …`, its production
 * command: the V8 heap limit, source maps), so that the benches run it as deployed.
 */
const nodeFlags = (): ReadonlyArray<string> => {
  const scripts = (
    JSON.parse(readFileSync(`${serverDir}package.json`, "utf8")) as {
      scripts: Record<string, string>
    }
  ).scripts
  // `exec` lets npm's signals reach node; the benches start node themselves.
  const words = (scripts["start:built"] ?? "").split(/\s+/).filter((w, i) => !(i === 0 && w === "exec"))
  if (words[0] !== "node" || words.at(-1) !== "dist/main.js")
    throw new Error(`the example server's start:built script is not \`[exec] node [flags] dist/main.js\``)
  return words.slice(1, -1)
}

/**
 * A memory figure of a process from /proc/<pid>/status, in bytes: `VmRSS` its resident
 * set now, `VmHWM` at its highest so far; 0 once the process is gone (or without /proc).
 */
export const memoryOf = (pid: number, field: "VmRSS" | "VmHWM"): number => {
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
    return Number(kb ?? 0) * 1024
  } catch {
    return 0
  }
}

/** A bearer token for `accountId`, valid for a day. */
export const tokenFor = (accountId: Ids.AccountId | string): string =>
  Authentication.signSession(
    Redacted.make(sessionSecret),
    accountId as Ids.AccountId,
    Date.now() + 86_400_000
  )

/** A schema name not used before: `<prefix>_<pid>_<time>`. */
export const freshSchema = (prefix: string): string =>
  `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`

/** Runs SQL on a short-lived connection. */
export const query = async <R extends Record<string, unknown> = Record<string, unknown>>(
  text: string,
  params: ReadonlyArray<unknown> = []
): Promise<ReadonlyArray<R>> => {
  const client = new Pg.default.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    return (await client.query(text, params as Array<unknown>)).rows as ReadonlyArray<R>
  } finally {
    await client.end()
  }
}

/** Drops a schema made by a run. */
export const dropSchema = (schema: string) => query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)

/** A running instance. */
export interface ServerProcess {
  readonly url: string
  readonly pid: number
  readonly child: ChildProcess
  /** Everything the process printed so far. */
  readonly output: () => string
  /** Resident set size now, in bytes (from /proc). */
  readonly rssBytes: () => number
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** How to start an instance. */
export interface ServerOptions {
  readonly schema: string
  /**
   * More environment: `SMS_PROVIDER`, `ALIYUN_SMS_*`, `SETTINGS_JSON`, `WORKERS` …;
   * `NODE_FLAGS` (words split on spaces) adds node flags after those of `start:built`;
   * `NODE_BINARY` runs the instance on another `node` than this process's (another
   * Node.js version, side by side with this one).
   */
  readonly env?: Readonly<Record<string, string>>
  /** Milliseconds to wait for readiness (default 120 s). */
  readonly timeoutMillis?: number
}

const root = fileURLToPath(new URL("../../", import.meta.url))

/** Each source folder the instances run, and the file its build writes. */
const builds: ReadonlyArray<readonly [string, string]> = [
  ...["core", "adapter-pg", "adapter-http", "adapter-sms"].map(
    (p) => [`packages/${p}/src`, `packages/${p}/dist/index.js`] as const
  ),
  ["examples/server/src", "examples/server/dist/main.js"]
]

/**
 * Why the build the instances would run is not the sources' (a folder's source
 * changed after its build was written), or undefined: a run on a stale `dist` would
 * measure, or check, code that is no longer there.
 */
const staleBuild = (): string | undefined => {
  for (const [src, built] of builds) {
    if (!existsSync(`${root}${built}`)) return `${built} is missing`
    const builtAt = statSync(`${root}${built}`).mtimeMs
    const newer = readdirSync(`${root}${src}`, { recursive: true, encoding: "utf8" }).find(
      (f) => statSync(`${root}${src}/${f}`).mtimeMs > builtAt
    )
    if (newer !== undefined) return `${src}/${newer} changed after ${built} was built`
  }
  return undefined
}

/** The node flags the instances run with (the example server's `start:built` script). */
export const serverNodeFlags = (): ReadonlyArray<string> => nodeFlags()

/**
 * Starts an instance on `schema` (migrated on start; several instances may start
 * at once), without demo data, and resolves when it listens.
 */
export const startServer = (options: ServerOptions): Promise<ServerProcess> => {
  const stale = staleBuild()
  if (stale !== undefined)
    throw new Error(`the server's build is stale (${stale}): run \`npm run build\` first`)
  const extra = (options.env?.NODE_FLAGS ?? "").split(/\s+/).filter((w) => w !== "")
  const child = spawn(options.env?.NODE_BINARY ?? process.execPath, [...nodeFlags(), ...extra, builtServer], {
    cwd: serverDir,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: options.schema,
      PORT: "0",
      SEED: "false",
      LOG_FORMAT: "json",
      SESSION_SECRET: sessionSecret,
      ...options.env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const append = (chunk: Buffer) => {
    output += chunk.toString("utf8")
    if (output.length > 4_000_000) output = output.slice(-2_000_000)
  }
  child.stdout!.on("data", append)
  child.stderr!.on("data", append)
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const timeout = options.timeoutMillis ?? 120_000
    const check = () => {
      const match = /zhongbao is ready at (http:\/\/[\d.:]+)/.exec(output)
      if (match) {
        const pid = child.pid!
        return resolve({
          url: match[1]!,
          pid,
          child,
          output: () => output,
          rssBytes: () => memoryOf(pid, "VmRSS"),
          stop: (signal = "SIGTERM") => {
            if (child.exitCode !== null || child.signalCode !== null) return exited
            child.kill(signal)
            return exited
          }
        })
      }
      if (child.exitCode !== null) return reject(new Error(`the server exited:\n${output.slice(-3000)}`))
      if (Date.now() - started > timeout) {
        child.kill("SIGKILL")
        return reject(new Error(`the server was not ready in ${timeout} ms:\n${output.slice(-3000)}`))
      }
      setTimeout(check, 25)
    }
    check()
  })
}

/** JSON over HTTP with a bearer token; answers the status and the parsed body. */
export const call = async <A = unknown>(
  base: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {}
): Promise<{ readonly status: number; readonly body: A }> => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, body: (text === "" ? undefined : JSON.parse(text)) as A }
}
