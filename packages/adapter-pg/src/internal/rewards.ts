import { type Deadline, type Ids, type Money, Persistence, type Reward } from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { after, type Db, limit, Params, type Row, read, selDate, selText, selTs, ts, tsOrNull } from "./db.js"
import { expectOne, versioned } from "./writes.js"

const roundColumns = `id, title, rules, ${selDate("period_start")}, ${selDate("period_end")},
  ${selDate("application_deadline")}, state, opened_by, ${selTs("opened_at")}, closed_by, ${selTs("closed_at")}, version`

const toRound = (r: Row): Reward.RewardRound => ({
  id: read.str(r, "id") as Reward.RewardRoundId,
  title: read.str(r, "title"),
  rules: read.str(r, "rules"),
  periodStart: read.str(r, "period_start") as Deadline.LocalDate,
  periodEnd: read.str(r, "period_end") as Deadline.LocalDate,
  applicationDeadline: read.str(r, "application_deadline") as Deadline.LocalDate,
  state: read.str(r, "state") as Reward.RoundState,
  openedBy: read.str(r, "opened_by") as Ids.AccountId,
  openedAt: read.ts(r, "opened_at"),
  closedBy: read.strOrNull(r, "closed_by") as Ids.AccountId | null,
  closedAt: read.tsOrNull(r, "closed_at"),
  version: read.int(r, "version")
})

const roundValues = (r: Reward.RewardRound): Array<unknown> => [
  r.id,
  r.title,
  r.rules,
  r.periodStart,
  r.periodEnd,
  r.applicationDeadline,
  r.state,
  r.openedBy,
  ts(r.openedAt),
  r.closedBy,
  tsOrNull(r.closedAt),
  r.version
]

const profileColumns = `member_id, ${selText("info")}, updated_by, ${selTs("updated_at")}, version`

const toProfile = (r: Row): Reward.InstitutionProfile => ({
  memberId: read.str(r, "member_id") as Ids.MemberId,
  info: read.json(r, "info") as Reward.ProfileSnapshot,
  updatedBy: read.str(r, "updated_by") as Ids.AccountId,
  updatedAt: read.ts(r, "updated_at"),
  version: read.int(r, "version")
})

const applicationColumns = `id, round_id, institution_id, state, ${selText("items")}, note, ${selText("profile")},
  ${selText("amount")}, rejection_reason, created_by, ${selTs("created_at")}, ${selTs("updated_at")},
  ${selTs("submitted_at")}, decided_by, ${selTs("decided_at")}, version`

const toApplication = (r: Row): Reward.RewardApplication => ({
  id: read.str(r, "id") as Reward.RewardApplicationId,
  roundId: read.str(r, "round_id") as Reward.RewardRoundId,
  institutionId: read.str(r, "institution_id") as Ids.MemberId,
  state: read.str(r, "state") as Reward.ApplicationState,
  items: read.json(r, "items") as ReadonlyArray<Reward.ApplicationItem>,
  note: read.strOrNull(r, "note"),
  profile: read.json(r, "profile") as Reward.ProfileSnapshot | null,
  amount: read.intOrNull(r, "amount") as Money.Fen | null,
  rejectionReason: read.strOrNull(r, "rejection_reason"),
  createdBy: read.str(r, "created_by") as Ids.AccountId,
  createdAt: read.ts(r, "created_at"),
  updatedAt: read.ts(r, "updated_at"),
  submittedAt: read.tsOrNull(r, "submitted_at"),
  decidedBy: read.strOrNull(r, "decided_by") as Ids.AccountId | null,
  decidedAt: read.tsOrNull(r, "decided_at"),
  version: read.int(r, "version")
})

const applicationValues = (a: Reward.RewardApplication): Array<unknown> => [
  a.id,
  a.roundId,
  a.institutionId,
  a.state,
  JSON.stringify(a.items),
  a.note,
  a.profile === null ? null : JSON.stringify(a.profile),
  a.amount,
  a.rejectionReason,
  a.createdBy,
  ts(a.createdAt),
  ts(a.updatedAt),
  tsOrNull(a.submittedAt),
  a.decidedBy,
  tsOrNull(a.decidedAt),
  a.version
]

