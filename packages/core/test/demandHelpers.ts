import { assert } from "@effect/vitest"
import { AuditTrail, type Demand, type Ids, Lists, Publishing, Settings } from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect } from "effect"

/** A valid response proposal (R20). */
export const proposal = { title: "应答方案", content: "采用化学气相沉积法提高良率" }

/** Overrides of the fixture form. */
export type FormOverrides = Partial<typeof Demand.DemandForm.Encoded>

/** Drafts a demand for `account` from the fixture form (deadline `days` after today). */
export const draft = (account: Ids.AccountId, overrides: FormOverrides = {}, days = 30) =>
  Effect.gen(function* () {
    const publishing = yield* Publishing.Publishing
    return yield* publishing.draft(account, yield* Fixtures.form(overrides, days))
  })

/** Drafts and submits a demand; returns it pending review. */
export const submitted = (account: Ids.AccountId, overrides: FormOverrides = {}, days = 30) =>
  Effect.gen(function* () {
    const publishing = yield* Publishing.Publishing
    const d = yield* draft(account, overrides, days)
    return yield* publishing.submit(account, { demandId: d.id })
  })

/** R40: `enterprise` commissions the world's registered institution, which accepts. */
export const commission = Fixtures.activeCommission

/** Every audit event id, as an operator lists them (R60), newest first. */
export const auditIds = (world: Fixtures.World) =>
  Effect.gen(function* () {
    const trail = yield* AuditTrail.AuditTrail
    const page = yield* trail.list(world.operator, { limit: 100 })
    if (page.nextCursor !== null) return yield* Effect.dieMessage("audit trail longer than one page")
    return page.items.map((e) => e.id)
  })

/** The ids of the demands in a member's "my demands" list (§9). */
export const myDemandIds = (account: Ids.AccountId) =>
  Effect.gen(function* () {
    const lists = yield* Lists.Lists
    const page = yield* lists.myDemands(account, { limit: 100 })
    return page.items.map((d) => d.id)
  })

/** The default settings as the services resolve them (for the pure functions). */
export const defaultSettings: Settings.ResolvedSettings = {
  ...Settings.defaults,
  zone: DateTime.zoneUnsafeMakeNamed(Settings.defaults.timeZone)
}

/** An instant from an ISO string. */
export const instant = (iso: string): DateTime.Utc => DateTime.unsafeMake(iso)

/**
 * §9: the actions `account` is offered on a demand, read from the demand's view and
 * checked against its row in "my demands" (the two must agree).
 */
export const offeredTo = (account: Ids.AccountId, demandId: string) =>
  Effect.gen(function* () {
    const viewed = (yield* (yield* Publishing.Publishing).get(account, { demandId })).actions
    const listed = (yield* (yield* Lists.Lists).myDemands(account, { limit: 100 })).items.find(
      (d) => d.id === demandId
    )
    assert.deepStrictEqual(listed?.actions, viewed, `${demandId}: "my demands" and the view agree`)
    return viewed
  })
