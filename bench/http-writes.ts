/**
 * Writes over HTTP against the example server (`bench/support/server.ts`) on the local
 * PostgreSQL (`DATABASE_URL`), in a fresh schema dropped at the end:
 *
 * - **P2** respond, `POST /demands/:demandId/responses` with a bearer token and an
 *   `Idempotency-Key` (rules, one transaction, audit, idempotency record, outbox), by
 *   autocannon at `concurrency` keep-alive connections (no pipelining; every request
 *   its own demand, a random responder's token and its own key, set in
 *   `setupRequest`), next to `pgbench -M prepared` running the same statements
 *   (`bench/respond.pgbench`) with as many clients, one transaction per demand too.
 *   Before the rounds, the statements the adapter sends for one respond (traced in
 *   this process on the same core and adapter, with an idempotency key) are compared
 *   with the script's. Rounds alternate HTTP and pgbench with the same number of
 *   transactions (HTTP first in odd rounds, pgbench in even ones); the figure is the median of the rounds' ratios (goal ≥ 0.60).
 *   Printed with where the time goes: CPU per respond of the server, the client and
 *   PostgreSQL (from /proc; the whole machine's PostgreSQL, other load included) and
 *   the ratio that CPU alone allows; the server's CPU per `GET /health` (node:http
 *   alone) and `GET /settings` (the API without the database) for scale; where each
 *   side's connections were over the rounds (`pg_stat_activity` sampled every 50 ms,
 *   the server's connections named by their own `application_name`: active, waiting
 *   inside PostgreSQL, the client's turn inside a transaction, between transactions);
 *   one run of `pgbench -M extended` after the rounds (each statement sent unnamed,
 *   as a plain `pg` client sends it, where the server and the rounds' pgbench name
 *   theirs: the ratio against that run is printed for scale, not as the goal);
 *   one run of `pgbench -M prepared` held to the HTTP rounds' median rate (`-R`),
 *   whose PostgreSQL CPU per respond is set beside the HTTP rounds' (a transaction
 *   costs PostgreSQL more when fewer run at once, so the rounds' two sides, at
 *   different rates, do not compare on it alone);
 *   one connection against one client (pgbench -r: the round trips alone). The
 *   server runs with `WORKERS=false`, rate limits raised and counted in memory
 *   (`RATE_LIMIT_STORE=memory`: the default store's statement per respond,
 *   `PgRateLimit`'s, is not among the statements pgbench runs;
 *   `P2_RATE_LIMIT_STORE=database` measures with it), and a pool of `concurrency`
 *   connections. Afterwards the rows each side wrote are counted: per
 *   2xx (per pgbench transaction) one demand updated, one response, one audit event
 *   with its two member rows, one outbox message and one idempotency record.
 * - **P4** the outbox drained to the fake Aliyun SMS of adapter-sms's tests (it
 *   re-checks every ACS3 signature) over HTTP: the outbox messages core wrote while
 *   setting up (approval, response and adoption notices) copied in SQL to `messages`
 *   messages, each with a fresh id, dedupe key and phone number (so the sender's
 *   default per-number throttle lets each through), then an instance with
 *   `WORKERS=true` and `SMS_PROVIDER=aliyun` started on them. Timed from the first
 *   delivery the fake sees to the last `sent_at`, three times (a fresh fake, server
 *   and messages each time; one drain of fewer with `--short`), the figure the median
 *   drain's rate, since one drain on a small shared machine moves by a fifth from
 *   run to run; goal ≥ 2,000 messages/s, and checked
 *   by SQL and the fake's log: every message delivered exactly once, every row `sent`
 *   with the fake's `BizId`, none dead (a broken invariant is a detail line starting
 *   `INVARIANT BROKEN`). Printed with the CPU per message of the server, the fake and
 *   PostgreSQL, and the rate that CPU allows on this machine.
 *
 * `--profile` adds the server's CPU profile over P2's HTTP rounds and over P4's drain
 * (the inspector's profiler, loaded with `NODE_OPTIONS=--import` and switched by
 * SIGUSR2), by package and by function. With `BENCH_PROFILE_KEEP=1` the profile files
 * (`server.cpuprofile`, for Chrome's DevTools) are kept and their folder printed.
 *
 * Data: the parties of `@zhongbao/testing`'s fixtures and one demand published through
 * core's use cases; responders (research institutes) and publishers (enterprises) in
 * SQL; published demands copied in SQL from the one core wrote.
 *
 * Run alone: `npx tsx --conditions=@zhongbao/source bench/http-writes.ts [--short]
 * [--profile] [--only=P2|P4]`. Goals are printed, never asserted.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import { Responding, Selection, Settings, Zhongbao } from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import autocannon from "autocannon"
import { Effect, Exit, Layer, ManagedRuntime, Redacted, Scope } from "effect"
import * as Pg from "pg"
import * as FakeAliyun from "../packages/adapter-sms/test/support/FakeAliyun.js"
import * as FakeProvider from "../packages/adapter-sms/test/support/FakeProvider.js"
import { machineCpu, mainThread, postgresCpu, procTimes, procTimesIfAlive } from "./support/cpu.js"
import { countingWrites, traced } from "./support/demands.js"
import { firstDifference, pgbenchArgs, scriptStatements } from "./support/pgbench.js"
import {
  type Figure,
  figuresTable,
  type Invariant,
  inTurn,
  int,
  median,
  ratioRange
} from "./support/report.js"
import {
  databaseUrl,
  dropSchema,
  freshSchema,
  type ServerProcess,
  startServer,
  tokenFor
} from "./support/server.js"

const PGBENCH = process.env.PGBENCH ?? "pgbench"
const SCRIPT = fileURLToPath(new URL("./respond.pgbench", import.meta.url))

/** How much of everything a run does. */
interface Sizes {
  /** HTTP connections, server pool connections and pgbench clients. */
  readonly concurrency: number
  readonly rounds: number
  /** Responds per round on each side (a multiple of `concurrency`). */
  readonly perRound: number
  /** Responds of each side before the rounds. */
  readonly warmup: number
  /** Responds of the one-connection comparison. */
  readonly single: number
  /** P4's outbox messages per drain. */
  readonly messages: number
  /** P4's drains, each with a fresh fake and server instance; the figure is their median. */
  readonly drains: number
  /** A CHECKPOINT before each side's round, so that neither pays the other's dirty pages. */
  readonly checkpoint: boolean
  /** How long P4 may take to drain, in ms. */
  readonly drainTimeout: number
}

const FULL: Sizes = {
  concurrency: 16,
  rounds: 5,
  perRound: 3_008,
  warmup: 1_008,
  single: 300,
  messages: 20_000,
  drains: 3,
  checkpoint: true,
  drainTimeout: 300_000
}

const SHORT: Sizes = {
  concurrency: 16,
  rounds: 1,
  perRound: 320,
  warmup: 160,
  single: 30,
  messages: 1_000,
  drains: 1,
  checkpoint: false,
  drainTimeout: 30_000
}

const P2_GOAL = 0.6
const P4_GOAL = 2_000

/** Where the server counts its rate limits in P2 (see the module's documentation). */
const P2_RATE_LIMIT_STORE = process.env.P2_RATE_LIMIT_STORE === "database" ? "database" : "memory"

/** Rate limits far above the load (the default allows 30 responses an hour per account). */
const RATE_LIMITS = {
  responding: { limit: 1_000_000_000, windowMillis: 3_600_000 },
  sms: { limit: 1_000_000_000, windowMillis: 3_600_000 },
  consulting: { limit: 1_000_000_000, windowMillis: 3_600_000 },
  writes: { limit: 1_000_000_000, windowMillis: 3_600_000 }
}

/** The dispatcher's tuning for P4 (`SETTINGS_JSON`), and the server's pool. */
const OUTBOX = { batchSize: 500, sendConcurrency: 64 }
const P4_POOL = 32

