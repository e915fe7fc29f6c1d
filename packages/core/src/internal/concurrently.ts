import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

/**
 * @internal
 * Runs `effects` concurrently, each to its end, and answers their results in their
 * order, failures as `Left`s. Every effect but the last runs in a fiber of its own,
 * forked in order; the caller yields once, so these run up to their first wait (a
 * statement sent), then runs the last itself: what they issue leaves in one turn, in
 * order, so an adapter that pipelines sends their statements in one round trip.
 * Should the caller end otherwise (a defect of one of them, or the caller
 * interrupted), the fibers not yet joined are interrupted and awaited first, so none
 * outlives it (a unit of work gives its connection back when its effect ends).
 *
 * Written by hand where `Effect.all(effects, { concurrency: "unbounded", mode:
 * "either" })` does the same: that costs about 70 µs of CPU per call for three
 * effects (a scope, a deferred and a fiber for each), this about 25, and core runs
 * two per respond (issue 8's P2; measured on the benchmark machine with three effects
 * that answer on the next microtask, 20,000 calls each way).
 */
export const concurrently = <A, E>(
  effects: ReadonlyArray<Effect.Effect<A, E>>
): Effect.Effect<Array<Either.Either<A, E>>> => {
  const last = effects[effects.length - 1]
  if (last === undefined) return Effect.succeed([])
  if (effects.length === 1) return Effect.map(Effect.either(last), (result) => [result])
  return Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(
      Effect.forEach(effects.slice(0, -1), (effect) => Effect.fork(restore(Effect.either(effect)))),
      (fibers) =>
        Effect.onExit(
          restore(
            Effect.zipRight(
              Effect.yieldNow(),
              Effect.flatMap(Effect.either(last), (lastResult) =>
                Effect.map(Effect.forEach(fibers, Fiber.join), (results) => [...results, lastResult])
              )
            )
          ),
          (exit) => (Exit.isSuccess(exit) ? Effect.void : Fiber.interruptAll(fibers))
        )
    )
  )
}

/**
 * @internal
 * {@link concurrently}'s results, or the first failure in the order of `effects`
 * (whichever finished first), once every one has ended.
 */
export const concurrentlyInOrder = <A, E>(
  effects: ReadonlyArray<Effect.Effect<A, E>>
): Effect.Effect<Array<A>, E> =>
  Effect.flatMap(concurrently(effects), (results) => {
    const values: Array<A> = []
    for (const result of results) {
      if (Either.isLeft(result)) return Effect.fail(result.left)
      values.push(result.right)
    }
    return Effect.succeed(values)
  })
