/**
 * Reward rounds and applications (R50–R53), with proof materials (R54).
 *
 * - R50: an operator opens a round (title, rules, the period in which claimed
 *   demands were solved, the application deadline) and closes it.
 * - R51: a registered institution keeps its basic information.
 * - R52: while a round takes applications (open, deadline date not over in the
 *   platform time zone) the institution drafts one application for it, listing
 *   demands it published that were solved within the period (their `closedAt`
 *   date in the platform time zone), each with at least one proof material it
 *   uploaded; it submits before the deadline, and the submission snapshots its
 *   basic information. A demand is claimed once: it is listed by at most one of the
 *   institution's applications that are submitted or approved, whichever the round
 *   (rounds whose periods overlap cannot reward it twice).
 * - R53: an operator approves a submitted application with an amount or rejects
 *   it with a reason, also after the round closed; a rejected application is
 *   corrected and resubmitted while the round takes applications. Both decisions
 *   notify the institution's accounts through the outbox.
 *
 * Decided: an application is editable while `draft` or `rejected` (editing a
 * rejected one makes it a draft again); a round cannot be opened with a period
 * ending before it starts, a deadline already past, or a deadline before the
 * period starts (no demand solved in the period could be claimed by then); an
 * approved amount is at least one fen.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Text } from "./Text.js"
import { dateAt } from "./Deadline.js"
import type { Demand } from "./Demand.js"
import { denied, invalid, invalidState, notFound } from "./Errors.js"
import { makeAttachmentCheck } from "./internal/attachments.js"
import * as Ids from "./Ids.js"
import { MemberId } from "./Ids.js"
import type { Ctx } from "./internal/command.js"
import { makeRunner } from "./internal/command.js"
import { pageOf } from "./internal/paging.js"
import { type Actor, isOperator, isRegisteredInstitution, type Member } from "./Member.js"
import { Fen, toYuan } from "./Money.js"
import { Page, PageRequest, type Position } from "./Pagination.js"
import * as Revision from "./Revision.js"
import { AccountRepository, DemandRepository, MemberRepository, RewardRepository } from "./Persistence.js"
import {
  ApplicationItem,
  ApplicationState,
  applicationKey,
  InstitutionProfile,
  isAccepting,
  ProfileInput,
  RewardApplication,
  RewardApplicationId,
  RewardRound,
  RewardRoundId,
  RoundInput,
  RoundState,
  roundKey
} from "./Reward.js"
import type { EventValues, NotificationEvent } from "./Settings.js"
import * as SortKeys from "./SortKeys.js"

/**
 * Input of {@link Rewards.saveProfile}: the basic information as it is to be, whole,
 * and optionally what the caller read: the revisions of the saved information
 * (`ifRevision`: the save is refused if it changed since, or was never saved), or
 * that none was saved (`ifAbsent`: the save is refused if one was saved since).
 *
 * @since 0.1.0
 * @category inputs
 */
export const SaveProfileInput = Schema.Struct({
  ...ProfileInput.fields,
  ifRevision: Schema.optional(Revision.Expected),
  ifAbsent: Schema.optional(Schema.Literal(true))
})

/**
 * Input of {@link Rewards.draft}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const DraftInput = Schema.Struct({
  roundId: RewardRoundId,
  items: Schema.Array(ApplicationItem).pipe(
    Schema.minItems(1, { message: () => "an application lists at least one solved demand" }),
    Schema.maxItems(200)
  ),
  note: Schema.optional(Text(2000))
})

/**
 * Input of {@link Rewards.update}: the corrected list and note, whole, and the
 * application's versions the institution read it at (`ifVersion`, or `*`: the update
 * is refused if it changed since).
 *
 * @since 0.1.0
 * @category inputs
 */
export const UpdateInput = Schema.Struct({
  applicationId: RewardApplicationId,
  items: DraftInput.fields.items,
  note: DraftInput.fields.note,
  ifVersion: Schema.optional(Revision.Expected)
})

/**
 * Input of {@link Rewards.approve}: the amount, at least one fen.
 *
 * @since 0.1.0
 * @category inputs
 */
export const ApproveInput = Schema.Struct({
  applicationId: RewardApplicationId,
  amount: Fen.pipe(
    Schema.filter((n) => n >= 1, {
      message: () => "an approved amount is at least 1 fen",
      identifier: "ApprovedAmount",
      description: "The amount approved, in fen (1/100 yuan): a whole number ≥ 1",
      jsonSchema: { minimum: 1 }
    })
  )
})

