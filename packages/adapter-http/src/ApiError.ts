/**
 * The errors of the HTTP API and their statuses. Core's domain errors carry no HTTP
 * knowledge; here each gets its status, and the body every client sees:
 *
 * | error                  | status | when                                                              |
 * | ---------------------- | ------ | ----------------------------------------------------------------- |
 * | `InvalidInput`         | 400    | a request that fails validation, at the HTTP boundary or in core  |
 * | `Unauthorized`         | 401    | no account where one is needed, or a credential that is not valid |
 * | `Denied`               | 403    | the account may see the resource but not do this (R1–R3)          |
 * | `NotFound`             | 404    | absent, or invisible to the caller (R5: no existence leak)        |
 * | `RequestTimeout`       | 408    | a request's body stopped arriving (`bodyIdleTimeout`, `upload…`)  |
 * | `InvalidState`         | 409    | the command does not fit the resource's state                     |
 * | `PreconditionFailed`   | 412    | `If-Match` names a revision the record no longer has              |
 * | `PayloadTooLarge`      | 413    | the request body is over the limit                                |
 * | `IdempotencyKeyReused` | 422    | R63: the `Idempotency-Key` was used with a different request      |
 * | `RateLimited`          | 429    | the account's rate limit for this kind of command is spent        |
 * | `InternalError`        | 500    | a port failed; no internals in the body                           |
 *
 * Decided: every invalid input is `400`, whether the HTTP schema or a domain rule
 * (R10's taxonomy, R13's deadline …) refuses it, so a client handles one status per
 * field error; `422` is kept for a reused idempotency key, as the IETF draft and
 * Stripe use it. The body of a domain error is `{ _tag, rule, code, field?, message }`
 * (`entity` too for `NotFound`); `message` is in the request's language
 * (`Accept-Language`: `zh-CN` by default, `en`), see `Messages`.
 *
 * @since 0.1.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"

const domainFields = {
  rule: Schema.String.annotations({
    description:
      "The domain rule the error enforces (R1 … R64, §9, §10; @zhongbao/core's README maps each to its code). A refusal before any endpoint takes the request (a path or method without one, a malformed body where no endpoint matched) names `§input`; one of an endpoint's own body or parameters names that endpoint's rule."
  }),
  code: Schema.String.annotations({ description: "A stable machine code, e.g. `respond.intake_closed`" }),
  field: Schema.optional(Schema.String).annotations({
    description: "The input field concerned, as a dotted path (`form.title`, `items.0.proofs.1`)"
  }),
  message: Schema.String.annotations({ description: "A readable message in the request's language" })
}

/**
 * 400: the request fails validation; `field` names the input field.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>("InvalidInput")(
  "InvalidInput",
  domainFields,
  HttpApiSchema.annotations({ status: 400, description: "The input is not valid; `field` names it" })
) {}

/**
 * 403: the account may see the resource but may not do this.
 *
 * @since 0.1.0
 * @category errors
 */
export class Denied extends Schema.TaggedError<Denied>("Denied")(
  "Denied",
  domainFields,
  HttpApiSchema.annotations({ status: 403, description: "The account may not do this (the rule is named)" })
) {}

/**
 * 404: the resource does not exist or the caller may not see it (R5).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>("NotFound")(
  "NotFound",
  { ...domainFields, entity: Schema.String },
  HttpApiSchema.annotations({
    status: 404,
    description: "Not found, or not visible to the caller (R5: no existence leak)"
  })
) {}

/**
 * 409: the command does not fit the current state of the resource.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidState extends Schema.TaggedError<InvalidState>("InvalidState")(
  "InvalidState",
  domainFields,
  HttpApiSchema.annotations({ status: 409, description: "The command does not fit the resource's state" })
) {}

/**
 * 412: the update's `If-Match` names revisions of the record it no longer has: it
 * changed since the caller read it (code `revision.stale`), and nothing was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class PreconditionFailed extends Schema.TaggedError<PreconditionFailed>("PreconditionFailed")(
  "PreconditionFailed",
  domainFields,
  HttpApiSchema.annotations({
    status: 412,
    description:
      "`If-Match` names a revision the record no longer has: it changed since it was read; read it again"
  })
) {}

/**
 * 422: R63, the idempotency key was used with a different request.
 *
 * @since 0.1.0
 * @category errors
 */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>("IdempotencyKeyReused")(
  "IdempotencyKeyReused",
  domainFields,
  HttpApiSchema.annotations({
    status: 422,
    description: "R63: the Idempotency-Key was already used with a different request"
  })
) {}

