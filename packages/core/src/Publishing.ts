/**
 * Drafting, editing and submitting demands (R1, R2, R10, R11, R13, R14, R41).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Demand, DemandForm, draft as draftDemand } from "./Demand.js"
import { denied, invalidState } from "./Errors.js"
import * as Ids from "./Ids.js"
import { DemandId } from "./Ids.js"
import { makeRunner } from "./internal/command.js"
import { makeCommissionActive } from "./internal/commissioned.js"
import { makeResponded } from "./internal/responded.js"
import { checkClientKept, formRules, makeFormCheck } from "./internal/demandForm.js"
import { makeDemandAccess } from "./internal/demands.js"
import * as Revision from "./Revision.js"
import { DemandView, view } from "./View.js"

/**
 * Input of {@link Publishing.edit}: the form as it is to be, whole, and the demand's
 * versions the caller read it at (`ifVersion`, or `*`: the edit is refused if it
 * changed since).
 *
 * @since 0.1.0
 * @category inputs
 */
export const EditInput = Schema.Struct({
  demandId: DemandId,
  form: DemandForm,
  ifVersion: Schema.optional(Revision.Expected)
})

/**
 * Input of commands on one demand.
 *
 * @since 0.1.0
 * @category inputs
 */
export const DemandRef = Schema.Struct({ demandId: DemandId })

/**
 * Use cases of publishing.
 *
 * @since 0.1.0
 * @category services
 */
export class Publishing extends Effect.Service<Publishing>()("@zhongbao/core/Publishing", {
  effect: Effect.gen(function* () {
    const { command, query } = yield* makeRunner
    const checkForm = yield* makeFormCheck
    const demands = yield* makeDemandAccess
    const commissionActive = yield* makeCommissionActive
    const responded = yield* makeResponded

    return {
      /**
       * R1, R10, R41: an enterprise drafts its own demand, a registered institution a
       * demand of its own or on behalf of a commissioning enterprise.
       */
      draft: command(
        { name: "draftDemand", input: DemandForm, output: Demand, rule: "R10", rules: formRules() },
        (ctx, form) =>
          Effect.gen(function* () {
            const publisher = ctx.actor.member
            if (
              publisher === null ||
              (publisher.kind !== "enterprise" && publisher.kind !== "transfer_institution")
            ) {
              return yield* denied(
                "R1",
                "demand.publisher_kind",
                "only enterprises and registered technology transfer institutions publish demands"
              )
            }
            yield* checkForm(ctx, publisher, form, false)
            const demand = draftDemand({
              id: Ids.make(),
              publisherId: publisher.id,
              createdBy: ctx.actor.account.id,
              form,
              at: ctx.now
            })
            yield* demands.repo.insert(demand)
            yield* ctx.audit({
              entity: "demand",
              entityId: demand.id,
              demandId: demand.id,
              action: "demand.drafted",
              after: "draft",
              onBehalfOf: form.clientId ?? null
            })
            return demand
          })
      ),

      /**
       * R11: a draft or rejected demand is edited by its managing side. A demand that
       * has its number (restarted, R33, then rejected) keeps its client. The form is
       * replaced whole: an edit naming the version it was read at (`ifVersion`) is
       * refused if the demand changed since (`revision.stale`).
       */
      edit: command(
        {
          name: "editDemand",
          input: EditInput,
          output: Demand,
          rule: "R10",
          rules: formRules("form.")
        },
        (ctx, input) =>
          Effect.gen(function* () {
            const demand = yield* demands.managed(ctx.actor, input.demandId)
            yield* Revision.checkVersion(demand.version, input.ifVersion, "R11", "demand")
            if (demand.state !== "draft" && demand.state !== "rejected") {
              return yield* invalidState(
                "R11",
                "demand.not_editable",
                "only a draft or rejected demand can be edited"
              )
            }
            yield* checkClientKept(demand, input.form)
            yield* checkForm(ctx, ctx.actor.member!, input.form, false, "form.")
            const next = yield* demands.save(demand, { form: input.form }, ctx.now)
            yield* ctx.audit({
              entity: "demand",
              entityId: demand.id,
              demandId: demand.id,
              action: "demand.edited",
              before: demand.state,
              after: demand.state,
              onBehalfOf: next.form.clientId ?? null
            })
            return next
          })
      ),

      /** R11: submitting sends a draft or rejected demand to review. */
      submit: command({ name: "submitDemand", input: DemandRef, output: Demand, rule: "R11" }, (ctx, input) =>
        Effect.gen(function* () {
          const demand = yield* demands.managed(ctx.actor, input.demandId)
          if (demand.state !== "draft" && demand.state !== "rejected") {
            return yield* invalidState(
              "R11",
              "demand.not_submittable",
              "only a draft or rejected demand can be submitted"
            )
          }
          yield* checkForm(ctx, ctx.actor.member!, demand.form, true)
          const next = yield* demands.save(
            demand,
            { state: "pending_review", submittedAt: ctx.now, rejectionReason: null },
            ctx.now
          )
          yield* ctx.audit({
            entity: "demand",
            entityId: demand.id,
            demandId: demand.id,
            action: "demand.submitted",
            before: demand.state,
            after: "pending_review",
            onBehalfOf: demand.form.clientId ?? null
          })
          return next
        })
      ),

      /** R2, R5: one demand as the reader may see it; anonymous readers see published ones (actions: §9, R21, R41). */
      get: query({ input: DemandRef, rule: "R5", anonymous: true }, (ctx, input) =>
        Effect.flatMap(demands.readable(ctx.actor, input.demandId), (demand) =>
          Effect.map(
            Effect.zip(
              commissionActive(ctx.actor, [demand]),
              responded(ctx.actor, ctx.now, ctx.settings, [demand])
            ),
            ([active, answered]) =>
              view(demand, ctx.actor, ctx.now, ctx.settings, active(demand), answered(demand))
          )
        )
      )
    }
  })
}) {}

/**
 * Schema of what {@link Publishing.get} returns.
 *
 * @since 0.1.0
 * @category outputs
 */
export { DemandView }
