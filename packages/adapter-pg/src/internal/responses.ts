import { type Ids, Persistence, type Phase, type Response } from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { after, type Db, limit, Params, type Row, read, selArray, selTs, ts, tsOrNull } from "./db.js"
import { demandColumns, readingLocked, windowOverCondition } from "./demands.js"
import { expectOne, versioned } from "./writes.js"

/**
 * The select list of a response row: the columns of the table alias `a` (none:
 * unqualified), named with `prefix` (beside another table's columns).
 */
const responseColumns = (a: string, prefix: string): string => {
  const column = (c: string) => (a === "" ? c : `${a}.${c}`)
  const plain = (c: string) => (a === "" && prefix === "" ? c : `${column(c)} AS ${prefix}${c}`)
  return [
    plain("id"),
    plain("demand_id"),
    plain("demand_publisher_id"),
    plain("round"),
    plain("responder_id"),
    plain("responder_account_id"),
    plain("proposal_title"),
    plain("proposal_content"),
    selArray(column("proposal_attachments"), `${prefix}proposal_attachments`),
    plain("status"),
    plain("feedback_reason"),
    plain("feedback_text"),
    selTs(column("submitted_at"), `${prefix}submitted_at`),
    selTs(column("updated_at"), `${prefix}updated_at`),
    selTs(column("adopted_at"), `${prefix}adopted_at`),
    plain("version")
  ].join(", ")
}

const columns = responseColumns("", "")
const joinedColumns = responseColumns("r", "r_")

const toResponse = (r: Row): Response.Response => {
  const attachments = read.stringsOrNull(r, "proposal_attachments")
  const reason = read.strOrNull(r, "feedback_reason")
  const text = read.strOrNull(r, "feedback_text")
  return {
    id: read.str(r, "id") as Ids.ResponseId,
    demandId: read.str(r, "demand_id") as Ids.DemandId,
    demandPublisherId: read.str(r, "demand_publisher_id") as Ids.MemberId,
    round: read.int(r, "round"),
    responderId: read.str(r, "responder_id") as Ids.MemberId,
    responderAccountId: read.str(r, "responder_account_id") as Ids.AccountId,
    proposal: {
      title: read.str(r, "proposal_title"),
      content: read.str(r, "proposal_content"),
      ...(attachments === null ? {} : { attachments: attachments as ReadonlyArray<Ids.FileId> })
    },
    status: read.str(r, "status") as Response.ResponseStatus,
    feedback:
      reason === null
        ? null
        : { reason: reason as Response.NotAdoptedReason, ...(text === null ? {} : { text }) },
    submittedAt: read.ts(r, "submitted_at"),
    updatedAt: read.ts(r, "updated_at"),
    adoptedAt: read.tsOrNull(r, "adopted_at"),
    version: read.int(r, "version")
  }
}

/** A response from a row of `joinedColumns`. */
const toJoinedResponse = (row: Row): Response.Response => {
  const r: Record<string, unknown> = {}
  for (const key in row) if (key.startsWith("r_")) r[key.slice(2)] = row[key]
  return toResponse(r)
}

const values = (r: Response.Response): Array<unknown> => [
  r.id,
  r.demandId,
  r.demandPublisherId,
  r.round,
  r.responderId,
  r.responderAccountId,
  r.proposal.title,
  r.proposal.content,
  r.proposal.attachments === undefined ? null : [...r.proposal.attachments],
  r.status,
  r.feedback?.reason ?? null,
  r.feedback?.text ?? null,
  ts(r.submittedAt),
  ts(r.updatedAt),
  tsOrNull(r.adoptedAt),
  r.version
]

/**
 * The status a reader is shown (core's `Phase.shownStatus`) of the row `r`, from its
 * demand's row: a response still `submitted` reads as `not_adopted` once it is of an
 * earlier round, or once its round's selection is over (the demand published or
 * solved, and its selection ended, or solved, or with a single adoption one made, or
 * its window over by the view, `windowOverCondition`).
 */
const shownStatus = (db: Db, p: Params, view: Phase.StatusView): string =>
  `(SELECT CASE
      WHEN r.status <> 'submitted' THEN r.status
      WHEN r.round < d.round THEN 'not_adopted'
      WHEN d.state IN ('published', 'solved') AND (d.selection_ended_at IS NOT NULL OR d.state = 'solved'
        OR (${p.add(view.singleAdoption)}::bool AND d.adopted_count > 0)
        OR ${windowOverCondition(p, view)}) THEN 'not_adopted'
      ELSE 'submitted' END
    FROM ${db.t("demand")} d WHERE d.id = r.demand_id)`

/**
 * The stored statuses of the responses shown in one of `statuses`: with `shown`, a
 * response shown `not_adopted` may still be stored `submitted` (see `shownStatus`);
 * every other status is shown as stored. Narrowing by them first lets the indexes by
 * member and status serve the list, rather than the shown status being worked out
 * for each of the member's responses (§9).
 */
const storedStatuses = (statuses: ReadonlyArray<string>, shown: boolean): Array<string> =>
  [...new Set(statuses.flatMap((s) => (shown && s === "not_adopted" ? [s, "submitted"] : [s])))].sort()

/**
 * @internal
 * The statement of a response list, newest first (`responsesToMe`, `myResponses`,
 * a demand's responses). `undefined` when the list is empty by its filters.
 */