/**
 * 401: an account is needed and none was presented, or the credential presented is
 * not valid (expired session, unknown token).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>("Unauthorized")(
  "Unauthorized",
  {
    code: Schema.Literal("auth.required", "auth.invalid"),
    message: Schema.String
  },
  HttpApiSchema.annotations({ status: 401, description: "Sign in: no valid credential was presented" })
) {}

/**
 * 408: a request's body stopped arriving: no byte of it came for `idleSeconds`
 * (`Http.Options.uploadIdleTimeout` for an upload, `bodyIdleTimeout` for any other
 * body). Nothing is done and the connection is closed; send it again.
 *
 * @since 0.1.3
 * @category errors
 */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>("RequestTimeout")(
  "RequestTimeout",
  {
    code: Schema.Literal("body.timeout"),
    idleSeconds: Schema.Number,
    message: Schema.String
  },
  HttpApiSchema.annotations({
    status: 408,
    description: "The request's body stopped arriving; send it again"
  })
) {}

/**
 * 413: the request body is over the limit (`limit` in bytes).
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>("PayloadTooLarge")(
  "PayloadTooLarge",
  {
    code: Schema.Literal("body.too_large"),
    limit: Schema.Int,
    message: Schema.String
  },
  HttpApiSchema.annotations({ status: 413, description: "The request body is over the limit" })
) {}

/**
 * 429: the account's rate limit for this kind of command is spent; retry after
 * `retryAfterSeconds` (also sent as `Retry-After`).
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>("RateLimited")(
  "RateLimited",
  {
    code: Schema.Literal("rate.limited"),
    bucket: Schema.String,
    retryAfterSeconds: Schema.Int,
    message: Schema.String
  },
  HttpApiSchema.annotations({
    status: 429,
    description: "Too many requests of this kind from this account; see Retry-After"
  })
) {}

/**
 * 500: something outside the domain failed (a port, a defect). The body says no more;
 * the cause is logged.
 *
 * @since 0.1.0
 * @category errors
 */
export class InternalError extends Schema.TaggedError<InternalError>("InternalError")(
  "InternalError",
  {
    code: Schema.Literal("internal"),
    message: Schema.String
  },
  HttpApiSchema.annotations({ status: 500, description: "An internal failure; details are only logged" })
) {}

/**
 * 500 with `code: "outcome.unknown"`: a command's outcome is unknown. The database
 * connection was lost while the command committed, so it may have been written or
 * not. Repeating the request with the same `Idempotency-Key` (R63) answers its
 * result if it was written and runs it if it was not; a request sent without a key
 * is repeated only once the client has checked that it did not take effect. Reads
 * never answer it.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutcomeUnknown extends Schema.TaggedError<OutcomeUnknown>("OutcomeUnknown")(
  "OutcomeUnknown",
  {
    code: Schema.Literal("outcome.unknown"),
    message: Schema.String
  },
  HttpApiSchema.annotations({
    status: 500,
    description:
      "outcome.unknown: whether the command was written is unknown (the database connection was lost while it committed); repeat it with the same Idempotency-Key"
  })
) {}

/**
 * 503: the API is not taking requests at the moment. Its host is starting
 * (`server.starting`, its database migrating) or stopping (`server.stopping`; send
 * the request again on a new connection, which another instance may take): the API
 * never answers these itself; a host that refuses requests while it starts or stops
 * answers them with `Mount.unavailable`, so that clients of the document decode them
 * as they decode the API's own errors. Or its store is out of reach
 * (`store.unavailable`: the database could not be reached, lost its connection or
 * had no free one): nothing was written, and the same request may succeed after
 * `Retry-After` seconds (a command whose COMMIT lost its connection answers
 * `outcome.unknown` instead).
 *
 * @since 0.2.0
 * @category errors
 */
export class Unavailable extends Schema.TaggedError<Unavailable>("Unavailable")(
  "Unavailable",
  {
    code: Schema.Literal("server.starting", "server.stopping", "store.unavailable"),
    message: Schema.String
  },
  HttpApiSchema.annotations({
    status: 503,
    description:
      "The server is starting or stopping (answered by its host), or its store is out of reach for the moment; see Retry-After"
  })
) {}

/**
 * Any domain error as the API answers it.
 *
 * @since 0.1.0
 * @category errors
 */
export type DomainError = InvalidInput | Denied | NotFound | InvalidState | IdempotencyKeyReused

/**
 * Any error the API answers with.
 *
 * @since 0.1.0
 * @category errors
 */
export type ApiError =
  | DomainError
  | Unauthorized
  | RequestTimeout
  | PayloadTooLarge
  | RateLimited
  | InternalError
  | OutcomeUnknown
  | Unavailable
