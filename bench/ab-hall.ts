/**
 * An A/B of P1's hall page (issue 8): two servers on one hall, rounds of autocannon
 * at 64 connections alternating between them, each side's requests per second and
 * CPU per page (from /proc: the process's, its main thread's and how long that
 * thread waited for a CPU while runnable), medians printed. How `bench/EXPERIMENTS.md`'s A/Bs are
 * run: a change to try is put behind an environment variable in a scratch build (or
 * in `node_modules`), read by one side only.
 *
 * - `A_ENV`, `B_ENV`: JSON objects of environment variables for the example server
 *   of each side (`{}` by default; `NODE_FLAGS` among them adds node flags after the
 *   `start:built` script's, e.g. `{"NODE_FLAGS":"--max-old-space-size=2048"}`, and
 *   `NODE_BINARY` runs that side's server on another `node`, e.g. another version);
 *   `B_ENV=baseline` makes side B the hand-written
 *   `node:http` + `pg` server of `bench/baseline/hall-server.ts` instead.
 * - `A_SERVER=baseline`: side A is that baseline too, with `A_ENV` as its environment
 *   (`A_ENV='{"BASELINE_FIBER":"1"}' B_ENV=baseline`: its query in an effect fiber,
 *   against itself as it is).
 * - `SIZE` (20,000 demands), `ROUNDS` (6 per side), `SECONDS` (4 per round), `WARMUP`
 *   (3 s per side first); the side that goes first alternates.
 * - `GC=1`: each server runs with V8's `--trace-gc-nvp` (set at its start through
 *   `bench/support/trace-gc.mjs`), and what its collector did over the whole run is
 *   printed: bytes allocated, surviving a scavenge and promoted per page, scavenges
 *   and their pauses, mark-compacts.
 *
 * Run: `npm run build && npx tsx --conditions=@zhongbao/source bench/ab-hall.ts`
 * (`DATABASE_URL`, the machine's PostgreSQL otherwise; nothing else running). The
 * hall lives in a schema of its own, dropped at the end. Figures are printed, never
 * asserted.
 */
import type { ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { DateTime } from "effect"
import {
  type Baseline,
  defaultHallSettings,
  HALL_PATH,
  type Load,
  load,
  makeRuntime,
  startBaseline
} from "./http-hall.js"
import { loadHall, setup } from "./support/demands.js"
import { int, median } from "./support/report.js"
import { dropSchema, freshSchema, memoryOf, type ServerProcess, startServer } from "./support/server.js"

const SIZE = Number(process.env.SIZE ?? 20_000)
const ROUNDS = Number(process.env.ROUNDS ?? 6)
const SECONDS = Number(process.env.SECONDS ?? 4)
const WARMUP = Number(process.env.WARMUP ?? 3)
const traceGc = process.env.GC === "1"
const traceModule = fileURLToPath(new URL("./support/trace-gc.mjs", import.meta.url))

const envOf = (name: string): Record<string, string> => {
  const text = process.env[name] ?? "{}"
  const parsed: unknown = JSON.parse(text)
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error(`${name} must be a JSON object of environment variables, got ${text}`)
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]))
}

