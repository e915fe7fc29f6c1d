import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlError from "@effect/sql/SqlError"
import { Errors, Persistence } from "@zhongbao/core"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import {
  commitOutcomeUnknown,
  type Db,
  infrastructure,
  isRetryable,
  outcomeUnknown,
  sqlState,
  withoutRowValues
} from "./db.js"
import {
  type Abortable,
  currentAbortable,
  currentUnit,
  defaultNamedStatements,
  isStalePrepared,
  type UnitOfWorkStale
} from "./prepared.js"

/** @internal How often the outermost unit of work runs again after a serialization failure or deadlock. */
export const maxRetries = 5

/**
 * A pause in real time (not effect's `Clock`: units of work run under a
 * `TestClock` in tests, and the database lives in real time).
 */
const pause = (millis: number) =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

const abortedMessage =
  "UnitOfWork.transaction: a statement of the unit failed, or a write was refused after part of it was done, and the unit went on; it was rolled back and nothing of it was written"

/**
 * The failure of a unit that went on after one of its statements failed (its
 * transaction aborted) or a write was refused half done: it is rolled back, never
 * committed, whatever it returned.
 */
const aborted = (unit: Abortable) =>
  new Errors.InfrastructureError({
    port: "UnitOfWork",
    message: abortedMessage,
    cause: withoutRowValues(unit.cause)
  })

/**
 * @internal
 * `UnitOfWork` as `sql.withTransaction`: the outermost call begins a transaction on
 * a connection of its own, nested calls become savepoints (a nested failure rolls
 * back to its savepoint only). A failed COMMIT or ROLLBACK, which the client raises
 * as a defect, becomes an `InfrastructureError` (the unit's own failure is kept as
 * it is); a COMMIT that got no answer, or one that may have come after the commit
 * (see {@link commitOutcomeUnknown}), becomes one with `outcome: "unknown"`, never
 * run again. The outermost call runs the whole
 * unit again, at most {@link maxRetries} times after a short random pause, when it
 * failed with a serialization failure (40001) or a deadlock (40P01), or caught one
 * and went on (the transaction was aborted all the same); at once, when
 * one of its statements, sent as a named prepared statement, was found stale and
 * the unit failed with it (its text is sent unnamed from then on: see
 * `UnitOfWorkStale`), or with it caught (the transaction was aborted all the same).
 * A unit that catches the failure or the interruption of one of its statements
 * (which aborted its transaction, as a key taken by a concurrent transaction does)
 * or a write refused
 * half done (`Journal.write`), and goes on, fails before its COMMIT and is rolled
 * back: nothing of it is written, and the caller learns it. A nested call that does
 * so fails the same way instead of releasing its savepoint, and is rolled back to
 * it: its caller may go on. A failure the unit cannot see (a host's statement that
 * failed and was caught, a statement of a fiber forked in a nested unit that failed
 * after that unit ended) still aborted the transaction: PostgreSQL answers its
 * COMMIT with ROLLBACK, which the client fails (25P02, `client.ts`'s seventh change),
 * and the unit fails with an `InfrastructureError`, not run again (what failed is
 * not known). A nested call's statements go unnamed. A read runs
 * without a transaction: at READ COMMITTED each statement sees committed data, and a
 * read-only transaction would add BEGIN and COMMIT and nothing else (inside a unit
 * of work, its statements join that unit's connection as before).
 */
