import { assert, describe, it } from "@effect/vitest"
import {
  Commissioning,
  type Errors,
  Ids,
  Member,
  Membership,
  Persistence,
  Publishing,
  Revision
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Context, DateTime, Effect, Option } from "effect"
import { at, expectError, failureOf, withoutOneReadLookups, withPorts, withWorld } from "./helpers.js"
import { notices, phoneOf, secondAccount } from "./support.js"

/**
 * The memory ports, where the first two reads of each account answer that it does not
 * exist (two instances that start at once, each reading before either creates it).
 */
const withFirstReadsMissing = withPorts.bind(null, (ports) => {
  const accounts = Context.get(ports, Persistence.AccountRepository)
  const reads = new Map<string, number>()
  return Context.add(ports, Persistence.AccountRepository, {
    ...accounts,
    findById: (id) =>
      Effect.suspend(() => {
        const n = (reads.get(id) ?? 0) + 1
        reads.set(id, n)
        return n > 2 ? accounts.findById(id) : Effect.succeedNone
      })
  })
})

describe("Membership.bootstrapOperator", () => {
  it.effect(
    "§3: only an operator registers members; an enterprise's account is refused and nothing is written",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          yield* expectError(
            membership.createMember(world.enterprise.account, { kind: "expert", name: "自荐专家" }),
            "Denied",
            "§3"
          )
          const experts = yield* (yield* Persistence.MemberRepository).list({ kind: "expert", limit: 100 })
          assert.notInclude(
            experts.map((m) => m.name),
            "自荐专家"
          )
        })
      )
  )

  it.effect(
    "R1, §3: an institution cannot register itself, nor a member add accounts: both refused, nothing written",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const members = yield* Persistence.MemberRepository
          const accounts = yield* Persistence.AccountRepository
          const audit = yield* Persistence.AuditRepository
          const u = world.unregistered
          const eventsBefore = (yield* audit.list({ limit: 1000 })).length
          yield* expectError(
            membership.registerInstitution(u.account, { memberId: u.member.id }),
            "Denied",
            "R1"
          )
          assert.isFalse(
            Option.getOrThrow(yield* members.findById(u.member.id)).registered,
            "still unregistered"
          )
          const phone = Fixtures.nextPhone()
          yield* expectError(
            membership.createAccount(u.account, { memberId: u.member.id, name: "自行添加", phone }),
            "Denied",
            "§3"
          )
          yield* expectError(membership.createAccount(u.account, { name: "自封运营", phone }), "Denied", "§3")
          const theirs = yield* accounts.listByMember(u.member.id)
          assert.deepStrictEqual(
            theirs.map((a) => a.id),
            [u.account],
            "no account added"
          )
          assert.lengthOf(yield* audit.list({ limit: 1000 }), eventsBefore, "no audit event")
        })
      )
  )

  it.effect(
    "§3, R64: an account's phone is a mobile number (notices go to it by SMS): a landline is refused naming phone, for a member's account and the first operator; a manager's and a profile's may be one",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const accounts = yield* Persistence.AccountRepository
          const before = yield* accounts.listByMember(world.enterprise.member.id)
          for (const phone of ["022-23456789", "+86 10 6552 9988", "+44 20 7183 8750"]) {
            yield* expectError(
              membership.createAccount(world.operator, {
                memberId: world.enterprise.member.id,
                name: "座机",
                phone
              }),
              "InvalidInput",
              "§3",
              "phone"
            )
            const refused = yield* failureOf(
              Membership.bootstrapOperator({ id: "landline-operator" as Ids.AccountId, name: "座机", phone })
            )
            assert.strictEqual((refused as { _tag: string })._tag, "ParseError", phone)
          }
          yield* expectError(
            membership.createAccount(world.operator, {
              memberId: "no-such-member",
              name: "某人",
              phone: "13800000077"
            }),
            "NotFound",
            "R5",
            "memberId"
          )
          assert.deepStrictEqual(yield* accounts.listByMember(world.enterprise.member.id), before)
          assert.isTrue(Option.isNone(yield* accounts.findById("landline-operator" as Ids.AccountId)))
          const mobile = yield* membership.createAccount(world.operator, {
            memberId: world.enterprise.member.id,
            name: "手机",
            phone: "+1 415 555 2671"
          })
          assert.strictEqual(mobile.phone, "+14155552671")
          const manager = yield* membership.addTechnologyManager(world.institution.account, {
            name: "座机经理",
            phone: "022-23456789"
          })
          assert.strictEqual(manager.phone, "+862223456789")
        })
      )
  )

  it.effect(
    "§3: a phone is the whole field: text around a number, or an extension, is refused naming phone, not dropped; spacing, dashes, brackets and full-width digits are read",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const managers = yield* Persistence.TechnologyManagerRepository
          const before = yield* managers.listByInstitution(world.institution.member.id)
          for (const phone of [
            "13912345601x",
            "call me at 13912345601 please",
            "tel:13912345601",
            "13912345601 ext. 5",
            "022-23456789;ext=8"
          ]) {
            const refused = yield* expectError(
              membership.addTechnologyManager(world.institution.account, { name: "经理", phone }),
              "InvalidInput",
              "R1",
              "phone"
            )
            assert.include(refused.message, "phone", phone)
          }
          assert.deepStrictEqual(yield* managers.listByInstitution(world.institution.member.id), before)
          for (const [phone, stored] of [
            ["139 1234 5601", "+8613912345601"],
            ["(022) 2345-6789", "+862223456789"],
            ["１３９１２３４５６０２", "+8613912345602"],
            [" +86 139-1234-5603 ", "+8613912345603"]
          ] as const) {
            const manager = yield* membership.addTechnologyManager(world.institution.account, {
              name: "经理",
              phone
            })
            assert.strictEqual<string>(manager.phone, stored, phone)
          }
        })
      )
  )

  it.effect("§3: with an id, the first operator is created once; every later call returns it unchanged", () =>
    withWorld(() =>
      Effect.gen(function* () {
        const accounts = yield* Persistence.AccountRepository
        const id = Ids.make<Ids.AccountId>()
        const first = yield* Membership.bootstrapOperator({ id, name: "平台运营", phone: "13800009001" })
        assert.strictEqual(first.id, id)
        assert.strictEqual(first.role, "operator")
        const again = yield* Membership.bootstrapOperator({ id, name: "改名", phone: "13800009002" })
        assert.deepStrictEqual(again, first)
        // Instances starting at once: one creates it, the others find it.
        const other = Ids.make<Ids.AccountId>()
        const started = yield* Effect.all(
          Array.from({ length: 5 }, (_, i) =>
            Membership.bootstrapOperator({ id: other, name: `运营${i}`, phone: "13800009003" })
          ),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(new Set(started.map((a) => a.id)), new Set([other]))
        assert.deepStrictEqual(new Set(started.map((a) => a.name)).size, 1)
        assert.deepStrictEqual(Option.getOrThrow(yield* accounts.findById(other)), started[0])
      })
    )
  )

  it.effect(
    "§3: with an id, an instance that finds no operator and then loses the race to create it returns the one created",
    () =>
      withFirstReadsMissing(() =>
        Effect.gen(function* () {
          const id = Ids.make<Ids.AccountId>()
          const winner = yield* Membership.bootstrapOperator({
            id,
            name: "先启动的实例",
            phone: "13800009006"
          })
          const loser = yield* Membership.bootstrapOperator({
            id,
            name: "后启动的实例",
            phone: "13800009007"
          })
          assert.deepStrictEqual(loser, winner)
        })
      )
  )

  it.effect("§3: without an id, each call creates another operator", () =>
    withWorld(() =>
      Effect.gen(function* () {
        const a = yield* Membership.bootstrapOperator({ name: "运营甲", phone: "13800009004" })
        const b = yield* Membership.bootstrapOperator({ name: "运营甲", phone: "13800009004" })
        assert.notStrictEqual(a.id, b.id)
      })
    )
  )

  it.effect(
    "R1: only a technology transfer institution is registered: an enterprise or an institute is refused on memberId, and nothing changes",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const members = yield* Persistence.MemberRepository
          for (const party of [world.enterprise, world.institute]) {
            const before = Option.getOrThrow(yield* members.findById(party.member.id))
            const refused = yield* expectError(
              membership.registerInstitution(world.operator, { memberId: party.member.id }),
              "InvalidInput",
              "R1",
              "memberId"
            )
            assert.strictEqual((refused as { code?: string }).code, "member.not_institution")
            assert.deepStrictEqual(Option.getOrThrow(yield* members.findById(party.member.id)), before)
          }
        })
      )
  )

  it.effect("§3: the id of an account that is not an operator is refused on id, and nothing changes", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const accounts = yield* Persistence.AccountRepository
        const before = yield* accounts.findById(world.enterprise.account)
        yield* expectError(
          Membership.bootstrapOperator({ id: world.enterprise.account, name: "冒充", phone: "13800009005" }),
          "InvalidInput",
          "§3",
          "id"
        )
        assert.deepStrictEqual(
          Option.getOrThrow(yield* accounts.findById(world.enterprise.account)),
          Option.getOrThrow(before)
        )
      })
    )
  )
})

