/**
 * What readers are shown of a demand: the stored demand with its phase, the end of
 * its selection window and the actions the reader may take now (§9).
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import { canFollowDemand, managesDemand } from "./Access.js"
import { endOfDate, isAllowedDeadline } from "./Deadline.js"
import { Demand, type DemandBrief } from "./Demand.js"
import type { Actor } from "./Member.js"
import { acceptsResponses, phaseOf, selectionEndsAtOf } from "./Phase.js"
import { endSelectionRefusal } from "./internal/round.js"
import type { ResolvedSettings } from "./Settings.js"

/**
 * The actions a reader may take on a demand.
 *
 * @since 0.1.0
 * @category models
 */
export const Action = Schema.Literal(
  "edit",
  "submit",
  "respond",
  "consult",
  "view_responses",
  "adopt",
  "end_selection",
  "log_service",
  "record_solved",
  "record_unsolved",
  "restart",
  "review"
)

/** @since 0.1.0 @category models */
export type Action = typeof Action.Type

/**
 * A demand as readers see it.
 *
 * @since 0.1.0
 * @category models
 */
export const DemandView = Schema.Struct({
  demand: Demand,
  phase: Schema.Literal("not_published", "no_responses", "taking_responses", "selecting", "selection_over"),
  deadlineEndsAt: Schema.DateTimeUtc,
  selectionEndsAt: Schema.NullOr(Schema.DateTimeUtc),
  actions: Schema.Array(Action)
}).annotations({ identifier: "DemandView" })

/** @since 0.1.0 @category models */
export type DemandView = typeof DemandView.Type

/**
 * R41: whether the actions `actor` may take on `demand` depend on the commission
 * behind it. A demand that names a client goes to review again (submitted, restarted,
 * or edited once numbered, which keeps the client: R33) only while the
 * institution's commission from that client is active.
 *
 * @since 0.1.0
 * @category views
 */
export const dependsOnCommission = (demand: DemandBrief, actor: Actor | null): boolean =>
  demand.form.clientId !== undefined &&
  managesDemand(actor, demand) &&
  (demand.state === "draft" ||
    demand.state === "rejected" ||
    (demand.state === "published" && demand.outcome === "unsolved"))

/**
 * R21, R14: whether the actions offered to `actor` on `demand` at `now` depend on
 * whether the actor's member already has an active response in the demand's round:
 * a member that neither manages nor commissioned a demand taking responses (`respond`
 * then is not offered), or a published one in a mode switched off since it took
 * responses (`consult` then is).
 *
 * @since 0.1.1
 * @category views
 */
export const dependsOnResponse = (
  demand: DemandBrief,
  actor: Actor | null,
  now: DateTime.DateTime,
  settings: ResolvedSettings
): boolean =>
  actor !== null &&
  actor.member !== null &&
  actor.account.role !== "operator" &&
  !managesDemand(actor, demand) &&
  demand.form.clientId !== actor.member.id &&
  (phaseOf(demand, now, settings) === "taking_responses" ||
    (demand.state === "published" && demand.responseCount > 0 && !acceptsResponses(demand, settings)))

/**
 * §9 "actions allowed now": what `actor` may do with `demand` at `now`.
 * `commissionActive` is whether the commission behind a demand that names a client
 * is active (R41; see {@link dependsOnCommission}): once it has ended, such a demand
 * offers no `submit` or `restart`, and no `edit` once numbered. `responded` is
 * whether the actor's member has an active response in the demand's round (R21;
 * see {@link dependsOnResponse}): then it is offered no `respond`. `submit` is
 * offered only while the saved response deadline is one R13 allows at `now` (else
 * only `edit`, to change it), `adopt` while the round holds a response not adopted
 * or withdrawn yet, and `view_responses` to the managing side once the
 * demand has a number: R23 lets the submitter read responses at any time, and R33
 * keeps earlier rounds' readable after a restart, under review or rejected.
 * `consult` is offered to a prospective responder while the demand is published in a
 * mode that takes responses, and to a responder of its round whatever the mode (R22,
 * R14): `Consulting.ask`, which then succeeds. The
 * managing side is not offered it on the demand: it writes per thread or per response
 * (`Consulting.reply`, `Consulting.askResponder`), from the rows of its lists.
 *
 * @since 0.1.0
 * @category views
 */
