/**
 * Benchmarks of `@zhongbao/adapter-pg` on a PostgreSQL server (`npm run bench`), in a
 * fresh schema of `DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/test)
 * that is dropped at the end, with the real clock:
 *
 * (a) respond + adopt cycles per second through core's use cases (`Responding.respond`
 *     then `Selection.adopt`, each its own unit of work) on the adapter, by
 *     `CONCURRENCY` fibers over a pool of as many connections, next to `pgbench`
 *     running the same statements (`bench/respond-adopt.pgbench`, compared with the
 *     statements the adapter is seen to send for one cycle) with as many clients.
 *     Rounds alternate the two; the ratio (goal ≥ 0.6) is the median of the rounds'.
 *     Both cycle demands generated in SQL from a demand the adapter wrote, published,
 *     one cycle per demand; the rows each side wrote are counted afterwards. Printed
 *     with where the time goes: CPU per cycle of node, pgbench and PostgreSQL (from
 *     /proc: the server is local), and one fiber against one client, the round trips
 *     timed in node-postgres against pgbench -r.
 * (b) the public hall's first page (`Lists.hall`, anonymous, 20 rows of one field,
 *     newest publication first) at 10k and at `HALL_LARGE` (1M) demands, generated
 *     (`support/demands.ts`, shared with `http-hall.ts`) with
 *     `INSERT … SELECT … generate_series` from 50 demands the adapter wrote (so
 *     the search columns are the adapter's own), the large set without the demand's
 *     secondary indexes, rebuilt afterwards from their own definitions; median and p95
 *     per call, the ratio of the medians (goal ≤ 1.5) and EXPLAIN ANALYZE of each size.
 *
 * `--only=cycles` or `--only=hall` runs one part; `PGBENCH` names the pgbench binary,
 * `HALL_LARGE` the size of the large hall. Timing goals are printed, never asserted.
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import type { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import {
  type Errors,
  type Ids,
  Lists,
  type Persistence,
  Responding,
  Selection,
  Settings,
  Zhongbao
} from "@zhongbao/core"
import { DateTime, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as Pg from "pg"
import {
  countingWrites,
  exec,
  HALL_FIELD,
  loadHall,
  publishedPool,
  responderAccount,
  setup,
  table,
  traced
} from "./support/demands.js"
import { machineCpu, postgresCpu, procTimes } from "./support/cpu.js"
import { firstDifference, pgbenchArgs, scriptStatements } from "./support/pgbench.js"

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const PGBENCH = process.env.PGBENCH ?? "pgbench"
const SCRIPT = fileURLToPath(new URL("./respond-adopt.pgbench", import.meta.url))
const SCHEMA = `zb_bench_${process.pid}_${Date.now().toString(36)}`

/** Fibers of the adapter, connections of its pool, and pgbench's clients. */
const CONCURRENCY = 8
/** (a) runs in rounds, each the adapter then pgbench, so that drift hits both alike. */
const ROUNDS = 5
const CYCLES = 800
const WARMUP_CYCLES = 300
const PGBENCH_SECONDS = 5
const PGBENCH_WARMUP_SECONDS = 3
/** Demands published for pgbench, per round (none is cycled twice below that many). */
const PGBENCH_ROUND_DEMANDS = 2_500
const PGBENCH_WARMUP_DEMANDS = 1_500
/** The diagnostic run with one fiber and one pgbench client. */
const SINGLE_CYCLES = 200
const SINGLE_SECONDS = 4
const SINGLE_DEMANDS = 1_000
const CYCLE_GOAL = 0.6

const HALL_SMALL = 10_000
const HALL_LARGE = Number(process.env.HALL_LARGE ?? 1_000_000)
const HALL_CALLS = 300
const HALL_WARMUP = 100
const HALL_GOAL = 1.5

/** Responders (research institutes), one account each. */
const RESPONDERS = 1_000
/** Demand ids are 8-digit numbers: the adapter's pool, pgbench's pool. */
const ADAPTER_POOL = 10_000_000
const PGBENCH_POOL = 20_000_000
const proposal = { title: "应答方案", content: "采用化学气相沉积工艺提高良率" }

type Services =
  | Zhongbao.Services
  | Persistence.Ports
  | Settings.Settings
  | PgClient.PgClient
  | SqlClient.SqlClient
