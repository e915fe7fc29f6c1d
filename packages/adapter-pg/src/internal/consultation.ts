import { type Consultation, type Deadline, type Ids, Persistence, type ServiceLog } from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { after, type Db, limit, Params, type Row, read, selArray, selDate, selTs, ts } from "./db.js"
import { expectOne, expectUpdated } from "./writes.js"

const threadColumns = `id, demand_id, demand_publisher_id, responder_id, message_count, ${selTs("created_at")},
  ${selTs("last_message_at")}`

const toThread = (r: Row): Consultation.Thread => ({
  id: read.str(r, "id") as Ids.ThreadId,
  demandId: read.str(r, "demand_id") as Ids.DemandId,
  demandPublisherId: read.str(r, "demand_publisher_id") as Ids.MemberId,
  responderId: read.str(r, "responder_id") as Ids.MemberId,
  messageCount: read.int(r, "message_count"),
  createdAt: read.ts(r, "created_at"),
  lastMessageAt: read.ts(r, "last_message_at")
})

const messageColumns = `id, thread_id, seq, author_account_id, side, text, ${selTs("at")}`

const toMessage = (r: Row): Consultation.Message => ({
  id: read.str(r, "id") as Ids.MessageId,
  threadId: read.str(r, "thread_id") as Ids.ThreadId,
  seq: read.int(r, "seq"),
  authorAccountId: read.str(r, "author_account_id") as Ids.AccountId,
  side: read.str(r, "side") as Consultation.Message["side"],
  text: read.str(r, "text"),
  at: read.ts(r, "at")
})