describe("Membership.me", () => {
  it.effect(
    "§3: an account reads itself and the member it acts for, as they are now; an operator acts for none; an inactive or unknown account is refused (R5)",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const accounts = yield* Persistence.AccountRepository
          const members = yield* Persistence.MemberRepository
          const institution = yield* membership.me(world.institution.account, {})
          assert.strictEqual(institution.account.id, world.institution.account)
          assert.strictEqual(institution.member?.id, world.institution.member.id)
          assert.strictEqual(institution.member?.kind, "transfer_institution")
          const operator = yield* membership.me(world.operator, {})
          assert.strictEqual(operator.account.role, "operator")
          assert.isNull(operator.member)
          // Registered since: read as it is now.
          const unregistered = yield* membership.me(world.unregistered.account, {})
          assert.isFalse(unregistered.member?.registered)
          yield* membership.registerInstitution(world.operator, { memberId: world.unregistered.member.id })
          assert.isTrue((yield* membership.me(world.unregistered.account, {})).member?.registered)
          assert.isTrue(Option.getOrThrow(yield* members.findById(world.unregistered.member.id)).registered)
          const account = Option.getOrThrow(yield* accounts.findById(world.expert.account))
          yield* accounts.update({ ...account, active: false })
          yield* expectError(membership.me(world.expert.account, {}), "Denied", "R5")
          yield* expectError(membership.me(Ids.make() as typeof world.operator, {}), "Denied", "R5")
          yield* expectError(membership.me(null, {}), "Denied", "R5")
        })
      )
  )
})

