import { assert, it } from "@effect/vitest"
import {
  Commissioning,
  Consulting,
  Demand,
  Files,
  type Ids,
  type Member,
  type Notification,
  Membership,
  Outcome,
  Persistence,
  Publishing,
  type Response,
  Responding,
  Review,
  Rewards,
  Selection,
  SortKeys
} from "@zhongbao/core"
import { Clock, DateTime, Deferred, Effect, Either, Fiber, Option } from "effect"
import * as Fixtures from "../Fixtures.js"
import {
  type Env,
  failingNotifications,
  type Harness,
  minutesAfter,
  readAll,
  replace,
  some,
  type Wrap,
  yielding
} from "./harness.js"
import * as Rows from "./rows.js"

const proposal = { title: "卷对卷 CVD 方案", content: "分三期实施，良率目标95%以上。" }
const kinds: ReadonlyArray<Member.MemberKind> = [
  "research_institute",
  "expert",
  "enterprise",
  "service_institution"
]

/** `n` members, each with one account, made by the operator through Membership. */
const makeResponders = (world: Fixtures.World, n: number) =>
  Effect.gen(function* () {
    const membership = yield* Membership.Membership
    return yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) =>
        Effect.gen(function* () {
          const member = yield* membership.createMember(world.operator, {
            kind: kinds[i % kinds.length]!,
            name: `应答方${i}`,
            region: "天津市"
          })
          const account = yield* membership.createAccount(world.operator, {
            memberId: member.id,
            name: `应答联系人${i}`,
            phone: Fixtures.nextPhone()
          })
          return account.id
        }),
      { concurrency: 8 }
    )
  })

/** `n` demands of the enterprise, drafted and submitted for review. */
const pendingDemands = (world: Fixtures.World, n: number, title: (i: number) => string) =>
  Effect.gen(function* () {
    const publishing = yield* Publishing.Publishing
    return yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) =>
        Effect.gen(function* () {
          const draft = yield* publishing.draft(
            world.enterprise.account,
            yield* Fixtures.form({ title: title(i) })
          )
          yield* publishing.submit(world.enterprise.account, { demandId: draft.id })
          return draft.id
        }),
      { concurrency: 8 }
    )
  })

const numbers = (n: number) => Array.from({ length: n }, (_, i) => Demand.formatNumber("ZB", 2026, i + 1, 4))

const describeError = (error: unknown) => JSON.stringify(error)

/**
 * Yields before every port call, and holds a unit of work for a few milliseconds
 * after it read reward applications: the window in which another submission would
 * pass the same R52 check, were submissions not serialised.
 */
const slowClaims: Wrap = (ports) =>
  replace(yielding(ports), Persistence.RewardRepository, (repo) => ({
    ...repo,
    listApplications: (query) =>
      Effect.zipLeft(
        repo.listApplications(query),
        Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      )
  }))

/** A send recorded at `at`. */
const sentAt = (at: DateTime.Utc): Notification.Settlement => ({
  _tag: "Sent",
  at,
  providerMessageId: "p-raced",
  unknownOutcome: false
})

/** Real time: a statement sent meanwhile reaches the store, and would have answered were it not held. */
const meanwhile = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))

/** Runs `body` in a unit of work that stays open, once `body` ran, until it is released. */
const openUnit = <A>(body: Effect.Effect<A, unknown, Env>) =>
  Effect.gen(function* () {
    const uow = yield* Persistence.UnitOfWork
    const ran = yield* Deferred.make<A>()
    const release = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(
      uow.transaction(
        Effect.tap(body, (a) => Effect.zipRight(Deferred.succeed(ran, a), Deferred.await(release)))
      )
    )
    return {
      ran: Deferred.await(ran),
      hasRun: Deferred.isDone(ran),
      end: Effect.zipRight(Deferred.succeed(release, undefined), Fiber.join(fiber))
    }
  })

/**
 * A shared row lock a rule relies on, both ways. A unit of work that `hold`s the row
 * keeps it as it is until it ends: a unit that `change`s it meanwhile waits, then
 * commits. And a unit holding its change uncommitted is waited for: `hold` then reads
 * what it committed. Answers what `hold` read before the change and after it.
 */
const sharedLock = <A>(hold: Effect.Effect<A, unknown, Env>, change: Effect.Effect<unknown, unknown, Env>) =>
  Effect.gen(function* () {
    const holder = yield* openUnit(hold)
    const before = yield* holder.ran
    const changer = yield* openUnit(change)
    yield* meanwhile
    assert.isFalse(yield* changer.hasRun, "a change waits for the unit of work that holds the row")
    yield* holder.end
    yield* changer.ran
    const reader = yield* openUnit(hold)
    yield* meanwhile
    assert.isFalse(yield* reader.hasRun, "the row is held for a change not yet committed: waited for")
    yield* changer.end
    const after = yield* reader.ran
    yield* reader.end
    return { before, after }
  })

