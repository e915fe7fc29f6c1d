/**
 * Consultation (咨询/留言, R22): one thread per demand and responding member (a
 * prospective responder or one that responded), with append-only, ordered messages.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Text } from "./Text.js"
import { AccountId, DemandId, MemberId, MessageId, ThreadId } from "./Ids.js"

/**
 * A thread between a responding member (`responderId`) and the demand's managing side.
 *
 * @since 0.1.0
 * @category models
 */
export const Thread = Schema.Struct({
  id: ThreadId,
  demandId: DemandId,
  demandPublisherId: MemberId,
  responderId: MemberId,
  messageCount: Schema.Int,
  createdAt: Schema.DateTimeUtc,
  lastMessageAt: Schema.DateTimeUtc
}).annotations({ identifier: "Thread" })

/** @since 0.1.0 @category models */
export type Thread = typeof Thread.Type

/**
 * The text of a message.
 *
 * @since 0.1.0
 * @category models
 */
export const MessageText = Text(2000)

/**
 * A message; `seq` orders a thread's messages from 1 without gaps.
 *
 * @since 0.1.0
 * @category models
 */
export const Message = Schema.Struct({
  id: MessageId,
  threadId: ThreadId,
  seq: Schema.Int,
  authorAccountId: AccountId,
  side: Schema.Literal("responder", "demand"),
  text: MessageText,
  at: Schema.DateTimeUtc
}).annotations({ identifier: "Message" })

/** @since 0.1.0 @category models */
export type Message = typeof Message.Type
