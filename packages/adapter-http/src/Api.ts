/**
 * The HTTP API of zhongbao: every use case of `@zhongbao/core` as an endpoint of one
 * `HttpApi`, grouped as the member center groups them. This module is the
 * definition only (paths, schemas, errors with their statuses, OpenAPI summaries);
 * the implementation is `Http`. Portals derive a typed client from it, in a browser
 * from `@zhongbao/adapter-http/api` (the definition without the server):
 *
 * ```ts
 * import { HttpApiClient } from "@effect/platform"
 * import { Api } from "@zhongbao/adapter-http/api"
 *
 * const client = yield* HttpApiClient.make(Api.Api, { baseUrl: "https://portal.example/zhongbao" })
 * const hall = yield* client.hall.list({ urlParams: { keyword: "石墨烯" } })
 * ```
 *
 * Conventions:
 * - Inputs reuse core's schemas (`Demand.DemandForm`, `Lists.HallInput` …), so a
 *   field that core would refuse is refused here with `400` and the field named;
 *   an unknown payload property is refused the same way (a misspelled field would be
 *   lost); server-owned fields (state, owner, number, timestamps) are never inputs.
 * - Reads are `GET` with URL parameters (arrays repeat the parameter:
 *   `?states=published&states=solved`). Commands are `POST` (`PUT` for replacing a
 *   form, a proposal, a profile or an application) and take an optional
 *   `Idempotency-Key` header (R63): a repeat with the same key and the same request
 *   returns the first result and changes nothing; the same key with another request
 *   is `422`.
 * - Every endpoint runs `Authentication`; the public ones (hall, institutions, one
 *   demand, reward rounds, settings) also answer anonymous callers, the others
 *   answer them `401`.
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import packageJson from "../package.json" with { type: "json" }
import type { HttpMethod } from "@effect/platform/HttpMethod"
import {
  Audit,
  AuditTrail,
  Commission,
  Commissioning,
  Consultation,
  Consulting,
  Demand,
  FileStore,
  Ids,
  Lists,
  Member,
  Membership,
  Notification,
  Notifications,
  Outcome,
  Pagination,
  Publishing,
  Response,
  Responding,
  Review,
  Revision,
  Reward,
  Rewards,
  Selection,
  ServiceLog,
  Settings,
  Statistics,
  View
} from "@zhongbao/core"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import * as Struct from "effect/Struct"
import {
  Denied,
  IdempotencyKeyReused,
  InternalError,
  InvalidInput,
  InvalidState,
  PreconditionFailed,
  NotFound,
  OutcomeUnknown,
  PayloadTooLarge,
  RequestTimeout,
  RateLimited,
  Unavailable
} from "./ApiError.js"
import { ifMatchPattern, tagCount } from "./internal/conditions.js"
import { Authentication } from "./internal/tags.js"

/**
 * The domain rule an endpoint serves (core's README maps rules to code); a decode failure of its input names it.
 *
 * @since 0.1.0
 * @category annotations
 */
export class Rule extends Context.Tag("@zhongbao/adapter-http/Rule")<Rule, string>() {}

/**
 * Whether an endpoint answers anonymous callers.
 *
 * @since 0.1.0
 * @category annotations
 */
export class Public extends Context.Tag("@zhongbao/adapter-http/Public")<Public, boolean>() {}

// ---------------------------------------------------------------------------
// Shared parts
// ---------------------------------------------------------------------------

/**
 * The `Idempotency-Key` header of commands (R63): 1–255 visible ASCII characters.
 *
 * @since 0.1.0
 * @category headers
 */
export const IdempotencyHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(
    Schema.String.pipe(
      Schema.pattern(/^[\x21-\x7e]{1,255}$/, { message: () => "1–255 visible ASCII characters" })
    ).annotations({
      description: "R63: a client key; a repeat with the same request returns the first result"
    })
  )
})

/**
 * The headers of a whole-record update: the `Idempotency-Key` of commands, and
 * `If-Match`, the revisions of the record the caller read, each quoted as an entity
 * tag (`If-Match: "<revision>"`, at most 20 of them), or `*` (any revision: the
 * record exists). A record answered with a `revision` (an account, a technology
 * manager, an institution's basic information) is named by it; one answered with a
 * `version` (a demand, a response, a reward application) by that version
 * (`If-Match: "3"`). The update is refused (`412` `revision.stale`) when the record
 * changed since; without `If-Match` it overwrites whatever the record is.
 *
 * @since 0.1.0
 * @category headers
 */
export const ConditionalHeaders = Schema.Struct({
  ...IdempotencyHeaders.fields,
  "if-match": Schema.optional(
    Schema.String.pipe(
      Schema.pattern(ifMatchPattern, {
        message: () => '`*` or entity tags: `"<revision>"`, separated by commas'
      }),
      Schema.filter((header) => tagCount(header) <= 20, { message: () => "at most 20 entity tags" })
    ).annotations({
      description:
        'The revisions of the record read (its `revision`, or its `version` where it has one, quoted: `"<revision>"`): the update is refused with `412` if the record changed since'
    })
  )
})

/**
 * The headers of saving an institution's basic information: those of a whole-record
 * update, and `If-None-Match: *`, the save of a caller that read none: refused
 * (`412` `revision.stale`) when one was saved since.
 *
 * @since 0.1.0
 * @category headers
 */
export const ProfileHeaders = Schema.Struct({
  ...ConditionalHeaders.fields,
  "if-none-match": Schema.optional(
    Schema.Literal("*").annotations({
      message: () => "`*`, the only value taken here",
      description:
        "`*`: save only if no information was saved yet (the caller read none); refused with `412` if some was saved since"
    })
  )
})

/**
 * An integer query parameter written in decimal digits (not `1e1` or `0x10`, which
 * `NumberFromString` would read), described in OpenAPI as the integer it is.
 */
const IntParam = (min: number, max: number) =>
  Schema.String.pipe(
    Schema.pattern(/^\d{1,16}$/, { message: () => `an integer from ${min} to ${max} in decimal digits` }),
    Schema.compose(Schema.NumberFromString),
    Schema.int(),
    Schema.between(min, max, { message: () => `an integer from ${min} to ${max} in decimal digits` })
  ).annotations({
    jsonSchema: { type: "integer", minimum: min, maximum: max }
  })

/**
 * A payload refusing properties it does not know, at any depth (`400` naming the
 * property, "is unexpected"): a misspelled optional field would otherwise be dropped
 * and its value lost without a word. The OpenAPI document says the same
 * (`additionalProperties: false`).
 */
const strict = <S extends Schema.Schema.Any>(schema: S): S =>
  schema.annotations({ parseOptions: { onExcessProperty: "error" } }) as S

/** Paging as URL parameters. */
const PageParams = {
  cursor: Pagination.PageRequest.fields.cursor,
  limit: Schema.optional(IntParam(1, 100))
}

