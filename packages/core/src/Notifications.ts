/**
 * What operators do with notifications (R64): list the dead letters and re-queue
 * them, one or the oldest many at once, once the cause is fixed.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Option from "effect/Option"
import { denied, invalidState, notFound } from "./Errors.js"
import { OutboxMessageId } from "./Ids.js"
import { type Ctx, makeRunner } from "./internal/command.js"
import { pageOf } from "./internal/paging.js"
import { isOperator, maskPhone, maskPhoneIn } from "./Member.js"
import { Delivery, OutboxMessage } from "./Notification.js"
import { Page, PageRequest } from "./Pagination.js"
import { Outbox } from "./Persistence.js"
import * as SortKeys from "./SortKeys.js"

/**
 * A dead letter as operators see it: the phone masked (R64).
 *
 * @since 0.1.0
 * @category outputs
 */
export const DeadLetter = Schema.Struct({ message: OutboxMessage, delivery: Delivery }).annotations({
  identifier: "DeadLetter"
})

/** @since 0.1.0 @category outputs */
export const DeadLetterPage = Page(DeadLetter)

/**
 * Input of {@link Notifications.requeueDead}: how many dead letters, oldest first.
 *
 * @since 0.1.1
 * @category inputs
 */
export const RequeueDeadInput = Schema.Struct({
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 500)))
}).annotations({ identifier: "RequeueDeadInput" })

/**
 * What {@link Notifications.requeueDead} re-queued, and whether dead letters are left.
 *
 * @since 0.1.1
 * @category outputs
 */
export const RequeuedDead = Schema.Struct({
  messageIds: Schema.Array(OutboxMessageId),
  more: Schema.Boolean
}).annotations({ identifier: "RequeuedDead" })

const operatorOnly = denied("R64", "operator.required", "only a platform operator manages notifications")

/**
 * Use cases of notifications.
 *
 * @since 0.1.0
 * @category services
 */
export class Notifications extends Effect.Service<Notifications>()("@zhongbao/core/Notifications", {
  effect: Effect.gen(function* () {
    const { command, query } = yield* makeRunner
    const outbox = yield* Outbox

    /** R60: a re-queue is an operator's state change, in the audit trail. */
    const audited = (ctx: Ctx, messageId: OutboxMessageId) =>
      ctx.audit({
        entity: "notification",
        entityId: messageId,
        action: "notification.requeued",
        before: "dead",
        after: "pending"
      })

    return {
      /** R64: dead letters, oldest first, phones masked (also in de-duplication keys and the provider's error text). */
      deadLetters: query({ input: PageRequest, rule: "R64" }, (ctx, input) =>
        Effect.gen(function* () {
          if (ctx.actor === null || !isOperator(ctx.actor)) return yield* operatorOnly
          return yield* pageOf(
            input,
            2,
            (range) => outbox.listDead(range),
            (t) => SortKeys.outbox(t.message),
            (rows) =>
              Effect.succeed(
                rows.map((t) => {
                  const phone = t.message.recipientPhone
                  const mask = (text: string) => maskPhoneIn(text, phone)
                  return {
                    message: {
                      ...t.message,
                      recipientPhone: maskPhone(phone),
                      dedupeKey: mask(t.message.dedupeKey)
                    },
                    delivery: {
                      ...t.delivery,
                      lastError: t.delivery.lastError === null ? null : mask(t.delivery.lastError)
                    }
                  }
                })
              )
          )
        })
      ),

      /**
       * R64: an operator re-queues a dead letter; it is due at once with fresh
       * attempts. An unknown message is not found; one that is not dead, an invalid state.
       */
      requeue: command(
        {
          name: "requeueNotification",
          input: Schema.Struct({ messageId: OutboxMessageId }),
          output: Schema.Struct({ messageId: OutboxMessageId }),
          rule: "R64"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly
            if (!(yield* outbox.requeue(input.messageId, ctx.now))) {
              if (Option.isNone(yield* outbox.find(input.messageId))) return yield* notFound("notification")
              return yield* invalidState(
                "R64",
                "notification.not_dead",
                "only a dead letter can be re-queued"
              )
            }
            yield* audited(ctx, input.messageId)
            return { messageId: input.messageId }
          })
      ),

      /**
       * R64: an operator re-queues the oldest dead letters at once (after an outage
       * of the provider, say), up to `limit` (100 by default, at most 500) in one
       * unit of work, each audited as {@link requeue} does. `more` says whether dead
       * letters are left; the operator repeats until it is `false`.
       */
      requeueDead: command(
        {
          name: "requeueDeadLetters",
          input: RequeueDeadInput,
          output: RequeuedDead,
          rule: "R64"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly
            const limit = input.limit ?? 100
            const dead = yield* outbox.listDead({ limit: limit + 1 })
            const messageIds: Array<OutboxMessageId> = []
            for (const t of dead.slice(0, limit)) {
              if (yield* outbox.requeue(t.message.id, ctx.now)) {
                yield* audited(ctx, t.message.id)
                messageIds.push(t.message.id)
              }
            }
            return { messageIds, more: dead.length > limit }
          })
      )
    }
  })
}) {}
