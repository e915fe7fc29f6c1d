/**
 * Reliability scenarios F3 and F4: faults, checked by invariants after the load
 * (`npm run reliability`; run directly, this file runs F3 on one then two instances
 * and F4, and prints the table; `--short` for CI sizes). Each scenario runs on a
 * fresh schema of `DATABASE_URL`, dropped at the end, with example-server instances
 * as child processes (`bench/support/server.ts`), all stopped at the end.
 *
 * **F3 — a failing SMS provider and dispatchers killed mid-batch.** N outbox messages
 * (3,000; short 300): a few dozen written by core's use cases over HTTP (approvals,
 * responses, consultations, adoptions, ends of selection, commissions) on an API-only
 * instance, the rest SQL copies of them with fresh ids, phones and dedupe keys. Then
 * one or two dispatcher instances (`WORKERS=true`) send them to a fake Aliyun served
 * here (`aliyun()` of adapter-sms's test support, which checks every signature)
 * that fails 30% of the requests: 15% definite failures, nothing sent (HTTP 500 or
 * 503, `Throttling.User`, `isp.SYSTEM_ERROR`), and 15% unknown outcomes, the message
 * accepted and counted but its answer lost (the connection dropped, or the `OK` sent
 * after the sender's timeout). Every dispatcher incarnation gets its own endpoint
 * path (`/d<k>/`), so the fake knows which process sent each request. A dispatcher
 * is `kill -9`ed 5 times (short 2) — alternately with two instances — at the moment
 * the fake has accepted a message from it and is about to answer `OK` (so that the
 * process dies between a send and its settlement, with the rest of its batch in
 * flight; the answer goes to a dead connection), and restarted at once. The run
 * ends when no message is pending.
 *
 * A message is *delivered* once for every request the fake accepted with its OutId
 * (the outbox message id); the delivery the dispatcher settled is the one whose
 * `BizId` the row records as `provider_message_id`. Any other delivery of the
 * message happened because an earlier outcome was *unknown* to the dispatcher, which
 * is one of:
 * (a) the fake accepted it but dropped the connection or answered after the sender's
 *     timeout (the fake's own log says so);
 * (b) the dispatcher process that sent it was `kill -9`ed while it still held the
 *     message's claim, i.e. between the send and the settlement: SQL, right after the
 *     kill, shows the message pending under a lease of that process's claims (each
 *     process logs its dispatcher's owner name; a claim's lease is held as
 *     `<owner>/<claim id>`), and the delivery the dispatcher settled came after the
 *     kill;
 * (c) the fake answered `OK` in time, but the live dispatcher recorded the attempt
 *     as unknown because a timeout passed first (the sender's or its own, e.g. on a
 *     busy machine), or its result was not recorded before its lease expired: that
 *     process must have logged it for the message (a `result: Unknown` line whose
 *     reason is a timeout, its late answers' timeouts left out, or "not recorded
 *     before its lease expired"), and the row's `unknown_outcomes` must exceed the (a)-outcomes of
 *     surviving processes by at least the number of such deliveries. An `OK` the
 *     dispatcher misread as unknown for any other reason is not excused.
 * A delivery explained by none of these is a duplicate the dispatcher did not
 * account for, and breaks the invariant.
 *
 * Invariants: every kill hit a process holding claimed messages (the message the
 * fake had just accepted from it is still pending and leased in SQL after it died);
 * every message delivered at least once; each settled `sent` from an `OK` the fake
 * gave it; every other delivery had an unknown outcome (a), (b) or (c), and the row's
 * own `unknown_outcomes` counts at least as many (a kill's by the claim that took its
 * lease over); none pending or dead at the end; every (a)-outcome seen by a process
 * that was never killed is counted in `unknown_outcomes`.
 *
 * **F4 — `kill -9` of the server under write load.** One instance (workers on, the
 * fake Aliyun without faults) takes concurrent HTTP use cases that write several rows
 * each: draft, submit, approve, respond (racing the adoption), consult and reply,
 * adopt, feedback, end of selection, commission request, accept or decline, end —
 * every command with an `Idempotency-Key`. It is `kill -9`ed 5 times (short 1) while
 * requests are in flight and restarted on the same schema; requests cut by a kill
 * are retried after the restart with the same key and body (R63). After the load,
 * SQL checks: every change has its audit event (R60) and, where it notifies, its
 * outbox message (R25, R61, R64); no audit event or outbox message exists without
 * its change; every audit event, idempotency record and outbox message was written
 * in a transaction that also wrote the change it records (recorded by triggers the
 * harness adds to its schema: a journal committed apart is seen whether or not a
 * kill lands between the two); idempotency records match committed work both ways (R63); demand
 * numbers have no gaps (R12); no response was accepted after an adoption had been
 * acknowledged (R24, R26); counters match their rows; every command was answered
 * 2xx, with the domain's 409 or with a 503 that did nothing (no 5xx else, none lost);
 * every request answered 2xx is fully present; and the outbox resumes: every message
 * sent, none pending or dead, those a kill left under a lease included (each kill
 * waits, up to 10 s, for a notification to be leased; when none of the planned kills
 * left one, up to three more are made).
 *
 * Both scenarios use short leases and backoff (`SETTINGS_JSON`), the SMS throttle
 * off (its per-number limits would only delay retries; the copies have distinct
 * phones anyway) and very high rate limits. Random choices come from `FAULTS_SEED`
 * (printed). Timings are printed, never asserted.
 */
import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Settings } from "@zhongbao/core"
import { type Invariant, int, type Scenario, scenariosTable } from "../bench/support/report.js"
import {
  call,
  dropSchema,
  freshSchema,
  query,
  type ServerProcess,
  startServer,
  tokenFor
} from "../bench/support/server.js"
import { aliyun, keyId, paramsOf, secret } from "../packages/adapter-sms/test/support/FakeAliyun.js"
import * as Fake from "../packages/adapter-sms/test/support/FakeProvider.js"

// ---------------------------------------------------------------------------------
// Settings shared by both scenarios

/**
 * The outbox of every instance: short leases and backoff so that a run takes
 * seconds. `leaseMillis` stays well above `(batchSize / sendConcurrency + 3) ×
 * sendTimeoutMillis` (Dispatcher.ts); `maxAttempts` is high enough that 30% failures
 * never dead-letter a message by chance (0.3^30).
 */
const outbox = {
  batchSize: 24,
  sendConcurrency: 6,
  leaseMillis: 6_000,
  sendTimeoutMillis: 600,
  maxAttempts: 30,
  backoffBaseMillis: 50,
  backoffMaxMillis: 1_000,
  idleMillis: 50
}

/** The sender's own timeout, below the dispatcher's `sendTimeoutMillis`. */
const senderTimeoutMillis = 300

const unlimited = { limit: 1_000_000_000, windowMillis: 3_600_000 }

const baseEnv = {
  RATE_LIMITS_JSON: JSON.stringify({
    responding: unlimited,
    consulting: unlimited,
    sms: unlimited,
    writes: unlimited
  }),
  SETTINGS_JSON: JSON.stringify({ outbox }),
  SMS_THROTTLE_ENABLED: "false"
}

/** The environment of an instance sending to `endpoint` (the fake Aliyun). */
const aliyunEnv = (endpoint: string, workers: boolean): Record<string, string> => ({
  ...baseEnv,
  WORKERS: String(workers),
  SMS_PROVIDER: "aliyun",
  ALIYUN_SMS_ACCESS_KEY_ID: keyId,
  ALIYUN_SMS_ACCESS_KEY_SECRET: secret,
  ALIYUN_SMS_SIGN_NAME: "科研众包",
  ALIYUN_SMS_ENDPOINT: endpoint,
  ALIYUN_SMS_TIMEOUT: `${senderTimeoutMillis} millis`
})

const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000)

/** mulberry32: a small seeded generator, so that a run's random choices can be repeated. */
const generator = (from: number) => {
  let state = from >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}

type Random = () => number

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/** Polls `condition` every `every` ms; answers whether it held before `timeoutMillis`. */
const until = async (condition: () => boolean | Promise<boolean>, timeoutMillis: number, every = 10) => {
  const deadline = Date.now() + timeoutMillis
  while (!(await condition())) {
    if (Date.now() > deadline) return false
    await sleep(every)
  }
  return true
}

const plural = (n: number, noun: string) => `${int(n)} ${noun}${n === 1 ? "" : "s"}`

const pct = (part: number, whole: number) => (whole === 0 ? "0%" : `${((100 * part) / whole).toFixed(1)}%`)

const sample = (xs: ReadonlyArray<string>, n = 3) =>
  xs.length === 0 ? "" : `; e.g. ${xs.slice(0, n).join(", ")}${xs.length > n ? ", …" : ""}`

/** The single number `n` a query answers. */
const count = async (text: string, params: ReadonlyArray<unknown> = []) =>
  Number((await query<{ n: number }>(text, params))[0]?.n ?? 0)

const table = (schema: string) => (name: string) => `"${schema}".${name}`

// ---------------------------------------------------------------------------------
// The fake Aliyun, with faults

/** What the fake does with one request. */
type Fate = "ok" | "outage" | "throttled" | "dropped" | "late"

