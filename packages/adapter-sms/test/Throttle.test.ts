import { assert, describe, it } from "@effect/vitest"
import { Throttle } from "@zhongbao/adapter-sms"
import { SmsSender } from "@zhongbao/core"
import { ConfigProvider, Effect, TestClock } from "effect"
import * as Logs from "./support/Logs.js"

const take = (throttle: Throttle.Throttle, key = "+8613812345678") => throttle.take(key)

const request = (phone: string): SmsSender.SmsRequest => ({
  messageId: "m",
  dedupeKey: "d",
  phone,
  templateId: "T",
  params: {}
})

describe("Throttle", () => {
  it.effect(
    "R64: one per 35 seconds per number (Tencent's 30 s with a margin); the answer says when the slot frees",
    () =>
      Effect.gen(function* () {
        const throttle = yield* Throttle.make()
        assert.strictEqual((yield* take(throttle))._tag, "Granted")
        assert.strictEqual((yield* take(throttle, "+8613912345678"))._tag, "Granted")
        yield* TestClock.adjust("10 seconds")
        assert.deepStrictEqual(yield* take(throttle), { _tag: "Denied", retryAfterMillis: 25_000 })
        yield* TestClock.adjust("20 seconds")
        // Tencent's 30 s have passed: not yet ours
        assert.deepStrictEqual(yield* take(throttle), { _tag: "Denied", retryAfterMillis: 5_000 })
        yield* TestClock.adjust("5 seconds")
        assert.strictEqual((yield* take(throttle))._tag, "Granted")
      })
  )

  it.effect("R64: four per hour and nine per day by default, below the providers' defaults", () =>
    Effect.gen(function* () {
      const throttle = yield* Throttle.make()
      for (let i = 0; i < 4; i++) {
        assert.strictEqual((yield* take(throttle))._tag, "Granted")
        yield* TestClock.adjust("1 minute")
      }
      // the first of the four leaves the hour 56 minutes from now
      assert.deepStrictEqual(yield* take(throttle), { _tag: "Denied", retryAfterMillis: 56 * 60_000 })
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("1 hour")
        assert.strictEqual((yield* take(throttle))._tag, "Granted")
      }
      yield* TestClock.adjust("1 hour")
      const denied = yield* take(throttle)
      assert.strictEqual(denied._tag, "Denied")
      // nine in the last 24 hours: wait until the first leaves the day
      assert.strictEqual(
        denied._tag === "Denied" ? denied.retryAfterMillis : 0,
        24 * 3_600_000 - (4 + 6 * 60) * 60_000
      )
    })
  )

  it.effect(
    "R64: the sweep every 1,024 takes, which forgets numbers past the longest window, forgets none still inside one",
    () =>
      Effect.gen(function* () {
        const throttle = yield* Throttle.make({ windows: [{ limit: 1, windowMillis: 3_600_000 }] })
        const old = "+8613800000001"
        const recent = "+8613800000002"
        assert.strictEqual((yield* take(throttle, old))._tag, "Granted")
        yield* TestClock.adjust("2 hours")
        assert.strictEqual((yield* take(throttle, recent))._tag, "Granted")
        yield* TestClock.adjust("10 minutes")
        // 1,022 other numbers: the 1,024th take sweeps, and the next takes follow it.
        for (let i = 0; i < 1_022; i++) {
          assert.strictEqual((yield* take(throttle, `+86139${String(i).padStart(8, "0")}`))._tag, "Granted")
        }
        assert.deepStrictEqual(yield* take(throttle, recent), { _tag: "Denied", retryAfterMillis: 3_000_000 })
        assert.strictEqual((yield* take(throttle, old))._tag, "Granted")
        assert.strictEqual(
          (yield* take(throttle, "+8613900000000"))._tag,
          "Denied",
          "a number texted just before the sweep"
        )
      })
  )

  it.effect("R64: a released slot is given back", () =>
    Effect.gen(function* () {
      const throttle = yield* Throttle.make()
      const first = yield* take(throttle)
      assert.strictEqual(first._tag, "Granted")
      if (first._tag === "Granted") yield* first.release
      assert.strictEqual((yield* take(throttle))._tag, "Granted")
    })
  )

  it.effect("R64: no windows, no throttle", () =>
    Effect.gen(function* () {
      const throttle = yield* Throttle.make({ windows: [] })
      for (let i = 0; i < 100; i++) assert.strictEqual((yield* take(throttle))._tag, "Granted")
    })
  )

  it.effect(
    "R64: wrap keys numbers in E.164 and answers RetryLater, not attempted, without calling the sender; its debug line has the result and code",
    () => {
      const logs = Logs.capture()
      return Effect.gen(function* () {
        const memory = SmsSender.makeMemory()
        const sender = Throttle.wrap(yield* Throttle.make())(memory.sender)
        assert.strictEqual((yield* sender.send(request("+8613812345678")))._tag, "Sent")
        const second = yield* sender.send(request("138 1234 5678"))
        assert.deepStrictEqual(
          second,
          SmsSender.SendResult.RetryLater({
            reason: "已限流：本发送方对该号码的发送频率已达上限，未调用服务商",
            code: "sender.throttled",
            retryAfterMillis: 35_000,
            attempted: false
          })
        )
        assert.strictEqual(memory.log.requests.length, 1)
        const throttled = logs.lines
          .map((line) => JSON.parse(line) as { level: string; message: Array<unknown> })
          .filter((line) => line.message[0] === "sms throttled")
        assert.deepStrictEqual(
          throttled.map((line) => [line.level, line.message[1]]),
          [
            [
              "DEBUG",
              {
                to: "138****5678",
                templateId: "T",
                messageId: "m",
                result: "RetryLater",
                code: "sender.throttled",
                retryAfterMillis: 35_000
              }
            ]
          ]
        )
      }).pipe(Effect.provide(logs.layer))
    }
  )

  it.effect("R64: a permanent refusal gives the slot back", () =>
    Effect.gen(function* () {
      const memory = SmsSender.makeMemory({ permanentPhones: ["+8613812345678"] })
      const sender = Throttle.wrap(yield* Throttle.make())(memory.sender)
      assert.strictEqual((yield* sender.send(request("+8613812345678")))._tag, "Permanent")
      assert.strictEqual((yield* sender.send(request("+8613812345678")))._tag, "Permanent")
      assert.strictEqual(memory.log.requests.length, 2)
    })
  )

  it.effect("R64: configuration of the throttle; a refused value names its variable", () =>
    Effect.gen(function* () {
      const read = (entries: ReadonlyArray<[string, string]>) =>
        Effect.withConfigProvider(Throttle.config, ConfigProvider.fromMap(new Map(entries)))
      assert.deepStrictEqual(yield* read([]), Throttle.defaults)
      assert.deepStrictEqual(yield* read([["SMS_THROTTLE_ENABLED", "false"]]), { windows: [] })
      assert.deepStrictEqual((yield* read([["SMS_THROTTLE_PER_HOUR", "3"]])).windows[1], {
        limit: 3,
        windowMillis: 3_600_000
      })
      for (const name of ["SMS_THROTTLE_PER_30_SECONDS", "SMS_THROTTLE_PER_HOUR", "SMS_THROTTLE_PER_DAY"]) {
        const refused = yield* Effect.flip(read([[name, "0"]]))
        assert.strictEqual(String(refused), `(Invalid data at ${name}: "${name} must be a positive integer")`)
      }
    })
  )

  it.effect("R64: a window of no length or no limit is left out; the others still hold", () =>
    Effect.gen(function* () {
      const throttle = yield* Throttle.make({
        windows: [
          { limit: 0, windowMillis: 1_000 },
          { limit: 3, windowMillis: 0 },
          { limit: 1, windowMillis: 35_000 }
        ]
      })
      const first = yield* throttle.take("+8613812345678")
      assert.strictEqual(first._tag, "Granted")
      const second = yield* throttle.take("+8613812345678")
      assert.deepStrictEqual(second, { _tag: "Denied", retryAfterMillis: 35_000 })
    })
  )
})
