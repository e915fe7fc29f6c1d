/**
 * Revisions of records updated whole (an account, a technology manager, an
 * institution's basic information): optimistic concurrency without a version
 * column. A record's revision is a digest of its stored form, so every adapter has
 * it without keeping it, and any change to the record changes it. A reader keeps
 * the revision of what it read; an update that names it (`ifRevision`) is refused
 * (`revision.stale`) when the record has changed since, instead of overwriting that
 * change with an older copy. The comparison is made on the record read under the
 * update's lock, so it holds against a change committed at the same moment. A
 * revision is the same from one read to the next because an adapter reads a record
 * back as it was written (the conformance suite's round trip).
 *
 * Records that keep a `version` of their own, raised by every change (a demand, a
 * response, a reward application), are matched on it instead ({@link checkVersion}):
 * their readers already hold it in every answer, and unlike a digest it cannot be
 * tested against guesses of fields a reader may not see. It moves with those fields
 * too: a response's version rises when the demand's side gives a reason ahead of the
 * decision (R61), which its responder does not see, so a revision from the copy read
 * before is refused and goes ahead once the response is read again.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type InfrastructureError, type InvalidState, invalidState } from "./Errors.js"
import { sha256 } from "./FileStore.js"
import { canonicalJson } from "./Idempotency.js"

/**
 * A revision: the first 128 bits of the SHA-256 of the record's encoded form as
 * canonical JSON (keys sorted), in lower-case hex (32 characters).
 *
 * @since 0.1.0
 * @category models
 */
export const Revision = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{32}$/, { message: () => "a revision: 32 lower-case hex digits" }),
  Schema.brand("Revision")
)

/** @since 0.1.0 @category models */
export type Revision = typeof Revision.Type

/**
 * What an update expects the record to be: one or more revisions a reader holds
 * (any text; one that is not a revision matches nothing), or `*`, any revision: the
 * record exists. The update goes ahead only when the record's revision is among
 * them.
 *
 * @since 0.1.0
 * @category models
 */
export const Expected = Schema.NonEmptyArray(Schema.String.pipe(Schema.maxLength(256))).pipe(
  Schema.maxItems(20)
)

/** @since 0.1.0 @category models */
export type Expected = typeof Expected.Type

const encoder = new TextEncoder()

/**
 * The revision of `value`, a record of `schema`.
 *
 * @since 0.1.0
 * @category revisions
 */
export const of =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (value: A): Effect.Effect<Revision, InfrastructureError> =>
    Effect.suspend(() =>
      Effect.map(
        sha256(encoder.encode(canonicalJson(Schema.encodeSync(schema)(value)))),
        (digest) => digest.slice(0, 32) as Revision
      )
    )

/**
 * `value` with its revision, as a reader gets a record it may update.
 *
 * @since 0.1.0
 * @category revisions
 */
export const withRevision =
  <A extends object, I>(schema: Schema.Schema<A, I>) =>
  (value: A): Effect.Effect<A & { readonly revision: Revision }, InfrastructureError> =>
    Effect.map(of(schema)(value), (revision) => ({ ...value, revision }))

/** `revision.stale` under `rule`: what happened since the record was read, and what to do. */
const refused = (rule: string, happened: string) =>
  Effect.fail(
    invalidState(rule, "revision.stale", `${happened}: read it again, and make the change on what it is now`)
  )

/** `revision.stale` under `rule` for a `what` changed since it was read. */
const changed = (rule: string, what: string) => refused(rule, `the ${what} changed since it was read`)

/**
 * Fails with `InvalidState` (`revision.stale`, under `rule`) when the caller read no
 * record (`expectedAbsent`) and there is one now: a first write made since. Succeeds
 * otherwise.
 *
 * @since 0.1.0
 * @category revisions
 */
export const checkAbsent = (
  current: unknown,
  expectedAbsent: true | undefined,
  rule: string,
  what: string
): Effect.Effect<void, InvalidState> =>
  expectedAbsent === true && current !== undefined
    ? refused(rule, `the ${what} was saved since it was read as absent`)
    : Effect.void

/**
 * Fails with `InvalidState` (`revision.stale`, under `rule`) when `expected` is given
 * and holds neither `*` nor `version` in decimal: a record kept with a version of its
 * own changed since it was read at each version the caller names. Succeeds when
 * `expected` is absent.
 *
 * @since 0.1.0
 * @category revisions
 */
export const checkVersion = (
  version: number,
  expected: Expected | undefined,
  rule: string,
  what: string
): Effect.Effect<void, InvalidState> =>
  expected === undefined || expected.includes("*") || expected.includes(String(version))
    ? Effect.void
    : changed(rule, what)

/**
 * Fails with `InvalidState` (`revision.stale`, under `rule`) when `expected` is given
 * and `current`'s revision is not among it (`*` matches any), or there is no
 * `current` (a record not made yet has no revision, and `*` needs one); succeeds
 * when `expected` is absent.
 *
 * @since 0.1.0
 * @category revisions
 */
export const check = <A, I>(
  schema: Schema.Schema<A, I>,
  current: A | undefined,
  expected: Expected | undefined,
  rule: string,
  what: string
): Effect.Effect<void, InvalidState | InfrastructureError> => {
  if (expected === undefined) return Effect.void
  if (current === undefined) return changed(rule, what)
  return expected.includes("*")
    ? Effect.void
    : Effect.flatMap(of(schema)(current), (revision) =>
        expected.includes(revision) ? Effect.void : changed(rule, what)
      )
}
