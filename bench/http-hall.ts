/**
 * The public hall over HTTP (issue 8's P1, P3 and P6), measured against the example
 * server (`bench/support/server.ts`: built packages, local PostgreSQL, `WORKERS=false`)
 * next to a hand-written `node:http` + node-postgres handler (`bench/baseline/hall-server.ts`)
 * running the same statement, each a child process, in schemas that are dropped at
 * the end (the hall's, and P3's small hall's):
 *
 * - data: 50 template demands written through `DemandRepository.insert`, copied in SQL
 *   into a hall of drafts, demands pending review and published demands in 12 fields
 *   (`bench/support/demands.ts`); the hall grows by adding older demands, so each size
 *   contains the smaller ones: P3's small size, then P1's size, then P3's large size.
 * - the request: `GET /hall?field=…&sort=published&limit=20`, anonymous: the first 20
 *   published demands of one field (a twelfth of them), newest publication first.
 *   Before measuring, the SELECT the adapter sends for it (seen through a tracer, in
 *   process, on the same schema) is compared with the baseline's, and the two servers'
 *   bodies are compared.
 * - P1: autocannon in this process, 64 connections, no pipelining: a warm-up of each
 *   server, then rounds alternating zhongbao and the baseline (zhongbao first in odd
 *   rounds, the baseline in even ones); the bodies compared again at P1's size; the
 *   baseline under the example server's node flags, its statement named and planned
 *   each time as adapter-pg sends it; the throughput ratio is
 *   the median of the rounds' ratios, zhongbao's p99 the median of its rounds' p99. CPU
 *   per request of each server from /proc; for scale, afterwards, the example server's
 *   CPU per `GET /health` and `GET /settings` and a minimal stock HttpApi's per `GET`
 *   (`bench/baseline/httpapi-minimal.ts`), at the same connections. Then P1 once more
 *   with one instance per core on each side (the example server's `WEB_CONCURRENCY`,
 *   the baseline's `INSTANCES`: `node:cluster`, the port shared), the same rounds
 *   after a longer warm-up, CPU summed over each side's processes: one process
 *   measures what one JavaScript thread serves, this what the machine serves.
 * - P6: both servers' RSS (/proc VmRSS) sampled every 100 ms during P1's load: the peak,
 *   and the idle RSS just before the load.
 * - P3: the small hall also in a schema of its own (the same demands as the large
 *   hall's newest), served by a zhongbao server and a baseline of its own, started
 *   once the large hall is loaded, when P1's pair is started afresh on the large hall
 *   too (both halls vacuumed and analysed after loading). All four servers warmed up with autocannon, then
 *   sequential requests on one keep-alive connection per server, in turns going
 *   through the four, so that both sizes are measured over the same minutes (measured
 *   minutes apart, the two medians moved with the machine: once 1.8 ms at 10k and
 *   3.05 ms at 1M for zhongbao, 1.29 and 2.09 ms for the baseline, where both sizes
 *   side by side answered in 1.85 and 1.82 ms); median and p95 of each; the ratio of
 *   zhongbao's medians. The baseline's medians and the statement's EXPLAIN ANALYZE at
 *   each size are printed beside them.
 *
 * `short` (CI): 5k demands for P1, one round of 2 s; P3 at 2k vs 20k. Full: 100k, five
 * rounds of 5 s; P3 at 10k vs 1M (the large load takes minutes; its time is printed).
 * `HALL_SERVER_NODE_OPTIONS` is passed to the example server as `NODE_OPTIONS`, e.g.
 * `--import /tmp/profile.mjs` with a module that starts `node:inspector`'s profiler
 * (Node 20 refuses `--cpu-prof` in `NODE_OPTIONS`). Run directly:
 * `npx tsx --conditions=@zhongbao/source bench/http-hall.ts [--short]`. Goals are
 * printed, never asserted.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { Agent, get as httpGet } from "node:http"
import { availableParallelism } from "node:os"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { SqlClient } from "@effect/sql"
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import { type Errors, Lists, type Persistence, Settings, Zhongbao } from "@zhongbao/core"
import autocannon from "autocannon"
import { DateTime, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { type HallSettings, hallSql } from "./baseline/hall-server.js"
import { mainThread, postgresCpu, procTimes } from "./support/cpu.js"
import { exec, HALL_FIELD, type HallLoad, loadHall, setup, traced } from "./support/demands.js"
import { type Figure, figuresTable, inTurn, int, median, quantile, ratioRange } from "./support/report.js"
import {
  databaseUrl,
  dropSchema,
  freshSchema,
  memoryOf,
  type ServerProcess,
  serverNodeFlags,
  startServer
} from "./support/server.js"

const CONNECTIONS = 64
const THROUGHPUT_GOAL = 0.8
const P99_GOAL_MS = 25
const RSS_GOAL_BYTES = 200 * 2 ** 20
const P3_GOAL = 1.5
const RSS_EVERY_MS = 100
const LIMIT = 20
/** The request of P1: the first page of one field, newest publication first. */
export const HALL_PATH = `/hall?field=${encodeURIComponent(HALL_FIELD)}&sort=published&limit=${LIMIT}`

interface Sizes {
  /** Demands of P1's hall. */
  readonly p1: number
  readonly rounds: number
  readonly roundSeconds: number
  readonly warmupSeconds: number
  /** P3's sizes. */
  readonly small: number
  readonly large: number
  /** Seconds of autocannon that warm up each of P3's four servers (the small pair is new). */
  readonly p3WarmupSeconds: number
  /** P3's sequential requests per size, after a warm-up of `warmupCalls`. */
  readonly calls: number
  readonly warmupCalls: number
}

