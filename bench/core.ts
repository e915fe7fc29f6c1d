/**
 * Benchmarks of core on its memory layer (`npm run bench`), with the real clock:
 *
 * (a) respond + adopt cycles per second: demands are published beforehand; each
 *     cycle is one response to a demand and its adoption, each use case a unit of
 *     work of its own, run one after the other in one fiber (goal ≥ 50k cycles/s);
 * (b) list latency at 10k and 100k demands, inserted directly through the
 *     `DemandRepository` port in the published state: the public hall's first page,
 *     a keyword search, and "my demands"; median and p95 per call.
 *
 * `--only=cycles` or `--only=lists` runs one part, e.g. under `node --cpu-prof`.
 */
import { cpus, loadavg } from "node:os"
import { performance } from "node:perf_hooks"
import {
  Deadline,
  Demand,
  Ids,
  Lists,
  Persistence,
  Responding,
  Selection,
  Settings,
  Zhongbao
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, ManagedRuntime, Schema } from "effect"

type Runtime = ManagedRuntime.ManagedRuntime<
  Zhongbao.Services | Persistence.Ports | Settings.Settings,
  unknown
>

const CYCLES = 20_000
const RUNS = 3
const WARMUP_CYCLES = 2_000
const CYCLE_GOAL = 50_000

const KEYWORDS = Array.from({ length: 50 }, (_, i) => `关键词${String(i).padStart(2, "0")}`)
const FIELDS = Settings.defaults.technicalFields

const makeRuntime = (): Runtime => ManagedRuntime.make(Zhongbao.layerMemory()) as Runtime

/**
 * Inserts `count` published demands through the port: publishers alternate between
 * `publishers`, keyword `KEYWORDS[i % 50]`, the field cycles through the taxonomy.
 */
const seed = (count: number, publishers: ReadonlyArray<Fixtures.Party>) =>
  Effect.gen(function* () {
    const repo = yield* Persistence.DemandRepository
    const settings = yield* Settings.Settings
    const now = yield* DateTime.now
    const base = yield* Schema.decodeUnknown(Demand.DemandForm)(yield* Fixtures.form({}, 60))
    const nowMs = DateTime.toEpochMillis(now)
    const year = Deadline.dateAt(now, settings).slice(0, 4)
    const ids: Array<Ids.DemandId> = []
    for (let i = 0; i < count; i++) {
      const publisher = publishers[i % publishers.length]!
      const at = DateTime.unsafeMake(nowMs - (count - i) * 1000)
      const keyword = KEYWORDS[i % KEYWORDS.length]!
      const demand: Demand.Demand = {
        ...Demand.draft({
          id: Ids.make<Ids.DemandId>(),
          publisherId: publisher.member.id,
          createdBy: publisher.account,
          form: {
            ...base,
            title: `${base.title} ${keyword} 第${i}号`,
            keywords: [keyword, "散热"],
            field: FIELDS[i % FIELDS.length]!
          },
          at
        }),
        state: "published",
        number: Demand.formatNumber("ZB", Number(year), i + 1, 4),
        submittedAt: at,
        approvedAt: at,
        firstPublishedAt: at
      }
      yield* repo.insert(demand)
      ids.push(demand.id)
    }
    return ids
  })

const proposal = { title: "应答方案", content: "采用化学气相沉积工艺提高良率" }

/** One respond + adopt cycle per demand; returns the elapsed milliseconds. */
const cycles = (world: Fixtures.World, ids: ReadonlyArray<Ids.DemandId>) =>
  Effect.gen(function* () {
    const responding = yield* Responding.Responding
    const selection = yield* Selection.Selection
    const started = performance.now()
    for (const demandId of ids) {
      const response = yield* responding.respond(world.institute.account, { demandId, proposal })
      yield* selection.adopt(world.enterprise.account, { responseId: response.id })
    }
    return performance.now() - started
  })

const quantile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

