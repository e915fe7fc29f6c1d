/**
 * (Accounts are compared as `idOf(…)`, the account of a found credential or `null`:
 * chai's deep equality takes `Option.none()` for equal to any `Option.some(…)`.)
 *
 * Signed sessions: a token minted on one instance (or by the host portal with the
 * shared secret) is accepted on another; a forged, expired or revoked one is not.
 */
import { createHmac } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import type { Ids } from "@zhongbao/core"
import { HttpServerRequest } from "@effect/platform"
import { Context, Effect, Layer, Option, Redacted, TestClock } from "effect"
import { Authentication } from "../src/index.js"

const secret = Redacted.make("a-secret-of-at-least-thirty-two-characters")
const account = "0193a3c0-0000-7000-8000-000000000001" as Ids.AccountId
const idOf = (found: Option.Option<Ids.AccountId | Authentication.Credential>) =>
  Option.getOrNull(Option.map(found, (c) => (typeof c === "string" ? c : c.accountId)))
const lookup = (token: string) =>
  Effect.flatMap(Authentication.Sessions, (sessions) => sessions.lookup(Redacted.make(token)))
const signed = (options: Parameters<typeof Authentication.layerSessionsSigned>[0] = { secret }) =>
  Authentication.layerSessionsSigned(options)

describe("Authentication.layerSessionsSigned", () => {
  it.effect("a token issued by one instance is accepted by another holding the secret", () =>
    Effect.gen(function* () {
      const token = yield* Effect.flatMap(Authentication.Sessions, (s) => s.issue(account)).pipe(
        Effect.provide(signed())
      )
      const found = yield* lookup(Redacted.value(token)).pipe(Effect.provide(signed()))
      assert.strictEqual(idOf(found), account)
      const portal = Authentication.signSession(secret, account, Date.now() + 60_000)
      assert.strictEqual(idOf(Authentication.verifySession(secret, portal, Date.now())), account)
    })
  )

  it("a secret under 32 characters (an empty variable, say) signs nothing and verifies nothing, as the layer refuses it", () => {
    for (const weak of ["", "x".repeat(31)].map((s) => Redacted.make(s))) {
      assert.throws(() => Authentication.signSession(weak, account, Date.now() + 60_000), RangeError, /32/)
    }
    const payload = `zb2.${Buffer.from(account).toString("base64url")}.${(Date.now() + 60_000).toString(36)}`
    const signedWithEmpty = `${payload}.${createHmac("sha256", "").update(payload).digest("base64url")}`
    assert.isTrue(Option.isNone(Authentication.verifySession(Redacted.make(""), signedWithEmpty, Date.now())))
  })

  it.effect("a token signed with another secret, or altered, is refused", () =>
    Effect.gen(function* () {
      const other = Authentication.signSession(
        Redacted.make("another-secret-of-thirty-two-characters!"),
        account,
        Date.now() + 60_000
      )
      assert.isTrue(Option.isNone(yield* lookup(other)))
      const good = Authentication.signSession(secret, account, Date.now() + 60_000)
      const [prefix, id, ...rest] = good.split(".")
      const otherId = Buffer.from("0193a3c0-0000-7000-8000-000000000002").toString("base64url")
      assert.notStrictEqual(id, otherId)
      const altered = [prefix, otherId, ...rest].join(".")
      assert.isTrue(Option.isNone(yield* lookup(altered)))
      assert.isTrue(Option.isNone(yield* lookup(`${good}x`)))
      assert.isTrue(Option.isNone(yield* lookup("zb1.not-an-id.zz.abc")))
    }).pipe(Effect.provide(signed()))
  )

  it.effect(
    "any account id fits a token: ids with `.`, `@`, `+` or Chinese are issued and accepted; tokens of the first format (the id as it is) still are",
    () =>
      Effect.gen(function* () {
        const sessions = yield* Authentication.Sessions
        for (const id of [
          "ops.root",
          "alice@example.com",
          "a+b/c=d",
          "运营.管理员",
          "x".repeat(64)
        ] as Array<Ids.AccountId>) {
          const token = yield* sessions.issue(id)
          assert.strictEqual(idOf(yield* sessions.lookup(token)), id, id)
          assert.strictEqual(idOf(yield* lookup(Redacted.value(token))), id, id)
        }
        const payload = `zb1.${account}.${(Date.now() + 60_000).toString(36)}`
        const legacy = `${payload}.${createHmac("sha256", Redacted.value(secret)).update(payload).digest("base64url")}`
        assert.strictEqual(idOf(yield* lookup(legacy)), account)
      }).pipe(Effect.provide(signed()))
  )

  it.effect("a token expires after its time to live, and a revoked one is refused", () =>
    Effect.gen(function* () {
      const sessions = yield* Authentication.Sessions
      const token = yield* sessions.issue(account, { ttlMillis: 1_000 })
      assert.strictEqual(idOf(yield* sessions.lookup(token)), account)
      yield* TestClock.adjust("1 second")
      assert.isTrue(Option.isNone(yield* sessions.lookup(token)))
      const second = yield* sessions.issue(account)
      yield* sessions.revoke(second)
      assert.isTrue(Option.isNone(yield* sessions.lookup(second)))
    }).pipe(Effect.provide(signed()))
  )

  it.effect(
    "§3: a token says when it was issued (a reactivated account does not act on an older one); one the host mints carries the instant it gives; a token of the second format, which does not say, counts as issued at the epoch; an altered issue time is refused",
    () =>
      Effect.gen(function* () {
        const sessions = yield* Authentication.Sessions
        yield* TestClock.setTime(1_780_000_000_123)
        const token = yield* sessions.issue(account)
        assert.deepStrictEqual(Option.getOrNull(yield* sessions.lookup(token)), {
          accountId: account,
          issuedAt: 1_780_000_000_123
        })
        const minted = Authentication.signSession(secret, account, 1_780_000_060_000, 1_779_999_990_000)
        assert.deepStrictEqual(Option.getOrNull(yield* lookup(minted)), {
          accountId: account,
          issuedAt: 1_779_999_990_000
        })
        const [prefix, id, issued, ...rest] = minted.split(".")
        assert.strictEqual(prefix, "zb3")
        const later = [prefix, id, (Number.parseInt(issued!, 36) + 60_000).toString(36), ...rest].join(".")
        assert.isTrue(Option.isNone(yield* lookup(later)), "an issue time moved later")
        const payload = `zb2.${Buffer.from(account).toString("base64url")}.${(1_780_000_060_000).toString(36)}`
        const second = `${payload}.${createHmac("sha256", Redacted.value(secret)).update(payload).digest("base64url")}`
        assert.deepStrictEqual(
          Option.getOrNull(yield* lookup(second)),
          { accountId: account, issuedAt: 0 },
          "as issued before any reactivation"
        )
      }).pipe(Effect.provide(signed()))
  )

  it.effect("a secret shorter than 32 characters is refused at start; 32 are enough", () =>
    Effect.gen(function* () {
      for (const [text, accepted] of [
        ["short", false],
        ["x".repeat(31), false],
        ["x".repeat(32), true]
      ] as const) {
        const exit = yield* Effect.exit(
          Effect.provide(Authentication.Sessions, signed({ secret: Redacted.make(text) }))
        )
        assert.strictEqual(exit._tag === "Success", accepted, `${text.length} characters`)
      }
    })
  )
})