type Runtime = ManagedRuntime.ManagedRuntime<Services, Errors.InfrastructureError>

const makeRuntime = (): Runtime =>
  ManagedRuntime.make(
    Zhongbao.layer.pipe(
      Layer.provideMerge(Layer.merge(PgPersistence.layer({ schema: SCHEMA }), Settings.layerDefault)),
      Layer.provideMerge(
        PgDatabase.layerPool({ url: Redacted.make(DATABASE_URL), maxConnections: CONCURRENCY })
      )
    )
  )

const t = (name: string) => table(SCHEMA, name)

// ---------------------------------------------------------------------------------
// Measuring

/** CPU of this process's waited-for children (pgbench), in ms. */
const childrenCpu = (): number | undefined => {
  try {
    return procTimes("self").children
  } catch {
    return undefined
  }
}

interface Measured<A> {
  readonly result: A
  readonly wall: number
  readonly nodeUser: number
  readonly nodeSystem: number
  readonly children: number | undefined
  readonly postgres: number | undefined
  readonly machineBusy: number
  readonly machineIdle: number
}

/** Runs `f`: its result, the wall time and the CPU time of node, of pgbench, of PostgreSQL and of the machine. */
const measured = async <A>(f: () => Promise<A>): Promise<Measured<A>> => {
  const machine = machineCpu()
  const pg = postgresCpu()
  const children = childrenCpu()
  const node = process.cpuUsage()
  const started = performance.now()
  const result = await f()
  const wall = performance.now() - started
  const nodeCpu = process.cpuUsage(node)
  const childrenAfter = childrenCpu()
  const pgAfter = postgresCpu()
  const after = machineCpu()
  return {
    result,
    wall,
    nodeUser: nodeCpu.user / 1000,
    nodeSystem: nodeCpu.system / 1000,
    children: children === undefined || childrenAfter === undefined ? undefined : childrenAfter - children,
    postgres: pg === undefined || pgAfter === undefined ? undefined : pgAfter - pg,
    machineBusy: after.busy - machine.busy,
    machineIdle: 1 - (after.busy - machine.busy) / Math.max(1, after.total - machine.total)
  }
}

const quantile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

const ms = (x: number, digits = 3) => x.toFixed(digits)
const seconds = (x: number) => `${(x / 1000).toFixed(1)} s`

interface PgbenchResult {
  readonly tps: number
  readonly processed: number
  readonly failed: number
  readonly latency: number
  /** With -r: the latencies of the SQL commands, in ms. */
  readonly statements: ReadonlyArray<number>
}

/** Runs pgbench on the bench's schema; the cycles' ids start at `base`. */
const pgbench = (options: {
  readonly clients: number
  readonly seconds: number
  readonly demandsFrom: number
  readonly demandsCount: number
  readonly base: number
  readonly now: string
  readonly publishedAt: string
}): PgbenchResult => {
  const define = {
    clients: options.clients,
    seq: 0,
    base: options.base,
    demands_from: options.demandsFrom,
    demands_count: options.demandsCount,
    accounts_from: Number(responderAccount(1)),
    accounts_to: Number(responderAccount(RESPONDERS)),
    now: options.now,
    published_at: options.publishedAt
  }
  const args = pgbenchArgs({
    clients: options.clients,
    perStatement: options.clients === 1,
    length: { seconds: options.seconds },
    script: SCRIPT,
    define,
    url: DATABASE_URL
  })
  const run = spawnSync(PGBENCH, args, {
    encoding: "utf8",
    env: { ...process.env, PGOPTIONS: `-c search_path=${SCHEMA}` }
  })
  const out = `${run.stdout ?? ""}\n${run.stderr ?? ""}`
  const number = (pattern: RegExp) => Number(pattern.exec(out)?.[1] ?? Number.NaN)
  if (run.status !== 0) throw new Error(`pgbench failed (${run.status ?? run.error?.message}):\n${out}`)
  return {
    tps: number(/tps = ([\d.]+)/),
    processed: number(/actually processed: (\d+)/),
    failed: number(/failed transactions: (\d+)/) || 0,
    latency: number(/latency average = ([\d.]+) ms/),
    statements: [...out.matchAll(/^\s+([\d.]+)\s+\d+\s+(\S.*)$/gm)]
      .filter((m) => !m[2]!.startsWith("\\"))
      .map((m) => Number(m[1]))
  }
}

