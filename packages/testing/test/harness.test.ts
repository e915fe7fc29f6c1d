import { assert, describe, it } from "@effect/vitest"
import { PersistenceMemory } from "@zhongbao/core"
import { Clock, DateTime, Effect, Either, FiberRef, Layer, Option } from "effect"
import { expectPages, lacks, makeHarness, none, start, succeeds } from "../src/internal/harness.js"

/** The memory store, built after a wait on effect's clock and released after another. */
const slow = Layer.unwrapScoped(
  Effect.gen(function* () {
    yield* Effect.sleep("20 millis")
    yield* Effect.addFinalizer(() => Effect.sleep("20 millis"))
    return PersistenceMemory.layerMemory
  })
)

describe("the conformance harness", () => {
  it.effect(
    "an adapter that waits on effect's clock while it is built or released is built on the live clock; the test's body runs at the suite's instant on the TestClock",
    () =>
      Effect.gen(function* () {
        const h = makeHarness(slow, 5_000)
        const now = yield* h.run(Clock.currentTimeMillis)
        assert.strictEqual(now, DateTime.toEpochMillis(start))
      }),
    5_000
  )

  it.effect("what the adapter's layer sets in the fiber (tracing on or off) reaches the test's body", () =>
    Effect.gen(function* () {
      const outside = yield* FiberRef.get(FiberRef.currentTracerEnabled)
      const flipped = Layer.merge(PersistenceMemory.layerMemory, Layer.setTracerEnabled(!outside))
      const inside = yield* makeHarness(flipped, 5_000).run(FiberRef.get(FiberRef.currentTracerEnabled))
      assert.strictEqual(inside, !outside)
    })
  )

  it.effect("a test of an optional capability the adapter lacks is skipped, naming it", () =>
    Effect.gen(function* () {
      const notes: Array<string | undefined> = []
      const task = { result: {} as { note?: string | undefined } }
      yield* lacks(makeHarness(PersistenceMemory.layerMemory, 1_000), "Journal", {
        skip: (note) => void notes.push(note),
        task
      })
      assert.deepStrictEqual(notes, ["the adapter lacks the optional capability Journal"])
      assert.strictEqual(task.result.note, notes[0], "the note is on the task, where vitest reports it")
    })
  )

  it.effect("with requireOptional, a test of an optional capability the adapter lacks fails, naming it", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(
        Effect.catchAllDefect(
          lacks(makeHarness(PersistenceMemory.layerMemory, 1_000, true), "Journal", { skip: () => {} }),
          (defect) => Effect.fail(defect)
        )
      )
      assert.isTrue(Either.isLeft(result))
      assert.include(
        String((result as Either.Left<unknown, void>).left),
        "lacks the optional capability Journal, which this suite requires"
      )
    })
  )

  it("a row found where none was expected is shown with its bytes counted, not listed", () => {
    assert.throws(
      () => none(Option.some({ id: "f-1", bytes: new Uint8Array(2048) }), "the file"),
      'the file: expected no row, found {"id":"f-1","bytes":"<2048 bytes>"}'
    )
  })

  it.effect("a write that must succeed fails the test under its label, with the port's error", () =>
    Effect.gen(function* () {
      const defect = yield* Effect.flip(
        Effect.sandbox(
          succeeds(Effect.fail({ _tag: "UniqueViolation", key: "k" }), "keys are case-sensitive")
        )
      )
      assert.include(
        String(defect),
        'keys are case-sensitive: expected a success, got {"_tag":"UniqueViolation","key":"k"}'
      )
    })
  )

  it.effect("a list out of order names the order expected and shows the keys it read", () =>
    Effect.gen(function* () {
      const rows = [
        { id: "a", at: 1 },
        { id: "b", at: 2 }
      ]
      const defect = yield* Effect.flip(
        Effect.sandbox(
          expectPages(
            "members",
            () => Effect.succeed(rows),
            (r) => [r.at, r.id],
            true,
            rows,
            (r) => r.id
          )
        )
      )
      assert.include(
        String(defect),
        "members: rows out of order: expected descending by the sort key, then by id"
      )
      assert.include(String(defect), '[1,"a"] [2,"b"]')
    })
  )
})
