/**
 * `npm run reliability`: issue 8's fault and race scenarios against example-server
 * instances on the local PostgreSQL (`DATABASE_URL`), each checked by invariants
 * after the load (F-numbers, not the domain's rule numbers):
 *
 * - F1 concurrent respond vs adopt, F2 concurrent approvals (`reliability/races.ts`);
 * - F3 a failing SMS provider and a dispatcher killed mid-batch, F4 `kill -9` of the
 *   server under write load and a restart (`reliability/faults.ts`);
 * - F5 the F1–F3 loads again on two instances sharing one database.
 *
 * Prints one row per invariant and exits non-zero when any does not hold (never on a
 * timing); a full run writes the table to `reliability/RESULTS.md`. `--short` runs small
 * trial counts (CI); `--only=F3` runs one scenario.
 */
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { machine, type Scenario, scenariosTable } from "../bench/support/report.js"
import * as Faults from "./faults.js"
import * as Races from "./races.js"

const short = process.argv.includes("--short")
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length)

const twice = (scenario: Scenario): Scenario => ({ ...scenario, id: `F5 (${scenario.id})` })

const scenarios: ReadonlyArray<readonly [string, () => Promise<Scenario>]> = [
  ["F1", () => Races.runF1({ short, instances: 1 })],
  ["F2", () => Races.runF2({ short, instances: 1 })],
  ["F3", () => Faults.runF3({ short, instances: 1 })],
  ["F4", () => Faults.runF4({ short })],
  ["F5", () => Races.runF1({ short, instances: 2 }).then(twice)],
  ["F5", () => Races.runF2({ short, instances: 2 }).then(twice)],
  ["F5", () => Faults.runF3({ short, instances: 2 }).then(twice)]
]

const main = async () => {
  if (only !== undefined && !scenarios.some(([id]) => id === only)) {
    console.error(
      `--only=${only}: no such scenario (${[...new Set(scenarios.map(([id]) => id))].join(", ")})`
    )
    process.exitCode = 2
    return
  }
  const started = Date.now()
  const results: Array<Scenario> = []
  const errors: Array<string> = []
  for (const [id, run] of scenarios) {
    if (only !== undefined && only !== id) continue
    console.log(`::: ${id}`)
    try {
      const scenario = await run()
      results.push(scenario)
      console.log(scenariosTable([scenario]))
    } catch (error) {
      errors.push(`${id}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
      console.error(`${id} could not run:`, error)
    }
  }
  const broken = results.flatMap((s) =>
    s.invariants.filter((i) => !i.holds).map((i) => `${s.id}: ${i.name} (${i.detail})`)
  )
  const report = [
    `# Reliability${short ? " (short run)" : ""}`,
    "",
    `Taken ${new Date().toISOString()} on ${machine()}, in ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    "",
    scenariosTable(results),
    "",
    ...results.flatMap((s) => (s.details ?? []).map((line) => `- ${s.id}: ${line}`))
  ].join("\n")
  console.log(`\n${report}`)
  if (!short && only === undefined && errors.length === 0)
    writeFileSync(fileURLToPath(new URL("./RESULTS.md", import.meta.url)), `${report}\n`)
  for (const line of broken) console.error(`invariant broken: ${line}`)
  if (broken.length > 0 || errors.length > 0) process.exitCode = 1
}

await main()
