/**
 * Reliability scenarios F1 and F2: races over HTTP against the example server (one or
 * two instances on one schema), checked afterwards by SQL over the whole schema.
 *
 * **F1 — respond vs adopt (R20, R24, R26).** 1,000 trials (50 short), 10 at a time.
 * Each trial takes a published cooperative demand that already has one response (all
 * written in-process through core's use cases over `PgPersistence.layer` on the same
 * schema) and fires at the same instant, each after 0–2 ms of random jitter, the
 * demand's side's `POST /responses/:id/adopt` and `POST /demands/:id/responses` by
 * three other responders; with two instances the requests alternate between them.
 *
 * Commit order. `track_commit_timestamp` is off on the machine (and changing it
 * needs a restart), and the ids and instants the packages write (UUIDv7 audit ids,
 * `submitted_at`, `at`) are taken inside the transaction before it commits, so they
 * order the transactions only if the locking under test works. The order used here
 * is the database's own: the position of each transaction's COMMIT record in the
 * write-ahead log, read with `pg_walinspect` (contrib, PostgreSQL ≥ 15; created in
 * the run's schema, so dropped with it, unless the database has it already). A
 * transaction's rows are found by their `xmin`; every row is also told apart as
 * written before the trials (its `xmin` seen when the servers were ready) or during
 * them. Under correct row locking a response that wins the demand's lock commits,
 * and writes its commit record, before the adoption can take the lock; if the lock
 * were missing, a response that read the demand before the adoption committed could
 * commit after it, and its commit record would follow the adoption's. Checked:
 *
 * - no response row of a trial's demand was committed after the adoption's audit
 *   event (`response.adopted`, same transaction) — a response whose commit record is
 *   not found counts as a failure too;
 * - each 201 respond wrote exactly its rows in one transaction: its response, one
 *   `response.submitted` audit event with its member rows, one `response_received`
 *   outbox message to the demand's creator, keyed by demand, round and member (R60, R64), at most the demand row, and
 *   nothing in any other table;
 * - each adoption answered 200 and wrote exactly its rows (the response adopted, the
 *   demand, one `response.adopted` event with its member rows and, where it closed
 *   intake, the demand's `intake.closed`, one `response_adopted` message to the
 *   responder: R25, R26, R60);
 * - each refused respond answered 409 with R24's `respond.intake_closed` and wrote
 *   nothing: no row of the schema was written by a transaction other than the
 *   answered responds and adoptions, and the refused responder has no response or
 *   audit event on the demand; no answer was 5xx or lost;
 * - every demand's `response_count`, `adopted_count` and intake closing match its rows;
 * - the race was run: some trials had responds accepted and refused both (trials that
 *   ran one after another would pass the checks above without testing anything).
 *
 * **F2 — concurrent approvals (R12).** 500 demands (100 short) pending review, then
 * every `POST /review/demands/:id/approve` by the operator fired at once (alternating
 * between the instances). Checked: every approve answered 200; the numbers are
 * `ZB<year>0001 … ZB<year>0500` (prefix, width and time zone from core's settings
 * defaults, the year of each approval in that zone): no gap, no duplicate, none
 * missing; each answer carries the stored number and the year's counter ends at 500.
 *
 * Servers run with `WORKERS=false` (nothing else writes) and rate limits raised out of
 * reach. Every run uses a fresh schema, dropped at the end with the extension if it
 * was created there. Run directly, F1 and F2 run on one instance and then on two and
 * the table is printed; `--short` runs the short sizes. The exit code is 1 when an
 * invariant does not hold; timings are printed, never asserted.
 */
import { resolve } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import { type Ids, Membership, Publishing, Responding, Review, Settings, Zhongbao } from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import {
  type Invariant,
  int,
  machine,
  quantile,
  type Scenario,
  scenariosTable
} from "../bench/support/report.js"
import {
  call,
  databaseUrl,
  dropSchema,
  freshSchema,
  query,
  type ServerProcess,
  startServer,
  tokenFor
} from "../bench/support/server.js"

/** How a scenario is run. */
export interface RaceOptions {
  /** The short sizes (CI): 50 trials, 100 approvals. */
  readonly short: boolean
  /** Server instances on the one schema; requests alternate between them. */
  readonly instances: 1 | 2
}

const F1_TRIALS = 1_000
const F1_SHORT_TRIALS = 50
/** Responders racing the adoption in each trial. */
const F1_RESPONDERS = 3
/** Trials in flight at once. */
const F1_CONCURRENCY = 10
/** Each request starts 0 … this many milliseconds after its trial's instant. */
const JITTER_MS = 2
const F2_APPROVALS = 500
const F2_SHORT_APPROVALS = 100
const SETUP_CONCURRENCY = 8

