import { assert, it } from "@effect/vitest"
import { Ids, Notification, Persistence, SortKeys } from "@zhongbao/core"
import { type Context, DateTime, Effect, Either, TestClock } from "effect"
import {
  expectPages,
  failsWith,
  type Harness,
  lacks,
  minutesAfter,
  none,
  readAll,
  same,
  some,
  start,
  yielding
} from "./harness.js"
import * as Rows from "./rows.js"

type Outbox = Context.Tag.Service<Persistence.Outbox>
type Delivery = Notification.Delivery
type Tracked = Notification.Tracked
type OutboxMessage = Notification.OutboxMessage
type Settlement<Tag extends Notification.Settlement["_tag"]> = Extract<Notification.Settlement, { _tag: Tag }>

const LEASE = 60_000

class Boom {
  readonly _tag = "Boom"
}

/** The delivery `enqueue` creates: pending, due at the message's `createdAt`, nothing else set. */
const pending = (m: Notification.OutboxMessage): Delivery => ({
  messageId: m.id,
  status: "pending",
  attempts: 0,
  unknownOutcomes: 0,
  nextAttemptAt: m.createdAt,
  leaseOwner: null,
  leaseUntil: null,
  lastError: null,
  lastCode: null,
  providerMessageId: null,
  sentAt: null,
  deadAt: null
})

/** A delivery as a claim by `owner` at `now` leaves it. */
const leased = (d: Delivery, owner: string, now: DateTime.Utc, leaseMillis = LEASE): Delivery => ({
  ...d,
  leaseOwner: owner,
  leaseUntil: DateTime.add(now, { millis: leaseMillis })
})

/**
 * A delivery as a claim by `owner` at `now` leaves it when it takes over a lease
 * that expired unreleased: the holder's attempt counted, with an unknown outcome.
 */
const takenOver = (d: Delivery, owner: string, now: DateTime.Utc, leaseMillis = LEASE): Delivery => ({
  ...leased(d, owner, now, leaseMillis),
  attempts: d.attempts + 1,
  unknownOutcomes: d.unknownOutcomes + 1
})

const find = (outbox: Outbox, id: Ids.OutboxMessageId, label: string) =>
  Effect.map(outbox.find(id), (found) => some(found, label))

const claim = (outbox: Outbox, owner: string, now: DateTime.Utc, limit = 100, leaseMillis = LEASE) =>
  outbox.claim({ owner, now, leaseMillis, limit })

const ids = (rows: ReadonlyArray<Tracked>) => rows.map((t) => t.message.id)

/** Asserts a claimed row is the message as enqueued with the delivery the store now holds. */
const expectClaimed = (outbox: Outbox, row: Tracked, expected: Delivery, label: string) =>
  Effect.gen(function* () {
    same(Notification.Delivery, row.delivery, expected, `${label}: the claimed delivery`)
    same(
      Notification.Tracked,
      yield* find(outbox, row.message.id, label),
      row,
      `${label}: find after the claim`
    )
  })

/*
 * Settlements carry no counts: the store counts the holder's attempt itself
 * (`attempts + 1`, and `unknownOutcomes + 1` when `unknownOutcome`); an owner that
 * lost the lease changes nothing, its attempt counted by the claim that took over.
 */
const sent = (at: DateTime.Utc, providerMessageId: string, unknownOutcome = false): Settlement<"Sent"> => ({
  _tag: "Sent",
  at,
  providerMessageId,
  unknownOutcome
})
const retry = (
  nextAttemptAt: DateTime.Utc,
  error: string,
  unknownOutcome = false,
  code?: string
): Settlement<"Retry"> => ({
  _tag: "Retry",
  nextAttemptAt,
  error,
  unknownOutcome,
  ...(code === undefined ? {} : { code })
})
const dead = (
  at: DateTime.Utc,
  error: string,
  unknownOutcome = false,
  code?: string
): Settlement<"Dead"> => ({
  _tag: "Dead",
  at,
  error,
  unknownOutcome,
  ...(code === undefined ? {} : { code })
})

/**
 * Asserts that `fetch`, read 4 at a time, lists exactly the dead letters `ids`, oldest
 * message first, each as `find` reads it.
 */
const expectDeadPages = (
  outbox: Outbox,
  label: string,
  fetch: (range: Persistence.Range) => Effect.Effect<ReadonlyArray<Tracked>, unknown>,
  ids: ReadonlyArray<Ids.OutboxMessageId>
) =>
  Effect.gen(function* () {
    const expected: Array<Tracked> = []
    for (const id of ids) expected.push(yield* find(outbox, id, label))
    const listed = yield* expectPages(
      label,
      fetch,
      (t) => SortKeys.outbox(t.message),
      false,
      expected,
      (t) => t.message.id,
      4
    )
    for (const row of listed) {
      same(
        Notification.Tracked,
        row,
        expected.find((t) => t.message.id === row.message.id)!,
        `${label}: a listed dead letter equals find`
      )
    }
  })

/** Every message id appears in exactly one claim, and the claims together hold all of `all`. */
const expectDisjointCover = (
  claims: ReadonlyArray<ReadonlyArray<Tracked>>,
  all: ReadonlyArray<Ids.OutboxMessageId>,
  label: string
) => {
  const holders = new Map<string, Array<number>>()
  claims.forEach((rows, i) => {
    for (const id of ids(rows)) holders.set(id, [...(holders.get(id) ?? []), i])
  })
  const shared = [...holders.entries()].filter(([, who]) => who.length > 1)
  assert.deepStrictEqual(
    shared.map(([id, who]) => `${id} held by claims ${who.join(", ")}`),
    [],
    `${label}: a message leased to two claims at once`
  )
  const missing = all.filter((id) => !holders.has(id))
  assert.deepStrictEqual(missing, [], `${label}: due messages no claim took`)
  assert.strictEqual(holders.size, all.length, `${label}: claimed messages that were never enqueued`)
}