const SeqParams = {
  afterSeq: Schema.optional(IntParam(0, 2_147_483_647)),
  limit: Schema.optional(IntParam(1, 200))
}

const ArrayParam = <A, I extends string, R>(item: Schema.Schema<A, I, R>) =>
  Schema.optional(Schema.Array(item).pipe(Schema.maxItems(20)))

const DemandPath = Schema.Struct({ demandId: Ids.DemandId })
const ResponsePath = Schema.Struct({ responseId: Ids.ResponseId })
const ThreadPath = Schema.Struct({ threadId: Ids.ThreadId })
const MemberPath = Schema.Struct({ memberId: Ids.MemberId })
const AccountPath = Schema.Struct({ accountId: Ids.AccountId })
const TechnologyManagerPath = Schema.Struct({ technologyManagerId: Ids.TechnologyManagerId })
const CommissionPath = Schema.Struct({ commissionId: Ids.CommissionId })
const RoundPath = Schema.Struct({ roundId: Reward.RewardRoundId })
const ApplicationPath = Schema.Struct({ applicationId: Reward.RewardApplicationId })
const FilePath = Schema.Struct({ fileId: Ids.FileId })
/** Where a reader who is not the file's owner found it attached (R4, R2). */
const FileWhere = Schema.Struct({
  demandId: Schema.optional(Ids.DemandId).annotations({
    description: "A demand the file is attached to: its form, or an entry of its service log"
  }),
  responseId: Schema.optional(Ids.ResponseId).annotations({
    description: "A response whose proposal the file is attached to"
  })
})
const MessagePath = Schema.Struct({ messageId: Ids.OutboxMessageId })

/**
 * An operation's security in the OpenAPI document, from the API's `Authentication`
 * middleware (its `bearer` scheme): required, or optional for a public endpoint
 * (`{}` is "no credential"). The generated document gives every operation
 * `security: []` for a middleware added to the whole API, which OpenAPI reads as
 * "no credential needed", overriding the document's own requirement. A `429`
 * (a rate-limited command) and a `503` declare their `Retry-After` header and a `401` its
 * `WWW-Authenticate`, which the errors' schemas cannot.
 */
const securityOf =
  (isPublic: boolean) =>
  (operation: Record<string, unknown>): Record<string, unknown> => {
    const responses = operation.responses as Record<string, Record<string, unknown>> | undefined
    const withHeader = (status: string, name: string, header: Record<string, unknown>) =>
      responses?.[status] === undefined
        ? {}
        : { [status]: { ...responses[status], headers: { [name]: header } } }
    return {
      ...operation,
      ...(responses === undefined
        ? {}
        : {
            responses: {
              ...responses,
              ...withHeader("401", "WWW-Authenticate", {
                description: 'The challenge of the API\'s scheme: `Bearer realm="zhongbao"`',
                schema: { type: "string" }
              }),
              ...withHeader("429", "Retry-After", {
                description: "Seconds until the rate limit lets this command through again",
                schema: { type: "integer", minimum: 1 }
              }),
              ...withHeader("503", "Retry-After", {
                description: "Seconds to wait before trying again, while the server starts",
                schema: { type: "integer", minimum: 1 }
              })
            }
          }),
      security: isPublic ? [{}, { bearer: [] }] : [{ bearer: [] }]
    }
  }

const describe = (rule: string, description?: string) =>
  description === undefined ? `Rule ${rule}.` : `${description}\n\nRule ${rule}.`

/** A read's summary, description, rule and security. */
const described = <N extends string, M extends HttpMethod, P, U, Pl, H, S, E, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<N, M, P, U, Pl, H, S, E, R, RE>,
  summary: string,
  rule: string,
  options: { readonly description?: string; readonly public?: boolean } = {}
) =>
  endpoint
    .annotate(OpenApi.Summary, summary)
    .annotate(OpenApi.Description, describe(rule, options.description))
    .annotate(Rule, rule)
    .annotate(Public, options.public === true)
    .annotate(OpenApi.Transform, securityOf(options.public === true))

/** A read: the errors a query may answer. */
const read = <N extends string, M extends HttpMethod, P, U, Pl, H, S, E, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<N, M, P, U, Pl, H, S, E, R, RE>,
  summary: string,
  rule: string,
  options: { readonly description?: string; readonly public?: boolean } = {}
) => described(endpoint.addError(InvalidInput).addError(Denied).addError(NotFound), summary, rule, options)

/**
 * A read with no input that any caller may make: it answers its success, or one of
 * the errors every endpoint may answer (the API's, and the platform's `400`), never
 * `403` or `404`.
 */
const fixedRead = described

/** A command: the idempotency key and the errors a command may answer. */
const command = <N extends string, M extends HttpMethod, P, U, Pl, H, S, E, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<N, M, P, U, Pl, H, S, E, R, RE>,
  summary: string,
  rule: string,
  description?: string
) =>
  endpoint
    .setHeaders(IdempotencyHeaders)
    .addError(InvalidInput)
    .addError(Denied)
    .addError(NotFound)
    .addError(InvalidState)
    .addError(IdempotencyKeyReused)
    .annotate(OpenApi.Summary, summary)
    .annotate(OpenApi.Description, describe(rule, description))
    .annotate(Rule, rule)
    .annotate(Public, false)
    .annotate(OpenApi.Transform, securityOf(false))

/**
 * A whole-record update: a command that also takes `If-Match` (the revisions the
 * caller read) and answers `412` when the record changed since.
 */
const conditional = <N extends string, M extends HttpMethod, P, U, Pl, H, S, E, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<N, M, P, U, Pl, H, S, E, R, RE>
) => endpoint.setHeaders(ConditionalHeaders).addError(PreconditionFailed)

/** A command under a rate limit. */
const limited = <N extends string, M extends HttpMethod, P, U, Pl, H, S, E, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<N, M, P, U, Pl, H, S, E, R, RE>
) => endpoint.addError(RateLimited)

// ---------------------------------------------------------------------------
// Outputs not exported by core as schemas
// ---------------------------------------------------------------------------

/**
 * A page of demands as stored (the review queue).
 *
 * @since 0.1.0
 * @category outputs
 */
export const DemandPage = Pagination.Page(Demand.Demand).annotations({ identifier: "DemandPage" })

/**
 * A page of consultation threads.
 *
 * @since 0.1.0
 * @category outputs
 */
export const ThreadPage = Pagination.Page(Consultation.Thread).annotations({ identifier: "ThreadPage" })

/** A record's `fields` with its revision, which `If-Match` names to update it. */
const revised = <F extends Schema.Struct.Fields>(fields: F, what: string, identifier: string) =>
  Schema.Struct({
    ...fields,
    revision: Revision.Revision.annotations({
      description: `The ${what}'s revision: \`If-Match: "<revision>"\` updates it only if it is still this`
    })
  }).annotations({ identifier })

/**
 * An account with its revision: what an operator reads to update it
 * (`If-Match: "<revision>"`).
 *
 * @since 0.1.0
 * @category outputs
 */
