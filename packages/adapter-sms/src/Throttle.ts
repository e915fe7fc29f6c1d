/**
 * A per-number throttle (R64) in front of a sender: at most `limit` messages per
 * number in each sliding window. A request over a limit is answered
 * `RetryLater` with `retryAfterMillis` (when the oldest message of the window
 * leaves it, and `attempted: false`) and the provider is not called, so the
 * providers' own per-number limits are never reached and the dispatcher reschedules
 * without counting an attempt (R64: a burst to one number waits, it is not
 * dead-lettered).
 *
 * The defaults stay below both providers' defaults: Tencent Cloud allows 1 per
 * 30 s, 5 per hour and 10 per natural day per number; Aliyun allows 50
 * notifications a day per number, signature and template. Windows slide, so a
 * limit per 24 hours also holds for every natural day. The shortest window is 35 s,
 * not 30: a slot is taken when a request starts, and a first request slower to
 * reach the provider (a new TLS connection) than the next would otherwise arrive
 * less than 30 s before it.
 *
 * A slot is taken when the provider is called and given back when the provider
 * answers that nothing was sent (`RetryLater`, `Permanent`, `Configuration`);
 * `Sent` and `Unknown` keep it. The counts live in the memory of one process:
 * with several dispatcher processes each keeps its own, and the providers' limits
 * (classified `RetryLater`) remain the backstop.
 *
 * @since 0.1.0
 */
import { Member, SmsSender } from "@zhongbao/core"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Classify from "./Classify.js"
import * as Phone from "./Phone.js"

/**
 * One limit: at most `limit` messages per number within `windowMillis`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Window {
  readonly limit: number
  readonly windowMillis: number
}

/**
 * The limits; no windows turns the throttle off.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly windows: ReadonlyArray<Window>
}

/** The shortest window: Tencent's 30 s and a margin for the time a request takes to arrive. */
const shortWindowMillis = 35_000

/**
 * 1 per 35 seconds, 4 per hour, 9 per 24 hours per number.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults: Options = {
  windows: [
    { limit: 1, windowMillis: shortWindowMillis },
    { limit: 4, windowMillis: 3_600_000 },
    { limit: 9, windowMillis: 86_400_000 }
  ]
}

/**
 * The throttle's answer: a granted slot, which `release` gives back, or the
 * time until a slot frees.
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | { readonly _tag: "Granted"; readonly release: Effect.Effect<void> }
  | { readonly _tag: "Denied"; readonly retryAfterMillis: number }

/**
 * A throttle keyed by number.
 *
 * @since 0.1.0
 * @category models
 */
export interface Throttle {
  readonly take: (key: string) => Effect.Effect<Decision>
}

const sweepEvery = 1024

/**
 * A throttle with its own counts.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = defaults): Effect.Effect<Throttle> =>
  Effect.sync(() => {
    const windows = options.windows.filter((w) => w.limit > 0 && w.windowMillis > 0)
    const longest = Math.max(0, ...windows.map((w) => w.windowMillis))
    const sent = new Map<string, Array<number>>()
    let calls = 0

    const prune = (key: string, list: Array<number>, now: number) => {
      let drop = 0
      while (drop < list.length && list[drop]! <= now - longest) drop++
      if (drop > 0) list.splice(0, drop)
      if (list.length === 0) sent.delete(key)
    }

    /*
     * `sent` is kept in the order of each number's latest granted message (a grant
     * moves its number to the end), so the sweep forgets numbers from the oldest
     * and stops at the first one with a message still in the longest window: its
     * cost is what it forgets, not how many numbers were texted in that window. A
     * slot given back can leave a number behind a newer one with only older
     * messages; that number is forgotten at most one longest window later.
     */
    const sweep = (now: number) => {
      for (const [key, list] of sent) {
        prune(key, list, now)
        if (list.length > 0) return
      }
    }

    const take = (key: string): Effect.Effect<Decision> =>
      Effect.map(Clock.currentTimeMillis, (now): Decision => {
        if (windows.length === 0) return { _tag: "Granted", release: Effect.void }
        calls += 1
        if (calls % sweepEvery === 0) sweep(now)
        const list = sent.get(key) ?? []
        prune(key, list, now)
        let wait = 0
        for (const w of windows) {
          const first = list.findIndex((t) => t > now - w.windowMillis)
          const inWindow = first === -1 ? 0 : list.length - first
          if (inWindow >= w.limit) {
            const freesAt = list[first + inWindow - w.limit]! + w.windowMillis
            wait = Math.max(wait, freesAt - now)
          }
        }
        if (wait > 0) return { _tag: "Denied", retryAfterMillis: wait }
        list.push(now)
        sent.delete(key)
        sent.set(key, list)
        const release = Effect.sync(() => {
          const current = sent.get(key)
          const index = current?.lastIndexOf(now) ?? -1
          if (current !== undefined && index >= 0) {
            current.splice(index, 1)
            if (current.length === 0) sent.delete(key)
          }
        })
        return { _tag: "Granted", release }
      })

    return { take }
  })

