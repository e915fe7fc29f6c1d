/**
 * Branded identifiers. Ids are opaque strings (UUIDs when core makes them); an
 * adapter may store them as `uuid` or `text`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const Id = <B extends string>(brand: B) =>
  Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64), Schema.brand(brand))

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

/**
 * A new random identifier (UUID v4). Uses the Web Crypto `randomUUID` available in
 * Node ≥ 20 and browsers; it reads no clock and does no I/O.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A extends string>(): A => globalThis.crypto.randomUUID() as A