describe("the in-memory stores of sessions", () => {
  const held = Effect.map(Authentication.Sessions, (sessions) => Authentication.entriesHeld.get(sessions)!())

  it.effect("§3: layerSessionsMemory: a session says when it was issued", () =>
    Effect.gen(function* () {
      const sessions = yield* Authentication.Sessions
      yield* TestClock.setTime(1_780_000_000_123)
      const token = yield* sessions.issue(account)
      yield* TestClock.adjust(5_000)
      assert.deepStrictEqual(Option.getOrNull(yield* sessions.lookup(token)), {
        accountId: account,
        issuedAt: 1_780_000_000_123
      })
    }).pipe(Effect.provide(Authentication.layerSessionsMemory()))
  )

  it.effect("layerSessionsMemory: a session ends at its expiry instant", () =>
    Effect.gen(function* () {
      const sessions = yield* Authentication.Sessions
      const token = yield* sessions.issue(account, { ttlMillis: 1_000 })
      yield* TestClock.adjust(999)
      assert.strictEqual(idOf(yield* sessions.lookup(token)), account, "a millisecond before")
      yield* TestClock.adjust(1)
      assert.isTrue(Option.isNone(yield* sessions.lookup(token)), "at its expiry")
    }).pipe(Effect.provide(Authentication.layerSessionsMemory()))
  )

  it.effect("layerSessionsMemory: expired sessions are dropped as new ones are issued; live ones stay", () =>
    Effect.gen(function* () {
      const sessions = yield* Authentication.Sessions
      const expiring = yield* Effect.forEach(Array.from({ length: 1_500 }), () =>
        sessions.issue(account, { ttlMillis: 1_000 })
      )
      const lasting = yield* sessions.issue(account, { ttlMillis: 60_000 })
      yield* TestClock.adjust(2_000)
      for (let i = 0; i < 600; i++) yield* sessions.issue(account, { ttlMillis: 60_000 })
      const size = yield* held
      assert.isBelow(size, 1_000, `the 1,500 expired sessions are gone (${size} held)`)
      assert.isAtLeast(size, 601, "the live ones are kept")
      assert.strictEqual(idOf(yield* sessions.lookup(lasting)), account)
      assert.isTrue(Option.isNone(yield* sessions.lookup(expiring[0]!)))
    }).pipe(Effect.provide(Authentication.layerSessionsMemory()))
  )

  it.effect("layerSessionsSigned: the revocations of expired tokens are dropped as new ones are made", () =>
    Effect.gen(function* () {
      const sessions = yield* Authentication.Sessions
      const revoke = (ttlMillis: number) =>
        Effect.flatMap(sessions.issue(account, { ttlMillis }), (token) =>
          Effect.as(sessions.revoke(token), token)
        )
      // A signed token is its account and expiry: distinct expiries make distinct tokens.
      yield* Effect.forEach(Array.from({ length: 1_500 }), (_, i) => revoke(1_000 + i))
      const lasting = yield* revoke(60_000)
      yield* TestClock.adjust(3_000)
      for (let i = 0; i < 600; i++) yield* revoke(60_001 + i)
      const size = yield* held
      assert.isBelow(size, 1_000, `the 1,500 expired revocations are gone (${size} held)`)
      assert.isAtLeast(size, 601, "the live ones are kept")
      assert.isTrue(Option.isNone(yield* sessions.lookup(lasting)), "a live revoked token stays refused")
    }).pipe(Effect.provide(signed()))
  )

  it.effect("layerSessionsSigned: revoking a forged, altered or expired token keeps nothing", () =>
    Effect.gen(function* () {
      const sessions = yield* Authentication.Sessions
      const expired = yield* sessions.issue(account, { ttlMillis: 1_000 })
      yield* TestClock.adjust(2_000)
      const good = Redacted.value(yield* sessions.issue(account))
      for (const token of [
        "garbage",
        "zb.x.y.z",
        `${good}x`,
        Redacted.value(expired),
        ...Array.from({ length: 100 }, (_, i) => `zb.${i}.zzzz.forged`)
      ]) {
        yield* sessions.revoke(Redacted.make(token))
      }
      assert.strictEqual(yield* held, 0)
    }).pipe(Effect.provide(signed()))
  )
})

