import { assert, it } from "@effect/vitest"
import {
  Access,
  Audit,
  Demand,
  Ids,
  Idempotency,
  Member,
  Notification,
  Persistence,
  Response,
  SortKeys
} from "@zhongbao/core"
import { Context, DateTime, Effect, Option } from "effect"
import {
  failsWith,
  type Harness,
  lacks,
  minutesAfter,
  none,
  readAll,
  same,
  sameRows,
  some
} from "./harness.js"
import * as Rows from "./rows.js"

/** The adapter's optional capabilities, as the layer under test provides them. */
const optional = Effect.gen(function* () {
  const accounts = yield* Persistence.AccountRepository
  const responses = yield* Persistence.ResponseRepository
  const context = yield* Effect.context<never>()
  return {
    findWithMember: accounts.findWithMember,
    findWithMemberAndRecord: accounts.findWithMemberAndRecord,
    findWithDemandForUpdate: responses.findWithDemandForUpdate,
    findActiveAmong: responses.findActiveAmong,
    journal: Context.getOption(context as Context.Context<Persistence.Journal>, Persistence.Journal)
  }
})

/**
 * @internal
 * The optional capabilities of the ports (`AccountRepository.findWithMember`,
 * `AccountRepository.findWithMemberAndRecord`, `ResponseRepository.findWithDemandForUpdate`,
 * `ResponseRepository.findActiveAmong`, `Journal`), each checked when the
 * adapter has it against what the base methods answer; a test of a capability the
 * adapter lacks checks nothing.
 */