const sizesOf = (short: boolean): Sizes =>
  short
    ? {
        p1: 5_000,
        rounds: 1,
        roundSeconds: 2,
        warmupSeconds: 1,
        small: 2_000,
        large: 20_000,
        p3WarmupSeconds: 2,
        calls: 100,
        warmupCalls: 30
      }
    : {
        p1: 100_000,
        rounds: 5,
        roundSeconds: 5,
        warmupSeconds: 6,
        small: 10_000,
        large: 1_000_000,
        p3WarmupSeconds: 5,
        calls: 500,
        warmupCalls: 150
      }

type Services = Zhongbao.Services | Persistence.Ports | Settings.Settings | SqlClient.SqlClient

/** Core over adapter-pg in this process: migrates the schema, writes the data, shows the SQL. */
export const makeRuntime = (schema: string) =>
  ManagedRuntime.make(
    Zhongbao.layer.pipe(
      Layer.provideMerge(Layer.merge(PgPersistence.layer({ schema }), Settings.layerDefault)),
      Layer.provideMerge(PgDatabase.layerPool({ url: Redacted.make(databaseUrl), maxConnections: 4 }))
    )
  ) as ManagedRuntime.ManagedRuntime<Services, Errors.InfrastructureError>

// ---------------------------------------------------------------------------------
// Processes

/** Resident set size of a process, in bytes (0 once it is gone). */
const rssOf = (pid: number): number => memoryOf(pid, "VmRSS")

/** A child process of `bench/baseline/`. */
export interface Baseline {
  readonly url: string
  readonly pid: number
  /** Everything the process printed so far. */
  readonly output: () => string
  readonly child: ChildProcess
  readonly stop: () => Promise<number | null>
}

const baselineScript = fileURLToPath(new URL("./baseline/hall-server.ts", import.meta.url))
const minimalScript = fileURLToPath(new URL("./baseline/httpapi-minimal.ts", import.meta.url))

/**
 * A script of `bench/baseline/` as a child process (`node --import tsx`: its loader
 * adds to its RSS, not to its speed once loaded), ready once it prints
 * `<name> is ready at <url>`.
 */
