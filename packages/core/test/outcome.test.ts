import { assert, describe, it } from "@effect/vitest"
import {
  type Demand,
  type Ids,
  Lists,
  Outcome,
  Persistence,
  Publishing,
  Responding,
  Review,
  Selection
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, Option } from "effect"
import {
  at,
  expectError,
  failingUpdates,
  reviewUnder,
  start,
  failureOf,
  withFailingLocks,
  withPorts,
  withWorld
} from "./helpers.js"
import { offeredTo } from "./demandHelpers.js"
import {
  activeCommission,
  deadlineEnd,
  demandTrail,
  justAfter,
  notices,
  phoneOf,
  proposal
} from "./support.js"

const entry = (date: string, text: string) => ({ date, text })

/** The demand as stored, and its trail's actions. */
const stored = (world: Fixtures.World, demand: Demand.Demand) =>
  Effect.gen(function* () {
    const found = yield* (yield* Persistence.DemandRepository).findById(demand.id)
    const actions = (yield* demandTrail(world.enterprise.account, demand.id)).map((e) => e.action)
    return { demand: Option.getOrThrow(found), actions }
  })

describe("Outcome", () => {
  it.effect("R30: the managing side appends service-log entries, listed in order", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const texts = ["与研究所首次对接", "签订技术开发合同", "完成中试样品"]
        for (const [i, text] of texts.entries()) {
          const appended = yield* outcome.appendLog(world.enterprise.account, {
            demandId: demand.id,
            entry: entry(`2026-05-0${2 + i}`, text)
          })
          assert.strictEqual(appended.seq, i + 1)
          assert.strictEqual(appended.authorAccountId, world.enterprise.account)
        }
        const log = yield* outcome.serviceLog(world.enterprise.account, { demandId: demand.id })
        assert.deepStrictEqual(
          log.map((e) => [e.seq, e.date, e.text]),
          texts.map((t, i) => [i + 1, `2026-05-0${2 + i}`, t])
        )
        const rest = yield* outcome.serviceLog(world.enterprise.account, { demandId: demand.id, afterSeq: 1 })
        assert.deepStrictEqual(
          rest.map((e) => e.seq),
          [2, 3]
        )
        const last = yield* outcome.serviceLog(world.enterprise.account, {
          demandId: demand.id,
          afterSeq: 2_147_483_647
        })
        assert.deepStrictEqual(last, [])
        yield* expectError(
          outcome.serviceLog(world.enterprise.account, { demandId: demand.id, afterSeq: 2_147_483_648 }),
          "InvalidInput",
          "R30",
          "afterSeq"
        )
      })
    )
  )

  it.effect("R30: only the managing side appends; the client reads the log; others do not find it", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        yield* activeCommission(world)
        const demand = yield* Fixtures.publish(
          world,
          world.institution.account,
          Fixtures.onBehalf(world, world.enterprise.member.id)
        )
        yield* outcome.appendLog(world.institution.account, {
          demandId: demand.id,
          entry: entry("2026-05-04", "走访企业，梳理技术需求")
        })
        // The commissioning enterprise follows the progress but does not act (R2).
        const read = yield* outcome.serviceLog(world.enterprise.account, { demandId: demand.id })
        assert.deepStrictEqual(
          read.map((e) => e.text),
          ["走访企业，梳理技术需求"]
        )
        yield* expectError(
          outcome.appendLog(world.enterprise.account, {
            demandId: demand.id,
            entry: entry("2026-05-04", "企业补充")
          }),
          "Denied",
          "R2"
        )
        // Others: no writing, and the log is not found.
        yield* expectError(
          outcome.appendLog(world.institute.account, {
            demandId: demand.id,
            entry: entry("2026-05-04", "冒充")
          }),
          "Denied",
          "R2"
        )
        for (const other of [world.institute.account, world.enterprise2.account]) {
          yield* expectError(outcome.serviceLog(other, { demandId: demand.id }), "NotFound", "R5")
        }
        yield* expectError(outcome.serviceLog(null, { demandId: demand.id }), "Denied", "R5")
        assert.lengthOf(yield* outcome.serviceLog(world.operator, { demandId: demand.id }), 1)
      })
    )
  )

  it.effect("R30: entries are appended to a published demand only", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        const publishing = yield* Publishing.Publishing
        const draft = yield* publishing.draft(world.enterprise.account, yield* Fixtures.form())
        yield* expectError(
          outcome.appendLog(world.enterprise.account, {
            demandId: draft.id,
            entry: entry("2026-05-04", "草稿")
          }),
          "InvalidState",
          "R30"
        )
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        yield* outcome.solved(world.enterprise.account, { demandId: demand.id })
        yield* expectError(
          outcome.appendLog(world.enterprise.account, {
            demandId: demand.id,
            entry: entry("2026-05-04", "已解决")
          }),
          "InvalidState",
          "R30"
        )
      })
    )
  )

  it.effect(
    "R30: an entry is dated on or before today in the platform time zone; a later date writes nothing",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          // 23:59:59 on 2026-05-04 in Asia/Shanghai: the 5th is still tomorrow there.
          yield* at("2026-05-04T15:59:59Z")
          const refused = yield* expectError(
            outcome.appendLog(world.enterprise.account, {
              demandId: demand.id,
              entry: entry("2026-05-05", "明天的工作")
            }),
            "InvalidInput",
            "R30",
            "entry.date"
          )
          assert.strictEqual((refused as { code?: string }).code, "log.date_future")
          assert.deepStrictEqual(
            yield* outcome.serviceLog(world.enterprise.account, { demandId: demand.id }),
            []
          )
          const early = yield* outcome.appendLog(world.enterprise.account, {
            demandId: demand.id,
            entry: entry("2025-12-30", "补记去年的走访")
          })
          assert.strictEqual(early.seq, 1)
          yield* at("2026-05-04T16:00:00Z")
          const today = yield* outcome.appendLog(world.enterprise.account, {
            demandId: demand.id,
            entry: entry("2026-05-05", "当天的工作")
          })
          assert.strictEqual(today.seq, 2)
        })
      )
  )

  it.effect(
    "R31: an institution's solved demand needs its service fee, which only its parties and operators read",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const publishing = yield* Publishing.Publishing
          yield* activeCommission(world)
          const demand = yield* Fixtures.publish(
            world,
            world.institution.account,
            Fixtures.onBehalf(world, world.enterprise.member.id)
          )
          yield* expectError(
            outcome.solved(world.institution.account, { demandId: demand.id }),
            "InvalidInput",
            "R31",
            "serviceFee"
          )
          yield* expectError(
            outcome.solved(world.institution.account, { demandId: demand.id, serviceFee: -1 }),
            "InvalidInput",
            "R31",
            "serviceFee"
          )
          yield* expectError(
            outcome.solved(world.institution.account, { demandId: demand.id, serviceFee: 12.5 }),
            "InvalidInput",
            "R31",
            "serviceFee"
          )
          assert.strictEqual(
            (yield* publishing.get(world.institution.account, { demandId: demand.id })).demand.state,
            "published"
          )
          const solved = yield* outcome.solved(world.institution.account, {
            demandId: demand.id,
            serviceFee: 8_000_000
          })
          assert.strictEqual(solved.state, "solved")
          assert.strictEqual(solved.outcome, "solved")
          assert.strictEqual(solved.serviceFee, 8_000_000)
          assert.isNotNull(solved.closedAt)
          // The fee is between the institution and its client: they and operators read it, no one else.
          const feeFor = (account: Ids.AccountId | null) =>
            Effect.map(publishing.get(account, { demandId: demand.id }), (v) => v.demand.serviceFee)
          for (const reader of [world.institution.account, world.enterprise.account, world.operator]) {
            assert.strictEqual(yield* feeFor(reader), 8_000_000)
          }
          for (const other of [
            world.expert.account,
            world.institute.account,
            world.enterprise2.account,
            null
          ]) {
            assert.isNull(yield* feeFor(other), `the fee is not shown to ${other ?? "anonymous readers"}`)
          }
        })
      )
  )

  it.effect("R31: an enterprise's own demand is solved without a fee, and refuses one", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        const demands = yield* Persistence.DemandRepository
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const stored = yield* demands.findById(demand.id)
        const refused = yield* failureOf(
          outcome.solved(world.enterprise.account, { demandId: demand.id, serviceFee: 500_000 })
        )
        assert.deepInclude(refused, {
          _tag: "InvalidInput",
          rule: "R31",
          field: "serviceFee",
          code: "outcome.fee_not_applicable"
        })
        assert.deepStrictEqual(
          Option.getOrThrow(yield* demands.findById(demand.id)),
          Option.getOrThrow(stored)
        )
        const solved = yield* outcome.solved(world.enterprise.account, { demandId: demand.id })
        assert.strictEqual(solved.state, "solved")
        assert.isNull(solved.serviceFee)
        yield* expectError(
          outcome.solved(world.enterprise.account, { demandId: demand.id }),
          "InvalidState",
          "R31"
        )
      })
    )
  )

  it.effect("R31: solving closes the demand and ends selection with its notices", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const publishing = yield* Publishing.Publishing
        const lists = yield* Lists.Lists
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const adopted = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        const other = yield* responding.respond(world.expert.account, {
          demandId: demand.id,
          proposal: proposal("专家方案")
        })
        yield* selection.adopt(world.enterprise.account, { responseId: adopted.id })
        yield* outcome.solved(world.enterprise.account, { demandId: demand.id })

        const view = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
        assert.strictEqual(view.demand.state, "solved")
        assert.strictEqual(view.phase, "selection_over")
        assert.notInclude(view.actions, "adopt")
        const sent = yield* notices("response_not_adopted")
        assert.deepStrictEqual(
          sent.map((m) => m.recipientPhone),
          [yield* phoneOf(world.expert.account)]
        )
        assert.strictEqual(
          (yield* lists.response(world.expert.account, { responseId: other.id })).status,
          "not_adopted"
        )
        assert.strictEqual(
          (yield* lists.response(world.institute.account, { responseId: adopted.id })).status,
          "adopted"
        )
        yield* expectError(
          selection.adopt(world.enterprise.account, { responseId: other.id }),
          "InvalidState",
          "R23"
        )
        yield* expectError(
          responding.respond(world.serviceInstitution.account, { demandId: demand.id, proposal: proposal() }),
          "InvalidState",
          "R20"
        )
      })
    )
  )

  it.effect("R31: only the managing side records the outcome", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        yield* activeCommission(world)
        const demand = yield* Fixtures.publish(
          world,
          world.institution.account,
          Fixtures.onBehalf(world, world.enterprise.member.id)
        )
        yield* expectError(outcome.solved(world.enterprise.account, { demandId: demand.id }), "Denied", "R2")
        yield* expectError(
          outcome.unsolved(world.enterprise.account, { demandId: demand.id }),
          "Denied",
          "R2"
        )
        yield* expectError(outcome.solved(world.institute.account, { demandId: demand.id }), "Denied", "R2")
      })
    )
  )

  it.effect(
    "R31, R32: solving ends selection at the instant it is recorded; a solved demand is not recorded unsolved",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const solvedAt = DateTime.add(start, { days: 2 })
          yield* at(solvedAt)
          const solved = yield* outcome.solved(world.enterprise.account, { demandId: demand.id })
          assert.isTrue(
            solved.selectionEndedAt !== null && DateTime.Equivalence(solved.selectionEndedAt, solvedAt)
          )
          const view = yield* (yield* Publishing.Publishing).get(world.enterprise.account, {
            demandId: demand.id
          })
          assert.isTrue(view.selectionEndsAt !== null && DateTime.Equivalence(view.selectionEndsAt, solvedAt))
          yield* expectError(
            outcome.unsolved(world.enterprise.account, { demandId: demand.id }),
            "InvalidState",
            "R32"
          )
        })
      )
  )

  it.effect(
    "R32: an outcome already recorded unsolved is not recorded again; the trail keeps one entry",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const first = yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
          const again = yield* expectError(
            outcome.unsolved(world.enterprise.account, { demandId: demand.id }),
            "InvalidState",
            "R32"
          )
          assert.strictEqual((again as { code?: string }).code, "outcome.already_unsolved")
          const { demand: after, actions } = yield* stored(world, demand)
          assert.strictEqual(after.version, first.version, "nothing written")
          assert.deepStrictEqual(
            actions.filter((a) => a === "demand.unsolved"),
            ["demand.unsolved"]
          )
          const solved = yield* outcome.solved(world.enterprise.account, { demandId: demand.id })
          assert.strictEqual(solved.outcome, "solved", "an unsolved demand may still be solved")
        })
      )
  )

  it.effect("R32: unsolved before the deadline keeps the demand published and its responses adoptable", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const lists = yield* Lists.Lists
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const first = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        const unsolved = yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
        assert.strictEqual(unsolved.state, "published")
        assert.strictEqual(unsolved.outcome, "unsolved")

        const page = yield* lists.demandResponses(world.enterprise.account, { demandId: demand.id })
        assert.deepStrictEqual(
          page.items.map((r) => r.id),
          [first.id]
        )
        const adopted = yield* selection.adopt(world.enterprise.account, { responseId: first.id })
        assert.strictEqual(adopted.status, "adopted")
        assert.lengthOf(yield* notices("response_adopted"), 1)
        // Not a restart: before the deadline it is refused (R33).
        yield* expectError(
          outcome.restart(world.enterprise.account, {
            demandId: demand.id,
            form: yield* Fixtures.form({}, 60)
          }),
          "InvalidState",
          "R33"
        )
      })
    )
  )

  it.effect(
    "R33: a demand is restarted only once its outcome unsolved is recorded, after the deadline too",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          yield* at(justAfter(yield* deadlineEnd(demand)))
          const form = yield* Fixtures.form({}, 30)
          const refused = yield* failureOf(
            outcome.restart(world.enterprise.account, { demandId: demand.id, form })
          )
          assert.strictEqual(refused._tag, "InvalidState")
          assert.strictEqual((refused as { rule?: string }).rule, "R33")
          assert.strictEqual((refused as { code?: string }).code, "restart.not_unsolved")
          const unchanged = Option.getOrThrow(
            yield* (yield* Persistence.DemandRepository).findById(demand.id)
          )
          assert.deepStrictEqual(unchanged, demand, "nothing changed")
          yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
          const restarted = yield* outcome.restart(world.enterprise.account, { demandId: demand.id, form })
          assert.strictEqual(restarted.state, "pending_review")
          assert.strictEqual(restarted.round, 2)
          assert.isNull(restarted.outcome)
        })
      )
  )

  it.effect("R33, R62: a restarted demand approved again keeps the instant it was first published", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        yield* at(justAfter(yield* deadlineEnd(demand)))
        yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
        const form = yield* Fixtures.form({}, 30)
        yield* outcome.restart(world.enterprise.account, { demandId: demand.id, form })
        const approved = yield* (yield* Review.Review).approve(world.operator, { demandId: demand.id })
        assert.strictEqual(approved.round, 2)
        assert.isTrue(
          approved.firstPublishedAt !== null &&
            demand.firstPublishedAt !== null &&
            DateTime.Equivalence(approved.firstPublishedAt, demand.firstPublishedAt)
        )
      })
    )
  )

  it.effect("R33: a restarted demand keeps its client", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        yield* activeCommission(world)
        yield* activeCommission(world, world.enterprise2)
        const demand = yield* Fixtures.publish(
          world,
          world.institution.account,
          Fixtures.onBehalf(world, world.enterprise.member.id)
        )
        yield* at(justAfter(yield* deadlineEnd(demand)))
        yield* outcome.unsolved(world.institution.account, { demandId: demand.id })
        const demands = yield* Persistence.DemandRepository
        const stored = yield* demands.findById(demand.id)
        for (const client of [Fixtures.onBehalf(world, world.enterprise2.member.id), {}]) {
          const refused = yield* failureOf(
            outcome.restart(world.institution.account, {
              demandId: demand.id,
              form: yield* Fixtures.form(client, 30)
            })
          )
          assert.strictEqual(refused._tag, "InvalidInput")
          assert.strictEqual((refused as { rule?: string }).rule, "R33")
          assert.strictEqual((refused as { field?: string }).field, "form.clientId")
          assert.deepStrictEqual(
            Option.getOrThrow(yield* demands.findById(demand.id)),
            Option.getOrThrow(stored)
          )
        }
        const restarted = yield* outcome.restart(world.institution.account, {
          demandId: demand.id,
          form: yield* Fixtures.form(Fixtures.onBehalf(world, world.enterprise.member.id), 30)
        })
        assert.strictEqual(restarted.round, 2)
        assert.strictEqual(restarted.form.clientId, world.enterprise.member.id)

        // Rejected in review, the numbered demand is edited: its client stays too.
        yield* (yield* Review.Review).reject(world.operator, { demandId: demand.id, reason: "截止日期过近" })
        const publishing = yield* Publishing.Publishing
        const rejected = yield* demands.findById(demand.id)
        for (const client of [Fixtures.onBehalf(world, world.enterprise2.member.id), {}]) {
          yield* expectError(
            publishing.edit(world.institution.account, {
              demandId: demand.id,
              form: yield* Fixtures.form(client, 30)
            }),
            "InvalidInput",
            "R33",
            "form.clientId"
          )
          assert.deepStrictEqual(
            Option.getOrThrow(yield* demands.findById(demand.id)),
            Option.getOrThrow(rejected)
          )
        }
        const edited = yield* publishing.edit(world.institution.account, {
          demandId: demand.id,
          form: yield* Fixtures.form(
            { ...Fixtures.onBehalf(world, world.enterprise.member.id), title: "修改后的需求" },
            30
          )
        })
        assert.strictEqual(edited.form.clientId, world.enterprise.member.id)
        assert.strictEqual(edited.number, demand.number)
      })
    )
  )

  it.effect(
    "R5, R33: a restarted demand's new title stays out of its past responders' lists until approved",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const lists = yield* Lists.Lists
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          yield* (yield* Responding.Responding).respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          yield* at(justAfter(yield* deadlineEnd(demand)))
          yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
          yield* outcome.restart(world.enterprise.account, {
            demandId: demand.id,
            form: yield* Fixtures.form({ title: "重新征集：未公开的新标题" }, 30)
          })
          const seen = Effect.map(lists.myResponses(world.institute.account, {}), (page) =>
            page.items.map((r) => [r.demandNumber, r.demandTitle])
          )
          assert.deepStrictEqual(yield* seen, [[demand.number, ""]])
          const toMe = yield* lists.responsesToMe(world.enterprise.account, {})
          assert.deepStrictEqual(
            toMe.items.map((r) => r.demandTitle),
            ["重新征集：未公开的新标题"],
            "the managing side reads its own demand"
          )
          yield* (yield* Review.Review).approve(world.operator, { demandId: demand.id })
          assert.deepStrictEqual(yield* seen, [[demand.number, "重新征集：未公开的新标题"]])
        })
      )
  )

  it.effect("R33: a demand is restarted only after its response deadline", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const end = yield* deadlineEnd(demand)
        yield* at(end)
        yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
        yield* expectError(
          outcome.restart(world.enterprise.account, {
            demandId: demand.id,
            form: yield* Fixtures.form({}, 30)
          }),
          "InvalidState",
          "R33"
        )
        yield* at(justAfter(end))
        const restarted = yield* outcome.restart(world.enterprise.account, {
          demandId: demand.id,
          form: yield* Fixtures.form({}, 30)
        })
        assert.strictEqual(restarted.state, "pending_review")
      })
    )
  )

  it.effect(
    "R33, R23: restart: new deadline, back to review, same number, round 2, earlier responses read-only, the new round's window fixed at its approval",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const responding = yield* Responding.Responding
          const selection = yield* Selection.Selection
          const lists = yield* Lists.Lists
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          assert.strictEqual(demand.number, "ZB20260001")
          const old = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          const oldExpert = yield* responding.respond(world.expert.account, {
            demandId: demand.id,
            proposal: proposal("专家方案")
          })
          // Another demand takes the next number meanwhile.
          const other = yield* Fixtures.publish(world, world.enterprise2.account)
          assert.strictEqual(other.number, "ZB20260002")

          yield* at(justAfter(yield* deadlineEnd(demand)))
          yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
          const form = yield* Fixtures.form({ title: "石墨烯散热膜量产工艺（第二轮）" }, 45)
          const restarted = yield* outcome.restart(world.enterprise.account, { demandId: demand.id, form })
          assert.strictEqual(restarted.state, "pending_review")
          assert.strictEqual(restarted.round, 2)
          assert.strictEqual(restarted.number, "ZB20260001")
          assert.strictEqual(restarted.form.responseDeadline, form.responseDeadline)
          assert.strictEqual(restarted.form.title, "石墨烯散热膜量产工艺（第二轮）")
          assert.strictEqual(demand.selectionWindowDays, 14)
          assert.isNull(restarted.selectionWindowDays, "R23: the new round's window is fixed at its approval")

          // The old round's selection ended: its responders are told, and its responses read as not adopted.
          assert.deepStrictEqual(
            (yield* notices("response_not_adopted")).map((m) => m.recipientPhone).sort(),
            [yield* phoneOf(world.institute.account), yield* phoneOf(world.expert.account)].sort()
          )
          for (const r of [old, oldExpert]) {
            assert.strictEqual(
              (yield* lists.response(world.enterprise.account, { responseId: r.id })).status,
              "not_adopted"
            )
          }

          // In review again, the old round's responses are read-only, named so (not as unpublished or unseen).
          const inReview = yield* lists.response(world.enterprise.account, { responseId: old.id })
          yield* expectError(
            selection.adopt(world.enterprise.account, { responseId: old.id }),
            "InvalidState",
            "R33"
          )
          yield* expectError(
            responding.revise(world.institute.account, { responseId: old.id, proposal: proposal("改") }),
            "InvalidState",
            "R33"
          )
          yield* expectError(
            responding.withdraw(world.institute.account, { responseId: old.id }),
            "InvalidState",
            "R33"
          )
          assert.deepStrictEqual(
            yield* lists.response(world.enterprise.account, { responseId: old.id }),
            inReview,
            "an earlier round's response changed in review"
          )

          // Approved again under a platform window changed since the first round's approval.
          const approved = yield* (yield* reviewUnder({ selectionWindowDays: 7 })).approve(world.operator, {
            demandId: demand.id
          })
          assert.strictEqual(approved.state, "published")
          assert.strictEqual(approved.number, "ZB20260001")
          assert.strictEqual(approved.round, 2)
          assert.strictEqual(approved.selectionWindowDays, 7)

          yield* expectError(
            selection.adopt(world.enterprise.account, { responseId: old.id }),
            "InvalidState",
            "R33"
          )
          yield* expectError(
            responding.revise(world.institute.account, { responseId: old.id, proposal: proposal("改") }),
            "InvalidState",
            "R33"
          )
          const before = yield* lists.response(world.enterprise.account, { responseId: oldExpert.id })
          yield* expectError(
            selection.giveFeedback(world.enterprise.account, {
              responseId: oldExpert.id,
              feedback: { reason: "other", text: "重启后补充" }
            }),
            "InvalidState",
            "R33"
          )
          assert.deepStrictEqual(
            yield* lists.response(world.enterprise.account, { responseId: oldExpert.id }),
            before,
            "an earlier round's response changed"
          )
          const responses = yield* lists.demandResponses(world.enterprise.account, { demandId: demand.id })
          for (const item of responses.items) {
            assert.strictEqual(item.round, 1)
            assert.strictEqual(item.status, "not_adopted")
          }

          // The new round takes responses again, the same responder included.
          const fresh = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal("第二轮方案")
          })
          assert.strictEqual(fresh.round, 2)
          const adopted = yield* selection.adopt(world.enterprise.account, { responseId: fresh.id })
          assert.strictEqual(adopted.status, "adopted")
          // The not-adopted notices of round 1 were not repeated.
          assert.lengthOf(yield* notices("response_not_adopted"), 2)
        })
      )
  )

  it.effect(
    "R23, R33: a restarted demand offers its managing side view_responses, under review and rejected, as its earlier responses stay readable",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const publishing = yield* Publishing.Publishing
          const lists = yield* Lists.Lists
          const me = world.enterprise.account
          const demand = yield* Fixtures.publish(world, me)
          yield* (yield* Responding.Responding).respond(world.expert.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          yield* at(justAfter(yield* deadlineEnd(demand)))
          yield* outcome.unsolved(me, { demandId: demand.id })
          yield* outcome.restart(me, { demandId: demand.id, form: yield* Fixtures.form({}, 30) })
          const offered = (demandId: string) => offeredTo(me, demandId)
          assert.include(yield* offered(demand.id), "view_responses")
          assert.lengthOf((yield* lists.demandResponses(me, { demandId: demand.id })).items, 1)

          yield* (yield* Review.Review).reject(world.operator, { demandId: demand.id, reason: "材料不全" })
          assert.deepStrictEqual(yield* offered(demand.id), ["edit", "submit", "view_responses"])
          assert.lengthOf((yield* lists.demandResponses(me, { demandId: demand.id })).items, 1)

          // A demand never published has no responses to view.
          const drafted = yield* publishing.draft(me, yield* Fixtures.form({}, 30))
          assert.notInclude(yield* offered(drafted.id), "view_responses")
        })
      )
  )

  it.effect("R10: an invalid field of a restart's form names R10, as an edit's does; its deadline R13", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        const publishing = yield* Publishing.Publishing
        const me = world.enterprise.account
        const demand = yield* Fixtures.publish(world, me)
        const drafted = yield* publishing.draft(me, yield* Fixtures.form({}, 30))
        yield* at(justAfter(yield* deadlineEnd(demand)))
        yield* outcome.unsolved(me, { demandId: demand.id })
        const long = yield* Fixtures.form({ title: "长".repeat(61) }, 30)
        yield* expectError(
          publishing.edit(me, { demandId: drafted.id, form: long }),
          "InvalidInput",
          "R10",
          "form.title"
        )
        yield* expectError(
          outcome.restart(me, { demandId: demand.id, form: long }),
          "InvalidInput",
          "R10",
          "form.title"
        )
        yield* expectError(
          outcome.restart(me, {
            demandId: demand.id,
            form: { ...long, title: "标题", responseDeadline: "2026-13-01" }
          }),
          "InvalidInput",
          "R13",
          "form.responseDeadline"
        )
        assert.strictEqual((yield* publishing.get(me, { demandId: demand.id })).demand.round, 1)
      })
    )
  )

  it.effect("R33: a solved demand is not restarted", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const outcome = yield* Outcome.Outcome
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        yield* at(justAfter(yield* deadlineEnd(demand)))
        yield* outcome.solved(world.enterprise.account, { demandId: demand.id })
        yield* expectError(
          outcome.restart(world.enterprise.account, {
            demandId: demand.id,
            form: yield* Fixtures.form({}, 30)
          }),
          "InvalidState",
          "R33"
        )
      })
    )
  )

  it.effect(
    "R5: a command on a demand by an unknown account is refused before the demand (locked with the actor's read) is looked at, even when that read fails",
    () =>
      withFailingLocks((world, locks) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const selection = yield* Selection.Selection
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const stranger = "no-such-account" as typeof world.operator
          const form = yield* Fixtures.form({}, 30)
          for (const failing of [false, true]) {
            locks.failing = failing
            for (const demandId of [demand.id, "no-such-demand" as typeof demand.id]) {
              yield* expectError(outcome.solved(stranger, { demandId }), "Denied", "R5")
              yield* expectError(outcome.unsolved(stranger, { demandId }), "Denied", "R5")
              yield* expectError(outcome.restart(stranger, { demandId, form }), "Denied", "R5")
              yield* expectError(
                outcome.appendLog(stranger, { demandId, entry: entry("2026-05-04", "对接") }),
                "Denied",
                "R5"
              )
              yield* expectError(selection.endSelection(stranger, { demandId }), "Denied", "R5")
            }
          }
          const failure = yield* failureOf(
            outcome.unsolved(world.enterprise.account, { demandId: demand.id })
          )
          assert.strictEqual(failure._tag, "InfrastructureError")
          locks.failing = false
          yield* expectError(
            outcome.unsolved(world.enterprise.account, { demandId: "no-such-demand" as typeof demand.id }),
            "NotFound",
            "R5"
          )
          const after = yield* stored(world, demand)
          assert.isNull(after.demand.outcome)
          assert.strictEqual(after.demand.version, demand.version)
        })
      )
  )

  it.effect(
    "R31, R32, R33: an outcome whose demand update cannot be written (after the round's other writes were issued) changes nothing",
    () => {
      let unsolvedWrites = false
      return withPorts(
        failingUpdates({
          demand: (d) =>
            (d.outcome !== null && !(unsolvedWrites && d.outcome === "unsolved" && d.round === 1)) ||
            d.round > 1 ||
            d.selectionEndedAt !== null
        }),
        (world) =>
          Effect.gen(function* () {
            const outcome = yield* Outcome.Outcome
            const selection = yield* Selection.Selection
            const responding = yield* Responding.Responding
            const demand = yield* Fixtures.publish(world, world.enterprise.account)
            const response = yield* responding.respond(world.institute.account, {
              demandId: demand.id,
              proposal: proposal()
            })
            const before = yield* stored(world, demand)
            const attempts = [
              outcome.solved(world.enterprise.account, { demandId: demand.id }),
              outcome.unsolved(world.enterprise.account, { demandId: demand.id })
            ]
            for (const attempt of attempts) {
              const failure = yield* failureOf(attempt)
              assert.strictEqual(failure._tag, "InfrastructureError")
            }
            assert.deepStrictEqual(yield* stored(world, demand), before)
            yield* at(justAfter(yield* deadlineEnd(demand)))
            const ending = yield* failureOf(
              selection.endSelection(world.enterprise.account, { demandId: demand.id })
            )
            assert.strictEqual(ending._tag, "InfrastructureError")
            assert.deepStrictEqual(yield* stored(world, demand), before)
            // R33 restarts an unsolved demand: the outcome is written, the restart's update is not.
            unsolvedWrites = true
            yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
            const unsolved = yield* stored(world, demand)
            const restart = yield* failureOf(
              outcome.restart(world.enterprise.account, {
                demandId: demand.id,
                form: yield* Fixtures.form({}, 30)
              })
            )
            assert.strictEqual(restart._tag, "InfrastructureError")
            const after = yield* stored(world, demand)
            assert.deepStrictEqual(after, unsolved)
            const lists = yield* Lists.Lists
            assert.strictEqual(
              (yield* lists.response(world.enterprise.account, { responseId: response.id })).status,
              "submitted"
            )
            assert.lengthOf(yield* notices("response_not_adopted"), 0)
          })
      )
    }
  )
})