describe("Membership.updateAccount", () => {
  const accountOf = (id: Ids.AccountId) =>
    Effect.flatMap(Persistence.AccountRepository, (accounts) => accounts.findById(id)).pipe(
      Effect.map(Option.getOrThrow)
    )
  /** `updateAccount`'s input: the account as it is, active or not. */
  const asIt = (a: Member.Account, active: boolean) => ({
    accountId: a.id,
    name: a.name,
    phone: a.phone,
    active
  })
  const accountEvents = (id: Ids.AccountId) =>
    Effect.flatMap(Persistence.AuditRepository, (audit) => audit.list({ limit: 1000 })).pipe(
      Effect.map((events) =>
        events.filter((e) => e.entityId === id).map((e) => [e.action, e.before, e.after, e.actorAccountId])
      )
    )

  it.effect(
    "§3: an operator deactivates an account, which no longer acts (R5) nor is sent SMS (R64); made active again, it acts; both audited",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const commissioning = yield* Commissioning.Commissioning
          const colleague = yield* secondAccount(world, world.institution)
          const account = yield* accountOf(colleague)
          const off = yield* membership.updateAccount(world.operator, asIt(account, false))
          assert.isFalse(off.active)
          assert.isFalse((yield* accountOf(colleague)).active)
          const refused = yield* expectError(membership.me(colleague, {}), "Denied", "R5")
          assert.strictEqual((refused as Errors.Denied).code, "actor.unknown")
          yield* commissioning.request(world.enterprise.account, {
            institutionId: world.institution.member.id,
            message: "委托"
          })
          assert.deepStrictEqual(
            (yield* notices("commission_requested")).map((m) => m.recipientPhone),
            [yield* phoneOf(world.institution.account)],
            "the deactivated account is sent nothing"
          )

          const on = yield* membership.updateAccount(world.operator, asIt(account, true))
          assert.isTrue(on.active)
          assert.strictEqual((yield* membership.me(colleague, {})).account.id, colleague)
          assert.sameDeepMembers((yield* accountEvents(colleague)).slice(0, 2), [
            ["account.deactivated", "active", "inactive", world.operator],
            ["account.reactivated", "inactive", "active", world.operator]
          ])
        })
      )
  )

  /** Runs `effect` as a caller whose credential was issued at `instant` (§3). */
  const issuedAt =
    (instant: string) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.locally(effect, Member.credentialIssuedAt, Option.some(DateTime.unsafeMake(instant)))

  for (const oneRead of [true, false]) {
    it.effect(
      `§3, R5 (${oneRead ? "one read" : "base ports"}): a credential issued before the account was made active again does not act, key or not, and writes nothing; one issued since, or within that second, acts; without its instant nothing is checked`,
      () =>
        withPorts(
          (ports) => (oneRead ? ports : withoutOneReadLookups(ports)),
          (world) =>
            Effect.gen(function* () {
              const membership = yield* Membership.Membership
              const publishing = yield* Publishing.Publishing
              const audit = yield* Persistence.AuditRepository
              const idempotency = yield* Persistence.IdempotencyRepository
              const colleague = yield* secondAccount(world, world.enterprise)
              const account = yield* accountOf(colleague)
              assert.isNull(account.reactivatedAt, "a new account was never reactivated")
              yield* at("2026-05-04T02:30:00Z")
              const off = yield* membership.updateAccount(world.operator, asIt(account, false))
              assert.isNull(off.reactivatedAt, "deactivating sets nothing")
              yield* at("2026-05-04T03:00:00.250Z")
              const on = yield* membership.updateAccount(world.operator, asIt(account, true))
              assert.deepStrictEqual(on.reactivatedAt, DateTime.unsafeMake("2026-05-04T03:00:00.250Z"))
              assert.deepStrictEqual(yield* accountOf(colleague), on)

              const form = yield* Fixtures.form()
              const stale = issuedAt("2026-05-04T02:59:59.999Z")
              const events = (yield* audit.list({ limit: 1000 })).length
              const refusals: ReadonlyArray<
                Effect.Effect<unknown, Errors.DomainError | Errors.InfrastructureError>
              > = [
                membership.me(colleague, {}),
                publishing.draft(colleague, form),
                publishing.draft(colleague, form, { idempotencyKey: "k-stale" })
              ]
              for (const refused of refusals) {
                const error = yield* expectError(stale(refused), "Denied", "R5")
                assert.strictEqual((error as Errors.Denied).code, "actor.unknown")
              }
              assert.strictEqual((yield* audit.list({ limit: 1000 })).length, events, "nothing audited")
              assert.isTrue(Option.isNone(yield* idempotency.find(colleague, "k-stale")), "no record kept")

              const sameSecond = issuedAt("2026-05-04T03:00:00.000Z")
              assert.strictEqual((yield* sameSecond(membership.me(colleague, {}))).account.id, colleague)
              yield* sameSecond(publishing.draft(colleague, form, { idempotencyKey: "k-new" }))
              yield* issuedAt("2026-05-04T04:00:00Z")(publishing.draft(colleague, form))
              assert.strictEqual(
                (yield* membership.me(colleague, {})).account.id,
                colleague,
                "no instant given"
              )

              yield* at("2026-05-04T05:00:00Z")
              const renamed = yield* membership.updateAccount(world.operator, {
                ...asIt(on, true),
                name: "更名后的联系人"
              })
              assert.deepStrictEqual(renamed.reactivatedAt, on.reactivatedAt, "a correction keeps it")
            })
        )
    )
  }

  it.effect(
    "§3: an operator corrects an account's name and phone; later notices go to the new phone, and the audit keeps no phone",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const commissioning = yield* Commissioning.Commissioning
          const phone = `+86${Fixtures.nextPhone()}`
          const corrected = yield* membership.updateAccount(world.operator, {
            accountId: world.institution.account,
            name: "更正后的联系人",
            phone,
            active: true
          })
          assert.strictEqual(corrected.name, "更正后的联系人")
          assert.strictEqual(corrected.phone, phone)
          assert.deepStrictEqual(yield* accountOf(world.institution.account), corrected)
          yield* commissioning.request(world.enterprise.account, {
            institutionId: world.institution.member.id,
            message: "委托"
          })
          assert.deepStrictEqual(
            (yield* notices("commission_requested")).map((m) => m.recipientPhone),
            [phone]
          )
          const events = yield* accountEvents(world.institution.account)
          assert.deepStrictEqual(events[0], ["account.updated", "active", "active", world.operator])
          const trail = yield* Effect.flatMap(Persistence.AuditRepository, (audit) =>
            audit.list({ limit: 1000 })
          )
          assert.notInclude(JSON.stringify(trail), phone.slice(3), "no audit event holds the phone")
        })
      )
  )

  it.effect(
    "§3: an operator lists a member's accounts, a deactivated one included, the earliest created first; a member is refused, an unknown member not found",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const colleague = yield* secondAccount(world, world.institution)
          const account = yield* accountOf(colleague)
          yield* membership.updateAccount(world.operator, asIt(account, false))
          const listed = yield* membership.accounts(world.operator, { memberId: world.institution.member.id })
          assert.deepStrictEqual(
            listed.map((a) => [a.id, a.active]),
            [
              [world.institution.account, true],
              [colleague, false]
            ]
          )
          const refused = yield* expectError(
            membership.accounts(world.institution.account, { memberId: world.institution.member.id }),
            "Denied",
            "§3"
          )
          assert.strictEqual((refused as Errors.Denied).code, "operator.required")
          yield* expectError(membership.accounts(world.operator, { memberId: Ids.make() }), "NotFound", "R5")
        })
      )
  )

  it.effect(
    "§3: only an operator updates an account, an unknown one is not found naming accountId, an operator does not deactivate itself, and an unchanged input writes nothing",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const audit = yield* Persistence.AuditRepository
          const eventsBefore = (yield* audit.list({ limit: 1000 })).length
          const expert = yield* accountOf(world.expert.account)
          const operator = yield* accountOf(world.operator)
          const notOperator = yield* expectError(
            membership.updateAccount(world.institution.account, asIt(expert, false)),
            "Denied",
            "§3"
          )
          assert.strictEqual((notOperator as Errors.Denied).code, "operator.required")
          const self = yield* expectError(
            membership.updateAccount(world.expert.account, asIt(expert, false)),
            "Denied",
            "§3"
          )
          assert.strictEqual((self as Errors.Denied).code, "operator.required")
          const missing = yield* expectError(
            membership.updateAccount(world.operator, { ...asIt(expert, false), accountId: Ids.make() }),
            "NotFound",
            "R5"
          )
          assert.strictEqual(missing.field, "accountId")
          const itself = yield* expectError(
            membership.updateAccount(world.operator, asIt(operator, false)),
            "InvalidInput",
            "§3"
          )
          assert.strictEqual((itself as Errors.InvalidInput).code, "account.self_deactivation")
          assert.strictEqual(itself.field, "active")
          assert.deepStrictEqual(yield* membership.updateAccount(world.operator, asIt(expert, true)), expert)
          assert.deepStrictEqual(
            yield* membership.updateAccount(world.operator, asIt(operator, true)),
            operator
          )
          assert.deepStrictEqual(yield* accountOf(world.expert.account), expert)
          assert.deepStrictEqual(yield* accountOf(world.operator), operator)
          assert.lengthOf(yield* audit.list({ limit: 1000 }), eventsBefore)
        })
      )
  )
})