/** One correctly signed request the fake received. */
interface Delivery {
  readonly outId: string
  /** The dispatcher incarnation that sent it (from the endpoint path), or -1. */
  readonly incarnation: number
  readonly fate: Fate
  /** Whether the fake took the message (it would reach the phone). */
  readonly accepted: boolean
  /** The `BizId` of its `OK` answer, when accepted. */
  readonly bizId: string | null
  readonly receivedAt: number
  /** When the fake wrote its answer (or dropped the connection). */
  answeredAt: number | null
}

interface Provider {
  readonly url: string
  readonly deliveries: Array<Delivery>
  /** Requests the fake refused for their signature, nonce or date. */
  readonly refused: () => number
  /** `OK` answers written so far. */
  readonly oks: () => number
  /** Deliveries of an incarnation not answered yet. */
  readonly inflight: (incarnation: number) => ReadonlyArray<Delivery>
  /** Called right before an `OK` answer is written. */
  onOk: ((delivery: Delivery) => void) | null
  readonly close: () => Promise<void>
}

/**
 * The fake Aliyun on 127.0.0.1: each request is checked by `aliyun()` (signature,
 * nonce, date), answered after 5–45 ms; with `faultRate`, that share of requests
 * fails, half definitely (nothing sent) and half with an unknown outcome (accepted,
 * then the connection dropped or the `OK` written after the sender's timeout).
 */
const startProvider = async (random: Random, faultRate: number): Promise<Provider> => {
  const handle = aliyun()
  const deliveries: Array<Delivery> = []
  const pending = new Map<number, Set<Delivery>>()
  let refused = 0
  let oks = 0
  const fateOf = (): Fate => {
    if (faultRate <= 0) return "ok"
    const r = random() / faultRate
    if (r >= 1) return "ok"
    return r < 0.25 ? "outage" : r < 0.5 ? "throttled" : r < 0.75 ? "dropped" : "late"
  }
  const failure = (fate: Fate, requestId: string): Fake.Reply | undefined => {
    const either = random() < 0.5
    if (fate === "outage")
      return either
        ? Fake.json(500, { RequestId: requestId, Code: "InternalError", Message: "internal error" })
        : Fake.json(503, { RequestId: requestId, Code: "ServiceUnavailable", Message: "unavailable" })
    if (fate === "throttled")
      return either
        ? Fake.json(400, { RequestId: requestId, Code: "Throttling.User", Message: "throttled" })
        : Fake.json(200, { RequestId: requestId, Code: "isp.SYSTEM_ERROR", Message: "system error" })
    return undefined
  }
  const write = (res: ServerResponse, reply: Fake.Reply) => {
    if (res.destroyed || res.writableEnded || reply._tag !== "Json") return
    res.writeHead(reply.status, { "content-type": "application/json;charset=utf-8" })
    res.end(JSON.stringify(reply.body))
  }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.on("error", () => {})
    res.on("error", () => {})
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const headers: Record<string, string> = {}
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        headers[req.rawHeaders[i]!.toLowerCase()] = req.rawHeaders[i + 1]!
      }
      const raw: Fake.RawRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers,
        body: Buffer.concat(chunks).toString("utf8")
      }
      const fate = fateOf()
      const handled = handle(raw, () => failure(fate, randomUUID()))
      if (!handled.verified) {
        refused += 1
        return write(res, handled.reply)
      }
      const accepted = fate === "ok" || fate === "dropped" || fate === "late"
      const body = handled.reply._tag === "Json" ? (handled.reply.body as { BizId?: string }) : {}
      const delivery: Delivery = {
        outId: paramsOf(raw).OutId ?? "",
        incarnation: Number(/^\/d(\d+)\//.exec(raw.url)?.[1] ?? -1),
        fate,
        accepted,
        bizId: accepted ? (body.BizId ?? null) : null,
        receivedAt: Date.now(),
        answeredAt: null
      }
      deliveries.push(delivery)
      const mine = pending.get(delivery.incarnation) ?? new Set<Delivery>()
      pending.set(delivery.incarnation, mine)
      mine.add(delivery)
      const done = () => {
        delivery.answeredAt = Date.now()
        mine.delete(delivery)
      }
      const latency = 5 + Math.floor(random() * 40)
      if (fate === "dropped") {
        setTimeout(() => {
          done()
          req.socket.destroy()
        }, latency)
      } else if (fate === "late") {
        setTimeout(() => {
          done()
          write(res, handled.reply)
        }, senderTimeoutMillis + 200)
      } else {
        setTimeout(() => {
          done()
          if (fate === "ok") {
            oks += 1
            provider.onOk?.(delivery)
          }
          write(res, handled.reply)
        }, latency)
      }
    })
  })
  server.on("clientError", (_error, socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  const provider: Provider = {
    url: `http://127.0.0.1:${port}/`,
    deliveries,
    refused: () => refused,
    oks: () => oks,
    inflight: (k) => [...(pending.get(k) ?? [])],
    onOk: null,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
  return provider
}

// ---------------------------------------------------------------------------------
// Use cases over HTTP, logged

/** One command sent (and re-sent after a kill with the same key and body). */
interface Exchange {
  readonly op: string
  readonly account: string
  readonly key: string
  readonly path: string
  /** The demand it concerns, when it does. */
  readonly demandId: string | null
  readonly firstSentAt: number
  tries: number
  /** Tries that got no answer (the connection failed). */
  cut: number
  status: number | null
  // biome-ignore lint/suspicious/noExplicitAny: the parsed JSON answer
  result: any
  answeredAt: number | null
  error: string | null
}

/** Where commands go: the current server, and what to do when a try gets no answer. */
interface Target {
  readonly url: () => string
  readonly generation: () => number
  /** Answers whether to try again (after the server of `generation` was replaced). */
  readonly recover: (generation: number) => Promise<boolean>
}

const fixedTarget = (url: string): Target => ({
  url: () => url,
  generation: () => 0,
  recover: async () => false
})

interface Client {
  readonly log: Array<Exchange>
  readonly inflight: Set<Exchange>
  readonly send: (
    op: string,
    account: string,
    path: string,
    body?: unknown,
    demandId?: string | null
  ) => Promise<Exchange>
}

const ok = (x: Exchange) => x.status !== null && x.status >= 200 && x.status < 300

/** A client that POSTs commands with an `Idempotency-Key` each and logs them. */
const makeClient = (target: Target): Client => {
  const log: Array<Exchange> = []
  const inflight = new Set<Exchange>()
  let counter = 0
  const send: Client["send"] = async (op, account, path, body, demandId = null) => {
    counter += 1
    const x: Exchange = {
      op,
      account,
      key: `${op}-${counter}-${randomUUID().slice(0, 8)}`,
      path,
      demandId,
      firstSentAt: Date.now(),
      tries: 0,
      cut: 0,
      status: null,
      result: undefined,
      answeredAt: null,
      error: null
    }
    log.push(x)
    for (;;) {
      const generation = target.generation()
      x.tries += 1
      inflight.add(x)
      try {
        const answer = await call(target.url(), tokenFor(account), "POST", path, body, {
          "idempotency-key": x.key
        })
        x.status = answer.status
        x.result = answer.body
        x.answeredAt = Date.now()
        return x
      } catch (error) {
        x.cut += 1
        x.error = String(error)
        if (x.tries >= 6 || !(await target.recover(generation))) return x
      } finally {
        inflight.delete(x)
      }
    }
  }
  return { log, inflight, send }
}

/** A member with one account. */
interface Party {
  readonly member: string
  readonly account: string
}

interface World {
  readonly operator: string
  readonly enterprises: ReadonlyArray<Party>
  readonly responders: ReadonlyArray<Party>
  readonly institutions: ReadonlyArray<Party>
}

const operatorId = "operator-faults"

/**
 * The operator (one SQL row, as `Membership.bootstrapOperator` writes it), then
 * members and their accounts through the API: enterprises, research institutes
 * and experts, registered transfer institutions.
 */
const setupWorld = async (
  client: Client,
  schema: string,
  sizes: { readonly enterprises: number; readonly responders: number; readonly institutions: number }
): Promise<World> => {
  await query(
    `INSERT INTO ${table(schema)("account")} (id, member_id, role, name, phone, active, created_at)
     VALUES ($1, NULL, 'operator', '平台运营', '+8613500000001', true, now())`,
    [operatorId]
  )
  const party = async (kind: string, name: string, phone: string, register: boolean): Promise<Party> => {
    const member = await client.send("createMember", operatorId, "/members", { kind, name, region: "天津市" })
    if (!ok(member)) throw new Error(`createMember: ${member.status} ${JSON.stringify(member.result)}`)
    const memberId = member.result.id as string
    if (register) {
      const registered = await client.send("registerInstitution", operatorId, `/members/${memberId}/register`)
      if (!ok(registered))
        throw new Error(`register: ${registered.status} ${JSON.stringify(registered.result)}`)
    }
    const account = await client.send("createAccount", operatorId, "/accounts", {
      memberId,
      name: `${name}联系人`,
      phone
    })
    if (!ok(account)) throw new Error(`createAccount: ${account.status} ${JSON.stringify(account.result)}`)
    return { member: memberId, account: account.result.id as string }
  }
  const phone = (prefix: string, i: number) => `${prefix}${String(i + 1).padStart(8, "0")}`
  const enterprises: Array<Party> = []
  for (let i = 0; i < sizes.enterprises; i++)
    enterprises.push(await party("enterprise", `企业${i + 1}`, phone("138", i), false))
  const responders: Array<Party> = []
  for (let i = 0; i < sizes.responders; i++)
    responders.push(
      await party(i % 3 === 2 ? "expert" : "research_institute", `应答方${i + 1}`, phone("137", i), false)
    )
  const institutions: Array<Party> = []
  for (let i = 0; i < sizes.institutions; i++)
    institutions.push(await party("transfer_institution", `技术转移中心${i + 1}`, phone("136", i), true))
  return { operator: operatorId, enterprises, responders, institutions }
}

const pick = <A>(random: Random, xs: ReadonlyArray<A>): A => xs[Math.floor(random() * xs.length)]!

const distinct = <A>(random: Random, xs: ReadonlyArray<A>, n: number): Array<A> => {
  const copy = [...xs]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy.slice(0, n)
}

/** A response deadline 30 days after today in Asia/Shanghai. */
const deadline = () => new Date(Date.now() + 8 * 3_600_000 + 30 * 86_400_000).toISOString().slice(0, 10)

let demandCounter = 0

/**
 * A demand's life over the API: draft, submit, approve; three responses and a
 * consultation with a reply; the adoption racing two more responses, then one more
 * response after the adoption was acknowledged (refused by R24); sometimes feedback
 * and the end of selection. Stops at the first step that is refused.
 */
const demandLife = async (client: Client, world: World, random: Random) => {
  const publisher = pick(random, world.enterprises)
  demandCounter += 1
  const draft = await client.send("draftDemand", publisher.account, "/demands", {
    title: `石墨烯散热膜量产工艺 ${demandCounter}`,
    summary: {
      mainProblem: "石墨烯散热膜在量产中良率偏低",
      keyTechnology: "导热系数不低于1500 W/mK，厚度25微米",
      expectedGoal: "形成年产十万平方米的中试线"
    },
    keywords: ["石墨烯", "散热"],
    field: "新材料及应用",
    intendedInvestment: 5_000_000_00,
    solvingWay: "cooperative_rd",
    region: "天津市",
    responseDeadline: deadline(),
    serviceMode: "cooperative"
  })
  if (!ok(draft)) return
  const demandId = draft.result.id as string
  const submit = await client.send(
    "submitDemand",
    publisher.account,
    `/demands/${demandId}/submit`,
    undefined,
    demandId
  )
  if (!ok(submit)) return
  const approve = await client.send(
    "approveDemand",
    world.operator,
    `/review/demands/${demandId}/approve`,
    undefined,
    demandId
  )
  if (!ok(approve)) return
  const [a, b, c, d, e, f] = distinct(random, world.responders, 6) as [
    Party,
    Party,
    Party,
    Party,
    Party,
    Party
  ]
  const respond = (who: Party) =>
    client.send(
      "respond",
      who.account,
      `/demands/${demandId}/responses`,
      { proposal: { title: "应答方案", content: "团队具备相关研发经验与中试条件，可在六个月内给出样品。" } },
      demandId
    )
  const [ra, rb, rc, ask] = await Promise.all([
    respond(a),
    respond(b),
    respond(c),
    client.send(
      "ask",
      d.account,
      `/demands/${demandId}/consultations`,
      { text: "请问现有产线的烧结温度区间是多少？" },
      demandId
    )
  ])
  if (ok(ask)) {
    await client.send(
      "reply",
      publisher.account,
      `/consultations/${ask.result.thread.id as string}/messages`,
      { text: "烧结温度在2800到3000摄氏度之间。" },
      demandId
    )
  }
  const received = [ra, rb, rc].filter(ok)
  const chosen = received[0]
  if (chosen === undefined) return
  const [adopt] = await Promise.all([
    client.send(
      "adopt",
      publisher.account,
      `/responses/${chosen.result.id as string}/adopt`,
      undefined,
      demandId
    ),
    respond(d),
    respond(e)
  ])
  if (ok(adopt)) await respond(f)
  const other = received[1]
  if (other !== undefined && random() < 0.5) {
    await client.send(
      "giveFeedback",
      publisher.account,
      `/responses/${other.result.id as string}/feedback`,
      { feedback: { reason: "cost_too_high" } },
      demandId
    )
  }
  if (random() < 0.6) {
    await client.send("endSelection", publisher.account, `/demands/${demandId}/selection/end`, {}, demandId)
  }
}

/** A commission over the API: requested, then accepted (and sometimes ended) or declined. */
const commissionLife = async (client: Client, world: World, random: Random) => {
  const enterprise = pick(random, world.enterprises)
  const institution = pick(random, world.institutions)
  const request = await client.send("requestCommission", enterprise.account, "/commissions", {
    institutionId: institution.member,
    message: "委托贵中心代为征集焊接机器人视觉方案"
  })
  if (!ok(request)) return
  const id = request.result.id as string
  if (random() < 0.7) {
    const accept = await client.send("acceptCommission", institution.account, `/commissions/${id}/accept`)
    if (ok(accept) && random() < 0.6)
      await client.send("endCommission", enterprise.account, `/commissions/${id}/end`)
  } else {
    await client.send("declineCommission", institution.account, `/commissions/${id}/decline`)
  }
}

// ---------------------------------------------------------------------------------
// F3

/** A dispatcher process: its number `k` (endpoint path `/d<k>/`), slot and life. */
interface Incarnation {
  readonly k: number
  readonly slot: number
  process: ServerProcess | null
  killedAt: number | null
}

/** One kill: when, whom, and the messages it held. */
interface Kill {
  readonly at: number
  readonly incarnation: number
  /** The message the fake had accepted and was about to answer `OK` when the kill was sent. */
  readonly answered: string
  /** Other messages that process was sending (the fake had not answered yet). */
  readonly sending: ReadonlyArray<string>
  /** Whether SQL shows `answered` still pending and leased after the process died. */
  readonly answeredLeased: boolean
  /** `answered`'s row then: status, lease, attempts, provider message id. */
  readonly answeredState: string
  /** How many of `sending` SQL shows still pending and leased after the process died. */
  readonly sendingLeased: number
  /** Every message SQL shows pending under a lease of that process's claims after it died. */
  readonly held: ReadonlySet<string>
}

/** The owner name a dispatcher process logged when its dispatcher started. */
const dispatcherOwner = (output: string): string | undefined =>
  /"message":"outbox dispatcher started"[^\n]*"owner":"([^"]+)"/.exec(output)?.[1]

