/**
 * Responding to demands (R3, R14, R20, R21, R24, R26): respond, revise, withdraw.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { canReadDemand, canSeeResponse, isOwnDemand } from "./Access.js"
import { isOnOrBeforeDeadline } from "./Deadline.js"
import { denied, invalidState, notFound } from "./Errors.js"
import * as Ids from "./Ids.js"
import { DemandId, ResponseId } from "./Ids.js"
import { makeRunner } from "./internal/command.js"
import { makeAttachmentCheck } from "./internal/attachments.js"
import { makeDemandAccess } from "./internal/demands.js"
import { isOperator } from "./Member.js"
import { ResponseRepository } from "./Persistence.js"
import { acceptsResponses, responseStatus } from "./Phase.js"
import { Proposal, Response } from "./Response.js"
import * as Revision from "./Revision.js"
import type { Actor } from "./Member.js"
import type { Demand } from "./Demand.js"

/**
 * Input of {@link Responding.respond}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const RespondInput = Schema.Struct({ demandId: DemandId, proposal: Proposal })

/**
 * Input of {@link Responding.revise}: the proposal as it is to be, whole, and the
 * response's versions the responder read it at (`ifVersion`, or `*`: the revision is
 * refused if it changed since).
 *
 * @since 0.1.0
 * @category inputs
 */
export const ReviseInput = Schema.Struct({
  responseId: ResponseId,
  proposal: Proposal,
  ifVersion: Schema.optional(Revision.Expected)
})

/**
 * R61: a response as its responder reads it while it is not shown as not adopted:
 * without the reason the demand's side may have given ahead of the decision.
 */
const forResponder = (response: Response): Response => ({ ...response, feedback: null })

/**
 * Use cases of responders.
 *
 * @since 0.1.0
 * @category services
 */
