/**
 * The SMS sender port (R25, R64) and an in-memory sender for tests and demos.
 *
 * A sender answers every request with one of five results; it never fails. The
 * dispatcher decides what each result means for the message: `Sent` is final,
 * `RetryLater` and `Unknown` are retried with backoff (an unknown outcome may have
 * reached the phone, so it is counted; a `RetryLater` that was not `attempted`, a
 * sender's own throttle, uses up none of the message's attempts), `Permanent` is dead-lettered at once,
 * `Configuration` (credentials, template, balance) is retried like an outage so
 * that fixing the configuration delivers the backlog.
 *
 * A result other than `Sent` carries its `reason`, a text for people (an operator
 * reads it as a dead letter's `lastError`), and may carry a `code`, the same reason
 * for machines: stable across releases and languages, for log queries and alert
 * rules, and kept as the delivery's `lastCode`, by which operators list and re-queue
 * dead letters. A provider's own error code where it answered one
 * (`isv.AMOUNT_NOT_ENOUGH`), else the sender's: the memory sender's are
 * `sender.invalid_number` and `sender.throttled`. The dispatcher's own are
 * `dispatcher.timeout` (a send cut at `outbox.sendTimeoutMillis`), `sender.defect` (a
 * sender that died), `dispatcher.given_up` (a message given up unsent, its attempts
 * spent by dispatchers that died) and `dispatcher.released` (one given back unsent
 * before any attempt failed).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"

/**
 * One message to send: E.164 phone, the provider's template id and its parameters.
 *
 * @since 0.1.0
 * @category models
 */
export interface SmsRequest {
  readonly messageId: string
  readonly dedupeKey: string
  readonly phone: string
  readonly templateId: string
  /** The template's values by name, the keys in code-point order (the dispatcher sorts them). */
  readonly params: Readonly<Record<string, string>>
}

/**
 * What a sender answers.
 *
 * @since 0.1.0
 * @category models
 */
export type SendResult = Data.TaggedEnum<{
  Sent: { readonly providerMessageId: string }
  RetryLater: Failed & {
    readonly retryAfterMillis?: number | undefined
    /** `false` when the provider was not called (the sender's own throttle): the dispatcher does not count the attempt. */
    readonly attempted?: boolean | undefined
  }
  Permanent: Failed
  Configuration: Failed
  Unknown: Failed
}>

/**
 * Why a message was not sent, or may not have been: `reason` for people, `code` for
 * machines (see the module's docs).
 *
 * @since 0.2.0
 * @category models
 */
export interface Failed {
  readonly reason: string
  readonly code?: string | undefined
}

/**
 * Constructors of {@link SendResult}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const SendResult = Data.taggedEnum<SendResult>()

/**
 * The port.
 *
 * @since 0.1.0
 * @category tags
 */
export class SmsSender extends Context.Tag("@zhongbao/core/SmsSender")<
  SmsSender,
  { readonly send: (request: SmsRequest) => Effect.Effect<SendResult> }
>() {}

/**
 * How the memory sender misbehaves: a share of calls answered `RetryLater`, a
 * share that time out (sleeping past any dispatcher timeout; whether the message
 * arrived is decided at random, as with a real provider), a fixed delay, and
 * numbers refused permanently.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryBehaviour {
  readonly failShare?: number
  readonly timeoutShare?: number
  readonly delay?: Duration.DurationInput
  readonly permanentPhones?: ReadonlyArray<string>
}

/**
 * The memory sender's record: every request it was asked, and the messages that
 * reached a phone, in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryLog {
  readonly requests: Array<SmsRequest>
  readonly delivered: Array<SmsRequest>
  behaviour: MemoryBehaviour
}

/**
 * A memory sender and its log; change `log.behaviour` at any time.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (behaviour: MemoryBehaviour = {}) => {
  const log: MemoryLog = { requests: [], delivered: [], behaviour }
  let seq = 0
  const send = (request: SmsRequest): Effect.Effect<SendResult> =>
    Effect.gen(function* () {
      log.requests.push(request)
      const b = log.behaviour
      if (b.delay !== undefined) yield* Effect.sleep(b.delay)
      if (b.permanentPhones?.includes(request.phone))
        return SendResult.Permanent({ reason: "invalid number", code: "sender.invalid_number" })
      const roll = yield* Random.next
      if (roll < (b.failShare ?? 0))
        return SendResult.RetryLater({ reason: "throttled", code: "sender.throttled" })
      if (roll < (b.failShare ?? 0) + (b.timeoutShare ?? 0)) {
        if ((yield* Random.next) < 0.5) log.delivered.push(request)
        return yield* Effect.never
      }
      log.delivered.push(request)
      seq += 1
      return SendResult.Sent({ providerMessageId: `memory-${seq}` })
    })
  return { log, sender: SmsSender.of({ send }) }
}

/**
 * A memory sender that always succeeds.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<SmsSender> = Layer.sync(SmsSender, () => makeMemory().sender)
