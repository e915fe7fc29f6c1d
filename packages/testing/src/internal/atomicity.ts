import { assert, it } from "@effect/vitest"
import { Demand, Persistence, Publishing, Responding, Review, Selection, SortKeys } from "@zhongbao/core"
import { Deferred, Effect, Either, Exit, Fiber, Option } from "effect"
import * as Fixtures from "../Fixtures.js"
import {
  failingNotifications,
  failsWith,
  type Harness,
  isTagged,
  lacks,
  none,
  readAll,
  same,
  some
} from "./harness.js"
import * as Rows from "./rows.js"

/** The rows one unit of work writes in the atomicity tests: one of each kind. */
/** The ports the atomicity tests write through. */
const ports = Effect.all({
  members: Persistence.MemberRepository,
  accounts: Persistence.AccountRepository,
  demands: Persistence.DemandRepository,
  responses: Persistence.ResponseRepository,
  audit: Persistence.AuditRepository,
  outbox: Persistence.Outbox,
  numbering: Persistence.DemandNumbering
})

const writeSome = (p: Rows.Parties, label: string) =>
  Effect.gen(function* () {
    const { members, accounts, demands, responses, audit, outbox, numbering } = yield* ports
    const member = Rows.member({ name: `${label}有限公司` })
    yield* members.insert(member)
    const account = Rows.account(member.id)
    yield* accounts.insert(account)
    const sequence = yield* numbering.next("ZB", 2026)
    const demand = Rows.demand(
      member.id,
      account.id,
      Rows.publishedFields(`ZB2026${String(sequence).padStart(4, "0")}`)
    )
    yield* demands.insert(demand)
    const response = Rows.response(demand, p.responder.id, p.responderAccount.id)
    yield* responses.insert(response)
    yield* responses.update({ ...response, status: "adopted", version: 2 })
    const event = Rows.auditEvent(account.id, [member.id], demand.id)
    yield* audit.append(event)
    const message = Rows.outboxMessage()
    yield* outbox.enqueue([message])
    return { member, account, demand, response, event, message, sequence }
  })

type Written = Effect.Effect.Success<ReturnType<typeof writeSome>>

/** Asserts none of a unit's rows remain. */
const gone = (w: Written, label: string) =>
  Effect.gen(function* () {
    none(yield* (yield* Persistence.MemberRepository).findById(w.member.id), `${label}: member`)
    none(yield* (yield* Persistence.AccountRepository).findById(w.account.id), `${label}: account`)
    none(yield* (yield* Persistence.DemandRepository).findById(w.demand.id), `${label}: demand`)
    none(yield* (yield* Persistence.ResponseRepository).findById(w.response.id), `${label}: response`)
    const events = yield* (yield* Persistence.AuditRepository).list({ demandId: w.demand.id, limit: 10 })
    assert.deepStrictEqual(events, [], `${label}: audit events`)
    const outbox = yield* readAll((yield* Persistence.Outbox).list, SortKeys.outbox, 50, "outbox")
    assert.notInclude(
      outbox.map((m) => m.id),
      w.message.id,
      `${label}: outbox message`
    )
  })

/** Asserts all of a unit's rows remain, the response updated. */
const kept = (w: Written, label: string) =>
  Effect.gen(function* () {
    some(yield* (yield* Persistence.MemberRepository).findById(w.member.id), `${label}: member`)
    some(yield* (yield* Persistence.AccountRepository).findById(w.account.id), `${label}: account`)
    same(
      Demand.Demand,
      some(yield* (yield* Persistence.DemandRepository).findById(w.demand.id), `${label}: demand`),
      w.demand,
      `${label}: demand`
    )
    const response = some(
      yield* (yield* Persistence.ResponseRepository).findById(w.response.id),
      `${label}: response`
    )
    assert.strictEqual(response.status, "adopted", `${label}: the response update`)
    const events = yield* (yield* Persistence.AuditRepository).list({ demandId: w.demand.id, limit: 10 })
    assert.deepStrictEqual(
      events.map((e) => e.id),
      [w.event.id],
      `${label}: audit event`
    )
    const outbox = yield* readAll((yield* Persistence.Outbox).list, SortKeys.outbox, 50, "outbox")
    assert.include(
      outbox.map((m) => m.id),
      w.message.id,
      `${label}: outbox message`
    )
  })

