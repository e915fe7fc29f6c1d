import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"

/**
 * @internal
 * Names of the statements the adapter sends on a pool of `PgDatabase`'s: outside a
 * unit of work (the public hall's page, the other lists, look-ups by id, and the few
 * writes made on their own), and inside the adapter's own units of work (see
 * {@link UnitOfWorkStale}). Sent named,
 * through the extended protocol, a statement is parsed and analysed by PostgreSQL
 * once per connection rather than on every execution: the public hall's statement
 * cost PostgreSQL about a quarter less CPU so (issue 8's P1: 158 → 116 µs per
 * statement on 100k demands, 16 concurrent callers, in process). The pool's
 * connections set `plan_cache_mode = force_custom_plan`, so every execution is
 * still planned with its own values, as an unnamed statement is: a generic plan
 * chosen on the first values seen (a common keyword, say) could not serve a rare
 * one as well. Should that setting fail, or not reach the server connection a
 * statement runs on (a pooler that does not keep session settings), PostgreSQL's
 * own choice between generic and custom plans applies.
 *
 * A name is derived from the text (`zb_` and 24 hexadecimal digits of its SHA-1),
 * so one name always stands for one text, as `pg` requires of a connection. At most
 * `limit` texts are named per pool; later ones go unnamed, so that a host whose
 * statements vary without end does not fill every backend with them. A text whose
 * prepared statement failed as such (see {@link isStalePrepared}) is sent unnamed
 * from then on.
 */
export interface StatementNames {
  /** The name `text` is sent under, or `undefined` when it is sent unnamed. */
  readonly nameOf: (text: string) => string | undefined
  /** Sends `text` unnamed from now on. */
  readonly forget: (text: string) => void
}

/** @internal The texts named per pool when no limit is given. */
export const defaultNamedStatements = 100

/** @internal */
export const makeStatementNames = (limit: number = defaultNamedStatements): StatementNames => {
  // `null`: forgotten. Only texts already named are forgotten, so the map never holds more than `limit`.
  const names = new Map<string, string | null>()
  return {
    nameOf: (text) => {
      const known = names.get(text)
      if (known !== undefined) return known ?? undefined
      if (names.size >= limit) return undefined
      const name = `zb_${createHash("sha1").update(text).digest("hex").slice(0, 24)}`
      names.set(text, name)
      return name
    },
    forget: (text) => {
      if (names.has(text)) names.set(text, null)
    }
  }
}

/**
 * @internal
 * Whether a named statement failed because its prepared statement is gone or no
 * longer fits its table: `26000` (it does not exist on the connection: a
 * `DISCARD ALL` or `DEALLOCATE`, a pooler between the adapter and the server; only
 * for a statement whose Parse had been answered on its connection: see
 * {@link lostPrepared}) or
 * `0A000` raised where PostgreSQL revalidates a cached statement ("cached plan must
 * not change result type": a column it reads changed type since it was prepared).
 * The message is not compared, as the server may answer in another language; the
 * routine that raised the error is (PostgreSQL names it in every error), so that a
 * `0A000` ("feature not supported") raised as the statement ran, or one without a
 * routine, is not taken for one. The
 * caller sends the text again unnamed: a statement on its own at once (its failure
 * left nothing behind), a unit of work from its start (see {@link UnitOfWorkStale}).
 */
export const isStalePrepared = (cause: unknown): boolean => {
  if (typeof cause !== "object" || cause === null) return false
  const { code, routine } = cause as { readonly code?: unknown; readonly routine?: unknown }
  return (
    (code === "26000" && lostPrepared.has(cause)) || (code === "0A000" && routine === "RevalidateCachedQuery")
  )
}

/**
 * @internal
 * The 26000 errors of named statements whose Parse `pg` had seen answered on their
 * connection (see `client.ts`, 5.): the server lost a statement it had prepared. A
 * 26000 of a statement whose Parse was still on its way (the same text twice in one
 * pipeline, the first copy's Parse failing) says nothing of its name.
 */
