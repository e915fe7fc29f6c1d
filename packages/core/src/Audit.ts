/**
 * The audit trail (R60): every state change appends an event, in the same unit of
 * work as the change. Events are never changed or removed.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { AccountId, AuditEventId, DemandId, MemberId } from "./Ids.js"

/**
 * An audit event. `members` lists every member the event concerns (actor's member,
 * on-behalf-of member, owner of the entity) so each can list its own trail. What a
 * reader is shown of them is `AuditTrail`'s: R4 keeps a response's and a thread's
 * events from the demand's client, even those done on its behalf.
 *
 * @since 0.1.0
 * @category models
 */
export const AuditEvent = Schema.Struct({
  id: AuditEventId,
  at: Schema.DateTimeUtc,
  actorAccountId: AccountId,
  actorMemberId: Schema.NullOr(MemberId),
  onBehalfOf: Schema.NullOr(MemberId),
  entity: Schema.Literal(
    "demand",
    "response",
    "thread",
    "service_log",
    "commission",
    "member",
    "account",
    "technology_manager",
    "notification",
    "reward_round",
    "reward_application",
    "file"
  ),
  entityId: Schema.String,
  demandId: Schema.NullOr(DemandId),
  members: Schema.Array(MemberId),
  action: Schema.String,
  before: Schema.NullOr(Schema.String),
  after: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String)
}).annotations({ identifier: "AuditEvent" })

/** @since 0.1.0 @category models */
export type AuditEvent = typeof AuditEvent.Type
