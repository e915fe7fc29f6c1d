import { assert, it } from "@effect/vitest"
import {
  type Demand,
  type Ids,
  type Member,
  type Money,
  Persistence,
  type Response,
  Statistics
} from "@zhongbao/core"
import { DateTime, Effect } from "effect"
import type { Harness } from "./harness.js"
import * as Rows from "./rows.js"

const utc = (iso: string): DateTime.Utc => DateTime.unsafeMake(iso)

const MATERIALS = "新材料及应用"
const ELECTRONICS = "电子信息"

interface DemandSpec {
  readonly number: number
  readonly field: string
  readonly region?: string
  readonly investment?: number
  readonly client?: Ids.MemberId
  readonly publishedAt: string | null
  readonly adoptedAt?: string
  readonly state?: Demand.DemandState
  readonly serviceFee?: number
  readonly round?: number
}

/**
 * The scenario (dates in Asia/Shanghai, UTC+8), written straight through the ports:
 *
 * | demand | publisher (client)   | field  | region | intended    | first published        | first adopted            | state          |
 * | ------ | -------------------- | ------ | ------ | ----------- | ---------------------- | ------------------------ | -------------- |
 * | D1     | enterprise E1        | 新材料 | 天津市 | 5,000,000.00 | 05-04 10:00            | 05-07 01:00 (3 days)     | solved, no fee |
 * | D2     | institution (E2)     | 电子   | 北京市 | 200,000.00   | 05-04 11:00            | 05-09 00:30 (5 days)     | solved, 30,000.00 fee |
 * | D3     | institution          | 新材料 | —      | —           | 05-31 23:59:59.999     | —                        | published      |
 * | D4     | E1                   | 新材料 | 天津市 | 5,000,000.00 | 06-01 00:00            | —                        | published      |
 * | D5     | E2                   | 电子   | 天津市 | 70.00        | 04-30 23:59:59.999     | 05-02 (2 days)           | solved, 0.99 fee |
 * | D6     | E2                   | 电子   | 天津市 | 1,000,000.00 | 05-01 00:00            | 05-01 07:00 (0 days)     | published      |
 * | D7     | E1                   | 新材料 | 天津市 | 0.01         | never (draft)          | —                        | draft          |
 * | D8     | E1                   | 新材料 | 天津市 | 10.00        | 05-10 10:00            | —                        | restarted, round 2 under review |
 *
 * Responses (status): D1 — R adopted, X not adopted; D2 — R not adopted, S not
 * adopted, X adopted; D3 — R withdrawn, X submitted; D4 — R submitted; D5 — X
 * adopted; D6 — S adopted, E1 submitted; D8 (round 1) — R not adopted, X
 * withdrawn. R is a research institute, X an expert, S a service institution.
 */
