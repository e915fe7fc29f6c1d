/**
 * The routes made on their first request (`/openapi.json`, `/docs`): what a first
 * request that fails or goes away leaves for the next.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { keepSuccess } from "../src/internal/lazy.js"

describe("a lazily made route", () => {
  it.effect("is made once for every caller once made, concurrent callers included", () =>
    Effect.gen(function* () {
      let runs = 0
      const gate = yield* Deferred.make<void>()
      const get = yield* keepSuccess(
        Effect.zipRight(
          Deferred.await(gate),
          Effect.sync(() => ++runs)
        )
      )
      const waiting = yield* Effect.forkAll([get, get, get])
      yield* Deferred.succeed(gate, undefined)
      assert.deepStrictEqual(yield* Fiber.join(waiting), [1, 1, 1])
      assert.strictEqual(yield* get, 1)
      assert.strictEqual(runs, 1)
    })
  )

  it.effect("a first caller that goes away while it is made leaves it to the next, which makes it", () =>
    Effect.gen(function* () {
      let runs = 0
      const started = yield* Deferred.make<void>()
      const get = yield* keepSuccess(
        Effect.suspend(() => {
          runs++
          return runs === 1
            ? Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)
            : Effect.succeed("handler")
        })
      )
      const first = yield* Effect.fork(get)
      yield* Deferred.await(started)
      yield* Fiber.interrupt(first)
      assert.strictEqual(yield* get, "handler")
      assert.strictEqual(yield* get, "handler")
      assert.strictEqual(runs, 2)
    })
  )

  it.effect("a failed making is not kept: the next caller makes it again", () =>
    Effect.gen(function* () {
      let runs = 0
      const get = yield* keepSuccess(
        Effect.suspend(() => (++runs === 1 ? Effect.fail("module not loaded") : Effect.succeed("handler")))
      )
      const failed = yield* Effect.exit(get)
      assert.isTrue(Exit.isFailure(failed))
      assert.strictEqual(yield* get, "handler")
      assert.strictEqual(yield* get, "handler")
      assert.strictEqual(runs, 2)
    })
  )
})