/**
 * Input of {@link Rewards.reject}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const RejectInput = Schema.Struct({
  applicationId: RewardApplicationId,
  reason: Text(1000)
})

/**
 * Input of {@link Rewards.rounds}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const RoundsInput = Schema.Struct({
  states: Schema.optional(Schema.Array(RoundState)),
  ...PageRequest.fields
})

/**
 * Input of {@link Rewards.myApplications}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const MyApplicationsInput = Schema.Struct({
  states: Schema.optional(Schema.Array(ApplicationState)),
  ...PageRequest.fields
})

/**
 * Input of {@link Rewards.roundApplications}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const RoundApplicationsInput = Schema.Struct({
  roundId: RewardRoundId,
  states: Schema.optional(Schema.Array(ApplicationState)),
  ...PageRequest.fields
})

/**
 * A page of rounds.
 *
 * @since 0.1.0
 * @category outputs
 */
export const RoundPage = Page(RewardRound)

/**
 * A page of applications.
 *
 * @since 0.1.0
 * @category outputs
 */
export const ApplicationPage = Page(RewardApplication)

const RoundRef = Schema.Struct({ roundId: RewardRoundId })
const ApplicationRef = Schema.Struct({ applicationId: RewardApplicationId })

const operatorOnly = (rule: string) =>
  denied(rule, "operator.required", "only a platform operator manages reward rounds and reviews applications")

/** R1: only a registered institution applies for rewards. */
const institutionOf = (actor: Actor, rule: string) =>
  isRegisteredInstitution(actor.member)
    ? Effect.succeed(actor.member as Member)
    : Effect.fail(
        denied(rule, "reward.institution_only", "only a registered transfer institution applies for rewards")
      )

/**
 * R60: a profile as its audit event states it: name, credit code and the last four
 * digits of the bank account (the part of a change that redirects payments), never
 * the whole number.
 */
const profileSaid = (info: typeof ProfileInput.Type): string =>
  `${info.name} ${info.creditCode} …${info.bankAccount.accountNumber.slice(-4)}`

/**
 * Use cases of rewards.
 *
 * @since 0.1.0
 * @category services
 */