/**
 * An exclusive row lock a rule relies on: while a unit of work that `hold`s the row
 * is open, another that asks for it waits, and goes on once the first ends.
 */
const exclusiveLock = (hold: Effect.Effect<unknown, unknown, Env>) =>
  Effect.gen(function* () {
    const holder = yield* openUnit(hold)
    yield* holder.ran
    const second = yield* openUnit(hold)
    yield* meanwhile
    assert.isFalse(yield* second.hasRun, "a second unit asking for the row waits for the first")
    yield* holder.end
    yield* second.ran
    yield* second.end
  })

/** A reward round of May 2026, applications due by 15 June (R50). */
const roundInput = (title: string) => ({
  title,
  rules: "对在申报期内解决的众包需求，按服务费用给予奖励。",
  periodStart: "2026-05-01",
  periodEnd: "2026-05-31",
  applicationDeadline: "2026-06-15"
})

/**
 * Two commands on one row raced: one is taken, the other `refused` as the first left
 * the row (never a conflict to retry).
 */
const oneTaken = (
  results: ReadonlyArray<Either.Either<unknown, unknown>>,
  refused: Record<string, string>,
  what: string
) => {
  assert.strictEqual(results.filter(Either.isRight).length, 1, `one ${what} is taken`)
  for (const r of results.filter(Either.isLeft)) {
    assert.deepInclude(r.left as object, refused, `the other ${what} is refused as the first left the row`)
  }
}

/**
 * A clock one millisecond later at every reading, from `start`: the order of two
 * commands' instants is the order they read the clock in.
 */
const ticking = (start: number): Clock.Clock => {
  let now = start
  const millis = () => ++now
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: millis,
    currentTimeMillis: Effect.sync(millis),
    unsafeCurrentTimeNanos: () => BigInt(millis()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(millis()) * 1_000_000n),
    sleep: () => Effect.void
  }
}

