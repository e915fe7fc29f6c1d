import { Errors, Persistence } from "@zhongbao/core"
import { type Context, Effect } from "effect"
import { type Db, Params, ts } from "./db.js"

/**
 * @internal
 * The journal of a command in one statement: data-modifying CTEs insert its audit
 * events (and their member rows), its outbox messages (an account's phone joined
 * in, an account that does not exist skipped) and its idempotency record, each with
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

  return Persistence.Journal.of({
    write: (entry) => {
      const p = new Params()
      const parts: Array<string> = []
      const counts: Array<string> = []
      const { events, messages, accountMessages, idempotency } = entry
      if (events.length > 0) {
        const column = <A>(f: (e: (typeof events)[number]) => A) => p.add(events.map(f))
        parts.push(
          `e AS (
             INSERT INTO ${audit} (id, at, actor_account_id, actor_member_id, on_behalf_of, entity, entity_id,
               demand_id, members, action, before, after, reason)
             SELECT id, at, actor_account_id, actor_member_id, on_behalf_of, entity, entity_id, demand_id,
               ARRAY(SELECT json_array_elements_text(members::json)), action, before, after, reason
             FROM unnest(${column((e) => e.id)}::text[], ${column((e) => ts(e.at))}::timestamptz[],
               ${column((e) => e.actorAccountId)}::text[], ${column((e) => e.actorMemberId)}::text[],
               ${column((e) => e.onBehalfOf)}::text[], ${column((e) => e.entity)}::text[],
               ${column((e) => e.entityId)}::text[], ${column((e) => e.demandId)}::text[],
               ${column((e) => JSON.stringify(e.members))}::text[], ${column((e) => e.action)}::text[],
               ${column((e) => e.before)}::text[], ${column((e) => e.after)}::text[],
               ${column((e) => e.reason)}::text[])
               AS x (id, at, actor_account_id, actor_member_id, on_behalf_of, entity, entity_id, demand_id,
                 members, action, before, after, reason)
             ON CONFLICT DO NOTHING RETURNING id, at, members)`,
          `m AS (
             INSERT INTO ${auditMember} (member_id, at, event_id)
             SELECT DISTINCT x, e.at, e.id FROM e, unnest(e.members) AS x)`
        )
        counts.push("(SELECT count(*) FROM e)::int AS events")
      }
      const all = [
        ...messages.map((m) => ({ ...m, accountId: null })),
        ...accountMessages.map((m) => ({
          ...m.message,
          dedupeKey: m.dedupeKeyPrefix,
          recipientPhone: null,
          accountId: m.accountId
        }))
      ]
      if (all.length > 0) {
        const column = <A>(f: (m: (typeof all)[number]) => A) => p.add(all.map(f))
        parts.push(
          `o AS (
             INSERT INTO ${outbox} (id, event, dedupe_key, recipient_phone, template_id, params, created_at,
               status, attempts, unknown_outcomes, next_attempt_at)
             SELECT n.id, n.event, n.dedupe_key || coalesce(a.phone, ''), coalesce(a.phone, n.recipient_phone),
               n.template_id, n.params::jsonb, n.created_at, 'pending', 0, 0, n.created_at
             FROM unnest(${column((m) => m.id)}::text[], ${column((m) => m.event)}::text[],
               ${column((m) => m.dedupeKey)}::text[], ${column((m) => m.recipientPhone)}::text[],
               ${column((m) => m.accountId)}::text[], ${column((m) => m.templateId)}::text[],
               ${column((m) => JSON.stringify(m.params))}::text[], ${column((m) => ts(m.createdAt))}::timestamptz[])
               WITH ORDINALITY AS n (id, event, dedupe_key, recipient_phone, account_id, template_id, params,
                 created_at, k)
               LEFT JOIN ${account} a ON a.id = n.account_id
             WHERE n.account_id IS NULL OR a.id IS NOT NULL
             ORDER BY n.k
             ON CONFLICT (dedupe_key) DO NOTHING)`
        )
      }
      if (idempotency !== null) {
        parts.push(
          `i AS (
             INSERT INTO ${record} (account_id, key, fingerprint, result, created_at)
             VALUES (${p.add(idempotency.accountId)}, ${p.add(idempotency.key)}, ${p.add(idempotency.fingerprint)},
               ${p.add(idempotency.result === undefined ? null : JSON.stringify(idempotency.result))}::json,
               ${p.add(ts(idempotency.createdAt))}::timestamptz)
             ON CONFLICT DO NOTHING RETURNING key)`
        )
        counts.push("(SELECT count(*) FROM i)::int AS records")
      }
      if (parts.length === 0) return Effect.void
      return Effect.flatMap(
        db.write(
          "Journal.write",
          "journal",
          `WITH ${parts.join(",\n")}
           SELECT ${counts.length === 0 ? "0 AS none" : counts.join(", ")}`,
          p.values
        ),
        (rows): Effect.Effect<void, Errors.UniqueViolation> => {
          const row = rows[0] ?? {}
          if (events.length > 0 && Number(row.events) !== events.length) {
            return Effect.fail(new Errors.UniqueViolation({ entity: "audit", key: "audit_event_pkey" }))
          }
          if (idempotency !== null && Number(row.records) !== 1) {
            return Effect.fail(new Errors.UniqueViolation({ entity: "idempotency", key: idempotency.key }))
          }
          return Effect.void
        }
      )
    }
  })
}
