import { Access, Audit, type Commission, type Idempotency, type Ids, Persistence } from "@zhongbao/core"
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
  selText,
  selTs,
  ts,
  tsOrNull
} from "./db.js"
import { expectOne, versioned } from "./writes.js"

const commissionColumns = `id, enterprise_id, institution_id, message, state, requested_by, ${selTs("created_at")},
  ${selTs("decided_at")}, ${selTs("ended_at")}, ended_by, version`

const toCommission = (r: Row): Commission.Commission => ({
  id: read.str(r, "id") as Ids.CommissionId,
  enterpriseId: read.str(r, "enterprise_id") as Ids.MemberId,
  institutionId: read.str(r, "institution_id") as Ids.MemberId,
  message: read.str(r, "message"),
  state: read.str(r, "state") as Commission.CommissionState,
  requestedBy: read.str(r, "requested_by") as Ids.AccountId,
  createdAt: read.ts(r, "created_at"),
  decidedAt: read.tsOrNull(r, "decided_at"),
  endedAt: read.tsOrNull(r, "ended_at"),
  endedBy: read.strOrNull(r, "ended_by") as Ids.MemberId | null,
  version: read.int(r, "version")
})

const commissionValues = (c: Commission.Commission): Array<unknown> => [
  c.id,
  c.enterpriseId,
  c.institutionId,
  c.message,
  c.state,
  c.requestedBy,
  ts(c.createdAt),
  tsOrNull(c.decidedAt),
  tsOrNull(c.endedAt),
  c.endedBy,
  c.version
]

const openStates = `('requested', 'active')`

/** @internal */
export const makeCommissions = (db: Db): Context.Tag.Service<Persistence.CommissionRepository> => {
  const commission = db.t("commission")
  const one = (rows: ReadonlyArray<Row>) => Option.map(Option.fromNullable(rows[0]), toCommission)
  const updateSql = {
    conflict: `SELECT 1 FROM ${commission} WHERE $5 IN ${openStates} AND enterprise_id = $2 AND institution_id = $3
      AND state IN ${openStates} AND id <> $1`,
    update: `UPDATE ${commission} SET enterprise_id = $2, institution_id = $3, message = $4, state = $5,
      requested_by = $6, created_at = $7::timestamptz, decided_at = $8::timestamptz, ended_at = $9::timestamptz,
      ended_by = $10, version = $11::int4
      WHERE id = $1 AND version = $11::int4 - 1 AND NOT $CONFLICT RETURNING 1`
  }
  return Persistence.CommissionRepository.of({
    insert: (c) =>
      Effect.flatMap(
        db.write(
          "CommissionRepository.insert",
          "commission",
          `INSERT INTO ${commission} (id, enterprise_id, institution_id, message, state, requested_by, created_at,
             decided_at, ended_at, ended_by, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8::timestamptz, $9::timestamptz, $10, $11::int4)
           ON CONFLICT DO NOTHING RETURNING id`,
          commissionValues(c)
        ),
        expectOne("commission", `${c.enterpriseId}/${c.institutionId}`)
      ),
    update: (c) =>
      versioned(db, "CommissionRepository.update", "commission", c.id, updateSql, commissionValues(c)),
    findById: (id) =>
      Effect.map(
        db.query(
          "CommissionRepository.findById",
          `SELECT ${commissionColumns} FROM ${commission} WHERE id = $1`,
          [id]
        ),
        one
      ),
    findByIdForUpdate: (id) =>
      Effect.map(
        db.query(
          "CommissionRepository.findByIdForUpdate",
          `SELECT ${commissionColumns} FROM ${commission} WHERE id = $1 FOR NO KEY UPDATE`,
          [id]
        ),
        one
      ),
    findOpen: (enterpriseId, institutionId) =>
      Effect.map(
        db.query(
          "CommissionRepository.findOpen",
          `SELECT ${commissionColumns} FROM ${commission}
           WHERE enterprise_id = $1 AND institution_id = $2 AND state IN ${openStates}`,
          [enterpriseId, institutionId]
        ),
        one
      ),
    // FOR SHARE waits for a concurrent update of the row (which takes FOR NO KEY
    // UPDATE) and, at READ COMMITTED, reads its result against the WHERE again.
    findOpenForShare: (enterpriseId, institutionId) =>
      Effect.map(
        db.query(
          "CommissionRepository.findOpenForShare",
          `SELECT ${commissionColumns} FROM ${commission}
           WHERE enterprise_id = $1 AND institution_id = $2 AND state IN ${openStates} FOR SHARE`,
          [enterpriseId, institutionId]
        ),
        one
      ),
    list: (q) => {
      const p = new Params()
      const where = [`${q.side === "enterprise" ? "enterprise_id" : "institution_id"} = ${p.add(q.memberId)}`]
      if (q.states !== undefined) {
        if (q.states.length === 0) return Effect.succeed([])
        where.push(`state = ANY(${p.add([...q.states])}::text[])`)
      }
      const cursor = after(p, "c.created_at", "c.id", q.after, "ts", true)
      if (cursor === undefined) return Effect.succeed([])
      if (cursor !== null) where.push(cursor)
      return Effect.map(
        db.query(
          "CommissionRepository.list",
          `SELECT ${commissionColumns} FROM ${commission} c WHERE ${where.join(" AND ")}
           ORDER BY c.created_at DESC, c.id DESC ${limit(p, q.limit)}`,
          p.values
        ),
        (rows) => rows.map(toCommission)
      )
    }
  })
}