type Sender = Context.Tag.Service<SmsSender.SmsSender>

const givesBack = new Set(["RetryLater", "Permanent", "Configuration"])

const throttledEn = "throttled: per-number limit of this sender reached"
const throttledZh = "已限流：本发送方对该号码的发送频率已达上限，未调用服务商"

/**
 * Puts a throttle in front of a sender. Numbers are keyed in E.164; a number that
 * does not normalise goes straight to the sender, which refuses it. A throttled
 * message's reason is in `language` (Chinese by default).
 *
 * @since 0.1.0
 * @category combinators
 */
export const wrap =
  (throttle: Throttle, language: Classify.Language = Classify.defaultLanguage) =>
  (sender: Sender): Sender =>
    SmsSender.SmsSender.of({
      send: (request) => {
        const phone = Phone.normalize(request.phone)
        if (Either.isLeft(phone)) return sender.send(request)
        return Effect.flatMap(throttle.take(phone.right), (decision) =>
          decision._tag === "Denied"
            ? Effect.as(
                Effect.logDebug("sms throttled", {
                  to: Member.maskPhone(phone.right),
                  templateId: request.templateId,
                  messageId: request.messageId,
                  result: "RetryLater",
                  code: "sender.throttled",
                  retryAfterMillis: decision.retryAfterMillis
                }),
                SmsSender.SendResult.RetryLater({
                  reason: language === "en" ? throttledEn : throttledZh,
                  code: "sender.throttled",
                  retryAfterMillis: decision.retryAfterMillis,
                  attempted: false
                })
              )
            : Effect.flatMap(sender.send(request), (result) =>
                givesBack.has(result._tag) ? Effect.as(decision.release, result) : Effect.succeed(result)
              )
        )
      }
    })

/**
 * A layer that throttles the `SmsSender` it is given:
 * `Throttle.layer().pipe(Layer.provide(ConsoleSms.layer))`. The provider layers
 * of this package throttle already; do not wrap them twice.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = defaults,
  language: Classify.Language = Classify.defaultLanguage
): Layer.Layer<SmsSender.SmsSender, never, SmsSender.SmsSender> =>
  Layer.effect(
    SmsSender.SmsSender,
    Effect.gen(function* () {
      const inner = yield* SmsSender.SmsSender
      return wrap(yield* make(options), language)(inner)
    })
  )

/** A positive integer named `name`, `fallback` when it is not set; a refusal names it (validated before the default, which would drop the name). */
const positive = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n >= 1 }),
    Config.withDefault(fallback)
  )

/**
 * The throttle from configuration: `SMS_THROTTLE_ENABLED` (default `true`),
 * `SMS_THROTTLE_PER_30_SECONDS` (1; its window is 35 s, see {@link defaults}), `SMS_THROTTLE_PER_HOUR` (4),
 * `SMS_THROTTLE_PER_DAY` (9, per sliding 24 hours).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  enabled: Config.boolean("SMS_THROTTLE_ENABLED").pipe(Config.withDefault(true)),
  per30Seconds: positive("SMS_THROTTLE_PER_30_SECONDS", 1),
  perHour: positive("SMS_THROTTLE_PER_HOUR", 4),
  perDay: positive("SMS_THROTTLE_PER_DAY", 9)
}).pipe(
  Config.map(
    (c): Options =>
      c.enabled
        ? {
            windows: [
              { limit: c.per30Seconds, windowMillis: shortWindowMillis },
              { limit: c.perHour, windowMillis: 3_600_000 },
              { limit: c.perDay, windowMillis: 86_400_000 }
            ]
          }
        : { windows: [] }
  )
)