describe("Authentication.layerCookie", () => {
  /** How many tokens the sessions were asked to look up. */
  const looked = { count: 0 }
  it.effect(
    "reads the session token from the cookie of the name it is given, and only from it; a value not shaped as a token is auth.invalid",
    () =>
      Effect.gen(function* () {
        const sessions = yield* Authentication.Sessions
        const token = Redacted.value(yield* sessions.issue(account))
        const resolve = (cookie: string) =>
          Effect.flatMap(Authentication.AccountResolver, (resolver) =>
            resolver.resolve(
              HttpServerRequest.fromWeb(new Request("http://localhost/", { headers: { cookie } }))
            )
          )
        assert.strictEqual(idOf(yield* resolve(`other=1; zb_session=${token}`)), account)
        assert.isTrue(Option.isNone(yield* resolve(`session=${token}`)), "another cookie's name")
        assert.isTrue(Option.isNone(yield* resolve("other=1")), "no cookie of that name: anonymous")
        const before = looked.count
        for (const value of ["a".repeat(513), "a%20b", "未知"]) {
          const refused = yield* Effect.flip(resolve(`zb_session=${encodeURIComponent(value)}`))
          assert.deepInclude(refused, { _tag: "Unauthorized", code: "auth.invalid" }, "not a token's shape")
        }
        assert.strictEqual(looked.count, before, "refused by its shape, before any lookup")
        const unknown = yield* Effect.flip(resolve(`zb_session=${"a".repeat(512)}`))
        assert.deepInclude(unknown, { _tag: "Unauthorized", code: "auth.invalid" }, "a token no session has")
        assert.strictEqual(looked.count, before + 1, "a token of the shape is looked up")
      }).pipe(
        Effect.provide(
          Authentication.layerCookie("zb_session").pipe(
            Layer.provideMerge(
              Layer.map(Authentication.layerSessionsMemory(), (context) => {
                const sessions = Context.get(context, Authentication.Sessions)
                return Context.add(context, Authentication.Sessions, {
                  ...sessions,
                  lookup: (token) => {
                    looked.count += 1
                    return sessions.lookup(token)
                  }
                })
              })
            )
          )
        )
      )
  )
})

describe("Authentication.layerHeader", () => {
  it.effect(
    "reads the account id from the gateway's header, its name in any case; no header is anonymous; a value that cannot be an account id is auth.invalid",
    () =>
      Effect.gen(function* () {
        const resolve = (headers: Record<string, string>) =>
          Effect.flatMap(Authentication.AccountResolver, (resolver) =>
            resolver.resolve(HttpServerRequest.fromWeb(new Request("http://localhost/", { headers })))
          )
        assert.strictEqual(idOf(yield* resolve({ "x-zhongbao-account": account })), account)
        assert.strictEqual(idOf(yield* resolve({ "X-ZHONGBAO-ACCOUNT": account })), account)
        assert.isTrue(Option.isNone(yield* resolve({})), "no header: anonymous")
        assert.isTrue(Option.isNone(yield* resolve({ "x-account": account })), "another header's name")
        for (const value of ["", "a".repeat(65)]) {
          const refused = yield* Effect.flip(resolve({ "x-zhongbao-account": value }))
          assert.deepInclude(refused, { _tag: "Unauthorized", code: "auth.invalid" }, JSON.stringify(value))
        }
      }).pipe(Effect.provide(Authentication.layerHeader("X-Zhongbao-Account")))
  )
})