/** Publishers (enterprises) and responders (research institutes), one account each. */
const PUBLISHERS = 50
const RESPONDERS = 1_000
const RESPONDER_ACCOUNTS = 210_000
/** Demand ids are 8-digit numbers: HTTP's pool, pgbench's pool. */
const HTTP_POOL = 10_000_000
const PGBENCH_POOL = 20_000_000
const proposal = { title: "应答方案", content: "采用化学气相沉积工艺提高良率" }

// ---------------------------------------------------------------------------------
// SQL and the in-process core

type Row = Record<string, unknown>

/** One connection for the bench's own statements. */
interface Db {
  readonly query: <R extends Row = Row>(text: string, params?: ReadonlyArray<unknown>) => Promise<Array<R>>
  readonly end: () => Promise<void>
}

const connect = async (schema: string): Promise<Db> => {
  const client = new Pg.default.Client({ connectionString: databaseUrl })
  await client.connect()
  await client.query(`SET search_path TO "${schema}"`)
  return {
    query: async <R extends Row>(text: string, params: ReadonlyArray<unknown> = []) =>
      (await client.query(text, params as Array<unknown>)).rows as Array<R>,
    end: () => client.end()
  }
}

const makeRuntime = (schema: string) =>
  ManagedRuntime.make(
    Zhongbao.layer.pipe(
      Layer.provideMerge(Layer.merge(PgPersistence.layer({ schema }), Settings.layerDefault)),
      Layer.provideMerge(PgDatabase.layerPool({ url: Redacted.make(databaseUrl), maxConnections: 2 }))
    )
  )

/** What the setup leaves for the figures. */
interface World {
  /** The statements of one respond as the adapter sent them. */
  readonly traced: ReadonlyArray<string>
  /** The round trips of that respond. */
  readonly roundTrips: number
  /** Outbox messages core wrote: P4's templates. */
  readonly templateMessages: ReadonlyArray<string>
  readonly publishedAt: string
  readonly templateVersion: number
  readonly fingerprint: string
  readonly result: string
}

/**
 * The fixtures' parties and one demand published through core, kept as
 * `bench_template`; one respond to it traced (with an idempotency key) and the
 * response adopted; then publishers and responders in SQL.
 */
const setup = async (schema: string, db: Db): Promise<World> => {
  const rt = makeRuntime(schema)
  try {
    const { statements, roundTrips } = await rt.runPromise(
      Effect.gen(function* () {
        const world = yield* Fixtures.makeWorld
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        yield* Effect.promise(() =>
          db.query("CREATE TABLE bench_template AS SELECT * FROM demand WHERE id = $1", [demand.id])
        )
        const responding = yield* Responding.Responding
        const {
          result: { result: response, log },
          writes
        } = yield* countingWrites(
          traced(
            responding.respond(
              world.institute.account,
              { demandId: demand.id, proposal },
              { idempotencyKey: "trace-1" }
            )
          )
        )
        const selection = yield* Selection.Selection
        yield* selection.adopt(world.enterprise.account, { responseId: response.id })
        return { statements: log, roundTrips: writes }
      })
    )
    await db.query(
      `INSERT INTO member (id, kind, name, region, registered, created_at)
       SELECT (100000 + k)::text, 'enterprise', '企业' || k, '天津市', false, now() - interval '1 day'
       FROM generate_series(1, $1::int) k
       UNION ALL
       SELECT (200000 + k)::text, 'research_institute', '研究所' || k, '天津市', false, now() - interval '1 day'
       FROM generate_series(1, $2::int) k`,
      [PUBLISHERS, RESPONDERS]
    )
    await db.query(
      `INSERT INTO account (id, member_id, role, name, phone, active, created_at)
       SELECT (110000 + k)::text, (100000 + k)::text, 'member', '联系人' || k, '+86135' || lpad(k::text, 8, '0'), true,
         now() - interval '1 day' FROM generate_series(1, $1::int) k
       UNION ALL
       SELECT (${RESPONDER_ACCOUNTS} + k)::text, (200000 + k)::text, 'member', '联系人' || k,
         '+86136' || lpad(k::text, 8, '0'), true, now() - interval '1 day' FROM generate_series(1, $2::int) k`,
      [PUBLISHERS, RESPONDERS]
    )
    const [template] = await db.query("SELECT first_published_at, version FROM bench_template")
    const [record] = await db.query(
      "SELECT fingerprint, result::text AS result FROM idempotency_record WHERE key = 'trace-1'"
    )
    const messages = await db.query<{ id: string }>("SELECT id FROM outbox_message ORDER BY id")
    return {
      traced: statements,
      roundTrips,
      templateMessages: messages.map((m) => m.id),
      publishedAt: (template!.first_published_at as Date).toISOString(),
      templateVersion: Number(template!.version),
      fingerprint: String(record!.fingerprint),
      result: String(record!.result)
    }
  } finally {
    await rt.dispose()
  }
}

/**
 * Demands `pool + 1 … pool + count`, copies of the template published at its
 * publication instant (submission, approval and creation too), publishers in turn.
 */