/**
 * Entities of the audit trail as SQL literals, sorted: written into the statement
 * (they are the schema's own names, checked here), so that a demand's trail without a
 * response's and a thread's events can read the partial index made for it
 * (`audit_event_demand_shared`); `undefined` for none. A name that is not an entity
 * of the schema never reaches the statement: no event has it, so it hides nothing.
 */
const entityList = (entities: ReadonlyArray<string>): string | undefined => {
  const names = [...new Set(entities)].filter((name) => auditEntities.has(name)).sort()
  return names.length === 0 ? undefined : names.map((name) => `'${name}'`).join(", ")
}

const auditEntities: ReadonlySet<string> = new Set(Audit.AuditEvent.fields.entity.literals)

/** The entities R4 keeps from a demand's client, as SQL literals. */
const privateEntities = entityList(Access.responsePrivateEntities)!

/**
 * @internal
 * Whether member `member` sees event `event` (aliases) in its own trail, as a row of
 * `audit_event_member` stores it (`shared`): not an event of a response or a thread
 * done on that member's behalf (R4). A member's own trail reads the rows `shared`
 * from a partial index, however many such events it has.
 */
export const sharedWith = (event: string, member: string): string =>
  `NOT (${event}.entity IN (${privateEntities}) AND ${member} IS NOT DISTINCT FROM ${event}.on_behalf_of)`

const auditColumns = (a: string) =>
  [
    `${a}.id`,
    selTs(`${a}.at`),
    `${a}.actor_account_id`,
    `${a}.actor_member_id`,
    `${a}.on_behalf_of`,
    `${a}.entity`,
    `${a}.entity_id`,
    `${a}.demand_id`,
    selArray(`${a}.members`),
    `${a}.action`,
    `${a}.before`,
    `${a}.after`,
    `${a}.reason`
  ].join(", ")

const toAuditEvent = (r: Row): Audit.AuditEvent => ({
  id: read.str(r, "id") as Ids.AuditEventId,
  at: read.ts(r, "at"),
  actorAccountId: read.str(r, "actor_account_id") as Ids.AccountId,
  actorMemberId: read.strOrNull(r, "actor_member_id") as Ids.MemberId | null,
  onBehalfOf: read.strOrNull(r, "on_behalf_of") as Ids.MemberId | null,
  entity: read.str(r, "entity") as Audit.AuditEvent["entity"],
  entityId: read.str(r, "entity_id"),
  demandId: read.strOrNull(r, "demand_id") as Ids.DemandId | null,
  members: read.strings(r, "members") as ReadonlyArray<Ids.MemberId>,
  action: read.str(r, "action"),
  before: read.strOrNull(r, "before"),
  after: read.strOrNull(r, "after"),
  reason: read.strOrNull(r, "reason")
})

