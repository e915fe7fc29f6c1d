import { assert, describe, it } from "@effect/vitest"
import { Commission, Demand, Labels, Member, Notification, Response, Reward } from "@zhongbao/core"

/** Each table with the schema whose values it names. */
const tables: ReadonlyArray<readonly [keyof Labels.Labels, { readonly literals: ReadonlyArray<unknown> }]> = [
  ["demandState", Demand.DemandState],
  ["solvingWay", Demand.SolvingWay],
  ["responseStatus", Response.ResponseStatus],
  ["notAdoptedReason", Response.NotAdoptedReason],
  ["memberKind", Member.MemberKind],
  ["commissionState", Commission.CommissionState],
  ["roundState", Reward.RoundState],
  ["applicationState", Reward.ApplicationState],
  ["deliveryStatus", Notification.DeliveryStatus]
]

describe("Labels", () => {
  it("R61, §9: every value of each model has one Chinese name, none shared by two values of one model, none left in English", () => {
    for (const [table, schema] of tables) {
      const names = Labels.zhCN[table] as Readonly<Record<string, string>>
      assert.deepStrictEqual(Object.keys(names).sort(), [...schema.literals].map(String).sort(), table)
      const values = Object.values(names)
      assert.strictEqual(new Set(values).size, values.length, `${table}: two values named alike`)
      for (const name of values) assert.match(name, /^[\u4e00-\u9fa5]+$/, `${table}: ${name}`)
    }
    for (const table of ["phase", "outcome", "role"] as const) {
      for (const name of Object.values(Labels.zhCN[table])) assert.match(name, /^[\u4e00-\u9fa5]+$/, table)
    }
  })
})