/** @internal Concurrent use cases keep the invariants the rules promise. */
export const races = (h: Harness): void => {
  it.effect(
    "R26: 200 concurrent responders against the first adoption → zero responses accepted after it commits, none stored as submitted after intake closed",
    () => {
      // A logical clock over the adapter's writes: when each response row was
      // inserted and when the demand's intake was closed, in the order the port
      // calls completed. With the demand row locked (findByIdForUpdate), a
      // respond inserts its row while holding the lock, so the order of these
      // calls is the commit order.
      let tick = 0
      const inserted = new Map<string, number>()
      const intakeClosed: Array<{ readonly tick: number; readonly version: number }> = []
      const probe: Wrap = (adapter) => {
        const ports = yielding(adapter)
        return replace(
          replace(ports, Persistence.ResponseRepository, (repo) => ({
            ...repo,
            insert: (r) => Effect.tap(repo.insert(r), () => Effect.sync(() => inserted.set(r.id, ++tick)))
          })),
          Persistence.DemandRepository,
          (repo) => ({
            ...repo,
            update: (d) =>
              Effect.tap(repo.update(d), () =>
                Effect.sync(() => {
                  if (d.intakeClosedAt !== null) intakeClosed.push({ tick: ++tick, version: d.version })
                })
              )
          })
        )
      }
      return h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const responding = yield* Responding.Responding
          const selection = yield* Selection.Selection
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const first = yield* responding.respond(world.institute.account, { demandId: demand.id, proposal })
          const responders = yield* makeResponders(world, 200)

          type Outcome = {
            readonly kind: "adopt" | "respond"
            readonly result: Either.Either<Response.Response, unknown>
          }
          const respond = (account: Ids.AccountId): Effect.Effect<Outcome> =>
            Effect.map(
              Effect.either(responding.respond(account, { demandId: demand.id, proposal })),
              (result) => ({
                kind: "respond",
                result
              })
            )
          const adopt: Effect.Effect<Outcome> = Effect.map(
            Effect.either(selection.adopt(world.enterprise.account, { responseId: first.id })),
            (result) => ({ kind: "adopt", result })
          )
          const racers = [
            ...responders.slice(0, 100).map(respond),
            adopt,
            ...responders.slice(100).map(respond)
          ]
          // The race's clock ticks at every reading: a command that read it before
          // waiting for another's lock would store an instant earlier than that one's.
          const outcomes = yield* Effect.withClock(
            Effect.all(racers, { concurrency: "unbounded" }),
            ticking(DateTime.toEpochMillis(yield* DateTime.now))
          )

          const adoption = outcomes.find((o) => o.kind === "adopt")!.result
          assert.isTrue(Either.isRight(adoption), `the adoption succeeds: ${describeError(adoption)}`)
          const responds = outcomes.filter((o) => o.kind === "respond").map((o) => o.result)
          const accepted = responds.filter(Either.isRight).map((r) => r.right)
          const refused = responds
            .filter(Either.isLeft)
            .map((r) => r.left as { _tag?: string; rule?: string })
          const wrong = refused.filter((e) => e._tag !== "InvalidState" || e.rule !== "R24")
          assert.deepStrictEqual(
            wrong.map(describeError),
            [],
            "every refused respond is refused by R24 (intake closed by the adoption)"
          )

          const final = some(yield* demands.findById(demand.id), "demand")
          assert.isNotNull(final.intakeClosedAt, "the adoption closed intake")
          assert.strictEqual(final.adoptedCount, 1, "one adoption")
          assert.strictEqual(
            final.responseCount,
            accepted.length + 1,
            "responseCount is the first response plus every accepted respond"
          )
          const rows = yield* responses.listByDemandRound(demand.id, demand.round)
          assert.sameMembers(
            rows.map((r) => r.id),
            [first.id, ...accepted.map((r) => r.id)],
            "the stored responses are exactly the first one and the accepted ones"
          )

          const closing = intakeClosed.find((c) => c.version === final.version)
          assert.isDefined(closing, "the committed adoption wrote the demand")
          const late = rows.filter((r) => (inserted.get(r.id) ?? Number.POSITIVE_INFINITY) > closing!.tick)
          assert.deepStrictEqual(
            late.map((r) => r.id),
            [],
            `no response row was inserted after the adoption closed intake (${accepted.length} accepted before it)`
          )

          const closedAt = final.intakeClosedAt!
          assert.deepStrictEqual(
            rows.filter((r) => DateTime.greaterThan(r.submittedAt, closedAt)).map((r) => r.id),
            [],
            "no stored response was submitted after the instant intake closed"
          )

          const audit = yield* Persistence.AuditRepository
          const trail = yield* readAll(
            (range) => audit.list({ demandId: demand.id, ...range }),
            SortKeys.audit,
            100
          )
          assert.strictEqual(
            trail.filter((e) => e.action === "response.submitted").length,
            accepted.length + 1,
            "one audit event per stored response"
          )
          const outbox = yield* readAll((yield* Persistence.Outbox).list, SortKeys.outbox, 100)
          assert.strictEqual(
            outbox.filter((m) => m.event === "response_received").length,
            accepted.length + 1,
            "one notification per stored response"
          )
          assert.strictEqual(
            outbox.filter((m) => m.event === "response_adopted").length,
            1,
            "one adoption notice"
          )
        }),
        probe
      )
    },
    h.timeout
  )

  it.effect(
    "R25: 100 concurrent responders against the demand's closing (solved) → every response stored in the round is not adopted and notified once",
    () =>
      // A store whose unit of work read one snapshot from its first statement on (MySQL's
      // REPEATABLE READ) would list the round's responses as they were before a respond
      // that committed while the closing waited for the demand's lock: that response
      // would stay submitted on a closed demand, its responder never told (R25).
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const responding = yield* Responding.Responding
          const outcome = yield* Outcome.Outcome
          const responses = yield* Persistence.ResponseRepository
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const first = yield* responding.respond(world.institute.account, { demandId: demand.id, proposal })
          const responders = yield* makeResponders(world, 100)
          // The closing starts once ten of the first fifty responds have finished, the other
          // forty on their way (some commit before its lock, some wait for it); the last fifty
          // start once the closing has, so that some of them come after it.
          const tenFinished = yield* Deferred.make<void>()
          const closing = yield* Deferred.make<void>()
          let finished = 0
          const respond = (account: Ids.AccountId) =>
            Effect.either(responding.respond(account, { demandId: demand.id, proposal })).pipe(
              Effect.tap(() => (++finished === 10 ? Deferred.succeed(tenFinished, undefined) : Effect.void))
            )
          const all = (accounts: ReadonlyArray<Ids.AccountId>) =>
            Effect.all(accounts.map(respond), { concurrency: "unbounded" })
          const close = Deferred.await(tenFinished).pipe(
            Effect.zipRight(Deferred.succeed(closing, undefined)),
            Effect.zipRight(Effect.either(outcome.solved(world.enterprise.account, { demandId: demand.id })))
          )
          const raced = yield* Effect.all(
            {
              closed: close,
              first: all(responders.slice(0, 50)),
              last: Effect.zipRight(Deferred.await(closing), all(responders.slice(50)))
            },
            { concurrency: "unbounded" }
          )
          const closed = raced.closed
          const responds = [...raced.first, ...raced.last]
          assert.isTrue(Either.isRight(closed), `the demand is solved: ${describeError(closed)}`)
          const wrong = responds
            .filter(Either.isLeft)
            .map((r) => r.left as { _tag?: string; rule?: string })
            .filter((e) => e._tag !== "InvalidState")
          assert.deepStrictEqual(
            wrong.map(describeError),
            [],
            "a respond refused is refused by the demand's state"
          )
          assert.isAtLeast(
            responds.filter(Either.isRight).length,
            10,
            "ten responds finished before the closing began"
          )
          assert.isAtLeast(
            responds.filter(Either.isLeft).length,
            1,
            "responds raced the closing: some came after it"
          )

          const rows = yield* responses.listByDemandRound(demand.id, demand.round)
          const accepted = responds.filter(Either.isRight).map((r) => r.right.id)
          assert.sameMembers(
            rows.map((r) => r.id),
            [first.id, ...accepted],
            "the stored responses are the first one and every accepted respond"
          )
          assert.deepStrictEqual(
            rows.filter((r) => r.status !== "not_adopted").map((r) => `${r.id} ${r.status}`),
            [],
            "closing ended every stored response: none left submitted on a solved demand"
          )
          const notices = (yield* readAll((yield* Persistence.Outbox).list, SortKeys.outbox, 100)).filter(
            (m) => m.event === "response_not_adopted"
          )
          const unnoticed = rows
            .map((r) => ({
              id: r.id,
              count: notices.filter((m) => m.dedupeKey.startsWith(`response_not_adopted:${r.id}:`)).length
            }))
            .filter((x) => x.count !== 1)
          assert.deepStrictEqual(
            unnoticed.map((x) => `${x.id}: ${x.count} notices`),
            [],
            `each of the ${rows.length} stored responses has exactly one "not adopted" notice`
          )
          assert.strictEqual(notices.length, rows.length, "no other notice")
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R12: 200 concurrent approvals in one year → numbers 0001…0200 with no gap or duplicate",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const review = yield* Review.Review
          const demands = yield* Persistence.DemandRepository
          const ids = yield* pendingDemands(world, 200, (i) => `石墨烯散热膜量产工艺（${i}）`)
          const results = yield* Effect.all(
            ids.map((demandId) => Effect.either(review.approve(world.operator, { demandId }))),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(
            results.filter(Either.isLeft).map((r) => describeError(r.left)),
            [],
            "every approval succeeds"
          )
          const given = results.filter(Either.isRight).map((r) => r.right.number ?? "")
          assert.deepStrictEqual([...given].sort(), numbers(200), "the numbers handed out")
          const stored = (yield* demands.findByIds(ids)).map((d) => d.number ?? "")
          assert.deepStrictEqual([...stored].sort(), numbers(200), "the numbers stored")
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R12: 120 concurrent approvals, every fourth rolled back after numbering → the committed numbers are 0001…0090 with no gap",
    () => {
      let armed = false
      const failing: Wrap = (ports) =>
        failingNotifications(
          (messages) => armed && messages.some((m) => (m.params.title ?? "").startsWith("回滚"))
        )(yielding(ports))
      return h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const review = yield* Review.Review
          const demands = yield* Persistence.DemandRepository
          const ids = yield* pendingDemands(world, 120, (i) =>
            i % 4 === 3 ? `回滚需求（${i}）` : `正常需求（${i}）`
          )
          armed = true
          const results = yield* Effect.all(
            ids.map((demandId) => Effect.either(review.approve(world.operator, { demandId }))),
            { concurrency: "unbounded" }
          )
          const failed = results.filter(Either.isLeft).map((r) => r.left as { _tag?: string })
          assert.strictEqual(failed.length, 30, "the injected failures")
          assert.isTrue(
            failed.every((e) => e._tag === "InfrastructureError"),
            "they fail with the injected error"
          )
          const stored = yield* demands.findByIds(ids)
          const committed = stored.filter((d) => d.state === "published").map((d) => d.number ?? "")
          assert.deepStrictEqual([...committed].sort(), numbers(90), "the committed numbers")
          const rolledBack = stored.filter((d) => d.form.title.startsWith("回滚"))
          assert.isTrue(
            rolledBack.every((d) => d.state === "pending_review" && d.number === null),
            "rolled-back approvals left their demands unchanged"
          )
        }),
        failing
      )
    },
    h.timeout
  )

  it.effect(
    "R21: 50 concurrent responds by one member → exactly one active response",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const responding = yield* Responding.Responding
          const responses = yield* Persistence.ResponseRepository
          const demands = yield* Persistence.DemandRepository
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const results = yield* Effect.all(
            Array.from({ length: 50 }, () =>
              Effect.either(responding.respond(world.institute.account, { demandId: demand.id, proposal }))
            ),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(results.filter(Either.isRight).length, 1, "one respond is accepted")
          const wrong = results
            .filter(Either.isLeft)
            .map((r) => r.left as { _tag?: string; rule?: string })
            .filter((e) => e._tag !== "InvalidState" || (e.rule !== "R21" && e.rule !== "R26"))
          assert.deepStrictEqual(wrong.map(describeError), [], "the others are refused by R21 (or R26)")
          assert.strictEqual(
            (yield* responses.listByDemandRound(demand.id, demand.round)).length,
            1,
            "one row"
          )
          assert.strictEqual(
            some(yield* demands.findById(demand.id), "demand").responseCount,
            1,
            "counted once"
          )
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R52: one institution's applications to 20 rounds, each listing one solved demand, submitted concurrently → exactly one submitted",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const rewards = yield* Rewards.Rewards
          const outcome = yield* Outcome.Outcome
          const files = yield* Files.Files
          const repo = yield* Persistence.RewardRepository
          const institution = world.institution
          const rounds = yield* Effect.forEach(
            Array.from({ length: 20 }, (_, i) => i),
            (i) => rewards.openRound(world.operator, roundInput(`2026年度科研众包奖励（第${i + 1}批）`))
          )
          yield* rewards.saveProfile(institution.account, Fixtures.profileInput())
          const published = yield* Fixtures.publish(world, institution.account, Fixtures.onBehalf(world))
          const solved = yield* outcome.solved(institution.account, {
            demandId: published.id,
            serviceFee: 2_000_000
          })
          const proof = yield* files.upload(institution.account, {
            name: "技术合同.pdf",
            bytes: Rows.pdfBytes(256)
          })
          const drafts = yield* Effect.forEach(rounds, (round) =>
            rewards.draft(institution.account, {
              roundId: round.id,
              items: [{ demandId: solved.id, proofs: [proof.id] }]
            })
          )
          const results = yield* Effect.all(
            drafts.map((d) => Effect.either(rewards.submit(institution.account, { applicationId: d.id }))),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(results.filter(Either.isRight).length, 1, "one submission is accepted")
          const wrong = results
            .filter(Either.isLeft)
            .map((r) => r.left as { _tag?: string; rule?: string; code?: string })
            .filter(
              (e) => e._tag !== "InvalidInput" || e.rule !== "R52" || e.code !== "reward.demand_claimed"
            )
          assert.deepStrictEqual(
            wrong.map(describeError),
            [],
            "the others are refused: the demand is claimed (R52)"
          )
          const submitted = yield* repo.listApplications({
            scope: { _tag: "institution", memberId: institution.member.id },
            states: ["submitted", "approved"],
            limit: 100
          })
          assert.strictEqual(submitted.length, 1, "one application stored as submitted")
        }),
        slowClaims
      ),
    h.timeout
  )

  it.effect(
    "R63: 20 concurrent repeats of one keyed respond → one response stored, every repeat answered with it",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const responding = yield* Responding.Responding
          const responses = yield* Persistence.ResponseRepository
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const results = yield* Effect.all(
            Array.from({ length: 20 }, () =>
              Effect.either(
                responding.respond(
                  world.institute.account,
                  { demandId: demand.id, proposal },
                  { idempotencyKey: "respond-once" }
                )
              )
            ),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(
            results.filter(Either.isLeft).map((r) => describeError(r.left)),
            [],
            "every repeat is answered"
          )
          const stored = yield* responses.listByDemandRound(demand.id, demand.round)
          assert.strictEqual(stored.length, 1, "one response stored")
          assert.deepStrictEqual(
            [...new Set(results.filter(Either.isRight).map((r) => r.right.id))],
            [stored[0]!.id],
            "each repeat answers the stored response"
          )
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R63: 20 concurrent repeats of one keyed draft → one demand drafted, every repeat answered with it; another input under the key is refused",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const publishing = yield* Publishing.Publishing
          const demands = yield* Persistence.DemandRepository
          const form = yield* Fixtures.form({ title: "幂等草稿甲" })
          const other = yield* Fixtures.form({ title: "幂等草稿乙" })
          const results = yield* Effect.all(
            Array.from({ length: 20 }, (_, i) =>
              Effect.either(
                publishing.draft(world.enterprise.account, i % 5 === 4 ? other : form, {
                  idempotencyKey: "draft-once"
                })
              )
            ),
            { concurrency: "unbounded" }
          )
          const drafted = yield* demands.list({
            scope: { _tag: "member", memberId: world.enterprise.member.id, role: "any" },
            sort: "created",
            keyword: "幂等草稿",
            limit: 100
          })
          assert.strictEqual(drafted.length, 1, "one demand drafted")
          const first = drafted[0]!
          const firstForm = first.form.title === "幂等草稿甲" ? form : other
          results.forEach((result, i) => {
            const sameInput = (i % 5 === 4 ? other : form) === firstForm
            if (sameInput) {
              assert.isTrue(
                Either.isRight(result) && result.right.id === first.id,
                `repeat ${i} answers the drafted demand: ${Either.isLeft(result) ? describeError(result.left) : "another demand"}`
              )
            } else {
              assert.isTrue(
                Either.isLeft(result) && (result.left as { code?: string }).code === "idempotency.key_reused",
                `repeat ${i} with another input is refused as idempotency.key_reused: ${Either.isLeft(result) ? describeError(result.left) : "accepted"}`
              )
            }
          })
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R22: 60 concurrent messages in one thread → seq 1…61, none lost or repeated",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const consulting = yield* Consulting.Consulting
          const consultations = yield* Persistence.ConsultationRepository
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const opened = yield* consulting.ask(world.expert.account, {
            demandId: demand.id,
            text: "请问场地条件？"
          })
          const threadId = opened.thread.id
          const results = yield* Effect.all(
            Array.from({ length: 60 }, (_, i) =>
              Effect.either(
                consulting.reply(i % 2 === 0 ? world.enterprise.account : world.expert.account, {
                  threadId,
                  text: `第${i + 2}条留言`
                })
              )
            ),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(
            results.filter(Either.isLeft).map((r) => describeError(r.left)),
            [],
            "every message is accepted"
          )
          const messages = yield* consultations.listMessages(threadId, 0, 100)
          assert.deepStrictEqual(
            messages.map((m) => m.seq),
            Array.from({ length: 61 }, (_, i) => i + 1),
            "messages numbered 1…61"
          )
          assert.sameMembers(
            messages.slice(1).map((m) => m.id),
            results.filter(Either.isRight).map((r) => r.right.message.id),
            "each accepted message is stored"
          )
          assert.strictEqual(
            some(yield* consultations.findThreadById(threadId), "thread").messageCount,
            61,
            "the thread counts every message"
          )
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R22: each side opening the thread with each of 10 responders at once (ask beside askResponder) → one thread per responder, holding both messages",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const consulting = yield* Consulting.Consulting
          const responding = yield* Responding.Responding
          const consultations = yield* Persistence.ConsultationRepository
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const responders = yield* makeResponders(world, 10)
          const responses = yield* Effect.forEach(responders, (account) =>
            responding.respond(account, { demandId: demand.id, proposal })
          )
          const results = yield* Effect.all(
            responses.flatMap((response, i) => [
              Effect.either(consulting.ask(responders[i]!, { demandId: demand.id, text: "请问场地条件？" })),
              Effect.either(
                consulting.askResponder(world.enterprise.account, {
                  responseId: response.id,
                  text: "请补充数据。"
                })
              )
            ]),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(
            results.filter(Either.isLeft).map((r) => describeError(r.left)),
            [],
            "every message is accepted"
          )
          const threads = (yield* consulting.threads(world.enterprise.account, {
            demandId: demand.id,
            limit: 100
          })).items
          assert.sameMembers(
            threads.map((t) => t.responderId),
            responses.map((r) => r.responderId),
            "one thread per responder"
          )
          for (const thread of threads) {
            const messages = yield* consultations.listMessages(thread.id, 0, 10)
            assert.deepStrictEqual(
              [messages.map((m) => m.seq), messages.map((m) => m.side).sort(), thread.messageCount],
              [[1, 2], ["demand", "responder"], 2],
              "both sides' messages in the one thread"
            )
          }
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R64: settle and settleMany by a holder whose lease expired, racing the claim that takes the message over in a unit of work still open, wait for it and answer false: the new holder's lease stays, and nothing is recorded",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const t0 = yield* DateTime.now
          const t1 = DateTime.add(t0, { seconds: 5 })
          const settleBy: ReadonlyArray<
            readonly [
              string,
              (id: Ids.OutboxMessageId, owner: string) => Effect.Effect<boolean, unknown, Env>
            ]
          > = [
            ["settle", (id, owner) => outbox.settle(id, owner, sentAt(t1))],
            ...(outbox.settleMany === undefined
              ? []
              : [
                  [
                    "settleMany",
                    (id: Ids.OutboxMessageId, owner: string) =>
                      Effect.map(
                        outbox.settleMany!(owner, [{ id, settlement: sentAt(t1) }]),
                        (r) => r[0] === true
                      )
                  ] as const
                ])
          ]
          for (const [name, settle] of settleBy) {
            const m = Rows.outboxMessage({ createdAt: minutesAfter(-30, 1) })
            yield* outbox.enqueue([m])
            const first = `${name}-first`
            const next = `${name}-next`
            assert.lengthOf(
              yield* outbox.claim({ owner: first, now: t0, leaseMillis: 1_000, limit: 10 }),
              1,
              `${name}: claimed`
            )
            const takeover = yield* openUnit(
              outbox.claim({ owner: next, now: t1, leaseMillis: 60_000, limit: 10 })
            )
            assert.lengthOf(yield* takeover.ran, 1, `${name}: the expired lease is taken over`)
            const settling = yield* Effect.fork(settle(m.id, first))
            yield* meanwhile
            yield* takeover.end
            assert.isFalse(yield* Fiber.join(settling), `${name}: the first holder no longer holds the lease`)
            const delivery = some(yield* outbox.find(m.id), `${name}: the message`).delivery
            assert.deepInclude(
              delivery,
              { status: "pending", leaseOwner: next, providerMessageId: null, sentAt: null },
              `${name}: the new lease stays and no send is recorded`
            )
          }
        })
      ),
    h.timeout
  )

  it.effect(
    "R22: ConsultationRepository.findThreadForUpdate holds the thread until its unit of work ends: another unit asking for it waits",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const demands = yield* Persistence.DemandRepository
          const consultations = yield* Persistence.ConsultationRepository
          const d = Rows.demand(p.enterprise.id, p.enterpriseAccount.id, Rows.publishedFields("ZB20260001"))
          yield* demands.insert(d)
          const t = Rows.thread(d, p.responder.id)
          yield* consultations.insertThread(t)
          yield* exclusiveLock(consultations.findThreadForUpdate(t.id))
        })
      ),
    h.timeout
  )

  it.effect(
    "R41: CommissionRepository.findOpenForShare holds the commission until its unit of work ends: ending it waits, and a check made while it ends waits and finds it no longer open",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const commissions = yield* Persistence.CommissionRepository
          const active = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id, {
            state: "active",
            decidedAt: minutesAfter(5, 1)
          })
          yield* commissions.insert(active)
          const { before, after } = yield* sharedLock(
            commissions.findOpenForShare(p.enterprise.id, p.institution.id),
            commissions.update({
              ...active,
              state: "ended",
              endedAt: minutesAfter(6, 2),
              endedBy: p.enterprise.id,
              version: 2
            })
          )
          assert.strictEqual(some(before, "the active commission").state, "active")
          assert.isTrue(Option.isNone(after), "once it ended, the commission is not open")
        })
      ),
    h.timeout
  )

  it.effect(
    "R40: CommissionRepository.findByIdForUpdate holds the commission until its unit of work ends: another unit asking for it waits",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const commissions = yield* Persistence.CommissionRepository
          const requested = Rows.commission(p.enterprise.id, p.institution.id, p.enterpriseAccount.id)
          yield* commissions.insert(requested)
          yield* exclusiveLock(commissions.findByIdForUpdate(requested.id))
        })
      ),
    h.timeout
  )

  it.effect(
    "R1: TechnologyManagerRepository.findByIdForShare holds the manager until its unit of work ends: retiring it waits, and a check made while it is retired waits and reads it retired",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const managers = yield* Persistence.TechnologyManagerRepository
          const { before, after } = yield* sharedLock(
            managers.findByIdForShare(p.manager.id),
            managers.update({ ...p.manager, active: false })
          )
          assert.isTrue(some(before, "the manager").active, "active when first checked")
          assert.isFalse(some(after, "the manager").active, "once retired, the check reads it retired")
        })
      ),
    h.timeout
  )

  it.effect(
    "R1: TechnologyManagerRepository.findByIdForUpdate holds the manager until its unit of work ends: another unit asking for it waits",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const managers = yield* Persistence.TechnologyManagerRepository
          yield* exclusiveLock(managers.findByIdForUpdate(p.manager.id))
        })
      ),
    h.timeout
  )

  it.effect(
    "§3: AccountRepository.findByIdForUpdate holds the account until its unit of work ends: another unit asking for it waits",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const accounts = yield* Persistence.AccountRepository
          yield* exclusiveLock(accounts.findByIdForUpdate(p.institutionAccount.id))
        })
      ),
    h.timeout
  )

  it.effect(
    "§3: two operators deactivating each other at once are taken in turn: one is deactivated, the other refused as inactive (R5), so an active operator remains",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const membership = yield* Membership.Membership
          const accounts = yield* Persistence.AccountRepository
          const read = (id: Ids.AccountId) => Effect.map(accounts.findById(id), Option.getOrThrow)
          for (let trial = 0; trial < 5; trial++) {
            const a = yield* membership.createAccount(world.operator, {
              name: "运营甲",
              phone: Fixtures.nextPhone()
            })
            const b = yield* membership.createAccount(world.operator, {
              name: "运营乙",
              phone: Fixtures.nextPhone()
            })
            const deactivate = (actor: Member.Account, target: Member.Account) =>
              Effect.either(
                membership.updateAccount(actor.id, {
                  accountId: target.id,
                  name: target.name,
                  phone: target.phone,
                  active: false
                })
              )
            const results = yield* Effect.all([deactivate(a, b), deactivate(b, a)], {
              concurrency: "unbounded"
            })
            oneTaken(results, { _tag: "Denied", rule: "R5", code: "actor.unknown" }, "deactivation")
            const active = [(yield* read(a.id)).active, (yield* read(b.id)).active]
            assert.sameMembers(active, [true, false], "one of the two is still active")
          }
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R52: RewardRepository.findApplicationForUpdate holds the application until its unit of work ends: another unit asking for it waits",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const rewards = yield* Persistence.RewardRepository
          const round = Rows.rewardRound(p.operator.id)
          yield* rewards.insertRound(round)
          const application = Rows.rewardApplication(round.id, p.institution.id, p.institutionAccount.id, [])
          yield* rewards.insertApplication(application)
          yield* exclusiveLock(rewards.findApplicationForUpdate(application.id))
        })
      ),
    h.timeout
  )

  it.effect(
    "R40: an acceptance and a withdrawal of one request at once are taken in turn: accepted then ended, or withdrawn and the acceptance refused as not requested; never a conflict to retry",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const commissioning = yield* Commissioning.Commissioning
          for (let trial = 0; trial < 10; trial++) {
            const requested = yield* commissioning.request(world.enterprise.account, {
              institutionId: world.institution.member.id,
              message: "委托"
            })
            const [accepted, ended] = yield* Effect.all(
              [
                Effect.either(
                  commissioning.accept(world.institution.account, { commissionId: requested.id })
                ),
                Effect.either(commissioning.end(world.enterprise.account, { commissionId: requested.id }))
              ],
              { concurrency: "unbounded" }
            )
            assert.isTrue(Either.isRight(ended), `the enterprise's end is taken: ${describeError(ended)}`)
            // Accepted then ended, or withdrawn first and the acceptance refused as it left the request.
            if (Either.isLeft(accepted)) {
              assert.deepInclude(
                accepted.left,
                { _tag: "InvalidState", rule: "R40", code: "commission.not_requested" },
                "refused as the withdrawal left it"
              )
            }
          }
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R53: an approval and a rejection of one submitted application at once are taken in turn: the second is refused as not submitted; never a conflict to retry",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const rewards = yield* Rewards.Rewards
          const outcome = yield* Outcome.Outcome
          const files = yield* Files.Files
          const institution = world.institution
          yield* rewards.saveProfile(institution.account, Fixtures.profileInput())
          const proof = yield* files.upload(institution.account, {
            name: "技术合同.pdf",
            bytes: Rows.pdfBytes(256)
          })
          for (let trial = 0; trial < 6; trial++) {
            const round = yield* rewards.openRound(world.operator, roundInput(`奖励批次${trial + 1}`))
            const published = yield* Fixtures.publish(world, institution.account, Fixtures.onBehalf(world))
            yield* outcome.solved(institution.account, { demandId: published.id, serviceFee: 1_000_000 })
            const draft = yield* rewards.draft(institution.account, {
              roundId: round.id,
              items: [{ demandId: published.id, proofs: [proof.id] }]
            })
            yield* rewards.submit(institution.account, { applicationId: draft.id })
            const results = yield* Effect.all(
              [
                Effect.either(rewards.approve(world.operator, { applicationId: draft.id, amount: 100_000 })),
                Effect.either(rewards.reject(world.operator, { applicationId: draft.id, reason: "材料不全" }))
              ],
              { concurrency: "unbounded" }
            )
            oneTaken(results, { _tag: "InvalidState", rule: "R53", code: "reward.not_submitted" }, "decision")
          }
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R50, R51: two closings of one round at once are taken in turn (the second refused as closed), and two saves of one institution's profile at once both saved, the second last; never a conflict to retry",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const rewards = yield* Rewards.Rewards
          for (let trial = 0; trial < 6; trial++) {
            const round = yield* rewards.openRound(world.operator, roundInput(`奖励批次${trial + 1}`))
            const closings = yield* Effect.all(
              [0, 1].map(() => Effect.either(rewards.closeRound(world.operator, { roundId: round.id }))),
              { concurrency: "unbounded" }
            )
            oneTaken(closings, { _tag: "InvalidState", rule: "R50", code: "reward.round_closed" }, "closing")
            const saves = yield* Effect.all(
              ["甲", "乙"].map((name) =>
                Effect.either(
                  rewards.saveProfile(
                    world.institution.account,
                    Fixtures.profileInput({ name: `天津技术转移中心${name}${trial}` })
                  )
                )
              ),
              { concurrency: "unbounded" }
            )
            assert.deepStrictEqual(
              saves.filter(Either.isLeft).map((r) => describeError(r.left)),
              [],
              "both saves are taken"
            )
          }
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R52: RewardRepository.findRoundForShare holds the round until its unit of work ends: closing it waits, and a check made while it closes waits and finds it closed",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const rewards = yield* Persistence.RewardRepository
          const open = Rows.rewardRound(p.operator.id)
          yield* rewards.insertRound(open)
          const { before, after } = yield* sharedLock(
            rewards.findRoundForShare(open.id),
            rewards.updateRound({
              ...open,
              state: "closed",
              closedBy: p.operator.id,
              closedAt: minutesAfter(12, 3),
              version: 2
            })
          )
          assert.strictEqual(some(before, "the round").state, "open")
          assert.strictEqual(some(after, "the round").state, "closed", "read as its closing committed it")
        })
      ),
    h.timeout
  )
}
