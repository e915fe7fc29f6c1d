import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { Expect } from "../src/index.js"

describe("Expect.failureOf", () => {
  it.effect("returns what the effect failed with", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* Expect.failureOf(Effect.fail({ _tag: "Denied", rule: "R2" })), {
        _tag: "Denied",
        rule: "R2"
      })
    })
  )

  it.effect("a success dies with an Error that names what came back, not with the value itself", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Expect.failureOf(Effect.succeed({ id: "d-1", form: { title: "x" } })))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isSuccess(exit)) return
      const defect = Cause.squash(exit.cause)
      assert.instanceOf(defect, Error)
      assert.strictEqual(
        (defect as Error).message,
        "expected a failure, got a success (object with id, form)"
      )
      const tagged = yield* Effect.exit(Expect.failureOf(Effect.succeed({ _tag: "Demand" })))
      assert.strictEqual(
        Exit.isFailure(tagged) ? (Cause.squash(tagged.cause) as Error).message : "",
        "expected a failure, got a success (Demand)"
      )
    })
  )
})
