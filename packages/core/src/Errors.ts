/**
 * Domain errors. Every denial or refusal of the domain is one of the tagged errors
 * below; each names the domain rule it enforces (`rule`, as this package's README maps rules to code), the input field it
 * concerns when there is one (`field`), a stable machine code (`code`) and a readable
 * English `message`. Adapters map the tags to their own vocabulary (HTTP statuses,
 * translated messages) without parsing the message.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const fields = {
  rule: Schema.String,
  code: Schema.String,
  field: Schema.optional(Schema.String),
  message: Schema.String
}

/**
 * Input that fails validation (R10 fields, R13 deadlines, R61 reasons …). Nothing was
 * changed.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>("@zhongbao/InvalidInput")(
  "InvalidInput",
  fields
) {}

/**
 * The actor may see the resource but is not allowed to do this (R1–R3 and the
 * authority rules of each use case).
 *
 * @since 0.1.0
 * @category errors
 */
export class Denied extends Schema.TaggedError<Denied>("@zhongbao/Denied")("Denied", fields) {}

/**
 * The resource does not exist, or the actor may not see it (R5: no existence leak).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>("@zhongbao/NotFound")("NotFound", {
  ...fields,
  entity: Schema.String
}) {}

/**
 * The command does not fit the current state of the resource (intake closed, window
 * over, already adopted …).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidState extends Schema.TaggedError<InvalidState>("@zhongbao/InvalidState")(
  "InvalidState",
  fields
) {}

/**
 * R63: an idempotency key was reused with a different input.
 *
 * @since 0.1.0
 * @category errors
 */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>(
  "@zhongbao/IdempotencyKeyReused"
)("IdempotencyKeyReused", fields) {}

/**
 * Any failure of a domain rule.
 *
 * @since 0.1.0
 * @category errors
 */
export type DomainError = InvalidInput | Denied | NotFound | InvalidState | IdempotencyKeyReused

/**
 * Schema of every domain error, for adapters that serialise them.
 *
 * @since 0.1.0
 * @category errors
 */
export const DomainError = Schema.Union(InvalidInput, Denied, NotFound, InvalidState, IdempotencyKeyReused)

/**
 * A port failed for reasons outside the domain (connection lost, disk full, timeout).
 * `message` is safe to show; `cause` is for logs only and never crosses the API.
 *
 * `outcome: "unknown"` says that the port cannot tell whether the change was
 * written: a unit of work whose connection was lost while it committed may have
 * committed. A unit of work that failed with any other `InfrastructureError`
 * wrote nothing; a port's write made outside a unit of work (which commits on its
 * own) may have been applied all the same. R63: repeating a command with the same
 * idempotency key answers its stored result if it was written, and runs it if it
 * was not.
 *
 * `unavailable: true` says that the store could not be used at all for the moment
 * (it could not be reached, the connection was lost, it has no free connection or
 * is starting or stopping): the same request may succeed later, and an HTTP adapter
 * answers it as a temporary refusal rather than an internal failure. It describes
 * the store, not the write: `outcome` still tells whether a unit may have committed.
 *
 * @since 0.1.0
 * @category errors
 */
export class InfrastructureError extends Schema.TaggedError<InfrastructureError>(
  "@zhongbao/InfrastructureError"
)("InfrastructureError", {
  port: Schema.String,
  message: Schema.String,
  outcome: Schema.optional(Schema.Literal("unknown")),
  unavailable: Schema.optional(Schema.Literal(true)),
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * A repository refused an insert or update because a unique key is already taken
 * (demand number, active response per responder and round, open commission per
 * pair, idempotency key). Use cases map it to the rule's own error.
 *
 * @since 0.1.0
 * @category errors
 */
export class UniqueViolation extends Schema.TaggedError<UniqueViolation>("@zhongbao/UniqueViolation")(
  "UniqueViolation",
  { entity: Schema.String, key: Schema.String }
) {}

/**
 * A versioned update found a different version than the one it read: someone else
 * changed the row in between.
 *
 * @since 0.1.0
 * @category errors
 */
export class StaleWrite extends Schema.TaggedError<StaleWrite>("@zhongbao/StaleWrite")("StaleWrite", {
  entity: Schema.String,
  id: Schema.String
}) {}

/**
 * One issue of a refused input, as effect/Schema's `ArrayFormatter` lists them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Issue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

const expected = /^Expected (.+), actual (.*)$/s

/**
 * The issue an `InvalidInput` reports of a refused input: the first, with the
 * alternatives effect/Schema lists one by one for the same field merged into one
 * (`Expected "created" | "published" | "deadline", actual "x"`: the first alone reads
 * as if `"created"` were the only value allowed). An optional field's
 * `Expected undefined` is left out of the alternatives.
 *
 * @since 0.1.0
 * @category constructors
 */
export const firstIssue = <I extends Issue>(issues: ReadonlyArray<I>): I | undefined => {
  const first = issues[0]
  const m = first === undefined ? null : expected.exec(first.message)
  if (first === undefined || m === null) return first
  const field = first.path.join(".")
  const alternatives: Array<string> = []
  for (const issue of issues) {
    if (issue.path.join(".") !== field) continue
    const other = expected.exec(issue.message)
    if (other === null || other[2] !== m[2] || other[1] === "undefined") continue
    if (!alternatives.includes(other[1]!)) alternatives.push(other[1]!)
  }
  return alternatives.length > 1
    ? { ...first, message: `Expected ${alternatives.join(" | ")}, actual ${m[2]}` }
    : first
}

/** @internal */
export const invalid = (rule: string, field: string, code: string, message: string) =>
  new InvalidInput({ rule, field, code, message })

/** @internal */
export const denied = (rule: string, code: string, message: string, field?: string) =>
  new Denied(field === undefined ? { rule, code, message } : { rule, code, field, message })

/**
 * @internal
 * `entity` not found; its message names it in words (`reward application not found`),
 * its code as an identifier (`reward_application.not_found`).
 */
export const notFound = (entity: string, rule = "R5", field?: string) => {
  const words = entity.replaceAll("_", " ")
  return new NotFound({
    rule,
    entity,
    code: `${entity}.not_found`,
    message: field === undefined ? `${words} not found` : `${field}: ${words} not found`,
    ...(field === undefined ? {} : { field })
  })
}

/** @internal */
export const invalidState = (rule: string, code: string, message: string) =>
  new InvalidState({ rule, code, message })
