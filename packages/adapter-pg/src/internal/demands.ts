import {
  Demand,
  type Deadline,
  type Errors,
  type Ids,
  type Member,
  type Money,
  type Phase,
  Persistence
} from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type * as Types from "effect/Types"
import {
  after,
  type Db,
  limit,
  nullsOrder,
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
import { type Abortable, currentAbortable, rolledBack } from "./prepared.js"
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
    `${a}.selection_window_days`,
    `${a}.outcome`,
    selText(`${a}.service_fee`),
    selTs(`${a}.closed_at`),
    `${a}.response_count`,
    `${a}.adopted_count`,
    `${a}.version`,
    selTs(`${a}.created_at`),
    selTs(`${a}.updated_at`)
  ].join(", ")

/**
 * @internal
 * The select list of a demand's brief (`Demand.DemandBrief`, what list pages read),
 * for the alias `d`: 19 of the 38 columns of {@link demandColumns}, none of the
 * form's long texts.
 */
export const briefColumns: string = [
  "d.id",
  "d.publisher_id",
  "d.title",
  "d.field",
  "d.region",
  selDate("d.response_deadline"),
  "d.service_mode",
  "d.client_id",
  "d.state",
  "d.round",
  "d.number",
  selTs("d.first_published_at"),
  selTs("d.intake_closed_at"),
  selTs("d.selection_ended_at"),
  "d.selection_window_days",
  "d.response_count",
  "d.adopted_count",
  "d.outcome",
  selTs("d.created_at")
].join(", ")

/** @internal A demand's brief from a row selected with {@link briefColumns}. */
export const toBrief = (r: Row): Demand.DemandBrief => {
  const form: Types.Mutable<Demand.DemandBrief["form"]> = {
    title: read.str(r, "title"),
    field: read.str(r, "field"),
    responseDeadline: read.str(r, "response_deadline") as Deadline.LocalDate,
    serviceMode: read.str(r, "service_mode")
  }
  const region = read.strOrNull(r, "region")
  if (region !== null) form.region = region
  const client = read.strOrNull(r, "client_id")
  if (client !== null) form.clientId = client as Ids.MemberId
  return {
    id: read.str(r, "id") as Ids.DemandId,
    publisherId: read.str(r, "publisher_id") as Ids.MemberId,
    form,
    state: read.str(r, "state") as Demand.DemandState,
    round: read.int(r, "round"),
    number: read.strOrNull(r, "number"),
    firstPublishedAt: read.tsOrNull(r, "first_published_at"),
    intakeClosedAt: read.tsOrNull(r, "intake_closed_at"),
    selectionEndedAt: read.tsOrNull(r, "selection_ended_at"),
    selectionWindowDays: read.intOrNull(r, "selection_window_days"),
    responseCount: read.int(r, "response_count"),
    adoptedCount: read.int(r, "adopted_count"),
    outcome: read.strOrNull(r, "outcome") as Demand.DemandBrief["outcome"],
    createdAt: read.ts(r, "created_at")
  }
}

/*
 * The optional fields are set one by one, in the order of the form's schema, rather
 * than spread from objects made for them: a list reads 21 forms per page.
 */
