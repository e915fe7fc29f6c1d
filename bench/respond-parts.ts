/**
 * Where a respond's server CPU goes (issue 8's P2), measured in one process without
 * HTTP connections or a load generator beside it, as `bench/hall-parts.ts` does for
 * the hall: published demands in a fresh schema of `DATABASE_URL`, 16 responds at a
 * time (P2's concurrency), each to its own demand by a responder in turn, this
 * process's CPU time per respond and the CPU its pool's PostgreSQL backends spent
 * (from /proc), for
 *
 * 1. core's `Responding.respond` over adapter-pg (with an idempotency key);
 * 2. `POST /demands/{id}/responses` through adapter-http's web handler
 *    (`Mount.toWebHandler`: signed sessions, rate limits in memory, the API), the
 *    same respond with its body and `Idempotency-Key`.
 *
 * Then the named statements of one of core's pool connections, with how many of
 * their executions PostgreSQL planned generically (once per connection) or with
 * their values (at every execution): inside a unit of work PostgreSQL chooses,
 * and a statement it cannot estimate without its values is planned every time.
 *
 * `PARTS` (a comma-separated list) keeps only the parts whose names contain one of
 * its words (`core`, `POST`), for a CPU profile of one.
 *
 * Each figure is the median of `ROUNDS` rounds of `REQUESTS`, the parts in turn.
 * Run with `npm run bench:respond-parts` after `npm run build`. Figures are printed,
 * never asserted.
 */
import { cpus } from "node:os"
import { Authentication, Mount, RateLimit } from "@zhongbao/adapter-http"
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import { type Ids, Responding, Settings, Zhongbao } from "@zhongbao/core"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as Pg from "pg"
import { SqlClient } from "@effect/sql"
import { callConcurrently, procTimesIfAlive } from "./support/cpu.js"
import { publishedPool, responderAccount, setup } from "./support/demands.js"
import { int, median } from "./support/report.js"
import { databaseUrl, dropSchema, freshSchema } from "./support/server.js"

const CONCURRENCY = 16
const REQUESTS = Number(process.env.REQUESTS ?? 2_000)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const WARMUP = 1_000
const RESPONDERS = 200
const APP = "bench_respond_parts"
const secret = Redacted.make("bench-respond-parts-session-secret-0123456789")
const proposal = { title: "应答方案", content: "采用化学气相沉积工艺提高良率" }

const schema = freshSchema("bench_respond")
/*
 * Connections stay open while the other part runs: a backend that exits takes its CPU
 * time with it (its /proc entry is gone), and the statements' table below would be
 * read from a fresh connection.
 */
const pool = PgDatabase.layerPool({
  url: Redacted.make(databaseUrl),
  maxConnections: CONCURRENCY,
  applicationName: APP,
  idleTimeout: "1 hour"
})
const database = PgPersistence.layer({ schema }).pipe(
  Layer.provideMerge(Settings.layerDefault),
  Layer.provideMerge(pool)
)
const services = Zhongbao.layer.pipe(Layer.provideMerge(database), Layer.merge(Layer.setTracerEnabled(false)))
const api = Layer.mergeAll(
  services,
  Authentication.layerBearer.pipe(Layer.provideMerge(Authentication.layerSessionsSigned({ secret }))),
  RateLimit.layer({
    responding: { limit: 1e9, windowMillis: 3_600_000 },
    sms: { limit: 1e9, windowMillis: 3_600_000 },
    consulting: { limit: 1e9, windowMillis: 3_600_000 },
    writes: { limit: 1e9, windowMillis: 3_600_000 }
  })
)

/** CPU of this process's pools' backends (by application_name), by pid, in ms, and of it in the kernel. */
const backendsCpu = async (db: Pg.default.Client) => {
  const { rows } = await db.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
    [APP]
  )
  const times = new Map<number, { readonly self: number; readonly system: number }>()
  for (const { pid } of rows) {
    const t = procTimesIfAlive(pid)
    if (t !== undefined) times.set(pid, t)
  }
  return times
}

/**
 * The backends' CPU between two readings: of each backend alive at the second, what
 * it spent since the first (all of it for one started since). A backend that exited
 * in between is left out; the pool's long idle timeout keeps that from happening.
 */
const backendsSpent = (before: Awaited<ReturnType<typeof backendsCpu>>, after: typeof before) => {
  let total = 0
  let system = 0
  for (const [pid, t] of after) {
    const b = before.get(pid)
    total += t.self - (b?.self ?? 0)
    system += t.system - (b?.system ?? 0)
  }
  return { total, system }
}

