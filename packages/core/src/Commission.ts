/**
 * Commissions (委托, R40–R41): an enterprise engages a registered transfer
 * institution to act for it.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { AccountId, CommissionId, MemberId } from "./Ids.js"

/**
 * `requested` → `active` | `declined`, or `ended` when the enterprise withdraws its
 * request; `active` → `ended`.
 *
 * @since 0.1.0
 * @category models
 */
export const CommissionState = Schema.Literal("requested", "active", "declined", "ended")

/** @since 0.1.0 @category models */
export type CommissionState = typeof CommissionState.Type

/**
 * A commission. At most one is open (requested or active) per enterprise and
 * institution.
 *
 * @since 0.1.0
 * @category models
 */
export const Commission = Schema.Struct({
  id: CommissionId,
  enterpriseId: MemberId,
  institutionId: MemberId,
  message: Schema.String,
  state: CommissionState,
  requestedBy: AccountId,
  createdAt: Schema.DateTimeUtc,
  decidedAt: Schema.NullOr(Schema.DateTimeUtc),
  endedAt: Schema.NullOr(Schema.DateTimeUtc),
  endedBy: Schema.NullOr(MemberId),
  version: Schema.Int
}).annotations({ identifier: "Commission" })

/** @since 0.1.0 @category models */
export type Commission = typeof Commission.Type

/**
 * Whether a commission still binds its pair (requested or active).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isOpen = (commission: Commission): boolean =>
  commission.state === "requested" || commission.state === "active"
