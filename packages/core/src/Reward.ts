/**
 * Rewards (奖励申报, R50–R53): reward rounds the operator opens, the basic
 * information an institution keeps, and its applications with proof materials.
 *
 * The unified social credit code (统一社会信用代码, GB 32100-2015) is checked by
 * hand ({@link creditCodeCheckCharacter}): the check is twenty lines of arithmetic,
 * and no maintained JavaScript library for it exists (the few npm packages are
 * unmaintained, untyped or bundle unrelated Chinese ID validators).
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import { endOfDate, LocalDate } from "./Deadline.js"
import { AccountId, DemandId, FileId, Id, MemberId } from "./Ids.js"
import { PhoneNumber } from "./Member.js"
import { Fen } from "./Money.js"
import type { Position } from "./Pagination.js"
import type { ResolvedSettings } from "./Settings.js"
import { Text } from "./Text.js"

const text = (max: number) => Text(max)

/** @since 0.1.0 @category ids */
export const RewardRoundId = Id("RewardRoundId")
/** @since 0.1.0 @category ids */
export type RewardRoundId = typeof RewardRoundId.Type

/** @since 0.1.0 @category ids */
export const RewardApplicationId = Id("RewardApplicationId")
/** @since 0.1.0 @category ids */
export type RewardApplicationId = typeof RewardApplicationId.Type

const CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
const CREDIT_CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

/**
 * R51: the check character (GB 32100-2015) of the first 17 characters of a unified
 * social credit code: each character's value in `0123456789ABCDEFGHJKLMNPQRTUWXY`
 * times its weight (3^i mod 31), summed; the check value is `31 − (sum mod 31)`,
 * with 31 read as 0. `undefined` when the input is not 17 characters of that set.
 *
 * @since 0.1.0
 * @category credit codes
 */
export const creditCodeCheckCharacter = (first17: string): string | undefined => {
  if (first17.length !== 17) return undefined
  let sum = 0
  for (let i = 0; i < 17; i++) {
    const value = CREDIT_CODE_CHARSET.indexOf(first17[i]!)
    if (value === -1) return undefined
    sum += value * CREDIT_CODE_WEIGHTS[i]!
  }
  return CREDIT_CODE_CHARSET[(31 - (sum % 31)) % 31]
}

/**
 * R51: whether a string is a unified social credit code: 18 characters of the
 * code's character set whose last is the check character of the first 17. The
 * embedded organisation code (characters 9–17) is not checked separately.
 *
 * @since 0.1.0
 * @category credit codes
 */
export const isCreditCode = (code: string): boolean =>
  /^[0-9A-HJ-NP-RTUWXY]{18}$/.test(code) && creditCodeCheckCharacter(code.slice(0, 17)) === code[17]

/**
 * R51: a unified social credit code (统一社会信用代码), trimmed and upper-cased,
 * with its check character verified.
 *
 * @since 0.1.0
 * @category models
 */
export const CreditCode = Schema.compose(Schema.Trim, Schema.Uppercase).pipe(
  Schema.pattern(/^[0-9A-HJ-NP-RTUWXY]{18}$/, {
    message: () => "18 characters of 0-9 and A-Y without I, O, S, V, Z"
  }),
  Schema.filter(isCreditCode, {
    message: () => "the check character (the 18th) does not match the code"
  }),
  Schema.brand("CreditCode"),
  Schema.annotations({
    identifier: "CreditCode",
    // What is accepted (the schema's refinements describe the trimmed, upper-cased code).
    jsonSchema: {
      type: "string",
      pattern: "^\\s*[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{18}\\s*$",
      description:
        "A unified social credit code (统一社会信用代码): 18 characters of 0-9 and A-Y without I, O, S, V, Z, the 18th the check character of the first 17; surrounding whitespace is trimmed and letters are upper-cased (answered so)"
    }
  })
)

/** @since 0.1.0 @category models */
export type CreditCode = typeof CreditCode.Type

/**
 * The bank account rewards are paid to.
 *
 * @since 0.1.0
 * @category models
 */
export const BankAccount = Schema.Struct({
  bank: text(100),
  accountName: text(100),
  accountNumber: Schema.Trim.pipe(
    Schema.pattern(/^\d{8,32}$/, {
      message: () => "a bank account number of 8–32 digits",
      jsonSchema: {
        type: "string",
        pattern: "^\\s*\\d{8,32}\\s*$",
        description: "8–32 digits; surrounding whitespace is trimmed"
      }
    })
  )
})

/**
 * R51: an institution's basic information, as it is entered.
 *
 * @since 0.1.0
 * @category models
 */
export const ProfileInput = Schema.Struct({
  name: text(100),
  creditCode: CreditCode,
  address: text(200),
  contact: text(50),
  phone: PhoneNumber,
  bankAccount: BankAccount
}).annotations({ identifier: "ProfileInput" })

/**
 * R51, R52: basic information as stored, and as an application snapshots it when
 * it is submitted.
 *
 * @since 0.1.0
 * @category models
 */
export const ProfileSnapshot = Schema.typeSchema(ProfileInput).annotations({ identifier: "ProfileSnapshot" })

