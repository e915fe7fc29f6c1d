/**
 * The authorization matrix: every endpoint × every role × someone else's resource →
 * the expected status, asserted cell by cell. Zero leaks, asserted two ways:
 * - every `404` cell answers exactly what the same request on an id that does not
 *   exist answers (status and code), so a resource one may not see is
 *   indistinguishable from one that is not there (R5);
 * - no response to a role carries a secret that role may not see (a draft's title,
 *   a proposal, a consultation message, a file's name, bank details), whatever its
 *   status.
 * Within a row the resource's rightful actor goes last, so the others are checked
 * against the resource before it changes; rows whose command changes state get a
 * fresh resource.
 */
import { assert, describe, layer } from "@effect/vitest"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import {
  Commissioning,
  Consulting,
  Deadline,
  Files,
  type Ids,
  Membership,
  Outcome,
  type Persistence,
  Persistence as Ports,
  Publishing,
  Reward,
  Rewards,
  Responding,
  Selection,
  Settings
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, type Layer, Option } from "effect"
import { allEndpoints } from "./contract.js"
import { type Env, makeServer, tokenFor } from "./harness.js"

const roles = ["anonymous", "unrelated", "responder", "client", "operator", "publisher"] as const
type Role = (typeof roles)[number]

const SECRET = {
  draftTitle: "机密草稿需求甲",
  proposal: "机密应答方案乙",
  message: "机密咨询内容丙",
  fileName: "机密证明丁.pdf",
  bank: "6217000099990000"
} as const

/** The secrets each role must never receive. */
const outsiderOf: Record<Role, ReadonlyArray<string>> = {
  anonymous: Object.values(SECRET),
  unrelated: Object.values(SECRET),
  responder: [SECRET.draftTitle, SECRET.fileName, SECRET.bank],
  client: [SECRET.proposal, SECRET.message, SECRET.fileName, SECRET.bank],
  operator: [],
  publisher: []
}

interface Req {
  readonly method: "GET" | "POST" | "PUT"
  readonly path: string
  readonly body?: unknown
  readonly form?: () => FormData
}

interface Row {
  readonly endpoint: string
  readonly label?: string
  readonly expect: Partial<Record<Role, number>>
  readonly request: (s: Scenario) => Effect.Effect<Req, unknown, Env>
  /** Requests of particular roles, when theirs differs (an institution's form names its manager). */
  readonly requestAs?: Partial<Record<Role, (s: Scenario) => Effect.Effect<Req, unknown, Env>>>
  /**
   * The code a hidden part of a public demand answers with (its responses, service log
   * or trail): the demand is no secret, so its part's `404` names the part, and a
   * missing demand's `demand.not_found`.
   */
  readonly partOfPublic?: string
}

interface Scenario {
  readonly world: Fixtures.World
  readonly tokens: Record<Role, string | null>
  readonly published: { demandId: Ids.DemandId; responseId: Ids.ResponseId; threadId: Ids.ThreadId }
  readonly draftId: Ids.DemandId
  readonly fileId: Ids.FileId
  readonly solvedId: Ids.DemandId
  readonly roundId: Reward.RewardRoundId
  readonly applicationId: Reward.RewardApplicationId
}

const NOPE = "01900000-0000-7000-8000-000000000000"

const form = (w: Fixtures.World, overrides: Record<string, unknown> = {}) =>
  Fixtures.form({ ...Fixtures.onBehalf(w, w.enterprise.member.id), ...overrides })

const creditCode = (() => {
  const first17 = "91120116MA05JQ1X2"
  return `${first17}${Reward.creditCodeCheckCharacter(first17)}`
})()

const pdf = (text: string) => new TextEncoder().encode(`%PDF-1.4\n% ${text}\n%%EOF\n`)