export class Rewards extends Effect.Service<Rewards>()("@zhongbao/core/Rewards", {
  effect: Effect.gen(function* () {
    const { command, query } = yield* makeRunner
    const rewards = yield* RewardRepository
    const demands = yield* DemandRepository
    const checkFiles = yield* makeAttachmentCheck
    const accounts = yield* AccountRepository
    const members = yield* MemberRepository

    /** The round, or `NotFound` (naming `field` when the id is the caller's input). */
    const found = (field?: string) => (round: Option.Option<RewardRound>) =>
      Option.isSome(round) ? Effect.succeed(round.value) : Effect.fail(notFound("reward_round", "R5", field))
    const findRound = (id: RewardRoundId, field?: string) =>
      Effect.flatMap(rewards.findRound(id), found(field))
    /** R52: the round, unchanged until the unit of work ends (it cannot close under an application). */
    const findRoundForShare = (id: RewardRoundId, field?: string) =>
      Effect.flatMap(rewards.findRoundForShare(id), found(field))
    /** R50: the round, locked until the unit of work ends (two closings are taken in turn). */
    const findRoundForUpdate = (id: RewardRoundId, field?: string) =>
      Effect.flatMap(rewards.findRoundForUpdate(id), found(field))

    /**
     * An application the actor may see: its institution's accounts and operators (R5);
     * with `lock`, held until the unit of work ends (R52, R53: an edit, a submission
     * and a decision at once are taken in turn).
     */
    const readable = (actor: Actor | null, id: RewardApplicationId, lock = false) =>
      Effect.flatMap((lock ? rewards.findApplicationForUpdate : rewards.findApplication)(id), (found) =>
        Option.isSome(found) &&
        actor !== null &&
        (isOperator(actor) || actor.member?.id === found.value.institutionId)
          ? Effect.succeed(found.value)
          : Effect.fail(notFound("reward_application"))
      )

    /** The actor's own application, locked: others' are not found (R5), an operator is denied. */
    const own = (ctx: Ctx, id: RewardApplicationId) =>
      Effect.flatMap(readable(ctx.actor, id, true), (application) =>
        application.institutionId === ctx.actor.member?.id
          ? Effect.succeed(application)
          : Effect.fail(
              denied("R52", "reward.institution_acts", "only the applying institution edits its application")
            )
      )

    const requireAccepting = (ctx: Ctx, round: RewardRound, rule: string) =>
      isAccepting(round, ctx.now, ctx.settings)
        ? Effect.void
        : Effect.fail(
            round.state === "closed"
              ? invalidState(rule, "reward.round_closed", "the reward round is closed")
              : invalidState(
                  rule,
                  "reward.deadline_passed",
                  `applications to this round were due by ${round.applicationDeadline}`
                )
          )

    /**
     * R52: every listed demand was published by the institution and solved within
     * the round's period; every proof material is a file the institution uploaded.
     * A demand or file that does not qualify is reported the same way whether it
     * exists or not (R5).
     */
    const checkItems = (
      ctx: Ctx,
      member: Member,
      round: RewardRound,
      items: ReadonlyArray<ApplicationItem>
    ) =>
      Effect.gen(function* () {
        const found = new Map<string, Demand>(
          (yield* demands.findByIds(items.map((i) => i.demandId))).map((d) => [d.id, d])
        )
        const seen = new Set<string>()
        for (const [i, item] of items.entries()) {
          const field = `items.${i}.demandId`
          if (seen.has(item.demandId)) {
            return yield* invalid("R52", field, "reward.demand_twice", `${field}: the demand is listed twice`)
          }
          seen.add(item.demandId)
          const demand = found.get(item.demandId)
          if (demand === undefined || demand.publisherId !== member.id) {
            return yield* invalid(
              "R52",
              field,
              "reward.demand_not_own",
              `${field}: not a demand your institution published`
            )
          }
          if (demand.state !== "solved" || demand.closedAt === null) {
            return yield* invalid(
              "R52",
              field,
              "reward.demand_not_solved",
              `${field}: the demand is not solved`
            )
          }
          const solvedOn = dateAt(demand.closedAt, ctx.settings)
          if (solvedOn < round.periodStart || solvedOn > round.periodEnd) {
            return yield* invalid(
              "R52",
              field,
              "reward.demand_outside_period",
              `${field}: solved on ${solvedOn}, outside the round's period ${round.periodStart} – ${round.periodEnd}`
            )
          }
          yield* checkFiles("R52", `items.${i}.proofs`, member.id, item.proofs, {
            code: "reward.proof_unknown",
            says: "a proof material is a file your institution uploaded"
          })
        }
      })

    /**
     * R52: none of `application`'s demands is listed by another of the institution's
     * applications that is submitted or approved, in any round. The caller holds the
     * institution's member row locked, so two submissions of one institution do not
     * both pass.
     */
    const checkUnclaimed = (application: RewardApplication) =>
      Effect.gen(function* () {
        const claimed = new Map<string, RewardRoundId>()
        const limit = 100
        let after: Position | undefined
        for (;;) {
          const page = yield* rewards.listApplications({
            scope: { _tag: "institution", memberId: application.institutionId },
            states: ["submitted", "approved"],
            after,
            limit
          })
          for (const other of page) {
            if (other.id !== application.id)
              for (const item of other.items) claimed.set(item.demandId, other.roundId)
          }
          if (page.length < limit) break
          after = applicationKey(page[page.length - 1]!)
        }
        for (const [i, item] of application.items.entries()) {
          const roundId = claimed.get(item.demandId)
          if (roundId !== undefined) {
            const field = `items.${i}.demandId`
            const round = yield* rewards.findRound(roundId)
            const name = Option.match(round, { onNone: () => roundId, onSome: (r) => `"${r.title}"` })
            return yield* invalid(
              "R52",
              field,
              "reward.demand_claimed",
              `${field}: the demand is already claimed by your submitted or approved application to the round ${name}`
            )
          }
        }
      })

    const notifyInstitution = <E extends NotificationEvent>(
      ctx: Ctx,
      application: RewardApplication,
      event: E,
      subjectId: string,
      values: EventValues<E>
    ) =>
      Effect.flatMap(accounts.listByMember(application.institutionId), (list) =>
        ctx.notify(list.filter((a) => a.active).map((a) => ({ event, subjectId, phone: a.phone, values })))
      )

    const saveApplication = (before: RewardApplication, changes: Partial<RewardApplication>, ctx: Ctx) => {
      const next: RewardApplication = {
        ...before,
        ...changes,
        updatedAt: ctx.now,
        version: before.version + 1
      }
      return Effect.as(rewards.updateApplication(next), next)
    }

    const decide = (
      ctx: Ctx,
      id: RewardApplicationId,
      to: "approved" | "rejected",
      changes: Partial<RewardApplication>
    ) =>
      Effect.gen(function* () {
        if (!isOperator(ctx.actor)) return yield* operatorOnly("R53")
        const application = yield* readable(ctx.actor, id, true)
        if (application.state !== "submitted") {
          return yield* invalidState(
            "R53",
            "reward.not_submitted",
            `only a submitted application is reviewed; this one is ${application.state}`
          )
        }
        const round = yield* findRound(application.roundId)
        const next = yield* saveApplication(
          application,
          { state: to, decidedBy: ctx.actor.account.id, decidedAt: ctx.now, ...changes },
          ctx
        )
        yield* ctx.audit({
          entity: "reward_application",
          entityId: application.id,
          action: `reward_application.${to}`,
          before: "submitted",
          after: to === "approved" ? `approved ${toYuan(next.amount!)}` : "rejected",
          reason: next.rejectionReason ?? null,
          members: [application.institutionId]
        })
        yield* to === "approved"
          ? notifyInstitution(ctx, next, "reward_approved", next.id, {
              round: round.title,
              amount: toYuan(next.amount!)
            })
          : notifyInstitution(ctx, next, "reward_rejected", `${next.id}/${next.version}`, {
              round: round.title,
              reason: next.rejectionReason!
            })
        return next
      })

    return {
      /** R50: an operator opens a reward round. */
      openRound: command(
        { name: "openRewardRound", input: RoundInput, output: RewardRound, rule: "R50" },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly("R50")
            if (input.periodEnd < input.periodStart) {
              return yield* invalid(
                "R50",
                "periodEnd",
                "reward.period_invalid",
                "periodEnd: the period ends on or after the day it starts"
              )
            }
            if (input.applicationDeadline < input.periodStart) {
              return yield* invalid(
                "R50",
                "applicationDeadline",
                "reward.deadline_before_period",
                `applicationDeadline: must be on or after the period's start, ${input.periodStart}: a demand is claimed once it is solved in the period`
              )
            }
            const today = dateAt(ctx.now, ctx.settings)
            if (input.applicationDeadline < today) {
              return yield* invalid(
                "R50",
                "applicationDeadline",
                "reward.deadline_past",
                `applicationDeadline: must be on or after ${today}`
              )
            }
            const round: RewardRound = {
              id: Ids.make(),
              ...input,
              state: "open",
              openedBy: ctx.actor.account.id,
              openedAt: ctx.now,
              closedBy: null,
              closedAt: null,
              version: 1
            }
            yield* rewards.insertRound(round)
            yield* ctx.audit({
              entity: "reward_round",
              entityId: round.id,
              action: "reward_round.opened",
              after: `open ${round.periodStart}–${round.periodEnd}, due ${round.applicationDeadline}`
            })
            return round
          })
      ),

      /** R50: an operator closes an open round; no application is drafted or submitted after. */
      closeRound: command(
        { name: "closeRewardRound", input: RoundRef, output: RewardRound, rule: "R50" },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly("R50")
            const round = yield* findRoundForUpdate(input.roundId, "roundId")
            if (round.state !== "open") {
              return yield* invalidState("R50", "reward.round_closed", "the reward round is already closed")
            }
            const next: RewardRound = {
              ...round,
              state: "closed",
              closedBy: ctx.actor.account.id,
              closedAt: ctx.now,
              version: round.version + 1
            }
            yield* rewards.updateRound(next)
            yield* ctx.audit({
              entity: "reward_round",
              entityId: round.id,
              action: "reward_round.closed",
              before: "open",
              after: "closed"
            })
            return next
          })
      ),

      /** R50: the rounds, newest first; public. */
      rounds: query({ input: RoundsInput, rule: "R50", anonymous: true }, (_ctx, input) =>
        pageOf(
          input,
          SortKeys.scopes.rewardRound,
          (range) => rewards.listRounds({ states: input.states, ...range }),
          roundKey
        )
      ),

      /** R50: one round; public. */
      round: query({ input: RoundRef, rule: "R50", anonymous: true }, (_ctx, input) =>
        findRound(input.roundId, "roundId")
      ),

      /**
       * R51: a registered institution saves its basic information, whole. Two saves at
       * once are taken in turn; one naming the revision it read (`ifRevision`) is
       * refused (`revision.stale`) if the information changed since, and a first one
       * made on reading none (`ifAbsent`) if another was saved since: a save from an
       * older copy would otherwise put back an earlier bank account.
       */
      saveProfile: command(
        {
          name: "saveInstitutionProfile",
          input: SaveProfileInput,
          output: InstitutionProfile,
          rule: "R51"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            const member = yield* institutionOf(ctx.actor, "R51")
            // Two saves at once are taken in turn: the profile may not exist yet to lock.
            yield* members.findByIdForUpdate(member.id)
            const before = yield* rewards.findProfile(member.id)
            const { ifRevision, ifAbsent, ...info } = input
            yield* Revision.checkAbsent(Option.getOrUndefined(before), ifAbsent, "R51", "basic information")
            yield* Revision.check(
              InstitutionProfile,
              Option.getOrUndefined(before),
              ifRevision,
              "R51",
              "basic information"
            )
            const profile: InstitutionProfile = {
              memberId: member.id,
              info,
              updatedBy: ctx.actor.account.id,
              updatedAt: ctx.now,
              version: Option.match(before, { onNone: () => 1, onSome: (p) => p.version + 1 })
            }
            yield* Option.isNone(before) ? rewards.insertProfile(profile) : rewards.updateProfile(profile)
            yield* ctx.audit({
              entity: "member",
              entityId: member.id,
              action: "institution_profile.saved",
              before: Option.match(before, { onNone: () => null, onSome: (p) => profileSaid(p.info) }),
              after: profileSaid(info)
            })
            return profile
          })
      ),

      /**
       * R51: an institution's basic information, `null` when none was saved: its
       * own (no `memberId`), or any institution's for operators.
       */
      profile: query(
        { input: Schema.Struct({ memberId: Schema.optional(MemberId) }), rule: "R51" },
        (ctx, input) =>
          Effect.gen(function* () {
            const actor = ctx.actor!
            const memberId = input.memberId ?? actor.member?.id
            if (memberId === undefined) return null
            if (!isOperator(actor) && memberId !== actor.member?.id) return yield* notFound("profile")
            return Option.getOrNull(yield* rewards.findProfile(memberId))
          })
      ),

      /** R52: a registered institution drafts its application to a round taking applications. */
      draft: command(
        {
          name: "draftRewardApplication",
          input: DraftInput,
          output: RewardApplication,
          rule: "R52"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            const member = yield* institutionOf(ctx.actor, "R1")
            const round = yield* findRoundForShare(input.roundId, "roundId")
            yield* requireAccepting(ctx, round, "R52")
            const exists = invalidState(
              "R52",
              "reward.application_exists",
              "the institution already has an application in this round"
            )
            if (Option.isSome(yield* rewards.findApplicationOf(round.id, member.id))) return yield* exists
            yield* checkItems(ctx, member, round, input.items)
            const application: RewardApplication = {
              id: Ids.make(),
              roundId: round.id,
              institutionId: member.id,
              state: "draft",
              items: input.items,
              note: input.note ?? null,
              profile: null,
              amount: null,
              rejectionReason: null,
              createdBy: ctx.actor.account.id,
              createdAt: ctx.now,
              updatedAt: ctx.now,
              submittedAt: null,
              decidedBy: null,
              decidedAt: null,
              version: 1
            }
            yield* rewards
              .insertApplication(application)
              .pipe(Effect.catchTag("UniqueViolation", () => exists))
            yield* ctx.audit({
              entity: "reward_application",
              entityId: application.id,
              action: "reward_application.drafted",
              after: "draft"
            })
            return application
          })
      ),

      /**
       * R52, R53: corrects a draft or a rejected application (which becomes a draft
       * again). The list and note are replaced whole: an update naming the version it
       * was read at (`ifVersion`) is refused if the application changed since
       * (`revision.stale`).
       */
      update: command(
        {
          name: "updateRewardApplication",
          input: UpdateInput,
          output: RewardApplication,
          rule: "R52"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            const member = yield* institutionOf(ctx.actor, "R1")
            const application = yield* own(ctx, input.applicationId)
            yield* Revision.checkVersion(application.version, input.ifVersion, "R52", "application")
            if (application.state !== "draft" && application.state !== "rejected") {
              return yield* invalidState(
                "R53",
                "reward.not_editable",
                `a ${application.state} application cannot be changed`
              )
            }
            const round = yield* findRoundForShare(application.roundId)
            yield* requireAccepting(ctx, round, application.state === "rejected" ? "R53" : "R52")
            yield* checkItems(ctx, member, round, input.items)
            const next = yield* saveApplication(
              application,
              { state: "draft", items: input.items, note: input.note ?? null },
              ctx
            )
            yield* ctx.audit({
              entity: "reward_application",
              entityId: application.id,
              action: "reward_application.updated",
              before: application.state,
              after: "draft"
            })
            return next
          })
      ),

      /**
       * R52, R53: submits a draft, or resubmits a rejected application, before the
       * round's deadline, none of its demands claimed by another of the
       * institution's submitted or approved applications; snapshots the
       * institution's basic information (R51).
       */
      submit: command(
        {
          name: "submitRewardApplication",
          input: ApplicationRef,
          output: RewardApplication,
          rule: "R52"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            const member = yield* institutionOf(ctx.actor, "R1")
            yield* members.findByIdForUpdate(member.id)
            const application = yield* own(ctx, input.applicationId)
            if (application.state !== "draft" && application.state !== "rejected") {
              return yield* invalidState(
                "R52",
                "reward.not_submittable",
                `a ${application.state} application cannot be submitted`
              )
            }
            const round = yield* findRoundForShare(application.roundId)
            yield* requireAccepting(ctx, round, application.state === "rejected" ? "R53" : "R52")
            const profile = yield* rewards.findProfile(member.id)
            if (Option.isNone(profile)) {
              return yield* invalidState(
                "R51",
                "reward.profile_missing",
                "save the institution's basic information before submitting"
              )
            }
            yield* checkItems(ctx, member, round, application.items)
            yield* checkUnclaimed(application)
            const next = yield* saveApplication(
              application,
              { state: "submitted", profile: profile.value.info, submittedAt: ctx.now },
              ctx
            )
            yield* ctx.audit({
              entity: "reward_application",
              entityId: application.id,
              action: "reward_application.submitted",
              before: application.state,
              after: "submitted"
            })
            return next
          })
      ),

      /** R53: an operator approves a submitted application with an amount. */
      approve: command(
        { name: "approveRewardApplication", input: ApproveInput, output: RewardApplication, rule: "R53" },
        (ctx, input) =>
          decide(ctx, input.applicationId, "approved", { amount: input.amount, rejectionReason: null })
      ),

      /** R53: an operator rejects a submitted application with a reason. */
      reject: command(
        { name: "rejectRewardApplication", input: RejectInput, output: RewardApplication, rule: "R53" },
        (ctx, input) => decide(ctx, input.applicationId, "rejected", { rejectionReason: input.reason })
      ),

      /** R52, R5: one application, for its institution and operators. */
      application: query({ input: ApplicationRef, rule: "R52" }, (ctx, input) =>
        readable(ctx.actor, input.applicationId)
      ),

      /** §9: the actor's institution's applications, newest first. */
      myApplications: query({ input: MyApplicationsInput, rule: "R52" }, (ctx, input) =>
        Effect.gen(function* () {
          const member = ctx.actor?.member
          if (!member) return { items: [], nextCursor: null }
          return yield* pageOf(
            input,
            SortKeys.scopes.rewardApplication,
            (range) =>
              rewards.listApplications({
                scope: { _tag: "institution", memberId: member.id },
                states: input.states,
                ...range
              }),
            applicationKey
          )
        })
      ),

      /** R53: the applications of a round, newest first, for operators. */
      roundApplications: query({ input: RoundApplicationsInput, rule: "R53" }, (ctx, input) =>
        Effect.gen(function* () {
          if (ctx.actor === null || !isOperator(ctx.actor)) return yield* operatorOnly("R53")
          const round = yield* findRound(input.roundId, "roundId")
          return yield* pageOf(
            input,
            SortKeys.scopes.rewardApplication,
            (range) =>
              rewards.listApplications({
                scope: { _tag: "round", roundId: round.id },
                states: input.states,
                ...range
              }),
            applicationKey
          )
        })
      )
    }
  })
}) {}
