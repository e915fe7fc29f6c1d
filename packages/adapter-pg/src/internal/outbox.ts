import { type Ids, type Notification, Persistence } from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { after, type Db, limit, ownTransaction, Params, type Row, read, selText, selTs, ts } from "./db.js"

const columns = (a: string) =>
  [
    `${a}.id`,
    `${a}.event`,
    `${a}.dedupe_key`,
    `${a}.recipient_phone`,
    `${a}.template_id`,
    selText(`${a}.params`),
    selTs(`${a}.created_at`),
    `${a}.status`,
    `${a}.attempts`,
    `${a}.unknown_outcomes`,
    selTs(`${a}.next_attempt_at`),
    `${a}.lease_owner`,
    selTs(`${a}.lease_until`),
    `${a}.last_error`,
    `${a}.last_code`,
    `${a}.provider_message_id`,
    selTs(`${a}.sent_at`),
    selTs(`${a}.dead_at`)
  ].join(", ")

const toMessage = (r: Row): Notification.OutboxMessage => ({
  id: read.str(r, "id") as Ids.OutboxMessageId,
  event: read.str(r, "event") as Notification.OutboxMessage["event"],
  dedupeKey: read.str(r, "dedupe_key"),
  recipientPhone: read.str(r, "recipient_phone"),
  templateId: read.str(r, "template_id"),
  params: read.json(r, "params") as Record<string, string>,
  createdAt: read.ts(r, "created_at")
})

const toTracked = (r: Row): Notification.Tracked => ({
  message: toMessage(r),
  delivery: {
    messageId: read.str(r, "id") as Ids.OutboxMessageId,
    status: read.str(r, "status") as Notification.DeliveryStatus,
    attempts: read.int(r, "attempts"),
    unknownOutcomes: read.int(r, "unknown_outcomes"),
    nextAttemptAt: read.ts(r, "next_attempt_at"),
    leaseOwner: read.strOrNull(r, "lease_owner"),
    leaseUntil: read.tsOrNull(r, "lease_until"),
    lastError: read.strOrNull(r, "last_error"),
    lastCode: read.strOrNull(r, "last_code"),
    providerMessageId: read.strOrNull(r, "provider_message_id"),
    sentAt: read.tsOrNull(r, "sent_at"),
    deadAt: read.tsOrNull(r, "dead_at")
  }
})

/**
 * The `SET` list of a settlement by the lease's holder (the statements update only
 * rows it holds): the attempt counted (but one the holder did not attempt), the
 * result recorded, the lease released. `v` are the expressions of the status, the
 * unknown outcome, the next attempt, the error, its code, the instant, the provider's
 * id and whether the holder attempted the send.
 */
const settlement = (v: readonly [string, string, string, string, string, string, string, string]) => {
  const [status, unknown, nextAttemptAt, error, code, at, providerMessageId, attempted] = v
  return `attempts = o.attempts + CASE WHEN ${attempted} THEN 1 ELSE 0 END,
    unknown_outcomes = o.unknown_outcomes + CASE WHEN ${unknown} THEN 1 ELSE 0 END,
    status = ${status},
    lease_owner = NULL,
    lease_until = NULL,
    next_attempt_at = CASE WHEN ${status} = 'pending' THEN ${nextAttemptAt} ELSE o.next_attempt_at END,
    last_error = ${error},
    last_code = ${code},
    sent_at = CASE WHEN ${status} = 'sent' THEN ${at} ELSE o.sent_at END,
    provider_message_id = CASE WHEN ${status} = 'sent' THEN ${providerMessageId} ELSE o.provider_message_id END,
    dead_at = CASE WHEN ${status} = 'dead' THEN ${at} ELSE o.dead_at END`
}

/** The values {@link settlement} reads, in its order. */
const settlementValues = (s: Notification.Settlement): Array<unknown> =>
  s._tag === "Sent"
    ? ["sent", s.unknownOutcome, null, null, null, ts(s.at), s.providerMessageId, true]
    : s._tag === "Retry"
      ? [
          "pending",
          s.unknownOutcome,
          ts(s.nextAttemptAt),
          s.error,
          s.code ?? null,
          null,
          null,
          s.attempted !== false
        ]
      : ["dead", s.unknownOutcome, null, s.error, s.code ?? null, ts(s.at), null, s.attempted !== false]

/**
 * @internal
 * The outbox (R64): one row per message with its delivery state. Claims lease the
 * due rows with `FOR UPDATE SKIP LOCKED`, so concurrent dispatchers never wait for
 * each other nor take the same row, and count the attempt of a lease that expired
 * unreleased; settlements are one update of the rows their owner holds, for one
 * message or (`settleMany`) for many, their rows locked in id order.
 */
