/**
 * @internal
 * The conditional headers of whole-record updates (RFC 9110 §13.1.1): `If-Match`, a
 * list of entity tags or `*`, and `If-None-Match: *`.
 */
import type { Revision } from "@zhongbao/core"

/**
 * One entity tag, strong or weak (`W/`), of at most 200 characters (RFC 9110 §8.8.3),
 * its prefix and its text captured.
 */
const tag = String.raw`(W/)?"([\x21\x23-\x7e]{0,200})"`

/** Entity tags as the list parser finds them. */
const tags = new RegExp(tag, "g")

/**
 * @internal
 * An `If-Match` value: `*`, or a list of entity tags separated by commas, empty
 * elements and optional whitespace (spaces and tabs) taken, as RFC 9110 §5.6.1.2 has a
 * recipient take them.
 */
export const ifMatchPattern = new RegExp(
  String.raw`^[ \t]*(?:\*|(?:,[ \t]*)*${tag}(?:[ \t]*,(?:[ \t]*${tag})?)*)[ \t]*$`
)

/** @internal How many entity tags a value holds. */
export const tagCount = (header: string): number => header.match(tags)?.length ?? 0

/**
 * @internal
 * The revisions an `If-Match` value (one {@link ifMatchPattern} accepts) names, for
 * core's `ifRevision`: `["*"]` for a bare `*`; otherwise each tag's text, a weak one
 * kept with its `W/` and a tag whose text is `*` with its quotes, so that they match
 * no revision (`If-Match` compares strongly, and `"*"` is a tag, not any revision);
 * `undefined` without the header.
 */
export const ifMatchValues = (header: string | undefined): Revision.Expected | undefined => {
  if (header === undefined) return undefined
  if (header.trim() === "*") return ["*"]
  const values = Array.from(header.matchAll(tags), ([, weak, text]) =>
    weak !== undefined ? `${weak}"${text}"` : text === "*" ? `"*"` : text!
  )
  if (values.length === 0) throw new TypeError(`If-Match: no entity tag in ${JSON.stringify(header)}`)
  return values as unknown as Revision.Expected
}
