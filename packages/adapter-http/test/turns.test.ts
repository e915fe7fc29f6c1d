/**
 * The turns per account that uploads (`uploadConcurrencyPerAccount`) and JSON bodies
 * (`bodyConcurrencyPerAccount`) are read in: at most so many of one account's at once,
 * the rest waiting in order, none of them holding another account's; a waiter that is
 * interrupted leaves the queue, and no turn is lost whichever way an effect ends.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Ids } from "@zhongbao/core"
import { Deferred, Effect, Fiber } from "effect"
import { accountTurns } from "../src/internal/body.js"

const a = "account-a" as Ids.AccountId
const b = "account-b" as Ids.AccountId

/** An effect that records its start in `started` and runs until `gate` opens. */
const held = (started: Array<string>, name: string, gate: Deferred.Deferred<void>) =>
  Effect.zipRight(
    Effect.sync(() => started.push(name)),
    Deferred.await(gate)
  )

describe("turns per account", () => {
  it.effect(
    "an account runs at most its turns at once, the rest in the order they came; another account's run meanwhile",
    () =>
      Effect.gen(function* () {
        const turn = yield* accountTurns(2)
        const started: Array<string> = []
        const gates = yield* Effect.all(Array.from({ length: 4 }, () => Deferred.make<void>()))
        const fibers = yield* Effect.forEach(["a1", "a2", "a3", "a4"], (name, i) =>
          Effect.fork(turn(a)(held(started, name, gates[i]!)))
        )
        const other = yield* Deferred.make<void>()
        const fromB = yield* Effect.fork(turn(b)(held(started, "b1", other)))
        yield* Effect.yieldNow({ priority: 1 })
        assert.deepStrictEqual(started, ["a1", "a2", "b1"])
        yield* Deferred.succeed(gates[1]!, undefined)
        yield* Fiber.join(fibers[1]!)
        yield* Effect.yieldNow({ priority: 1 })
        assert.deepStrictEqual(started, ["a1", "a2", "b1", "a3"], "a freed turn goes to the first waiting")
        for (const gate of [gates[0]!, gates[2]!, gates[3]!, other]) yield* Deferred.succeed(gate, undefined)
        yield* Fiber.joinAll([...fibers, fromB])
        assert.deepStrictEqual(started, ["a1", "a2", "b1", "a3", "a4"])
      })
  )

  it.effect("a waiting effect that is interrupted leaves the queue; one that fails gives its turn back", () =>
    Effect.gen(function* () {
      const turn = yield* accountTurns(1)
      const started: Array<string> = []
      const first = yield* Deferred.make<void>()
      const running = yield* Effect.fork(turn(a)(held(started, "a1", first)))
      const never = yield* Deferred.make<void>()
      const leaving = yield* Effect.fork(turn(a)(held(started, "a2", never)))
      const last = yield* Deferred.make<void>()
      const waiting = yield* Effect.fork(turn(a)(held(started, "a3", last)))
      yield* Effect.yieldNow({ priority: 1 })
      yield* Fiber.interrupt(leaving)
      yield* Deferred.succeed(first, undefined)
      yield* Fiber.join(running)
      yield* Effect.yieldNow({ priority: 1 })
      assert.deepStrictEqual(started, ["a1", "a3"], "the interrupted waiter never ran and held no turn")
      yield* Deferred.succeed(last, undefined)
      yield* Fiber.join(waiting)
      const failed = yield* Effect.flip(turn(a)(Effect.fail("refused")))
      assert.strictEqual(failed, "refused")
      const again = yield* Deferred.make<void>()
      const after = yield* Effect.fork(turn(a)(held(started, "a4", again)))
      yield* Effect.yieldNow({ priority: 1 })
      assert.deepStrictEqual(started, ["a1", "a3", "a4"], "the failed effect gave its turn back")
      yield* Deferred.succeed(again, undefined)
      yield* Fiber.join(after)
    })
  )

  it.effect(
    "a waiter interrupted as its turn is handed to it passes the turn on: none is lost, however the two fall",
    () =>
      Effect.gen(function* () {
        const turn = yield* accountTurns(1)
        for (let round = 0; round < 50; round++) {
          const started: Array<string> = []
          const first = yield* Deferred.make<void>()
          const running = yield* Effect.fork(turn(a)(held(started, "a1", first)))
          const never = yield* Deferred.make<void>()
          const handed = yield* Effect.fork(turn(a)(held(started, "a2", never)))
          const last = yield* Deferred.make<void>()
          const next = yield* Effect.fork(turn(a)(held(started, "a3", last)))
          yield* Effect.yieldNow({ priority: 1 })
          yield* Deferred.succeed(first, undefined)
          // Interrupted at some point around its waking, varying with the round.
          for (let i = 0; i < round % 5; i++) yield* Effect.yieldNow()
          yield* Fiber.interrupt(handed)
          yield* Fiber.join(running)
          yield* Deferred.succeed(last, undefined)
          yield* Fiber.join(next)
          assert.include(started, "a3", `round ${round}: the next waiter ran`)
        }
        const gates = yield* Effect.all([Deferred.make<void>(), Deferred.make<void>()])
        const started: Array<string> = []
        const one = yield* Effect.fork(turn(a)(held(started, "x", gates[0])))
        const two = yield* Effect.fork(turn(a)(held(started, "y", gates[1])))
        yield* Effect.yieldNow({ priority: 1 })
        assert.deepStrictEqual(started, ["x"], "still one turn: none was lost, none was added")
        yield* Deferred.succeed(gates[0], undefined)
        yield* Deferred.succeed(gates[1], undefined)
        yield* Fiber.joinAll([one, two])
      })
  )

  it.effect(
    "an account whose effects have all ended, however they ended, holds no entry: turns for many accounts keep no memory",
    () =>
      Effect.gen(function* () {
        const turn = yield* accountTurns(1)
        const accounts = Array.from({ length: 100 }, (_, i) => `account-${i}` as Ids.AccountId)
        const gates = yield* Effect.all(accounts.map(() => Deferred.make<void>()))
        const running = yield* Effect.forEach(accounts, (account, i) =>
          Effect.fork(turn(account)(Deferred.await(gates[i]!)))
        )
        // Each account has one more waiting: every fourth fails, every fourth is interrupted.
        const waiting = yield* Effect.forEach(accounts, (account, i) =>
          Effect.fork(Effect.exit(turn(account)(i % 4 === 1 ? Effect.fail("refused") : Effect.void)))
        )
        yield* Effect.yieldNow({ priority: 1 })
        assert.strictEqual(turn.accounts(), 100)
        yield* Effect.forEach(waiting, (fiber, i) => (i % 4 === 2 ? Fiber.interrupt(fiber) : Effect.void))
        yield* Effect.forEach(gates, (gate) => Deferred.succeed(gate, undefined))
        yield* Fiber.joinAll(running)
        yield* Effect.forEach(waiting, Fiber.await)
        assert.strictEqual(turn.accounts(), 0, "every account's entry dropped")
        yield* turn(a)(Effect.void)
        assert.strictEqual(turn.accounts(), 0)
      })
  )
})
