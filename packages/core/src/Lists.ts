/**
 * The member-center lists and the public hall (§9): paged with cursors, filtered,
 * in a stable order.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Filter, Line } from "./Text.js"
import { canReadDemand, canSeeResponse, managesDemand } from "./Access.js"
import { dateAt, LocalDate } from "./Deadline.js"
import { Demand, type DemandBrief, DemandState } from "./Demand.js"
import { denied, invalid, notFound } from "./Errors.js"
import { DemandId, MemberId, ResponseId, ThreadId } from "./Ids.js"
import { makeRunner, type ReadCtx } from "./internal/command.js"
import { type CommissionActive, makeCommissionActive } from "./internal/commissioned.js"
import { makeResponded, type Responded } from "./internal/responded.js"
import { makeDemandAccess } from "./internal/demands.js"
import { pageOf } from "./internal/paging.js"
import { isOperator } from "./Member.js"
import { Page, PageRequest } from "./Pagination.js"
import {
  ConsultationRepository,
  type DemandQuery,
  type DemandSort,
  MemberRepository,
  type ResponseScope,
  ResponseRepository
} from "./Persistence.js"
import { phaseOf, responseStatus, selectionEndsAtOf, statusViewAt } from "./Phase.js"
import { type Response, ResponseStatus } from "./Response.js"
import * as SortKeys from "./SortKeys.js"
import { Action, actionsOf } from "./View.js"

/** §9: a search keyword, one line (see {@link Line}). */
const Keyword = Line(50)

/**
 * A row of "my demands" and of the public hall (§9).
 *
 * @since 0.1.0
 * @category outputs
 */
export const DemandListItem = Schema.Struct({
  id: DemandId,
  number: Schema.NullOr(Schema.String),
  title: Schema.String,
  field: Schema.String,
  region: Schema.NullOr(Schema.String),
  state: DemandState,
  outcome: Demand.fields.outcome,
  phase: Schema.Literal("not_published", "no_responses", "taking_responses", "selecting", "selection_over"),
  publishedAt: Schema.NullOr(Schema.DateTimeUtc),
  responseCount: Schema.Int,
  responseDeadline: LocalDate,
  selectionEndsAt: Schema.NullOr(Schema.DateTimeUtc),
  actions: Schema.Array(Action)
}).annotations({ identifier: "DemandListItem" })

/** @since 0.1.0 @category outputs */
export type DemandListItem = typeof DemandListItem.Type

/**
 * A row of "responses submitted to me" and "my responses" (§9). `demandTitle` is
 * empty while the reader may not read the demand (R5): a restarted demand's new form
 * is not public until it is approved again.
 *
 * @since 0.1.0
 * @category outputs
 */
export const ResponseListItem = Schema.Struct({
  id: ResponseId,
  demandId: DemandId,
  demandNumber: Schema.NullOr(Schema.String),
  demandTitle: Schema.String,
  round: Schema.Int,
  responderId: MemberId,
  responderName: Schema.String,
  proposalTitle: Schema.String,
  submittedAt: Schema.DateTimeUtc,
  status: ResponseStatus,
  threadId: Schema.NullOr(ThreadId)
}).annotations({ identifier: "ResponseListItem" })

/** @since 0.1.0 @category outputs */
export type ResponseListItem = typeof ResponseListItem.Type

/**
 * Filters of "my demands". `sort`: `created` (the default, newest first),
 * `published` (last published first, then those never published) or `deadline`
 * (soonest first).
 *
 * @since 0.1.0
 * @category inputs
 */
export const MyDemandsInput = Schema.Struct({
  role: Schema.optional(Schema.Literal("publisher", "client", "any")),
  states: Schema.optional(Schema.Array(DemandState)),
  field: Schema.optional(Filter(100)),
  keyword: Schema.optional(Keyword),
  sort: Schema.optional(Schema.Literal("created", "published", "deadline")),
  ...PageRequest.fields
})

/**
 * Filters of the public hall: keyword (title, summary, keywords, or a demand's whole number), field, region,
 * state, whether responses are taken now, deadline range; sorted by publication
 * (newest first) or deadline (soonest first). `field` and `region` match a demand's
 * own value exactly: the field is one of the platform's taxonomy, while R10 leaves
 * the region free text, so `天津市` does not find `天津市滨海新区` (search a district
 * by `keyword` when it is in the title or summary).
 *
 * @since 0.1.0
 * @category inputs
 */
