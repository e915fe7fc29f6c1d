import { assert, describe, it } from "@effect/vitest"
import {
  AuditTrail,
  Errors,
  Lists,
  Outcome,
  Persistence,
  Phase,
  Publishing,
  Responding,
  Selection,
  Settings
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Context, DateTime, Effect, Either, Option, TestClock } from "effect"
import {
  at,
  type Env,
  expectError,
  start,
  failingUpdates,
  failureOf,
  withFailingLocks,
  withoutOneReadLookups,
  underSettings,
  withPorts,
  withWorld
} from "./helpers.js"
import {
  deadlineEnd,
  demandTrail,
  justAfter,
  moreResponders,
  notices,
  phoneOf,
  proposal,
  selectionEnd
} from "./support.js"
import { offeredTo } from "./demandHelpers.js"

/** A demand of the world's enterprise with responses of the institute, the expert and the service institution. */
const demandWithResponses = (world: Fixtures.World) =>
  Effect.gen(function* () {
    const responding = yield* Responding.Responding
    const demand = yield* Fixtures.publish(world, world.enterprise.account)
    const institute = yield* responding.respond(world.institute.account, {
      demandId: demand.id,
      proposal: proposal("研究所方案")
    })
    const expert = yield* responding.respond(world.expert.account, {
      demandId: demand.id,
      proposal: proposal("专家方案")
    })
    const service = yield* responding.respond(world.serviceInstitution.account, {
      demandId: demand.id,
      proposal: proposal("服务机构方案")
    })
    return { demand, institute, expert, service }
  })

/**
 * Like `withWorld`, on memory ports whose outbox refuses "response adopted" notices,
 * without the optional capabilities (no `Journal`, no one-read lookups): core's
 * path through the base ports.
 */
const withBrokenAdoptionNotices = <A, E>(body: (world: Fixtures.World) => Effect.Effect<A, E, Env>) =>
  withPorts((full) => {
    const context = withoutOneReadLookups(Context.omit(Persistence.Journal)(full))
    const outbox = Context.get(context, Persistence.Outbox)
    const { findWithDemandForUpdate: _demand, ...responses } = Context.get(
      context,
      Persistence.ResponseRepository
    )
    return context.pipe(
      Context.add(Persistence.ResponseRepository, responses),
      Context.add(Persistence.Outbox, {
        ...outbox,
        enqueue: (messages) =>
          messages.some((m) => m.event === "response_adopted")
            ? Effect.fail(
                new Errors.InfrastructureError({ port: "Outbox", message: "SMS outbox unavailable" })
              )
            : outbox.enqueue(messages)
      })
    )
  }, body)

/** The memory ports, with the update of a demand that has an adoption failing (after the adoption's other writes were issued). */
const withBrokenDemandUpdates = <A, E>(
  body: (world: Fixtures.World) => Effect.Effect<A, E, Env>,
  overrides: Partial<Settings.PlatformSettings> = {}
) => withPorts(failingUpdates({ demand: (d) => d.adoptedCount > 0 }), body, overrides)

