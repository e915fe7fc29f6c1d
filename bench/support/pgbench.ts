/**
 * Comparing the statements an adapter sent with a pgbench script's, for the benches
 * that run the same statements through both (`bench/pg.ts`, `bench/http-writes.ts`).
 */

/** A statement with its values made comparable: placeholders, literals, NULLs, arrays are "?". */
export const normalise = (text: string) =>
  text
    .replace(/"[a-z0-9_]+"\./g, "")
    .replace(/'(?:[^']|'')*'/g, "?")
    .replace(/ARRAY\[[^\]]*\]/g, "?")
    .replace(/\$\d+/g, "?")
    .replace(/(?<!:):(?!:)[A-Za-z_]\w*/g, "?")
    .replace(/\bNULL\b/g, "?")
    .replace(/\b\d+\b/g, "?")
    .replace(/\s+/g, " ")
    .replace(/\s*([(),])\s*/g, "$1")
    .trim()

/** The SQL commands of a pgbench script, without its meta-commands and comments. */
export const scriptStatements = (script: string) =>
  script
    .split("\n")
    .filter((line) => !/^\s*(--|\\set\b)/.test(line))
    .join("\n")
    .split(/;[ \t]*$|\\gset[ \t]*\w*[ \t]*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)

/** Where two statement lists first differ, or `undefined`. */
export const firstDifference = (adapter: ReadonlyArray<string>, script: ReadonlyArray<string>) => {
  for (let i = 0; i < Math.max(adapter.length, script.length); i++) {
    const a = adapter[i] === undefined ? undefined : normalise(adapter[i]!)
    const b = script[i] === undefined ? undefined : normalise(script[i]!)
    if (a !== b) return { index: i, adapter: a ?? "(none)", script: b ?? "(none)" }
  }
  return undefined
}