/** @internal */
export const makeConsultations = (db: Db): Context.Tag.Service<Persistence.ConsultationRepository> => {
  const thread = db.t("thread")
  const message = db.t("message")
  const oneThread = (rows: ReadonlyArray<Row>) => Option.map(Option.fromNullable(rows[0]), toThread)
  const findThread = (operation: string, lock: boolean) => (id: Ids.ThreadId) =>
    Effect.map(
      db.query(
        operation,
        `SELECT ${threadColumns} FROM ${thread} WHERE id = $1${lock ? " FOR UPDATE" : ""}`,
        [id]
      ),
      oneThread
    )
  return Persistence.ConsultationRepository.of({
    insertThread: (t) =>
      Effect.flatMap(
        db.write(
          "ConsultationRepository.insertThread",
          "thread",
          `INSERT INTO ${thread} (id, demand_id, demand_publisher_id, responder_id, message_count, created_at,
             last_message_at)
           VALUES ($1, $2, $3, $4, $5::int4, $6::timestamptz, $7::timestamptz)
           ON CONFLICT DO NOTHING RETURNING id`,
          [
            t.id,
            t.demandId,
            t.demandPublisherId,
            t.responderId,
            t.messageCount,
            ts(t.createdAt),
            ts(t.lastMessageAt)
          ]
        ),
        expectOne("thread", `${t.demandId}/${t.responderId}`)
      ),
    updateThread: (t) =>
      Effect.flatMap(
        db.write(
          "ConsultationRepository.updateThread",
          "thread",
          `UPDATE ${thread} SET demand_id = $2, demand_publisher_id = $3, responder_id = $4, message_count = $5::int4,
             created_at = $6::timestamptz, last_message_at = $7::timestamptz
           WHERE id = $1 RETURNING id`,
          [
            t.id,
            t.demandId,
            t.demandPublisherId,
            t.responderId,
            t.messageCount,
            ts(t.createdAt),
            ts(t.lastMessageAt)
          ]
        ),
        expectUpdated("thread", t.id)
      ),
    findThreadById: findThread("ConsultationRepository.findThreadById", false),
    findThreadForUpdate: findThread("ConsultationRepository.findThreadForUpdate", true),
    findThread: (demandId, responderId) =>
      Effect.map(
        db.query(
          "ConsultationRepository.findThread",
          `SELECT ${threadColumns} FROM ${thread} WHERE demand_id = $1 AND responder_id = $2`,
          [demandId, responderId]
        ),
        oneThread
      ),
    listThreads: (q) => {
      const p = new Params()
      const where: Array<string> = []
      if (q.demandId !== undefined) where.push(`demand_id = ${p.add(q.demandId)}`)
      if (q.responderId !== undefined) where.push(`responder_id = ${p.add(q.responderId)}`)
      const cursor = after(p, "t.last_message_at", "t.id", q.after, "ts", true)
      if (cursor === undefined) return Effect.succeed([])
      if (cursor !== null) where.push(cursor)
      return Effect.map(
        db.query(
          "ConsultationRepository.listThreads",
          `SELECT ${threadColumns} FROM ${thread} t ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`}
           ORDER BY t.last_message_at DESC, t.id DESC ${limit(p, q.limit)}`,
          p.values
        ),
        (rows) => rows.map(toThread)
      )
    },
    appendMessage: (m) =>
      Effect.flatMap(
        db.write(
          "ConsultationRepository.appendMessage",
          "message",
          `INSERT INTO ${message} (id, thread_id, seq, author_account_id, side, text, at)
           VALUES ($1, $2, $3::int4, $4, $5, $6, $7::timestamptz) ON CONFLICT DO NOTHING RETURNING id`,
          [m.id, m.threadId, m.seq, m.authorAccountId, m.side, m.text, ts(m.at)]
        ),
        expectOne("message", `${m.threadId}/${m.seq}`)
      ),
    listMessages: (threadId, afterSeq, count) =>
      Effect.map(
        db.query(
          "ConsultationRepository.listMessages",
          `SELECT ${messageColumns} FROM ${message} WHERE thread_id = $1 AND seq > $2::int4
           ORDER BY seq LIMIT $3`,
          [threadId, afterSeq, Math.max(0, Math.floor(count))]
        ),
        (rows) => rows.map(toMessage)
      )
  })
}

const entryColumns = `id, demand_id, seq, ${selDate("date")}, text, ${selArray("attachments")}, author_account_id,
  ${selTs("at")}`

const toEntry = (r: Row): ServiceLog.Entry => ({
  id: read.str(r, "id") as Ids.ServiceLogEntryId,
  demandId: read.str(r, "demand_id") as Ids.DemandId,
  seq: read.int(r, "seq"),
  date: read.str(r, "date") as Deadline.LocalDate,
  text: read.str(r, "text"),
  attachments: read.strings(r, "attachments") as ReadonlyArray<Ids.FileId>,
  authorAccountId: read.str(r, "author_account_id") as Ids.AccountId,
  at: read.ts(r, "at")
})

/** @internal */
export const makeServiceLog = (db: Db): Context.Tag.Service<Persistence.ServiceLogRepository> => {
  const entry = db.t("service_log_entry")
  return Persistence.ServiceLogRepository.of({
    append: (e) =>
      Effect.flatMap(
        db.write(
          "ServiceLogRepository.append",
          "service_log",
          `INSERT INTO ${entry} (id, demand_id, seq, date, text, attachments, author_account_id, at)
           VALUES ($1, $2, $3::int4, $4::date, $5, $6::text[], $7, $8::timestamptz)
           ON CONFLICT DO NOTHING RETURNING id`,
          [e.id, e.demandId, e.seq, e.date, e.text, [...e.attachments], e.authorAccountId, ts(e.at)]
        ),
        expectOne("service_log", `${e.demandId}/${e.seq}`)
      ),
    lastSeq: (demandId) =>
      Effect.map(
        db.query(
          "ServiceLogRepository.lastSeq",
          `SELECT coalesce(max(seq), 0) AS seq FROM ${entry} WHERE demand_id = $1`,
          [demandId]
        ),
        (rows) => Number(rows[0]?.seq ?? 0)
      ),
    list: (demandId, afterSeq, count) =>
      Effect.map(
        db.query(
          "ServiceLogRepository.list",
          `SELECT ${entryColumns} FROM ${entry} WHERE demand_id = $1 AND seq > $2::int4 ORDER BY seq LIMIT $3`,
          [demandId, afterSeq, Math.max(0, Math.floor(count))]
        ),
        (rows) => rows.map(toEntry)
      )
  })
}
