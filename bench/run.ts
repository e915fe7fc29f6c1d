/**
 * `npm run bench`: issue 8's figures against the example server on the local
 * PostgreSQL (`DATABASE_URL`), each a ratio or a bound measured side by side in one
 * run, printed as a table and written to `bench/RESULTS.md` with the machine's
 * details:
 *
 * - P1, P6 and P3 by `bench/http-hall.ts` (the public hall over HTTP, next to a
 *   hand-written `node:http` + `pg` handler running the same SQL; server memory
 *   under that load; latency at 1M demands against 10k);
 * - P2 and P4 by `bench/http-writes.ts` (respond over HTTP next to pgbench running
 *   the same statements; the outbox draining to a local fake SMS provider).
 *
 * `--short` runs small sizes (CI runs it for the invariants it checks: P4's "0 lost,
 * 0 duplicates"; P1's and P2's baselines running the statements the adapter sends);
 * `--only=hall` or `--only=writes` runs one file. Goals are printed, never asserted;
 * the exit code is non-zero only when a run fails or an invariant breaks.
 */
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Hall from "./http-hall.js"
import * as Writes from "./http-writes.js"
import { type Figure, figuresTable, machine } from "./support/report.js"

const short = process.argv.includes("--short")
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length)

const parts: ReadonlyArray<
  readonly [string, (o: { readonly short: boolean }) => Promise<ReadonlyArray<Figure>>]
> = [
  ["hall", Hall.run],
  ["writes", Writes.run]
]

const main = async () => {
  const started = Date.now()
  const figures: Array<Figure> = []
  let failed = false
  for (const [name, run] of parts) {
    if (only !== undefined && only !== name) continue
    try {
      figures.push(...(await run({ short })))
    } catch (error) {
      failed = true
      console.error(`bench ${name} failed:`, error)
    }
  }
  const order = (id: string) => Number(id.replace(/\D/g, ""))
  figures.sort((a, b) => order(a.id) - order(b.id))
  const table = figuresTable(figures)
  const details = figures.flatMap((f) => [
    ...(f.invariants ?? []).map((i) => `- ${f.id}: ${i.name}: ${i.holds ? "holds" : "BROKEN"} (${i.detail})`),
    ...(f.details ?? []).map((line) => `- ${f.id}: ${line}`)
  ])
  const report = [
    `# Benchmark results${short ? " (short run)" : ""}`,
    "",
    `Taken ${new Date().toISOString()} on ${machine()}, PostgreSQL at ${new URL(process.env.DATABASE_URL ?? "postgres://127.0.0.1:5432/test").host}, in ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    "",
    table,
    "",
    ...details
  ].join("\n")
  console.log(`\n${report}\n`)
  if (!short && only === undefined)
    writeFileSync(fileURLToPath(new URL("./RESULTS.md", import.meta.url)), `${report}\n`)
  const broken = figures.flatMap((f) =>
    (f.invariants ?? []).filter((i) => !i.holds).map((i) => `${f.id}: ${i.name} (${i.detail})`)
  )
  for (const line of broken) console.error(`invariant broken: ${line}`)
  if (failed || broken.length > 0) process.exitCode = 1
}

await main()
