import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type { Errors, Idempotency, Ids } from "@zhongbao/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  Denied,
  IdempotencyKeyReused,
  InternalError,
  InvalidInput,
  InvalidState,
  NotFound,
  OutcomeUnknown,
  PreconditionFailed,
  RateLimited,
  Unauthorized,
  type Unavailable
} from "../ApiError.js"
import { accountRequired, CurrentAccount, invalidCredential } from "../Authentication.js"
import { type Bucket, RateLimiter, RateLimits } from "../RateLimit.js"
import { noBody } from "./middleware.js"
import { logOutage } from "./outages.js"
import { retryAfter, storeUnavailable } from "./retry.js"

/** @internal What a core use case may fail with. */
export type CoreError = Errors.DomainError | Errors.InfrastructureError

/** @internal A core error as the API answers it. */
export const toApiError = (
  error: CoreError
): Effect.Effect<
  never,
  | InvalidInput
  | Denied
  | NotFound
  | InvalidState
  | IdempotencyKeyReused
  | InternalError
  | OutcomeUnknown
  | Unauthorized
  | Unavailable
> => {
  switch (error._tag) {
    case "InvalidInput":
      return Effect.fail(new InvalidInput(fieldsOf(error)))
    case "Denied":
      // A credential whose account is unknown or inactive is not a valid credential.
      return Effect.fail(error.code === "actor.unknown" ? invalidCredential() : new Denied(fieldsOf(error)))
    case "NotFound":
      return Effect.fail(new NotFound({ ...fieldsOf(error), entity: error.entity }))
    case "InvalidState":
      return Effect.fail(new InvalidState(fieldsOf(error)))
    case "IdempotencyKeyReused":
      return Effect.fail(new IdempotencyKeyReused(fieldsOf(error)))
    case "InfrastructureError":
      return error.outcome === "unknown"
        ? Effect.zipRight(
            Effect.logError("zhongbao: a port failed", error),
            Effect.fail<OutcomeUnknown | Unavailable | InternalError>(outcomeUnknown())
          )
        : error.unavailable === true
          ? Effect.zipRight(logOutage("zhongbao: a port failed (out of reach)", error), storeUnavailable)
          : Effect.zipRight(Effect.logError("zhongbao: a port failed", error), Effect.fail(internalError()))
  }
}

/** Core's names of inputs that travel in a header over HTTP, by the header's name. */
const headerFields: Readonly<Record<string, string>> = {
  idempotencyKey: "idempotency-key",
  ifRevision: "if-match",
  ifVersion: "if-match"
}

const fieldsOf = (error: {
  readonly rule: string
  readonly code: string
  readonly field?: string | undefined
  readonly message: string
}) =>
  error.field === undefined
    ? { rule: error.rule, code: error.code, message: error.message }
    : {
        rule: error.rule,
        code: error.code,
        field: headerFields[error.field] ?? error.field,
        message: error.message
      }

/** @internal A command that may or may not have been written (see `OutcomeUnknown`). */
export const outcomeUnknown = () =>
  new OutcomeUnknown({
    code: "outcome.unknown",
    message:
      "the database connection was lost while the command committed, so whether it was written is unknown: repeat it with the same Idempotency-Key, or, if it was sent without one, check whether it took effect before repeating it"
  })

/** @internal */
export const internalError = () =>
  new InternalError({ code: "internal", message: "an internal error occurred; it has been logged" })

/** @internal Runs a core use case, its errors mapped to the API's. */
export const core = <A, R>(effect: Effect.Effect<A, CoreError, R>) => Effect.catchAll(effect, toApiError)

/**
 * @internal
 * A whole-record update with `If-Match`: core's `revision.stale` (the record changed
 * since the caller read it) answers `412`, as RFC 9110 has a failed `If-Match`
 * answer; every other error as {@link core} answers it.
 */
export const conditional = <A, R>(effect: Effect.Effect<A, CoreError, R>) =>
  Effect.catchIf(
    core(effect),
    (error): error is InvalidState => error._tag === "InvalidState" && error.code === "revision.stale",
    (error) =>
      Effect.fail(new PreconditionFailed({ rule: error.rule, code: error.code, message: error.message }))
  )

/** @internal Runs a core read; a read never fails with a state or key error, so one is a defect. */
export const coreRead = <A, R>(effect: Effect.Effect<A, CoreError, R>) =>
  Effect.catchAll(effect, (error) =>
    error._tag === "InvalidState" || error._tag === "IdempotencyKeyReused"
      ? Effect.zipRight(
          Effect.logError("zhongbao: a read failed with a command error", error),
          Effect.fail(internalError())
        )
      : toApiError(error)
  ) as Effect.Effect<
    A,
    InvalidInput | Denied | NotFound | InternalError | OutcomeUnknown | Unauthorized | Unavailable,
    R
  >

