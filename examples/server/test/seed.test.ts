/**
 * The demo seed under a platform's own settings (`SETTINGS_JSON`), in this process on
 * core's memory ports: it chooses what the settings allow, and where they leave it
 * nothing to choose, the start is refused with a line that says why and how to start
 * without the demo.
 */
import { Persistence, type Settings, Zhongbao } from "@zhongbao/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { describe, expect, it } from "vitest"
import { explain } from "../src/config.js"
import { seed } from "../src/seed.js"

const seedUnder = (settings: Partial<Settings.PlatformSettings>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const seeded = yield* Effect.either(seed)
      const demands = yield* Effect.flatMap(Persistence.DemandRepository, (repo) =>
        repo.list({ scope: { _tag: "all" }, sort: "created", limit: 100 })
      )
      return { seeded, demands }
    }).pipe(Effect.provide(Layer.fresh(Zhongbao.layerMemory(settings))))
  )

describe("example server: the demo seed", () => {
  it("under a platform's own fields, service modes and deadline bounds, the demo is seeded within them", async () => {
    const { seeded, demands } = await seedUnder({
      technicalFields: ["电子信息", "海洋"],
      serviceModes: [{ id: "joint", name: "联合攻关", acceptsResponses: true }],
      minDeadlineDays: 30,
      maxDeadlineDays: 35
    })
    expect(Either.isRight(seeded), JSON.stringify(seeded)).toBe(true)
    expect(demands.length).toBeGreaterThan(5)
    for (const demand of demands) {
      expect(["电子信息", "海洋"]).toContain(demand.form.field)
      expect(demand.form.serviceMode).toBe("joint")
    }
  })

  it("settings under which no mode takes an enterprise's responses: refused, saying why and that SEED=false starts without the demo", async () => {
    const { seeded, demands } = await seedUnder({
      serviceModes: [
        { id: "cooperative", name: "合作服务", acceptsResponses: true, publishers: ["transfer_institution"] }
      ]
    })
    if (Either.isRight(seeded)) throw new Error("seeded")
    expect(explain(seeded.left)).toBe(
      "the demo cannot be seeded under these settings (SEED=false starts without it): no service mode takes responses on a demand of a member of kind enterprise"
    )
    expect(demands).toEqual([])
  })
})