/**
 * F3: the SMS provider failing 30% of requests and the dispatcher killed mid-batch
 * (see the module documentation for the definitions and invariants). `instances: 2`
 * runs two dispatchers at once and kills them alternately.
 */
export const runF3 = async (options: {
  readonly short: boolean
  readonly instances: 1 | 2
}): Promise<Scenario> => {
  const total = options.short ? 300 : 3_000
  const kills = options.short ? 2 : 5
  const random = generator(seed + options.instances)
  const schema = freshSchema("rel_f3")
  const t = table(schema)
  const provider = await startProvider(random, 0.3)
  const processes: Array<ServerProcess> = []
  const launches: Array<Promise<Incarnation>> = []
  const incarnations: Array<Incarnation> = []
  const started = Date.now()
  try {
    const api = await startServer({ schema, env: aliyunEnv(`${provider.url}api/`, false) })
    processes.push(api)
    const client = makeClient(fixedTarget(api.url))
    const world = await setupWorld(client, schema, { enterprises: 3, responders: 8, institutions: 2 })
    for (let i = 0; i < 4; i++) await demandLife(client, world, random)
    for (let i = 0; i < 3; i++) await commissionLife(client, world, random)
    await api.stop()
    const written = await count(`SELECT count(*)::int AS n FROM ${t("outbox_message")}`)
    if (written === 0) throw new Error("the use cases wrote no outbox message")
    await query(
      `INSERT INTO ${t("outbox_message")} (id, event, dedupe_key, recipient_phone, template_id, params, created_at,
         status, attempts, unknown_outcomes, next_attempt_at)
       SELECT gen_random_uuid()::text, b.event, b.event || ':copy-' || i || ':+86139' || lpad(i::text, 8, '0'),
         '+86139' || lpad(i::text, 8, '0'), b.template_id, b.params, now(), 'pending', 0, 0, now()
       FROM generate_series(1, $1::int) AS i
       JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS k, * FROM ${t("outbox_message")}) b ON b.k = i % $2::int`,
      [Math.max(0, total - written), written]
    )
    const inserted = await count(`SELECT count(*)::int AS n FROM ${t("outbox_message")}`)
    if (inserted !== Math.max(total, written))
      throw new Error(
        `the outbox holds ${inserted} messages after the copies, not ${Math.max(total, written)}`
      )

    const launch = (slot: number): Promise<Incarnation> => {
      const incarnation: Incarnation = { k: incarnations.length, slot, process: null, killedAt: null }
      incarnations.push(incarnation)
      const launched = startServer({
        schema,
        env: aliyunEnv(`${provider.url}d${incarnation.k}/`, true)
      }).then((server) => {
        processes.push(server)
        incarnation.process = server
        return incarnation
      })
      launches.push(launched)
      return launched
    }
    const slots = Array.from({ length: options.instances }, (_, slot) => launch(slot))
    await Promise.all(slots)
    const dispatchStarted = Date.now()

    const done: Array<Kill> = []
    const missed: Array<string> = []
    for (let j = 1; j <= kills; j++) {
      const slot = (j - 1) % options.instances
      await until(() => provider.oks() >= Math.floor((total * j) / (kills + 1)), 300_000, 20)
      const target = await slots[slot]!
      const victim = target.process!
      const killed = await new Promise<{ at: number; answered: string; sending: Array<string> } | null>(
        (resolve) => {
          const timer = setTimeout(() => {
            provider.onOk = null
            resolve(null)
          }, 60_000)
          provider.onOk = (delivery) => {
            if (delivery.incarnation !== target.k) return
            victim.child.kill("SIGKILL")
            const at = Date.now()
            provider.onOk = null
            clearTimeout(timer)
            const sending = provider.inflight(target.k).filter((d) => d.fate !== "late")
            resolve({ at, answered: delivery.outId, sending: sending.map((d) => d.outId) })
          }
        }
      )
      if (killed === null) {
        missed.push(`kill ${j}: dispatcher d${target.k} got no OK within 60 s`)
        continue
      }
      target.killedAt = killed.at
      await victim.stop("SIGKILL")
      const states = await query<{ id: string; leased: boolean; state: string }>(
        `SELECT id, status = 'pending' AND lease_owner IS NOT NULL AND lease_until > now() AS leased,
           status || ', lease ' || coalesce(to_char(lease_until - now(), 'SS.MS'), 'none') || ', attempts ' || attempts
             || ', provider id ' || coalesce(provider_message_id, 'none') AS state
         FROM ${t("outbox_message")} WHERE id = ANY($1::text[])`,
        [[killed.answered, ...killed.sending]]
      )
      const owner = dispatcherOwner(victim.output())
      const held =
        owner === undefined
          ? []
          : await query<{ id: string }>(
              `SELECT id FROM ${t("outbox_message")} WHERE status = 'pending' AND starts_with(lease_owner, $1)`,
              [`${owner}/`]
            )
      const ids = new Set(states.filter((r) => r.leased).map((r) => r.id))
      done.push({
        at: killed.at,
        incarnation: target.k,
        answered: killed.answered,
        sending: killed.sending,
        answeredLeased: ids.has(killed.answered),
        answeredState: states.find((r) => r.id === killed.answered)?.state ?? "no row",
        sendingLeased: killed.sending.filter((id) => ids.has(id)).length,
        held: new Set(held.map((r) => r.id))
      })
      slots[slot] = launch(slot)
    }
    await Promise.all(slots)
    const pendingLeft = async () =>
      await count(`SELECT count(*)::int AS n FROM ${t("outbox_message")} WHERE status = 'pending'`)
    await until(async () => (await pendingLeft()) === 0, options.short ? 180_000 : 900_000, 200)
    const drainedMillis = Date.now() - dispatchStarted
    for (const incarnation of incarnations) {
      if (incarnation.killedAt === null) await incarnation.process?.stop()
    }

    const rows = await query<{
      id: string
      status: string
      attempts: number
      unknown_outcomes: number
      provider_message_id: string | null
    }>(`SELECT id, status, attempts, unknown_outcomes, provider_message_id FROM ${t("outbox_message")}`)
    return judgeF3({
      options,
      total: inserted,
      written,
      rows,
      provider,
      incarnations,
      kills: done,
      planned: kills,
      missed,
      millis: { all: Date.now() - started, drain: drainedMillis }
    })
  } finally {
    provider.onOk = null
    await Promise.allSettled(launches)
    for (const server of processes) await server.stop("SIGKILL")
    await provider.close()
    await dropSchema(schema)
  }
}

