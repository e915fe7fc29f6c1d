/**
 * The demand (需求) and its form (R10), lifecycle states (§4) and number (R12).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Text } from "./Text.js"
import { LocalDate } from "./Deadline.js"
import { AccountId, DemandId, FileId, MemberId, TechnologyManagerId } from "./Ids.js"
import { PhoneNumber } from "./Member.js"
import { Fen } from "./Money.js"

const text = (max: number) => Text(max)

/**
 * The three-part summary of R10: main problem, key technology and indicators,
 * expected goal; 1–500 characters each.
 *
 * @since 0.1.0
 * @category models
 */
export const Summary = Schema.Struct({
  mainProblem: text(500),
  keyTechnology: text(500),
  expectedGoal: text(500)
})

/**
 * Preferred ways of solving (R10).
 *
 * @since 0.1.0
 * @category models
 */
export const SolvingWay = Schema.Literal("independent_rd", "commissioned_rd", "cooperative_rd", "other")

/**
 * The demand form of R10, after the provinces' standard technology-demand form. The
 * field and service mode are checked against the platform's taxonomies when the
 * form is used; the technology manager and client rules (R1, R41) depend on who
 * publishes.
 *
 * @since 0.1.0
 * @category models
 */
export const DemandForm = Schema.Struct({
  title: text(60),
  summary: Summary,
  keywords: Schema.Array(text(20)).pipe(
    Schema.minItems(1),
    Schema.maxItems(5),
    // Keywords are searched without regard to letter case (Lists), so `AI` and `ai` are one.
    Schema.filter((keywords) => {
      const folded = keywords.map((k) => k.toLowerCase())
      const again = folded.findIndex((k, i) => folded.indexOf(k) !== i)
      return again === -1 || { path: [again], message: "a keyword listed once" }
    })
  ),
  field: text(40),
  intendedInvestment: Schema.optional(Fen),
  solvingWay: Schema.optional(SolvingWay),
  region: Schema.optional(text(50)),
  responseDeadline: LocalDate,
  serviceMode: text(40),
  technologyManagerId: Schema.optional(TechnologyManagerId),
  clientId: Schema.optional(MemberId),
  attachments: Schema.optional(Schema.Array(FileId).pipe(Schema.maxItems(10))),
  contact: Schema.optional(Schema.Struct({ name: text(50), phone: PhoneNumber }))
}).annotations({ identifier: "DemandForm" })

/** @since 0.1.0 @category models */
export type DemandForm = typeof DemandForm.Type

/**
 * Lifecycle states (§4). "Unsolved" is an outcome, not a state.
 *
 * @since 0.1.0
 * @category models
 */
export const DemandState = Schema.Literal("draft", "pending_review", "published", "rejected", "solved")

/** @since 0.1.0 @category models */
export type DemandState = typeof DemandState.Type

/**
 * A demand as stored. `publisherId` is the managing member (R2): the institution for
 * a commissioned demand, the enterprise for its own; `form.clientId` names the
 * commissioning enterprise. `round` starts at 1 and grows on each restart (R33);
 * `intakeClosedAt` records the end of the current round's intake: its first adoption
 * (R24), else the end of its selection (ended by the submitter, solved, or swept at
 * the window's end, R25), whichever came first (the deadline alone sets nothing);
 * `selectionEndedAt` is set when selection ends before its window does (solved,
 * restart, or ended by the submitter); `selectionWindowDays` is the current round's
 * window (R23), the platform's setting when the round was approved. `version` grows
 * by one on every update.
 *
 * @since 0.1.0
 * @category models
 */
export const Demand = Schema.Struct({
  id: DemandId,
  publisherId: MemberId,
  createdBy: AccountId,
  form: Schema.typeSchema(DemandForm),
  state: DemandState,
  number: Schema.NullOr(Schema.String),
  round: Schema.Int,
  rejectionReason: Schema.NullOr(Schema.String),
  submittedAt: Schema.NullOr(Schema.DateTimeUtc),
  approvedAt: Schema.NullOr(Schema.DateTimeUtc),
  firstPublishedAt: Schema.NullOr(Schema.DateTimeUtc),
  intakeClosedAt: Schema.NullOr(Schema.DateTimeUtc),
  firstAdoptedAt: Schema.NullOr(Schema.DateTimeUtc),
  selectionEndedAt: Schema.NullOr(Schema.DateTimeUtc),
  /*
   * Absent reads as null: a demand encoded before rounds kept their window (an
   * idempotency record's stored result, an older server's answer) still decodes.
   */
  selectionWindowDays: Schema.optionalWith(
    Schema.NullOr(Schema.Int.pipe(Schema.between(0, 366))).annotations({
      description:
        "R23: the days of the current round's selection window after its response deadline, fixed when the round is approved (the platform's selectionWindowDays then); null before approval, and for a round approved before rounds kept their window (it takes the platform's current setting)"
    }),
    { default: () => null }
  ),
  outcome: Schema.NullOr(Schema.Literal("unsolved", "solved")),
  serviceFee: Schema.NullOr(Fen).annotations({
    description:
      "R31: the fee recorded when an institution's demand is solved; null before, and for readers other than its managing side, its client and operators"
  }),
  closedAt: Schema.NullOr(Schema.DateTimeUtc),
  responseCount: Schema.Int,
  adoptedCount: Schema.Int,
  version: Schema.Int,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}).annotations({ identifier: "Demand" })