/**
 * @internal
 * The statement of {@link makeAudit}'s `list` (exported for the plan tests); `undefined`
 * when the query matches nothing. A member's trail reads `audit_event_member` by its
 * primary key, or by `audit_event_member_shared` when R4 hides the events done on that
 * member's behalf; a demand's trail reads `audit_event_demand`, or
 * `audit_event_demand_shared` without a response's and a thread's events, and so does
 * a demand's trail filtered by a member (the event's `members`): read from the
 * member's side, it went through every event of the member's (§9).
 */
export const auditListStatement = (
  db: Db,
  q: Parameters<Context.Tag.Service<Persistence.AuditRepository>["list"]>[0]
): { readonly text: string; readonly values: ReadonlyArray<unknown> } | undefined => {
  const p = new Params()
  const where: Array<string> = []
  let from = `${db.t("audit_event")} e`
  let key = "e.at"
  let id = "e.id"
  const byMember = q.memberId !== undefined && q.demandId === undefined
  if (byMember) {
    from = `${db.t("audit_event_member")} m JOIN ${db.t("audit_event")} e ON e.id = m.event_id`
    key = "m.at"
    id = "m.event_id"
    where.push(`m.member_id = ${p.add(q.memberId)}`)
  } else if (q.memberId !== undefined) where.push(`${p.add(q.memberId)} = ANY(e.members)`)
  if (q.demandId !== undefined) where.push(`e.demand_id = ${p.add(q.demandId)}`)
  const hidden = q.hide === undefined ? undefined : entityList(q.hide.entities)
  if (hidden !== undefined) {
    if (q.hide!.onBehalfOf === undefined) where.push(`e.entity NOT IN (${hidden})`)
    else if (byMember && q.hide!.onBehalfOf === q.memberId && hidden === privateEntities)
      where.push("m.shared")
    else
      where.push(
        `NOT (e.entity IN (${hidden}) AND e.on_behalf_of IS NOT DISTINCT FROM ${p.add(q.hide!.onBehalfOf)})`
      )
  }
  const cursor = after(p, key, id, q.after, "ts", true)
  if (cursor === undefined) return undefined
  if (cursor !== null) where.push(cursor)
  return {
    text: `SELECT ${auditColumns("e")} FROM ${from} ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
           ORDER BY ${key} DESC, ${id} DESC ${limit(p, q.limit)}`,
    values: p.values
  }
}

/**
 * @internal
 * The audit trail. An event's members are also rows of `audit_event_member`, so a
 * member's trail is a range of one index in `(at, id)` order.
 */
export const makeAudit = (db: Db): Context.Tag.Service<Persistence.AuditRepository> => {
  const event = db.t("audit_event")
  const member = db.t("audit_event_member")
  return Persistence.AuditRepository.of({
    append: (e) =>
      Effect.flatMap(
        db.write(
          "AuditRepository.append",
          "audit",
          `WITH e AS (
             INSERT INTO ${event} (id, at, actor_account_id, actor_member_id, on_behalf_of, entity, entity_id,
               demand_id, members, action, before, after, reason)
             VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9::text[], $10, $11, $12, $13)
             ON CONFLICT DO NOTHING RETURNING id, at, entity, on_behalf_of),
           m AS (
             INSERT INTO ${member} (member_id, at, event_id, shared)
             SELECT DISTINCT x, e.at, e.id, ${sharedWith("e", "x")} FROM e, unnest($9::text[]) AS x)
           SELECT id FROM e`,
          [
            e.id,
            ts(e.at),
            e.actorAccountId,
            e.actorMemberId,
            e.onBehalfOf,
            e.entity,
            e.entityId,
            e.demandId,
            [...e.members],
            e.action,
            e.before,
            e.after,
            e.reason
          ]
        ),
        expectOne("audit", e.id)
      ),
    list: (q) => {
      const statement = auditListStatement(db, q)
      if (statement === undefined) return Effect.succeed([])
      return Effect.map(db.query("AuditRepository.list", statement.text, statement.values), (rows) =>
        rows.map(toAuditEvent)
      )
    }
  })
}