export const RevisedAccount = revised(Member.Account.fields, "account", "RevisedAccount")

/**
 * The signed-in account, with its revision, and its member (`GET /me`).
 *
 * @since 0.1.0
 * @category outputs
 */
export const RevisedMe = Schema.Struct({
  ...Membership.Me.fields,
  account: RevisedAccount
}).annotations({ identifier: "RevisedMe" })

/**
 * A technology manager with its revision: what its institution reads to update it
 * (`If-Match: "<revision>"`).
 *
 * @since 0.1.0
 * @category outputs
 */
export const RevisedTechnologyManager = revised(
  Member.TechnologyManager.fields,
  "manager",
  "RevisedTechnologyManager"
)

/**
 * An institution's basic information with its revision: what the institution reads
 * to save it again (`If-Match: "<revision>"`).
 *
 * @since 0.1.0
 * @category outputs
 */
export const RevisedProfile = revised(Reward.InstitutionProfile.fields, "information", "RevisedProfile")

/**
 * A page of commissions.
 *
 * @since 0.1.0
 * @category outputs
 */
export const CommissionPage = Pagination.Page(Commission.Commission).annotations({
  identifier: "CommissionPage"
})

/**
 * The settings every front end needs to build its forms (§10): taxonomies, service
 * modes, time zone, windows and the file size limit. SMS templates and outbox
 * tuning stay private.
 *
 * @since 0.1.0
 * @category outputs
 */
export const PublicSettings = Schema.Struct({
  numberingPrefix: Schema.String,
  sequenceWidth: Schema.Int,
  timeZone: Schema.String,
  selectionWindowDays: Schema.Int.annotations({
    description:
      "R23: the selection window of the rounds approved from now on; a round keeps the window it was approved with (a demand's selectionWindowDays and selectionEndsAt)"
  }),
  minDeadlineDays: Schema.Int,
  maxDeadlineDays: Schema.Int,
  singleAdoption: Schema.Boolean,
  serviceModes: Schema.Array(Settings.ServiceMode),
  technicalFields: Schema.Array(Schema.String),
  fileSizeLimitBytes: Schema.Int
}).annotations({ identifier: "PublicSettings" })

/**
 * The bytes of a stored file.
 *
 * @since 0.1.0
 * @category outputs
 */
export const FileContent = Schema.Uint8ArrayFromSelf.pipe(
  HttpApiSchema.withEncoding({ kind: "Uint8Array", contentType: "application/octet-stream" })
).annotations({ description: "The file's bytes, with its own Content-Type" })

/**
 * The multipart form of an upload: one part `file`, and optionally a field `name`
 * with the file's name. The content type is read from the bytes (R54), never from
 * the part's header or name.
 *
 * The multipart parser of @effect/platform (multipasta) cannot read a part header
 * holding raw UTF-8, which is how browsers send a Chinese file name: send such a
 * name in the field `name` (or as `filename*=UTF-8''…`) and give the file part an
 * ASCII file name.
 *
 * @since 0.1.0
 * @category inputs
 */
export const UploadForm = Schema.Struct(
  {
    file: Schema.Unknown.annotations({
      jsonSchema: {
        type: "string",
        format: "binary",
        description: "The file (one part named `file`; two are refused)"
      }
    }),
    name: Schema.optional(Schema.String).annotations({
      description: "The file's name, when it is not ASCII (e.g. 技术合同.pdf); at most one"
    })
  },
  // Fields of other names are ignored (upload libraries send their own), and the
  // OpenAPI document says so: no `additionalProperties: false` here.
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

// ---------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------

/**
 * §9 the public hall and the registered institutions.
 *
 * @since 0.1.0
 * @category groups
 */
export class HallGroup extends HttpApiGroup.make("hall")
  .add(
    read(
      HttpApiEndpoint.get("list", "/hall")
        .setUrlParams(
          Schema.Struct({
            ...Lists.HallInput.fields,
            takingResponses: Schema.optional(Schema.BooleanFromString).annotations({
              description:
                "true: only demands taking responses now; false is the same as leaving it out (no such filter)"
            }),
            states: ArrayParam(Schema.Literal("published", "solved")),
            ...PageParams
          })
        )
        .addSuccess(Lists.DemandListPage),
      "The public hall: published demands, searchable",
      "§9",
      {
        public: true,
        description:
          "Keyword (title, summary, keywords, or a demand's whole number such as ZB20260005), field, region, state, taking responses now, deadline range; newest first or soonest deadline first. `field` and `region` match a demand's value exactly: the region is free text (R10), so `region=天津市` does not find `天津市滨海新区`."
      }
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("institutions", "/institutions")
        .setUrlParams(Schema.Struct(PageParams))
        .addSuccess(Membership.MemberPage),
      "Registered technology transfer institutions an enterprise may commission",
      "R40",
      { public: true }
    )
  )
  .annotate(OpenApi.Description, "公开需求大厅 — the public hall (no account needed)") {}

/**
 * §4, R10, R11: demands as their publishers draft, edit and submit them.
 *
 * @since 0.1.0
 * @category groups
 */
export class DemandsGroup extends HttpApiGroup.make("demands")
  .add(
    limited(
      command(
        HttpApiEndpoint.post("draft", "/demands")
          .setPayload(strict(Demand.DemandForm))
          .addSuccess(Demand.Demand, { status: 201 }),
        "Draft a demand",
        "R10",
        "An enterprise drafts its own demand; a registered institution one of its own or, naming `clientId`, for a commissioning enterprise (R1, R41)."
      )
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("get", "/demands/:demandId").setPath(DemandPath).addSuccess(View.DemandView),
      "One demand, with its phase and the actions the caller may take now",
      "R5",
      {
        public: true,
        description:
          "Published and solved demands are public; others only for their managing side, client and operators."
      }
    )
  )
  .add(
    conditional(
      limited(
        command(
          HttpApiEndpoint.put("edit", "/demands/:demandId/form")
            .setPath(DemandPath)
            .setPayload(strict(Schema.Struct({ form: Publishing.EditInput.fields.form })))
            .addSuccess(Demand.Demand),
          "Edit a draft or rejected demand",
          "R11",
          'The body is the form as it is to be, whole. With `If-Match` (the demand\'s `version` it was read at, quoted: `"3"`), an edit made since is not overwritten: `412` `revision.stale`. A demand that has its number (restarted, then rejected in review) keeps its client (`400` `restart.client_changed`, R33).'
        )
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("submit", "/demands/:demandId/submit")
          .setPath(DemandPath)
          .addSuccess(Demand.Demand),
        "Submit a draft or rejected demand for review",
        "R11",
        "By the demand's managing side (`403` `demand.not_manager`; the commissioning enterprise reads it only, `403` `demand.client_reads_only`); a demand in another state is `409` `demand.not_submittable`. The form is checked again as on a draft: its deadline within the platform's limits from today (`400` `demand.deadline_too_soon`, `demand.deadline_too_late`, R13), and, for a commissioned demand, the commission still active (`403` `demand.client_not_commissioning`). The operator then approves (numbering it, R12) or rejects it with a reason."
      )
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("mine", "/my/demands")
        .setUrlParams(
          Schema.Struct({
            ...Lists.MyDemandsInput.fields,
            states: ArrayParam(Demand.DemandState),
            ...PageParams
          })
        )
        .addSuccess(Lists.DemandListPage),
      "My demands: those my member manages or commissioned",
      "§9"
    )
  )
  .annotate(OpenApi.Description, "需求 — drafting, editing and submitting demands") {}

/**
 * R11, R12, R13: the operator's review.
 *
 * @since 0.1.0
 * @category groups
 */
export class ReviewGroup extends HttpApiGroup.make("review")
  .add(
    read(
      HttpApiEndpoint.get("pending", "/review/pending")
        .setUrlParams(Schema.Struct(PageParams))
        .addSuccess(DemandPage),
      "The review queue (operators)",
      "R11"
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("approve", "/review/demands/:demandId/approve")
          .setPath(DemandPath)
          .addSuccess(Demand.Demand),
        "Approve a demand: it is published and numbered (operators)",
        "R11",
        "A first approval numbers the demand (R12); the deadline must be at least a day later (R13). Notifies the submitter by SMS."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("reject", "/review/demands/:demandId/reject")
          .setPath(DemandPath)
          .setPayload(strict(Schema.Struct({ reason: Review.RejectInput.fields.reason })))
          .addSuccess(Demand.Demand),
        "Reject a demand with a reason (operators)",
        "R11",
        "Notifies the submitter by SMS."
      )
    )
  )
  .annotate(OpenApi.Description, "审核 — the operator's review of demands") {}

