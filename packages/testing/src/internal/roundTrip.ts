import { assert, it } from "@effect/vitest"
import {
  Audit,
  Commission,
  Consultation,
  Demand,
  Idempotency,
  Ids,
  Member,
  Notification,
  Persistence,
  Response,
  ServiceLog,
  SortKeys
} from "@zhongbao/core"
import { DateTime, Effect, Option } from "effect"
import { bounds } from "./bounds.js"
import { byId, type Harness, minutesAfter, readAll, same, sameRows, some, start } from "./harness.js"
import * as Rows from "./rows.js"

/** @internal Insert then find returns an equal value, for every repository, values at their bounds too. */
export const roundTrip = (h: Harness): void => {
  bounds(h)
  it.effect(
    "members: insert then findById and findByIdForUpdate return an equal member; update persists",
    () =>
      h.run(
        Effect.gen(function* () {
          const repo = yield* Persistence.MemberRepository
          const plain = Rows.member()
          const registered = Rows.member({
            kind: "transfer_institution",
            name: "滨海技术转移中心",
            region: "天津市滨海新区",
            registered: true,
            createdAt: minutesAfter(90, 999)
          })
          yield* repo.insert(plain)
          yield* repo.insert(registered)
          same(
            Member.Member,
            some(yield* repo.findById(plain.id), "member"),
            plain,
            "member with null region"
          )
          same(
            Member.Member,
            some(yield* repo.findById(registered.id), "member"),
            registered,
            "registered member"
          )
          same(
            Member.Member,
            some(
              yield* (yield* Persistence.UnitOfWork).transaction(repo.findByIdForUpdate(registered.id)),
              "member"
            ),
            registered,
            "findByIdForUpdate in a unit of work"
          )
          const updated = { ...plain, registered: true, name: "天津新材料集团有限公司", region: "北京市" }
          yield* repo.update(updated)
          same(
            Member.Member,
            some(yield* repo.findById(plain.id), "updated member"),
            updated,
            "updated member"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "accounts: insert then findById and listByMember return equal accounts (§3: when each was last reactivated too), the earliest created first; update persists, and findByIdForUpdate reads it whole",
    () =>
      h.run(
        Effect.gen(function* () {
          const members = yield* Persistence.MemberRepository
          const repo = yield* Persistence.AccountRepository
          const m = Rows.member()
          yield* members.insert(m)
          const a1 = Rows.account(m.id, { createdAt: minutesAfter(-5) })
          const a2 = Rows.account(m.id, {
            name: "李四",
            active: false,
            reactivatedAt: minutesAfter(-7, 321),
            createdAt: minutesAfter(-10)
          })
          const operator = Rows.account(null, { name: "运营管理员" })
          for (const a of [a1, a2, operator]) yield* repo.insert(a)
          same(Member.Account, some(yield* repo.findById(a1.id), "account"), a1, "member account")
          same(
            Member.Account,
            some(yield* repo.findById(operator.id), "account"),
            operator,
            "operator account"
          )
          const listed = yield* repo.listByMember(m.id)
          assert.deepStrictEqual(
            listed.map((a) => a.id),
            [a2.id, a1.id],
            "listByMember: the member's accounts, the earliest created first, whatever the order they were stored in"
          )
          same(Member.Account, byId(listed, a2.id, "listByMember"), a2, "listed account")
          const updated = { ...a1, active: false, phone: Rows.phone(), reactivatedAt: minutesAfter(-1, 654) }
          yield* repo.update(updated)
          same(
            Member.Account,
            some(yield* repo.findById(a1.id), "updated account"),
            updated,
            "updated account"
          )
          // The locked read an update starts from keeps every column too (§3: a
          // correction from an account read without reactivatedAt would erase it).
          const uow = yield* Persistence.UnitOfWork
          for (const a of [updated, a2]) {
            same(
              Member.Account,
              some(yield* uow.transaction(repo.findByIdForUpdate(a.id)), "locked account"),
              a,
              "findByIdForUpdate"
            )
          }
        })
      ),
    h.timeout
  )

  it.effect(
    "technology managers: insert then findById, findByIdForShare, findByIdForUpdate and listByInstitution return equal managers, retired ones included; update persists",
    () =>
      h.run(
        Effect.gen(function* () {
          const members = yield* Persistence.MemberRepository
          const repo = yield* Persistence.TechnologyManagerRepository
          const institution = Rows.member({ kind: "transfer_institution", registered: true })
          const other = Rows.member({ kind: "transfer_institution", registered: true })
          yield* members.insert(institution)
          yield* members.insert(other)
          const m1 = Rows.manager(institution.id)
          const m2 = {
            ...Rows.manager(institution.id),
            name: "赵经理",
            active: false,
            createdAt: minutesAfter(2)
          }
          // Added at the same instant as m2, the larger id first: the id decides (code-point order).
          const tied = ["f-manager-tie", "0-manager-tie"].map((id, i) => ({
            ...Rows.manager(institution.id),
            id: id as Ids.TechnologyManagerId,
            name: `钱经理${i}`,
            createdAt: minutesAfter(2)
          }))
          const elsewhere = Rows.manager(other.id)
          for (const m of [tied[0]!, m1, m2, elsewhere, tied[1]!]) yield* repo.insert(m)
          same(Member.TechnologyManager, some(yield* repo.findById(m1.id), "manager"), m1, "manager")
          const listed = yield* repo.listByInstitution(institution.id)
          const atTwo = [m2, ...tied].map((m) => m.id).sort()
          assert.deepStrictEqual(
            listed.map((m) => m.id),
            [m1.id, ...atTwo],
            "listByInstitution: the institution's managers by (createdAt, id)"
          )
          same(Member.TechnologyManager, byId(listed, m2.id, "listByInstitution"), m2, "listed manager")
          const uow = yield* Persistence.UnitOfWork
          for (const [read, label] of [
            [repo.findByIdForShare(m2.id), "findByIdForShare in a unit of work"],
            [repo.findByIdForUpdate(m2.id), "findByIdForUpdate in a unit of work"]
          ] as const) {
            same(Member.TechnologyManager, some(yield* uow.transaction(read), label), m2, label)
          }
          for (const updated of [
            { ...m1, name: "孙经理", phone: Rows.phone(), active: false },
            { ...m1, active: true }
          ]) {
            yield* repo.update(updated)
            same(
              Member.TechnologyManager,
              some(yield* repo.findById(m1.id), "updated manager"),
              updated,
              "updated manager"
            )
          }
          same(
            Member.TechnologyManager,
            some(yield* repo.findById(elsewhere.id), "another institution's manager"),
            elsewhere,
            "another institution's manager, unchanged by the update"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "demands: a draft with every nullable field null and only required form fields round-trips",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.DemandRepository
          const draft = Rows.demand(p.enterprise.id, p.enterpriseAccount.id)
          yield* repo.insert(draft)
          same(Demand.Demand, some(yield* repo.findById(draft.id), "demand"), draft, "draft demand")
        })
      ),
    h.timeout
  )

  it.effect(
    "demands: a published demand with the full nested form and every instant set round-trips (findById, findByIdForUpdate, findByIds)",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.DemandRepository
          const uow = yield* Persistence.UnitOfWork
          const full = Rows.demand(p.institution.id, p.institutionAccount.id, {
            ...Rows.publishedFields("ZB20260007"),
            form: Rows.fullForm(p.manager.id, p.enterprise.id),
            round: 2,
            rejectionReason: "请补充技术指标",
            intakeClosedAt: minutesAfter(60, 1),
            firstAdoptedAt: minutesAfter(60, 1),
            selectionEndedAt: minutesAfter(61, 2),
            selectionWindowDays: 9,
            outcome: "solved",
            state: "solved",
            serviceFee: Rows.fen(1_200_050),
            closedAt: minutesAfter(62, 3),
            responseCount: 3,
            adoptedCount: 1,
            version: 9,
            updatedAt: minutesAfter(62, 3)
          })
          const draft = Rows.demand(p.enterprise.id, p.enterpriseAccount.id)
          yield* repo.insert(full)
          yield* repo.insert(draft)
          same(Demand.Demand, some(yield* repo.findById(full.id), "demand"), full, "findById")
          const locked = yield* uow.transaction(repo.findByIdForUpdate(full.id))
          same(Demand.Demand, some(locked, "demand for update"), full, "findByIdForUpdate")
          const found = yield* repo.findByIds([draft.id, Ids.make<Ids.DemandId>(), full.id])
          assert.sameMembers(
            found.map((d) => d.id),
            [draft.id, full.id],
            "findByIds returns the known ids only"
          )
          same(Demand.Demand, byId(found, full.id, "findByIds"), full, "findByIds")
          same(Demand.Demand, byId(found, draft.id, "findByIds"), draft, "findByIds")
          assert.deepStrictEqual(yield* repo.findByIds([]), [], "findByIds of no ids")
        })
      ),
    h.timeout
  )

  it.effect(
    "demands: update with version + 1 persists every changed field, one set back to null too (R33: a restarted round's window)",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.DemandRepository
          const draft = Rows.demand(p.enterprise.id, p.enterpriseAccount.id)
          yield* repo.insert(draft)
          /** Writes `next` over the stored demand and reads it back the same. */
          const updated = (next: Demand.Demand, label: string) =>
            Effect.gen(function* () {
              yield* repo.update(next)
              same(Demand.Demand, some(yield* repo.findById(draft.id), "demand"), next, label)
            })
          const submitted: Demand.Demand = {
            ...draft,
            state: "pending_review",
            form: Rows.minimalForm({
              title: "玉米抗旱品种选育（修订）",
              keywords: ["玉米", "抗旱"],
              region: "河北省"
            }),
            submittedAt: minutesAfter(30),
            version: 2,
            updatedAt: minutesAfter(30)
          }
          yield* updated(submitted, "after first update")
          const published: Demand.Demand = {
            ...submitted,
            ...Rows.publishedFields("ZB20260042", minutesAfter(40, 5)),
            version: 3,
            updatedAt: minutesAfter(40, 5)
          }
          yield* updated(published, "after second update")
          // R33: a restart takes the round back to review; its window is fixed again at approval.
          const restarted: Demand.Demand = {
            ...published,
            state: "pending_review",
            round: 2,
            selectionWindowDays: null,
            version: 4,
            updatedAt: minutesAfter(50, 6)
          }
          yield* updated(restarted, "after a third update, set fields back to null")
        })
      ),
    h.timeout
  )

  it.effect(
    "responses: insert then findById, findActive and listByDemandRound return equal responses; update with version + 1 persists",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const repo = yield* Persistence.ResponseRepository
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
          yield* demands.insert(d)
          const r = Rows.response(d, p.responder.id, p.responderAccount.id, {
            proposal: {
              title: "卷对卷 CVD 方案",
              content: "分三期实施。\n第一期：设备改造；第二期：工艺验证。",
              attachments: [Ids.make<Ids.FileId>()]
            }
          })
          yield* repo.insert(r)
          same(Response.Response, some(yield* repo.findById(r.id), "response"), r, "findById")
          same(
            Response.Response,
            some(yield* repo.findActive(d.id, d.round, p.responder.id), "active response"),
            r,
            "findActive"
          )
          const listed = yield* repo.listByDemandRound(d.id, d.round)
          assert.deepStrictEqual(
            listed.map((x) => x.id),
            [r.id],
            "listByDemandRound"
          )
          const decided: Response.Response = {
            ...r,
            status: "not_adopted",
            feedback: { reason: "other", text: "预算不足，暂缓" },
            updatedAt: minutesAfter(50, 9),
            version: 2
          }
          yield* repo.update(decided)
          same(Response.Response, some(yield* repo.findById(r.id), "response"), decided, "after update")
          const adopted: Response.Response = {
            ...decided,
            status: "adopted",
            feedback: null,
            adoptedAt: minutesAfter(51, 1),
            version: 3
          }
          yield* repo.update(adopted)
          same(
            Response.Response,
            some(yield* repo.findById(r.id), "response"),
            adopted,
            "after second update"
          )
          assert.deepStrictEqual(
            (yield* repo.listByDemandRound(d.id, 2)).length,
            0,
            "listByDemandRound of another round"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R25: listByDemandRound answers the round's responses in the order they were submitted (submittedAt, then id), withdrawn ones too, whatever order they were stored in; not another round's or demand's",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const repo = yield* Persistence.ResponseRepository
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, {
            ...Rows.publishedFields("ZB20260001"),
            round: 2
          })
          const other = Rows.demand(
            p.enterprise.id,
            p.enterpriseAccount.id,
            Rows.publishedFields("ZB20260002")
          )
          yield* demands.insert(d)
          yield* demands.insert(other)
          const at = (minutes: number, id: Ids.ResponseId, member: Ids.MemberId, account: Ids.AccountId) =>
            Rows.response(d, member, account, {
              id,
              submittedAt: minutesAfter(minutes, 7),
              updatedAt: minutesAfter(minutes, 7)
            })
          // Two ids, the later one stored first: a tie on submittedAt is broken by id.
          const [low, high] = [Ids.make<Ids.ResponseId>(), Ids.make<Ids.ResponseId>()].sort()
          const withdrawn = (r: Response.Response): Response.Response => ({ ...r, status: "withdrawn" })
          const late = withdrawn(at(30, Ids.make(), p.responder.id, p.responderAccount.id))
          const first = at(10, Ids.make(), p.institution.id, p.institutionAccount.id)
          const tiedHigh = at(15, high!, p.enterprise.id, p.enterpriseAccount.id)
          const tiedLow = withdrawn(at(15, low!, p.institution.id, p.institutionAccount.id))
          const middle = at(20, Ids.make(), p.responder.id, p.responderAccount.id)
          for (const r of [late, middle, tiedHigh, first, tiedLow]) yield* repo.insert(r)
          yield* repo.insert({
            ...at(5, Ids.make(), p.responder.id, p.responderAccount.id),
            round: 1,
            status: "withdrawn"
          })
          yield* repo.insert(Rows.response(other, p.responder.id, p.responderAccount.id))
          assert.deepStrictEqual(
            (yield* repo.listByDemandRound(d.id, 2)).map((r) => r.id),
            [first, tiedLow, tiedHigh, middle, late].map((r) => r.id)
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "consultation: a thread and its messages round-trip, messages by seq; updateThread persists",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const repo = yield* Persistence.ConsultationRepository
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
          yield* demands.insert(d)
          const t = Rows.thread(d, p.responder.id)
          yield* repo.insertThread(t)
          same(Consultation.Thread, some(yield* repo.findThreadById(t.id), "thread"), t, "findThreadById")
          same(
            Consultation.Thread,
            some(yield* repo.findThread(d.id, p.responder.id), "thread"),
            t,
            "findThread"
          )
          const messages = [
            Rows.message(t, 1, p.responderAccount.id, "responder"),
            Rows.message(t, 2, p.enterpriseAccount.id, "demand"),
            Rows.message(t, 3, p.responderAccount.id, "responder")
          ]
          for (const m of messages) yield* repo.appendMessage(m)
          const listed = yield* repo.listMessages(t.id, 0, 10)
          assert.deepStrictEqual(
            listed.map((m) => m.seq),
            [1, 2, 3],
            "listMessages by seq"
          )
          for (const [i, m] of listed.entries())
            same(Consultation.Message, m, messages[i]!, `message ${i + 1}`)
          assert.deepStrictEqual(
            (yield* repo.listMessages(t.id, 1, 1)).map((m) => m.seq),
            [2],
            "listMessages after seq 1, limit 1"
          )
          assert.deepStrictEqual(
            yield* repo.listMessages(t.id, 2_147_483_647, 10),
            [],
            "listMessages after the largest seq (Pagination.AfterSeq)"
          )
          const updated = { ...t, messageCount: 3, lastMessageAt: messages[2]!.at }
          yield* repo.updateThread(updated)
          same(
            Consultation.Thread,
            some(yield* repo.findThreadById(t.id), "thread"),
            updated,
            "after updateThread"
          )
          const locked = yield* (yield* Persistence.UnitOfWork).transaction(repo.findThreadForUpdate(t.id))
          same(Consultation.Thread, some(locked, "thread for update"), updated, "findThreadForUpdate")
        })
      ),
    h.timeout
  )

  it.effect(
    "service log: appended entries round-trip by seq; lastSeq is the last one of that demand's log",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const repo = yield* Persistence.ServiceLogRepository
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
          const other = Rows.demand(
            p.enterprise.id,
            p.enterpriseAccount.id,
            Rows.publishedFields("ZB20260002")
          )
          yield* demands.insert(d)
          yield* demands.insert(other)
          const entries = [1, 2, 3].map((seq) => Rows.entry(d.id, seq, p.enterpriseAccount.id))
          for (const e of entries) yield* repo.append(e)
          for (const seq of [1, 2, 3, 4, 5])
            yield* repo.append(Rows.entry(other.id, seq, p.enterpriseAccount.id))
          assert.strictEqual(yield* repo.lastSeq(d.id), 3, "lastSeq")
          assert.strictEqual(yield* repo.lastSeq(other.id), 5, "lastSeq of another demand's log")
          const listed = yield* repo.list(d.id, 0, 10)
          assert.deepStrictEqual(
            listed.map((e) => e.seq),
            [1, 2, 3],
            "list by seq"
          )
          for (const [i, e] of listed.entries()) same(ServiceLog.Entry, e, entries[i]!, `entry ${i + 1}`)
          assert.deepStrictEqual(
            (yield* repo.list(d.id, 1, 1)).map((e) => e.seq),
            [2],
            "list after seq 1, limit 1"
          )
          assert.deepStrictEqual(
            yield* repo.list(d.id, 2_147_483_647, 10),
            [],
            "list after the largest seq (Pagination.AfterSeq)"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "commissions: insert then findById, findByIdForUpdate, findOpen and findOpenForShare return equal commissions; update with version + 1 persists",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.CommissionRepository
          const c = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id)
          yield* repo.insert(c)
          same(Commission.Commission, some(yield* repo.findById(c.id), "commission"), c, "findById")
          same(
            Commission.Commission,
            some(yield* repo.findOpen(p.enterprise.id, p.institution.id), "open commission"),
            c,
            "findOpen"
          )
          const uow = yield* Persistence.UnitOfWork
          same(
            Commission.Commission,
            some(
              yield* uow.transaction(repo.findOpenForShare(p.enterprise.id, p.institution.id)),
              "open commission"
            ),
            c,
            "findOpenForShare in a unit of work"
          )
          same(
            Commission.Commission,
            some(yield* uow.transaction(repo.findByIdForUpdate(c.id)), "commission"),
            c,
            "findByIdForUpdate in a unit of work"
          )
          const active = { ...c, state: "active" as const, decidedAt: minutesAfter(8, 8), version: 2 }
          yield* repo.update(active)
          same(Commission.Commission, some(yield* repo.findById(c.id), "commission"), active, "after accept")
          const ended = {
            ...active,
            state: "ended" as const,
            endedAt: minutesAfter(9, 9),
            endedBy: p.institution.id,
            version: 3
          }
          yield* repo.update(ended)
          same(Commission.Commission, some(yield* repo.findById(c.id), "commission"), ended, "after end")
          assert.isTrue(
            (yield* repo.findOpen(p.enterprise.id, p.institution.id))._tag === "None",
            "an ended commission is not open"
          )
          assert.isTrue(
            (yield* uow.transaction(repo.findOpenForShare(p.enterprise.id, p.institution.id)))._tag ===
              "None",
            "findOpenForShare: an ended commission is not open"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "audit: an appended event lists equal for its demand and for each of its members",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const repo = yield* Persistence.AuditRepository
          const d = Rows.demand(p.institution.id, p.institutionAccount.id)
          yield* demands.insert(d)
          const event = Rows.auditEvent(p.institutionAccount.id, [p.institution.id, p.enterprise.id], d.id, {
            onBehalfOf: p.enterprise.id,
            reason: "资料齐全"
          })
          const memberEvent = Rows.auditEvent(p.operator.id, [p.responder.id], null, {
            actorMemberId: null,
            entity: "member",
            entityId: p.responder.id,
            action: "member.created",
            before: null,
            after: "research_institute"
          })
          yield* repo.append(event)
          yield* repo.append(memberEvent)
          const forDemand = yield* repo.list({ demandId: d.id, limit: 10 })
          assert.deepStrictEqual(
            forDemand.map((e) => e.id),
            [event.id],
            "listed for its demand"
          )
          same(Audit.AuditEvent, forDemand[0]!, event, "event listed for its demand")
          for (const memberId of [p.institution.id, p.enterprise.id]) {
            const listed = yield* repo.list({ memberId, limit: 10 })
            same(Audit.AuditEvent, byId(listed, event.id, "member trail"), event, "event listed for a member")
          }
          const responderTrail = yield* repo.list({ memberId: p.responder.id, limit: 10 })
          assert.deepStrictEqual(
            responderTrail.map((e) => e.id),
            [memberEvent.id],
            "listed for its member only"
          )
          same(Audit.AuditEvent, responderTrail[0]!, memberEvent, "event with no demand")
        })
      ),
    h.timeout
  )

  it.effect(
    "idempotency: an inserted record is found equal, its JSON result intact",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.IdempotencyRepository
          const record = Rows.idempotencyRecord(p.enterpriseAccount.id, "req-2026-05-04-0001")
          yield* repo.insert(record)
          same(
            Idempotency.IdempotencyRecord,
            some(yield* repo.find(p.enterpriseAccount.id, record.key), "record"),
            record,
            "find"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R63: purge removes the idempotency records created before the instant, and only those",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const repo = yield* Persistence.IdempotencyRepository
          const old = Rows.idempotencyRecord(
            p.enterpriseAccount.id,
            "old",
            DateTime.subtract(start, { hours: 25 })
          )
          const edge = Rows.idempotencyRecord(
            p.enterpriseAccount.id,
            "edge",
            DateTime.subtract(start, { hours: 24 })
          )
          const fresh = Rows.idempotencyRecord(p.enterpriseAccount.id, "fresh")
          yield* repo.insert(old)
          yield* repo.insert(edge)
          yield* repo.insert(fresh)
          assert.strictEqual(yield* repo.purge(DateTime.subtract(start, { hours: 24 })), 1)
          assert.isTrue(Option.isNone(yield* repo.find(p.enterpriseAccount.id, "old")))
          assert.isTrue(Option.isSome(yield* repo.find(p.enterpriseAccount.id, "edge")))
          assert.isTrue(Option.isSome(yield* repo.find(p.enterpriseAccount.id, "fresh")))
          yield* repo.insert(Rows.idempotencyRecord(p.enterpriseAccount.id, "old"))
        })
      ),
    h.timeout
  )

  it.effect(
    "outbox: enqueued messages list back equal",
    () =>
      h.run(
        Effect.gen(function* () {
          const repo = yield* Persistence.Outbox
          const messages = [
            Rows.outboxMessage(),
            Rows.outboxMessage({
              event: "demand_rejected",
              templateId: "ZB_DEMAND_REJECTED",
              params: { title: "散热膜" },
              createdAt: minutesAfter(8)
            }),
            Rows.outboxMessage({ params: {}, createdAt: minutesAfter(9) })
          ]
          yield* repo.enqueue(messages.slice(0, 2))
          yield* repo.enqueue(messages.slice(2))
          const listed = yield* readAll(repo.list, SortKeys.outbox, 10, "outbox")
          sameRows(Notification.OutboxMessage, listed, messages, "outbox holds the enqueued messages")
        })
      ),
    h.timeout
  )
}
