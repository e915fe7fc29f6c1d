/**
 * Who is calling. The host portal owns the login: zhongbao only needs to know which
 * core account acts for a request. `Authentication` is the `HttpApiMiddleware` every
 * endpoint runs; it asks the {@link AccountResolver} port and provides the answer
 * as {@link CurrentAccount} — an `AccountId`, or `null` for an anonymous caller on
 * the public endpoints (hall, institutions, published demands, reward rounds,
 * settings). Endpoints that need an account answer `401` to an anonymous caller.
 *
 * A resolver answers "no credential" (`Option.none`, anonymous) or fails with
 * `Unauthorized` for a credential that is present but not valid, so a client with an
 * expired session learns it instead of silently reading as anonymous. With the
 * account it may say when the credential was issued ({@link Credential}): an account
 * an operator deactivated and made active again then does not act on a credential
 * from before (`401`), so deactivating an account ends its sessions for good.
 *
 * Resolvers shipped here:
 * - {@link layerBearer} (the default): `Authorization: Bearer <token>` looked up in the
 *   {@link Sessions} port; {@link layerSessionsMemory} keeps sessions in memory,
 *   {@link layerSessionsSigned} signs them with a secret shared by every instance.
 * - {@link layerCookie}: a session cookie looked up in the same port.
 * - {@link layerHeader}: a header set by a trusted gateway that has authenticated
 *   the user (only behind a gateway that strips the header from client requests).
 * - {@link make}: any function of the request (a JWT verified with the portal's key …).
 *
 * @since 0.1.0
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { type Errors, Ids, Member } from "@zhongbao/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Unauthorized } from "./ApiError.js"
import { Authentication, CurrentAccount } from "./internal/tags.js"

type AccountId = Ids.AccountId

/**
 * The middleware every endpoint runs ({@link Authentication}) and the account it
 * provides ({@link CurrentAccount}: an `AccountId`, `null` for an anonymous caller).
 *
 * @since 0.1.0
 * @category middleware
 */
export { Authentication, CurrentAccount }

/**
 * A valid credential: the account it names and, when known, when it was issued
 * (milliseconds since the epoch: a session's sign-in, a JWT's `iat` × 1000). An
 * account made active again after `issuedAt` does not act on it: the request is
 * answered `401` `auth.invalid`, and its user signs in again (§3, core's
 * `Member.credentialIssuedAt`, compared to the second). Without `issuedAt` nothing is
 * checked: the host then revokes a deactivated account's sessions itself. A
 * resolver or a session store may answer the bare account id instead.
 *
 * @since 0.1.0
 * @category models
 */
export interface Credential {
  readonly accountId: AccountId
  readonly issuedAt?: number | undefined
}

/**
 * The port a host portal implements to say which account acts for a request
 * (its id, or a {@link Credential} saying when it was issued too):
 * `none` for an anonymous request, `Unauthorized` for a credential that is present
 * but not valid. An `InfrastructureError` (session store down) answers `500`, or,
 * marked `unavailable: true` (the store out of reach), `503 store.unavailable` with
 * `Retry-After`, as a port of core's does.
 *
 * @since 0.1.0
 * @category ports
 */
export class AccountResolver extends Context.Tag("@zhongbao/adapter-http/AccountResolver")<
  AccountResolver,
  {
    readonly resolve: (
      request: HttpServerRequest.HttpServerRequest
    ) => Effect.Effect<Option.Option<AccountId | Credential>, Unauthorized | Errors.InfrastructureError>
  }
>() {}

/**
 * Sessions of the default resolvers: a token (from a bearer header or a cookie)
 * names an account until it expires or is revoked. The host portal issues a token
 * when its user signs in; zhongbao never sees a password. `lookup` answers the
 * session's {@link Credential} (the sessions shipped here say when it was issued),
 * or its bare account id.
 *
 * @since 0.1.0
 * @category ports
 */
