import { assert, describe, it } from "@effect/vitest"
import {
  Consulting,
  Lists,
  Membership,
  Outcome,
  Persistence,
  Publishing,
  Responding,
  Review,
  Selection
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Effect, Option } from "effect"
import { auditIds, commission, draft, proposal } from "./demandHelpers.js"
import { expectError, withWorld, failureOf } from "./helpers.js"

/** The parts of an error a caller can observe. */
const observable = (error: unknown) => {
  const { _tag, rule, code, field, message, entity } = error as Record<string, unknown>
  return { _tag, rule, code, field, message, entity }
}

describe("access", () => {
  describe("R3: no response to one's own demand", () => {
    it.effect("R3: the publishing enterprise cannot respond to or consult on its own demand", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const consulting = yield* Consulting.Consulting
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          yield* expectError(
            responding.respond(world.enterprise.account, { demandId: demand.id, proposal }),
            "Denied",
            "R3"
          )
          yield* expectError(
            consulting.ask(world.enterprise.account, { demandId: demand.id, text: "请问预算？" }),
            "Denied",
            "R3"
          )
          const publishing = yield* Publishing.Publishing
          const read = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
          assert.strictEqual(read.demand.responseCount, 0)
          assert.notInclude([...read.actions], "respond")
        })
      )
    )

    it.effect("R3: another account of the same member cannot respond either", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const responding = yield* Responding.Responding
          const colleague = yield* membership.createAccount(world.operator, {
            memberId: world.enterprise.member.id,
            name: "研发部",
            phone: Fixtures.nextPhone()
          })
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          yield* expectError(
            responding.respond(colleague.id, { demandId: demand.id, proposal }),
            "Denied",
            "R3"
          )
        })
      )
    )

    it.effect("R3: neither the publishing institution nor its client enterprise responds", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          yield* commission(world)
          const responding = yield* Responding.Responding
          const consulting = yield* Consulting.Consulting
          const demand = yield* Fixtures.publish(
            world,
            world.institution.account,
            Fixtures.onBehalf(world, world.enterprise.member.id)
          )
          for (const party of [world.institution, world.enterprise]) {
            yield* expectError(
              responding.respond(party.account, { demandId: demand.id, proposal }),
              "Denied",
              "R3"
            )
            yield* expectError(
              consulting.ask(party.account, { demandId: demand.id, text: "想了解进展" }),
              "Denied",
              "R3"
            )
          }
          // anyone else may
          const response = yield* responding.respond(world.enterprise2.account, {
            demandId: demand.id,
            proposal
          })
          assert.strictEqual(response.responderId, world.enterprise2.member.id)
        })
      )
    )
  })

  describe("R4: a response and its thread are private to the two sides", () => {
    const setup = (world: Fixtures.World) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const consulting = yield* Consulting.Consulting
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const response = yield* responding.respond(world.institute.account, { demandId: demand.id, proposal })
        const posted = yield* consulting.ask(world.institute.account, {
          demandId: demand.id,
          text: "贵方是否接受联合申报？"
        })
        const other = yield* responding.respond(world.expert.account, { demandId: demand.id, proposal })
        return { demand, response, thread: posted.thread, other }
      })

    it.effect("R4: another responder cannot read someone's response", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const lists = yield* Lists.Lists
          const { demand, response } = yield* setup(world)
          for (const outsider of [world.expert, world.enterprise2]) {
            yield* expectError(
              lists.response(outsider.account, { responseId: response.id }),
              "NotFound",
              "R4"
            )
            yield* expectError(
              lists.demandResponses(outsider.account, { demandId: demand.id }),
              "NotFound",
              "R4"
            )
          }
          const theirs = yield* lists.myResponses(world.expert.account, {})
          assert.notInclude(
            theirs.items.map((r) => r.id),
            response.id
          )
          assert.deepStrictEqual((yield* lists.responsesToMe(world.expert.account, {})).items, [])
          // the two sides and operators do read it
          for (const reader of [world.institute.account, world.enterprise.account, world.operator]) {
            const read = yield* lists.response(reader, { responseId: response.id })
            assert.strictEqual(read.id, response.id)
          }
          const all = yield* lists.demandResponses(world.enterprise.account, { demandId: demand.id })
          assert.strictEqual(all.items.length, 2)
        })
      )
    )

    it.effect("R4: another responder cannot read, write in or list someone's consultation thread", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const consulting = yield* Consulting.Consulting
          const { demand, thread } = yield* setup(world)
          for (const outsider of [world.expert, world.enterprise2]) {
            yield* expectError(
              consulting.messages(outsider.account, { threadId: thread.id }),
              "NotFound",
              "R4"
            )
            yield* expectError(
              consulting.reply(outsider.account, { threadId: thread.id, text: "我也想问" }),
              "NotFound",
              "R4"
            )
            const listed = yield* consulting.threads(outsider.account, { demandId: demand.id })
            assert.notInclude(
              listed.items.map((t) => t.id),
              thread.id
            )
          }
          for (const reader of [world.institute.account, world.enterprise.account, world.operator]) {
            const messages = yield* consulting.messages(reader, { threadId: thread.id })
            assert.deepStrictEqual(
              messages.map((m) => m.text),
              ["贵方是否接受联合申报？"]
            )
          }
          const publisherView = yield* consulting.threads(world.enterprise.account, { demandId: demand.id })
          assert.deepStrictEqual(
            publisherView.items.map((t) => t.id),
            [thread.id]
          )
        })
      )
    )

    it.effect("R4: another responder cannot revise, withdraw or adopt someone's response", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const selection = yield* Selection.Selection
          const lists = yield* Lists.Lists
          const { response } = yield* setup(world)
          yield* expectError(
            responding.revise(world.expert.account, {
              responseId: response.id,
              proposal: { title: "篡改", content: "篡改" }
            }),
            "NotFound",
            "R4"
          )
          yield* expectError(
            responding.withdraw(world.expert.account, { responseId: response.id }),
            "NotFound",
            "R4"
          )
          yield* expectError(
            selection.adopt(world.expert.account, { responseId: response.id }),
            "NotFound",
            "R4"
          )
          const read = yield* lists.response(world.institute.account, { responseId: response.id })
          assert.strictEqual(read.status, "submitted")
          assert.deepStrictEqual(read.proposal, response.proposal)
        })
      )
    )
  })

  describe("R5: what one may not see is not found", () => {
    it.effect(
      "R5: a hidden part of a demand one reads is not found in words (service log not found), its code an identifier (service_log.not_found)",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const outcome = yield* Outcome.Outcome
            const demand = yield* Fixtures.publish(world, world.enterprise.account)
            const error = yield* Effect.flip(
              outcome.serviceLog(world.expert.account, { demandId: demand.id })
            )
            assert.include(error, {
              _tag: "NotFound",
              rule: "R5",
              entity: "service_log",
              code: "service_log.not_found",
              message: "service log not found"
            })
          })
        )
    )

    it.effect("R5: an unknown demand and someone else's unpublished demand fail identically", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const responding = yield* Responding.Responding
          const consulting = yield* Consulting.Consulting
          const outcome = yield* Outcome.Outcome
          const lists = yield* Lists.Lists
          const hidden = yield* draft(world.enterprise.account)
          const pending = yield* draft(world.enterprise.account)
          yield* publishing.submit(world.enterprise.account, { demandId: pending.id })
          const form = yield* Fixtures.form()
          const actor = world.enterprise2.account

          const attempts = (demandId: string): ReadonlyArray<Effect.Effect<unknown, unknown>> => [
            publishing.get(actor, { demandId }),
            publishing.get(null, { demandId }),
            publishing.edit(actor, { demandId, form }),
            publishing.submit(actor, { demandId }),
            responding.respond(actor, { demandId, proposal }),
            consulting.ask(actor, { demandId, text: "请问" }),
            consulting.threads(actor, { demandId }),
            outcome.appendLog(actor, { demandId, entry: { date: "2026-05-04", text: "记录" } }),
            lists.demandResponses(actor, { demandId })
          ]
          const unknown = attempts("00000000-0000-4000-8000-000000000000")
          for (const id of [hidden.id, pending.id]) {
            const existing = attempts(id)
            for (let i = 0; i < unknown.length; i++) {
              const a = observable(yield* failureOf(unknown[i]!))
              const b = observable(yield* failureOf(existing[i]!))
              assert.strictEqual(a._tag, "NotFound", `attempt ${i}`)
              assert.strictEqual(a.rule, "R5", `attempt ${i}`)
              assert.deepStrictEqual(b, a, `attempt ${i}`)
            }
          }
        })
      )
    )

    it.effect("R5: an unknown response or thread and someone else's fail identically", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const lists = yield* Lists.Lists
          const consulting = yield* Consulting.Consulting
          const responding = yield* Responding.Responding
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const response = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal
          })
          const { thread } = yield* consulting.ask(world.institute.account, {
            demandId: demand.id,
            text: "请问"
          })
          const none = "00000000-0000-4000-8000-000000000000"
          const pairs: ReadonlyArray<
            readonly [Effect.Effect<unknown, unknown>, Effect.Effect<unknown, unknown>]
          > = [
            [
              lists.response(world.expert.account, { responseId: none }),
              lists.response(world.expert.account, { responseId: response.id })
            ],
            [
              responding.withdraw(world.expert.account, { responseId: none }),
              responding.withdraw(world.expert.account, { responseId: response.id })
            ],
            [
              consulting.messages(world.expert.account, { threadId: none }),
              consulting.messages(world.expert.account, { threadId: thread.id })
            ],
            [
              consulting.reply(world.expert.account, { threadId: none, text: "你好" }),
              consulting.reply(world.expert.account, { threadId: thread.id, text: "你好" })
            ]
          ]
          for (const [missing, hidden] of pairs) {
            const a = observable(yield* failureOf(missing))
            const b = observable(yield* failureOf(hidden))
            assert.strictEqual(a._tag, "NotFound")
            assert.deepStrictEqual(b, a)
          }
        })
      )
    )

    it.effect("R5: every denial names its rule and changes nothing", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const responding = yield* Responding.Responding
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const before = yield* auditIds(world)
          const errors = [
            yield* failureOf(review.approve(world.expert.account, { demandId: demand.id })),
            yield* failureOf(responding.respond(world.enterprise.account, { demandId: demand.id, proposal })),
            yield* failureOf(draft(world.expert.account)),
            yield* failureOf(responding.respond(world.operator, { demandId: demand.id, proposal }))
          ]
          for (const error of errors) {
            const e = observable(error)
            assert.strictEqual(e._tag, "Denied")
            assert.match(String(e.rule), /^R\d+$/)
            assert.isString(e.code)
            assert.isNotEmpty(String(e.message))
          }
          assert.deepStrictEqual(yield* auditIds(world), before)
        })
      )
    )

    it.effect("R5: an unknown or inactive account is refused", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          yield* expectError(draft("no-such-account" as typeof world.operator), "Denied", "R5")
          const accounts = yield* Persistence.AccountRepository
          const account = Option.getOrThrow(yield* accounts.findById(world.enterprise.account))
          yield* draft(world.enterprise.account)
          yield* accounts.update({ ...account, active: false })
          const before = yield* auditIds(world)
          yield* expectError(draft(world.enterprise.account), "Denied", "R5")
          assert.deepStrictEqual(yield* auditIds(world), before)
        })
      )
    )
  })
})

describe("personal data", () => {
  it.effect(
    "R10: the optional contact of a published demand is shown to members, not to anonymous readers",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const demand = yield* Fixtures.publish(world, world.enterprise.account, {
            contact: { name: "张工", phone: "13911112222" }
          })
          const publishing = yield* Publishing.Publishing
          const anonymous = yield* publishing.get(null, { demandId: demand.id })
          assert.isUndefined(anonymous.demand.form.contact)
          assert.strictEqual(anonymous.demand.form.title, demand.form.title)
          const member = yield* publishing.get(world.expert.account, { demandId: demand.id })
          assert.strictEqual(member.demand.form.contact?.phone, "+8613911112222")
        })
      )
  )
})