/** Runs `call` `warmup` times untimed, then `times` times timed; median and p95 in ms. */
const latency = <A, E>(rt: Runtime, call: Effect.Effect<A, E, Lists.Lists>, times: number, warmup: number) =>
  rt.runPromise(
    Effect.gen(function* () {
      for (let i = 0; i < warmup; i++) yield* call
      const samples: Array<number> = []
      for (let i = 0; i < times; i++) {
        const t = performance.now()
        yield* call
        samples.push(performance.now() - t)
      }
      samples.sort((a, b) => a - b)
      return { median: quantile(samples, 0.5), p95: quantile(samples, 0.95), n: times }
    })
  )

const ms = (x: number) => x.toFixed(3).padStart(9)

const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length)

const main = async () => {
  const cpu = cpus()
  console.log("zhongbao core benchmark (memory layer, real clock)")
  console.log(`node ${process.version} on ${process.platform}/${process.arch}`)
  console.log(`cpu  ${cpu[0]?.model ?? "unknown"} × ${cpu.length}`)
  console.log(
    `load average at start ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`
  )
  console.log("")

  // (a) respond + adopt cycles
  if (only === undefined || only === "cycles") {
    const rt = makeRuntime()
    try {
      const world = await rt.runPromise(Fixtures.makeWorld)
      const ids = await rt.runPromise(seed(WARMUP_CYCLES + RUNS * CYCLES, [world.enterprise]))
      await rt.runPromise(cycles(world, ids.slice(0, WARMUP_CYCLES)))
      const rates: Array<number> = []
      for (let run = 0; run < RUNS; run++) {
        const from = WARMUP_CYCLES + run * CYCLES
        const elapsed = await rt.runPromise(cycles(world, ids.slice(from, from + CYCLES)))
        rates.push((CYCLES / elapsed) * 1000)
      }
      const rate = [...rates].sort((a, b) => a - b)[Math.floor(RUNS / 2)]!
      console.log(
        `(a) respond + adopt on a published demand, each its own unit of work (${RUNS} runs × ${CYCLES} cycles)`
      )
      console.log("    cycles/s (median)   µs/cycle   runs (cycles/s)              goal")
      console.log(
        `    ${Math.round(rate).toString().padStart(17)}   ${(1e6 / rate).toFixed(1).padStart(8)}   ${rates
          .map((r) => Math.round(r).toString())
          .join(" / ")
          .padEnd(28)} ≥ ${CYCLE_GOAL} cycles/s ${rate >= CYCLE_GOAL ? "(met)" : "(MISSED)"}`
      )
      console.log("")
    } finally {
      await rt.dispose()
    }
  }

  // (b) list latency
  if (only !== undefined && only !== "lists") return
  console.log("(b) list latency, ms per call (first page of 20)")
  console.log(`    demands   list                                   median       p95   calls`)
  for (const size of [10_000, 100_000]) {
    const rt = makeRuntime()
    try {
      const world = await rt.runPromise(Fixtures.makeWorld)
      const t = performance.now()
      await rt.runPromise(seed(size, [world.enterprise, world.enterprise2]))
      const seeded = performance.now() - t
      const times = size >= 100_000 ? 100 : 300
      const warmup = size >= 100_000 ? 10 : 30
      const lists = await rt.runPromise(Lists.Lists)
      const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown, Lists.Lists>]> = [
        ["Lists.hall (first page)", lists.hall(null, {})],
        ["Lists.hall keyword, 2% match", lists.hall(null, { keyword: KEYWORDS[7]! })],
        ["Lists.hall keyword, no match", lists.hall(null, { keyword: "无此词" })],
        ["Lists.myDemands (enterprise, 50%)", lists.myDemands(world.enterprise.account, {})]
      ]
      for (const [name, call] of calls) {
        const r = await latency(rt, call, times, warmup)
        console.log(
          `    ${String(size).padEnd(9)} ${name.padEnd(38)} ${ms(r.median)} ${ms(r.p95)}   ${String(r.n).padStart(5)}`
        )
      }
      console.log(`    (${size} demands inserted through the port in ${(seeded / 1000).toFixed(1)} s)`)
    } finally {
      await rt.dispose()
    }
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
