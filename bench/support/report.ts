/**
 * What a benchmark part or a reliability scenario answers, and how the runners print
 * it. Goals are printed next to the figures; a benchmark never fails on a timing. A
 * reliability scenario fails its run when an invariant does not hold.
 */
import { cpus, loadavg, totalmem } from "node:os"

/** One measured figure of `npm run bench` (P1…P6). */
export interface Figure {
  readonly id: string
  readonly name: string
  /** The measured value as printed, e.g. `0.87 (3,120 vs 3,590 req/s)`. */
  readonly measured: string
  /** The goal as printed, e.g. `≥ 0.80`. */
  readonly goal: string
  /** Whether the goal is met; `undefined` when the figure could not be taken. */
  readonly met: boolean | undefined
  /** Lines under the table: rounds, percentiles, where the time goes. */
  readonly details?: ReadonlyArray<string>
  /** What must hold whatever the timing (P4: nothing lost, nothing sent twice); a broken one fails the run. */
  readonly invariants?: ReadonlyArray<Invariant>
}

/** One invariant of a reliability scenario, checked after the load. */
export interface Invariant {
  readonly name: string
  readonly holds: boolean
  /** The counts it was decided on, e.g. `0 of 1,000 trials`. */
  readonly detail: string
}

/** One reliability scenario (F1…F5). */
export interface Scenario {
  readonly id: string
  readonly name: string
  /** What was run, e.g. `1,000 trials, 2 instances`. */
  readonly load: string
  readonly invariants: ReadonlyArray<Invariant>
  readonly details?: ReadonlyArray<string>
}

/** The machine a run was taken on. */
export const machine = (): string => {
  const cpu = cpus()
  return [
    `${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}`,
    `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    `Node ${process.version}`,
    `load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`
  ].join(", ")
}

/** Formats an integer with thousands separators. */
export const int = (x: number): string => Math.round(x).toLocaleString("en-US")

/** The `q` quantile of ascending numbers. */
export const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/** The median of numbers. */
export const median = (xs: ReadonlyArray<number>): number =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5
  )

/** A Markdown table of figures. */
export const figuresTable = (figures: ReadonlyArray<Figure>): string =>
  [
    "| | figure | measured | goal | met |",
    "|---|---|---|---|---|",
    ...figures.map(
      (f) =>
        `| ${f.id} | ${f.name} | ${f.measured} | ${f.goal} | ${f.met === undefined ? "—" : f.met ? "yes" : "**no**"} |`
    )
  ].join("\n")

/** A Markdown table of scenarios, one row per invariant. */
export const scenariosTable = (scenarios: ReadonlyArray<Scenario>): string =>
  [
    "| | scenario | load | invariant | holds | counts |",
    "|---|---|---|---|---|---|",
    ...scenarios.flatMap((s) =>
      s.invariants.map(
        (i, k) =>
          `| ${k === 0 ? s.id : ""} | ${k === 0 ? s.name : ""} | ${k === 0 ? s.load : ""} | ${i.name} | ${i.holds ? "yes" : "**NO**"} | ${i.detail} |`
      )
    )
  ].join("\n")

/** The lowest and highest of a run's round ratios, `0.58–0.71`. */
export const ratioRange = (ratios: ReadonlyArray<number>): string =>
  `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`

/**
 * One round of two sides (zhongbao and its baseline), `zb`'s first in odd rounds and
 * `bl`'s first in even ones, so that neither side always runs after the other (ABBA).
 */
export const inTurn = async <A, B>(
  round: number,
  zb: () => Promise<A>,
  bl: () => Promise<B>
): Promise<{ readonly zb: A; readonly bl: B }> => {
  if (round % 2 === 1) {
    const z = await zb()
    return { zb: z, bl: await bl() }
  }
  const b = await bl()
  return { zb: await zb(), bl: b }
}