/**
 * Rows of one unit of work, the independent writes issued together as core issues
 * the writes a use case defers and its journal (`Effect.all`, unbounded, each to its
 * end): a response, its demand's next version, an audit event and an outbox message;
 * numbered `number`; with `clash`, a second response with the first one's id among them.
 */
const writeTogether = (p: Rows.Parties, label: string, number: string, clash: boolean) =>
  Effect.gen(function* () {
    const { members, accounts, demands, responses, audit, outbox } = yield* ports
    const member = Rows.member({ name: `${label}有限公司` })
    yield* members.insert(member)
    const account = Rows.account(member.id)
    yield* accounts.insert(account)
    const first = Rows.demand(member.id, account.id, Rows.publishedFields(number))
    yield* demands.insert(first)
    const demand = { ...first, responseCount: 1, version: first.version + 1 }
    const response = Rows.response(first, p.responder.id, p.responderAccount.id)
    const event = Rows.auditEvent(account.id, [member.id], first.id)
    const message = Rows.outboxMessage()
    const results = yield* Effect.all(
      [
        responses.insert(response),
        ...(clash
          ? [
              responses.insert({
                ...Rows.response(first, p.responder.id, p.responderAccount.id),
                id: response.id
              })
            ]
          : []),
        demands.update(demand),
        audit.append(event),
        outbox.enqueue([message])
      ],
      { concurrency: "unbounded", mode: "either" }
    )
    return { written: { member, account, demand, response, event, message, sequence: 0 }, results }
  })

class Boom {
  readonly _tag = "Boom"
}

const proposal = { title: "卷对卷 CVD 方案", content: "分三期实施，良率目标95%以上。" }

