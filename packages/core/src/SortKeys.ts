/**
 * The sort keys of every list: each list is ordered by its key, the id last, so the
 * order is total. Instants are epoch milliseconds. Adapters order and compare by
 * the same keys; cursors carry them, each tied to its order by its scope (`scopes`,
 * `demandScope`).
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import type { AuditEvent } from "./Audit.js"
import type { Commission } from "./Commission.js"
import type { Thread } from "./Consultation.js"
import type { DemandBrief } from "./Demand.js"
import type { Member } from "./Member.js"
import type { OutboxMessage } from "./Notification.js"
import type { CursorScope, Position } from "./Pagination.js"
import type { DemandSort } from "./Persistence.js"
import type { Response } from "./Response.js"

const ms = (t: DateTime.Utc | null) => (t === null ? null : DateTime.toEpochMillis(t))

/** @since 0.1.0 @category keys */
export const demand = (d: DemandBrief, sort: DemandSort): Position =>
  sort === "created"
    ? [ms(d.createdAt), d.id]
    : sort === "published"
      ? [ms(d.firstPublishedAt), d.id]
      : [d.form.responseDeadline, d.id]

/** Whether a demand sort is descending. @since 0.1.0 @category keys */
export const demandDescending = (sort: DemandSort): boolean => sort !== "deadline"

/** Descending. @since 0.1.0 @category keys */
export const response = (r: Response): Position => [ms(r.submittedAt), r.id]

/** Ascending. @since 0.1.0 @category keys */
export const member = (m: Member): Position => [ms(m.createdAt), m.id]

/** Descending. @since 0.1.0 @category keys */
export const thread = (t: Thread): Position => [ms(t.lastMessageAt), t.id]

/** Descending. @since 0.1.0 @category keys */
export const commission = (c: Commission): Position => [ms(c.createdAt), c.id]

/** Descending. @since 0.1.0 @category keys */
export const audit = (e: AuditEvent): Position => [ms(e.at), e.id]

/** Ascending. @since 0.1.0 @category keys */
export const outbox = (m: OutboxMessage): Position => [ms(m.createdAt), m.id]

/**
 * The cursor scope of each order below but the demands' (`demandScope`): a cursor
 * continues only the order that handed it out (`Pagination.decodeCursor`).
 *
 * @since 0.1.0
 * @category cursors
 */
export const scopes = {
  response: { list: "response", key: "instant" },
  member: { list: "member", key: "instant" },
  thread: { list: "thread", key: "instant" },
  commission: { list: "commission", key: "instant" },
  audit: { list: "audit", key: "instant" },
  outbox: { list: "outbox", key: "instant" },
  rewardRound: { list: "reward_round", key: "instant" },
  rewardApplication: { list: "reward_application", key: "instant" }
} as const satisfies Record<string, CursorScope>

const demandScopes: Record<DemandSort, CursorScope> = {
  created: { list: "demand.created", key: "instant" },
  published: { list: "demand.published", key: "instantOrNull" },
  deadline: { list: "demand.deadline", key: "date" }
}

/**
 * The cursor scope of demands in `sort`'s order ({@link demand}): a date for the
 * deadline, an instant otherwise (or `null` by publication: one not yet published).
 *
 * @since 0.1.0
 * @category cursors
 */
export const demandScope = (sort: DemandSort): CursorScope => demandScopes[sort]