export class Sessions extends Context.Tag("@zhongbao/adapter-http/Sessions")<
  Sessions,
  {
    readonly lookup: (
      token: Redacted.Redacted<string>
    ) => Effect.Effect<Option.Option<AccountId | Credential>, Errors.InfrastructureError>
    readonly issue: (
      accountId: AccountId,
      options?: { readonly ttlMillis?: number | undefined }
    ) => Effect.Effect<Redacted.Redacted<string>, Errors.InfrastructureError>
    readonly revoke: (token: Redacted.Redacted<string>) => Effect.Effect<void, Errors.InfrastructureError>
  }
>() {}

/**
 * The `Unauthorized` error (`401`, code `auth.invalid`) a resolver fails with when a
 * credential is present but not valid (an unknown or expired session, a malformed
 * token, a JWT with a bad signature). For a request without a credential, answer
 * `Option.none()` instead: the public endpoints then serve it anonymously.
 *
 * A resolver given to {@link make} fails with it:
 * `Effect.fail(Authentication.invalidCredential())`.
 *
 * @since 0.1.0
 * @category errors
 */
export const invalidCredential = () =>
  new Unauthorized({ code: "auth.invalid", message: "the credential presented is not valid" })

/** @internal */
export const accountRequired = () =>
  new Unauthorized({ code: "auth.required", message: "sign in: this needs an account" })

const tokenPattern = /^[A-Za-z0-9._~+/=-]{1,512}$/

const lookupToken = (sessions: Sessions["Type"], token: string | undefined) =>
  token === undefined
    ? Effect.succeed(Option.none<AccountId | Credential>())
    : !tokenPattern.test(token)
      ? Effect.fail(invalidCredential())
      : Effect.flatMap(sessions.lookup(Redacted.make(token)), (found) =>
          Option.isSome(found) ? Effect.succeed(found) : Effect.fail(invalidCredential())
        )

/**
 * A resolver from any function of the request.
 *
 * @since 0.1.0
 * @category resolvers
 */
export const make = (resolve: AccountResolver["Type"]["resolve"]): Layer.Layer<AccountResolver> =>
  Layer.succeed(AccountResolver, { resolve })

/**
 * The default resolver: `Authorization: Bearer <token>` looked up in {@link Sessions}.
 * No `Authorization` header is anonymous; any other scheme, or an unknown or expired
 * token, is `Unauthorized`.
 *
 * @since 0.1.0
 * @category resolvers
 */
export const layerBearer: Layer.Layer<AccountResolver, never, Sessions> = Layer.effect(
  AccountResolver,
  Effect.map(Sessions, (sessions) => ({
    resolve: (request) => {
      const header = request.headers.authorization
      if (header === undefined || header === "") return Effect.succeed(Option.none())
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header)
      return match === null ? Effect.fail(invalidCredential()) : lookupToken(sessions, match[1])
    }
  }))
)

/**
 * A session cookie looked up in {@link Sessions}. A portal using cookies must guard
 * against cross-site requests itself (`SameSite=Strict` or `Lax` cookies, or a CSRF
 * token checked before the request reaches the API).
 *
 * @since 0.1.0
 * @category resolvers
 */
export const layerCookie = (name: string): Layer.Layer<AccountResolver, never, Sessions> =>
  Layer.effect(
    AccountResolver,
    Effect.map(Sessions, (sessions) => ({
      resolve: (request) => lookupToken(sessions, request.cookies[name])
    }))
  )

/**
 * A header set by a trusted gateway that has authenticated the user, holding the
 * core account id (e.g. `x-zhongbao-account`). Only safe behind a gateway that
 * removes the header from what clients send.
 *
 * @since 0.1.0
 * @category resolvers
 */
export const layerHeader = (name: string): Layer.Layer<AccountResolver> => {
  const key = name.toLowerCase()
  const decode = Schema.decodeUnknownOption(Ids.AccountId)
  return make((request) => {
    const value = request.headers[key]
    if (value === undefined) return Effect.succeed(Option.none())
    const id = decode(value)
    return Option.isSome(id) ? Effect.succeed(id) : Effect.fail(invalidCredential())
  })
}

