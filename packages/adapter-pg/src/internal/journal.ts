import { Errors, Persistence } from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { type Db, ownTransaction, Params, ts } from "./db.js"
import { sharedWith } from "./records.js"
import { abortUnit, currentAbortable } from "./prepared.js"

/** Parts of an entry of at most this many rows are written with one parameter per value. */
const exactRows = 1
/** The count that stands for any part of more than {@link exactRows} rows. */
const many = exactRows + 1

/**
 * @internal
 * The journal of a command in one statement: data-modifying CTEs insert its audit
 * events (and their member rows), its outbox messages (an account's phone joined
 * in: an inactive account's member's first active account stands in for it, an
 * account that does not exist is skipped) and its idempotency record, each with
 * `ON CONFLICT DO NOTHING`; a taken event id or idempotency key is then a
 * `UniqueViolation` (counted from what was inserted) without aborting the
 * transaction. Only the parts the entry has are in the statement.
 */
export const makeJournal = (db: Db): Context.Tag.Service<Persistence.Journal> => {
  const audit = db.t("audit_event")
  const auditMember = db.t("audit_event_member")
  const outbox = db.t("outbox_message")
  const account = db.t("account")
  const record = db.t("idempotency_record")

  /**
   * The statement of an entry with `events` audit events and `messages` outbox
   * messages (0: the part is left out; `many`: more than {@link exactRows}) and,
   * with `hasRecord`, an idempotency record. A part of at most `exactRows` rows
   * has one parameter per value, each column an `ARRAY[$1, …]`; a larger part has
   * one array parameter per column. PostgreSQL estimates `unnest` of an array
   * parameter at 10 rows, so the generic plan of a statement of array parameters
   * looks ten times dearer than a custom plan of its one row and is never chosen:
   * the journal, the largest statement of most commands, was planned again at
   * every execution. An `ARRAY[…]` of parameters has its length known when the
   * statement is prepared, and the generic plan is kept (planned once per
   * connection). Larger parts (such as the sweeper's notices) keep one text for
   * any number of rows, planned at every execution, so that the journal has at
   * most 17 texts (3 × 3 shapes of its parts, with or without the record, but the
   * empty entry) among the pool's named statements.
   */
  const statement = (events: number, messages: number, hasRecord: boolean): string => {
    const p = new Params()
    const parts: Array<string> = []
    const counts: Array<string> = []
    const columns = (rows: number, casts: ReadonlyArray<string>) =>
      casts
        .map((cast) =>
          rows === many
            ? `${p.add(null)}::${cast}[]`
            : `ARRAY[${Array.from({ length: rows }, () => p.add(null)).join(", ")}]::${cast}[]`
        )
        .join(", ")
    if (events > 0) {
      parts.push(
        `e AS (
           INSERT INTO ${audit} (id, at, actor_account_id, actor_member_id, on_behalf_of, entity, entity_id,
             demand_id, members, action, before, after, reason)
           SELECT id, at, actor_account_id, actor_member_id, on_behalf_of, entity, entity_id, demand_id,
             ARRAY(SELECT json_array_elements_text(members::json)), action, before, after, reason
           FROM unnest(${columns(events, ["text", "timestamptz", ...Array<string>(11).fill("text")])})
             AS x (id, at, actor_account_id, actor_member_id, on_behalf_of, entity, entity_id, demand_id,
               members, action, before, after, reason)
           ON CONFLICT DO NOTHING RETURNING id, at, members, entity, on_behalf_of)`,
        `m AS (
           INSERT INTO ${auditMember} (member_id, at, event_id, shared)
           SELECT DISTINCT x, e.at, e.id, ${sharedWith("e", "x")} FROM e, unnest(e.members) AS x)`
      )
      counts.push("(SELECT count(*) FROM e)::int AS events")
    }
    if (messages > 0) {
      parts.push(
        `o AS (
           INSERT INTO ${outbox} (id, event, dedupe_key, recipient_phone, template_id, params, created_at,
             status, attempts, unknown_outcomes, next_attempt_at)
           SELECT n.id, n.event, n.dedupe_key || coalesce(a.phone, ''), coalesce(a.phone, n.recipient_phone),
             n.template_id, n.params::jsonb, n.created_at, 'pending', 0, 0, n.created_at
           FROM unnest(${columns(messages, [...Array<string>(7).fill("text"), "timestamptz"])})
             WITH ORDINALITY AS n (id, event, dedupe_key, recipient_phone, account_id, template_id, params,
               created_at, k)
             LEFT JOIN LATERAL (
               (SELECT x.phone FROM ${account} x WHERE x.id = n.account_id AND x.active)
               UNION ALL
               (SELECT y.phone FROM ${account} x JOIN ${account} y ON y.member_id = x.member_id AND y.active
                WHERE x.id = n.account_id AND NOT x.active ORDER BY y.created_at, y.id LIMIT 1)
               LIMIT 1) a ON true
           WHERE n.account_id IS NULL OR a.phone IS NOT NULL
           ORDER BY n.k
           ON CONFLICT (dedupe_key) DO NOTHING)`
      )
    }
    if (hasRecord) {
      parts.push(
        `i AS (
           INSERT INTO ${record} (account_id, key, fingerprint, result, created_at)
           VALUES (${p.add(null)}, ${p.add(null)}, ${p.add(null)}, ${p.add(null)}::json, ${p.add(null)}::timestamptz)
           ON CONFLICT DO NOTHING RETURNING key)`
      )
      counts.push("(SELECT count(*) FROM i)::int AS records")
    }
    return `WITH ${parts.join(",\n")}
      SELECT ${counts.length === 0 ? "0 AS none" : counts.join(", ")}`
  }
  /** Texts by shape: `(events × (many + 1) + messages) × 2 + record`, each count capped at `many`. */
  const statements = new Map<number, string>()

  return Persistence.Journal.of({
    write: ({ events, messages, accountMessages, idempotency }) => {
      const messageCount = messages.length + accountMessages.length
      if (events.length === 0 && messageCount === 0 && idempotency === null) return Effect.void
      const eventRows = Math.min(events.length, many)
      const messageRows = Math.min(messageCount, many)
      const shape = (eventRows * (many + 1) + messageRows) * 2 + (idempotency !== null ? 1 : 0)
      let text = statements.get(shape)
      if (text === undefined) {
        text = statement(eventRows, messageRows, idempotency !== null)
        statements.set(shape, text)
      }
      const values: Array<unknown> = []
      /** A column: its values one by one (`exactRows` or fewer rows), or as one array. */
      const column = (rows: number, xs: ReadonlyArray<unknown>) => {
        if (rows === many) values.push(xs)
        else values.push(...xs)
      }
      if (events.length > 0) {
        const c = (xs: ReadonlyArray<unknown>) => column(eventRows, xs)
        c(events.map((e) => e.id))
        c(events.map((e) => ts(e.at)))
        c(events.map((e) => e.actorAccountId))
        c(events.map((e) => e.actorMemberId))
        c(events.map((e) => e.onBehalfOf))
        c(events.map((e) => e.entity))
        c(events.map((e) => e.entityId))
        c(events.map((e) => e.demandId))
        c(events.map((e) => JSON.stringify(e.members)))
        c(events.map((e) => e.action))
        c(events.map((e) => e.before))
        c(events.map((e) => e.after))
        c(events.map((e) => e.reason))
      }
      if (messageCount > 0) {
        const all = [
          ...messages.map((m) => ({ ...m, accountId: null })),
          ...accountMessages.map((m) => ({
            ...m.message,
            dedupeKey: m.dedupeKeyPrefix,
            recipientPhone: null,
            accountId: m.accountId
          }))
        ]
        const c = (xs: ReadonlyArray<unknown>) => column(messageRows, xs)
        c(all.map((m) => m.id))
        c(all.map((m) => m.event))
        c(all.map((m) => m.dedupeKey))
        c(all.map((m) => m.recipientPhone))
        c(all.map((m) => m.accountId))
        c(all.map((m) => m.templateId))
        c(all.map((m) => JSON.stringify(m.params)))
        c(all.map((m) => ts(m.createdAt)))
      }
      if (idempotency !== null) {
        values.push(
          idempotency.accountId,
          idempotency.key,
          idempotency.fingerprint,
          idempotency.result === undefined ? null : JSON.stringify(idempotency.result),
          ts(idempotency.createdAt)
        )
      }
      const written = Effect.flatMap(
        db.write("Journal.write", "journal", text, values),
        (rows): Effect.Effect<void, Errors.UniqueViolation> => {
          const row = rows[0] ?? {}
          // The statement wrote the rest of the entry: the unit of work may not commit
          // it (it fails before its COMMIT, even if it catches this and goes on).
          if (events.length > 0 && Number(row.events) !== events.length) {
            return Effect.zipRight(
              abortUnit,
              Effect.fail(new Errors.UniqueViolation({ entity: "audit", key: "audit_event_pkey" }))
            )
          }
          if (idempotency !== null && Number(row.records) !== 1) {
            return Effect.zipRight(
              abortUnit,
              Effect.fail(new Errors.UniqueViolation({ entity: "idempotency", key: idempotency.key }))
            )
          }
          return Effect.void
        }
      )
      /*
       * Outside the adapter's unit of work (no transaction, or a host's own) nothing
       * would undo the rest of a refused entry: the statement runs in a transaction of
       * its own (a savepoint inside the host's), which the refusal rolls back.
       */
      return FiberRef.getWith(currentAbortable, (unit) =>
        unit !== undefined ? written : ownTransaction(db, "Journal.write", written)
      )
    }
  })
}
