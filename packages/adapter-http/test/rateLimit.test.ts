import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { RateLimit } from "../src/index.js"

const policy = { limit: 1, windowMillis: 1_000 }

describe("RateLimit.layerMemory", () => {
  it.effect(
    "rate limits: the sweep of expired windows, once the map holds over 10,000, drops them from memory and keeps the live ones",
    () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimit.RateLimiter
        const held = () => RateLimit.windowsHeld.get(limiter)!()
        for (let i = 0; i < 10_000; i++) yield* limiter.consume(`early-${i}`, policy)
        yield* TestClock.adjust("500 millis")
        assert.isTrue((yield* limiter.consume("live", policy)).allowed, "the live window's first request")
        assert.strictEqual(held(), 10_001, "10,000 windows are not over 10,000: no sweep yet")
        yield* TestClock.adjust("500 millis")
        // 10,001 windows, the early ones ending exactly now: this request sweeps them.
        assert.isTrue((yield* limiter.consume("newcomer", policy)).allowed)
        assert.strictEqual(held(), 2, "the expired windows are dropped from memory, the live one kept")
        const live = yield* limiter.consume("live", policy)
        assert.isFalse(live.allowed, "a window still open survives the sweep, its count kept")
        assert.strictEqual(live.retryAfterMillis, 500)
        assert.isFalse((yield* limiter.consume("newcomer", policy)).allowed)
        assert.isTrue((yield* limiter.consume("early-0", policy)).allowed, "an expired window starts afresh")
      }).pipe(Effect.provide(RateLimit.layerMemory))
  )

  it.effect(
    "rate limits: after a sweep that found the windows live, the next waits until the map has doubled",
    () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimit.RateLimiter
        const held = () => RateLimit.windowsHeld.get(limiter)!()
        const long = { limit: 1, windowMillis: 60_000 }
        for (let i = 0; i <= 10_001; i++) yield* limiter.consume(`live-${i}`, long)
        // The 10,002nd request swept 10,001 live windows: the next sweep waits for over 20,002.
        assert.strictEqual(held(), 10_002)
        yield* TestClock.adjust("61 seconds")
        for (let i = 0; i < 10_000; i++) yield* limiter.consume(`later-${i}`, long)
        assert.strictEqual(held(), 20_002, "all expired, but 20,002 windows are not over twice 10,001")
        yield* limiter.consume("one-more", long)
        yield* limiter.consume("and-another", long)
        assert.strictEqual(held(), 10_002, "over 20,002: the 10,002 expired ones are dropped")
      }).pipe(Effect.provide(RateLimit.layerMemory))
  )
})

describe("RateLimit.defaults", () => {
  it("rate limits: 30 responses or revisions, 120 consultation messages, 120 SMS-sending commands, 60 uploads, 600 other writes per account and hour", () => {
    assert.deepStrictEqual(RateLimit.defaults, {
      responding: { limit: 30, windowMillis: 3_600_000 },
      consulting: { limit: 120, windowMillis: 3_600_000 },
      sms: { limit: 120, windowMillis: 3_600_000 },
      uploads: { limit: 60, windowMillis: 3_600_000 },
      writes: { limit: 600, windowMillis: 3_600_000 }
    })
  })
})