/** @internal The columns of an idempotency record, each named `<prefix><column>`, from the table aliased `alias`. */
export const recordColumns = (alias: string, prefix: string) =>
  `${alias}.account_id AS ${prefix}account_id, ${alias}.key AS ${prefix}key, ${alias}.fingerprint AS ${prefix}fingerprint, ${selText(`${alias}.result`, `${prefix}result`)}, ${selTs(`${alias}.created_at`, `${prefix}created_at`)}`

/** @internal The idempotency record of a row read with {@link recordColumns}: none when its key is null (no record joined). */
export const toRecord = (r: Row, prefix: string): Option.Option<Idempotency.IdempotencyRecord> =>
  r[`${prefix}key`] === null || r[`${prefix}key`] === undefined
    ? Option.none()
    : Option.some({
        accountId: read.str(r, `${prefix}account_id`) as Ids.AccountId,
        key: read.str(r, `${prefix}key`),
        fingerprint: read.str(r, `${prefix}fingerprint`),
        result: r[`${prefix}result`] === null ? undefined : read.json(r, `${prefix}result`),
        createdAt: read.ts(r, `${prefix}created_at`)
      })

/** @internal */
export const makeIdempotency = (db: Db): Context.Tag.Service<Persistence.IdempotencyRepository> => {
  const record = db.t("idempotency_record")
  return Persistence.IdempotencyRepository.of({
    find: (accountId, key) =>
      Effect.map(
        db.query(
          "IdempotencyRepository.find",
          `SELECT ${recordColumns("r", "")} FROM ${record} r WHERE r.account_id = $1 AND r.key = $2`,
          [accountId, key]
        ),
        (rows) => (rows[0] === undefined ? Option.none() : toRecord(rows[0], ""))
      ),
    insert: (r) =>
      Effect.flatMap(
        db.write(
          "IdempotencyRepository.insert",
          "idempotency",
          `INSERT INTO ${record} (account_id, key, fingerprint, result, created_at)
           VALUES ($1, $2, $3, $4::json, $5::timestamptz) ON CONFLICT DO NOTHING RETURNING key`,
          [
            r.accountId,
            r.key,
            r.fingerprint,
            r.result === undefined ? null : JSON.stringify(r.result),
            ts(r.createdAt)
          ]
        ),
        expectOne("idempotency", r.key)
      ),
    purge: (before) =>
      Effect.map(
        db.query(
          "IdempotencyRepository.purge",
          `WITH gone AS (DELETE FROM ${record} WHERE created_at < $1::timestamptz RETURNING 1)
           SELECT count(*)::int AS removed FROM gone`,
          [ts(before)]
        ),
        (rows) => Number(rows[0]?.removed ?? 0)
      )
  })
}

/**
 * @internal
 * R12: a counter row per (prefix, year), incremented in the approving transaction.
 * Its row lock orders concurrent approvals and a rollback gives the number back.
 */
export const makeNumbering = (db: Db): Context.Tag.Service<Persistence.DemandNumbering> => {
  const counter = db.t("demand_number_counter")
  return Persistence.DemandNumbering.of({
    next: (prefix, year) =>
      Effect.map(
        db.query(
          "DemandNumbering.next",
          `INSERT INTO ${counter} AS c (prefix, year, last) VALUES ($1, $2::int4, 1)
           ON CONFLICT (prefix, year) DO UPDATE SET last = c.last + 1 RETURNING last`,
          [prefix, year]
        ),
        (rows) => Number(rows[0]?.last)
      )
  })
}
