import { assert, it } from "@effect/vitest"
import { Ids, Persistence } from "@zhongbao/core"
import { Effect } from "effect"
import { type Harness, none } from "./harness.js"
import * as Rows from "./rows.js"

/**
 * Ids no row has: a fresh UUID, and strings that are valid ids (1–64 characters)
 * but no UUID, which an adapter storing ids as `uuid` must still answer with "none".
 */
const unknownIds = (): ReadonlyArray<string> => [Ids.make(), "not-a-uuid", "0", "需求-1", "x".repeat(64)]

/** @internal Lookups of unknown ids answer `Option.none` (or nothing) rather than fail. */
export const notFound = (h: Harness): void => {
  it.effect(
    "findById of unknown ids is Option.none for every repository",
    () =>
      h.run(
        Effect.gen(function* () {
          yield* Rows.insertParties
          const members = yield* Persistence.MemberRepository
          const accounts = yield* Persistence.AccountRepository
          const managers = yield* Persistence.TechnologyManagerRepository
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const consultations = yield* Persistence.ConsultationRepository
          const commissions = yield* Persistence.CommissionRepository
          const uow = yield* Persistence.UnitOfWork
          for (const raw of unknownIds()) {
            const label = (what: string) => `${what}(${JSON.stringify(raw)})`
            none(yield* members.findById(raw as Ids.MemberId), label("members.findById"))
            none(yield* accounts.findById(raw as Ids.AccountId), label("accounts.findById"))
            none(yield* managers.findById(raw as Ids.TechnologyManagerId), label("managers.findById"))
            none(yield* demands.findById(raw as Ids.DemandId), label("demands.findById"))
            none(
              yield* uow.transaction(demands.findByIdForUpdate(raw as Ids.DemandId)),
              label("demands.findByIdForUpdate")
            )
            none(yield* responses.findById(raw as Ids.ResponseId), label("responses.findById"))
            none(
              yield* consultations.findThreadById(raw as Ids.ThreadId),
              label("consultations.findThreadById")
            )
            none(
              yield* uow.transaction(consultations.findThreadForUpdate(raw as Ids.ThreadId)),
              label("consultations.findThreadForUpdate")
            )
            none(yield* commissions.findById(raw as Ids.CommissionId), label("commissions.findById"))
            none(
              yield* uow.transaction(commissions.findByIdForUpdate(raw as Ids.CommissionId)),
              label("commissions.findByIdForUpdate")
            )
          }
        })
      ),
    h.timeout
  )

  it.effect(
    "lookups by unknown keys find nothing: findByIds, findActive, findThread, findOpen, idempotency, service log, messages",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const consultations = yield* Persistence.ConsultationRepository
          const serviceLog = yield* Persistence.ServiceLogRepository
          const commissions = yield* Persistence.CommissionRepository
          const idempotency = yield* Persistence.IdempotencyRepository
          const audit = yield* Persistence.AuditRepository
          const known = Rows.demand(
            p.enterprise.id,
            p.enterpriseAccount.id,
            Rows.publishedFields("ZB20260001")
          )
          yield* demands.insert(known)
          for (const raw of unknownIds()) {
            const label = (what: string) => `${what}(${JSON.stringify(raw)})`
            const demandId = raw as Ids.DemandId
            assert.deepStrictEqual(yield* demands.findByIds([demandId]), [], label("demands.findByIds"))
            none(yield* responses.findActive(demandId, 1, p.responder.id), label("responses.findActive"))
            none(
              yield* responses.findActive(known.id, 1, raw as Ids.MemberId),
              label("responses.findActive(known demand)")
            )
            assert.deepStrictEqual(
              yield* responses.listByDemandRound(demandId, 1),
              [],
              label("responses.listByDemandRound")
            )
            none(yield* consultations.findThread(demandId, p.responder.id), label("consultations.findThread"))
            assert.deepStrictEqual(
              yield* consultations.listMessages(raw as Ids.ThreadId, 0, 10),
              [],
              label("consultations.listMessages")
            )
            assert.strictEqual(yield* serviceLog.lastSeq(demandId), 0, label("serviceLog.lastSeq"))
            assert.deepStrictEqual(yield* serviceLog.list(demandId, 0, 10), [], label("serviceLog.list"))
            none(
              yield* commissions.findOpen(raw as Ids.MemberId, p.institution.id),
              label("commissions.findOpen")
            )
            none(yield* idempotency.find(p.enterpriseAccount.id, raw), label("idempotency.find"))
            none(
              yield* idempotency.find(raw as Ids.AccountId, "some-key"),
              label("idempotency.find(account)")
            )
            assert.deepStrictEqual(
              yield* audit.list({ demandId, limit: 10 }),
              [],
              label("audit.list(demandId)")
            )
          }
          none(yield* responses.findActive(known.id, 1, p.responder.id), "findActive with no response")
          assert.strictEqual(yield* serviceLog.lastSeq(known.id), 0, "lastSeq of a demand without entries")
        })
      ),
    h.timeout
  )
}
