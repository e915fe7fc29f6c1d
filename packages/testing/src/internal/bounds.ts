import { it } from "@effect/vitest"
import {
  Commission,
  Consultation,
  type Deadline,
  Demand,
  Ids,
  Member,
  type Money,
  Persistence,
  Response,
  Reward,
  ServiceLog
} from "@zhongbao/core"
import { Effect, Schema } from "effect"
import { longest } from "../Fixtures.js"
import { type Harness, minutesAfter, same, some } from "./harness.js"
import * as Rows from "./rows.js"

/** @internal The largest amount the model admits (`Money.Fen`). */
export const largestFen = Number.MAX_SAFE_INTEGER as Money.Fen

let phoneSeq = 0

/**
 * A mobile number as long as E.164 allows (15 digits: an Austrian mobile), distinct
 * per call, and one the model admits (it is decoded here).
 */
const longestPhone = (): Member.PhoneNumber =>
  Schema.decodeUnknownSync(Member.PhoneNumber)(`+4366412345${String(10_000 + (phoneSeq++ % 89_999))}`)

const first = "0001-01-01" as Deadline.LocalDate
const last = "9999-12-31" as Deadline.LocalDate

/** The parties, and a published demand of the enterprise's. */
const withPublishedDemand = Effect.gen(function* () {
  const p = yield* Rows.insertParties
  const demand = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
  yield* (yield* Persistence.DemandRepository).insert(demand)
  return { p, demand }
})

/**
 * @internal
 * Every value at the bounds the model and the use cases' inputs admit survives
 * insert then find: the longest texts of each field in characters outside the BMP
 * (a store that counts bytes or UTF-16 code units, or truncates, fails), the largest
 * amounts, the most list items, the first and last calendar dates, the longest phone
 * numbers. An adapter with narrower columns than the model refuses what the use
 * cases accept.
 */