export const actionsOf = (
  demand: DemandBrief,
  actor: Actor | null,
  now: DateTime.DateTime,
  settings: ResolvedSettings,
  commissionActive = true,
  responded = false
): ReadonlyArray<Action> => {
  const out: Array<Action> = []
  if (actor === null) return out
  const phase = phaseOf(demand, now, settings)
  if (actor.account.role === "operator") {
    if (demand.state === "pending_review") out.push("review")
    if (demand.state !== "draft") out.push("view_responses")
    return out
  }
  if (managesDemand(actor, demand)) {
    const toReview = commissionActive || demand.form.clientId === undefined
    if (demand.state === "draft" || demand.state === "rejected") {
      if (toReview || demand.number === null) out.push("edit")
      if (toReview && isAllowedDeadline(demand.form.responseDeadline, now, settings)) out.push("submit")
    }
    if (demand.number !== null) out.push("view_responses")
    // R23: only while the round holds a response still submitted (withdrawn ones leave
    // the count, adopted ones stay in it).
    if ((phase === "taking_responses" || phase === "selecting") && demand.responseCount > demand.adoptedCount)
      out.push("adopt")
    if (endSelectionRefusal(demand, now, settings) === undefined) out.push("end_selection")
    if (demand.state === "published") {
      out.push("log_service", "record_solved")
      if (demand.outcome !== "unsolved") out.push("record_unsolved")
      if (
        toReview &&
        demand.outcome === "unsolved" &&
        DateTime.greaterThan(now, endOfDate(demand.form.responseDeadline, settings))
      ) {
        out.push("restart")
      }
    }
    return out
  }
  if (demand.form.clientId === actor.member?.id) return out
  if (demand.state === "published" && (acceptsResponses(demand, settings) || responded)) out.push("consult")
  if (phase === "taking_responses" && !responded) out.push("respond")
  return out
}

/** Anonymous readers do not see the contact person's name and phone (personal data). */
const withoutContact = (demand: Demand): Demand => {
  if (demand.form.contact === undefined) return demand
  const { contact: _contact, ...form } = demand.form
  return { ...demand, form }
}

/**
 * R31: a solved demand's service fee is between its institution and its client: only
 * those who follow the demand's progress (R2) and operators read it.
 */
const withoutFee = (demand: Demand): Demand =>
  demand.serviceFee === null ? demand : { ...demand, serviceFee: null }

/** The demand as `actor` reads it. */
const shown = (demand: Demand, actor: Actor | null): Demand =>
  actor === null
    ? withoutFee(withoutContact(demand))
    : canFollowDemand(actor, demand)
      ? demand
      : withoutFee(demand)

/**
 * The view of `demand` for `actor` at `now`. Anonymous readers get the demand
 * without its contact person (the name and phone are personal data); the service fee
 * (R31) is `null` but for its managing side, its client and operators.
 * `commissionActive` and `responded` as for {@link actionsOf}.
 *
 * @since 0.1.0
 * @category views
 */
export const view = (
  demand: Demand,
  actor: Actor | null,
  now: DateTime.Utc,
  settings: ResolvedSettings,
  commissionActive = true,
  responded = false
): DemandView => ({
  demand: shown(demand, actor),
  phase: phaseOf(demand, now, settings),
  deadlineEndsAt: endOfDate(demand.form.responseDeadline, settings),
  selectionEndsAt: selectionEndsAtOf(demand, settings),
  actions: actionsOf(demand, actor, now, settings, commissionActive, responded)
})