const scenario = Effect.gen(function* () {
  const p = yield* Rows.insertParties
  const members = yield* Persistence.MemberRepository
  const accounts = yield* Persistence.AccountRepository
  const demands = yield* Persistence.DemandRepository
  const responses = yield* Persistence.ResponseRepository
  const party = (kind: Member.MemberKind, name: string) =>
    Effect.gen(function* () {
      const member = Rows.member({ kind, name, region: "天津市" })
      yield* members.insert(member)
      const account = Rows.account(member.id)
      yield* accounts.insert(account)
      return { member, account }
    })
  const e1 = { member: p.enterprise, account: p.enterpriseAccount }
  const e2 = yield* party("enterprise", "滨海电子科技有限公司")
  const institution = { member: p.institution, account: p.institutionAccount }
  const r = { member: p.responder, account: p.responderAccount }
  const x = yield* party("expert", "王教授")
  const s = yield* party("service_institution", "科技咨询服务中心")

  const demand = (publisher: typeof e1, spec: DemandSpec) =>
    Effect.gen(function* () {
      const publishedAt = spec.publishedAt === null ? null : utc(spec.publishedAt)
      const adoptedAt = spec.adoptedAt === undefined ? null : utc(spec.adoptedAt)
      const state = spec.state ?? (publishedAt === null ? "draft" : "published")
      const closedAt = state === "solved" ? utc("2026-06-20T02:00:00Z") : null
      const form = Rows.minimalForm({
        field: spec.field,
        ...(spec.region === undefined ? {} : { region: spec.region }),
        ...(spec.investment === undefined ? {} : { intendedInvestment: Rows.fen(spec.investment) }),
        ...(publisher.member.kind === "transfer_institution" ? { technologyManagerId: p.manager.id } : {}),
        ...(spec.client === undefined ? {} : { clientId: spec.client })
      })
      const row = Rows.demand(publisher.member.id, publisher.account.id, {
        form,
        state,
        round: spec.round ?? 1,
        number: publishedAt === null ? null : `ZB2026${String(spec.number).padStart(4, "0")}`,
        submittedAt: publishedAt === null ? null : DateTime.subtract(publishedAt, { hours: 1 }),
        approvedAt: publishedAt,
        firstPublishedAt: publishedAt,
        firstAdoptedAt: adoptedAt,
        intakeClosedAt: adoptedAt ?? closedAt,
        selectionEndedAt: closedAt,
        outcome: state === "solved" ? "solved" : null,
        serviceFee: spec.serviceFee === undefined ? null : Rows.fen(spec.serviceFee),
        closedAt,
        createdAt: utc("2026-04-01T02:00:00Z"),
        updatedAt: utc("2026-06-20T02:00:00Z")
      })
      yield* demands.insert(row)
      return row
    })
  const respond = (
    d: Demand.Demand,
    responder: typeof e1,
    status: Response.ResponseStatus,
    overrides: Partial<Response.Response> = {}
  ) =>
    responses.insert(
      Rows.response(d, responder.member.id, responder.account.id, {
        status,
        adoptedAt: status === "adopted" ? d.firstAdoptedAt : null,
        ...overrides
      })
    )

  const d1 = yield* demand(e1, {
    number: 1,
    field: MATERIALS,
    region: "天津市",
    investment: 500_000_000,
    publishedAt: "2026-05-04T02:00:00.000Z",
    adoptedAt: "2026-05-06T17:00:00.000Z",
    state: "solved"
  })
  const d2 = yield* demand(institution, {
    number: 2,
    field: ELECTRONICS,
    region: "北京市",
    investment: 20_000_000,
    client: e2.member.id,
    publishedAt: "2026-05-04T03:00:00.000Z",
    adoptedAt: "2026-05-08T16:30:00.000Z",
    state: "solved",
    serviceFee: 3_000_000
  })
  const d3 = yield* demand(institution, {
    number: 3,
    field: MATERIALS,
    publishedAt: "2026-05-31T15:59:59.999Z"
  })
  const d4 = yield* demand(e1, {
    number: 4,
    field: MATERIALS,
    region: "天津市",
    investment: 500_000_000,
    publishedAt: "2026-05-31T16:00:00.000Z"
  })
  const d5 = yield* demand(e2, {
    number: 5,
    field: ELECTRONICS,
    region: "天津市",
    investment: 7_000,
    publishedAt: "2026-04-30T15:59:59.999Z",
    adoptedAt: "2026-05-02T02:00:00.000Z",
    state: "solved",
    serviceFee: 99
  })
  const d6 = yield* demand(e2, {
    number: 6,
    field: ELECTRONICS,
    region: "天津市",
    investment: 100_000_000,
    publishedAt: "2026-04-30T16:00:00.000Z",
    adoptedAt: "2026-04-30T23:00:00.000Z"
  })
  yield* demand(e1, { number: 7, field: MATERIALS, region: "天津市", investment: 1, publishedAt: null })
  const d8 = yield* demand(e1, {
    number: 8,
    field: MATERIALS,
    region: "天津市",
    investment: 1_000,
    publishedAt: "2026-05-10T02:00:00.000Z",
    state: "pending_review",
    round: 2
  })

  yield* respond(d1, r, "adopted")
  yield* respond(d1, x, "not_adopted")
  yield* respond(d2, r, "not_adopted")
  yield* respond(d2, s, "not_adopted")
  yield* respond(d2, x, "adopted")
  yield* respond(d3, r, "withdrawn")
  yield* respond(d3, x, "submitted")
  yield* respond(d4, r, "submitted")
  yield* respond(d5, x, "adopted")
  yield* respond(d6, s, "adopted")
  yield* respond(d6, e1, "submitted")
  yield* respond(d8, r, "not_adopted", { round: 1 })
  yield* respond(d8, x, "withdrawn", { round: 1 })
  return { operator: p.operator.id }
})

type Row = Persistence.FiguresRow

const figures = (
  key: string | null,
  f: Omit<Row, "key" | "intendedInvestment" | "serviceFees"> & {
    readonly intendedInvestment: number
    readonly serviceFees: number
  }
): Row => ({
  key,
  ...f,
  intendedInvestment: f.intendedInvestment as Money.Fen,
  serviceFees: f.serviceFees as Money.Fen
})

const zeros = figures(null, {
  demandsPublished: 0,
  enterprises: 0,
  intendedInvestment: 0,
  responders: 0,
  responses: 0,
  demandsAdopted: 0,
  demandsSolved: 0,
  serviceFees: 0,
  medianDaysToFirstAdoption: null
})

