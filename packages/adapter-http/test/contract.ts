/**
 * Contract suite: every endpoint of the API called through the typed client derived
 * from `Api` (`HttpApiClient.make`), on a real server over the given ports, each
 * answering at least one call with success (a call that fails does not count). The
 * suite is a function of the ports layer so every persistence adapter runs it:
 *
 * ```ts
 * contractSuite("memory", PersistenceMemory.layerMemory)
 * ```
 */
import { assert, describe, layer } from "@effect/vitest"
import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import {
  Deadline,
  Demand,
  type Ids,
  Persistence,
  type Persistence as P,
  type Response,
  Reward,
  Settings
} from "@zhongbao/core"
import { Expect, Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, Either, type Layer, Schema, TestClock } from "effect"
import { Api, ApiError } from "../src/index.js"
import { makeServer, tokenFor } from "./harness.js"

type Client = Effect.Effect.Success<ReturnType<typeof typedClient>>

/** Every endpoint of the API as `group.endpoint`. */
export const allEndpoints = (): ReadonlyArray<string> =>
  Object.values(Api.Api.groups).flatMap((group) =>
    Object.values(group.endpoints).map((endpoint) => `${group.identifier}.${endpoint.name}`)
  )

const called = new Set<string>()

/** A typed client that records which endpoints answered a call with success. */
const typedClient = (token: string | null) =>
  Effect.map(
    HttpApiClient.make(Api.Api, {
      transformClient: (client) =>
        token === null ? client : HttpClient.mapRequest(client, HttpClientRequest.bearerToken(token))
    }),
    (client) =>
      new Proxy(client, {
        get: (target, group: string) => {
          const inner = (target as unknown as Record<string, Record<string, unknown>>)[group]
          if (inner === undefined) return inner
          return new Proxy(inner, {
            get: (g, name: string) => {
              const endpoint = g[name]
              if (typeof endpoint !== "function") return endpoint
              return (...args: ReadonlyArray<unknown>) =>
                Effect.tap(
                  (endpoint as (...a: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>)(...args),
                  () => Effect.sync(() => called.add(`${group}.${name}`))
                )
            }
          })
        }
      })
  )

const as = (account: Ids.AccountId | null) =>
  account === null ? typedClient(null) : Effect.flatMap(tokenFor(account), typedClient)

/** A valid form (decoded), deadline `days` after today. */
const form = (overrides: Partial<typeof Demand.DemandForm.Encoded> = {}, days = 30) =>
  Effect.flatMap(Fixtures.form(overrides, days), Schema.decodeUnknown(Demand.DemandForm))

const creditCode = (() => {
  const first17 = "91120116MA05JQ1X2"
  return `${first17}${Reward.creditCodeCheckCharacter(first17)}`
})()

const pdf = new TextEncoder().encode(
  "%PDF-1.4\n% zhongbao proof\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
)

const today = Effect.map(Effect.all([DateTime.now, Settings.Settings]), ([now, s]) => Deadline.dateAt(now, s))

/** The contract tests over `ports`. */
export const contractSuite = (name: string, ports: Layer.Layer<P.Ports>) =>
  describe(`contract (${name})`, () => {
    layer(makeServer(ports), { timeout: 60_000 })((it) => {
      const state = {} as {
        world: Fixtures.World
        operator: Client
        enterprise: Client
        enterprise2: Client
        institution: Client
        expert: Client
        institute: Client
        service: Client
        anonymous: Client
        demand: Demand.Demand
        own: Demand.Demand
        expertResponse: Ids.ResponseId
        adopted: Response.Response
        fileId: Ids.FileId
      }

      it.effect("setup: the world and one client per party", () =>
        Effect.gen(function* () {
          state.world = yield* Fixtures.makeWorld
          const w = state.world
          state.operator = yield* as(w.operator)
          state.enterprise = yield* as(w.enterprise.account)
          state.enterprise2 = yield* as(w.enterprise2.account)
          state.institution = yield* as(w.institution.account)
          state.expert = yield* as(w.expert.account)
          state.institute = yield* as(w.institute.account)
          state.service = yield* as(w.serviceInstitution.account)
          state.anonymous = yield* as(null)
        })
      )

      it.effect("settings and the public hall answer anonymous callers", () =>
        Effect.gen(function* () {
          const settings = yield* state.anonymous.settings.get()
          const platform = yield* Settings.Settings
          assert.deepStrictEqual(settings, {
            numberingPrefix: platform.numberingPrefix,
            sequenceWidth: platform.sequenceWidth,
            timeZone: platform.timeZone,
            selectionWindowDays: platform.selectionWindowDays,
            minDeadlineDays: platform.minDeadlineDays,
            maxDeadlineDays: platform.maxDeadlineDays,
            singleAdoption: platform.singleAdoption,
            serviceModes: platform.serviceModes,
            technicalFields: platform.technicalFields,
            fileSizeLimitBytes: platform.fileSizeLimitBytes
          })
          assert.include(settings.technicalFields, "新材料及应用")
          assert.strictEqual(settings.timeZone, "Asia/Shanghai")
          const institutions = yield* state.anonymous.hall.institutions({ urlParams: {} })
          assert.include(
            institutions.items.map((m) => m.id),
            state.world.institution.member.id
          )
          const hall = yield* state.anonymous.hall.list({ urlParams: { keyword: "石墨烯" } })
          assert.deepStrictEqual(hall.items, [])
        })
      )

      it.effect(
        "R10 bounds over HTTP: a form whose every text is at its longest, in characters outside the BMP with quotes, backslashes and line breaks, and the largest investment, reads back as it was sent",
        () =>
          Effect.gen(function* () {
            const sent = yield* form({
              title: Fixtures.longest(60),
              summary: {
                mainProblem: Fixtures.longest(500),
                keyTechnology: Fixtures.longest(500),
                expectedGoal: Fixtures.longest(500)
              },
              keywords: [1, 2, 3, 4, 5].map((i) => `${i}${Fixtures.longest(19)}`),
              region: Fixtures.longest(50),
              intendedInvestment: Number.MAX_SAFE_INTEGER,
              contact: { name: Fixtures.longest(50), phone: "+8613912345678" }
            })
            const drafted = yield* state.enterprise.demands.draft({ payload: sent, headers: {} })
            const read = yield* state.enterprise.demands.get({ path: { demandId: drafted.id } })
            const encode = Schema.encodeSync(Demand.DemandForm)
            assert.deepStrictEqual(encode(read.demand.form), encode(sent))
          })
      )

      it.effect(
        "members: an operator registers members, accounts; an institution names managers and retires one (R1); a deactivated account's session does not act again once it is reactivated (§3)",
        () =>
          Effect.gen(function* () {
            const op = state.operator
            const member = yield* op.members.createMember({
              payload: { kind: "transfer_institution", name: "滨海技术转移中心", region: "天津市" },
              headers: {}
            })
            assert.isFalse(member.registered)
            const registered = yield* op.members.registerInstitution({
              path: { memberId: member.id },
              headers: {}
            })
            assert.isTrue(registered.registered)
            const account = yield* op.members.createAccount({
              payload: { memberId: member.id, name: "滨海联系人", phone: "+8613800138000" as never },
              headers: {}
            })
            assert.strictEqual(account.phone, "+8613800138000")
            // §3: a correction, then the account deactivated: its credential no longer acts,
            // nor once the account is made active again.
            const corrected = yield* op.members.updateAccount({
              path: { accountId: account.id },
              payload: { name: "滨海新联系人", phone: "+8613800138009" as never, active: true },
              headers: {}
            })
            assert.strictEqual(corrected.name, "滨海新联系人")
            assert.strictEqual(corrected.phone, "+8613800138009")
            const got = yield* state.expert.members.get({ path: { memberId: member.id } })
            assert.strictEqual(got.name, "滨海技术转移中心")
            const client = yield* as(account.id)
            const manager = yield* client.members.addTechnologyManager({
              payload: { name: "赵经理", phone: "+8613800138001" as never },
              headers: {}
            })
            // §3: the new account learns its member's id from the API, then lists that member's managers.
            const me = yield* client.members.me()
            assert.strictEqual(me.account.id, account.id)
            assert.strictEqual(me.member?.id, member.id)
            assert.strictEqual(me.member?.name, "滨海技术转移中心")
            const managers = yield* client.members.technologyManagers({ path: { memberId: me.member!.id } })
            assert.deepStrictEqual(
              managers.map((m) => m.id),
              [manager.id]
            )
            // R1: the institution retires its manager; the list shows it retired.
            const retired = yield* client.members.updateTechnologyManager({
              path: { technologyManagerId: manager.id },
              payload: { name: "赵经理", phone: "+8613800138002" as never, active: false },
              headers: {}
            })
            assert.deepStrictEqual([retired.phone, retired.active], ["+8613800138002", false])
            assert.deepStrictEqual(
              (yield* client.members.technologyManagers({ path: { memberId: member.id } })).map((m) => [
                m.id,
                m.active
              ]),
              [[manager.id, false]]
            )
            const off = yield* op.members.updateAccount({
              path: { accountId: account.id },
              payload: { name: corrected.name, phone: corrected.phone, active: false },
              headers: {}
            })
            assert.isFalse(off.active)
            const listed = yield* op.members.accounts({ path: { memberId: member.id } })
            assert.deepStrictEqual(
              listed.map((a) => [a.id, a.active]),
              [[account.id, false]]
            )
            const refused = yield* Expect.failureOf(client.members.me())
            assert.instanceOf(refused, ApiError.Unauthorized)
            // §3: made active again a second later, it does not act on its session from
            // before (401: sign in again); on a session issued since, it does.
            yield* TestClock.adjust("1 second")
            const on = yield* op.members.updateAccount({
              path: { accountId: account.id },
              payload: { name: corrected.name, phone: corrected.phone, active: true },
              headers: {}
            })
            assert.isTrue(on.active)
            assert.isNotNull(on.reactivatedAt)
            const stale = yield* Expect.failureOf(client.members.me())
            assert.instanceOf(stale, ApiError.Unauthorized)
            assert.strictEqual(stale.code, "auth.invalid")
            assert.strictEqual((yield* (yield* as(account.id)).members.me()).account.id, account.id)
            const operatorMe = yield* op.members.me()
            assert.strictEqual(operatorMe.account.role, "operator")
            assert.isNull(operatorMe.member, "an operator's account acts for no member")
            const denied = yield* Expect.failureOf(
              state.expert.members.createMember({ payload: { kind: "expert", name: "冒名" }, headers: {} })
            )
            assert.instanceOf(denied, ApiError.Denied)
            assert.strictEqual(denied.rule, "§3")
          })
      )

      it.effect(
        "§3, R1: accounts and technology managers are read with their revision; an update with If-Match of that revision goes ahead, one of an older revision is 412 revision.stale and changes nothing; If-Match * overwrites",
        () =>
          Effect.gen(function* () {
            const op = state.operator
            const w = state.world
            const institution = w.institution.member.id
            const tag = (revision: string) => `"${revision}"`
            const [read] = (yield* op.members.accounts({ path: { memberId: institution } })).filter(
              (a) => a.id === w.institution.account
            )
            assert.match(read!.revision, /^[0-9a-f]{32}$/)
            const body = { name: read!.name, phone: read!.phone, active: true }
            const renamed = yield* op.members.updateAccount({
              path: { accountId: read!.id },
              payload: { ...body, name: "新联系人" },
              headers: { "if-match": tag(read!.revision) }
            })
            assert.strictEqual(renamed.name, "新联系人")
            assert.notStrictEqual(renamed.revision, read!.revision, "the answer carries the new revision")
            for (const stale of [tag(read!.revision), `W/${tag(renamed.revision)}`]) {
              const refused = yield* Expect.failureOf(
                op.members.updateAccount({
                  path: { accountId: read!.id },
                  payload: { ...body, name: "旧副本" },
                  headers: { "if-match": stale }
                })
              )
              assert.instanceOf(refused, ApiError.PreconditionFailed, stale)
              assert.deepStrictEqual([refused.rule, refused.code], ["§3", "revision.stale"])
            }
            const [kept] = (yield* op.members.accounts({ path: { memberId: institution } })).filter(
              (a) => a.id === read!.id
            )
            assert.deepStrictEqual(kept, renamed, "the refused updates changed nothing")
            const listedAgain = yield* op.members.updateAccount({
              path: { accountId: read!.id },
              payload: body,
              headers: { "if-match": `"0", ${tag(kept!.revision)}` }
            })
            assert.strictEqual(listedAgain.revision, read!.revision, "the same record, the same revision")
            // Two updates from one copy at once: one is made, the other finds the record changed.
            const [one, other] = yield* Effect.all(
              ["甲", "乙"].map((name) =>
                Effect.either(
                  op.members.updateAccount({
                    path: { accountId: read!.id },
                    payload: { ...body, name },
                    headers: { "if-match": tag(listedAgain.revision) }
                  })
                )
              ),
              { concurrency: 2 }
            )
            assert.sameMembers([one!._tag, other!._tag], ["Right", "Left"])
            const lost = [one!, other!].find(Either.isLeft)!.left
            assert.instanceOf(lost, ApiError.PreconditionFailed)
            // An operator reads its own account's revision from /me.
            const me = yield* op.members.me()
            const renamedMe = yield* op.members.updateAccount({
              path: { accountId: me.account.id },
              payload: { name: "运营人员", phone: me.account.phone, active: true },
              headers: { "if-match": tag(me.account.revision) }
            })
            assert.strictEqual(renamedMe.name, "运营人员")
            const anyRevision = yield* op.members.updateAccount({
              path: { accountId: read!.id },
              payload: { ...body, name: "任意" },
              headers: { "if-match": "*" }
            })
            assert.strictEqual(anyRevision.name, "任意")

            const client = state.institution
            const [manager] = (yield* client.members.technologyManagers({
              path: { memberId: institution }
            })).filter((m) => m.id === w.manager)
            const managerBody = { name: manager!.name, phone: manager!.phone, active: true }
            const retired = yield* client.members.updateTechnologyManager({
              path: { technologyManagerId: manager!.id },
              payload: { ...managerBody, active: false },
              headers: { "if-match": tag(manager!.revision) }
            })
            const refused = yield* Expect.failureOf(
              client.members.updateTechnologyManager({
                path: { technologyManagerId: manager!.id },
                payload: { ...managerBody, name: "旧副本" },
                headers: { "if-match": tag(manager!.revision) }
              })
            )
            assert.instanceOf(refused, ApiError.PreconditionFailed)
            assert.deepStrictEqual([refused.rule, refused.code], ["R1", "revision.stale"])
            const back = yield* client.members.updateTechnologyManager({
              path: { technologyManagerId: manager!.id },
              payload: managerBody,
              headers: { "if-match": tag(retired.revision) }
            })
            assert.deepStrictEqual(back, manager, "made active again: the manager and its revision as read")
          })
      )

      it.effect("commissions: request, accept, decline, list", () =>
        Effect.gen(function* () {
          const w = state.world
          const requested = yield* state.enterprise.commissions.request({
            payload: { institutionId: w.institution.member.id, message: "委托贵机构发布并跟进技术需求" },
            headers: {}
          })
          assert.strictEqual(requested.state, "requested")
          const accepted = yield* state.institution.commissions.accept({
            path: { commissionId: requested.id },
            headers: {}
          })
          assert.strictEqual(accepted.state, "active")
          const other = yield* state.enterprise2.commissions.request({
            payload: { institutionId: w.institution.member.id, message: "请代为发布需求" },
            headers: {}
          })
          const declined = yield* state.institution.commissions.decline({
            path: { commissionId: other.id },
            headers: {}
          })
          assert.strictEqual(declined.state, "declined")
          const list = yield* state.institution.commissions.list({ urlParams: { states: ["active"] } })
          assert.deepStrictEqual(
            list.items.map((c) => c.id),
            [requested.id]
          )
        })
      )

      it.effect(
        "demands: draft on behalf, edit (R11: If-Match of the version read; an older version is 412 revision.stale and changes nothing), submit, read; review approves",
        () =>
          Effect.gen(function* () {
            const w = state.world
            const draft = yield* state.institution.demands.draft({
              payload: yield* form(Fixtures.onBehalf(w, w.enterprise.member.id)),
              headers: {}
            })
            assert.strictEqual(draft.state, "draft")
            const edited = yield* state.institution.demands.edit({
              path: { demandId: draft.id },
              payload: {
                form: yield* form({
                  ...Fixtures.onBehalf(w, w.enterprise.member.id),
                  title: "石墨烯散热膜卷对卷量产工艺"
                })
              },
              headers: { "if-match": `"${draft.version}"` }
            })
            assert.strictEqual(edited.form.title, "石墨烯散热膜卷对卷量产工艺")
            const stale = yield* Expect.failureOf(
              state.institution.demands.edit({
                path: { demandId: draft.id },
                payload: {
                  form: yield* form({ ...Fixtures.onBehalf(w, w.enterprise.member.id), title: "旧副本" })
                },
                headers: { "if-match": `"${draft.version}"` }
              })
            )
            assert.instanceOf(stale, ApiError.PreconditionFailed)
            assert.deepStrictEqual([stale.rule, stale.code], ["R11", "revision.stale"])
            const kept = yield* state.institution.demands.get({ path: { demandId: draft.id } })
            assert.deepStrictEqual(kept.demand, edited, "the refused edit changed nothing")
            yield* state.institution.demands.submit({ path: { demandId: draft.id }, headers: {} })
            const mine = yield* state.institution.demands.mine({ urlParams: { states: ["pending_review"] } })
            assert.deepStrictEqual(
              mine.items.map((d) => d.id),
              [draft.id]
            )
            const client = yield* state.enterprise.demands.get({ path: { demandId: draft.id } })
            assert.strictEqual(client.demand.state, "pending_review")
            const hidden = yield* Expect.failureOf(
              state.anonymous.demands.get({ path: { demandId: draft.id } })
            )
            assert.instanceOf(hidden, ApiError.NotFound)
            const queue = yield* state.operator.review.pending({ urlParams: {} })
            assert.include(
              queue.items.map((d) => d.id),
              draft.id
            )
            state.demand = yield* state.operator.review.approve({ path: { demandId: draft.id }, headers: {} })
            assert.strictEqual(state.demand.state, "published")
            assert.match(state.demand.number ?? "", /^ZB2026\d{4}$/)
            assert.strictEqual(state.demand.selectionWindowDays, 14, "R23: the window approval fixed, sent")
            const hall = yield* state.anonymous.hall.list({
              urlParams: { keyword: "卷对卷", takingResponses: true }
            })
            assert.deepStrictEqual(
              hall.items.map((d) => d.id),
              [draft.id]
            )
            const view = yield* state.expert.demands.get({ path: { demandId: draft.id } })
            assert.include(view.actions, "respond")
          })
      )

      it.effect("review rejects with a reason", () =>
        Effect.gen(function* () {
          const d = yield* state.enterprise.demands.draft({ payload: yield* form(), headers: {} })
          yield* state.enterprise.demands.submit({ path: { demandId: d.id }, headers: {} })
          const rejected = yield* state.operator.review.reject({
            path: { demandId: d.id },
            payload: { reason: "请补充技术指标" },
            headers: {}
          })
          assert.strictEqual(rejected.state, "rejected")
          assert.strictEqual(rejected.rejectionReason, "请补充技术指标")
        })
      )

      it.effect(
        "responses: respond, read, revise (R21: If-Match of the version read; an older version is 412 revision.stale and changes nothing), withdraw, lists",
        () =>
          Effect.gen(function* () {
            const demandId = state.demand.id
            const proposal = { title: "卷对卷CVD方案", content: "采用卷对卷化学气相沉积，三个月完成中试。" }
            const r = yield* state.expert.responses.respond({
              path: { demandId },
              payload: { proposal },
              headers: {}
            })
            state.expertResponse = r.id
            const got = yield* state.institution.responses.get({ path: { responseId: r.id } })
            assert.strictEqual(got.proposal.title, "卷对卷CVD方案")
            const revised = yield* state.expert.responses.revise({
              path: { responseId: r.id },
              payload: { proposal: { ...proposal, title: "卷对卷CVD方案（修订）" } },
              headers: { "if-match": `"${r.version}"` }
            })
            assert.strictEqual(revised.proposal.title, "卷对卷CVD方案（修订）")
            const stale = yield* Expect.failureOf(
              state.expert.responses.revise({
                path: { responseId: r.id },
                payload: { proposal: { ...proposal, title: "旧副本" } },
                headers: { "if-match": `"${r.version}"` }
              })
            )
            assert.instanceOf(stale, ApiError.PreconditionFailed)
            assert.deepStrictEqual([stale.rule, stale.code], ["R21", "revision.stale"])
            const kept = yield* state.expert.responses.get({ path: { responseId: r.id } })
            assert.strictEqual(
              kept.proposal.title,
              "卷对卷CVD方案（修订）",
              "the refused revision changed nothing"
            )
            assert.strictEqual(kept.version, revised.version)
            const other = yield* state.institute.responses.respond({
              path: { demandId },
              payload: { proposal },
              headers: {}
            })
            const withdrawn = yield* state.institute.responses.withdraw({
              path: { responseId: other.id },
              headers: {}
            })
            assert.strictEqual(withdrawn.status, "withdrawn")
            yield* state.service.responses.respond({ path: { demandId }, payload: { proposal }, headers: {} })
            const ofDemand = yield* state.institution.responses.ofDemand({
              path: { demandId },
              urlParams: { statuses: ["submitted"] }
            })
            assert.strictEqual(ofDemand.items.length, 2)
            const mine = yield* state.expert.responses.mine({ urlParams: {} })
            assert.deepStrictEqual(
              mine.items.map((x) => x.id),
              [r.id]
            )
            const toMe = yield* state.institution.responses.toMe({ urlParams: { demandId } })
            assert.strictEqual(toMe.items.length, 3)
            const leak = yield* Expect.failureOf(state.service.responses.get({ path: { responseId: r.id } }))
            assert.instanceOf(leak, ApiError.NotFound)
          })
      )

      it.effect("consultations: ask, threads, reply, messages", () =>
        Effect.gen(function* () {
          const demandId = state.demand.id
          const asked = yield* state.expert.consultations.ask({
            path: { demandId },
            payload: { text: "中试线的产能要求是多少？" },
            headers: {}
          })
          const threads = yield* state.institution.consultations.threads({
            path: { demandId },
            urlParams: {}
          })
          assert.deepStrictEqual(
            threads.items.map((t) => t.id),
            [asked.thread.id]
          )
          yield* state.institution.consultations.reply({
            path: { threadId: asked.thread.id },
            payload: { text: "年产十万平方米。" },
            headers: {}
          })
          const messages = yield* state.expert.consultations.messages({
            path: { threadId: asked.thread.id },
            urlParams: { afterSeq: 0, limit: 10 }
          })
          assert.deepStrictEqual(
            messages.map((m) => m.side),
            ["responder", "demand"]
          )
        })
      )

      it.effect(
        "consultations: the demand's side asks the member that submitted a response, in that member's thread",
        () =>
          Effect.gen(function* () {
            const demandId = state.demand.id
            // The service institution responded without consulting.
            const response = (yield* state.service.responses.mine({ urlParams: {} })).items[0]!
            const asked = yield* state.institution.consultations.askResponder({
              path: { responseId: response.id },
              payload: { text: "请补充中试数据。" },
              headers: {}
            })
            assert.deepStrictEqual(
              [asked.message.side, asked.message.seq, asked.thread.responderId],
              ["demand", 1, response.responderId]
            )
            const answered = yield* state.service.consultations.ask({
              path: { demandId },
              payload: { text: "数据已上传。" },
              headers: {}
            })
            assert.strictEqual(answered.thread.id, asked.thread.id)
          })
      )

      it.effect("selection: adopt, feedback, end selection", () =>
        Effect.gen(function* () {
          const demandId = state.demand.id
          const adopted = yield* state.institution.responses.adopt({
            path: { responseId: state.expertResponse },
            headers: { "idempotency-key": "adopt-1" }
          })
          assert.strictEqual(adopted.status, "adopted")
          state.adopted = adopted
          const open = yield* state.institution.responses.ofDemand({
            path: { demandId },
            urlParams: { statuses: ["submitted"] }
          })
          const other = open.items[0]!
          const fed = yield* state.institution.responses.feedback({
            path: { responseId: other.id },
            payload: { feedback: { reason: "cost_too_high" } },
            headers: {}
          })
          assert.strictEqual(fed.feedback?.reason, "cost_too_high")
          const ended = yield* state.institution.responses.endSelection({
            path: { demandId },
            payload: { feedback: [{ responseId: other.id, feedback: { reason: "maturity_too_low" } }] },
            headers: {}
          })
          assert.isNotNull(ended.selectionEndedAt)
          const told = yield* state.institution.responses.get({ path: { responseId: other.id } })
          assert.strictEqual(told.status, "not_adopted")
          assert.strictEqual(
            told.feedback?.reason,
            "maturity_too_low",
            "the feedback sent with the end replaces the earlier one"
          )
        })
      )

      it.effect(
        "R63: an adoption replayed with its Idempotency-Key answers its first result, once the round has ended too",
        () =>
          Effect.gen(function* () {
            const replayed = yield* state.institution.responses.adopt({
              path: { responseId: state.expertResponse },
              headers: { "idempotency-key": "adopt-1" }
            })
            assert.deepStrictEqual(replayed, state.adopted)
            const trail = yield* state.institution.audit.list({ urlParams: { demandId: state.demand.id } })
            assert.deepStrictEqual(
              trail.items.filter((e) => e.action === "response.adopted").map((e) => e.entityId),
              [state.expertResponse]
            )
            const reused = yield* Expect.failureOf(
              state.institution.responses.endSelection({
                path: { demandId: state.demand.id },
                payload: {},
                headers: { "idempotency-key": "adopt-1" }
              })
            )
            assert.instanceOf(reused, ApiError.IdempotencyKeyReused)
            assert.deepStrictEqual(
              [
                (reused as ApiError.IdempotencyKeyReused).field,
                (reused as ApiError.IdempotencyKeyReused).rule
              ],
              ["idempotency-key", "R63"],
              "the field is named as the request sends it, the header"
            )
          })
      )

      it.effect("service log and outcome solved", () =>
        Effect.gen(function* () {
          const demandId = state.demand.id
          const entry = yield* state.institution.serviceLog.append({
            path: { demandId },
            payload: { entry: { date: yield* today, text: "与应答方完成技术对接" } },
            headers: {}
          })
          assert.strictEqual(entry.seq, 1)
          const log = yield* state.enterprise.serviceLog.list({ path: { demandId }, urlParams: {} })
          assert.deepStrictEqual(
            log.map((e) => e.id),
            [entry.id]
          )
          const solved = yield* state.institution.serviceLog.solved({
            path: { demandId },
            payload: { serviceFee: 1_200_000 as never },
            headers: {}
          })
          assert.strictEqual(solved.state, "solved")
          assert.strictEqual(solved.serviceFee, 1_200_000)
        })
      )

      it.effect("files: multipart upload, info, content", () =>
        Effect.gen(function* () {
          const data = new FormData()
          data.append("name", "技术合同.pdf")
          data.append("file", new Blob([pdf], { type: "application/pdf" }), "contract.pdf")
          const stored = yield* state.institution.files.upload({ payload: data, headers: {} })
          assert.strictEqual(stored.contentType, "application/pdf")
          assert.strictEqual(stored.name, "技术合同.pdf")
          assert.strictEqual(stored.size, pdf.length)
          state.fileId = stored.id
          const info = yield* state.institution.files.info({ path: { fileId: stored.id }, urlParams: {} })
          assert.strictEqual(info.sha256, stored.sha256)
          const bytes = yield* state.institution.files.content({ path: { fileId: stored.id }, urlParams: {} })
          assert.deepStrictEqual(Array.from(bytes), Array.from(pdf))
          const leak = yield* Expect.failureOf(
            state.expert.files.info({ path: { fileId: stored.id }, urlParams: {} })
          )
          assert.instanceOf(leak, ApiError.NotFound)
          const bad = new FormData()
          bad.append("file", new Blob([new TextEncoder().encode("#!/bin/sh\nrm -rf /\n")]), "x.pdf")
          const refused = yield* Expect.failureOf(
            state.institution.files.upload({ payload: bad, headers: {} })
          )
          assert.instanceOf(refused, ApiError.InvalidInput)
          assert.strictEqual(refused.code, "file.type_not_allowed")
        })
      )

      it.effect("rewards: round, profile, application through review", () =>
        Effect.gen(function* () {
          const day = yield* today
          const round = yield* state.operator.rewards.openRound({
            payload: {
              title: "2026年度技术转移奖励",
              rules: "对成功对接的需求给予奖励",
              periodStart: Deadline.addDays(day, -30),
              periodEnd: Deadline.addDays(day, 30),
              applicationDeadline: Deadline.addDays(day, 10)
            },
            headers: {}
          })
          const rounds = yield* state.anonymous.rewards.rounds({ urlParams: { states: ["open"] } })
          assert.include(
            rounds.items.map((r) => r.id),
            round.id
          )
          const one = yield* state.anonymous.rewards.round({ path: { roundId: round.id } })
          assert.strictEqual(one.title, "2026年度技术转移奖励")
          const info = {
            name: "天津技术转移中心",
            creditCode: creditCode as never,
            address: "天津市滨海新区",
            contact: "李经理",
            phone: "+8613800138002" as never,
            bankAccount: {
              bank: "中国银行天津分行",
              accountName: "天津技术转移中心",
              accountNumber: "6217000012345678"
            }
          }
          // R51: `If-Match: *` needs information saved; `If-None-Match: *` saves only the first.
          const noneYet = yield* Expect.failureOf(
            state.institution.rewards.saveProfile({ payload: info, headers: { "if-match": "*" } })
          )
          assert.instanceOf(noneYet, ApiError.PreconditionFailed)
          const profile = yield* state.institution.rewards.saveProfile({
            payload: info,
            headers: { "if-none-match": "*" }
          })
          const second = yield* Expect.failureOf(
            state.institution.rewards.saveProfile({ payload: info, headers: { "if-none-match": "*" } })
          )
          assert.instanceOf(second, ApiError.PreconditionFailed)
          // A quoted "*" is a tag like any other, not any revision.
          const quotedStar = yield* Expect.failureOf(
            state.institution.rewards.saveProfile({ payload: info, headers: { "if-match": '"*"' } })
          )
          assert.instanceOf(quotedStar, ApiError.PreconditionFailed)
          assert.strictEqual(profile.info.creditCode, creditCode)
          const read = yield* state.institution.rewards.profile({ urlParams: {} })
          assert.strictEqual(read?.info.name, "天津技术转移中心")
          // R51: a save from a copy read before the last save is 412; the information stays.
          assert.strictEqual(read?.revision, profile.revision)
          const resaved = yield* state.institution.rewards.saveProfile({
            payload: { ...read!.info, address: "天津市和平区" },
            headers: { "if-match": `"${read!.revision}"` }
          })
          const stale = yield* Expect.failureOf(
            state.institution.rewards.saveProfile({
              payload: { ...read!.info, contact: "旧副本" },
              headers: { "if-match": `"${read!.revision}"` }
            })
          )
          assert.instanceOf(stale, ApiError.PreconditionFailed)
          assert.deepStrictEqual([stale.rule, stale.code], ["R51", "revision.stale"])
          assert.deepStrictEqual(yield* state.institution.rewards.profile({ urlParams: {} }), resaved)
          const items = [{ demandId: state.demand.id, proofs: [state.fileId] }]
          const draft = yield* state.institution.rewards.draft({
            payload: { roundId: round.id, items },
            headers: {}
          })
          const updated = yield* state.institution.rewards.update({
            path: { applicationId: draft.id },
            payload: { items, note: "附技术合同" },
            headers: { "if-match": `"${draft.version}"` }
          })
          assert.strictEqual(updated.note, "附技术合同")
          // R52: an update from the copy read before it is 412; the application stays.
          const staleUpdate = yield* Expect.failureOf(
            state.institution.rewards.update({
              path: { applicationId: draft.id },
              payload: { items, note: "旧副本" },
              headers: { "if-match": `"${draft.version}"` }
            })
          )
          assert.instanceOf(staleUpdate, ApiError.PreconditionFailed)
          assert.deepStrictEqual([staleUpdate.rule, staleUpdate.code], ["R52", "revision.stale"])
          assert.deepStrictEqual(
            yield* state.institution.rewards.application({ path: { applicationId: draft.id } }),
            updated,
            "the refused update changed nothing"
          )
          yield* state.institution.rewards.submit({ path: { applicationId: draft.id }, headers: {} })
          const queue = yield* state.operator.rewards.roundApplications({
            path: { roundId: round.id },
            urlParams: { states: ["submitted"] }
          })
          assert.deepStrictEqual(
            queue.items.map((a) => a.id),
            [draft.id]
          )
          const rejected = yield* state.operator.rewards.reject({
            path: { applicationId: draft.id },
            payload: { reason: "请补充发票" },
            headers: {}
          })
          assert.strictEqual(rejected.state, "rejected")
          yield* state.institution.rewards.submit({ path: { applicationId: draft.id }, headers: {} })
          const approved = yield* state.operator.rewards.approve({
            path: { applicationId: draft.id },
            payload: { amount: 5_000_000 as never },
            headers: {}
          })
          assert.strictEqual(approved.state, "approved")
          const mine = yield* state.institution.rewards.mine({ urlParams: {} })
          assert.deepStrictEqual(
            mine.items.map((a) => a.id),
            [draft.id]
          )
          const got = yield* state.institution.rewards.application({ path: { applicationId: draft.id } })
          assert.strictEqual(got.amount, 5_000_000)
          const closed = yield* state.operator.rewards.closeRound({
            path: { roundId: round.id },
            headers: {}
          })
          assert.strictEqual(closed.state, "closed")
        })
      )

      it.effect("notifications: dead letters and requeue, by their code (R64)", () =>
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const now = yield* DateTime.now
          const [claimed] = yield* outbox.claim({ owner: "test", now, leaseMillis: 60_000, limit: 1 })
          assert.isDefined(claimed)
          yield* outbox.settle(claimed!.message.id, "test", {
            _tag: "Dead",
            at: now,
            unknownOutcome: false,
            error: `provider refused ${claimed!.message.recipientPhone}: not a mobile number`,
            code: "isv.MOBILE_NUMBER_ILLEGAL"
          })
          const dead = yield* state.operator.notifications.deadLetters({ urlParams: {} })
          assert.deepStrictEqual(
            dead.items.map((d) => [d.message.id, d.delivery.lastCode]),
            [[claimed!.message.id, "isv.MOBILE_NUMBER_ILLEGAL"]]
          )
          const byCode = (code: string) =>
            Effect.map(state.operator.notifications.deadLetters({ urlParams: { code } }), (page) =>
              page.items.map((d) => d.message.id)
            )
          assert.deepStrictEqual(yield* byCode("isv.MOBILE_NUMBER_ILLEGAL"), [claimed!.message.id])
          assert.deepStrictEqual(yield* byCode("isv.AMOUNT_NOT_ENOUGH"), [], "another code lists nothing")
          const summary = yield* state.operator.notifications.summary()
          assert.deepStrictEqual(
            [summary.dead, summary.deadByCode],
            [1, [{ code: "isv.MOBILE_NUMBER_ILLEGAL", count: 1 }]],
            "the summary counts it by its code"
          )
          assert.match(dead.items[0]!.message.recipientPhone, /^\d{3}\*{4}\d{4}$/)
          assert.notInclude(JSON.stringify(dead.items), claimed!.message.recipientPhone.replace(/^\+86/, ""))
          const requeued = yield* state.operator.notifications.requeue({
            path: { messageId: claimed!.message.id },
            headers: {}
          })
          assert.strictEqual(requeued.messageId, claimed!.message.id)
          const waiting = yield* state.operator.notifications.summary()
          const later = yield* DateTime.now
          assert.strictEqual(waiting.dead, 0, "re-queued: no dead letter left")
          assert.isAtLeast(waiting.due, 1, "the re-queued letter is due at once")
          assert.isTrue(
            waiting.oldestDueAt !== null && DateTime.lessThanOrEqualTo(waiting.oldestDueAt, later),
            "and the oldest due one has waited since then or before"
          )
          const [again] = yield* outbox.claim({ owner: "test", now, leaseMillis: 60_000, limit: 1 })
          assert.strictEqual(again?.message.id, claimed!.message.id, "due again at once")
          yield* outbox.settle(again!.message.id, "test", {
            _tag: "Dead",
            at: now,
            unknownOutcome: false,
            error: "still refused",
            code: "isv.AMOUNT_NOT_ENOUGH"
          })
          assert.deepStrictEqual(
            yield* state.operator.notifications.requeueDead({
              urlParams: { code: "isv.MOBILE_NUMBER_ILLEGAL" },
              headers: {}
            }),
            { items: [], nextCursor: null },
            "dead again of another cause: not re-queued under the first code"
          )
          const all = yield* state.operator.notifications.requeueDead({
            urlParams: { limit: 100, code: "isv.AMOUNT_NOT_ENOUGH" },
            headers: {}
          })
          assert.deepStrictEqual(all, { items: [claimed!.message.id], nextCursor: null })
          assert.deepStrictEqual(
            (yield* state.operator.notifications.deadLetters({ urlParams: {} })).items,
            []
          )
        })
      )

      it.effect("statistics and the audit trail", () =>
        Effect.gen(function* () {
          const day = yield* today
          const report = yield* state.operator.statistics.figures({
            urlParams: { from: Deadline.addDays(day, -1), to: day, groupBy: "field" }
          })
          assert.strictEqual(report.total.demandsPublished, 1)
          assert.strictEqual(report.total.demandsSolved, 1)
          const trail = yield* state.enterprise.audit.list({ urlParams: { demandId: state.demand.id } })
          assert.include(
            trail.items.map((e) => e.action),
            "demand.approved"
          )
          const denied = yield* Expect.failureOf(
            state.expert.statistics.figures({ urlParams: { from: day, to: day } })
          )
          assert.instanceOf(denied, ApiError.Denied)
        })
      )

      it.effect(
        "R54, R4: an attachment is the member's own file; attached to a demand, its readers read it naming the demand",
        () =>
          Effect.gen(function* () {
            const mine = new FormData()
            mine.append("name", "需求说明.pdf")
            mine.append("file", new Blob([pdf], { type: "application/pdf" }), "demand.pdf")
            const attached = yield* state.enterprise.files.upload({ payload: mine, headers: {} })
            const foreign = yield* Expect.failureOf(
              state.enterprise.demands.draft({
                payload: yield* form({ attachments: [state.fileId] }),
                headers: {}
              })
            )
            assert.instanceOf(foreign, ApiError.InvalidInput)
            assert.strictEqual(foreign.code, "attachment.unknown")
            assert.strictEqual(foreign.field, "attachments.0")
            const d = yield* state.enterprise.demands.draft({
              payload: yield* form({ attachments: [attached.id] }),
              headers: {}
            })
            yield* state.enterprise.demands.submit({ path: { demandId: d.id }, headers: {} })
            yield* state.operator.review.approve({ path: { demandId: d.id }, headers: {} })
            const read = yield* state.expert.files.content({
              path: { fileId: attached.id },
              urlParams: { demandId: d.id }
            })
            assert.deepStrictEqual(Array.from(read), Array.from(pdf))
            const unnamed = yield* Expect.failureOf(
              state.expert.files.content({ path: { fileId: attached.id }, urlParams: {} })
            )
            assert.instanceOf(unnamed, ApiError.NotFound)
          })
      )

      it.effect("R63: a repeated Idempotency-Key returns the first result; another request is 422", () =>
        Effect.gen(function* () {
          const payload = yield* form({ title: "幂等需求" })
          const first = yield* state.enterprise.demands.draft({
            payload,
            headers: { "idempotency-key": "draft-1" }
          })
          const again = yield* state.enterprise.demands.draft({
            payload,
            headers: { "idempotency-key": "draft-1" }
          })
          assert.strictEqual(again.id, first.id)
          const reused = yield* Expect.failureOf(
            state.enterprise.demands.draft({
              payload: { ...payload, title: "另一个需求" },
              headers: { "idempotency-key": "draft-1" }
            })
          )
          assert.instanceOf(reused, ApiError.IdempotencyKeyReused)
          assert.strictEqual(reused.rule, "R63")
        })
      )

      it.effect("outcome unsolved, then restart after the deadline (R32, R33)", () =>
        Effect.gen(function* () {
          const w = state.world
          const own = yield* Fixtures.publish(w, w.enterprise.account, { title: "储能电池热管理" })
          const unsolved = yield* state.enterprise.serviceLog.unsolved({
            path: { demandId: own.id },
            headers: {}
          })
          assert.strictEqual(unsolved.outcome, "unsolved")
          yield* TestClock.adjust("32 days")
          const enterprise = yield* as(w.enterprise.account)
          const restarted = yield* enterprise.serviceLog.restart({
            path: { demandId: own.id },
            payload: { form: yield* form({ title: "储能电池热管理（重启）" }) },
            headers: {}
          })
          assert.strictEqual(restarted.state, "pending_review")
          assert.strictEqual(restarted.round, 2)
          assert.strictEqual(restarted.number, own.number)
        })
      )

      it.effect("commissions: either side ends an active one", () =>
        Effect.gen(function* () {
          const w = state.world
          const institution = yield* as(w.institution.account)
          const list = yield* institution.commissions.list({ urlParams: { states: ["active"] } })
          const ended = yield* institution.commissions.end({
            path: { commissionId: list.items[0]!.id },
            headers: {}
          })
          assert.strictEqual(ended.state, "ended")
        })
      )

      it.effect("every endpoint of the API answered a call with success", () =>
        Effect.sync(() => {
          const missing = allEndpoints().filter((e) => !called.has(e))
          assert.deepStrictEqual(missing, [])
        })
      )
    })
  })
