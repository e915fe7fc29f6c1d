/**
 * Notifications (R25, R64): messages written to the outbox in the same unit of work
 * as the change that causes them, de-duplicated per (event, subject, recipient).
 * Delivery is the dispatcher's concern; here they are only written.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type * as DateTime from "effect/DateTime"
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

/**
 * Where a message is in its delivery: `pending` (due at `nextAttemptAt`, possibly
 * leased by a dispatcher until `leaseUntil`), `sent`, or `dead` (given up; an
 * operator may re-queue it).
 *
 * @since 0.1.0
 * @category models
 */
export const DeliveryStatus = Schema.Literal("pending", "sent", "dead")

/** @since 0.1.0 @category models */
export type DeliveryStatus = typeof DeliveryStatus.Type

/**
 * The delivery state of one outbox message. `unknownOutcomes` counts attempts whose
 * result the dispatcher could not learn (timeouts), and those whose lease expired
 * before their result was recorded (the holder died, or was too slow): only those
 * may have reached the recipient more than once. `lastError` is the last failed
 * attempt's reason, for people; `lastCode` the same for machines (`SmsSender`'s docs
 * list where codes come from), `null` where the result had none. A send clears both;
 * a re-queue keeps both.
 *
 * @since 0.1.0
 * @category models
 */
export const Delivery = Schema.Struct({
  messageId: OutboxMessageId,
  status: DeliveryStatus,
  attempts: Schema.Int,
  unknownOutcomes: Schema.Int,
  nextAttemptAt: Schema.DateTimeUtc,
  leaseOwner: Schema.NullOr(Schema.String),
  leaseUntil: Schema.NullOr(Schema.DateTimeUtc),
  lastError: Schema.NullOr(Schema.String),
  /** @since 0.2.0 */
  lastCode: Schema.NullOr(Schema.String),
  providerMessageId: Schema.NullOr(Schema.String),
  sentAt: Schema.NullOr(Schema.DateTimeUtc),
  deadAt: Schema.NullOr(Schema.DateTimeUtc)
}).annotations({ identifier: "Delivery" })

/** @since 0.1.0 @category models */
export type Delivery = typeof Delivery.Type

/**
 * The outbox at a glance, for operators and monitoring (R64): how many messages wait
 * (`pending`, leased or not), how many of them are due now (`due`: claimable, their
 * `nextAttemptAt` and any lease passed) and since when the oldest of those has been
 * (`oldestDueAt`, `null` when none is due: the dispatchers' lag), how many were given
 * up (`dead`), and the dead letters by their `lastCode` (`deadByCode`, the most first,
 * then by code in code-point order, those without a code last).
 *
 * @since 0.2.0
 * @category models
 */
export const OutboxSummary = Schema.Struct({
  pending: Schema.Int,
  due: Schema.Int,
  oldestDueAt: Schema.NullOr(Schema.DateTimeUtc),
  dead: Schema.Int,
  deadByCode: Schema.Array(Schema.Struct({ code: Schema.NullOr(Schema.String), count: Schema.Int }))
}).annotations({ identifier: "OutboxSummary" })

/** @since 0.2.0 @category models */
export type OutboxSummary = typeof OutboxSummary.Type

/**
 * A message with its delivery state.
 *
 * @since 0.1.0
 * @category models
 */
export const Tracked = Schema.Struct({ message: OutboxMessage, delivery: Delivery })

/** @since 0.1.0 @category models */
export type Tracked = typeof Tracked.Type

/**
 * How a dispatcher settles a claimed message: sent, retried later, or dead-lettered.
 * The store counts the attempt itself (`attempts + 1`, and `unknownOutcomes + 1`
 * when `unknownOutcome`), so attempts counted since the claim are never
 * overwritten; a `Retry` or `Dead` that was not `attempted` is not counted.
 *
 * @since 0.1.0
 * @category models
 */
export type Settlement =
  | {
      readonly _tag: "Sent"
      readonly at: DateTime.Utc
      readonly providerMessageId: string
      readonly unknownOutcome: boolean
    }
  | {
      readonly _tag: "Retry"
      readonly nextAttemptAt: DateTime.Utc
      readonly unknownOutcome: boolean
      readonly error: string
      /**
       * The failure's code for machines, stored as the delivery's `lastCode`.
       *
       * @since 0.2.0
       */
      readonly code?: string | undefined
      /**
       * `false` when the sender did not try: its own throttle refused before calling
       * the provider (R64: retried on throttling, never given up for it). Such a
       * settlement by the lease's holder is not counted as an attempt.
       *
       * @since 0.1.1
       */
      readonly attempted?: boolean | undefined
    }
  | {
      readonly _tag: "Dead"
      readonly at: DateTime.Utc
      readonly unknownOutcome: boolean
      readonly error: string
      /**
       * The failure's code for machines, stored as the delivery's `lastCode`.
       *
       * @since 0.2.0
       */
      readonly code?: string | undefined
      /**
       * `false` when the holder gave the message up without trying: its attempts
       * had reached the limit when it was claimed (counted by the claims that took
       * over expired leases). Such a settlement by the lease's holder is not counted
       * as an attempt.
       *
       * @since 0.2.0
       */
      readonly attempted?: boolean | undefined
    }
