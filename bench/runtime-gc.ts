/**
 * What running work inside an effect fiber costs in garbage collection (issue 8's
 * P1), with none of zhongbao's code: the same asynchronous call, 64 at a time,
 * awaited as a promise or run as a fiber (`Effect.runPromise`), this process's CPU
 * per call and the share of it the garbage collector took (`PerformanceObserver`
 * on `gc` entries).
 *
 * 1. A `SELECT` of 21 rows of about 250 bytes on a `pg` pool of 10 connections
 *    (`DATABASE_URL`), the shape of a public-hall page;
 * 2. no database: a `setImmediate` that answers 21 such rows;
 *
 * each as a promise, as a fiber whose value is the rows, and as a fiber that drops
 * them (`Effect.asVoid`): under load a waiting fiber outlives a young-generation
 * collection or two and is promoted, and what it holds when it completes (its exit
 * value) is kept through the next collections by the dead fiber. Run with
 * `npm run bench:runtime-gc`; `CALLS` (default 20,000) per figure, `ROUNDS` (3)
 * rounds, medians printed. Figures are printed, never asserted.
 */
import { cpus } from "node:os"
import { PerformanceObserver } from "node:perf_hooks"
import { Effect } from "effect"
import * as Pg from "pg"
import { databaseUrl } from "./support/server.js"
import { callConcurrently } from "./support/cpu.js"

const CALLS = Number(process.env.CALLS ?? 20_000)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const CONCURRENCY = 64

let gcMillis = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMillis += entry.duration
}).observe({ entryTypes: ["gc"] })

const load = (count: number, call: () => Promise<unknown>) => callConcurrently(count, CONCURRENCY, call)

/** CPU per call in µs and the collector's share of it. */
const measure = async (call: () => Promise<unknown>) => {
  await load(2_000, call)
  const gcBefore = gcMillis
  const before = process.cpuUsage()
  await load(CALLS, call)
  const used = process.cpuUsage(before)
  const micros = used.user + used.system
  return { perCall: micros / CALLS, gcShare: ((gcMillis - gcBefore) * 1000) / micros }
}

const rows = () =>
  Array.from({ length: 21 }, (_, i) => ({ id: i, title: `${"题".repeat(80)}${i}`, at: String(Date.now()) }))

const main = async () => {
  const pool = new Pg.default.Pool({ connectionString: databaseUrl, max: 10 })
  const text =
    "SELECT g AS id, repeat('题', 80) || g AS title, now()::text AS at FROM generate_series(1, $1::int) g"
  const select = () => pool.query({ text, values: [21] })
  const selectEffect = Effect.promise(select)
  const immediate = () => new Promise<unknown>((resolve) => setImmediate(() => resolve(rows())))
  const immediateEffect = Effect.async<unknown>((resume) => {
    setImmediate(() => resume(Effect.succeed(rows())))
  })
  const parts = [
    { name: "SELECT, awaited as a promise", call: select },
    { name: "SELECT, in a fiber (Effect.runPromise)", call: () => Effect.runPromise(selectEffect) },
    {
      name: "SELECT, in a fiber that drops the rows",
      call: () => Effect.runPromise(Effect.asVoid(selectEffect))
    },
    { name: "setImmediate with 21 rows, as a promise", call: immediate },
    { name: "setImmediate with 21 rows, in a fiber", call: () => Effect.runPromise(immediateEffect) },
    {
      name: "setImmediate with 21 rows, in a fiber that drops them",
      call: () => Effect.runPromise(Effect.asVoid(immediateEffect))
    }
  ]
  try {
    const figures = parts.map(() => [] as Array<{ perCall: number; gcShare: number }>)
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, part] of parts.entries()) figures[i]!.push(await measure(part.call))
    }
    const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    console.log(
      `\nThe effect runtime's garbage, this process's CPU per call (${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; ${CONCURRENCY} at a time, median of ${ROUNDS} rounds of ${CALLS})\n`
    )
    console.log("| call | CPU per call | of it, garbage collection |\n|---|---|---|")
    for (const [i, part] of parts.entries()) {
      const xs = figures[i]!
      console.log(
        `| ${part.name} | ${median(xs.map((x) => x.perCall)).toFixed(1)} µs | ${(median(xs.map((x) => x.gcShare)) * 100).toFixed(0)} % |`
      )
    }
  } finally {
    await pool.end()
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
