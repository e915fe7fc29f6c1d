/**
 * The phase of a demand (§4): taking responses → selecting → selection over, a pure
 * function of its stored state, the settings and the current instant (R13, R20,
 * R23, R24, R31, R33).
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import { endOfDate, selectionEndsAt } from "./Deadline.js"
import type { Demand, DemandBrief } from "./Demand.js"
import type { Response, ResponseStatus } from "./Response.js"
import { type ResolvedSettings, serviceMode } from "./Settings.js"

/**
 * - `not_published`: draft, pending review or rejected.
 * - `no_responses`: published in a service mode that takes no responses (R14).
 * - `taking_responses`: R20 holds: responses are accepted now.
 * - `selecting`: intake closed (deadline passed or first adoption, R24) and the
 *   selection window open (R23).
 * - `selection_over`: window passed, selection ended, or the demand is solved.
 *
 * @since 0.1.0
 * @category models
 */
export type Phase = "not_published" | "no_responses" | "taking_responses" | "selecting" | "selection_over"

/**
 * Whether the demand's service mode takes responses (R14).
 *
 * @since 0.1.0
 * @category predicates
 */
export const acceptsResponses = (demand: DemandBrief, settings: ResolvedSettings): boolean =>
  serviceMode(settings, demand.form.serviceMode)?.acceptsResponses ?? false

/**
 * The phase of a demand at `now`.
 *
 * @since 0.1.0
 * @category phase
 */
export const phaseOf = (demand: DemandBrief, now: DateTime.DateTime, settings: ResolvedSettings): Phase => {
  if (demand.state === "solved") return "selection_over"
  if (demand.state !== "published") return "not_published"
  if (!acceptsResponses(demand, settings)) return "no_responses"
  if (selectionOver(demand, now, settings)) return "selection_over"
  if (
    demand.intakeClosedAt === null &&
    DateTime.lessThanOrEqualTo(now, endOfDate(demand.form.responseDeadline, settings))
  ) {
    return "taking_responses"
  }
  return "selecting"
}

/**
 * R23, R24, R31, R33: whether the current round's selection is over at `now`.
 *
 * @since 0.1.0
 * @category phase
 */
export const selectionOver = (
  demand: DemandBrief,
  now: DateTime.DateTime,
  settings: ResolvedSettings
): boolean =>
  demand.selectionEndedAt !== null ||
  demand.state === "solved" ||
  (settings.singleAdoption && demand.adoptedCount > 0) ||
  DateTime.greaterThan(now, selectionEndsAt(demand.form.responseDeadline, settings))

/**
 * The instant selection ends for the current round, if it is still to come or has
 * come by the window (`null` when it ended early or never applies).
 *
 * @since 0.1.0
 * @category phase
 */
export const selectionEndsAtOf = (demand: DemandBrief, settings: ResolvedSettings): DateTime.Utc | null =>
  demand.state === "published" && acceptsResponses(demand, settings) && demand.selectionEndedAt === null
    ? selectionEndsAt(demand.form.responseDeadline, settings)
    : demand.selectionEndedAt

/**
 * The status a reader sees: a response still `submitted` after its round's
 * selection is over, or from an earlier round (R33), reads as `not_adopted` (R25).
 *
 * @since 0.1.0
 * @category phase
 */
export const responseStatus = (
  response: Response,
  demand: Demand,
  now: DateTime.DateTime,
  settings: ResolvedSettings
): ResponseStatus => {
  if (response.status !== "submitted") return response.status
  if (response.round < demand.round) return "not_adopted"
  return (demand.state === "published" || demand.state === "solved") && selectionOver(demand, now, settings)
    ? "not_adopted"
    : "submitted"
}
