/**
 * Notifications (R25, R64): messages written to the outbox in the same unit of work
 * as the change that causes them, de-duplicated per (event, subject, recipient).
 * Delivery is the dispatcher's concern; here they are only written.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { OutboxMessageId } from "./Ids.js"
import { NotificationEvent } from "./Settings.js"

/**
 * A message waiting in the outbox. `dedupeKey` is unique: writing the same
 * notification twice keeps the first.
 *
 * @since 0.1.0
 * @category models
 */
export const OutboxMessage = Schema.Struct({
  id: OutboxMessageId,
  event: NotificationEvent,
  dedupeKey: Schema.String,
  recipientPhone: Schema.String,
  templateId: Schema.String,
  params: Schema.Record({ key: Schema.String, value: Schema.String }),
  createdAt: Schema.DateTimeUtc
}).annotations({ identifier: "OutboxMessage" })

/** @since 0.1.0 @category models */
export type OutboxMessage = typeof OutboxMessage.Type
