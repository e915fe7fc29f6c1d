import { createHash } from "node:crypto"
import { assert, it } from "@effect/vitest"
import {
  type Demand,
  FileStore,
  Files,
  Ids,
  Notification,
  Outcome,
  Persistence,
  Reward,
  Rewards,
  SortKeys
} from "@zhongbao/core"
import { DateTime, Effect, TestClock } from "effect"
import * as Fixtures from "../Fixtures.js"
import { expectPages, failsWith, type Harness, minutesAfter, none, readAll, same, some } from "./harness.js"
import * as Rows from "./rows.js"

/**
 * What an application's items refer to, inserted first so that references hold: a
 * solved demand of the institution and a proof file it owns.
 */
const insertItems = (p: Rows.Parties) =>
  Effect.gen(function* () {
    const demands = yield* Persistence.DemandRepository
    const store = yield* FileStore.FileStore
    const demand = Rows.demand(p.institution.id, p.institutionAccount.id, {
      ...Rows.publishedFields("ZB20260901"),
      form: Rows.minimalForm({ technologyManagerId: p.manager.id }),
      state: "solved",
      outcome: "solved",
      serviceFee: Rows.fen(2_000_000),
      intakeClosedAt: minutesAfter(5),
      selectionEndedAt: minutesAfter(5),
      closedAt: minutesAfter(5),
      version: 2
    })
    yield* demands.insert(demand)
    const proofs: Array<Ids.FileId> = []
    for (const name of ["技术合同.pdf", "发票.pdf"]) {
      const bytes = Rows.pdfBytes(256)
      const file = Rows.storedFile(
        p.institution.id,
        bytes,
        createHash("sha256").update(bytes).digest("hex"),
        {
          name
        }
      )
      yield* store.put(file, bytes)
      proofs.push(file.id)
    }
    return { demand, proofs }
  })

const items = (demand: Demand.Demand, proofs: ReadonlyArray<Ids.FileId>): Array<Reward.ApplicationItem> => [
  { demandId: demand.id, proofs }
]

