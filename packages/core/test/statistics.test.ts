import { assert, describe, it } from "@effect/vitest"
import { type Demand, Outcome, Publishing, Responding, Review, Selection, Statistics } from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Effect } from "effect"
import { at, expectError, withWorld } from "./helpers.js"

const proposal = (title: string) => ({ title, content: `${title}：三个月内完成中试验证。` })

/**
 * The scenario, in Asia/Shanghai time:
 * - D1, 2026-05-04: the enterprise's own demand, 新材料及应用, 天津市, 5,000,000.00 yuan
 *   intended; responses of the institute and the expert; the institute's adopted
 *   on 05-07 (3 days), the expert's too on 05-09 00:30, which leaves the first
 *   adoption where it was; solved without fee.
 * - D2, 2026-05-04: the institution's demand for enterprise2, 电子信息, 北京市,
 *   200,000.00 yuan; responses of the institute, the service institution and the
 *   expert; the expert's adopted on 05-09 00:30 (5 calendar days, 4.6 elapsed);
 *   solved with a 30,000.00 yuan fee.
 * - D3, 2026-05-31 23:59:59.999: the institution's own demand, 新材料及应用, no region,
 *   no intended investment; the institute responds and withdraws, the expert
 *   responds; nothing adopted.
 * - D4, 2026-06-01 00:30: the enterprise's own demand (June, not May).
 * - D5: a draft of the enterprise, never published.
 */
const scenario = (world: Fixtures.World) =>
  Effect.gen(function* () {
    const publishing = yield* Publishing.Publishing
    const review = yield* Review.Review
    const responding = yield* Responding.Responding
    const selection = yield* Selection.Selection
    const outcome = yield* Outcome.Outcome

    yield* Fixtures.activeCommission(world, world.enterprise2)

    const d1 = yield* Fixtures.publish(world, world.enterprise.account)
    const d2 = yield* Fixtures.publish(world, world.institution.account, {
      ...Fixtures.onBehalf(world, world.enterprise2.member.id),
      field: "电子信息",
      region: "北京市",
      intendedInvestment: 20_000_000
    })
    yield* publishing.draft(world.enterprise.account, yield* Fixtures.form())

    const respond = (party: Fixtures.Party, demand: Demand.Demand) =>
      responding.respond(party.account, { demandId: demand.id, proposal: proposal(party.member.name) })
    const adopted1 = yield* respond(world.institute, d1)
    const adoptedLater = yield* respond(world.expert, d1)
    yield* respond(world.institute, d2)
    yield* respond(world.serviceInstitution, d2)
    const adopted2 = yield* respond(world.expert, d2)

    yield* at("2026-05-07T02:00:00Z")
    yield* selection.adopt(world.enterprise.account, { responseId: adopted1.id })
    yield* at("2026-05-08T16:30:00Z")
    yield* selection.adopt(world.institution.account, { responseId: adopted2.id })
    yield* selection.adopt(world.enterprise.account, { responseId: adoptedLater.id })
    yield* outcome.solved(world.enterprise.account, { demandId: d1.id })
    yield* outcome.solved(world.institution.account, { demandId: d2.id, serviceFee: 3_000_000 })

    yield* at("2026-05-31T15:59:59.999Z")
    const {
      region: _region,
      intendedInvestment: _investment,
      ...form
    } = yield* Fixtures.form(Fixtures.onBehalf(world))
    const draft3 = yield* publishing.draft(world.institution.account, form)
    yield* publishing.submit(world.institution.account, { demandId: draft3.id })
    const d3 = yield* review.approve(world.operator, { demandId: draft3.id })

    yield* at("2026-05-31T16:30:00Z")
    yield* Fixtures.publish(world, world.enterprise.account)

    yield* at("2026-06-01T02:00:00Z")
    const withdrawn = yield* respond(world.institute, d3)
    yield* responding.withdraw(world.institute.account, { responseId: withdrawn.id })
    yield* respond(world.expert, d3)
  })

const row = (key: string | null, figures: Omit<Statistics.Figures, "key">): Statistics.Figures => ({
  key,
  ...figures
})

const d1 = {
  demandsPublished: 1,
  enterprises: 1,
  intendedInvestment: 500_000_000,
  responders: 2,
  responses: 2,
  demandsAdopted: 1,
  adoptionRate: 1,
  demandsSolved: 1,
  serviceFees: 0,
  medianDaysToFirstAdoption: 3
} as Omit<Statistics.Figures, "key">

const d2 = {
  demandsPublished: 1,
  enterprises: 1,
  intendedInvestment: 20_000_000,
  responders: 3,
  responses: 3,
  demandsAdopted: 1,
  adoptionRate: 1,
  demandsSolved: 1,
  serviceFees: 3_000_000,
  medianDaysToFirstAdoption: 5
} as Omit<Statistics.Figures, "key">

const d3 = {
  demandsPublished: 1,
  enterprises: 0,
  intendedInvestment: 0,
  responders: 1,
  responses: 1,
  demandsAdopted: 0,
  adoptionRate: 0,
  demandsSolved: 0,
  serviceFees: 0,
  medianDaysToFirstAdoption: null
} as Omit<Statistics.Figures, "key">

const may = row(null, {
  demandsPublished: 3,
  enterprises: 2,
  intendedInvestment: 520_000_000,
  responders: 3,
  responses: 6,
  demandsAdopted: 2,
  adoptionRate: 2 / 3,
  demandsSolved: 2,
  serviceFees: 3_000_000,
  medianDaysToFirstAdoption: 4
} as Omit<Statistics.Figures, "key">)

