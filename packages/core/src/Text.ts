/**
 * Text fields. Lengths are counted in characters (Unicode code points), as R10 states
 * them ("1–60 chars") and as PostgreSQL's `varchar(n)` counts them, not in UTF-16
 * code units: a rare CJK character outside the BMP is one character, not two.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The number of characters (code points) of a string.
 *
 * @since 0.1.0
 * @category lengths
 */
export const length = (s: string): number => {
  let n = 0
  for (const _ of s) n++
  return n
}

/**
 * Control characters other than tab and line breaks, C0 and C1 alike (U+0000–U+001F,
 * U+007F–U+009F: PostgreSQL text cannot even hold U+0000, and U+0085 or U+009B in a
 * title is a line break or a terminal escape to whoever prints it), and unpaired
 * UTF-16 surrogates: half a character, which a JSON body may carry (`"\ud800"`) but
 * no UTF-8 store can, so PostgreSQL would keep U+FFFD in its place and the text read
 * back would not be the text written.
 */
const controls = /(?![\t\n\r])[\p{Cc}\p{Cs}]/u

/**
 * A character that shows: not whitespace, not a control or format character
 * (zero-width spaces and joiners, direction marks, the word joiner, the byte order
 * mark), not a combining mark on its own, not one of Unicode's default-ignorable
 * characters (the Hangul fillers among them), and not the blank braille pattern
 * U+2800. A title of zero-width spaces or fillers trims to itself and would be
 * stored as a title that nobody can see.
 */
const visible = /[^\s\p{Cc}\p{Cf}\p{M}\p{Default_Ignorable_Code_Point}\u2800]/u

/** As {@link controls}, tabs and line breaks included. */
const lineControls = /[\p{Cc}\p{Cs}]/u

/** What one line holds none of: {@link lineControls}, and Unicode's line and paragraph separators. */
const lineBreaks = /[\p{Cc}\p{Cs}\u2028\u2029]/u

/**
 * A trimmed string of `min` to `max` characters with no control characters but tabs
 * and line breaks (none at all when `oneLine`) and no unpaired surrogates, with one
 * character that shows when `showing`: what {@link Text}, {@link Line} and
 * {@link Filter} share. Its JSON Schema is whole, not keywords beside a `$ref` to
 * `Schema.Trim`'s "Trimmed", which OpenAPI tools (Swagger UI) show without the lengths.
 */
const trimmed = (max: number, min: number, showing: boolean, oneLine = false) => {
  const refused = oneLine ? lineBreaks : controls
  return Schema.Trim.pipe(
    Schema.filter(
      (s) => {
        const n = length(s)
        return n >= min && n <= max && !refused.test(s) && (!showing || visible.test(s))
      },
      {
        message: () =>
          `between ${min} and ${max} characters${showing ? ", at least one visible" : ""}, without control characters${oneLine ? ", tabs or line breaks" : ""}`,
        jsonSchema: {
          type: "string",
          minLength: min,
          maxLength: max,
          description: oneLine
            ? "surrounding whitespace is trimmed; one line: no control characters, tabs or line breaks"
            : "surrounding whitespace is trimmed; no control characters but tabs and line breaks"
        }
      }
    )
  )
}

/**
 * A trimmed string of `min` to `max` characters, with no control characters but
 * tabs and line breaks, and no unpaired surrogates; unless `min` is 0, with at least
 * one character that shows (not only zero-width or other format characters).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Text = (max: number, min = 1) => trimmed(max, min, min > 0)

/**
 * One line of text: as {@link Text}, trimmed, without tabs or line breaks. A search
 * keyword is one (§9): the text it is looked for in joins a demand's title, summary
 * and keywords with line breaks, so a keyword holding one would find text that spans
 * two fields and is in neither.
 *
 * @since 0.1.1
 * @category schemas
 */
export const Line = (max: number, min = 1) => trimmed(max, min, min > 0, true)

/**
 * A filter's value (the hall's field or region): trimmed, as the forms' values are
 * stored trimmed, then 1 to `max` characters, with no control characters but tabs and
 * line breaks, and no unpaired surrogates. An empty filter is refused rather than
 * matching nothing, as an empty keyword is; a value that no stored text can equal, or
 * that the database could not even compare, is refused as input rather than failing
 * in the store.
 *
 * @since 0.1.1
 * @category schemas
 */
export const Filter = (max: number) => trimmed(max, 1, false)

/**
 * A name a platform chooses in its settings (a technical field, a service mode's
 * name, an SMS template id): one line that {@link Text} would accept as it is, so
 * `min` to `max` characters, no control characters (tabs and line breaks
 * included), no unpaired surrogates, and no surrounding whitespace (refused, not
 * trimmed: a demand's field is compared with the settings' names after its own
 * trimming, so a name with a space around it could never be chosen).
 *
 * @since 0.1.2
 * @category schemas
 */
export const Name = (max: number, min = 1) =>
  Schema.String.pipe(
    Schema.filter(
      (s) => {
        const n = length(s)
        return (
          n >= min && n <= max && s.trim() === s && !lineControls.test(s) && (min === 0 || visible.test(s))
        )
      },
      {
        message: () =>
          `one line of ${min} to ${max} characters${min === 0 ? "" : ", at least one visible"}, without control characters or surrounding whitespace`,
        jsonSchema: { minLength: min, maxLength: max }
      }
    )
  )
