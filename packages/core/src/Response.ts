/**
 * Responses (应答, R20–R21) and the non-adoption feedback of R61.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Text } from "./Text.js"
import { AccountId, DemandId, FileId, MemberId, ResponseId } from "./Ids.js"

/**
 * The proposal a responder submits or revises.
 *
 * @since 0.1.0
 * @category models
 */
export const Proposal = Schema.Struct({
  title: Text(100),
  content: Text(5000),
  attachments: Schema.optional(Schema.Array(FileId).pipe(Schema.maxItems(10)))
}).annotations({ identifier: "Proposal" })

/** @since 0.1.0 @category models */
export type Proposal = typeof Proposal.Type

/**
 * Stored status of a response. A response still `submitted` when its round's
 * selection is over reads as `not_adopted` (see `Phase.responseStatus`).
 *
 * @since 0.1.0
 * @category models
 */
export const ResponseStatus = Schema.Literal("submitted", "adopted", "not_adopted", "withdrawn")

/** @since 0.1.0 @category models */
export type ResponseStatus = typeof ResponseStatus.Type

/**
 * R61: the structured reasons a submitter gives a response it did not adopt.
 *
 * @since 0.1.0
 * @category models
 */
export const NotAdoptedReason = Schema.Literal(
  "not_relevant",
  "cost_too_high",
  "maturity_too_low",
  "ip_conflict",
  "other"
)

/** @since 0.1.0 @category models */
export type NotAdoptedReason = typeof NotAdoptedReason.Type

/**
 * R61 feedback: a structured reason and an optional text, whatever the reason
 * (`other` included: the reason alone tells the responder it was none of the listed).
 *
 * @since 0.1.0
 * @category models
 */
export const Feedback = Schema.Struct({
  reason: NotAdoptedReason,
  text: Schema.optional(Text(500))
}).annotations({ identifier: "Feedback" })

/** @since 0.1.0 @category models */
export type Feedback = typeof Feedback.Type

/**
 * A response as stored. `demandPublisherId` copies the demand's managing member so
 * "responses submitted to me" needs no join.
 *
 * @since 0.1.0
 * @category models
 */
export const Response = Schema.Struct({
  id: ResponseId,
  demandId: DemandId,
  demandPublisherId: MemberId,
  round: Schema.Int,
  responderId: MemberId,
  responderAccountId: AccountId,
  proposal: Schema.typeSchema(Proposal),
  status: ResponseStatus,
  feedback: Schema.NullOr(Schema.typeSchema(Feedback)),
  submittedAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc,
  adoptedAt: Schema.NullOr(Schema.DateTimeUtc),
  version: Schema.Int
}).annotations({ identifier: "Response" })

/** @since 0.1.0 @category models */
export type Response = typeof Response.Type

/**
 * R21: whether a response is the responder's active one in its round (one per
 * responder per round).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isActive = (response: Response): boolean => response.status !== "withdrawn"
