/**
 * Consultation (R22, R4): a prospective responder opens a thread on a published
 * demand, or the demand's managing side opens one with a member that responded to
 * it (the guide's submitter "talks fully with the responders before deciding whether
 * to adopt"); both sides append messages; only they and operators read them. A
 * thread is one per demand and responding member, whichever side opened it.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { isOwnDemand, managesDemand } from "./Access.js"
import { Message, MessageText, Thread } from "./Consultation.js"
import { denied, type InfrastructureError, invalidState, notFound } from "./Errors.js"
import * as Ids from "./Ids.js"
import { DemandId, type MemberId, ResponseId, ThreadId } from "./Ids.js"
import type { Ctx, ReadCtx } from "./internal/command.js"
import { makeRunner } from "./internal/command.js"
import { makeDemandAccess } from "./internal/demands.js"
import { pageOf } from "./internal/paging.js"
import { isOperator } from "./Member.js"
import { PageRequest, SeqRequest } from "./Pagination.js"
import { acceptsResponses } from "./Phase.js"
import { ConsultationRepository, ResponseRepository } from "./Persistence.js"
import * as SortKeys from "./SortKeys.js"
import type { Demand } from "./Demand.js"

/**
 * Input of {@link Consulting.ask}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const AskInput = Schema.Struct({ demandId: DemandId, text: MessageText })

/**
 * Input of {@link Consulting.askResponder}: the response whose responder the demand's
 * side writes to.
 *
 * @since 0.2.0
 * @category inputs
 */
export const AskResponderInput = Schema.Struct({ responseId: ResponseId, text: MessageText })

/**
 * Input of {@link Consulting.reply}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const ReplyInput = Schema.Struct({ threadId: ThreadId, text: MessageText })

/**
 * Output of a posted message: the thread and the message.
 *
 * @since 0.1.0
 * @category outputs
 */
export const Posted = Schema.Struct({ thread: Thread, message: Message })

/**
 * Use cases of consultation.
 *
 * @since 0.1.0
 * @category services
 */
