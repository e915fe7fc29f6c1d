import type { Params } from "./db.js"

/**
 * @internal
 * The distinct unigrams and bigrams (in code points) of a demand's search text:
 * a GIN index over them serves keywords of one or two characters (芯片, 电池),
 * which a trigram index cannot.
 */
export const grams = (text: string): Array<string> => {
  const chars = Array.from(text)
  const out = new Set<string>()
  for (let i = 0; i < chars.length; i++) {
    out.add(chars[i]!)
    if (i + 1 < chars.length) out.add(chars[i]! + chars[i + 1]!)
  }
  return [...out]
}

/** @internal Escapes `%`, `_` and `\` for a `LIKE` pattern (escape character `\`). */
export const likeEscape = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`)

/**
 * @internal
 * The condition of a keyword search on `search_text` (lower case, like the
 * keyword): substring semantics, as the memory adapter's `includes`. A keyword of
 * three characters or more is a `LIKE` the trigram index serves, or the whole of a
 * demand's number in upper case (the number's unique index); a shorter one (no
 * number is that short) is looked up in the grams index and confirmed by `strpos`.
 */
export const keywordCondition = (p: Params, alias: string, keyword: string): string => {
  const length = Array.from(keyword).length
  if (length === 0) return "true"
  if (length >= 3)
    return `(${alias}.search_text LIKE ${p.add(`%${likeEscape(keyword)}%`)} OR ${alias}.number = ${p.add(keyword.toUpperCase())})`
  return `${alias}.search_grams @> ARRAY[${p.add(keyword)}::text] AND strpos(${alias}.search_text, ${p.add(keyword)}) > 0`
}