/**
 * Times every query of node-postgres (the driver under `@effect/sql-pg`, BEGIN and
 * COMMIT included) from its call to its callback, while `run` runs: the round trips
 * as the client sees them, as pgbench -r reports its own.
 */
const roundTrips = async <A>(run: () => Promise<A>) => {
  type Query = (this: Pg.Client, ...args: Array<unknown>) => unknown
  const prototype = Pg.Client.prototype as unknown as { query: Query }
  const original = prototype.query
  const timing = { count: 0, ms: 0 }
  prototype.query = function (this: Pg.Client, ...args: Array<unknown>) {
    const callback = args[args.length - 1]
    if (typeof callback !== "function") return original.apply(this, args)
    const started = performance.now()
    args[args.length - 1] = (...results: Array<unknown>) => {
      timing.count++
      timing.ms += performance.now() - started
      return (callback as (...r: Array<unknown>) => unknown)(...results)
    }
    return original.apply(this, args)
  }
  try {
    const result = await run()
    return { result, ...timing }
  } finally {
    prototype.query = original
  }
}

// ---------------------------------------------------------------------------------
// (a) respond + adopt

interface PoolDemand {
  readonly id: Ids.DemandId
  readonly publisher: Ids.AccountId
}

const poolDemands = (pool: number, from: number, count: number) =>
  Effect.map(
    exec(`SELECT id, created_by FROM ${t("demand")} WHERE id >= $1 AND id < $2 ORDER BY id`, [
      String(pool + from),
      String(pool + from + count)
    ]),
    (rows) =>
      rows.map((r): PoolDemand => ({ id: r.id as Ids.DemandId, publisher: r.created_by as Ids.AccountId }))
  )

const responders = Array.from({ length: RESPONDERS }, (_, i) => responderAccount(i + 1) as Ids.AccountId)

/** One cycle: a random responder responds, the demand's publisher adopts. */
const cycle = (demand: PoolDemand) =>
  Effect.gen(function* () {
    const responding = yield* Responding.Responding
    const selection = yield* Selection.Selection
    const responder = responders[Math.floor(Math.random() * responders.length)]!
    const response = yield* responding.respond(responder, { demandId: demand.id, proposal })
    yield* selection.adopt(demand.publisher, { responseId: response.id })
  })

/** The demands, one cycle each, by `fibers` fibers taking the next one in turn. */
const cycles = (demands: ReadonlyArray<PoolDemand>, fibers = CONCURRENCY) =>
  Effect.suspend(() => {
    let next = 0
    const worker = Effect.whileLoop({
      while: () => next < demands.length,
      body: () => cycle(demands[next++]!),
      step: () => {}
    })
    return Effect.all(
      Array.from({ length: fibers }, () => worker),
      { concurrency: "unbounded", discard: true }
    )
  })

/** What a pool's cycles wrote, per cycle, and whether the demands kept their copied columns. */
const written = (pool: number, count: number) =>
  Effect.map(
    exec(
      `WITH d AS (SELECT * FROM ${t("demand")} WHERE id > $1 AND id <= $2),
            r AS (SELECT r.* FROM ${t("response")} r JOIN d ON d.id = r.demand_id),
            a AS (SELECT a.* FROM ${t("audit_event")} a JOIN d ON d.id = a.demand_id)
       SELECT (SELECT count(*) FROM d WHERE version > 1)::int AS demands,
         (SELECT count(*) FROM d WHERE version = 3 AND response_count = 1 AND adopted_count = 1
            AND intake_closed_at IS NOT NULL AND first_adopted_at IS NOT NULL)::int AS cycled,
         (SELECT count(*) FROM d JOIN ${t("bench_template")} t ON t.k = 0
            WHERE (d.title, d.main_problem, d.key_technology, d.expected_goal, d.keywords, d.field,
                   d.intended_investment, d.solving_way, d.region, d.response_deadline, d.service_mode,
                   d.search_text, d.search_grams, d.created_at, d.first_published_at)
              IS DISTINCT FROM (t.title, t.main_problem, t.key_technology, t.expected_goal, t.keywords, t.field,
                   t.intended_investment, t.solving_way, t.region, t.response_deadline, t.service_mode,
                   t.search_text, t.search_grams, t.created_at, t.created_at))::int AS changed,
         (SELECT count(*) FROM r)::int AS responses,
         (SELECT count(*) FROM r WHERE status = 'adopted')::int AS adopted,
         (SELECT count(*) FROM a)::int AS audits,
         (SELECT count(*) FROM ${t("audit_event_member")} m JOIN a ON a.id = m.event_id)::int AS members,
         (SELECT count(*) FROM ${t("outbox_message")} o
            JOIN r ON split_part(o.dedupe_key, ':', 2) IN (r.id, r.demand_id || '/' || r.round || '/' || r.responder_id))::int AS outbox`,
      [String(pool), String(pool + count)]
    ),
    (rows) => rows[0] as Record<string, number>
  )