const publishedPool = async (db: Db, pool: number, count: number) => {
  const columns = (
    await db.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = 'demand' ORDER BY ordinal_position`
    )
  ).map((c) => c.name)
  const overrides: Record<string, string> = {
    id: `(${pool} + i)::text`,
    publisher_id: `(100001 + i % ${PUBLISHERS})::text`,
    created_by: `(110001 + i % ${PUBLISHERS})::text`,
    number: `'ZB' || (${pool} + i)`,
    submitted_at: "t.first_published_at",
    approved_at: "t.first_published_at",
    created_at: "t.first_published_at",
    updated_at: "t.first_published_at"
  }
  await db.query(
    `INSERT INTO demand (${columns.join(", ")})
     SELECT ${columns.map((c) => overrides[c] ?? `t.${c}`).join(", ")}
     FROM generate_series(1, $1::int) AS i, bench_template t`,
    [count]
  )
}

// ---------------------------------------------------------------------------------
// Measuring

/** CPU in ms over a run: the server, this process, its waited-for children (pgbench), PostgreSQL, the machine. */
interface Cpu {
  readonly wall: number
  readonly server: number
  /** The server's time in the kernel (sockets, loopback TCP included). */
  readonly serverSystem: number
  /** The server's main thread: ms on a CPU, ms runnable but waiting for one, and times preempted. */
  readonly serverRan: number
  readonly serverWaited: number
  readonly serverPreempted: number
  readonly self: number
  readonly children: number
  readonly postgres: number
  readonly busy: number
  readonly idle: number
}

const measured = async <A>(serverPid: number | undefined, f: () => Promise<A>) => {
  const sample = () => ({
    server: serverPid === undefined ? { self: 0, system: 0 } : procTimes(serverPid),
    thread: serverPid === undefined ? { ranMs: 0, waitedMs: 0, involuntary: 0 } : mainThread(serverPid),
    self: process.cpuUsage(),
    children: procTimes("self").children,
    postgres: postgresCpu() ?? 0,
    machine: machineCpu(),
    at: performance.now()
  })
  const before = sample()
  const result = await f()
  const after = sample()
  const self = process.cpuUsage(before.self)
  const cpu: Cpu = {
    wall: after.at - before.at,
    server: after.server.self - before.server.self,
    serverSystem: after.server.system - before.server.system,
    serverRan: after.thread.ranMs - before.thread.ranMs,
    serverWaited: after.thread.waitedMs - before.thread.waitedMs,
    serverPreempted: after.thread.involuntary - before.thread.involuntary,
    self: (self.user + self.system) / 1000,
    children: after.children - before.children,
    postgres: after.postgres - before.postgres,
    busy: after.machine.busy - before.machine.busy,
    idle:
      1 - (after.machine.busy - before.machine.busy) / Math.max(1, after.machine.total - before.machine.total)
  }
  return { result, cpu }
}

const sumCpu = (runs: ReadonlyArray<Cpu>): Cpu =>
  runs.reduce(
    (a, b) => ({
      wall: a.wall + b.wall,
      server: a.server + b.server,
      serverSystem: a.serverSystem + b.serverSystem,
      serverRan: a.serverRan + b.serverRan,
      serverWaited: a.serverWaited + b.serverWaited,
      serverPreempted: a.serverPreempted + b.serverPreempted,
      self: a.self + b.self,
      children: a.children + b.children,
      postgres: a.postgres + b.postgres,
      busy: a.busy + b.busy,
      idle: a.idle + b.idle / runs.length
    }),
    {
      wall: 0,
      server: 0,
      serverSystem: 0,
      serverRan: 0,
      serverWaited: 0,
      serverPreempted: 0,
      self: 0,
      children: 0,
      postgres: 0,
      busy: 0,
      idle: 0
    }
  )

/** Where a side's connections were, counted over samples of `pg_stat_activity`. */
interface ConnectionStates {
  /** `active` without a wait event: on a CPU, or queued for one. */
  running: number
  /** `active`, waiting on a lock, an LWLock, I/O, IPC … inside PostgreSQL. */
  waiting: number
  /** `idle in transaction`, or `active` on the client's socket: the client's turn (or the backend's wait for a CPU to read it). */
  clientTurn: number
  /** `idle`: between transactions. */
  idle: number
  /** Any other state (aborted transaction, fast-path call, not visible). */
  other: number
  /** Each backend's CPU time (ms, /proc) at the first and the last sample that saw it. */
  readonly backends: Map<number, { readonly first: number; last: number }>
}

const emptyStates = (): ConnectionStates => ({
  running: 0,
  waiting: 0,
  clientTurn: 0,
  idle: 0,
  other: 0,
  backends: new Map()
})

/** The CPU the sampled backends spent between the first and the last sample of each, in ms. */
const backendsCpu = (s: ConnectionStates): number =>
  [...s.backends.values()].reduce((sum, b) => sum + b.last - b.first, 0)

/**
 * Samples `pg_stat_activity` every `everyMs` on a connection of its own, counting
 * the connections of the application named in `during` while it runs (issue 8's
 * P2: where each side's round trips wait). A sampler that cannot connect or query
 * stops counting and `stop` answers `undefined`; it never fails the figure.
 */
const connectionSampler = async (everyMs = 50) => {
  const client = new Pg.default.Client({ connectionString: databaseUrl, application_name: "bench_sampler" })
  client.on("error", () => {})
  let broken = await client.connect().then(
    () => false,
    () => true
  )
  const states = new Map<string, ConnectionStates>()
  let side: string | undefined
  let stopped = broken
  let ended: Promise<ReadonlyMap<string, ConnectionStates> | undefined> | undefined
  const loop = (async () => {
    while (!stopped) {
      const application = side
      if (application !== undefined) {
        const answer = await client
          .query<{ pid: number; state: string | null; wait: string | null }>(
            `SELECT pid, state, wait_event_type AS wait FROM pg_stat_activity
             WHERE application_name = $1 AND datname = current_database()`,
            [application]
          )
          .catch(() => undefined)
        if (answer === undefined) {
          broken = true
          break
        }
        let counts = states.get(application)
        if (counts === undefined) {
          counts = emptyStates()
          states.set(application, counts)
        }
        for (const r of answer.rows) {
          const cpu = procTimesIfAlive(r.pid)?.self
          if (cpu !== undefined) {
            const seen = counts.backends.get(r.pid)
            if (seen === undefined) counts.backends.set(r.pid, { first: cpu, last: cpu })
            else seen.last = cpu
          }
          if (r.state === "active" && r.wait === null) counts.running++
          else if (r.state === "active" && r.wait === "Client") counts.clientTurn++
          else if (r.state === "active") counts.waiting++
          else if (r.state === "idle in transaction") counts.clientTurn++
          else if (r.state === "idle") counts.idle++
          else counts.other++
        }
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  return {
    /** Runs `f`, counting the connections of `application` meanwhile. */
    during: async <A>(application: string, f: () => Promise<A>): Promise<A> => {
      side = application
      try {
        return await f()
      } finally {
        side = undefined
      }
    },
    /** Stops sampling (again, harmlessly): the counts by application, or `undefined` if sampling failed. */
    stop: (): Promise<ReadonlyMap<string, ConnectionStates> | undefined> =>
      (ended ??= (async () => {
        stopped = true
        await loop
        await client.end().catch(() => undefined)
        return broken ? undefined : states
      })())
  }
}

const describeStates = (s: ConnectionStates | undefined): string => {
  if (s === undefined) return "no samples"
  const total = s.running + s.waiting + s.clientTurn + s.idle + s.other
  const pct = (n: number) => `${ms((n / Math.max(1, total)) * 100, 0)}%`
  return `${pct(s.running)} active on or queued for a CPU, ${pct(s.waiting)} waiting inside PostgreSQL (locks, I/O, IPC), ${pct(s.clientTurn)} the client's turn inside a transaction, ${pct(s.idle)} between transactions${s.other > 0 ? `, ${pct(s.other)} other` : ""} (${int(total)} connection samples)`
}

const ms = (x: number, digits = 2) => x.toFixed(digits)

// ---------------------------------------------------------------------------------
// The two drivers

interface HttpRun {
  readonly ok: number
  readonly other: number
  readonly errors: number
  readonly statuses: string
  readonly p50: number
  readonly p99: number
  /**
   * Milliseconds from the start to the last answer. autocannon itself ends a run of a
   * fixed `amount` on its next one-second tick, so its end would add up to a second.
   */
  readonly elapsed: number
  /** Bodies of the first answers that were not 201 (when asked for). */
  readonly samples: ReadonlyArray<string>
}

/** `count` GETs of `path` over `connections` keep-alive connections: how many were 200. */
const httpGet = (url: string, path: string, count: number, connections: number) =>
  new Promise<number>((resolve, reject) => {
    autocannon({ url: `${url}${path}`, connections, pipelining: 1, amount: count }, (error, result) =>
      error ? reject(error) : resolve(result["2xx"])
    )
  })

/**
 * `count` responds over `connections` keep-alive connections, the demands taken in
 * turn from `nextDemand`, each as a random responder with its own idempotency key.
 */
const httpRespond = (
  url: string,
  count: number,
  connections: number,
  nextDemand: () => number,
  tokens: ReadonlyArray<string>,
  keepBodies = false
) =>
  new Promise<HttpRun>((resolve, reject) => {
    const body = JSON.stringify({ proposal })
    const samples: Array<string> = []
    const started = performance.now()
    let last = started
    autocannon(
      {
        url,
        connections,
        pipelining: 1,
        amount: count,
        timeout: 60,
        requests: [
          {
            method: "POST",
            setupRequest: (request) => {
              const demand = nextDemand()
              return {
                ...request,
                path: `/demands/${demand}/responses`,
                headers: {
                  "content-type": "application/json",
                  authorization: `Bearer ${tokens[Math.floor(Math.random() * tokens.length)]}`,
                  "idempotency-key": `h-${demand}`
                },
                body
              }
            },
            onResponse: (status: number, text: string) => {
              last = performance.now()
              if (keepBodies && status !== 201 && samples.length < 3) {
                samples.push(`${status} ${text.slice(0, 300)}`)
              }
            }
          }
        ]
      },
      (error, result) => {
        if (error) return reject(error)
        const statuses = Object.entries(result.statusCodeStats ?? {})
          .map(([code, s]) => `${code}×${(s as { count: number }).count}`)
          .join(" ")
        resolve({
          ok: result["2xx"],
          other: result.non2xx,
          errors: result.errors + result.timeouts,
          statuses,
          p50: result.latency.p50,
          p99: result.latency.p99,
          elapsed: last - started,
          samples
        })
      }
    )
  })

interface PgbenchRun {
  readonly tps: number
  readonly processed: number
  readonly failed: number
  readonly latency: number
  /** With -r: the SQL commands' latencies, in ms. */
  readonly statements: ReadonlyArray<number>
}

/** Runs pgbench on the schema: `clients × perClient` responds, demands from `demandsFrom`. */
const pgbench = (
  schema: string,
  world: World,
  options: {
    readonly clients: number
    readonly perClient: number
    readonly demandsFrom: number
    readonly base: number
    readonly perStatement?: boolean
    readonly mode?: "extended" | "prepared"
    /** At most this many transactions a second in all (`-R`). */
    readonly rate?: number
  }
) => {
  const define = {
    clients: options.clients,
    seq: 0,
    base: options.base,
    demands_from: options.demandsFrom,
    accounts_from: RESPONDER_ACCOUNTS + 1,
    accounts_to: RESPONDER_ACCOUNTS + RESPONDERS,
    now: new Date().toISOString(),
    published_at: world.publishedAt,
    fingerprint: world.fingerprint,
    result: world.result
  }
  const args = pgbenchArgs({
    ...(options.mode === undefined ? {} : { mode: options.mode }),
    ...(options.rate === undefined ? {} : { rate: options.rate }),
    clients: options.clients,
    perStatement: options.perStatement === true,
    length: { transactions: options.perClient },
    script: SCRIPT,
    define,
    url: databaseUrl
  })
  return new Promise<PgbenchRun>((resolve, reject) => {
    const child = spawn(PGBENCH, args, {
      env: { ...process.env, PGOPTIONS: `-c search_path=${schema}`, PGAPPNAME: `pgbench_${schema}` },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
    })
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
    })
    child.once("error", reject)
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`pgbench exited ${code}:\n${out.slice(-3000)}`))
      const number = (pattern: RegExp) => Number(pattern.exec(out)?.[1] ?? Number.NaN)
      resolve({
        tps: number(/tps = ([\d.]+)/),
        processed: number(/actually processed: (\d+)/),
        failed: number(/failed transactions: (\d+)/) || 0,
        latency: number(/latency average = ([\d.]+) ms/),
        statements: [...out.matchAll(/^\s+([\d.]+)\s+\d+\s+(\S.*)$/gm)]
          .filter((m) => !m[2]!.startsWith("\\"))
          .map((m) => Number(m[1]))
      })
    })
  })
}

