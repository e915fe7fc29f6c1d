/**
 * The operator's review (R11), numbering on approval (R12) and the deadline rule
 * checked then (R13).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Text } from "./Text.js"
import { dateAt, yearAt } from "./Deadline.js"
import { Demand, formatNumber } from "./Demand.js"
import { denied, invalidState } from "./Errors.js"
import { DemandId } from "./Ids.js"
import { makeRunner } from "./internal/command.js"
import { makeDemandAccess } from "./internal/demands.js"
import { checkDeadlineWindow, checkTaxonomy } from "./internal/demandForm.js"
import { pageOf } from "./internal/paging.js"
import { isOperator } from "./Member.js"
import { PageRequest } from "./Pagination.js"
import {
  CommissionRepository,
  DemandNumbering,
  MemberRepository,
  TechnologyManagerRepository
} from "./Persistence.js"
import * as SortKeys from "./SortKeys.js"
import * as Option from "effect/Option"

/**
 * Input of {@link Review.reject}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const RejectInput = Schema.Struct({
  demandId: DemandId,
  reason: Text(500)
})

const operatorOnly = denied("R11", "operator.required", "only a platform operator reviews demands")

/**
 * Use cases of review.
 *
 * @since 0.1.0
 * @category services
 */
export class Review extends Effect.Service<Review>()("@zhongbao/core/Review", {
  effect: Effect.gen(function* () {
    const { command, query } = yield* makeRunner
    const demands = yield* makeDemandAccess
    const numbering = yield* DemandNumbering
    const commissions = yield* CommissionRepository
    const members = yield* MemberRepository
    const managers = yield* TechnologyManagerRepository

    return {
      /**
       * R11, R12, R13: approval publishes the demand; a first approval numbers it
       * with the next number of the approval year in the platform time zone; a
       * restarted demand keeps its number (R33). The deadline is checked again against
       * both bounds of `Deadline.isAllowedDeadline`: time has passed since submission,
       * and the settings may have changed; so are the technical field (R10) and the
       * service mode (R14), against the settings now, the commission of a demand
       * published on behalf (R41) and the technology manager it names, which must
       * still be active (R1).
       */
      approve: command(
        { name: "approveDemand", input: Schema.Struct({ demandId: DemandId }), output: Demand, rule: "R11" },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly
            const demand = yield* demands.readable(ctx.actor, input.demandId, true)
            if (demand.state !== "pending_review") {
              return yield* invalidState(
                "R11",
                "demand.not_pending",
                "only a demand pending review can be approved"
              )
            }
            if (demand.form.clientId !== undefined) {
              const commission = yield* commissions.findOpenForShare(demand.form.clientId, demand.publisherId)
              if (Option.isNone(commission) || commission.value.state !== "active") {
                return yield* invalidState(
                  "R41",
                  "commission.not_active",
                  "the commission behind this demand is no longer active; reject the demand"
                )
              }
            }
            if (demand.form.technologyManagerId !== undefined) {
              const manager = yield* managers.findByIdForShare(demand.form.technologyManagerId)
              if (!Option.exists(manager, (m) => m.active)) {
                return yield* invalidState(
                  "R1",
                  "demand.manager_inactive",
                  "the technology manager this demand names was retired since it was submitted; reject the demand so it can be corrected"
                )
              }
            }
            const publisher = yield* members.findById(demand.publisherId)
            if (Option.isSome(publisher)) {
              yield* checkTaxonomy(
                ctx.settings,
                publisher.value,
                demand.form,
                "",
                " (the settings changed since the form was checked); reject the demand so it can be corrected"
              )
            }
            yield* checkDeadlineWindow(ctx, demand.form, "", "; reject the demand so it can be corrected")
            const year = yearAt(ctx.now, ctx.settings)
            const number =
              demand.number !== null
                ? demand.number
                : formatNumber(
                    ctx.settings.numberingPrefix,
                    year,
                    yield* numbering.next(ctx.settings.numberingPrefix, year),
                    ctx.settings.sequenceWidth
                  )
            const next = yield* demands.save(
              demand,
              {
                state: "published",
                number,
                approvedAt: ctx.now,
                firstPublishedAt: demand.firstPublishedAt ?? ctx.now,
                selectionWindowDays: ctx.settings.selectionWindowDays,
                rejectionReason: null
              },
              ctx.now
            )
            yield* ctx.audit({
              entity: "demand",
              entityId: demand.id,
              demandId: demand.id,
              action: "demand.approved",
              before: "pending_review",
              after: `published ${number}`,
              members: [demand.publisherId, demand.form.clientId ?? null]
            })
            yield* ctx.notifyAccount(demand.createdBy, "demand_approved", `${demand.id}/${demand.round}`, {
              number,
              title: demand.form.title
            })
            return next
          })
      ),

      /** R11: rejection with a reason; the demand can be edited and resubmitted. */
      reject: command(
        { name: "rejectDemand", input: RejectInput, output: Demand, rule: "R11" },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly
            const demand = yield* demands.readable(ctx.actor, input.demandId, true)
            if (demand.state !== "pending_review") {
              return yield* invalidState(
                "R11",
                "demand.not_pending",
                "only a demand pending review can be rejected"
              )
            }
            const next = yield* demands.save(
              demand,
              { state: "rejected", rejectionReason: input.reason },
              ctx.now
            )
            yield* ctx.audit({
              entity: "demand",
              entityId: demand.id,
              demandId: demand.id,
              action: "demand.rejected",
              before: "pending_review",
              after: "rejected",
              reason: input.reason,
              members: [demand.publisherId, demand.form.clientId ?? null]
            })
            yield* ctx.notifyAccount(
              demand.createdBy,
              "demand_rejected",
              `${demand.id}/${dateAt(ctx.now, ctx.settings)}/${next.version}`,
              { title: demand.form.title, reason: input.reason }
            )
            return next
          })
      ),

      /** R11: the review queue for operators, newest first. */
      pending: query({ input: PageRequest, rule: "R11" }, (ctx, input) =>
        Effect.gen(function* () {
          if (ctx.actor === null || !isOperator(ctx.actor)) return yield* operatorOnly
          return yield* pageOf(
            input,
            SortKeys.demandScope("created"),
            (range) =>
              demands.repo.list({
                scope: { _tag: "all" },
                states: ["pending_review"],
                sort: "created",
                ...range
              }),
            (d) => SortKeys.demand(d, "created")
          )
        })
      )
    }
  })
}) {}
