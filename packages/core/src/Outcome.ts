/**
 * The service log and the outcome of a demand (R30, R31, R32, R33).
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { canFollowDemand } from "./Access.js"
import { dateAt, endOfDate } from "./Deadline.js"
import { Demand, DemandForm } from "./Demand.js"
import { invalid, invalidState, notFound } from "./Errors.js"
import * as Ids from "./Ids.js"
import { DemandId } from "./Ids.js"
import { SeqRequest } from "./Pagination.js"
import { makeRunner } from "./internal/command.js"
import { makeAttachmentCheck } from "./internal/attachments.js"
import { checkClientKept, formRules, makeFormCheck } from "./internal/demandForm.js"
import { makeDemandAccess } from "./internal/demands.js"
import { makeRoundEnd } from "./internal/round.js"
import { Fen } from "./Money.js"
import { ServiceLogRepository } from "./Persistence.js"
import { Entry, EntryInput } from "./ServiceLog.js"

/**
 * Input of {@link Outcome.appendLog}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const AppendLogInput = Schema.Struct({ demandId: DemandId, entry: EntryInput })

/**
 * Input of {@link Outcome.solved}: the service fee in fen, required for an
 * institution's demand and refused for an enterprise's own, which is solved without
 * a fee (R31; the guide's II.4).
 *
 * @since 0.1.0
 * @category inputs
 */
export const SolvedInput = Schema.Struct({ demandId: DemandId, serviceFee: Schema.optional(Fen) })

/**
 * Input of {@link Outcome.restart}: the modified form with its new deadline.
 *
 * @since 0.1.0
 * @category inputs
 */
export const RestartInput = Schema.Struct({ demandId: DemandId, form: DemandForm })

/**
 * Use cases of the demand's side after publication.
 *
 * @since 0.1.0
 * @category services
 */
