import { assert, describe, it } from "@effect/vitest"
import {
  type Errors,
  Commissioning,
  type Ids,
  Lists,
  Membership,
  Outcome,
  Persistence,
  Publishing,
  Responding,
  Review,
  type View
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Effect, Option } from "effect"
import { at, expectError, withWorld } from "./helpers.js"
import {
  activeCommission,
  deadlineEnd,
  justAfter,
  notices,
  phoneOf,
  proposal,
  secondAccount,
  trailOf
} from "./support.js"
import { offeredTo } from "./demandHelpers.js"

const message = "委托贵机构开展需求挖掘与方案征集"

/** The world's enterprise asks its institution to act for it (R40). */
const requestOf = (world: Fixtures.World) =>
  Effect.flatMap(Commissioning.Commissioning, (commissioning) =>
    commissioning.request(world.enterprise.account, { institutionId: world.institution.member.id, message })
  )

describe("Commissioning", () => {
  it.effect("R40: an enterprise lists registered institutions and sends a commission request", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const membership = yield* Membership.Membership
        const commissioning = yield* Commissioning.Commissioning
        const listed = yield* membership.registeredInstitutions(world.enterprise.account, {})
        const ids = listed.items.map((m) => m.id)
        assert.include(ids, world.institution.member.id)
        assert.notInclude(ids, world.unregistered.member.id)
        assert.notInclude(ids, world.enterprise.member.id)

        const requested = yield* commissioning.request(world.enterprise.account, {
          institutionId: world.institution.member.id,
          message
        })
        assert.strictEqual(requested.state, "requested")
        assert.strictEqual(requested.enterpriseId, world.enterprise.member.id)
        assert.strictEqual(requested.institutionId, world.institution.member.id)
        assert.strictEqual(requested.message, message)
        assert.deepStrictEqual(
          (yield* notices("commission_requested")).map((m) => m.recipientPhone),
          [yield* phoneOf(world.institution.account)]
        )
        const mine = yield* commissioning.list(world.enterprise.account, {})
        assert.deepStrictEqual(
          mine.items.map((c) => c.id),
          [requested.id]
        )
        const theirs = yield* commissioning.list(world.institution.account, {})
        assert.deepStrictEqual(
          theirs.items.map((c) => c.id),
          [requested.id]
        )
        assert.lengthOf((yield* commissioning.list(world.enterprise2.account, {})).items, 0)
      })
    )
  )

  it.effect(
    "R64: a commission request goes to every active account of the institution, its answer to every active account of the enterprise; a deactivated account is sent neither",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const commissioning = yield* Commissioning.Commissioning
          const accounts = yield* Persistence.AccountRepository
          const colleague = yield* secondAccount(world, world.institution)
          const left = Option.getOrThrow(
            yield* accounts.findById(yield* secondAccount(world, world.institution))
          )
          yield* accounts.update({ ...left, active: false })
          const enterpriseColleague = yield* secondAccount(world, world.enterprise)
          const enterpriseLeft = Option.getOrThrow(
            yield* accounts.findById(yield* secondAccount(world, world.enterprise))
          )
          yield* accounts.update({ ...enterpriseLeft, active: false })

          const requested = yield* requestOf(world)
          assert.sameMembers(
            (yield* notices("commission_requested")).map((m) => m.recipientPhone),
            [yield* phoneOf(world.institution.account), yield* phoneOf(colleague)]
          )
          yield* commissioning.accept(world.institution.account, { commissionId: requested.id })
          assert.sameMembers(
            (yield* notices("commission_accepted")).map((m) => m.recipientPhone),
            [yield* phoneOf(world.enterprise.account), yield* phoneOf(enterpriseColleague)]
          )
        })
      )
  )

  it.effect(
    "R40: a commission goes from an enterprise to a registered institution only (another id is not found, naming institutionId)",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const commissioning = yield* Commissioning.Commissioning
          for (const institutionId of [
            world.unregistered.member.id,
            world.enterprise2.member.id,
            world.institute.member.id,
            "no-such-member"
          ]) {
            yield* expectError(
              commissioning.request(world.enterprise.account, { institutionId, message }),
              "NotFound",
              "R40",
              "institutionId"
            )
          }
          for (const requester of [
            world.institute.account,
            world.institution.account,
            world.expert.account
          ]) {
            yield* expectError(
              commissioning.request(requester, { institutionId: world.institution.member.id, message }),
              "Denied",
              "R40"
            )
          }
          assert.lengthOf(yield* notices("commission_requested"), 0)
        })
      )
  )

  it.effect("R40: one open commission per enterprise and institution", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const commissioning = yield* Commissioning.Commissioning
        const request = () => requestOf(world)
        const first = yield* request()
        yield* expectError(request(), "InvalidState", "R40")
        yield* commissioning.accept(world.institution.account, { commissionId: first.id })
        yield* expectError(request(), "InvalidState", "R40")
        // Another enterprise is not blocked.
        yield* commissioning.request(world.enterprise2.account, {
          institutionId: world.institution.member.id,
          message
        })
        yield* commissioning.end(world.enterprise.account, { commissionId: first.id })
        const again = yield* request()
        assert.strictEqual(again.state, "requested")
        assert.notStrictEqual(again.id, first.id)
      })
    )
  )

  it.effect("R40: the institution accepts or declines", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const commissioning = yield* Commissioning.Commissioning
        const first = yield* commissioning.request(world.enterprise.account, {
          institutionId: world.institution.member.id,
          message
        })
        yield* expectError(
          commissioning.accept(world.enterprise.account, { commissionId: first.id }),
          "Denied",
          "R40"
        )
        yield* expectError(
          commissioning.accept(world.enterprise2.account, { commissionId: first.id }),
          "NotFound",
          "R5"
        )
        const declined = yield* commissioning.decline(world.institution.account, { commissionId: first.id })
        assert.strictEqual(declined.state, "declined")
        assert.deepStrictEqual(
          (yield* notices("commission_declined")).map((m) => m.recipientPhone),
          [yield* phoneOf(world.enterprise.account)]
        )
        yield* expectError(
          commissioning.accept(world.institution.account, { commissionId: first.id }),
          "InvalidState",
          "R40"
        )

        // Declined: a new request may be sent, and accepted.
        const second = yield* commissioning.request(world.enterprise.account, {
          institutionId: world.institution.member.id,
          message
        })
        const accepted = yield* commissioning.accept(world.institution.account, { commissionId: second.id })
        assert.strictEqual(accepted.state, "active")
        assert.isNotNull(accepted.decidedAt)
        assert.deepStrictEqual(
          (yield* notices("commission_accepted")).map((m) => m.recipientPhone),
          [yield* phoneOf(world.enterprise.account)]
        )
        yield* expectError(
          commissioning.decline(world.institution.account, { commissionId: second.id }),
          "InvalidState",
          "R40"
        )
      })
    )
  )

  it.effect("R40: either side ends an accepted commission", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const commissioning = yield* Commissioning.Commissioning
        const requested = yield* commissioning.request(world.enterprise.account, {
          institutionId: world.institution.member.id,
          message
        })
        const notYet = yield* expectError(
          commissioning.end(world.institution.account, { commissionId: requested.id }),
          "InvalidState",
          "R40"
        )
        assert.strictEqual(
          (notYet as Errors.InvalidState).code,
          "commission.end_not_active",
          "the institution answers a request; it does not end it"
        )
        yield* commissioning.accept(world.institution.account, { commissionId: requested.id })
        yield* expectError(
          commissioning.end(world.enterprise2.account, { commissionId: requested.id }),
          "NotFound",
          "R5"
        )
        const endedByEnterprise = yield* commissioning.end(world.enterprise.account, {
          commissionId: requested.id
        })
        assert.strictEqual(endedByEnterprise.state, "ended")
        assert.strictEqual(endedByEnterprise.endedBy, world.enterprise.member.id)
        yield* expectError(
          commissioning.end(world.institution.account, { commissionId: requested.id }),
          "InvalidState",
          "R40"
        )

        const other = yield* activeCommission(world, world.enterprise2)
        const endedByInstitution = yield* commissioning.end(world.institution.account, {
          commissionId: other.id
        })
        assert.strictEqual(endedByInstitution.state, "ended")
        assert.strictEqual(endedByInstitution.endedBy, world.institution.member.id)
      })
    )
  )

  it.effect(
    "R40: the enterprise withdraws a request the institution has not answered; it can then request again, and an answered one is not withdrawn",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const commissioning = yield* Commissioning.Commissioning
          const request = () => requestOf(world)
          const first = yield* request()
          const withdrawn = yield* commissioning.end(world.enterprise.account, { commissionId: first.id })
          assert.strictEqual(withdrawn.state, "ended")
          assert.strictEqual(withdrawn.endedBy, world.enterprise.member.id)
          assert.isNull(withdrawn.decidedAt, "never answered")
          const trail = (yield* trailOf(world.enterprise.account, { memberId: world.enterprise.member.id }))
            .filter((e) => e.entityId === first.id)
            .map((e) => [e.action, e.before, e.after])
          assert.deepStrictEqual(
            trail.map(([action]) => action),
            ["commission.requested", "commission.withdrawn"]
          )
          assert.deepStrictEqual(trail[1], ["commission.withdrawn", "requested", "ended"])
          const pending = yield* commissioning.list(world.institution.account, { states: ["requested"] })
          assert.deepStrictEqual(pending.items, [], "no longer waiting for the institution")
          yield* expectError(
            commissioning.accept(world.institution.account, { commissionId: first.id }),
            "InvalidState",
            "R40"
          )
          const second = yield* request()
          yield* commissioning.decline(world.institution.account, { commissionId: second.id })
          const declined = yield* expectError(
            commissioning.end(world.enterprise.account, { commissionId: second.id }),
            "InvalidState",
            "R40"
          )
          assert.strictEqual((declined as Errors.InvalidState).code, "commission.end_not_active")
        })
      )
  )

  it.effect(
    "R64: a commission request withdrawn and sent again is notified once a day per pair: the same day sends nothing more, another enterprise's request and the next day's do",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const commissioning = yield* Commissioning.Commissioning
          const institutionPhone = yield* phoneOf(world.institution.account)
          const requestedNotices = Effect.map(notices("commission_requested"), (ms) =>
            ms.map((m) => [m.recipientPhone, m.params.enterprise])
          )
          const requestAndWithdraw = Effect.flatMap(requestOf(world), (c) =>
            commissioning.end(world.enterprise.account, { commissionId: c.id })
          )
          yield* requestAndWithdraw
          yield* requestAndWithdraw
          yield* at("2026-05-04T15:59:59.999Z") // 23:59:59.999 in Asia/Shanghai
          yield* requestAndWithdraw
          const once = [institutionPhone, world.enterprise.member.name]
          assert.deepStrictEqual(yield* requestedNotices, [once])

          yield* commissioning.request(world.enterprise2.account, {
            institutionId: world.institution.member.id,
            message
          })
          const other = [institutionPhone, world.enterprise2.member.name]
          assert.deepStrictEqual(yield* requestedNotices, [once, other])

          yield* at("2026-05-04T16:00:00Z") // the next day in Asia/Shanghai
          yield* requestOf(world)
          assert.deepStrictEqual(yield* requestedNotices, [once, other, once])
        })
      )
  )

  it.effect("R41: the institution publishes for its client only while the commission is active", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const commissioning = yield* Commissioning.Commissioning
        const publishing = yield* Publishing.Publishing
        const forClient = Fixtures.onBehalf(world, world.enterprise.member.id)

        const requested = yield* commissioning.request(world.enterprise.account, {
          institutionId: world.institution.member.id,
          message
        })
        yield* expectError(
          publishing.draft(world.institution.account, yield* Fixtures.form(forClient)),
          "Denied",
          "R41"
        )
        yield* commissioning.accept(world.institution.account, { commissionId: requested.id })

        const demand = yield* Fixtures.publish(world, world.institution.account, forClient)
        assert.strictEqual(demand.state, "published")
        assert.strictEqual(demand.publisherId, world.institution.member.id)
        assert.strictEqual(demand.form.clientId, world.enterprise.member.id)
        const pending = yield* publishing.draft(world.institution.account, yield* Fixtures.form(forClient))

        // Not for an enterprise that commissioned nothing; the refusal names the field.
        const none = yield* expectError(
          publishing.draft(
            world.institution.account,
            yield* Fixtures.form(Fixtures.onBehalf(world, world.enterprise2.member.id))
          ),
          "Denied",
          "R41",
          "clientId"
        )
        assert.strictEqual((none as Errors.Denied).code, "demand.client_not_commissioning")

        yield* commissioning.end(world.enterprise.account, { commissionId: requested.id })
        yield* expectError(
          publishing.draft(world.institution.account, yield* Fixtures.form(forClient)),
          "Denied",
          "R41"
        )
        yield* expectError(
          publishing.submit(world.institution.account, { demandId: pending.id }),
          "Denied",
          "R41"
        )
        // The institution may still publish its own demands.
        yield* Fixtures.publish(world, world.institution.account, Fixtures.onBehalf(world))
      })
    )
  )

  it.effect(
    "R41: a demand submitted for a client is not approved once the commission has ended; it stays pending review",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const commissioning = yield* Commissioning.Commissioning
          const publishing = yield* Publishing.Publishing
          const review = yield* Review.Review
          const commission = yield* activeCommission(world)
          const draft = yield* publishing.draft(
            world.institution.account,
            yield* Fixtures.form(Fixtures.onBehalf(world, world.enterprise.member.id))
          )
          yield* publishing.submit(world.institution.account, { demandId: draft.id })
          yield* commissioning.end(world.enterprise.account, { commissionId: commission.id })
          yield* expectError(review.approve(world.operator, { demandId: draft.id }), "InvalidState", "R41")
          const after = yield* publishing.get(world.operator, { demandId: draft.id })
          assert.deepStrictEqual([after.demand.state, after.demand.number], ["pending_review", null])
        })
      )
  )

  it.effect("R41: the client fills in nothing, reads its commissioned demands and does not act on them", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const publishing = yield* Publishing.Publishing
        const lists = yield* Lists.Lists
        const outcome = yield* Outcome.Outcome
        yield* activeCommission(world)
        const demand = yield* Fixtures.publish(
          world,
          world.institution.account,
          Fixtures.onBehalf(world, world.enterprise.member.id)
        )
        const mine = yield* lists.myDemands(world.enterprise.account, { role: "client" })
        assert.deepStrictEqual(
          mine.items.map((d) => d.id),
          [demand.id]
        )
        assert.deepStrictEqual(mine.items[0]!.actions, [])
        assert.lengthOf((yield* lists.myDemands(world.enterprise.account, { role: "publisher" })).items, 0)
        const view = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
        assert.strictEqual(view.demand.id, demand.id)
        yield* expectError(
          outcome.unsolved(world.enterprise.account, { demandId: demand.id }),
          "Denied",
          "R2"
        )

        // Enterprises do not name clients themselves (R1).
        yield* expectError(
          publishing.draft(
            world.enterprise.account,
            yield* Fixtures.form({ clientId: world.enterprise2.member.id })
          ),
          "Denied",
          "R1"
        )
      })
    )
  )

  it.effect(
    "R41: once the commission ends, its client's demands offer no submit or restart, and no edit once numbered",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const outcome = yield* Outcome.Outcome
          const institution = world.institution.account
          const forClient = Fixtures.onBehalf(world, world.enterprise.member.id)
          const commission = yield* activeCommission(world)
          const published = yield* Fixtures.publish(world, institution, forClient)
          const toReject = yield* Fixtures.publish(world, institution, forClient)
          const drafted = yield* publishing.draft(institution, yield* Fixtures.form(forClient, 60))
          const own = yield* Fixtures.publish(world, institution, Fixtures.onBehalf(world))
          // A response each, so that selecting offers `adopt` (R23).
          const responding = yield* Responding.Responding
          for (const d of [published, own])
            yield* responding.respond(world.institute.account, { demandId: d.id, proposal: proposal() })
          yield* at(justAfter(yield* deadlineEnd(published)))
          for (const d of [published, toReject, own]) yield* outcome.unsolved(institution, { demandId: d.id })
          yield* outcome.restart(institution, {
            demandId: toReject.id,
            form: yield* Fixtures.form(forClient, 30)
          })
          yield* (yield* Review.Review).reject(world.operator, { demandId: toReject.id, reason: "材料不全" })

          const actions = (demandId: Ids.DemandId) => offeredTo(institution, demandId)
          const restartOffered: ReadonlyArray<View.Action> = [
            "view_responses",
            "adopt",
            "end_selection",
            "log_service",
            "record_solved",
            "restart"
          ]
          assert.deepStrictEqual(yield* actions(published.id), restartOffered)
          assert.deepStrictEqual(yield* actions(toReject.id), ["edit", "submit", "view_responses"])
          assert.deepStrictEqual(yield* actions(drafted.id), ["edit", "submit"])

          yield* (yield* Commissioning.Commissioning).end(world.enterprise.account, {
            commissionId: commission.id
          })
          assert.deepStrictEqual(yield* actions(published.id), restartOffered.slice(0, -1))
          assert.deepStrictEqual(yield* actions(toReject.id), ["view_responses"])
          assert.deepStrictEqual(yield* actions(drafted.id), ["edit"])
          assert.deepStrictEqual(yield* actions(own.id), restartOffered)

          // What is no longer offered is refused; the draft's edit is not.
          const form = yield* Fixtures.form(forClient, 30)
          yield* expectError(outcome.restart(institution, { demandId: published.id, form }), "Denied", "R41")
          yield* expectError(publishing.submit(institution, { demandId: toReject.id }), "Denied", "R41")
          yield* expectError(publishing.edit(institution, { demandId: toReject.id, form }), "Denied", "R41")
          yield* expectError(publishing.submit(institution, { demandId: drafted.id }), "Denied", "R41")
          const edited = yield* publishing.edit(institution, {
            demandId: drafted.id,
            form: yield* Fixtures.form(Fixtures.onBehalf(world), 30)
          })
          assert.isUndefined(edited.form.clientId)
          assert.deepStrictEqual(yield* actions(drafted.id), ["edit", "submit"])
        })
      )
  )
})
