import { assert, describe, it } from "@effect/vitest"
import { AuditTrail, Consulting, Outcome, Publishing, Responding, Review, Selection } from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, TestClock } from "effect"
import { at, expectError, withWorld, failureOf } from "./helpers.js"
import { activeCommission, deadlineEnd, demandTrail, justAfter, proposal } from "./support.js"

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

  it.effect("R60: each member lists its own trail; operators see everything; no member reads another's", () =>
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
        yield* expectError(trail.list(world.institute.account, {}), "NotFound", "R5")
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
