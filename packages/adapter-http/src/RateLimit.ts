/**
 * Per-account rate limits (OWASP API4 and API6: an SMS costs money per message, and
 * responding or consulting in bulk is business-flow abuse, and uploads and other
 * writes fill the store). Five buckets, each a number of requests per window and account:
 *
 * - `responding`: respond and revise a response (R20, R21);
 * - `consulting`: ask, ask a responder and reply in a consultation (R22);
 * - `sms`: every other command a member sends that notifies someone by SMS (R64):
 *   adopt, give feedback, end selection, record solved, restart, request, accept or
 *   decline a commission;
 * - `uploads`: files uploaded (R54), each up to the platform's size limit and kept
 *   for good, counted before the body is read;
 * - `writes`: the other commands a member sends that store what it writes: draft,
 *   edit and submit a demand (R10, R11), withdraw a response (R21), append to a
 *   service log (R30, kept for good), record a demand unsolved (R32), end a
 *   commission (R41), save the institution's profile (R51), draft, update and submit
 *   a reward application (R52), name, correct, retire or reactivate a technology
 *   manager (R1).
 *
 * The operator's commands are not limited: approving or rejecting demands (R13) and
 * reward applications (R53) sends SMS too, but a review day's batch is the operator's
 * work, not abuse, and a member sending them is refused by core (`operator.required`)
 * before anything is written or sent.
 *
 * A spent bucket answers `429 RateLimited` with `Retry-After`; a repeat of a keyed
 * command whose first result is stored still gets that result (R63), except an
 * upload, refused before its body is read, and while the bucket has requests left,
 * such a repeat gives back the one it took (it ran nothing). A command the domain
 * refuses (`400`, `403`, `404`, `409`, `422`: nothing written, no SMS sent) gives its
 * request back, up to a bucket's worth per window, so that a client retrying a
 * refused command does not lock its account out of the commands that would succeed,
 * while refusals still cost at most one more bucket; an upload does not, as its body
 * was read whatever became of it. The counts live behind the {@link RateLimiter} port:
 * {@link layerMemory} counts in one process; a deployment of several instances plugs
 * a shared store: `@zhongbao/adapter-pg`'s `PgRateLimit` counts in PostgreSQL, and
 * another store (Redis, say) implements the port's `consume` and `refund`.
 *
 * @since 0.1.0
 */
import type { Errors } from "@zhongbao/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/**
 * At most `limit` requests per `windowMillis` per account.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  readonly limit: number
  readonly windowMillis: number
}

/**
 * The buckets.
 *
 * @since 0.1.0
 * @category models
 */
export type Bucket = "responding" | "consulting" | "sms" | "uploads" | "writes"

/**
 * The policy of every bucket.
 *
 * @since 0.1.0
 * @category models
 */
export type Policies = { readonly [K in Bucket]: Policy }

/**
 * The defaults: 30 responses or revisions, 120 consultation messages, 120 other
 * SMS-sending commands, 60 uploads (at most 1.2 GB at the default 20 MiB limit) and
 * 600 other writes per hour and account.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults: Policies = {
  responding: { limit: 30, windowMillis: 3600_000 },
  consulting: { limit: 120, windowMillis: 3600_000 },
  sms: { limit: 120, windowMillis: 3600_000 },
  uploads: { limit: 60, windowMillis: 3600_000 },
  writes: { limit: 600, windowMillis: 3600_000 }
}

/**
 * The policies in force.
 *
 * @since 0.1.0
 * @category tags
 */
export class RateLimits extends Context.Tag("@zhongbao/adapter-http/RateLimits")<RateLimits, Policies>() {}

/**
 * What {@link RateLimiter.consume} answers: whether the request may go on, and when
 * the bucket has room again if not.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decision {
  readonly allowed: boolean
  readonly retryAfterMillis: number
  /**
   * The window that counted an allowed request (its start, epoch millis), for
   * `refund`; a limiter without `refund` may leave it out.
   *
   * @since 0.1.3
   */
  readonly windowStart?: number | undefined
}