export const lostPrepared = new WeakSet<object>()

/**
 * @internal
 * What a run of the adapter's outermost unit of work learns of its named
 * statements. Inside a transaction, a statement is sent named only while the fiber
 * carries such a record (`currentUnit`): the unit of work that set it runs the whole
 * unit again when one of them was found stale and the unit failed with it (or with
 * the 25P02 of a statement after it), as the failed statement aborted its
 * transaction. A statement of a nested unit of work (a savepoint, whose failure its
 * caller may catch and go on), or of a transaction the host began itself, goes
 * unnamed: nothing would run it again.
 */
export interface UnitOfWorkStale extends Abortable {
  /** Whether a statement of this run, sent named, failed as stale (its text is unnamed from then on). */
  stale: boolean
}

/** @internal Whether a unit of work (the outermost, or a nested one) may still commit. */
export interface Abortable {
  /** The enclosing unit's marker, for a nested unit. */
  readonly parent?: Abortable | undefined
  /**
   * Set once this run has failed: its transaction rolled back, or its savepoint was
   * rolled back to. A row it read may have held its own writes, now undone (see
   * {@link rolledBack}).
   */
  rolledBack?: boolean
  /**
   * Whether this run may no longer commit: one of its statements failed or was
   * interrupted (either aborts the transaction: its COMMIT would be answered as a
   * ROLLBACK), a port refused a write after part of it was done (`Journal.write`),
   * or a nested unit in it could not be rolled back to its savepoint. The unit of
   * work then fails before its COMMIT, even when the unit caught the failure and
   * went on.
   */
  aborted: boolean
  /**
   * What aborted it first, where that was a statement (its error, or the
   * interruption) or a failed rollback to a savepoint; the unit's failure carries it.
   */
  cause?: unknown
}

/** @internal The current run of the adapter's outermost unit of work, inherited by the fibers it forks. */
export const currentUnit: FiberRef.FiberRef<UnitOfWorkStale | undefined> = FiberRef.unsafeMake<
  UnitOfWorkStale | undefined
>(undefined)

/**
 * @internal
 * The innermost unit of work running (the outermost, or a nested one, a savepoint):
 * whether it may still commit, or release its savepoint (see
 * `UnitOfWorkStale.aborted`). The outermost unit's is its `UnitOfWorkStale`.
 */
export const currentAbortable: FiberRef.FiberRef<Abortable | undefined> = FiberRef.unsafeMake<
  Abortable | undefined
>(undefined)

/**
 * @internal
 * Whether the unit of work `unit` (a row was read in it), or one enclosing it, has
 * rolled back: what it read is then not known to be what any transaction committed.
 */
export const rolledBack = (unit: Abortable | undefined): boolean => {
  for (let u = unit; u !== undefined; u = u.parent) if (u.rolledBack === true) return true
  return false
}

/**
 * @internal
 * Marks the innermost unit of work running, if any, as one that may not commit (a
 * nested one: that may not release its savepoint, so that it rolls back to it).
 */
export const abortUnit: Effect.Effect<void> = FiberRef.getWith(currentAbortable, (unit) =>
  Effect.sync(() => {
    if (unit !== undefined) unit.aborted = true
  })
)

/** @internal The setting every connection of a pool that names statements starts with (see {@link StatementNames}). */
export const customPlans = "SET plan_cache_mode = force_custom_plan"

/**
 * @internal
 * The setting a transaction on such a pool starts with, sent with its BEGIN (see
 * `client.ts`, 6.): PostgreSQL's own choice between generic and custom plans, for
 * the transaction only. A unit of work's statements are writes and look-ups of a
 * fixed shape, mostly by key, whose best plan does not depend on their values: a
 * generic plan, made once per connection, serves them (in the respond benchmark,
 * PostgreSQL's CPU per respond fell from 1.55–1.70 to 1.13–1.20 ms). The lists, outside
 * transactions, keep a plan made for their own values.
 */
export const transactionPlans = "SET LOCAL plan_cache_mode = auto"