// ---------------------------------------------------------------------------------
// The server's CPU profile

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples?: ReadonlyArray<number>
  readonly timeDeltas?: ReadonlyArray<number>
}

const PROFILE_FILE = "server.cpuprofile"

/** The package a frame's code belongs to, or the runtime's part for native code and internals. */
const packageOf = ({ url, functionName }: ProfileNode["callFrame"]) => {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)"
  if (url.startsWith("node:")) return "node internals"
  const modules = url.lastIndexOf("/node_modules/")
  if (modules >= 0) {
    const parts = url.slice(modules + "/node_modules/".length).split("/")
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!
  }
  const workspace = /\/packages\/([^/]+)\//.exec(url)
  if (workspace) return `@zhongbao/${workspace[1]}`
  if (url.includes("/examples/server/")) return "example server"
  return url.slice(url.lastIndexOf("/") + 1)
}

const runtimeParts = new Set(["node internals", "(native)", "(program)", "(garbage collector)", "(root)"])

/**
 * A module for `--import` that profiles the process it is loaded into between two
 * SIGUSR2 (the inspector's profiler: `--cpu-prof` is not allowed in `NODE_OPTIONS`,
 * and would include the start) and writes `<dir>/server.cpuprofile`.
 */
const profilerPreload = (dir: string) => {
  const file = join(dir, "profiler.mjs")
  writeFileSync(
    file,
    `import { Session } from "node:inspector"
import { writeFileSync } from "node:fs"
const session = new Session()
session.connect()
session.post("Profiler.enable")
let running = false
process.on("SIGUSR2", () => {
  if (!running) {
    running = true
    session.post("Profiler.start")
    return
  }
  running = false
  session.post("Profiler.stop", (error, result) => {
    if (!error) writeFileSync(${JSON.stringify(join(dir, PROFILE_FILE))}, JSON.stringify(result.profile))
  })
})
`
  )
  return pathToFileURL(file).href
}

/** Removes a profile's folder, or keeps it and says where with `BENCH_PROFILE_KEEP=1`. */
const dropProfile = (dir: string) => {
  if (process.env.BENCH_PROFILE_KEEP === "1") console.error(`profile kept: ${join(dir, PROFILE_FILE)}`)
  else rmSync(dir, { recursive: true, force: true })
}

