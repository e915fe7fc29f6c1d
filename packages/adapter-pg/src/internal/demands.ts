import { Demand, type Deadline, type Ids, type Member, type Money, Persistence } from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  after,
  type Db,
  limit,
  Params,
  type Row,
  read,
  selArray,
  selDate,
  selText,
  selTs,
  ts,
  tsOrNull
} from "./db.js"
import { grams, keywordCondition } from "./search.js"
import { expectOne, versioned } from "./writes.js"

/** @internal The select list of a demand row, for a table alias (built once per alias). */
export const demandColumns = (a: string): string => {
  let columns = columnsByAlias.get(a)
  if (columns === undefined) {
    columns = selectList(a)
    columnsByAlias.set(a, columns)
  }
  return columns
}

const columnsByAlias = new Map<string, string>()

const selectList = (a: string): string =>
  [
    `${a}.id`,
    `${a}.publisher_id`,
    `${a}.created_by`,
    `${a}.title`,
    `${a}.main_problem`,
    `${a}.key_technology`,
    `${a}.expected_goal`,
    selArray(`${a}.keywords`),
    `${a}.field`,
    selText(`${a}.intended_investment`),
    `${a}.solving_way`,
    `${a}.region`,
    selDate(`${a}.response_deadline`),
    `${a}.service_mode`,
    `${a}.technology_manager_id`,
    `${a}.client_id`,
    selArray(`${a}.attachments`),
    `${a}.contact_name`,
    `${a}.contact_phone`,
    `${a}.state`,
    `${a}.number`,
    `${a}.round`,
    `${a}.rejection_reason`,
    selTs(`${a}.submitted_at`),
    selTs(`${a}.approved_at`),
    selTs(`${a}.first_published_at`),
    selTs(`${a}.intake_closed_at`),
    selTs(`${a}.first_adopted_at`),
    selTs(`${a}.selection_ended_at`),
    `${a}.outcome`,
    selText(`${a}.service_fee`),
    selTs(`${a}.closed_at`),
    `${a}.response_count`,
    `${a}.adopted_count`,
    `${a}.version`,
    selTs(`${a}.created_at`),
    selTs(`${a}.updated_at`)
  ].join(", ")

const toForm = (r: Row): Demand.DemandForm => {
  const investment = read.intOrNull(r, "intended_investment")
  const solvingWay = read.strOrNull(r, "solving_way")
  const region = read.strOrNull(r, "region")
  const manager = read.strOrNull(r, "technology_manager_id")
  const client = read.strOrNull(r, "client_id")
  const attachments = read.stringsOrNull(r, "attachments")
  const contactName = read.strOrNull(r, "contact_name")
  return {
    title: read.str(r, "title"),
    summary: {
      mainProblem: read.str(r, "main_problem"),
      keyTechnology: read.str(r, "key_technology"),
      expectedGoal: read.str(r, "expected_goal")
    },
    keywords: read.strings(r, "keywords"),
    field: read.str(r, "field"),
    ...(investment === null ? {} : { intendedInvestment: investment as Money.Fen }),
    ...(solvingWay === null
      ? {}
      : { solvingWay: solvingWay as NonNullable<Demand.DemandForm["solvingWay"]> }),
    ...(region === null ? {} : { region }),
    responseDeadline: read.str(r, "response_deadline") as Deadline.LocalDate,
    serviceMode: read.str(r, "service_mode"),
    ...(manager === null ? {} : { technologyManagerId: manager as Ids.TechnologyManagerId }),
    ...(client === null ? {} : { clientId: client as Ids.MemberId }),
    ...(attachments === null ? {} : { attachments: attachments as ReadonlyArray<Ids.FileId> }),
    ...(contactName === null
      ? {}
      : { contact: { name: contactName, phone: read.str(r, "contact_phone") as Member.PhoneNumber } })
  }
}

/** @internal A demand from a row selected with {@link demandColumns}. */
export const toDemand = (r: Row): Demand.Demand => ({
  id: read.str(r, "id") as Ids.DemandId,
  publisherId: read.str(r, "publisher_id") as Ids.MemberId,
  createdBy: read.str(r, "created_by") as Ids.AccountId,
  form: toForm(r),
  state: read.str(r, "state") as Demand.DemandState,
  number: read.strOrNull(r, "number"),
  round: read.int(r, "round"),
  rejectionReason: read.strOrNull(r, "rejection_reason"),
  submittedAt: read.tsOrNull(r, "submitted_at"),
  approvedAt: read.tsOrNull(r, "approved_at"),
  firstPublishedAt: read.tsOrNull(r, "first_published_at"),
  intakeClosedAt: read.tsOrNull(r, "intake_closed_at"),
  firstAdoptedAt: read.tsOrNull(r, "first_adopted_at"),
  selectionEndedAt: read.tsOrNull(r, "selection_ended_at"),
  outcome: read.strOrNull(r, "outcome") as Demand.Demand["outcome"],
  serviceFee: read.intOrNull(r, "service_fee") as Money.Fen | null,
  closedAt: read.tsOrNull(r, "closed_at"),
  responseCount: read.int(r, "response_count"),
  adoptedCount: read.int(r, "adopted_count"),
  version: read.int(r, "version"),
  createdAt: read.ts(r, "created_at"),
  updatedAt: read.ts(r, "updated_at")
})