describe("Membership.updateTechnologyManager", () => {
  const managerOf = (id: Ids.TechnologyManagerId) =>
    Effect.flatMap(Persistence.TechnologyManagerRepository, (managers) => managers.findById(id)).pipe(
      Effect.map(Option.getOrThrow)
    )
  /** `updateTechnologyManager`'s input: the manager as it is, active or not. */
  const asIt = (m: Member.TechnologyManager, active: boolean) => ({
    technologyManagerId: m.id,
    name: m.name,
    phone: m.phone,
    active
  })
  const managerEvents = (id: Ids.TechnologyManagerId) =>
    Effect.flatMap(Persistence.AuditRepository, (audit) => audit.list({ limit: 1000 })).pipe(
      Effect.map((events) =>
        events
          .filter((e) => e.entityId === id)
          .map((e) => [e.entity, e.action, e.before, e.after, e.actorAccountId, e.members])
      )
    )

  it.effect(
    "R1: a registered institution corrects its technology manager's name and phone, retires it and makes it active again; each audited on the institution's trail, never with the phone; the institution's list shows it retired",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const institution = world.institution
          const manager = yield* managerOf(world.manager)
          assert.isTrue(manager.active, "a manager is named active")
          const phone = Fixtures.nextPhone()
          const corrected = yield* membership.updateTechnologyManager(institution.account, {
            ...asIt(manager, true),
            name: "李经理（更正）",
            phone
          })
          assert.deepStrictEqual(corrected, {
            ...manager,
            name: "李经理（更正）",
            phone: corrected.phone
          })
          assert.strictEqual(corrected.phone, `+86${phone}`)
          assert.deepStrictEqual(yield* managerOf(world.manager), corrected)
          const retired = yield* membership.updateTechnologyManager(
            institution.account,
            asIt(corrected, false)
          )
          assert.isFalse(retired.active)
          const listed = yield* membership.technologyManagers(institution.account, {
            institutionId: institution.member.id
          })
          assert.deepStrictEqual(
            listed.find((m) => m.id === world.manager),
            retired,
            "listed, retired"
          )
          const again = yield* membership.updateTechnologyManager(institution.account, asIt(retired, true))
          assert.deepStrictEqual(again, corrected)
          const events = yield* managerEvents(world.manager)
          const members = [institution.member.id]
          assert.sameDeepMembers(events, [
            ["technology_manager", "technology_manager.added", null, "active", institution.account, members],
            [
              "technology_manager",
              "technology_manager.updated",
              "active",
              "active",
              institution.account,
              members
            ],
            [
              "technology_manager",
              "technology_manager.retired",
              "active",
              "inactive",
              institution.account,
              members
            ],
            [
              "technology_manager",
              "technology_manager.reactivated",
              "inactive",
              "active",
              institution.account,
              members
            ]
          ])
          const trail = JSON.stringify(yield* (yield* Persistence.AuditRepository).list({ limit: 1000 }))
          for (const number of [manager.phone, corrected.phone, phone]) {
            assert.notInclude(trail, number, "no phone in the audit trail")
          }
        })
      )
  )

  it.effect(
    "R1: only the institution's own accounts update its technology managers: another institution's manager or an unknown one is not found naming technologyManagerId, an enterprise's or an operator's account is refused; an unchanged input writes nothing",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const audit = yield* Persistence.AuditRepository
          yield* membership.registerInstitution(world.operator, { memberId: world.unregistered.member.id })
          const theirs = yield* membership.addTechnologyManager(world.unregistered.account, {
            name: "赵经理",
            phone: Fixtures.nextPhone()
          })
          const mine = yield* managerOf(world.manager)
          const eventsBefore = (yield* audit.list({ limit: 1000 })).length
          for (const id of [theirs.id, Ids.make<Ids.TechnologyManagerId>()]) {
            const missing = yield* expectError(
              membership.updateTechnologyManager(world.institution.account, {
                ...asIt(theirs, false),
                technologyManagerId: id
              }),
              "NotFound",
              "R1"
            )
            assert.strictEqual(missing.field, "technologyManagerId")
          }
          for (const account of [world.enterprise.account, world.operator]) {
            const refused = yield* expectError(
              membership.updateTechnologyManager(account, asIt(mine, false)),
              "Denied",
              "R1"
            )
            assert.strictEqual((refused as Errors.Denied).code, "institution.not_registered")
          }
          assert.deepStrictEqual(
            yield* membership.updateTechnologyManager(world.institution.account, asIt(mine, true)),
            mine
          )
          assert.deepStrictEqual(yield* managerOf(theirs.id), theirs)
          assert.deepStrictEqual(yield* managerOf(mine.id), mine)
          assert.lengthOf(yield* audit.list({ limit: 1000 }), eventsBefore)
        })
      )
  )
})