const randomToken = () => {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(32))
  return Buffer.from(bytes).toString("base64url")
}

/** @internal How many entries the in-memory stores below hold (sessions, revoked tokens), for tests. */
export const entriesHeld = new WeakMap<Sessions["Type"], () => number>()

/**
 * Drops the entries of `map` that expired by `now` whenever it has grown to twice its
 * size after the last sweep (and to at least 1,024 entries), at a constant cost per
 * insertion on average: an expired entry stays only until the store has doubled.
 * Without it, an entry nobody looks up again (a session never used after its
 * expiry) stays for the life of the process.
 */
const sweeper = <V>(map: Map<string, V>, expiresAt: (value: V) => number) => {
  let next = 1024
  return (now: number) => {
    if (map.size < next) return
    for (const [key, value] of map) if (expiresAt(value) <= now) map.delete(key)
    next = Math.max(1024, map.size * 2)
  }
}

/**
 * In-memory sessions: tokens of 256 random bits, expiring after `ttlMillis` (default
 * 12 hours) by effect's `Clock`; expired ones are dropped as new ones are issued. A
 * lookup says when its session was issued ({@link Credential}).
 * For tests, demos and single-instance deployments.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSessionsMemory = (options: { readonly ttlMillis?: number } = {}): Layer.Layer<Sessions> =>
  Layer.sync(Sessions, () => {
    const sessions = new Map<
      string,
      { readonly accountId: AccountId; readonly issuedAt: number; readonly expiresAt: number }
    >()
    const sweep = sweeper(sessions, (s) => s.expiresAt)
    const defaultTtl = options.ttlMillis ?? 12 * 3600_000
    const service: Sessions["Type"] = {
      lookup: (token) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const key = Redacted.value(token)
          const found = sessions.get(key)
          if (found === undefined) return Option.none()
          if (found.expiresAt <= now) {
            sessions.delete(key)
            return Option.none()
          }
          return Option.some<Credential>({ accountId: found.accountId, issuedAt: found.issuedAt })
        }),
      issue: (accountId, issueOptions) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          sweep(now)
          const token = randomToken()
          sessions.set(token, {
            accountId,
            issuedAt: now,
            expiresAt: now + (issueOptions?.ttlMillis ?? defaultTtl)
          })
          return Redacted.make(token)
        }),
      revoke: (token) => Effect.sync(() => void sessions.delete(Redacted.value(token)))
    }
    entriesHeld.set(service, () => sessions.size)
    return service
  })

const signedPrefix = "zb3"
/** Tokens of the second format, without their issue time. */
const expiryOnlyPrefix = "zb2"
/** Tokens of the first format, whose account id went as it is (a `.` in it broke them). */
const legacyPrefix = "zb1"

const signature = (secret: Redacted.Redacted<string>, payload: string) =>
  createHmac("sha256", Redacted.value(secret)).update(payload).digest("base64url")

/** The shortest secret sessions are signed with: a shorter one (an empty variable) is guessable. */
const minSecretLength = 32

const strongEnough = (secret: Redacted.Redacted<string>) => Redacted.value(secret).length >= minSecretLength

/**
 * A signed session token: `zb3.<account id, UTF-8 in base64url>.<issued, ms since the
 * epoch, base 36>.<expiry, the same>.<HMAC-SHA256>`, which {@link layerSessionsSigned}
 * accepts on every instance that holds `secret`. A host portal can mint tokens with
 * it at sign-in without calling zhongbao. Any account id fits (`.`, `@` and Chinese
 * included). The token is issued at `issuedAtMillis`, now unless given: an account
 * made active again after it does not act on it ({@link Credential}).
 * Throws a `RangeError` for a secret under 32 characters, which
 * {@link layerSessionsSigned} refuses: a token signed with it would never be accepted.
 *
 * @since 0.1.0
 * @category sessions
 */