const main = async () => {
  const runtime = ManagedRuntime.make(services)
  const at = await runtime.runPromise(setup(schema, { responders: RESPONDERS }))
  const total = WARMUP * 2 + REQUESTS * ROUNDS * 2 + 10
  await runtime.runPromise(publishedPool(schema, 1_000_000, total, at))
  const db = new Pg.default.Client({ connectionString: databaseUrl })
  await db.connect()
  await db.query(`VACUUM ANALYZE "${schema}".demand`)
  const mounted = Mount.toWebHandler(api, { tracing: false })

  let next = 0
  const take = () => {
    const k = next++
    if (k >= total) throw new Error("out of demands")
    const demandId = String(1_000_001 + k) as Ids.DemandId
    const account = responderAccount(1 + (k % RESPONDERS)) as Ids.AccountId
    return { demandId, account, key: `k-${k}` }
  }
  const core = async () => {
    const { demandId, account, key } = take()
    await runtime.runPromise(
      Effect.flatMap(Responding.Responding, (r) =>
        r.respond(account, { demandId, proposal }, { idempotencyKey: key })
      )
    )
  }
  const tokens = new Map<string, string>()
  const tokenOf = (account: string) => {
    let token = tokens.get(account)
    if (token === undefined) {
      token = Authentication.signSession(secret, account as Ids.AccountId, Date.now() + 86_400_000)
      tokens.set(account, token)
    }
    return token
  }
  const http = async () => {
    const { demandId, account, key } = take()
    const response = await mounted.handler(
      new Request(`http://bench.local/demands/${demandId}/responses`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${tokenOf(account)}`,
          "content-type": "application/json",
          "idempotency-key": key
        },
        body: JSON.stringify({ proposal })
      })
    )
    if (response.status >= 300) throw new Error(`respond: ${response.status} ${await response.text()}`)
    await response.arrayBuffer()
  }
  const parts = [
    { name: "core's Responding.respond over adapter-pg", call: core },
    { name: "POST /demands/{id}/responses through Mount.toWebHandler", call: http }
  ].filter(
    (part) =>
      process.env.PARTS === undefined || process.env.PARTS.split(",").some((n) => part.name.includes(n))
  )
  const run = (count: number, call: () => Promise<unknown>) => callConcurrently(count, CONCURRENCY, call)
  try {
    for (const part of parts) await run(WARMUP, part.call)
    const figures = parts.map(() => ({
      self: [] as Array<number>,
      pg: [] as Array<number>,
      pgSystem: [] as Array<number>
    }))
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, part] of parts.entries()) {
        const pgBefore = await backendsCpu(db)
        const before = process.cpuUsage()
        await run(REQUESTS, part.call)
        const used = process.cpuUsage(before)
        const pg = backendsSpent(pgBefore, await backendsCpu(db))
        figures[i]!.self.push((used.user + used.system) / 1000 / REQUESTS)
        figures[i]!.pg.push(pg.total / REQUESTS)
        figures[i]!.pgSystem.push(pg.system / REQUESTS)
      }
    }
    console.log(
      `\nA respond's parts (${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}; ${CONCURRENCY} at a time, median of ${ROUNDS} rounds of ${int(REQUESTS)})\n`
    )
    console.log(
      "| part | this process's CPU per respond | its backends' CPU per respond | rounds |\n|---|---|---|---|"
    )
    for (const [i, part] of parts.entries()) {
      const f = figures[i]!
      console.log(
        `| ${part.name} | ${median(f.self).toFixed(3)} ms | ${median(f.pg).toFixed(3)} ms (kernel ${median(f.pgSystem).toFixed(3)}) | ${f.self.map((x) => x.toFixed(3)).join(", ")} |`
      )
    }
    const plans = await runtime.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.unsafe<{ statement: string; generic: number; custom: number }>(
          `SELECT left(regexp_replace(replace(statement, $1, ''), '\\s+', ' ', 'g'), 60) AS statement,
             generic_plans::int AS generic, custom_plans::int AS custom
           FROM pg_prepared_statements ORDER BY statement`,
          [`"${schema}".`]
        )
      )
    )
    console.log(
      "\nThe named statements of one of core's pool connections, and how PostgreSQL planned their executions\n"
    )
    console.log("| statement | generic plans | custom plans |\n|---|---|---|")
    for (const p of plans) console.log(`| \`${p.statement}…\` | ${p.generic} | ${p.custom} |`)
  } finally {
    await mounted.dispose()
    await runtime.dispose()
    await db.end()
    await dropSchema(schema)
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
