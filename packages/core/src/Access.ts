/**
 * Who may see and act on what (R2, R3, R4, R5), as pure predicates over an actor.
 *
 * @since 0.1.0
 */
import type { AuditEvent } from "./Audit.js"
import type { Demand } from "./Demand.js"
import { type Actor, isOperator } from "./Member.js"
import type { Response } from "./Response.js"

/**
 * R2: the demand is managed by its publisher's accounts only.
 *
 * @since 0.1.0
 * @category predicates
 */
export const managesDemand = (actor: Actor | null, demand: Pick<Demand, "publisherId">): boolean =>
  actor?.member != null && actor.member.id === demand.publisherId

/**
 * R2: the commissioning enterprise reads its commissioned demands.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isClientOf = (actor: Actor | null, demand: Demand): boolean =>
  actor?.member != null && demand.form.clientId === actor.member.id

/**
 * R2, R5: published and solved demands are public; others only for their managing
 * side, their client and operators.
 *
 * @since 0.1.0
 * @category predicates
 */
export const canReadDemand = (actor: Actor | null, demand: Demand): boolean =>
  demand.state === "published" ||
  demand.state === "solved" ||
  (actor !== null && (isOperator(actor) || managesDemand(actor, demand) || isClientOf(actor, demand)))

/**
 * R2: who may read a demand's progress (service log): its managing side, its
 * client and operators.
 *
 * @since 0.1.0
 * @category predicates
 */
export const canFollowDemand = (actor: Actor | null, demand: Demand): boolean =>
  actor !== null && (isOperator(actor) || managesDemand(actor, demand) || isClientOf(actor, demand))

/**
 * R4: the audit trail's entities whose events belong to a response or its thread.
 * The demand's client does not see them: neither in the demand's trail nor in its
 * own, where those done on its behalf would otherwise be listed.
 *
 * @since 0.1.0
 * @category predicates
 */
export const responsePrivateEntities: ReadonlyArray<AuditEvent["entity"]> = ["response", "thread"]

/**
 * R3: a member cannot respond to a demand it published or that was published on
 * its behalf.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isOwnDemand = (actor: Actor, demand: Demand): boolean =>
  managesDemand(actor, demand) || isClientOf(actor, demand)

/**
 * R4: a response (and its thread) is visible to its responder, the demand's
 * managing side and operators.
 *
 * @since 0.1.0
 * @category predicates
 */
export const canSeeResponse = (actor: Actor | null, response: Response): boolean =>
  actor !== null &&
  (isOperator(actor) ||
    (actor.member !== null &&
      (actor.member.id === response.responderId || actor.member.id === response.demandPublisherId)))
