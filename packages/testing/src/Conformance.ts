/**
 * The conformance suite of the persistence ports. Every adapter runs it in one test
 * file against its own layer of `Persistence.Ports`:
 *
 * ```ts
 * import { PersistenceMemory } from "@zhongbao/core"
 * import { Conformance } from "@zhongbao/testing/conformance"
 *
 * Conformance.suite("memory", PersistenceMemory.layerMemory)
 * ```
 *
 * The suite is split by capability. An adapter that cannot offer one opts out next
 * to the call, with the reason, and the capability's tests are reported as skipped
 * under a title that carries it:
 *
 * ```ts
 * Conformance.suite("sqlite", layer, {
 *   skip: { races: "SQLite serialises writers; the races need concurrent connections" }
 * })
 * ```
 *
 * Each test builds the layer afresh (`Layer.fresh`) with `Settings.layerDefault` and
 * the use cases of `Zhongbao.layer`, under effect's `TestClock` set to
 * 2026-05-04T02:00:00Z. A build must start from an empty store.
 *
 * @since 0.1.0
 */
import { describe } from "@effect/vitest"
import type { Persistence } from "@zhongbao/core"
import type { Layer } from "effect"
import { atomicity } from "./internal/atomicity.js"
import { files } from "./internal/files.js"
import { type Harness, makeHarness } from "./internal/harness.js"
import { notFound } from "./internal/notFound.js"
import { optionalCapabilities } from "./internal/optional.js"
import { outbox } from "./internal/outbox.js"
import { pagination } from "./internal/pagination.js"
import { races } from "./internal/races.js"
import { rewards } from "./internal/rewards.js"
import { roundTrip } from "./internal/roundTrip.js"
import { statistics } from "./internal/statistics.js"
import { uniqueness } from "./internal/uniqueness.js"

/**
 * What the suite checks, one group of tests each:
 * - `roundTrip`: insert then find returns an equal value, for every repository, at
 *   the bounds the model admits too (the longest texts in characters outside the
 *   BMP, the largest amounts, the most list items, the first and last dates);
 *   versioned updates persist; `findByIds`.
 * - `notFound`: lookups of unknown ids answer `Option.none`, never an error.
 * - `uniqueness`: every unique key refuses a second holder with `UniqueViolation`
 *   (demand number, active response, open commission, idempotency key, thread,
 *   message and log sequence, ids); the outbox ignores a repeated `dedupeKey`; a
 *   lost update is a `StaleWrite`.
 * - `pagination`: every list pages through its documented order (sort key, then
 *   id) without gap or duplicate, and its filters return exactly the matching rows.
 * - `atomicity`: a unit of work that fails, dies or is interrupted leaves nothing;
 *   a nested failure undoes only the nested part; a use case failing midway leaves
 *   nothing; a rolled-back approval gives its number back (R12).
 * - `races`: concurrent use cases keep the rules: no response after an adoption
 *   (R26), gapless yearly numbers (R12), one active response (R21), ordered
 *   messages (R22), a demand claimed by one reward application (R52: needs
 *   `MemberRepository.findByIdForUpdate` to exclude a second caller); the shared
 *   row locks of `CommissionRepository.findOpenForShare` (R41) and
 *   `RewardRepository.findRoundForShare` (R52): a change of the row waits for the
 *   unit of work that holds it, and a read waits for an uncommitted change.
 * - `outbox`: delivery states (R64): `enqueue` creates a pending delivery due at
 *   `createdAt`; `claim` leases only due messages, in the order they became
 *   claimable (the later of `nextAttemptAt` and an expired `leaseUntil`, then id),
 *   at most `limit`, never one message to two claims at once (concurrent claims),
 *   and reclaims an expired lease, whose old owner's `settle` answers `false` and
 *   counts an attempt with an unknown outcome that the new holder's result keeps;
 *   `settle` persists its settlement and counts the attempt itself (`attempts + 1`,
 *   `unknownOutcomes + 1` when `unknownOutcome`); `settleMany`, when the adapter
 *   has it, answers and records what `settle` of each entry in order would, the
 *   lease checked per message, without deadlock between concurrent calls;
 *   retries come due at `nextAttemptAt`; `listDead` pages through dead letters
 *   oldest first, those of one `lastCode` when asked; `requeue` keeps `lastError`
 *   and `lastCode`; `summary` counts what is pending, due and dead, at the instant
 *   boundaries `claim` has;
 *   claims, settlements and requeues roll back with their unit of work.
 * - `files`: the file store (R54) keeps bytes byte-exact with their metadata and
 *   SHA-256, never overwrites an id, answers `none` for unknown ids and takes part
 *   in the unit of work; the `Files` use case refuses a wrong type or size before
 *   storing anything.
 * - `rewards`: rounds, institution profiles and applications (R50–R53) round-trip,
 *   one application per institution and round, versioned updates, lists in their
 *   order; one reward flow through the `Rewards` use cases end to end.
 * - `statistics`: the R62 figures of `StatisticsSource` for a fixed scenario,
 *   ungrouped and by field and region, and as the `Statistics` use case reports them.
 * - `optional`: the optional capabilities the adapter has answer what the base
 *   methods would: `AccountRepository.findWithMember`,
 *   `AccountRepository.findWithMemberAndRecord` (with the account's idempotency
 *   record under a key, none under another key or another account's),
 *   `ResponseRepository.findWithDemandForUpdate`, `ResponseRepository.findActiveAmong`
 *   (what `findActive` answers for each demand and round), and the `Journal` port (events,
 *   messages with an account's phone joined in, idempotency record, repeated
 *   `dedupeKey` ignored, taken event id or key refused). An adapter without them
 *   passes these tests without checking anything; the other groups run the use
 *   cases through the capabilities it has.
 *
 * @since 0.1.0
 * @category models
 */
