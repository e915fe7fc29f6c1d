import { assert, it } from "@effect/vitest"
import {
  Commission,
  Demand,
  FileStore,
  Idempotency,
  Ids,
  Persistence,
  Response,
  SortKeys
} from "@zhongbao/core"
import { DateTime, Effect, Option, type Schema } from "effect"
import { failsWith, type Harness, minutesAfter, none, readAll, same, some, succeeds } from "./harness.js"
import * as Rows from "./rows.js"

/** @internal Unique keys refuse a second holder; versioned updates refuse a lost update. */
/**
 * `row`, a closed record one version on from the stored one, updated while an open
 * record holds the unique key, then read back as written.
 */
const updatedBeside = <A extends { readonly id: string }, I, E1, R1, E2, R2>(
  schema: Schema.Schema<A, I>,
  repo: {
    readonly update: (row: A) => Effect.Effect<unknown, E1, R1>
    readonly findById: (id: A["id"]) => Effect.Effect<Option.Option<A>, E2, R2>
  },
  row: A,
  state: string,
  labels: { readonly update: string; readonly read: string }
) =>
  Effect.gen(function* () {
    yield* succeeds(repo.update(row), labels.update)
    same(schema, some(yield* repo.findById(row.id), state), row, labels.read)
  })

export const uniqueness = (h: Harness): void => {
  it.effect(
    "R63: an idempotency record is kept under its account and its key, whatever characters they hold: account x with key y/k and account x/y with key k are two records, through IdempotencyRepository, Journal.write and findWithMemberAndRecord",
    () =>
      h.run(
        Effect.gen(function* () {
          const accounts = yield* Persistence.AccountRepository
          const idempotency = yield* Persistence.IdempotencyRepository
          const base = Ids.make<Ids.AccountId>()
          const [x, xy, xyz] = [base, `${base}/y`, `${base}/y/z`].map((id) =>
            Rows.account(null, { id: id as Ids.AccountId })
          )
          for (const a of [x!, xy!, xyz!]) yield* accounts.insert(a)
          const record = (account: typeof base, key: string) => ({
            ...Rows.idempotencyRecord(account, key),
            result: { account, key }
          })
          const first = record(x!.id, "y/k")
          yield* idempotency.insert(first)
          const second = record(xy!.id, "k")
          yield* succeeds(idempotency.insert(second), "account x/y, key k, beside account x, key y/k")
          const journal = yield* Effect.serviceOption(Persistence.Journal)
          const third = record(xyz!.id, "k")
          const fourth = record(xy!.id, "z/k")
          yield* succeeds(idempotency.insert(third), "account x/y/z, key k")
          if (Option.isSome(journal)) {
            yield* succeeds(
              journal.value.write({ events: [], messages: [], accountMessages: [], idempotency: fourth }),
              "Journal.write: account x/y, key z/k, beside account x/y/z, key k"
            )
          } else yield* idempotency.insert(fourth)
          for (const [r, label] of [
            [first, "x, y/k"],
            [second, "x/y, k"],
            [third, "x/y/z, k"],
            [fourth, "x/y, z/k"]
          ] as const) {
            same(
              Idempotency.IdempotencyRecord,
              some(yield* idempotency.find(r.accountId, r.key), label),
              r,
              `the record of ${label}`
            )
            if (accounts.findWithMemberAndRecord !== undefined) {
              const found = some(yield* accounts.findWithMemberAndRecord(r.accountId, r.key), label)
              same(
                Idempotency.IdempotencyRecord,
                some(found.record, `findWithMemberAndRecord(${label})`),
                r,
                `findWithMemberAndRecord's record of ${label}`
              )
            }
          }
          none(yield* idempotency.find(x!.id, "y/z/k"), "account x, key y/z/k: never used")
        })
      ),
    h.timeout
  )

  it.effect(
    "R12: a demand number already taken → UniqueViolation, on insert and on update",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.DemandRepository
          const first = Rows.demand(
            p.enterprise.id,
            p.enterpriseAccount.id,
            Rows.publishedFields("ZB20260001")
          )
          yield* repo.insert(first)
          const twin = Rows.demand(
            p.institution.id,
            p.institutionAccount.id,
            Rows.publishedFields("ZB20260001")
          )
          yield* failsWith(repo.insert(twin), "UniqueViolation", "insert with a taken number")
          none(yield* repo.findById(twin.id), "the refused demand")
          const drafts = [0, 1].map(() => Rows.demand(p.enterprise.id, p.enterpriseAccount.id))
          for (const d of drafts) yield* repo.insert(d)
          const draft = drafts[0]!
          yield* failsWith(
            repo.update({ ...draft, ...Rows.publishedFields("ZB20260001"), version: 2 }),
            "UniqueViolation",
            "update to a taken number"
          )
          same(Demand.Demand, some(yield* repo.findById(draft.id), "draft"), draft, "the draft is unchanged")
          const numbered = { ...draft, ...Rows.publishedFields("ZB20260002"), version: 2 }
          yield* repo.update(numbered)
          same(
            Demand.Demand,
            some(yield* repo.findById(draft.id), "draft"),
            numbered,
            "a free number is taken"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "an insert with an id already stored → UniqueViolation, for every repository",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const members = yield* Persistence.MemberRepository
          const accounts = yield* Persistence.AccountRepository
          const managers = yield* Persistence.TechnologyManagerRepository
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const consultations = yield* Persistence.ConsultationRepository
          const commissions = yield* Persistence.CommissionRepository
          const audit = yield* Persistence.AuditRepository
          yield* failsWith(members.insert({ ...p.responder, name: "另一家" }), "UniqueViolation", "member id")
          yield* failsWith(
            accounts.insert({ ...p.responderAccount, phone: Rows.phone() }),
            "UniqueViolation",
            "account id"
          )
          yield* failsWith(managers.insert({ ...p.manager, name: "另一位" }), "UniqueViolation", "manager id")
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
          yield* demands.insert(d)
          yield* failsWith(
            demands.insert({ ...d, number: null, state: "draft" }),
            "UniqueViolation",
            "demand id"
          )
          const r = Rows.response(d, p.responder.id, p.responderAccount.id)
          yield* responses.insert(r)
          yield* failsWith(
            responses.insert({
              ...r,
              responderId: p.institution.id,
              responderAccountId: p.institutionAccount.id
            }),
            "UniqueViolation",
            "response id"
          )
          const t = Rows.thread(d, p.responder.id)
          yield* consultations.insertThread(t)
          yield* failsWith(
            consultations.insertThread({ ...t, responderId: p.institution.id }),
            "UniqueViolation",
            "thread id"
          )
          const c = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id, {
            state: "declined"
          })
          yield* commissions.insert(c)
          yield* failsWith(
            commissions.insert({ ...c, message: "再次委托" }),
            "UniqueViolation",
            "commission id"
          )
          const e = Rows.auditEvent(p.enterpriseAccount.id, [p.enterprise.id], d.id)
          yield* audit.append(e)
          yield* failsWith(
            audit.append({ ...e, action: "demand.rejected" }),
            "UniqueViolation",
            "audit event id"
          )
          same(
            Response.Response,
            some(yield* responses.findById(r.id), "response"),
            r,
            "the first response stays"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R21: a second active response of one responder in one round → UniqueViolation; allowed once the first is withdrawn, which still updates beside the new one",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const repo = yield* Persistence.ResponseRepository
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
          yield* demands.insert(d)
          const first = Rows.response(d, p.responder.id, p.responderAccount.id)
          yield* repo.insert(first)
          const second = Rows.response(d, p.responder.id, p.responderAccount.id, {
            submittedAt: minutesAfter(11)
          })
          yield* failsWith(repo.insert(second), "UniqueViolation", "second active response")
          none(yield* repo.findById(second.id), "the refused response")
          const adoptedTwin = Rows.response(d, p.responder.id, p.responderAccount.id, { status: "adopted" })
          yield* failsWith(repo.insert(adoptedTwin), "UniqueViolation", "an adopted response is active too")
          const otherRound = Rows.response({ ...d, round: 2 }, p.responder.id, p.responderAccount.id)
          yield* repo.insert(otherRound)
          const otherResponder = Rows.response(d, p.institution.id, p.institutionAccount.id)
          yield* repo.insert(otherResponder)
          const withdrawn = {
            ...first,
            status: "withdrawn" as const,
            version: 2,
            updatedAt: minutesAfter(12)
          }
          yield* repo.update(withdrawn)
          none(yield* repo.findActive(d.id, d.round, p.responder.id), "no active response once withdrawn")
          yield* repo.insert(second)
          same(
            Response.Response,
            some(yield* repo.findActive(d.id, d.round, p.responder.id), "active response"),
            second,
            "the new response is the active one"
          )
          const adopted = {
            ...second,
            status: "adopted" as const,
            adoptedAt: minutesAfter(13),
            updatedAt: minutesAfter(13),
            version: second.version + 1
          }
          yield* repo.update(adopted)
          same(
            Response.Response,
            some(yield* repo.findById(second.id), "adopted"),
            adopted,
            "the new active response updates beside its withdrawn predecessor"
          )
          const alsoWithdrawn = Rows.response(d, p.responder.id, p.responderAccount.id, {
            status: "withdrawn"
          })
          yield* repo.insert(alsoWithdrawn)
          yield* failsWith(
            repo.update({ ...withdrawn, status: "submitted", version: 3 }),
            "UniqueViolation",
            "reactivating a withdrawn response while another (adopted) is active"
          )
          same(
            Response.Response,
            some(yield* repo.findById(first.id), "withdrawn"),
            withdrawn,
            "the refused update changed nothing"
          )
          yield* updatedBeside(
            Response.Response,
            repo,
            { ...withdrawn, updatedAt: minutesAfter(14), version: 3 },
            "withdrawn",
            {
              update: "updating a withdrawn response that stays withdrawn while another (adopted) is active",
              read: "the withdrawn response is updated beside the active one"
            }
          )
          const submitted = [first, second, otherResponder, alsoWithdrawn]
            .map((r) => [DateTime.toEpochMillis(r.submittedAt), r.id] as const)
            .sort(([at, id], [bt, bid]) => at - bt || (id < bid ? -1 : id > bid ? 1 : 0))
            .map(([, id]) => id)
          assert.deepStrictEqual(
            (yield* repo.listByDemandRound(d.id, d.round)).map((r) => r.id),
            submitted,
            "listByDemandRound: the round's responses by (submittedAt, id)"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R40: a second open commission for one enterprise and institution → UniqueViolation; allowed once the first is closed, which still updates beside the new one",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const members = yield* Persistence.MemberRepository
          const repo = yield* Persistence.CommissionRepository
          const first = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id)
          yield* repo.insert(first)
          const second = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id)
          yield* failsWith(repo.insert(second), "UniqueViolation", "second requested commission")
          yield* failsWith(
            repo.insert({ ...second, state: "active" }),
            "UniqueViolation",
            "an active commission is open too"
          )
          none(yield* repo.findById(second.id), "the refused commission")
          const otherInstitution = Rows.member({ kind: "transfer_institution", registered: true })
          yield* members.insert(otherInstitution)
          yield* repo.insert(Rows.commission(p.enterprise.id, otherInstitution.id, p.enterpriseAccount.id))
          yield* repo.insert(
            Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id, { state: "ended" })
          )
          const declined = { ...first, state: "declined" as const, decidedAt: minutesAfter(9), version: 2 }
          yield* repo.update(declined)
          yield* repo.insert(second)
          same(
            Commission.Commission,
            some(yield* repo.findOpen(p.enterprise.id, p.institution.id), "open commission"),
            second,
            "the new request is the open one"
          )
          yield* failsWith(
            repo.update({ ...declined, state: "requested", version: 3 }),
            "UniqueViolation",
            "reopening while another is open"
          )
          same(Commission.Commission, some(yield* repo.findById(first.id), "first"), declined, "unchanged")
          const accepted = { ...second, state: "active" as const, decidedAt: minutesAfter(10), version: 2 }
          yield* repo.update(accepted)
          same(
            Commission.Commission,
            some(yield* repo.findById(second.id), "accepted"),
            accepted,
            "the new request is accepted beside its declined predecessor"
          )
          yield* updatedBeside(
            Commission.Commission,
            repo,
            { ...declined, message: "委托说明（补充）", version: 3 },
            "declined",
            {
              update: "updating a declined commission that stays declined while another is open",
              read: "the declined commission is updated beside the open one"
            }
          )
          const ended = {
            ...accepted,
            state: "ended" as const,
            endedAt: minutesAfter(11),
            endedBy: p.institution.id,
            version: 3
          }
          yield* repo.update(ended)
          same(Commission.Commission, some(yield* repo.findById(second.id), "ended"), ended, "and ended")
        })
      ),
    h.timeout
  )

  it.effect(
    "R63: a second record with the same (account, key) → UniqueViolation; the first is kept",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.IdempotencyRepository
          const record = Rows.idempotencyRecord(p.enterpriseAccount.id, "order-42")
          yield* repo.insert(record)
          yield* failsWith(
            repo.insert({ ...record, fingerprint: "respond:{}", result: { other: true } }),
            "UniqueViolation",
            "duplicate idempotency key"
          )
          same(
            Idempotency.IdempotencyRecord,
            some(yield* repo.find(p.enterpriseAccount.id, "order-42"), "record"),
            record,
            "the first record is kept"
          )
          none(yield* repo.find(p.responderAccount.id, "order-42"), "another account's key")
          const otherAccount = {
            ...Rows.idempotencyRecord(p.institutionAccount.id, "order-42"),
            result: { institution: true }
          }
          yield* repo.insert(otherAccount)
          same(
            Idempotency.IdempotencyRecord,
            some(yield* repo.find(p.institutionAccount.id, "order-42"), "the other account's record"),
            otherAccount,
            "each account finds its own record under one key"
          )
          yield* succeeds(
            repo.insert(Rows.idempotencyRecord(p.enterpriseAccount.id, "ORDER-42")),
            "keys are case-sensitive (text compares exactly: Persistence): ORDER-42 beside order-42"
          )
          assert.strictEqual(
            some(yield* repo.find(p.enterpriseAccount.id, "ORDER-42"), "ORDER-42").key,
            "ORDER-42",
            "keys are case-sensitive: find names the record of that spelling"
          )
          assert.strictEqual(
            some(yield* repo.find(p.enterpriseAccount.id, "order-42"), "order-42").key,
            "order-42",
            "keys are case-sensitive: the first spelling still finds its own"
          )
          none(yield* repo.find(p.enterpriseAccount.id, "Order-42"), "a third spelling finds neither")
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: outbox messages whose dedupeKey is already there are ignored, across and within batches",
    () =>
      h.run(
        Effect.gen(function* () {
          const repo = yield* Persistence.Outbox
          const first = Rows.outboxMessage({ dedupeKey: "response_adopted:r1:+8613912345678" })
          yield* repo.enqueue([first])
          const again = Rows.outboxMessage({ dedupeKey: first.dedupeKey, createdAt: minutesAfter(30) })
          const fresh = Rows.outboxMessage({ dedupeKey: "response_adopted:r2:+8613912345678" })
          const freshTwin = Rows.outboxMessage({ dedupeKey: fresh.dedupeKey })
          yield* repo.enqueue([again, fresh, freshTwin])
          yield* repo.enqueue([again])
          const listed = yield* readAll(repo.list, SortKeys.outbox, 10, "outbox")
          assert.sameMembers(
            listed.map((m) => m.id),
            [first.id, fresh.id],
            "one message per dedupeKey, the first written"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R12: each (prefix, year) is a sequence of its own, starting at 1",
    () =>
      h.run(
        Effect.gen(function* () {
          const numbering = yield* Persistence.DemandNumbering
          const uow = yield* Persistence.UnitOfWork
          const next = (prefix: string, year: number) => uow.transaction(numbering.next(prefix, year))
          const drawn: Array<number> = []
          for (const [prefix, year] of [
            ["ZB", 2026],
            ["ZB", 2026],
            ["ZB", 2026],
            ["ZB", 2027],
            ["XQ", 2026],
            ["ZB", 2026],
            ["ZB", 2027]
          ] as const)
            drawn.push(yield* next(prefix, year))
          assert.deepStrictEqual(drawn, [1, 2, 3, 1, 1, 4, 2])
        })
      ),
    h.timeout
  )

  it.effect(
    "R22, R30: a second thread per (demand, responder), a repeated message seq or service-log seq → UniqueViolation",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const consultations = yield* Persistence.ConsultationRepository
          const serviceLog = yield* Persistence.ServiceLogRepository
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
          yield* demands.insert(d)
          const t = Rows.thread(d, p.responder.id)
          yield* consultations.insertThread(t)
          const other = Rows.demand(
            p.enterprise.id,
            p.enterpriseAccount.id,
            Rows.publishedFields("ZB20260002")
          )
          yield* demands.insert(other)
          const t2 = Rows.thread(other, p.responder.id)
          yield* consultations.insertThread(t2)
          assert.strictEqual(
            some(yield* consultations.findThread(other.id, p.responder.id), "the second demand's thread").id,
            t2.id,
            "findThread answers the thread of that demand"
          )
          assert.strictEqual(
            some(yield* consultations.findThread(d.id, p.responder.id), "the thread").id,
            t.id
          )
          none(yield* consultations.findThread(d.id, p.enterprise.id), "another member's thread")
          const twin = Rows.thread(d, p.responder.id)
          yield* failsWith(consultations.insertThread(twin), "UniqueViolation", "second thread")
          none(yield* consultations.findThreadById(twin.id), "the refused thread")
          const m1 = Rows.message(t, 1, p.responderAccount.id, "responder")
          yield* consultations.appendMessage(m1)
          yield* failsWith(
            consultations.appendMessage(Rows.message(t, 1, p.enterpriseAccount.id, "demand")),
            "UniqueViolation",
            "repeated message seq"
          )
          assert.deepStrictEqual(
            (yield* consultations.listMessages(t.id, 0, 10)).map((m) => m.id),
            [m1.id],
            "the first message is kept"
          )
          const e1 = Rows.entry(d.id, 1, p.enterpriseAccount.id)
          yield* serviceLog.append(e1)
          yield* failsWith(
            serviceLog.append(Rows.entry(d.id, 1, p.enterpriseAccount.id)),
            "UniqueViolation",
            "repeated service-log seq"
          )
          assert.deepStrictEqual(
            (yield* serviceLog.list(d.id, 0, 10)).map((e) => e.id),
            [e1.id],
            "the first entry is kept"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "an update of a row never inserted → StaleWrite, and inserts nothing, in every repository that updates (at a first version too: an update is no upsert)",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const members = yield* Persistence.MemberRepository
          const accounts = yield* Persistence.AccountRepository
          const consultations = yield* Persistence.ConsultationRepository
          const member = Rows.member()
          yield* failsWith(members.update(member), "StaleWrite", "update of a member never inserted")
          none(yield* members.findById(member.id), "no member inserted")
          const account = Rows.account(p.enterprise.id)
          yield* failsWith(accounts.update(account), "StaleWrite", "update of an account never inserted")
          none(yield* accounts.findById(account.id), "no account inserted")
          const managers = yield* Persistence.TechnologyManagerRepository
          const manager = Rows.manager(p.institution.id)
          yield* failsWith(
            managers.update(manager),
            "StaleWrite",
            "update of a technology manager never inserted"
          )
          none(yield* managers.findById(manager.id), "no technology manager inserted")
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
          yield* (yield* Persistence.DemandRepository).insert(d)
          const thread = Rows.thread(d, p.responder.id)
          yield* failsWith(
            consultations.updateThread(thread),
            "StaleWrite",
            "update of a thread never inserted"
          )
          none(yield* consultations.findThreadById(thread.id), "no thread inserted")
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const commissions = yield* Persistence.CommissionRepository
          const rewards = yield* Persistence.RewardRepository
          const demand = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, { version: 1 })
          yield* failsWith(demands.update(demand), "StaleWrite", "update of a demand never inserted")
          none(yield* demands.findById(demand.id), "no demand inserted")
          const response = Rows.response(d, p.responder.id, p.responderAccount.id)
          yield* failsWith(responses.update(response), "StaleWrite", "update of a response never inserted")
          none(yield* responses.findById(response.id), "no response inserted")
          const commission = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id)
          yield* failsWith(
            commissions.update(commission),
            "StaleWrite",
            "update of a commission never inserted"
          )
          none(yield* commissions.findById(commission.id), "no commission inserted")
          const stored = Rows.rewardRound(p.operator.id)
          yield* rewards.insertRound(stored)
          const round = Rows.rewardRound(p.operator.id)
          yield* failsWith(rewards.updateRound(round), "StaleWrite", "update of a round never inserted")
          none(yield* rewards.findRound(round.id), "no round inserted")
          const profile = Rows.institutionProfile(p.institution.id, p.institutionAccount.id)
          yield* failsWith(rewards.updateProfile(profile), "StaleWrite", "update of a profile never inserted")
          none(yield* rewards.findProfile(p.institution.id), "no profile inserted")
          const application = Rows.rewardApplication(stored.id, p.institution.id, p.institutionAccount.id, [])
          yield* failsWith(
            rewards.updateApplication(application),
            "StaleWrite",
            "update of an application never inserted"
          )
          none(yield* rewards.findApplication(application.id), "no application inserted")
          // The stored ones update as before.
          yield* members.update({ ...p.enterprise, name: "改名后的企业" })
          assert.strictEqual(some(yield* members.findById(p.enterprise.id), "member").name, "改名后的企业")
        })
      ),
    h.timeout
  )

  it.effect(
    "a method checks when its effect runs, not when the effect is made: a write made before the one it conflicts with, and run after it, is refused (every port that writes, numbering included)",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const members = yield* Persistence.MemberRepository
          const accounts = yield* Persistence.AccountRepository
          const managers = yield* Persistence.TechnologyManagerRepository
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const consultations = yield* Persistence.ConsultationRepository
          const serviceLog = yield* Persistence.ServiceLogRepository
          const commissions = yield* Persistence.CommissionRepository
          const audit = yield* Persistence.AuditRepository
          const idempotency = yield* Persistence.IdempotencyRepository
          const rewards = yield* Persistence.RewardRepository
          const numbering = yield* Persistence.DemandNumbering
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
          yield* demands.insert(d)
          const t = Rows.thread(d, p.responder.id)
          yield* consultations.insertThread(t)
          const round = Rows.rewardRound(p.operator.id)
          yield* rewards.insertRound(round)
          const member = Rows.member()
          const account = Rows.account(p.enterprise.id)
          const manager = Rows.manager(p.institution.id)
          const other = Rows.demand(p.enterprise.id, p.enterpriseAccount.id)
          const response = Rows.response(d, p.responder.id, p.responderAccount.id)
          const thread = Rows.thread(d, p.institution.id)
          const message = Rows.message(t, 1, p.responderAccount.id, "responder")
          const entry = Rows.entry(d.id, 1, p.enterpriseAccount.id)
          const commission = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id)
          const event = Rows.auditEvent(p.enterpriseAccount.id, [p.enterprise.id], d.id)
          const record = Rows.idempotencyRecord(p.enterpriseAccount.id, "made-early")
          const secondRound = Rows.rewardRound(p.operator.id)
          const profile = Rows.institutionProfile(p.institution.id, p.institutionAccount.id)
          const application = Rows.rewardApplication(round.id, p.institution.id, p.institutionAccount.id, [])
          const cases: ReadonlyArray<
            readonly [
              string,
              Effect.Effect<unknown, unknown, never>,
              Effect.Effect<unknown, unknown, never>,
              string
            ]
          > = [
            ["member insert", members.insert(member), members.insert(member), "UniqueViolation"],
            ["account insert", accounts.insert(account), accounts.insert(account), "UniqueViolation"],
            [
              "technology manager insert",
              managers.insert(manager),
              managers.insert(manager),
              "UniqueViolation"
            ],
            ["demand insert", demands.insert(other), demands.insert(other), "UniqueViolation"],
            [
              "demand update",
              demands.update({ ...d, responseCount: 1, version: d.version + 1 }),
              demands.update({ ...d, responseCount: 2, version: d.version + 1 }),
              "StaleWrite"
            ],
            ["response insert", responses.insert(response), responses.insert(response), "UniqueViolation"],
            [
              "thread insert",
              consultations.insertThread(thread),
              consultations.insertThread(thread),
              "UniqueViolation"
            ],
            [
              "message append",
              consultations.appendMessage(message),
              consultations.appendMessage(message),
              "UniqueViolation"
            ],
            ["service-log append", serviceLog.append(entry), serviceLog.append(entry), "UniqueViolation"],
            [
              "commission insert",
              commissions.insert(commission),
              commissions.insert(commission),
              "UniqueViolation"
            ],
            ["audit append", audit.append(event), audit.append(event), "UniqueViolation"],
            ["idempotency insert", idempotency.insert(record), idempotency.insert(record), "UniqueViolation"],
            [
              "round insert",
              rewards.insertRound(secondRound),
              rewards.insertRound(secondRound),
              "UniqueViolation"
            ],
            [
              "profile insert",
              rewards.insertProfile(profile),
              rewards.insertProfile(profile),
              "UniqueViolation"
            ],
            [
              "application insert",
              rewards.insertApplication(application),
              rewards.insertApplication(application),
              "UniqueViolation"
            ]
          ]
          const files = yield* FileStore.FileStore
          const outbox = yield* Persistence.Outbox
          const journal = Option.getOrUndefined(yield* Effect.serviceOption(Persistence.Journal))
          const bytes = Rows.pdfBytes(2048)
          const file = Rows.storedFile(p.institution.id, bytes, "0".repeat(64))
          const notice = Rows.outboxMessage()
          const journalled = Rows.auditEvent(p.enterpriseAccount.id, [p.enterprise.id], d.id)
          const journalEntry = (events: ReadonlyArray<typeof journalled>) => ({
            events,
            messages: [],
            accountMessages: [],
            idempotency: null
          })
          const more: typeof cases = [
            ["file put", files.put(file, bytes), files.put(file, bytes), "UniqueViolation"],
            [
              "outbox enqueue",
              outbox.enqueue([notice]),
              outbox.enqueue([{ ...notice, dedupeKey: `${notice.dedupeKey}:another` }]),
              "UniqueViolation"
            ],
            ...(journal === undefined
              ? []
              : [
                  [
                    "journal write",
                    journal.write(journalEntry([journalled])),
                    journal.write(journalEntry([journalled])),
                    "UniqueViolation"
                  ] as const
                ])
          ]
          for (const [label, madeFirst, runFirst, refusal] of [...cases, ...more]) {
            yield* succeeds(runFirst, `${label}: the write run first`)
            yield* failsWith(madeFirst, refusal, `${label}: the write made first, run after it`)
          }
          const madeFirst = numbering.next("ZB", 2031)
          const runFirst = yield* numbering.next("ZB", 2031)
          assert.notStrictEqual(yield* madeFirst, runFirst, "numbering: a number taken when the effect runs")
        })
      ),
    h.timeout
  )

  it.effect(
    "R26: an update whose version is not the stored one + 1 → StaleWrite, and changes nothing",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const commissions = yield* Persistence.CommissionRepository
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, {
            ...Rows.publishedFields("ZB20260001"),
            version: 4
          })
          yield* demands.insert(d)
          for (const version of [4, 3, 6, 1]) {
            yield* failsWith(
              demands.update({ ...d, responseCount: 1, version }),
              "StaleWrite",
              `demand update to version ${version} over version 4`
            )
          }
          same(Demand.Demand, some(yield* demands.findById(d.id), "demand"), d, "the demand is unchanged")
          const missing = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, { version: 2 })
          yield* failsWith(demands.update(missing), "StaleWrite", "update of a demand never inserted")
          none(yield* demands.findById(missing.id), "an update does not insert")
          const r = Rows.response(d, p.responder.id, p.responderAccount.id)
          yield* responses.insert(r)
          for (const version of [1, 3]) {
            yield* failsWith(
              responses.update({ ...r, status: "adopted", version }),
              "StaleWrite",
              `response update to version ${version} over version 1`
            )
          }
          same(Response.Response, some(yield* responses.findById(r.id), "response"), r, "unchanged response")
          const c = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id)
          yield* commissions.insert(c)
          for (const version of [1, 3]) {
            yield* failsWith(
              commissions.update({ ...c, state: "active", version }),
              "StaleWrite",
              `commission update to version ${version} over version 1`
            )
          }
          same(Commission.Commission, some(yield* commissions.findById(c.id), "commission"), c, "unchanged")
          yield* demands.update({ ...d, responseCount: 1, version: 5 })
          yield* failsWith(
            demands.update({ ...d, responseCount: 2, version: 5 }),
            "StaleWrite",
            "a second writer of the same version"
          )
          assert.strictEqual(
            some(yield* demands.findById(d.id), "demand").responseCount,
            1,
            "first writer wins"
          )
        })
      ),
    h.timeout
  )
}
