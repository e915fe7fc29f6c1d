/**
 * Branded identifiers. Ids are opaque strings (UUIDs when core makes them); an
 * adapter may store them as `uuid` or `text`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const controls = /[\p{Cc}\p{Cs}]/u

/**
 * An id branded `brand`: 1 to 64 characters, none a control character (PostgreSQL
 * text cannot even hold U+0000) or an unpaired surrogate (stored as U+FFFD, it
 * would name another id).
 *
 * @since 0.1.1
 * @category ids
 */
export const Id = <B extends string>(brand: B) =>
  Schema.String.pipe(
    Schema.minLength(1),
    Schema.maxLength(64),
    Schema.filter((s) => !controls.test(s), { message: () => "an id without control characters" }),
    Schema.brand(brand)
  )

/** @since 0.1.0 @category ids */
export const MemberId = Id("MemberId")
/** @since 0.1.0 @category ids */
export type MemberId = typeof MemberId.Type
/** @since 0.1.0 @category ids */
export const AccountId = Id("AccountId")
/** @since 0.1.0 @category ids */
export type AccountId = typeof AccountId.Type
/** @since 0.1.0 @category ids */
export const TechnologyManagerId = Id("TechnologyManagerId")
/** @since 0.1.0 @category ids */
export type TechnologyManagerId = typeof TechnologyManagerId.Type
/** @since 0.1.0 @category ids */
export const DemandId = Id("DemandId")
/** @since 0.1.0 @category ids */
export type DemandId = typeof DemandId.Type
/** @since 0.1.0 @category ids */
export const ResponseId = Id("ResponseId")
/** @since 0.1.0 @category ids */
export type ResponseId = typeof ResponseId.Type
/** @since 0.1.0 @category ids */
export const ThreadId = Id("ThreadId")
/** @since 0.1.0 @category ids */
export type ThreadId = typeof ThreadId.Type
/** @since 0.1.0 @category ids */
export const MessageId = Id("MessageId")
/** @since 0.1.0 @category ids */
export type MessageId = typeof MessageId.Type
/** @since 0.1.0 @category ids */
export const ServiceLogEntryId = Id("ServiceLogEntryId")
/** @since 0.1.0 @category ids */
export type ServiceLogEntryId = typeof ServiceLogEntryId.Type
/** @since 0.1.0 @category ids */
export const CommissionId = Id("CommissionId")
/** @since 0.1.0 @category ids */
export type CommissionId = typeof CommissionId.Type
/** @since 0.1.0 @category ids */
export const AuditEventId = Id("AuditEventId")
/** @since 0.1.0 @category ids */
export type AuditEventId = typeof AuditEventId.Type
/** @since 0.1.0 @category ids */
export const OutboxMessageId = Id("OutboxMessageId")
/** @since 0.1.0 @category ids */
export type OutboxMessageId = typeof OutboxMessageId.Type
/** @since 0.1.0 @category ids */
export const FileId = Id("FileId")
/** @since 0.1.0 @category ids */
export type FileId = typeof FileId.Type

let lastMillis = 0
const pool = new Uint16Array(4096)
let poolOffset = pool.length
let sequence = 0

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0")

/**
 * A new identifier: a UUID version 7 (RFC 9562), whose first 48 bits are the
 * creation time in milliseconds and the next 12 a counter within that millisecond,
 * so identifiers made later in a process sort after earlier ones. Lists order rows
 * by their sort key and then by id; ids made in one unit of work at one instant
 * therefore list in the order they were made. The time part reads `Date.now()`
 * only to order ids, never as a domain instant (those come from effect's `Clock`);
 * the rest is random from Web Crypto, drawn 8 KiB at a time. Hand-written because the `uuid` package's v7
 * offers no monotonic counter in its CommonJS build.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A extends string>(): A => {
  let millis = Date.now()
  if (millis <= lastMillis) {
    millis = lastMillis
    sequence += 1
    if (sequence > 0xfff) {
      millis += 1
      sequence = 0
    }
  } else {
    sequence = 0
  }
  lastMillis = millis
  if (poolOffset + 4 > pool.length) {
    globalThis.crypto.getRandomValues(pool)
    poolOffset = 0
  }
  const random = pool.subarray(poolOffset, poolOffset + 4)
  poolOffset += 4
  const high = Math.floor(millis / 0x10000)
  const low = millis % 0x10000
  return `${hex(high, 8)}-${hex(low, 4)}-${hex(0x7000 | sequence, 4)}-${hex(0x8000 | (random[0]! & 0x3fff), 4)}-${hex(random[1]!, 4)}${hex(random[2]!, 4)}${hex(random[3]!, 4)}` as A
}