export const makeUnitOfWork = (db: Db): Context.Tag.Service<Persistence.UnitOfWork> => {
  /** `parent`: the enclosing unit's marker, for a nested unit (`undefined` for the outermost). */
  const once = <A, E, R>(effect: Effect.Effect<A, E, R>, unit: Abortable, parent: Abortable | undefined) =>
    Effect.suspend(() => {
      // When the connection is gone, the ROLLBACK after a failure fails too and the
      // client dies with it: the unit's own failure is the one to report.
      let failed: Cause.Cause<E | Errors.InfrastructureError> | undefined
      // Set once the unit's own work succeeded: a failure after it is its COMMIT's.
      let committing = false
      const ownFailure = (e: unknown) =>
        failed !== undefined && Option.exists(Cause.failureOption(failed), (own) => own === e)
      const body = Effect.flatMap(effect, (a) =>
        unit.aborted ? Effect.fail(aborted(unit)) : Effect.succeed(a)
      )
      return db.sql
        .withTransaction(
          Effect.tapErrorCause(body, (cause) => Effect.sync(() => (failed = cause))).pipe(
            Effect.tap(() => Effect.sync(() => (committing = parent === undefined)))
          )
        )
        .pipe(
          Effect.catchIf(
            (e): e is Extract<typeof e, SqlError.SqlError> =>
              e instanceof SqlError.SqlError && !ownFailure(e),
            (e) => Effect.fail(infrastructure("UnitOfWork.transaction", e))
          ),
          Effect.catchSomeDefect((defect) => {
            if (!(defect instanceof SqlError.SqlError))
              return Option.none<Effect.Effect<never, E | Errors.InfrastructureError>>()
            // A nested unit whose savepoint could not be rolled back left the
            // transaction aborted: the enclosing unit may not commit either.
            if (parent !== undefined && !parent.aborted) {
              parent.aborted = true
              parent.cause = defect
            }
            return Option.some<Effect.Effect<never, E | Errors.InfrastructureError>>(
              failed !== undefined && Cause.isFailType(failed)
                ? Effect.failCause(failed)
                : committing && commitOutcomeUnknown(defect)
                  ? Effect.fail(outcomeUnknown("UnitOfWork.transaction", "the unit", defect))
                  : Effect.fail(infrastructure("UnitOfWork.transaction", defect))
            )
          }),
          Effect.tapErrorCause(() =>
            Effect.sync(() => {
              unit.rolledBack = true
            })
          )
        ) as Effect.Effect<A, E | Errors.InfrastructureError, R>
    })

  /**
   * A failure after which the unit runs again at once: one of its named statements
   * was found stale (`UnitOfWorkStale`), and the unit failed with that statement's
   * error or a later statement's 25P02 (the transaction it aborted).
   */
  const staleFailure = (unit: UnitOfWorkStale, e: unknown): boolean => {
    if (!unit.stale || !(e instanceof Errors.InfrastructureError)) return false
    const cause = e.cause instanceof SqlError.SqlError ? e.cause.cause : e.cause
    return isStalePrepared(cause) || sqlState(e.cause) === "25P02" || e.message === abortedMessage
  }

  /*
   * Runs after a stale statement do not count toward `maxRetries`: each text found
   * stale is sent unnamed from then on, on every connection of the pool, so a unit
   * finds at most as many as the pool names (`defaultNamedStatements`), and is not
   * run more often than that. (Units that sent a text named before it was found
   * stale, on other connections, may each find it once more.)
   */
  const retrying = <A, E, R>(
    effect: Effect.Effect<A, E, R>,
    attempt: number,
    staleRuns: number
  ): Effect.Effect<A, E | Errors.InfrastructureError, R> =>
    Effect.suspend(() => {
      const unit: UnitOfWorkStale = { stale: false, aborted: false }
      const stale = (e: unknown) => staleRuns < defaultNamedStatements && staleFailure(unit, e)
      const run = once(effect, unit, undefined).pipe(
        Effect.locally(currentUnit, unit),
        Effect.locally(currentAbortable, unit)
      )
      return Effect.matchEffect(run, {
        onFailure: (e) =>
          stale(e)
            ? retrying(effect, attempt, staleRuns + 1)
            : attempt < maxRetries && (isRetryable(e) || (unit.aborted && isRetryable(unit.cause)))
              ? Effect.zipRight(
                  pause(5 + Math.random() * 20 * (attempt + 1)),
                  retrying(effect, attempt + 1, staleRuns)
                )
              : Effect.fail(e),
        onSuccess: Effect.succeed
      })
    })

  /**
   * The permit the nested units of a unit take (keyed by the unit's marker, or by the
   * connection of a transaction the host began), so that they run one after another:
   * `sql.withTransaction` names a savepoint after its depth, and concurrent siblings
   * would roll back and release each other's.
   */
  const nestedPermits = new WeakMap<object, Effect.Semaphore>()
  const permitOf = (key: object) => {
    let permit = nestedPermits.get(key)
    if (permit === undefined) {
      permit = Effect.unsafeMakeSemaphore(1)
      nestedPermits.set(key, permit)
    }
    return permit
  }

  return Persistence.UnitOfWork.of({
    transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (tx) =>
        Option.isSome(tx)
          ? FiberRef.getWith(currentAbortable, (parent) =>
              permitOf(parent ?? tx.value[0]).withPermits(1)(
                Effect.suspend(() => {
                  const savepoint: Abortable = { aborted: false, parent }
                  return once(effect, savepoint, parent).pipe(
                    Effect.locally(currentUnit, undefined),
                    Effect.locally(currentAbortable, savepoint)
                  )
                })
              )
            )
          : retrying(effect, 0, 0)
      ),
    read: <A, E, R>(effect: Effect.Effect<A, E, R>) => effect
  })
}