/** The columns a demand writes, in order, and their parameter casts. */
const writtenColumns: ReadonlyArray<readonly [string, string]> = [
  ["id", ""],
  ["publisher_id", ""],
  ["created_by", ""],
  ["title", ""],
  ["main_problem", ""],
  ["key_technology", ""],
  ["expected_goal", ""],
  ["keywords", "::text[]"],
  ["field", ""],
  ["intended_investment", "::int8"],
  ["solving_way", ""],
  ["region", ""],
  ["response_deadline", "::date"],
  ["service_mode", ""],
  ["technology_manager_id", ""],
  ["client_id", ""],
  ["attachments", "::text[]"],
  ["contact_name", ""],
  ["contact_phone", ""],
  ["state", ""],
  ["number", ""],
  ["round", "::int4"],
  ["rejection_reason", ""],
  ["submitted_at", "::timestamptz"],
  ["approved_at", "::timestamptz"],
  ["first_published_at", "::timestamptz"],
  ["intake_closed_at", "::timestamptz"],
  ["first_adopted_at", "::timestamptz"],
  ["selection_ended_at", "::timestamptz"],
  ["outcome", ""],
  ["service_fee", "::int8"],
  ["closed_at", "::timestamptz"],
  ["response_count", "::int4"],
  ["adopted_count", "::int4"],
  ["version", "::int4"],
  ["created_at", "::timestamptz"],
  ["updated_at", "::timestamptz"],
  ["search_text", ""],
  ["search_grams", "::text[]"]
]

const values = (d: Demand.Demand): Array<unknown> => {
  const f = d.form
  const text = Demand.searchText(f)
  return [
    d.id,
    d.publisherId,
    d.createdBy,
    f.title,
    f.summary.mainProblem,
    f.summary.keyTechnology,
    f.summary.expectedGoal,
    [...f.keywords],
    f.field,
    f.intendedInvestment ?? null,
    f.solvingWay ?? null,
    f.region ?? null,
    f.responseDeadline,
    f.serviceMode,
    f.technologyManagerId ?? null,
    f.clientId ?? null,
    f.attachments === undefined ? null : [...f.attachments],
    f.contact?.name ?? null,
    f.contact?.phone ?? null,
    d.state,
    d.number,
    d.round,
    d.rejectionReason,
    tsOrNull(d.submittedAt),
    tsOrNull(d.approvedAt),
    tsOrNull(d.firstPublishedAt),
    tsOrNull(d.intakeClosedAt),
    tsOrNull(d.firstAdoptedAt),
    tsOrNull(d.selectionEndedAt),
    d.outcome,
    d.serviceFee,
    tsOrNull(d.closedAt),
    d.responseCount,
    d.adoptedCount,
    d.version,
    ts(d.createdAt),
    ts(d.updatedAt),
    text,
    grams(text)
  ]
}

const placeholders = writtenColumns.map(([, cast], i) => `$${i + 1}${cast}`)

const publicStates = `('published', 'solved')`

const scopeCondition = (p: Params, q: Persistence.DemandQuery): string => {
  switch (q.scope._tag) {
    case "public":
      return `d.state IN ${publicStates}`
    case "all":
      return "true"
    case "member": {
      const member = p.add(q.scope.memberId)
      return q.scope.role === "publisher"
        ? `d.publisher_id = ${member}`
        : q.scope.role === "client"
          ? `d.client_id = ${member}`
          : `(d.publisher_id = ${member} OR d.client_id = ${member})`
    }
  }
}

/**
 * @internal
 * The statement of a demand list: scope, filters, the cursor and the order of the
 * sort, written so that the partial indexes of the public hall apply (the scope's
 * states are literals). `undefined` when the list is empty by its filters.
 */