/**
 * R20–R26, R61: responses, adoption and selection.
 *
 * @since 0.1.0
 * @category groups
 */
export class ResponsesGroup extends HttpApiGroup.make("responses")
  .add(
    limited(
      command(
        HttpApiEndpoint.post("respond", "/demands/:demandId/responses")
          .setPath(DemandPath)
          .setPayload(strict(Schema.Struct({ proposal: Responding.RespondInput.fields.proposal })))
          .addSuccess(Response.Response, { status: 201 }),
        "Respond to a demand (立即应答)",
        "R20",
        "While the demand is published, cooperative, before its deadline and before any adoption (R14, R20, R24); never to one's own demand (R3); one active response per round (R21). Rate-limited (bucket `responding`)."
      )
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("get", "/responses/:responseId")
        .setPath(ResponsePath)
        .addSuccess(Response.Response),
      "One response (its responder, the demand's managing side, operators)",
      "R4"
    )
  )
  .add(
    conditional(
      limited(
        command(
          HttpApiEndpoint.put("revise", "/responses/:responseId/proposal")
            .setPath(ResponsePath)
            .setPayload(strict(Schema.Struct({ proposal: Responding.ReviseInput.fields.proposal })))
            .addSuccess(Response.Response),
          "Revise my response",
          "R21",
          'The body is the proposal as it is to be, whole. With `If-Match` (the response\'s `version` it was read at, quoted: `"2"`), a revision made since is not overwritten: `412` `revision.stale`. Rate-limited (bucket `responding`).'
        )
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("withdraw", "/responses/:responseId/withdraw")
          .setPath(ResponsePath)
          .addSuccess(Response.Response),
        "Withdraw my response",
        "R21",
        "By its responder (`403` `response.not_responder`), while it is submitted (`409` `response.decided` once adopted, not adopted or withdrawn), of the demand's current round (`409` `response.earlier_round`) and before the response deadline (`409` `response.deadline_passed`). The responder may respond again while the demand takes responses (before any adoption, R20, R24)."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("adopt", "/responses/:responseId/adopt")
          .setPath(ResponsePath)
          .addSuccess(Response.Response),
        "Adopt a response (采纳)",
        "R23",
        "The first adoption closes intake at once (R24); the responder is notified by SMS in the same step (R25, R26). Rate-limited (bucket `sms`)."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("feedback", "/responses/:responseId/feedback")
          .setPath(ResponsePath)
          .setPayload(strict(Schema.Struct({ feedback: Selection.FeedbackInput.fields.feedback })))
          .addSuccess(Response.Response),
        "Give a response that was not adopted a structured reason",
        "R61",
        "Until the “not adopted” SMS goes out the reason may be revised, and the SMS carries the last one; a reason given after an SMS without one follows it in a second SMS, and a reason the responder has been told is final. Rate-limited (bucket `sms`)."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("endSelection", "/demands/:demandId/selection/end")
          .setPath(DemandPath)
          .setPayload(strict(Schema.Struct({ feedback: Selection.EndSelectionInput.fields.feedback })))
          .addSuccess(Demand.Demand),
        "End selection early, with optional feedback per response",
        "R25",
        "Once intake has closed (the response deadline passed, or a response adopted; before that, R20). Every response not adopted gets its “not adopted” SMS with the feedback given (R61). Rate-limited (bucket `sms`)."
      )
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("ofDemand", "/demands/:demandId/responses")
        .setPath(DemandPath)
        .setUrlParams(Schema.Struct({ statuses: ArrayParam(Response.ResponseStatus), ...PageParams }))
        .addSuccess(Lists.ResponseListPage),
      "The responses of a demand, all rounds (its managing side and operators)",
      "R23"
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("mine", "/my/responses")
        .setUrlParams(
          Schema.Struct({
            demandId: Lists.ResponsesInput.fields.demandId,
            statuses: ArrayParam(Response.ResponseStatus),
            ...PageParams
          })
        )
        .addSuccess(Lists.ResponseListPage),
      "My responses",
      "§9"
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("toMe", "/my/received-responses")
        .setUrlParams(
          Schema.Struct({
            demandId: Lists.ResponsesInput.fields.demandId,
            statuses: ArrayParam(Response.ResponseStatus),
            ...PageParams
          })
        )
        .addSuccess(Lists.ResponseListPage),
      "Responses submitted to me (提交给我的应答)",
      "§9"
    )
  )
  .annotate(OpenApi.Description, "应答与选标 — responses, adoption and selection") {}

/**
 * R22, R4: consultation threads.
 *
 * @since 0.1.0
 * @category groups
 */
