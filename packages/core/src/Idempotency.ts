/**
 * R63: idempotent commands. A mutating command may carry a client key; the first
 * run stores a fingerprint of its input and its encoded result under (account, key)
 * in the same unit of work as the change. A repeat with the same input returns the
 * stored result and changes nothing; the same key with another input is refused.
 * A repeat that runs beside the first (it read no record yet) and fails once the
 * first has committed reads the key's record again and is answered by it.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { AccountId } from "./Ids.js"

/**
 * The options every command takes: its idempotency key, and whether to answer only a
 * repeat of it (`replayOnly`).
 *
 * @since 0.1.1
 * @category models
 */
export type { CommandOptions } from "./internal/command.js"

/**
 * A client key: 1–255 visible ASCII characters.
 *
 * @since 0.1.0
 * @category models
 */
export const IdempotencyKey = Schema.String.pipe(
  Schema.pattern(/^[\x21-\x7e]{1,255}$/, { message: () => "1–255 visible ASCII characters" }),
  Schema.brand("IdempotencyKey")
)

/** @since 0.1.0 @category models */
export type IdempotencyKey = typeof IdempotencyKey.Type

/**
 * A stored first result. `fingerprint` is the command name and the canonical JSON
 * of its encoded input (kept whole rather than hashed, so no two inputs ever
 * collide); `result` is the encoded result.
 *
 * @since 0.1.0
 * @category models
 */
export const IdempotencyRecord = Schema.Struct({
  accountId: AccountId,
  key: Schema.String,
  fingerprint: Schema.String,
  result: Schema.Unknown,
  createdAt: Schema.DateTimeUtc
})

/** @since 0.1.0 @category models */
export type IdempotencyRecord = typeof IdempotencyRecord.Type

/**
 * Canonical JSON: object keys sorted, `undefined` dropped, so equal inputs give
 * equal strings whatever their key order.
 *
 * @since 0.1.0
 * @category fingerprints
 */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        )
      : v
  )