export const bounds = (h: Harness): void => {
  it.effect(
    "§3 bounds: a member, its account and a technology manager with the longest names, region and phone numbers round-trip",
    () =>
      h.run(
        Effect.gen(function* () {
          const members = yield* Persistence.MemberRepository
          const accounts = yield* Persistence.AccountRepository
          const managers = yield* Persistence.TechnologyManagerRepository
          const institution = Rows.member({
            kind: "transfer_institution",
            name: longest(100),
            region: longest(50),
            registered: true
          })
          yield* members.insert(institution)
          same(Member.Member, some(yield* members.findById(institution.id), "member"), institution, "member")
          const account = Rows.account(institution.id, { name: longest(100), phone: longestPhone() })
          yield* accounts.insert(account)
          same(Member.Account, some(yield* accounts.findById(account.id), "account"), account, "account")
          const manager = { ...Rows.manager(institution.id), name: longest(100), phone: longestPhone() }
          yield* managers.insert(manager)
          same(
            Member.TechnologyManager,
            some(yield* managers.findById(manager.id), "manager"),
            manager,
            "manager"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R10 bounds: a demand whose every text is at its longest, with 5 keywords of 20 characters, 10 attachments, the largest investment and fee, a wide number and a late deadline round-trips, and so does its update",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.DemandRepository
          const form: Demand.DemandForm = {
            title: longest(60),
            summary: { mainProblem: longest(500), keyTechnology: longest(500), expectedGoal: longest(500) },
            // Five distinct keywords (R10 lists each once), each of 20 characters.
            keywords: [1, 2, 3, 4, 5].map((i) => `${i}${longest(19)}`),
            field: longest(40),
            intendedInvestment: largestFen,
            solvingWay: "other",
            region: longest(50),
            responseDeadline: last,
            serviceMode: longest(40),
            technologyManagerId: p.manager.id,
            clientId: p.enterprise.id,
            attachments: Array.from({ length: 10 }, () => Ids.make<Ids.FileId>()),
            contact: { name: longest(50), phone: longestPhone() }
          }
          const demand = Rows.demand(p.institution.id, p.institutionAccount.id, {
            ...Rows.publishedFields("ZB2026123456789"),
            form,
            rejectionReason: longest(500),
            outcome: "solved",
            state: "solved",
            serviceFee: largestFen,
            closedAt: minutesAfter(62, 3)
          })
          yield* repo.insert(demand)
          same(Demand.Demand, some(yield* repo.findById(demand.id), "demand"), demand, "inserted")
          const updated: Demand.Demand = {
            ...demand,
            form: { ...form, title: longest(59), keywords: [longest(20)] },
            version: demand.version + 1
          }
          yield* repo.update(updated)
          same(Demand.Demand, some(yield* repo.findById(demand.id), "demand"), updated, "updated")
        })
      ),
    h.timeout
  )

  it.effect(
    "R20, R61 bounds: a response with the longest proposal, 10 attachments and the longest feedback round-trips",
    () =>
      h.run(
        Effect.gen(function* () {
          const { p, demand } = yield* withPublishedDemand
          const repo = yield* Persistence.ResponseRepository
          const response = Rows.response(demand, p.responder.id, p.responderAccount.id, {
            proposal: {
              title: longest(100),
              content: longest(5000),
              attachments: Array.from({ length: 10 }, () => Ids.make<Ids.FileId>())
            }
          })
          yield* repo.insert(response)
          same(Response.Response, some(yield* repo.findById(response.id), "response"), response, "inserted")
          const declined: Response.Response = {
            ...response,
            status: "not_adopted",
            feedback: { reason: "other", text: longest(500) },
            version: response.version + 1
          }
          yield* repo.update(declined)
          same(Response.Response, some(yield* repo.findById(response.id), "response"), declined, "updated")
        })
      ),
    h.timeout
  )

  it.effect(
    "R22, R30, R40 bounds: the longest consultation message, service-log entry (first and last dates, 10 attachments) and commission message round-trip",
    () =>
      h.run(
        Effect.gen(function* () {
          const { p, demand } = yield* withPublishedDemand
          const consultations = yield* Persistence.ConsultationRepository
          const thread = Rows.thread(demand, p.responder.id)
          yield* consultations.insertThread(thread)
          const message = {
            ...Rows.message(thread, 1, p.responderAccount.id, "responder"),
            text: longest(2000)
          }
          yield* consultations.appendMessage(message)
          const [stored] = yield* consultations.listMessages(thread.id, 0, 10)
          same(Consultation.Message, stored!, message, "message")

          const log = yield* Persistence.ServiceLogRepository
          const entries = [1, 2].map((seq) => ({
            ...Rows.entry(demand.id, seq, p.enterpriseAccount.id),
            date: seq === 1 ? first : last,
            text: longest(2000),
            attachments: Array.from({ length: 10 }, () => Ids.make<Ids.FileId>())
          }))
          for (const entry of entries) yield* log.append(entry)
          const listed = yield* log.list(demand.id, 0, 10)
          for (const [i, entry] of entries.entries())
            same(ServiceLog.Entry, listed[i]!, entry, `entry ${i + 1}`)

          const commissions = yield* Persistence.CommissionRepository
          const commission = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id, {
            message: longest(1000)
          })
          yield* commissions.insert(commission)
          same(
            Commission.Commission,
            some(yield* commissions.findById(commission.id), "commission"),
            commission,
            "commission"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R50–R53 bounds: a reward round with the longest title and rules over the first and last dates, a profile and an application at every field's longest, and the largest amount round-trip",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const rewards = yield* Persistence.RewardRepository
          const round = Rows.rewardRound(p.operator.id, {
            title: longest(100),
            rules: longest(10_000),
            periodStart: first,
            periodEnd: last,
            applicationDeadline: last
          })
          yield* rewards.insertRound(round)
          same(Reward.RewardRound, some(yield* rewards.findRound(round.id), "round"), round, "round")
          const info = Rows.profileInfo({
            name: longest(100),
            address: longest(200),
            contact: longest(50),
            phone: longestPhone(),
            bankAccount: { bank: longest(100), accountName: longest(100), accountNumber: "9".repeat(32) }
          })
          const profile = Rows.institutionProfile(p.institution.id, p.institutionAccount.id, { info })
          yield* rewards.insertProfile(profile)
          same(
            Reward.InstitutionProfile,
            some(yield* rewards.findProfile(p.institution.id), "profile"),
            profile,
            "profile"
          )
          const application = Rows.rewardApplication(
            round.id,
            p.institution.id,
            p.institutionAccount.id,
            [],
            {
              state: "approved",
              note: longest(2000),
              profile: info,
              amount: largestFen,
              rejectionReason: longest(1000),
              submittedAt: minutesAfter(20),
              decidedBy: p.operator.id,
              decidedAt: minutesAfter(30)
            }
          )
          yield* rewards.insertApplication(application)
          same(
            Reward.RewardApplication,
            some(yield* rewards.findApplication(application.id), "application"),
            application,
            "application"
          )
        })
      ),
    h.timeout
  )
}
