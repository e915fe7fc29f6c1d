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

const mobileTypes: ReadonlyArray<PhoneNumberType | undefined> = ["MOBILE", "FIXED_LINE_OR_MOBILE", undefined]

/*
 * The type is asked first. Where the metadata has types, libphonenumber-js's
 * `isValid()` is `getType() !== undefined`, so a number with a type is valid and only
 * one without is checked again; asking both ran every pattern twice.
 */
const parse = (input: string, defaultCountry: CountryCode): Either.Either<string, string> => {
  const parsed = parsePhoneNumberFromString(input.trim(), defaultCountry)
  if (parsed === undefined) return Either.left("not a valid phone number")
  const type = parsed.getType()
  if (type === undefined && !parsed.isValid()) return Either.left("not a valid phone number")
  if (!mobileTypes.includes(type)) return Either.left(`not a mobile number (${type?.toLowerCase()})`)
  return Either.right(parsed.number)
}

/** How many answers {@link normalize} remembers, the oldest forgotten first. */
const remembered = 4_096
const answers = new Map<string, Either.Either<string, string>>()

/**
 * Normalises a number to E.164 (`+8613812345678`), or answers why it cannot
 * receive an SMS. Fixed lines, toll-free, premium-rate and similar numbers are
 * refused; a number whose type the metadata cannot tell is accepted.
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
  defaultCountry: CountryCode = "CN"
): Either.Either<string, string> => {
  const key = `${defaultCountry}${input}`
  const known = answers.get(key)
  if (known !== undefined) return known
  const answer = parse(input, defaultCountry)
  if (answers.size >= remembered) answers.delete(answers.keys().next().value!)
  answers.set(key, answer)
  return answer
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
