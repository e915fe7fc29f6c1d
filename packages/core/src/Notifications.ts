/**
 * What operators do with notifications (R64): list the dead letters and re-queue
 * them, one or the oldest many at once, once the cause is fixed.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Option from "effect/Option"
import { denied, InfrastructureError, invalidState, notFound } from "./Errors.js"
import { OutboxMessageId } from "./Ids.js"
import { type Ctx, makeRunner } from "./internal/command.js"
import { pageOf } from "./internal/paging.js"
import { isOperator, maskPhone, maskPhoneIn } from "./Member.js"
import { Delivery, OutboxMessage, type OutboxSummary, type Tracked } from "./Notification.js"
import { compareCodePoints, Page, PageRequest } from "./Pagination.js"
import { Outbox, type Range } from "./Persistence.js"
import * as SortKeys from "./SortKeys.js"
import * as Text from "./Text.js"

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
 * Input of {@link Notifications.deadLetters} and {@link Notifications.requeueDead}: a
 * page of dead letters, and with `code` only those whose delivery's `lastCode` is
 * it (`isv.AMOUNT_NOT_ENOUGH`, `sender.timeout`: see `SmsSender`), so that what one
 * cause killed is re-queued once it is fixed, and nothing else.
 *
 * @since 0.2.0
 * @category inputs
 */
export const DeadLetterRequest = Schema.Struct({
  ...PageRequest.fields,
  code: Schema.optional(Text.Filter(128))
})

/** @since 0.2.0 @category inputs */
export type DeadLetterRequest = typeof DeadLetterRequest.Type

/**
 * What {@link Notifications.requeueDead} answers: the ids it re-queued, and the
 * cursor to continue from.
 *
 * @since 0.1.1
 * @category outputs
 */
export const RequeuedPage = Page(OutboxMessageId)

/** The dead letters' codes, the most first, then in code-point order, those without a code last. */
const byCount = (a: OutboxSummary["deadByCode"][number], b: OutboxSummary["deadByCode"][number]) =>
  b.count - a.count ||
  (a.code === null ? (b.code === null ? 0 : 1) : b.code === null ? -1 : compareCodePoints(a.code, b.code))

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

    /**
     * The dead letters of a page, only those of `code` when given. An outbox that
     * ignored the code would have every dead letter re-queued: its answer is checked.
     */
    const deadOf =
      (code: string | undefined) =>
      (range: Range): Effect.Effect<ReadonlyArray<Tracked>, InfrastructureError> =>
        code === undefined
          ? outbox.listDead(range)
          : Effect.filterOrFail(
              outbox.listDead({ ...range, code }),
              (rows) => rows.every((t) => t.delivery.lastCode === code),
              () =>
                new InfrastructureError({
                  port: "Outbox",
                  message: "Outbox.listDead answered dead letters of another code than the one asked for"
                })
            )

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
      /**
       * R64: dead letters, oldest first, only those of `code` when given; phones
       * masked (also in de-duplication keys and the provider's error text).
       */
      deadLetters: query({ input: DeadLetterRequest, rule: "R64" }, (ctx, input) =>
        Effect.gen(function* () {
          if (ctx.actor === null || !isOperator(ctx.actor)) return yield* operatorOnly
          return yield* pageOf(
            input,
            SortKeys.scopes.outbox,
            deadOf(input.code),
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
       * R64: the outbox at a glance (`Notification.OutboxSummary`): messages waiting,
       * due now and since when, dead letters by code. For operators, and for a host's
       * monitoring (a growing `due`, an old `oldestDueAt`: the dispatchers fall behind
       * or are stopped; `deadByCode`: why messages are given up).
       *
       * @since 0.2.0
       */
      summary: query({ input: Schema.Struct({}), rule: "R64" }, (ctx) =>
        Effect.gen(function* () {
          if (ctx.actor === null || !isOperator(ctx.actor)) return yield* operatorOnly
          const s = yield* outbox.summary(ctx.now)
          return { ...s, deadByCode: [...s.deadByCode].sort(byCount) }
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
       * R64: an operator re-queues the dead letters a page at a time, oldest first,
       * only those of `code` when given (after an outage of the provider, or its
       * balance topped up): each page's in one unit of work,
       * each audited as {@link requeue} does. The answer lists the ids re-queued and
       * the cursor of the next page, `null` at the end; a letter that is dead again
       * by then sorts before the cursor, so a walk to the end takes each letter once.
       */
      requeueDead: command(
        {
          name: "requeueDeadLetters",
          input: DeadLetterRequest,
          output: RequeuedPage,
          rule: "R64"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly
            return yield* pageOf(
              input,
              SortKeys.scopes.outbox,
              deadOf(input.code),
              (t) => SortKeys.outbox(t.message),
              (rows) =>
                Effect.filter(rows, (t) =>
                  Effect.flatMap(outbox.requeue(t.message.id, ctx.now), (requeued) =>
                    requeued ? Effect.as(audited(ctx, t.message.id), true) : Effect.succeed(false)
                  )
                ).pipe(Effect.map((done) => done.map((t) => t.message.id)))
            )
          })
      )
    }
  })
}) {}