describe("Membership: updates that name the revision they were read at", () => {
  const accountOf = (id: Ids.AccountId) =>
    Effect.flatMap(Persistence.AccountRepository, (accounts) => accounts.findById(id)).pipe(
      Effect.map(Option.getOrThrow)
    )
  const managerOf = (id: Ids.TechnologyManagerId) =>
    Effect.flatMap(Persistence.TechnologyManagerRepository, (managers) => managers.findById(id)).pipe(
      Effect.map(Option.getOrThrow)
    )
  const eventCount = Effect.flatMap(Persistence.AuditRepository, (audit) => audit.list({ limit: 1000 })).pipe(
    Effect.map((events) => events.length)
  )
  /** `update` is refused as stale under `rule`; the record still reads as `kept`, and nothing is audited. */
  const refusedAsStale = <A, E extends { readonly _tag: string }, R, K, KE, KR>(
    update: Effect.Effect<A, E, R>,
    rule: string,
    reread: Effect.Effect<K, KE, KR>,
    kept: K
  ) =>
    Effect.gen(function* () {
      const events = yield* eventCount
      const stale = yield* expectError(update, "InvalidState", rule)
      assert.strictEqual((stale as unknown as Errors.InvalidState).code, "revision.stale")
      assert.deepStrictEqual(yield* reread, kept, "the change made since is kept")
      assert.strictEqual(yield* eventCount, events, "nothing audited")
    })
  const accountRevision = Revision.of(Member.Account)
  const managerRevision = Revision.of(Member.TechnologyManager)

  it.effect(
    "§3: an account's update naming the revision it was read at goes ahead; one naming an older revision is refused (revision.stale) and changes and audits nothing; of several revisions named, any one matches, and * any; the revision changes with each field an operator updates",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const read = yield* accountOf(yield* secondAccount(world, world.institution))
          const first = yield* accountRevision(read)
          assert.match(first, /^[0-9a-f]{32}$/)
          assert.strictEqual(yield* accountRevision({ ...read }), first, "a digest of the record as it is")
          const renamed = yield* membership.updateAccount(world.operator, {
            accountId: read.id,
            name: "王联系人",
            phone: read.phone,
            active: true,
            ifRevision: [first]
          })
          const second = yield* accountRevision(renamed)
          assert.notStrictEqual(second, first)
          yield* refusedAsStale(
            membership.updateAccount(world.operator, {
              accountId: read.id,
              name: read.name,
              phone: read.phone,
              active: false,
              ifRevision: [first]
            }),
            "§3",
            accountOf(read.id),
            renamed
          )
          const off = yield* membership.updateAccount(world.operator, {
            accountId: read.id,
            name: renamed.name,
            phone: renamed.phone,
            active: false,
            ifRevision: [first, "not-a-revision", second]
          })
          assert.isFalse(off.active)
          const moved = yield* membership.updateAccount(world.operator, {
            accountId: read.id,
            name: off.name,
            phone: `+86${Fixtures.nextPhone()}`,
            active: false,
            ifRevision: ["*"]
          })
          const revisions = [first, second, yield* accountRevision(off), yield* accountRevision(moved)]
          assert.strictEqual(new Set(revisions).size, 4, "name, active and phone each change it")
        })
      )
  )

  it.effect(
    "R1: a technology manager's update naming the revision it was read at goes ahead; one naming an older revision is refused (revision.stale) and changes and audits nothing",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          const read = yield* managerOf(world.manager)
          const first = yield* managerRevision(read)
          const retired = yield* membership.updateTechnologyManager(world.institution.account, {
            technologyManagerId: read.id,
            name: read.name,
            phone: read.phone,
            active: false,
            ifRevision: [first]
          })
          yield* refusedAsStale(
            membership.updateTechnologyManager(world.institution.account, {
              technologyManagerId: read.id,
              name: "李经理（更正）",
              phone: read.phone,
              active: true,
              ifRevision: [first]
            }),
            "R1",
            managerOf(read.id),
            retired
          )
          const back = yield* membership.updateTechnologyManager(world.institution.account, {
            technologyManagerId: read.id,
            name: read.name,
            phone: read.phone,
            active: true,
            ifRevision: [yield* managerRevision(retired)]
          })
          assert.deepStrictEqual(back, read)
          assert.strictEqual(yield* managerRevision(back), first, "the same record, the same revision")
        })
      )
  )
})