const startChild = (
  name: string,
  script: string,
  env: Readonly<Record<string, string>>,
  flags: ReadonlyArray<string> = []
): Promise<Baseline> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [...flags, "--import", "tsx", script], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      env: { ...process.env, ...env, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
    const stop = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      return exited
    }
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`the ${name} was not ready in 60 s:\n${output}`))
    }, 60_000)
    const ready = new RegExp(`${name} is ready at (http:\\/\\/[\\d.:]+)`)
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      const match = ready.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve({ url: match[1]!, pid: child.pid!, output: () => output, child, stop })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the ${name} exited (${code}):\n${output}`))
    })
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })

/** The settings the baseline needs to answer as core does, from core's defaults (the example server's). */
export const defaultHallSettings = (): HallSettings => {
  const settings = Settings.defaults
  return {
    timeZone: settings.timeZone,
    selectionWindowDays: settings.selectionWindowDays,
    singleAdoption: settings.singleAdoption,
    acceptingModes: settings.serviceModes.filter((m) => m.acceptsResponses).map((m) => m.id)
  }
}

/** The hand-written hall server (see the module's comment); `env` adds to its environment. */
export const startBaseline = (
  schema: string,
  settings: HallSettings,
  instances = 1,
  env: Readonly<Record<string, string>> = {}
): Promise<Baseline> =>
  startChild(
    "baseline",
    baselineScript,
    {
      ...env,
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema,
      HALL_SETTINGS: JSON.stringify(settings),
      INSTANCES: String(instances)
    },
    serverNodeFlags()
  )

// ---------------------------------------------------------------------------------
// Requests

/** One GET on `agent`: status, body and milliseconds. */
const get = (agent: Agent, url: string) =>
  new Promise<{ readonly status: number; readonly body: string; readonly ms: number }>((resolve, reject) => {
    const started = performance.now()
    httpGet(url, { agent }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          ms: performance.now() - started
        })
      )
      res.on("error", reject)
    }).on("error", reject)
  })

interface Sequential {
  readonly median: number
  readonly p95: number
  readonly failed: number
}

/** The number of turns P3's sequential requests take between the two servers. */
const P3_TURNS = 5

/**
 * `calls` GETs one after another to each of `urls`, each on one keep-alive connection
 * of its own, after `warmup` more to each: in {@link P3_TURNS} turns going through
 * the servers in order, so that what the machine does meanwhile (a checkpoint after
 * a large load, another tenant of the host) falls on all of them alike.
 */
const sideBySide = async (
  urls: ReadonlyArray<string>,
  calls: number,
  warmup: number
): Promise<ReadonlyArray<Sequential>> => {
  const sides = urls.map((url) => ({
    url,
    agent: new Agent({ keepAlive: true, maxSockets: 1 }),
    samples: [] as Array<number>,
    failed: 0
  }))
  const run = async (side: (typeof sides)[number], n: number, kept: boolean) => {
    for (let i = 0; i < n; i++) {
      const r = await get(side.agent, side.url)
      if (r.status !== 200) side.failed++
      if (kept) side.samples.push(r.ms)
    }
  }
  try {
    for (const side of sides) await run(side, warmup, false)
    for (let turn = 0; turn < P3_TURNS; turn++) {
      const n = Math.floor((calls * (turn + 1)) / P3_TURNS) - Math.floor((calls * turn) / P3_TURNS)
      for (const side of sides) await run(side, n, true)
    }
    return sides.map((side): Sequential => {
      side.samples.sort((x, y) => x - y)
      return { median: quantile(side.samples, 0.5), p95: quantile(side.samples, 0.95), failed: side.failed }
    })
  } finally {
    for (const side of sides) side.agent.destroy()
  }
}

/** What one round of autocannon on a server measured. */
export interface Load {
  readonly rate: number
  readonly ok: number
  readonly failed: number
  readonly p50: number
  readonly p99: number
  /** Server CPU per answered request, in ms. */
  readonly cpuPerRequest: number
  /** The part of it spent in the kernel (system time), in ms. */
  readonly kernelPerRequest: number
  /** CPU of every PostgreSQL process of the machine per answered request, in ms (`NaN` without /proc). */
  readonly postgresPerRequest: number
  /**
   * The server's main thread (the one that runs its JavaScript) per answered request:
   * ms it ran, ms runnable but waiting for a CPU, and times preempted. The rest of
   * `cpuPerRequest` is the process's other threads: V8's collector and compiler
   * helpers, libuv's pool.
   */
  readonly ranPerRequest: number
  readonly waitedPerRequest: number
  readonly preemptedPerRequest: number
}

/**
 * One round of autocannon at 64 connections against `url` for `seconds`, with the
 * CPU time of its server (process `pid`) and of PostgreSQL over the run.
 */
export const load = async (url: string, pid: number, seconds: number): Promise<Load> => {
  const before = procTimes(pid)
  const thread = mainThread(pid)
  const postgresBefore = postgresCpu()
  const r = await autocannon({ url, connections: CONNECTIONS, pipelining: 1, duration: seconds })
  const ok = r["2xx"]
  const after = mainThread(pid)
  const postgresAfter = postgresCpu()
  return {
    postgresPerRequest:
      postgresBefore === undefined || postgresAfter === undefined
        ? Number.NaN
        : (postgresAfter - postgresBefore) / Math.max(1, ok),
    ranPerRequest: (after.ranMs - thread.ranMs) / Math.max(1, ok),
    waitedPerRequest: (after.waitedMs - thread.waitedMs) / Math.max(1, ok),
    preemptedPerRequest: (after.involuntary - thread.involuntary) / Math.max(1, ok),
    rate: ok / r.duration,
    ok,
    failed: r.non2xx + r.errors,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ...((end) => ({
      cpuPerRequest: (end.self - before.self) / Math.max(1, ok),
      kernelPerRequest: (end.system - before.system) / Math.max(1, ok)
    }))(procTimes(pid))
  }
}

/** The live children of a process (the instances a cluster's primary forked). */
const childrenOf = (pid: number): ReadonlyArray<number> => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

/** CPU time (ms) of a process and of its live children. */
const treeCpu = (pid: number): number =>
  [pid, ...childrenOf(pid)].reduce((sum, p) => {
    try {
      return sum + procTimes(p).self
    } catch {
      return sum
    }
  }, 0)

/** What one round against a cluster measured: as {@link Load}, CPU summed over its processes. */
type TreeLoad = Pick<Load, "rate" | "ok" | "failed" | "p50" | "p99" | "cpuPerRequest" | "postgresPerRequest">

/** autocannon against `url` for `seconds`, with the CPU of the server's processes over the run. */
const loadTree = async (url: string, pid: number, seconds: number): Promise<TreeLoad> => {
  const before = treeCpu(pid)
  const postgresBefore = postgresCpu()
  const r = await autocannon({ url, connections: CONNECTIONS, pipelining: 1, duration: seconds })
  const ok = Math.max(1, r["2xx"])
  const postgresAfter = postgresCpu()
  return {
    rate: r["2xx"] / r.duration,
    ok: r["2xx"],
    failed: r.non2xx + r.errors,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuPerRequest: (treeCpu(pid) - before) / ok,
    postgresPerRequest:
      postgresBefore === undefined || postgresAfter === undefined
        ? Number.NaN
        : (postgresAfter - postgresBefore) / ok
  }
}

/** Peak and last RSS of processes, sampled every `RSS_EVERY_MS` until `stop`. */
const sampleRss = (pids: Readonly<Record<string, number>>) => {
  const peaks: Record<string, number> = {}
  let samples = 0
  const take = () => {
    samples++
    for (const [name, pid] of Object.entries(pids)) peaks[name] = Math.max(peaks[name] ?? 0, rssOf(pid))
  }
  take()
  const timer = setInterval(take, RSS_EVERY_MS)
  return {
    stop: () => {
      clearInterval(timer)
      take()
      return { peaks, samples }
    }
  }
}

// ---------------------------------------------------------------------------------
// Formatting

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`
const ms = (x: number, digits = 2) => `${x.toFixed(digits)} ms`
const seconds = (x: number) => `${(x / 1000).toFixed(1)} s`
const size = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : String(n))
const describeLoad = (l: HallLoad, wall: number) =>
  l.indexes === 0
    ? `${int(l.rows)} demands in ${seconds(wall)} (indexes in place)`
    : `${int(l.rows)} demands in ${seconds(wall)}: insert ${seconds(l.insert)} without the ${l.indexes} secondary indexes, rebuilding them ${seconds(l.index)}`