export class ConsultationsGroup extends HttpApiGroup.make("consultations")
  .add(
    limited(
      command(
        HttpApiEndpoint.post("ask", "/demands/:demandId/consultations")
          .setPath(DemandPath)
          .setPayload(strict(Schema.Struct({ text: Consulting.AskInput.fields.text })))
          .addSuccess(Consulting.Posted, { status: 201 }),
        "Consult on a demand (立即咨询), opening my thread if needed",
        "R22",
        "While the demand is published, in a service mode that takes responses, or, in one switched off since its round took responses, with a member holding a response of that round (R14). Rate-limited (bucket `consulting`)."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("askResponder", "/responses/:responseId/consultations")
          .setPath(ResponsePath)
          .setPayload(strict(Schema.Struct({ text: Consulting.AskResponderInput.fields.text })))
          .addSuccess(Consulting.Posted, { status: 201 }),
        "Consult the member that submitted a response (the demand's side), opening their thread if needed",
        "R22",
        "By the demand's managing side, while the demand is published, in a service mode that takes responses, or, in one switched off since its round took responses, with a member holding a response of that round (R14); the thread is the one `ask` opens, one per demand and responding member. Rate-limited (bucket `consulting`)."
      )
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("threads", "/demands/:demandId/consultations")
        .setPath(DemandPath)
        .setUrlParams(Schema.Struct(PageParams))
        .addSuccess(ThreadPage),
      "The consultation threads of a demand (all for its managing side, my own otherwise)",
      "R4"
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("reply", "/consultations/:threadId/messages")
          .setPath(ThreadPath)
          .setPayload(strict(Schema.Struct({ text: Consulting.ReplyInput.fields.text })))
          .addSuccess(Consulting.Posted, { status: 201 }),
        "Write in a consultation thread",
        "R22",
        "While the demand is published, in a service mode that takes responses, or, in one switched off since its round took responses, with a member holding a response of that round (R14). Rate-limited (bucket `consulting`)."
      )
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("messages", "/consultations/:threadId/messages")
        .setPath(ThreadPath)
        .setUrlParams(Schema.Struct(SeqParams))
        .addSuccess(Schema.Array(Consultation.Message)),
      "The messages of a thread, in order",
      "R22"
    )
  )
  .annotate(OpenApi.Description, "咨询 — consultation threads between a responder and the demand's side") {}

/**
 * R30–R33: the service log and the outcome.
 *
 * @since 0.1.0
 * @category groups
 */
export class ServiceLogGroup extends HttpApiGroup.make("serviceLog")
  .add(
    limited(
      command(
        HttpApiEndpoint.post("append", "/demands/:demandId/service-log")
          .setPath(DemandPath)
          .setPayload(strict(Schema.Struct({ entry: Outcome.AppendLogInput.fields.entry })))
          .addSuccess(ServiceLog.Entry, { status: 201 }),
        "Append a service-log entry",
        "R30",
        "The entry's date is on or before today in the platform's time zone (it records work done; an earlier date is taken)."
      )
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("list", "/demands/:demandId/service-log")
        .setPath(DemandPath)
        .setUrlParams(Schema.Struct(SeqParams))
        .addSuccess(Schema.Array(ServiceLog.Entry)),
      "The service log (managing side, client, operators)",
      "R30"
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("solved", "/demands/:demandId/outcome/solved")
          .setPath(DemandPath)
          .setPayload(strict(Schema.Struct({ serviceFee: Outcome.SolvedInput.fields.serviceFee })))
          .addSuccess(Demand.Demand),
        "Record the outcome solved (已解决)",
        "R31",
        "An institution's demand records its service fee in fen; an enterprise's own demand takes none (R31). The demand closes; selection ends with its “not adopted” SMS (R25). Rate-limited (bucket `sms`)."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("unsolved", "/demands/:demandId/outcome/unsolved")
          .setPath(DemandPath)
          .addSuccess(Demand.Demand),
        "Record the outcome unsolved (未解决)",
        "R32",
        "By the demand's managing side, while it is published (`409` `outcome.not_published`) and not already recorded unsolved (`409` `outcome.already_unsolved`). Responses may still be adopted before the deadline; after it, the demand may be modified and restarted (R33)."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("restart", "/demands/:demandId/restart")
          .setPath(DemandPath)
          .setPayload(strict(Schema.Struct({ form: Outcome.RestartInput.fields.form })))
          .addSuccess(Demand.Demand),
        "Modify and restart an unsolved demand after its deadline",
        "R33",
        "Only after the round's response deadline (`409` `restart.before_deadline` otherwise) and once its outcome unsolved is recorded (`409` `restart.not_unsolved` otherwise), with the same client (`400` `restart.client_changed` otherwise). Back to review with the same number, round + 1; the old round's selection ends (R25 SMS). Rate-limited (bucket `sms`)."
      )
    )
  )
  .annotate(OpenApi.Description, "服务日志 — service log and outcome") {}

/**
 * R40, R41: commissions.
 *
 * @since 0.1.0
 * @category groups
 */
export class CommissionsGroup extends HttpApiGroup.make("commissions")
  .add(
    limited(
      command(
        HttpApiEndpoint.post("request", "/commissions")
          .setPayload(strict(Commissioning.RequestInput))
          .addSuccess(Commission.Commission, { status: 201 }),
        "Commission a registered institution (enterprises)",
        "R40",
        "Rate-limited (bucket `sms`)."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("accept", "/commissions/:commissionId/accept")
          .setPath(CommissionPath)
          .addSuccess(Commission.Commission),
        "Accept a commission (the institution)",
        "R40",
        "Rate-limited (bucket `sms`)."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("decline", "/commissions/:commissionId/decline")
          .setPath(CommissionPath)
          .addSuccess(Commission.Commission),
        "Decline a commission (the institution)",
        "R40",
        "Rate-limited (bucket `sms`)."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("end", "/commissions/:commissionId/end")
          .setPath(CommissionPath)
          .addSuccess(Commission.Commission),
        "End an active commission (either side), or withdraw a request not yet answered (the enterprise)",
        "R40",
        "A commission declined or ended already is `409` `commission.end_not_active`, as is one the institution has not answered yet, which only the enterprise may withdraw. Once ended, the institution no longer publishes new demands for the enterprise (R41)."
      )
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("list", "/commissions")
        .setUrlParams(Schema.Struct({ states: ArrayParam(Commission.CommissionState), ...PageParams }))
        .addSuccess(CommissionPage),
      "My commissions, as enterprise or institution",
      "R40"
    )
  )
  .annotate(OpenApi.Description, "委托 — enterprises commissioning institutions") {}

/**
 * R50–R53: reward rounds, basic information and applications.
 *
 * @since 0.1.0
 * @category groups
 */
