import { assert, describe, it } from "@effect/vitest"
import {
  type Audit,
  AuditTrail,
  Commissioning,
  Consulting,
  Files,
  Ids,
  Membership,
  Outcome,
  Persistence,
  Publishing,
  Responding,
  Review,
  Rewards,
  Selection
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, TestClock } from "effect"
import { at, expectError, withWorld, failureOf } from "./helpers.js"
import { activeCommission, deadlineEnd, demandTrail, justAfter, proposal, trailOf } from "./support.js"

const tick = TestClock.adjust("1 second")

/**
 * A demand the institution publishes for its client (R41), approved, with a response
 * of the institute's (`r`) and one of the expert's (`other`); a second between steps.
 */
const commissionedWithTwoResponses = (world: Fixtures.World) =>
  Effect.gen(function* () {
    const publishing = yield* Publishing.Publishing
    const review = yield* Review.Review
    const responding = yield* Responding.Responding
    const i = world.institution.account
    yield* activeCommission(world)
    const draft = yield* publishing.draft(
      i,
      yield* Fixtures.form(Fixtures.onBehalf(world, world.enterprise.member.id))
    )
    yield* tick
    const demandId = draft.id
    yield* publishing.submit(i, { demandId })
    yield* tick
    yield* review.approve(world.operator, { demandId })
    yield* tick
    const r = yield* responding.respond(world.institute.account, { demandId, proposal: proposal() })
    yield* tick
    const other = yield* responding.respond(world.expert.account, { demandId, proposal: proposal("专家") })
    yield* tick
    return { demandId, r, other }
  })