/** @internal The outbox's delivery states (R64): claims under a lease, settlements, dead letters. */
export const outbox = (h: Harness): void => {
  it.effect(
    "R64: enqueue keeps one message per dedupeKey and creates a pending delivery due at its createdAt",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const first = Rows.outboxMessage({ createdAt: minutesAfter(-30, 7) })
          const twin = Rows.outboxMessage({ dedupeKey: first.dedupeKey, createdAt: minutesAfter(-1) })
          const second = Rows.outboxMessage({ createdAt: minutesAfter(15, 999), params: {} })
          const secondTwin = Rows.outboxMessage({ dedupeKey: second.dedupeKey })
          yield* outbox.enqueue([first])
          yield* outbox.enqueue([twin, second, secondTwin])
          yield* outbox.enqueue([])
          for (const m of [first, second]) {
            const found = yield* find(outbox, m.id, "an enqueued message")
            same(Notification.OutboxMessage, found.message, m, "the message as enqueued")
            same(
              Notification.Delivery,
              found.delivery,
              pending(m),
              "a new delivery: pending, due at createdAt"
            )
          }
          none(yield* outbox.find(twin.id), "a message whose dedupeKey was there already")
          none(yield* outbox.find(secondTwin.id), "the second of two messages with one dedupeKey in a batch")
          none(yield* outbox.find(Ids.make<Ids.OutboxMessageId>()), "an unknown message")
          const listed = yield* readAll(outbox.list, SortKeys.outbox, 10, "outbox")
          assert.sameMembers(
            listed.map((m) => m.id),
            [first.id, second.id],
            "list holds one message per dedupeKey"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: a message whose id is stored under another dedupeKey → UniqueViolation, the stored message unchanged; with its dedupeKey too, it is ignored",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const first = Rows.outboxMessage()
          yield* outbox.enqueue([first])
          const sameId = Rows.outboxMessage({ id: first.id, params: {} })
          yield* failsWith(outbox.enqueue([sameId]), "UniqueViolation", "a later batch reusing an id")
          const fresh = Rows.outboxMessage()
          yield* failsWith(
            outbox.enqueue([fresh, Rows.outboxMessage({ id: fresh.id })]),
            "UniqueViolation",
            "one id twice in a batch, under two dedupeKeys"
          )
          none(yield* outbox.find(fresh.id), "the refused batch's first message")
          yield* outbox.enqueue([{ ...first, params: {} }])
          const found = yield* find(outbox, first.id, "the stored message")
          same(Notification.OutboxMessage, found.message, first, "the stored message, unchanged")
          same(Notification.Delivery, found.delivery, pending(first), "its delivery, unchanged")
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: one claim takes each due message once, even with a lease that ends at once (leaseMillis 0), and a retry due at that same instant",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const messages = [1, 2, 3].map((i) => Rows.outboxMessage({ createdAt: minutesAfter(-i) }))
          yield* outbox.enqueue(messages)
          const claimed = yield* outbox.claim({ owner: "w", now: minutesAfter(0), leaseMillis: 0, limit: 10 })
          assert.sameMembers(
            claimed.map((t) => t.message.id),
            messages.map((m) => m.id),
            "each due message once"
          )
          const [first] = messages as [OutboxMessage]
          assert.isTrue(
            yield* outbox.settle(first.id, "w", retry(minutesAfter(0), "RetryLater: 限流")),
            "retried, due at the instant its lease ended"
          )
          const again = yield* outbox.claim({ owner: "v", now: minutesAfter(0), leaseMillis: 0, limit: 10 })
          assert.sameMembers(
            again.map((t) => t.message.id),
            messages.map((m) => m.id),
            "the retried message once too, beside the two whose leases ended"
          )
          same(
            Notification.Delivery,
            again.find((t) => t.message.id === first.id)!.delivery,
            {
              ...leased(pending(first), "v", minutesAfter(0), 0),
              attempts: 1,
              nextAttemptAt: minutesAfter(0),
              lastError: "RetryLater: 限流"
            },
            "claimed once: the retry's attempt counted, no lease taken over"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: claim leases only due messages (nextAttemptAt ≤ now, no live lease), in the order they became claimable (the later of nextAttemptAt and an expired leaseUntil), then id, at most limit",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const a = Rows.outboxMessage({ createdAt: minutesAfter(-20, 123) })
          const b = Rows.outboxMessage({ createdAt: minutesAfter(-10) })
          const c = Rows.outboxMessage({ createdAt: minutesAfter(0, -1) })
          const d = Rows.outboxMessage({ createdAt: start })
          const e = Rows.outboxMessage({ createdAt: minutesAfter(0, 1) })
          const f = Rows.outboxMessage({ createdAt: minutesAfter(10) })
          yield* outbox.enqueue([d, f, b])
          yield* outbox.enqueue([e, a, c])
          const now = yield* DateTime.now

          const first = yield* claim(outbox, "dispatcher-a", now, 2)
          assert.deepStrictEqual(
            ids(first),
            [a.id, b.id],
            "the two messages due first (never leased: claimable at nextAttemptAt), in that order"
          )
          for (const [i, m] of [a, b].entries()) {
            same(Notification.OutboxMessage, first[i]!.message, m, "the claimed message")
            yield* expectClaimed(outbox, first[i]!, leased(pending(m), "dispatcher-a", now), "claim a")
          }

          const second = yield* claim(outbox, "dispatcher-b", now, 10)
          assert.deepStrictEqual(
            ids(second),
            [c.id, d.id],
            "the rest of the due messages (nextAttemptAt ≤ now), in the order they came due; leased and future ones are not"
          )
          for (const [i, m] of [c, d].entries()) {
            yield* expectClaimed(outbox, second[i]!, leased(pending(m), "dispatcher-b", now), "claim b")
          }
          assert.deepStrictEqual(
            yield* claim(outbox, "dispatcher-c", now, 10),
            [],
            "nothing is due that is not leased"
          )
          for (const m of [e, f]) {
            same(
              Notification.Delivery,
              (yield* find(outbox, m.id, "a future message")).delivery,
              pending(m),
              "a message not yet due is left alone"
            )
          }

          yield* TestClock.adjust("1 millis")
          const later = yield* DateTime.now
          const third = yield* claim(outbox, "dispatcher-c", later, 10)
          assert.deepStrictEqual(ids(third), [e.id], "a message is due from its createdAt on")
          yield* expectClaimed(outbox, third[0]!, leased(pending(e), "dispatcher-c", later), "claim c")
          assert.deepStrictEqual(yield* claim(outbox, "dispatcher-d", later, 0), [], "limit 0 claims nothing")

          // g comes due while a…e are leased; a…d become claimable again when the
          // leases taken at `now` expire, e 1 ms later. Ordered by nextAttemptAt alone,
          // g would come last.
          const g = Rows.outboxMessage({ createdAt: minutesAfter(0, LEASE / 2) })
          yield* outbox.enqueue([g])
          yield* TestClock.adjust(`${LEASE + 1} millis`)
          const expired = yield* DateTime.now
          const fourth = yield* claim(outbox, "dispatcher-e", expired, 3)
          assert.deepStrictEqual(
            ids(fourth),
            [g.id, a.id, b.id],
            "g (due before the leases expired) first, then the messages whose leases expired together, by id; at most limit"
          )
          const fifth = yield* claim(outbox, "dispatcher-f", expired, 10)
          assert.deepStrictEqual(
            ids(fifth),
            [c.id, d.id, e.id],
            "then the rest of the expired leases, e (whose lease ran 1 ms longer) last; f is still not due"
          )
          yield* expectClaimed(
            outbox,
            fourth[0]!,
            leased(pending(g), "dispatcher-e", expired),
            "claimed for the first time"
          )
          for (const [row, m, owner] of [
            [fourth[1]!, a, "dispatcher-e"],
            [fifth[2]!, e, "dispatcher-f"]
          ] as const) {
            yield* expectClaimed(
              outbox,
              row,
              takenOver(pending(m), owner, expired),
              "claimed after an expired lease: its holder's attempt counted, its outcome unknown"
            )
          }
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: two dispatchers never hold the same message at once: 40 concurrent claims over 300 messages, and again once the leases expired",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const messages = Array.from({ length: 300 }, (_, i) =>
            Rows.outboxMessage({ createdAt: minutesAfter(-60 + Math.floor(i / 7), i % 3) })
          )
          for (let i = 0; i < messages.length; i += 50) yield* outbox.enqueue(messages.slice(i, i + 50))
          const all = messages.map((m) => m.id)
          const now = yield* DateTime.now
          const owners = Array.from({ length: 40 }, (_, i) => `dispatcher-${i}`)
          const firstRound = yield* Effect.all(
            owners.map((owner) => claim(outbox, owner, now, 25)),
            { concurrency: "unbounded" }
          )
          expectDisjointCover(firstRound, all, "first round")
          for (const [i, rows] of firstRound.entries()) {
            for (const row of rows) {
              const stored = (yield* find(outbox, row.message.id, "claimed")).delivery
              assert.strictEqual(stored.leaseOwner, owners[i], "the store names the claim that got it")
              assert.strictEqual(row.delivery.leaseOwner, owners[i], "the claim returns its own lease")
            }
          }
          assert.deepStrictEqual(
            yield* claim(outbox, "late", now, 1000),
            [],
            "every message is held by a live lease"
          )

          yield* TestClock.adjust(`${LEASE + 1} millis`)
          const later = yield* DateTime.now
          const newOwners = owners.map((o) => `${o}-again`)
          const secondRound = yield* Effect.all(
            newOwners.map((owner) => claim(outbox, owner, later, 25)),
            { concurrency: "unbounded" }
          )
          expectDisjointCover(secondRound, all, "after the leases expired")

          const holder = new Map<string, string>()
          secondRound.forEach((rows, i) => {
            for (const id of ids(rows)) holder.set(id, newOwners[i]!)
          })
          const settlements = yield* Effect.all(
            [
              ...firstRound.flatMap((rows, i) =>
                rows.map((row) =>
                  Effect.map(
                    outbox.settle(row.message.id, owners[i]!, sent(later, `old-${row.message.id}`)),
                    (held) => ({ old: true, held })
                  )
                )
              ),
              ...secondRound.flatMap((rows, i) =>
                rows.map((row) =>
                  Effect.map(
                    outbox.settle(row.message.id, newOwners[i]!, sent(later, `new-${row.message.id}`)),
                    (held) => ({ old: false, held })
                  )
                )
              )
            ],
            { concurrency: "unbounded" }
          )
          assert.isTrue(
            settlements.filter((s) => s.old).every((s) => !s.held),
            "an owner whose lease expired cannot settle"
          )
          assert.isTrue(
            settlements.filter((s) => !s.old).every((s) => s.held),
            "the current holder settles"
          )
          for (const id of all) {
            const d = (yield* find(outbox, id, "settled")).delivery
            assert.strictEqual(d.status, "sent", "sent by its current holder")
            assert.strictEqual(d.providerMessageId, `new-${id}`, "the holder's result is recorded")
            assert.isNull(d.leaseOwner, "the lease is released")
            assert.strictEqual(d.attempts, 2, "both attempts counted, whichever settle came first")
            assert.strictEqual(
              d.unknownOutcomes,
              1,
              "the attempt of the lost lease counted as an unknown outcome (by the claim that took it over)"
            )
          }
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R64: a retry the sender did not attempt (its own throttle), or a message given up unsent, is not counted, by settle and by settleMany; an attempted one is",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const messages = [
            Rows.outboxMessage({ createdAt: minutesAfter(-2) }),
            Rows.outboxMessage({ createdAt: minutesAfter(-1) })
          ]
          yield* outbox.enqueue(messages)
          const settleAll = (owner: string, settlement: Settlement<"Retry" | "Dead">) =>
            outbox.settleMany === undefined
              ? Effect.forEach(messages, (m) => outbox.settle(m.id, owner, settlement))
              : outbox.settleMany(
                  owner,
                  messages.map((m) => ({ id: m.id, settlement }))
                )
          const round = (owner: string, settle: (t: DateTime.Utc) => Effect.Effect<unknown, unknown>) =>
            Effect.gen(function* () {
              const now = yield* DateTime.now
              assert.deepStrictEqual(
                ids(yield* claim(outbox, owner, now)),
                messages.map((m) => m.id),
                `${owner} claims both`
              )
              yield* settle(now)
              yield* TestClock.adjust("1 minute")
            })
          const attempts = () =>
            Effect.forEach(messages, (m) =>
              Effect.map(find(outbox, m.id, "after the round"), (t) => t.delivery.attempts)
            )
          yield* round("a", (now) =>
            outbox
              .settle(messages[0]!.id, "a", { ...retry(now, "throttled"), attempted: false })
              .pipe(
                Effect.zipRight(
                  outbox.settle(messages[1]!.id, "a", { ...retry(now, "throttled"), attempted: false })
                )
              )
          )
          assert.deepStrictEqual(yield* attempts(), [0, 0], "settle: not attempted, not counted")
          yield* round("b", (now) => settleAll("b", { ...retry(now, "throttled"), attempted: false }))
          assert.deepStrictEqual(yield* attempts(), [0, 0], "settleMany: not attempted, not counted")
          yield* round("c", (now) => settleAll("c", retry(now, "provider busy")))
          assert.deepStrictEqual(yield* attempts(), [1, 1], "attempted: counted")
          const last = yield* find(outbox, messages[0]!.id, "pending")
          assert.strictEqual(last.delivery.status, "pending")
          assert.strictEqual(last.delivery.lastError, "provider busy")
          yield* round("d", (now) => settleAll("d", { ...dead(now, "given up unsent"), attempted: false }))
          assert.deepStrictEqual(yield* attempts(), [1, 1], "given up unsent: not counted")
          const given = yield* find(outbox, messages[1]!.id, "dead")
          assert.deepStrictEqual(
            [given.delivery.status, given.delivery.lastError, given.delivery.leaseOwner],
            ["dead", "given up unsent", null]
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: an expired lease is reclaimed by another owner, which counts the old holder's attempt as an unknown outcome; the old owner's settle then answers false and changes nothing, even a retry it says it did not attempt",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const m = Rows.outboxMessage({ createdAt: minutesAfter(-1) })
          yield* outbox.enqueue([m])
          const t0 = yield* DateTime.now
          const [byA] = yield* claim(outbox, "dispatcher-a", t0)
          assert.strictEqual(byA?.message.id, m.id, "A claims the message")

          yield* TestClock.adjust(`${LEASE - 1} millis`)
          assert.deepStrictEqual(
            yield* claim(outbox, "dispatcher-b", yield* DateTime.now),
            [],
            "a lease is live until leaseUntil"
          )

          yield* TestClock.adjust("2 millis")
          const t1 = yield* DateTime.now
          const reclaimed = yield* claim(outbox, "dispatcher-b", t1)
          assert.deepStrictEqual(ids(reclaimed), [m.id], "B reclaims the message once A's lease expired")
          const byB = takenOver(pending(m), "dispatcher-b", t1)
          yield* expectClaimed(
            outbox,
            reclaimed[0]!,
            byB,
            "reclaimed: A's attempt counted, its outcome unknown"
          )

          assert.isFalse(
            yield* outbox.settle(m.id, "dispatcher-a", sent(t1, "provider-a")),
            "A no longer holds the lease"
          )
          // Only the holder is believed when it says it did not try: A may have sent it before its lease ran out.
          assert.isFalse(
            yield* outbox.settle(m.id, "dispatcher-a", { ...retry(t1, "throttled"), attempted: false }),
            "A still does not hold the lease"
          )
          same(
            Notification.Delivery,
            (yield* find(outbox, m.id, "after A's settles")).delivery,
            byB,
            "A's late settles change nothing: its attempt was counted when B took the lease over"
          )

          const settledAt = DateTime.add(t1, { millis: 250 })
          assert.isTrue(
            yield* outbox.settle(m.id, "dispatcher-b", sent(settledAt, "provider-b")),
            "B still holds the lease"
          )
          same(
            Notification.Delivery,
            (yield* find(outbox, m.id, "after B's settle")).delivery,
            {
              ...pending(m),
              status: "sent",
              attempts: 2,
              unknownOutcomes: 1,
              providerMessageId: "provider-b",
              sentAt: settledAt
            },
            "B's result is recorded, after both attempts: A's (unknown) and B's (known)"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: a holder whose lease expired and was not taken over still settles its message; a lease released by a settlement is not counted again by the next claim",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const m = Rows.outboxMessage({ createdAt: minutesAfter(-1) })
          yield* outbox.enqueue([m])
          const t0 = yield* DateTime.now
          assert.deepStrictEqual(
            ids(yield* claim(outbox, "dispatcher-a", t0)),
            [m.id],
            "A claims the message"
          )
          yield* TestClock.adjust(`${LEASE + 1} millis`)
          const t1 = yield* DateTime.now
          const lateA = retry(t1, "RetryLater: 触发流控 (throttled)")
          assert.isTrue(
            yield* outbox.settle(m.id, "dispatcher-a", lateA),
            "nobody took A's expired lease over"
          )
          const afterA: Delivery = { ...pending(m), attempts: 1, nextAttemptAt: t1, lastError: lateA.error }
          same(
            Notification.Delivery,
            (yield* find(outbox, m.id, "after A's settle")).delivery,
            afterA,
            "A's result"
          )
          const [byB] = yield* claim(outbox, "dispatcher-b", t1)
          assert.strictEqual(byB?.message.id, m.id, "B claims the retry")
          yield* expectClaimed(
            outbox,
            byB!,
            leased(afterA, "dispatcher-b", t1),
            "a released lease: nothing more counted"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: settle Sent, Retry and Dead persist exactly the fields of the settlement (the error and its code as lastError and lastCode), count the attempt (unknownOutcomes + 1 when unknownOutcome) and release the lease; sent and dead messages are never claimed again",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const toSend = Rows.outboxMessage({ createdAt: minutesAfter(-3, 11) })
          const toRetry = Rows.outboxMessage({ createdAt: minutesAfter(-2, 22) })
          const toKill = Rows.outboxMessage({ createdAt: minutesAfter(-1, 33) })
          yield* outbox.enqueue([toSend, toRetry, toKill])
          const now = yield* DateTime.now
          assert.strictEqual((yield* claim(outbox, "dispatcher-a", now)).length, 3, "all three claimed")

          const s = sent(minutesAfter(0, 250), "aliyun-2026050410000001", true)
          const r = retry(
            minutesAfter(5, 321),
            "RetryLater: 触发流控 (throttled)",
            false,
            "isv.BUSINESS_LIMIT_CONTROL"
          )
          const k = dead(minutesAfter(0, 999), "Permanent: 号码不存在", true, "isv.MOBILE_NUMBER_ILLEGAL")
          assert.isTrue(yield* outbox.settle(toSend.id, "dispatcher-a", s), "settle Sent")
          assert.isTrue(yield* outbox.settle(toRetry.id, "dispatcher-a", r), "settle Retry")
          assert.isTrue(yield* outbox.settle(toKill.id, "dispatcher-a", k), "settle Dead")

          same(
            Notification.Delivery,
            (yield* find(outbox, toSend.id, "sent")).delivery,
            {
              ...pending(toSend),
              status: "sent",
              attempts: 1,
              unknownOutcomes: 1,
              providerMessageId: s.providerMessageId,
              sentAt: s.at
            },
            "Sent: status, sentAt, providerMessageId; attempts + 1, unknownOutcomes + 1 (unknownOutcome); the lease released"
          )
          same(
            Notification.Delivery,
            (yield* find(outbox, toRetry.id, "retried")).delivery,
            {
              ...pending(toRetry),
              attempts: 1,
              unknownOutcomes: 0,
              nextAttemptAt: r.nextAttemptAt,
              lastError: r.error,
              lastCode: "isv.BUSINESS_LIMIT_CONTROL"
            },
            "Retry: still pending, nextAttemptAt, lastError, lastCode; attempts + 1, unknownOutcomes unchanged (known outcome); the lease released"
          )
          same(
            Notification.Delivery,
            (yield* find(outbox, toKill.id, "dead")).delivery,
            {
              ...pending(toKill),
              status: "dead",
              attempts: 1,
              unknownOutcomes: 1,
              deadAt: k.at,
              lastError: k.error,
              lastCode: "isv.MOBILE_NUMBER_ILLEGAL"
            },
            "Dead: status, deadAt, lastError, lastCode; attempts + 1, unknownOutcomes + 1 (unknownOutcome); the lease released"
          )

          const nextDay = DateTime.add(now, { days: 1 })
          assert.deepStrictEqual(
            ids(yield* claim(outbox, "dispatcher-b", nextDay)),
            [toRetry.id],
            "only the retried message is claimable later; sent and dead ones never are"
          )
          const r2 = retry(DateTime.add(nextDay, { minutes: 10 }), "Unknown: 网关超时", true)
          assert.isTrue(yield* outbox.settle(toRetry.id, "dispatcher-b", r2), "the new holder settles Retry")
          same(
            Notification.Delivery,
            (yield* find(outbox, toRetry.id, "retried twice")).delivery,
            {
              ...pending(toRetry),
              attempts: 2,
              unknownOutcomes: 1,
              nextAttemptAt: r2.nextAttemptAt,
              lastError: r2.error,
              lastCode: null
            },
            "the counts add up over the attempts: attempts + 1, unknownOutcomes + 1; a failure without a code keeps none of the one before"
          )

          const again = yield* outbox.settle(toSend.id, "dispatcher-a", sent(minutesAfter(1), "duplicate"))
          assert.isFalse(again, "a settled message holds no lease: a second settle answers false")
          same(
            Notification.Delivery,
            (yield* find(outbox, toSend.id, "sent")).delivery,
            {
              ...pending(toSend),
              status: "sent",
              attempts: 1,
              unknownOutcomes: 1,
              providerMessageId: s.providerMessageId,
              sentAt: s.at
            },
            "the second settle changes nothing"
          )
          const unknown = Ids.make<Ids.OutboxMessageId>()
          assert.isFalse(yield* outbox.settle(unknown, "dispatcher-a", s), "settle of an unknown message")
          none(yield* outbox.find(unknown), "settle creates no message")
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: purge (when the adapter has it) deletes, up to its limit (a whole number; none below one) and the longest settled first, the messages sent or dead before the instant, with their dedupe keys; never a pending one (a dead letter re-queued included), nor one settled at or after the instant",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const purge = outbox.purge
          if (purge === undefined) return yield* lacks(h, "Outbox.purge", ctx)
          const [first, second, third, atCut, after, waiting, requeued] = Array.from({ length: 7 }, (_, i) =>
            Rows.outboxMessage({ createdAt: minutesAfter(-10 + i, i) })
          ) as [
            OutboxMessage,
            OutboxMessage,
            OutboxMessage,
            OutboxMessage,
            OutboxMessage,
            OutboxMessage,
            OutboxMessage
          ]
          const all = [first, second, third, atCut, after, waiting, requeued]
          yield* outbox.enqueue(all)
          assert.lengthOf(yield* claim(outbox, "dispatcher-a", yield* DateTime.now), 7)
          const settle = (m: OutboxMessage, settlement: Notification.Settlement) =>
            Effect.map(outbox.settle(m.id, "dispatcher-a", settlement), (held) =>
              assert.isTrue(held, `${m.id} settled`)
            )
          // Settled in an order other than their ids' and their creation's: the first created last.
          yield* settle(
            third,
            dead(minutesAfter(3), "Permanent: 号码不存在", true, "isv.MOBILE_NUMBER_ILLEGAL")
          )
          yield* settle(second, sent(minutesAfter(2), "p-second"))
          yield* settle(first, sent(minutesAfter(4), "p-first"))
          yield* settle(atCut, sent(minutesAfter(5), "p-at-cut"))
          yield* settle(after, sent(minutesAfter(5, 1), "p-after"))
          yield* settle(waiting, retry(minutesAfter(60), "RetryLater: 触发流控 (throttled)", true))
          yield* settle(requeued, dead(minutesAfter(0), "Permanent: 余额不足", true))
          assert.isTrue(yield* outbox.requeue(requeued.id, minutesAfter(4)), "a dead letter re-queued")
          const cut = minutesAfter(5)
          const present = Effect.map(
            Effect.forEach(all, (m) => outbox.find(m.id)),
            (found) => all.filter((_, i) => found[i]!._tag === "Some")
          )

          assert.strictEqual(yield* purge(cut, 0), 0, "a limit of none deletes none")
          assert.strictEqual(yield* purge(cut, -1), 0, "nor does one below none")
          assert.strictEqual(yield* purge(cut, 2), 2, "at most its limit")
          assert.deepStrictEqual(
            yield* present,
            [first, atCut, after, waiting, requeued],
            "the two longest settled went first (sent at minute 2, dead at minute 3), not the first created"
          )
          assert.strictEqual(
            yield* purge(cut, 1.5),
            1,
            "a limit taken down to a whole number: the one sent at minute 4"
          )
          assert.strictEqual(yield* purge(cut, 100), 0, "nothing else is due")
          assert.deepStrictEqual(
            yield* present,
            [atCut, after, waiting, requeued],
            "kept: sent at the instant and after it, pending, and a dead letter re-queued"
          )
          assert.deepStrictEqual(
            (yield* find(outbox, atCut.id, "atCut")).delivery.providerMessageId,
            "p-at-cut",
            "a kept message as it was"
          )
          // A purged message's dedupe key is free again; a kept one's is not.
          const again = Rows.outboxMessage({ dedupeKey: first.dedupeKey })
          const duplicate = Rows.outboxMessage({ dedupeKey: atCut.dedupeKey })
          yield* outbox.enqueue([again, duplicate])
          some(yield* outbox.find(again.id), "a message with a purged message's key is enqueued")
          none(yield* outbox.find(duplicate.id), "a kept message's key still de-duplicates")
        })
      )
  )

  it.effect(
    "R64: settleMany (when the adapter has it) answers and records what settle of each entry one after another would: the lease checked per message, a lost lease, a settled message, a repeated id and an unknown id answered as settle answers them, changing nothing",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const settleMany = outbox.settleMany
          if (settleMany === undefined) return yield* lacks(h, "Outbox.settleMany", ctx)
          assert.deepStrictEqual(yield* settleMany("dispatcher-a", []), [], "no entries, no answers")
          const [reclaimed, toRetry, toKill, toSend, done] = Array.from({ length: 5 }, (_, i) =>
            Rows.outboxMessage({ createdAt: minutesAfter(-5 + i, i * 11) })
          ) as [OutboxMessage, OutboxMessage, OutboxMessage, OutboxMessage, OutboxMessage]
          yield* outbox.enqueue([reclaimed, toRetry, toKill, toSend, done])
          const t0 = yield* DateTime.now
          assert.deepStrictEqual(
            ids(yield* claim(outbox, "dispatcher-a", t0, 1, 1_000)),
            [reclaimed.id],
            "A claims the oldest with a short lease"
          )
          assert.deepStrictEqual(
            ids(yield* claim(outbox, "dispatcher-a", t0)),
            [toRetry.id, toKill.id, toSend.id, done.id],
            "A claims the others"
          )
          yield* TestClock.adjust("1001 millis")
          const t1 = yield* DateTime.now
          assert.deepStrictEqual(
            ids(yield* claim(outbox, "dispatcher-b", t1)),
            [reclaimed.id],
            "B reclaims the first once A's lease of it expired"
          )
          assert.isTrue(yield* outbox.settle(done.id, "dispatcher-a", sent(t1, "p-done")), "A settles one")

          const s = sent(minutesAfter(0, 250), "aliyun-2026050410000002")
          const r = retry(minutesAfter(5, 321), "RetryLater: 触发流控 (throttled)", true, "sender.timeout")
          const k = dead(minutesAfter(0, 999), "Permanent: 号码不存在", false, "isv.MOBILE_NUMBER_ILLEGAL")
          const unknown = Ids.make<Ids.OutboxMessageId>()
          const answers = yield* settleMany("dispatcher-a", [
            { id: toRetry.id, settlement: r },
            { id: reclaimed.id, settlement: s },
            { id: toKill.id, settlement: k },
            { id: unknown, settlement: s },
            { id: done.id, settlement: sent(t1, "p-again") },
            { id: toSend.id, settlement: sent(minutesAfter(0, 500), "p-toSend") }
          ])
          assert.deepStrictEqual(
            answers,
            [true, false, true, false, false, true],
            "held, toSend to B, held, unknown, already settled, held — in the entries' order"
          )
          same(
            Notification.Delivery,
            (yield* find(outbox, toRetry.id, "retried")).delivery,
            {
              ...pending(toRetry),
              attempts: 1,
              unknownOutcomes: 1,
              nextAttemptAt: r.nextAttemptAt,
              lastError: r.error,
              lastCode: "sender.timeout"
            },
            "Retry recorded with its code, the lease released"
          )
          same(
            Notification.Delivery,
            (yield* find(outbox, reclaimed.id, "toSend")).delivery,
            takenOver(pending(reclaimed), "dispatcher-b", t1),
            "A's attempt counted with an unknown outcome when B took its lease over; nothing more, B's lease untouched"
          )
          same(
            Notification.Delivery,
            (yield* find(outbox, toKill.id, "dead")).delivery,
            {
              ...pending(toKill),
              status: "dead",
              attempts: 1,
              deadAt: k.at,
              lastError: k.error,
              lastCode: "isv.MOBILE_NUMBER_ILLEGAL"
            },
            "Dead recorded with its code"
          )
          same(
            Notification.Delivery,
            (yield* find(outbox, done.id, "settled twice")).delivery,
            {
              ...pending(done),
              status: "sent",
              attempts: 1,
              providerMessageId: "p-done",
              sentAt: t1
            },
            "a settled message keeps its result and its count"
          )
          same(
            Notification.Delivery,
            (yield* find(outbox, toSend.id, "sent")).delivery,
            {
              ...pending(toSend),
              status: "sent",
              attempts: 1,
              providerMessageId: "p-toSend",
              sentAt: minutesAfter(0, 500)
            },
            "Sent recorded"
          )
          none(yield* outbox.find(unknown), "settleMany creates no message")

          const nextDay = DateTime.add(t1, { days: 1 })
          assert.deepStrictEqual(
            ids(yield* claim(outbox, "dispatcher-c", nextDay)),
            [reclaimed.id, toRetry.id],
            "B's expired lease and the retry are due (the retry's lease released: nothing more counted)"
          )
          assert.deepStrictEqual(
            yield* settleMany("dispatcher-c", [
              { id: toRetry.id, settlement: sent(nextDay, "p-first") },
              { id: toRetry.id, settlement: sent(nextDay, "p-second") }
            ]),
            [true, false],
            "a repeated id: the first entry settles, the second finds no lease"
          )
          same(
            Notification.Delivery,
            (yield* find(outbox, toRetry.id, "repeated")).delivery,
            {
              ...pending(toRetry),
              status: "sent",
              nextAttemptAt: r.nextAttemptAt,
              attempts: 2,
              unknownOutcomes: 1,
              providerMessageId: "p-first",
              sentAt: nextDay
            },
            "the first entry counted, the second changes nothing; the send clears the earlier error and its code"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: concurrent settleMany over the same messages in opposite orders: each message's holder settles it, the other changes nothing, no deadlock",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const settleMany = outbox.settleMany
          if (settleMany === undefined) return yield* lacks(h, "Outbox.settleMany", ctx)
          const messages = Array.from({ length: 60 }, (_, i) =>
            Rows.outboxMessage({ createdAt: minutesAfter(-60, i) })
          )
          yield* outbox.enqueue(messages)
          const now = yield* DateTime.now
          const byA = ids(yield* claim(outbox, "dispatcher-a", now, 30))
          const byB = ids(yield* claim(outbox, "dispatcher-b", now, 30))
          const all = [...byA, ...byB]
          assert.strictEqual(new Set(all).size, 60, "A and B hold 30 each")
          const entries = (tag: string) => all.map((id) => ({ id, settlement: sent(now, `${tag}-${id}`) }))
          const [answersA, answersB] = yield* Effect.all(
            [settleMany("dispatcher-a", entries("a")), settleMany("dispatcher-b", entries("b").reverse())],
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(
            answersA,
            all.map((id) => byA.includes(id)),
            "A settles exactly its own"
          )
          assert.deepStrictEqual(
            answersB,
            [...all].reverse().map((id) => byB.includes(id)),
            "B settles exactly its own"
          )
          for (const id of all) {
            const d = (yield* find(outbox, id, "settled")).delivery
            const holder = byA.includes(id) ? "a" : "b"
            assert.strictEqual(d.status, "sent", "sent")
            assert.strictEqual(d.providerMessageId, `${holder}-${id}`, "the holder's result")
            assert.strictEqual(
              d.attempts,
              1,
              "the holder's attempt counted, the stranger's settle changed nothing"
            )
            assert.strictEqual(d.unknownOutcomes, 0, "the holder's outcome is known")
          }
        }),
        yielding
      ),
    h.timeout
  )

  it.effect(
    "R64: a retried message is not claimable before its nextAttemptAt and is from then on, even while the old lease would still run",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const m = Rows.outboxMessage({ createdAt: minutesAfter(-1) })
          yield* outbox.enqueue([m])
          const t0 = yield* DateTime.now
          yield* claim(outbox, "dispatcher-a", t0)
          const r = retry(DateTime.add(t0, { millis: 30_007 }), "Unknown: 无应答", true)
          assert.isTrue(yield* outbox.settle(m.id, "dispatcher-a", r), "settle Retry")
          assert.deepStrictEqual(yield* claim(outbox, "dispatcher-b", t0), [], "not due right away")
          yield* TestClock.adjust("30006 millis")
          assert.deepStrictEqual(
            yield* claim(outbox, "dispatcher-b", yield* DateTime.now),
            [],
            "not due 1 ms before nextAttemptAt"
          )
          yield* TestClock.adjust("1 millis")
          const t1 = yield* DateTime.now
          const due = yield* claim(outbox, "dispatcher-b", t1)
          assert.deepStrictEqual(ids(due), [m.id], "due at nextAttemptAt")
          yield* expectClaimed(
            outbox,
            due[0]!,
            leased(
              {
                ...pending(m),
                attempts: 1,
                unknownOutcomes: 1,
                nextAttemptAt: r.nextAttemptAt,
                lastError: r.error
              },
              "dispatcher-b",
              t1
            ),
            "claimed after the retry"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: listDead lists the dead letters oldest message first, page by page, and nothing else",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const messages = Array.from({ length: 30 }, (_, i) =>
            Rows.outboxMessage({ createdAt: minutesAfter(-20 + Math.floor(i / 3), i % 2) })
          )
          yield* outbox.enqueue(messages.slice(15))
          yield* outbox.enqueue(messages.slice(0, 15))
          const now = yield* DateTime.now
          assert.strictEqual((yield* claim(outbox, "dispatcher-a", now)).length, 30, "all claimed")
          const deadIds: Array<Ids.OutboxMessageId> = []
          for (const [i, m] of [...messages.entries()].reverse()) {
            const settlement =
              i % 5 === 1
                ? sent(minutesAfter(0, i), `p-${i}`)
                : i % 5 === 3
                  ? retry(minutesAfter(30), "RetryLater: 限流")
                  : dead(minutesAfter(1, 30 - i), `Permanent: 第${i}条`)
            assert.isTrue(yield* outbox.settle(m.id, "dispatcher-a", settlement), "settle")
            if (settlement._tag === "Dead") deadIds.push(m.id)
          }
          assert.deepStrictEqual(yield* outbox.listDead({ limit: 0 }), [], "limit 0")
          yield* expectDeadPages(outbox, "listDead", outbox.listDead, deadIds)
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: listDead with a code lists only the dead letters whose lastCode is exactly it, oldest first, page by page; a re-queued letter leaves it, and returns under the code it dies with next",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const balance = "isv.AMOUNT_NOT_ENOUGH"
          const messages = Array.from({ length: 24 }, (_, i) =>
            Rows.outboxMessage({ createdAt: minutesAfter(-30 + Math.floor(i / 2), i % 2) })
          )
          yield* outbox.enqueue(messages)
          const now = yield* DateTime.now
          assert.strictEqual((yield* claim(outbox, "dispatcher-a", now)).length, 24, "all claimed")
          const ofBalance: Array<Ids.OutboxMessageId> = []
          for (const [i, m] of messages.entries()) {
            const settlement =
              i % 4 === 0
                ? dead(minutesAfter(1, i), "Configuration: 账户余额不足", false, balance)
                : i % 4 === 1
                  ? dead(minutesAfter(1, i), "Permanent: 号码不存在", false, "isv.MOBILE_NUMBER_ILLEGAL")
                  : i % 4 === 2
                    ? dead(minutesAfter(1, i), "Permanent: 无代码")
                    : retry(minutesAfter(30), "Configuration: 账户余额不足", false, balance)
            assert.isTrue(yield* outbox.settle(m.id, "dispatcher-a", settlement), "settle")
            if (i % 4 === 0) ofBalance.push(m.id)
          }
          yield* expectDeadPages(
            outbox,
            "listDead by code",
            (range) => outbox.listDead({ ...range, code: balance }),
            ofBalance
          )
          assert.deepStrictEqual(
            yield* outbox.listDead({ limit: 50, code: balance.toLowerCase() }),
            [],
            "the code is compared exactly: another letter case lists nothing"
          )
          assert.deepStrictEqual(
            yield* outbox.listDead({ limit: 50, code: "sender.timeout" }),
            [],
            "a code no dead letter has lists nothing"
          )
          assert.strictEqual(
            (yield* outbox.listDead({ limit: 50 })).length,
            18,
            "without a code every dead letter is listed, those without a code among them"
          )

          const [first, second] = ofBalance as [Ids.OutboxMessageId, Ids.OutboxMessageId]
          yield* TestClock.adjust("5 minutes")
          const t1 = yield* DateTime.now
          assert.isTrue(yield* outbox.requeue(first, t1), "re-queued")
          assert.isTrue(yield* outbox.requeue(second, t1), "re-queued")
          assert.deepStrictEqual(
            ids(yield* outbox.listDead({ limit: 50, code: balance })),
            ofBalance.slice(2),
            "re-queued letters are no longer listed under their code"
          )
          const reclaimed = yield* claim(outbox, "dispatcher-b", t1)
          assert.sameMembers(ids(reclaimed), [first, second], "the re-queued letters are claimed again")
          assert.isTrue(
            yield* outbox.settle(
              first,
              "dispatcher-b",
              dead(
                DateTime.add(t1, { seconds: 1 }),
                "Permanent: 签名不合法",
                false,
                "isv.SMS_SIGNATURE_ILLEGAL"
              )
            ),
            "dies again, of another cause"
          )
          assert.isTrue(
            yield* outbox.settle(second, "dispatcher-b", sent(DateTime.add(t1, { seconds: 1 }), "p-2")),
            "sent this time"
          )
          assert.deepStrictEqual(
            ids(yield* outbox.listDead({ limit: 50, code: "isv.SMS_SIGNATURE_ILLEGAL" })),
            [first],
            "listed under the code it died with last"
          )
          assert.deepStrictEqual(
            ids(yield* outbox.listDead({ limit: 50, code: balance })),
            ofBalance.slice(2),
            "and no longer under the earlier one"
          )
          assert.isNull((yield* find(outbox, second, "sent")).delivery.lastCode, "a send clears the code")
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: summary counts the pending messages, those a claim at now could take and the earliest instant one of them became claimable (the later of nextAttemptAt and an expired lease), and the dead letters by code",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const t0 = yield* DateTime.now
          const at = (minutes: number) => DateTime.add(t0, { minutes })
          const counts = (now: DateTime.Utc) =>
            Effect.map(outbox.summary(now), (s) => [s.pending, s.due, s.oldestDueAt])
          assert.deepStrictEqual(
            yield* outbox.summary(t0),
            { pending: 0, due: 0, oldestDueAt: null, dead: 0, deadByCode: [] },
            "an empty outbox"
          )

          const messages = Array.from({ length: 9 }, (_, i) =>
            Rows.outboxMessage({ createdAt: DateTime.add(at(-20 + i), { millis: i * 7 }) })
          )
          const [leasedLong, leasedShort, toRetry, toSend, k1, k2, k3, k4, waiting] = messages as [
            OutboxMessage,
            OutboxMessage,
            OutboxMessage,
            OutboxMessage,
            OutboxMessage,
            OutboxMessage,
            OutboxMessage,
            OutboxMessage,
            OutboxMessage
          ]
          const future = Rows.outboxMessage({ createdAt: at(30) })
          yield* outbox.enqueue([...messages, future])
          assert.deepStrictEqual(
            yield* outbox.summary(t0),
            { pending: 10, due: 9, oldestDueAt: leasedLong.createdAt, dead: 0, deadByCode: [] },
            "every message pending; nine due, the oldest since its createdAt; the one created later is not due yet"
          )
          assert.deepStrictEqual(
            yield* counts(at(-30)),
            [10, 0, null],
            "before any message was created: all pending, none due, no oldest due"
          )

          assert.deepStrictEqual(ids(yield* claim(outbox, "dispatcher-a", t0, 1, 20 * 60_000)), [
            leasedLong.id
          ])
          assert.deepStrictEqual(ids(yield* claim(outbox, "dispatcher-a", t0, 1, 60_000)), [leasedShort.id])
          assert.deepStrictEqual(ids(yield* claim(outbox, "dispatcher-a", t0, 6)), [
            toRetry.id,
            toSend.id,
            k1.id,
            k2.id,
            k3.id,
            k4.id
          ])
          const settled = [
            [toRetry, retry(at(10), "RetryLater: 限流", false, "isv.BUSINESS_LIMIT_CONTROL")],
            [toSend, sent(t0, "p-1")],
            [k1, dead(t0, "Configuration: 余额不足", false, "isv.AMOUNT_NOT_ENOUGH")],
            [k2, dead(t0, "Configuration: 余额不足", false, "isv.AMOUNT_NOT_ENOUGH")],
            [k3, dead(t0, "Permanent: 号码不存在", false, "isv.MOBILE_NUMBER_ILLEGAL")],
            [k4, dead(t0, "Permanent: 拒收")]
          ] as const
          for (const [m, settlement] of settled) {
            assert.isTrue(yield* outbox.settle(m.id, "dispatcher-a", settlement), "settled")
          }
          const summary = yield* outbox.summary(t0)
          assert.deepStrictEqual(
            {
              ...summary,
              deadByCode: [...summary.deadByCode].sort((a, b) => String(a.code).localeCompare(String(b.code)))
            },
            {
              pending: 5,
              due: 1,
              oldestDueAt: waiting.createdAt,
              dead: 4,
              deadByCode: [
                { code: "isv.AMOUNT_NOT_ENOUGH", count: 2 },
                { code: "isv.MOBILE_NUMBER_ILLEGAL", count: 1 },
                { code: null, count: 1 }
              ]
            },
            "pending: two leased, one retried, one unclaimed, one not due yet; due: the unclaimed one; the sent one not counted; the dead by code, null for the letter without one"
          )
          assert.deepStrictEqual(
            yield* counts(DateTime.subtract(at(1), { millis: 1 })),
            [5, 1, waiting.createdAt],
            "a millisecond before the short lease ends, its message is not due"
          )
          assert.deepStrictEqual(
            yield* counts(at(1)),
            [5, 2, waiting.createdAt],
            "from the instant the short lease ends, its message is due too"
          )
          assert.deepStrictEqual(ids(yield* claim(outbox, "dispatcher-b", at(2), 1)), [waiting.id])
          assert.isTrue(yield* outbox.settle(waiting.id, "dispatcher-b", sent(at(2), "p-2")), "sent")
          assert.deepStrictEqual(
            yield* counts(at(11)),
            [4, 2, at(1)],
            "the expired lease and the retry are due, the long lease is not; the oldest due since its lease ended, not since it was created"
          )
          assert.deepStrictEqual(
            yield* counts(at(40)),
            [4, 4, at(1)],
            "past the long lease and the later message's createdAt: all four due"
          )
          const early = Rows.outboxMessage({ createdAt: DateTime.unsafeMake(-10_000) })
          yield* outbox.enqueue([early])
          assert.deepStrictEqual(
            yield* counts(DateTime.unsafeMake(-5_000)),
            [5, 1, early.createdAt],
            "an instant before 1970 is an instant like any other"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: requeue turns a dead letter into a pending message due now with its attempts reset, its lastError and lastCode kept; any other message answers false",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const toKill = Rows.outboxMessage({ createdAt: minutesAfter(-3) })
          const toSend = Rows.outboxMessage({ createdAt: minutesAfter(-2) })
          const toRetry = Rows.outboxMessage({ createdAt: minutesAfter(-1) })
          yield* outbox.enqueue([toKill, toSend, toRetry])
          const t0 = yield* DateTime.now
          yield* claim(outbox, "dispatcher-a", t0)
          yield* outbox.settle(
            toKill.id,
            "dispatcher-a",
            dead(minutesAfter(0, 5), "Permanent: 模板未审核", true, "isv.SMS_TEMPLATE_ILLEGAL")
          )
          yield* outbox.settle(toSend.id, "dispatcher-a", sent(minutesAfter(0, 6), "p-1"))
          yield* outbox.settle(toRetry.id, "dispatcher-a", retry(minutesAfter(600), "RetryLater: 限流"))
          const before = {
            sent: yield* find(outbox, toSend.id, "sent"),
            retry: yield* find(outbox, toRetry.id, "retried")
          }

          yield* TestClock.adjust("5 minutes")
          const t1 = yield* DateTime.now
          assert.isTrue(yield* outbox.requeue(toKill.id, t1), "a dead letter is re-queued")
          const requeued = (yield* find(outbox, toKill.id, "re-queued")).delivery
          assert.strictEqual(requeued.status, "pending", "pending again")
          assert.strictEqual(requeued.attempts, 0, "attempts reset")
          assert.deepStrictEqual(
            [requeued.lastError, requeued.lastCode],
            ["Permanent: 模板未审核", "isv.SMS_TEMPLATE_ILLEGAL"],
            "why it died, kept until its next attempt"
          )
          same(Notification.Delivery, requeued, { ...requeued, nextAttemptAt: t1 }, "due now")
          assert.isNull(requeued.leaseOwner, "not leased")
          assert.isNull(requeued.leaseUntil, "not leased")
          assert.deepStrictEqual(yield* outbox.listDead({ limit: 10 }), [], "no longer a dead letter")

          assert.isFalse(yield* outbox.requeue(toKill.id, t1), "a pending message is not dead")
          assert.isFalse(yield* outbox.requeue(toSend.id, t1), "a sent message is not dead")
          assert.isFalse(yield* outbox.requeue(toRetry.id, t1), "a retried message is not dead")
          assert.isFalse(
            yield* outbox.requeue(Ids.make<Ids.OutboxMessageId>(), t1),
            "an unknown message is not dead"
          )
          same(Notification.Tracked, yield* find(outbox, toSend.id, "sent"), before.sent, "sent: unchanged")
          same(
            Notification.Tracked,
            yield* find(outbox, toRetry.id, "retried"),
            before.retry,
            "retried: unchanged"
          )

          const claimed = yield* claim(outbox, "dispatcher-b", t1)
          assert.deepStrictEqual(ids(claimed), [toKill.id], "the re-queued message is claimable now")
        })
      ),
    h.timeout
  )

  it.effect(
    "R64: enqueues, claims, settlements (settle, and settleMany when the adapter has it) and requeues inside a failed unit of work leave nothing behind",
    () =>
      h.run(
        Effect.gen(function* () {
          const outbox = yield* Persistence.Outbox
          const uow = yield* Persistence.UnitOfWork
          const m1 = Rows.outboxMessage({ createdAt: minutesAfter(-2) })
          const m2 = Rows.outboxMessage({ createdAt: minutesAfter(-1) })
          yield* outbox.enqueue([m1, m2])
          const now = yield* DateTime.now
          const fail = <A, E, R>(body: Effect.Effect<A, E, R>) =>
            Effect.map(
              Effect.either(uow.transaction(Effect.zipRight(body, Effect.fail(new Boom())))),
              (result) => assert.isTrue(Either.isLeft(result), "the unit of work fails")
            )

          yield* fail(
            Effect.map(claim(outbox, "dispatcher-a", now), (rows) =>
              assert.strictEqual(rows.length, 2, "the claim inside sees both")
            )
          )
          for (const m of [m1, m2]) {
            same(
              Notification.Delivery,
              (yield* find(outbox, m.id, "after a rolled-back claim")).delivery,
              pending(m),
              "a rolled-back claim leaves no lease"
            )
          }
          const claimed = yield* claim(outbox, "dispatcher-b", now)
          assert.deepStrictEqual(ids(claimed), [m1.id, m2.id], "both are claimable after the rollback")

          yield* fail(
            Effect.map(outbox.settle(m1.id, "dispatcher-b", sent(now, "p-rolled-back")), (held) =>
              assert.isTrue(held, "the settle inside holds")
            )
          )
          yield* expectClaimed(
            outbox,
            claimed[0]!,
            leased(pending(m1), "dispatcher-b", now),
            "after a rolled-back settle"
          )
          if (outbox.settleMany !== undefined) {
            yield* fail(
              Effect.map(
                outbox.settleMany("dispatcher-b", [{ id: m1.id, settlement: sent(now, "p-rolled-back") }]),
                (held) => assert.deepStrictEqual(held, [true], "the settleMany inside holds")
              )
            )
            yield* expectClaimed(
              outbox,
              claimed[0]!,
              leased(pending(m1), "dispatcher-b", now),
              "after a rolled-back settleMany"
            )
          }
          yield* fail(outbox.settle(m2.id, "dispatcher-x", sent(now, "p-stranger")))
          same(
            Notification.Delivery,
            (yield* find(outbox, m2.id, "after a rolled-back foreign settle")).delivery,
            leased(pending(m2), "dispatcher-b", now),
            "a rolled-back settle by a stranger records no attempt"
          )
          assert.isTrue(yield* outbox.settle(m1.id, "dispatcher-b", sent(now, "p-1")), "the holder settles")
          assert.isTrue(
            yield* outbox.settle(m2.id, "dispatcher-b", dead(now, "Permanent: 空号")),
            "the holder dead-letters"
          )

          yield* fail(
            Effect.map(outbox.requeue(m2.id, now), (ok) => assert.isTrue(ok, "the requeue inside succeeds"))
          )
          assert.strictEqual(
            (yield* find(outbox, m2.id, "after a rolled-back requeue")).delivery.status,
            "dead",
            "a rolled-back requeue leaves the dead letter dead"
          )
          assert.deepStrictEqual(
            ids(yield* outbox.listDead({ limit: 10 })),
            [m2.id],
            "still listed as a dead letter"
          )

          const m3 = Rows.outboxMessage({ createdAt: minutesAfter(-1) })
          yield* fail(outbox.enqueue([m3]))
          none(yield* outbox.find(m3.id), "a rolled-back enqueue")
          const m3again = Rows.outboxMessage({ dedupeKey: m3.dedupeKey, createdAt: minutesAfter(-1) })
          yield* outbox.enqueue([m3again])
          same(
            Notification.Delivery,
            (yield* find(outbox, m3again.id, "re-enqueued")).delivery,
            pending(m3again),
            "a rolled-back enqueue does not hold its dedupeKey"
          )
        })
      ),
    h.timeout
  )
}