const toForm = (r: Row): Demand.DemandForm => {
  const form: Types.Mutable<Demand.DemandForm> = {
    title: read.str(r, "title"),
    summary: {
      mainProblem: read.str(r, "main_problem"),
      keyTechnology: read.str(r, "key_technology"),
      expectedGoal: read.str(r, "expected_goal")
    },
    keywords: read.strings(r, "keywords"),
    field: read.str(r, "field")
  } as Types.Mutable<Demand.DemandForm>
  const investment = read.intOrNull(r, "intended_investment")
  if (investment !== null) form.intendedInvestment = investment as Money.Fen
  const solvingWay = read.strOrNull(r, "solving_way")
  if (solvingWay !== null) form.solvingWay = solvingWay as NonNullable<Demand.DemandForm["solvingWay"]>
  const region = read.strOrNull(r, "region")
  if (region !== null) form.region = region
  form.responseDeadline = read.str(r, "response_deadline") as Deadline.LocalDate
  form.serviceMode = read.str(r, "service_mode")
  const manager = read.strOrNull(r, "technology_manager_id")
  if (manager !== null) form.technologyManagerId = manager as Ids.TechnologyManagerId
  const client = read.strOrNull(r, "client_id")
  if (client !== null) form.clientId = client as Ids.MemberId
  const attachments = read.stringsOrNull(r, "attachments")
  if (attachments !== null) form.attachments = attachments as ReadonlyArray<Ids.FileId>
  const contactName = read.strOrNull(r, "contact_name")
  if (contactName !== null)
    form.contact = { name: contactName, phone: read.str(r, "contact_phone") as Member.PhoneNumber }
  return form
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
  selectionWindowDays: read.intOrNull(r, "selection_window_days"),
  outcome: read.strOrNull(r, "outcome") as Demand.Demand["outcome"],
  serviceFee: read.intOrNull(r, "service_fee") as Money.Fen | null,
  closedAt: read.tsOrNull(r, "closed_at"),
  responseCount: read.int(r, "response_count"),
  adoptedCount: read.int(r, "adopted_count"),
  version: read.int(r, "version"),
  createdAt: read.ts(r, "created_at"),
  updatedAt: read.ts(r, "updated_at")
})

/**
 * A column a demand writes: its name, its parameter's cast, its value (from the
 * demand and its search text, made once per write by `valuesOf` when a column needs it).
 */
interface Written {
  readonly column: string
  readonly cast: string
  readonly value: (d: Demand.Demand, searchText: string) => unknown
  readonly searched?: boolean
}

const col = (column: string, cast: string, value: Written["value"], searched = false): Written => ({
  column,
  cast,
  value,
  searched
})

/** The columns of a demand's life: state, numbering, instants, counts, version. */
const lifeColumns: ReadonlyArray<Written> = [
  col("id", "", (d) => d.id),
  col("publisher_id", "", (d) => d.publisherId),
  col("created_by", "", (d) => d.createdBy),
  col("state", "", (d) => d.state),
  col("number", "", (d) => d.number),
  col("round", "::int4", (d) => d.round),
  col("rejection_reason", "", (d) => d.rejectionReason),
  col("submitted_at", "::timestamptz", (d) => tsOrNull(d.submittedAt)),
  col("approved_at", "::timestamptz", (d) => tsOrNull(d.approvedAt)),
  col("first_published_at", "::timestamptz", (d) => tsOrNull(d.firstPublishedAt)),
  col("intake_closed_at", "::timestamptz", (d) => tsOrNull(d.intakeClosedAt)),
  col("first_adopted_at", "::timestamptz", (d) => tsOrNull(d.firstAdoptedAt)),
  col("selection_ended_at", "::timestamptz", (d) => tsOrNull(d.selectionEndedAt)),
  col("selection_window_days", "::int4", (d) => d.selectionWindowDays),
  col("outcome", "", (d) => d.outcome),
  col("service_fee", "::int8", (d) => d.serviceFee),
  col("closed_at", "::timestamptz", (d) => tsOrNull(d.closedAt)),
  col("response_count", "::int4", (d) => d.responseCount),
  col("adopted_count", "::int4", (d) => d.adoptedCount),
  col("version", "::int4", (d) => d.version),
  col("created_at", "::timestamptz", (d) => ts(d.createdAt)),
  col("updated_at", "::timestamptz", (d) => ts(d.updatedAt))
]

/** The columns of a demand's form, and the search columns derived from it. */
const formColumns: ReadonlyArray<Written> = [
  col("title", "", (d) => d.form.title),
  col("main_problem", "", (d) => d.form.summary.mainProblem),
  col("key_technology", "", (d) => d.form.summary.keyTechnology),
  col("expected_goal", "", (d) => d.form.summary.expectedGoal),
  col("keywords", "::text[]", (d) => [...d.form.keywords]),
  col("field", "", (d) => d.form.field),
  col("intended_investment", "::int8", (d) => d.form.intendedInvestment ?? null),
  col("solving_way", "", (d) => d.form.solvingWay ?? null),
  col("region", "", (d) => d.form.region ?? null),
  col("response_deadline", "::date", (d) => d.form.responseDeadline),
  col("service_mode", "", (d) => d.form.serviceMode),
  col("technology_manager_id", "", (d) => d.form.technologyManagerId ?? null),
  col("client_id", "", (d) => d.form.clientId ?? null),
  col("attachments", "::text[]", (d) => (d.form.attachments === undefined ? null : [...d.form.attachments])),
  col("contact_name", "", (d) => d.form.contact?.name ?? null),
  col("contact_phone", "", (d) => d.form.contact?.phone ?? null),
  col("search_text", "", (_, text) => text, true),
  col("search_grams", "::text[]", (_, text) => grams(text), true)
]

