import { type Money, Persistence } from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { type Db, firstInstant, lastInstant, type Row, ts } from "./db.js"

const zeros = (key: string | null): Persistence.FiguresRow => ({
  key,
  demandsPublished: 0,
  enterprises: 0,
  intendedInvestment: 0 as Money.Fen,
  responders: 0,
  responses: 0,
  demandsAdopted: 0,
  demandsSolved: 0,
  serviceFees: 0 as Money.Fen,
  medianDaysToFirstAdoption: null
})

/**
 * A period's bound as PostgreSQL reads it: an instant of the years 1–9999 in UTC in
 * ISO form, and beyond them `-infinity` or `infinity` (PostgreSQL reads no ISO year
 * outside them; the first date of the calendar begins in year 0 east of UTC, and the
 * last ends in year 10000 west of it).
 */
const bound = (t: DateTime.Utc): string => {
  const ms = DateTime.toEpochMillis(t)
  return ms < firstInstant ? "-infinity" : ms > lastInstant ? "infinity" : ts(t)
}

const toRow = (r: Row): Persistence.FiguresRow => ({
  key: (r.key ?? null) as string | null,
  demandsPublished: Number(r.demands_published),
  enterprises: Number(r.enterprises),
  intendedInvestment: Number(r.intended_investment) as Money.Fen,
  responders: Number(r.responders),
  responses: Number(r.responses),
  demandsAdopted: Number(r.demands_adopted),
  demandsSolved: Number(r.demands_solved),
  serviceFees: Number(r.service_fees) as Money.Fen,
  medianDaysToFirstAdoption: r.median_days === null ? null : Number(r.median_days)
})

/**
 * @internal
 * R62 in one aggregate query: the cohort is the demands first published in
 * `[since, until)`; calendar days are counted between the dates of the instants in
 * the query's time zone (`AT TIME ZONE`), and the median is `percentile_cont(0.5)`,
 * which ignores the demands never adopted.
 */
export const makeStatistics = (db: Db): Context.Tag.Service<Persistence.StatisticsSource> => {
  const demand = db.t("demand")
  const member = db.t("member")
  const response = db.t("response")
  return Persistence.StatisticsSource.of({
    figures: (q) =>
      Effect.map(
        db.query(
          "StatisticsSource.figures",
          `WITH cohort AS (
             SELECT d.id, d.state, d.publisher_id, d.client_id, d.intended_investment, d.service_fee,
               d.first_published_at, d.first_adopted_at,
               CASE $3 WHEN 'field' THEN d.field WHEN 'region' THEN d.region END AS key
             FROM ${demand} d
             WHERE d.first_published_at >= $1::timestamptz AND d.first_published_at < $2::timestamptz),
           demands AS (
             SELECT c.key,
               count(*) AS demands_published,
               count(DISTINCT coalesce(c.client_id, CASE WHEN m.kind = 'enterprise' THEN c.publisher_id END))
                 AS enterprises,
               coalesce(sum(c.intended_investment), 0) AS intended_investment,
               count(c.first_adopted_at) AS demands_adopted,
               count(*) FILTER (WHERE c.state = 'solved') AS demands_solved,
               coalesce(sum(c.service_fee) FILTER (WHERE c.state = 'solved'), 0) AS service_fees,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY
                 (c.first_adopted_at AT TIME ZONE $4)::date - (c.first_published_at AT TIME ZONE $4)::date)
                 AS median_days
             FROM cohort c LEFT JOIN ${member} m ON m.id = c.publisher_id
             GROUP BY c.key),
           responses AS (
             SELECT c.key, count(*) AS responses, count(DISTINCT r.responder_id) AS responders
             FROM cohort c JOIN ${response} r ON r.demand_id = c.id AND r.status <> 'withdrawn'
             GROUP BY c.key)
           SELECT d.key, d.demands_published::text, d.enterprises::text, d.intended_investment::text,
             coalesce(r.responders, 0)::text AS responders, coalesce(r.responses, 0)::text AS responses,
             d.demands_adopted::text, d.demands_solved::text, d.service_fees::text, d.median_days::text
           FROM demands d LEFT JOIN responses r ON r.key IS NOT DISTINCT FROM d.key`,
          [bound(q.since), bound(q.until), q.groupBy, q.timeZone]
        ),
        (rows) => {
          const out = rows.map(toRow)
          return q.groupBy === "none" && out.length === 0 ? [zeros(null)] : out
        }
      )
  })
}
