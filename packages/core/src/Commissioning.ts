/**
 * Commissions (R40, R41): an enterprise asks a registered institution to act for
 * it; the institution accepts or declines; either side ends an active one.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Text } from "./Text.js"
import { Commission, CommissionState } from "./Commission.js"
import { dateAt } from "./Deadline.js"
import { denied, invalidState, notFound } from "./Errors.js"
import * as Ids from "./Ids.js"
import { CommissionId, MemberId } from "./Ids.js"
import type { Ctx } from "./internal/command.js"
import { makeRunner } from "./internal/command.js"
import { pageOf } from "./internal/paging.js"
import { isRegisteredInstitution } from "./Member.js"
import { PageRequest } from "./Pagination.js"
import { AccountRepository, CommissionRepository, MemberRepository } from "./Persistence.js"
import type { EventValues, NotificationEvent } from "./Settings.js"
import * as SortKeys from "./SortKeys.js"

/**
 * Input of {@link Commissioning.request}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const RequestInput = Schema.Struct({
  institutionId: MemberId,
  message: Text(1000)
})

/**
 * Input of {@link Commissioning.list}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const ListInput = Schema.Struct({
  states: Schema.optional(Schema.Array(CommissionState)),
  ...PageRequest.fields
})

const Ref = Schema.Struct({ commissionId: CommissionId })

/**
 * Use cases of commissions.
 *
 * @since 0.1.0
 * @category services
 */
