/**
 * `concurrently`, which issues a command's prefetch with its actor read and its
 * deferred writes with its journal (R26: all of a unit of work or none of it; issue
 * 8's P2).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Either, Exit, Fiber } from "effect"
import { concurrently } from "../src/internal/concurrently.js"

/** An effect that records when it starts and answers (or fails with) `name` on the next microtask. */
const step = (log: Array<string>, name: string, fail = false) =>
  Effect.flatMap(
    Effect.sync(() => log.push(`start ${name}`)),
    () =>
      Effect.async<string, string>((resume) => {
        queueMicrotask(() => resume(fail ? Effect.fail(name) : Effect.succeed(name)))
      })
  )

describe("concurrently", () => {
  it.effect(
    "R26: every effect starts before any answers, in order; results come in order, failures as Left",
    () =>
      Effect.gen(function* () {
        const log: Array<string> = []
        const results = yield* concurrently([step(log, "a"), step(log, "b", true), step(log, "c")])
        assert.deepStrictEqual(log, ["start a", "start b", "start c"])
        assert.deepStrictEqual(results, [Either.right("a"), Either.left("b"), Either.right("c")])
      })
  )

  it.effect(
    "R26: when the caller dies (a defect of one), the others are interrupted and awaited before it goes on (a unit of work's release)",
    () =>
      Effect.gen(function* () {
        const order: Array<string> = []
        const waiting = Effect.onInterrupt(Effect.never, () =>
          Effect.sync(() => order.push("other interrupted"))
        )
        const exit = yield* Effect.exit(
          Effect.ensuring(
            concurrently<string, string>([waiting, Effect.dieMessage("boom")]),
            Effect.sync(() => order.push("caller's release"))
          )
        )
        assert.isTrue(Exit.isFailure(exit))
        assert.deepStrictEqual(order, ["other interrupted", "caller's release"])
      })
  )

  it.effect(
    "R26: when the caller is interrupted, the others are interrupted and awaited before it goes on (a unit of work's release)",
    () =>
      Effect.gen(function* () {
        const order: Array<string> = []
        const started = yield* Deferred.make<void>()
        const waiting = Effect.onInterrupt(
          Effect.zipRight(Deferred.succeed(started, undefined), Effect.never),
          () => Effect.sync(() => order.push("other interrupted"))
        )
        const caller = yield* Effect.fork(
          Effect.ensuring(
            concurrently<void, never>([waiting, Effect.never]),
            Effect.sync(() => order.push("caller's release"))
          )
        )
        yield* Deferred.await(started)
        yield* Fiber.interrupt(caller)
        assert.deepStrictEqual(order, ["other interrupted", "caller's release"])
      })
  )
})