export class Responding extends Effect.Service<Responding>()("@zhongbao/core/Responding", {
  effect: Effect.gen(function* () {
    const { command, settings } = yield* makeRunner
    const demands = yield* makeDemandAccess
    const checkAttachments = yield* makeAttachmentCheck
    const responses = yield* ResponseRepository

    /**
     * R21: the actor's own response (R4: others' are not found), with its demand
     * locked (`demands.lockResponse`, the command's prefetch, so that its instant is
     * read once the lock is held); revising and withdrawing are open until the
     * deadline or a decision. A response of an earlier round is read-only (R33),
     * whatever its demand's state: named so before the demand under review again
     * reads as not found (R5). One the responder read at other versions than it is
     * now (`ifVersion`) has changed since (`revision.stale`), if only by a reason the
     * demand's side gave ahead of the decision (R61), which the responder reads again
     * without.
     */
    const changeable = (
      actor: Actor,
      found: Option.Option<{ readonly response: Response; readonly demand: Demand }>,
      now: Response["updatedAt"],
      ifVersion?: Revision.Expected
    ) =>
      Effect.gen(function* () {
        if (Option.isNone(found) || !canSeeResponse(actor, found.value.response))
          return yield* notFound("response", "R4")
        const { response, demand } = found.value
        if (actor.member?.id !== response.responderId) {
          return yield* denied(
            "R21",
            "response.not_responder",
            "only the responder revises or withdraws its response"
          )
        }
        yield* Revision.checkVersion(response.version, ifVersion, "R21", "response")
        if (response.round !== demand.round) {
          return yield* invalidState(
            "R33",
            "response.earlier_round",
            "responses of an earlier round are read-only"
          )
        }
        if (!canReadDemand(actor, demand)) return yield* notFound("demand")
        // As it reads: a response whose round's selection is over reads as not adopted
        // before the sweep records it (singleAdoption turned on after an adoption, R24).
        const status = responseStatus(response, demand, now, settings)
        if (status !== "submitted") {
          return yield* invalidState("R21", "response.decided", `the response is ${status}`)
        }
        if (
          demand.state !== "published" ||
          !isOnOrBeforeDeadline(now, demand.form.responseDeadline, settings)
        ) {
          return yield* invalidState("R21", "response.deadline_passed", "the response deadline has passed")
        }
        return { response, demand }
      })

    return {
      /**
       * R20: respond while the demand is published, takes responses (R14), before
       * the end of its deadline date and before any adoption in the round (R24);
       * never to one's own demand (R3); one active response per round (R21: the
       * repository refuses to insert a second one). The demand row is locked, so no
       * response lands after an adoption commits (R26); it is read with the actor.
       */
      respond: command(
        {
          name: "respond",
          input: RespondInput,
          output: Response,
          rule: "R20",
          conflictRule: "R26",
          prefetch: demands.lock
        },
        (ctx, input, locked) =>
          Effect.gen(function* () {
            const demand = yield* demands.visible(ctx.actor, locked)
            const member = ctx.actor.member
            if (member === null || isOperator(ctx.actor)) {
              return yield* denied("R20", "respond.member_required", "responses are submitted by members")
            }
            if (isOwnDemand(ctx.actor, demand)) {
              return yield* denied(
                "R3",
                "respond.own_demand",
                "a member cannot respond to a demand it published or that was published on its behalf"
              )
            }
            if (demand.state !== "published") {
              return yield* invalidState("R20", "respond.not_published", "the demand is not published")
            }
            if (!acceptsResponses(demand, ctx.settings)) {
              return yield* invalidState(
                "R14",
                "respond.mode_closed",
                "this demand's service mode takes no responses"
              )
            }
            /* R20 before R24/R25: a round closed after its deadline (by its side or the sweeper) was closed by the deadline first. */
            if (!isOnOrBeforeDeadline(ctx.now, demand.form.responseDeadline, ctx.settings)) {
              return yield* invalidState("R20", "respond.deadline_passed", "the response deadline has passed")
            }
            if (demand.intakeClosedAt !== null) {
              return yield* demand.adoptedCount > 0
                ? invalidState(
                    "R24",
                    "respond.intake_closed",
                    "a response has been adopted: intake is closed"
                  )
                : invalidState("R25", "respond.selection_ended", "selection of this round has ended")
            }
            yield* checkAttachments("R54", "proposal.attachments", member.id, input.proposal.attachments)
            const response: Response = {
              id: Ids.make(),
              demandId: demand.id,
              demandPublisherId: demand.publisherId,
              round: demand.round,
              responderId: member.id,
              responderAccountId: ctx.actor.account.id,
              proposal: input.proposal,
              status: "submitted",
              feedback: null,
              submittedAt: ctx.now,
              updatedAt: ctx.now,
              adoptedAt: null,
              version: 1
            }
            yield* ctx.writeLater(
              responses
                .insert(response)
                .pipe(
                  Effect.catchTag("UniqueViolation", () =>
                    invalidState(
                      "R21",
                      "respond.already_responded",
                      "this member already has an active response in this round"
                    )
                  )
                )
            )
            yield* demands.saveLater(ctx, demand, { responseCount: demand.responseCount + 1 })
            yield* ctx.audit({
              entity: "response",
              entityId: response.id,
              demandId: demand.id,
              action: "response.submitted",
              after: "submitted",
              members: [demand.publisherId]
            })
            // R64: once per member and round: a response withdrawn and submitted again is not news.
            yield* ctx.notifyAccount(
              demand.createdBy,
              "response_received",
              `${demand.id}/${demand.round}/${member.id}`,
              {
                number: demand.number ?? "",
                title: demand.form.title
              }
            )
            return response
          })
      ),

      /**
       * R21: the responder revises its proposal. A non-adoption reason the demand's
       * side gave ahead of the decision (R61) was about the proposal as it was, so
       * the revision clears it: the "not adopted" notice never carries a reason
       * about a version the responder has replaced. The proposal is replaced whole:
       * a revision naming the version it was read at (`ifVersion`) is refused if the
       * response changed since (`revision.stale`).
       */
      revise: command(
        {
          name: "reviseResponse",
          input: ReviseInput,
          output: Response,
          rule: "R21",
          prefetch: demands.lockResponse
        },
        (ctx, input, found) =>
          Effect.gen(function* () {
            const { response, demand } = yield* changeable(ctx.actor, found, ctx.now, input.ifVersion)
            yield* checkAttachments(
              "R54",
              "proposal.attachments",
              response.responderId,
              input.proposal.attachments
            )
            const next: Response = {
              ...response,
              proposal: input.proposal,
              feedback: null,
              updatedAt: ctx.now,
              version: response.version + 1
            }
            yield* responses.update(next)
            yield* ctx.audit({
              entity: "response",
              entityId: response.id,
              demandId: demand.id,
              action: "response.revised",
              before: "submitted",
              after: "submitted",
              members: [demand.publisherId]
            })
            return forResponder(next)
          })
      ),

      /** R21: the responder withdraws its response; it may respond again while intake is open. */
      withdraw: command(
        {
          name: "withdrawResponse",
          input: Schema.Struct({ responseId: ResponseId }),
          output: Response,
          rule: "R21",
          prefetch: demands.lockResponse
        },
        (ctx, _input, found) =>
          Effect.gen(function* () {
            const { response, demand } = yield* changeable(ctx.actor, found, ctx.now)
            const next: Response = {
              ...response,
              status: "withdrawn",
              updatedAt: ctx.now,
              version: response.version + 1
            }
            yield* responses.update(next)
            yield* demands.save(demand, { responseCount: demand.responseCount - 1 }, ctx.now)
            yield* ctx.audit({
              entity: "response",
              entityId: response.id,
              demandId: demand.id,
              action: "response.withdrawn",
              before: "submitted",
              after: "withdrawn",
              members: [demand.publisherId]
            })
            return forResponder(next)
          })
      )
    }
  })
}) {}