export class Commissioning extends Effect.Service<Commissioning>()("@zhongbao/core/Commissioning", {
  effect: Effect.gen(function* () {
    const { command, query } = yield* makeRunner
    const commissions = yield* CommissionRepository
    const members = yield* MemberRepository
    const accounts = yield* AccountRepository

    const notifyMember = <E extends NotificationEvent>(
      ctx: Ctx,
      memberId: MemberId,
      event: E,
      subjectId: string,
      values: EventValues<E>
    ) =>
      Effect.flatMap(accounts.listByMember(memberId), (list) =>
        ctx.notify(list.filter((a) => a.active).map((a) => ({ event, subjectId, phone: a.phone, values })))
      )

    /**
     * A commission the actor is a party to, locked until the unit of work ends (R40:
     * answers to one commission at once are taken in turn); others are not found (R5).
     */
    const party = (ctx: Ctx, id: CommissionId) =>
      Effect.gen(function* () {
        const found = yield* commissions.findByIdForUpdate(id)
        const me = ctx.actor.member?.id
        if (Option.isNone(found) || (found.value.enterpriseId !== me && found.value.institutionId !== me)) {
          return yield* notFound("commission")
        }
        return found.value
      })

    const decide = (
      name: string,
      to: "active" | "declined",
      event: "commission_accepted" | "commission_declined"
    ) =>
      command({ name, input: Ref, output: Commission, rule: "R40" }, (ctx, input) =>
        Effect.gen(function* () {
          const c = yield* party(ctx, input.commissionId)
          if (c.institutionId !== ctx.actor.member?.id) {
            return yield* denied(
              "R40",
              "commission.institution_decides",
              "the institution accepts or declines a commission"
            )
          }
          if (c.state !== "requested")
            return yield* invalidState("R40", "commission.not_requested", `the commission is ${c.state}`)
          const next: Commission = { ...c, state: to, decidedAt: ctx.now, version: c.version + 1 }
          yield* commissions.update(next)
          yield* ctx.audit({
            entity: "commission",
            entityId: c.id,
            action: `commission.${to}`,
            before: "requested",
            after: to,
            members: [c.enterpriseId]
          })
          yield* notifyMember(ctx, c.enterpriseId, event, c.id, { institution: ctx.actor.member!.name })
          return next
        })
      )

    return {
      /**
       * R40: an enterprise asks a registered institution to act for it. The
       * institution's accounts are told once a day per pair (R64): a request withdrawn
       * and sent again the same day, in the platform's time zone, sends no second notice.
       */
      request: command(
        { name: "requestCommission", input: RequestInput, output: Commission, rule: "R40" },
        (ctx, input) =>
          Effect.gen(function* () {
            const enterprise = ctx.actor.member
            if (enterprise === null || enterprise.kind !== "enterprise") {
              return yield* denied(
                "R40",
                "commission.enterprise_only",
                "only an enterprise commissions an institution"
              )
            }
            const institution = yield* members.findById(input.institutionId)
            if (Option.isNone(institution) || !isRegisteredInstitution(institution.value)) {
              return yield* notFound("institution", "R40", "institutionId")
            }
            const conflict = invalidState(
              "R40",
              "commission.open_exists",
              "a commission between these two is already requested or active"
            )
            if (Option.isSome(yield* commissions.findOpen(enterprise.id, institution.value.id)))
              return yield* conflict
            const commission: Commission = {
              id: Ids.make(),
              enterpriseId: enterprise.id,
              institutionId: institution.value.id,
              message: input.message,
              state: "requested",
              requestedBy: ctx.actor.account.id,
              createdAt: ctx.now,
              decidedAt: null,
              endedAt: null,
              endedBy: null,
              version: 1
            }
            yield* commissions.insert(commission).pipe(Effect.catchTag("UniqueViolation", () => conflict))
            yield* ctx.audit({
              entity: "commission",
              entityId: commission.id,
              action: "commission.requested",
              after: "requested",
              members: [institution.value.id]
            })
            yield* notifyMember(
              ctx,
              institution.value.id,
              "commission_requested",
              `${enterprise.id}/${institution.value.id}/${dateAt(ctx.now, ctx.settings)}`,
              { enterprise: enterprise.name }
            )
            return commission
          })
      ),

      /** R40: the institution accepts. */
      accept: decide("acceptCommission", "active", "commission_accepted"),

      /** R40: the institution declines. */
      decline: decide("declineCommission", "declined", "commission_declined"),

      /**
       * R40: either side ends an active commission. Decided: the enterprise also
       * withdraws its request while the institution has not answered it (the
       * commission ends, audited as withdrawn), so an institution that never answers
       * does not keep the pair from another request.
       */
      end: command({ name: "endCommission", input: Ref, output: Commission, rule: "R40" }, (ctx, input) =>
        Effect.gen(function* () {
          const c = yield* party(ctx, input.commissionId)
          const withdrawn = c.state === "requested" && ctx.actor.member!.id === c.enterpriseId
          if (c.state !== "active" && !withdrawn)
            return yield* invalidState(
              "R40",
              "commission.end_not_active",
              c.state === "requested"
                ? "a request is answered by the institution (accepted or declined) or withdrawn by the enterprise that sent it"
                : `only an active commission can be ended; this one is ${c.state}`
            )
          const next: Commission = {
            ...c,
            state: "ended",
            endedAt: ctx.now,
            endedBy: ctx.actor.member!.id,
            version: c.version + 1
          }
          yield* commissions.update(next)
          yield* ctx.audit({
            entity: "commission",
            entityId: c.id,
            action: withdrawn ? "commission.withdrawn" : "commission.ended",
            before: c.state,
            after: "ended",
            members: [c.enterpriseId, c.institutionId]
          })
          return next
        })
      ),

      /** R40: the actor's commissions, as enterprise or as institution. */
      list: query({ input: ListInput, rule: "R40" }, (ctx, input) =>
        Effect.gen(function* () {
          const member = ctx.actor?.member
          if (!member) return { items: [], nextCursor: null }
          const side = member.kind === "enterprise" ? ("enterprise" as const) : ("institution" as const)
          return yield* pageOf(
            input,
            SortKeys.scopes.commission,
            (range) => commissions.list({ memberId: member.id, side, states: input.states, ...range }),
            SortKeys.commission
          )
        })
      )
    }
  })
}) {}