describe("AuditTrail", () => {
  it.effect("R60: every state change of a demand appends an event with actor, before, after and reason", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const publishing = yield* Publishing.Publishing
        const review = yield* Review.Review
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const consulting = yield* Consulting.Consulting
        const outcome = yield* Outcome.Outcome
        const e = world.enterprise.account

        const draft = yield* publishing.draft(e, yield* Fixtures.form())
        const demandId = draft.id
        yield* tick
        yield* publishing.submit(e, { demandId })
        yield* tick
        yield* review.reject(world.operator, { demandId, reason: "预期目标不够具体" })
        yield* tick
        yield* publishing.edit(e, {
          demandId,
          form: yield* Fixtures.form({ title: "石墨烯散热膜量产工艺（修订）" })
        })
        yield* tick
        yield* publishing.submit(e, { demandId })
        yield* tick
        yield* review.approve(world.operator, { demandId })
        yield* tick
        const mine = yield* responding.respond(world.institute.account, { demandId, proposal: proposal() })
        yield* tick
        yield* responding.revise(world.institute.account, {
          responseId: mine.id,
          proposal: proposal("修订方案")
        })
        yield* tick
        const gone = yield* responding.respond(world.expert.account, {
          demandId,
          proposal: proposal("专家方案")
        })
        yield* tick
        yield* responding.withdraw(world.expert.account, { responseId: gone.id })
        yield* tick
        const asked = yield* consulting.ask(world.serviceInstitution.account, {
          demandId,
          text: "请问预算？"
        })
        yield* tick
        yield* consulting.reply(e, { threadId: asked.thread.id, text: "面议。" })
        yield* tick
        yield* selection.adopt(e, { responseId: mine.id })
        yield* tick
        yield* outcome.appendLog(e, { demandId, entry: { date: "2026-05-04", text: "签订合同" } })
        yield* tick
        yield* outcome.unsolved(e, { demandId })
        yield* tick
        yield* selection.endSelection(e, { demandId })
        yield* tick
        yield* outcome.solved(e, { demandId })

        const trail = yield* demandTrail(e, demandId)
        assert.deepStrictEqual(
          trail.map((x) => [x.action, x.before, x.after]),
          [
            ["demand.drafted", null, "draft"],
            ["demand.submitted", "draft", "pending_review"],
            ["demand.rejected", "pending_review", "rejected"],
            ["demand.edited", "rejected", "rejected"],
            ["demand.submitted", "rejected", "pending_review"],
            ["demand.approved", "pending_review", "published ZB20260001"],
            ["response.submitted", null, "submitted"],
            ["response.revised", "submitted", "submitted"],
            ["response.submitted", null, "submitted"],
            ["response.withdrawn", "submitted", "withdrawn"],
            ["message.responder", null, "1"],
            ["message.demand", null, "2"],
            ["response.adopted", "submitted", "adopted"],
            ["intake.closed", "taking_responses", "selecting"],
            ["service_log.appended", null, "1"],
            ["demand.unsolved", "none", "unsolved"],
            ["selection.ended", "selecting", "selection_over"],
            ["demand.solved", "published", "solved"]
          ]
        )
        // Times follow the clock, one second apart; the adoption closes intake at its own instant.
        const times = trail.map((x) => DateTime.toEpochMillis(x.at))
        for (let i = 1; i < times.length; i++)
          assert.strictEqual(times[i]! - times[i - 1]!, trail[i]!.action === "intake.closed" ? 0 : 1000)
        const closed = trail[13]!
        assert.strictEqual(closed.entity, "demand")
        assert.strictEqual(closed.actorAccountId, e)

        const rejected = trail[2]!
        assert.strictEqual(rejected.actorAccountId, world.operator)
        assert.isNull(rejected.actorMemberId)
        assert.strictEqual(rejected.reason, "预期目标不够具体")
        assert.include(rejected.members, world.enterprise.member.id)

        const adopted = trail[12]!
        assert.strictEqual(adopted.actorAccountId, e)
        assert.strictEqual(adopted.actorMemberId, world.enterprise.member.id)
        assert.isNull(adopted.onBehalfOf)
        assert.strictEqual(adopted.entity, "response")
        assert.strictEqual(adopted.entityId, mine.id)
        assert.include(adopted.members, world.institute.member.id)

        const responded = trail[6]!
        assert.strictEqual(responded.actorAccountId, world.institute.account)
        assert.strictEqual(responded.actorMemberId, world.institute.member.id)
        assert.include(responded.members, world.enterprise.member.id)
      })
    )
  )

  it.effect("R60: actions on a commissioned demand record the client as on-behalf-of", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const outcome = yield* Outcome.Outcome
        const trailService = yield* AuditTrail.AuditTrail
        const i = world.institution.account
        const client = world.enterprise.member.id
        const { demandId, r, other } = yield* commissionedWithTwoResponses(world)
        const consulting = yield* Consulting.Consulting
        const asked = yield* consulting.ask(world.expert.account, { demandId, text: "请问预算？" })
        yield* tick
        yield* consulting.reply(i, { threadId: asked.thread.id, text: "面议。" })
        yield* tick
        yield* selection.adopt(i, { responseId: r.id })
        yield* tick
        yield* selection.giveFeedback(i, { responseId: other.id, feedback: { reason: "cost_too_high" } })
        yield* tick
        yield* outcome.appendLog(i, { demandId, entry: { date: "2026-05-04", text: "组织对接会" } })
        yield* tick
        yield* outcome.solved(i, { demandId, serviceFee: 5_000_000 })

        const byInstitution = (yield* demandTrail(i, demandId)).filter((x) => x.actorAccountId === i)
        assert.deepStrictEqual(
          byInstitution.map((x) => x.action),
          [
            "demand.drafted",
            "demand.submitted",
            "message.demand",
            "response.adopted",
            "intake.closed",
            "response.feedback",
            "service_log.appended",
            "response.not_adopted",
            "demand.solved"
          ]
        )
        for (const x of byInstitution) assert.strictEqual(x.actorMemberId, world.institution.member.id)
        assert.deepStrictEqual(
          byInstitution.filter((x) => x.onBehalfOf !== client).map((x) => x.action),
          [],
          "events of the institution acting for its client without onBehalfOf"
        )
        // The client finds the demand's events done on its behalf in its own trail,
        // and none of its responses' (R4).
        const clientTrail = yield* trailService.list(world.enterprise.account, {
          memberId: client,
          limit: 100
        })
        const actions = clientTrail.items.filter((x) => x.demandId === demandId).map((x) => x.action)
        assert.deepStrictEqual(
          actions.filter((a) => byInstitution.some((x) => x.action === a)),
          ["demand.solved", "service_log.appended", "intake.closed", "demand.submitted", "demand.drafted"]
        )
        for (const x of byInstitution.filter((x) => x.entity === "response" || x.entity === "thread")) {
          assert.include(
            x.members,
            client,
            `${x.action}: done on the client's behalf, it concerns the client (R60)`
          )
          assert.strictEqual(x.onBehalfOf, client)
        }
      })
    )
  )

  it.effect(
    "R5, R60: a draft moved from one client to another shows its new client none of the events done for the first; the institution and operators read them all",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const review = yield* Review.Review
          const i = world.institution.account
          const first = world.enterprise.member.id
          const second = world.enterprise2.member.id
          yield* activeCommission(world)
          yield* activeCommission(world, world.enterprise2)
          const draft = yield* publishing.draft(i, yield* Fixtures.form(Fixtures.onBehalf(world, first)))
          yield* tick
          yield* publishing.submit(i, { demandId: draft.id })
          yield* tick
          yield* review.reject(world.operator, { demandId: draft.id, reason: "材料不全" })
          yield* tick
          yield* publishing.edit(i, {
            demandId: draft.id,
            form: yield* Fixtures.form(Fixtures.onBehalf(world, second))
          })
          yield* tick
          yield* publishing.submit(i, { demandId: draft.id })

          const secondReads = yield* demandTrail(world.enterprise2.account, draft.id)
          assert.deepStrictEqual(
            secondReads.map((x) => [x.action, x.onBehalfOf]),
            [
              ["demand.edited", second],
              ["demand.submitted", second]
            ]
          )
          for (const reader of [i, world.operator]) {
            const all = yield* demandTrail(reader, draft.id)
            assert.deepStrictEqual(
              all.map((x) => [x.action, x.onBehalfOf]),
              [
                ["demand.drafted", first],
                ["demand.submitted", first],
                ["demand.rejected", null],
                ["demand.edited", second],
                ["demand.submitted", second]
              ]
            )
          }
          // The first client no longer reads the demand; its own trail keeps what was done for it.
          yield* expectError(demandTrail(world.enterprise.account, draft.id), "NotFound", "R5")
          // Nor does the new client read the first one's events by naming it.
          yield* expectError(
            trailOf(world.enterprise2.account, { demandId: draft.id, memberId: first }),
            "NotFound",
            "R5"
          )
          const firstOwn = yield* trailOf(world.enterprise.account, { memberId: first })
          assert.deepStrictEqual(
            firstOwn.filter((x) => x.demandId === draft.id).map((x) => x.action),
            ["demand.drafted", "demand.submitted", "demand.rejected"]
          )
        })
      )
  )

  it.effect(
    "R4: the client of a commissioned demand reads neither its responses' nor its threads' events, in the demand's trail or its own; the managing side and operators read them",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const consulting = yield* Consulting.Consulting
          const trailService = yield* AuditTrail.AuditTrail
          const i = world.institution.account
          const client = world.enterprise.member.id
          const { demandId, r, other } = yield* commissionedWithTwoResponses(world)
          const asked = yield* consulting.ask(world.expert.account, { demandId, text: "是否接受分期付款？" })
          yield* consulting.reply(i, { threadId: asked.thread.id, text: "可以" })
          yield* tick
          yield* selection.adopt(i, { responseId: r.id })
          yield* selection.giveFeedback(i, {
            responseId: other.id,
            feedback: { reason: "other", text: "报价超出预算一倍" }
          })
          const privateTo = new Set(["response", "thread"])
          const entities = (events: ReadonlyArray<{ readonly entity: string }>) =>
            [...new Set(events.map((x) => x.entity))].sort()

          const managing = yield* demandTrail(i, demandId)
          assert.deepStrictEqual(entities(managing), ["demand", "response", "thread"])
          assert.deepStrictEqual(entities(yield* demandTrail(world.operator, demandId)), [
            "demand",
            "response",
            "thread"
          ])

          const clientDemand = yield* demandTrail(world.enterprise.account, demandId)
          assert.deepStrictEqual(
            entities(clientDemand),
            ["demand"],
            "the client's view of the demand's trail"
          )
          assert.deepStrictEqual(
            clientDemand.map((x) => x.id),
            managing.filter((x) => !privateTo.has(x.entity)).map((x) => x.id),
            "every other event of the demand, in order"
          )
          const clientOwn = (yield* trailService.list(world.enterprise.account, {
            memberId: client,
            limit: 100
          })).items
          assert.isTrue(clientOwn.some((x) => x.demandId === demandId))
          assert.isFalse(
            clientOwn.some((x) => privateTo.has(x.entity)),
            "the client's own trail: nothing of a response or thread"
          )
          // Operators still find what was done on the client's behalf in its trail (R60).
          const forOperator = (yield* trailService.list(world.operator, { memberId: client, limit: 100 }))
            .items
          assert.includeMembers(
            forOperator.filter((x) => x.demandId === demandId).map((x) => x.action),
            ["response.adopted", "response.feedback"]
          )
          assert.isFalse(
            JSON.stringify([clientDemand, clientOwn]).includes("报价超出预算一倍"),
            "not the feedback's text"
          )

          const responder = (yield* trailService.list(world.expert.account, {
            memberId: world.expert.member.id,
            limit: 100
          })).items
          assert.includeMembers(
            responder.map((x) => x.action),
            ["response.submitted", "message.responder", "message.demand"],
            "the responder still reads its own response's and thread's events"
          )
          assert.notInclude(
            responder.map((x) => x.action),
            "response.feedback",
            "R61: not the reason given before it is told its response was not adopted"
          )
        })
      )
  )

  it.effect(
    "R60: each member lists its own trail (naming it); operators see everything; no member reads another's",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const trail = yield* AuditTrail.AuditTrail
          const responding = yield* Responding.Responding
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const mine = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          yield* responding.respond(world.expert.account, { demandId: demand.id, proposal: proposal("专家") })

          const own = yield* trail.list(world.institute.account, {
            memberId: world.institute.member.id,
            limit: 100
          })
          assert.isAbove(own.items.length, 0)
          for (const x of own.items) assert.include(x.members, world.institute.member.id)
          assert.include(
            own.items.map((x) => x.entityId),
            mine.id
          )
          // Another responder's response is not in it.
          assert.isTrue(own.items.every((x) => x.actorMemberId !== world.expert.member.id))

          yield* expectError(
            trail.list(world.enterprise.account, { memberId: world.institute.member.id }),
            "NotFound",
            "R5"
          )
          // Naming neither a demand nor a member is a missing parameter, not someone unseen.
          yield* expectError(trail.list(world.institute.account, {}), "InvalidInput", "R60", "memberId")
          yield* expectError(trail.list(null, { memberId: world.institute.member.id }), "Denied", "R5")
          // A responder does not read the demand's trail (it holds others' responses, R4).
          yield* expectError(trail.list(world.institute.account, { demandId: demand.id }), "NotFound", "R5")

          const forOperator = yield* trail.list(world.operator, {
            memberId: world.institute.member.id,
            limit: 100
          })
          assert.deepStrictEqual(
            forOperator.items.map((x) => x.id),
            own.items.map((x) => x.id)
          )
          const everything = yield* trail.list(world.operator, { limit: 100 })
          const actors = new Set(everything.items.map((x) => x.actorAccountId))
          for (const a of [
            world.operator,
            world.enterprise.account,
            world.institute.account,
            world.expert.account
          ]) {
            assert.isTrue(actors.has(a))
          }
        })
      )
  )

  it.effect(
    "R60: the memory adapter keeps events as written, appended or through a command: neither the object given nor a listed one changes what it stores",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const audit = yield* Persistence.AuditRepository
          const memberId = world.enterprise.member.id
          const event: Audit.AuditEvent = {
            id: Ids.make<Ids.AuditEventId>(),
            at: DateTime.unsafeMake("2026-05-04T02:00:00Z"),
            actorAccountId: world.enterprise.account,
            actorMemberId: memberId,
            onBehalfOf: null,
            entity: "member",
            entityId: memberId,
            demandId: null,
            members: [memberId],
            action: "member.created",
            before: null,
            after: "enterprise",
            reason: null
          }
          const appended = { ...event, members: [...event.members] }
          yield* audit.append(appended)
          appended.members.push("someone" as Ids.MemberId)
          ;(appended as { action: string }).action = "tampered"
          const stored = () =>
            Effect.map(audit.list({ memberId, limit: 100 }), (events) =>
              events.find((e) => e.id === event.id)
            )
          const listed = (yield* stored())!
          assert.deepStrictEqual(listed, event)
          assert.throws(() => {
            ;(listed as { action: string }).action = "tampered"
          }, TypeError)
          assert.throws(
            () => (listed.members as Array<Ids.MemberId>).push("someone" as Ids.MemberId),
            TypeError
          )
          assert.deepStrictEqual(yield* stored(), event)

          // So are the events a command writes (through the Journal).
          const draft = yield* (yield* Publishing.Publishing).draft(
            world.enterprise.account,
            yield* Fixtures.form()
          )
          const [drafted] = yield* demandTrail(world.enterprise.account, draft.id)
          assert.strictEqual(drafted!.action, "demand.drafted")
          assert.throws(() => {
            ;(drafted as { action: string }).action = "tampered"
          }, TypeError)
          assert.throws(
            () => (drafted!.members as Array<Ids.MemberId>).push("someone" as Ids.MemberId),
            TypeError
          )
          assert.strictEqual(
            (yield* demandTrail(world.enterprise.account, draft.id))[0]!.action,
            "demand.drafted"
          )
        })
      )
  )

  it.effect("R60: a refused command appends nothing", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const trail = yield* AuditTrail.AuditTrail
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const r = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        const count = Effect.map(trail.list(world.operator, { limit: 100 }), (p) => p.items.length)
        const before = yield* count
        yield* failureOf(
          responding.respond(world.institute.account, { demandId: demand.id, proposal: proposal() })
        )
        yield* failureOf(selection.adopt(world.institute.account, { responseId: r.id }))
        yield* failureOf(
          selection.giveFeedback(world.enterprise.account, {
            responseId: r.id,
            feedback: { reason: "other", text: "文".repeat(501) }
          })
        )
        assert.strictEqual(yield* count, before)
      })
    )
  )

  it.effect(
    "R60: ending selection records each response becoming not adopted, in its responder's trail",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const trail = yield* AuditTrail.AuditTrail
          const responding = yield* Responding.Responding
          const selection = yield* Selection.Selection
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const r = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          yield* at(justAfter(yield* deadlineEnd(demand)))
          yield* selection.endSelection(world.enterprise.account, { demandId: demand.id })
          const own = yield* trail.list(world.institute.account, {
            memberId: world.institute.member.id,
            limit: 100
          })
          const changes = own.items
            .filter((x) => x.entityId === r.id)
            .map((x) => `${x.before ?? ""}→${x.after ?? ""}`)
          assert.include(changes, "→submitted")
          assert.include(changes, "submitted→not_adopted")
        })
      )
  )
})