const normalise = (sql: string) => sql.replace(/\s+/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")").trim()
const log = (line: string) => console.log(`[hall] ${line}`)

// ---------------------------------------------------------------------------------

/**
 * The server CPU per request of cheaper requests at P1's connections, after P1's
 * rounds, for scale (one round each after a warm-up): the example server's
 * `GET /health` (answered by its `node:http` handler before the API), its
 * `GET /settings` (the API with its middleware, no database), and a minimal stock
 * HttpApi's one endpoint (`bench/baseline/httpapi-minimal.ts`, in a process of its
 * own). A failure here is printed in the line, not thrown: P1's figures stand without it.
 */
const forScale = async (server: ServerProcess, sizes: Sizes): Promise<string> => {
  const flags = serverNodeFlags()
  const prefix = `server CPU per request at ${CONNECTIONS} connections, for scale (one round of ${sizes.roundSeconds} s each after ${sizes.warmupSeconds} s of warm-up)`
  let minimal: Baseline | undefined
  try {
    minimal = await startChild("minimal", minimalScript, {}, flags)
    const cpuOf = async (url: string, pid: number) => {
      await load(url, pid, sizes.warmupSeconds)
      const run = await load(url, pid, sizes.roundSeconds)
      return `${ms(run.cpuPerRequest)}${run.failed === 0 ? "" : ` [${int(run.failed)} failed or not 2xx]`}`
    }
    const health = await cpuOf(`${server.url}/health`, server.pid)
    const settings = await cpuOf(`${server.url}/settings`, server.pid)
    const stock = await cpuOf(`${minimal.url}/minimal`, minimal.pid)
    return `${prefix}: zhongbao GET /health ${health} (node:http alone, before the API), GET /settings ${settings} (the API and its middleware, no database); a minimal stock HttpApi's one GET ${stock} (bench/baseline/httpapi-minimal.ts: no middleware, a 15-byte answer encoded by HttpApiBuilder, served through platform-node's handler as Mount serves the API; node ${flags.join(" ")} --import tsx, from TypeScript)`
  } catch (error) {
    return `${prefix}: unavailable (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`
  } finally {
    await minimal?.stop()
  }
}

/**
 * Two processes started side by side; when one fails to start, the other is stopped
 * before the failure is thrown (it would be left running: no variable holds it yet).
 */
const bothStarted = async <
  A extends { readonly stop: () => Promise<unknown> },
  B extends { readonly stop: () => Promise<unknown> }
>(
  a: Promise<A>,
  b: Promise<B>
): Promise<readonly [A, B]> => {
  const [x, y] = await Promise.allSettled([a, b])
  if (x.status === "fulfilled" && y.status === "fulfilled") return [x.value, y.value]
  await Promise.allSettled([x, y].flatMap((s) => (s.status === "fulfilled" ? [s.value.stop()] : [])))
  throw x.status === "rejected" ? x.reason : (y as PromiseRejectedResult).reason
}

/**
 * Runs P1, P6 and P3 (see the module's comment) and answers their figures; `short`
 * takes small sizes and one short round (well under a minute).
 */