export const signSession = (
  secret: Redacted.Redacted<string>,
  accountId: AccountId,
  expiresAtMillis: number,
  issuedAtMillis: number = Date.now()
): string => {
  if (!strongEnough(secret)) {
    throw new RangeError(`signSession: the secret must be at least ${minSecretLength} characters`)
  }
  const payload = `${signedPrefix}.${Buffer.from(accountId, "utf8").toString("base64url")}.${base36(issuedAtMillis)}.${base36(expiresAtMillis)}`
  return `${payload}.${signature(secret, payload)}`
}

const base36 = (millis: number) => Math.floor(millis).toString(36)

const decodeAccountId = Schema.decodeUnknownOption(Ids.AccountId)

const base64url = /^[A-Za-z0-9_-]+$/

/** A signed token's credential and expiry, when its signature holds and it has not expired at `nowMillis`. */
const verified = (
  secret: Redacted.Redacted<string>,
  token: string,
  nowMillis: number
): Option.Option<Credential & { readonly expiresAt: number }> => {
  if (!strongEnough(secret)) return Option.none()
  const parts = token.split(".")
  const prefix = parts[0]
  const current = prefix === signedPrefix
  if (
    parts.length !== (current ? 5 : 4) ||
    !(current || prefix === expiryOnlyPrefix || prefix === legacyPrefix)
  ) {
    return Option.none()
  }
  const mac = parts[parts.length - 1] as string
  const expected = Buffer.from(signature(secret, parts.slice(0, -1).join(".")))
  const given = Buffer.from(mac)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return Option.none()
  const account = parts[1] as string
  // Tokens of the earlier formats do not say when they were issued: as issued before
  // any reactivation (§3), so that one stolen before an account's deactivation does
  // not act again once it is reactivated.
  const issuedAt = current ? Number.parseInt(parts[2] as string, 36) : 0
  const expiresAt = Number.parseInt(parts[current ? 3 : 2] as string, 36)
  if (!Number.isFinite(expiresAt) || expiresAt <= nowMillis) return Option.none()
  if (!Number.isFinite(issuedAt)) return Option.none()
  const accountId =
    prefix === legacyPrefix
      ? decodeAccountId(account)
      : base64url.test(account)
        ? decodeAccountId(Buffer.from(account, "base64url").toString("utf8"))
        : Option.none()
  return Option.map(accountId, (id) => ({ accountId: id, issuedAt, expiresAt }))
}

/**
 * The credential of a signed token (its account, and when it was issued) when its
 * signature holds and it has not expired at `nowMillis`; `None` otherwise (always,
 * for a secret under 32 characters). Tokens of the earlier formats (`zb2.…`, without
 * their issue time, and `zb1.<account id>.…`, the id as it is) are still accepted
 * until they expire, as issued at the epoch (`issuedAt` 0): an account made active
 * again does not act on them.
 *
 * @since 0.1.0
 * @category sessions
 */
export const verifySession = (
  secret: Redacted.Redacted<string>,
  token: string,
  nowMillis: number
): Option.Option<Credential> =>
  Option.map(verified(secret, token, nowMillis), ({ accountId, issuedAt }) => ({ accountId, issuedAt }))

