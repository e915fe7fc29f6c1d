/**
 * Operator statistics (R62), in the form the Tianjin programme publishes.
 *
 * Every figure describes one cohort: the demands **first published** in the period
 * (`from`–`to`, calendar dates, inclusive, in the platform time zone), whatever
 * happened to them since. So a period's figures still change while its demands
 * take responses, are adopted and solved; the adoption rate and the median are
 * then ratios over the same demands. See `Persistence.FiguresRow` for each count.
 *
 * - `adoptionRate` is a fraction in [0, 1]: demands of the cohort with at least one
 *   adoption divided by demands of the cohort; `null` when the cohort is empty.
 *   It is a plain `number` (the only non-integer figure besides the median), not
 *   rounded: presentation rounds it.
 * - `medianDaysToFirstAdoption` counts calendar days in the platform time zone
 *   from the date of first publication to the date of the first adoption.
 *
 * The figures are computed by the `StatisticsSource` port, so a SQL adapter answers
 * with aggregates rather than shipping rows.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { addDays, endOfDate, LocalDate } from "./Deadline.js"
import { denied, invalid } from "./Errors.js"
import { makeRunner } from "./internal/command.js"
import { isOperator } from "./Member.js"
import { Fen } from "./Money.js"
import { type FiguresGroupBy, type FiguresRow, StatisticsSource } from "./Persistence.js"
import type { ResolvedSettings } from "./Settings.js"

/**
 * Input of {@link Statistics.figures}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const FiguresInput = Schema.Struct({
  from: LocalDate,
  to: LocalDate,
  groupBy: Schema.optional(Schema.Literal("field", "region"))
})

/**
 * The figures of one group (or of the whole period).
 *
 * @since 0.1.0
 * @category outputs
 */
export const Figures = Schema.Struct({
  key: Schema.NullOr(Schema.String),
  demandsPublished: Schema.Int,
  enterprises: Schema.Int,
  intendedInvestment: Fen,
  responders: Schema.Int,
  responses: Schema.Int,
  demandsAdopted: Schema.Int,
  adoptionRate: Schema.NullOr(Schema.Number),
  demandsSolved: Schema.Int,
  serviceFees: Fen,
  medianDaysToFirstAdoption: Schema.NullOr(Schema.Number)
}).annotations({ identifier: "Figures" })

/** @since 0.1.0 @category outputs */
export type Figures = typeof Figures.Type

/**
 * R62: the period's totals and, when grouped, one row per field or region that has
 * demands (`key` `null` for demands without a region, first; then by key in
 * JavaScript string order). Distinct counts
 * (enterprises, responders) of the rows need not add up to the total's.
 *
 * @since 0.1.0
 * @category outputs
 */
export const Report = Schema.Struct({
  from: LocalDate,
  to: LocalDate,
  groupBy: Schema.NullOr(Schema.Literal("field", "region")),
  total: Figures,
  rows: Schema.Array(Figures)
}).annotations({ identifier: "StatisticsReport" })

/** @since 0.1.0 @category outputs */
export type Report = typeof Report.Type

/**
 * Adds the adoption rate to raw figures.
 *
 * @since 0.1.0
 * @category outputs
 */
export const withRate = (row: FiguresRow): Figures => ({
  key: row.key,
  demandsPublished: row.demandsPublished,
  enterprises: row.enterprises,
  intendedInvestment: row.intendedInvestment,
  responders: row.responders,
  responses: row.responses,
  demandsAdopted: row.demandsAdopted,
  adoptionRate: row.demandsPublished === 0 ? null : row.demandsAdopted / row.demandsPublished,
  demandsSolved: row.demandsSolved,
  serviceFees: row.serviceFees,
  medianDaysToFirstAdoption: row.medianDaysToFirstAdoption
})

const empty: FiguresRow = {
  key: null,
  demandsPublished: 0,
  enterprises: 0,
  intendedInvestment: 0 as Fen,
  responders: 0,
  responses: 0,
  demandsAdopted: 0,
  demandsSolved: 0,
  serviceFees: 0 as Fen,
  medianDaysToFirstAdoption: null
}

/** Groups by key, `null` (no region) first, then in JavaScript string order. */
const byKey = (a: FiguresRow, b: FiguresRow) =>
  a.key === b.key ? 0 : a.key === null ? -1 : b.key === null ? 1 : a.key < b.key ? -1 : 1

/** The first instant of a date in the platform time zone. */
const startOfDate = (date: LocalDate, settings: ResolvedSettings) =>
  DateTime.add(endOfDate(addDays(date, -1), settings), { millis: 1 })

/**
 * Operator statistics.
 *
 * @since 0.1.0
 * @category services
 */
export class Statistics extends Effect.Service<Statistics>()("@zhongbao/core/Statistics", {
  effect: Effect.gen(function* () {
    const { query } = yield* makeRunner
    const source = yield* StatisticsSource

    return {
      /**
       * R62: the figures of the demands first published from `from` to `to`, for
       * operators. Money is summed exactly: a period whose total is past the largest
       * safe integer of fen (about 90 trillion yuan) is refused rather than answered
       * with a rounded figure; a group's amounts are never more than the total's.
       */
      figures: query({ input: FiguresInput, rule: "R62" }, (ctx, input) =>
        Effect.gen(function* () {
          if (ctx.actor === null || !isOperator(ctx.actor)) {
            return yield* denied("R62", "operator.required", "only a platform operator reads the statistics")
          }
          if (input.to < input.from) {
            return yield* invalid(
              "R62",
              "to",
              "statistics.period_invalid",
              "to: the period ends on or after it starts"
            )
          }
          const base = {
            since: startOfDate(input.from, ctx.settings),
            until: DateTime.add(endOfDate(input.to, ctx.settings), { millis: 1 }),
            timeZone: ctx.settings.timeZone
          }
          const run = (groupBy: FiguresGroupBy) => source.figures({ ...base, groupBy })
          const total = (yield* run("none"))[0] ?? empty
          for (const amount of ["intendedInvestment", "serviceFees"] as const) {
            if (!Number.isSafeInteger(total[amount])) {
              return yield* invalid(
                "R62",
                "to",
                "statistics.total_too_large",
                `to: the period's ${amount} adds up to more than ${Number.MAX_SAFE_INTEGER} fen, which no figure holds exactly; ask for a shorter period`
              )
            }
          }
          const rows = input.groupBy === undefined ? [] : yield* run(input.groupBy)
          return {
            from: input.from,
            to: input.to,
            groupBy: input.groupBy ?? null,
            total: withRate(total),
            rows: [...rows].sort(byKey).map(withRate)
          } satisfies Report
        })
      )
    }
  })
}) {}