/** @internal Reward rounds, institution profiles and applications (R50–R53), and the reward flow. */
export const rewards = (h: Harness): void => {
  it.effect(
    "R50: rounds round-trip (findRound, findRoundForShare, findRoundForUpdate); closing with version + 1 persists; a lost update → StaleWrite",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.RewardRepository
          const round = Rows.rewardRound(p.operator.id)
          yield* repo.insertRound(round)
          same(Reward.RewardRound, some(yield* repo.findRound(round.id), "round"), round, "an open round")
          const closed: Reward.RewardRound = {
            ...round,
            state: "closed",
            closedBy: p.operator.id,
            closedAt: minutesAfter(90, 9),
            version: 2
          }
          yield* repo.updateRound(closed)
          same(Reward.RewardRound, some(yield* repo.findRound(round.id), "round"), closed, "after closing")
          const uow = yield* Persistence.UnitOfWork
          same(
            Reward.RewardRound,
            some(yield* uow.transaction(repo.findRoundForShare(round.id)), "round"),
            closed,
            "findRoundForShare in a unit of work"
          )
          same(
            Reward.RewardRound,
            some(yield* uow.transaction(repo.findRoundForUpdate(round.id)), "round"),
            closed,
            "findRoundForUpdate in a unit of work"
          )
          yield* failsWith(
            repo.updateRound({ ...round, title: "迟到的修改", version: 2 }),
            "StaleWrite",
            "an update from a stale copy"
          )
          yield* failsWith(
            repo.updateRound({ ...closed, version: 4 }),
            "StaleWrite",
            "an update skipping a version"
          )
          same(Reward.RewardRound, some(yield* repo.findRound(round.id), "round"), closed, "unchanged")
          yield* failsWith(
            repo.insertRound({ ...round, title: "另一批" }),
            "UniqueViolation",
            "a round id already stored"
          )
          none(yield* repo.findRound(Ids.make<Reward.RewardRoundId>()), "an unknown round")
          none(yield* repo.findRound("no-such-round" as Reward.RewardRoundId), "a round id that is no UUID")
          none(
            yield* repo.findRoundForShare(Ids.make<Reward.RewardRoundId>()),
            "findRoundForShare: an unknown round"
          )
          none(
            yield* uow.transaction(repo.findRoundForUpdate(Ids.make<Reward.RewardRoundId>())),
            "findRoundForUpdate: an unknown round"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R51: institution profiles round-trip, one per member; updateProfile with version + 1 persists; a second insert → UniqueViolation; a lost update → StaleWrite",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.RewardRepository
          const profile = Rows.institutionProfile(p.institution.id, p.institutionAccount.id)
          yield* repo.insertProfile(profile)
          same(
            Reward.InstitutionProfile,
            some(yield* repo.findProfile(p.institution.id), "profile"),
            profile,
            "findProfile"
          )
          yield* failsWith(
            repo.insertProfile(Rows.institutionProfile(p.institution.id, p.institutionAccount.id)),
            "UniqueViolation",
            "a second profile of the member"
          )
          const updated: Reward.InstitutionProfile = {
            ...profile,
            info: Rows.profileInfo({
              name: "天津市技术转移中心（更名）",
              address: "天津市滨海新区第三大街",
              bankAccount: {
                bank: "工商银行",
                accountName: "天津市技术转移中心",
                accountNumber: "62220200001"
              }
            }),
            updatedAt: minutesAfter(40, 4),
            version: 2
          }
          yield* repo.updateProfile(updated)
          same(
            Reward.InstitutionProfile,
            some(yield* repo.findProfile(p.institution.id), "profile"),
            updated,
            "after update"
          )
          yield* failsWith(
            repo.updateProfile({ ...profile, version: 2 }),
            "StaleWrite",
            "an update from a stale copy"
          )
          yield* failsWith(
            repo.updateProfile(
              Rows.institutionProfile(p.responder.id, p.responderAccount.id, { version: 2 })
            ),
            "StaleWrite",
            "an update of a member without a profile"
          )
          none(yield* repo.findProfile(p.responder.id), "a member without a profile")
          none(yield* repo.findProfile(Ids.make<Ids.MemberId>()), "an unknown member")
        })
      ),
    h.timeout
  )

  it.effect(
    "R52, R53: an application round-trips (findApplication, findApplicationOf) through draft, submitted and approved; a lost update → StaleWrite",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.RewardRepository
          const { demand, proofs } = yield* insertItems(p)
          const round = Rows.rewardRound(p.operator.id)
          yield* repo.insertRound(round)
          const draft = Rows.rewardApplication(
            round.id,
            p.institution.id,
            p.institutionAccount.id,
            items(demand, proofs)
          )
          yield* repo.insertApplication(draft)
          same(
            Reward.RewardApplication,
            some(yield* repo.findApplication(draft.id), "application"),
            draft,
            "a draft with every nullable field null"
          )
          same(
            Reward.RewardApplication,
            some(
              yield* (yield* Persistence.UnitOfWork).transaction(repo.findApplicationForUpdate(draft.id)),
              "application"
            ),
            draft,
            "findApplicationForUpdate in a unit of work"
          )
          same(
            Reward.RewardApplication,
            some(yield* repo.findApplicationOf(round.id, p.institution.id), "application of"),
            draft,
            "findApplicationOf"
          )
          const submitted: Reward.RewardApplication = {
            ...draft,
            state: "submitted",
            items: items(demand, [...proofs].reverse()),
            note: "两项证明：技术合同与发票。\n另附说明。",
            profile: Rows.profileInfo(),
            submittedAt: minutesAfter(50, 5),
            updatedAt: minutesAfter(50, 5),
            version: 2
          }
          yield* repo.updateApplication(submitted)
          same(
            Reward.RewardApplication,
            some(yield* repo.findApplication(draft.id), "application"),
            submitted,
            "submitted, with the profile snapshot and the proofs in their order"
          )
          const approved: Reward.RewardApplication = {
            ...submitted,
            state: "approved",
            amount: Rows.fen(5_000_001),
            decidedBy: p.operator.id,
            decidedAt: minutesAfter(60, 6),
            updatedAt: minutesAfter(60, 6),
            version: 3
          }
          yield* repo.updateApplication(approved)
          same(
            Reward.RewardApplication,
            some(yield* repo.findApplicationOf(round.id, p.institution.id), "application of"),
            approved,
            "approved with an amount"
          )
          yield* failsWith(
            repo.updateApplication({
              ...submitted,
              state: "rejected",
              rejectionReason: "迟到的驳回",
              version: 3
            }),
            "StaleWrite",
            "a decision from a stale copy"
          )
          same(
            Reward.RewardApplication,
            some(yield* repo.findApplication(draft.id), "application"),
            approved,
            "unchanged by the lost update"
          )
          none(yield* repo.findApplication(Ids.make<Reward.RewardApplicationId>()), "an unknown application")
          none(
            yield* (yield* Persistence.UnitOfWork).transaction(
              repo.findApplicationForUpdate(Ids.make<Reward.RewardApplicationId>())
            ),
            "an unknown application, for update"
          )
          none(
            yield* repo.findApplicationOf(round.id, p.enterprise.id),
            "a member without an application in the round"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R52: one application per institution and round → UniqueViolation; other rounds and institutions are free",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.RewardRepository
          const members = yield* Persistence.MemberRepository
          const { demand, proofs } = yield* insertItems(p)
          const round = Rows.rewardRound(p.operator.id)
          const other = Rows.rewardRound(p.operator.id, { title: "第二批", openedAt: minutesAfter(12) })
          yield* repo.insertRound(round)
          yield* repo.insertRound(other)
          const first = Rows.rewardApplication(
            round.id,
            p.institution.id,
            p.institutionAccount.id,
            items(demand, proofs)
          )
          yield* repo.insertApplication(first)
          const twin = Rows.rewardApplication(round.id, p.institution.id, p.institutionAccount.id, [
            { demandId: demand.id, proofs: proofs.slice(0, 1) }
          ])
          yield* failsWith(
            repo.insertApplication(twin),
            "UniqueViolation",
            "a second application in the round"
          )
          none(yield* repo.findApplication(twin.id), "the refused application")
          same(
            Reward.RewardApplication,
            some(yield* repo.findApplicationOf(round.id, p.institution.id), "application of"),
            first,
            "the first application stays the one of the round"
          )
          yield* failsWith(
            repo.insertApplication({ ...first, roundId: other.id }),
            "UniqueViolation",
            "an application id already stored"
          )
          const elsewhere = Rows.rewardApplication(
            other.id,
            p.institution.id,
            p.institutionAccount.id,
            items(demand, proofs)
          )
          yield* repo.insertApplication(elsewhere)
          const institution2 = Rows.member({
            kind: "transfer_institution",
            name: "滨海技术转移中心",
            registered: true
          })
          yield* members.insert(institution2)
          const account2 = Rows.account(institution2.id)
          yield* (yield* Persistence.AccountRepository).insert(account2)
          const neighbour = Rows.rewardApplication(
            round.id,
            institution2.id,
            account2.id,
            items(demand, proofs)
          )
          yield* repo.insertApplication(neighbour)
          for (const a of [elsewhere, neighbour]) {
            same(
              Reward.RewardApplication,
              some(yield* repo.findApplicationOf(a.roundId, a.institutionId), "application of"),
              a,
              "another round or institution"
            )
          }
          yield* failsWith(
            repo.updateApplication({ ...elsewhere, roundId: round.id, version: 2 }),
            "UniqueViolation",
            "moving an application onto a taken (round, institution)"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R50, R52: rounds page through (openedAt, id) descending and applications (createdAt, id) descending, by state and scope, without gap or duplicate",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.RewardRepository
          const members = yield* Persistence.MemberRepository
          const accounts = yield* Persistence.AccountRepository
          const { demand, proofs } = yield* insertItems(p)
          const rounds = Array.from({ length: 13 }, (_, i) =>
            Rows.rewardRound(p.operator.id, {
              title: `第${i + 1}批`,
              openedAt: minutesAfter(Math.floor(i / 3), 7),
              ...(i % 4 === 0
                ? { state: "closed" as const, closedBy: p.operator.id, closedAt: minutesAfter(100 + i) }
                : {})
            })
          )
          for (const r of [...rounds].reverse()) yield* repo.insertRound(r)
          const roundPages = (
            states: ReadonlyArray<Reward.RoundState> | undefined,
            expected: typeof rounds
          ) =>
            expectPages(
              `rounds ${states?.join("+") ?? "all"}`,
              (range) => repo.listRounds({ states, ...range }),
              Reward.roundKey,
              true,
              expected,
              (r) => r.id,
              4
            )
          yield* roundPages(undefined, rounds)
          yield* roundPages(
            ["open"],
            rounds.filter((r) => r.state === "open")
          )
          yield* roundPages(
            ["closed"],
            rounds.filter((r) => r.state === "closed")
          )
          yield* roundPages(["open", "closed"], rounds)

          const institutions = [p.institution.id]
          const creators = [p.institutionAccount.id]
          for (let i = 1; i < 7; i++) {
            const m = Rows.member({ kind: "transfer_institution", name: `转移机构${i}`, registered: true })
            yield* members.insert(m)
            const a = Rows.account(m.id)
            yield* accounts.insert(a)
            institutions.push(m.id)
            creators.push(a.id)
          }
          const states: ReadonlyArray<Reward.ApplicationState> = [
            "draft",
            "submitted",
            "approved",
            "rejected"
          ]
          const applications: Array<Reward.RewardApplication> = []
          for (const [r, round] of rounds.slice(0, 6).entries()) {
            for (const [i, institutionId] of institutions.entries()) {
              applications.push(
                Rows.rewardApplication(round.id, institutionId, creators[i]!, items(demand, proofs), {
                  state: states[(r + i) % 4]!,
                  createdAt: minutesAfter(20 + Math.floor((r * 7 + i) / 5), 3),
                  updatedAt: minutesAfter(90)
                })
              )
            }
          }
          for (const a of [...applications].reverse()) yield* repo.insertApplication(a)
          const applicationPages = (
            label: string,
            scope: Persistence.RewardApplicationScope,
            filter: ReadonlyArray<Reward.ApplicationState> | undefined,
            expected: ReadonlyArray<Reward.RewardApplication>
          ) =>
            expectPages(
              label,
              (range) => repo.listApplications({ scope, states: filter, ...range }),
              Reward.applicationKey,
              true,
              expected,
              (a) => a.id,
              3
            )
          for (const institutionId of institutions.slice(0, 3)) {
            const own = applications.filter((a) => a.institutionId === institutionId)
            yield* applicationPages(
              "an institution's applications",
              { _tag: "institution", memberId: institutionId },
              undefined,
              own
            )
            yield* applicationPages(
              "an institution's submitted and approved applications",
              { _tag: "institution", memberId: institutionId },
              ["submitted", "approved"],
              own.filter((a) => a.state === "submitted" || a.state === "approved")
            )
          }
          for (const round of rounds.slice(0, 3)) {
            const ofRound = applications.filter((a) => a.roundId === round.id)
            yield* applicationPages(
              "a round's applications",
              { _tag: "round", roundId: round.id },
              undefined,
              ofRound
            )
            yield* applicationPages(
              "a round's rejected applications",
              { _tag: "round", roundId: round.id },
              ["rejected"],
              ofRound.filter((a) => a.state === "rejected")
            )
          }
          const listed = yield* repo.listApplications({
            scope: { _tag: "institution", memberId: p.institution.id },
            limit: 100
          })
          for (const a of listed) {
            same(
              Reward.RewardApplication,
              a,
              applications.find((x) => x.id === a.id)!,
              "a listed application equals the inserted one"
            )
          }
          assert.deepStrictEqual(
            yield* repo.listApplications({ scope: { _tag: "round", roundId: rounds[12]!.id }, limit: 10 }),
            [],
            "a round without applications"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R50–R54: the reward flow through Rewards — open, profile, solved demand, proofs, draft, submit, reject, correct, resubmit, approve — leaves the stored state and the outbox notices",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const rewardsService = yield* Rewards.Rewards
          const files = yield* Files.Files
          const outcome = yield* Outcome.Outcome
          const repo = yield* Persistence.RewardRepository
          const outbox = yield* Persistence.Outbox
          const accounts = yield* Persistence.AccountRepository
          const store = yield* FileStore.FileStore
          const institution = world.institution
          const step = (minutes: number) =>
            Effect.zipRight(TestClock.adjust(`${minutes} minutes`), DateTime.now)

          const roundInput = {
            title: "2026年度科研众包奖励申报（第一批）",
            rules: "对在申报期内解决的众包需求，按服务费用给予奖励。",
            periodStart: "2026-05-01",
            periodEnd: "2026-05-31",
            applicationDeadline: "2026-06-15"
          }
          const round = yield* rewardsService.openRound(world.operator, roundInput)
          const profileInput = Fixtures.profileInput()
          const profile1 = yield* rewardsService.saveProfile(institution.account, profileInput)
          const published = yield* Fixtures.publish(world, institution.account, Fixtures.onBehalf(world))
          const solved = yield* outcome.solved(institution.account, {
            demandId: published.id,
            serviceFee: 2_000_000
          })
          const contract = Rows.pdfBytes(5000)
          const invoice = Rows.pdfBytes(7000)
          const proof1 = yield* files.upload(institution.account, { name: "技术合同.pdf", bytes: contract })
          const proof2 = yield* files.upload(institution.account, { name: "发票.pdf", bytes: invoice })

          const draftedAt = yield* step(60)
          const draft = yield* rewardsService.draft(institution.account, {
            roundId: round.id,
            items: [{ demandId: solved.id, proofs: [proof1.id] }],
            note: "已签订技术合同"
          })
          yield* step(60)
          yield* rewardsService.submit(institution.account, { applicationId: draft.id })
          const rejectedAt = yield* step(24 * 60)
          const rejected = yield* rewardsService.reject(world.operator, {
            applicationId: draft.id,
            reason: "缺少发票"
          })
          yield* step(30)
          const profile2 = yield* rewardsService.saveProfile(institution.account, {
            ...profileInput,
            address: "天津市滨海新区第三大街"
          })
          yield* step(30)
          const correctedItems = [{ demandId: solved.id, proofs: [proof1.id, proof2.id] }]
          yield* rewardsService.update(institution.account, {
            applicationId: draft.id,
            items: correctedItems,
            note: "补充发票"
          })
          const resubmittedAt = yield* step(60)
          yield* rewardsService.submit(institution.account, { applicationId: draft.id })
          const approvedAt = yield* step(24 * 60)
          const approved = yield* rewardsService.approve(world.operator, {
            applicationId: draft.id,
            amount: 5_000_000
          })

          same(
            Reward.RewardRound,
            some(yield* repo.findRound(round.id), "round"),
            round,
            "the round as opened"
          )
          same(
            Reward.InstitutionProfile,
            some(yield* repo.findProfile(institution.member.id), "profile"),
            profile2,
            "the profile as last saved"
          )
          assert.deepStrictEqual([profile1.version, profile2.version], [1, 2], "the profile's versions")
          const expected: Reward.RewardApplication = {
            id: draft.id,
            roundId: round.id,
            institutionId: institution.member.id,
            state: "approved",
            items: correctedItems,
            note: "补充发票",
            profile: profile2.info,
            amount: Rows.fen(5_000_000),
            rejectionReason: null,
            createdBy: institution.account,
            createdAt: draftedAt,
            updatedAt: approvedAt,
            submittedAt: resubmittedAt,
            decidedBy: world.operator,
            decidedAt: approvedAt,
            version: 6
          }
          same(
            Reward.RewardApplication,
            some(yield* repo.findApplication(draft.id), "application"),
            expected,
            "the stored application"
          )
          same(Reward.RewardApplication, approved, expected, "the approved application as returned")
          same(
            Reward.RewardApplication,
            some(yield* repo.findApplicationOf(round.id, institution.member.id), "application of"),
            expected,
            "findApplicationOf"
          )
          assert.strictEqual(rejected.rejectionReason, "缺少发票", "the rejection carried its reason")

          for (const [proof, bytes] of [
            [proof1, contract],
            [proof2, invoice]
          ] as const) {
            const kept = some(yield* store.get(proof.id), "a proof material")
            same(FileStore.StoredFile, kept.file, proof, "the proof material as uploaded")
            assert.strictEqual(
              createHash("sha256").update(kept.bytes).digest("hex"),
              createHash("sha256").update(bytes).digest("hex"),
              "the proof's bytes are kept"
            )
          }

          const phone = some(yield* accounts.findById(institution.account), "institution account").phone
          const messages = (yield* readAll(outbox.list, SortKeys.outbox, 50, "outbox")).filter(
            (m) => m.event === "reward_rejected" || m.event === "reward_approved"
          )
          const notice = (m: Notification.OutboxMessage) => ({
            event: m.event,
            recipientPhone: m.recipientPhone,
            templateId: m.templateId,
            params: m.params,
            createdAt: DateTime.formatIso(m.createdAt)
          })
          assert.deepStrictEqual(
            messages.map(notice),
            [
              {
                event: "reward_rejected",
                recipientPhone: phone,
                templateId: "ZB_REWARD_REJECTED",
                params: { round: roundInput.title },
                createdAt: DateTime.formatIso(rejectedAt)
              },
              {
                event: "reward_approved",
                recipientPhone: phone,
                templateId: "ZB_REWARD_APPROVED",
                params: { round: roundInput.title, amount: "50000.00" },
                createdAt: DateTime.formatIso(approvedAt)
              }
            ],
            "one rejection and one approval notice to the institution's account, in order"
          )
          for (const m of messages) {
            const tracked = some(yield* outbox.find(m.id), "notice")
            assert.strictEqual(tracked.delivery.status, "pending", "the notice waits for the dispatcher")
            same(
              Notification.Delivery,
              tracked.delivery,
              { ...tracked.delivery, nextAttemptAt: m.createdAt, attempts: 0, leaseOwner: null },
              "due at once"
            )
          }

          const audit = yield* Persistence.AuditRepository
          const trail = (yield* readAll(
            (range) => audit.list({ memberId: institution.member.id, ...range }),
            SortKeys.audit,
            50,
            "audit"
          ))
            .filter((e) => e.entityId === draft.id)
            .reverse()
          assert.deepStrictEqual(
            trail.map((e) => e.action),
            [
              "reward_application.drafted",
              "reward_application.submitted",
              "reward_application.rejected",
              "reward_application.updated",
              "reward_application.submitted",
              "reward_application.approved"
            ],
            "every step of the application is audited"
          )
        })
      ),
    h.timeout
  )
}
