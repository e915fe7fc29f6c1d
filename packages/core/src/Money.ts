/**
 * Money (R10 intended investment, R31 service fee, R53 reward amount). Amounts are
 * whole fen (分, 1/100 CNY) held in a safe integer: no floating point ever touches
 * money. `Money.fromYuan("12.34")` parses a decimal string exactly.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A non-negative amount in fen (1 CNY = 100 fen).
 *
 * @since 0.1.0
 * @category models
 */
export const Fen = Schema.Number.pipe(
  Schema.int({ message: () => "an amount in fen: a whole number from 0 to 9007199254740991" }),
  Schema.greaterThanOrEqualTo(0, { message: () => "an amount of money must be ≥ 0" }),
  Schema.lessThanOrEqualTo(Number.MAX_SAFE_INTEGER),
  Schema.brand("Fen"),
  Schema.annotations({ identifier: "Fen", description: "CNY amount in fen (1/100 yuan), a whole number ≥ 0" })
)

/** @since 0.1.0 @category models */
export type Fen = typeof Fen.Type

/**
 * Parses a decimal yuan string (`"1200"`, `"1200.5"`, `"1200.50"`) into fen without
 * floating-point arithmetic; `undefined` when it is not such a string.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromYuan = (yuan: string): Fen | undefined => {
  const match = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(yuan.trim())
  if (match === null) return undefined
  const fen = Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"))
  return Number.isSafeInteger(fen) ? (fen as Fen) : undefined
}

/**
 * Formats fen as a yuan string with two decimals (`123456` → `"1234.56"`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const toYuan = (fen: Fen): string => `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, "0")}`