export const listStatement = (
  db: Db,
  q: Persistence.DemandQuery
): { readonly text: string; readonly values: ReadonlyArray<unknown> } | undefined => {
  const p = new Params()
  const where = [scopeCondition(p, q)]
  if (q.states !== undefined) {
    if (q.states.length === 0) return undefined
    where.push(`d.state = ANY(${p.add([...q.states])}::text[])`)
  }
  if (q.field !== undefined) where.push(`d.field = ${p.add(q.field)}`)
  if (q.region !== undefined) where.push(`d.region = ${p.add(q.region)}`)
  if (q.keyword !== undefined) where.push(keywordCondition(p, "d", q.keyword))
  if (q.deadlineFrom !== undefined) where.push(`d.response_deadline >= ${p.add(q.deadlineFrom)}::date`)
  if (q.deadlineTo !== undefined) where.push(`d.response_deadline <= ${p.add(q.deadlineTo)}::date`)
  if (q.intakeOpen !== undefined) where.push(`d.intake_closed_at IS ${q.intakeOpen ? "" : "NOT "}NULL`)
  if (q.serviceModes !== undefined) {
    if (q.serviceModes.length === 0) return undefined
    where.push(`d.service_mode = ANY(${p.add([...q.serviceModes])}::text[])`)
  }
  if (q.selectionOpen !== undefined) {
    where.push(`d.selection_ended_at IS ${q.selectionOpen ? "" : "NOT "}NULL`)
  }
  const [key, kind, descending] =
    q.sort === "created"
      ? (["d.created_at", "ts", true] as const)
      : q.sort === "published"
        ? (["d.first_published_at", "ts", true] as const)
        : (["d.response_deadline", "date", false] as const)
  if (q.sort === "published") where.push("d.first_published_at IS NOT NULL")
  const cursor = after(p, key, "d.id", q.after, kind, descending)
  if (cursor === undefined) return undefined
  if (cursor !== null) where.push(cursor)
  const direction = descending ? "DESC" : "ASC"
  return {
    text: `SELECT ${demandColumns("d")} FROM ${db.t("demand")} d WHERE ${where.join(" AND ")}
      ORDER BY ${key} ${direction}, d.id ${direction} ${limit(p, q.limit)}`,
    values: p.values
  }
}

/** @internal */
export const makeDemands = (db: Db): Context.Tag.Service<Persistence.DemandRepository> => {
  const demand = db.t("demand")
  const columns = demandColumns("d")
  const insertSql = `INSERT INTO ${demand} (${writtenColumns.map(([c]) => c).join(", ")})
    VALUES (${placeholders.join(", ")}) ON CONFLICT DO NOTHING RETURNING id`
  const versionIndex = writtenColumns.findIndex(([c]) => c === "version") + 1
  const numberIndex = writtenColumns.findIndex(([c]) => c === "number") + 1
  const updateSql = {
    conflict: `SELECT 1 FROM ${demand} WHERE number = $${numberIndex} AND id <> $1`,
    update: `UPDATE ${demand} SET ${writtenColumns
      .slice(1)
      .map(([c], i) => `${c} = ${placeholders[i + 1]}`)
      .join(", ")}
      WHERE id = $1 AND version = $${versionIndex} - 1 AND NOT $CONFLICT RETURNING 1`
  }

  const list = (q: Persistence.DemandQuery) => {
    const statement = listStatement(db, q)
    return statement === undefined
      ? Effect.succeed([])
      : Effect.map(db.query("DemandRepository.list", statement.text, statement.values), (rows) =>
          rows.map(toDemand)
        )
  }

  const findOne = (operation: string, lock: boolean) => (id: Ids.DemandId) =>
    Effect.map(
      db.query(operation, `SELECT ${columns} FROM ${demand} d WHERE d.id = $1${lock ? " FOR UPDATE" : ""}`, [
        id
      ]),
      (rows) => Option.map(Option.fromNullable(rows[0]), toDemand)
    )

  return Persistence.DemandRepository.of({
    insert: (d) =>
      Effect.flatMap(
        db.write("DemandRepository.insert", "demand", insertSql, values(d)),
        expectOne("demand", d.id)
      ),
    update: (d) => versioned(db, "DemandRepository.update", "demand", d.id, updateSql, values(d)),
    findById: findOne("DemandRepository.findById", false),
    findByIdForUpdate: findOne("DemandRepository.findByIdForUpdate", true),
    findByIds: (ids) =>
      ids.length === 0
        ? Effect.succeed([])
        : Effect.map(
            db.query(
              "DemandRepository.findByIds",
              `SELECT ${columns} FROM ${demand} d WHERE d.id = ANY($1::text[])`,
              [[...ids]]
            ),
            (rows) => {
              const byId = new Map(rows.map((r) => [r.id as string, toDemand(r)]))
              return ids.flatMap((id) => byId.get(id) ?? [])
            }
          ),
    list
  })
}