/** A demand the institution publishes for the enterprise, with the expert's response and thread. */
const freshPublished = (w: Fixtures.World) =>
  Effect.gen(function* () {
    const demand = yield* Fixtures.publish(
      w,
      w.institution.account,
      Fixtures.onBehalf(w, w.enterprise.member.id)
    )
    const responding = yield* Responding.Responding
    const consulting = yield* Consulting.Consulting
    const response = yield* responding.respond(w.expert.account, {
      demandId: demand.id,
      proposal: { title: SECRET.proposal, content: `${SECRET.proposal}：卷对卷工艺` }
    })
    const posted = yield* consulting.ask(w.expert.account, { demandId: demand.id, text: SECRET.message })
    return { demandId: demand.id, responseId: response.id, threadId: posted.thread.id }
  })

const freshRound = (w: Fixtures.World) =>
  Effect.gen(function* () {
    const rewards = yield* Rewards.Rewards
    const s = yield* Settings.Settings
    const day = Deadline.dateAt(yield* DateTime.now, s)
    return yield* rewards.openRound(w.operator, {
      title: "年度奖励",
      rules: "规则",
      periodStart: Deadline.addDays(day, -30),
      periodEnd: Deadline.addDays(day, 30),
      applicationDeadline: Deadline.addDays(day, 10)
    })
  })

/** A demand the institution solved, for one application (R52: a demand is claimed by one submitted application). */
const freshSolved = (w: Fixtures.World) =>
  Effect.gen(function* () {
    const demand = yield* Fixtures.publish(
      w,
      w.institution.account,
      Fixtures.onBehalf(w, w.enterprise.member.id)
    )
    const solved = yield* (yield* Outcome.Outcome).solved(w.institution.account, {
      demandId: demand.id,
      serviceFee: 100
    })
    return solved.id
  })

const freshApplication = (s: Scenario, submit: boolean) =>
  Effect.gen(function* () {
    const rewards = yield* Rewards.Rewards
    const round = yield* freshRound(s.world)
    const application = yield* rewards.draft(s.world.institution.account, {
      roundId: round.id,
      items: [{ demandId: yield* freshSolved(s.world), proofs: [s.fileId] }]
    })
    if (submit) yield* rewards.submit(s.world.institution.account, { applicationId: application.id })
    return application.id
  })

const freshCommission = (s: Scenario, accept: boolean) =>
  Effect.gen(function* () {
    const membership = yield* Membership.Membership
    const commissioning = yield* Commissioning.Commissioning
    const w = s.world
    const member = yield* membership.createMember(w.operator, { kind: "enterprise", name: "新委托企业" })
    const account = yield* membership.createAccount(w.operator, {
      memberId: member.id,
      name: "联系人",
      phone: Fixtures.nextPhone()
    })
    const c = yield* commissioning.request(account.id, {
      institutionId: w.institution.member.id,
      message: "委托"
    })
    if (accept) yield* commissioning.accept(w.institution.account, { commissionId: c.id })
    return c.id
  })

const all = (status: number): Partial<Record<Role, number>> =>
  Object.fromEntries(roles.map((r) => [r, status]))

const signed = (status: number, anonymous = 401) => ({ ...all(status), anonymous })

const operatorOnly = (ok: number) => ({
  anonymous: 401,
  unrelated: 403,
  responder: 403,
  client: 403,
  publisher: 403,
  operator: ok
})

const get = (path: string): Req => ({ method: "GET", path })
const post = (path: string, body: unknown = {}): Req => ({ method: "POST", path, body })
const put = (path: string, body: unknown): Req => ({ method: "PUT", path, body })
const ok = (req: Req) => Effect.succeed(req)

