/**
 * The phase of a demand (§4): taking responses → selecting → selection over, a pure
 * function of its stored state, the settings and the current instant (R13, R20,
 * R23, R24, R31, R33).
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import {
  addDays,
  dateAt,
  endOfDate,
  isOnOrBeforeDeadline,
  type LocalDate,
  selectionEndsAt
} from "./Deadline.js"
import type { Demand, DemandBrief } from "./Demand.js"
import type { Response, ResponseStatus } from "./Response.js"
import { type ResolvedSettings, serviceMode } from "./Settings.js"

/**
 * - `not_published`: draft, pending review or rejected.
 * - `no_responses`: published in a service mode that takes no responses (R14), its
 *   round holding none.
 * - `taking_responses`: R20 holds: responses are accepted now.
 * - `selecting`: intake closed (deadline passed or first adoption, R24) and the
 *   selection window open (R23); also a round holding responses in a service mode
 *   the platform switched off since (R14): it takes no more, and its selection
 *   runs to its window's end as any other (R25).
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
 * R14, R25: whether the current round has a selection: its service mode takes
 * responses, or the round holds responses taken before the platform switched the
 * mode off.
 *
 * @since 0.2.0
 * @category predicates
 */
export const hasSelection = (demand: DemandBrief, settings: ResolvedSettings): boolean =>
  acceptsResponses(demand, settings) || demand.responseCount > 0

/**
 * R23: the days of the current round's selection window: its own, fixed when it was
 * approved (`Demand.selectionWindowDays`), or `selectionWindowDays` of the settings
 * (or of a {@link StatusView}) for a round that has none (approved before rounds
 * kept their window).
 *
 * @since 0.2.0
 * @category phase
 */
export const windowDaysOf = (
  demand: Pick<DemandBrief, "selectionWindowDays">,
  settings: Pick<ResolvedSettings, "selectionWindowDays">
): number => demand.selectionWindowDays ?? settings.selectionWindowDays

/**
 * R23: the last instant of the current round's selection window, by its own window
 * ({@link windowDaysOf}).
 *
 * @since 0.2.0
 * @category phase
 */
export const roundSelectionEndsAt = (demand: DemandBrief, settings: ResolvedSettings): DateTime.Utc =>
  selectionEndsAt(demand.form.responseDeadline, settings, windowDaysOf(demand, settings))

/**
 * The phase of a demand at `now`.
 *
 * @since 0.1.0
 * @category phase
 */