/** Asks the profiled server to stop profiling, and waits for its profile. */
const collectProfile = async (server: ServerProcess, dir: string) => {
  server.child.kill("SIGUSR2")
  for (let i = 0; i < 200 && !existsSync(join(dir, PROFILE_FILE)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await new Promise((resolve) => setTimeout(resolve, 200))
  return JSON.parse(readFileSync(join(dir, PROFILE_FILE), "utf8")) as CpuProfile
}

/**
 * The busy time of a profile: by package of the running code; by the first package up
 * the stack that is not the runtime (node internals and native code charged to their
 * caller); and the top functions by self time.
 */
const summariseProfile = (
  profile: CpuProfile,
  what: { readonly over: string; readonly unit: string; readonly count: number }
): ReadonlyArray<string> => {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const parents = new Map<number, number>()
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id)
  const owner = new Map<number, string>()
  const ownerOf = (id: number): string => {
    const known = owner.get(id)
    if (known !== undefined) return known
    const node = nodes.get(id)!
    const pkg = packageOf(node.callFrame)
    const parent = parents.get(id)
    const result = !runtimeParts.has(pkg) || parent === undefined ? pkg : ownerOf(parent)
    owner.set(id, result === "(root)" ? pkg : result)
    return owner.get(id)!
  }
  const byPackage = new Map<string, number>()
  const byCaller = new Map<string, number>()
  const byFunction = new Map<string, number>()
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v)
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  let busy = 0
  for (let i = 0; i < samples.length; i++) {
    const node = nodes.get(samples[i]!)
    const micros = deltas[i + 1] ?? 0
    if (node === undefined || node.callFrame.functionName === "(idle)") continue
    const { functionName, url, lineNumber } = node.callFrame
    const pkg = packageOf(node.callFrame)
    busy += micros
    add(byPackage, pkg, micros)
    add(byCaller, ownerOf(node.id), micros)
    add(
      byFunction,
      pkg === functionName
        ? pkg
        : `${functionName || "(anonymous)"} ${url.slice(url.lastIndexOf("/") + 1)}:${lineNumber + 1} [${pkg}]`,
      micros
    )
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${k} ${((100 * v) / Math.max(1, busy)).toFixed(1)}%`)
      .join(", ")
  return [
    `server CPU profile ${what.over} (sampled on the wall clock: time the thread was preempted is charged to where it stopped, often writev, which wakes PostgreSQL): ${ms(busy / 1e6, 1)} s busy, ${ms(busy / 1000 / Math.max(1, what.count))} ms per ${what.unit}; self time by package: ${top(byPackage, 10)}`,
    `server CPU profile, node internals and native code charged to the first package up the stack: ${top(byCaller, 8)}`,
    `server CPU profile, top functions by self time: ${top(byFunction, 15)}`
  ]
}

// ---------------------------------------------------------------------------------
// P2

/** What a pool's responds wrote, and whether its demands kept their copied columns. */
const written = async (db: Db, pool: number, count: number, keys: string, templateVersion: number) => {
  const [row] = await db.query<Record<string, number>>(
    `WITH d AS (SELECT * FROM demand WHERE id > $1 AND id <= $2),
          r AS (SELECT r.* FROM response r JOIN d ON d.id = r.demand_id),
          a AS (SELECT a.* FROM audit_event a JOIN d ON d.id = a.demand_id)
     SELECT (SELECT count(*) FROM d WHERE version > $3)::int AS demands,
       (SELECT count(*) FROM d WHERE version = $3 + 1 AND response_count = 1)::int AS responded,
       (SELECT count(*) FROM d, bench_template t
          WHERE (d.title, d.main_problem, d.key_technology, d.expected_goal, d.keywords, d.field,
                 d.intended_investment, d.solving_way, d.region, d.response_deadline, d.service_mode,
                 d.state, d.intake_closed_at, d.adopted_count, d.search_text, d.search_grams, d.created_at,
                 d.first_published_at)
            IS DISTINCT FROM (t.title, t.main_problem, t.key_technology, t.expected_goal, t.keywords, t.field,
                 t.intended_investment, t.solving_way, t.region, t.response_deadline, t.service_mode,
                 t.state, t.intake_closed_at, t.adopted_count, t.search_text, t.search_grams, t.first_published_at,
                 t.first_published_at))::int AS changed,
       (SELECT count(*) FROM r WHERE status = 'submitted')::int AS responses,
       (SELECT count(*) FROM a WHERE action = 'response.submitted')::int AS audits,
       (SELECT count(*) FROM audit_event_member m JOIN a ON a.id = m.event_id)::int AS members,
       (SELECT count(*) FROM outbox_message o JOIN r ON split_part(o.dedupe_key, ':', 2) = r.demand_id || '/' || r.round || '/' || r.responder_id
          WHERE o.event = 'response_received')::int AS outbox,
       (SELECT count(*) FROM idempotency_record WHERE key ~ $4)::int AS idempotency`,
    [String(pool), String(pool + count), templateVersion, keys]
  )
  return row!
}

/** Whether a pool wrote exactly what `n` responds write; the line describing it. */
const describeWritten = (side: string, n: number, w: Record<string, number>) => {
  const holds =
    w.demands === n &&
    w.responded === n &&
    w.changed === 0 &&
    w.responses === n &&
    w.audits === n &&
    w.members === 2 * n &&
    w.outbox === n &&
    w.idempotency === n
  return {
    holds,
    line: `${holds ? "" : "CHECK FAILED: "}${side}: ${int(n)} responds answered → ${int(w.demands!)} demands updated (${int(w.responded!)} with response_count 1 and version + 1, ${int(w.changed!)} with a copied column changed), ${int(w.responses!)} responses, ${int(w.audits!)} audit events + ${int(w.members!)} member rows, ${int(w.outbox!)} outbox messages, ${int(w.idempotency!)} idempotency records`
  }
}

const p2 = async (schema: string, db: Db, world: World, sizes: Sizes, profile: boolean): Promise<Figure> => {
  const details: Array<string> = []
  const c = sizes.concurrency
  const perClient = Math.ceil(sizes.perRound / c)
  const perRound = perClient * c
  const warmupPerClient = Math.ceil(sizes.warmup / c)
  const runs = sizes.rounds + 2
  const httpDemands = warmupPerClient * c + sizes.rounds * perRound + sizes.single + runs * (c + 2) + 100
  /** The warm-up, the rounds, the -M extended run, the run held to the HTTP rate, and the one-connection run. */
  const pgbenchDemands = warmupPerClient * c + (sizes.rounds + 2) * perRound + sizes.single

  const generated = await measured(undefined, async () => {
    await publishedPool(db, HTTP_POOL, httpDemands)
    await publishedPool(db, PGBENCH_POOL, pgbenchDemands)
    await db.query("ANALYZE demand, member, account")
  })
  details.push(
    `${int(httpDemands)} + ${int(pgbenchDemands)} published demands copied in SQL from one published through core in ${ms(generated.cpu.wall / 1000, 1)} s; ${RESPONDERS} responder accounts (research institutes), ${PUBLISHERS} publishers`
  )

  const script = scriptStatements(readFileSync(SCRIPT, "utf8"))
  const difference = firstDifference(world.traced, script)
  const trips = world.traced.length
  if (difference === undefined) {
    details.push(
      `one respond = ${trips} statements (BEGIN and COMMIT included) as the adapter sends them with an Idempotency-Key, in ${world.roundTrips} round trips (counted: its client sends BEGIN with the first statement, and what core issues together goes out pipelined: the actor's read with the demand's lock, and the response, the demand's update and the journal); respond.pgbench has the same ${script.length} statements, one round trip each`
    )
  } else {
    details.push(
      `MISMATCH: respond.pgbench differs from the adapter at statement ${difference.index + 1} of ${trips}: adapter \`${difference.adapter.slice(0, 300)}\`, script \`${difference.script.slice(0, 300)}\``
    )
  }

  const profileDir = profile ? mkdtempSync(join(tmpdir(), "zb-p2-prof-")) : undefined
  const serverApplication = `zb_p2_${process.pid}`
  const serverUrl = new URL(databaseUrl)
  serverUrl.searchParams.set("application_name", serverApplication)
  const server = await startServer({
    schema,
    env: {
      DATABASE_URL: serverUrl.href,
      WORKERS: "false",
      RATE_LIMITS_JSON: JSON.stringify(RATE_LIMITS),
      RATE_LIMIT_STORE: P2_RATE_LIMIT_STORE,
      DATABASE_POOL_SIZE: String(c),
      ...(profileDir === undefined
        ? {}
        : {
            NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${profilerPreload(profileDir)}`.trim()
          })
    }
  })
  let httpOk = 0
  let pgbenchOk = 0
  const rounds: Array<{ http: number; pgbench: number }> = []
  const httpCpu: Array<Cpu> = []
  const pgbenchCpu: Array<Cpu> = []
  const sampler = await connectionSampler()
  const pgbenchApplication = `pgbench_${schema}`
  let sampled: ReadonlyMap<string, ConnectionStates> | undefined
  const profileLines: Array<string> = []
  try {
    const tokens = Array.from({ length: RESPONDERS }, (_, i) => tokenFor(String(RESPONDER_ACCOUNTS + 1 + i)))
    let nextHttp = HTTP_POOL + 1
    const nextDemand = () => {
      if (nextHttp > HTTP_POOL + httpDemands) throw new Error("the HTTP pool of demands is spent")
      return nextHttp++
    }
    let nextPgbench = PGBENCH_POOL + 1
    let base = 1_000_000_000_000_000
    const runPgbench = (
      clients: number,
      each: number,
      perStatement = false,
      mode: "extended" | "prepared" = "extended",
      rate?: number
    ) => {
      const from = nextPgbench
      nextPgbench += clients * each
      base += 1_000_000_000_000
      return pgbench(schema, world, {
        clients,
        perClient: each,
        demandsFrom: from,
        base,
        perStatement,
        mode,
        ...(rate === undefined ? {} : { rate })
      })
    }
    const checkpoint = () => (sizes.checkpoint ? db.query("CHECKPOINT") : Promise.resolve([]))

    const warm = await httpRespond(server.url, warmupPerClient * c, c, nextDemand, tokens, true)
    httpOk += warm.ok
    if (warm.other > 0 || warm.errors > 0) {
      details.push(
        `warm-up: ${warm.statuses}, ${warm.errors} errors; first answers that were not 201: ${warm.samples.join(" | ")}`
      )
    }
    const warmBench = await runPgbench(c, warmupPerClient, false, "prepared")
    pgbenchOk += warmBench.processed

    const lines: Array<string> = []
    if (profileDir !== undefined) server.child.kill("SIGUSR2")
    for (let round = 1; round <= sizes.rounds; round++) {
      const httpSide = async () => {
        await checkpoint()
        return sampler.during(serverApplication, () =>
          measured(server.pid, () => httpRespond(server.url, perRound, c, nextDemand, tokens))
        )
      }
      const pgbenchSide = async () => {
        await checkpoint()
        return sampler.during(pgbenchApplication, () =>
          measured(server.pid, () => runPgbench(c, perClient, false, "prepared"))
        )
      }
      const { zb: http, bl: bench } = await inTurn(round, httpSide, pgbenchSide)
      httpOk += http.result.ok
      pgbenchOk += bench.result.processed
      httpCpu.push(http.cpu)
      pgbenchCpu.push(bench.cpu)
      const httpRate = (http.result.ok / http.result.elapsed) * 1000
      rounds.push({ http: httpRate, pgbench: bench.result.tps })
      lines.push(
        `round ${round}: HTTP ${int(httpRate)} responds/s (${http.result.statuses}${http.result.errors > 0 ? `, ${http.result.errors} errors` : ""}; latency p50 ${http.result.p50} ms, p99 ${http.result.p99} ms) · pgbench ${int(bench.result.tps)} tx/s (${int(bench.result.processed)} tx${bench.result.failed > 0 ? `, ${bench.result.failed} failed` : ""}, latency average ${ms(bench.result.latency)} ms) · ratio ${ms(httpRate / bench.result.tps)}`
      )
    }
    details.push(...lines)
    if (profileDir !== undefined) {
      profileLines.push(
        ...summariseProfile(await collectProfile(server, profileDir), {
          over: "over the HTTP rounds",
          unit: "respond",
          count: sizes.rounds * perRound
        })
      )
    }

    const httpRequests = rounds.length * perRound
    const cpuLine = (side: string, cpu: Cpu, client: number, clientName: string, n: number) => {
      const per = (x: number) => ms(x / n)
      const rest = Math.max(0, cpu.busy - cpu.server - client - cpu.postgres)
      return `${side}: ${side === "HTTP" ? `server node ${per(cpu.server)} (kernel ${per(cpu.serverSystem)}), ` : ""}${clientName} ${per(client)}, PostgreSQL ${per(cpu.postgres)} (every postgres process of the machine), rest of the machine ${per(rest)}; machine idle ${ms(cpu.idle * 100, 0)}%`
    }
    const httpTotal = sumCpu(httpCpu)
    const pgbenchTotal = sumCpu(pgbenchCpu)
    const perTx = (x: number) => x / Math.max(1, httpRequests)
    const database = perTx(pgbenchTotal.postgres)
    const benchSide = perTx(pgbenchTotal.children) + database
    const httpSide = perTx(httpTotal.server) + perTx(httpTotal.self) + database
    const ceilingLine = `were both sides bound by this machine's CPU, the CPU per respond alone (PostgreSQL's as measured on the pgbench side, for both) would cap the ratio at ${ms(benchSide / httpSide)}; for ${ms(P2_GOAL)} the server's node CPU per respond must fall to ${ms(Math.max(0, benchSide / P2_GOAL - perTx(httpTotal.self) - database))} ms from ${ms(perTx(httpTotal.server))}`
    details.push(
      `CPU ms per respond over the rounds (${cpus().length} cores, shared with other load): ${cpuLine("HTTP", httpTotal, httpTotal.self, "autocannon", httpRequests)} | ${cpuLine("pgbench", pgbenchTotal, pgbenchTotal.children, "pgbench", httpRequests)}`
    )

    details.push(ceilingLine)
    const medianRate = median(rounds.map((r) => r.http))
    await checkpoint()
    const extended = await measured(server.pid, () => runPgbench(c, perClient, false, "extended"))
    pgbenchOk += extended.result.processed
    details.push(
      `for scale, one run of pgbench -M extended after the rounds (each statement sent unnamed, parsed and planned at every execution, as a plain pg client sends it; one run after the rounds, not interleaved): ${int(extended.result.tps)} tx/s, PostgreSQL ${ms(extended.cpu.postgres / Math.max(1, extended.result.processed))} ms and pgbench ${ms(extended.cpu.children / Math.max(1, extended.result.processed))} ms of CPU per respond; the HTTP rounds' median rate is ${ms(medianRate / extended.result.tps)} of it`
    )
    await checkpoint()
    const paced = await measured(server.pid, () =>
      runPgbench(c, perClient, false, "prepared", Math.max(1, Math.round(medianRate)))
    )
    pgbenchOk += paced.result.processed
    details.push(
      `for scale, one run of pgbench -M prepared held to the HTTP rounds' median rate (-R ${int(medianRate)}; one run after the rounds, not interleaved): ${int(paced.result.tps)} tx/s, PostgreSQL ${ms(paced.cpu.postgres / Math.max(1, paced.result.processed))} ms of CPU per respond (every postgres process of the machine), against the HTTP rounds' ${ms(perTx(httpTotal.postgres))}: what PostgreSQL spends on the same statements at the same rate (a transaction costs it more when fewer run at once)`
    )
    sampled = await sampler.stop()
    if (sampled === undefined) {
      details.push("where the connections were: pg_stat_activity could not be sampled")
    } else {
      const states = sampled
      const backendsPerRespond = (application: string) =>
        ms(backendsCpu(states.get(application) ?? emptyStates()) / Math.max(1, httpRequests))
      details.push(
        `where the connections were over the rounds (pg_stat_activity every 50 ms; a backend shows its state when it has a CPU to set it, so on this busy machine a wait for a CPU counts as "active" during a statement and as the client's turn between them): the server's ${c}: ${describeStates(states.get(serverApplication))} | pgbench's ${c}: ${describeStates(states.get(pgbenchApplication))}`,
        `CPU ms per respond of the sides' own backends (read from /proc at each sample above, so a backend's first and last 50 ms or so are left out: pgbench connects anew each round), beside every postgres process of the machine above: the server's ${backendsPerRespond(serverApplication)}, pgbench's ${backendsPerRespond(pgbenchApplication)}`
      )
    }
    const plumbing = async (path: string) => {
      const count = perRound
      const run = await measured(server.pid, () => httpGet(server.url, path, count, c))
      return `GET ${path} ${ms(run.cpu.server / Math.max(1, run.result))} ms (kernel ${ms(run.cpu.serverSystem / Math.max(1, run.result))})${run.result === count ? "" : ` [${count - run.result} not 200]`}`
    }
    details.push(
      `server node CPU per request at ${c} connections, for scale: ${await plumbing("/health")} (node:http alone, before the API), ${await plumbing("/settings")} (Mount's node listener, the API and its middleware, no database), respond ${ms(httpTotal.server / httpRequests)} ms (kernel ${ms(httpTotal.serverSystem / httpRequests)})`
    )
    details.push(
      `server main thread over the HTTP rounds (/proc/<pid>/schedstat and status): per respond it ran ${ms(httpTotal.serverRan / httpRequests)} ms (of the process's ${ms(httpTotal.server / httpRequests)} ms of CPU) and waited ${ms(httpTotal.serverWaited / httpRequests)} ms for a CPU while runnable, preempted ${(httpTotal.serverPreempted / httpRequests).toFixed(2)} times (its one JavaScript thread shares the 2 cores with the PostgreSQL backends its statements wake, autocannon and the rest): it can serve at most ${int(1000 / (httpTotal.serverRan / httpRequests))} responds/s never kept waiting, ${int(1000 / ((httpTotal.serverRan + httpTotal.serverWaited) / httpRequests))} with these waits`
    )

    const single = await measured(server.pid, () =>
      httpRespond(server.url, sizes.single, 1, nextDemand, tokens)
    )
    httpOk += single.result.ok
    const alone = await runPgbench(1, sizes.single, true, "prepared")
    pgbenchOk += alone.processed
    const httpMs = single.result.elapsed / Math.max(1, single.result.ok)
    const statementsMs = alone.statements.reduce((a, b) => a + b, 0)
    details.push(
      `one connection, ${sizes.single} responds: HTTP ${ms(httpMs)} ms per respond (server node CPU ${ms(single.cpu.server / Math.max(1, single.result.ok))} ms) vs pgbench -M prepared ${ms(alone.latency)} ms (${alone.statements.length} statements, their round trips ${ms(statementsMs)} ms, ${ms(statementsMs / Math.max(1, alone.statements.length), 3)} ms each): the server adds ${ms(httpMs - alone.latency)} ms per respond`
    )
  } finally {
    await sampler.stop()
    await server.stop()
    if (profileDir !== undefined) dropProfile(profileDir)
  }
  details.push(...profileLines)

  const httpWritten = describeWritten(
    "HTTP",
    httpOk,
    await written(db, HTTP_POOL, httpDemands, "^h-", world.templateVersion)
  )
  const pgbenchWritten = describeWritten(
    "pgbench",
    pgbenchOk,
    await written(db, PGBENCH_POOL, pgbenchDemands, "^[0-9]+$", world.templateVersion)
  )
  details.push(httpWritten.line, pgbenchWritten.line)
  details.push(
    `server: example server from dist, WORKERS=false, DATABASE_POOL_SIZE=${c}, RATE_LIMITS_JSON raised, RATE_LIMIT_STORE=${P2_RATE_LIMIT_STORE}, signed sessions; autocannon ${c} connections, no pipelining; pgbench -c ${c} -j 2 -M prepared -t ${perClient}; ${sizes.rounds} rounds of ${int(perRound)} responds each side, HTTP first in odd rounds and pgbench in even ones${sizes.checkpoint ? ", CHECKPOINT before each" : ""}; the ratio is against pgbench -M prepared (each statement parsed once per connection, as the server's named statements are: adapter-pg's preparedStatements), whose script waits for each statement's answer where the server sends a unit of work's statements in fewer round trips (see the -r line above)`
  )

  const ratio = median(rounds.map((r) => r.http / r.pgbench))
  const valid = difference === undefined && httpWritten.holds && pgbenchWritten.holds
  return {
    id: "P2",
    name: `respond over HTTP vs pgbench -M prepared, same statements, same concurrency (rate limits counted ${P2_RATE_LIMIT_STORE === "memory" ? "in memory" : "in PostgreSQL"})`,
    measured: `${ms(ratio)} (${int(median(rounds.map((r) => r.http)))} responds/s vs ${int(median(rounds.map((r) => r.pgbench)))} pgbench tx/s, c=${c}; rounds ${ratioRange(rounds.map((r) => r.http / r.pgbench))})`,
    goal: `≥ ${ms(P2_GOAL)}`,
    met: valid ? ratio >= P2_GOAL : undefined,
    details,
    invariants: [
      {
        name: "respond.pgbench runs the statements the adapter sends",
        holds: difference === undefined,
        detail: difference === undefined ? "the same" : `they differ at statement ${difference.index + 1}`
      },
      {
        name: "every respond answered over HTTP wrote its demand's update, response, audit event, notice and idempotency record",
        holds: httpWritten.holds,
        detail: httpWritten.line
      },
      {
        name: "respond.pgbench writes what a respond writes (its notice keyed as core keys it included)",
        holds: pgbenchWritten.holds,
        detail: pgbenchWritten.line
      }
    ]
  }
}

// ---------------------------------------------------------------------------------
// P4

/** What the fake provider saw. */
interface Deliveries {
  readonly byOutId: Map<string, { count: number; bizId: string }>
  first: number
  last: number
  refused: number
}

/** What one drain measured and saw. */
interface Drain {
  readonly rate: number
  readonly lost: number
  readonly duplicates: number
  readonly dead: number
  readonly strangers: number
  readonly details: ReadonlyArray<string>
}

/**
 * One drain: `n` pending messages copied from `p4_template` (the outbox empty
 * otherwise), a fresh fake and a fresh server instance, timed from the first
 * delivery to the last `sent_at`, then checked by SQL and the fake's log.
 */
const drainOnce = async (
  schema: string,
  db: Db,
  n: number,
  sizes: Sizes,
  profile: boolean,
  label: string
): Promise<Drain> => {
  const details: Array<string> = []
  await db.query("DELETE FROM outbox_message")
  await db.query(
    `INSERT INTO outbox_message (id, event, dedupe_key, recipient_phone, template_id, params, created_at,
       status, attempts, unknown_outcomes, next_attempt_at)
     SELECT gen_random_uuid()::text, t.event, t.event || ':bench-' || i || ':+86137' || lpad(i::text, 8, '0'),
       '+86137' || lpad(i::text, 8, '0'), t.template_id, t.params, now() - interval '1 minute',
       'pending', 0, 0, now() - interval '1 minute'
     FROM generate_series(1, $1::int) AS i
     JOIN p4_template t ON t.k = i % (SELECT count(*) FROM p4_template)::int`,
    [n]
  )
  await db.query("ANALYZE outbox_message")

  const deliveries: Deliveries = { byOutId: new Map(), first: 0, last: 0, refused: 0 }
  const profileDir = profile ? mkdtempSync(join(tmpdir(), "zb-p4-prof-")) : undefined
  const aliyun = FakeAliyun.aliyun()
  const scope = Effect.runSync(Scope.make())
  let server: ServerProcess | undefined
  try {
    const fake = await Effect.runPromise(
      Scope.extend(
        FakeProvider.start((request, scripted) => {
          const handled = aliyun(request, scripted)
          if (!handled.verified) {
            deliveries.refused++
            return handled
          }
          const now = Date.now()
          if (deliveries.first === 0) deliveries.first = now
          deliveries.last = now
          const outId = FakeAliyun.paramsOf(request).OutId ?? ""
          const reply = handled.reply
          const bizId = reply._tag === "Json" ? String((reply.body as { BizId?: unknown }).BizId ?? "") : ""
          const seen = deliveries.byOutId.get(outId)
          if (seen === undefined) deliveries.byOutId.set(outId, { count: 1, bizId })
          else seen.count++
          return handled
        }),
        scope
      )
    )
    const started = await measured(undefined, async () => {
      server = await startServer({
        schema,
        env: {
          WORKERS: "true",
          SMS_PROVIDER: "aliyun",
          ALIYUN_SMS_ACCESS_KEY_ID: FakeAliyun.keyId,
          ALIYUN_SMS_ACCESS_KEY_SECRET: FakeAliyun.secret,
          ALIYUN_SMS_SIGN_NAME: "科研众包",
          ALIYUN_SMS_ENDPOINT: fake.url,
          SETTINGS_JSON: JSON.stringify({ outbox: OUTBOX }),
          DATABASE_POOL_SIZE: String(P4_POOL),
          ...(profileDir === undefined
            ? {}
            : {
                NODE_OPTIONS:
                  `${process.env.NODE_OPTIONS ?? ""} --import=${profilerPreload(profileDir)}`.trim()
              })
        }
      })
      return server
    })
    const instance = started.result
    if (profileDir !== undefined) instance.child.kill("SIGUSR2")
    const drain = await measured(instance.pid, async () => {
      const deadline = Date.now() + sizes.drainTimeout
      for (;;) {
        const [left] = await db.query<{ pending: number }>(
          "SELECT count(*)::int AS pending FROM outbox_message WHERE status = 'pending'"
        )
        if (left!.pending === 0 || Date.now() > deadline) return Date.now()
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })
    if (profileDir !== undefined) {
      const summary = summariseProfile(await collectProfile(instance, profileDir), {
        over: `while draining (${label})`,
        unit: "message",
        count: n
      })
      details.push(...summary)
    }
    await instance.stop()
    const [state] = await db.query<Record<string, number>>(
      `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent,
         count(*) FILTER (WHERE status = 'pending')::int AS pending,
         count(*) FILTER (WHERE status = 'dead')::int AS dead,
         count(*) FILTER (WHERE attempts <> 1)::int AS retried,
         count(*) FILTER (WHERE unknown_outcomes > 0)::int AS unknown,
         (extract(epoch from max(sent_at)) * 1000)::float8 AS last_sent
       FROM outbox_message`
    )
    const ids = [...deliveries.byOutId.keys()]
    const [matched] = await db.query<{ matched: number; strangers: number }>(
      `SELECT count(o.id) FILTER (WHERE o.status = 'sent' AND o.provider_message_id = f.biz)::int AS matched,
         count(*) FILTER (WHERE o.id IS NULL)::int AS strangers
       FROM unnest($1::text[], $2::text[]) AS f (id, biz) LEFT JOIN outbox_message o ON o.id = f.id`,
      [ids, ids.map((id) => deliveries.byOutId.get(id)!.bizId)]
    )
    const counts = [...deliveries.byOutId.values()]
    const duplicates = counts.reduce((acc, d) => acc + d.count - 1, 0)
    const deliveredOnce = counts.filter((d) => d.count === 1).length
    const lost = n - matched!.matched
    const drained = deliveries.first > 0 && state!.sent === n
    const seconds = drained ? (state!.last_sent! - deliveries.first) / 1000 : Number.NaN
    const rate = drained ? n / seconds : 0
    const requests = counts.reduce((acc, d) => acc + d.count, 0)
    const perMessage = (drain.cpu.server + drain.cpu.self + drain.cpu.postgres) / n
    details.push(
      `${label}: ${int(rate)} messages/s, drained ${int(state!.sent!)} of ${int(n)} in ${ms(seconds)} s from the first delivery to the last sent_at (the instance was ready ${ms(started.cpu.wall / 1000, 1)} s after spawn; polling every 50 ms saw no message pending ${ms((drain.result - deliveries.first) / 1000)} s after the first delivery)`,
      `${label}: fake Aliyun: ${int(requests + deliveries.refused)} requests, ${int(requests)} with a valid ACS3 signature, ${deliveries.refused} refused; ${int(deliveries.byOutId.size)} distinct OutIds, ${int(deliveredOnce)} delivered exactly once, ${duplicates} duplicate deliveries, ${matched!.strangers} OutIds not in the outbox; SQL: ${int(state!.sent!)} sent (${int(matched!.matched)} with the fake's BizId), ${state!.pending} pending, ${state!.dead} dead, ${state!.retried} with more than one attempt, ${state!.unknown} with an unknown outcome`,
      `${label}: CPU ms per message while draining: server node ${ms(drain.cpu.server / n, 3)} (kernel ${ms(drain.cpu.serverSystem / n, 3)}; its main thread also waited ${ms(drain.cpu.serverWaited / n, 3)} for a CPU while runnable), this process (the fake) ${ms(drain.cpu.self / n, 3)}, PostgreSQL ${ms(drain.cpu.postgres / n, 3)} (every postgres process of the machine); machine idle ${ms(drain.cpu.idle * 100, 0)}%; at ${ms(perMessage)} ms of CPU per message the ${cpus().length} cores drain at most ${int((cpus().length * 1000) / perMessage)} messages/s (${int(P4_GOAL)}/s needs ≤ ${ms((cpus().length * 1000) / P4_GOAL)} ms)`
    )
    return { rate, lost, duplicates, dead: state!.dead!, strangers: matched!.strangers, details }
  } finally {
    await server?.stop()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    if (profileDir !== undefined) dropProfile(profileDir)
  }
}

/**
 * P4: `sizes.drains` drains of `sizes.messages` messages each (a fresh fake and a
 * fresh server instance each time); the figure is the median drain's rate, every
 * invariant checked over every drain. The server's CPU profile (`profile`) is taken
 * over the first drain.
 */
const p4 = async (schema: string, db: Db, world: World, sizes: Sizes, profile: boolean): Promise<Figure> => {
  const n = sizes.messages
  await db.query(
    `CREATE TABLE p4_template AS
       SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, event, template_id, params
       FROM outbox_message WHERE id = ANY($1::text[])`,
    [world.templateMessages]
  )
  const events = await db.query<{ event: string; count: number }>(
    `SELECT t.event, count(*)::int AS count
     FROM generate_series(1, $1::int) AS i JOIN p4_template t ON t.k = i % (SELECT count(*) FROM p4_template)::int
     GROUP BY t.event ORDER BY t.event`,
    [n]
  )
  const details: Array<string> = [
    `${sizes.drains} drain(s) of ${int(n)} pending messages each, copied in SQL from the ${world.templateMessages.length} core wrote (${events.map((e) => `${e.event} ${int(e.count)}`).join(", ")}), each with a fresh id, dedupe key and phone number; a fresh fake and a fresh server instance per drain; the figure is the median drain's rate`
  ]
  const drains: Array<Drain> = []
  for (let k = 1; k <= sizes.drains; k++) {
    const drain = await drainOnce(schema, db, n, sizes, profile && k === 1, `drain ${k}`)
    drains.push(drain)
    details.push(...drain.details)
  }
  details.push(
    `server: WORKERS=true, SMS_PROVIDER=aliyun at the fake (keys FakeAliyun.keyId/secret), SETTINGS_JSON {"outbox":${JSON.stringify(OUTBOX)}} (other outbox settings default), DATABASE_POOL_SIZE=${P4_POOL}; the sender's per-number throttle at its defaults (SMS_THROTTLE_* unset: 1 per 35 s, 4 per hour, 9 per day), every message to its own number`
  )
  const total = (key: "lost" | "duplicates" | "dead" | "strangers") =>
    drains.reduce((acc, d) => acc + d[key], 0)
  const all = int(n * drains.length)
  const invariants: ReadonlyArray<Invariant> = [
    {
      name: "no message lost",
      holds: total("lost") === 0,
      detail: `${int(total("lost"))} of ${all} not delivered once and recorded sent with the fake's BizId`
    },
    {
      name: "no message delivered twice",
      holds: total("duplicates") === 0,
      detail: `${int(total("duplicates"))} duplicate deliveries`
    },
    { name: "no message dead", holds: total("dead") === 0, detail: `${int(total("dead"))} dead` },
    {
      name: "nothing delivered that is not in the outbox",
      holds: total("strangers") === 0,
      detail: `${int(total("strangers"))} deliveries of unknown OutIds`
    }
  ]
  const rate = median(drains.map((d) => d.rate))
  return {
    id: "P4",
    name: "outbox → fake SMS provider over HTTP",
    measured: `${int(rate)} messages/s (median of ${drains.length} drain(s) of ${int(n)}: ${drains.map((d) => int(d.rate)).join(", ")}), ${int(total("lost"))} lost, ${int(total("duplicates"))} duplicates`,
    goal: `≥ ${int(P4_GOAL)} messages/s, 0 lost, 0 duplicates`,
    met: rate >= P4_GOAL && invariants.every((i) => i.holds),
    invariants,
    details
  }
}

// ---------------------------------------------------------------------------------

const failed = (id: string, name: string, goal: string, error: unknown): Figure => ({
  id,
  name,
  measured: "failed",
  goal,
  met: undefined,
  invariants: [{ name: "the run completed", holds: false, detail: "see the details" }],
  details: [`${id} failed: ${error instanceof Error ? error.message.slice(0, 2000) : String(error)}`]
})

/**
 * P2 and P4 in a schema of their own, dropped at the end. `profile` adds the server's
 * CPU profile to P2's details; `only` runs one figure.
 */
export const run = async (options: {
  readonly short: boolean
  readonly profile?: boolean
  readonly only?: "P2" | "P4" | undefined
}): Promise<ReadonlyArray<Figure>> => {
  const sizes = options.short ? SHORT : FULL
  const schema = freshSchema("zb_writes")
  const figures: Array<Figure> = []
  let db: Db | undefined
  try {
    db = await connect(schema)
    const world = await setup(schema, db)
    if (options.only === undefined || options.only === "P2") {
      figures.push(
        await p2(schema, db, world, sizes, options.profile === true).catch((error) =>
          failed("P2", "respond over HTTP vs pgbench", `≥ ${ms(P2_GOAL)}`, error)
        )
      )
    }
    if (options.only === undefined || options.only === "P4") {
      figures.push(
        await p4(schema, db, world, sizes, options.profile === true).catch((error) =>
          failed(
            "P4",
            "outbox → fake SMS provider over HTTP",
            `≥ ${int(P4_GOAL)} messages/s, 0 lost, 0 duplicates`,
            error
          )
        )
      )
    }
  } finally {
    await db?.end()
    await dropSchema(schema)
  }
  return figures
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href

if (invokedDirectly) {
  const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length)
  const started = performance.now()
  const figures = await run({
    short: process.argv.includes("--short"),
    profile: process.argv.includes("--profile"),
    only: only === "P2" || only === "P4" ? only : undefined
  })
  console.log(figuresTable(figures))
  console.log("")
  for (const f of figures) for (const line of f.details ?? []) console.log(`- ${f.id}: ${line}`)
  console.log(`\ntotal ${ms((performance.now() - started) / 1000, 1)} s`)
  if (figures.some((f) => f.met === undefined || f.invariants?.some((i) => !i.holds))) process.exitCode = 1
}