/** Every column a demand writes, in order. */
const writtenColumns: ReadonlyArray<Written> = [...lifeColumns, ...formColumns]

const valuesOf = (columns: ReadonlyArray<Written>) => {
  const searched = columns.some((c) => c.searched)
  return (d: Demand.Demand): Array<unknown> => {
    const text = searched ? Demand.searchText(d.form) : ""
    return columns.map((c) => c.value(d, text))
  }
}

/**
 * The `UPDATE` of `columns` (the first, the id, is the key) guarded by the demand's
 * version and its number's uniqueness (see `versioned`).
 */
const updateOf = (demand: string, columns: ReadonlyArray<Written>) => {
  const at = (name: string) => columns.findIndex((c) => c.column === name) + 1
  return {
    conflict: `SELECT 1 FROM ${demand} WHERE number = $${at("number")} AND id <> $1`,
    update: `UPDATE ${demand} SET ${columns
      .slice(1)
      .map((c, i) => `${c.column} = $${i + 2}${c.cast}`)
      .join(", ")}
      WHERE id = $1 AND version = $${at("version")} - 1 AND NOT $CONFLICT RETURNING 1`
  }
}

const publicStates = `('published', 'solved')`

/**
 * A list of demand states as SQL literals, each one of `Demand.DemandState`'s, once
 * and in that list's order: with literals, the partial indexes (`state =
 * 'published'`) serve also the generic plan a prepared statement may settle on,
 * which a parameter's value cannot; one text per set of states (not per order or
 * repeat a caller sent) keeps the named statements to a few.
 */
const stateLiterals = (states: ReadonlyArray<Demand.DemandState>): string => {
  for (const state of states) {
    if (!Demand.DemandState.literals.includes(state)) throw new TypeError(`not a demand state: ${state}`)
  }
  return `(${Demand.DemandState.literals
    .filter((state) => states.includes(state))
    .map((state) => `'${state}'`)
    .join(", ")})`
}

/**
 * The scope's condition, or, for a member in either role, one per role that no row
 * meets twice: the list is then the union of one ordered, limited read of each
 * (`publisher_id = m OR client_id = m` has no index that gives its order, so every
 * demand of the member would be read and sorted for each page).
 */
const scopeConditions = (p: Params, q: Persistence.DemandQuery): ReadonlyArray<string> => {
  switch (q.scope._tag) {
    case "public":
      return [`d.state IN ${publicStates}`]
    case "all":
      return ["true"]
    case "member": {
      const member = p.add(q.scope.memberId)
      return q.scope.role === "publisher"
        ? [`d.publisher_id = ${member}`]
        : q.scope.role === "client"
          ? [`d.client_id = ${member}`]
          : [`d.publisher_id = ${member}`, `d.client_id = ${member} AND d.publisher_id <> ${member}`]
    }
  }
}

/**
 * Each scope condition once per service mode asked for (R25's sweep of the modes
 * that take responses, the hall's `takingResponses`), the mode written as an
 * equality: the open rounds of one mode are read in order from
 * `demand_selection_mode` or `demand_hall_taking`, never past the published demands
 * of the modes that take no responses, which accumulate (nothing ends their
 * selection). `service_mode = ANY(…)` has no index that gives its order.
 */
const withModes = (
  p: Params,
  q: Persistence.DemandQuery,
  scopes: ReadonlyArray<string>
): ReadonlyArray<string> => {
  if (q.serviceModes === undefined) return scopes
  const modes = [...new Set(q.serviceModes)].map((mode) => p.add(mode))
  return scopes.flatMap((scope) => modes.map((mode) => `${scope} AND d.service_mode = ${mode}`))
}

/**
 * @internal
 * R23: the demand `d`'s current round's selection window is over under `view` (core's
 * `Phase.windowOver`): its deadline before the view's `overBefore` less the round's
 * days, or the view's for a round approved before rounds kept theirs.
 */
