/**
 * The outbox dispatcher (R64): claims due messages under a lease, sends each through
 * the `SmsSender` port, and records the result — sent, retried later with
 * exponential backoff and jitter, or dead-lettered (permanent failure, or too many
 * attempts). A claim whose holder died is reclaimed when its lease expires; a
 * holder that lost its lease cannot record a result. Safe to run in many fibers and
 * processes at once.
 *
 * Each message's send-and-record runs uninterruptibly (bounded by the send
 * timeout): stopping a dispatcher never leaves a message that was sent but not
 * recorded. A message is sent only while more than half of its lease (and at least
 * two send timeouts) remains, so no other dispatcher can claim it before its result
 * is recorded even on a busy machine; what a batch could not start in time waits
 * for its lease to expire. So a message
 * reaches a phone twice only when an attempt's outcome was unknown (a timeout),
 * and that attempt is counted. Choose `leaseMillis` well above
 * `(batchSize / sendConcurrency + 2) × sendTimeoutMillis`.
 *
 * @since 0.1.0
 */
import { DateTime, Duration, Effect, Fiber, Random } from "effect"
import * as Ids from "./Ids.js"
import { maskPhone } from "./Member.js"
import type { Settlement, Tracked } from "./Notification.js"
import { Outbox } from "./Persistence.js"
import { Settings } from "./Settings.js"
import { type SendResult, SendResult as Result, SmsSender } from "./SmsSender.js"

/**
 * What one dispatch round did.
 *
 * @since 0.1.0
 * @category models
 */
export interface Round {
  readonly claimed: number
  readonly sent: number
  readonly retried: number
  readonly dead: number
  readonly lost: number
}

/**
 * R64: the delay before attempt `attempts + 1`: `base · 2^(attempts−1)` capped at
 * `max`, then "equal jitter" (half fixed, half random) so retries of a burst spread
 * out.
 *
 * @since 0.1.0
 * @category backoff
 */
export const backoffMillis = (attempts: number, base: number, max: number, random: number): number => {
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempts - 1))
  return Math.round(ceiling / 2 + (ceiling / 2) * random)
}

/**
 * The dispatcher.
 *
 * @since 0.1.0
 * @category services
 */
export class Dispatcher extends Effect.Service<Dispatcher>()("@zhongbao/core/Dispatcher", {
  effect: Effect.gen(function* () {
    const outbox = yield* Outbox
    const sender = yield* SmsSender
    const settings = yield* Settings
    const config = settings.outbox

    const settlementOf = (t: Tracked, result: SendResult, now: DateTime.Utc): Effect.Effect<Settlement> =>
      Effect.gen(function* () {
        const attempts = t.delivery.attempts + 1
        const unknownOutcomes = t.delivery.unknownOutcomes + (result._tag === "Unknown" ? 1 : 0)
        if (result._tag === "Sent") {
          return {
            _tag: "Sent",
            at: now,
            providerMessageId: result.providerMessageId,
            attempts,
            unknownOutcomes
          }
        }
        const error = `${result._tag}: ${result.reason}`
        if (result._tag === "Permanent" || attempts >= config.maxAttempts) {
          return { _tag: "Dead", at: now, attempts, unknownOutcomes, error }
        }
        const delay = Math.max(
          backoffMillis(attempts, config.backoffBaseMillis, config.backoffMaxMillis, yield* Random.next),
          result._tag === "RetryLater" ? (result.retryAfterMillis ?? 0) : 0
        )
        return {
          _tag: "Retry",
          nextAttemptAt: DateTime.add(now, { millis: delay }),
          attempts,
          unknownOutcomes,
          error
        }
      })

    const send = (t: Tracked) =>
      sender
        .send({
          messageId: t.message.id,
          dedupeKey: t.message.dedupeKey,
          phone: t.message.recipientPhone,
          templateId: t.message.templateId,
          params: t.message.params
        })
        .pipe(
          Effect.timeoutTo({
            duration: Duration.millis(config.sendTimeoutMillis),
            onSuccess: (r) => r,
            onTimeout: () => Result.Unknown({ reason: `no answer within ${config.sendTimeoutMillis} ms` })
          })
        )

    const processOne = (owner: string) => (t: Tracked) =>
      Effect.uninterruptible(
        Effect.gen(function* () {
          const before = yield* DateTime.now
          if (
            t.delivery.leaseUntil === null ||
            DateTime.toEpochMillis(t.delivery.leaseUntil) - DateTime.toEpochMillis(before) <=
              Math.max(config.sendTimeoutMillis * 2, config.leaseMillis / 2)
          ) {
            return "Lost" as const
          }
          const fiber = yield* Effect.forkDaemon(Effect.interruptible(send(t)))
          const result = yield* Fiber.join(fiber)
          const settlement = yield* settlementOf(t, result, yield* DateTime.now)
          const held = yield* outbox.settle(t.message.id, owner, settlement)
          yield* Effect.logDebug(held ? `sms ${settlement._tag.toLowerCase()}` : "sms lease lost").pipe(
            Effect.annotateLogs({
              messageId: t.message.id,
              event: t.message.event,
              to: maskPhone(t.message.recipientPhone),
              attempts: settlement.attempts,
              ...(settlement._tag === "Sent" ? {} : { error: settlement.error })
            })
          )
          return held ? settlement._tag : ("Lost" as const)
        })
      )

    /** One round: claim a batch for `owner` and process it. */
    const dispatchOnce = (
      owner: string = Ids.make()
    ): Effect.Effect<Round, import("./Errors.js").InfrastructureError> =>
      Effect.gen(function* () {
        const batch = yield* outbox.claim({
          owner,
          now: yield* DateTime.now,
          leaseMillis: config.leaseMillis,
          limit: config.batchSize
        })
        const results = yield* Effect.forEach(batch, processOne(owner), {
          concurrency: config.sendConcurrency
        })
        const count = (tag: string) => results.filter((r) => r === tag).length
        return {
          claimed: batch.length,
          sent: count("Sent"),
          retried: count("Retry"),
          dead: count("Dead"),
          lost: count("Lost")
        }
      })

    /** Dispatches forever, sleeping `idleMillis` when nothing is due. */
    const run = (owner: string = Ids.make()) =>
      Effect.forever(
        Effect.flatMap(dispatchOnce(owner), (round) =>
          round.claimed === 0 ? Effect.sleep(Duration.millis(config.idleMillis)) : Effect.void
        )
      )

    return { dispatchOnce, run }
  })
}) {}
