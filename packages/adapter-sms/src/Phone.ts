/**
 * Recipient numbers (R64): validated and normalised to E.164 with libphonenumber-js
 * before any provider is called. A number that is not a valid mobile number is a
 * permanent failure: the senders answer `Permanent` without a request.
 *
 * Numbers without a country code are read as mainland China numbers. The reasons
 * returned here never contain the number.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type { CountryCode, PhoneNumberType } from "libphonenumber-js"
import { parsePhoneNumberFromString } from "libphonenumber-js/max"
import * as Classify from "./Classify.js"

const mobileTypes: ReadonlyArray<PhoneNumberType | undefined> = ["MOBILE", "FIXED_LINE_OR_MOBILE", undefined]

/** Why a number cannot receive an SMS: not a number at all, or a number of another type. */
type Refusal = { readonly type: undefined } | { readonly type: PhoneNumberType }

const typesZh: Partial<Record<PhoneNumberType, string>> = {
  FIXED_LINE: "固定电话",
  TOLL_FREE: "免费电话",
  PREMIUM_RATE: "付费电话",
  SHARED_COST: "分摊付费电话",
  VOIP: "网络电话",
  PERSONAL_NUMBER: "个人号码",
  PAGER: "寻呼机",
  UAN: "统一接入号码",
  VOICEMAIL: "语音信箱"
}

const describe = (refusal: Refusal, language: Classify.Language): string => {
  if (refusal.type === undefined) return language === "en" ? "not a valid phone number" : "不是有效的电话号码"
  return language === "en"
    ? `not a mobile number (${refusal.type.toLowerCase()})`
    : `不是手机号码（${typesZh[refusal.type] ?? refusal.type.toLowerCase()}）`
}

/*
 * The type is asked first. Where the metadata has types, libphonenumber-js's
 * `isValid()` is `getType() !== undefined`, so a number with a type is valid and only
 * one without is checked again; asking both ran every pattern twice.
 */
const parse = (input: string, defaultCountry: CountryCode): Either.Either<string, Refusal> => {
  const parsed = parsePhoneNumberFromString(input.trim(), defaultCountry)
  if (parsed === undefined) return Either.left({ type: undefined })
  const type = parsed.getType()
  if (type === undefined && !parsed.isValid()) return Either.left({ type: undefined })
  if (type !== undefined && !mobileTypes.includes(type)) return Either.left({ type })
  return Either.right(parsed.number)
}

/** How many answers {@link normalize} remembers, the oldest forgotten first. */
const remembered = 4_096
const answers = new Map<string, Either.Either<string, Refusal>>()

/**
 * Normalises a number to E.164 (`+8613812345678`), or answers why it cannot
 * receive an SMS, in `language` (Chinese unless asked otherwise). Fixed lines,
 * toll-free, premium-rate and similar numbers are refused; a number whose type the
 * metadata cannot tell is accepted.
 *
 * Parsing with the full metadata costs tens of microseconds, and one message is
 * normalised by the throttle and again by its sender: the latest few thousand
 * answers are remembered.
 *
 * @since 0.1.0
 * @category normalising
 */
export const normalize = (
  input: string,
  defaultCountry: CountryCode = "CN",
  language: Classify.Language = Classify.defaultLanguage
): Either.Either<string, string> => {
  const key = `${defaultCountry}${input}`
  let answer = answers.get(key)
  if (answer === undefined) {
    answer = parse(input, defaultCountry)
    if (answers.size >= remembered) answers.delete(answers.keys().next().value!)
    answers.set(key, answer)
  }
  return Either.isRight(answer) ? Either.right(answer.right) : Either.left(describe(answer.left, language))
}

/**
 * Whether an E.164 number is a mainland China number.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isMainland = (e164: string): boolean => e164.startsWith("+86")

/**
 * The form Aliyun's `PhoneNumbers` takes: the 11 national digits for mainland
 * numbers, the country code and number without `+` for all others
 * (`+85291234567` → `85291234567`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const toAliyun = (e164: string): string => (isMainland(e164) ? e164.slice(3) : e164.replace(/^\+/, ""))
