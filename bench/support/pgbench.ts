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

/**
 * pgbench's arguments for a script run the way a `pg` client sends its statements
 * unnamed: extended protocol (every `:variable` a parameter; `mode: "prepared"` to
 * name them, each parsed once per connection), `clients` clients on at most two
 * threads, `-r` for per-statement latencies, a number of transactions per client
 * (`-t`) or seconds (`-T`), with `rate` at most that many transactions a second in
 * all (`-R`), and the script's variables as `-D`.
 */
export const pgbenchArgs = (options: {
  readonly mode?: "extended" | "prepared"
  readonly clients: number
  readonly perStatement: boolean
  readonly length: { readonly transactions: number } | { readonly seconds: number }
  readonly rate?: number
  readonly script: string
  readonly define: Readonly<Record<string, string | number>>
  readonly url: string
}): Array<string> => [
  "-n",
  "-M",
  options.mode ?? "extended",
  "-c",
  String(options.clients),
  "-j",
  String(Math.min(2, options.clients)),
  ...(options.perStatement ? ["-r"] : []),
  ...("transactions" in options.length
    ? ["-t", String(options.length.transactions)]
    : ["-T", String(options.length.seconds)]),
  ...(options.rate === undefined ? [] : ["-R", String(options.rate)]),
  "-f",
  options.script,
  ...Object.entries(options.define).flatMap(([k, v]) => ["-D", `${k}=${v}`]),
  options.url
]