/** A member's own trail as `reader` reads it, oldest first (one page). */
const memberTrail = (reader: Ids.AccountId, memberId: Ids.MemberId) => trailOf(reader, { memberId })

/** The events of one entity, oldest first, as the operator reads the whole trail. */
const entityTrail = (operator: Ids.AccountId, entityId: string) =>
  Effect.map(trailOf(operator), (events) => events.filter((e) => e.entityId === entityId))

/** What an event says: action, before, after, who acted (account and member), for whom. */
const said = (e: Audit.AuditEvent) => [
  e.action,
  e.before,
  e.after,
  e.actorAccountId,
  e.actorMemberId,
  e.onBehalfOf
]

describe("AuditTrail beyond demands", () => {
  it.effect(
    "R60: a commission's request, acceptance and end, and a declined one, are in both parties' trails",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const commissioning = yield* Commissioning.Commissioning
          const e = world.enterprise
          const i = world.institution
          const requested = yield* commissioning.request(e.account, {
            institutionId: i.member.id,
            message: "委托贵机构代为发布"
          })
          yield* tick
          yield* commissioning.accept(i.account, { commissionId: requested.id })
          yield* tick
          yield* commissioning.end(e.account, { commissionId: requested.id })
          yield* tick
          const other = yield* commissioning.request(world.enterprise2.account, {
            institutionId: i.member.id,
            message: "委托"
          })
          yield* tick
          yield* commissioning.decline(i.account, { commissionId: other.id })

          const first = [
            ["commission.requested", null, "requested", e.account, e.member.id, null],
            ["commission.active", "requested", "active", i.account, i.member.id, null],
            ["commission.ended", "active", "ended", e.account, e.member.id, null]
          ]
          const declined = [
            [
              "commission.requested",
              null,
              "requested",
              world.enterprise2.account,
              world.enterprise2.member.id,
              null
            ],
            ["commission.declined", "requested", "declined", i.account, i.member.id, null]
          ]
          const ofCommission = (events: ReadonlyArray<Audit.AuditEvent>, id: string) =>
            events.filter((x) => x.entity === "commission" && x.entityId === id).map(said)
          for (const [reader, member] of [
            [e.account, e.member.id],
            [i.account, i.member.id]
          ] as const) {
            assert.deepStrictEqual(ofCommission(yield* memberTrail(reader, member), requested.id), first)
          }
          assert.deepStrictEqual(ofCommission(yield* memberTrail(e.account, e.member.id), other.id), [])
          for (const [reader, member] of [
            [world.enterprise2.account, world.enterprise2.member.id],
            [i.account, i.member.id]
          ] as const) {
            assert.deepStrictEqual(ofCommission(yield* memberTrail(reader, member), other.id), declined)
          }
          const times = (yield* entityTrail(world.operator, requested.id)).map((x) =>
            DateTime.toEpochMillis(x.at)
          )
          assert.deepStrictEqual(
            times.map((t) => t - times[0]!),
            [0, 1000, 2000],
            "each event at its command's instant"
          )
        })
      )
  )

  it.effect(
    "R60, §3, R1: members and accounts the operator creates, an institution registered, a technology manager added: each appends its event",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const op = world.operator
          const member = yield* membership.createMember(op, {
            kind: "transfer_institution",
            name: "滨海技术转移中心"
          })
          yield* tick
          yield* membership.registerInstitution(op, { memberId: member.id })
          yield* tick
          const account = yield* membership.createAccount(op, {
            memberId: member.id,
            name: "王经理",
            phone: Fixtures.nextPhone()
          })
          yield* tick
          const manager = yield* membership.addTechnologyManager(account.id, {
            name: "李技术经理人",
            phone: Fixtures.nextPhone()
          })

          const trail = yield* memberTrail(account.id, member.id)
          assert.deepStrictEqual(
            trail.map((x) => [x.entity, x.entityId, ...said(x)]),
            [
              ["member", member.id, "member.created", null, "transfer_institution", op, null, null],
              ["member", member.id, "institution.registered", "unregistered", "registered", op, null, null],
              ["account", account.id, "account.created", null, "member", op, null, null],
              [
                "technology_manager",
                manager.id,
                "technology_manager.added",
                null,
                "active",
                account.id,
                member.id,
                null
              ]
            ]
          )
        })
      )
  )

  it.effect(
    "R60, R50, R51, R54: a reward round opened and closed, an institution's profile saved and a file uploaded each append their event",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const rewards = yield* Rewards.Rewards
          const files = yield* Files.Files
          const op = world.operator
          const i = world.institution
          const round = yield* rewards.openRound(op, {
            title: "2026年度科研众包奖励申报",
            rules: "按服务费用给予奖励。",
            periodStart: "2026-05-05",
            periodEnd: "2026-05-31",
            applicationDeadline: "2026-06-15"
          })
          yield* tick
          yield* rewards.closeRound(op, { roundId: round.id })
          yield* tick
          const profile = Fixtures.profileInput()
          yield* rewards.saveProfile(i.account, profile)
          yield* tick
          const bytes = Uint8Array.from(Array.from("%PDF-1.7\n合同%%EOF", (c) => c.charCodeAt(0) & 0xff))
          const file = yield* files.upload(i.account, { name: "技术合同.pdf", bytes })

          assert.deepStrictEqual((yield* entityTrail(op, round.id)).map(said), [
            ["reward_round.opened", null, "open 2026-05-05–2026-05-31, due 2026-06-15", op, null, null],
            ["reward_round.closed", "open", "closed", op, null, null]
          ])
          const own = yield* memberTrail(i.account, i.member.id)
          assert.deepStrictEqual(own.filter((x) => x.action === "institution_profile.saved").map(said), [
            [
              "institution_profile.saved",
              null,
              `${profile.name} ${profile.creditCode} …${profile.bankAccount.accountNumber.slice(-4)}`,
              i.account,
              i.member.id,
              null
            ]
          ])
          assert.deepStrictEqual(own.filter((x) => x.entityId === file.id).map(said), [
            [
              "file.uploaded",
              null,
              `application/pdf ${file.size} sha256:${file.sha256}`,
              i.account,
              i.member.id,
              null
            ]
          ])
        })
      )
  )

  it.effect(
    "R60, R61, R51: a revised feedback and a second profile save state what they replaced, the bank account by its last four digits",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const rewards = yield* Rewards.Rewards
          const i = world.institution
          const { demandId, other } = yield* commissionedWithTwoResponses(world)
          yield* selection.giveFeedback(i.account, {
            responseId: other.id,
            feedback: { reason: "cost_too_high" }
          })
          yield* tick
          yield* selection.giveFeedback(i.account, {
            responseId: other.id,
            feedback: { reason: "ip_conflict" }
          })
          const feedback = (yield* demandTrail(i.account, demandId)).filter(
            (x) => x.action === "response.feedback"
          )
          assert.deepStrictEqual(
            feedback.map((x) => [x.before, x.after]),
            [
              [null, "cost_too_high"],
              ["cost_too_high", "ip_conflict"]
            ]
          )

          const first = Fixtures.profileInput()
          yield* rewards.saveProfile(i.account, first)
          yield* tick
          const second = Fixtures.profileInput({
            bankAccount: { ...first.bankAccount, accountNumber: "6217000010009876543" }
          })
          yield* rewards.saveProfile(i.account, second)
          const saved = (yield* memberTrail(i.account, i.member.id)).filter(
            (x) => x.action === "institution_profile.saved"
          )
          const stated = `${first.name} ${first.creditCode}`
          assert.deepStrictEqual(
            saved.map((x) => [x.before, x.after]),
            [
              [null, `${stated} …4567`],
              [`${stated} …4567`, `${stated} …6543`]
            ]
          )
          assert.notInclude(JSON.stringify(saved), "6217000010009876543", "never the whole number")
        })
      )
  )

  it.effect(
    "R60, R33: a restart appends its event with the round before and after, at the restart's instant",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const e = world.enterprise
          const demand = yield* Fixtures.publish(world, e.account)
          yield* outcome.unsolved(e.account, { demandId: demand.id })
          const restartAt = justAfter(yield* deadlineEnd(demand))
          yield* at(restartAt)
          yield* outcome.restart(e.account, { demandId: demand.id, form: yield* Fixtures.form({}, 30) })
          const trail = yield* demandTrail(e.account, demand.id)
          const last = trail.at(-1)!
          assert.deepStrictEqual(said(last), [
            "demand.restarted",
            "published round 1",
            "pending_review round 2",
            e.account,
            e.member.id,
            null
          ])
          assert.strictEqual(DateTime.toEpochMillis(last.at), DateTime.toEpochMillis(restartAt))
          assert.include(last.members, e.member.id)
        })
      )
  )
})