describe("Statistics", () => {
  it.effect(
    "R62: the figures of the demands first published in the period, in the platform time zone; days to the first adoption, not a later one",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          yield* scenario(world)
          const statistics = yield* Statistics.Statistics
          const report = yield* statistics.figures(world.operator, { from: "2026-05-01", to: "2026-05-31" })
          assert.deepStrictEqual(
            { ...report },
            { from: report.from, to: report.to, groupBy: null, total: may, rows: [] }
          )
          assert.strictEqual(report.from, "2026-05-01")
          assert.strictEqual(report.to, "2026-05-31")

          const june = yield* statistics.figures(world.operator, { from: "2026-06-01", to: "2026-06-30" })
          assert.deepStrictEqual(
            june.total,
            row(null, {
              ...d3,
              enterprises: 1,
              intendedInvestment: 500_000_000,
              responders: 0,
              responses: 0
            } as Omit<Statistics.Figures, "key">)
          )

          const lastDay = yield* statistics.figures(world.operator, { from: "2026-05-31", to: "2026-05-31" })
          assert.deepStrictEqual(lastDay.total, row(null, d3))
        })
      )
  )

  it.effect("R62: grouped by field and by region (demands without a region form the group null)", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        yield* scenario(world)
        const statistics = yield* Statistics.Statistics
        const byField = yield* statistics.figures(world.operator, {
          from: "2026-05-01",
          to: "2026-05-31",
          groupBy: "field"
        })
        assert.deepStrictEqual(byField.total, may)
        assert.deepStrictEqual(byField.rows, [
          row("新材料及应用", {
            demandsPublished: 2,
            enterprises: 1,
            intendedInvestment: 500_000_000,
            responders: 2,
            responses: 3,
            demandsAdopted: 1,
            adoptionRate: 0.5,
            demandsSolved: 1,
            serviceFees: 0,
            medianDaysToFirstAdoption: 3
          } as Omit<Statistics.Figures, "key">),
          row("电子信息", d2)
        ])

        const byRegion = yield* statistics.figures(world.operator, {
          from: "2026-05-01",
          to: "2026-05-31",
          groupBy: "region"
        })
        assert.deepStrictEqual(byRegion.rows, [row(null, d3), row("北京市", d2), row("天津市", d1)])
      })
    )
  )

  it.effect("R62: an empty period has zero figures and no adoption rate", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        yield* scenario(world)
        const statistics = yield* Statistics.Statistics
        const report = yield* statistics.figures(world.operator, {
          from: "2026-01-01",
          to: "2026-04-30",
          groupBy: "region"
        })
        assert.deepStrictEqual(report.rows, [])
        assert.deepStrictEqual(
          report.total,
          row(null, {
            ...d3,
            responders: 0,
            responses: 0,
            adoptionRate: null,
            demandsPublished: 0
          } as Omit<Statistics.Figures, "key">)
        )
      })
    )
  )

  it.effect("R62: a period may span the whole calendar, 0001-01-01 to 9999-12-31", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        yield* scenario(world)
        const statistics = yield* Statistics.Statistics
        const year = yield* statistics.figures(world.operator, { from: "2026-01-01", to: "2026-12-31" })
        const all = yield* statistics.figures(world.operator, { from: "0001-01-01", to: "9999-12-31" })
        assert.strictEqual(all.total.demandsPublished, 4)
        assert.deepStrictEqual(all.total, year.total)
      })
    )
  )

  it.effect("R62: money is summed exactly; a total past 2^53 − 1 fen is refused, not rounded", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const statistics = yield* Statistics.Statistics
        const period = { from: "2026-05-01", to: "2026-05-31" }
        yield* Fixtures.publish(world, world.enterprise.account, {
          intendedInvestment: Number.MAX_SAFE_INTEGER - 10
        })
        yield* Fixtures.publish(world, world.enterprise2.account, { intendedInvestment: 10 })
        const exact = yield* statistics.figures(world.operator, { ...period, groupBy: "field" })
        assert.strictEqual(exact.total.intendedInvestment, Number.MAX_SAFE_INTEGER, "the largest exact total")
        yield* Fixtures.publish(world, world.enterprise.account, { intendedInvestment: 1 })
        const refused = yield* expectError(
          statistics.figures(world.operator, period),
          "InvalidInput",
          "R62",
          "to"
        )
        assert.strictEqual((refused as { code?: string }).code, "statistics.total_too_large")
      })
    )
  )

  it.effect("R62: only an operator reads the statistics; a period must not end before it starts", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const statistics = yield* Statistics.Statistics
        const period = { from: "2026-05-01", to: "2026-05-31" }
        yield* expectError(statistics.figures(world.enterprise.account, period), "Denied", "R62")
        yield* expectError(statistics.figures(world.institution.account, period), "Denied", "R62")
        yield* expectError(statistics.figures(null, period), "Denied", "R5")
        yield* expectError(
          statistics.figures(world.operator, { from: "2026-05-31", to: "2026-05-01" }),
          "InvalidInput",
          "R62",
          "to"
        )
        yield* expectError(
          statistics.figures(world.operator, { from: "2026-02-30", to: "2026-05-01" }),
          "InvalidInput",
          "R62",
          "from"
        )
      })
    )
  )
})
