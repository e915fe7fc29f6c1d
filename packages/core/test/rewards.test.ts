import { assert, describe, it } from "@effect/vitest"
import {
  type Errors,
  Files,
  type Ids,
  Membership,
  Outcome,
  Persistence,
  Revision,
  Reward,
  Rewards,
  Publishing,
  Settings
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Effect, Option } from "effect"
import { at, expectError, withWorld } from "./helpers.js"

/** Real unified social credit codes (published on the companies' licences). */
const realCodes = ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"]

/** GB 32100 computed here independently: weights as powers of 3 modulo 31. */
const checkCharacter = (first17: string) => {
  const charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
  let sum = 0
  let weight = 1
  for (const c of first17) {
    sum += charset.indexOf(c) * weight
    weight = (weight * 3) % 31
  }
  return charset[(31 - (sum % 31)) % 31]!
}

const roundInput = {
  title: "2026年度科研众包奖励申报",
  rules: "对在申报期内解决的众包需求，按服务费用给予奖励；每项需求须附技术合同或发票。",
  periodStart: "2026-05-05",
  periodEnd: "2026-05-31",
  applicationDeadline: "2026-06-15"
}

const profileInput = Fixtures.profileInput

const pdf = () => Uint8Array.from(Array.from("%PDF-1.7\n证明材料%%EOF", (c) => c.charCodeAt(0) & 0xff))

/** A demand the institution published and solved now, with a service fee. */
const solvedDemand = (world: Fixtures.World, serviceFee = 2_000_000) =>
  Effect.gen(function* () {
    const demand = yield* Fixtures.publish(world, world.institution.account, Fixtures.onBehalf(world))
    const outcome = yield* Outcome.Outcome
    return yield* outcome.solved(world.institution.account, { demandId: demand.id, serviceFee })
  })

/** A proof material uploaded by `party`. */
const proof = (party: Fixtures.Party) =>
  Effect.map(Files.Files, (files) =>
    files.upload(party.account, { name: "技术合同.pdf", bytes: pdf() })
  ).pipe(
    Effect.flatten,
    Effect.map((file) => file.id)
  )

/** An open round, two demands of the institution solved in its period with a proof each, its profile saved. */
const applying = (world: Fixtures.World) =>
  Effect.gen(function* () {
    const rewards = yield* Rewards.Rewards
    const round = yield* rewards.openRound(world.operator, roundInput)
    yield* at("2026-05-06T02:00:00Z")
    const first = yield* solvedDemand(world)
    const second = yield* solvedDemand(world, 3_500_000)
    const items = [
      { demandId: first.id, proofs: [yield* proof(world.institution)] },
      { demandId: second.id, proofs: [yield* proof(world.institution), yield* proof(world.institution)] }
    ]
    const profile = yield* rewards.saveProfile(world.institution.account, profileInput())
    return { rewards, round, first, second, items, profile }
  })

const outboxOf = (event: string) =>
  Effect.flatMap(Persistence.Outbox, (o) => o.list({ limit: 1000 })).pipe(
    Effect.map((messages) => messages.filter((m) => m.event === event))
  )

const phoneOf = (account: Ids.AccountId) =>
  Effect.flatMap(Persistence.AccountRepository, (a) => a.findById(account)).pipe(
    Effect.map((found) => Option.getOrThrow(found).phone)
  )