/** @internal */
export const makeRewards = (db: Db): Context.Tag.Service<Persistence.RewardRepository> => {
  const round = db.t("reward_round")
  const profile = db.t("institution_profile")
  const application = db.t("reward_application")
  const oneRound = (rows: ReadonlyArray<Row>) => Option.map(Option.fromNullable(rows[0]), toRound)
  const oneApplication = (rows: ReadonlyArray<Row>) => Option.map(Option.fromNullable(rows[0]), toApplication)
  const none = "SELECT 1 WHERE false"

  return Persistence.RewardRepository.of({
    insertRound: (r) =>
      Effect.flatMap(
        db.write(
          "RewardRepository.insertRound",
          "reward_round",
          `INSERT INTO ${round} (id, title, rules, period_start, period_end, application_deadline, state, opened_by,
             opened_at, closed_by, closed_at, version)
           VALUES ($1, $2, $3, $4::date, $5::date, $6::date, $7, $8, $9::timestamptz, $10, $11::timestamptz, $12::int4)
           ON CONFLICT DO NOTHING RETURNING id`,
          roundValues(r)
        ),
        expectOne("reward_round", r.id)
      ),
    updateRound: (r) =>
      versioned(
        db,
        "RewardRepository.updateRound",
        "reward_round",
        r.id,
        {
          conflict: none,
          update: `UPDATE ${round} SET title = $2, rules = $3, period_start = $4::date, period_end = $5::date,
            application_deadline = $6::date, state = $7, opened_by = $8, opened_at = $9::timestamptz, closed_by = $10,
            closed_at = $11::timestamptz, version = $12::int4
            WHERE id = $1 AND version = $12::int4 - 1 AND NOT $CONFLICT RETURNING 1`
        },
        roundValues(r)
      ),
    findRound: (id) =>
      Effect.map(
        db.query("RewardRepository.findRound", `SELECT ${roundColumns} FROM ${round} WHERE id = $1`, [id]),
        oneRound
      ),
    findRoundForShare: (id) =>
      Effect.map(
        db.query(
          "RewardRepository.findRoundForShare",
          `SELECT ${roundColumns} FROM ${round} WHERE id = $1 FOR SHARE`,
          [id]
        ),
        oneRound
      ),
    findRoundForUpdate: (id) =>
      Effect.map(
        db.query(
          "RewardRepository.findRoundForUpdate",
          `SELECT ${roundColumns} FROM ${round} WHERE id = $1 FOR NO KEY UPDATE`,
          [id]
        ),
        oneRound
      ),
    listRounds: (q) => {
      const p = new Params()
      const where: Array<string> = []
      if (q.states !== undefined) {
        if (q.states.length === 0) return Effect.succeed([])
        where.push(`state = ANY(${p.add([...q.states])}::text[])`)
      }
      const cursor = after(p, "r.opened_at", "r.id", q.after, "ts", true)
      if (cursor === undefined) return Effect.succeed([])
      if (cursor !== null) where.push(cursor)
      return Effect.map(
        db.query(
          "RewardRepository.listRounds",
          `SELECT ${roundColumns} FROM ${round} r ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
           ORDER BY r.opened_at DESC, r.id DESC ${limit(p, q.limit)}`,
          p.values
        ),
        (rows) => rows.map(toRound)
      )
    },
    insertProfile: (x) =>
      Effect.flatMap(
        db.write(
          "RewardRepository.insertProfile",
          "institution_profile",
          `INSERT INTO ${profile} (member_id, info, updated_by, updated_at, version)
           VALUES ($1, $2::jsonb, $3, $4::timestamptz, $5::int4) ON CONFLICT DO NOTHING RETURNING member_id`,
          [x.memberId, JSON.stringify(x.info), x.updatedBy, ts(x.updatedAt), x.version]
        ),
        expectOne("institution_profile", x.memberId)
      ),
    updateProfile: (x) =>
      versioned(
        db,
        "RewardRepository.updateProfile",
        "institution_profile",
        x.memberId,
        {
          conflict: none,
          update: `UPDATE ${profile} SET info = $2::jsonb, updated_by = $3, updated_at = $4::timestamptz,
            version = $5::int4
            WHERE member_id = $1 AND version = $5::int4 - 1 AND NOT $CONFLICT RETURNING 1`
        },
        [x.memberId, JSON.stringify(x.info), x.updatedBy, ts(x.updatedAt), x.version]
      ),
    findProfile: (memberId) =>
      Effect.map(
        db.query(
          "RewardRepository.findProfile",
          `SELECT ${profileColumns} FROM ${profile} WHERE member_id = $1`,
          [memberId]
        ),
        (rows) => Option.map(Option.fromNullable(rows[0]), toProfile)
      ),
    insertApplication: (a) =>
      Effect.flatMap(
        db.write(
          "RewardRepository.insertApplication",
          "reward_application",
          `INSERT INTO ${application} (id, round_id, institution_id, state, items, note, profile, amount,
             rejection_reason, created_by, created_at, updated_at, submitted_at, decided_by, decided_at, version)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8::int8, $9, $10, $11::timestamptz, $12::timestamptz,
             $13::timestamptz, $14, $15::timestamptz, $16::int4)
           ON CONFLICT DO NOTHING RETURNING id`,
          applicationValues(a)
        ),
        expectOne("reward_application", `${a.roundId}/${a.institutionId}`)
      ),
    updateApplication: (a) =>
      versioned(
        db,
        "RewardRepository.updateApplication",
        "reward_application",
        a.id,
        {
          conflict: `SELECT 1 FROM ${application} WHERE round_id = $2 AND institution_id = $3 AND id <> $1`,
          update: `UPDATE ${application} SET round_id = $2, institution_id = $3, state = $4, items = $5::jsonb,
            note = $6, profile = $7::jsonb, amount = $8::int8, rejection_reason = $9, created_by = $10,
            created_at = $11::timestamptz, updated_at = $12::timestamptz, submitted_at = $13::timestamptz,
            decided_by = $14, decided_at = $15::timestamptz, version = $16::int4
            WHERE id = $1 AND version = $16::int4 - 1 AND NOT $CONFLICT RETURNING 1`
        },
        applicationValues(a)
      ),
    findApplication: (id) =>
      Effect.map(
        db.query(
          "RewardRepository.findApplication",
          `SELECT ${applicationColumns} FROM ${application} WHERE id = $1`,
          [id]
        ),
        oneApplication
      ),
    findApplicationForUpdate: (id) =>
      Effect.map(
        db.query(
          "RewardRepository.findApplicationForUpdate",
          `SELECT ${applicationColumns} FROM ${application} WHERE id = $1 FOR NO KEY UPDATE`,
          [id]
        ),
        oneApplication
      ),
    findApplicationOf: (roundId, institutionId) =>
      Effect.map(
        db.query(
          "RewardRepository.findApplicationOf",
          `SELECT ${applicationColumns} FROM ${application} WHERE round_id = $1 AND institution_id = $2`,
          [roundId, institutionId]
        ),
        oneApplication
      ),
    listApplications: (q) => {
      const p = new Params()
      const where = [
        q.scope._tag === "institution"
          ? `institution_id = ${p.add(q.scope.memberId)}`
          : `round_id = ${p.add(q.scope.roundId)}`
      ]
      if (q.states !== undefined) {
        if (q.states.length === 0) return Effect.succeed([])
        where.push(`state = ANY(${p.add([...q.states])}::text[])`)
      }
      const cursor = after(p, "a.created_at", "a.id", q.after, "ts", true)
      if (cursor === undefined) return Effect.succeed([])
      if (cursor !== null) where.push(cursor)
      return Effect.map(
        db.query(
          "RewardRepository.listApplications",
          `SELECT ${applicationColumns} FROM ${application} a WHERE ${where.join(" AND ")}
           ORDER BY a.created_at DESC, a.id DESC ${limit(p, q.limit)}`,
          p.values
        ),
        (rows) => rows.map(toApplication)
      )
    }
  })
}