export const HallInput = Schema.Struct({
  keyword: Schema.optional(Keyword),
  field: Schema.optional(Filter(100)),
  region: Schema.optional(Filter(100)),
  states: Schema.optional(Schema.Array(Schema.Literal("published", "solved"))),
  /**
   * `true`: only demands taking responses now (published, cooperative, before the
   * end of their deadline date, intake open), among the `states` asked for (with
   * `states: ["solved"]`, none). `false` is the same as leaving it out: no such
   * filter.
   */
  takingResponses: Schema.optional(Schema.Boolean),
  deadlineFrom: Schema.optional(LocalDate),
  deadlineTo: Schema.optional(LocalDate),
  sort: Schema.optional(Schema.Literal("published", "deadline")),
  ...PageRequest.fields
})

/**
 * Filters of the response lists.
 *
 * @since 0.1.0
 * @category inputs
 */
export const ResponsesInput = Schema.Struct({
  demandId: Schema.optional(DemandId),
  statuses: Schema.optional(Schema.Array(ResponseStatus)),
  ...PageRequest.fields
})

/** @since 0.1.0 @category outputs */
export const DemandListPage = Page(DemandListItem)
/** @since 0.1.0 @category outputs */
export const ResponseListPage = Page(ResponseListItem)

/**
 * Use cases of the lists.
 *
 * @since 0.1.0
 * @category services
 */
