/**
 * One suite for every `RateLimit.RateLimiter` this repository ships: counted in
 * memory (`RateLimit.layerMemory`) and shared in PostgreSQL (adapter-pg's
 * `PgRateLimit`), on the server of `DATABASE_URL` when it is set and on an embedded
 * PGlite otherwise. Each test uses keys of its own; the clock is effect's `TestClock`.
 */
import { SqlClient } from "@effect/sql"
import { layer } from "@effect/vitest"
import { PgDatabase, PgPersistence, PgRateLimit } from "@zhongbao/adapter-pg"
import { Effect, Layer, Redacted, TestClock } from "effect"
import { assert } from "vitest"
import { RateLimit } from "../src/index.js"

let keys = 0
/** A key no other test uses. */
const freshKey = (name: string) => `${name}-${process.pid}-${keys++}`

const limiterSuite = (name: string, limiter: Layer.Layer<RateLimit.RateLimiter, unknown>) =>
  layer(limiter, { timeout: 60_000 })(`RateLimiter: ${name}`, (it) => {
    const two = { limit: 2, windowMillis: 1_000 }

    /** How many requests the key's window allows now, taking them all (at most 10). */
    const left = (limiter: RateLimit.RateLimiter["Type"], key: string, policy = two) =>
      Effect.gen(function* () {
        let n = 0
        while (n < 10 && (yield* limiter.consume(key, policy)).allowed) n++
        return n
      })

    it.effect(
      "rate limits: a window allows its limit, then refuses with the time to its end; it ends exactly windowMillis after it opened",
      () =>
        Effect.gen(function* () {
          const limiter = yield* RateLimit.RateLimiter
          const key = freshKey("window")
          const opened = yield* limiter.consume(key, two)
          assert.deepInclude(opened, { allowed: true, retryAfterMillis: 0 })
          if (opened.windowStart !== undefined)
            assert.strictEqual(opened.windowStart, 0, "the window opened now")
          yield* TestClock.adjust("300 millis")
          assert.isTrue((yield* limiter.consume(key, two)).allowed)
          assert.deepInclude(yield* limiter.consume(key, two), { allowed: false, retryAfterMillis: 700 })
          yield* TestClock.adjust("699 millis")
          assert.deepInclude(yield* limiter.consume(key, two), { allowed: false, retryAfterMillis: 1 })
          yield* TestClock.adjust("1 millis")
          assert.strictEqual(yield* left(limiter, key), 2, "at its end a new window opens, its limit whole")
          assert.strictEqual(yield* left(limiter, freshKey("other")), 2, "each key counts on its own")
        })
    )

    it.effect(
      "rate limits: refund gives back a request to the window that counted it, at most the limit's worth per window, never below zero, never to a window opened since",
      () =>
        Effect.gen(function* () {
          const limiter = yield* RateLimit.RateLimiter
          const refund = (key: string, decision: RateLimit.Decision, policy = two) =>
            limiter.refund!(key, policy, decision)
          const a = freshKey("refund")
          const first = yield* limiter.consume(a, two)
          const second = yield* limiter.consume(a, two)
          yield* refund(a, second)
          assert.strictEqual(yield* left(limiter, a), 1, "one request given back, one taken again")
          yield* refund(a, first)
          assert.strictEqual(yield* left(limiter, a), 1, "after refused requests, a refund frees one request")
          yield* refund(a, first)
          assert.strictEqual(yield* left(limiter, a), 0, "two refunds in a window of two: no third")

          const three = { limit: 3, windowMillis: 1_000 }
          const b = freshKey("below")
          const only = yield* limiter.consume(b, three)
          yield* refund(b, only, three)
          yield* refund(b, only, three)
          assert.strictEqual(
            yield* left(limiter, b, three),
            3,
            "more given back than taken: the window empty, not below"
          )

          const unknown = freshKey("unknown")
          yield* refund(unknown, first)
          assert.strictEqual(yield* left(limiter, unknown), 2, "a refund to no window opens none")

          const c = freshKey("later")
          const early = yield* limiter.consume(c, two)
          yield* TestClock.adjust("1000 millis")
          yield* limiter.consume(c, two)
          yield* limiter.consume(c, two)
          yield* refund(c, early)
          assert.isFalse((yield* limiter.consume(c, two)).allowed, "the window opened since is not credited")
          yield* refund(c, { allowed: true, retryAfterMillis: 0 })
          assert.isFalse(
            (yield* limiter.consume(c, two)).allowed,
            "a decision naming no window is not refunded"
          )
        })
    )

    it.effect('rate limits: a limit beyond 32 bits (a host\'s "unlimited") counts as any other', () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimit.RateLimiter
        const key = freshKey("large")
        const large = { limit: 10_000_000_000, windowMillis: 1_000 }
        const decision = yield* limiter.consume(key, large)
        assert.isTrue(decision.allowed)
        yield* limiter.refund!(key, large, decision)
        assert.isTrue((yield* limiter.consume(key, large)).allowed)
      })
    )

    it.effect("rate limits: 50 concurrent requests on a bucket of 10: exactly 10 allowed", () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimit.RateLimiter
        const key = freshKey("concurrent")
        const policy = { limit: 10, windowMillis: 60_000 }
        const decisions = yield* Effect.all(
          Array.from({ length: 50 }, () => limiter.consume(key, policy)),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(decisions.filter((d) => d.allowed).length, 10)
        assert.isTrue(decisions.every((d) => d.allowed || d.retryAfterMillis === 60_000))
      })
    )
  })

limiterSuite("memory", RateLimit.layerMemory)

const url = process.env.DATABASE_URL
const schema = `limit_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`
const client =
  url === undefined
    ? PgDatabase.layerEmbedded({ maxConnections: 10 })
    : PgDatabase.layerPool({ url: Redacted.make(url), maxConnections: 10 })
/** The schema migrated (by the persistence layer), dropped when the suite ends. */
const migrated = Layer.merge(
  PgPersistence.layer({ schema }),
  Layer.scopedDiscard(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.addFinalizer(() => Effect.ignore(sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)))
    )
  )
)
limiterSuite(
  url === undefined ? "PostgreSQL (PgRateLimit, on PGlite)" : "PostgreSQL (PgRateLimit)",
  Layer.effect(RateLimit.RateLimiter, PgRateLimit.make({ schema })).pipe(
    Layer.provide(migrated),
    Layer.provide(client)
  )
)
