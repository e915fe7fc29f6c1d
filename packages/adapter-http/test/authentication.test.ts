/**
 * `Authentication.layer`: zhongbao's authentication middleware on a host's own
 * endpoints. The API zhongbao mounts provides its own (anonymous callers of its
 * endpoints that are not public answered `401` first); a host that adds endpoints of
 * its own to an `HttpApi` with `.middleware(Authentication.Authentication)` provides
 * this layer, which lets every anonymous caller through with `CurrentAccount` null and
 * leaves the decision to the host's handlers.
 */
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { type Ids, Member } from "@zhongbao/core"
import { DateTime, Effect, FiberRef, Layer, Option, Schema } from "effect"
import { Authentication } from "../src/index.js"

const account = "0193a3c0-0000-7000-8000-000000000001" as Ids.AccountId

const HostApi = HttpApi.make("host").add(
  HttpApiGroup.make("host")
    .add(
      HttpApiEndpoint.get("whoami", "/whoami").addSuccess(
        Schema.Struct({ account: Schema.NullOr(Schema.String), issuedAt: Schema.NullOr(Schema.Number) })
      )
    )
    .middleware(Authentication.Authentication)
)

const HostLive = HttpApiBuilder.group(HostApi, "host", (handlers) =>
  handlers.handle("whoami", () =>
    Effect.zipWith(
      Authentication.CurrentAccount,
      FiberRef.get(Member.credentialIssuedAt),
      (current, issued) => ({
        account: current,
        issuedAt: Option.getOrNull(Option.map(issued, DateTime.toEpochMillis))
      })
    )
  )
)

/**
 * The host's API with `Authentication.layer` over a resolver that reads the header
 * `x-account`, and the credential's issue time from `x-issued-at` when it is sent.
 */
const hostHandler = () =>
  HttpApiBuilder.toWebHandler(
    Layer.mergeAll(
      HttpApiBuilder.api(HostApi).pipe(
        Layer.provide(HostLive),
        Layer.provide(Authentication.layer),
        Layer.provide(
          Authentication.make((request) => {
            const header = request.headers["x-account"]
            if (header === undefined) return Effect.succeed(Option.none())
            if (header === "expired") return Effect.fail(Authentication.invalidCredential())
            const issued = request.headers["x-issued-at"]
            return Effect.succeed(
              Option.some(
                issued === undefined
                  ? (header as Ids.AccountId)
                  : { accountId: header as Ids.AccountId, issuedAt: Number(issued) }
              )
            )
          })
        )
      ),
      HttpServer.layerContext
    )
  )

const whoami = async (headers: Record<string, string>) => {
  const web = hostHandler()
  try {
    const answer = await web.handler(new Request("http://localhost/whoami", { headers }))
    return { status: answer.status, body: (await answer.json()) as Record<string, unknown> }
  } finally {
    await web.dispose()
  }
}

describe("Authentication.layer on a host's own endpoints", () => {
  it("an anonymous caller is let through, its CurrentAccount null", async () => {
    const { status, body } = await whoami({})
    assert.strictEqual(status, 200, JSON.stringify(body))
    assert.deepStrictEqual(body, { account: null, issuedAt: null })
  })

  it("the resolver's account is the CurrentAccount", async () => {
    const { status, body } = await whoami({ "x-account": account })
    assert.strictEqual(status, 200, JSON.stringify(body))
    assert.deepStrictEqual(body, { account, issuedAt: null })
  })

  it("§3: a credential's issue time is core's Member.credentialIssuedAt in the handler; one that is no instant is 401 auth.invalid", async () => {
    const { status, body } = await whoami({ "x-account": account, "x-issued-at": "1780000000123" })
    assert.strictEqual(status, 200, JSON.stringify(body))
    assert.deepStrictEqual(body, { account, issuedAt: 1_780_000_000_123 })
    for (const issued of ["NaN", "Infinity", "9e20"]) {
      const refused = await whoami({ "x-account": account, "x-issued-at": issued })
      assert.strictEqual(refused.status, 401, issued)
      assert.deepInclude(refused.body, { _tag: "Unauthorized", code: "auth.invalid" })
    }
  })

  it("a credential the resolver refuses is 401 auth.invalid; so is an id that cannot be an account's", async () => {
    for (const header of ["expired", "acc\u0001ount", "a".repeat(65)]) {
      const { status, body } = await whoami({ "x-account": header })
      assert.strictEqual(status, 401, header)
      assert.deepInclude(body, { _tag: "Unauthorized", code: "auth.invalid" })
    }
  })
})
