/**
 * Selection (选标): adoption (R23, R24, R25, R26), ending selection and the
 * non-adoption feedback of R61.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Demand } from "./Demand.js"
import { invalid, invalidState } from "./Errors.js"
import { DemandId, ResponseId } from "./Ids.js"
import type { Ctx } from "./internal/command.js"
import { makeRunner } from "./internal/command.js"
import { makeDemandAccess } from "./internal/demands.js"
import { endSelectionRefusal, makeRoundEnd, reasonText } from "./internal/round.js"
import { ResponseRepository } from "./Persistence.js"
import { phaseOf, roundSelectionEndsAt, selectionOver } from "./Phase.js"
import { Feedback, Response } from "./Response.js"
import { endOfDate, formatLocal } from "./Deadline.js"

/**
 * Input of {@link Selection.endSelection}: optional R61 feedback per response.
 *
 * @since 0.1.0
 * @category inputs
 */
export const EndSelectionInput = Schema.Struct({
  demandId: DemandId,
  feedback: Schema.optional(
    Schema.Array(Schema.Struct({ responseId: ResponseId, feedback: Feedback })).pipe(Schema.maxItems(1000))
  )
})

/**
 * Input of {@link Selection.giveFeedback}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const FeedbackInput = Schema.Struct({ responseId: ResponseId, feedback: Feedback })

/**
 * Use cases of the demand's side during selection.
 *
 * @since 0.1.0
 * @category services
 */