const rows: ReadonlyArray<Row> = [
  {
    endpoint: "hall.list",
    expect: all(200),
    request: () => ok(get("/hall?keyword=%E7%9F%B3%E5%A2%A8%E7%83%AF"))
  },
  { endpoint: "hall.institutions", expect: all(200), request: () => ok(get("/institutions")) },
  { endpoint: "settings.get", expect: all(200), request: () => ok(get("/settings")) },
  { endpoint: "rewards.rounds", expect: all(200), request: () => ok(get("/reward-rounds")) },
  {
    endpoint: "rewards.round",
    expect: all(200),
    request: (s) => ok(get(`/reward-rounds/${s.roundId}`))
  },
  {
    endpoint: "demands.get",
    label: "published",
    expect: all(200),
    request: (s) => ok(get(`/demands/${s.published.demandId}`))
  },
  {
    endpoint: "demands.get",
    label: "draft",
    expect: { anonymous: 404, unrelated: 404, responder: 404, client: 200, operator: 200, publisher: 200 },
    request: (s) => ok(get(`/demands/${s.draftId}`))
  },
  {
    endpoint: "demands.draft",
    expect: { anonymous: 401, responder: 403, operator: 403, unrelated: 201, client: 201, publisher: 201 },
    request: () => Effect.map(Fixtures.form(), (f) => post("/demands", f)),
    requestAs: { publisher: (s) => Effect.map(form(s.world), (f) => post("/demands", f)) }
  },
  {
    endpoint: "demands.edit",
    expect: { anonymous: 401, unrelated: 404, responder: 404, client: 403, operator: 403, publisher: 200 },
    request: (s) =>
      Effect.map(form(s.world, { title: SECRET.draftTitle }), (f) =>
        put(`/demands/${s.draftId}/form`, { form: f })
      )
  },
  {
    endpoint: "demands.submit",
    expect: { anonymous: 401, unrelated: 404, responder: 404, client: 403, operator: 403, publisher: 200 },
    request: (s) =>
      Effect.gen(function* () {
        const publishing = yield* Publishing.Publishing
        const d = yield* publishing.draft(
          s.world.institution.account,
          yield* form(s.world, { title: SECRET.draftTitle })
        )
        return post(`/demands/${d.id}/submit`)
      })
  },
  {
    endpoint: "demands.mine",
    expect: { ...signed(200), operator: 403 },
    request: () => ok(get("/my/demands"))
  },
  { endpoint: "review.pending", expect: operatorOnly(200), request: () => ok(get("/review/pending")) },
  ...(["approve", "reject"] as const).map(
    (action): Row => ({
      endpoint: `review.${action}`,
      expect: operatorOnly(200),
      request: (s) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const d = yield* publishing.draft(
            s.world.institution.account,
            yield* form(s.world, { title: SECRET.draftTitle })
          )
          yield* publishing.submit(s.world.institution.account, { demandId: d.id })
          return post(`/review/demands/${d.id}/${action}`, action === "reject" ? { reason: "请补充" } : {})
        })
    })
  ),
  {
    endpoint: "responses.respond",
    expect: { anonymous: 401, operator: 403, publisher: 403, client: 403, unrelated: 201, responder: 409 },
    request: (s) =>
      ok(post(`/demands/${s.published.demandId}/responses`, { proposal: { title: "方案", content: "内容" } }))
  },
  {
    endpoint: "responses.get",
    expect: { anonymous: 401, unrelated: 404, client: 404, responder: 200, operator: 200, publisher: 200 },
    request: (s) => ok(get(`/responses/${s.published.responseId}`))
  },
  {
    endpoint: "responses.revise",
    expect: { anonymous: 401, unrelated: 404, client: 404, operator: 403, publisher: 403, responder: 200 },
    request: (s) =>
      ok(
        put(`/responses/${s.published.responseId}/proposal`, {
          proposal: { title: SECRET.proposal, content: SECRET.proposal }
        })
      )
  },
  {
    endpoint: "responses.withdraw",
    expect: { anonymous: 401, unrelated: 404, client: 404, operator: 403, publisher: 403, responder: 200 },
    request: (s) => Effect.map(freshPublished(s.world), (p) => post(`/responses/${p.responseId}/withdraw`))
  },
  {
    endpoint: "responses.adopt",
    expect: { anonymous: 401, unrelated: 404, client: 404, responder: 403, operator: 403, publisher: 200 },
    request: (s) => Effect.map(freshPublished(s.world), (p) => post(`/responses/${p.responseId}/adopt`))
  },
  {
    endpoint: "responses.feedback",
    expect: { anonymous: 401, unrelated: 404, client: 404, responder: 403, operator: 403, publisher: 200 },
    request: (s) =>
      ok(post(`/responses/${s.published.responseId}/feedback`, { feedback: { reason: "not_relevant" } }))
  },
  {
    endpoint: "responses.endSelection",
    expect: { anonymous: 401, unrelated: 403, responder: 403, client: 403, operator: 403, publisher: 200 },
    request: (s) =>
      Effect.gen(function* () {
        const p = yield* freshPublished(s.world)
        // Intake closes with the first adoption (R24); selection can end after that (R20).
        yield* (yield* Selection.Selection).adopt(s.world.institution.account, { responseId: p.responseId })
        return post(`/demands/${p.demandId}/selection/end`, {})
      })
  },
  {
    endpoint: "responses.ofDemand",
    expect: { anonymous: 401, unrelated: 404, responder: 404, client: 404, operator: 200, publisher: 200 },
    partOfPublic: "demand_responses.not_found",
    request: (s) => ok(get(`/demands/${s.published.demandId}/responses`))
  },
  {
    endpoint: "responses.mine",
    expect: { ...signed(200), operator: 403 },
    request: () => ok(get("/my/responses"))
  },
  {
    endpoint: "responses.toMe",
    expect: { ...signed(200), operator: 403 },
    request: () => ok(get("/my/received-responses"))
  },
  {
    endpoint: "consultations.ask",
    expect: { anonymous: 401, operator: 403, publisher: 403, client: 403, unrelated: 201, responder: 201 },
    request: (s) => ok(post(`/demands/${s.published.demandId}/consultations`, { text: "请问" }))
  },
  {
    endpoint: "consultations.askResponder",
    expect: { anonymous: 401, unrelated: 404, client: 404, operator: 403, responder: 403, publisher: 201 },
    request: (s) => ok(post(`/responses/${s.published.responseId}/consultations`, { text: "请补充数据" }))
  },
  {
    endpoint: "consultations.threads",
    expect: signed(200),
    request: (s) => ok(get(`/demands/${s.published.demandId}/consultations`))
  },
  {
    endpoint: "consultations.reply",
    expect: { anonymous: 401, unrelated: 404, client: 404, operator: 403, responder: 201, publisher: 201 },
    request: (s) => ok(post(`/consultations/${s.published.threadId}/messages`, { text: "回复" }))
  },
  {
    endpoint: "consultations.messages",
    expect: { anonymous: 401, unrelated: 404, client: 404, operator: 200, responder: 200, publisher: 200 },
    request: (s) => ok(get(`/consultations/${s.published.threadId}/messages`))
  },
  {
    endpoint: "serviceLog.append",
    expect: { anonymous: 401, unrelated: 403, responder: 403, client: 403, operator: 403, publisher: 201 },
    request: (s) =>
      Effect.gen(function* () {
        const day = Deadline.dateAt(yield* DateTime.now, yield* Settings.Settings)
        return post(`/demands/${s.published.demandId}/service-log`, { entry: { date: day, text: "对接" } })
      })
  },
  {
    endpoint: "serviceLog.list",
    expect: { anonymous: 401, unrelated: 404, responder: 404, client: 200, operator: 200, publisher: 200 },
    partOfPublic: "service_log.not_found",
    request: (s) => ok(get(`/demands/${s.published.demandId}/service-log`))
  },
  ...(["solved", "unsolved"] as const).map(
    (outcome): Row => ({
      endpoint: `serviceLog.${outcome}`,
      expect: { anonymous: 401, unrelated: 403, responder: 403, client: 403, operator: 403, publisher: 200 },
      request: (s) =>
        Effect.map(freshPublished(s.world), (p) =>
          post(`/demands/${p.demandId}/outcome/${outcome}`, outcome === "solved" ? { serviceFee: 100 } : {})
        )
    })
  ),
  {
    endpoint: "serviceLog.restart",
    expect: { anonymous: 401, unrelated: 403, responder: 403, client: 403, operator: 403, publisher: 409 },
    request: (s) =>
      Effect.map(form(s.world), (f) => post(`/demands/${s.published.demandId}/restart`, { form: f }))
  },
  {
    endpoint: "commissions.request",
    expect: { anonymous: 401, responder: 403, publisher: 403, operator: 403, client: 409, unrelated: 201 },
    request: (s) =>
      ok(post("/commissions", { institutionId: s.world.institution.member.id, message: "委托" }))
  },
  ...(["accept", "decline"] as const).map(
    (action): Row => ({
      endpoint: `commissions.${action}`,
      expect: { anonymous: 401, unrelated: 404, responder: 404, client: 404, operator: 404, publisher: 200 },
      request: (s) => Effect.map(freshCommission(s, false), (id) => post(`/commissions/${id}/${action}`))
    })
  ),
  {
    endpoint: "commissions.end",
    expect: { anonymous: 401, unrelated: 404, responder: 404, client: 404, operator: 404, publisher: 200 },
    request: (s) => Effect.map(freshCommission(s, true), (id) => post(`/commissions/${id}/end`))
  },
  { endpoint: "commissions.list", expect: signed(200), request: () => ok(get("/commissions")) },
  {
    endpoint: "rewards.openRound",
    expect: operatorOnly(201),
    request: () =>
      Effect.gen(function* () {
        const day = Deadline.dateAt(yield* DateTime.now, yield* Settings.Settings)
        return post("/reward-rounds", {
          title: "批次",
          rules: "规则",
          periodStart: day,
          periodEnd: day,
          applicationDeadline: day
        })
      })
  },
  {
    endpoint: "rewards.closeRound",
    expect: operatorOnly(200),
    request: (s) => Effect.map(freshRound(s.world), (r) => post(`/reward-rounds/${r.id}/close`))
  },
  {
    endpoint: "rewards.roundApplications",
    expect: operatorOnly(200),
    request: (s) => ok(get(`/reward-rounds/${s.roundId}/applications`))
  },
  {
    endpoint: "rewards.saveProfile",
    expect: { anonymous: 401, unrelated: 403, responder: 403, client: 403, operator: 403, publisher: 200 },
    request: () =>
      ok(
        put("/institution-profile", {
          name: "天津技术转移中心",
          creditCode,
          address: "天津市",
          contact: "李经理",
          phone: "13800138002",
          bankAccount: { bank: "中国银行", accountName: "天津技术转移中心", accountNumber: SECRET.bank }
        })
      )
  },
  {
    endpoint: "rewards.profile",
    expect: { anonymous: 401, unrelated: 404, responder: 404, client: 404, operator: 200, publisher: 200 },
    request: (s) => ok(get(`/institution-profile?memberId=${s.world.institution.member.id}`))
  },
  {
    endpoint: "rewards.draft",
    expect: { anonymous: 401, unrelated: 403, responder: 403, client: 403, operator: 403, publisher: 201 },
    request: (s) =>
      Effect.map(freshRound(s.world), (r) =>
        post("/reward-applications", { roundId: r.id, items: [{ demandId: s.solvedId, proofs: [s.fileId] }] })
      )
  },
  {
    endpoint: "rewards.update",
    expect: { anonymous: 401, unrelated: 403, responder: 403, client: 403, operator: 403, publisher: 200 },
    request: (s) =>
      ok(
        put(`/reward-applications/${s.applicationId}`, {
          items: [{ demandId: s.solvedId, proofs: [s.fileId] }]
        })
      )
  },
  {
    endpoint: "rewards.submit",
    expect: { anonymous: 401, unrelated: 403, responder: 403, client: 403, operator: 403, publisher: 200 },
    request: (s) => Effect.map(freshApplication(s, false), (id) => post(`/reward-applications/${id}/submit`))
  },
  ...(["approve", "reject"] as const).map(
    (action): Row => ({
      endpoint: `rewards.${action}`,
      expect: operatorOnly(200),
      request: (s) =>
        Effect.map(freshApplication(s, true), (id) =>
          post(
            `/reward-applications/${id}/${action}`,
            action === "approve" ? { amount: 100 } : { reason: "不符" }
          )
        )
    })
  ),
  {
    endpoint: "rewards.application",
    expect: { anonymous: 401, unrelated: 404, responder: 404, client: 404, operator: 200, publisher: 200 },
    request: (s) => ok(get(`/reward-applications/${s.applicationId}`))
  },
  { endpoint: "rewards.mine", expect: signed(200), request: () => ok(get("/my/reward-applications")) },
  {
    endpoint: "files.upload",
    expect: { anonymous: 401, operator: 403, unrelated: 201, responder: 201, client: 201, publisher: 201 },
    request: () =>
      ok({
        method: "POST",
        path: "/files",
        form: () => {
          const data = new FormData()
          data.append("file", new Blob([pdf("upload")]), "proof.pdf")
          return data
        }
      })
  },
  ...(["", "/content"] as const).map(
    (suffix): Row => ({
      endpoint: suffix === "" ? "files.info" : "files.content",
      expect: { anonymous: 401, unrelated: 404, responder: 404, client: 404, operator: 200, publisher: 200 },
      request: (s) => ok(get(`/files/${s.fileId}${suffix}`))
    })
  ),
  {
    endpoint: "notifications.summary",
    expect: operatorOnly(200),
    request: () => ok(get("/notifications/summary"))
  },
  {
    endpoint: "notifications.deadLetters",
    expect: operatorOnly(200),
    request: () => ok(get("/notifications/dead-letters"))
  },
  {
    endpoint: "notifications.requeue",
    expect: operatorOnly(409),
    request: () =>
      Effect.gen(function* () {
        const outbox = yield* Ports.Outbox
        const [message] = yield* outbox.list({ limit: 1 })
        return post(`/notifications/dead-letters/${message!.id}/requeue`)
      })
  },
  {
    endpoint: "notifications.requeueDead",
    expect: operatorOnly(200),
    request: () => ok(post("/notifications/dead-letters/requeue?limit=10"))
  },
  {
    endpoint: "statistics.figures",
    expect: operatorOnly(200),
    request: () => ok(get("/statistics?from=2026-01-01&to=2026-12-31"))
  },
  {
    endpoint: "members.createMember",
    expect: operatorOnly(201),
    request: () => ok(post("/members", { kind: "expert", name: "新专家" }))
  },
  {
    endpoint: "members.registerInstitution",
    expect: operatorOnly(200),
    request: (s) => ok(post(`/members/${s.world.unregistered.member.id}/register`))
  },
  {
    endpoint: "members.get",
    expect: signed(200),
    request: (s) => ok(get(`/members/${s.world.institution.member.id}`))
  },
  {
    endpoint: "members.me",
    expect: signed(200),
    request: () => ok(get("/me"))
  },
  {
    endpoint: "members.createAccount",
    expect: operatorOnly(201),
    request: (s) =>
      ok(
        post("/accounts", {
          memberId: s.world.expert.member.id,
          name: "第二联系人",
          phone: Fixtures.nextPhone()
        })
      )
  },
  {
    endpoint: "members.accounts",
    expect: operatorOnly(200),
    request: (s) => ok(get(`/members/${s.world.institution.member.id}/accounts`))
  },
  {
    endpoint: "members.updateAccount",
    expect: operatorOnly(200),
    request: (s) =>
      Effect.gen(function* () {
        const account = yield* Effect.flatMap(Ports.AccountRepository, (accounts) =>
          accounts.findById(s.world.expert.account)
        )
        const { name, phone } = Option.getOrThrow(account)
        return put(`/accounts/${s.world.expert.account}`, { name, phone, active: true })
      })
  },
  {
    endpoint: "members.addTechnologyManager",
    expect: { anonymous: 401, unrelated: 403, responder: 403, client: 403, operator: 403, publisher: 201 },
    request: () => ok(post("/technology-managers", { name: "王经理", phone: Fixtures.nextPhone() }))
  },
  {
    endpoint: "members.updateTechnologyManager",
    expect: { anonymous: 401, unrelated: 403, responder: 403, client: 403, operator: 403, publisher: 200 },
    request: (s) =>
      Effect.gen(function* () {
        const manager = yield* Effect.flatMap(Ports.TechnologyManagerRepository, (managers) =>
          managers.findById(s.world.manager)
        )
        const { name } = Option.getOrThrow(manager)
        // A new phone each time: the change is written, not answered as unchanged.
        return put(`/technology-managers/${s.world.manager}`, {
          name,
          phone: Fixtures.nextPhone(),
          active: true
        })
      })
  },
  {
    endpoint: "members.technologyManagers",
    expect: { anonymous: 401, unrelated: 404, responder: 404, client: 404, operator: 200, publisher: 200 },
    request: (s) => ok(get(`/members/${s.world.institution.member.id}/technology-managers`))
  },
  {
    endpoint: "audit.list",
    label: "of a demand",
    expect: { anonymous: 401, unrelated: 404, responder: 404, client: 200, operator: 200, publisher: 200 },
    partOfPublic: "audit_trail.not_found",
    request: (s) => ok(get(`/audit?demandId=${s.published.demandId}`))
  },
  {
    endpoint: "audit.list",
    label: "of a member",
    expect: { anonymous: 401, unrelated: 404, responder: 404, client: 404, operator: 200, publisher: 200 },
    request: (s) => ok(get(`/audit?memberId=${s.world.institution.member.id}`))
  }
]

