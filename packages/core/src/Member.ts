/**
 * Members, accounts, operators and technology managers (§3 of the domain).
 *
 * A member is an organisation or an individual expert; its accounts are the people
 * who act for it. An operator account belongs to no member. A technology transfer
 * institution is *registered* by an operator (R1).
 *
 * @since 0.1.0
 */
import { parsePhoneNumberFromString } from "libphonenumber-js/max"
import type * as Brand from "effect/Brand"
import type * as DateTime from "effect/DateTime"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Text } from "./Text.js"
import { AccountId, MemberId, TechnologyManagerId } from "./Ids.js"

/**
 * The kinds of member (§3 and the glossary).
 *
 * @since 0.1.0
 * @category models
 */
export const MemberKind = Schema.Literal(
  "transfer_institution",
  "enterprise",
  "research_institute",
  "service_institution",
  "expert"
)

/** @since 0.1.0 @category models */
export type MemberKind = typeof MemberKind.Type

/**
 * A phone number in E.164 that libphonenumber-js finds valid and `accepts` by its
 * type. The whole input, trimmed, is the number (`extract: false`): by default the
 * library finds a number inside any text (`call 13912345601 x`, `tel:…`) and drops
 * the rest. An extension is refused: E.164 has no place for it, so it would be lost.
 */
const phoneOf = (accepts: (type: string | undefined) => boolean, message: string) =>
  Schema.transformOrFail(
    Schema.String,
    Schema.String.pipe(Schema.pattern(/^\+[1-9]\d{6,14}$/), Schema.brand("PhoneNumber")),
    {
      strict: true,
      decode: (input, _, ast) => {
        const parsed = parsePhoneNumberFromString(input.trim(), { defaultCountry: "CN", extract: false })
        if (parsed?.ext !== undefined) {
          return ParseResult.fail(new ParseResult.Type(ast, input, `${message}, without an extension`))
        }
        return parsed?.isValid() && accepts(parsed.getType())
          ? ParseResult.succeed(parsed.number as string & Brand.Brand<"PhoneNumber">)
          : ParseResult.fail(new ParseResult.Type(ast, input, message))
      },
      encode: ParseResult.succeed
    }
  )

/**
 * A phone number, validated and normalised to E.164 with libphonenumber-js; numbers
 * without a country code are read as mainland China numbers. Spaces, dashes,
 * brackets and full-width digits are taken; other text around the number, or an
 * extension, is refused.
 *
 * @since 0.1.0
 * @category models
 */
export const PhoneNumber = phoneOf(() => true, "a valid phone number").annotations({
  identifier: "PhoneNumber",
  description:
    "A valid phone number, mobile or landline, without an extension: E.164 (`+8613912345678`) or, for mainland China, national (`13912345678`, `022-23456789`); spaces, dashes and brackets are taken. Answered in E.164."
})

/**
 * A phone number that can receive SMS (R64: notices go to accounts' phones): a
 * `PhoneNumber` that libphonenumber-js types as mobile (or, where a plan cannot tell,
 * fixed line or mobile, as in North America). An account's phone is one; a contact's,
 * a technology manager's or an institution profile's may be a landline.
 *
 * @since 0.1.0
 * @category models
 */
export const MobileNumber = phoneOf(
  (type) => type === "MOBILE" || type === "FIXED_LINE_OR_MOBILE",
  "a mobile number that can receive SMS"
).annotations({
  identifier: "MobileNumber",
  description:
    "A valid mobile number that can receive SMS: E.164 (`+8613912345678`) or, for mainland China, national (`13912345678`); spaces and dashes are taken. Answered in E.164."
})

/** @since 0.1.0 @category models */
export type PhoneNumber = typeof PhoneNumber.Type

/**
 * Masks a phone number for logs (R64): `+8613812345678` → `138****5678`. A number
 * of 11 characters or more keeps its first 3 and last 4; a shorter one (an invalid
 * number, or one typed without its country code) keeps a quarter of its characters
 * at each end, so that half of it or more stays hidden (`91234567` → `91****67`);
 * one of 7 or fewer shows nothing.
 *
 * @since 0.1.0
 * @category formatting
 */
export const maskPhone = (phone: string): string => {
  const national = phone.startsWith("+86") ? phone.slice(3) : phone.replace(/^\+/, "")
  if (national.length <= 7) return "****"
  const head = national.length >= 11 ? 3 : Math.floor(national.length / 4)
  const tail = national.length >= 11 ? 4 : Math.floor(national.length / 4)
  return `${national.slice(0, head)}****${national.slice(-tail)}`
}

/**
 * Masks every occurrence of `phone` in a text for logs and operators' lists (R64), in
 * its international form and in its national one (`+8613812345678` and
 * `13812345678`), as a provider's error text may quote either.
 *
 * @since 0.1.0
 * @category formatting
 */