export class RewardsGroup extends HttpApiGroup.make("rewards")
  .add(
    command(
      HttpApiEndpoint.post("openRound", "/reward-rounds")
        .setPayload(strict(Reward.RoundInput))
        .addSuccess(Reward.RewardRound, { status: 201 }),
      "Open a reward round (operators)",
      "R50",
      "The period (the days a claimed demand was solved in) ends on or after it starts; the application deadline is today or later and not before the period starts."
    )
  )
  .add(
    command(
      HttpApiEndpoint.post("closeRound", "/reward-rounds/:roundId/close")
        .setPath(RoundPath)
        .addSuccess(Reward.RewardRound),
      "Close a reward round (operators)",
      "R50",
      "A round closed already is `409` `reward.round_closed`. Its applications can no longer be drafted, corrected or submitted."
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("rounds", "/reward-rounds")
        .setUrlParams(Schema.Struct({ states: ArrayParam(Reward.RoundState), ...PageParams }))
        .addSuccess(Rewards.RoundPage),
      "Reward rounds, newest first",
      "R50",
      { public: true }
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("round", "/reward-rounds/:roundId")
        .setPath(RoundPath)
        .addSuccess(Reward.RewardRound),
      "One reward round",
      "R50",
      { public: true }
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("roundApplications", "/reward-rounds/:roundId/applications")
        .setPath(RoundPath)
        .setUrlParams(Schema.Struct({ states: ArrayParam(Reward.ApplicationState), ...PageParams }))
        .addSuccess(Rewards.ApplicationPage),
      "The applications of a round (operators)",
      "R53"
    )
  )
  .add(
    conditional(
      limited(
        command(
          HttpApiEndpoint.put("saveProfile", "/institution-profile")
            .setPayload(strict(Reward.ProfileInput))
            .addSuccess(RevisedProfile),
          "Save my institution's basic information",
          "R51",
          "The body is the information as it is to be, whole. With `If-Match` (the `revision` the information was read at, quoted), a change made since is not overwritten, and with `If-None-Match: *` (it was read as `null`), a first save made since is not: `412` `revision.stale`."
        )
      )
    ).setHeaders(ProfileHeaders)
  )
  .add(
    read(
      HttpApiEndpoint.get("profile", "/institution-profile")
        .setUrlParams(Schema.Struct({ memberId: Schema.optional(Ids.MemberId) }))
        .addSuccess(Schema.NullOr(RevisedProfile)),
      "An institution's basic information: my own, or any for operators",
      "R51"
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("draft", "/reward-applications")
          .setPayload(strict(Rewards.DraftInput))
          .addSuccess(Reward.RewardApplication, { status: 201 }),
        "Draft a reward application",
        "R52",
        "By a registered institution (`403` `reward.institution_only`), one per round (`409` `reward.application_exists`), while the round is open and before its deadline (`409` `reward.round_closed`, `reward.deadline_passed`). Each item is a demand of the institution's own (`reward.demand_not_own`), solved (`reward.demand_not_solved`) within the round's period (`reward.demand_outside_period`), listed once (`reward.demand_twice`), with at least one proof material uploaded by the institution (`reward.proof_unknown`)."
      )
    )
  )
  .add(
    conditional(
      limited(
        command(
          HttpApiEndpoint.put("update", "/reward-applications/:applicationId")
            .setPath(ApplicationPath)
            .setPayload(
              strict(
                Schema.Struct({
                  items: Rewards.UpdateInput.fields.items,
                  note: Rewards.UpdateInput.fields.note
                })
              )
            )
            .addSuccess(Reward.RewardApplication),
          "Correct a draft or rejected application",
          "R52",
          'The body is the list and note as they are to be, whole. With `If-Match` (the application\'s `version` it was read at, quoted: `"2"`), an update made since is not overwritten: `412` `revision.stale`. An application submitted or approved is `409` `reward.not_editable`; the items are checked as on a draft.'
        )
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("submit", "/reward-applications/:applicationId/submit")
          .setPath(ApplicationPath)
          .addSuccess(Reward.RewardApplication),
        "Submit (or resubmit) an application",
        "R52",
        "A draft or a rejected application (`409` `reward.not_submittable` otherwise), while the round is open and before its deadline (`409` `reward.round_closed`, `reward.deadline_passed`), once the institution's basic information is saved (`409` `reward.profile_missing`, R51): the application keeps a copy of it. Its items are checked again as on a draft; a demand another of the institution's applications has claimed since is `400` `reward.demand_claimed`."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("approve", "/reward-applications/:applicationId/approve")
          .setPath(ApplicationPath)
          .setPayload(strict(Schema.Struct({ amount: Rewards.ApproveInput.fields.amount })))
          .addSuccess(Reward.RewardApplication),
        "Approve an application with an amount in fen (operators)",
        "R53",
        "Notifies the institution by SMS. Rate-limited (bucket `sms`)."
      )
    )
  )
  .add(
    limited(
      command(
        HttpApiEndpoint.post("reject", "/reward-applications/:applicationId/reject")
          .setPath(ApplicationPath)
          .setPayload(strict(Schema.Struct({ reason: Rewards.RejectInput.fields.reason })))
          .addSuccess(Reward.RewardApplication),
        "Reject an application with a reason (operators)",
        "R53",
        "Notifies the institution by SMS. Rate-limited (bucket `sms`)."
      )
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("application", "/reward-applications/:applicationId")
        .setPath(ApplicationPath)
        .addSuccess(Reward.RewardApplication),
      "One application (its institution and operators)",
      "R52"
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("mine", "/my/reward-applications")
        .setUrlParams(Schema.Struct({ states: ArrayParam(Reward.ApplicationState), ...PageParams }))
        .addSuccess(Rewards.ApplicationPage),
      "My institution's applications",
      "R52"
    )
  )
  .annotate(OpenApi.Description, "奖励申报 — reward rounds and applications") {}

/**
 * R54: files (proof materials and attachments).
 *
 * @since 0.1.0
 * @category groups
 */
export class FilesGroup extends HttpApiGroup.make("files")
  .add(
    command(
      limited(
        HttpApiEndpoint.post("upload", "/files")
          .setPayload(HttpApiSchema.MultipartStream(UploadForm))
          .addSuccess(FileStore.StoredFile, { status: 201 })
      ),
      "Upload a file (multipart/form-data, one part `file`)",
      "R54",
      "PDF, images (PNG, JPEG, GIF, WebP) or office documents, read from the bytes; at most the platform's file size limit. The SHA-256 is computed; a file is never overwritten; it is stored under its name with an extension of its type. Rate-limited per account (`uploads`). A body that stops arriving is answered `408` (`body.timeout`) and the connection closed."
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("info", "/files/:fileId")
        .setPath(FilePath)
        .setUrlParams(FileWhere)
        .addSuccess(FileStore.StoredFile),
      "A file's description (its owner's accounts, operators, and readers of what it is attached to)",
      "R54",
      {
        description:
          "Whoever may read a demand reads its form's attachments with `demandId`; whoever follows it (its managing side and client) its service log's. Whoever sees a response (its responder and the demand's managing side) reads its proposal's attachments with `responseId`."
      }
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("content", "/files/:fileId/content")
        .setPath(FilePath)
        .setUrlParams(FileWhere)
        .addSuccess(FileContent),
      "A file's bytes (its owner's accounts, operators, and readers of what it is attached to)",
      "R54",
      {
        description:
          "Served as an attachment with its stored content type and `X-Content-Type-Options: nosniff`. Readers who are not the file's owner name where they found it attached, as for the description."
      }
    )
  )
  .annotate(OpenApi.Description, "文件 — proof materials and attachments") {}