export const windowOverCondition = (p: Params, view: Phase.WindowView): string =>
  `d.response_deadline < ${p.add(view.overBefore)}::date - coalesce(d.selection_window_days, ${p.add(view.selectionWindowDays)}::int4)`

/**
 * @internal
 * The statement of a demand list: scope, filters, the cursor and the order of the
 * sort, written so that the partial indexes apply (states are literals). `undefined` when the list is empty by its filters.
 */
export const listStatement = (
  db: Db,
  q: Persistence.DemandQuery,
  select: string = demandColumns("d")
): { readonly text: string; readonly values: ReadonlyArray<unknown> } | undefined => {
  const p = new Params()
  const scopes = withModes(p, q, scopeConditions(p, q))
  const where: Array<string> = []
  if (q.states !== undefined) {
    if (q.states.length === 0) return undefined
    where.push(`d.state IN ${stateLiterals(q.states)}`)
  }
  if (q.field !== undefined) where.push(`d.field = ${p.add(q.field)}`)
  if (q.region !== undefined) where.push(`d.region = ${p.add(q.region)}`)
  if (q.keyword !== undefined) where.push(keywordCondition(p, "d", q.keyword))
  if (q.deadlineFrom !== undefined) where.push(`d.response_deadline >= ${p.add(q.deadlineFrom)}::date`)
  if (q.deadlineTo !== undefined) where.push(`d.response_deadline <= ${p.add(q.deadlineTo)}::date`)
  if (q.intakeOpen !== undefined) where.push(`d.intake_closed_at IS ${q.intakeOpen ? "" : "NOT "}NULL`)
  if (q.serviceModes !== undefined && q.serviceModes.length === 0) return undefined
  if (q.selectionOpen !== undefined) {
    where.push(`d.selection_ended_at IS ${q.selectionOpen ? "" : "NOT "}NULL`)
  }
  if (q.windowOver !== undefined) where.push(windowOverCondition(p, q.windowOver))
  if (q.hasResponses !== undefined) where.push(`d.response_count ${q.hasResponses ? ">" : "="} 0`)
  const [key, kind, descending] =
    q.sort === "created"
      ? (["d.created_at", "ts", true] as const)
      : q.sort === "published"
        ? (["d.first_published_at", "ts", true] as const)
        : (["d.response_deadline", "date", false] as const)
  /*
   * Public demands all have a first publication: saying so lets the hall's partial
   * indexes serve the order. Elsewhere a demand never published sorts last.
   */
  const nullable = q.sort === "published" && q.scope._tag !== "public"
  if (q.sort === "published" && !nullable) where.push("d.first_published_at IS NOT NULL")
  const cursor = after(p, key, "d.id", q.after, kind, descending, nullable)
  if (cursor === undefined) return undefined
  if (cursor !== null) where.push(cursor)
  const direction = descending ? "DESC" : "ASC"
  const nulls = nullable ? ` ${nullsOrder(descending)}` : ""
  const limited = limit(p, q.limit)
  const read = (scope: string, extra = "") =>
    `SELECT ${select}${extra} FROM ${db.t("demand")} d WHERE ${[scope, ...where].join(" AND ")}
      ORDER BY ${key} ${direction}${nulls}, d.id ${direction} ${limited}`
  return {
    text:
      scopes.length === 1
        ? read(scopes[0]!)
        : `SELECT * FROM (${scopes.map((scope) => `(${read(scope, `, ${key} AS sort_key, d.id AS sort_id`)})`).join(" UNION ALL ")}) d
      ORDER BY d.sort_key ${direction}${nulls}, d.sort_id ${direction} ${limited}`,
    values: p.values
  }
}

/*
 * The forms read through a `Db`, each with the demand and the version it was read
 * at. An update of that demand to the next version that carries such a form
 * unchanged (the same object) writes only the columns of the demand's life: its
 * version guard lets it through only if nobody wrote the row since that read, so
 * the row still holds that form and the search columns made from it, unless the
 * unit of work the read was made in rolled back (`unit`: a version read there may
 * have been its own write). Computing and escaping the search grams was the largest
 * part of a respond's update (issue 8's P2).
 */