export const maskPhoneIn = (text: string, phone: string): string => {
  const masked = maskPhone(phone)
  const national = phone.startsWith("+86") ? phone.slice(3) : phone.replace(/^\+/, "")
  const forms = [phone, national].filter((form) => form.length > 0)
  return forms.reduce((out, form) => out.split(form).join(masked), text)
}

/** @internal */
export const Name = Text(100)

/**
 * A member organisation or expert.
 *
 * @since 0.1.0
 * @category models
 */
export const Member = Schema.Struct({
  id: MemberId,
  kind: MemberKind,
  name: Name,
  region: Schema.NullOr(Schema.String),
  registered: Schema.Boolean,
  createdAt: Schema.DateTimeUtc
})

/** @since 0.1.0 @category models */
export type Member = typeof Member.Type

/**
 * A person's account: acts for one member, or is a platform operator.
 *
 * @since 0.1.0
 * @category models
 */
export const Account = Schema.Struct({
  id: AccountId,
  memberId: Schema.NullOr(MemberId),
  role: Schema.Literal("member", "operator"),
  name: Name,
  phone: Schema.typeSchema(PhoneNumber),
  active: Schema.Boolean,
  /**
   * When an operator last made the account active again (§3), `null` if never: a
   * credential issued before it does not act ({@link credentialIssuedAt}).
   */
  reactivatedAt: Schema.NullOr(Schema.DateTimeUtc),
  createdAt: Schema.DateTimeUtc
})

/** @since 0.1.0 @category models */
export type Account = typeof Account.Type

/**
 * The instant the credential of the caller being served was issued (a session's
 * sign-in, a token's `iat`), when its host knows it. An account made active again
 * after that instant does not act on it (§3): every use case refuses it as an
 * inactive account is refused (`actor.unknown`, R5). Deactivating an account thus
 * ends the sessions it had, for good: reactivating it does not revive them, and its
 * person signs in again. Compared to the second, as a JWT's `iat` is whole seconds: a
 * credential issued within the second the account was reactivated acts. The two
 * instants come from different clocks (the instance that reactivated the account, the
 * one or the portal that signed its person in): keep them synchronised (NTP), or a
 * sign-in within their skew of a reactivation is refused too.
 *
 * `None`, the default, checks nothing: a host that does not know when a credential
 * was issued revokes the sessions of a deactivated account itself. Set it around the
 * use cases a request runs, `Effect.locally(Member.credentialIssuedAt,
 * Option.some(instant))`; `@zhongbao/adapter-http` sets it from its sessions and
 * from a resolver's `issuedAt`. One reference whichever copy of this module reads
 * it (ES module and CommonJS builds alike).
 *
 * @since 0.1.0
 * @category credentials
 */
export const credentialIssuedAt: FiberRef.FiberRef<Option.Option<DateTime.Utc>> = globalValue(
  Symbol.for("@zhongbao/core/Member/credentialIssuedAt"),
  () => FiberRef.unsafeMake(Option.none<DateTime.Utc>())
)

/**
 * Whether a credential issued at `issuedAt` is older than the account's last
 * reactivation (§3, {@link credentialIssuedAt}), to the second; `false` when either
 * is unknown.
 *
 * @since 0.1.0
 * @category credentials
 */
export const issuedBeforeReactivation = (
  account: Pick<Account, "reactivatedAt">,
  issuedAt: Option.Option<DateTime.Utc>
): boolean => {
  if (account.reactivatedAt === null || Option.isNone(issuedAt)) return false
  const reactivated = account.reactivatedAt.epochMillis
  return issuedAt.value.epochMillis < reactivated - (((reactivated % 1000) + 1000) % 1000)
}

/**
 * A technology manager (技术经理人) of a transfer institution, named on its demands.
 * One no longer `active` (retired by the institution) is not named on a demand form
 * again (R1); the demands that name it keep it.
 *
 * @since 0.1.0
 * @category models
 */
export const TechnologyManager = Schema.Struct({
  id: TechnologyManagerId,
  institutionId: MemberId,
  name: Name,
  phone: Schema.typeSchema(PhoneNumber),
  active: Schema.Boolean,
  createdAt: Schema.DateTimeUtc
})

/** @since 0.1.0 @category models */
export type TechnologyManager = typeof TechnologyManager.Type

/**
 * Who is acting: the account, and its member unless it is an operator. Use cases
 * resolve it from the account id they are given.
 *
 * @since 0.1.0
 * @category models
 */
export interface Actor {
  readonly account: Account
  readonly member: Member | null
}

/**
 * Whether the actor is a platform operator.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isOperator = (actor: Actor): boolean => actor.account.role === "operator"

/**
 * R1: a registered technology transfer institution.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRegisteredInstitution = (member: Member | null): boolean =>
  member !== null && member.kind === "transfer_institution" && member.registered