/**
 * May 2026 in Asia/Shanghai: D1, D2, D3, D6, D8. Enterprises: E1 (D1, D8), E2
 * (client of D2, publisher of D6). Responses not withdrawn: 2 + 3 + 1 + 2 + 1.
 * Responders: R, X, S, E1. Days to first adoption: 3, 5, 0.
 */
const may = figures(null, {
  demandsPublished: 5,
  enterprises: 2,
  intendedInvestment: 500_000_000 + 20_000_000 + 100_000_000 + 1_000,
  responders: 4,
  responses: 9,
  demandsAdopted: 3,
  demandsSolved: 2,
  serviceFees: 3_000_000,
  medianDaysToFirstAdoption: 3
})

const mayByField: ReadonlyArray<Row> = [
  figures(MATERIALS, {
    demandsPublished: 3,
    enterprises: 1,
    intendedInvestment: 500_001_000,
    responders: 2,
    responses: 4,
    demandsAdopted: 1,
    demandsSolved: 1,
    serviceFees: 0,
    medianDaysToFirstAdoption: 3
  }),
  figures(ELECTRONICS, {
    demandsPublished: 2,
    enterprises: 1,
    intendedInvestment: 120_000_000,
    responders: 4,
    responses: 5,
    demandsAdopted: 2,
    demandsSolved: 1,
    serviceFees: 3_000_000,
    medianDaysToFirstAdoption: 2.5
  })
]

const mayByRegion: ReadonlyArray<Row> = [
  figures(null, {
    demandsPublished: 1,
    enterprises: 0,
    intendedInvestment: 0,
    responders: 1,
    responses: 1,
    demandsAdopted: 0,
    demandsSolved: 0,
    serviceFees: 0,
    medianDaysToFirstAdoption: null
  }),
  figures("北京市", {
    demandsPublished: 1,
    enterprises: 1,
    intendedInvestment: 20_000_000,
    responders: 3,
    responses: 3,
    demandsAdopted: 1,
    demandsSolved: 1,
    serviceFees: 3_000_000,
    medianDaysToFirstAdoption: 5
  }),
  figures("天津市", {
    demandsPublished: 3,
    enterprises: 2,
    intendedInvestment: 600_001_000,
    responders: 4,
    responses: 5,
    demandsAdopted: 2,
    demandsSolved: 1,
    serviceFees: 0,
    medianDaysToFirstAdoption: 1.5
  })
]

/** June 2026 in Asia/Shanghai: D4 alone. */
const june = figures(null, {
  demandsPublished: 1,
  enterprises: 1,
  intendedInvestment: 500_000_000,
  responders: 1,
  responses: 1,
  demandsAdopted: 0,
  demandsSolved: 0,
  serviceFees: 0,
  medianDaysToFirstAdoption: null
})

/**
 * May 2026 in UTC: D1, D2, D3, D4 (05-31 16:00Z), D8; D6 (04-30 16:00Z) is April.
 * Days to first adoption in UTC dates: D1 05-04 → 05-06 = 2, D2 05-04 → 05-08 = 4.
 */
const mayUtc = figures(null, {
  demandsPublished: 5,
  enterprises: 2,
  intendedInvestment: 500_000_000 + 20_000_000 + 500_000_000 + 1_000,
  responders: 3,
  responses: 8,
  demandsAdopted: 2,
  demandsSolved: 2,
  serviceFees: 3_000_000,
  medianDaysToFirstAdoption: 3
})

/** Null first, then JavaScript string order: the order the Statistics service reports. */
const byKey = (rows: ReadonlyArray<Row>): ReadonlyArray<Row> =>
  [...rows].sort((a, b) =>
    a.key === b.key ? 0 : a.key === null ? -1 : b.key === null ? 1 : a.key < b.key ? -1 : 1
  )

/** A plain copy, so that the comparison sees values only. */
const plain = (rows: ReadonlyArray<Row>) => rows.map((row) => ({ ...row }))

const withRate = (row: Row): Statistics.Figures => ({
  ...row,
  adoptionRate: row.demandsPublished === 0 ? null : row.demandsAdopted / row.demandsPublished
})

const shanghai = (since: string, until: string, groupBy: Persistence.FiguresGroupBy) => ({
  since: utc(since),
  until: utc(until),
  groupBy,
  timeZone: "Asia/Shanghai"
})

