/**
 * Where a public-hall page's server CPU goes (issue 8's P1), measured in one process
 * without HTTP connections or a load generator beside it: on a hall of 20,000
 * demands in a fresh schema of `DATABASE_URL`, 64 requests at a time, this process's
 * CPU time (`process.cpuUsage`) per request, for
 *
 * 1. the hall's SELECT (the baseline's, `bench/baseline/hall-server.ts`) on a `pg`
 *    pool, rows only;
 * 2. core's `Lists.hall` over adapter-pg (decoding the input, the same SELECT through
 *    the adapter, the page of briefs with their phase and actions);
 * 3. `GET /settings` through adapter-http's web handler (`Mount.toWebHandler`: the
 *    API, its middleware and the platform, no database);
 * 4. `GET /hall` through the same handler (3. and 2., and encoding the page).
 *
 * PostgreSQL's CPU is not counted (other processes). Each figure is the median of
 * `ROUNDS` rounds of `REQUESTS` (after a warm-up); the rounds go through the four in
 * turn, so all four are measured over the same minutes. Run with
 * `npm run bench:hall-parts` after `npm run build` (the packages' built JavaScript,
 * as the example server runs it). Figures are printed, never asserted.
 */
import { cpus } from "node:os"
import { Authentication, Mount, RateLimit } from "@zhongbao/adapter-http"
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import { Lists, Settings, Zhongbao } from "@zhongbao/core"
import { DateTime, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as Pg from "pg"
import { hallSql } from "./baseline/hall-server.js"
import { HALL_FIELD, loadHall, setup } from "./support/demands.js"
import { int, median } from "./support/report.js"
import { databaseUrl, dropSchema, freshSchema } from "./support/server.js"
import { callConcurrently } from "./support/cpu.js"

const SIZE = 20_000
const LIMIT = 20
const CONCURRENCY = 64
const REQUESTS = Number(process.env.REQUESTS ?? 10_000)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const WARMUP = 2_000

const schema = freshSchema("bench_parts")
const database = PgPersistence.layer({ schema }).pipe(
  Layer.provideMerge(Settings.layerDefault),
  Layer.provideMerge(PgDatabase.layerPool({ url: Redacted.make(databaseUrl), maxConnections: 10 }))
)
const services = Zhongbao.layer.pipe(Layer.provideMerge(database), Layer.merge(Layer.setTracerEnabled(false)))
const api = Layer.mergeAll(
  services,
  Authentication.layerBearer.pipe(Layer.provideMerge(Authentication.layerSessionsMemory())),
  RateLimit.layer()
)

const load = (count: number, call: () => Promise<unknown>) => callConcurrently(count, CONCURRENCY, call)

/** This process's CPU time per call, in ms, over `REQUESTS` calls. */
const cpuPerCall = async (call: () => Promise<unknown>) => {
  const before = process.cpuUsage()
  await load(REQUESTS, call)
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000 / REQUESTS
}

const main = async () => {
  const runtime = ManagedRuntime.make(services)
  const end = DateTime.formatIso(DateTime.subtract(DateTime.unsafeNow(), { hours: 1 }))
  await runtime.runPromise(setup(schema, { responders: 10 }))
  await runtime.runPromise(loadHall(schema, { from: 1, to: SIZE, total: SIZE, end }))

  const pool = new Pg.default.Pool({ connectionString: databaseUrl, max: 10 })
  const mounted = Mount.toWebHandler(api, { tracing: false })
  const input = { field: HALL_FIELD, sort: "published" as const, limit: LIMIT }
  const hall = Effect.flatMap(Lists.Lists, (lists) => lists.hall(null, input))
  const text = hallSql(schema)
  const get = (path: string) => async () => {
    const response = await mounted.handler(new Request(`http://bench.local${path}`))
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`)
    await response.arrayBuffer()
  }
  const parts = [
    { name: "the SELECT on a pg pool", call: () => pool.query({ text, values: [HALL_FIELD, LIMIT + 1] }) },
    { name: "core's Lists.hall over adapter-pg", call: () => runtime.runPromise(hall) },
    { name: "GET /settings through Mount.toWebHandler", call: get("/settings") },
    {
      name: "GET /hall through Mount.toWebHandler",
      call: get(`/hall?field=${encodeURIComponent(HALL_FIELD)}&sort=published&limit=${LIMIT}`)
    }
  ]
  try {
    const page = await runtime.runPromise(hall)
    if (page.items.length !== LIMIT) throw new Error(`the hall's page has ${page.items.length} items`)
    for (const part of parts) await load(WARMUP, part.call)
    const figures = parts.map(() => [] as Array<number>)
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, part] of parts.entries()) figures[i]!.push(await cpuPerCall(part.call))
    }
    console.log(
      `\nA public-hall page's parts, this process's CPU per request (${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; ${int(SIZE)} demands, ${CONCURRENCY} at a time, median of ${ROUNDS} rounds of ${int(REQUESTS)})\n`
    )
    console.log("| part | CPU per request | rounds |\n|---|---|---|")
    for (const [i, part] of parts.entries()) {
      const xs = figures[i]!
      console.log(
        `| ${part.name} | ${median(xs).toFixed(3)} ms | ${xs.map((x) => x.toFixed(3)).join(", ")} |`
      )
    }
  } finally {
    await mounted.dispose()
    await runtime.dispose()
    await pool.end()
    await dropSchema(schema)
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