const unlimited = { limit: 1_000_000_000, windowMillis: 3_600_000 }
const serverEnv = {
  WORKERS: "false",
  RATE_LIMITS_JSON: JSON.stringify({
    responding: unlimited,
    consulting: unlimited,
    sms: unlimited,
    writes: unlimited
  })
}
const proposal = { title: "应答方案", content: "团队具备中试条件，可在六个月内给出样品。" }

const range = (n: number) => Array.from({ length: n }, (_, i) => i)
const q = (schema: string, table: string) => `"${schema}"."${table}"`
const seconds = (millis: number) => `${(millis / 1000).toFixed(1)} s`
/** Median, p99 and maximum of the answers' latencies. */
const latencies = (answers: ReadonlyArray<Answer>) => {
  const sorted = answers.map((a) => a.millis).sort((a, b) => a - b)
  const ms = (x: number) => `${Math.round(x)} ms`
  return `latency median ${ms(quantile(sorted, 0.5))}, p99 ${ms(quantile(sorted, 0.99))}, max ${ms(sorted.at(-1) ?? Number.NaN)}`
}

// ---------------------------------------------------------------------------------
// Setup and servers

const makeRuntime = (schema: string) =>
  ManagedRuntime.make(
    Zhongbao.layer.pipe(
      Layer.provideMerge(Layer.merge(PgPersistence.layer({ schema }), Settings.layerDefault)),
      Layer.provideMerge(
        PgDatabase.layerPool({ url: Redacted.make(databaseUrl), maxConnections: SETUP_CONCURRENCY })
      )
    )
  )

interface Party {
  readonly member: Ids.MemberId
  readonly account: Ids.AccountId
}

/** An operator, an enterprise that publishes, and `responders` research institutes. */
const platform = (responders: number) =>
  Effect.gen(function* () {
    const membership = yield* Membership.Membership
    const operator = yield* Membership.bootstrapOperator({ name: "平台运营", phone: Fixtures.nextPhone() })
    const party = (kind: "enterprise" | "research_institute", name: string) =>
      Effect.gen(function* () {
        const member = yield* membership.createMember(operator.id, { kind, name, region: "天津市" })
        const account = yield* membership.createAccount(operator.id, {
          memberId: member.id,
          name: `${name}联系人`,
          phone: Fixtures.nextPhone()
        })
        return { member: member.id, account: account.id } satisfies Party
      })
    const publisher = yield* party("enterprise", "津沽新材料科技有限公司")
    const others = yield* Effect.forEach(range(responders), (k) =>
      party("research_institute", `天津材料研究所${k + 1}`)
    )
    return { operator: operator.id, publisher, responders: others }
  })

/** `count` demands of `publisher` drafted and submitted; published too, with a response, when `respondent` is given. */
const demands = (publisher: Party, operator: Ids.AccountId, count: number, respondent?: Party) =>
  Effect.gen(function* () {
    const publishing = yield* Publishing.Publishing
    const review = yield* Review.Review
    const responding = yield* Responding.Responding
    const form = yield* Fixtures.form({}, 30)
    return yield* Effect.forEach(
      range(count),
      (i) =>
        Effect.gen(function* () {
          const draft = yield* publishing.draft(publisher.account, {
            ...form,
            title: `${form.title} ${i + 1}`
          })
          yield* publishing.submit(publisher.account, { demandId: draft.id })
          if (respondent === undefined) return { demandId: draft.id as string, existingId: "" }
          yield* review.approve(operator, { demandId: draft.id })
          const existing = yield* responding.respond(respondent.account, {
            demandId: draft.id,
            proposal
          })
          return { demandId: draft.id as string, existingId: existing.id as string }
        }),
      { concurrency: SETUP_CONCURRENCY }
    )
  })

/** Starts `count` instances on `schema` at once; stops those that started if one fails. */
const startAll = async (schema: string, count: number): Promise<ReadonlyArray<ServerProcess>> => {
  const started = await Promise.allSettled(range(count).map(() => startServer({ schema, env: serverEnv })))
  const servers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []))
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected")
  if (failed !== undefined) {
    await Promise.all(servers.map((s) => s.stop()))
    throw failed.reason
  }
  return servers
}

/** Everything a scenario holds that must be released: servers, the setup runtime, the schema. */
const withSchema = async <A>(
  prefix: string,
  body: (schema: string, runtime: ReturnType<typeof makeRuntime>, servers: Array<ServerProcess>) => Promise<A>
): Promise<A> => {
  const schema = freshSchema(prefix)
  const servers: Array<ServerProcess> = []
  const runtime = makeRuntime(schema)
  try {
    return await body(schema, runtime, servers)
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()))
    await runtime.dispose().catch(() => undefined)
    await dropSchema(schema)
  }
}