/** @internal A unit of work commits all of its writes or none of them. */
export const atomicity = (h: Harness): void => {
  it.effect(
    "a unit of work that fails leaves none of its writes; one that succeeds keeps them all",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const uow = yield* Persistence.UnitOfWork
          let written: Written | undefined
          const result = yield* Effect.either(
            uow.transaction(
              Effect.gen(function* () {
                written = yield* writeSome(p, "失败")
                return yield* Effect.fail(new Boom())
              })
            )
          )
          assert.isTrue(
            Either.isLeft(result) && result.left instanceof Boom,
            "the unit fails with its own error"
          )
          yield* gone(written!, "after failure")
          const ok = yield* uow.transaction(writeSome(p, "成功"))
          yield* kept(ok, "after success")
          assert.strictEqual(ok.sequence, 1, "R12: the failed unit gave its number back")
        })
      ),
    h.timeout
  )

  it.effect(
    "a unit of work that fails leaves none of its threads, messages, service-log entries, commissions, reward rows, idempotency records or technology managers, and gives their unique keys back",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const uow = yield* Persistence.UnitOfWork
          const demands = yield* Persistence.DemandRepository
          const consultations = yield* Persistence.ConsultationRepository
          const serviceLog = yield* Persistence.ServiceLogRepository
          const commissions = yield* Persistence.CommissionRepository
          const rewards = yield* Persistence.RewardRepository
          const idempotency = yield* Persistence.IdempotencyRepository
          const managers = yield* Persistence.TechnologyManagerRepository
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
          yield* demands.insert(d)
          const t = Rows.thread(d, p.responder.id)
          const m1 = Rows.message(t, 1, p.responderAccount.id, "responder")
          const e1 = Rows.entry(d.id, 1, p.enterpriseAccount.id)
          const c = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id)
          const round = Rows.rewardRound(p.operator.id)
          const profile = Rows.institutionProfile(p.institution.id, p.institutionAccount.id)
          const application = Rows.rewardApplication(round.id, p.institution.id, p.institutionAccount.id, [])
          const record = Rows.idempotencyRecord(p.enterpriseAccount.id, "k-rollback")
          const manager = Rows.manager(p.institution.id)
          const writeAll = Effect.gen(function* () {
            yield* consultations.insertThread(t)
            yield* consultations.appendMessage(m1)
            yield* serviceLog.append(e1)
            yield* commissions.insert(c)
            yield* rewards.insertRound(round)
            yield* rewards.insertProfile(profile)
            yield* rewards.insertApplication(application)
            yield* idempotency.insert(record)
            yield* managers.insert(manager)
          })
          const failed = yield* Effect.either(
            uow.transaction(Effect.zipRight(writeAll, Effect.fail(new Boom())))
          )
          assert.isTrue(
            Either.isLeft(failed) && failed.left instanceof Boom,
            "the unit fails with its own error"
          )
          none(yield* consultations.findThreadById(t.id), "the thread")
          none(yield* consultations.findThread(d.id, p.responder.id), "the thread, by demand and responder")
          assert.deepStrictEqual(yield* consultations.listMessages(t.id, 0, 10), [], "the message")
          assert.strictEqual(yield* serviceLog.lastSeq(d.id), 0, "the service-log entry")
          none(yield* commissions.findById(c.id), "the commission")
          none(yield* commissions.findOpen(p.enterprise.id, p.institution.id), "the open commission")
          none(yield* rewards.findRound(round.id), "the reward round")
          none(yield* rewards.findProfile(p.institution.id), "the profile")
          none(yield* rewards.findApplication(application.id), "the application")
          none(yield* rewards.findApplicationOf(round.id, p.institution.id), "the application, by round")
          none(yield* idempotency.find(p.enterpriseAccount.id, "k-rollback"), "the idempotency record")
          none(yield* managers.findById(manager.id), "the technology manager")
          // The same rows, with the same unique keys, are written by a unit that succeeds.
          yield* uow.transaction(writeAll)
          some(yield* consultations.findThread(d.id, p.responder.id), "the thread written")
          assert.lengthOf(yield* consultations.listMessages(t.id, 0, 10), 1, "the message written")
          assert.strictEqual(yield* serviceLog.lastSeq(d.id), 1, "the entry written")
          some(yield* commissions.findOpen(p.enterprise.id, p.institution.id), "the commission written")
          some(yield* rewards.findApplicationOf(round.id, p.institution.id), "the application written")
          some(yield* idempotency.find(p.enterpriseAccount.id, "k-rollback"), "the record written")
          some(yield* managers.findById(manager.id), "the manager written")
        })
      ),
    h.timeout
  )

  it.effect(
    "R40: a unit of work that fails gives the pair's open-commission key back as it was: a request rolled back leaves the pair free for a request of another id; a closure rolled back leaves the first request open, and a second refused",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const uow = yield* Persistence.UnitOfWork
          const commissions = yield* Persistence.CommissionRepository
          const rolledBack = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
            Effect.flatMap(
              Effect.either(uow.transaction(Effect.zipRight(effect, Effect.fail(new Boom())))),
              (r) =>
                Effect.sync(() => assert.isTrue(Either.isLeft(r) && r.left instanceof Boom, "the unit fails"))
            )
          const request = () => Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id)
          yield* rolledBack(commissions.insert(request()))
          none(
            yield* commissions.findOpen(p.enterprise.id, p.institution.id),
            "no open commission after the rollback"
          )
          const first = request()
          yield* uow.transaction(commissions.insert(first))
          assert.strictEqual(
            some(yield* commissions.findOpen(p.enterprise.id, p.institution.id), "the pair's open commission")
              .id,
            first.id,
            "a request of another id takes the key the rolled-back one gave back"
          )
          const ended = { ...first, state: "ended" as const, endedAt: first.createdAt, version: 2 }
          yield* rolledBack(commissions.update(ended))
          assert.strictEqual(
            some(yield* commissions.findOpen(p.enterprise.id, p.institution.id), "still open").id,
            first.id,
            "the closure rolled back: the first request is open"
          )
          yield* failsWith(
            uow.transaction(commissions.insert(request())),
            "UniqueViolation",
            "a second open commission beside the first, whose closure was rolled back"
          )
        })
      ),
    h.timeout
  )

  for (const nested of [false, true]) {
    it.effect(
      nested
        ? "a journal entry refused inside a nested unit of work that catches the refusal leaves none of its parts, whatever the outer unit does"
        : "a journal entry refused (an event id taken) leaves none of its parts, even where the unit catches the refusal and goes on",
      (ctx) =>
        h.run(
          Effect.gen(function* () {
            const journal = yield* Effect.serviceOption(Persistence.Journal)
            if (Option.isNone(journal)) return yield* lacks(h, "Journal", ctx)
            const p = yield* Rows.insertParties
            const uow = yield* Persistence.UnitOfWork
            const { audit, outbox, members } = yield* ports
            const taken = Rows.auditEvent(p.enterpriseAccount.id, [p.enterprise.id], null)
            yield* audit.append(taken)
            const fresh = Rows.auditEvent(p.enterpriseAccount.id, [p.enterprise.id], null)
            const message = Rows.outboxMessage()
            const before = Rows.member({ name: "之前写入有限公司" })
            const refusing = Effect.gen(function* () {
              const refused = yield* Effect.either(
                journal.value.write({
                  events: [fresh, taken],
                  messages: [message],
                  accountMessages: [],
                  idempotency: null
                })
              )
              assert.isTrue(
                Either.isLeft(refused) && isTagged(refused.left, "UniqueViolation"),
                "the entry is refused"
              )
            })
            const result = yield* Effect.either(
              uow.transaction(
                Effect.gen(function* () {
                  yield* members.insert(before)
                  // Nested: the outer unit goes on whether the nested one fails or not.
                  if (nested) yield* Effect.either(uow.transaction(refusing))
                  else yield* refusing
                })
              )
            )
            const events = yield* readAll(
              (range) => audit.list({ memberId: p.enterprise.id, ...range }),
              SortKeys.audit
            )
            assert.deepStrictEqual(
              events.map((e) => e.id),
              [taken.id],
              "no event of the refused entry"
            )
            const messages = yield* readAll(outbox.list, SortKeys.outbox, 50, "outbox")
            assert.notInclude(
              messages.map((m) => m.id),
              message.id,
              "no message of the refused entry"
            )
            // The unit either kept its other write (the entry refused whole, or the
            // nested unit rolled back) or failed and kept nothing (the adapter could
            // not undo the entry's other parts alone).
            const kept = yield* members.findById(before.id)
            if (Either.isRight(result)) some(kept, "the unit's other write, kept with it")
            else {
              assert.isTrue(isTagged(result.left, "InfrastructureError"), "the unit fails as the store's")
              none(kept, "the failed unit's other write")
            }
          })
        ),
      h.timeout
    )
  }

  it.effect(
    "writes issued together in one unit of work (core's deferred writes and journal) all apply, in order; when one fails, the unit leaves none of them",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const uow = yield* Persistence.UnitOfWork
          const ok = yield* uow.transaction(writeTogether(p, "并发", "ZB20260901", false))
          assert.deepStrictEqual(
            ok.results.map((r) => r._tag),
            ["Right", "Right", "Right", "Right"],
            "each write succeeded"
          )
          const w = ok.written
          same(
            Demand.Demand,
            some(yield* (yield* Persistence.DemandRepository).findById(w.demand.id), "demand"),
            w.demand,
            "the demand's next version"
          )
          some(yield* (yield* Persistence.ResponseRepository).findById(w.response.id), "response")
          const events = yield* (yield* Persistence.AuditRepository).list({
            demandId: w.demand.id,
            limit: 10
          })
          assert.deepStrictEqual(
            events.map((e) => e.id),
            [w.event.id],
            "audit event"
          )
          const outbox = yield* readAll((yield* Persistence.Outbox).list, SortKeys.outbox, 50, "outbox")
          assert.include(
            outbox.map((m) => m.id),
            w.message.id,
            "outbox message"
          )
          let failed: Effect.Effect.Success<ReturnType<typeof writeTogether>> | undefined
          const result = yield* Effect.either(
            uow.transaction(
              Effect.gen(function* () {
                failed = yield* writeTogether(p, "并发冲突", "ZB20260902", true)
                const left = failed.results.find(Either.isLeft)
                return yield* left === undefined ? Effect.void : Effect.fail(left.left)
              })
            )
          )
          assert.deepStrictEqual(
            failed?.results.slice(0, 2).map((r) => (Either.isLeft(r) ? r.left._tag : r._tag)),
            ["Right", "UniqueViolation"],
            "the first response written, the second with its id refused (what follows may fail with it)"
          )
          assert.isTrue(
            Either.isLeft(result) && isTagged(result.left, "UniqueViolation"),
            "the unit fails with that failure"
          )
          yield* gone(failed!.written, "after the failure")
        })
      ),
    h.timeout
  )

  it.effect(
    "a unit of work that dies leaves none of its writes",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const uow = yield* Persistence.UnitOfWork
          let written: Written | undefined
          const exit = yield* Effect.exit(
            uow.transaction(
              Effect.gen(function* () {
                written = yield* writeSome(p, "崩溃")
                return yield* Effect.dieMessage("defect in the middle of a unit")
              })
            )
          )
          assert.isTrue(Exit.isFailure(exit), "the unit dies")
          yield* gone(written!, "after a defect")
        })
      ),
    h.timeout
  )

  it.effect(
    "a unit of work interrupted midway leaves none of its writes",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const uow = yield* Persistence.UnitOfWork
          const midway = yield* Deferred.make<Written>()
          const fiber = yield* Effect.fork(
            uow.transaction(
              Effect.gen(function* () {
                const written = yield* writeSome(p, "中断")
                yield* Deferred.succeed(midway, written)
                return yield* Effect.never
              })
            )
          )
          const written = yield* Deferred.await(midway)
          yield* Fiber.interrupt(fiber)
          yield* gone(written, "after interruption")
          const ok = yield* uow.transaction(writeSome(p, "之后"))
          yield* kept(ok, "a later unit")
        })
      ),
    h.timeout
  )

  it.effect(
    "a read (UnitOfWork.read, or a transaction without it) never sees what an unfinished unit wrote",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const uow = yield* Persistence.UnitOfWork
          const read = uow.read ?? uow.transaction
          const demands = yield* Persistence.DemandRepository
          const midway = yield* Deferred.make<Written>()
          const release = yield* Deferred.make<void>()
          const writer = yield* Effect.fork(
            uow.transaction(
              Effect.gen(function* () {
                const written = yield* writeSome(p, "未提交")
                yield* Deferred.succeed(midway, written)
                yield* Deferred.await(release)
                return yield* Effect.fail(new Boom())
              })
            )
          )
          const written = yield* Deferred.await(midway)
          const reader = yield* Effect.fork(read(demands.findById(written.demand.id)))
          // Real time: the read's statement reaches the database while the unit is open.
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
          yield* Deferred.succeed(release, undefined)
          assert.isTrue(Exit.isFailure(yield* Fiber.await(writer)), "the unit fails")
          none(yield* Fiber.join(reader), "the read saw the unfinished unit's demand")
          yield* gone(written, "after the unit failed")
        })
      ),
    h.timeout
  )

  /*
   * How a nested unit fails: with an error of its own, or with a write the store
   * refused (on PostgreSQL the nested unit's savepoint is rolled back, not the whole
   * transaction: the pattern the port recommends for a write that may be refused).
   */
  const nestedFailures = [
    {
      title: "a nested unit that fails, caught by the outer one, undoes only the nested part",
      fail: (_before: Written) => Effect.fail(new Boom()),
      error: "Boom"
    },
    {
      title:
        "a write refused inside a nested unit (a unique key taken) undoes the nested unit alone; the outer unit goes on, writes and keeps its writes",
      fail: (before: Written) => Effect.flatMap(Persistence.MemberRepository, (m) => m.insert(before.member)),
      error: "UniqueViolation"
    }
  ] as const

  for (const { title, fail, error } of nestedFailures) {
    it.effect(
      title,
      () =>
        h.run(
          Effect.gen(function* () {
            const p = yield* Rows.insertParties
            const uow = yield* Persistence.UnitOfWork
            let inner: Written | undefined
            const { before, after } = yield* uow.transaction(
              Effect.gen(function* () {
                const before = yield* writeSome(p, "外层前")
                const nested = yield* Effect.either(
                  uow.transaction(
                    Effect.gen(function* () {
                      inner = yield* writeSome(p, "内层")
                      return yield* fail(before)
                    })
                  )
                )
                assert.isTrue(
                  Either.isLeft(nested) && isTagged(nested.left, error),
                  `the nested unit fails with ${error}`
                )
                yield* gone(inner!, "inside the outer unit, after the nested failure")
                const after = yield* writeSome(p, "外层后")
                return { before, after }
              })
            )
            yield* kept(before, "outer writes before the nested unit")
            yield* kept(after, "outer writes after the nested unit")
            yield* gone(inner!, "the nested unit's writes")
            assert.deepStrictEqual(
              [before.sequence, after.sequence],
              [1, 2],
              "R12: the nested unit gave its number back"
            )
          })
        ),
      h.timeout
    )
  }

  it.effect(
    "two nested units begun at once inside one unit are each all-or-nothing: the one that fails leaves nothing, the one that succeeds keeps its writes",
    () =>
      h.run(
        Effect.gen(function* () {
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          const failing = Rows.member()
          const succeeding = Rows.member()
          // Real time, whatever clock the test runs under: the second begins while the first runs.
          const pause = (millis: number) =>
            Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))
          const [first, second] = yield* uow.transaction(
            Effect.all(
              [
                Effect.either(
                  uow.transaction(
                    Effect.zipRight(
                      members.insert(failing),
                      Effect.zipRight(pause(60), Effect.fail(new Boom()))
                    )
                  )
                ),
                Effect.either(uow.transaction(Effect.zipRight(pause(20), members.insert(succeeding))))
              ],
              { concurrency: "unbounded" }
            )
          )
          assert.isTrue(Either.isLeft(first), "the first nested unit fails")
          assert.isTrue(Either.isRight(second), "the second succeeds")
          none(yield* members.findById(failing.id), "the failed nested unit's member")
          some(yield* members.findById(succeeding.id), "the other nested unit's member")
        })
      ),
    h.timeout
  )

  it.effect(
    "a demand read in a unit of work that rolled back (or a nested unit rolled back to its savepoint), then written as the next version of what another unit committed, is stored as written, its form too",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const uow = yield* Persistence.UnitOfWork
          const demands = yield* Persistence.DemandRepository
          const titled = (d: Demand.Demand, title: string, version: number): Demand.Demand => ({
            ...d,
            version,
            form: { ...d.form, title: title as Demand.Demand["form"]["title"] }
          })
          const reads: Array<Demand.Demand> = []
          /** Writes `title` as the next version and reads it back locked, in a unit that then fails. */
          const readThenFail = (d: Demand.Demand, title: string) =>
            Effect.gen(function* () {
              yield* demands.update(titled(d, title, d.version + 1))
              const read = Option.getOrThrow(yield* demands.findByIdForUpdate(d.id))
              assert.strictEqual(read.form.title, title)
              reads.push(read)
              return yield* Effect.fail(new Boom())
            })
          const outermost = Rows.demand(p.enterprise.id, p.enterpriseAccount.id)
          const nested = Rows.demand(p.enterprise.id, p.enterpriseAccount.id)
          yield* uow.transaction(Effect.all([demands.insert(outermost), demands.insert(nested)]))

          yield* Effect.flip(uow.transaction(readThenFail(outermost, "回滚前的标题")))
          const rolledBack = reads.pop()!
          yield* uow.transaction(demands.update(titled(outermost, "他人提交的标题", outermost.version + 1)))
          yield* uow.transaction(demands.update({ ...rolledBack, version: rolledBack.version + 1 }))

          yield* uow.transaction(
            Effect.gen(function* () {
              yield* Effect.flip(uow.transaction(readThenFail(nested, "回滚前的标题")))
              yield* demands.update(titled(nested, "他人提交的标题", nested.version + 1))
            })
          )
          const undone = reads.pop()!
          yield* uow.transaction(demands.update({ ...undone, version: undone.version + 1 }))

          for (const d of [outermost, nested]) {
            const stored = Option.getOrThrow(yield* demands.findById(d.id))
            assert.strictEqual(stored.version, d.version + 2)
            assert.strictEqual(stored.form.title, "回滚前的标题", "the form written with the last version")
          }
        })
      ),
    h.timeout
  )

  it.effect(
    "a nested unit that succeeds is undone with the outer unit that fails",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const uow = yield* Persistence.UnitOfWork
          let outer: Written | undefined
          let inner: Written | undefined
          yield* Effect.either(
            uow.transaction(
              Effect.gen(function* () {
                outer = yield* writeSome(p, "外层")
                inner = yield* uow.transaction(writeSome(p, "内层"))
                return yield* Effect.fail(new Boom())
              })
            )
          )
          yield* gone(outer!, "the outer unit's writes")
          yield* gone(inner!, "the nested unit's writes")
        })
      ),
    h.timeout
  )

  it.effect(
    "R26: a respond whose notification fails leaves no response, no audit event and an unchanged demand",
    () => {
      let failing = false
      return h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const responding = yield* Responding.Responding
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const audit = yield* Persistence.AuditRepository
          const trailBefore = yield* readAll(
            (range) => audit.list({ demandId: demand.id, ...range }),
            SortKeys.audit
          )
          failing = true
          const error = yield* failsWith(
            responding.respond(world.institute.account, { demandId: demand.id, proposal }),
            "InfrastructureError",
            "respond with a failing outbox"
          )
          assert.isTrue(isTagged(error, "InfrastructureError"), "an InfrastructureError")
          none(yield* responses.findActive(demand.id, demand.round, world.institute.member.id), "response")
          assert.deepStrictEqual(yield* responses.listByDemandRound(demand.id, demand.round), [], "responses")
          same(
            Demand.Demand,
            some(yield* demands.findById(demand.id), "demand"),
            demand,
            "the demand is unchanged"
          )
          const trailAfter = yield* readAll(
            (range) => audit.list({ demandId: demand.id, ...range }),
            SortKeys.audit
          )
          assert.deepStrictEqual(
            trailAfter.map((e) => e.id),
            trailBefore.map((e) => e.id),
            "no audit event remains"
          )
          failing = false
          const response = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal
          })
          assert.strictEqual(
            some(yield* demands.findById(demand.id), "demand").responseCount,
            1,
            "a later respond counts once"
          )
          some(yield* responses.findById(response.id), "the later response")
        }),
        failingNotifications(() => failing)
      )
    },
    h.timeout
  )

  it.effect(
    "R26: an adoption whose notification fails leaves the response submitted and intake open",
    () => {
      let failing = false
      return h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const responding = yield* Responding.Responding
          const selection = yield* Selection.Selection
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const response = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal
          })
          const before = some(yield* demands.findById(demand.id), "demand")
          failing = true
          yield* failsWith(
            selection.adopt(world.enterprise.account, { responseId: response.id }),
            "InfrastructureError",
            "adopt with a failing outbox"
          )
          same(
            Demand.Demand,
            some(yield* demands.findById(demand.id), "demand"),
            before,
            "the demand is unchanged"
          )
          assert.strictEqual(
            some(yield* responses.findById(response.id), "response").status,
            "submitted",
            "the response is still submitted"
          )
          failing = false
          yield* responding.respond(world.expert.account, { demandId: demand.id, proposal })
        }),
        failingNotifications(() => failing)
      )
    },
    h.timeout
  )

  it.effect(
    "R12: an approval rolled back after numbering gives its number back",
    () => {
      let failing = false
      return h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const publishing = yield* Publishing.Publishing
          const review = yield* Review.Review
          const demands = yield* Persistence.DemandRepository
          const draft = (title: string) =>
            Effect.gen(function* () {
              const d = yield* publishing.draft(world.enterprise.account, yield* Fixtures.form({ title }))
              yield* publishing.submit(world.enterprise.account, { demandId: d.id })
              return d.id
            })
          const first = yield* draft("第一项需求")
          const second = yield* draft("第二项需求")
          failing = true
          yield* failsWith(
            review.approve(world.operator, { demandId: first }),
            "InfrastructureError",
            "approve with a failing outbox"
          )
          const refused = some(yield* demands.findById(first), "demand")
          assert.strictEqual(refused.state, "pending_review", "the failed approval changed nothing")
          assert.isNull(refused.number, "the failed approval left no number")
          failing = false
          const approved = yield* review.approve(world.operator, { demandId: second })
          assert.strictEqual(approved.number, "ZB20260001", "the next approval takes the number back")
          const later = yield* review.approve(world.operator, { demandId: first })
          assert.strictEqual(later.number, "ZB20260002")
        }),
        failingNotifications(() => failing)
      )
    },
    h.timeout
  )
}