/**
 * The counting port. `consume` takes one request from the bucket `key` under
 * `policy`. `refund` gives back a request that `consume` allowed (`decision` is its
 * answer) after the domain refused its command: only to the window that counted it
 * while that window is still the key's (`decision.windowStart`; a window opened
 * since is not credited), and at most `policy.limit` times per window, so that an
 * account's refused commands cost at most one more bucket's worth of requests.
 * `refund` is optional: a limiter without it counts refused commands too.
 *
 * @since 0.1.0
 * @category ports
 */
export class RateLimiter extends Context.Tag("@zhongbao/adapter-http/RateLimiter")<
  RateLimiter,
  {
    readonly consume: (key: string, policy: Policy) => Effect.Effect<Decision, Errors.InfrastructureError>
    /** @since 0.1.3 */
    readonly refund?: (
      key: string,
      policy: Policy,
      decision: Decision
    ) => Effect.Effect<void, Errors.InfrastructureError>
  }
>() {}

/** @internal How many windows {@link layerMemory}'s limiter holds, for tests. */
export const windowsHeld = new WeakMap<RateLimiter["Type"], () => number>()

/**
 * Fixed windows counted in memory, by effect's `Clock`; expired windows are dropped
 * as the map grows: when it holds more than 10,000 windows, and then each time it
 * has doubled since the last sweep, so that many live windows do not make every
 * request sweep them all.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<RateLimiter> = Layer.sync(RateLimiter, () => {
  const windows = new Map<string, { start: number; count: number; refunded: number; windowMillis: number }>()
  let sweepAbove = 10_000
  const prune = (now: number) => {
    for (const [key, w] of windows) if (now - w.start >= w.windowMillis) windows.delete(key)
    sweepAbove = Math.max(10_000, 2 * windows.size)
  }
  const service: RateLimiter["Type"] = {
    consume: (key, policy) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (windows.size > sweepAbove) prune(now)
        let w = windows.get(key)
        if (w === undefined || now - w.start >= policy.windowMillis) {
          w = { start: now, count: 0, refunded: 0, windowMillis: policy.windowMillis }
          windows.set(key, w)
        }
        if (w.count >= policy.limit) {
          return { allowed: false, retryAfterMillis: w.start + policy.windowMillis - now }
        }
        w.count += 1
        return { allowed: true, retryAfterMillis: 0, windowStart: w.start }
      }),
    refund: (key, policy, decision) =>
      Effect.sync(() => {
        const w = windows.get(key)
        if (w !== undefined && w.start === decision.windowStart && w.count > 0 && w.refunded < policy.limit) {
          w.count -= 1
          w.refunded += 1
        }
      })
  }
  windowsHeld.set(service, () => windows.size)
  return service
})

/**
 * Overrides of some buckets' policies as a host's configuration gives them (a JSON
 * object, say): each a `limit` and a `windowMillis`, positive integers; no other
 * bucket. Decode with `onExcessProperty: "error"` to refuse an unknown bucket.
 *
 * @since 0.1.2
 * @category schemas
 */
export const PoliciesInput = (() => {
  const policy = Schema.Struct({
    limit: Schema.Int.pipe(Schema.positive()),
    windowMillis: Schema.Int.pipe(Schema.positive())
  })
  return Schema.Struct({
    responding: Schema.optionalWith(policy, { exact: true }),
    consulting: Schema.optionalWith(policy, { exact: true }),
    sms: Schema.optionalWith(policy, { exact: true }),
    uploads: Schema.optionalWith(policy, { exact: true }),
    writes: Schema.optionalWith(policy, { exact: true })
  })
})()

/**
 * The policies: the defaults with some buckets overridden.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPolicies = (overrides: Partial<Policies> = {}): Layer.Layer<RateLimits> =>
  Layer.succeed(RateLimits, { ...defaults, ...overrides })

/**
 * Counting in memory under the given policies.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (overrides: Partial<Policies> = {}): Layer.Layer<RateLimiter | RateLimits> =>
  Layer.merge(layerMemory, layerPolicies(overrides))