const send = (req: Req, token: string | null) =>
  Effect.gen(function* () {
    let request =
      req.method === "GET"
        ? HttpClientRequest.get(req.path)
        : req.method === "PUT"
          ? HttpClientRequest.put(req.path)
          : HttpClientRequest.post(req.path)
    if (req.form !== undefined) request = HttpClientRequest.bodyFormData(request, req.form())
    else if (req.method !== "GET") request = HttpClientRequest.bodyUnsafeJson(request, req.body ?? {})
    if (token !== null) request = HttpClientRequest.bearerToken(request, token)
    const response = yield* HttpClient.execute(request)
    const text = yield* response.text
    return { status: response.status, text }
  })

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g

/** The same request on an id that does not exist: the last id of its path replaced. */
const missingOf = (req: Req): Req => {
  const ids = req.path.match(uuid) ?? []
  const last = ids[ids.length - 1]
  if (last === undefined) return req
  const at = req.path.lastIndexOf(last)
  return { ...req, path: `${req.path.slice(0, at)}${NOPE}${req.path.slice(at + last.length)}` }
}

const codeOf = (text: string) => {
  try {
    return (JSON.parse(text) as { code?: unknown }).code
  } catch {
    return undefined
  }
}

/** The authorization matrix over `ports`. */
export const authorizationSuite = (name: string, ports: Layer.Layer<Persistence.Ports>) =>
  describe(`authorization matrix (${name})`, () => {
    layer(
      makeServer(ports, {
        rateLimits: {
          sms: { limit: 10_000, windowMillis: 3600_000 },
          responding: { limit: 10_000, windowMillis: 3600_000 },
          consulting: { limit: 10_000, windowMillis: 3600_000 },
          uploads: { limit: 10_000, windowMillis: 3600_000 }
        }
      }),
      { timeout: 300_000 }
    )((it) => {
      it.effect(
        "every endpoint × role × someone else's resource",
        () =>
          Effect.gen(function* () {
            const w = yield* Fixtures.makeWorld
            yield* Fixtures.activeCommission(w)
            const publishing = yield* Publishing.Publishing
            const draft = yield* publishing.draft(
              w.institution.account,
              yield* form(w, { title: SECRET.draftTitle })
            )
            const files = yield* Files.Files
            const file = yield* files.upload(w.institution.account, {
              name: SECRET.fileName,
              bytes: pdf("proof")
            })
            const solved = yield* Fixtures.publish(
              w,
              w.institution.account,
              Fixtures.onBehalf(w, w.enterprise.member.id)
            )
            yield* (yield* Outcome.Outcome).solved(w.institution.account, {
              demandId: solved.id,
              serviceFee: 100
            })
            const rewards = yield* Rewards.Rewards
            yield* rewards.saveProfile(w.institution.account, {
              name: "天津技术转移中心",
              creditCode,
              address: "天津市",
              contact: "李经理",
              phone: "13800138002",
              bankAccount: { bank: "中国银行", accountName: "天津技术转移中心", accountNumber: SECRET.bank }
            })
            const round = yield* freshRound(w)
            const application = yield* rewards.draft(w.institution.account, {
              roundId: round.id,
              items: [{ demandId: solved.id, proofs: [file.id] }]
            })
            const accountOf: Record<Role, Ids.AccountId | null> = {
              anonymous: null,
              unrelated: w.enterprise2.account,
              responder: w.expert.account,
              client: w.enterprise.account,
              operator: w.operator,
              publisher: w.institution.account
            }
            const tokens = {} as Record<Role, string | null>
            for (const role of roles) {
              const account = accountOf[role]
              tokens[role] = account === null ? null : yield* tokenFor(account)
            }
            const scenario: Scenario = {
              world: w,
              tokens,
              published: yield* freshPublished(w),
              draftId: draft.id,
              fileId: file.id,
              solvedId: solved.id,
              roundId: round.id,
              applicationId: application.id
            }

            const failures: Array<string> = []
            const covered = new Set<string>()
            let cells = 0
            for (const row of rows) {
              covered.add(row.endpoint)
              const shared = yield* row.request(scenario)
              for (const role of roles) {
                const custom = row.requestAs?.[role]
                const req = custom === undefined ? shared : yield* custom(scenario)
                const expected = row.expect[role]
                if (expected === undefined) {
                  failures.push(`${row.endpoint}: no expectation for ${role}`)
                  continue
                }
                const got = yield* send(req, tokens[role])
                cells++
                const where = `${row.endpoint}${row.label ? ` (${row.label})` : ""} as ${role}`
                if (got.status !== expected)
                  failures.push(`${where}: expected ${expected}, got ${got.status} ${got.text.slice(0, 200)}`)
                for (const secret of outsiderOf[role]) {
                  if (got.text.includes(secret)) failures.push(`${where}: leaked "${secret}"`)
                }
                if (expected === 404) {
                  const absent = yield* send(missingOf(req), tokens[role])
                  if (row.partOfPublic !== undefined) {
                    const codes = [codeOf(got.text), codeOf(absent.text)]
                    if (
                      codes[0] !== row.partOfPublic ||
                      codes[1] !== "demand.not_found" ||
                      absent.status !== 404
                    )
                      failures.push(
                        `${where}: a hidden part of a public demand answers ${codes[0]}, a missing demand ${absent.status} ${codes[1]}`
                      )
                  } else if (absent.status !== got.status || codeOf(absent.text) !== codeOf(got.text)) {
                    failures.push(
                      `${where}: a hidden resource answers ${got.status} ${codeOf(got.text)}, a missing one ${absent.status} ${codeOf(absent.text)}`
                    )
                  }
                }
              }
            }
            const uncovered = allEndpoints().filter((e) => !covered.has(e))
            assert.deepStrictEqual(uncovered, [], "endpoints without a row")
            assert.deepStrictEqual(failures, [])
            assert.isAtLeast(cells, allEndpoints().length * roles.length)
          }),
        60_000
      )
    })
  })