/** @since 0.1.0 @category models */
export type ProfileSnapshot = typeof ProfileSnapshot.Type

/**
 * R51: the basic information an institution keeps, one per member.
 *
 * @since 0.1.0
 * @category models
 */
export const InstitutionProfile = Schema.Struct({
  memberId: MemberId,
  info: ProfileSnapshot,
  updatedBy: AccountId,
  updatedAt: Schema.DateTimeUtc,
  version: Schema.Int
}).annotations({ identifier: "InstitutionProfile" })

/** @since 0.1.0 @category models */
export type InstitutionProfile = typeof InstitutionProfile.Type

/**
 * R50: a round is `open` until the operator closes it.
 *
 * @since 0.1.0
 * @category models
 */
export const RoundState = Schema.Literal("open", "closed")

/** @since 0.1.0 @category models */
export type RoundState = typeof RoundState.Type

/**
 * R50: what the operator announces when opening a round: a title, the rules text,
 * the period in which the claimed demands were solved (dates, inclusive), and the
 * last date on which applications are submitted (platform time zone).
 *
 * @since 0.1.0
 * @category models
 */
export const RoundInput = Schema.Struct({
  title: text(100),
  rules: text(10_000),
  periodStart: LocalDate,
  periodEnd: LocalDate,
  applicationDeadline: LocalDate
}).annotations({ identifier: "RoundInput" })

/**
 * R50: a reward round (申报批次).
 *
 * @since 0.1.0
 * @category models
 */
export const RewardRound = Schema.Struct({
  id: RewardRoundId,
  title: Schema.String,
  rules: Schema.String,
  periodStart: LocalDate,
  periodEnd: LocalDate,
  applicationDeadline: LocalDate,
  state: RoundState,
  openedBy: AccountId,
  openedAt: Schema.DateTimeUtc,
  closedBy: Schema.NullOr(AccountId),
  closedAt: Schema.NullOr(Schema.DateTimeUtc),
  version: Schema.Int
}).annotations({ identifier: "RewardRound" })

/** @since 0.1.0 @category models */
export type RewardRound = typeof RewardRound.Type

/**
 * R52: one claimed demand and its proof materials (at least one file).
 *
 * @since 0.1.0
 * @category models
 */
export const ApplicationItem = Schema.Struct({
  demandId: DemandId,
  proofs: Schema.Array(FileId).pipe(
    Schema.minItems(1, { message: () => "each demand needs at least one proof material" }),
    Schema.maxItems(20)
  )
}).annotations({ identifier: "ApplicationItem" })

/** @since 0.1.0 @category models */
export type ApplicationItem = typeof ApplicationItem.Type

/**
 * R52, R53: `draft` → `submitted` → `approved` | `rejected`; a rejected
 * application is corrected (back to `draft`) or resubmitted while its round takes
 * applications.
 *
 * @since 0.1.0
 * @category models
 */
export const ApplicationState = Schema.Literal("draft", "submitted", "approved", "rejected")

/** @since 0.1.0 @category models */
export type ApplicationState = typeof ApplicationState.Type

/**
 * R52, R53: a reward application (奖励申报), one per institution and round.
 * `profile` is the basic information as it was at the last submission;
 * `rejectionReason` is the last rejection's reason; `amount` is set on approval.
 *
 * @since 0.1.0
 * @category models
 */
export const RewardApplication = Schema.Struct({
  id: RewardApplicationId,
  roundId: RewardRoundId,
  institutionId: MemberId,
  state: ApplicationState,
  items: Schema.Array(ApplicationItem),
  note: Schema.NullOr(Schema.String),
  profile: Schema.NullOr(ProfileSnapshot),
  amount: Schema.NullOr(Fen),
  rejectionReason: Schema.NullOr(Schema.String),
  createdBy: AccountId,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc,
  submittedAt: Schema.NullOr(Schema.DateTimeUtc),
  decidedBy: Schema.NullOr(AccountId),
  decidedAt: Schema.NullOr(Schema.DateTimeUtc),
  version: Schema.Int
}).annotations({ identifier: "RewardApplication" })

/** @since 0.1.0 @category models */
export type RewardApplication = typeof RewardApplication.Type

/**
 * R52, R53: whether a round takes applications at `now`: it is open and its
 * application deadline (the end of that date in the platform time zone) has not
 * passed. Drafting, correcting and (re)submitting need it; review does not.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isAccepting = (round: RewardRound, now: DateTime.Utc, settings: ResolvedSettings): boolean =>
  round.state === "open" && DateTime.lessThanOrEqualTo(now, endOfDate(round.applicationDeadline, settings))

/**
 * Sort key of rounds: `(openedAt, id)`, descending.
 *
 * @since 0.1.0
 * @category keys
 */
export const roundKey = (round: RewardRound): Position => [DateTime.toEpochMillis(round.openedAt), round.id]

/**
 * Sort key of applications: `(createdAt, id)`, descending.
 *
 * @since 0.1.0
 * @category keys
 */
export const applicationKey = (application: RewardApplication): Position => [
  DateTime.toEpochMillis(application.createdAt),
  application.id
]