describe("Rewards", () => {
  it.effect("R50: an operator opens a round, anyone lists it, and closing it stops applications", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const rewards = yield* Rewards.Rewards
        const round = yield* rewards.openRound(world.operator, roundInput)
        assert.strictEqual(round.state, "open")
        assert.strictEqual(round.periodStart, "2026-05-05")
        assert.strictEqual(round.applicationDeadline, "2026-06-15")

        const listed = yield* rewards.rounds(null, {})
        assert.deepStrictEqual(
          listed.items.map((r) => r.id),
          [round.id]
        )
        assert.strictEqual((yield* rewards.round(null, { roundId: round.id })).title, roundInput.title)

        const closed = yield* rewards.closeRound(world.operator, { roundId: round.id })
        assert.strictEqual(closed.state, "closed")
        assert.deepStrictEqual((yield* rewards.rounds(null, { states: ["open"] })).items, [])
        yield* expectError(rewards.closeRound(world.operator, { roundId: round.id }), "InvalidState", "R50")

        const demand = yield* solvedDemand(world)
        const error = yield* expectError(
          rewards.draft(world.institution.account, {
            roundId: round.id,
            items: [{ demandId: demand.id, proofs: [yield* proof(world.institution)] }]
          }),
          "InvalidState",
          "R52"
        )
        assert.strictEqual((error as Errors.InvalidState).code, "reward.round_closed")
      })
    )
  )

  it.effect("R50: only an operator opens or closes a round", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const rewards = yield* Rewards.Rewards
        yield* expectError(rewards.openRound(world.institution.account, roundInput), "Denied", "R50")
        const round = yield* rewards.openRound(world.operator, roundInput)
        yield* expectError(
          rewards.closeRound(world.enterprise.account, { roundId: round.id }),
          "Denied",
          "R50"
        )
      })
    )
  )

  it.effect(
    "R50: a period ending before it starts, a deadline already past or a deadline before the period starts is refused; a period of one day, a deadline of today and a deadline on the period's first day are not",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const rewards = yield* Rewards.Rewards
          yield* expectError(
            rewards.openRound(world.operator, {
              ...roundInput,
              periodStart: "2026-06-01",
              periodEnd: "2026-05-31"
            }),
            "InvalidInput",
            "R50",
            "periodEnd"
          )
          const past = yield* expectError(
            rewards.openRound(world.operator, {
              ...roundInput,
              periodStart: "2026-04-01",
              periodEnd: "2026-04-30",
              applicationDeadline: "2026-05-03"
            }),
            "InvalidInput",
            "R50",
            "applicationDeadline"
          )
          assert.strictEqual(
            (past as { code?: string }).code,
            "reward.deadline_past",
            "a deadline already past"
          )
          yield* expectError(
            rewards.openRound(world.operator, { ...roundInput, applicationDeadline: "2026-02-30" }),
            "InvalidInput",
            "R50",
            "applicationDeadline"
          )
          const beforePeriod = yield* expectError(
            rewards.openRound(world.operator, {
              ...roundInput,
              periodStart: "2026-07-01",
              periodEnd: "2026-07-31",
              applicationDeadline: "2026-06-30"
            }),
            "InvalidInput",
            "R50",
            "applicationDeadline"
          )
          assert.strictEqual((beforePeriod as { code?: string }).code, "reward.deadline_before_period")
          const today = yield* rewards.openRound(world.operator, {
            ...roundInput,
            periodStart: "2026-05-01",
            applicationDeadline: "2026-05-04"
          })
          assert.strictEqual(today.state, "open")
          const firstDay = yield* rewards.openRound(world.operator, {
            ...roundInput,
            periodStart: "2026-06-15",
            periodEnd: "2026-06-30",
            applicationDeadline: "2026-06-15"
          })
          assert.strictEqual(
            firstDay.applicationDeadline,
            firstDay.periodStart,
            "a deadline on the period's first day"
          )
          const oneDay = yield* rewards.openRound(world.operator, {
            ...roundInput,
            periodStart: "2026-05-31",
            periodEnd: "2026-05-31"
          })
          assert.strictEqual(oneDay.periodEnd, oneDay.periodStart, "a period of one day")
          const opened = (yield* rewards.rounds(null, {})).items.map((round) => round.id)
          assert.sameMembers(opened, [today.id, firstDay.id, oneDay.id], "the refused rounds were not stored")
        })
      )
  )

  it.effect("R51: the check character follows GB 32100 (checked against an independent calculation)", () =>
    Effect.sync(() => {
      for (const code of realCodes) {
        assert.strictEqual(checkCharacter(code.slice(0, 17)), code[17], code)
        assert.strictEqual(Reward.creditCodeCheckCharacter(code.slice(0, 17)), code[17], code)
        assert.isTrue(Reward.isCreditCode(code), code)
      }
      for (const first17 of [
        "91120116MA05JJ7T1",
        "12100000400000000",
        "Y1120000ABCDEFGH0",
        "31110000MD0000001"
      ]) {
        assert.strictEqual(Reward.creditCodeCheckCharacter(first17), checkCharacter(first17), first17)
      }
      assert.isUndefined(Reward.creditCodeCheckCharacter("9135010OM000100Y4"))
    })
  )

  it.effect("R51: a registered institution saves its basic information; the credit code is normalised", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const rewards = yield* Rewards.Rewards
        assert.isNull(yield* rewards.profile(world.institution.account, {}))
        const saved = yield* rewards.saveProfile(
          world.institution.account,
          profileInput({ creditCode: " 91350100m000100y43 " })
        )
        assert.strictEqual(saved.info.creditCode, "91350100M000100Y43")
        assert.strictEqual(saved.version, 1)
        const again = yield* rewards.saveProfile(
          world.institution.account,
          profileInput({ creditCode: "91110000802100433B", address: "天津市滨海新区" })
        )
        assert.strictEqual(again.version, 2)
        assert.deepStrictEqual(yield* rewards.profile(world.institution.account, {}), again)
        assert.deepStrictEqual(
          yield* rewards.profile(world.operator, { memberId: world.institution.member.id }),
          again
        )
        yield* expectError(
          rewards.profile(world.enterprise.account, { memberId: world.institution.member.id }),
          "NotFound",
          "R5"
        )
      })
    )
  )

  it.effect(
    "R51: a save naming the revision it read goes ahead; one naming an older revision, or any (* too) when nothing was saved yet, or a first save (ifAbsent) when one was saved since, is refused (revision.stale) and keeps the information, its bank account included, auditing nothing",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const rewards = yield* Rewards.Rewards
          const audit = yield* Persistence.AuditRepository
          const revision = Revision.of(Reward.InstitutionProfile)
          const events = Effect.map(audit.list({ limit: 1000 }), (all) => all.length)
          const account = world.institution.account
          const unsaved = yield* expectError(
            rewards.saveProfile(account, { ...profileInput(), ifRevision: ["0".repeat(32)] }),
            "InvalidState",
            "R51"
          )
          assert.strictEqual((unsaved as unknown as Errors.InvalidState).code, "revision.stale")
          assert.isNull(yield* rewards.profile(account, {}), "nothing saved")
          yield* expectError(
            rewards.saveProfile(account, { ...profileInput(), ifRevision: ["*"] }),
            "InvalidState",
            "R51"
          )
          const first = yield* rewards.saveProfile(account, { ...profileInput(), ifAbsent: true })
          const another = yield* expectError(
            rewards.saveProfile(account, { ...profileInput(), ifAbsent: true }),
            "InvalidState",
            "R51"
          )
          assert.strictEqual((another as unknown as Errors.InvalidState).code, "revision.stale")
          assert.deepStrictEqual(yield* rewards.profile(account, {}), first, "the first save is kept")
          const moved = yield* rewards.saveProfile(account, {
            ...profileInput({
              bankAccount: {
                bank: "中国银行天津分行",
                accountName: "天津技术转移中心",
                accountNumber: "6217000099998888"
              }
            }),
            ifRevision: [yield* revision(first)]
          })
          const before = yield* events
          const stale = yield* expectError(
            rewards.saveProfile(account, {
              ...profileInput({ address: "旧副本的地址" }),
              ifRevision: [yield* revision(first)]
            }),
            "InvalidState",
            "R51"
          )
          assert.strictEqual((stale as unknown as Errors.InvalidState).code, "revision.stale")
          assert.deepStrictEqual(yield* rewards.profile(account, {}), moved, "the new bank account is kept")
          assert.strictEqual(yield* events, before, "nothing audited")
          const third = yield* rewards.saveProfile(account, {
            ...profileInput({ address: "天津市和平区" }),
            ifRevision: [yield* revision(first), yield* revision(moved)]
          })
          assert.deepStrictEqual(
            [third.version, third.info.address],
            [3, "天津市和平区"],
            "any one named matches"
          )
        })
      )
  )

  it.effect("R50, R51, R5: reward texts and ids refuse control characters before anything is stored", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const rewards = yield* Rewards.Rewards
        yield* expectError(
          rewards.openRound(world.operator, { ...roundInput, title: "奖励\u0000申报" }),
          "InvalidInput",
          "R50",
          "title"
        )
        assert.lengthOf((yield* rewards.rounds(null, {})).items, 0)
        yield* expectError(
          rewards.saveProfile(world.institution.account, profileInput({ contact: "张\u0001主任" })),
          "InvalidInput",
          "R51",
          "contact"
        )
        assert.isNull(yield* rewards.profile(world.institution.account, {}))
        yield* expectError(rewards.round(null, { roundId: "r\u0000" }), "InvalidInput", "R50", "roundId")
      })
    )
  )

  it.effect("R51: a credit code with a wrong check character is refused", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const rewards = yield* Rewards.Rewards
        for (const creditCode of ["91350100M000100Y44", "91110000802100433C", "91440300708461136X"]) {
          yield* expectError(
            rewards.saveProfile(world.institution.account, profileInput({ creditCode })),
            "InvalidInput",
            "R51",
            "creditCode"
          )
        }
        assert.isNull(yield* rewards.profile(world.institution.account, {}))
      })
    )
  )

  it.effect("R51: a credit code of the wrong length or with I, O, S, V or Z is refused", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const rewards = yield* Rewards.Rewards
        for (const creditCode of [
          "91350100M000100Y4",
          "91350100M000100Y433",
          "9135010OM000100Y43",
          "91350100M00010SY43"
        ]) {
          yield* expectError(
            rewards.saveProfile(world.institution.account, profileInput({ creditCode })),
            "InvalidInput",
            "R51",
            "creditCode"
          )
        }
        yield* expectError(
          rewards.saveProfile(world.institution.account, profileInput({ phone: "12345" })),
          "InvalidInput",
          "R51",
          "phone"
        )
        yield* expectError(
          rewards.saveProfile(
            world.institution.account,
            profileInput({ bankAccount: { bank: "中国银行", accountName: "中心", accountNumber: "62-17" } })
          ),
          "InvalidInput",
          "R51",
          "bankAccount.accountNumber"
        )
      })
    )
  )

  it.effect("R51: only a registered institution keeps basic information", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const rewards = yield* Rewards.Rewards
        yield* expectError(rewards.saveProfile(world.unregistered.account, profileInput()), "Denied", "R51")
        yield* expectError(rewards.saveProfile(world.enterprise.account, profileInput()), "Denied", "R51")
        yield* expectError(rewards.saveProfile(world.operator, profileInput()), "Denied", "R51")
      })
    )
  )

  it.effect(
    "R52: an institution drafts and submits its solved demands with proofs; submission snapshots its information",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const { rewards, round, items, profile } = yield* applying(world)
          const draft = yield* rewards.draft(world.institution.account, {
            roundId: round.id,
            items,
            note: "两项需求均已签订技术合同"
          })
          assert.strictEqual(draft.state, "draft")
          assert.isNull(draft.profile)
          assert.deepStrictEqual(draft.items, items)

          yield* at("2026-06-10T02:00:00Z")
          const submitted = yield* rewards.submit(world.institution.account, { applicationId: draft.id })
          assert.strictEqual(submitted.state, "submitted")
          assert.deepStrictEqual(submitted.profile, profile.info)

          yield* rewards.saveProfile(
            world.institution.account,
            profileInput({ name: "天津市技术转移中心（新）" })
          )
          const read = yield* rewards.application(world.institution.account, { applicationId: draft.id })
          assert.strictEqual(read.profile?.name, "天津技术转移中心")
          yield* expectError(
            rewards.submit(world.institution.account, { applicationId: draft.id }),
            "InvalidState",
            "R52"
          )
        })
      )
  )

  it.effect(
    "R1, R52: an operator reads an institution's application but does not update or submit it (Denied: institutions apply); it stays as it was",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const { rewards, round, items } = yield* applying(world)
          const draft = yield* rewards.draft(world.institution.account, { roundId: round.id, items })
          assert.strictEqual(
            (yield* rewards.application(world.operator, { applicationId: draft.id })).id,
            draft.id
          )
          for (const edit of [
            rewards.update(world.operator, { applicationId: draft.id, items: items.slice(0, 1) }),
            rewards.submit(world.operator, { applicationId: draft.id })
          ]) {
            const error = yield* expectError(edit, "Denied", "R1")
            assert.strictEqual((error as { code?: string }).code, "reward.institution_only")
          }
          const unchanged = yield* rewards.application(world.institution.account, { applicationId: draft.id })
          assert.strictEqual(unchanged.state, "draft")
          assert.deepStrictEqual(unchanged.items, items)
        })
      )
  )

  it.effect(
    "R52: a demand solved on the period's first day, from its first millisecond, counts; one solved the millisecond before does not",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const rewards = yield* Rewards.Rewards
          const round = yield* rewards.openRound(world.operator, roundInput)
          yield* at("2026-05-04T15:59:59.999Z")
          const dayBefore = yield* solvedDemand(world)
          yield* at("2026-05-04T16:00:00Z")
          const firstDay = yield* solvedDemand(world)
          const file = yield* proof(world.institution)
          yield* expectError(
            rewards.draft(world.institution.account, {
              roundId: round.id,
              items: [{ demandId: dayBefore.id, proofs: [file] }]
            }),
            "InvalidInput",
            "R52"
          )
          const drafted = yield* rewards.draft(world.institution.account, {
            roundId: round.id,
            items: [{ demandId: firstDay.id, proofs: [file] }]
          })
          assert.deepStrictEqual(
            drafted.items.map((i) => i.demandId),
            [firstDay.id]
          )
        })
      )
  )

  it.effect(
    "R52: a demand not solved, solved outside the period, or not the institution's own is refused",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const rewards = yield* Rewards.Rewards
          const round = yield* rewards.openRound(world.operator, roundInput)
          const before = yield* solvedDemand(world)
          yield* at("2026-05-06T02:00:00Z")
          const open = yield* Fixtures.publish(world, world.institution.account, Fixtures.onBehalf(world))
          const enterprises = yield* Fixtures.publish(world, world.enterprise.account)
          yield* (yield* Outcome.Outcome).solved(world.enterprise.account, { demandId: enterprises.id })
          const drafted = yield* (yield* Publishing.Publishing).draft(
            world.institution.account,
            yield* Fixtures.form(Fixtures.onBehalf(world))
          )
          yield* at("2026-05-31T15:59:59.999Z")
          const lastDay = yield* solvedDemand(world)
          yield* at("2026-05-31T16:00:00Z")
          const after = yield* solvedDemand(world)
          const file = yield* proof(world.institution)

          const cases: ReadonlyArray<readonly [Ids.DemandId, string]> = [
            [open.id, "reward.demand_not_solved"],
            [drafted.id, "reward.demand_not_solved"],
            [before.id, "reward.demand_outside_period"],
            [after.id, "reward.demand_outside_period"],
            [enterprises.id, "reward.demand_not_own"],
            ["no-such-demand" as Ids.DemandId, "reward.demand_not_own"]
          ]
          for (const [demandId, code] of cases) {
            const error = yield* expectError(
              rewards.draft(world.institution.account, {
                roundId: round.id,
                items: [
                  { demandId: lastDay.id, proofs: [file] },
                  { demandId, proofs: [file] }
                ]
              }),
              "InvalidInput",
              "R52",
              "items.1.demandId"
            )
            assert.strictEqual((error as Errors.InvalidInput).code, code, demandId)
          }
          yield* expectError(
            rewards.draft(world.institution.account, {
              roundId: round.id,
              items: [
                { demandId: lastDay.id, proofs: [file] },
                { demandId: lastDay.id, proofs: [file] }
              ]
            }),
            "InvalidInput",
            "R52",
            "items.1.demandId"
          )
          const ok = yield* rewards.draft(world.institution.account, {
            roundId: round.id,
            items: [{ demandId: lastDay.id, proofs: [file] }]
          })
          assert.strictEqual(ok.state, "draft")
        })
      )
  )

  it.effect("R52: each demand needs at least one proof material, a file the institution uploaded", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const { rewards, round, first } = yield* applying(world)
        yield* expectError(
          rewards.draft(world.institution.account, {
            roundId: round.id,
            items: [{ demandId: first.id, proofs: [] }]
          }),
          "InvalidInput",
          "R52",
          "items.0.proofs"
        )
        yield* expectError(
          rewards.draft(world.institution.account, { roundId: round.id, items: [] }),
          "InvalidInput",
          "R52",
          "items"
        )
        const foreign = yield* proof(world.enterprise)
        const own = yield* proof(world.institution)
        for (const fileId of [foreign, "no-such-file" as Ids.FileId]) {
          yield* expectError(
            rewards.draft(world.institution.account, {
              roundId: round.id,
              items: [{ demandId: first.id, proofs: [own, fileId] }]
            }),
            "InvalidInput",
            "R52",
            "items.0.proofs.1"
          )
        }
      })
    )
  )

  it.effect(
    "R52: one application per institution and round; only a registered institution applies (R1)",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const { rewards, round, items } = yield* applying(world)
          yield* rewards.draft(world.institution.account, { roundId: round.id, items })
          const error = yield* expectError(
            rewards.draft(world.institution.account, { roundId: round.id, items: items.slice(0, 1) }),
            "InvalidState",
            "R52"
          )
          assert.strictEqual((error as Errors.InvalidState).code, "reward.application_exists")
          yield* expectError(
            rewards.draft(world.unregistered.account, { roundId: round.id, items }),
            "Denied",
            "R1"
          )
          yield* expectError(
            rewards.draft(world.enterprise.account, { roundId: round.id, items }),
            "Denied",
            "R1"
          )
          yield* expectError(
            rewards.draft(world.institution.account, { roundId: "no-such-round", items }),
            "NotFound",
            "R5",
            "roundId"
          )
        })
      )
  )

  it.effect("R52: an application is submitted up to the end of the deadline date, not after", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const { rewards, round, items } = yield* applying(world)
        const late = yield* rewards.openRound(world.operator, { ...roundInput, title: "第二批" })
        const unused = yield* rewards.openRound(world.operator, { ...roundInput, title: "第三批" })
        const onTime = yield* rewards.draft(world.institution.account, {
          roundId: round.id,
          items: items.slice(0, 1)
        })
        const tooLate = yield* rewards.draft(world.institution.account, {
          roundId: late.id,
          items: items.slice(1)
        })
        yield* at("2026-06-15T15:59:59.999Z")
        assert.strictEqual(
          (yield* rewards.submit(world.institution.account, { applicationId: onTime.id })).state,
          "submitted"
        )
        yield* at("2026-06-15T16:00:00Z")
        const error = yield* expectError(
          rewards.submit(world.institution.account, { applicationId: tooLate.id }),
          "InvalidState",
          "R52"
        )
        assert.strictEqual((error as Errors.InvalidState).code, "reward.deadline_passed")
        yield* expectError(
          rewards.draft(world.institution.account, { roundId: unused.id, items }),
          "InvalidState",
          "R52"
        )
      })
    )
  )

  it.effect("R52: submission needs the institution's basic information (R51)", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const rewards = yield* Rewards.Rewards
        const round = yield* rewards.openRound(world.operator, roundInput)
        yield* at("2026-05-06T02:00:00Z")
        const demand = yield* solvedDemand(world)
        const draft = yield* rewards.draft(world.institution.account, {
          roundId: round.id,
          items: [{ demandId: demand.id, proofs: [yield* proof(world.institution)] }]
        })
        yield* expectError(
          rewards.submit(world.institution.account, { applicationId: draft.id }),
          "InvalidState",
          "R51"
        )
        yield* rewards.saveProfile(world.institution.account, profileInput())
        const submitted = yield* rewards.submit(world.institution.account, { applicationId: draft.id })
        assert.strictEqual(submitted.profile?.creditCode, "91350100M000100Y43")
      })
    )
  )

  it.effect("R53: an operator approves with an amount and the institution is notified", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const { rewards, round, items } = yield* applying(world)
        const draft = yield* rewards.draft(world.institution.account, { roundId: round.id, items })
        yield* rewards.submit(world.institution.account, { applicationId: draft.id })
        yield* expectError(
          rewards.approve(world.operator, { applicationId: draft.id, amount: 0 }),
          "InvalidInput",
          "R53",
          "amount"
        )
        yield* expectError(
          rewards.approve(world.operator, { applicationId: draft.id, amount: 12.5 }),
          "InvalidInput",
          "R53",
          "amount"
        )
        yield* rewards.closeRound(world.operator, { roundId: round.id })
        const approved = yield* rewards.approve(world.operator, {
          applicationId: draft.id,
          amount: 5_000_000
        })
        assert.strictEqual(approved.state, "approved")
        assert.strictEqual(approved.amount, 5_000_000)
        assert.isNotNull(approved.decidedAt)

        const notices = yield* outboxOf("reward_approved")
        assert.strictEqual(notices.length, 1)
        assert.strictEqual(notices[0]!.recipientPhone, yield* phoneOf(world.institution.account))
        assert.deepStrictEqual(notices[0]!.params, { round: roundInput.title, amount: "50000.00" })
        yield* expectError(
          rewards.reject(world.operator, { applicationId: draft.id, reason: "重复" }),
          "InvalidState",
          "R53"
        )
      })
    )
  )

  it.effect(
    "R64, R53: a platform whose rejection template names `reason` sends the operator's reason; the default template does not",
    () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const { rewards, round, items } = yield* applying(world)
            const draft = yield* rewards.draft(world.institution.account, { roundId: round.id, items })
            yield* rewards.submit(world.institution.account, { applicationId: draft.id })
            yield* rewards.reject(world.operator, { applicationId: draft.id, reason: "第二项需求缺少发票" })
            const notices = yield* outboxOf("reward_rejected")
            assert.isAbove(notices.length, 0)
            for (const notice of notices)
              assert.deepStrictEqual(notice.params, { reason: "第二项需求缺少发票", round: roundInput.title })
          }),
        {
          smsTemplates: {
            ...Settings.defaults.smsTemplates,
            reward_rejected: { templateId: "ZB_REWARD_REJECTED", params: ["round", "reason"] }
          }
        }
      )
  )

  it.effect(
    "R53: a rejected application is corrected and resubmitted while the round is open, not after",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const { rewards, round, items } = yield* applying(world)
          const draft = yield* rewards.draft(world.institution.account, { roundId: round.id, items })
          yield* rewards.submit(world.institution.account, { applicationId: draft.id })
          const rejected = yield* rewards.reject(world.operator, {
            applicationId: draft.id,
            reason: "第二项需求缺少发票"
          })
          assert.strictEqual(rejected.state, "rejected")
          assert.strictEqual(rejected.rejectionReason, "第二项需求缺少发票")
          const notices = yield* outboxOf("reward_rejected")
          assert.strictEqual(notices.length, 1)
          assert.deepStrictEqual(notices[0]!.params, { round: roundInput.title })

          const corrected = yield* rewards.update(world.institution.account, {
            applicationId: draft.id,
            items: items.slice(0, 1),
            note: "撤回第二项"
          })
          assert.strictEqual(corrected.state, "draft")
          assert.strictEqual(corrected.items.length, 1)
          yield* rewards.submit(world.institution.account, { applicationId: draft.id })
          yield* rewards.reject(world.operator, { applicationId: draft.id, reason: "金额依据不足" })
          assert.strictEqual((yield* outboxOf("reward_rejected")).length, 2)

          yield* rewards.closeRound(world.operator, { roundId: round.id })
          const error = yield* expectError(
            rewards.submit(world.institution.account, { applicationId: draft.id }),
            "InvalidState",
            "R53"
          )
          assert.strictEqual((error as Errors.InvalidState).code, "reward.round_closed")
          yield* expectError(
            rewards.update(world.institution.account, { applicationId: draft.id, items }),
            "InvalidState",
            "R53"
          )
        })
      )
  )

  it.effect(
    "R52: an update naming the version the application was read at goes ahead; one naming an older version is refused (revision.stale) and changes and audits nothing; * matches any",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const { rewards, round, items } = yield* applying(world)
          const audit = yield* Persistence.AuditRepository
          const events = Effect.map(audit.list({ limit: 1000 }), (all) => all.length)
          const me = world.institution.account
          const read = yield* rewards.draft(me, { roundId: round.id, items })
          const trimmed = yield* rewards.update(me, {
            applicationId: read.id,
            items: items.slice(0, 1),
            note: "只报第一项",
            ifVersion: [String(read.version)]
          })
          assert.strictEqual(trimmed.version, read.version + 1)
          const before = yield* events
          const stale = yield* expectError(
            rewards.update(me, { applicationId: read.id, items, ifVersion: [String(read.version)] }),
            "InvalidState",
            "R52"
          )
          assert.strictEqual((stale as Errors.InvalidState).code, "revision.stale")
          assert.deepStrictEqual(
            yield* rewards.application(me, { applicationId: read.id }),
            trimmed,
            "the update made since is kept"
          )
          assert.strictEqual(yield* events, before, "nothing audited")
          const again = yield* rewards.update(me, {
            applicationId: read.id,
            items,
            ifVersion: ["0", String(trimmed.version)]
          })
          assert.lengthOf(again.items, items.length)
          const any = yield* rewards.update(me, {
            applicationId: read.id,
            items,
            note: "任意",
            ifVersion: ["*"]
          })
          assert.strictEqual(any.note, "任意")
        })
      )
  )

  it.effect(
    "R52: a demand is claimed once: rounds whose periods overlap cannot both take it, until the first application is rejected",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const { rewards, round, first, items } = yield* applying(world)
          const special = yield* rewards.openRound(world.operator, {
            ...roundInput,
            title: "2026年度新材料专项奖励",
            periodStart: "2026-05-01"
          })
          const annual = yield* rewards.draft(world.institution.account, { roundId: round.id, items })
          yield* rewards.submit(world.institution.account, { applicationId: annual.id })
          const again = yield* rewards.draft(world.institution.account, {
            roundId: special.id,
            items: [items[1]!]
          })
          const error = yield* expectError(
            rewards.submit(world.institution.account, { applicationId: again.id }),
            "InvalidInput",
            "R52",
            "items.0.demandId"
          )
          assert.strictEqual((error as Errors.InvalidInput).code, "reward.demand_claimed")
          const unchanged = yield* rewards.application(world.institution.account, { applicationId: again.id })
          assert.strictEqual(unchanged.state, "draft", "the refused application stays a draft")

          yield* rewards.reject(world.operator, { applicationId: annual.id, reason: "第二项需求缺少发票" })
          const moved = yield* rewards.submit(world.institution.account, { applicationId: again.id })
          assert.strictEqual(moved.state, "submitted", "once rejected, the demand may be claimed elsewhere")
          yield* rewards.approve(world.operator, { applicationId: again.id, amount: 100_000 })
          yield* rewards.update(world.institution.account, { applicationId: annual.id, items })
          yield* expectError(
            rewards.submit(world.institution.account, { applicationId: annual.id }),
            "InvalidInput",
            "R52",
            "items.1.demandId"
          )
          yield* rewards.update(world.institution.account, {
            applicationId: annual.id,
            items: items.filter((i) => i.demandId === first.id)
          })
          const resubmitted = yield* rewards.submit(world.institution.account, { applicationId: annual.id })
          assert.deepStrictEqual(
            resubmitted.items.map((i) => i.demandId),
            [first.id],
            "the other demand is still claimed, by the approved application"
          )
        })
      )
  )

  it.effect("R53: only an operator reviews, and only a submitted application", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const { rewards, round, items } = yield* applying(world)
        const draft = yield* rewards.draft(world.institution.account, { roundId: round.id, items })
        yield* expectError(
          rewards.approve(world.operator, { applicationId: draft.id, amount: 100 }),
          "InvalidState",
          "R53"
        )
        yield* rewards.submit(world.institution.account, { applicationId: draft.id })
        yield* expectError(
          rewards.approve(world.institution.account, { applicationId: draft.id, amount: 100 }),
          "Denied",
          "R53"
        )
        yield* expectError(
          rewards.reject(world.enterprise.account, { applicationId: draft.id, reason: "不符合" }),
          "Denied",
          "R53"
        )
        yield* expectError(
          rewards.update(world.institution.account, { applicationId: draft.id, items }),
          "InvalidState",
          "R53"
        )
      })
    )
  )

  it.effect("R53: operators list a round's applications, an institution its own; others see none (R5)", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const { rewards, round, items } = yield* applying(world)
        const draft = yield* rewards.draft(world.institution.account, { roundId: round.id, items })
        yield* rewards.submit(world.institution.account, { applicationId: draft.id })

        const membership = yield* Membership.Membership
        const other = yield* membership.createMember(world.operator, {
          kind: "transfer_institution",
          name: "滨海技术转移中心"
        })
        yield* membership.registerInstitution(world.operator, { memberId: other.id })
        const otherAccount = yield* membership.createAccount(world.operator, {
          memberId: other.id,
          name: "滨海联系人",
          phone: Fixtures.nextPhone()
        })

        const ofRound = yield* rewards.roundApplications(world.operator, { roundId: round.id })
        assert.deepStrictEqual(
          ofRound.items.map((a) => a.id),
          [draft.id]
        )
        assert.deepStrictEqual(
          (yield* rewards.roundApplications(world.operator, { roundId: round.id, states: ["approved"] }))
            .items,
          []
        )
        assert.deepStrictEqual(
          (yield* rewards.myApplications(world.institution.account, {})).items.map((a) => a.id),
          [draft.id]
        )
        assert.deepStrictEqual((yield* rewards.myApplications(otherAccount.id, {})).items, [])
        yield* expectError(
          rewards.roundApplications(world.institution.account, { roundId: round.id }),
          "Denied",
          "R53"
        )
        yield* expectError(
          rewards.application(otherAccount.id, { applicationId: draft.id }),
          "NotFound",
          "R5"
        )
        yield* expectError(rewards.submit(otherAccount.id, { applicationId: draft.id }), "NotFound", "R5")
        assert.strictEqual(
          (yield* rewards.application(world.operator, { applicationId: draft.id })).id,
          draft.id
        )
      })
    )
  )

  it.effect("R54: proof materials stay downloadable with their checksum after approval", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const { rewards, round, items } = yield* applying(world)
        const draft = yield* rewards.draft(world.institution.account, { roundId: round.id, items })
        yield* rewards.submit(world.institution.account, { applicationId: draft.id })
        yield* rewards.approve(world.operator, { applicationId: draft.id, amount: 100_000 })
        const files = yield* Files.Files
        for (const fileId of items.flatMap((i) => i.proofs)) {
          const { file, bytes } = yield* files.download(world.operator, { fileId })
          assert.strictEqual(file.contentType, "application/pdf")
          assert.strictEqual(bytes.length, file.size)
          assert.match(file.sha256, /^[0-9a-f]{64}$/)
        }
      })
    )
  )
})