describe("Selection", () => {
  it.effect(
    "R23, §9: adopt is offered only while the round holds a response still submitted: not before one, not once it is withdrawn or adopted, and again for a new one",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const selection = yield* Selection.Selection
          const e = world.enterprise.account
          const demand = yield* Fixtures.publish(world, e)
          const adoptOffered = Effect.map(offeredTo(e, demand.id), (actions) => actions.includes("adopt"))
          assert.isFalse(yield* adoptOffered, "no response yet")
          const first = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          assert.isTrue(yield* adoptOffered, "one submitted")
          yield* responding.withdraw(world.institute.account, { responseId: first.id })
          assert.isFalse(yield* adoptOffered, "it was withdrawn")
          const second = yield* responding.respond(world.expert.account, {
            demandId: demand.id,
            proposal: proposal("专家方案")
          })
          assert.isTrue(yield* adoptOffered, "a new one")
          yield* selection.adopt(e, { responseId: second.id })
          assert.isFalse(yield* adoptOffered, "the only one submitted is adopted (several may be adopted)")
          yield* expectError(selection.adopt(e, { responseId: second.id }), "InvalidState", "R23")
          yield* at(justAfter(yield* deadlineEnd(demand)))
          assert.isFalse(yield* adoptOffered, "selecting, with none left to adopt")
        })
      )
  )

  it.effect("R23: the submitter adopts until the end of the selection window, also after the deadline", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const { demand, institute, expert, service } = yield* demandWithResponses(world)
        const end = yield* selectionEnd(demand)
        assert.strictEqual(DateTime.formatIso(end), "2026-06-17T15:59:59.999Z")

        yield* at(justAfter(yield* deadlineEnd(demand)))
        const first = yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
        assert.strictEqual(first.status, "adopted")

        yield* at(end)
        const second = yield* selection.adopt(world.enterprise.account, { responseId: expert.id })
        assert.strictEqual(second.status, "adopted")

        yield* at(justAfter(end))
        const over = yield* expectError(
          selection.adopt(world.enterprise.account, { responseId: service.id }),
          "InvalidState",
          "R23"
        )
        assert.strictEqual(
          over.message,
          "selection ended at 2026-06-17 23:59:59 +08:00 Asia/Shanghai",
          "in local time"
        )
        const lists = yield* Lists.Lists
        const stored = yield* lists.response(world.enterprise.account, { responseId: service.id })
        assert.strictEqual(stored.status, "not_adopted")
        assert.deepStrictEqual(
          (yield* notices("response_adopted")).map((m) => m.recipientPhone).sort(),
          [yield* phoneOf(world.institute.account), yield* phoneOf(world.expert.account)].sort()
        )
      })
    )
  )

  it.effect("R23: responses can be viewed at any time by the demand's side only", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const outcome = yield* Outcome.Outcome
        const { demand, institute, expert, service } = yield* demandWithResponses(world)
        const all = [institute.id, expert.id, service.id].sort()
        const view = (account = world.enterprise.account) =>
          Effect.map(lists.demandResponses(account, { demandId: demand.id }), (page) =>
            page.items.map((r) => r.id).sort()
          )

        assert.deepStrictEqual(yield* view(), all)
        yield* at(justAfter(yield* deadlineEnd(demand)))
        assert.deepStrictEqual(yield* view(), all)
        yield* at(justAfter(yield* selectionEnd(demand)))
        assert.deepStrictEqual(yield* view(), all)
        yield* outcome.solved(world.enterprise.account, { demandId: demand.id })
        assert.deepStrictEqual(yield* view(), all)
        assert.deepStrictEqual(yield* view(world.operator), all)

        yield* expectError(
          lists.demandResponses(world.institute.account, { demandId: demand.id }),
          "NotFound",
          "R4"
        )
        yield* expectError(
          lists.demandResponses(world.enterprise2.account, { demandId: demand.id }),
          "NotFound",
          "R4"
        )
      })
    )
  )

  it.effect("R23: only the demand's managing side adopts", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const { institute } = yield* demandWithResponses(world)
        yield* expectError(
          selection.adopt(world.institute.account, { responseId: institute.id }),
          "Denied",
          "R2"
        )
        yield* expectError(
          selection.adopt(world.expert.account, { responseId: institute.id }),
          "NotFound",
          "R4"
        )
        yield* expectError(
          selection.adopt(world.enterprise2.account, { responseId: institute.id }),
          "NotFound",
          "R4"
        )
        assert.lengthOf(yield* notices("response_adopted"), 0)
      })
    )
  )

  it.effect("R24: the first adoption closes intake at once, before the deadline", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const responding = yield* Responding.Responding
        const publishing = yield* Publishing.Publishing
        const lists = yield* Lists.Lists
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const response = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        assert.strictEqual((yield* publishing.get(null, { demandId: demand.id })).phase, "taking_responses")
        yield* selection.adopt(world.enterprise.account, { responseId: response.id })

        const view = yield* publishing.get(world.expert.account, { demandId: demand.id })
        assert.strictEqual(view.phase, "selecting")
        assert.notInclude(view.actions, "respond")
        assert.isNotNull(view.demand.intakeClosedAt)
        yield* expectError(
          responding.respond(world.expert.account, { demandId: demand.id, proposal: proposal() }),
          "InvalidState",
          "R24"
        )
        const open = yield* lists.hall(null, { takingResponses: true })
        assert.notInclude(
          open.items.map((d) => d.id),
          demand.id
        )
      })
    )
  )

  it.effect("R24: further responses already received may also be adopted", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const publishing = yield* Publishing.Publishing
        const { demand, institute, expert } = yield* demandWithResponses(world)
        yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
        const second = yield* selection.adopt(world.enterprise.account, { responseId: expert.id })
        assert.strictEqual(second.status, "adopted")
        assert.strictEqual(
          (yield* publishing.get(world.enterprise.account, { demandId: demand.id })).demand.adoptedCount,
          2
        )
        yield* expectError(
          selection.adopt(world.enterprise.account, { responseId: expert.id }),
          "InvalidState",
          "R23"
        )
      })
    )
  )

  it.effect("R24: with singleAdoption on, a second adoption is refused", () =>
    withWorld(
      (world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const lists = yield* Lists.Lists
          const { institute, expert } = yield* demandWithResponses(world)
          yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
          yield* expectError(
            selection.adopt(world.enterprise.account, { responseId: expert.id }),
            "InvalidState",
            "R24"
          )
          const stored = yield* lists.response(world.enterprise.account, { responseId: expert.id })
          assert.notStrictEqual(stored.status, "adopted")
          assert.lengthOf(yield* notices("response_adopted"), 1)
        }),
      { singleAdoption: true }
    )
  )

  it.effect(
    "R24: with singleAdoption on, the adoption ends selection at its instant: the demand and its view say so",
    () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const selection = yield* Selection.Selection
            const { demand, institute } = yield* demandWithResponses(world)
            const adoptedAt = DateTime.add(start, { hours: 3 })
            yield* at(adoptedAt)
            yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
            const stored = Option.getOrThrow(yield* (yield* Persistence.DemandRepository).findById(demand.id))
            assert.isTrue(
              stored.selectionEndedAt !== null && DateTime.Equivalence(stored.selectionEndedAt, adoptedAt),
              "the demand's selection ended at the adoption"
            )
            const view = yield* (yield* Publishing.Publishing).get(world.enterprise.account, {
              demandId: demand.id
            })
            assert.isTrue(
              view.selectionEndsAt !== null && DateTime.Equivalence(view.selectionEndsAt, adoptedAt)
            )
          }),
        { singleAdoption: true }
      )
  )

  it.effect(
    "R25: selection ended early (after an adoption) ends when the demand's side ended it, in the demand's view",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const { demand, institute } = yield* demandWithResponses(world)
          yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
          const endedAt = DateTime.add(start, { hours: 5 })
          yield* at(endedAt)
          yield* selection.endSelection(world.enterprise.account, { demandId: demand.id })
          const view = yield* (yield* Publishing.Publishing).get(world.enterprise.account, {
            demandId: demand.id
          })
          assert.isTrue(view.selectionEndsAt !== null && DateTime.Equivalence(view.selectionEndsAt, endedAt))
        })
      )
  )

  it.effect("R61: a withdrawn response gets no feedback", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const { expert } = yield* demandWithResponses(world)
        yield* (yield* Responding.Responding).withdraw(world.expert.account, { responseId: expert.id })
        yield* expectError(
          (yield* Selection.Selection).giveFeedback(world.enterprise.account, {
            responseId: expert.id,
            feedback: { reason: "not_relevant" }
          }),
          "InvalidState",
          "R61"
        )
      })
    )
  )

  it.effect("R25: each adoption notifies its responder", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const { demand, institute, expert } = yield* demandWithResponses(world)
        yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
        const adopted = yield* notices("response_adopted")
        assert.lengthOf(adopted, 1)
        assert.strictEqual(adopted[0]!.recipientPhone, yield* phoneOf(world.institute.account))
        assert.deepStrictEqual(adopted[0]!.params, { number: demand.number!, title: demand.form.title })

        yield* TestClock.adjust("1 second")
        yield* selection.adopt(world.enterprise.account, { responseId: expert.id })
        assert.deepStrictEqual(
          (yield* notices("response_adopted")).map((m) => m.recipientPhone),
          [yield* phoneOf(world.institute.account), yield* phoneOf(world.expert.account)]
        )
        assert.lengthOf(yield* notices("response_not_adopted"), 0)
      })
    )
  )

  it.effect("R25: ending selection notifies every responder not adopted, exactly once", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const responding = yield* Responding.Responding
        const outcome = yield* Outcome.Outcome
        const lists = yield* Lists.Lists
        const { demand, institute, expert, service } = yield* demandWithResponses(world)
        const [extra] = yield* moreResponders(world, 1)
        const withdrawn = yield* responding.respond(extra!.account, {
          demandId: demand.id,
          proposal: proposal("撤回的方案")
        })
        yield* responding.withdraw(extra!.account, { responseId: withdrawn.id })
        yield* selection.adopt(world.enterprise.account, { responseId: institute.id })

        const ended = yield* selection.endSelection(world.enterprise.account, { demandId: demand.id })
        assert.isNotNull(ended.selectionEndedAt)
        const expected = [
          yield* phoneOf(world.expert.account),
          yield* phoneOf(world.serviceInstitution.account)
        ]
        const sent = yield* notices("response_not_adopted")
        assert.deepStrictEqual(sent.map((m) => m.recipientPhone).sort(), [...expected].sort())
        for (const m of sent) assert.strictEqual(m.params.number, demand.number)

        for (const id of [expert.id, service.id]) {
          assert.strictEqual(
            (yield* lists.response(world.enterprise.account, { responseId: id })).status,
            "not_adopted"
          )
        }
        assert.strictEqual(
          (yield* lists.response(world.enterprise.account, { responseId: institute.id })).status,
          "adopted"
        )

        // Again: refused, and no notice is written twice.
        yield* expectError(
          selection.endSelection(world.enterprise.account, { demandId: demand.id }),
          "InvalidState",
          "R25"
        )
        yield* outcome.solved(world.enterprise.account, { demandId: demand.id })
        assert.lengthOf(yield* notices("response_not_adopted"), 2)
        yield* expectError(
          selection.adopt(world.enterprise.account, { responseId: expert.id }),
          "InvalidState",
          "R23"
        )
      })
    )
  )

  it.effect("R14: a demand whose service mode takes no responses has no selection to end", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const publishing = yield* Publishing.Publishing
        const demand = yield* Fixtures.publish(world, world.institution.account, {
          serviceMode: "institution_service",
          ...Fixtures.onBehalf(world)
        })
        yield* at(justAfter(yield* deadlineEnd(demand)))
        yield* expectError(
          selection.endSelection(world.institution.account, { demandId: demand.id }),
          "InvalidState",
          "R14"
        )
        const view = yield* publishing.get(world.institution.account, { demandId: demand.id })
        assert.isNull(view.demand.selectionEndedAt)
        assert.notInclude(view.actions, "end_selection")
        const trail = yield* demandTrail(world.institution.account, demand.id)
        assert.notInclude(
          trail.map((e) => e.action),
          "selection.ended"
        )
      })
    )
  )

  it.effect("R25: only the managing side ends selection", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const { demand } = yield* demandWithResponses(world)
        yield* expectError(
          selection.endSelection(world.institute.account, { demandId: demand.id }),
          "Denied",
          "R2"
        )
        assert.lengthOf(yield* notices("response_not_adopted"), 0)
      })
    )
  )

  it.effect("R25, R61: ending selection names R25 for a malformed demand, R61 for a malformed reason", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const { demand, expert } = yield* demandWithResponses(world)
        yield* expectError(
          selection.endSelection(world.enterprise.account, { demandId: "" }),
          "InvalidInput",
          "R25",
          "demandId"
        )
        yield* expectError(
          selection.endSelection(world.enterprise.account, {
            demandId: demand.id,
            feedback: [{ responseId: expert.id, feedback: { reason: "no_such_reason" as "other" } }]
          }),
          "InvalidInput",
          "R61",
          "feedback.0.feedback.reason"
        )
        assert.lengthOf(yield* notices("response_not_adopted"), 0)
      })
    )
  )

  it.effect(
    "R61: feedback that names one response twice is refused naming the second, and selection goes on",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const { demand, institute, expert } = yield* demandWithResponses(world)
          yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
          yield* expectError(
            selection.endSelection(world.enterprise.account, {
              demandId: demand.id,
              feedback: [
                { responseId: expert.id, feedback: { reason: "other" } },
                { responseId: expert.id, feedback: { reason: "cost_too_high" } }
              ]
            }),
            "InvalidInput",
            "R61",
            "feedback.1.responseId"
          )
          assert.lengthOf(yield* notices("response_not_adopted"), 0)
          const after = yield* (yield* Lists.Lists).response(world.enterprise.account, {
            responseId: expert.id
          })
          assert.strictEqual(after.status, "submitted")
          assert.isUndefined(after.feedback ?? undefined)
          const view = yield* (yield* Publishing.Publishing).get(world.enterprise.account, {
            demandId: demand.id
          })
          assert.strictEqual(view.phase, "selecting")
        })
      )
  )

  it.effect("R20: selection cannot end while responses are still taken", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const publishing = yield* Publishing.Publishing
        const { demand, expert } = yield* demandWithResponses(world)
        const end = yield* deadlineEnd(demand)
        yield* at(end)
        const open = yield* expectError(
          selection.endSelection(world.enterprise.account, {
            demandId: demand.id,
            feedback: [{ responseId: expert.id, feedback: { reason: "not_relevant" } }]
          }),
          "InvalidState",
          "R20"
        )
        assert.include(
          open.message,
          `taken until ${demand.form.responseDeadline} 23:59:59 +08:00 Asia/Shanghai`,
          "the deadline's end in local time"
        )
        const view = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
        assert.strictEqual(view.phase, "taking_responses")
        assert.isNull(view.demand.selectionEndedAt)
        assert.isNull(view.demand.intakeClosedAt)
        const lists = yield* Lists.Lists
        assert.isNull((yield* lists.response(world.enterprise.account, { responseId: expert.id })).feedback)
        assert.lengthOf(yield* notices("response_not_adopted"), 0)
        // Once the deadline has passed, it can.
        yield* at(justAfter(end))
        const ended = yield* selection.endSelection(world.enterprise.account, { demandId: demand.id })
        assert.isNotNull(ended.selectionEndedAt)
        assert.lengthOf(yield* notices("response_not_adopted"), 3)
      })
    )
  )

  it.effect(
    "R61: a reason given after the not-adopted notice follows it in a second notice, and is then final",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const lists = yield* Lists.Lists
          const { demand, institute, expert, service } = yield* demandWithResponses(world)
          yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
          yield* selection.endSelection(world.enterprise.account, {
            demandId: demand.id,
            feedback: [{ responseId: service.id, feedback: { reason: "cost_too_high" } }]
          })
          const expertPhone = yield* phoneOf(world.expert.account)
          const toExpert = Effect.map(notices("response_not_adopted"), (all) =>
            all.filter((m) => m.recipientPhone === expertPhone).map((m) => m.params.reason)
          )
          assert.deepStrictEqual(yield* toExpert, ["需求方暂未填写"])

          const given = yield* selection.giveFeedback(world.enterprise.account, {
            responseId: expert.id,
            feedback: { reason: "ip_conflict" }
          })
          assert.deepStrictEqual(given.feedback, { reason: "ip_conflict" })
          assert.deepStrictEqual(yield* toExpert, ["需求方暂未填写", "知识产权冲突"])
          for (const m of yield* notices("response_not_adopted"))
            assert.strictEqual(m.params.number, demand.number)

          // Told once: neither this reason nor one the notice carried can change.
          for (const responseId of [expert.id, service.id]) {
            yield* expectError(
              selection.giveFeedback(world.enterprise.account, {
                responseId,
                feedback: { reason: "not_relevant" }
              }),
              "InvalidState",
              "R61"
            )
          }
          assert.deepStrictEqual(
            (yield* lists.response(world.enterprise.account, { responseId: expert.id })).feedback,
            { reason: "ip_conflict" }
          )
          assert.deepStrictEqual(
            (yield* lists.response(world.enterprise.account, { responseId: service.id })).feedback,
            { reason: "cost_too_high" }
          )
          assert.lengthOf(yield* notices("response_not_adopted"), 3)
        })
      )
  )

  it.effect("R61: before the notice goes out, a reason may be revised and the notice carries the last", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const { demand, institute, expert } = yield* demandWithResponses(world)
        yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
        yield* selection.giveFeedback(world.enterprise.account, {
          responseId: expert.id,
          feedback: { reason: "not_relevant" }
        })
        yield* selection.giveFeedback(world.enterprise.account, {
          responseId: expert.id,
          feedback: { reason: "maturity_too_low" }
        })
        assert.lengthOf(yield* notices("response_not_adopted"), 0)
        yield* selection.endSelection(world.enterprise.account, { demandId: demand.id })
        const phone = yield* phoneOf(world.expert.account)
        const toExpert = (yield* notices("response_not_adopted")).filter((m) => m.recipientPhone === phone)
        assert.deepStrictEqual(
          toExpert.map((m) => m.params.reason),
          ["技术成熟度不足"]
        )
      })
    )
  )

  it.effect(
    "R61: a reason given before the decision stays with the demand's side: the responder reads it once not adopted, and an adoption clears it",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const lists = yield* Lists.Lists
          const { demand, institute, expert } = yield* demandWithResponses(world)
          const reason = { reason: "cost_too_high" } as const
          for (const r of [institute, expert])
            yield* selection.giveFeedback(world.enterprise.account, { responseId: r.id, feedback: reason })
          const asResponder = (account: typeof world.expert.account, responseId: typeof expert.id) =>
            lists.response(account, { responseId })
          assert.isNull((yield* asResponder(world.expert.account, expert.id)).feedback, "not decided yet")
          assert.deepStrictEqual(
            (yield* lists.response(world.enterprise.account, { responseId: expert.id })).feedback,
            reason,
            "the demand's side reads what it gave"
          )
          const adopted = yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
          assert.isNull(adopted.feedback, "an adopted response has no reason for not being adopted")
          assert.isNull((yield* asResponder(world.institute.account, institute.id)).feedback)
          yield* selection.endSelection(world.enterprise.account, { demandId: demand.id })
          const told = yield* asResponder(world.expert.account, expert.id)
          assert.strictEqual(told.status, "not_adopted")
          assert.deepStrictEqual(told.feedback, reason, "once not adopted, the responder reads the reason")
        })
      )
  )

  it.effect(
    "R61: until the responder is told, no path shows it the reason: its own trail lists no feedback event, revise and withdraw answer none; told after the notice, its trail lists it",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const responding = yield* Responding.Responding
          const lists = yield* Lists.Lists
          const trail = yield* AuditTrail.AuditTrail
          const { demand, institute, expert, service } = yield* demandWithResponses(world)
          const feedbackEvents = (member: Fixtures.World["expert"]) =>
            Effect.map(trail.list(member.account, { memberId: member.member.id, limit: 100 }), (page) =>
              page.items.filter((e) => e.action === "response.feedback").map((e) => [e.after, e.reason])
            )
          const reason = { reason: "other", text: "内部评估：报价比竞争方高三成" } as const
          yield* selection.giveFeedback(world.enterprise.account, { responseId: expert.id, feedback: reason })
          assert.deepStrictEqual(yield* feedbackEvents(world.expert), [], "the responder's trail")
          const revised = yield* responding.revise(world.expert.account, {
            responseId: expert.id,
            proposal: proposal("改")
          })
          assert.isNull(revised.feedback, "revise answers no reason")
          assert.isNull(
            (yield* responding.withdraw(world.expert.account, { responseId: expert.id })).feedback
          )
          assert.isNull(
            (yield* lists.response(world.enterprise.account, { responseId: expert.id })).feedback,
            "the revision cleared it for the demand's side too (R21)"
          )
          yield* selection.adopt(world.enterprise.account, { responseId: service.id })
          yield* selection.endSelection(world.enterprise.account, { demandId: demand.id })
          const told = { reason: "maturity_too_low" } as const
          yield* selection.giveFeedback(world.enterprise.account, {
            responseId: institute.id,
            feedback: told
          })
          assert.deepStrictEqual(yield* feedbackEvents(world.institute), [["maturity_too_low", null]])
        })
      )
  )

  it.effect(
    "R61, R21: a revision clears a reason given ahead of the decision, so the not-adopted notice carries none about the replaced proposal; a reason given again is carried",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const responding = yield* Responding.Responding
          const lists = yield* Lists.Lists
          const { demand, institute, expert, service } = yield* demandWithResponses(world)
          const stale = { reason: "cost_too_high", text: "报价200万过高" } as const
          for (const r of [expert, service])
            yield* selection.giveFeedback(world.enterprise.account, { responseId: r.id, feedback: stale })
          yield* responding.revise(world.expert.account, {
            responseId: expert.id,
            proposal: proposal("降价至50万")
          })
          yield* responding.revise(world.serviceInstitution.account, {
            responseId: service.id,
            proposal: proposal("分期付款")
          })
          assert.isNull((yield* lists.response(world.enterprise.account, { responseId: expert.id })).feedback)
          const again = { reason: "maturity_too_low" } as const
          yield* selection.giveFeedback(world.enterprise.account, { responseId: service.id, feedback: again })
          yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
          yield* selection.endSelection(world.enterprise.account, { demandId: demand.id })
          const reasonTo = (account: typeof world.expert.account) =>
            Effect.gen(function* () {
              const phone = yield* phoneOf(account)
              return (yield* notices("response_not_adopted"))
                .filter((m) => m.recipientPhone === phone)
                .map((m) => m.params.reason)
            })
          assert.deepStrictEqual(yield* reasonTo(world.expert.account), ["需求方暂未填写"], "no stale reason")
          assert.deepStrictEqual(
            yield* reasonTo(world.serviceInstitution.account),
            ["技术成熟度不足"],
            "the reason given again"
          )
          const told = yield* lists.response(world.expert.account, { responseId: expert.id })
          assert.strictEqual(told.status, "not_adopted")
          assert.isNull(told.feedback)
        })
      )
  )

  it.effect(
    "R23: a response of a demand no longer published (solved) is not adopted, and nothing changes",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const outcome = yield* Outcome.Outcome
          const lists = yield* Lists.Lists
          const { demand, institute, expert } = yield* demandWithResponses(world)
          yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
          yield* outcome.solved(world.enterprise.account, { demandId: demand.id })
          const refused = yield* expectError(
            selection.adopt(world.enterprise.account, { responseId: expert.id }),
            "InvalidState",
            "R23"
          )
          assert.strictEqual((refused as { code?: string }).code, "adopt.not_published")
          const after = yield* lists.response(world.enterprise.account, { responseId: expert.id })
          assert.notStrictEqual(after.status, "adopted")
        })
      )
  )

  it.effect("R60, R24, R25: the adoption's change of the demand's phase is an event of the demand", () =>
    withWorld(
      (world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const { demand, institute } = yield* demandWithResponses(world)
          yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
          const ended = (yield* demandTrail(world.enterprise.account, demand.id)).filter(
            (e) => e.entity === "demand" && e.action === "selection.ended"
          )
          assert.deepStrictEqual(
            ended.map((e) => [e.before, e.after, e.entityId]),
            [["taking_responses", "selection_over", demand.id]]
          )
        }),
      { singleAdoption: true }
    )
  )

  it.effect("R25: with singleAdoption the adoption ends selection and notifies the others once", () =>
    withWorld(
      (world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const lists = yield* Lists.Lists
          const { institute, expert, service } = yield* demandWithResponses(world)
          yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
          // Selection is over for this round: the others read as not adopted …
          for (const id of [expert.id, service.id]) {
            assert.strictEqual(
              (yield* lists.response(world.enterprise.account, { responseId: id })).status,
              "not_adopted"
            )
          }
          // … so their responders are told so, once each (R25).
          assert.deepStrictEqual(
            (yield* notices("response_not_adopted")).map((m) => m.recipientPhone).sort(),
            [yield* phoneOf(world.expert.account), yield* phoneOf(world.serviceInstitution.account)].sort()
          )
        }),
      { singleAdoption: true }
    )
  )

  it.effect(
    "R24, R25: singleAdoption turned on after an adoption: the round reads as over, and the managing side may end it, which records it and notifies each of the others",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const { demand, institute, expert, service } = yield* demandWithResponses(world)
          yield* (yield* Selection.Selection).adopt(world.enterprise.account, { responseId: institute.id })
          assert.lengthOf(yield* notices("response_not_adopted"), 0, "two may be adopted while it is off")
          // The same store, the platform since set to adopt one response per round.
          yield* underSettings({ singleAdoption: true })(
            Effect.gen(function* () {
              const selection = yield* Selection.Selection
              const publishing = yield* Publishing.Publishing
              const lists = yield* Lists.Lists
              const me = world.enterprise.account
              assert.strictEqual(
                (yield* lists.response(me, { responseId: expert.id })).status,
                "not_adopted",
                "the round reads as over (R24)"
              )
              yield* expectError(selection.adopt(me, { responseId: expert.id }), "InvalidState", "R24")
              assert.include((yield* publishing.get(me, { demandId: demand.id })).actions, "end_selection")
              const settings = yield* Settings.Settings
              const stored = Option.getOrThrow(
                yield* (yield* Persistence.DemandRepository).findById(demand.id)
              )
              const now = yield* DateTime.now
              assert.isTrue(Phase.selectionUnrecorded(stored, now, settings))
              const closedModes = {
                ...settings,
                serviceModes: settings.serviceModes.map((m) => ({ ...m, acceptsResponses: false }))
              }
              assert.isTrue(
                Phase.selectionUnrecorded(stored, now, closedModes),
                "a round holding responses keeps its selection in a mode switched off since (R14)"
              )
              assert.isFalse(
                Phase.selectionUnrecorded({ ...stored, responseCount: 0 }, now, closedModes),
                "a mode that takes no responses, its round holding none: no selection to end (R14)"
              )
              const ended = yield* selection.endSelection(me, { demandId: demand.id })
              assert.isNotNull(ended.selectionEndedAt, "the end is recorded")
              assert.deepStrictEqual(
                (yield* notices("response_not_adopted")).map((m) => m.recipientPhone).sort(),
                [
                  yield* phoneOf(world.expert.account),
                  yield* phoneOf(world.serviceInstitution.account)
                ].sort(),
                "each responder not adopted is told once (R25)"
              )
              for (const id of [expert.id, service.id]) {
                const response = yield* (yield* Persistence.ResponseRepository).findById(id)
                assert.strictEqual(Option.getOrThrow(response).status, "not_adopted", "stored as not adopted")
              }
              const trail = yield* demandTrail(me, demand.id)
              assert.deepStrictEqual(
                trail.filter((e) => e.action === "selection.ended").map((e) => [e.before, e.after]),
                [["selection_over", "selection_over"]],
                "the trail says what the phase was: already read as over"
              )
              assert.notInclude((yield* publishing.get(me, { demandId: demand.id })).actions, "end_selection")
              yield* expectError(selection.endSelection(me, { demandId: demand.id }), "InvalidState", "R25")
            })
          )
        })
      )
  )

  it.effect(
    "R21, R24: singleAdoption turned on after an adoption: a response that reads as not adopted is neither revised nor withdrawn, and its R61 reason stays",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const { institute, expert } = yield* demandWithResponses(world)
          yield* (yield* Selection.Selection).adopt(world.enterprise.account, { responseId: institute.id })
          yield* (yield* Selection.Selection).giveFeedback(world.enterprise.account, {
            responseId: expert.id,
            feedback: { reason: "cost_too_high" }
          })
          yield* underSettings({ singleAdoption: true })(
            Effect.gen(function* () {
              const responding = yield* Responding.Responding
              const lists = yield* Lists.Lists
              const before = yield* lists.response(world.enterprise.account, { responseId: expert.id })
              assert.strictEqual(before.status, "not_adopted", "the round reads as over (R24)")
              const revise = yield* expectError(
                responding.revise(world.expert.account, {
                  responseId: expert.id,
                  proposal: proposal("改后的方案")
                }),
                "InvalidState",
                "R21"
              )
              assert.strictEqual((revise as Errors.InvalidState).code, "response.decided")
              assert.strictEqual(revise.message, "the response is not_adopted")
              yield* expectError(
                responding.withdraw(world.expert.account, { responseId: expert.id }),
                "InvalidState",
                "R21"
              )
              assert.deepStrictEqual(
                yield* lists.response(world.enterprise.account, { responseId: expert.id }),
                before,
                "nothing changed: its proposal, status and reason as they were"
              )
            })
          )
        })
      )
  )

  it.effect("R26: no response is accepted after an adoption commits", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const responding = yield* Responding.Responding
        const lists = yield* Lists.Lists
        const publishing = yield* Publishing.Publishing
        const responders = yield* moreResponders(world, 30)
        let acceptedTotal = 0
        let refusedTotal = 0
        for (let round = 0; round < 5; round++) {
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const first = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          // Responses and the adoption race; each first moves the clock on, and every command
          // reads the clock inside its unit of work, so `now` follows the commit order.
          const racer = <A, E>(effect: Effect.Effect<A, E, Env>) =>
            Effect.either(Effect.zipRight(TestClock.adjust("1 millis"), effect))
          const attempts = responders.map((p, i) =>
            racer(responding.respond(p.account, { demandId: demand.id, proposal: proposal(`并发方案${i}`) }))
          )
          const adoption = racer(selection.adopt(world.enterprise.account, { responseId: first.id }))
          const position = 3 + round * 6
          const results = yield* Effect.all(
            [...attempts.slice(0, position), adoption, ...attempts.slice(position)],
            { concurrency: "unbounded" }
          )
          const adopted = results[position]!
          assert.isTrue(Either.isRight(adopted))
          const adoptedAt = Either.getOrThrow(adopted).adoptedAt!
          const others = results.filter((_, i) => i !== position)
          const accepted = others.filter(Either.isRight).map((r) => r.right)
          for (const r of others.filter(Either.isLeft)) {
            assert.strictEqual(r.left._tag, "InvalidState")
            assert.strictEqual((r.left as { rule?: string }).rule, "R24")
          }
          for (const r of accepted) assert.isTrue(DateTime.lessThan(r.submittedAt, adoptedAt))
          acceptedTotal += accepted.length
          refusedTotal += others.length - accepted.length

          const stored = yield* lists.demandResponses(world.enterprise.account, {
            demandId: demand.id,
            limit: 100
          })
          assert.deepStrictEqual(
            stored.items.map((r) => r.id).sort(),
            [first.id, ...accepted.map((r) => r.id)].sort()
          )
          for (const r of stored.items) assert.isTrue(DateTime.lessThanOrEqualTo(r.submittedAt, adoptedAt))
          const view = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
          assert.strictEqual(view.demand.responseCount, accepted.length + 1)
          assert.strictEqual(view.demand.adoptedCount, 1)
          const adoptedNotices = (yield* notices("response_adopted")).filter(
            (m) => m.params.number === demand.number
          )
          assert.lengthOf(adoptedNotices, 1)
        }
        // The race was real: some responses landed before the adoption, some after it.
        assert.isAbove(acceptedTotal, 0)
        assert.isAbove(refusedTotal, 0)
      })
    )
  )

  it.effect("R26: concurrent adoptions are all kept, each with its notice", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const publishing = yield* Publishing.Publishing
        const { demand, institute, expert, service } = yield* demandWithResponses(world)
        const results = yield* Effect.all(
          [institute, expert, service, institute, expert].map((r) =>
            Effect.either(selection.adopt(world.enterprise.account, { responseId: r.id }))
          ),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(results.filter(Either.isRight).length, 3)
        for (const r of results.filter(Either.isLeft)) assert.strictEqual(r.left._tag, "InvalidState")
        const view = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
        assert.strictEqual(view.demand.adoptedCount, 3)
        assert.deepStrictEqual(
          (yield* notices("response_adopted")).map((m) => m.recipientPhone).sort(),
          [
            yield* phoneOf(world.institute.account),
            yield* phoneOf(world.expert.account),
            yield* phoneOf(world.serviceInstitution.account)
          ].sort()
        )
      })
    )
  )

  it.effect(
    "R5: an adoption or feedback by an unknown account is refused before its response (read with the actor) is looked at, even when that read fails",
    () =>
      withFailingLocks((world, lockedReads) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const { institute } = yield* demandWithResponses(world)
          const stranger = "no-such-account" as typeof world.operator
          const missing = "no-such-response" as typeof institute.id
          for (const failing of [false, true]) {
            lockedReads.failing = failing
            for (const responseId of [institute.id, missing]) {
              yield* expectError(selection.adopt(stranger, { responseId }), "Denied", "R5")
              yield* expectError(
                selection.giveFeedback(stranger, { responseId, feedback: { reason: "cost_too_high" } }),
                "Denied",
                "R5"
              )
            }
          }
          const failure = yield* failureOf(
            selection.adopt(world.enterprise.account, { responseId: institute.id })
          )
          assert.strictEqual(failure._tag, "InfrastructureError")
          lockedReads.failing = false
          yield* expectError(
            selection.adopt(world.enterprise.account, { responseId: missing }),
            "NotFound",
            "R4"
          )
          assert.strictEqual(
            (yield* (yield* Lists.Lists).response(world.enterprise.account, { responseId: institute.id }))
              .status,
            "submitted"
          )
        })
      )
  )

  it.effect(
    "R63: a replayed adoption answers its first result without its response's read (read with the actor), even when that read fails",
    () =>
      withFailingLocks((world, lockedReads) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const { institute, expert } = yield* demandWithResponses(world)
          const options = { idempotencyKey: "adopt-institute-1" }
          const first = yield* selection.adopt(
            world.enterprise.account,
            { responseId: institute.id },
            options
          )
          lockedReads.failing = true
          const again = yield* selection.adopt(
            world.enterprise.account,
            { responseId: institute.id },
            options
          )
          assert.deepStrictEqual(again, first)
          yield* expectError(
            selection.adopt(world.enterprise.account, { responseId: expert.id }, options),
            "IdempotencyKeyReused",
            "R63"
          )
          lockedReads.failing = false
          assert.lengthOf(yield* notices("response_adopted"), 1)
        })
      )
  )

  for (const singleAdoption of [false, true]) {
    it.effect(
      `R26: an adoption whose demand update fails, after its response's update was issued, changes nothing (singleAdoption ${singleAdoption ? "on" : "off"})`,
      () =>
        withBrokenDemandUpdates(
          (world) =>
            Effect.gen(function* () {
              const selection = yield* Selection.Selection
              const lists = yield* Lists.Lists
              const publishing = yield* Publishing.Publishing
              const { demand, institute, expert, service } = yield* demandWithResponses(world)
              const failure = yield* failureOf(
                selection.adopt(world.enterprise.account, { responseId: institute.id })
              )
              assert.strictEqual(failure._tag, "InfrastructureError")
              for (const r of [institute, expert, service]) {
                assert.strictEqual(
                  (yield* lists.response(world.enterprise.account, { responseId: r.id })).status,
                  "submitted"
                )
              }
              const view = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
              assert.strictEqual(view.demand.adoptedCount, 0)
              assert.isNull(view.demand.intakeClosedAt)
              assert.isNull(view.demand.selectionEndedAt)
              const actions = (yield* demandTrail(world.enterprise.account, demand.id)).map((e) => e.action)
              assert.notInclude(actions, "response.adopted")
              assert.notInclude(actions, "response.not_adopted")
              assert.lengthOf(yield* notices("response_adopted"), 0)
              assert.lengthOf(yield* notices("response_not_adopted"), 0)
            }),
          { singleAdoption }
        )
    )
  }

  it.effect('R25: ending selection when a "not adopted" update cannot be written changes nothing', () =>
    withPorts(failingUpdates({ response: (r) => r.status === "not_adopted" }), (world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const publishing = yield* Publishing.Publishing
        const stored = yield* Persistence.ResponseRepository
        const { demand, institute, expert, service } = yield* demandWithResponses(world)
        yield* at(justAfter(yield* deadlineEnd(demand)))
        const failure = yield* failureOf(
          selection.endSelection(world.enterprise.account, { demandId: demand.id })
        )
        assert.strictEqual(failure._tag, "InfrastructureError")
        for (const r of [institute, expert, service]) {
          assert.strictEqual(Option.getOrThrow(yield* stored.findById(r.id)).status, "submitted")
        }
        const view = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
        assert.isNull(view.demand.selectionEndedAt)
        const actions = (yield* demandTrail(world.enterprise.account, demand.id)).map((e) => e.action)
        assert.notInclude(actions, "selection.ended")
        assert.notInclude(actions, "response.not_adopted")
        assert.lengthOf(yield* notices("response_not_adopted"), 0)
      })
    )
  )

  it.effect("R26: an adoption whose notice cannot be written changes nothing", () =>
    withBrokenAdoptionNotices((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const responding = yield* Responding.Responding
        const lists = yield* Lists.Lists
        const publishing = yield* Publishing.Publishing
        const { demand, institute } = yield* demandWithResponses(world)
        const failure = yield* failureOf(
          selection.adopt(world.enterprise.account, { responseId: institute.id })
        )
        assert.strictEqual(failure._tag, "InfrastructureError")

        assert.strictEqual(
          (yield* lists.response(world.enterprise.account, { responseId: institute.id })).status,
          "submitted"
        )
        const view = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
        assert.isNull(view.demand.intakeClosedAt)
        assert.strictEqual(view.demand.adoptedCount, 0)
        assert.strictEqual(view.phase, "taking_responses")
        const trail = yield* demandTrail(world.enterprise.account, demand.id)
        assert.notInclude(
          trail.map((e) => e.action),
          "response.adopted"
        )
        // Intake is still open.
        const [late] = yield* moreResponders(world, 1)
        yield* responding.respond(late!.account, { demandId: demand.id, proposal: proposal() })
      })
    )
  )

  it.effect("R61: the not-adopted notice carries the feedback reason", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const { demand, institute, expert, service } = yield* demandWithResponses(world)
        const [extra] = yield* moreResponders(world, 1)
        const silent = yield* (yield* Responding.Responding).respond(extra!.account, {
          demandId: demand.id,
          proposal: proposal("无反馈方案")
        })
        yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
        const given = yield* selection.giveFeedback(world.enterprise.account, {
          responseId: expert.id,
          feedback: { reason: "maturity_too_low" }
        })
        assert.deepStrictEqual(given.feedback, { reason: "maturity_too_low" })
        yield* selection.endSelection(world.enterprise.account, {
          demandId: demand.id,
          feedback: [{ responseId: service.id, feedback: { reason: "cost_too_high" } }]
        })
        const byPhone = new Map(
          (yield* notices("response_not_adopted")).map((m) => [m.recipientPhone, m.params])
        )
        assert.strictEqual(byPhone.size, 3)
        assert.strictEqual(byPhone.get(yield* phoneOf(world.expert.account))?.reason, "技术成熟度不足")
        assert.strictEqual(byPhone.get(yield* phoneOf(world.serviceInstitution.account))?.reason, "成本过高")
        assert.strictEqual(byPhone.get(yield* phoneOf(extra!.account))?.reason, "需求方暂未填写")
        assert.isFalse(byPhone.has(yield* phoneOf(world.institute.account)))
        const stored = yield* (yield* Lists.Lists).response(world.serviceInstitution.account, {
          responseId: service.id
        })
        assert.deepStrictEqual(stored.feedback, { reason: "cost_too_high" })
        assert.strictEqual(silent.status, "submitted")
      })
    )
  )

  it.effect("R61: the not-adopted notice carries the feedback text", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const { demand, expert } = yield* demandWithResponses(world)
        yield* at(justAfter(yield* deadlineEnd(demand)))
        yield* selection.endSelection(world.enterprise.account, {
          demandId: demand.id,
          feedback: [{ responseId: expert.id, feedback: { reason: "other", text: "已与其他单位签约。" } }]
        })
        const phone = yield* phoneOf(world.expert.account)
        const notice = (yield* notices("response_not_adopted")).find((m) => m.recipientPhone === phone)
        assert.isDefined(notice)
        assert.strictEqual(
          notice!.params.reason,
          "其他，已与其他单位签约",
          "the label, then the text without its full stop (the template ends the sentence), one colon in the SMS"
        )
        // The text the submitter wrote reaches the responder (in whichever template parameter).
        assert.isTrue(
          Object.values(notice!.params).some((v) => v.includes("已与其他单位签约")),
          `the notice's params ${JSON.stringify(notice!.params)} do not carry the feedback text`
        )
      })
    )
  )

  it.effect(
    "R61: the text is optional for every reason, 'other' included; an unknown reason is refused",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const selection = yield* Selection.Selection
          const { demand, institute, expert, service } = yield* demandWithResponses(world)
          yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
          const bare = yield* selection.giveFeedback(world.enterprise.account, {
            responseId: expert.id,
            feedback: { reason: "other" }
          })
          assert.deepStrictEqual(bare.feedback, { reason: "other" })
          yield* expectError(
            selection.giveFeedback(world.enterprise.account, {
              responseId: expert.id,
              feedback: { reason: "too_late" as "other", text: "x" }
            }),
            "InvalidInput",
            "R61"
          )
          yield* expectError(
            selection.giveFeedback(world.enterprise.account, {
              responseId: expert.id,
              feedback: { reason: "cost_too_high", text: "贵".repeat(501) }
            }),
            "InvalidInput",
            "R61"
          )
          yield* expectError(
            selection.endSelection(world.enterprise.account, {
              demandId: demand.id,
              feedback: [{ responseId: service.id, feedback: { reason: "too_late" as "other" } }]
            }),
            "InvalidInput",
            "R61"
          )
          // Nothing changed: the first feedback kept, selection still open, no notices.
          assert.lengthOf(yield* notices("response_not_adopted"), 0)
          yield* selection.endSelection(world.enterprise.account, {
            demandId: demand.id,
            feedback: [{ responseId: service.id, feedback: { reason: "other" } }]
          })
          const sent = yield* notices("response_not_adopted")
          const reasons = new Map(sent.map((m) => [m.recipientPhone, m.params.reason]))
          assert.strictEqual(
            reasons.get(yield* phoneOf(world.expert.account)),
            "其他",
            "the expert's reason, given before"
          )
          assert.strictEqual(
            reasons.get(yield* phoneOf(world.serviceInstitution.account)),
            "其他",
            "the reason given with the end of selection"
          )
        })
      )
  )

  it.effect("R61: feedback is for responses not adopted, from the managing side", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const selection = yield* Selection.Selection
        const { demand, institute, expert } = yield* demandWithResponses(world)
        yield* selection.adopt(world.enterprise.account, { responseId: institute.id })
        yield* expectError(
          selection.giveFeedback(world.enterprise.account, {
            responseId: institute.id,
            feedback: { reason: "not_relevant" }
          }),
          "InvalidState",
          "R61"
        )
        yield* expectError(
          selection.giveFeedback(world.expert.account, {
            responseId: expert.id,
            feedback: { reason: "not_relevant" }
          }),
          "Denied",
          "R2"
        )
        yield* expectError(
          selection.endSelection(world.enterprise.account, {
            demandId: demand.id,
            feedback: [{ responseId: institute.id, feedback: { reason: "not_relevant" } }]
          }),
          "InvalidInput",
          "R61",
          "feedback.0.responseId"
        )
      })
    )
  )
})