export class Selection extends Effect.Service<Selection>()("@zhongbao/core/Selection", {
  effect: Effect.gen(function* () {
    const { command } = yield* makeRunner
    const demands = yield* makeDemandAccess
    const responses = yield* ResponseRepository
    const endRound = yield* makeRoundEnd

    return {
      /**
       * R23–R26: the managing side adopts a response of the current round (R33: an
       * earlier round's is read-only, also while the restarted demand is in review) while
       * `now ≤ deadline + selection window`; the first adoption closes intake at
       * once (R24), the responder is notified in the same unit of work (R25, R26).
       * With `singleAdoption` on, only one response is adopted per round. The
       * response and its locked demand are read with the actor; the writes (with
       * `singleAdoption`, the end of the round's too) go out with the journal.
       */
      adopt: command(
        {
          name: "adopt",
          input: Schema.Struct({ responseId: ResponseId }),
          output: Response,
          rule: "R23",
          conflictRule: "R26",
          prefetch: demands.lockResponse
        },
        (ctx, _input, found) =>
          Effect.gen(function* () {
            const { response, demand } = yield* demands.managedResponse(ctx.actor, found)
            if (response.round !== demand.round) {
              return yield* invalidState(
                "R33",
                "adopt.earlier_round",
                "responses of an earlier round are read-only"
              )
            }
            if (demand.state !== "published") {
              return yield* invalidState("R23", "adopt.not_published", `the demand is ${demand.state}`)
            }
            if (settingsSingle(ctx) && demand.adoptedCount > 0) {
              return yield* invalidState(
                "R24",
                "adopt.single_adoption",
                "this platform adopts one response per round"
              )
            }
            if (response.status !== "submitted") {
              return yield* invalidState("R23", "adopt.not_submitted", `the response is ${response.status}`)
            }
            if (selectionOver(demand, ctx.now, ctx.settings)) {
              return yield* invalidState(
                "R23",
                "adopt.selection_over",
                `selection ended at ${formatLocal(demand.selectionEndedAt ?? roundSelectionEndsAt(demand, ctx.settings), ctx.settings)}`
              )
            }
            const adopted: Response = {
              ...response,
              status: "adopted",
              adoptedAt: ctx.now,
              updatedAt: ctx.now,
              version: response.version + 1,
              feedback: null
            }
            const single = settingsSingle(ctx)
            yield* ctx.writeLater(responses.update(adopted))
            if (single) yield* endRound(ctx, demand, new Map(), response.id)
            const next = yield* demands.saveLater(ctx, demand, {
              intakeClosedAt: demand.intakeClosedAt ?? ctx.now,
              firstAdoptedAt: demand.firstAdoptedAt ?? ctx.now,
              adoptedCount: demand.adoptedCount + 1,
              ...(single ? { selectionEndedAt: ctx.now } : {})
            })
            yield* ctx.audit({
              entity: "response",
              entityId: response.id,
              demandId: demand.id,
              action: "response.adopted",
              before: "submitted",
              after: "adopted",
              onBehalfOf: demand.form.clientId ?? null,
              members: [response.responderId]
            })
            // R60, R24: the first adoption closes intake; with single adoption it ends
            // selection too. The demand's phase change is its own event.
            const phaseBefore = phaseOf(demand, ctx.now, ctx.settings)
            const phaseAfter = phaseOf(next, ctx.now, ctx.settings)
            if (phaseAfter !== phaseBefore) {
              yield* ctx.audit({
                entity: "demand",
                entityId: demand.id,
                demandId: demand.id,
                action: phaseAfter === "selection_over" ? "selection.ended" : "intake.closed",
                before: phaseBefore,
                after: phaseAfter,
                onBehalfOf: demand.form.clientId ?? null
              })
            }
            yield* ctx.notifyAccount(response.responderAccountId, "response_adopted", response.id, {
              number: demand.number ?? "",
              title: demand.form.title
            })
            return adopted
          })
      ),

      /**
       * R25, R61: the managing side ends selection before the window does; every
       * response not adopted gets its "not adopted" notice, with the feedback given.
       * Selection can end only once intake has closed (the deadline passed, or a
       * response adopted, R24): while R20 holds, responses are still being taken. A
       * demand whose service mode takes no responses has no selection, unless its round
       * holds responses taken before the mode was switched off (R14, `Phase.hasSelection`). A
       * selection that reads as over only by `singleAdoption`, with nothing recorded
       * (`Phase.selectionUnrecorded`), may still be ended.
       * The demand is locked with the actor's read; its update and the round's go out
       * with the journal.
       */
      endSelection: command(
        {
          name: "endSelection",
          input: EndSelectionInput,
          output: Demand,
          rule: "R25",
          rules: { feedback: "R61" },
          prefetch: demands.lock
        },
        (ctx, input, locked) =>
          Effect.gen(function* () {
            const demand = yield* demands.managedOf(ctx.actor, locked)
            const refusal = endSelectionRefusal(demand, ctx.now, ctx.settings)
            if (refusal === "already_over") {
              return yield* invalidState("R25", "selection.already_over", "selection is already over")
            }
            if (refusal === "mode_closed") {
              return yield* invalidState(
                "R14",
                "selection.mode_closed",
                "this demand's service mode takes no responses: there is no selection to end"
              )
            }
            if (refusal === "intake_open") {
              return yield* invalidState(
                "R20",
                "selection.intake_open",
                `responses are taken until ${formatLocal(endOfDate(demand.form.responseDeadline, ctx.settings), ctx.settings)} unless one is adopted first; selection can end after that`
              )
            }
            const open = new Map(
              (yield* responses.listByDemandRound(demand.id, demand.round)).map((r) => [r.id, r])
            )
            const feedback = new Map<ResponseId, Feedback>()
            for (const [i, item] of (input.feedback ?? []).entries()) {
              if (open.get(item.responseId)?.status !== "submitted") {
                return yield* invalid(
                  "R61",
                  `feedback.${i}.responseId`,
                  "feedback.response_unknown",
                  `feedback.${i}.responseId: not a response awaiting a decision in this round`
                )
              }
              if (feedback.has(item.responseId)) {
                return yield* invalid(
                  "R61",
                  `feedback.${i}.responseId`,
                  "feedback.response_twice",
                  `feedback.${i}.responseId: this response is already given feedback earlier in the list`
                )
              }
              feedback.set(item.responseId, item.feedback)
            }
            yield* endRound(ctx, demand, feedback)
            const next = yield* demands.saveLater(ctx, demand, {
              selectionEndedAt: ctx.now,
              intakeClosedAt: demand.intakeClosedAt ?? ctx.now
            })
            yield* ctx.audit({
              entity: "demand",
              entityId: demand.id,
              demandId: demand.id,
              action: "selection.ended",
              before: phaseOf(demand, ctx.now, ctx.settings),
              after: "selection_over",
              onBehalfOf: demand.form.clientId ?? null
            })
            return next
          })
      ),

      /**
       * R61: the managing side gives a response it did not adopt a structured reason;
       * a response of an earlier round is read-only (R33). Until the "not adopted"
       * notice goes out the reason may be revised, and the notice carries the last one.
       * Once the notice has gone without a reason, the reason given follows it in a
       * second "not adopted" notice; once the responder has been told a reason, it is
       * final (`feedback.already_sent`).
       */
      giveFeedback: command(
        {
          name: "giveFeedback",
          input: FeedbackInput,
          output: Response,
          rule: "R61",
          prefetch: demands.lockResponse
        },
        (ctx, input, found) =>
          Effect.gen(function* () {
            const { response, demand } = yield* demands.managedResponse(ctx.actor, found)
            if (response.round !== demand.round) {
              return yield* invalidState(
                "R33",
                "feedback.earlier_round",
                "responses of an earlier round are read-only"
              )
            }
            if (response.status === "adopted" || response.status === "withdrawn") {
              return yield* invalidState(
                "R61",
                "feedback.not_applicable",
                `the response is ${response.status}`
              )
            }
            const noticeSent = response.status === "not_adopted"
            if (noticeSent && response.feedback !== null) {
              return yield* invalidState(
                "R61",
                "feedback.already_sent",
                "the responder has been told the reason already"
              )
            }
            const next: Response = {
              ...response,
              feedback: input.feedback,
              updatedAt: ctx.now,
              version: response.version + 1
            }
            yield* ctx.writeLater(responses.update(next))
            yield* ctx.audit({
              entity: "response",
              entityId: response.id,
              demandId: demand.id,
              action: "response.feedback",
              before: response.feedback?.reason ?? null,
              after: input.feedback.reason,
              reason: input.feedback.text ?? null,
              onBehalfOf: demand.form.clientId ?? null,
              // R61: the responder's own trail lists the reason once it is told it.
              members: noticeSent ? [response.responderId] : []
            })
            if (noticeSent) {
              yield* ctx.notifyAccount(
                response.responderAccountId,
                "response_not_adopted",
                `${response.id}:feedback`,
                { number: demand.number ?? "", title: demand.form.title, reason: reasonText(input.feedback) }
              )
            }
            return next
          })
      )
    }
  })
}) {}

const settingsSingle = (ctx: Ctx) => ctx.settings.singleAdoption