export const listStatement = (
  db: Db,
  q: Persistence.ResponseQuery
): { readonly text: string; readonly values: ReadonlyArray<unknown> } | undefined => {
  const p = new Params()
  const where = [
    q.scope._tag === "publisher"
      ? `demand_publisher_id = ${p.add(q.scope.memberId)}`
      : q.scope._tag === "responder"
        ? `responder_id = ${p.add(q.scope.memberId)}`
        : `demand_id = ${p.add(q.scope.demandId)}`
  ]
  if (q.demandId !== undefined) where.push(`demand_id = ${p.add(q.demandId)}`)
  if (q.round !== undefined) where.push(`round = ${p.add(q.round)}::int4`)
  if (q.statuses !== undefined) {
    if (q.statuses.length === 0) return undefined
    const stored = storedStatuses(q.statuses, q.shown !== undefined)
    // One status as an equality: the index by member and status then gives the order too.
    where.push(
      stored.length === 1 ? `status = ${p.add(stored[0])}` : `status = ANY(${p.add(stored)}::text[])`
    )
    if (q.shown !== undefined)
      where.push(`${shownStatus(db, p, q.shown)} = ANY(${p.add([...q.statuses])}::text[])`)
  }
  const cursor = after(p, "r.submitted_at", "r.id", q.after, "ts", true)
  if (cursor === undefined) return undefined
  if (cursor !== null) where.push(cursor)
  return {
    text: `SELECT ${columns} FROM ${db.t("response")} r WHERE ${where.join(" AND ")}
      ORDER BY r.submitted_at DESC, r.id DESC ${limit(p, q.limit)}`,
    values: p.values
  }
}

/** @internal */
export const makeResponses = (db: Db): Context.Tag.Service<Persistence.ResponseRepository> => {
  const response = db.t("response")
  const insertSql = `INSERT INTO ${response} (id, demand_id, demand_publisher_id, round, responder_id,
      responder_account_id, proposal_title, proposal_content, proposal_attachments, status, feedback_reason,
      feedback_text, submitted_at, updated_at, adopted_at, version)
    VALUES ($1, $2, $3, $4::int4, $5, $6, $7, $8, $9::text[], $10, $11, $12, $13::timestamptz,
      $14::timestamptz, $15::timestamptz, $16::int4)
    ON CONFLICT DO NOTHING RETURNING id`
  const updateSql = {
    conflict: `SELECT 1 FROM ${response} WHERE $10 <> 'withdrawn' AND demand_id = $2 AND round = $4::int4
      AND responder_id = $5 AND status <> 'withdrawn' AND id <> $1`,
    update: `UPDATE ${response} SET demand_id = $2, demand_publisher_id = $3, round = $4::int4, responder_id = $5,
      responder_account_id = $6, proposal_title = $7, proposal_content = $8, proposal_attachments = $9::text[],
      status = $10, feedback_reason = $11, feedback_text = $12, submitted_at = $13::timestamptz,
      updated_at = $14::timestamptz, adopted_at = $15::timestamptz, version = $16::int4
      WHERE id = $1 AND version = $16::int4 - 1 AND NOT $CONFLICT RETURNING 1`
  }
  const one = (rows: ReadonlyArray<Row>) => Option.map(Option.fromNullable(rows[0]), toResponse)

  const list = (q: Persistence.ResponseQuery) => {
    const statement = listStatement(db, q)
    return statement === undefined
      ? Effect.succeed([])
      : Effect.map(db.query("ResponseRepository.list", statement.text, statement.values), (rows) =>
          rows.map(toResponse)
        )
  }

  return Persistence.ResponseRepository.of({
    insert: (r) =>
      Effect.flatMap(
        db.write("ResponseRepository.insert", "response", insertSql, values(r)),
        expectOne("response", r.id)
      ),
    update: (r) => versioned(db, "ResponseRepository.update", "response", r.id, updateSql, values(r)),
    findById: (id) =>
      Effect.map(
        db.query("ResponseRepository.findById", `SELECT ${columns} FROM ${response} WHERE id = $1`, [id]),
        one
      ),
    findActive: (demandId, round, responderId) =>
      Effect.map(
        db.query(
          "ResponseRepository.findActive",
          `SELECT ${columns} FROM ${response}
           WHERE demand_id = $1 AND round = $2::int4 AND responder_id = $3 AND status <> 'withdrawn'`,
          [demandId, round, responderId]
        ),
        one
      ),
    findActiveAmong: (responderId, rounds) =>
      rounds.length === 0
        ? Effect.succeed([])
        : Effect.map(
            db.query(
              "ResponseRepository.findActiveAmong",
              `SELECT ${columns} FROM ${response}
               WHERE responder_id = $1 AND status <> 'withdrawn'
                 AND (demand_id, round) IN (SELECT * FROM unnest($2::text[], $3::int4[]))`,
              [responderId, rounds.map((r) => r.demandId), rounds.map((r) => r.round)]
            ),
            (rows) => rows.map(toResponse)
          ),
    listByDemandRound: (demandId, round) =>
      Effect.map(
        db.query(
          "ResponseRepository.listByDemandRound",
          `SELECT ${columns} FROM ${response} r WHERE r.demand_id = $1 AND r.round = $2::int4
           ORDER BY r.submitted_at, r.id`,
          [demandId, round]
        ),
        (rows) => rows.map(toResponse)
      ),
    list,
    findWithDemandForUpdate: (id) =>
      Effect.flatMap(
        db.query(
          "ResponseRepository.findWithDemandForUpdate",
          `SELECT ${demandColumns("d")}, ${joinedColumns}
           FROM ${response} r JOIN ${db.t("demand")} d ON d.id = r.demand_id
           WHERE r.id = $1 FOR UPDATE OF d FOR NO KEY UPDATE OF r`,
          [id]
        ),
        (rows) =>
          readingLocked(db, (read) =>
            Option.map(Option.fromNullable(rows[0]), (row) => ({
              response: toJoinedResponse(row),
              demand: read(row)
            }))
          )
      )
  })
}