/**
 * Stateless sessions for several instances behind one load balancer: a token is
 * signed with `secret` (HMAC-SHA256, see {@link signSession}) and names its account,
 * when it was issued and its expiry, so any instance holding the secret verifies it
 * without a shared store. `revoke` refuses the token on this instance until it
 * expires (the revocations of expired tokens are dropped as new ones are made); a
 * platform that must revoke everywhere at once keeps its sessions in a shared store
 * behind the {@link Sessions} port instead, or rotates the secret. An account's
 * deactivation needs neither: once made active again, it does not act on the tokens
 * issued before ({@link Credential}). The secret must be at least 32 characters.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSessionsSigned = (options: {
  readonly secret: Redacted.Redacted<string>
  readonly ttlMillis?: number
}): Layer.Layer<Sessions> =>
  Layer.effect(
    Sessions,
    Effect.suspend(() =>
      !strongEnough(options.secret)
        ? Effect.dieMessage(`layerSessionsSigned: the secret must be at least ${minSecretLength} characters`)
        : Effect.sync(() => signedSessions(options))
    )
  )

const signedSessions = (options: {
  readonly secret: Redacted.Redacted<string>
  readonly ttlMillis?: number
}): Sessions["Type"] => {
  const revoked = new Map<string, number>()
  const sweep = sweeper(revoked, (until) => until)
  const defaultTtl = options.ttlMillis ?? 12 * 3600_000
  const service: Sessions["Type"] = {
    lookup: (token) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const key = Redacted.value(token)
        const until = revoked.get(key)
        if (until !== undefined) {
          if (until > now) return Option.none()
          revoked.delete(key)
        }
        return verifySession(options.secret, key, now)
      }),
    issue: (accountId, issueOptions) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        Redacted.make(
          signSession(options.secret, accountId, now + (issueOptions?.ttlMillis ?? defaultTtl), now)
        )
      ),
    revoke: (token) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const key = Redacted.value(token)
        const found = verified(options.secret, key, now)
        if (Option.isNone(found)) return
        sweep(now)
        revoked.set(key, found.value.expiresAt)
      })
  }
  entriesHeld.set(service, () => revoked.size)
  return service
}

const isAccountId = Schema.is(Ids.AccountId)

/** The account a resolver's answer names, its credential's issue time set for core (§3). */
const acting = (found: AccountId | Credential): Effect.Effect<AccountId | null, Unauthorized> => {
  const { accountId, issuedAt } =
    typeof found === "string" ? { accountId: found, issuedAt: undefined } : found
  if (!isAccountId(accountId)) return Effect.fail(invalidCredential())
  if (issuedAt === undefined) return Effect.succeed(accountId)
  const instant = typeof issuedAt === "number" ? DateTime.make(issuedAt) : Option.none()
  return Option.isNone(instant)
    ? Effect.fail(invalidCredential())
    : Effect.as(
        FiberRef.set(Member.credentialIssuedAt, Option.some(DateTime.toUtc(instant.value))),
        accountId
      )
}

/**
 * @internal
 * The middleware over the {@link AccountResolver}. An anonymous caller of an
 * endpoint for which `answersAnonymous` says no is answered `401` at once, before
 * its body is read. An id a host's resolver answers that cannot be an account id (a
 * control character, over 64 characters) is an invalid credential (`401`), not a
 * statement the database refuses; so is an `issuedAt` that is no instant. A
 * credential's `issuedAt` is set as core's `Member.credentialIssuedAt` for the rest
 * of the request's fiber, which the endpoint's handler runs on.
 */
export const layerWith = (
  answersAnonymous: (request: HttpServerRequest.HttpServerRequest) => boolean
): Layer.Layer<Authentication, never, AccountResolver> =>
  Layer.effect(
    Authentication,
    Effect.map(AccountResolver, (resolver) => ({
      bearer: (_token: Redacted.Redacted<string>) =>
        HttpServerRequest.HttpServerRequest.pipe(
          Effect.flatMap((request) =>
            Effect.flatMap(resolver.resolve(request), (found) =>
              Option.isSome(found)
                ? acting(found.value)
                : answersAnonymous(request)
                  ? Effect.succeed(null)
                  : Effect.fail(accountRequired())
            )
          ),
          Effect.catchTag("InfrastructureError", (error) => Effect.die(error))
        )
    }))
  )

/**
 * The middleware over the {@link AccountResolver}, for a host's own endpoints: an
 * `HttpApi` of the host's whose groups use `.middleware(Authentication)` gets the
 * acting account as {@link CurrentAccount}, `null` for every anonymous caller (the
 * host's handlers decide what an anonymous caller may do). The API `Http.layer`
 * mounts does not need it: it provides its own, which answers an anonymous caller
 * of an endpoint that is not public `401` before reading the body.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Authentication, never, AccountResolver> = layerWith(() => true)