export const optionalCapabilities = (h: Harness): void => {
  it.effect(
    "AccountRepository.findWithMember answers findById's account and its member",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const { findWithMember } = yield* optional
          if (findWithMember === undefined) return yield* lacks(h, "findWithMember", ctx)
          const p = yield* Rows.insertParties
          const withMember = some(yield* findWithMember(p.responderAccount.id), "a member's account")
          same(Member.Account, withMember.account, p.responderAccount, "the account")
          same(
            Member.Member,
            some(Option.fromNullable(withMember.member), "its member"),
            p.responder,
            "member"
          )
          const operator = some(yield* findWithMember(p.operator.id), "an operator's account")
          same(Member.Account, operator.account, p.operator, "the operator's account")
          assert.isNull(operator.member, "an operator has no member")
          none(yield* findWithMember(Ids.make<Ids.AccountId>()), "an unknown account")
        })
      ),
    h.timeout
  )

  it.effect(
    "R63: AccountRepository.findWithMemberAndRecord answers the account, its member and the record IdempotencyRepository.find answers under the key",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const { findWithMemberAndRecord } = yield* optional
          if (findWithMemberAndRecord === undefined) return yield* lacks(h, "findWithMemberAndRecord", ctx)
          const p = yield* Rows.insertParties
          const idempotency = yield* Persistence.IdempotencyRepository
          const accounts = yield* Persistence.AccountRepository
          const record = Rows.idempotencyRecord(p.responderAccount.id, "键-1")
          yield* idempotency.insert(record)
          yield* idempotency.insert(Rows.idempotencyRecord(p.operator.id, "键-2"))
          const found = (accountId: Ids.AccountId, key: string) =>
            Effect.map(idempotency.find(accountId, key), (r) => some(r, `find(${key})`))

          const keyed = some(
            yield* findWithMemberAndRecord(p.responderAccount.id, "键-1"),
            "a member's account"
          )
          same(Member.Account, keyed.account, p.responderAccount, "the account")
          same(Member.Member, some(Option.fromNullable(keyed.member), "its member"), p.responder, "member")
          same(
            Idempotency.IdempotencyRecord,
            some(keyed.record, "its record under the key"),
            some(yield* idempotency.find(p.responderAccount.id, "键-1"), "find's record"),
            "the record find answers"
          )
          same(Idempotency.IdempotencyRecord, some(keyed.record, "its record"), record, "the record inserted")

          const otherKey = some(yield* findWithMemberAndRecord(p.responderAccount.id, "键-3"), "another key")
          same(Member.Account, otherKey.account, p.responderAccount, "the account under another key")
          none(otherKey.record, "no record under a key the account never used")
          none(
            some(yield* findWithMemberAndRecord(p.responderAccount.id, "键-2"), "another account's key")
              .record,
            "another account's record under the same key"
          )

          const operator = some(
            yield* findWithMemberAndRecord(p.operator.id, "键-2"),
            "an operator's account"
          )
          same(Member.Account, operator.account, p.operator, "the operator's account")
          assert.isNull(operator.member, "an operator has no member")
          same(
            Idempotency.IdempotencyRecord,
            some(operator.record, "the operator's own record"),
            yield* found(p.operator.id, "键-2"),
            "the operator's record"
          )
          none(yield* findWithMemberAndRecord(Ids.make<Ids.AccountId>(), "键-1"), "an unknown account")

          // Keys are compared exactly: one differing only in case is another key.
          const upper = Rows.idempotencyRecord(p.responderAccount.id, "Key-A")
          yield* idempotency.insert(upper)
          same(
            Idempotency.IdempotencyRecord,
            some(
              some(yield* findWithMemberAndRecord(p.responderAccount.id, "Key-A"), "Key-A").record,
              "Key-A"
            ),
            upper,
            "the record under Key-A"
          )
          none(
            some(yield* findWithMemberAndRecord(p.responderAccount.id, "key-a"), "key-a").record,
            "no record under key-a"
          )

          // A record without a result is a record (its result column empty, not its key).
          const bare = { ...Rows.idempotencyRecord(p.responderAccount.id, "bare-1"), result: undefined }
          yield* idempotency.insert(bare)
          const withBare = some(yield* findWithMemberAndRecord(p.responderAccount.id, "bare-1"), "bare-1")
          same(
            Idempotency.IdempotencyRecord,
            some(withBare.record, "a record without a result"),
            yield* found(p.responderAccount.id, "bare-1"),
            "the record without a result"
          )
          assert.isUndefined(some(withBare.record, "bare-1").result, "no result")

          // An inactive account is answered, with its record, as findWithMember answers it.
          yield* accounts.update({ ...p.responderAccount, active: false })
          const inactive = some(
            yield* findWithMemberAndRecord(p.responderAccount.id, "键-1"),
            "an inactive account"
          )
          assert.isFalse(inactive.account.active, "inactive")
          same(
            Idempotency.IdempotencyRecord,
            some(inactive.record, "its record"),
            record,
            "an inactive account's record"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "ResponseRepository.findWithDemandForUpdate answers findById's response and its demand",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const { findWithDemandForUpdate } = yield* optional
          if (findWithDemandForUpdate === undefined) return yield* lacks(h, "findWithDemandForUpdate", ctx)
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const uow = yield* Persistence.UnitOfWork
          const demand = Rows.demand(
            p.enterprise.id,
            p.enterpriseAccount.id,
            Rows.publishedFields("ZB20260001")
          )
          yield* demands.insert(demand)
          const response = Rows.response(demand, p.responder.id, p.responderAccount.id)
          yield* responses.insert(response)
          const found = some(
            yield* uow.transaction(findWithDemandForUpdate(response.id)),
            "a response with its demand"
          )
          same(Response.Response, found.response, response, "the response")
          same(Demand.Demand, found.demand, demand, "its demand")
          none(yield* uow.transaction(findWithDemandForUpdate(Ids.make())), "an unknown response")
        })
      ),
    h.timeout
  )

  it.effect(
    "R21: ResponseRepository.findActiveAmong answers findActive's response for each demand and round",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const { findActiveAmong } = yield* optional
          if (findActiveAmong === undefined) return yield* lacks(h, "findActiveAmong", ctx)
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const published = (n: number, overrides: Partial<Demand.Demand> = {}) =>
            Rows.demand(p.enterprise.id, p.enterpriseAccount.id, {
              ...Rows.publishedFields(`ZB2026000${n}`),
              ...overrides
            })
          const answered = published(1)
          const withdrawn = published(2)
          const byOther = published(3)
          const restarted = published(4, { round: 2 })
          const untouched = published(5)
          const adoptedOn = published(6)
          const declinedOn = published(7)
          const all = [answered, withdrawn, byOther, restarted, untouched, adoptedOn, declinedOn]
          for (const d of all) yield* demands.insert(d)
          const active = Rows.response(answered, p.responder.id, p.responderAccount.id)
          const adopted = Rows.response(adoptedOn, p.responder.id, p.responderAccount.id, {
            status: "adopted",
            adoptedAt: minutesAfter(10, 50)
          })
          const declined = Rows.response(declinedOn, p.responder.id, p.responderAccount.id, {
            status: "not_adopted",
            feedback: { reason: "other", text: "方案与需求方向不符" }
          })
          const pulled = Rows.response(withdrawn, p.responder.id, p.responderAccount.id, {
            status: "withdrawn"
          })
          const other = Rows.response(byOther, p.institution.id, p.institutionAccount.id)
          const earlier = Rows.response(restarted, p.responder.id, p.responderAccount.id, { round: 1 })
          for (const r of [active, pulled, other, earlier, adopted, declined]) yield* responses.insert(r)
          const asked = all.map((d) => ({
            demandId: d.id,
            round: d.round
          }))
          const found = yield* findActiveAmong(p.responder.id, asked)
          assert.strictEqual(
            found.length,
            3,
            "the active responses in the demands' asked rounds: submitted, adopted and not adopted (R24: an adopted response stays the responder's)"
          )
          const byId = new Map(found.map((r) => [r.id, r]))
          for (const [row, what] of [
            [active, "the submitted response"],
            [adopted, "the adopted response"],
            [declined, "the response not adopted"]
          ] as const) {
            same(Response.Response, some(Option.fromNullable(byId.get(row.id)), what), row, what)
          }
          const expected = yield* Effect.forEach(asked, (a) =>
            responses.findActive(a.demandId, a.round, p.responder.id)
          )
          assert.deepStrictEqual(
            found.map((r) => r.id).sort(),
            expected.flatMap((o) => (Option.isSome(o) ? [o.value.id] : [])).sort(),
            "what findActive answers pair by pair"
          )
          const earlierRound = yield* findActiveAmong(p.responder.id, [{ demandId: restarted.id, round: 1 }])
          assert.deepStrictEqual(
            earlierRound.map((r) => r.id),
            [earlier.id],
            "the round asked, not the demand's current one"
          )
          assert.deepStrictEqual(yield* findActiveAmong(p.responder.id, []), [], "nothing asked")
          const twice = yield* findActiveAmong(p.responder.id, [asked[0]!, asked[0]!, asked[4]!])
          assert.deepStrictEqual(
            twice.map((r) => r.id),
            [active.id],
            "a pair given twice answers its response once"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: Journal.write sends an inactive account's message to its member's first active account (the earliest created, then the smallest id), or to no one",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const { journal } = yield* optional
          if (Option.isNone(journal)) return yield* lacks(h, "Journal", ctx)
          const members = yield* Persistence.MemberRepository
          const accounts = yield* Persistence.AccountRepository
          const outbox = yield* Persistence.Outbox
          const staffed = Rows.member()
          const deserted = Rows.member()
          for (const m of [staffed, deserted]) yield* members.insert(m)
          const left = Rows.account(staffed.id, { active: false, createdAt: minutesAfter(1) })
          const later = Rows.account(staffed.id, { createdAt: minutesAfter(3) })
          const first = Rows.account(staffed.id, { createdAt: minutesAfter(2) })
          const gone = Rows.account(staffed.id, { active: false, createdAt: minutesAfter(0) })
          const alone = Rows.account(deserted.id, { active: false })
          for (const a of [left, later, first, gone, alone]) yield* accounts.insert(a)
          // Two active accounts created at one instant: the smaller id (in code-point order) is the first.
          const tied = Rows.member()
          yield* members.insert(tied)
          const leaver = Rows.account(tied.id, { active: false, createdAt: minutesAfter(1) })
          const [smaller, larger] = [
            Rows.account(tied.id, { createdAt: minutesAfter(2) }),
            Rows.account(tied.id, { createdAt: minutesAfter(2) })
          ].sort((a, b) => (a.id < b.id ? -1 : 1)) as [Member.Account, Member.Account]
          for (const a of [leaver, larger, smaller]) yield* accounts.insert(a)
          const to = (accountId: Ids.AccountId, subject: string): Persistence.AccountMessage => {
            const { recipientPhone: _phone, dedupeKey: _key, ...message } = Rows.outboxMessage()
            return { accountId, dedupeKeyPrefix: `response_received:${subject}:`, message }
          }
          const messages = [
            to(left.id, "r-1"),
            to(alone.id, "r-2"),
            to(later.id, "r-3"),
            to(leaver.id, "r-4")
          ]
          yield* journal.value.write({
            events: [],
            messages: [],
            accountMessages: messages,
            idempotency: null
          })
          const written = yield* readAll(outbox.list, SortKeys.outbox, 50, "outbox")
          assert.sameDeepMembers(
            written.map((m) => [m.id, m.recipientPhone, m.dedupeKey]),
            [
              [messages[0]!.message.id, first.phone, `response_received:r-1:${first.phone}`],
              [messages[2]!.message.id, later.phone, `response_received:r-3:${later.phone}`],
              [messages[3]!.message.id, smaller.phone, `response_received:r-4:${smaller.phone}`]
            ],
            "the inactive account's message to its member's earliest active account (of two as early, the smaller id), none for a member without one, an active account's to itself"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "Journal.write writes events, messages (an account's phone joined in) and the idempotency record as the ports would",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const { journal } = yield* optional
          if (Option.isNone(journal)) return yield* lacks(h, "Journal", ctx)
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const audit = yield* Persistence.AuditRepository
          const outbox = yield* Persistence.Outbox
          const idempotency = yield* Persistence.IdempotencyRepository
          const demand = Rows.demand(
            p.enterprise.id,
            p.enterpriseAccount.id,
            Rows.publishedFields("ZB20260001")
          )
          yield* demands.insert(demand)
          const events = [
            Rows.auditEvent(p.enterpriseAccount.id, [p.enterprise.id, p.responder.id], demand.id),
            Rows.auditEvent(p.operator.id, [], demand.id, { actorMemberId: null, reason: "理由" })
          ]
          const direct = Rows.outboxMessage()
          const toAccount = (accountId: Ids.AccountId, subject: string): Persistence.AccountMessage => {
            const { recipientPhone: _phone, dedupeKey: _key, ...message } = Rows.outboxMessage()
            return { accountId, dedupeKeyPrefix: `response_received:${subject}:`, message }
          }
          const known = toAccount(p.enterpriseAccount.id, "r-1")
          const unknown = toAccount(Ids.make(), "r-2")
          const record = Rows.idempotencyRecord(p.responderAccount.id, "键-1")
          yield* journal.value.write({
            events,
            messages: [direct],
            accountMessages: [known, unknown],
            idempotency: record
          })

          const trail = yield* readAll(
            (range) => audit.list({ demandId: demand.id, ...range }),
            SortKeys.audit
          )
          same(Audit.AuditEvent, trail.find((e) => e.id === events[0]!.id)!, events[0]!, "the first event")
          assert.sameMembers(
            trail.map((e) => e.id),
            events.map((e) => e.id),
            "both events"
          )
          const mine = yield* audit.list({ memberId: p.responder.id, limit: 10 })
          assert.deepStrictEqual(
            mine.map((e) => e.id),
            [events[0]!.id],
            "an event lists for each of its members"
          )
          const written = yield* readAll(outbox.list, SortKeys.outbox, 50, "outbox")
          same(
            Notification.OutboxMessage,
            written.find((m) => m.id === direct.id)!,
            direct,
            "the direct message"
          )
          same(
            Notification.OutboxMessage,
            some(
              Option.fromNullable(written.find((m) => m.id === known.message.id)),
              "the account's message"
            ),
            {
              ...known.message,
              recipientPhone: p.enterpriseAccount.phone,
              dedupeKey: `response_received:r-1:${p.enterpriseAccount.phone}`
            },
            "the account's message, to its phone"
          )
          assert.strictEqual(written.length, 2, "no message for an unknown account")
          same(
            Idempotency.IdempotencyRecord,
            some(yield* idempotency.find(record.accountId, record.key), "the idempotency record"),
            record,
            "the idempotency record"
          )

          yield* journal.value.write({
            events: [],
            messages: [{ ...Rows.outboxMessage(), dedupeKey: direct.dedupeKey }],
            accountMessages: [{ ...toAccount(p.enterpriseAccount.id, "r-1") }],
            idempotency: null
          })
          assert.strictEqual(
            (yield* readAll(outbox.list, SortKeys.outbox, 50, "outbox")).length,
            2,
            "a repeated dedupeKey is ignored"
          )
          yield* failsWith(
            journal.value.write({
              events: [events[0]!],
              messages: [],
              accountMessages: [],
              idempotency: null
            }),
            "UniqueViolation",
            "an event id already there"
          )
          const twin = Rows.auditEvent(p.enterpriseAccount.id, [p.enterprise.id], demand.id)
          yield* failsWith(
            journal.value.write({
              events: [twin, { ...twin, reason: "同一标识的另一事件" }],
              messages: [],
              accountMessages: [],
              idempotency: null
            }),
            "UniqueViolation",
            "two events of one entry under one id"
          )
          yield* failsWith(
            journal.value.write({ events: [], messages: [], accountMessages: [], idempotency: record }),
            "UniqueViolation",
            "an idempotency key already there"
          )
          const unwritten = Rows.auditEvent(p.enterpriseAccount.id, [p.enterprise.id], demand.id)
          yield* failsWith(
            journal.value.write({
              events: [unwritten],
              messages: [Rows.outboxMessage({ id: direct.id })],
              accountMessages: [],
              idempotency: null
            }),
            "UniqueViolation",
            "a message id already there under another dedupeKey"
          )
          const reused = toAccount(p.enterpriseAccount.id, "r-9")
          yield* failsWith(
            journal.value.write({
              events: [unwritten],
              messages: [],
              accountMessages: [{ ...reused, message: { ...reused.message, id: known.message.id } }],
              idempotency: null
            }),
            "UniqueViolation",
            "an account message's id already there under another dedupeKey"
          )
          none(
            Option.fromNullable(
              (yield* readAll((range) => audit.list({ demandId: demand.id, ...range }), SortKeys.audit)).find(
                (e) => e.id === unwritten.id || e.id === twin.id
              )
            ),
            "the events of a refused entry"
          )
          const after = yield* readAll(outbox.list, SortKeys.outbox, 50, "outbox")
          assert.strictEqual(after.length, 2, "a refused entry writes no message")
          same(
            Notification.OutboxMessage,
            after.find((m) => m.id === direct.id)!,
            direct,
            "the message whose id was reused, unchanged"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "Journal.write writes every event and message of an entry with its values, whatever their number (none to five of each, to phones and to accounts, with and without a record)",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const { journal } = yield* optional
          if (Option.isNone(journal)) return yield* lacks(h, "Journal", ctx)
          const p = yield* Rows.insertParties
          const audit = yield* Persistence.AuditRepository
          const outbox = yield* Persistence.Outbox
          const idempotency = yield* Persistence.IdempotencyRepository
          const shapes = [
            [0, 0],
            [1, 0],
            [0, 1],
            [1, 1],
            [2, 0],
            [0, 2],
            [2, 2],
            [1, 5],
            [3, 3],
            [5, 1],
            [0, 4],
            [4, 0]
          ] as const
          const allEvents: Array<Audit.AuditEvent> = []
          const expected: Array<Notification.OutboxMessage> = []
          for (const [k, [eventCount, messageCount]] of shapes.entries()) {
            const events = Array.from({ length: eventCount }, (_, i) =>
              Rows.auditEvent(p.enterpriseAccount.id, [p.enterprise.id, p.responder.id], null, {
                at: minutesAfter(8, k * 10 + i),
                reason: `第${k}条第${i}个`
              })
            )
            const direct = Array.from({ length: Math.ceil(messageCount / 2) }, (_, i) =>
              Rows.outboxMessage({
                params: { number: `ZB2026${k}${i}`, title: `标题${k}-${i}` },
                createdAt: minutesAfter(9, k * 10 + i)
              })
            )
            const toAccounts = Array.from({ length: Math.floor(messageCount / 2) }, (_, i) => {
              const {
                recipientPhone: _phone,
                dedupeKey: _key,
                ...message
              } = Rows.outboxMessage({
                event: "response_received",
                templateId: "ZB_RESPONSE_RECEIVED",
                params: { number: `ZB2027${k}${i}`, title: `应答${k}-${i}` },
                createdAt: minutesAfter(9, k * 10 + 5 + i)
              })
              return {
                accountId: p.enterpriseAccount.id,
                dedupeKeyPrefix: `response_received:r-${k}-${i}:`,
                message
              } satisfies Persistence.AccountMessage
            })
            const record = k % 2 === 0 ? Rows.idempotencyRecord(p.responderAccount.id, `键-${k}`) : null
            yield* journal.value.write({
              events,
              messages: direct,
              accountMessages: toAccounts,
              idempotency: record
            })
            allEvents.push(...events)
            expected.push(
              ...direct,
              ...toAccounts.map((m) => ({
                ...m.message,
                recipientPhone: p.enterpriseAccount.phone,
                dedupeKey: `${m.dedupeKeyPrefix}${p.enterpriseAccount.phone}`
              }))
            )
            if (record !== null) {
              same(
                Idempotency.IdempotencyRecord,
                some(yield* idempotency.find(record.accountId, record.key), `entry ${k}'s record`),
                record,
                `entry ${k}'s record`
              )
            }
          }
          const trail = yield* readAll(
            (range) => audit.list({ memberId: p.responder.id, ...range }),
            SortKeys.audit
          )
          sameRows(Audit.AuditEvent, trail, allEvents, "every event of every entry", (e) => `${e.reason}`)
          const written = yield* readAll(outbox.list, SortKeys.outbox, 50, "outbox")
          sameRows(
            Notification.OutboxMessage,
            written,
            expected,
            "every message of every entry",
            (m) => m.dedupeKey
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R4: events Journal.write records of a response and a thread done on a client's behalf are hidden from the client's own trail, as AuditRepository.list hides them",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const { journal } = yield* optional
          if (Option.isNone(journal)) return yield* lacks(h, "Journal", ctx)
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const audit = yield* Persistence.AuditRepository
          const demand = Rows.demand(p.institution.id, p.institutionAccount.id, {
            ...Rows.publishedFields("ZB20260001"),
            form: Rows.minimalForm({ clientId: p.enterprise.id })
          })
          yield* demands.insert(demand)
          const members = [p.institution.id, p.enterprise.id, p.responder.id]
          const client = p.enterprise.id
          const events = [
            Rows.auditEvent(p.responderAccount.id, members, demand.id, {
              entity: "response",
              action: "response.submitted",
              onBehalfOf: client,
              at: minutesAfter(6, 1)
            }),
            Rows.auditEvent(p.responderAccount.id, members, demand.id, {
              entity: "thread",
              action: "thread.message",
              onBehalfOf: client,
              at: minutesAfter(6, 2)
            }),
            Rows.auditEvent(p.institutionAccount.id, [p.institution.id, p.enterprise.id], demand.id, {
              onBehalfOf: client,
              at: minutesAfter(6, 3)
            }),
            Rows.auditEvent(p.responderAccount.id, members, demand.id, {
              entity: "response",
              action: "response.withdrawn",
              at: minutesAfter(6, 4)
            })
          ]
          yield* journal.value.write({ events, messages: [], accountMessages: [], idempotency: null })
          const hide = { entities: Access.responsePrivateEntities, onBehalfOf: client }
          const trail = (memberId: Ids.MemberId, hidden?: Persistence.AuditHidden) =>
            Effect.map(
              readAll((range) => audit.list({ memberId, hide: hidden, ...range }), SortKeys.audit),
              (listed) => listed.map((e) => e.id)
            )
          const expected = (memberId: Ids.MemberId, hidden?: Persistence.AuditHidden) =>
            events
              .filter((e) => e.members.includes(memberId) && !Persistence.isHidden(e, hidden))
              .sort((a, b) => DateTime.toEpochMillis(b.at) - DateTime.toEpochMillis(a.at))
              .map((e) => e.id)
          assert.deepStrictEqual(
            yield* trail(client, hide),
            expected(client, hide),
            "the client's own trail without the response's and the thread's events done on its behalf"
          )
          assert.notInclude(yield* trail(client, hide), events[0]!.id, "the response's event is hidden")
          assert.deepStrictEqual(
            yield* trail(client),
            expected(client),
            "the client's trail lists every event without hide"
          )
          for (const memberId of [p.institution.id, p.responder.id]) {
            const own = { entities: Access.responsePrivateEntities, onBehalfOf: memberId }
            assert.deepStrictEqual(
              yield* trail(memberId, own),
              expected(memberId),
              "the events were not done on the publisher's nor the responder's behalf: their trails keep them"
            )
          }
        })
      ),
    h.timeout
  )
}