const withTrace = (env: Record<string, string>): Record<string, string> =>
  traceGc ? { ...env, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ""} --import ${traceModule}`.trim() } : env

/**
 * The collector's work, summed from the `--trace-gc-nvp` lines `child` prints, as
 * they arrive (the example server's kept output is cut on long runs).
 */
const gcCounter = (child: ChildProcess) => {
  const sums = { scavenges: 0, markCompacts: 0, allocated: 0, survived: 0, promoted: 0, pauses: 0 }
  const count = (line: string) => {
    if (/ gc=s /.test(line)) {
      sums.scavenges++
      for (const pair of line.split(" ")) {
        const [key, value] = pair.split("=")
        if (key === "allocated") sums.allocated += Number(value)
        else if (key === "new_space_survived") sums.survived += Number(value)
        else if (key === "promoted") sums.promoted += Number(value)
        else if (key === "pause") sums.pauses += Number(value)
      }
    } else if (/ gc=(mc|mmc|ms) /.test(line)) sums.markCompacts++
  }
  for (const stream of [child.stdout, child.stderr]) {
    let partial = ""
    stream?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString("utf8")).split("\n")
      partial = lines.pop() ?? ""
      for (const line of lines) count(line)
    })
  }
  return sums
}

/** The process's resident set size at its highest so far (`VmHWM`), in MB. */
const peakRss = (pid: number): string => {
  const bytes = memoryOf(pid, "VmHWM")
  return bytes === 0 ? "unknown (no /proc)" : `${int(bytes / 1024 / 1024)} MB`
}

interface Side {
  readonly name: string
  readonly label: string
  readonly url: string
  readonly pid: number
  readonly gc: ReturnType<typeof gcCounter>
  readonly stop: () => Promise<number | null>
  readonly rounds: Array<Load>
}

const sideOf = (name: string, label: string, process: ServerProcess | Baseline): Side => ({
  name,
  label,
  url: process.url + HALL_PATH,
  pid: process.pid,
  gc: gcCounter(process.child),
  stop: () => process.stop(),
  rounds: []
})

const main = async () => {
  const schema = freshSchema("bench_ab_hall")
  const runtime = makeRuntime(schema)
  const aEnv = envOf("A_ENV")
  const aBaseline = process.env.A_SERVER === "baseline"
  const bBaseline = process.env.B_ENV === "baseline"
  const bEnv = bBaseline ? {} : envOf("B_ENV")
  const sides: Array<Side> = []
  try {
    const end = DateTime.formatIso(DateTime.subtract(DateTime.unsafeNow(), { hours: 1 }))
    await runtime.runPromise(setup(schema, { responders: 10 }))
    await runtime.runPromise(loadHall(schema, { from: 1, to: SIZE, total: SIZE, end }))
    const [a, b] = await Promise.allSettled([
      aBaseline
        ? startBaseline(schema, defaultHallSettings(), 1, withTrace(aEnv))
        : startServer({ schema, env: withTrace({ WORKERS: "false", ...aEnv }) }),
      bBaseline
        ? startBaseline(schema, defaultHallSettings(), 1, withTrace({}))
        : startServer({ schema, env: withTrace({ WORKERS: "false", ...bEnv }) })
    ])
    // A side that started is stopped in `finally` should the other have failed.
    if (a.status === "fulfilled")
      sides.push(sideOf("A", `${aBaseline ? "baseline " : ""}${JSON.stringify(aEnv)}`, a.value))
    if (b.status === "fulfilled")
      sides.push(sideOf("B", bBaseline ? "baseline" : JSON.stringify(bEnv), b.value))
    for (const started of [a, b]) if (started.status === "rejected") throw started.reason
    for (const side of sides) await load(side.url, side.pid, WARMUP)
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse()
      for (const side of order) side.rounds.push(await load(side.url, side.pid, SECONDS))
      console.log(
        `round ${round + 1}: ${sides.map((s) => `${s.name} ${int(s.rounds.at(-1)!.rate)} req/s, ${s.rounds.at(-1)!.cpuPerRequest.toFixed(3)} ms`).join("; ")}`
      )
    }
    console.log(
      `\n${SIZE} demands, ${ROUNDS} rounds of ${SECONDS} s per side after ${WARMUP} s of warm-up, 64 connections; medians:`
    )
    for (const side of sides) {
      const failed = side.rounds.reduce((sum, r) => sum + r.failed, 0)
      console.log(
        `${side.name} ${side.label}: ${int(median(side.rounds.map((r) => r.rate)))} req/s (rounds ${side.rounds.map((r) => int(r.rate)).join(", ")}), ${median(side.rounds.map((r) => r.cpuPerRequest)).toFixed(3)} ms of server CPU per page (its main thread ${median(side.rounds.map((r) => r.ranPerRequest)).toFixed(3)} ms, which also waited ${median(side.rounds.map((r) => r.waitedPerRequest)).toFixed(3)} ms for a CPU; its other threads ${median(side.rounds.map((r) => r.cpuPerRequest - r.ranPerRequest)).toFixed(3)} ms), p99 ${median(side.rounds.map((r) => r.p99))} ms, ${failed} failed`
      )
    }
    for (const side of sides) console.log(`${side.name} RSS at its highest: ${peakRss(side.pid)}`)
    if (traceGc) {
      for (const side of sides) {
        const gc = side.gc
        const pages = side.rounds.reduce((sum, r) => sum + r.ok, 0) || 1
        const kb = (bytes: number) => `${(bytes / pages / 1024).toFixed(1)} KB`
        console.log(
          `${side.name} collector (the whole run, warm-up included, per page of the rounds): allocated ${kb(gc.allocated)}, survived a scavenge ${kb(gc.survived)}, promoted ${kb(gc.promoted)}; ${gc.scavenges} scavenges, ${gc.pauses.toFixed(0)} ms of pauses; ${gc.markCompacts} mark-compacts`
        )
      }
    }
  } finally {
    await Promise.allSettled(sides.map((s) => s.stop()))
    await dropSchema(schema)
    await runtime.dispose()
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