interface FormRead {
  readonly id: Ids.DemandId
  readonly version: number
  readonly unit: Abortable | undefined
}

const formsRead = new WeakMap<Db, WeakMap<Demand.DemandForm, FormRead>>()

const formsReadBy = (db: Db): WeakMap<Demand.DemandForm, FormRead> => {
  let forms = formsRead.get(db)
  if (forms === undefined) {
    forms = new WeakMap()
    formsRead.set(db, forms)
  }
  return forms
}

/**
 * Whether `d`'s row still holds the form `d` carries, should `d`'s versioned update
 * succeed: the form was read at the version before, in no unit of work that rolled
 * back since (there, the row read may have been that unit's own write, undone, and
 * another transaction may have committed another form under the same version).
 */
const formStored = (forms: WeakMap<Demand.DemandForm, FormRead>, d: Demand.Demand): boolean => {
  const read = forms.get(d.form)
  return read !== undefined && read.id === d.id && read.version === d.version - 1 && !rolledBack(read.unit)
}

/** Freezes a form read from a row: changed in place, it would not be written (see `formStored`). */
const frozen = (form: Demand.DemandForm): Demand.DemandForm => {
  Object.freeze(form.summary)
  Object.freeze(form.keywords)
  if (form.attachments !== undefined) Object.freeze(form.attachments)
  if (form.contact !== undefined) Object.freeze(form.contact)
  return Object.freeze(form)
}

/**
 * @internal
 * `f` given a reader of demands from rows read one at a time (by id, or locked for an
 * update) through `db`: each demand's form frozen and remembered, with the unit of
 * work running, so that its next version does not write it again.
 */
export const readingLocked = <A>(db: Db, f: (read: (r: Row) => Demand.Demand) => A): Effect.Effect<A> =>
  FiberRef.getWith(currentAbortable, (unit) =>
    Effect.sync(() =>
      f((r) => {
        const d = toDemand(r)
        formsReadBy(db).set(frozen(d.form), { id: d.id, version: d.version, unit })
        return d
      })
    )
  )

/** @internal */
export const makeDemands = (db: Db): Context.Tag.Service<Persistence.DemandRepository> => {
  const demand = db.t("demand")
  const columns = demandColumns("d")
  const insertSql = `INSERT INTO ${demand} (${writtenColumns.map((c) => c.column).join(", ")})
    VALUES (${writtenColumns.map((c, i) => `$${i + 1}${c.cast}`).join(", ")}) ON CONFLICT DO NOTHING RETURNING id`
  const values = valuesOf(writtenColumns)
  const updateAll = updateOf(demand, writtenColumns)
  const updateLife = updateOf(demand, lifeColumns)
  const lifeValues = valuesOf(lifeColumns)
  const readForms = formsReadBy(db)

  /** A list read: {@link listStatement} with a select list, each row mapped by `row`. */
  const listOf =
    <A>(operation: string, select: string, row: (r: Row) => A) =>
    (q: Persistence.DemandQuery): Effect.Effect<ReadonlyArray<A>, Errors.InfrastructureError> => {
      const statement = listStatement(db, q, select)
      return statement === undefined
        ? Effect.succeed([])
        : Effect.map(db.query(operation, statement.text, statement.values), (rows) => rows.map(row))
    }

  const findOne = (operation: string, lock: boolean) => (id: Ids.DemandId) =>
    Effect.flatMap(
      db.query(operation, `SELECT ${columns} FROM ${demand} d WHERE d.id = $1${lock ? " FOR UPDATE" : ""}`, [
        id
      ]),
      (rows) => readingLocked(db, (read) => Option.map(Option.fromNullable(rows[0]), read))
    )

  return Persistence.DemandRepository.of({
    insert: (d) =>
      Effect.flatMap(
        db.write("DemandRepository.insert", "demand", insertSql, values(d)),
        expectOne("demand", d.id)
      ),
    update: (d) =>
      formStored(readForms, d)
        ? versioned(db, "DemandRepository.update", "demand", d.id, updateLife, lifeValues(d))
        : versioned(db, "DemandRepository.update", "demand", d.id, updateAll, values(d)),
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
    list: listOf("DemandRepository.list", columns, toDemand),
    listBriefs: listOf("DemandRepository.listBriefs", briefColumns, toBrief)
  })
}
