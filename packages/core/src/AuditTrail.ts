/**
 * Reading the audit trail (R60): per demand for its managing side and client (R4:
 * the client without its responses' and threads' events, and only the events whose
 * members it is among: R5, not those of another client a draft named before it), per
 * member for its own accounts, everything for operators. A client follows its demand's progress (R2)
 * by the demand's own events and by the demand itself: an adoption is a response's
 * event, and the client reads it in the demand's `firstAdoptedAt` and its round's
 * `adoptedCount` (which a restart sets back to 0), not as the event.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { canFollowDemand, isClientOf, managesDemand, responsePrivateEntities } from "./Access.js"
import { AuditEvent } from "./Audit.js"
import { invalid, notFound } from "./Errors.js"
import { DemandId, MemberId } from "./Ids.js"
import { makeRunner } from "./internal/command.js"
import { makeDemandAccess } from "./internal/demands.js"
import { pageOf } from "./internal/paging.js"
import { isOperator } from "./Member.js"
import { Page, PageRequest } from "./Pagination.js"
import { type AuditHidden, AuditRepository, isHidden } from "./Persistence.js"
import * as SortKeys from "./SortKeys.js"

/**
 * Input of {@link AuditTrail.list}: one demand, one member, or (operators) all.
 *
 * @since 0.1.0
 * @category inputs
 */
export const AuditInput = Schema.Struct({
  demandId: Schema.optional(DemandId),
  memberId: Schema.optional(MemberId),
  ...PageRequest.fields
})

/** @since 0.1.0 @category outputs */
export const AuditPage = Page(AuditEvent)

/**
 * Use cases of the audit trail.
 *
 * @since 0.1.0
 * @category services
 */
export class AuditTrail extends Effect.Service<AuditTrail>()("@zhongbao/core/AuditTrail", {
  effect: Effect.gen(function* () {
    const { query } = yield* makeRunner
    const audit = yield* AuditRepository
    const demands = yield* makeDemandAccess
    return {
      /** R60: the trail the actor may read, newest first (R4: a demand's client does not see its responses' events). */
      list: query({ input: AuditInput, rule: "R60" }, (ctx, input) =>
        Effect.gen(function* () {
          const actor = ctx.actor!
          let hide: AuditHidden | undefined
          let memberId = input.memberId
          if (input.demandId !== undefined) {
            const demand = yield* demands.readable(actor, input.demandId)
            if (!canFollowDemand(actor, demand)) return yield* notFound("audit_trail")
            if (!isOperator(actor) && !managesDemand(actor, demand) && isClientOf(actor, demand)) {
              hide = { entities: responsePrivateEntities }
              // R5: only the events that concern the client itself, not those of a
              // client the draft named before it.
              if (memberId !== undefined && memberId !== actor.member!.id) return yield* notFound("member")
              memberId = actor.member!.id
            }
          }
          if (!isOperator(actor) && input.demandId === undefined) {
            if (input.memberId === undefined) {
              return yield* invalid(
                "R60",
                "memberId",
                "audit.scope_required",
                "memberId: give a demand (demandId) or your member (memberId); only operators list the whole trail"
              )
            }
            if (input.memberId !== actor.member?.id) return yield* notFound("member")
            // A member's own trail lists what was done on its behalf as a client (R2),
            // but not on the responses to its demands or their threads (R4).
            hide = { entities: responsePrivateEntities, onBehalfOf: input.memberId }
          }
          return yield* pageOf(
            input,
            SortKeys.scopes.audit,
            (range) =>
              Effect.flatMap(audit.list({ demandId: input.demandId, memberId, hide, ...range }), (events) =>
                events.some((e) => isHidden(e, hide))
                  ? Effect.dieMessage("AuditRepository.list answered an event its query hides (R4)")
                  : Effect.succeed(events)
              ),
            SortKeys.audit
          )
        })
      )
    }
  })
}) {}
