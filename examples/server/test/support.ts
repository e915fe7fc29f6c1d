/**
 * The example server as a child process, for the tests that start it themselves:
 * from its TypeScript sources, on a free port, logging JSON; its output kept.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { cpSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"

/** The environment the tests start from: without the caller's session secret, database or seeding. */
export const {
  SESSION_SECRET: _secret,
  DATABASE_URL: _url,
  SEED: _seed,
  ...inherited
} = process.env as Record<string, string>

/** A started server process. */
export interface Started {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

const running = new Set<Started>()

/** Starts the server with `env` over {@link inherited}; {@link stopAll} stops it if it still runs. */
export const launch = (env: Record<string, string>): Started => {
  let output = ""
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@zhongbao/source", "src/main.ts"], {
    cwd: join(import.meta.dirname, ".."),
    env: { ...inherited, PORT: "0", LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const started = { child, output: () => output, exited }
  running.add(started)
  void exited.then(() => running.delete(started))
  return started
}

/** Sends SIGTERM to a server that still runs; its exit code. */
export const stop = async (started: Started) => {
  if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill("SIGTERM")
  return started.exited
}

const folders = new Set<string>()

/**
 * Stops every server this file started that still runs, then removes the folders it
 * made (for `afterAll`): a PGlite database is some 40 MB.
 */
export const stopAll = async () => {
  await Promise.all([...running].map(stop))
  for (const folder of folders) rmSync(folder, { recursive: true, force: true })
  folders.clear()
}

/** The lines of an output that are not JSON log lines. */
export const plainLines = (output: string) =>
  output.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("{"))

/** A new empty folder under the system's temporary folder: the server makes its database there. */
export const dataDir = () => {
  const folder = mkdtempSync(join(tmpdir(), "zhongbao-startup-"))
  folders.add(folder)
  return folder
}

/**
 * A new folder holding a new, empty PGlite database: a copy of the one made once for
 * the run (`globalSetup.ts`), for the tests that need a database rather than its
 * making, which takes PGlite 4–6 seconds.
 */
export const databaseDir = () => {
  const folder = dataDir()
  cpSync(inject("pgliteTemplate"), folder, { recursive: true })
  return folder
}

/** The first match of `pattern` in the server's output, waiting for it up to `ms`. */
export const waitFor = async (started: Started, pattern: RegExp, ms = 90_000) => {
  const until = Date.now() + ms
  for (;;) {
    const match = pattern.exec(started.output())
    if (match) return match
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${pattern}\n${started.output().slice(-3000)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Runs one of the server's commands (`src/<script>.ts`) with `args` and `env` over {@link inherited}. */
export const runCommand = (script: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve) => {
    let output = ""
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=@zhongbao/source", `src/${script}.ts`, ...args],
      {
        cwd: join(import.meta.dirname, ".."),
        env: { ...inherited, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      }
    )
    child.stdout!.on("data", (chunk) => (output += chunk))
    child.stderr!.on("data", (chunk) => (output += chunk))
    child.once("exit", (code) => resolve({ code, output }))
  })

/** Runs the first operator's command (`src/operator.ts`) with `args` and `env`. */
export const runOperator = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  runCommand("operator", args, env)

/**
 * Runs `check` on each case, four at a time: the refusals' processes spend their time
 * loading, so a few at once take a fraction of the time one after another does.
 */
export const inBatches = async <A>(cases: ReadonlyArray<A>, check: (item: A) => Promise<void>) => {
  for (let i = 0; i < cases.length; i += 4) await Promise.all(cases.slice(i, i + 4).map(check))
}