export class Lists extends Effect.Service<Lists>()("@zhongbao/core/Lists", {
  effect: Effect.gen(function* () {
    const { query } = yield* makeRunner
    const demands = yield* makeDemandAccess
    const responses = yield* ResponseRepository
    const members = yield* MemberRepository
    const threads = yield* ConsultationRepository
    const commissionActive = yield* makeCommissionActive
    const responded = yield* makeResponded

    const demandItem =
      (ctx: ReadCtx, active: CommissionActive, answered: Responded) =>
      (d: DemandBrief): DemandListItem => ({
        id: d.id,
        number: d.number,
        title: d.form.title,
        field: d.form.field,
        region: d.form.region ?? null,
        state: d.state,
        outcome: d.outcome,
        phase: phaseOf(d, ctx.now, ctx.settings),
        publishedAt: d.firstPublishedAt,
        responseCount: d.responseCount,
        responseDeadline: d.form.responseDeadline,
        selectionEndsAt: selectionEndsAtOf(d, ctx.settings),
        actions: actionsOf(d, ctx.actor, ctx.now, ctx.settings, active(d), answered(d))
      })

    const demandPage = (
      ctx: ReadCtx,
      request: { cursor?: string | undefined; limit?: number | undefined },
      q: Omit<DemandQuery, "after" | "limit">
    ) =>
      pageOf(
        request,
        SortKeys.demandScope(q.sort),
        (range) => demands.repo.listBriefs({ ...q, ...range }),
        (d) => SortKeys.demand(d, q.sort),
        (rows) =>
          Effect.map(
            Effect.zip(commissionActive(ctx.actor, rows), responded(ctx.actor, ctx.now, ctx.settings, rows)),
            ([active, answered]) => rows.map(demandItem(ctx, active, answered))
          )
      )

    const responsePage = (ctx: ReadCtx, input: typeof ResponsesInput.Type, scope: ResponseScope) =>
      pageOf(
        input,
        SortKeys.scopes.response,
        (range) =>
          responses.list({
            scope,
            demandId: input.demandId,
            statuses: input.statuses,
            shown: statusViewAt(ctx.now, ctx.settings),
            ...range
          }),
        SortKeys.response,
        (rows: ReadonlyArray<Response>) =>
          Effect.gen(function* () {
            const byId = new Map(
              (yield* demands.repo.findByIds([...new Set(rows.map((r) => r.demandId))])).map((d) => [d.id, d])
            )
            return yield* Effect.forEach(rows, (r) =>
              Effect.gen(function* () {
                const demand = byId.get(r.demandId)!
                const responder = yield* members.findById(r.responderId)
                const thread = yield* threads.findThread(r.demandId, r.responderId)
                return {
                  id: r.id,
                  demandId: r.demandId,
                  demandNumber: demand.number,
                  demandTitle: canReadDemand(ctx.actor, demand) ? demand.form.title : "",
                  round: r.round,
                  responderId: r.responderId,
                  responderName: Option.match(responder, { onNone: () => "", onSome: (m) => m.name }),
                  proposalTitle: r.proposal.title,
                  submittedAt: r.submittedAt,
                  status: responseStatus(r, demand, ctx.now, ctx.settings),
                  threadId: Option.match(thread, { onNone: () => null, onSome: (t) => t.id })
                } satisfies ResponseListItem
              })
            )
          })
      )

    const memberOf = (ctx: ReadCtx) =>
      ctx.actor?.member
        ? Effect.succeed(ctx.actor.member)
        : Effect.fail(denied("§9", "list.member_required", "this list belongs to a member"))

    return {
      /** §9 "my demands": the demands the actor's member manages or commissioned. */
      myDemands: query({ input: MyDemandsInput, rule: "§9" }, (ctx, input) =>
        Effect.gen(function* () {
          const member = yield* memberOf(ctx)
          const sort: DemandSort = input.sort ?? "created"
          return yield* demandPage(ctx, input, {
            scope: { _tag: "member", memberId: member.id, role: input.role ?? "any" },
            sort,
            states: input.states,
            field: input.field,
            keyword: input.keyword?.toLowerCase()
          })
        })
      ),

      /**
       * §9 public hall: published (and solved) demands, for anyone. A deadline range
       * that ends before it starts is refused, as a statistics period is (R62).
       */
      hall: query({ input: HallInput, rule: "§9", anonymous: true }, (ctx, input) => {
        if (
          input.deadlineFrom !== undefined &&
          input.deadlineTo !== undefined &&
          input.deadlineTo < input.deadlineFrom
        ) {
          return invalid(
            "§9",
            "deadlineTo",
            "list.range_invalid",
            `deadlineTo: the deadline range ends on or after it starts (${input.deadlineFrom})`
          )
        }
        const today = dateAt(ctx.now, ctx.settings)
        const taking = input.takingResponses === true
        const deadlineFrom =
          taking && (input.deadlineFrom === undefined || input.deadlineFrom < today)
            ? today
            : input.deadlineFrom
        return demandPage(ctx, input, {
          scope: { _tag: "public" },
          sort: input.sort ?? "published",
          states: taking ? (input.states ?? ["published"]).filter((s) => s === "published") : input.states,
          field: input.field,
          region: input.region,
          keyword: input.keyword?.toLowerCase(),
          deadlineFrom,
          deadlineTo: input.deadlineTo,
          intakeOpen: taking ? true : undefined,
          serviceModes: taking
            ? ctx.settings.serviceModes.filter((m) => m.acceptsResponses).map((m) => m.id)
            : undefined
        })
      }),

      /** §9 "responses submitted to me": responses to demands the actor's member manages. */
      responsesToMe: query({ input: ResponsesInput, rule: "§9" }, (ctx, input) =>
        Effect.flatMap(memberOf(ctx), (member) =>
          responsePage(ctx, input, { _tag: "publisher", memberId: member.id })
        )
      ),

      /** §9 "my responses": the responses the actor's member submitted. */
      myResponses: query({ input: ResponsesInput, rule: "§9" }, (ctx, input) =>
        Effect.flatMap(memberOf(ctx), (member) =>
          responsePage(ctx, input, { _tag: "responder", memberId: member.id })
        )
      ),

      /**
       * R23: the responses of one demand, all rounds, for its managing side and
       * operators at any time (R4: nobody else).
       */
      demandResponses: query(
        { input: Schema.Struct({ ...ResponsesInput.fields, demandId: DemandId }), rule: "R23" },
        (ctx, input) =>
          Effect.gen(function* () {
            const demand = yield* demands.readable(ctx.actor, input.demandId)
            if (ctx.actor === null || !(isOperator(ctx.actor) || managesDemand(ctx.actor, demand)))
              return yield* notFound("demand_responses", "R4")
            return yield* responsePage(ctx, input, { _tag: "demand", demandId: demand.id })
          })
      ),

      /**
       * R4: one response, for its responder, the demand's managing side and operators.
       * R61: the responder reads a non-adoption reason once the response shows as not
       * adopted, not while the demand's side may still adopt it.
       */
      response: query({ input: Schema.Struct({ responseId: ResponseId }), rule: "R4" }, (ctx, input) =>
        Effect.gen(function* () {
          const found = yield* responses.findById(input.responseId)
          if (Option.isNone(found) || !canSeeResponse(ctx.actor, found.value))
            return yield* notFound("response", "R4")
          const demand = Option.getOrThrow(yield* demands.repo.findById(found.value.demandId))
          const status = responseStatus(found.value, demand, ctx.now, ctx.settings)
          const responder =
            ctx.actor?.member?.id === found.value.responderId && !managesDemand(ctx.actor, demand)
          return {
            ...found.value,
            status,
            feedback: responder && status !== "not_adopted" ? null : found.value.feedback
          }
        })
      )
    }
  })
}) {}