export const phaseOf = (demand: DemandBrief, now: DateTime.DateTime, settings: ResolvedSettings): Phase => {
  if (demand.state === "solved") return "selection_over"
  if (demand.state !== "published") return "not_published"
  if (!hasSelection(demand, settings)) return "no_responses"
  if (selectionOver(demand, now, settings)) return "selection_over"
  if (!acceptsResponses(demand, settings)) return "selecting"
  return demand.intakeClosedAt === null && isOnOrBeforeDeadline(now, demand.form.responseDeadline, settings)
    ? "taking_responses"
    : "selecting"
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
  DateTime.greaterThan(now, roundSelectionEndsAt(demand, settings))

/**
 * R24, R25: whether the current round's selection reads as over only because
 * `singleAdoption` is on and a response was adopted, with nothing recorded: the
 * adoption was made while the setting was off (under it, an adoption ends the round
 * itself). The managing side may still end such a selection, which records it and
 * sends the round's "not adopted" notices; the window's sweep would, at its end.
 *
 * @since 0.1.3
 * @category phase
 */
export const selectionUnrecorded = (
  demand: DemandBrief,
  now: DateTime.DateTime,
  settings: ResolvedSettings
): boolean =>
  demand.state === "published" &&
  demand.selectionEndedAt === null &&
  hasSelection(demand, settings) &&
  settings.singleAdoption &&
  demand.adoptedCount > 0 &&
  DateTime.lessThanOrEqualTo(now, roundSelectionEndsAt(demand, settings))

/**
 * The instant selection ends for the current round, if it is still to come or has
 * come by the window (`null` when it ended early or never applies).
 *
 * @since 0.1.0
 * @category phase
 */
export const selectionEndsAtOf = (demand: DemandBrief, settings: ResolvedSettings): DateTime.Utc | null =>
  demand.state === "published" && hasSelection(demand, settings) && demand.selectionEndedAt === null
    ? roundSelectionEndsAt(demand, settings)
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

/**
 * When selection windows are over at an instant, from stored rows alone (R23): a
 * round's window is over when its response deadline is before `overBefore` less its
 * days ({@link windowDaysOf}: the round's own, or `selectionWindowDays` here for a
 * round that has none). `overBefore` is the earliest date whose end is not past yet:
 * a window whose last date is before it is over. The sweep lists the rounds due by it
 * (`Persistence.DemandQuery.windowOver`).
 *
 * @since 0.2.0
 * @category phase
 */
export interface WindowView {
  readonly overBefore: LocalDate
  readonly selectionWindowDays: number
}

/**
 * What it takes to tell, from stored rows alone, the status a reader is shown at an
 * instant (§9: the response lists filter by it): a response still `submitted` whose
 * round's selection window ended reads as `not_adopted` at once, while its stored
 * status changes only when the sweeper gets to it.
 *
 * - the {@link WindowView}: whether the round's window is over (R23);
 * - `singleAdoption`: the platform setting (R24): one adoption ends selection.
 *
 * @since 0.1.0
 * @category phase
 */
export interface StatusView extends WindowView {
  readonly singleAdoption: boolean
}

/**
 * The {@link WindowView} at `now`. A window is over once `now` is past the end of its
 * last date ({@link roundSelectionEndsAt}); `overBefore` is today, or the day after
 * it should `now` already be past today's end, so that a window is over by the view
 * exactly when {@link selectionOver} says so. A date ends at its later 23:59:59.999
 * where clocks go back over midnight (`Deadline.endOfDate`), so no instant of a date
 * falls after its end in the zone data of 2000–2037 (every IANA zone was checked);
 * the guard keeps the two functions agreeing should a zone ever do so.
 *
 * @since 0.2.0
 * @category phase
 */
export const windowViewAt = (now: DateTime.DateTime, settings: ResolvedSettings): WindowView => {
  const today = dateAt(now, settings)
  return {
    overBefore: DateTime.greaterThan(now, endOfDate(today, settings)) ? addDays(today, 1) : today,
    selectionWindowDays: settings.selectionWindowDays
  }
}

/**
 * R23: whether the current round's selection window is over under a
 * {@link WindowView}, as adapters tell it from the round's deadline and window.
 *
 * @since 0.2.0
 * @category phase
 */
export const windowOver = (
  demand: Pick<DemandBrief, "selectionWindowDays"> & {
    readonly form: Pick<Demand["form"], "responseDeadline">
  },
  view: WindowView
): boolean => demand.form.responseDeadline < addDays(view.overBefore, -windowDaysOf(demand, view))

/**
 * The {@link StatusView} at `now`: the {@link WindowView} and the platform's
 * `singleAdoption`.
 *
 * @since 0.1.0
 * @category phase
 */
export const statusViewAt = (now: DateTime.DateTime, settings: ResolvedSettings): StatusView => ({
  ...windowViewAt(now, settings),
  singleAdoption: settings.singleAdoption
})

/**
 * The status a reader is shown, under a {@link StatusView}: {@link responseStatus}
 * at the view's instant, from the response's stored status and round and its
 * demand's state, round, deadline and window, end of selection and adoptions.
 * Adapters filter lists by it (`Persistence.ResponseQuery.shown`).
 *
 * @since 0.1.0
 * @category phase
 */
export const shownStatus = (
  response: Pick<Response, "status" | "round">,
  demand: Pick<Demand, "state" | "round" | "selectionEndedAt" | "selectionWindowDays" | "adoptedCount"> & {
    readonly form: Pick<Demand["form"], "responseDeadline">
  },
  view: StatusView
): ResponseStatus => {
  if (response.status !== "submitted") return response.status
  if (response.round < demand.round) return "not_adopted"
  if (demand.state !== "published" && demand.state !== "solved") return "submitted"
  const over =
    demand.selectionEndedAt !== null ||
    demand.state === "solved" ||
    (view.singleAdoption && demand.adoptedCount > 0) ||
    windowOver(demand, view)
  return over ? "not_adopted" : "submitted"
}