/** @since 0.1.0 @category models */
export type Demand = typeof Demand.Type

/**
 * The fields of a demand that its list rows read (§9): what they show, and what
 * its phase and end of selection (R23, R24, R31, R33), its actions and its sort
 * keys are computed from. `DemandRepository.listBriefs` answers these, so that a
 * list page does not read the forms' long texts.
 *
 * @since 0.1.0
 * @category models
 */
export interface DemandBrief
  extends Pick<
    Demand,
    | "id"
    | "publisherId"
    | "state"
    | "round"
    | "number"
    | "firstPublishedAt"
    | "intakeClosedAt"
    | "selectionEndedAt"
    | "selectionWindowDays"
    | "responseCount"
    | "adoptedCount"
    | "outcome"
    | "createdAt"
  > {
  readonly form: Pick<
    DemandForm,
    "title" | "field" | "region" | "responseDeadline" | "serviceMode" | "clientId"
  >
}

/**
 * The brief of a demand: its list fields, the form's optional `region` and
 * `clientId` present only when the form has them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const briefOf = (d: DemandBrief): DemandBrief => {
  const form: { -readonly [K in keyof DemandBrief["form"]]: DemandBrief["form"][K] } = {
    title: d.form.title,
    field: d.form.field,
    responseDeadline: d.form.responseDeadline,
    serviceMode: d.form.serviceMode
  }
  if (d.form.region !== undefined) form.region = d.form.region
  if (d.form.clientId !== undefined) form.clientId = d.form.clientId
  return {
    id: d.id,
    publisherId: d.publisherId,
    form,
    state: d.state,
    round: d.round,
    number: d.number,
    firstPublishedAt: d.firstPublishedAt,
    intakeClosedAt: d.intakeClosedAt,
    selectionEndedAt: d.selectionEndedAt,
    selectionWindowDays: d.selectionWindowDays,
    responseCount: d.responseCount,
    adoptedCount: d.adoptedCount,
    outcome: d.outcome,
    createdAt: d.createdAt
  }
}

/**
 * R10: a new draft of `publisherId`'s, written by `createdBy` at `at`: no number, the
 * first round, nothing submitted, published or decided yet, version 1.
 *
 * @since 0.1.0
 * @category constructors
 */
export const draft = (fields: {
  readonly id: DemandId
  readonly publisherId: MemberId
  readonly createdBy: AccountId
  readonly form: DemandForm
  readonly at: Demand["createdAt"]
}): Demand => ({
  id: fields.id,
  publisherId: fields.publisherId,
  createdBy: fields.createdBy,
  form: fields.form,
  state: "draft",
  number: null,
  round: 1,
  rejectionReason: null,
  submittedAt: null,
  approvedAt: null,
  firstPublishedAt: null,
  intakeClosedAt: null,
  firstAdoptedAt: null,
  selectionEndedAt: null,
  selectionWindowDays: null,
  outcome: null,
  serviceFee: null,
  closedAt: null,
  responseCount: 0,
  adoptedCount: 0,
  version: 1,
  createdAt: fields.at,
  updatedAt: fields.at
})

/**
 * R12: the demand number, `prefix` + year + the sequence padded to `width` digits;
 * past `10^width - 1` the sequence simply grows wider.
 *
 * @since 0.1.0
 * @category numbering
 */
export const formatNumber = (prefix: string, year: number, sequence: number, width: number): string =>
  `${prefix}${year}${String(sequence).padStart(width, "0")}`

/**
 * Reads a demand number back into its parts, for the given prefix.
 *
 * @since 0.1.0
 * @category numbering
 */
export const parseNumber = (
  number: string,
  prefix: string
): { year: number; sequence: number } | undefined => {
  if (!number.startsWith(prefix)) return undefined
  const match = /^(\d{4})(\d+)$/.exec(number.slice(prefix.length))
  return match ? { year: Number(match[1]), sequence: Number(match[2]) } : undefined
}

/**
 * The searchable text of a demand for the public hall's keyword search: title,
 * summary and keywords.
 *
 * @since 0.1.0
 * @category search
 */
export const searchText = (form: DemandForm): string =>
  [
    form.title,
    form.summary.mainProblem,
    form.summary.keyTechnology,
    form.summary.expectedGoal,
    ...form.keywords
  ]
    .join("\n")
    .toLowerCase()