export class Consulting extends Effect.Service<Consulting>()("@zhongbao/core/Consulting", {
  effect: Effect.gen(function* () {
    const { command, query } = yield* makeRunner
    const demands = yield* makeDemandAccess
    const threads = yield* ConsultationRepository
    const responses = yield* ResponseRepository

    /**
     * R22, R14: a message in `thread`, while its demand is published. In a service
     * mode that takes no responses, only with a member holding an active response in
     * the demand's current round: one taken before the platform switched the mode off,
     * whose round is selected as any other, so that both sides still talk before the
     * adoption (the guide's 充分沟通后选择是否采纳).
     */
    const post = (ctx: Ctx, thread: Thread, demand: Demand, side: "responder" | "demand", text: string) =>
      Effect.gen(function* () {
        if (demand.state !== "published") {
          return yield* invalidState(
            "R22",
            "consult.not_published",
            "consultation is open while the demand is published"
          )
        }
        if (
          !acceptsResponses(demand, ctx.settings) &&
          Option.isNone(yield* responses.findActive(demand.id, demand.round, thread.responderId))
        ) {
          return yield* invalidState(
            "R14",
            "consult.mode_closed",
            "this demand's service mode takes no responses, and no consultation but with its responders"
          )
        }
        const message: Message = {
          id: Ids.make(),
          threadId: thread.id,
          seq: thread.messageCount + 1,
          authorAccountId: ctx.actor.account.id,
          side,
          text,
          at: ctx.now
        }
        yield* threads.appendMessage(message)
        const next: Thread = { ...thread, messageCount: message.seq, lastMessageAt: ctx.now }
        yield* threads.updateThread(next)
        yield* ctx.audit({
          entity: "thread",
          entityId: thread.id,
          demandId: demand.id,
          action: `message.${side}`,
          after: String(message.seq),
          onBehalfOf: side === "demand" ? (demand.form.clientId ?? null) : null,
          members: [thread.responderId, demand.publisherId]
        })
        if (side === "responder" && !(yield* continuesUnanswered(thread, demand))) {
          yield* ctx.notifyAccount(demand.createdBy, "consultation_message", message.id, {
            number: demand.number ?? "",
            title: demand.form.title
          })
        }
        return { thread: next, message }
      })

    /**
     * R64: whether the thread's last message before this one is the responder's,
     * written since the demand was last approved (its current round), so that a new
     * one of the responder's continues messages the demand's side has not answered
     * yet. Only the first of such a run is notified: the notice says "a message on
     * demand N", and a responder writing many in a row would otherwise send as many
     * SMS to the demand's side (each paid for, and each using up that phone's
     * per-number allowance at the provider ahead of its other notices). A restarted
     * demand's new round starts a new run.
     */
    const continuesUnanswered = (
      thread: Thread,
      demand: Demand
    ): Effect.Effect<boolean, InfrastructureError> => {
      const roundSince = demand.approvedAt
      if (thread.messageCount === 0 || roundSince === null) return Effect.succeed(false)
      return Effect.map(
        threads.listMessages(thread.id, thread.messageCount - 1, 1),
        ([previous]) =>
          previous !== undefined &&
          previous.side === "responder" &&
          DateTime.greaterThanOrEqualTo(previous.at, roundSince)
      )
    }

    /** The thread of `demand` with `responderId`, opened if there is none yet. */
    const threadWith = (ctx: Ctx, demand: Demand, responderId: MemberId) =>
      Effect.gen(function* () {
        const existing = yield* threads.findThread(demand.id, responderId)
        if (Option.isSome(existing)) return existing.value
        const thread: Thread = {
          id: Ids.make(),
          demandId: demand.id,
          demandPublisherId: demand.publisherId,
          responderId,
          messageCount: 0,
          createdAt: ctx.now,
          lastMessageAt: ctx.now
        }
        yield* threads.insertThread(thread)
        return thread
      })

    /** R4: the thread, if the actor is its responder, the demand's managing side or an operator. */
    const visibleThread = (ctx: ReadCtx | Ctx, id: ThreadId, forUpdate: boolean) =>
      Effect.gen(function* () {
        const found = yield* forUpdate ? threads.findThreadForUpdate(id) : threads.findThreadById(id)
        const actor = ctx.actor
        if (
          Option.isNone(found) ||
          actor === null ||
          !(
            isOperator(actor) ||
            actor.member?.id === found.value.responderId ||
            actor.member?.id === found.value.demandPublisherId
          )
        ) {
          return yield* notFound("thread", "R4")
        }
        return found.value
      })

    return {
      /** R22: a prospective responder writes to the demand's side, opening its thread if needed. */
      ask: command({ name: "ask", input: AskInput, output: Posted, rule: "R22" }, (ctx, input) =>
        Effect.gen(function* () {
          const demand = yield* demands.readable(ctx.actor, input.demandId, true)
          const member = ctx.actor.member
          if (member === null || isOperator(ctx.actor))
            return yield* denied("R22", "consult.member_required", "consultations are opened by members")
          if (isOwnDemand(ctx.actor, demand))
            return yield* denied(
              "R3",
              "consult.own_demand",
              "a member does not consult on a demand it published or that was published on its behalf"
            )
          const thread = yield* threadWith(ctx, demand, member.id)
          return yield* post(ctx, thread, demand, "responder", input.text)
        })
      ),

      /**
       * R22: the demand's managing side writes to the member that submitted a response
       * to it (of any round, in any status; in a mode switched off since, R14, only one
       * holding a response of the current round), opening their thread if needed, so that
       * it need not wait for the responder to consult first. Who may not see the
       * response finds nothing (R4: a commissioning enterprise among them); operators
       * and the responder see it but are refused (R2). As in `ask`, only the demand is
       * locked (with the response read under it): the thread is read and written
       * under the demand's lock.
       * No SMS: R64 notifies consultation messages to the demand's side only; the
       * responder finds the thread on its response in "my responses" (§9).
       */
      askResponder: command(
        {
          name: "askResponder",
          input: AskResponderInput,
          output: Posted,
          rule: "R22",
          prefetch: demands.lockResponse
        },
        (ctx, input, found) =>
          Effect.gen(function* () {
            const { response, demand } = yield* demands.managedResponse(ctx.actor, found)
            const thread = yield* threadWith(ctx, demand, response.responderId)
            return yield* post(ctx, thread, demand, "demand", input.text)
          })
      ),

      /**
       * R22: either side writes in an existing thread. Like `ask` and every command on
       * a demand, it locks the demand before the thread (a thread's demand never
       * changes, so an unlocked read finds it): in the opposite order, a reply and an
       * `ask` in the same thread would deadlock.
       */
      reply: command({ name: "reply", input: ReplyInput, output: Posted, rule: "R22" }, (ctx, input) =>
        Effect.gen(function* () {
          const seen = yield* visibleThread(ctx, input.threadId, false)
          const demand = yield* demands.readable(ctx.actor, seen.demandId, true)
          const thread = yield* visibleThread(ctx, input.threadId, true)
          const side =
            ctx.actor.member?.id === thread.responderId
              ? "responder"
              : managesDemand(ctx.actor, demand)
                ? "demand"
                : null
          if (side === null)
            return yield* denied("R22", "consult.not_party", "only the two sides write in a consultation")
          return yield* post(ctx, thread, demand, side, input.text)
        })
      ),

      /** R22, R4: the messages of a thread in order. */
      messages: query(
        {
          input: Schema.Struct({
            threadId: ThreadId,
            ...SeqRequest.fields
          }),
          rule: "R22"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            const thread = yield* visibleThread(ctx, input.threadId, false)
            return yield* threads.listMessages(thread.id, input.afterSeq ?? 0, input.limit ?? 50)
          })
      ),

      /**
       * R4: the threads of a demand: all of them for its managing side and operators,
       * the actor's own for anyone else.
       */
      threads: query(
        { input: Schema.Struct({ demandId: DemandId, ...PageRequest.fields }), rule: "R22" },
        (ctx, input) =>
          Effect.gen(function* () {
            const demand = yield* demands.readable(ctx.actor, input.demandId)
            const actor = ctx.actor!
            const all = isOperator(actor) || managesDemand(actor, demand)
            const responderId = all ? undefined : actor.member?.id
            if (!all && responderId === undefined) return { items: [], nextCursor: null }
            return yield* pageOf(
              input,
              SortKeys.scopes.thread,
              (range) =>
                threads.listThreads({
                  demandId: demand.id,
                  ...(responderId ? { responderId } : {}),
                  ...range
                }),
              SortKeys.thread
            )
          })
      )
    }
  })
}) {}