/** An answer: its status, and the error code or the created id of its body. */
interface Answer {
  readonly status: number
  readonly code: string | null
  readonly id: string | null
  readonly number: string | null
  /** From the request's start to its answer. */
  readonly millis: number
  /** When it was sent (`performance.now()`). */
  readonly startedAt: number
}

/** Whether two requests were in flight at the same moment. */
const overlapped = (x: Answer, y: Answer) =>
  x.startedAt < y.startedAt + y.millis && y.startedAt < x.startedAt + x.millis

/** One request after `jitter` ms; a transport failure answers status 0. */
const fire = async (
  server: ServerProcess,
  token: string,
  path: string,
  body: unknown,
  jitter: number
): Promise<Answer> => {
  if (jitter > 0) await sleep(jitter)
  const started = performance.now()
  try {
    const res = await call<Record<string, unknown> | undefined>(server.url, token, "POST", path, body)
    const b = res.body ?? {}
    const text = (k: string) => (typeof b[k] === "string" ? (b[k] as string) : null)
    const millis = performance.now() - started
    return {
      status: res.status,
      code: text("code"),
      id: text("id"),
      number: text("number"),
      millis,
      startedAt: started
    }
  } catch (error) {
    return {
      status: 0,
      code: String(error),
      id: null,
      number: null,
      millis: performance.now() - started,
      startedAt: started
    }
  }
}

// ---------------------------------------------------------------------------------
// Rows, transactions and commit order

/**
 * The tables of `schema` that hold the platform's data: every permanent table. The
 * `UNLOGGED` `rate_limit_window` (adapter-pg's `PgRateLimit`) is not among them: a
 * limited command counts there before its transaction, whatever its answer.
 */
const tables = async (schema: string) =>
  (
    await query<{ table_name: string }>(
      `SELECT c.relname AS table_name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relpersistence = 'p' ORDER BY c.relname`,
      [schema]
    )
  ).map((r) => r.table_name)

/** Every `xmin` in the schema now: the transactions that wrote before the trials. */
const writtenBefore = async (schema: string): Promise<ReadonlySet<string>> => {
  const names = await tables(schema)
  const rows = await query<{ xid: string }>(
    names.map((t) => `SELECT DISTINCT xmin::text AS xid FROM ${q(schema, t)}`).join(" UNION ")
  )
  return new Set(rows.map((r) => r.xid))
}

/** A row written after `before`: its table, the writing transaction and its columns. */
interface Written {
  readonly table: string
  readonly xid: string
  readonly row: Record<string, unknown>
}

/** Every row of the schema whose `xmin` is not in `before`, over every table. */
const writtenSince = async (schema: string, before: ReadonlySet<string>): Promise<ReadonlyArray<Written>> => {
  const out: Array<Written> = []
  for (const table of await tables(schema)) {
    const rows = await query<{ xid: string; row: Record<string, unknown> }>(
      `SELECT xmin::text AS xid,
         to_jsonb(r) - ARRAY['search_text', 'search_grams', 'bytes', 'main_problem', 'key_technology', 'expected_goal'] AS row
       FROM ${q(schema, table)} r WHERE NOT (xmin::text = ANY ($1::text[]))`,
      [[...before]]
    )
    for (const r of rows) out.push({ table, xid: r.xid, row: r.row })
  }
  return out
}

/** The schema `pg_walinspect` is in, created in `schema` when the database has none. */
const walinspect = async (schema: string): Promise<string> => {
  const find = () =>
    query<{ nspname: string }>(
      `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
       WHERE e.extname = 'pg_walinspect'`
    )
  const found = await find()
  if (found[0] !== undefined) return found[0].nspname
  await query(`CREATE EXTENSION IF NOT EXISTS pg_walinspect WITH SCHEMA "${schema}"`).catch(() => undefined)
  const made = await find()
  if (made[0] === undefined)
    throw new Error("pg_walinspect is not available: F1 orders commits by the write-ahead log")
  return made[0].nspname
}

