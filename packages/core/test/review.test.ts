import { assert, describe, it } from "@effect/vitest"
import {
  Commissioning,
  Deadline,
  Demand,
  Outcome,
  Persistence,
  Publishing,
  Review,
  Settings
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Effect, Option, DateTime } from "effect"
import { auditIds, draft, submitted } from "./demandHelpers.js"
import { at, expectError, reviewUnder, withWorld } from "./helpers.js"
import { notices, phoneOf } from "./support.js"

describe("review", () => {
  describe("R11: the operator approves or rejects with a reason", () => {
    it.effect("R11: approval publishes a pending demand", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const pending = yield* submitted(world.enterprise.account)
          assert.strictEqual(pending.state, "pending_review")
          const queue = yield* review.pending(world.operator, {})
          assert.deepStrictEqual(
            queue.items.map((d) => d.id),
            [pending.id]
          )
          const published = yield* review.approve(world.operator, { demandId: pending.id })
          assert.strictEqual(published.state, "published")
          assert.isNotNull(published.approvedAt)
          assert.isNotNull(published.firstPublishedAt)
          assert.deepStrictEqual((yield* review.pending(world.operator, {})).items, [])
        })
      )
    )

    it.effect("R64: a rejection notifies the submitter once, with the demand's title", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const pending = yield* submitted(world.enterprise.account)
          yield* (yield* Review.Review).reject(world.operator, {
            demandId: pending.id,
            reason: "技术指标描述不清"
          })
          const sent = yield* notices("demand_rejected")
          assert.deepStrictEqual(
            sent.map((m) => [m.recipientPhone, m.params]),
            [[yield* phoneOf(world.enterprise.account), { title: pending.form.title }]]
          )
        })
      )
    )

    it.effect(
      "R64, R13: a platform whose rejection template names `reason` sends the operator's reason, cut to smsParamMaxLength",
      () =>
        withWorld(
          (world) =>
            Effect.gen(function* () {
              const pending = yield* submitted(world.enterprise.account)
              yield* (yield* Review.Review).reject(world.operator, {
                demandId: pending.id,
                reason: "技术指标描述不清，请补充关键参数和应用场景的说明"
              })
              const sent = yield* notices("demand_rejected")
              assert.lengthOf(sent, 1)
              assert.deepStrictEqual(Object.keys(sent[0]!.params), ["title", "reason"])
              assert.strictEqual(sent[0]!.params.reason, "技术指标描述不清，请补充关键参数和应用…")
            }),
          {
            smsTemplates: {
              ...Settings.defaults.smsTemplates,
              demand_rejected: { templateId: "ZB_DEMAND_REJECTED", params: ["title", "reason"] }
            }
          }
        )
    )

    it.effect(
      "R41: a demand published for a client is not approved once its commission is no longer active, even with a new one requested",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const commissioning = yield* Commissioning.Commissioning
            const commission = yield* Fixtures.activeCommission(world)
            const pending = yield* submitted(
              world.institution.account,
              Fixtures.onBehalf(world, world.enterprise.member.id)
            )
            yield* commissioning.end(world.enterprise.account, { commissionId: commission.id })
            yield* commissioning.request(world.enterprise.account, {
              institutionId: world.institution.member.id,
              message: "再次委托发布需求"
            })
            yield* expectError(
              (yield* Review.Review).approve(world.operator, { demandId: pending.id }),
              "InvalidState",
              "R41"
            )
          })
        )
    )

    it.effect(
      "R11: rejection keeps the reason; the rejected demand is edited, resubmitted and approved",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const review = yield* Review.Review
            const publishing = yield* Publishing.Publishing
            const pending = yield* submitted(world.enterprise.account)
            const rejected = yield* review.reject(world.operator, {
              demandId: pending.id,
              reason: "技术指标描述不清"
            })
            assert.strictEqual(rejected.state, "rejected")
            assert.strictEqual(rejected.rejectionReason, "技术指标描述不清")
            assert.isNull(rejected.number)
            const read = yield* publishing.get(world.enterprise.account, { demandId: pending.id })
            assert.strictEqual(read.demand.rejectionReason, "技术指标描述不清")
            assert.includeMembers([...read.actions], ["edit", "submit"])

            const form = yield* Fixtures.form({ title: "石墨烯散热膜量产工艺（导热系数≥1500 W/mK）" })
            const edited = yield* publishing.edit(world.enterprise.account, { demandId: pending.id, form })
            assert.strictEqual(edited.state, "rejected")
            const resubmitted = yield* publishing.submit(world.enterprise.account, { demandId: pending.id })
            assert.strictEqual(resubmitted.state, "pending_review")
            assert.isNull(resubmitted.rejectionReason)
            const published = yield* review.approve(world.operator, { demandId: pending.id })
            assert.strictEqual(published.state, "published")
            assert.strictEqual(published.form.title, "石墨烯散热膜量产工艺（导热系数≥1500 W/mK）")
            assert.strictEqual(published.number, "ZB20260001")

            const trail = yield* auditIds(world)
            assert.isAtLeast(trail.length, 5)
          })
        )
    )

    it.effect("R11: a rejection needs a reason", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const pending = yield* submitted(world.enterprise.account)
          for (const reason of ["", "   "]) {
            yield* expectError(
              review.reject(world.operator, { demandId: pending.id, reason }),
              "InvalidInput",
              "R11",
              "reason"
            )
          }
          const publishing = yield* Publishing.Publishing
          const read = yield* publishing.get(world.enterprise.account, { demandId: pending.id })
          assert.strictEqual(read.demand.state, "pending_review")
        })
      )
    )

    it.effect("R11: only an operator approves or rejects", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const pending = yield* submitted(world.enterprise.account)
          const before = yield* auditIds(world)
          for (const actor of [world.enterprise.account, world.institution.account, world.expert.account]) {
            yield* expectError(review.approve(actor, { demandId: pending.id }), "Denied", "R11")
            yield* expectError(
              review.reject(actor, { demandId: pending.id, reason: "不行" }),
              "Denied",
              "R11"
            )
            yield* expectError(review.pending(actor, {}), "Denied", "R11")
          }
          const publishing = yield* Publishing.Publishing
          const read = yield* publishing.get(world.enterprise.account, { demandId: pending.id })
          assert.strictEqual(read.demand.state, "pending_review")
          assert.isNull(read.demand.number)
          assert.deepStrictEqual(yield* auditIds(world), before)
        })
      )
    )

    it.effect("R11: only a demand pending review is approved or rejected", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const d = yield* draft(world.enterprise.account)
          yield* expectError(review.approve(world.operator, { demandId: d.id }), "InvalidState", "R11")
          yield* expectError(
            review.reject(world.operator, { demandId: d.id, reason: "草稿" }),
            "InvalidState",
            "R11"
          )
          const published = yield* Fixtures.publish(world, world.enterprise.account)
          yield* expectError(
            review.approve(world.operator, { demandId: published.id }),
            "InvalidState",
            "R11"
          )
          yield* expectError(
            review.reject(world.operator, { demandId: published.id, reason: "已发布" }),
            "InvalidState",
            "R11"
          )
          const pending = yield* submitted(world.enterprise.account)
          yield* review.reject(world.operator, { demandId: pending.id, reason: "不清楚" })
          yield* expectError(review.approve(world.operator, { demandId: pending.id }), "InvalidState", "R11")

          const publishing = yield* Publishing.Publishing
          const stillDraft = yield* publishing.get(world.enterprise.account, { demandId: d.id })
          assert.strictEqual(stillDraft.demand.state, "draft")
          assert.isNull(stillDraft.demand.number)
        })
      )
    )

    it.effect("R11: an unknown demand is not found for the operator", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          yield* expectError(review.approve(world.operator, { demandId: "no-such-demand" }), "NotFound", "R5")
        })
      )
    )
  })

  describe("R12: numbering on approval", () => {
    it.effect("R12: numbers are ZB + approval year + 4 digits, gapless, in order of approval", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const a = yield* submitted(world.enterprise.account)
          const b = yield* submitted(world.enterprise2.account)
          const c = yield* submitted(world.enterprise.account)
          assert.isNull(a.number)
          // approved in the order b, a, c: numbers follow approval, not submission
          const nb = (yield* review.approve(world.operator, { demandId: b.id })).number
          const na = (yield* review.approve(world.operator, { demandId: a.id })).number
          const nc = (yield* review.approve(world.operator, { demandId: c.id })).number
          assert.deepStrictEqual([nb, na, nc], ["ZB20260001", "ZB20260002", "ZB20260003"])
        })
      )
    )

    it.effect("R12: rejected and refused approvals consume no number", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const rejected = yield* submitted(world.enterprise.account)
          yield* review.reject(world.operator, { demandId: rejected.id, reason: "信息不全" })
          const tooSoon = yield* submitted(world.enterprise.account, {}, 1)
          const ok = yield* submitted(world.enterprise2.account)
          // the next day, a deadline of today is too soon (R13)
          yield* at("2026-05-05T02:00:00Z")
          yield* expectError(review.approve(world.operator, { demandId: tooSoon.id }), "InvalidInput", "R13")
          const first = yield* review.approve(world.operator, { demandId: ok.id })
          assert.strictEqual(first.number, "ZB20260001")
          const publishing = yield* Publishing.Publishing
          yield* publishing.submit(world.enterprise.account, { demandId: rejected.id })
          const second = yield* review.approve(world.operator, { demandId: rejected.id })
          assert.strictEqual(second.number, "ZB20260002")
        })
      )
    )

    it.effect("R12: concurrent approvals get unique, gapless numbers", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const pending = yield* Effect.forEach(Array.from({ length: 12 }), () =>
            submitted(world.enterprise.account)
          )
          const published = yield* Effect.forEach(
            pending,
            (d) => review.approve(world.operator, { demandId: d.id }),
            { concurrency: "unbounded" }
          )
          const numbers = published.map((d) => d.number ?? "").sort()
          assert.deepStrictEqual(
            numbers,
            Array.from({ length: 12 }, (_, i) => `ZB2026${String(i + 1).padStart(4, "0")}`)
          )
        })
      )
    )

    it.effect("R12: the year is the approval year in Asia/Shanghai", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const [a, b, c] = yield* Effect.forEach([0, 1, 2], () =>
            submitted(world.enterprise.account, {}, 300)
          )
          // 2026-12-31 23:59:59.999 in Shanghai
          yield* at("2026-12-31T15:59:59.999Z")
          assert.strictEqual(
            (yield* review.approve(world.operator, { demandId: a!.id })).number,
            "ZB20260001"
          )
          // 2027-01-01 00:00 in Shanghai, still 2026 in UTC
          yield* at("2026-12-31T16:00:00.000Z")
          assert.strictEqual(
            (yield* review.approve(world.operator, { demandId: b!.id })).number,
            "ZB20270001"
          )
          yield* at("2026-12-31T16:30:00Z")
          assert.strictEqual(
            (yield* review.approve(world.operator, { demandId: c!.id })).number,
            "ZB20270002"
          )
        })
      )
    )

    it.effect("R12: the prefix and width are settings", () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const first = yield* Fixtures.publish(world, world.enterprise.account)
            const second = yield* Fixtures.publish(world, world.enterprise.account)
            assert.strictEqual(first.number, "TJKC2026000001")
            assert.strictEqual(second.number, "TJKC2026000002")
          }),
        { numberingPrefix: "TJKC", sequenceWidth: 6 }
      )
    )

    it.effect("R12: the year follows the time-zone setting", () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const review = yield* Review.Review
            const pending = yield* submitted(world.enterprise.account, {}, 300)
            // 2027-01-01 00:30 in Shanghai but 2026-12-31 16:30 in UTC
            yield* at("2026-12-31T16:30:00Z")
            assert.strictEqual(
              (yield* review.approve(world.operator, { demandId: pending.id })).number,
              "ZB20260001"
            )
          }),
        { timeZone: "UTC" }
      )
    )

    it.effect("R12: past the width the sequence grows wider (width 1: the 10th is ZB202610)", () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const numbers: Array<string | null> = []
            for (let i = 0; i < 10; i++) {
              numbers.push((yield* Fixtures.publish(world, world.enterprise.account)).number)
            }
            assert.deepStrictEqual(numbers, [
              "ZB20261",
              "ZB20262",
              "ZB20263",
              "ZB20264",
              "ZB20265",
              "ZB20266",
              "ZB20267",
              "ZB20268",
              "ZB20269",
              "ZB202610"
            ])
            assert.deepStrictEqual(Demand.parseNumber("ZB202610", "ZB"), { year: 2026, sequence: 10 })
          }),
        { sequenceWidth: 1 }
      )
    )

    it.effect("R12: the 10000th demand of a year is ZB202610000", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const numbering = yield* Persistence.DemandNumbering
          // 9999 numbers of 2026 already given
          yield* Effect.repeatN(numbering.next("ZB", 2026), 9998)
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          assert.strictEqual(demand.number, "ZB202610000")
          assert.strictEqual(Demand.formatNumber("ZB", 2026, 10000, 4), "ZB202610000")
          assert.strictEqual(Demand.formatNumber("ZB", 2026, 3, 4), "ZB20260003")
        })
      )
    )

    it.effect("R12: a restarted demand keeps its number and no number is used up", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const outcome = yield* Outcome.Outcome
          const demand = yield* Fixtures.publish(world, world.enterprise.account, {}, 2)
          assert.strictEqual(demand.number, "ZB20260001")
          // past the deadline (2026-05-06 in Shanghai)
          yield* at("2026-05-07T02:00:00Z")
          yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
          const restarted = yield* outcome.restart(world.enterprise.account, {
            demandId: demand.id,
            form: yield* Fixtures.form({}, 30)
          })
          assert.strictEqual(restarted.state, "pending_review")
          assert.strictEqual(restarted.round, 2)
          assert.strictEqual(restarted.number, "ZB20260001")
          const again = yield* review.approve(world.operator, { demandId: demand.id })
          assert.strictEqual(again.number, "ZB20260001")
          assert.strictEqual(again.round, 2)
          const next = yield* Fixtures.publish(world, world.enterprise2.account)
          assert.strictEqual(next.number, "ZB20260002")
        })
      )
    )
  })

  describe("R13: the deadline is at least one day after approval", () => {
    it.effect("R13: submitting with a deadline of today is refused; tomorrow is accepted", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const today = yield* draft(world.enterprise.account, {}, 0)
          assert.strictEqual(today.form.responseDeadline, "2026-05-04")
          const error = yield* expectError(
            publishing.submit(world.enterprise.account, { demandId: today.id }),
            "InvalidInput",
            "R13",
            "responseDeadline"
          )
          assert.include(error.message, "2026-05-05")
          const read = yield* publishing.get(world.enterprise.account, { demandId: today.id })
          assert.strictEqual(read.demand.state, "draft")

          const past = yield* draft(world.enterprise.account, {}, -1)
          yield* expectError(
            publishing.submit(world.enterprise.account, { demandId: past.id }),
            "InvalidInput",
            "R13",
            "responseDeadline"
          )

          const tomorrow = yield* Fixtures.publish(world, world.enterprise.account, {}, 1)
          assert.strictEqual(tomorrow.form.responseDeadline, "2026-05-05")
          assert.strictEqual(tomorrow.state, "published")
        })
      )
    )

    it.effect("R13: approval checks the deadline against the approval date in Shanghai", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const review = yield* Review.Review
          const publishing = yield* Publishing.Publishing
          const a = yield* submitted(world.enterprise.account, { responseDeadline: "2026-05-05" })
          const b = yield* submitted(world.enterprise.account, { responseDeadline: "2026-05-05" })
          // 2026-05-04 23:59:59.999 in Shanghai: 2026-05-05 is one day later
          yield* at("2026-05-04T15:59:59.999Z")
          const published = yield* review.approve(world.operator, { demandId: a.id })
          assert.strictEqual(published.state, "published")
          // 2026-05-05 00:00 in Shanghai: the deadline is today, too soon
          yield* at("2026-05-04T16:00:00.000Z")
          const before = yield* auditIds(world)
          yield* expectError(
            review.approve(world.operator, { demandId: b.id }),
            "InvalidInput",
            "R13",
            "responseDeadline"
          )
          const read = yield* publishing.get(world.enterprise.account, { demandId: b.id })
          assert.strictEqual(read.demand.state, "pending_review")
          assert.isNull(read.demand.number)
          assert.deepStrictEqual(yield* auditIds(world), before)
          // the operator rejects it so it can be corrected
          yield* review.reject(world.operator, { demandId: b.id, reason: "应答截止日期过近" })
          const form = yield* Fixtures.form({ responseDeadline: "2026-05-06" })
          yield* publishing.edit(world.enterprise.account, { demandId: b.id, form })
          yield* publishing.submit(world.enterprise.account, { demandId: b.id })
          const fixed = yield* review.approve(world.operator, { demandId: b.id })
          assert.strictEqual(fixed.number, "ZB20260002")
        })
      )
    )

    it.effect("R13: a restart needs a new deadline at least one day ahead", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const demand = yield* Fixtures.publish(world, world.enterprise.account, {}, 2)
          yield* at("2026-05-07T02:00:00Z")
          yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
          const error = yield* expectError(
            outcome.restart(world.enterprise.account, {
              demandId: demand.id,
              form: yield* Fixtures.form({ responseDeadline: "2026-05-07" })
            }),
            "InvalidInput",
            "R13"
          )
          // "responseDeadline" or, as the input nests it, "form.responseDeadline"
          assert.match(error.field ?? "", /^(form\.)?responseDeadline$/)
          const publishing = yield* Publishing.Publishing
          const read = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
          assert.strictEqual(read.demand.state, "published")
          assert.strictEqual(read.demand.round, 1)
        })
      )
    )

    it.effect(
      "R13: approval refuses a deadline past the latest the settings now allow (they changed since the form was checked), and changes nothing",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const publishing = yield* Publishing.Publishing
            const review = yield* Review.Review
            const demands = yield* Persistence.DemandRepository
            const e = world.enterprise.account
            const latest = Deadline.latestDeadlineAt(yield* DateTime.now, yield* Settings.Settings)
            const pending = yield* publishing.draft(e, yield* Fixtures.form({ responseDeadline: latest }))
            yield* publishing.submit(e, { demandId: pending.id })
            const before = Option.getOrThrow(yield* demands.findById(pending.id))
            // The same store, the platform's longest deadline since made shorter.
            const shorter = yield* reviewUnder({ maxDeadlineDays: 30 })
            const error = yield* expectError(
              shorter.approve(world.operator, { demandId: pending.id }),
              "InvalidInput",
              "R13",
              "responseDeadline"
            )
            assert.strictEqual((error as { code?: string }).code, "demand.deadline_too_late")
            assert.deepStrictEqual(
              Option.getOrThrow(yield* demands.findById(pending.id)),
              before,
              "nothing changed"
            )
            const approved = yield* review.approve(world.operator, { demandId: pending.id })
            assert.strictEqual(approved.state, "published", "the settings it was submitted under allow it")
          })
        )
    )

    it.effect(
      "R10, R14: approval refuses a field or a service mode the settings no longer have, or a mode the publisher may no longer choose (they changed since the form was checked), and changes nothing",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const publishing = yield* Publishing.Publishing
            const review = yield* Review.Review
            const demands = yield* Persistence.DemandRepository
            const defaults = yield* Settings.Settings
            const e = world.enterprise.account
            const pending = yield* publishing.draft(e, yield* Fixtures.form())
            yield* publishing.submit(e, { demandId: pending.id })
            const before = Option.getOrThrow(yield* demands.findById(pending.id))
            const others = defaults.serviceModes.filter((m) => m.id !== before.form.serviceMode)
            const changes: ReadonlyArray<
              readonly [Partial<Settings.PlatformSettings>, string, string, string]
            > = [
              [{ technicalFields: ["电子信息"] }, "R10", "field", "demand.field_unknown"],
              [{ serviceModes: others }, "R14", "serviceMode", "demand.service_mode_unknown"],
              [
                {
                  serviceModes: defaults.serviceModes.map((m) =>
                    m.id === before.form.serviceMode ? { ...m, publishers: ["transfer_institution"] } : m
                  )
                },
                "R14",
                "serviceMode",
                "demand.service_mode_not_allowed"
              ]
            ]
            for (const [overrides, rule, field, code] of changes) {
              const error = yield* expectError(
                (yield* reviewUnder(overrides)).approve(world.operator, { demandId: pending.id }),
                "InvalidInput",
                rule,
                field
              )
              assert.strictEqual((error as { code?: string }).code, code)
              assert.deepStrictEqual(
                Option.getOrThrow(yield* demands.findById(pending.id)),
                before,
                `nothing changed (${code})`
              )
            }
            const approved = yield* review.approve(world.operator, { demandId: pending.id })
            assert.strictEqual(approved.state, "published", "the settings it was submitted under allow it")
            assert.strictEqual(approved.number, "ZB20260001", "the refused approvals used no number")
          })
        )
    )
  })
})
