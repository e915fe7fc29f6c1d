import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type { Demand, DemandBrief } from "../Demand.js"
import type { InfrastructureError, StaleWrite, UniqueViolation } from "../Errors.js"
import type { ResponseId } from "../Ids.js"
import { ResponseRepository } from "../Persistence.js"
import { phaseOf, selectionOver, selectionUnrecorded } from "../Phase.js"
import { zhCN } from "../Labels.js"
import type { Feedback, Response } from "../Response.js"
import type { ResolvedSettings } from "../Settings.js"
import type { Ctx } from "./command.js"

/**
 * @internal R61: the reason as the notice carries it: its name (`Labels.zhCN`), then
 * the text given without its closing full stop (the template ends the sentence);
 * without feedback, {@link noReason} (a template's variable is never empty: providers
 * refuse empty values, and the text would end at its colon).
 */
export const reasonText = (feedback: Feedback | null): string =>
  feedback === null
    ? noReason
    : feedback.text === undefined
      ? zhCN.notAdoptedReason[feedback.reason]
      : `${zhCN.notAdoptedReason[feedback.reason]}，${feedback.text.replace(/[。.]+$/, "")}`

/** @internal The reason a "not adopted" notice carries when none was given (R25 without R61). */
export const noReason = "需求方暂未填写"

/**
 * @internal
 * R25 (with R14, R20): why the managing side may not end the current round's
 * selection now, or `undefined` when it may: `endSelection` refuses with the reason,
 * and `View` offers `end_selection` exactly when there is none.
 */
export const endSelectionRefusal = (
  demand: DemandBrief,
  now: DateTime.DateTime,
  settings: ResolvedSettings
): "already_over" | "mode_closed" | "intake_open" | undefined => {
  if (
    demand.state !== "published" ||
    (selectionOver(demand, now, settings) && !selectionUnrecorded(demand, now, settings))
  ) {
    return "already_over"
  }
  const phase = phaseOf(demand, now, settings)
  return phase === "no_responses" ? "mode_closed" : phase === "taking_responses" ? "intake_open" : undefined
}

/**
 * @internal
 * R25, R61: ends the selection of a demand's current round: every response still
 * submitted in it (but `adopting`, the one an adoption is taking) becomes not adopted
 * (with its feedback, if given) and its responder is notified once. The updates are
 * deferred to the journal (`Ctx.writeLater`): with an adapter that pipelines, they
 * go out in one round trip however many responses the round had.
 */
export const makeRoundEnd = Effect.gen(function* () {
  const responses = yield* ResponseRepository
  return (
    ctx: Pick<Ctx, "now" | "settings" | "audit" | "notifyAccount"> & {
      readonly writeLater: (
        write: Effect.Effect<unknown, StaleWrite | UniqueViolation | InfrastructureError>
      ) => Effect.Effect<void>
    },
    demand: Demand,
    feedback: ReadonlyMap<ResponseId, Feedback> = new Map(),
    adopting?: ResponseId
  ) =>
    Effect.gen(function* () {
      const open = (yield* responses.listByDemandRound(demand.id, demand.round)).filter(
        (r) => r.status === "submitted" && r.id !== adopting
      )
      for (const r of open) {
        const next: Response = {
          ...r,
          status: "not_adopted",
          feedback: feedback.get(r.id) ?? r.feedback,
          updatedAt: ctx.now,
          version: r.version + 1
        }
        yield* ctx.writeLater(responses.update(next))
        yield* ctx.audit({
          entity: "response",
          entityId: r.id,
          demandId: demand.id,
          action: "response.not_adopted",
          before: "submitted",
          after: "not_adopted",
          reason: next.feedback === null ? null : reasonText(next.feedback),
          onBehalfOf: demand.form.clientId ?? null,
          members: [r.responderId, demand.publisherId]
        })
        yield* ctx.notifyAccount(r.responderAccountId, "response_not_adopted", r.id, {
          number: demand.number ?? "",
          title: demand.form.title,
          reason: reasonText(next.feedback)
        })
      }
      return open.length
    })
})