/** @internal The acting account, or `401` for an anonymous caller. */
export const account: Effect.Effect<Ids.AccountId, Unauthorized, CurrentAccount> = Effect.flatMap(
  CurrentAccount,
  (id) => (id === null ? Effect.fail(accountRequired()) : Effect.succeed(id))
)

/**
 * @internal
 * The acting account of a command that takes no body, once its body is found empty
 * (`noBody`: a field sent to it is refused rather than dropped without a word).
 */
export const accountWithoutBody: Effect.Effect<
  Ids.AccountId,
  Unauthorized | InvalidInput,
  CurrentAccount | HttpServerRequest.HttpServerRequest
> = Effect.zipLeft(account, noBody)

/** @internal The acting account or `null`. */
export const maybeAccount: Effect.Effect<Ids.AccountId | null, never, CurrentAccount> = CurrentAccount

/** @internal R63: the command options of a request. */
export const optionsOf = (headers: { readonly "idempotency-key"?: string | undefined }) =>
  headers["idempotency-key"] === undefined ? {} : { idempotencyKey: headers["idempotency-key"] }

/** @internal The encoded form of a decoded input, as core's use cases take it. */
export const encoded =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (value: A): Effect.Effect<I> =>
    Effect.orDie(Schema.encode(schema)(value))

/**
 * @internal `Retry-After` in whole seconds, at least 1 and at most the window: a
 * host's limiter answering a wait that is not a finite number (or beyond its window)
 * still gets a `429`, not a `500` from the response's encoding.
 */
export const retryAfterSeconds = (millis: number, windowMillis: number): number => {
  const window = Math.max(1, Math.ceil(windowMillis / 1000))
  return Number.isFinite(millis) ? Math.min(window, Math.max(1, Math.ceil(millis / 1000))) : window
}

/**
 * Refusals of the domain: the command wrote nothing and sent no SMS. An
 * `Unauthorized` from a command is core's refusal of its actor (R5, `actor.unknown`:
 * an account deactivated, or a credential from before its reactivation, §3): such a
 * credential does not spend its account's buckets either (an upload, whose bucket
 * is never given back, has its actor read before it spends anything).
 */
const refusedByDomain = (error: unknown): boolean =>
  error instanceof Unauthorized ||
  error instanceof InvalidInput ||
  error instanceof Denied ||
  error instanceof NotFound ||
  error instanceof InvalidState ||
  error instanceof PreconditionFailed ||
  error instanceof IdempotencyKeyReused

/**
 * @internal
 * A rate-limited command: one request from the account's bucket, then `command` with
 * the request's options; a command the domain refuses, or one answered from its
 * `Idempotency-Key`'s stored result (R63: nothing ran), gives its request back
 * (`RateLimiter.refund`, where the limiter has it; not for `uploads`, whose body was
 * read all the same), and a failure to give it back is logged, not answered. With the
 * bucket spent, `429` with `Retry-After`, unless the request repeats an
 * `Idempotency-Key` whose first result is stored (R63): the repeat gets that result
 * (or `422` for another input) and runs nothing new (`replayOnly`). An upload is
 * refused with its bucket spent, key or not: telling its repeat needs its body read,
 * and a fresh key each time would otherwise have any number of bodies read.
 */
export const limited = <A, E, R>(
  accountId: Ids.AccountId,
  bucket: Bucket,
  headers: { readonly "idempotency-key"?: string | undefined },
  command: (options: Idempotency.CommandOptions) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter
    const policies = yield* RateLimits
    const key = `${bucket}:${accountId}`
    const decision = yield* limiter
      .consume(key, policies[bucket])
      .pipe(Effect.catchAll((error) => toApiError(error)))
    if (decision.allowed) {
      if (limiter.refund === undefined || bucket === "uploads") return yield* command(optionsOf(headers))
      const refund = Effect.suspend(() => limiter.refund!(key, policies[bucket], decision)).pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("zhongbao: a rate-limit refund failed", cause))
      )
      return yield* Effect.tapError(command({ ...optionsOf(headers), onReplay: refund }), (error) =>
        refusedByDomain(error) ? refund : Effect.void
      )
    }
    const seconds = retryAfterSeconds(decision.retryAfterMillis, policies[bucket].windowMillis)
    const refused = retryAfter(
      seconds,
      new RateLimited({
        code: "rate.limited",
        bucket,
        retryAfterSeconds: seconds,
        message: `too many requests of this kind; retry in ${seconds} s`
      })
    )
    if (headers["idempotency-key"] === undefined || bucket === "uploads") return yield* refused
    return yield* command({ ...optionsOf(headers), replayOnly: true }).pipe(
      Effect.catchIf(
        (error): error is E => error instanceof InvalidState && error.code === "idempotency.not_replayed",
        () => refused
      )
    )
  })