/** Inserts the parties, and answers a function that inserts a demand of the enterprise's with `overrides`, numbered ZB20260001, ZB20260002… in turn. */
const enterpriseDemands = Effect.gen(function* () {
  const p = yield* Rows.insertParties
  const demands = yield* Persistence.DemandRepository
  let numbered = 0
  return (overrides: Partial<Demand.Demand>) =>
    demands.insert(
      Rows.demand(p.enterprise.id, p.enterpriseAccount.id, {
        number: `ZB2026${String(++numbered).padStart(4, "0")}`,
        ...overrides
      })
    )
})

/** @internal R62: the figures the statistics source computes where the data is. */
export const statistics = (h: Harness): void => {
  it.effect(
    "R62: the figures of the demands first published in [since, until), calendar days in the query's time zone",
    () =>
      h.run(
        Effect.gen(function* () {
          yield* scenario
          const source = yield* Persistence.StatisticsSource
          const mayQuery = shanghai("2026-04-30T16:00:00.000Z", "2026-05-31T16:00:00.000Z", "none")
          assert.deepStrictEqual(plain(yield* source.figures(mayQuery)), [may], "May, Asia/Shanghai")
          assert.deepStrictEqual(
            plain(
              yield* source.figures(shanghai("2026-05-31T16:00:00.000Z", "2026-06-30T16:00:00.000Z", "none"))
            ),
            [june],
            "June, Asia/Shanghai: since is inclusive"
          )
          assert.deepStrictEqual(
            plain(
              yield* source.figures({
                since: utc("2026-05-01T00:00:00.000Z"),
                until: utc("2026-06-01T00:00:00.000Z"),
                groupBy: "none",
                timeZone: "UTC"
              })
            ),
            [mayUtc],
            "May, UTC: the cohort and the calendar days follow the time zone"
          )
          assert.deepStrictEqual(
            plain(
              yield* source.figures(shanghai("2026-07-31T16:00:00.000Z", "2026-08-31T16:00:00.000Z", "none"))
            ),
            [zeros],
            "an empty period: one row of zeros"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R62: grouped by field and by region, one row per group with demands (no region is the group null)",
    () =>
      h.run(
        Effect.gen(function* () {
          yield* scenario
          const source = yield* Persistence.StatisticsSource
          const since = "2026-04-30T16:00:00.000Z"
          const until = "2026-05-31T16:00:00.000Z"
          assert.deepStrictEqual(
            plain(byKey(yield* source.figures(shanghai(since, until, "field")))),
            plain(byKey(mayByField)),
            "May by field"
          )
          assert.deepStrictEqual(
            plain(byKey(yield* source.figures(shanghai(since, until, "region")))),
            plain(byKey(mayByRegion)),
            "May by region"
          )
          for (const groupBy of ["field", "region"] as const) {
            assert.deepStrictEqual(
              yield* source.figures(
                shanghai("2026-07-31T16:00:00.000Z", "2026-08-31T16:00:00.000Z", groupBy)
              ),
              [],
              `an empty period by ${groupBy}: no rows`
            )
          }
        })
      ),
    h.timeout
  )

  it.effect(
    "R62: money adds up exactly to 2^53 − 1 fen, and a sum past it is reported past it (neither capped nor wrapped)",
    () =>
      h.run(
        Effect.gen(function* () {
          const insert = yield* enterpriseDemands
          const source = yield* Persistence.StatisticsSource
          const publish = (investment: number, fee: number) =>
            insert({
              form: Rows.minimalForm({ intendedInvestment: Rows.fen(investment) }),
              state: "solved",
              firstPublishedAt: utc("2026-05-04T02:00:00.000Z"),
              outcome: "solved",
              serviceFee: Rows.fen(fee),
              closedAt: utc("2026-05-20T02:00:00.000Z")
            })
          const may = shanghai("2026-04-30T16:00:00.000Z", "2026-05-31T16:00:00.000Z", "none")
          yield* publish(Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER - 2)
          yield* publish(1, 2)
          const [exact] = yield* source.figures(may)
          assert.strictEqual(exact?.intendedInvestment, Number.MAX_SAFE_INTEGER, "intended investment")
          assert.strictEqual(exact?.serviceFees, Number.MAX_SAFE_INTEGER, "service fees")
          yield* publish(1, 1)
          const [past] = yield* source.figures(may)
          assert.isAbove(past!.intendedInvestment, Number.MAX_SAFE_INTEGER, "intended investment")
          assert.isAbove(past!.serviceFees, Number.MAX_SAFE_INTEGER, "service fees")
        })
      ),
    h.timeout
  )

  it.effect(
    "R62: demands first published at the calendar's edges (years 1–99, the last millisecond of 9999) are counted, their days too",
    () =>
      h.run(
        Effect.gen(function* () {
          const insert = yield* enterpriseDemands
          const source = yield* Persistence.StatisticsSource
          const publish = (publishedAt: string, adoptedAt: string | null) =>
            insert({
              state: "published",
              approvedAt: utc(publishedAt),
              firstPublishedAt: utc(publishedAt),
              firstAdoptedAt: adoptedAt === null ? null : utc(adoptedAt),
              intakeClosedAt: adoptedAt === null ? null : utc(adoptedAt)
            })
          yield* publish("0099-12-31T12:00:00.000Z", "0100-01-02T12:00:00.000Z")
          yield* publish("9999-12-31T23:59:59.999Z", null)
          const inUtc = (since: DateTime.Utc, until: DateTime.Utc) =>
            source.figures({ since, until, groupBy: "none", timeZone: "UTC" })
          const firstDay = utc("0001-01-01T00:00:00.000Z")
          const afterLastDay = utc("+010000-01-01T00:00:00.000Z")
          const [calendar] = yield* inUtc(
            DateTime.subtract(firstDay, { days: 1 }),
            DateTime.add(afterLastDay, { days: 1 })
          )
          assert.deepStrictEqual(
            { ...calendar },
            figures(null, {
              demandsPublished: 2,
              enterprises: 1,
              intendedInvestment: 0,
              responders: 0,
              responses: 0,
              demandsAdopted: 1,
              demandsSolved: 0,
              serviceFees: 0,
              medianDaysToFirstAdoption: 2
            }),
            "a period from before year 1 to after 9999: both demands, 2 days from 31 December 99 to 2 January 100"
          )
          for (const [what, since, until] of [
            ["after 9999", afterLastDay, DateTime.add(afterLastDay, { days: 2 })],
            [
              "before year 1",
              DateTime.subtract(firstDay, { days: 2 }),
              DateTime.subtract(firstDay, { days: 1 })
            ]
          ] as const)
            assert.deepStrictEqual(
              plain(yield* inUtc(since, until)),
              [zeros],
              `a period wholly ${what}: one row of zeros`
            )
        })
      ),
    h.timeout
  )

  it.effect(
    "R62: the Statistics service reports these figures with adoption rates, periods as dates in the platform time zone",
    () =>
      h.run(
        Effect.gen(function* () {
          const { operator } = yield* scenario
          const service = yield* Statistics.Statistics
          const byField = yield* service.figures(operator, {
            from: "2026-05-01",
            to: "2026-05-31",
            groupBy: "field"
          })
          assert.deepStrictEqual(
            { total: { ...byField.total }, rows: byField.rows.map((r) => ({ ...r })) },
            { total: withRate(may), rows: byKey(mayByField).map(withRate) },
            "May by field"
          )
          const byRegion = yield* service.figures(operator, {
            from: "2026-05-01",
            to: "2026-05-31",
            groupBy: "region"
          })
          assert.deepStrictEqual(
            byRegion.rows.map((r) => ({ ...r })),
            byKey(mayByRegion).map(withRate),
            "May by region"
          )
          assert.deepStrictEqual(
            { ...(yield* service.figures(operator, { from: "2026-06-01", to: "2026-06-30" })).total },
            withRate(june),
            "June"
          )
          const lastDay = yield* service.figures(operator, { from: "2026-05-31", to: "2026-05-31" })
          assert.strictEqual(lastDay.total.demandsPublished, 1, "D3 alone on the last day of May")
          const firstDay = yield* service.figures(operator, { from: "2026-05-01", to: "2026-05-01" })
          assert.deepStrictEqual(
            { ...firstDay.total },
            withRate(
              figures(null, {
                demandsPublished: 1,
                enterprises: 1,
                intendedInvestment: 100_000_000,
                responders: 2,
                responses: 2,
                demandsAdopted: 1,
                demandsSolved: 0,
                serviceFees: 0,
                medianDaysToFirstAdoption: 0
              })
            ),
            "D6 alone on the first day of May; D5, a millisecond earlier, is April"
          )
          const empty = yield* service.figures(operator, {
            from: "2026-08-01",
            to: "2026-08-31",
            groupBy: "region"
          })
          assert.deepStrictEqual(
            { total: { ...empty.total }, rows: empty.rows },
            { total: withRate(zeros), rows: [] },
            "an empty period"
          )
          const everything = yield* service.figures(operator, { from: "2000-01-01", to: "2099-12-31" })
          const calendar = yield* service.figures(operator, { from: "0001-01-01", to: "9999-12-31" })
          assert.deepStrictEqual(
            { ...calendar.total },
            { ...everything.total },
            "the whole calendar, its first and last dates' instants beyond years 1–9999 in UTC"
          )
        })
      ),
    h.timeout
  )
}
