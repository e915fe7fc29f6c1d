import { assert } from "@effect/vitest"
import {
  AuditTrail,
  Deadline,
  type Demand,
  type Ids,
  Membership,
  Persistence,
  Settings
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, Option } from "effect"

/** A proposal with a recognisable title. */
export const proposal = (title = "石墨烯散热膜连续化制备方案") => ({
  title,
  content: `${title}：采用化学气相沉积与辊对辊转移，三个月内完成中试验证。`
})

/** Every message in the outbox, oldest first. */
export const outbox = Effect.flatMap(Persistence.Outbox, (o) => o.list({ limit: 100_000 }))

/** The outbox messages of one event. */
export const notices = (event: string) =>
  Effect.map(outbox, (messages) => messages.filter((m) => m.event === event))

/** The phone number of an account. */
export const phoneOf = (account: Ids.AccountId) =>
  Effect.flatMap(Persistence.AccountRepository, (accounts) => accounts.findById(account)).pipe(
    Effect.map((found) => Option.getOrThrow(found).phone)
  )

/** The last instant of a demand's response deadline date (R13). */
export const deadlineEnd = (demand: Demand.Demand) =>
  Effect.map(Settings.Settings, (s) => Deadline.endOfDate(demand.form.responseDeadline, s))

/** The last instant of a demand's selection window (R23). */
export const selectionEnd = (demand: Demand.Demand) =>
  Effect.map(Settings.Settings, (s) => Deadline.selectionEndsAt(demand.form.responseDeadline, s))

/** One millisecond later. */
export const justAfter = (instant: DateTime.DateTime) => DateTime.add(instant, { millis: 1 })

/** `n` more expert members, each with one account. */
export const moreResponders = (world: Fixtures.World, n: number) =>
  Effect.gen(function* () {
    const membership = yield* Membership.Membership
    return yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) =>
        Effect.gen(function* () {
          const member = yield* membership.createMember(world.operator, {
            kind: "expert",
            name: `专家${i + 1}`
          })
          const account = yield* membership.createAccount(world.operator, {
            memberId: member.id,
            name: `专家${i + 1}`,
            phone: Fixtures.nextPhone()
          })
          return { member, account: account.id } satisfies Fixtures.Party
        })
    )
  })

/** A second account of the same member. */
export const secondAccount = (world: Fixtures.World, party: Fixtures.Party) =>
  Effect.gen(function* () {
    const membership = yield* Membership.Membership
    const account = yield* membership.createAccount(world.operator, {
      memberId: party.member.id,
      name: `${party.member.name}第二联系人`,
      phone: Fixtures.nextPhone()
    })
    return account.id
  })

/** An active commission from the world's enterprise to its registered institution (R40). */
export const activeCommission = Fixtures.activeCommission

/** The audit trail `reader` reads of a demand, a member, or (operators) all, oldest first: one page. */
export const trailOf = (
  reader: Ids.AccountId,
  input: { readonly demandId?: Ids.DemandId; readonly memberId?: Ids.MemberId } = {}
) =>
  Effect.gen(function* () {
    const trail = yield* AuditTrail.AuditTrail
    const page = yield* trail.list(reader, { ...input, limit: 100 })
    assert.isNull(page.nextCursor)
    return [...page.items].reverse()
  })

/** The whole audit trail of a demand for `reader`, oldest first. */
export const demandTrail = (reader: Ids.AccountId, demandId: Ids.DemandId) => trailOf(reader, { demandId })
