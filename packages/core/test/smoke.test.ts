import { assert, describe, it } from "@effect/vitest"
import { Responding, Selection } from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Effect } from "effect"
import { expectError, withWorld } from "./helpers.js"

describe("smoke", () => {
  it.effect("R24: first adoption closes intake", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        assert.strictEqual(demand.number, "ZB20260001")
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const r = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: { title: "方案", content: "内容" }
        })
        yield* selection.adopt(world.enterprise.account, { responseId: r.id })
        yield* expectError(
          responding.respond(world.expert.account, {
            demandId: demand.id,
            proposal: { title: "方案", content: "内容" }
          }),
          "InvalidState",
          "R24"
        )
      })
    )
  )
})