const currentLsn = async () =>
  (await query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn"))[0]!.lsn

/** An LSN (`16/B374D848`) as a number that orders like it. */
const lsnValue = (lsn: string) => {
  const [hi, lo] = lsn.split("/")
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`)
}

/**
 * The position of the COMMIT record of each of `xids` (top-level or subtransaction
 * ids), in the log from `from`; waits up to 5 s for records not yet flushed. Absent
 * from the answer: no commit record was found.
 */
const commitPositions = async (
  schema: string,
  from: string,
  xids: ReadonlyArray<string>
): Promise<ReadonlyMap<string, bigint>> => {
  const found = new Map<string, bigint>()
  for (let attempt = 0; attempt < 20 && found.size < xids.length; attempt++) {
    if (attempt > 0) await sleep(250)
    const ext = await walinspect(schema)
    const rows = await query<{ xid: string; lsn: string; description: string }>(
      `SELECT xid::text AS xid, start_lsn::text AS lsn, description
       FROM "${ext}".pg_get_wal_records_info_till_end_of_wal($1::pg_lsn)
       WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT'
         AND (xid::text = ANY ($2::text[]) OR description LIKE '%subxacts:%')`,
      [from, xids]
    )
    const wanted = new Set(xids)
    for (const r of rows) {
      const subs = /subxacts:((?: \d+)+)/.exec(r.description)?.[1]?.trim().split(" ") ?? []
      for (const xid of [r.xid, ...subs]) if (wanted.has(xid)) found.set(xid, lsnValue(r.lsn))
    }
  }
  return found
}

// ---------------------------------------------------------------------------------
// F1

interface TrialResult {
  readonly demandId: string
  readonly existingId: string
  readonly adopt: Answer
  /** One answer per responder (index into the responders racing). */
  readonly responds: ReadonlyArray<Answer>
}

/** Response rows of a trial, by demand: id, writing transaction. */
interface TrialCommits {
  /** `xid` of the adoption (its audit event), when there is one. */
  readonly adoption: string | null
  readonly responses: ReadonlyArray<{ readonly id: string; readonly xid: string }>
}

const countBy = <A>(xs: ReadonlyArray<A>, key: (a: A) => string) => {
  const m = new Map<string, number>()
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1)
  return m
}

/**
 * Whether one transaction's rows are exactly those expected: `expected` maps a table
 * to a check of the transaction's rows in it; tables not named must have none.
 */
const exactly = (
  rows: ReadonlyArray<Written>,
  expected: Readonly<Record<string, (rows: ReadonlyArray<Record<string, unknown>>) => boolean>>
) => {
  const byTable = new Map<string, Array<Record<string, unknown>>>()
  for (const w of rows) byTable.set(w.table, [...(byTable.get(w.table) ?? []), w.row])
  for (const table of byTable.keys()) if (!(table in expected)) return false
  return Object.entries(expected).every(([table, check]) => check(byTable.get(table) ?? []))
}

/**
 * F1: concurrent respond vs adopt over HTTP, `instances` servers on one schema.
 *
 * @param options the size (`short`: 50 trials, else 1,000) and the instances
 */
export const runF1 = (options: RaceOptions): Promise<Scenario> =>
  withSchema("zb_f1", async (schema, runtime, servers) => {
    const trials = options.short ? F1_SHORT_TRIALS : F1_TRIALS
    const setupStarted = Date.now()
    const world = await runtime.runPromise(
      Effect.gen(function* () {
        const p = yield* platform(1 + F1_RESPONDERS)
        const ds = yield* demands(p.publisher, p.operator, trials, p.responders[0])
        return { ...p, demands: ds }
      })
    )
    await runtime.dispose()
    servers.push(...(await startAll(schema, options.instances)))
    const before = await writtenBefore(schema)
    await walinspect(schema)
    const setupMillis = Date.now() - setupStarted

    const publisherToken = tokenFor(world.publisher.account)
    const racers = world.responders.slice(1)
    const racerTokens = racers.map((r) => tokenFor(r.account))
    const jitter = () => Math.floor(Math.random() * (JITTER_MS + 1))
    const results: Array<TrialResult> = []
    const commits = new Map<string, TrialCommits>()
    const positions = new Map<string, bigint>()

    const trial = async (k: number): Promise<TrialResult> => {
      const d = world.demands[k]!
      const server = (j: number) => servers[(k + j) % servers.length]!
      const [adopt, ...responds] = await Promise.all([
        fire(server(0), publisherToken, `/responses/${d.existingId}/adopt`, undefined, jitter()),
        ...racers.map((_, j) =>
          fire(server(1 + j), racerTokens[j]!, `/demands/${d.demandId}/responses`, { proposal }, jitter())
        )
      ])
      return { demandId: d.demandId, existingId: d.existingId, adopt: adopt!, responds }
    }

    const trialsStarted = Date.now()
    for (let first = 0; first < trials; first += F1_CONCURRENCY) {
      const batch = range(Math.min(F1_CONCURRENCY, trials - first)).map((i) => first + i)
      const from = await currentLsn()
      const answered = await Promise.all(batch.map(trial))
      results.push(...answered)
      const ids = answered.map((r) => r.demandId)
      const adoptions = await query<{ demand_id: string; xid: string }>(
        `SELECT demand_id, xmin::text AS xid FROM ${q(schema, "audit_event")}
         WHERE demand_id = ANY ($1::text[]) AND action = 'response.adopted'`,
        [ids]
      )
      const responses = await query<{ demand_id: string; id: string; xid: string }>(
        `SELECT demand_id, id, xmin::text AS xid FROM ${q(schema, "response")} WHERE demand_id = ANY ($1::text[])`,
        [ids]
      )
      for (const r of answered) {
        const adoption = adoptions.filter((a) => a.demand_id === r.demandId)
        commits.set(r.demandId, {
          adoption: adoption.length === 1 ? adoption[0]!.xid : null,
          responses: responses
            .filter((x) => x.demand_id === r.demandId && x.id !== r.existingId)
            .map((x) => ({ id: x.id, xid: x.xid }))
        })
      }
      const xids = [
        ...new Set(
          [...adoptions.map((a) => a.xid), ...responses.map((x) => x.xid)].filter((x) => !before.has(x))
        )
      ]
      for (const [xid, lsn] of await commitPositions(schema, from, xids)) positions.set(xid, lsn)
    }
    const trialsMillis = Date.now() - trialsStarted
    await Promise.all(servers.splice(0).map((s) => s.stop()))
    const checksStarted = Date.now()

    // Ordering: no response committed after its demand's adoption.
    let late = 0
    let undecided = 0
    let earlier = 0
    for (const r of results) {
      const c = commits.get(r.demandId)!
      const a = c.adoption === null ? undefined : positions.get(c.adoption)
      let lateHere = false
      let undecidedHere = false
      for (const x of c.responses) {
        const p = positions.get(x.xid)
        if (p === undefined || (c.adoption !== null && a === undefined)) undecidedHere = true
        else if (a !== undefined && p > a) lateHere = true
        else earlier++
      }
      if (lateHere) late++
      if (undecidedHere && !lateHere) undecided++
    }

    // Rows per transaction, over the whole schema.
    const written = await writtenSince(schema, before)
    const byXid = new Map<string, Array<Written>>()
    for (const w of written) byXid.set(w.xid, [...(byXid.get(w.xid) ?? []), w])
    const phones = new Map<string, string>(
      (await query<{ id: string; phone: string }>(`SELECT id, phone FROM ${q(schema, "account")}`)).map(
        (a) => [a.id, a.phone]
      )
    )
    const accounted = new Set<string>()
    /** The member rows of `events`: for each event, one per member, and no other. */
    const auditMembers = (
      rows: ReadonlyArray<Record<string, unknown>>,
      events: ReadonlyArray<Record<string, unknown>>
    ) =>
      events.length >= 1 &&
      rows.every((m) => events.some((e) => e.id === m.event_id)) &&
      events.every(
        (e) => rows.filter((m) => m.event_id === e.id).length === (e.members as ReadonlyArray<string>).length
      )

    let accepted = 0
    let acceptedWrong = 0
    let refused = 0
    let refusedWrote = 0
    let otherAnswers = 0
    let serverErrors = 0
    let adoptFailed = 0
    let adoptWrong = 0
    const otherCodes = new Map<string, number>()
    const demandRows = new Map(
      (
        await query<{
          id: string
          response_count: number
          adopted_count: number
          intake_closed: boolean
          responses: number
          adopted: number
        }>(
          `SELECT d.id, d.response_count, d.adopted_count, d.intake_closed_at IS NOT NULL AS intake_closed,
             (SELECT count(*)::int FROM ${q(schema, "response")} r WHERE r.demand_id = d.id AND r.round = d.round) AS responses,
             (SELECT count(*)::int FROM ${q(schema, "response")} r
               WHERE r.demand_id = d.id AND r.round = d.round AND r.status = 'adopted') AS adopted
           FROM ${q(schema, "demand")} d`
        )
      ).map((d) => [d.id, d])
    )
    const refusedTraces = await query<{ demand_id: string; account: string }>(
      `SELECT demand_id, responder_account_id AS account FROM ${q(schema, "response")}
       UNION ALL
       SELECT demand_id, actor_account_id FROM ${q(schema, "audit_event")} WHERE demand_id IS NOT NULL`
    )
    const traces = new Set(refusedTraces.map((t) => `${t.demand_id}:${t.account}`))
    let countersWrong = 0

    for (const r of results) {
      const c = commits.get(r.demandId)!
      for (const answer of [r.adopt, ...r.responds]) {
        if (answer.status === 0 || answer.status >= 500) serverErrors++
      }
      if (r.adopt.status !== 200 || c.adoption === null) adoptFailed++
      else {
        accounted.add(c.adoption)
        const respondentPhone = phones.get(world.responders[0]!.account)!
        const rows = byXid.get(c.adoption) ?? []
        const events = rows.filter((w) => w.table === "audit_event").map((w) => w.row)
        const ok = exactly(rows, {
          response: (xs) => xs.length === 1 && xs[0]!.id === r.existingId && xs[0]!.status === "adopted",
          demand: (xs) => xs.length === 1 && xs[0]!.id === r.demandId,
          // the response's event, and the demand's when the adoption closed intake (R60, R24)
          audit_event: (xs) =>
            xs.filter((x) => x.action === "response.adopted" && x.entity_id === r.existingId).length === 1 &&
            xs.every(
              (x) =>
                (x.action === "response.adopted" && x.entity_id === r.existingId) ||
                (x.action === "intake.closed" && x.entity_id === r.demandId)
            ) &&
            xs.length <= 2,
          audit_event_member: (xs) => auditMembers(xs, events),
          outbox_message: (xs) =>
            xs.length === 1 && xs[0]!.dedupe_key === `response_adopted:${r.existingId}:${respondentPhone}`
        })
        if (!ok) adoptWrong++
      }
      for (const [j, answer] of r.responds.entries()) {
        const racer = racers[j]!
        if (answer.status === 201 && answer.id !== null) {
          accepted++
          const row = c.responses.find((x) => x.id === answer.id)
          if (row === undefined) {
            acceptedWrong++
            continue
          }
          accounted.add(row.xid)
          const rows = byXid.get(row.xid) ?? []
          const events = rows.filter((w) => w.table === "audit_event").map((w) => w.row)
          const creatorPhone = phones.get(world.publisher.account)!
          const round = rows.find((w) => w.table === "response")?.row.round
          const ok = exactly(rows, {
            response: (xs) =>
              xs.length === 1 &&
              xs[0]!.id === answer.id &&
              xs[0]!.demand_id === r.demandId &&
              xs[0]!.responder_account_id === racer.account &&
              xs[0]!.status === "submitted",
            demand: (xs) => xs.length <= 1 && xs.every((x) => x.id === r.demandId),
            audit_event: (xs) =>
              xs.length === 1 &&
              xs[0]!.action === "response.submitted" &&
              xs[0]!.entity_id === answer.id &&
              xs[0]!.actor_account_id === racer.account,
            audit_event_member: (xs) => auditMembers(xs, events),
            outbox_message: (xs) =>
              xs.length === 1 &&
              xs[0]!.dedupe_key === `response_received:${r.demandId}/${round}/${racer.member}:${creatorPhone}`
          })
          if (!ok) acceptedWrong++
        } else if (answer.status === 409 && answer.code === "respond.intake_closed") {
          refused++
          if (traces.has(`${r.demandId}:${racer.account}`)) refusedWrote++
        } else {
          otherAnswers++
          const key = `${answer.status} ${answer.code ?? ""}`.trim()
          otherCodes.set(key, (otherCodes.get(key) ?? 0) + 1)
        }
      }
      const d = demandRows.get(r.demandId)
      const expectedResponses = 1 + r.responds.filter((a) => a.status === 201).length
      if (
        d === undefined ||
        d.response_count !== d.responses ||
        d.responses !== expectedResponses ||
        d.adopted_count !== d.adopted ||
        d.adopted !== (r.adopt.status === 200 ? 1 : 0) ||
        d.intake_closed !== (r.adopt.status === 200)
      )
        countersWrong++
    }
    const stray = written.filter((w) => !accounted.has(w.xid))
    const strayTables = [...countBy(stray, (w) => w.table)].map(([t, n]) => `${t} ${n}`).join(", ")
    const checksMillis = Date.now() - checksStarted
    const requests = results.length * (1 + F1_RESPONDERS)
    const mixed = results.filter(
      (r) => r.responds.some((a) => a.status === 201) && r.responds.some((a) => a.status === 409)
    ).length
    const inFlightTogether = results.filter((r) => r.responds.some((a) => overlapped(a, r.adopt))).length
    const allBefore = results.filter((r) => r.responds.every((a) => a.status === 201)).length
    const allAfter = results.filter((r) => r.responds.every((a) => a.status === 409)).length

    const invariants: ReadonlyArray<Invariant> = [
      {
        name: "no response committed after its demand's adoption (R24, R26)",
        holds: late === 0 && undecided === 0,
        detail: `${int(late)} of ${int(trials)} trials${undecided > 0 ? `, ${int(undecided)} undecided (commit record not found)` : ""}`
      },
      {
        name: "each 201 respond wrote exactly its response, audit event and outbox message (R60, R64)",
        holds: acceptedWrong === 0,
        detail: `${int(accepted)} accepted, ${int(acceptedWrong)} with missing or extra rows`
      },
      {
        name: "each refused respond (409 R24 respond.intake_closed) wrote nothing",
        holds: refusedWrote === 0 && stray.length === 0,
        detail: `${int(refused)} refused, ${int(refusedWrote)} left rows; ${int(stray.length)} rows by no answered transaction${strayTables === "" ? "" : ` (${strayTables})`}`
      },
      {
        name: "each adoption answered 200 and wrote exactly its rows (R25, R26)",
        holds: adoptFailed === 0 && adoptWrong === 0,
        detail: `${int(trials)} adoptions, ${int(adoptFailed)} failed, ${int(adoptWrong)} with missing or extra rows`
      },
      {
        name: "every answer 2xx or R24's 409; no 5xx, none lost",
        holds: serverErrors === 0 && otherAnswers === 0,
        detail: `${int(requests)} requests, ${int(serverErrors)} 5xx or lost, ${int(otherAnswers)} other${otherCodes.size === 0 ? "" : ` (${[...otherCodes].map(([k, n]) => `${k}: ${n}`).join(", ")})`}`
      },
      {
        name: "each demand's counters match its rows",
        holds: countersWrong === 0,
        detail: `${int(countersWrong)} of ${int(trials)} demands`
      },
      {
        name: "the race was run: trials with responds committed on both sides of the adoption",
        holds: mixed > 0,
        detail: `${int(mixed)} of ${int(trials)} trials with both accepted and refused responds (trials run one after another would have none); in ${int(inFlightTogether)} the adopt and a respond were in flight at the same moment`
      }
    ]
    return {
      id: "F1",
      name: "respond vs adopt",
      load: `${int(trials)} trials × (1 adopt + ${F1_RESPONDERS} responds), ${F1_CONCURRENCY} at a time, ${options.instances} instance${options.instances === 1 ? "" : "s"}`,
      invariants,
      details: [
        `F1 (${options.instances} instance${options.instances === 1 ? "" : "s"}): setup ${seconds(setupMillis)}, trials ${seconds(trialsMillis)}, checks ${seconds(checksMillis)}; commit order from the WAL's COMMIT records (pg_walinspect)`,
        `F1 adopt ${latencies(results.map((r) => r.adopt))}; respond ${latencies(results.flatMap((r) => r.responds))}`,
        `F1 outcomes: ${int(accepted)} responds accepted (${int(earlier)} commits before the adoption in the WAL), ${int(refused)} refused; trials with both ${int(mixed)}, all accepted ${int(allBefore)}, all refused ${int(allAfter)}`
      ]
    } satisfies Scenario
  })