interface F3Run {
  readonly options: { readonly short: boolean; readonly instances: 1 | 2 }
  readonly total: number
  readonly written: number
  readonly rows: ReadonlyArray<{
    id: string
    status: string
    attempts: number
    unknown_outcomes: number
    provider_message_id: string | null
  }>
  readonly provider: Provider
  readonly incarnations: ReadonlyArray<Incarnation>
  readonly kills: ReadonlyArray<Kill>
  readonly planned: number
  readonly missed: ReadonlyArray<string>
  readonly millis: { readonly all: number; readonly drain: number }
}

/** The F3 invariants over the outbox rows, the fake's log and the kills. */
const judgeF3 = (run: F3Run): Scenario => {
  const byOutId = new Map<string, Array<Delivery>>()
  for (const d of run.provider.deliveries) {
    const list = byOutId.get(d.outId) ?? []
    list.push(d)
    byOutId.set(d.outId, list)
  }
  const killedAt = (k: number) => run.incarnations[k]?.killedAt ?? null
  const killOf = new Map(run.kills.map((kill) => [kill.incarnation, kill]))
  /** (b): `d`'s process was killed holding the message's claim, and the settled delivery came after the kill. */
  const killedBeforeSettling = (d: Delivery, settled: Delivery | undefined) => {
    const kill = killOf.get(d.incarnation)
    return (
      kill?.held.has(d.outId) === true &&
      settled !== undefined &&
      settled.incarnation !== d.incarnation &&
      settled.receivedAt > kill.at
    )
  }
  /**
   * Per process, per message: the outcomes it logged as unknown for a reason that an
   * answer in time can have: a timeout, the sender's (`sender.timeout`) or the
   * dispatcher's own cut (`dispatcher.timeout`), read from the log line's `code`, the
   * same in either language, or a result it could not record before its lease
   * expired. An unknown outcome for any other reason (an OK misread, say) excuses no
   * second delivery.
   */
  const loggedTimeouts = run.incarnations.map((incarnation) => {
    const counts = new Map<string, number>()
    for (const line of (incarnation.process?.output() ?? "").split("\n")) {
      const timedOut =
        line.includes('"result":"Unknown"') && /"code":"(?:sender|dispatcher)\.timeout"/.test(line)
      if (!timedOut && !line.includes("sms result not recorded before its lease expired")) continue
      const id = /"messageId":"([^"]+)"/.exec(line)?.[1]
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1)
    }
    return counts
  })
  const t0 = run.provider.deliveries[0]?.receivedAt ?? 0
  const undelivered: Array<string> = []
  const notFromAnOk: Array<string> = []
  const unexplained: Array<string> = []
  const unfinished: Array<string> = []
  const uncounted: Array<string> = []
  const extraUncounted: Array<string> = []
  let extraCounted = 0
  let twice = 0
  let extraLost = 0
  let extraKilled = 0
  let extraTimedOut = 0
  const restDelays: Array<number> = []
  let unknownSeen = 0
  for (const row of run.rows) {
    const all = byOutId.get(row.id) ?? []
    const accepted = all.filter((d) => d.accepted)
    if (accepted.length === 0) undelivered.push(row.id)
    if (row.status !== "sent") unfinished.push(`${row.id} ${row.status}`)
    const settled = accepted.find(
      (d) => d.fate === "ok" && d.bizId !== null && d.bizId === row.provider_message_id
    )
    if (row.status === "sent" && settled === undefined)
      notFromAnOk.push(`${row.id} (${row.provider_message_id})`)
    if (accepted.length >= 2) twice += 1
    const extra = accepted.filter((d) => d !== settled).length
    extraCounted += extra
    if (row.unknown_outcomes < extra) extraUncounted.push(`${row.id} (${row.unknown_outcomes} < ${extra})`)
    const lost = all.filter((d) => d.fate === "dropped" || d.fate === "late")
    const lived = lost.filter((d) => killedAt(d.incarnation) === null).length
    unknownSeen += lived
    if (row.unknown_outcomes < lived) uncounted.push(`${row.id} (${row.unknown_outcomes} < ${lived})`)
    const rest = accepted.filter((d) => d !== settled && d.fate === "ok" && !killedBeforeSettling(d, settled))
    extraLost += accepted.filter((d) => d !== settled && (d.fate === "dropped" || d.fate === "late")).length
    extraKilled += accepted.filter(
      (d) => d !== settled && d.fate === "ok" && killedBeforeSettling(d, settled)
    ).length
    // (c): an answer in time that the process recorded as unknown, which it must have
    // logged as a timeout or a result not recorded in its lease (the timeouts its late
    // answers caused left out, where it lived to log them: a dropped answer is logged
    // as a failed connection, not a timeout); and the outbox must have counted it.
    let logged = 0
    for (const k of new Set(rest.map((d) => d.incarnation))) {
      const lostHere =
        killedAt(k) === null ? lost.filter((d) => d.incarnation === k && d.fate === "late").length : 0
      logged += Math.min(
        rest.filter((d) => d.incarnation === k).length,
        Math.max(0, (loggedTimeouts[k]?.get(row.id) ?? 0) - lostHere)
      )
    }
    const timedOut = Math.min(logged, Math.max(0, row.unknown_outcomes - lived))
    extraTimedOut += timedOut
    for (const d of rest) restDelays.push((d.answeredAt ?? d.receivedAt) - d.receivedAt)
    if (rest.length > timedOut) {
      unexplained.push(
        `${row.id} (${all.map((d) => `d${d.incarnation} ${d.fate} +${d.receivedAt - t0} ms`).join(", ")}; ${row.attempts} attempts, ${row.unknown_outcomes} unknown)`
      )
    }
  }
  const requests = run.provider.deliveries.length
  const fates = (fate: Fate) => run.provider.deliveries.filter((d) => d.fate === fate).length
  const sending = run.kills.reduce((n, k) => n + k.sending.length, 0)
  const leased = run.kills.reduce((n, k) => n + k.sendingLeased, 0)
  const answeredLeased = run.kills.filter((k) => k.answeredLeased && k.held.has(k.answered)).length
  const invariants: Array<Invariant> = [
    {
      name: "each kill hit a dispatcher holding claimed messages",
      holds: run.kills.length === run.planned && answeredLeased === run.kills.length,
      detail: `${run.kills.length} of ${run.planned} kills, each as the fake accepted a message from that process: that message still pending and leased in SQL under that process's claims after it died in ${answeredLeased}; ${int(leased)} of ${int(sending)} others it was sending too; ${run.kills.map((k) => k.held.size).join(", ")} held under its claims${sample([...run.missed, ...run.kills.filter((k) => !k.answeredLeased).map((k) => `d${k.incarnation}'s ${k.answered}: ${k.answeredState}`)])}`
    },
    {
      name: "every notification delivered at least once (by OutId)",
      holds: undelivered.length === 0,
      detail: `${int(run.total - undelivered.length)} of ${int(run.total)}${sample(undelivered)}`
    },
    {
      name: "each message settled sent from an OK the fake gave it",
      holds: notFromAnOk.length === 0,
      detail: `${int(notFromAnOk.length)} sent without a matching BizId${sample(notFromAnOk)}`
    },
    {
      name: "delivered twice only after an unknown outcome",
      holds: unexplained.length === 0,
      detail: `${int(twice)} messages delivered more than once; extra deliveries: ${int(extraLost)} after an answer the fake dropped or sent late, ${int(extraKilled)} after a kill between send and settle, ${int(extraTimedOut)} after an answer in time that the dispatcher logged as a timeout and counted unknown; ${int(unexplained.length)} messages otherwise${sample(unexplained, 2)}`
    },
    {
      name: "no message pending or dead at the end",
      holds: unfinished.length === 0 && run.rows.length === run.total,
      detail: `${int(run.rows.length - unfinished.length)} of ${int(run.total)} sent${sample(unfinished)}`
    },
    {
      name: "every delivery besides the settled one is counted as an unknown outcome in the outbox",
      holds: extraUncounted.length === 0,
      detail: `${int(extraCounted)} such deliveries (kills included: the claim taking over a dead process's lease counts its attempt), ${int(extraUncounted.length)} messages under-counted${sample(extraUncounted)}`
    },
    {
      name: "every unknown outcome a surviving dispatcher saw is counted",
      holds: uncounted.length === 0,
      detail: `${int(unknownSeen)} such outcomes, ${int(uncounted.length)} messages under-counted${sample(uncounted)}`
    }
  ]
  return {
    id: "F3",
    name: "failing SMS provider, dispatcher killed mid-batch",
    load: `${int(run.total)} messages, 30% failures, ${plural(run.kills.length, "kill")}, ${plural(run.options.instances, "instance")}`,
    invariants,
    details: [
      `${int(run.written)} messages written by use cases over HTTP, ${int(run.total - run.written)} SQL copies; seed ${seed}`,
      `fake Aliyun: ${int(requests)} signed requests (${int(run.provider.refused())} refused), ok ${pct(fates("ok"), requests)}, outage ${pct(fates("outage"), requests)}, throttled ${pct(fates("throttled"), requests)}, dropped ${pct(fates("dropped"), requests)}, late ${pct(fates("late"), requests)}`,
      `answers the fake gave in time that the dispatcher recorded as unknown, each logged by its process as a timeout (the sender's, or the dispatcher's own cut): ${int(extraTimedOut)}${restDelays.length === 0 ? "" : `; the fake wrote those answers ${Math.min(...restDelays)}–${Math.max(...restDelays)} ms after receiving the request`}`,
      `outbox: ${int(run.rows.reduce((n, r) => n + r.attempts, 0))} recorded attempts, ${int(run.rows.reduce((n, r) => n + r.unknown_outcomes, 0))} unknown outcomes recorded; ${run.incarnations.length} dispatcher processes`,
      `kills at +${run.kills.map((k) => `${((k.at - run.provider.deliveries[0]!.receivedAt) / 1000).toFixed(1)} s (d${k.incarnation}, ${k.sending.length + 1} in flight)`).join(", ")}`,
      `drained in ${(run.millis.drain / 1000).toFixed(1)} s after the dispatchers started; whole scenario ${(run.millis.all / 1000).toFixed(1)} s`
    ]
  }
}

