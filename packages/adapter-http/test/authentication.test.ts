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
import type { Ids } from "@zhongbao/core"
import { Effect, Layer, Option, Schema } from "effect"
import { Authentication } from "../src/index.js"

const account = "0193a3c0-0000-7000-8000-000000000001" as Ids.AccountId

const HostApi = HttpApi.make("host").add(
  HttpApiGroup.make("host")
    .add(
      HttpApiEndpoint.get("whoami", "/whoami").addSuccess(
        Schema.Struct({ account: Schema.NullOr(Schema.String) })
      )
    )
    .middleware(Authentication.Authentication)
)

const HostLive = HttpApiBuilder.group(HostApi, "host", (handlers) =>
  handlers.handle("whoami", () =>
    Effect.map(Authentication.CurrentAccount, (current) => ({ account: current }))
  )
)

/** The host's API with `Authentication.layer` over a resolver that reads the header `x-account`. */
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
            return Effect.succeed(Option.some(header as Ids.AccountId))
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
    assert.deepStrictEqual(body, { account: null })
  })

  it("the resolver's account is the CurrentAccount", async () => {
    const { status, body } = await whoami({ "x-account": account })
    assert.strictEqual(status, 200, JSON.stringify(body))
    assert.deepStrictEqual(body, { account })
  })

  it("a credential the resolver refuses is 401 auth.invalid; so is an id that cannot be an account's", async () => {
    for (const header of ["expired", "acc\u0001ount", "a".repeat(65)]) {
      const { status, body } = await whoami({ "x-account": header })
      assert.strictEqual(status, 401, header)
      assert.deepInclude(body, { _tag: "Unauthorized", code: "auth.invalid" })
    }
  })
})