// ---------------------------------------------------------------------------------
// F2

/**
 * F2: concurrent approvals over HTTP, `instances` servers on one schema.
 *
 * @param options the size (`short`: 100 approvals, else 500) and the instances
 */
export const runF2 = (options: RaceOptions): Promise<Scenario> =>
  withSchema("zb_f2", async (schema, runtime, servers) => {
    const count = options.short ? F2_SHORT_APPROVALS : F2_APPROVALS
    const { numberingPrefix: prefix, sequenceWidth: width, timeZone } = Settings.defaults
    const setupStarted = Date.now()
    const world = await runtime.runPromise(
      Effect.gen(function* () {
        const p = yield* platform(0)
        return { ...p, demands: yield* demands(p.publisher, p.operator, count) }
      })
    )
    await runtime.dispose()
    servers.push(...(await startAll(schema, options.instances)))
    const setupMillis = Date.now() - setupStarted

    const token = tokenFor(world.operator)
    const started = Date.now()
    const answers = await Promise.all(
      world.demands.map((d, i) =>
        fire(servers[i % servers.length]!, token, `/review/demands/${d.demandId}/approve`, undefined, 0)
      )
    )
    const millis = Date.now() - started
    await Promise.all(servers.splice(0).map((s) => s.stop()))

    const rows = await query<{ id: string; number: string | null; state: string; year: string | null }>(
      `SELECT id, number, state, to_char(approved_at AT TIME ZONE $2, 'YYYY') AS year
       FROM ${q(schema, "demand")} WHERE id = ANY ($1::text[])`,
      [world.demands.map((d) => d.demandId), timeZone]
    )
    const counters = await query<{ prefix: string; year: number; last: number }>(
      `SELECT prefix, year, last FROM ${q(schema, "demand_number_counter")}`
    )
    const approvedEvents = await query<{ demand_id: string; n: number }>(
      `SELECT demand_id, count(*)::int AS n FROM ${q(schema, "audit_event")}
       WHERE action = 'demand.approved' GROUP BY demand_id`
    )

    const ok = answers.filter((a) => a.status === 200).length
    const failures = countBy(
      answers.filter((a) => a.status !== 200),
      (a) => `${a.status} ${a.code ?? ""}`.trim()
    )
    const pattern = new RegExp(`^${prefix}(\\d{4})(\\d{${width},})$`)
    const perYear = new Map<string, Array<number>>()
    let missing = 0
    let malformed = 0
    for (const r of rows) {
      const m = r.number === null ? null : pattern.exec(r.number)
      if (r.number === null || r.state !== "published") missing++
      else if (m === null || m[1] !== r.year || Number(m[2]) < 1) malformed++
      else perYear.set(m[1]!, [...(perYear.get(m[1]!) ?? []), Number(m[2])])
    }
    missing += count - rows.length
    let gaps = 0
    let duplicates = 0
    const ranges: Array<string> = []
    for (const [year, seqs] of perYear) {
      const distinct = new Set(seqs)
      duplicates += seqs.length - distinct.size
      const max = Math.max(...seqs)
      gaps += max - distinct.size
      const fmt = (n: number) => `${prefix}${year}${String(n).padStart(width, "0")}`
      ranges.push(`${fmt(Math.min(...seqs))}…${fmt(max)}`)
    }
    const numbered = count - missing - malformed
    const stored = new Map(rows.map((r) => [r.id, r.number]))
    const answerMismatch = world.demands.filter(
      (d, i) => answers[i]!.status === 200 && answers[i]!.number !== stored.get(d.demandId)
    ).length
    const events = new Map(approvedEvents.map((e) => [e.demand_id, e.n]))
    const eventsWrong = world.demands.filter((d) => (events.get(d.demandId) ?? 0) !== 1).length
    const countersWrong = [...perYear].filter(
      ([year, seqs]) =>
        counters.find((c) => c.prefix === prefix && String(c.year) === year)?.last !== seqs.length
    ).length

    const invariants: ReadonlyArray<Invariant> = [
      {
        name: "every approve answered 2xx",
        holds: ok === count,
        detail: `${int(ok)} of ${int(count)}${failures.size === 0 ? "" : ` (${[...failures].map(([k, n]) => `${k}: ${n}`).join(", ")})`}`
      },
      {
        name: `numbers ${prefix}<year>${"0".repeat(width - 1)}1… gapless and unique (R12)`,
        holds: numbered === count && gaps === 0 && duplicates === 0,
        detail: `${int(numbered)} numbers, ${int(gaps)} gaps, ${int(duplicates)} duplicates${missing + malformed > 0 ? `, ${int(missing)} missing, ${int(malformed)} malformed` : ""}`
      },
      {
        name: "each answer carries the stored number; one approval event each; the counter at the count",
        holds: answerMismatch === 0 && eventsWrong === 0 && countersWrong === 0,
        detail: `${int(answerMismatch)} answers differ, ${int(eventsWrong)} demands without exactly one event, ${int(countersWrong)} counters off`
      }
    ]
    return {
      id: "F2",
      name: "concurrent approvals",
      load: `${int(count)} approvals at once, ${options.instances} instance${options.instances === 1 ? "" : "s"}`,
      invariants,
      details: [
        `F2 (${options.instances} instance${options.instances === 1 ? "" : "s"}): setup ${seconds(setupMillis)}, ${int(count)} approvals answered in ${seconds(millis)} (${latencies(answers)}); numbers ${ranges.join(", ") || "none"}`
      ]
    } satisfies Scenario
  })

// ---------------------------------------------------------------------------------

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const short = process.argv.includes("--short")
  const scenarios: Array<Scenario> = []
  for (const instances of [1, 2] as const) {
    scenarios.push(await runF1({ short, instances }))
    scenarios.push(await runF2({ short, instances }))
  }
  console.log(`Reliability F1, F2 (${short ? "short" : "full"}) on ${machine()}\n`)
  console.log(scenariosTable(scenarios))
  console.log("")
  for (const s of scenarios) for (const line of s.details ?? []) console.log(`- ${line}`)
  if (scenarios.some((s) => s.invariants.some((i) => !i.holds))) process.exitCode = 1
}