// ---------------------------------------------------------------------------------
// F4

/**
 * F4: `kill -9` of the server under write load, then a restart on the same schema
 * (see the module documentation for the load and the invariants).
 */
export const runF4 = async (options: { readonly short: boolean }): Promise<Scenario> => {
  const kills = options.short ? 1 : 5
  const workers = options.short ? 6 : 12
  const phaseMillis = options.short ? 4_000 : 5_000
  const random = generator(seed + 4)
  const schema = freshSchema("rel_f4")
  const provider = await startProvider(random, 0)
  const env = aliyunEnv(`${provider.url}d0/`, true)
  const processes: Array<ServerProcess> = []
  const started = Date.now()
  let stopping = false
  try {
    let server = await startServer({ schema, env })
    processes.push(server)
    await trackTransactions(schema)
    let generation = 0
    let restarting = false
    const target: Target = {
      url: () => server.url,
      generation: () => generation,
      recover: async (from) => {
        if (generation === from && !restarting) {
          await sleep(100)
          return true
        }
        await until(() => generation !== from || stopping, 120_000, 20)
        return generation !== from
      }
    }
    const client = makeClient(target)
    const world = await setupWorld(client, schema, { enterprises: 6, responders: 12, institutions: 3 })

    const loop = async () => {
      while (!stopping) {
        if (random() < 0.75) await demandLife(client, world, random)
        else await commissionLife(client, world, random)
      }
    }
    const loadStarted = Date.now()
    const running = Array.from({ length: workers }, loop)
    const done: Array<{
      at: number
      inflight: number
      ops: string
      leased: number
      restartMillis: number
    }> = []
    // Up to three kills more when none of the planned ones left a notification under a
    // lease (a message is leased for milliseconds when the provider answers at once):
    // the outbox's recovery from a kill is then exercised whatever the machine's pace.
    const leftLeased = () => done.some((k) => k.leased > 0)
    for (let j = 1; j <= kills || (j <= kills + 3 && !leftLeased()); j++) {
      await sleep(phaseMillis)
      // The kill lands with writes in flight and, if it can, notifications under a
      // lease, so that the outbox's recovery after it is exercised too.
      await until(
        async () =>
          client.inflight.size >= 2 &&
          (await count(
            `SELECT count(*)::int AS n FROM ${table(schema)("outbox_message")}
             WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_until > now()`
          )) > 0,
        10_000,
        5
      )
      await until(() => client.inflight.size >= 2, 10_000, 1)
      const ops = new Map<string, number>()
      for (const x of client.inflight) ops.set(x.op, (ops.get(x.op) ?? 0) + 1)
      const inflight = client.inflight.size
      restarting = true
      server.child.kill("SIGKILL")
      const at = Date.now()
      await server.stop("SIGKILL")
      const leased = await count(
        `SELECT count(*)::int AS n FROM ${table(schema)("outbox_message")}
         WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_until > now()`
      )
      server = await startServer({ schema, env })
      processes.push(server)
      generation += 1
      restarting = false
      done.push({
        at,
        inflight,
        ops: [...ops].map(([op, n]) => `${op} ${n}`).join(", "),
        leased,
        restartMillis: Date.now() - at
      })
    }
    await sleep(phaseMillis)
    stopping = true
    await Promise.all(running)
    const loadMillis = Date.now() - loadStarted
    const drained = await until(
      async () =>
        (await count(
          `SELECT count(*)::int AS n FROM ${table(schema)("outbox_message")} WHERE status = 'pending'`
        )) === 0,
      120_000,
      200
    )
    await server.stop()
    return await judgeF4({
      schema,
      client,
      provider,
      kills: done,
      planned: kills,
      workers,
      drained,
      loadStarted,
      millis: { all: Date.now() - started, load: loadMillis }
    })
  } finally {
    stopping = true
    for (const server of processes) await server.stop("SIGKILL")
    await provider.close()
    await dropSchema(schema)
  }
}

/** The tables of the journal a unit of work writes beside its change (see {@link trackTransactions}). */
const journalTables = ["audit_event", "audit_event_member", "idempotency_record", "outbox_message"]