export const run = async (options: { readonly short: boolean }): Promise<ReadonlyArray<Figure>> => {
  const sizes = sizesOf(options.short)
  const schema = freshSchema("bench_hall")
  const smallSchema = freshSchema("bench_hall_small")
  const rt = makeRuntime(schema)
  const rtSmall = makeRuntime(smallSchema)
  let server: ServerProcess | undefined
  let baseline: Baseline | undefined
  let smallServer: ServerProcess | undefined
  let smallBaseline: Baseline | undefined
  let clusterServer: ServerProcess | undefined
  let clusterBaseline: Baseline | undefined
  const timed = async <A>(f: () => Promise<A>) => {
    const started = performance.now()
    const result = await f()
    return { result, wall: performance.now() - started }
  }
  try {
    log(
      `schemas ${schema} and ${smallSchema}; P1 at ${int(sizes.p1)} demands, P3 at ${int(sizes.small)} vs ${int(sizes.large)}`
    )
    const end = DateTime.formatIso(DateTime.subtract(DateTime.unsafeNow(), { hours: 1 }))
    await rt.runPromise(setup(schema, { responders: 10 }))
    await rtSmall.runPromise(setup(smallSchema, { responders: 10 }))
    const grow = async (runtime: typeof rt, into: string, from: number, to: number) => {
      const { result, wall } = await timed(() =>
        runtime.runPromise(
          loadHall(into, { from: sizes.large - to + 1, to: sizes.large - from, total: sizes.large, end })
        )
      )
      const text = describeLoad(result, wall)
      log(`${into === schema ? "hall" : "small hall"} grown to ${int(to)}: ${text}`)
      return text
    }
    await grow(rt, schema, 0, sizes.small)
    const smallLoad = await grow(rtSmall, smallSchema, 0, sizes.small)

    const input = { field: HALL_FIELD, sort: "published" as const, limit: LIMIT }
    const seen = await rt.runPromise(traced(Effect.flatMap(Lists.Lists, (lists) => lists.hall(null, input))))
    const select = seen.log.find((s) => s.startsWith("SELECT")) ?? ""
    const sameSql = normalise(select) === normalise(hallSql(schema))
    const statements = seen.log.map((s) => (s.startsWith("SELECT") ? "SELECT …" : s)).join(", ")
    log(
      `the adapter sends ${seen.log.length} statements (${statements}); same SELECT as the baseline: ${sameSql}`
    )
    if (!sameSql) log(`adapter:  ${normalise(select)}\n[hall] baseline: ${normalise(hallSql(schema))}`)
    const explain = async (runtime: typeof rt, statement: string) => {
      const rows = await runtime.runPromise(
        exec(`EXPLAIN (ANALYZE, COSTS OFF) ${statement}`, [HALL_FIELD, LIMIT + 1])
      )
      const plan = rows.map((r) => String(r["QUERY PLAN"]))
      const index = plan.map((l) => /Index Scan(?: Backward)? using (\S+)/.exec(l)?.[1]).find(Boolean)
      const time = plan.map((l) => /Execution Time: ([\d.]+)/.exec(l)?.[1]).find(Boolean)
      return `${index === undefined ? plan[0]?.trim() : `index scan of ${index}`}, executed in ${time} ms`
    }

    const hallSettings = defaultHallSettings()
    const startPair = (on: string) =>
      bothStarted(
        startServer({
          schema: on,
          env: {
            WORKERS: "false",
            ...(process.env.HALL_SERVER_NODE_OPTIONS === undefined
              ? {}
              : { NODE_OPTIONS: process.env.HALL_SERVER_NODE_OPTIONS })
          }
        }),
        startBaseline(on, hallSettings)
      )
    const started = await timed(() => startPair(schema))
    ;[server, baseline] = started.result
    const zb = { url: server.url + HALL_PATH, pid: server.pid }
    const bl = { url: baseline.url + HALL_PATH, pid: baseline.pid }
    const startedRss = { zb: server.rssBytes(), bl: rssOf(bl.pid) }
    log(`servers ready in ${seconds(started.wall)}: zhongbao ${server.url}, baseline ${baseline.url}`)

    const agent = new Agent({ keepAlive: false })
    /** One page from each of a pair of servers, and whether both answered 200 with the same JSON. */
    const pagesOf = async (zbUrl: string, blUrl: string) => {
      const [z, b] = await Promise.all([get(agent, zbUrl), get(agent, blUrl)])
      const same =
        z.status === 200 &&
        b.status === 200 &&
        JSON.stringify(JSON.parse(z.body)) === JSON.stringify(JSON.parse(b.body))
      return { zbPage: z, blPage: b, same }
    }
    const { zbPage, blPage, same: sameJson } = await pagesOf(zb.url, bl.url)
    const page = JSON.parse(zbPage.body) as { items?: ReadonlyArray<unknown>; nextCursor?: unknown }
    const bodies = `${page.items?.length ?? 0} items and a cursor: ${typeof page.nextCursor === "string"}; same JSON from both: ${sameJson}${zbPage.body === blPage.body ? " (byte for byte)" : ""}, ${int(Buffer.byteLength(zbPage.body))} vs ${int(Buffer.byteLength(blPage.body))} bytes`
    log(bodies)
    if (!sameJson)
      log(`zhongbao: ${zbPage.body.slice(0, 600)}\n[hall] baseline: ${blPage.body.slice(0, 600)}`)

    // P1 and P6
    const p1Load = await grow(rt, schema, sizes.small, sizes.p1)
    const sameGrownJson = (await pagesOf(zb.url, bl.url)).same
    const idle = { zb: server.rssBytes(), bl: rssOf(bl.pid) }
    const rss = sampleRss({ zb: zb.pid, bl: bl.pid })
    await load(zb.url, zb.pid, sizes.warmupSeconds)
    await load(bl.url, bl.pid, sizes.warmupSeconds)
    const rounds: Array<{ readonly zb: Load; readonly bl: Load }> = []
    for (let round = 1; round <= sizes.rounds; round++) {
      const { zb: z, bl: b } = await inTurn(
        round,
        () => load(zb.url, zb.pid, sizes.roundSeconds),
        () => load(bl.url, bl.pid, sizes.roundSeconds)
      )
      rounds.push({ zb: z, bl: b })
      log(
        `P1 round ${round}: zhongbao ${int(z.rate)} req/s (p99 ${ms(z.p99, 0)}), baseline ${int(b.rate)} req/s (p99 ${ms(b.p99, 0)}), ratio ${(z.rate / b.rate).toFixed(2)}`
      )
    }
    const sampled = rss.stop()
    const after = { zb: server.rssBytes(), bl: rssOf(bl.pid) }
    const plan = await explain(rt, select)
    const scale = await forScale(server, sizes)

    // P1 once more with one instance per core on both sides (the example server's
    // WEB_CONCURRENCY, the baseline's INSTANCES): the machine's capacity, where the
    // rounds above measure one JavaScript thread each
    const cores = availableParallelism()
    ;[clusterServer, clusterBaseline] = await bothStarted(
      startServer({ schema, env: { WORKERS: "false", WEB_CONCURRENCY: String(cores) } }),
      startBaseline(schema, hallSettings, cores)
    )
    const zbc = { url: clusterServer.url + HALL_PATH, pid: clusterServer.pid }
    const blc = { url: clusterBaseline.url + HALL_PATH, pid: clusterBaseline.pid }
    const sameClusterJson = (await pagesOf(zbc.url, blc.url)).same
    await loadTree(zbc.url, zbc.pid, sizes.warmupSeconds * 3)
    await loadTree(blc.url, blc.pid, sizes.warmupSeconds * 3)
    const capacity: Array<{ readonly zb: TreeLoad; readonly bl: TreeLoad }> = []
    for (let round = 1; round <= sizes.rounds; round++) {
      const { zb: z, bl: b } = await inTurn(
        round,
        () => loadTree(zbc.url, zbc.pid, sizes.roundSeconds),
        () => loadTree(blc.url, blc.pid, sizes.roundSeconds)
      )
      capacity.push({ zb: z, bl: b })
      log(
        `P1 with ${cores} instances each, round ${round}: zhongbao ${int(z.rate)} req/s (p99 ${ms(z.p99, 0)}), baseline ${int(b.rate)} req/s (p99 ${ms(b.p99, 0)}), ratio ${(z.rate / b.rate).toFixed(2)}`
      )
    }
    await Promise.allSettled([clusterServer.stop(), clusterBaseline.stop()])

    // P3: the large hall, and the small one in a schema of its own, side by side
    // (a fresh pair on the large hall too, so that neither size is served by processes
    // warmed by P1's load)
    const largeLoad = await grow(rt, schema, sizes.p1, sizes.large)
    await Promise.allSettled([server.stop(), baseline.stop()])
    ;[server, baseline] = await startPair(schema)
    ;[smallServer, smallBaseline] = await startPair(smallSchema)
    const zbLarge = { url: server.url + HALL_PATH, pid: server.pid }
    const blLarge = { url: baseline.url + HALL_PATH, pid: baseline.pid }
    const zbSmall = { url: smallServer.url + HALL_PATH, pid: smallServer.pid }
    const blSmall = { url: smallBaseline.url + HALL_PATH, pid: smallBaseline.pid }
    const sameP3Json =
      (await pagesOf(zbSmall.url, blSmall.url)).same && (await pagesOf(zbLarge.url, blLarge.url)).same
    for (const side of [zbSmall, blSmall, zbLarge, blLarge])
      await load(side.url, side.pid, sizes.p3WarmupSeconds)
    const [zs, bs, zl, bll] = await sideBySide(
      [zbSmall.url, blSmall.url, zbLarge.url, blLarge.url],
      sizes.calls,
      sizes.warmupCalls
    )
    const smallSelect = select.replaceAll(`"${schema}"`, `"${smallSchema}"`)
    const atSmall = { zb: zs!, bl: bs!, plan: await explain(rtSmall, smallSelect) }
    const atLarge = { zb: zl!, bl: bll!, plan: await explain(rt, select) }
    log(
      `P3: zhongbao median ${ms(atSmall.zb.median)} at ${int(sizes.small)}, ${ms(atLarge.zb.median)} at ${int(sizes.large)}; baseline ${ms(atSmall.bl.median)}, ${ms(atLarge.bl.median)}`
    )

    const failed = rounds.reduce((acc, r) => acc + r.zb.failed + r.bl.failed, 0)
    const oneStatement = seen.log.length === 1
    const valid = sameSql && oneStatement && sameJson && sameGrownJson && failed === 0
    const invalid = [
      ...(sameSql ? [] : ["the baseline's SELECT differs from the adapter's"]),
      ...(oneStatement ? [] : [`the adapter sends ${seen.log.length} statements for a page, the baseline 1`]),
      ...(sameJson ? [] : ["the two servers answer different JSON"]),
      ...(sameGrownJson ? [] : [`the two servers answer different JSON at ${int(sizes.p1)} demands`]),
      ...(failed === 0 ? [] : [`${int(failed)} requests failed or were not 2xx`])
    ]
    const ratio = median(rounds.map((r) => r.zb.rate / r.bl.rate))
    const zbRate = median(rounds.map((r) => r.zb.rate))
    const blRate = median(rounds.map((r) => r.bl.rate))
    const p99 = median(rounds.map((r) => r.zb.p99))
    const blP99 = median(rounds.map((r) => r.bl.p99))
    const p1Details = [
      ...invalid.map((line) => `NOT COMPARABLE: ${line}`),
      `GET ${HALL_PATH} (anonymous) at ${int(sizes.p1)} demands; autocannon ${CONNECTIONS} connections, no pipelining, ${sizes.rounds} round(s) of ${sizes.roundSeconds} s per side after ${sizes.warmupSeconds} s of warm-up each, alternating (zhongbao first in odd rounds, the baseline first in even ones); the same JSON from both at ${int(sizes.small)} and at ${int(sizes.p1)} demands: ${sameJson && sameGrownJson}`,
      ...rounds.map(
        (r, i) =>
          `round ${i + 1}: zhongbao ${int(r.zb.rate)} req/s (p50 ${ms(r.zb.p50, 0)}, p99 ${ms(r.zb.p99, 0)}, CPU ${ms(r.zb.cpuPerRequest)}/req, kernel ${ms(r.zb.kernelPerRequest)}), baseline ${int(r.bl.rate)} req/s (p50 ${ms(r.bl.p50, 0)}, p99 ${ms(r.bl.p99, 0)}, CPU ${ms(r.bl.cpuPerRequest)}/req, kernel ${ms(r.bl.kernelPerRequest)}), ratio ${(r.zb.rate / r.bl.rate).toFixed(2)}`
      ),
      `server CPU per request (median of the rounds): zhongbao ${ms(median(rounds.map((r) => r.zb.cpuPerRequest)))}, baseline ${ms(median(rounds.map((r) => r.bl.cpuPerRequest)))}`,
      `PostgreSQL CPU per request (every postgres process of the machine, median of the rounds): with zhongbao ${ms(median(rounds.map((r) => r.zb.postgresPerRequest)))}, with the baseline ${ms(median(rounds.map((r) => r.bl.postgresPerRequest)))} (the same statement; PostgreSQL shares the machine's cores with the server and autocannon)`,
      `server main thread per request (median of the rounds; /proc/<pid>/schedstat and status): zhongbao ran ${ms(median(rounds.map((r) => r.zb.ranPerRequest)), 3)} of its process's ${ms(median(rounds.map((r) => r.zb.cpuPerRequest)), 3)} (the rest: V8's collector and compiler threads), waited ${ms(median(rounds.map((r) => r.zb.waitedPerRequest)), 3)} for a CPU while runnable, preempted ${median(rounds.map((r) => r.zb.preemptedPerRequest)).toFixed(2)} times; baseline ran ${ms(median(rounds.map((r) => r.bl.ranPerRequest)), 3)} of ${ms(median(rounds.map((r) => r.bl.cpuPerRequest)), 3)}, waited ${ms(median(rounds.map((r) => r.bl.waitedPerRequest)), 3)}, preempted ${median(rounds.map((r) => r.bl.preemptedPerRequest)).toFixed(2)} times (each server's one JavaScript thread shares the ${availableParallelism()} cores with PostgreSQL's backends, which its statements wake, its own process's helper threads and autocannon)`,
      scale,
      `statements per request: zhongbao ${seen.log.length} (${statements}), baseline 1 (the same SELECT: ${sameSql}); ${plan}`,
      `response: ${bodies}`,
      `both servers: pools of 10 connections; zhongbao is examples/server/dist/main.js under node ${serverNodeFlags().join(" ")} (its start:built script; WORKERS=false), the baseline under node ${serverNodeFlags().join(" ")} --import tsx, its statement sent named and planned each time as adapter-pg's`
    ]
    const capacityRatio = median(capacity.map((r) => r.zb.rate / r.bl.rate))
    const capacityFailed = capacity.reduce((acc, r) => acc + r.zb.failed + r.bl.failed, 0)
    const capacityValid = valid && sameClusterJson && capacityFailed === 0
    const p3Ratio = atLarge.zb.median / atSmall.zb.median
    const p3Failed = atSmall.zb.failed + atLarge.zb.failed + atSmall.bl.failed + atLarge.bl.failed
    const row = (n: number, s: typeof atSmall, loaded: string) =>
      `${int(n)} demands: zhongbao median ${ms(s.zb.median)}, p95 ${ms(s.zb.p95)}; baseline median ${ms(s.bl.median)}, p95 ${ms(s.bl.p95)}; ${s.plan}; loaded: ${loaded}`
    return [
      {
        id: "P1",
        name: `public hall over HTTP (${size(sizes.p1)} demands): throughput of zhongbao / node:http + pg`,
        measured: `${ratio.toFixed(2)} (${int(zbRate)} vs ${int(blRate)} req/s; rounds ${ratioRange(rounds.map((r) => r.zb.rate / r.bl.rate))})`,
        goal: `≥ ${THROUGHPUT_GOAL.toFixed(2)}`,
        met: valid ? ratio >= THROUGHPUT_GOAL : undefined,
        details: p1Details,
        invariants: [
          {
            name: "the adapter and the baseline send the same SELECT and answer the same JSON",
            holds: sameSql && oneStatement && sameJson && sameGrownJson,
            detail: `same SELECT: ${sameSql}, one statement a page: ${oneStatement}, same JSON: ${sameJson} (at ${int(sizes.p1)} demands: ${sameGrownJson})`
          }
        ]
      },
      {
        id: "P1",
        name: `public hall over HTTP: zhongbao's p99 at ${CONNECTIONS} connections`,
        measured: `${ms(p99, 0)} (baseline ${ms(blP99, 0)})`,
        goal: `≤ ${P99_GOAL_MS} ms`,
        met: valid ? p99 <= P99_GOAL_MS : undefined,
        details: [
          `median of the rounds' p99: ${rounds.map((r) => ms(r.zb.p99, 0)).join(", ")}`,
          `with ${CONNECTIONS} connections always waiting, the mean latency is ${CONNECTIONS} / throughput (Little's law), and the p99 is at least that: ≤ ${P99_GOAL_MS} ms needs ≥ ${int((CONNECTIONS * 1000) / P99_GOAL_MS)} req/s; here the baseline served ${int(blRate)} req/s (mean ${ms((CONNECTIONS * 1000) / blRate, 0)}) and zhongbao ${int(zbRate)} (mean ${ms((CONNECTIONS * 1000) / zbRate, 0)})`
        ]
      },
      {
        id: "P1",
        name: `public hall over HTTP (${size(sizes.p1)} demands), ${cores} instances on each side (one per core): throughput of zhongbao / node:http + pg`,
        measured: `${capacityRatio.toFixed(2)} (${int(median(capacity.map((r) => r.zb.rate)))} vs ${int(median(capacity.map((r) => r.bl.rate)))} req/s; rounds ${ratioRange(capacity.map((r) => r.zb.rate / r.bl.rate))}; p99 ${ms(median(capacity.map((r) => r.zb.p99)), 0)}, baseline ${ms(median(capacity.map((r) => r.bl.p99)), 0)})`,
        goal: `≥ ${THROUGHPUT_GOAL.toFixed(2)}`,
        met: capacityValid ? capacityRatio >= THROUGHPUT_GOAL : undefined,
        details: [
          ...(capacityFailed === 0
            ? []
            : [`NOT COMPARABLE: ${int(capacityFailed)} requests failed or were not 2xx`]),
          ...(sameClusterJson ? [] : ["NOT COMPARABLE: the two clusters answer different JSON"]),
          `the rounds above measure one process on each side (one JavaScript thread, which zhongbao's server fills while the machine has cores to spare); here the example server runs with WEB_CONCURRENCY=${cores} and the baseline with INSTANCES=${cores} (node:cluster, the port shared), the same SELECT and JSON, pools of 10 connections per instance; ${sizes.rounds} round(s) of ${sizes.roundSeconds} s per side after ${sizes.warmupSeconds * 3} s of warm-up each (each instance gets a share of it), alternating`,
          ...capacity.map(
            (r, i) =>
              `round ${i + 1}: zhongbao ${int(r.zb.rate)} req/s (p50 ${ms(r.zb.p50, 0)}, p99 ${ms(r.zb.p99, 0)}, CPU ${ms(r.zb.cpuPerRequest)}/req over its processes, PostgreSQL ${ms(r.zb.postgresPerRequest)}), baseline ${int(r.bl.rate)} req/s (p50 ${ms(r.bl.p50, 0)}, p99 ${ms(r.bl.p99, 0)}, CPU ${ms(r.bl.cpuPerRequest)}/req, PostgreSQL ${ms(r.bl.postgresPerRequest)}), ratio ${(r.zb.rate / r.bl.rate).toFixed(2)}`
          ),
          "the p99 goal is the row below's; with one instance per core the servers, PostgreSQL and autocannon share the cores as before"
        ]
      },
      {
        id: "P3",
        name: `public hall latency over HTTP at ${size(sizes.large)} vs ${size(sizes.small)} demands (medians)`,
        measured: `${p3Ratio.toFixed(2)} (${ms(atLarge.zb.median)} vs ${ms(atSmall.zb.median)})`,
        goal: `≤ ${P3_GOAL}`,
        met: p3Failed === 0 && sameJson && sameP3Json ? p3Ratio <= P3_GOAL : undefined,
        details: [
          ...(p3Failed === 0 ? [] : [`NOT COMPARABLE: ${p3Failed} requests were not 200`]),
          ...(sameP3Json ? [] : ["NOT COMPARABLE: the two servers of a hall answer different JSON"]),
          `the small hall in a schema of its own (the same demands as the large hall's newest), with a zhongbao server and a baseline of its own, the large hall with a pair started afresh once it was loaded, each of the four warmed up with autocannon for ${sizes.p3WarmupSeconds} s; then ${sizes.calls} sequential requests per server on one keep-alive connection, after ${sizes.warmupCalls} more, in ${P3_TURNS} turns going through the four servers (small zhongbao, small baseline, large zhongbao, large baseline), so that both sizes are measured over the same minutes`,
          row(sizes.small, atSmall, smallLoad),
          row(sizes.large, atLarge, largeLoad),
          `baseline ratio of medians: ${(atLarge.bl.median / atSmall.bl.median).toFixed(2)}`
        ]
      },
      {
        id: "P6",
        name: "server RSS under the P1 load (peak)",
        measured: `${mb(sampled.peaks.zb ?? 0)} (idle ${mb(idle.zb)}; baseline ${mb(sampled.peaks.bl ?? 0)})`,
        goal: `≤ ${mb(RSS_GOAL_BYTES)}`,
        met: valid ? (sampled.peaks.zb ?? 0) <= RSS_GOAL_BYTES : undefined,
        details: [
          `VmRSS every ${RSS_EVERY_MS} ms (${sampled.samples} samples) over P1's warm-up and rounds at ${int(sizes.p1)} demands; the hall grown to it in ${p1Load}`,
          `zhongbao: ${mb(startedRss.zb)} just started, ${mb(idle.zb)} idle before the load, peak ${mb(sampled.peaks.zb ?? 0)}, ${mb(after.zb)} after`,
          `baseline: ${mb(startedRss.bl)} just started, ${mb(idle.bl)} idle before the load, peak ${mb(sampled.peaks.bl ?? 0)}, ${mb(after.bl)} after`,
          `zhongbao runs from the built JavaScript under node ${serverNodeFlags().join(" ")} (the example server's start:built script: V8 paces its collections by the heap limit, which by default is a quarter of the machine's memory up to 4 GB); the baseline under the same flags and --import tsx, whose loader counts in its RSS`
        ]
      }
    ]
  } finally {
    const stopped = await Promise.allSettled([
      server?.stop(),
      baseline?.stop(),
      smallServer?.stop(),
      smallBaseline?.stop(),
      clusterServer?.stop(),
      clusterBaseline?.stop()
    ])
    for (const s of stopped) if (s.status === "rejected") console.error("could not stop a server:", s.reason)
    for (const [runtime, name] of [
      [rt, schema],
      [rtSmall, smallSchema]
    ] as const) {
      await runtime.dispose().catch((error: unknown) => console.error("could not close the pool:", error))
      await dropSchema(name).catch((error: unknown) =>
        console.error(`could not drop the schema ${name}:`, error)
      )
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const short = process.argv.includes("--short")
  const started = performance.now()
  try {
    const figures = await run({ short })
    console.log(`\n${figuresTable(figures)}\n`)
    for (const f of figures) for (const line of f.details ?? []) console.log(`- ${f.id}: ${line}`)
    console.log(`\ntotal ${seconds(performance.now() - started)}`)
  } catch (error) {
    console.error(error)
    process.exitCode = 1
  }
}