export type Capability =
  | "roundTrip"
  | "notFound"
  | "uniqueness"
  | "pagination"
  | "atomicity"
  | "races"
  | "outbox"
  | "files"
  | "rewards"
  | "statistics"
  | "optional"

/**
 * Every capability, in the order the suite runs them.
 *
 * @since 0.1.0
 * @category models
 */
export const capabilities: ReadonlyArray<Capability> = [
  "roundTrip",
  "notFound",
  "uniqueness",
  "pagination",
  "atomicity",
  "races",
  "outbox",
  "files",
  "rewards",
  "statistics",
  "optional"
]

/**
 * Options of {@link suite}.
 *
 * - `skip`: capabilities the adapter opts out of, each with the reason; they are
 *   registered as skipped, the reason in their title.
 * - `timeout`: milliseconds per test (default 60 000; the races make several
 *   hundred use-case calls).
 * - `requireOptional`: the tests of the optional capabilities fail when the adapter
 *   lacks one (by default they check nothing then).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly skip?: Partial<Record<Capability, string>> | undefined
  readonly timeout?: number | undefined
  /**
   * The adapter claims every optional capability (`findWithMember`,
   * `findWithMemberAndRecord`, `findWithDemandForUpdate`, `findActiveAmong`, `Journal`,
   * `Outbox.settleMany`, `Outbox.purge`, `FileStore.read`): their tests fail when one is missing, where by default
   * they check nothing for an adapter without it.
   */
  readonly requireOptional?: boolean | undefined
}

const groups: Record<Capability, (h: Harness) => void> = {
  roundTrip,
  notFound,
  uniqueness,
  pagination,
  atomicity,
  races,
  outbox,
  files,
  rewards,
  statistics,
  optional: optionalCapabilities
}

/**
 * Registers the conformance tests of the persistence ports for an adapter, as
 * `@effect/vitest` tests under `describe(name)`, one nested `describe` per
 * capability. Call it at the top level of a test file.
 *
 * @since 0.1.0
 * @category suites
 */
export const suite = (
  name: string,
  ports: Layer.Layer<Persistence.Ports, unknown>,
  options: Options = {}
): void => {
  const harness = makeHarness(ports, options.timeout ?? 60_000, options.requireOptional === true)
  describe(`persistence conformance: ${name}`, () => {
    for (const capability of capabilities) {
      const reason = options.skip?.[capability]
      if (reason === undefined) {
        describe(capability, () => groups[capability](harness))
      } else {
        describe.skip(`${capability} (skipped: ${reason})`, () => groups[capability](harness))
      }
    }
  })
}