export class Outcome extends Effect.Service<Outcome>()("@zhongbao/core/Outcome", {
  effect: Effect.gen(function* () {
    const { command, query } = yield* makeRunner
    const demands = yield* makeDemandAccess
    const log = yield* ServiceLogRepository
    const endRound = yield* makeRoundEnd
    const checkForm = yield* makeFormCheck
    const checkAttachments = yield* makeAttachmentCheck

    return {
      /**
       * R30: the managing side appends a service-log entry to a published demand,
       * locked with the actor's read. Decided: the entry's date is on or before
       * today in the platform time zone (it records work done); an earlier date is
       * taken, as work may be logged late.
       */
      appendLog: command(
        {
          name: "appendServiceLog",
          input: AppendLogInput,
          output: Entry,
          rule: "R30",
          prefetch: demands.lock
        },
        (ctx, input, locked) =>
          Effect.gen(function* () {
            const demand = yield* demands.managedOf(ctx.actor, locked)
            const today = dateAt(ctx.now, ctx.settings)
            if (input.entry.date > today) {
              return yield* invalid(
                "R30",
                "entry.date",
                "log.date_future",
                `entry.date: an entry records work done, so it is dated on or before today, ${today}`
              )
            }
            if (demand.state !== "published") {
              return yield* invalidState(
                "R30",
                "log.not_published",
                "service-log entries are added to a published demand"
              )
            }
            yield* checkAttachments("R30", "entry.attachments", demand.publisherId, input.entry.attachments)
            const entry: Entry = {
              id: Ids.make(),
              demandId: demand.id,
              seq: (yield* log.lastSeq(demand.id)) + 1,
              date: input.entry.date,
              text: input.entry.text,
              attachments: input.entry.attachments ?? [],
              authorAccountId: ctx.actor.account.id,
              at: ctx.now
            }
            yield* log.append(entry)
            yield* ctx.audit({
              entity: "service_log",
              entityId: entry.id,
              demandId: demand.id,
              action: "service_log.appended",
              after: String(entry.seq),
              onBehalfOf: demand.form.clientId ?? null
            })
            return entry
          })
      ),

      /** R30, R2: the service log, for the managing side, the client and operators. */
      serviceLog: query(
        {
          input: Schema.Struct({
            demandId: DemandId,
            ...SeqRequest.fields
          }),
          rule: "R30"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            const demand = yield* demands.readable(ctx.actor, input.demandId)
            if (!canFollowDemand(ctx.actor, demand)) return yield* notFound("service_log")
            return yield* log.list(demand.id, input.afterSeq ?? 0, input.limit ?? 50)
          })
      ),

      /**
       * R31: outcome solved. An institution's demand needs the service fee, an
       * enterprise's own demand takes none (the fee is the institution's, and R62
       * sums it as such); the demand closes and its selection ends (R25 notices). The demand is locked with
       * the actor's read; its update and the round's go out with the journal.
       */
      solved: command(
        { name: "recordSolved", input: SolvedInput, output: Demand, rule: "R31", prefetch: demands.lock },
        (ctx, input, locked) =>
          Effect.gen(function* () {
            const demand = yield* demands.managedOf(ctx.actor, locked)
            if (demand.state !== "published") {
              return yield* invalidState("R31", "outcome.not_published", `the demand is ${demand.state}`)
            }
            const institution = ctx.actor.member!.kind === "transfer_institution"
            if (institution && input.serviceFee === undefined) {
              return yield* invalid(
                "R31",
                "serviceFee",
                "outcome.fee_required",
                "serviceFee: an institution's solved demand records its service fee"
              )
            }
            if (!institution && input.serviceFee !== undefined) {
              return yield* invalid(
                "R31",
                "serviceFee",
                "outcome.fee_not_applicable",
                "serviceFee: an enterprise's own demand is solved without a service fee"
              )
            }
            yield* endRound(ctx, demand)
            const next = yield* demands.saveLater(ctx, demand, {
              state: "solved",
              outcome: "solved",
              serviceFee: input.serviceFee ?? null,
              closedAt: ctx.now,
              selectionEndedAt: demand.selectionEndedAt ?? ctx.now,
              intakeClosedAt: demand.intakeClosedAt ?? ctx.now
            })
            yield* ctx.audit({
              entity: "demand",
              entityId: demand.id,
              demandId: demand.id,
              action: "demand.solved",
              before: "published",
              after: "solved",
              onBehalfOf: demand.form.clientId ?? null
            })
            return next
          })
      ),

      /**
       * R32: outcome unsolved. The demand stays published; before the deadline its
       * received responses can still be viewed and adopted; after it, it may be
       * restarted (R33). The demand is locked with the actor's read; its update goes
       * out with the journal.
       */
      unsolved: command(
        {
          name: "recordUnsolved",
          input: Schema.Struct({ demandId: DemandId }),
          output: Demand,
          rule: "R32",
          prefetch: demands.lock
        },
        (ctx, _input, locked) =>
          Effect.gen(function* () {
            const demand = yield* demands.managedOf(ctx.actor, locked)
            if (demand.state !== "published") {
              return yield* invalidState("R32", "outcome.not_published", `the demand is ${demand.state}`)
            }
            if (demand.outcome === "unsolved") {
              return yield* invalidState(
                "R32",
                "outcome.already_unsolved",
                "the demand's outcome is already recorded as unsolved"
              )
            }
            const next = yield* demands.saveLater(ctx, demand, { outcome: "unsolved" })
            yield* ctx.audit({
              entity: "demand",
              entityId: demand.id,
              demandId: demand.id,
              action: "demand.unsolved",
              before: demand.outcome ?? "none",
              after: "unsolved",
              onBehalfOf: demand.form.clientId ?? null
            })
            return next
          })
      ),

      /**
       * R33: after the response deadline an unsolved demand (its outcome `unsolved`
       * recorded, R32) is modified and restarted: new form and deadline, back to
       * review, same number, round + 1. The client stays the same (the number names
       * one client's demand, and its service log is that client's to follow, R2).
       * The old round's selection ends (R25 notices); its responses stay read-only.
       * The demand is locked with the actor's read; its update and the round's go out
       * with the journal.
       */
      restart: command(
        {
          name: "restartDemand",
          input: RestartInput,
          output: Demand,
          rule: "R33",
          rules: formRules("form."),
          prefetch: demands.lock
        },
        (ctx, input, locked) =>
          Effect.gen(function* () {
            const demand = yield* demands.managedOf(ctx.actor, locked)
            if (demand.state !== "published") {
              return yield* invalidState("R33", "restart.not_published", `the demand is ${demand.state}`)
            }
            if (DateTime.lessThanOrEqualTo(ctx.now, endOfDate(demand.form.responseDeadline, ctx.settings))) {
              return yield* invalidState(
                "R33",
                "restart.before_deadline",
                "a demand is restarted after its response deadline"
              )
            }
            if (demand.outcome !== "unsolved") {
              return yield* invalidState(
                "R33",
                "restart.not_unsolved",
                "record the outcome unsolved before restarting the demand"
              )
            }
            yield* checkClientKept(demand, input.form)
            yield* checkForm(ctx, ctx.actor.member!, input.form, true, "form.")
            yield* endRound(ctx, demand)
            const next = yield* demands.saveLater(ctx, demand, {
              form: input.form,
              state: "pending_review",
              round: demand.round + 1,
              submittedAt: ctx.now,
              intakeClosedAt: null,
              selectionEndedAt: null,
              selectionWindowDays: null,
              outcome: null,
              responseCount: 0,
              adoptedCount: 0
            })
            yield* ctx.audit({
              entity: "demand",
              entityId: demand.id,
              demandId: demand.id,
              action: "demand.restarted",
              before: `published round ${demand.round}`,
              after: `pending_review round ${next.round}`,
              onBehalfOf: input.form.clientId ?? null
            })
            return next
          })
      )
    }
  })
}) {}
