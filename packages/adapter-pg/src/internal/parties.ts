import { type Ids, type Member, Persistence } from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { after, type Db, limit, Params, type Row, read, selTs, ts, tsOrNull } from "./db.js"
import { recordColumns, toRecord } from "./records.js"
import { expectOne, expectUpdated } from "./writes.js"

const memberColumns = `id, kind, name, region, registered, ${selTs("created_at")}`

/**
 * A row of `table` by its id, as the statement `name`, with `lock` after the
 * `WHERE` (a row lock, or nothing): the repositories' `findById` and their locking
 * reads.
 */
const rowById =
  <A>(db: Db, name: string, table: string, columns: string, to: (r: Row) => A, lock = "") =>
  (id: string) =>
    Effect.map(
      db.query(name, `SELECT ${columns} FROM ${table} WHERE id = $1${lock === "" ? "" : ` ${lock}`}`, [id]),
      (rows) => Option.map(Option.fromNullable(rows[0]), to)
    )

/**
 * @internal
 * The statement of a member list, oldest first. `undefined` when the list is empty
 * by its cursor.
 */
export const memberListStatement = (
  db: Db,
  q: Parameters<Context.Tag.Service<Persistence.MemberRepository>["list"]>[0]
): { readonly text: string; readonly values: ReadonlyArray<unknown> } | undefined => {
  const p = new Params()
  const where: Array<string> = []
  if (q.kind !== undefined) where.push(`kind = ${p.add(q.kind)}`)
  // A literal: the partial index `member_registered` then serves a generic plan too.
  if (q.registered !== undefined) where.push(q.registered ? "registered" : "NOT registered")
  const cursor = after(p, "m.created_at", "m.id", q.after, "ts", false)
  if (cursor === undefined) return undefined
  if (cursor !== null) where.push(cursor)
  return {
    text: `SELECT ${memberColumns} FROM ${db.t("member")} m
      ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
      ORDER BY m.created_at, m.id ${limit(p, q.limit)}`,
    values: p.values
  }
}

/** A member from a row whose member columns are named with `prefix`. */
const memberFrom =
  (prefix: string) =>
  (r: Row): Member.Member => ({
    id: read.str(r, `${prefix}id`) as Ids.MemberId,
    kind: read.str(r, `${prefix}kind`) as Member.MemberKind,
    name: read.str(r, `${prefix}name`),
    region: read.strOrNull(r, `${prefix}region`),
    registered: read.bool(r, `${prefix}registered`),
    createdAt: read.ts(r, `${prefix}created_at`)
  })

const toMember = memberFrom("")
const toJoinedMember = memberFrom("m_")

/** The member columns of `m`, named with the prefix "m_", beside an account's. */
const joinedMemberColumns = `m.id AS m_id, m.kind AS m_kind, m.name AS m_name, m.region AS m_region,
  m.registered AS m_registered, ${selTs("m.created_at", "m_created_at")}`

const accountColumns = `id, member_id, role, name, phone, active, ${selTs("reactivated_at")}, ${selTs("created_at")}`
const joinedAccountColumns = `a.id, a.member_id, a.role, a.name, a.phone, a.active, ${selTs("a.reactivated_at")},
  ${selTs("a.created_at")}`

const toAccount = (r: Row): Member.Account => ({
  id: read.str(r, "id") as Ids.AccountId,
  memberId: read.strOrNull(r, "member_id") as Ids.MemberId | null,
  role: read.str(r, "role") as Member.Account["role"],
  name: read.str(r, "name"),
  phone: read.str(r, "phone") as Member.PhoneNumber,
  active: read.bool(r, "active"),
  reactivatedAt: read.tsOrNull(r, "reactivated_at"),
  createdAt: read.ts(r, "created_at")
})