/**
 * Records, in a table of `schema`'s own, the top-level transaction of every row
 * inserted, updated or deleted in any table of it (row-level triggers: a statement
 * that changes no row records nothing; `pg_current_xact_id()` names the top-level
 * transaction inside a savepoint too), so that F4 can tell a journal row (an audit
 * event and its members, an idempotency record, an outbox message) written in a
 * transaction that changed nothing else, apart from the change it records — a
 * partial write a kill need not land in to be seen. Journal tables record their
 * inserts only (the dispatcher updates outbox messages in transactions of its own).
 * Installed once the server has migrated the schema, before any load.
 */
const trackTransactions = async (schema: string) => {
  const t = table(schema)
  await query(`CREATE TABLE ${t("zb_reliability_tx")} (tbl text NOT NULL, xid xid8 NOT NULL, what text)`)
  await query(`CREATE INDEX ON ${t("zb_reliability_tx")} (xid)`)
  await query(
    `CREATE FUNCTION ${t("zb_reliability_tx_log")}() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO ${t("zb_reliability_tx")}
         VALUES (TG_TABLE_NAME, pg_current_xact_id(), to_jsonb(coalesce(NEW, OLD))->>'action');
       RETURN NULL;
     END $$`
  )
  const all = await query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> 'zb_reliability_tx'`,
    [schema]
  )
  for (const { relname } of all) {
    await query(
      `CREATE TRIGGER zb_reliability_tx AFTER ${journalTables.includes(relname) ? "INSERT" : "INSERT OR UPDATE OR DELETE"}
       ON ${t(relname)} FOR EACH ROW EXECUTE FUNCTION ${t("zb_reliability_tx_log")}()`
    )
  }
}

/**
 * The journal rows written after {@link trackTransactions} in a transaction that
 * changed no other table, and how many transactions wrote journal rows.
 */
const journalApart = async (schema: string) => {
  const t = table(schema)
  const journal = `ARRAY[${journalTables.map((name) => `'${name}'`).join(", ")}]`
  const apart = await query<Row>(
    `SELECT j.tbl, coalesce(j.what, '') AS what, j.xid::text AS xid FROM ${t("zb_reliability_tx")} j
     WHERE j.tbl = ANY (${journal}) AND NOT EXISTS (
       SELECT 1 FROM ${t("zb_reliability_tx")} w WHERE w.xid = j.xid AND NOT (w.tbl = ANY (${journal})))`
  )
  const checked = await count(
    `SELECT count(DISTINCT xid)::int AS n FROM ${t("zb_reliability_tx")} WHERE tbl = ANY (${journal})`
  )
  return { apart, checked }
}

interface F4Run {
  readonly schema: string
  readonly client: Client
  readonly provider: Provider
  readonly kills: ReadonlyArray<{
    readonly at: number
    readonly inflight: number
    readonly ops: string
    readonly leased: number
    readonly restartMillis: number
  }>
  readonly planned: number
  readonly workers: number
  readonly drained: boolean
  readonly loadStarted: number
  readonly millis: { readonly all: number; readonly load: number }
}

type Row = Record<string, string>

/** The F4 invariants: SQL over the schema, and the client's log. */
const judgeF4 = async (run: F4Run): Promise<Scenario> => {
  const t = table(run.schema)
  const rows = (text: string, params: ReadonlyArray<unknown> = []) => query<Row>(text, params)
  const describe = (list: ReadonlyArray<Row>) => list.map((r) => Object.values(r).join(" "))

  const expectedAudit = `
    SELECT 'member' AS entity, id AS entity_id, ARRAY['member.created'] AS actions, NULL AS after FROM ${t("member")}
    UNION ALL SELECT 'member', id, ARRAY['institution.registered'], NULL FROM ${t("member")} WHERE registered
    UNION ALL SELECT 'account', id, ARRAY['account.created'], NULL FROM ${t("account")} WHERE id <> $1
    UNION ALL SELECT 'demand', id, ARRAY['demand.drafted'], NULL FROM ${t("demand")}
    UNION ALL SELECT 'demand', id, ARRAY['demand.submitted'], NULL FROM ${t("demand")} WHERE submitted_at IS NOT NULL
    UNION ALL SELECT 'demand', id, ARRAY['demand.approved'], 'published ' || number FROM ${t("demand")}
      WHERE number IS NOT NULL
    UNION ALL SELECT 'demand', id, ARRAY['selection.ended', 'selection.window_ended'], NULL FROM ${t("demand")}
      WHERE selection_ended_at IS NOT NULL
    UNION ALL SELECT 'response', id, ARRAY['response.submitted'], NULL FROM ${t("response")}
    UNION ALL SELECT 'response', id, ARRAY['response.' || status], NULL FROM ${t("response")}
      WHERE status IN ('adopted', 'not_adopted', 'withdrawn')
    UNION ALL SELECT 'response', id, ARRAY['response.feedback', 'response.not_adopted'], NULL FROM ${t("response")}
      WHERE feedback_reason IS NOT NULL
    UNION ALL SELECT 'thread', thread_id, ARRAY['message.' || side], seq::text FROM ${t("message")}
    UNION ALL SELECT 'commission', id, ARRAY['commission.requested'], NULL FROM ${t("commission")}
    UNION ALL SELECT 'commission', id, ARRAY['commission.active'], NULL FROM ${t("commission")}
      WHERE state IN ('active', 'ended')
    UNION ALL SELECT 'commission', id, ARRAY['commission.declined'], NULL FROM ${t("commission")} WHERE state = 'declined'
    UNION ALL SELECT 'commission', id, ARRAY['commission.ended'], NULL FROM ${t("commission")} WHERE state = 'ended'`
  const missingAudit = await rows(
    `WITH expected AS (${expectedAudit})
     SELECT e.entity, e.entity_id, e.actions[1] AS action FROM expected e
     WHERE NOT EXISTS (SELECT 1 FROM ${t("audit_event")} a WHERE a.entity = e.entity AND a.entity_id = e.entity_id
       AND a.action = ANY(e.actions) AND (e.after IS NULL OR a.after = e.after)
       AND (e.actions[1] <> 'response.feedback' OR a.action = 'response.feedback' OR a.reason IS NOT NULL))`,
    [operatorId]
  )
  const changes = await count(`SELECT count(*)::int AS n FROM (${expectedAudit}) e`, [operatorId])
  const orphanAudit = await rows(
    `SELECT a.id, a.entity, a.entity_id, a.action FROM ${t("audit_event")} a WHERE NOT CASE a.entity
       WHEN 'member' THEN EXISTS (SELECT 1 FROM ${t("member")} m WHERE m.id = a.entity_id
         AND (a.action = 'member.created' OR (a.action = 'institution.registered' AND m.registered)))
       WHEN 'account' THEN a.action = 'account.created' AND EXISTS (SELECT 1 FROM ${t("account")} x WHERE x.id = a.entity_id)
       WHEN 'demand' THEN EXISTS (SELECT 1 FROM ${t("demand")} d WHERE d.id = a.entity_id AND CASE a.action
         WHEN 'demand.drafted' THEN true
         WHEN 'demand.submitted' THEN d.submitted_at IS NOT NULL
         WHEN 'demand.approved' THEN a.after = 'published ' || d.number
         WHEN 'selection.ended' THEN d.selection_ended_at IS NOT NULL
         WHEN 'selection.window_ended' THEN d.selection_ended_at IS NOT NULL
         WHEN 'intake.closed' THEN d.intake_closed_at IS NOT NULL AND d.first_adopted_at IS NOT NULL
         ELSE false END)
       WHEN 'response' THEN EXISTS (SELECT 1 FROM ${t("response")} r WHERE r.id = a.entity_id AND CASE a.action
         WHEN 'response.submitted' THEN true
         WHEN 'response.adopted' THEN r.status = 'adopted'
         WHEN 'response.not_adopted' THEN r.status = 'not_adopted'
         WHEN 'response.withdrawn' THEN r.status = 'withdrawn'
         WHEN 'response.feedback' THEN r.feedback_reason IS NOT NULL OR r.status = 'adopted'
         ELSE false END)
       WHEN 'thread' THEN EXISTS (SELECT 1 FROM ${t("message")} m WHERE m.thread_id = a.entity_id
         AND m.seq::text = a.after AND a.action = 'message.' || m.side)
       WHEN 'commission' THEN EXISTS (SELECT 1 FROM ${t("commission")} c WHERE c.id = a.entity_id AND CASE a.action
         WHEN 'commission.requested' THEN true
         WHEN 'commission.active' THEN c.state IN ('active', 'ended')
         WHEN 'commission.declined' THEN c.state = 'declined'
         WHEN 'commission.ended' THEN c.state = 'ended'
         ELSE false END)
       ELSE false END
     UNION ALL
     SELECT min(a.id), a.entity, a.entity_id, a.action || ' ×' || count(*) FROM ${t("audit_event")} a
     WHERE a.action <> 'response.feedback'
     GROUP BY a.entity, a.entity_id, a.action, a.after HAVING count(*) > 1`
  )
  const auditEvents = await count(`SELECT count(*)::int AS n FROM ${t("audit_event")}`)

  const expectedOutbox = `
    SELECT 'demand_approved' AS event, 'demand_approved:' || d.id || '/' || d.round || ':' || a.phone AS dedupe
      FROM ${t("demand")} d JOIN ${t("account")} a ON a.id = d.created_by WHERE d.number IS NOT NULL
    UNION ALL SELECT DISTINCT 'response_received',
        'response_received:' || r.demand_id || '/' || r.round || '/' || r.responder_id || ':' || a.phone
      FROM ${t("response")} r JOIN ${t("demand")} d ON d.id = r.demand_id JOIN ${t("account")} a ON a.id = d.created_by
    UNION ALL SELECT 'response_' || r.status, 'response_' || r.status || ':' || r.id || ':' || a.phone
      FROM ${t("response")} r JOIN ${t("account")} a ON a.id = r.responder_account_id
      WHERE r.status IN ('adopted', 'not_adopted')
    UNION ALL SELECT 'consultation_message', 'consultation_message:' || m.id || ':' || a.phone
      FROM ${t("message")} m JOIN ${t("thread")} th ON th.id = m.thread_id JOIN ${t("demand")} d ON d.id = th.demand_id
      JOIN ${t("account")} a ON a.id = d.created_by WHERE m.side = 'responder'
        AND NOT EXISTS (SELECT 1 FROM ${t("message")} p
          WHERE p.thread_id = m.thread_id AND p.seq = m.seq - 1 AND p.side = 'responder'
            AND NOT EXISTS (SELECT 1 FROM ${t("audit_event")} e WHERE e.entity_id = d.id
              AND e.action = 'demand.approved' AND e.at > p.at AND e.at <= m.at))
    UNION ALL SELECT DISTINCT 'commission_requested', 'commission_requested:' || c.enterprise_id || '/'
        || c.institution_id || '/' || to_char(c.created_at AT TIME ZONE '${Settings.defaults.timeZone}', 'YYYY-MM-DD')
        || ':' || a.phone
      FROM ${t("commission")} c JOIN ${t("account")} a ON a.member_id = c.institution_id AND a.active
    UNION ALL SELECT 'commission_' || CASE WHEN c.state = 'declined' THEN 'declined' ELSE 'accepted' END,
        'commission_' || CASE WHEN c.state = 'declined' THEN 'declined' ELSE 'accepted' END || ':' || c.id || ':' || a.phone
      FROM ${t("commission")} c JOIN ${t("account")} a ON a.member_id = c.enterprise_id AND a.active
      WHERE c.state IN ('active', 'ended', 'declined')`
  const missingOutbox = await rows(
    `WITH expected AS (${expectedOutbox})
     SELECT e.event, e.dedupe FROM expected e
     WHERE NOT EXISTS (SELECT 1 FROM ${t("outbox_message")} o WHERE o.dedupe_key = e.dedupe AND o.event = e.event)`
  )
  const orphanOutbox = await rows(
    `WITH expected AS (${expectedOutbox})
     SELECT o.id, o.event, o.dedupe_key FROM ${t("outbox_message")} o
     WHERE NOT EXISTS (SELECT 1 FROM expected e WHERE e.dedupe = o.dedupe_key AND e.event = o.event)
       AND NOT (o.event = 'response_not_adopted' AND EXISTS (SELECT 1 FROM ${t("response")} r
         JOIN ${t("account")} a ON a.id = r.responder_account_id
         WHERE r.status = 'not_adopted' AND r.feedback_reason IS NOT NULL
           AND o.dedupe_key = 'response_not_adopted:' || r.id || ':feedback:' || a.phone))`
  )
  const notifying = await count(`SELECT count(*)::int AS n FROM (${expectedOutbox}) e`)

  const records = `
    SELECT account_id, key, split_part(fingerprint, ':', 1) AS command, result->>'id' AS id,
      result->'message'->>'id' AS message_id, result->>'number' AS number FROM ${t("idempotency_record")}`
  const recordsWithoutWork = await rows(
    `WITH r AS (${records})
     SELECT r.command, r.key, coalesce(r.id, r.message_id) AS id FROM r WHERE NOT CASE r.command
       WHEN 'createMember' THEN EXISTS (SELECT 1 FROM ${t("member")} m WHERE m.id = r.id)
       WHEN 'registerInstitution' THEN EXISTS (SELECT 1 FROM ${t("member")} m WHERE m.id = r.id AND m.registered)
       WHEN 'createAccount' THEN EXISTS (SELECT 1 FROM ${t("account")} a WHERE a.id = r.id)
       WHEN 'draftDemand' THEN EXISTS (SELECT 1 FROM ${t("demand")} d WHERE d.id = r.id)
       WHEN 'submitDemand' THEN EXISTS (SELECT 1 FROM ${t("demand")} d WHERE d.id = r.id AND d.submitted_at IS NOT NULL)
       WHEN 'approveDemand' THEN EXISTS (SELECT 1 FROM ${t("demand")} d WHERE d.id = r.id AND d.number = r.number)
       WHEN 'endSelection' THEN EXISTS (SELECT 1 FROM ${t("demand")} d WHERE d.id = r.id AND d.selection_ended_at IS NOT NULL)
       WHEN 'respond' THEN EXISTS (SELECT 1 FROM ${t("response")} x WHERE x.id = r.id)
       WHEN 'adopt' THEN EXISTS (SELECT 1 FROM ${t("response")} x WHERE x.id = r.id AND x.status = 'adopted')
       WHEN 'giveFeedback' THEN EXISTS (SELECT 1 FROM ${t("response")} x WHERE x.id = r.id AND x.feedback_reason IS NOT NULL)
       WHEN 'ask' THEN EXISTS (SELECT 1 FROM ${t("message")} m WHERE m.id = r.message_id)
       WHEN 'askResponder' THEN EXISTS (SELECT 1 FROM ${t("message")} m WHERE m.id = r.message_id)
       WHEN 'reply' THEN EXISTS (SELECT 1 FROM ${t("message")} m WHERE m.id = r.message_id)
       WHEN 'requestCommission' THEN EXISTS (SELECT 1 FROM ${t("commission")} c WHERE c.id = r.id)
       WHEN 'acceptCommission' THEN EXISTS (SELECT 1 FROM ${t("commission")} c WHERE c.id = r.id AND c.state IN ('active', 'ended'))
       WHEN 'declineCommission' THEN EXISTS (SELECT 1 FROM ${t("commission")} c WHERE c.id = r.id AND c.state = 'declined')
       WHEN 'endCommission' THEN EXISTS (SELECT 1 FROM ${t("commission")} c WHERE c.id = r.id AND c.state = 'ended')
       ELSE false END`
  )
  const workWithoutRecord = await rows(
    `WITH r AS (${records}), work (command, id) AS (
       SELECT 'createMember', id FROM ${t("member")}
       UNION ALL SELECT 'registerInstitution', id FROM ${t("member")} WHERE registered
       UNION ALL SELECT 'createAccount', id FROM ${t("account")} WHERE id <> $1
       UNION ALL SELECT 'draftDemand', id FROM ${t("demand")}
       UNION ALL SELECT 'submitDemand', id FROM ${t("demand")} WHERE submitted_at IS NOT NULL
       UNION ALL SELECT 'approveDemand', id FROM ${t("demand")} WHERE number IS NOT NULL
       UNION ALL SELECT 'endSelection', id FROM ${t("demand")} WHERE selection_ended_at IS NOT NULL
       UNION ALL SELECT 'respond', id FROM ${t("response")}
       UNION ALL SELECT 'adopt', id FROM ${t("response")} WHERE status = 'adopted'
       UNION ALL SELECT 'message', id FROM ${t("message")}
       UNION ALL SELECT 'requestCommission', id FROM ${t("commission")}
       UNION ALL SELECT 'acceptCommission', id FROM ${t("commission")} WHERE state IN ('active', 'ended')
       UNION ALL SELECT 'declineCommission', id FROM ${t("commission")} WHERE state = 'declined'
       UNION ALL SELECT 'endCommission', id FROM ${t("commission")} WHERE state = 'ended')
     SELECT w.command, w.id FROM work w WHERE NOT EXISTS (SELECT 1 FROM r WHERE
       CASE WHEN w.command = 'message' THEN r.command IN ('ask', 'askResponder', 'reply') AND r.message_id = w.id
         ELSE r.command = w.command AND r.id = w.id END)`,
    [operatorId]
  )
  const recordCount = await count(`SELECT count(*)::int AS n FROM ${t("idempotency_record")}`)

  const numbering = await rows(
    `SELECT n.year, count(*)::int AS n, count(DISTINCT n.seq)::int AS distinct_numbers, min(n.seq) AS low,
       max(n.seq) AS high, min(c.last) AS counter
     FROM (SELECT substr(number, 3, 4)::int AS year, substr(number, 7)::int AS seq FROM ${t("demand")}
           WHERE number IS NOT NULL) n
     LEFT JOIN ${t("demand_number_counter")} c ON c.prefix = 'ZB' AND c.year = n.year
     GROUP BY n.year`
  )
  const gaps = numbering.filter(
    (r) =>
      Number(r.low) !== 1 ||
      Number(r.high) !== Number(r.n) ||
      Number(r.distinct_numbers) !== Number(r.n) ||
      Number(r.counter) !== Number(r.high)
  )
  const numbered = numbering.reduce((n, r) => n + Number(r.n), 0)

  const counters = await rows(
    `SELECT 'demand' AS what, d.id, d.response_count || '/' || count(r.id) FILTER (WHERE r.status <> 'withdrawn') AS responses,
       d.adopted_count || '/' || count(r.id) FILTER (WHERE r.status = 'adopted') AS adopted
     FROM ${t("demand")} d LEFT JOIN ${t("response")} r ON r.demand_id = d.id
     GROUP BY d.id HAVING d.response_count <> count(r.id) FILTER (WHERE r.status <> 'withdrawn')
       OR d.adopted_count <> count(r.id) FILTER (WHERE r.status = 'adopted')
       OR (d.adopted_count > 0 AND (d.intake_closed_at IS NULL OR d.first_adopted_at IS NULL))
     UNION ALL
     SELECT 'thread', th.id, th.message_count || '/' || count(m.id), coalesce(max(m.seq), 0)::text
     FROM ${t("thread")} th LEFT JOIN ${t("message")} m ON m.thread_id = th.id
     GROUP BY th.id HAVING th.message_count <> count(m.id) OR th.message_count <> coalesce(max(m.seq), 0)`
  )

  const journal = await journalApart(run.schema)

  const recordRows = await rows(records)
  const recordOf = new Map(recordRows.map((r) => [`${r.account_id} ${r.key}`, r]))
  const log = run.client.log
  const firstKill = run.kills[0]?.at ?? Number.POSITIVE_INFINITY
  const answered = log.filter(ok)
  const absent: Array<string> = []
  for (const x of answered) {
    const record = recordOf.get(`${x.account} ${x.key}`)
    const id = x.op === "ask" || x.op === "reply" ? x.result?.message?.id : x.result?.id
    const recorded = x.op === "ask" || x.op === "reply" ? record?.message_id : record?.id
    if (record === undefined || id === undefined || recorded !== id) absent.push(`${x.op} ${x.key}`)
  }
  const beforeKill = answered.filter((x) => x.answeredAt! < firstKill).length

  const adoptedAt = new Map<string, number>()
  for (const x of answered) {
    if (x.op === "adopt" && x.demandId !== null)
      adoptedAt.set(
        x.demandId,
        Math.min(adoptedAt.get(x.demandId) ?? Number.POSITIVE_INFINITY, x.answeredAt!)
      )
  }
  const late = log.filter(
    (x) =>
      x.op === "respond" &&
      x.demandId !== null &&
      x.firstSentAt > (adoptedAt.get(x.demandId) ?? Number.POSITIVE_INFINITY)
  )
  const acceptedLate = late.filter((x) => ok(x) || recordOf.has(`${x.account} ${x.key}`))

  const outboxState = await rows(`SELECT id, status FROM ${t("outbox_message")} o`)
  const deliveredIds = new Set(run.provider.deliveries.filter((d) => d.accepted).map((d) => d.outId))
  const unsent = outboxState.filter((r) => r.status !== "sent").map((r) => `${r.id} ${r.status}`)
  const neverReached = outboxState.filter((r) => !deliveredIds.has(r.id!)).map((r) => r.id!)

  const statuses = new Map<string, number>()
  for (const x of log) {
    const key = x.status === null ? "no answer" : String(x.status)
    statuses.set(key, (statuses.get(key) ?? 0) + 1)
  }
  const retried = log.filter((x) => x.cut > 0)
  /** An answer the load may get: 2xx, the domain's refusal (409), or a 503 that did nothing. */
  const expected = (x: Exchange) =>
    ok(x) ||
    (x.status === 409 && x.result?._tag === "InvalidState") ||
    (x.status === 503 && x.cut === 0 && !recordOf.has(`${x.account} ${x.key}`))
  const unexpected = log.filter((x) => !expected(x))
  const invariants: Array<Invariant> = [
    {
      name: "each kill hit writes in flight",
      holds: run.kills.length >= run.planned && run.kills.every((k) => k.inflight > 0),
      detail: `${run.kills.length} kills (${run.planned} planned; more when none left a notification leased); in flight: ${run.kills.map((k) => k.inflight).join(", ")}`
    },
    {
      name: "every change has its audit event (R60)",
      holds: missingAudit.length === 0,
      detail: `${int(missingAudit.length)} of ${int(changes)} changes without one${sample(describe(missingAudit))}`
    },
    {
      name: "no audit event without its change, none twice",
      holds: orphanAudit.length === 0,
      detail: `${int(orphanAudit.length)} of ${int(auditEvents)} events${sample(describe(orphanAudit))}`
    },
    {
      name: "every notifying change has its outbox message (R25, R61, R64)",
      holds: missingOutbox.length === 0,
      detail: `${int(missingOutbox.length)} of ${int(notifying)} notifications missing${sample(describe(missingOutbox))}`
    },
    {
      name: "no outbox message without its change",
      holds: orphanOutbox.length === 0,
      detail: `${int(orphanOutbox.length)} of ${int(outboxState.length)} messages${sample(describe(orphanOutbox))}`
    },
    {
      name: "every journal row committed with its change (audit event and its members, idempotency record, outbox message)",
      holds: journal.apart.length === 0 && journal.checked > 0,
      detail: `${int(journal.checked)} transactions wrote journal rows, ${int(journal.apart.length)} rows in one that changed nothing else${sample(describe(journal.apart))}`
    },
    {
      name: "idempotency records match committed work (R63)",
      holds: recordsWithoutWork.length === 0 && workWithoutRecord.length === 0,
      detail: `${int(recordCount)} records: ${int(recordsWithoutWork.length)} without their work, ${int(workWithoutRecord.length)} changes without their record${sample(describe([...recordsWithoutWork, ...workWithoutRecord]))}`
    },
    {
      name: "demand numbers have no gaps (R12)",
      holds: gaps.length === 0,
      detail: `${int(numbered)} numbers${numbering.map((r) => `, ${r.year}: ${r.low}…${r.high} (counter ${r.counter})`).join("")}`
    },
    {
      name: "no response accepted after an acknowledged adoption (R24, R26)",
      holds: acceptedLate.length === 0,
      detail: `${int(late.length)} responses sent after their demand's adoption was answered, ${int(acceptedLate.length)} accepted${sample(acceptedLate.map((x) => x.key))}`
    },
    {
      name: "demand and thread counters match their rows",
      holds: counters.length === 0,
      detail: `${int(counters.length)} mismatches${sample(describe(counters))}`
    },
    {
      name: "every command answered: 2xx, the domain's 409, or a 503 that did nothing; none 5xx, none lost",
      holds: unexpected.length === 0,
      detail: `${int(log.length)} commands (${int(retried.length)} cut by a kill and re-sent with their key, ${int(retried.filter(ok).length)} of them answered 2xx), ${int(unexpected.length)} otherwise${sample(unexpected.map((x) => `${x.op} ${x.status ?? x.error} ${x.result?.code ?? ""}`.trim()))}`
    },
    {
      name: "every request answered 2xx is fully present",
      holds: absent.length === 0,
      detail: `${int(answered.length)} answered 2xx (${int(beforeKill)} before the first kill), ${int(absent.length)} absent${sample(absent)}`
    },
    {
      name: "the outbox resumes: every message sent after the restarts, those a kill left leased included",
      holds:
        run.drained &&
        unsent.length === 0 &&
        neverReached.length === 0 &&
        run.kills.some((k) => k.leased > 0),
      detail: `${int(outboxState.length - unsent.length)} of ${int(outboxState.length)} sent, ${int(neverReached.length)} never reached the provider; left leased by the kills: ${run.kills.map((k) => k.leased).join(", ")}${sample([...unsent, ...neverReached])}`
    }
  ]
  return {
    id: "F4",
    name: "kill -9 of the server under write load",
    load: `${run.workers} concurrent writers, ${int(log.length)} commands, ${plural(run.kills.length, "kill")}`,
    invariants,
    details: [
      `answers: ${[...statuses].map(([status, n]) => `${status} ×${int(n)}`).join(", ")}; seed ${seed}`,
      ...run.kills.map(
        (k, i) =>
          `kill ${i + 1} at +${((k.at - run.loadStarted) / 1000).toFixed(1)} s of load: ${k.inflight} in flight (${k.ops}); ${k.leased} outbox messages left leased; restarted in ${(k.restartMillis / 1000).toFixed(1)} s`
      ),
      `load ${(run.millis.load / 1000).toFixed(1)} s; whole scenario ${(run.millis.all / 1000).toFixed(1)} s`
    ]
  }
}

// ---------------------------------------------------------------------------------

const main = async () => {
  const short = process.argv.includes("--short")
  const scenarios: Array<Scenario> = []
  for (const run of [
    () => runF3({ short, instances: 1 }),
    () => runF3({ short, instances: 2 }),
    () => runF4({ short })
  ]) {
    const scenario = await run()
    scenarios.push(scenario)
    console.log(scenariosTable([scenario]))
    for (const line of scenario.details ?? []) console.log(`- ${line}`)
  }
  console.log(`\n${scenariosTable(scenarios)}`)
  if (scenarios.some((s) => s.invariants.some((i) => !i.holds))) process.exitCode = 1
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main()