export const makeOutbox = (db: Db): Context.Tag.Service<Persistence.Outbox> => {
  const outbox = db.t("outbox_message")
  const all = columns("o")
  const due = "greatest(o.next_attempt_at, o.lease_until)"

  const settle: Context.Tag.Service<Persistence.Outbox>["settle"] = (id, owner, s) =>
    Effect.map(
      db.query(
        "Outbox.settle",
        `WITH current AS (
           SELECT id, (status = 'pending' AND lease_owner = $2) AS held FROM ${outbox} WHERE id = $1 FOR UPDATE),
         settled AS (
           UPDATE ${outbox} o SET ${settlement(["$3", "$4::bool", "$5::timestamptz", "$6", "$7", "$8::timestamptz", "$9", "$10::bool"])}
           FROM current c WHERE o.id = c.id AND c.held
           RETURNING c.held)
         SELECT held FROM settled`,
        [id, owner, ...settlementValues(s)]
      ),
      (rows) => rows[0]?.held === true
    )

  return Persistence.Outbox.of({
    enqueue: (messages) =>
      messages.length === 0
        ? Effect.void
        : Effect.asVoid(
            db.write(
              "Outbox.enqueue",
              "outbox",
              `INSERT INTO ${outbox} (id, event, dedupe_key, recipient_phone, template_id, params, created_at,
                 status, attempts, unknown_outcomes, next_attempt_at)
               SELECT id, event, dedupe_key, recipient_phone, template_id, params::jsonb, created_at, 'pending', 0, 0,
                 created_at
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
                 WITH ORDINALITY AS m (id, event, dedupe_key, recipient_phone, template_id, params, created_at, n)
               ORDER BY n
               ON CONFLICT (dedupe_key) DO NOTHING`,
              [
                messages.map((m) => m.id),
                messages.map((m) => m.event),
                messages.map((m) => m.dedupeKey),
                messages.map((m) => m.recipientPhone),
                messages.map((m) => m.templateId),
                messages.map((m) => JSON.stringify(m.params)),
                messages.map((m) => ts(m.createdAt))
              ]
            )
          ),
    list: (range) => {
      const p = new Params()
      const cursor = after(p, "o.created_at", "o.id", range.after, "ts", false)
      if (cursor === undefined) return Effect.succeed([])
      return Effect.map(
        db.query(
          "Outbox.list",
          `SELECT ${all} FROM ${outbox} o ${cursor === null ? "" : `WHERE ${cursor}`}
           ORDER BY o.created_at, o.id ${limit(p, range.limit)}`,
          p.values
        ),
        (rows) => rows.map(toMessage)
      )
    },
    claim: ({ leaseMillis, limit: count, now, owner }) =>
      count <= 0
        ? Effect.succeed([])
        : Effect.map(
            db.query(
              "Outbox.claim",
              `WITH due AS (
                 SELECT o.id, ${due} AS available_at FROM ${outbox} o
                 WHERE o.status = 'pending' AND ${due} <= $1::timestamptz
                 ORDER BY ${due}, o.id
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED),
               claimed AS (
                 UPDATE ${outbox} o SET lease_owner = $3, lease_until = $4::timestamptz,
                   attempts = o.attempts + CASE WHEN o.lease_owner IS NULL THEN 0 ELSE 1 END,
                   unknown_outcomes = o.unknown_outcomes + CASE WHEN o.lease_owner IS NULL THEN 0 ELSE 1 END
                 FROM due WHERE o.id = due.id
                 RETURNING ${all}, due.available_at)
               SELECT * FROM claimed ORDER BY available_at, id`,
              [ts(now), Math.floor(count), owner, ts(DateTime.add(now, { millis: leaseMillis }))]
            ),
            (rows) => rows.map(toTracked)
          ),
    settle,
    settleMany: (owner, entries) => {
      if (entries.length === 0) return Effect.succeed([])
      if (new Set(entries.map((e) => e.id)).size < entries.length) {
        return ownTransaction(
          db,
          "Outbox.settleMany",
          Effect.forEach(entries, (e) => settle(e.id, owner, e.settlement))
        )
      }
      const values = entries.map((e) => settlementValues(e.settlement))
      return Effect.map(
        db.query(
          "Outbox.settleMany",
          `WITH s AS (
             SELECT * FROM unnest($2::text[], $3::text[], $4::bool[], $5::timestamptz[], $6::text[], $7::text[],
               $8::timestamptz[], $9::text[], $10::bool[]) WITH ORDINALITY
               AS s (id, status, unknown_outcome, next_attempt_at, error, code, at, provider_message_id, attempted, n)),
           current AS (
             SELECT o.id, (o.status = 'pending' AND o.lease_owner = $1) AS held FROM ${outbox} o
             WHERE o.id = ANY($2::text[]) ORDER BY o.id FOR UPDATE),
           settled AS (
             UPDATE ${outbox} o SET ${settlement(["s.status", "s.unknown_outcome", "s.next_attempt_at", "s.error", "s.code", "s.at", "s.provider_message_id", "s.attempted"])}
             FROM current c JOIN s ON s.id = c.id WHERE o.id = c.id AND c.held
             RETURNING o.id, c.held)
           SELECT coalesce(settled.held, false) AS held FROM s LEFT JOIN settled ON settled.id = s.id ORDER BY s.n`,
          [owner, entries.map((e) => e.id), ...values[0]!.map((_, k) => values.map((v) => v[k]))]
        ),
        (rows) => rows.map((r) => r.held === true)
      )
    },
    find: (id) =>
      Effect.map(db.query("Outbox.find", `SELECT ${all} FROM ${outbox} o WHERE o.id = $1`, [id]), (rows) =>
        Option.map(Option.fromNullable(rows[0]), toTracked)
      ),
    listDead: (query) => {
      const p = new Params()
      const cursor = after(p, "o.created_at", "o.id", query.after, "ts", false)
      if (cursor === undefined) return Effect.succeed([])
      const code = query.code === undefined ? "" : `AND o.last_code = ${p.add(query.code)}`
      return Effect.map(
        db.query(
          "Outbox.listDead",
          `SELECT ${all} FROM ${outbox} o WHERE o.status = 'dead' ${code} ${cursor === null ? "" : `AND ${cursor}`}
           ORDER BY o.created_at, o.id ${limit(p, query.limit)}`,
          p.values
        ),
        (rows) => rows.map(toTracked)
      )
    },
    summary: (now) =>
      Effect.map(
        db.query(
          "Outbox.summary",
          `SELECT true AS pending, NULL::text AS code, count(*)::text AS n,
             count(*) FILTER (WHERE ${due} <= $1::timestamptz)::text AS due,
             ${selTs(`min(${due}) FILTER (WHERE ${due} <= $1::timestamptz)`, "oldest_due_at")}
           FROM ${outbox} o WHERE o.status = 'pending'
           UNION ALL
           SELECT false, o.last_code, count(*)::text, NULL, NULL FROM ${outbox} o WHERE o.status = 'dead'
           GROUP BY o.last_code`,
          [ts(now)]
        ),
        (rows): Notification.OutboxSummary => {
          const waiting = rows.find((r) => r.pending === true)!
          const dead = rows.filter((r) => r.pending !== true)
          return {
            pending: read.int(waiting, "n"),
            due: read.int(waiting, "due"),
            oldestDueAt: read.tsOrNull(waiting, "oldest_due_at"),
            dead: dead.reduce((sum, r) => sum + read.int(r, "n"), 0),
            deadByCode: dead.map((r) => ({ code: read.strOrNull(r, "code"), count: read.int(r, "n") }))
          }
        }
      ),
    requeue: (id, now) =>
      Effect.map(
        db.query(
          "Outbox.requeue",
          `UPDATE ${outbox} SET status = 'pending', attempts = 0, next_attempt_at = $2::timestamptz, dead_at = NULL
           WHERE id = $1 AND status = 'dead' RETURNING id`,
          [id, ts(now)]
        ),
        (rows) => rows.length > 0
      ),
    // The oldest settled first, by the partial indexes of migration 14; the outer
    // condition is checked again on each row once it is locked, so a dead letter
    // re-queued meanwhile is kept.
    purge: (before, limit) => {
      const batch = Math.floor(limit)
      if (!(batch > 0)) return Effect.succeed(0)
      return Effect.map(
        db.query(
          "Outbox.purge",
          `WITH doomed AS (
             SELECT id FROM (
               (SELECT id, sent_at AS at FROM ${outbox} WHERE status = 'sent' AND sent_at < $1::timestamptz
                ORDER BY sent_at, id LIMIT $2::int)
               UNION ALL
               (SELECT id, dead_at FROM ${outbox} WHERE status = 'dead' AND dead_at < $1::timestamptz
                ORDER BY dead_at, id LIMIT $2::int)
             ) settled ORDER BY at, id LIMIT $2::int
           ), deleted AS (
             DELETE FROM ${outbox} o USING doomed WHERE o.id = doomed.id
               AND ((o.status = 'sent' AND o.sent_at < $1::timestamptz)
                 OR (o.status = 'dead' AND o.dead_at < $1::timestamptz))
             RETURNING 1
           )
           SELECT count(*)::text AS n FROM deleted`,
          [ts(before), batch]
        ),
        (rows) => read.int(rows[0]!, "n")
      )
    }
  })
}