/** An account read with {@link joinedAccountColumns} and its member with {@link joinedMemberColumns} (`null` without one). */
const withMember = (r: Row): { readonly account: Member.Account; readonly member: Member.Member | null } => ({
  account: toAccount(r),
  member: r.m_id === null ? null : toJoinedMember(r)
})

const managerColumns = `id, institution_id, name, phone, active, ${selTs("created_at")}`

const toManager = (r: Row): Member.TechnologyManager => ({
  id: read.str(r, "id") as Ids.TechnologyManagerId,
  institutionId: read.str(r, "institution_id") as Ids.MemberId,
  name: read.str(r, "name"),
  phone: read.str(r, "phone") as Member.PhoneNumber,
  active: read.bool(r, "active"),
  createdAt: read.ts(r, "created_at")
})

/** @internal */
export const makeMembers = (db: Db): Context.Tag.Service<Persistence.MemberRepository> => {
  const member = db.t("member")
  return Persistence.MemberRepository.of({
    insert: (m) =>
      Effect.flatMap(
        db.write(
          "MemberRepository.insert",
          "member",
          `INSERT INTO ${member} (id, kind, name, region, registered, created_at)
           VALUES ($1, $2, $3, $4, $5, $6::timestamptz) ON CONFLICT DO NOTHING RETURNING id`,
          [m.id, m.kind, m.name, m.region, m.registered, ts(m.createdAt)]
        ),
        expectOne("member", m.id)
      ),
    update: (m) =>
      Effect.flatMap(
        db.write(
          "MemberRepository.update",
          "member",
          `UPDATE ${member} SET kind = $2, name = $3, region = $4, registered = $5, created_at = $6::timestamptz
           WHERE id = $1 RETURNING id`,
          [m.id, m.kind, m.name, m.region, m.registered, ts(m.createdAt)]
        ),
        expectUpdated("member", m.id)
      ),
    findById: rowById(db, "MemberRepository.findById", member, memberColumns, toMember),
    // FOR NO KEY UPDATE: the rows that refer to the member (their KEY SHARE) are not held up.
    findByIdForUpdate: rowById(
      db,
      "MemberRepository.findByIdForUpdate",
      member,
      memberColumns,
      toMember,
      "FOR NO KEY UPDATE"
    ),
    list: (q) => {
      const statement = memberListStatement(db, q)
      return statement === undefined
        ? Effect.succeed([])
        : Effect.map(db.query("MemberRepository.list", statement.text, statement.values), (rows) =>
            rows.map(toMember)
          )
    }
  })
}