/** R64: a dead letter's `lastCode` to list or re-queue by (`isv.AMOUNT_NOT_ENOUGH`). */
const DeadLetterCode = Notifications.DeadLetterRequest.fields.code.annotations({
  description:
    "only the dead letters whose delivery's lastCode is this: a provider's code (isv.AMOUNT_NOT_ENOUGH) or the sender's (sender.timeout, http.503); surrounding whitespace is trimmed, 1 to 128 characters, no control characters"
})

/**
 * R64: notifications the operator manages.
 *
 * @since 0.1.0
 * @category groups
 */
export class NotificationsGroup extends HttpApiGroup.make("notifications")
  .add(
    read(
      HttpApiEndpoint.get("summary", "/notifications/summary").addSuccess(Notification.OutboxSummary),
      "The SMS outbox at a glance: waiting, due now and since when, dead letters by code (operators)",
      "R64",
      {
        description:
          "For dashboards and monitoring: a growing due count or an old oldestDueAt says the dispatchers fall behind or are stopped; deadByCode says why messages are given up (re-queue them by code once the cause is fixed)."
      }
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("deadLetters", "/notifications/dead-letters")
        .setUrlParams(Schema.Struct({ code: DeadLetterCode, ...PageParams }))
        .addSuccess(Notifications.DeadLetterPage),
      "SMS notifications given up on, oldest first, phones masked (operators)",
      "R64",
      { description: "With code, only those whose delivery's lastCode is it." }
    )
  )
  .add(
    command(
      HttpApiEndpoint.post("requeue", "/notifications/dead-letters/:messageId/requeue")
        .setPath(MessagePath)
        .addSuccess(Schema.Struct({ messageId: Ids.OutboxMessageId })),
      "Re-queue a dead letter (operators)",
      "R64",
      "A message not dead is `409` `notification.not_dead`. The message is sent again with its attempts counted anew."
    )
  )
  .add(
    command(
      HttpApiEndpoint.post("requeueDead", "/notifications/dead-letters/requeue")
        .setUrlParams(Schema.Struct({ code: DeadLetterCode, ...PageParams }))
        .addSuccess(Notifications.RequeuedPage),
      "Re-queue the dead letters a page at a time, oldest first (operators)",
      "R64",
      "With code, only those whose delivery's lastCode is it (what one cause killed, once it is fixed). Answers the ids re-queued and the cursor of the next page: call again with it (and the same code) until it is null. A letter that is dead again by then is not taken twice in one walk."
    )
  )
  .annotate(OpenApi.Description, "通知 — the SMS outbox: its summary and dead letters") {}

/**
 * R62: operator statistics.
 *
 * @since 0.1.0
 * @category groups
 */
export class StatisticsGroup extends HttpApiGroup.make("statistics")
  .add(
    read(
      HttpApiEndpoint.get("figures", "/statistics")
        .setUrlParams(Statistics.FiguresInput)
        .addSuccess(Statistics.Report),
      "Figures of the demands first published in a period, by field or region (operators)",
      "R62"
    )
  )
  .annotate(OpenApi.Description, "统计 — operator statistics") {}

/**
 * §10: the settings front ends need.
 *
 * @since 0.1.0
 * @category groups
 */
export class SettingsGroup extends HttpApiGroup.make("settings")
  .add(
    fixedRead(
      HttpApiEndpoint.get("get", "/settings").addSuccess(PublicSettings),
      "The platform's taxonomies, service modes, time zone and limits",
      "§10",
      { public: true }
    )
  )
  .annotate(OpenApi.Description, "平台设置 — settings (read)") {}

/**
 * §3, R1: members, accounts and technology managers.
 *
 * @since 0.1.0
 * @category groups
 */
export class MembersGroup extends HttpApiGroup.make("members")
  .add(
    command(
      HttpApiEndpoint.post("createMember", "/members")
        .setPayload(strict(Membership.CreateMemberInput))
        .addSuccess(Member.Member, { status: 201 }),
      "Register a member organisation or expert (operators)",
      "§3"
    )
  )
  .add(
    command(
      HttpApiEndpoint.post("registerInstitution", "/members/:memberId/register")
        .setPath(MemberPath)
        .addSuccess(Member.Member),
      "Register a technology transfer institution (operators)",
      "R1",
      "A member of another kind is `400` `member.not_institution`. A registered institution may publish demands, name technology managers and apply for rewards."
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("get", "/members/:memberId").setPath(MemberPath).addSuccess(Member.Member),
      "One member (any signed-in account)",
      "§3"
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("me", "/me").addSuccess(RevisedMe),
      "The signed-in account and its member",
      "§3",
      {
        description:
          "The account the credential names and the member it acts for (`member` is `null` for an operator), as they are now: the member id that member-scoped reads take (`/members/{memberId}/technology-managers`, `/audit?memberId=`). An account no longer active is `401` `auth.invalid`, as an expired credential is."
      }
    )
  )
  .add(
    command(
      HttpApiEndpoint.post("createAccount", "/accounts")
        .setPayload(strict(Membership.CreateAccountInput))
        .addSuccess(RevisedAccount, { status: 201 }),
      "Create an account for a member, or an operator account (operators)",
      "§3"
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("accounts", "/members/:memberId/accounts")
        .setPath(MemberPath)
        .addSuccess(Schema.Array(RevisedAccount)),
      "A member's accounts, active or not (operators)",
      "§3",
      {
        description:
          "The earliest created first: what an operator reads to find the account to correct or deactivate (`PUT /accounts/{accountId}`)."
      }
    )
  )
  .add(
    conditional(
      command(
        HttpApiEndpoint.put("updateAccount", "/accounts/:accountId")
          .setPath(AccountPath)
          .setPayload(
            strict(
              Schema.Struct(Struct.omit(Membership.UpdateAccountInput.fields, "accountId", "ifRevision"))
            )
          )
          .addSuccess(RevisedAccount),
        "Correct an account's name or phone, deactivate it or make it active again (operators)",
        "§3",
        "The body is the account as it is to be, whole. With `If-Match` (the `revision` the account was read at, quoted), a change made since is not overwritten: `412` `revision.stale`. An inactive account's credentials are refused (`401` `auth.invalid`) and it is sent no SMS; made active again (`reactivatedAt`), it does not act on a credential issued before (`401` `auth.invalid`: its person signs in again); its demands' notices go to its member's first active account. An operator does not deactivate its own account (`400` `account.self_deactivation`). Messages already queued keep the phone they were written with."
      )
    )
  )
  .add(
    command(
      limited(
        HttpApiEndpoint.post("addTechnologyManager", "/technology-managers")
          .setPayload(strict(Membership.TechnologyManagerInput))
          .addSuccess(RevisedTechnologyManager, { status: 201 })
      ),
      "Name a technology manager of my institution",
      "R1",
      "By an account of a registered institution (`403` `institution.not_registered` otherwise). The institution's demands name one of its managers."
    )
  )
  .add(
    conditional(
      limited(
        command(
          HttpApiEndpoint.put("updateTechnologyManager", "/technology-managers/:technologyManagerId")
            .setPath(TechnologyManagerPath)
            .setPayload(
              strict(
                Schema.Struct(
                  Struct.omit(
                    Membership.UpdateTechnologyManagerInput.fields,
                    "technologyManagerId",
                    "ifRevision"
                  )
                )
              )
            )
            .addSuccess(RevisedTechnologyManager),
          "Correct a technology manager of my institution, retire it or make it active again",
          "R1",
          'By an account of the registered institution whose manager it is; another institution\'s manager is `404`. The body is the manager as it is to be, whole; with `If-Match` (the `revision` the manager was read at, quoted), a change made since is not overwritten: `412` `revision.stale`. A retired manager (`"active": false`) is not named on a demand again (`400` `demand.manager_inactive`), nor is a demand naming it that waits for review approved (`409`, the same code); the demands published naming it keep it.'
        )
      )
    )
  )
  .add(
    read(
      HttpApiEndpoint.get("technologyManagers", "/members/:memberId/technology-managers")
        .setPath(MemberPath)
        .addSuccess(Schema.Array(RevisedTechnologyManager)),
      "The technology managers of an institution, retired ones included (its accounts and operators)",
      "R1",
      {
        description: "The earliest named first, each with `active`: a demand form offers the active ones."
      }
    )
  )
  .annotate(OpenApi.Description, "会员与账号 — members, accounts, technology managers (operator setup)") {}