const describeWritten = (w: Record<string, number>) => {
  const n = Math.max(1, w.demands!)
  const per = (x: number) => (x / n).toFixed(2)
  return `${w.demands} demands (${w.cycled} responded once and adopted once, ${w.changed} with a copied column changed); per cycle: ${per(w.responses!)} response (${per(w.adopted!)} adopted), ${per(w.audits!)} audit events + ${per(w.members!)} member rows, ${per(w.outbox!)} outbox messages`
}

/** CPU per cycle of the runs, in ms: node, pgbench, PostgreSQL, the rest of the machine. */
const cpuPerCycle = (runs: ReadonlyArray<Measured<unknown>>, cycles: number, client: "node" | "pgbench") => {
  const sum = (f: (m: Measured<unknown>) => number | undefined) =>
    runs.some((m) => f(m) === undefined) ? undefined : runs.reduce((acc, m) => acc + f(m)!, 0)
  const per = (x: number | undefined) => (x === undefined ? "n/a" : ms(x / cycles, 2))
  const user = sum((m) => m.nodeUser)!
  const system = sum((m) => m.nodeSystem)!
  const pgbenchCpu = sum((m) => m.children)
  const postgres = sum((m) => m.postgres)
  const busy = sum((m) => m.machineBusy)!
  const clientCpu = client === "node" ? user + system : (pgbenchCpu ?? 0)
  // per-process times are whole ticks, so the rest can come out a little below zero
  const rest = postgres === undefined ? undefined : Math.max(0, busy - clientCpu - postgres)
  const idle = runs.reduce((acc, m) => acc + m.machineIdle, 0) / runs.length
  const clientText =
    client === "node"
      ? `node ${per(user + system)} (user ${per(user)}, sys ${per(system)})`
      : `pgbench ${per(pgbenchCpu)}`
  return `${clientText}, PostgreSQL ${per(postgres)}, rest of the machine ${per(rest)}; machine idle ${ms(idle * 100, 0)}%`
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const partCycles = async (rt: Runtime, publishedAt: string) => {
  console.log(
    `(a) respond + adopt, one cycle per published demand: the adapter (${CONCURRENCY} fibers, pool of ${CONCURRENCY}) vs pgbench -c ${CONCURRENCY} -j 2 -M extended`
  )
  const adapterDemands = WARMUP_CYCLES + ROUNDS * CYCLES + SINGLE_CYCLES
  const pgbenchDemands = PGBENCH_WARMUP_DEMANDS + ROUNDS * PGBENCH_ROUND_DEMANDS + SINGLE_DEMANDS
  const generated = await measured(() =>
    rt.runPromise(
      Effect.zipRight(
        Effect.zipRight(
          publishedPool(SCHEMA, ADAPTER_POOL, adapterDemands, publishedAt),
          publishedPool(SCHEMA, PGBENCH_POOL, pgbenchDemands, publishedAt)
        ),
        exec(`ANALYZE ${t("demand")}, ${t("member")}, ${t("account")}`)
      )
    )
  )
  console.log(
    `    ${adapterDemands} + ${pgbenchDemands} published demands generated in SQL in ${seconds(generated.wall)}`
  )

  // The statements of one cycle, as the adapter sends them, against the script's.
  const warmup = await rt.runPromise(poolDemands(ADAPTER_POOL, 1, WARMUP_CYCLES))
  const {
    result: { log },
    writes
  } = await rt.runPromise(countingWrites(traced(cycle(warmup[0]!))))
  const script = scriptStatements(readFileSync(SCRIPT, "utf8"))
  const difference = firstDifference(log, script)
  const transactions = log.filter((s) => s === "BEGIN").length
  if (difference === undefined) {
    console.log(
      `    one cycle = ${transactions} transactions, ${log.length} statements (BEGIN and COMMIT included) in ${writes} round trips (counted: the adapter's client sends BEGIN with a transaction's first statement, and what core issues together goes out pipelined); respond-adopt.pgbench has the same ${script.length} statements, one round trip each`
    )
  } else {
    process.exitCode = 1
    console.log(
      `    MISMATCH: respond-adopt.pgbench differs from the adapter at statement ${difference.index + 1} of ${log.length}:`
    )
    console.log(`      adapter: ${difference.adapter}`)
    console.log(`      script:  ${difference.script}`)
  }

  // Warm both up, then rounds of the adapter and pgbench, each after a checkpoint.
  const now = DateTime.formatIso(DateTime.unsafeNow())
  const runPgbench = (round: number, duration: number, from: number, count: number, clients = CONCURRENCY) =>
    pgbench({
      clients,
      seconds: duration,
      demandsFrom: PGBENCH_POOL + from,
      demandsCount: count,
      base: (round + 1) * 100_000_000_000_000,
      now,
      publishedAt
    })
  await rt.runPromise(cycles(warmup.slice(1)))
  runPgbench(0, PGBENCH_WARMUP_SECONDS, 1, PGBENCH_WARMUP_DEMANDS)
  const adapterRuns: Array<Measured<void>> = []
  const pgbenchRuns: Array<Measured<PgbenchResult>> = []
  console.log("    round   adapter cycles/s (ms/cycle)   pgbench cycles/s (ms/cycle)   ratio")
  for (let round = 1; round <= ROUNDS; round++) {
    const demands = await rt.runPromise(
      poolDemands(ADAPTER_POOL, WARMUP_CYCLES + (round - 1) * CYCLES + 1, CYCLES)
    )
    await rt.runPromise(exec("CHECKPOINT"))
    const adapter = await measured(() => rt.runPromise(cycles(demands)))
    await rt.runPromise(exec("CHECKPOINT"))
    const bench = await measured(async () =>
      runPgbench(
        round,
        PGBENCH_SECONDS,
        PGBENCH_WARMUP_DEMANDS + (round - 1) * PGBENCH_ROUND_DEMANDS + 1,
        PGBENCH_ROUND_DEMANDS
      )
    )
    adapterRuns.push(adapter)
    pgbenchRuns.push(bench)
    const rate = (CYCLES / adapter.wall) * 1000
    console.log(
      `    ${String(round).padStart(5)}   ${ms(rate, 0).padStart(16)} (${ms((CONCURRENCY / rate) * 1000, 1).padStart(5)})     ${ms(bench.result.tps, 0).padStart(16)} (${ms(bench.result.latency, 1).padStart(5)})     ${(rate / bench.result.tps).toFixed(2)}${bench.result.failed > 0 ? `  [pgbench: ${bench.result.failed} failed]` : ""}`
    )
  }
  const ratio = median(adapterRuns.map((a, i) => ((CYCLES / a.wall) * 1000) / pgbenchRuns[i]!.result.tps))
  console.log(
    `    ratio adapter / pgbench (median of the rounds) = ${ratio.toFixed(2)}  (goal ≥ ${CYCLE_GOAL}) ${ratio >= CYCLE_GOAL ? "(met)" : "(MISSED)"}`
  )
  const pgbenchCycles = pgbenchRuns.reduce((acc, r) => acc + r.result.processed, 0)
  console.log(`    CPU ms per cycle, all rounds (${cpus().length} cores shared by all):`)
  console.log(`      adapter: ${cpuPerCycle(adapterRuns, ROUNDS * CYCLES, "node")}`)
  console.log(`      pgbench: ${cpuPerCycle(pgbenchRuns, pgbenchCycles, "pgbench")}`)
  const perCpuSecond = (
    runs: ReadonlyArray<Measured<unknown>>,
    count: number,
    client: (m: Measured<unknown>) => number
  ) => {
    const cpu = runs.reduce((acc, m) => acc + client(m) + (m.postgres ?? Number.NaN), 0)
    return (count / cpu) * 1000
  }
  const adapterPerCpu = perCpuSecond(adapterRuns, ROUNDS * CYCLES, (m) => m.nodeUser + m.nodeSystem)
  const pgbenchPerCpu = perCpuSecond(pgbenchRuns, pgbenchCycles, (m) => m.children ?? Number.NaN)
  console.log(
    `      cycles per CPU second of client + PostgreSQL: adapter ${ms(adapterPerCpu, 0)}, pgbench ${ms(pgbenchPerCpu, 0)}, ratio ${(adapterPerCpu / pgbenchPerCpu).toFixed(2)}`
  )

  // One fiber against one client: where a cycle's time goes.
  const single = await rt.runPromise(
    poolDemands(ADAPTER_POOL, adapterDemands - SINGLE_CYCLES + 1, SINGLE_CYCLES)
  )
  const one = await roundTrips(() => measured(() => rt.runPromise(cycles(single, 1))))
  const alone = runPgbench(ROUNDS + 1, SINGLE_SECONDS, pgbenchDemands - SINGLE_DEMANDS + 1, SINGLE_DEMANDS, 1)
  const oneCycle = one.result.wall / SINGLE_CYCLES
  const oneTrips = one.ms / SINGLE_CYCLES
  const benchTrips = alone.statements.reduce((a, b) => a + b, 0)
  console.log(
    `    one fiber / one client, ms per cycle: adapter ${ms(oneCycle, 2)} = ${ms(one.count / SINGLE_CYCLES, 0)} round trips ${ms(oneTrips, 2)} (${ms((oneTrips / one.count) * SINGLE_CYCLES, 3)} each) + node between them ${ms(oneCycle - oneTrips, 2)}`
  )
  console.log(
    `                                          pgbench ${ms(alone.latency, 2)} = ${alone.statements.length} round trips ${ms(benchTrips, 2)} (${ms(benchTrips / Math.max(1, alone.statements.length), 3)} each) + the rest ${ms(alone.latency - benchTrips, 2)}`
  )
  const [mine, theirs] = await rt.runPromise(
    Effect.all([written(ADAPTER_POOL, adapterDemands), written(PGBENCH_POOL, pgbenchDemands)])
  )
  console.log(`    adapter wrote: ${describeWritten(mine!)}`)
  console.log(`    pgbench wrote: ${describeWritten(theirs!)}`)
  console.log("")
}

// ---------------------------------------------------------------------------------
// (b) the public hall

const hallInput = { field: HALL_FIELD, sort: "published" as const, limit: 20 }

const hallLatency = (rt: Runtime) =>
  rt.runPromise(
    Effect.gen(function* () {
      const lists = yield* Lists.Lists
      const call = lists.hall(null, hallInput)
      const first = yield* traced(call)
      for (let i = 0; i < HALL_WARMUP; i++) yield* call
      const samples: Array<number> = []
      for (let i = 0; i < HALL_CALLS; i++) {
        const started = performance.now()
        yield* call
        samples.push(performance.now() - started)
      }
      samples.sort((a, b) => a - b)
      const select = first.log.find((s) => s.startsWith("SELECT"))!
      const placeholders = new Set(select.match(/\$\d+/g) ?? [])
      const plan =
        placeholders.size === 2
          ? (yield* exec(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${select}`, [
              HALL_FIELD,
              hallInput.limit + 1
            ])).map((r) => String(r["QUERY PLAN"]))
          : [`(not explained: the statement has ${placeholders.size} parameters, not field and limit)`]
      return {
        median: quantile(samples, 0.5),
        p95: quantile(samples, 0.95),
        items: first.result.items.length,
        roundTrips: first.log.length,
        plan
      }
    })
  )

const printHall = (size: number, r: Awaited<ReturnType<typeof hallLatency>>) => {
  console.log(
    `    ${String(size).padStart(9)}   ${ms(r.median).padStart(9)} ${ms(r.p95).padStart(9)}   ${String(HALL_CALLS).padStart(5)}   ${r.items} rows, ${r.roundTrips} round trips`
  )
  for (const line of r.plan) console.log(`                  │ ${line}`)
}

const partHall = async (rt: Runtime) => {
  await rt.runPromise(
    exec(`TRUNCATE ${t("demand")}, ${t("response")}, ${t("audit_event")}, ${t("audit_event_member")},
      ${t("outbox_message")} CASCADE`)
  )
  const end = DateTime.formatIso(DateTime.subtract(DateTime.unsafeNow(), { hours: 1 }))
  console.log(
    `(b) public hall, first page: Lists.hall(field = ${HALL_FIELD}, newest publication first, 20 rows), anonymous, ms per call`
  )
  console.log("      demands      median       p95   calls")

  const small = await measured(() =>
    rt.runPromise(
      loadHall(
        SCHEMA,
        { from: HALL_LARGE - HALL_SMALL + 1, to: HALL_LARGE, total: HALL_LARGE, end },
        { bulk: false }
      )
    )
  )
  const atSmall = await hallLatency(rt)
  printHall(HALL_SMALL, atSmall)
  console.log(
    `                  (${HALL_SMALL} demands inserted with the indexes in place in ${seconds(small.wall)})`
  )

  // The rest without the secondary indexes, which are rebuilt afterwards.
  const rest = HALL_LARGE - HALL_SMALL
  const large = await measured(() =>
    rt.runPromise(loadHall(SCHEMA, { from: 1, to: rest, total: HALL_LARGE, end }, { bulk: true }))
  )
  const timing = large.result
  const atLarge = await hallLatency(rt)
  printHall(HALL_LARGE, atLarge)
  console.log(
    `                  (${rest} more demands in ${seconds(large.wall)}: insert ${seconds(timing.insert)} without the ${timing.indexes} secondary indexes, rebuilding them ${seconds(timing.index)})`
  )
  const [size] = await rt.runPromise(
    exec(
      `SELECT pg_size_pretty(pg_relation_size('${t("demand")}')) AS heap,
         pg_size_pretty(pg_indexes_size('${t("demand")}')) AS indexes`
    )
  )
  console.log(`                  (demand at ${HALL_LARGE}: heap ${size?.heap}, indexes ${size?.indexes})`)
  const ratio = atLarge.median / atSmall.median
  console.log(
    `    ratio median ${HALL_LARGE}/${HALL_SMALL} = ${ratio.toFixed(2)}  (goal ≤ ${HALL_GOAL}) ${ratio <= HALL_GOAL ? "(met)" : "(MISSED)"}`
  )
}

// ---------------------------------------------------------------------------------

const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length)

const main = async () => {
  const started = performance.now()
  const cpu = cpus()
  console.log("zhongbao adapter-pg benchmark (PostgreSQL, real clock)")
  console.log(`node ${process.version} on ${process.platform}/${process.arch}`)
  console.log(`cpu  ${cpu[0]?.model ?? "unknown"} × ${cpu.length}`)
  console.log(
    `load average at start ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`
  )
  const rt = makeRuntime()
  try {
    const [server] = await rt.runPromise(
      exec(`SELECT version() AS version, current_setting('shared_buffers') AS shared_buffers,
        current_setting('synchronous_commit') AS synchronous_commit, current_setting('fsync') AS fsync`)
    )
    const pgbenchVersion = spawnSync(PGBENCH, ["--version"], { encoding: "utf8" }).stdout?.trim()
    console.log(`${String(server?.version)}`)
    console.log(
      `shared_buffers ${String(server?.shared_buffers)}, synchronous_commit ${String(server?.synchronous_commit)}, fsync ${String(server?.fsync)}; ${pgbenchVersion ?? "pgbench not found"}`
    )
    console.log(`schema ${SCHEMA} (dropped at the end)`)
    console.log("")
    const publishedAt = await rt.runPromise(setup(SCHEMA, { responders: RESPONDERS }))
    if (only === undefined || only === "cycles") await partCycles(rt, publishedAt)
    if (only === undefined || only === "hall") await partHall(rt)
  } finally {
    await rt.runPromise(exec(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`)).catch((error) => {
      console.error(`could not drop the schema ${SCHEMA}:`, error)
    })
    await rt.dispose()
    console.log(`\ntotal ${seconds(performance.now() - started)}`)
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