/** @internal */
export const makeAccounts = (db: Db): Context.Tag.Service<Persistence.AccountRepository> => {
  const account = db.t("account")
  const accountAndMember = `${account} a LEFT JOIN ${db.t("member")} m ON m.id = a.member_id`
  return Persistence.AccountRepository.of({
    insert: (a) =>
      Effect.flatMap(
        db.write(
          "AccountRepository.insert",
          "account",
          `INSERT INTO ${account} (id, member_id, role, name, phone, active, reactivated_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8::timestamptz) ON CONFLICT DO NOTHING RETURNING id`,
          [a.id, a.memberId, a.role, a.name, a.phone, a.active, tsOrNull(a.reactivatedAt), ts(a.createdAt)]
        ),
        expectOne("account", a.id)
      ),
    update: (a) =>
      Effect.flatMap(
        db.write(
          "AccountRepository.update",
          "account",
          `UPDATE ${account}
           SET member_id = $2, role = $3, name = $4, phone = $5, active = $6,
             reactivated_at = $7::timestamptz, created_at = $8::timestamptz
           WHERE id = $1 RETURNING id`,
          [a.id, a.memberId, a.role, a.name, a.phone, a.active, tsOrNull(a.reactivatedAt), ts(a.createdAt)]
        ),
        expectUpdated("account", a.id)
      ),
    findById: rowById(db, "AccountRepository.findById", account, accountColumns, toAccount),
    // FOR NO KEY UPDATE: the rows that refer to the account (their KEY SHARE) are not held up.
    findByIdForUpdate: rowById(
      db,
      "AccountRepository.findByIdForUpdate",
      account,
      accountColumns,
      toAccount,
      "FOR NO KEY UPDATE"
    ),
    findWithMember: (id) =>
      Effect.map(
        db.query(
          "AccountRepository.findWithMember",
          `SELECT ${joinedAccountColumns}, ${joinedMemberColumns}
           FROM ${accountAndMember} WHERE a.id = $1`,
          [id]
        ),
        (rows) => Option.map(Option.fromNullable(rows[0]), withMember)
      ),
    findWithMemberAndRecord: (id, key) =>
      Effect.map(
        db.query(
          "AccountRepository.findWithMemberAndRecord",
          `SELECT ${joinedAccountColumns}, ${joinedMemberColumns}, ${recordColumns("r", "r_")}
           FROM ${accountAndMember} LEFT JOIN ${db.t("idempotency_record")} r ON r.account_id = a.id AND r.key = $2
           WHERE a.id = $1`,
          [id, key]
        ),
        (rows) =>
          Option.map(Option.fromNullable(rows[0]), (r) => ({ ...withMember(r), record: toRecord(r, "r_") }))
      ),
    listByMember: (memberId) =>
      Effect.map(
        db.query(
          "AccountRepository.listByMember",
          `SELECT ${accountColumns} FROM ${account} a WHERE a.member_id = $1 ORDER BY a.created_at, a.id`,
          [memberId]
        ),
        (rows) => rows.map(toAccount)
      )
  })
}

/** @internal */
export const makeManagers = (db: Db): Context.Tag.Service<Persistence.TechnologyManagerRepository> => {
  const manager = db.t("technology_manager")
  return Persistence.TechnologyManagerRepository.of({
    insert: (m) =>
      Effect.flatMap(
        db.write(
          "TechnologyManagerRepository.insert",
          "technology_manager",
          `INSERT INTO ${manager} (id, institution_id, name, phone, active, created_at)
           VALUES ($1, $2, $3, $4, $5, $6::timestamptz) ON CONFLICT DO NOTHING RETURNING id`,
          [m.id, m.institutionId, m.name, m.phone, m.active, ts(m.createdAt)]
        ),
        expectOne("technology_manager", m.id)
      ),
    update: (m) =>
      Effect.flatMap(
        db.write(
          "TechnologyManagerRepository.update",
          "technology_manager",
          `UPDATE ${manager}
           SET institution_id = $2, name = $3, phone = $4, active = $5, created_at = $6::timestamptz
           WHERE id = $1 RETURNING id`,
          [m.id, m.institutionId, m.name, m.phone, m.active, ts(m.createdAt)]
        ),
        expectUpdated("technology_manager", m.id)
      ),
    findById: rowById(db, "TechnologyManagerRepository.findById", manager, managerColumns, toManager),
    // FOR SHARE waits for a concurrent update of the row (which takes FOR NO KEY UPDATE).
    findByIdForShare: rowById(
      db,
      "TechnologyManagerRepository.findByIdForShare",
      manager,
      managerColumns,
      toManager,
      "FOR SHARE"
    ),
    // FOR NO KEY UPDATE: the demands that refer to the manager (their KEY SHARE) are not held up.
    findByIdForUpdate: rowById(
      db,
      "TechnologyManagerRepository.findByIdForUpdate",
      manager,
      managerColumns,
      toManager,
      "FOR NO KEY UPDATE"
    ),
    listByInstitution: (institutionId) =>
      Effect.map(
        db.query(
          "TechnologyManagerRepository.listByInstitution",
          `SELECT ${managerColumns} FROM ${manager} m WHERE m.institution_id = $1 ORDER BY m.created_at, m.id`,
          [institutionId]
        ),
        (rows) => rows.map(toManager)
      )
  })
}