/**
 * R60: the audit trail.
 *
 * @since 0.1.0
 * @category groups
 */
export class AuditGroup extends HttpApiGroup.make("audit")
  .add(
    read(
      HttpApiEndpoint.get("list", "/audit")
        .setUrlParams(
          Schema.Struct({
            demandId: AuditTrail.AuditInput.fields.demandId,
            memberId: AuditTrail.AuditInput.fields.memberId,
            ...PageParams
          })
        )
        .addSuccess(AuditTrail.AuditPage),
      "The audit trail: of a demand, of my member, or (operators) all",
      "R60",
      {
        description:
          "A member names a demand (`demandId`) or itself (`memberId`); without either, `400 audit.scope_required`: only operators list the whole trail. R4: a commissioned demand's client reads neither its responses' nor their threads' events, in the demand's trail or in its own (where what was done on its behalf is listed). R5: in the demand's trail its client reads only the events it is among, not those of a client an earlier draft named (`memberId`, if given, must be its own: `404` otherwise)."
      }
    )
  )
  .annotate(OpenApi.Description, "操作记录 — the audit trail") {}

/**
 * The document without the platform's `HttpApiDecodeError`, which every operation
 * declares beside `InvalidInput` for `400`: the API never sends it (its middleware
 * answers every decoding failure as `InvalidInput`, naming the field and the rule), and
 * a generated client would otherwise carry a branch that cannot happen.
 */
const withoutDecodeError = (spec: Record<string, unknown>): Record<string, unknown> => {
  const decodeError = "#/components/schemas/HttpApiDecodeError"
  const source = spec.paths as Record<string, Record<string, DocOperation>>
  const paths: Record<string, Record<string, DocOperation>> = {}
  for (const [path, operations] of Object.entries(source)) {
    paths[path] = {}
    for (const [method, operation] of Object.entries(operations)) {
      const invalid = operation.responses?.["400"]
      const schema = invalid?.content?.["application/json"]?.schema
      const declared = schema?.anyOf ?? [schema ?? {}]
      const kept = declared.filter((s) => s.$ref !== decodeError)
      const sent: DocSchema =
        kept.length === 0
          ? { $ref: "#/components/schemas/InvalidInput" }
          : kept.length === 1
            ? kept[0]!
            : { anyOf: kept }
      paths[path][method] =
        invalid === undefined || kept.length === declared.length
          ? operation
          : {
              ...operation,
              responses: {
                ...operation.responses,
                "400": {
                  ...invalid,
                  description: "The input is not valid; `field` names it, `rule` the rule it breaks",
                  content: {
                    ...invalid.content,
                    "application/json": { schema: sent }
                  }
                }
              }
            }
    }
  }
  const components = spec.components as { readonly schemas: Record<string, unknown> }
  const {
    HttpApiDecodeError: _decodeError,
    Issue: _issue,
    PropertyKey: _propertyKey,
    ...schemas
  } = components.schemas
  return { ...spec, paths, components: { ...components, schemas: { ...schemas, ...asSent } } }
}

/**
 * effect/Schema's own schemas as the wire carries them, in place of their
 * descriptions of decoding ("a string to be decoded into a DateTime.Utc"): an instant
 * is a `date-time` (generated clients type it so), a flag in a query `true` or `false`.
 */
const asSent: Record<string, unknown> = {
  DateTimeUtc: {
    type: "string",
    format: "date-time",
    description: "An instant in UTC, ISO 8601 (e.g. 2026-05-04T02:00:00.000Z)"
  },
  BooleanFromString: { type: "string", enum: ["true", "false"], description: "`true` or `false`" }
}

/** The parts of an operation of the OpenAPI document that {@link withoutDecodeError} reads. */
interface DocOperation {
  readonly responses?: Record<string, DocResponse>
}
interface DocResponse {
  readonly description?: string
  readonly content?: Record<string, { readonly schema?: DocSchema }>
}
interface DocSchema {
  readonly $ref?: string
  readonly anyOf?: ReadonlyArray<DocSchema>
}

/**
 * The API: every group, the authentication middleware, and the errors any endpoint
 * may answer (`401`, `408`, `413`, `500`, `503`).
 *
 * @since 0.1.0
 * @category api
 */
export class Api extends HttpApi.make("zhongbao")
  .add(HallGroup)
  .add(DemandsGroup)
  .add(ReviewGroup)
  .add(ResponsesGroup)
  .add(ConsultationsGroup)
  .add(ServiceLogGroup)
  .add(CommissionsGroup)
  .add(RewardsGroup)
  .add(FilesGroup)
  .add(NotificationsGroup)
  .add(StatisticsGroup)
  .add(SettingsGroup)
  .add(MembersGroup)
  .add(AuditGroup)
  .middleware(Authentication)
  .addError(PayloadTooLarge)
  .addError(RequestTimeout)
  .addError(InternalError)
  .addError(OutcomeUnknown)
  .addError(Unavailable)
  .annotate(OpenApi.Title, "zhongbao 科研众包 API")
  .annotate(OpenApi.Version, packageJson.version)
  .annotate(OpenApi.Transform, withoutDecodeError)
  .annotate(
    OpenApi.Description,
    "Research crowdsourcing (科研众包): demands, review, responses, adoption, service logs, commissions and rewards. Errors carry the rule of the domain they enforce; messages follow Accept-Language (zh-CN by default, en)."
  ) {}

/**
 * The audit event schema, re-exported for clients reading `AuditPage`.
 *
 * @since 0.1.0
 * @category outputs
 */
export const AuditEvent = Audit.AuditEvent
