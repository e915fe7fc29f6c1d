import { assert, describe, it } from "@effect/vitest"
import {
  AuditTrail,
  Dispatcher,
  Errors,
  type Ids,
  Member,
  Notifications,
  Persistence,
  PersistenceMemory,
  Responding,
  Settings,
  SmsSender,
  Zhongbao
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import {
  Context,
  DateTime,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  FiberId,
  Layer,
  Logger,
  LogLevel,
  Option,
  Random,
  Scope,
  TestClock
} from "effect"
import { at, expectError, outboxMessage as message, start } from "./helpers.js"
import { justAfter, proposal, selectionEnd } from "./support.js"

const outboxSettings = (o: Partial<Settings.PlatformSettings["outbox"]>) => ({
  outbox: { ...Settings.defaults.outbox, ...o }
})

/** Services and workers over the memory ports (rewritten by `ports`), with `sender`. */
const layerWith = (
  sender: SmsSender.SmsSender["Type"],
  overrides: Partial<Settings.PlatformSettings> = {},
  ports: (c: Context.Context<Persistence.Ports>) => Context.Context<Persistence.Ports> = (c) => c
) =>
  Layer.orDie(
    Layer.mergeAll(Zhongbao.layer, Zhongbao.layerWorkers).pipe(
      Layer.provideMerge(
        Layer.mergeAll(
          Layer.map(PersistenceMemory.layerMemory, ports),
          Settings.layer(overrides),
          Layer.succeed(SmsSender.SmsSender, sender)
        )
      )
    )
  )

/** Services, workers and a memory sender with the given behaviour. */
const setup = (behaviour: SmsSender.MemoryBehaviour, overrides: Partial<Settings.PlatformSettings> = {}) => {
  const memory = SmsSender.makeMemory(behaviour)
  return { memory, layer: layerWith(memory.sender, overrides) }
}

/** Every log line written under `logged`, at every level, as JSON of its message and annotations. */
const capturingLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message, annotations }) => {
    lines.push(JSON.stringify({ message, annotations: Object.fromEntries(annotations) }))
  })
  const logged = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
  return { lines, logged }
}

/** Each outbox message's delivery, oldest message first: status, lease owner, attempts, unknown outcomes. */
const deliveryStates = Effect.flatMap(Persistence.Outbox, (outbox) =>
  Effect.flatMap(outbox.list({ limit: 100 }), (messages) =>
    Effect.forEach(messages, (m) =>
      Effect.map(outbox.find(m.id), (t) => {
        const d = Option.getOrThrow(t).delivery
        return [d.status, d.leaseOwner, d.attempts, d.unknownOutcomes]
      })
    )
  )
)

/** Messages to `phones`, created a second apart from `start`, enqueued; the clock then a second past the last. */
const enqueuedApart = (phones: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const messages = phones.map((phone, i) => message(phone, DateTime.add(start, { seconds: i })))
    yield* (yield* Persistence.Outbox).enqueue(messages)
    yield* at(DateTime.add(start, { seconds: phones.length }))
    return messages
  })

/** The ids of the notifications whose re-queue the trail holds (R60), as `operator` reads it. */
const requeuedIds = (operator: Ids.AccountId) =>
  Effect.flatMap(AuditTrail.AuditTrail, (trail) =>
    Effect.map(trail.list(operator, { limit: 100 }), (p) =>
      p.items.filter((e) => e.action === "notification.requeued").map((e) => e.entityId)
    )
  )

describe("Dispatcher", () => {
  it.effect(
    "R64, R25: Zhongbao.layerWorkersRunning sends due messages and ends passed selections while its scope is open, and stops when it closes",
    () =>
      Effect.gen(function* () {
        yield* at(start)
        const memory = SmsSender.makeMemory({})
        const ports = Layer.merge(PersistenceMemory.layerMemory, Settings.layer({}))
        const base = Zhongbao.layer.pipe(
          Layer.provideMerge(Layer.merge(ports, Layer.succeed(SmsSender.SmsSender, memory.sender)))
        )
        const built = yield* Layer.build(Layer.fresh(Layer.orDie(base)))
        const outbox = Context.get(built, Persistence.Outbox)
        const world = yield* Effect.provide(Fixtures.makeWorld, built)
        const demand = yield* Effect.provide(Fixtures.publish(world, world.enterprise.account), built)
        const response = yield* Effect.provide(
          Effect.flatMap(Responding.Responding, (r) =>
            r.respond(world.institute.account, { demandId: demand.id, proposal: proposal() })
          ),
          built
        )
        yield* at(justAfter(yield* Effect.provide(selectionEnd(demand), built)))
        const scope = yield* Scope.make()
        yield* Layer.buildWithScope(
          Zhongbao.layerWorkersRunning({ owner: "w" }).pipe(Layer.provide(Layer.succeedContext(built))),
          scope
        )
        yield* TestClock.adjust(Duration.millis(Settings.defaults.outbox.idleMillis + 1))
        const status = Option.getOrThrow(
          yield* Context.get(built, Persistence.ResponseRepository).findById(response.id)
        ).status
        assert.strictEqual(status, "not_adopted")
        const sent = yield* Effect.filter(yield* outbox.list({ limit: 100 }), (m) =>
          Effect.map(outbox.find(m.id), (t) => Option.getOrThrow(t).delivery.status === "sent")
        )
        assert.include(
          sent.map((m) => m.event),
          "response_not_adopted"
        )
        assert.strictEqual(memory.log.delivered.length, sent.length)
        yield* Scope.close(scope, Exit.void)
        const later = message("+8613912345679", start)
        yield* outbox.enqueue([later])
        yield* TestClock.adjust("1 hour")
        assert.strictEqual(memory.log.delivered.length, sent.length)
        assert.strictEqual(Option.getOrThrow(yield* outbox.find(later.id)).delivery.status, "pending")
      }).pipe(Effect.scoped)
  )

  it.effect(
    "R64: a retry the sender did not attempt (its own throttle) spends none of maxAttempts, and its retryAfterMillis beyond the backoff is waited",
    () => {
      const asked: Array<string> = []
      const sender = {
        send: (request: SmsSender.SmsRequest) =>
          Effect.sync(() => {
            asked.push(request.messageId)
            return asked.length <= 3
              ? SmsSender.SendResult.RetryLater({
                  reason: "throttled: this sender's per-number limit",
                  retryAfterMillis: 60_000,
                  attempted: false
                })
              : SmsSender.SendResult.Sent({ providerMessageId: "p-1" })
          })
      }
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        const m = message("+8613612345670", start)
        yield* outbox.enqueue([m])
        const delivery = () => Effect.map(outbox.find(m.id), (t) => Option.getOrThrow(t).delivery)
        for (let round = 1; round <= 3; round++) {
          assert.strictEqual((yield* dispatcher.dispatchOnce("a")).retried, 1, `round ${round}`)
          const after = yield* delivery()
          assert.deepStrictEqual(
            [after.status, after.attempts],
            ["pending", 0],
            `round ${round}: no attempt spent`
          )
          const now = yield* DateTime.now
          assert.isTrue(
            after.status === "pending" && DateTime.distance(now, after.nextAttemptAt) >= 60_000,
            `round ${round}: not due before the sender's 60 s (the backoff alone: 1–2 s)`
          )
          yield* TestClock.adjust("59 seconds")
          assert.strictEqual((yield* dispatcher.dispatchOnce("a")).claimed, 0, `round ${round}: not yet due`)
          yield* TestClock.adjust("2 seconds")
        }
        assert.strictEqual((yield* dispatcher.dispatchOnce("a")).sent, 1)
        const last = yield* delivery()
        assert.deepStrictEqual(
          [last.status, last.attempts],
          ["sent", 1],
          "only the call that reached the provider counted"
        )
      }).pipe(
        Effect.provide(
          layerWith(
            sender,
            outboxSettings({ maxAttempts: 2, backoffBaseMillis: 1_000, backoffMaxMillis: 2_000 })
          )
        )
      )
    }
  )

  it.effect("R64: a due message is sent once and marked sent", () => {
    const { memory, layer } = setup({})
    return Effect.gen(function* () {
      yield* at(start)
      const outbox = yield* Persistence.Outbox
      const m = message("+8613912345678", start)
      yield* outbox.enqueue([m, { ...m, id: "dup" as Ids.OutboxMessageId }])
      const dispatcher = yield* Dispatcher.Dispatcher
      const round = yield* dispatcher.dispatchOnce("a")
      assert.deepStrictEqual(round, { claimed: 1, sent: 1, retried: 0, dead: 0, lost: 0 })
      assert.strictEqual((yield* dispatcher.dispatchOnce("a")).claimed, 0)
      assert.strictEqual(memory.log.delivered.length, 1)
      const tracked = Option.getOrThrow(yield* outbox.find(m.id))
      // The sender reads the parameters in key order, whatever order the store keeps.
      const reordered = {
        ...message("+8613912345679", start),
        params: { title: "标题", number: "ZB20260001" }
      }
      yield* outbox.enqueue([reordered])
      yield* dispatcher.dispatchOnce("a")
      assert.deepStrictEqual(Object.keys(memory.log.delivered[1]!.params), ["number", "title"])
      assert.strictEqual(tracked.delivery.status, "sent")
      assert.strictEqual(tracked.delivery.attempts, 1)
    }).pipe(Effect.provide(layer))
  })

  it.effect(
    "R64: a send the sender's own throttle refused is retried, never dead-lettered, however often, with the message's attempts one short of maxAttempts",
    () => {
      const sender = {
        send: () =>
          Effect.succeed(
            SmsSender.SendResult.RetryLater({
              reason: "throttled: this sender's per-number limit",
              attempted: false
            })
          )
      }
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        const m = message("+8613612345671", start)
        yield* outbox.enqueue([m])
        // Two attempts recorded by the port itself, one short of the limit of 3.
        for (const owner of ["x", "y"]) {
          const now = yield* DateTime.now
          assert.lengthOf(yield* outbox.claim({ owner, now, leaseMillis: 60_000, limit: 1 }), 1)
          assert.isTrue(
            yield* outbox.settle(m.id, owner, {
              _tag: "Retry",
              nextAttemptAt: now,
              unknownOutcome: false,
              error: "RetryLater: outage"
            })
          )
        }
        const before = Option.getOrThrow(yield* outbox.find(m.id)).delivery
        assert.deepStrictEqual([before.status, before.attempts], ["pending", 2])
        for (let i = 0; i < 3; i++) {
          const round = yield* dispatcher.dispatchOnce("a")
          assert.deepStrictEqual([round.retried, round.dead], [1, 0])
          const after = Option.getOrThrow(yield* outbox.find(m.id)).delivery
          assert.deepStrictEqual([after.status, after.attempts], ["pending", 2], "retried, no attempt spent")
          yield* TestClock.setTime(after.nextAttemptAt.epochMillis)
        }
      }).pipe(Effect.provide(layerWith(sender, outboxSettings({ maxAttempts: 3 }))))
    }
  )

  it.effect(
    "R64: each claim of a dispatcher holds its leases under a name of its own: a late result of its earlier claim of a message cannot be recorded over its later one",
    () => {
      const owners: Array<string> = []
      const called = Deferred.unsafeMake<void>(FiberId.none)
      const gate = Deferred.unsafeMake<void>(FiberId.none)
      let calls = 0
      const sender = {
        send: () =>
          ++calls === 1
            ? Effect.succeed(SmsSender.SendResult.RetryLater({ reason: "outage" }))
            : Effect.zipRight(
                Effect.zipRight(Deferred.succeed(called, undefined), Deferred.await(gate)),
                Effect.succeed(SmsSender.SendResult.Sent({ providerMessageId: "p-2" }))
              )
      }
      const layer = layerWith(sender, outboxSettings({ backoffBaseMillis: 1_000 }), (ports) => {
        const outbox = Context.get(ports, Persistence.Outbox)
        return Context.add(ports, Persistence.Outbox, {
          ...outbox,
          claim: (q) =>
            Effect.zipRight(
              Effect.sync(() => owners.push(q.owner)),
              outbox.claim(q)
            )
        })
      })
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        const m = message("+8613612345672", start)
        yield* outbox.enqueue([m])
        assert.strictEqual((yield* dispatcher.dispatchOnce("w")).retried, 1)
        yield* TestClock.adjust("5 seconds")
        const second = yield* Effect.fork(dispatcher.dispatchOnce("w"))
        yield* Deferred.await(called)
        assert.lengthOf(owners, 2)
        assert.notStrictEqual(owners[0], owners[1], "two claims, two names")
        const late = yield* outbox.settle(m.id, owners[0]!, {
          _tag: "Retry",
          nextAttemptAt: yield* DateTime.now,
          unknownOutcome: false,
          error: "RetryLater: outage"
        })
        assert.isFalse(late, "the first claim's late result is not the holder's")
        const held = Option.getOrThrow(yield* outbox.find(m.id)).delivery
        assert.strictEqual(held.leaseOwner, owners[1], "the second claim still holds the lease")
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual((yield* Fiber.join(second)).sent, 1)
        assert.strictEqual(Option.getOrThrow(yield* outbox.find(m.id)).delivery.status, "sent")
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: under the default outbox settings, a provider that answers just inside the send timeout leaves no claimed message without its turn in the first half of its lease",
    () => {
      const { memory, layer } = setup({ delay: "9 seconds" })
      const { lines, logged } = capturingLogs()
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const messages = Array.from({ length: 200 }, (_, i) =>
          message(`+86139${String(20_000_000 + i).padStart(8, "0")}`, start)
        )
        yield* outbox.enqueue(messages)
        const running = yield* Effect.fork((yield* Dispatcher.Dispatcher).run("a"))
        for (let s = 0; s < 400 && memory.log.delivered.length < messages.length; s++)
          yield* TestClock.adjust("1 second")
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.interrupt(running)
        assert.deepStrictEqual(
          lines.filter((l) => l.includes("too little of their lease")),
          [],
          "no message skipped for want of lease"
        )
        assert.strictEqual(new Set(memory.log.delivered.map((r) => r.messageId)).size, messages.length)
        assert.lengthOf(memory.log.delivered, messages.length, "each once")
        // 200 messages, 8 at a time, 9 s each: 225 s when no send ever waits.
        const sent = yield* Effect.forEach(messages, (m) =>
          Effect.map(outbox.find(m.id), (t) => Option.getOrThrow(t).delivery.sentAt)
        )
        const last = Math.max(...sent.map((at) => (at === null ? Number.POSITIVE_INFINITY : at.epochMillis)))
        assert.isAtMost(
          last - start.epochMillis,
          240_000,
          "sent with no message waiting for an expired lease"
        )
      }).pipe(Effect.provide(layer), logged)
    },
    // 400 steps of the test clock over 200 sends: about 2 s alone, more on a busy machine.
    30_000
  )

  /** Services over memory ports whose outbox fails `failures` writes of results (`Infinity`: every one). */
  const failingSettles = (failures: number) => {
    const memory = SmsSender.makeMemory({})
    const state = { left: failures }
    const failed = () =>
      Effect.fail(new Errors.InfrastructureError({ port: "Outbox", message: "connection reset" }))
    const layer = layerWith(memory.sender, {}, (ports) => {
      const outbox = Context.get(ports, Persistence.Outbox)
      return Context.add(ports, Persistence.Outbox, {
        ...outbox,
        settle: (id, owner, settlement) =>
          state.left-- > 0 ? failed() : outbox.settle(id, owner, settlement),
        settleMany: (owner, entries) => (state.left-- > 0 ? failed() : outbox.settleMany!(owner, entries))
      })
    })
    return { memory, layer }
  }

  it.effect(
    "R64: a result whose write fails is written again while the claim's lease holds: the message reaches the phone once and is recorded sent",
    () => {
      const { memory, layer } = failingSettles(3)
      const { lines, logged } = capturingLogs()
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        const m = message("+8613612345678", start)
        yield* outbox.enqueue([m])
        const round = yield* Effect.fork(dispatcher.dispatchOnce("a"))
        yield* TestClock.adjust("2 seconds")
        assert.deepStrictEqual(yield* Fiber.join(round), {
          claimed: 1,
          sent: 1,
          retried: 0,
          dead: 0,
          lost: 0
        })
        const tracked = Option.getOrThrow(yield* outbox.find(m.id)).delivery
        assert.deepStrictEqual([tracked.status, tracked.attempts], ["sent", 1])
        yield* TestClock.adjust("61 seconds")
        assert.strictEqual((yield* dispatcher.dispatchOnce("b")).claimed, 0, "nothing left to claim")
        assert.strictEqual(memory.log.delivered.length, 1)
        assert.strictEqual(lines.filter((l) => l.includes("sms result not recorded; trying again")).length, 3)
        assert.isFalse(
          lines.some((l) => l.includes("13612345678")),
          "the phone only masked"
        )
      }).pipe(Effect.provide(layer), logged)
    }
  )

  it.effect(
    "R64: a result that cannot be written before the lease expires is logged as an error, phone masked, and the message is sent again once the lease has passed",
    () => {
      const { memory, layer } = failingSettles(Number.POSITIVE_INFINITY)
      const { lines, logged } = capturingLogs()
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        yield* outbox.enqueue([message("+8613612345679", start)])
        const round = yield* Effect.fork(dispatcher.dispatchOnce("a"))
        yield* TestClock.adjust("61 seconds")
        assert.strictEqual((yield* Fiber.join(round)).lost, 1)
        const errors = lines.filter((l) => l.includes("sms result not recorded before its lease expired"))
        assert.strictEqual(errors.length, 1)
        assert.isTrue(errors[0]!.includes("136****5679"))
        assert.isFalse(
          lines.some((l) => l.includes("13612345679")),
          "the phone only masked"
        )
        assert.strictEqual(memory.log.delivered.length, 1)
        const again = yield* Effect.fork(dispatcher.dispatchOnce("b"))
        yield* TestClock.adjust("61 seconds")
        assert.strictEqual((yield* Fiber.join(again)).claimed, 1, "claimed again once the lease passed")
        assert.strictEqual(memory.log.delivered.length, 2)
        const d = Option.getOrThrow(yield* outbox.find((yield* outbox.list({ limit: 1 }))[0]!.id)).delivery
        assert.isAtLeast(
          d.unknownOutcomes,
          1,
          "the first attempt, whose result was never written, counted as unknown"
        )
      }).pipe(Effect.provide(layer), logged)
    }
  )

  it.effect(
    "R64: messages of a batch whose turn comes with too little of their lease left are not sent but given back (due at once, no attempt counted), and a warning says so; the next round sends them",
    () => {
      const { memory, layer } = setup(
        { delay: "600 millis" },
        outboxSettings({ batchSize: 4, sendConcurrency: 1, leaseMillis: 3_000, sendTimeoutMillis: 1_000 })
      )
      const { lines, logged } = capturingLogs()
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        yield* outbox.enqueue(Array.from({ length: 4 }, (_, i) => message(`+861391234560${i}`, start)))
        const round = yield* Effect.fork(dispatcher.dispatchOnce("a"))
        yield* TestClock.adjust("3 seconds")
        const first = yield* Fiber.join(round)
        // sends of 600 ms one at a time: the third would start with 1.8 s of its 3 s lease left, under two send timeouts
        assert.deepStrictEqual([first.claimed, first.sent], [4, 2])
        const warnings = lines.filter((l) => l.includes("too little of their lease was left"))
        assert.strictEqual(warnings.length, 1)
        assert.include(warnings[0]!, '"skipped":2')
        const given = (yield* outbox.list({ limit: 10 })).slice(2)
        for (const m of given) {
          const d = Option.getOrThrow(yield* outbox.find(m.id)).delivery
          assert.deepStrictEqual(
            [d.status, d.leaseOwner, d.attempts, d.unknownOutcomes],
            ["pending", null, 0, 0]
          )
          assert.deepStrictEqual(
            [d.lastError, d.lastCode],
            ["not sent yet: released unsent by its dispatcher", "dispatcher.released"],
            "why, for people and for machines"
          )
          assert.isTrue(DateTime.lessThanOrEqualTo(d.nextAttemptAt, yield* DateTime.now), "due at once")
        }
        const later = yield* Effect.fork(dispatcher.dispatchOnce("b"))
        yield* TestClock.adjust("2 seconds")
        const second = yield* Fiber.join(later)
        assert.deepStrictEqual(
          [second.claimed, second.sent],
          [2, 2],
          "claimed before their first lease would have passed"
        )
        assert.strictEqual(memory.log.delivered.length, 4)
        assert.strictEqual(new Set(memory.log.delivered.map((r) => r.messageId)).size, 4)
        for (const m of given) {
          const d = Option.getOrThrow(yield* outbox.find(m.id)).delivery
          assert.deepStrictEqual(
            [d.status, d.attempts, d.unknownOutcomes],
            ["sent", 1, 0],
            "one attempt, known"
          )
        }
      }).pipe(Effect.provide(layer), logged)
    }
  )

  it.effect(
    "R64: a message whose dispatcher died holding it (its lease expired unreleased) is sent again, that attempt counted as an unknown outcome",
    () => {
      const { memory, layer } = setup({})
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        const m = message("+8613912345671", start)
        yield* outbox.enqueue([m])
        // A dispatcher claims it and dies before it records anything.
        const settings = yield* Settings.Settings
        yield* outbox.claim({
          owner: "died",
          now: start,
          leaseMillis: settings.outbox.leaseMillis,
          limit: 10
        })
        yield* TestClock.adjust(Duration.millis(settings.outbox.leaseMillis + 1))
        const round = yield* dispatcher.dispatchOnce("b")
        assert.deepStrictEqual([round.claimed, round.sent], [1, 1])
        assert.strictEqual(memory.log.delivered.length, 1)
        const d = Option.getOrThrow(yield* outbox.find(m.id)).delivery
        assert.deepStrictEqual([d.status, d.attempts, d.unknownOutcomes], ["sent", 2, 1])
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: a message claimed with its attempts at maxAttempts (counted by the claims that took over its dead dispatchers' leases) is given up unsent: dead, no attempt added",
    () => {
      const { memory, layer } = setup({}, outboxSettings({ maxAttempts: 2 }))
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        const settings = yield* Settings.Settings
        const m = message("+8613912345672", start)
        yield* outbox.enqueue([m])
        for (const owner of ["died-1", "died-2"]) {
          yield* outbox.claim({
            owner,
            now: yield* DateTime.now,
            leaseMillis: settings.outbox.leaseMillis,
            limit: 10
          })
          yield* TestClock.adjust(Duration.millis(settings.outbox.leaseMillis + 1))
        }
        const round = yield* dispatcher.dispatchOnce("b")
        assert.deepStrictEqual([round.claimed, round.dead, round.sent], [1, 1, 0])
        assert.lengthOf(memory.log.requests, 0, "not sent a third time")
        const d = Option.getOrThrow(yield* outbox.find(m.id)).delivery
        assert.deepStrictEqual([d.status, d.attempts, d.unknownOutcomes, d.leaseOwner], ["dead", 2, 2, null])
        assert.match(d.lastError ?? "", /given up unsent: 2 attempts/)
        assert.strictEqual(d.lastCode, "dispatcher.given_up", "its code for machines")
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: a dispatcher stopped while its claim is under way stops at once, and the claim gives the claimed messages back when it answers: due at once, no attempt counted",
    () => {
      const memory = SmsSender.makeMemory({})
      const layer = layerWith(memory.sender, {}, (ports) => {
        const outbox = Context.get(ports, Persistence.Outbox)
        return Context.add(ports, Persistence.Outbox, {
          ...outbox,
          claim: (options) => Effect.zipLeft(outbox.claim(options), Effect.sleep("50 millis"))
        })
      })
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        yield* outbox.enqueue([message("+8613912345673", start), message("+8613912345674", start)])
        const running = yield* Effect.fork(dispatcher.dispatchOnce("a"))
        yield* TestClock.adjust("10 millis")
        const stopping = yield* Effect.fork(Fiber.interrupt(running))
        yield* TestClock.adjust("1 millis")
        assert.isNotNull(stopping.unsafePoll(), "the stop does not wait for the claim")
        yield* TestClock.adjust("100 millis")
        assert.lengthOf(memory.log.requests, 0, "nothing sent")
        const states = yield* deliveryStates
        assert.deepStrictEqual(states, [
          ["pending", null, 0, 0],
          ["pending", null, 0, 0]
        ])
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: a dispatcher stopped while it starts a batch gives back the messages it did not start: due at once, no attempt counted",
    () => {
      const { memory, layer } = setup(
        { delay: "600 millis" },
        outboxSettings({ batchSize: 4, sendConcurrency: 1, leaseMillis: 30_000, sendTimeoutMillis: 1_000 })
      )
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        yield* outbox.enqueue(Array.from({ length: 4 }, (_, i) => message(`+861391234561${i}`, start)))
        const round = yield* Effect.fork(dispatcher.dispatchOnce("a"))
        yield* TestClock.adjust("100 millis")
        yield* Fiber.interrupt(round)
        yield* TestClock.adjust("1 second")
        assert.strictEqual(memory.log.delivered.length, 1, "the send already started finished")
        const states = yield* deliveryStates
        assert.deepStrictEqual(states, [
          ["sent", null, 1, 0],
          ["pending", null, 0, 0],
          ["pending", null, 0, 0],
          ["pending", null, 0, 0]
        ])
        const next = yield* Effect.fork(dispatcher.dispatchOnce("b"))
        yield* TestClock.adjust("3 seconds")
        assert.strictEqual((yield* Fiber.join(next)).sent, 3, "claimable at once, not after the lease")
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: throttling is retried with exponential backoff and jitter, then dead-lettered after the limit",
    () => {
      const { memory, layer } = setup(
        { failShare: 1 },
        outboxSettings({ maxAttempts: 4, backoffBaseMillis: 1000, backoffMaxMillis: 60_000 })
      )
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        const m = message("+8613912345679", start)
        yield* outbox.enqueue([m])
        const delays: Array<number> = []
        for (let attempt = 1; attempt <= 3; attempt++) {
          const round = yield* dispatcher.dispatchOnce("a")
          assert.strictEqual(round.retried, 1, `attempt ${attempt}: ${JSON.stringify(round)}`)
          const d = Option.getOrThrow(yield* outbox.find(m.id)).delivery
          const now = yield* DateTime.now
          const delay = DateTime.toEpochMillis(d.nextAttemptAt) - DateTime.toEpochMillis(now)
          const ceiling = 1000 * 2 ** (attempt - 1)
          assert.isAtLeast(delay, ceiling / 2)
          assert.isAtMost(delay, ceiling)
          delays.push(delay)
          assert.strictEqual((yield* dispatcher.dispatchOnce("a")).claimed, 0, "not due before its backoff")
          yield* TestClock.adjust(Duration.millis(delay))
        }
        const last = yield* dispatcher.dispatchOnce("a")
        assert.strictEqual(last.dead, 1)
        const dead = Option.getOrThrow(yield* outbox.find(m.id)).delivery
        assert.strictEqual(dead.status, "dead")
        assert.strictEqual(dead.attempts, 4)
        assert.match(dead.lastError ?? "", /RetryLater/)
        assert.strictEqual(memory.log.requests.length, 4)
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: a permanent failure is dead-lettered at once; an operator lists it masked (its de-duplication key too) and re-queues it",
    () => {
      const phone = "+8613812345678"
      const { memory, layer } = setup({ permanentPhones: [phone] })
      return Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        const notifications = yield* Notifications.Notifications
        const m = message(phone, start)
        yield* outbox.enqueue([m])
        assert.strictEqual((yield* dispatcher.dispatchOnce("a")).dead, 1)
        const page = yield* notifications.deadLetters(world.operator, {})
        assert.strictEqual(page.items.length, 1)
        assert.strictEqual(page.items[0]!.message.recipientPhone, "138****5678")
        assert.notInclude(
          JSON.stringify(page.items),
          "13812345678",
          "the full number is in the dead-letter list"
        )
        assert.strictEqual(page.items[0]!.message.dedupeKey, m.dedupeKey.replace(phone, "138****5678"))
        yield* expectError(notifications.deadLetters(world.enterprise.account, {}), "Denied", "R64")
        yield* expectError(
          notifications.requeue(world.enterprise.account, { messageId: m.id }),
          "Denied",
          "R64"
        )
        memory.log.behaviour = {}
        yield* notifications.requeue(world.operator, { messageId: m.id })
        yield* expectError(notifications.requeue(world.operator, { messageId: m.id }), "InvalidState", "R64")
        yield* expectError(
          notifications.requeue(world.operator, { messageId: "no-such-message" }),
          "NotFound",
          "R5"
        )
        assert.strictEqual((yield* dispatcher.dispatchOnce("a")).sent, 1)
        assert.strictEqual((yield* notifications.deadLetters(world.operator, {})).items.length, 0)
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64, R60: an operator re-queues the dead letters a page at a time, oldest first, each audited; a walk to the end takes each once, though they die again",
    () => {
      const phones = [
        "+8613812345601",
        "+8613812345602",
        "+8613812345603",
        "+8613812345604",
        "+8613812345605"
      ]
      const { memory, layer } = setup({ permanentPhones: phones })
      return Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        const dispatcher = yield* Dispatcher.Dispatcher
        const notifications = yield* Notifications.Notifications
        const messages = yield* enqueuedApart(phones)
        assert.strictEqual((yield* dispatcher.dispatchOnce("a")).dead, 5)
        const requeued = () => requeuedIds(world.operator)
        const deadIds = Effect.map(notifications.deadLetters(world.operator, {}), (p) =>
          p.items.map((t) => t.message.id)
        )
        yield* expectError(notifications.requeueDead(world.enterprise.account, {}), "Denied", "R64")
        yield* expectError(
          notifications.requeueDead(world.operator, { limit: 0 }),
          "InvalidInput",
          "R64",
          "limit"
        )
        yield* expectError(
          notifications.requeueDead(world.operator, { limit: 101 }),
          "InvalidInput",
          "R64",
          "limit"
        )
        yield* expectError(
          notifications.requeueDead(world.operator, { cursor: "not-a-cursor" }),
          "InvalidInput",
          "§9",
          "cursor"
        )
        assert.deepStrictEqual(yield* requeued(), [], "a refused re-queue audits nothing")
        assert.lengthOf(yield* deadIds, 5, "and changes nothing")

        // A walk page by page while the provider still refuses: each page's letters die
        // again before the next page, and the walk still takes each letter once.
        const pages: Array<ReadonlyArray<string>> = []
        let cursor: string | undefined
        do {
          const page = yield* notifications.requeueDead(world.operator, { limit: 2, cursor })
          pages.push(page.items)
          cursor = page.nextCursor ?? undefined
          assert.strictEqual((yield* dispatcher.dispatchOnce("a")).dead, page.items.length, "dead again")
        } while (cursor !== undefined && pages.length < 10)
        assert.deepStrictEqual(
          pages,
          [[messages[0]!.id, messages[1]!.id], [messages[2]!.id, messages[3]!.id], [messages[4]!.id]],
          "oldest first, two at a time, to the end"
        )
        assert.sameMembers(
          yield* requeued(),
          messages.map((m) => m.id),
          "each re-queue audited once"
        )

        memory.log.behaviour = {}
        const all = yield* notifications.requeueDead(world.operator, {})
        assert.deepStrictEqual(all, { items: messages.map((m) => m.id), nextCursor: null })
        assert.deepStrictEqual(yield* deadIds, [])
        assert.deepStrictEqual(yield* notifications.requeueDead(world.operator, {}), {
          items: [],
          nextCursor: null
        })
        memory.log.behaviour = {}
        assert.strictEqual((yield* dispatcher.dispatchOnce("a")).sent, 5, "due at once with fresh attempts")
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: a dead letter keeps its sender's code (lastCode); an operator lists and re-queues the dead letters of one code, and no other",
    () => {
      const balance = "isv.AMOUNT_NOT_ENOUGH"
      const broke = ["+8613812345611", "+8613812345612"]
      const wrong = ["+8613812345621", "+8613812345622"]
      const mute = "+8613812345631"
      const state = { topUp: false }
      const sender = SmsSender.SmsSender.of({
        send: (request) =>
          Effect.succeed(
            broke.includes(request.phone) && !state.topUp
              ? SmsSender.SendResult.Configuration({ reason: "账户余额不足", code: balance })
              : wrong.includes(request.phone)
                ? SmsSender.SendResult.Permanent({ reason: "号码不存在", code: "isv.MOBILE_NUMBER_ILLEGAL" })
                : request.phone === mute
                  ? SmsSender.SendResult.Permanent({ reason: "拒收" })
                  : SmsSender.SendResult.Sent({ providerMessageId: `p-${request.messageId}` })
          )
      })
      const layer = layerWith(sender, outboxSettings({ maxAttempts: 1 }))
      return Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        const notifications = yield* Notifications.Notifications
        const messages = yield* enqueuedApart([broke[0]!, wrong[0]!, mute, broke[1]!, wrong[1]!])
        const [b1, w1, m1, b2, w2] = messages.map((m) => m.id) as [
          Ids.OutboxMessageId,
          Ids.OutboxMessageId,
          Ids.OutboxMessageId,
          Ids.OutboxMessageId,
          Ids.OutboxMessageId
        ]
        assert.strictEqual((yield* dispatcher.dispatchOnce("a")).dead, 5)
        const listed = (code?: string) =>
          Effect.map(notifications.deadLetters(world.operator, code === undefined ? {} : { code }), (p) =>
            p.items.map((t) => [t.message.id, t.delivery.lastCode, t.delivery.lastError])
          )
        assert.deepStrictEqual(yield* listed(balance), [
          [b1, balance, "Configuration: 账户余额不足"],
          [b2, balance, "Configuration: 账户余额不足"]
        ])
        assert.deepStrictEqual(
          yield* listed(),
          [
            [b1, balance, "Configuration: 账户余额不足"],
            [w1, "isv.MOBILE_NUMBER_ILLEGAL", "Permanent: 号码不存在"],
            [m1, null, "Permanent: 拒收"],
            [b2, balance, "Configuration: 账户余额不足"],
            [w2, "isv.MOBILE_NUMBER_ILLEGAL", "Permanent: 号码不存在"]
          ],
          "without a code, all of them, each with its code or none"
        )
        assert.deepStrictEqual(
          yield* listed(` ${balance} `),
          yield* listed(balance),
          "the code is trimmed, as every filter"
        )
        yield* expectError(
          notifications.deadLetters(world.operator, { code: " " }),
          "InvalidInput",
          "R64",
          "code"
        )
        yield* expectError(
          notifications.requeueDead(world.operator, { code: "x".repeat(129) }),
          "InvalidInput",
          "R64",
          "code"
        )

        const page = yield* notifications.requeueDead(world.operator, { code: balance, limit: 1 })
        assert.deepStrictEqual(page.items, [b1], "the oldest of the code first")
        const rest = yield* notifications.requeueDead(world.operator, {
          code: balance,
          cursor: page.nextCursor ?? undefined
        })
        assert.deepStrictEqual(
          rest,
          { items: [b2], nextCursor: null },
          "then the rest of the code, to the end"
        )
        assert.deepStrictEqual(
          (yield* listed()).map(([id]) => id),
          [w1, m1, w2],
          "the letters of other codes, or of none, stay dead"
        )
        assert.sameMembers(yield* requeuedIds(world.operator), [b1, b2], "each re-queue audited (R60)")
        state.topUp = true
        const round = yield* dispatcher.dispatchOnce("a")
        assert.deepStrictEqual([round.claimed, round.sent], [2, 2], "the balance topped up, both are sent")
        const sent = Option.getOrThrow(yield* outbox.find(b1)).delivery
        assert.deepStrictEqual([sent.status, sent.lastError, sent.lastCode], ["sent", null, null])
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: the outbox summary, for operators only: messages waiting and due, and the dead letters by code, the most first, then by code, those without a code last",
    () => {
      // Ties of two: a code with a lower-case letter, one with an upper-case (code-point
      // order puts "C" before "b", where a locale's would not), and no code at all.
      const codes: Record<string, string | undefined> = {
        "+8613812345651": undefined,
        "+8613812345652": "isv.b",
        "+8613812345653": undefined,
        "+8613812345654": "isv.C",
        "+8613812345655": "isv.b",
        "+8613812345656": "isv.BLACK_KEY_CONTROL_LIMIT",
        "+8613812345657": "isv.BLACK_KEY_CONTROL_LIMIT",
        "+8613812345658": "isv.BLACK_KEY_CONTROL_LIMIT",
        "+8613812345660": "isv.C"
      }
      const sender = SmsSender.SmsSender.of({
        send: (request) =>
          Effect.succeed(SmsSender.SendResult.Permanent({ reason: "拒绝", code: codes[request.phone] }))
      })
      const layer = layerWith(sender)
      return Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        const outbox = yield* Persistence.Outbox
        const notifications = yield* Notifications.Notifications
        yield* outbox.enqueue(Object.keys(codes).map((phone) => message(phone, start)))
        const later = message("+8613812345659", DateTime.add(start, { hours: 1 }))
        yield* outbox.enqueue([later])
        yield* at(DateTime.add(start, { minutes: 1 }))
        assert.deepStrictEqual(yield* notifications.summary(world.operator, {}), {
          pending: 10,
          due: 9,
          oldestDueAt: start,
          dead: 0,
          deadByCode: []
        })
        yield* expectError(notifications.summary(world.enterprise.account, {}), "Denied", "R64")
        yield* expectError(notifications.summary(null, {}), "Denied", "R5")
        assert.strictEqual((yield* (yield* Dispatcher.Dispatcher).dispatchOnce("a")).dead, 9)
        assert.deepStrictEqual(yield* notifications.summary(world.operator, {}), {
          pending: 1,
          due: 0,
          oldestDueAt: null,
          dead: 9,
          deadByCode: [
            { code: "isv.BLACK_KEY_CONTROL_LIMIT", count: 3 },
            { code: "isv.C", count: 2 },
            { code: "isv.b", count: 2 },
            { code: null, count: 2 }
          ]
        })
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: an outbox that ignores listDead's code would have every dead letter re-queued: core refuses its answer, and nothing is re-queued",
    () => {
      const layer = layerWith(
        SmsSender.makeMemory({ permanentPhones: ["+8613812345641", "+8613812345642"] }).sender,
        {},
        (ports) => {
          const outbox = Context.get(ports, Persistence.Outbox)
          return Context.add(ports, Persistence.Outbox, {
            ...outbox,
            listDead: (query) => outbox.listDead({ after: query.after, limit: query.limit })
          })
        }
      )
      return Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        const outbox = yield* Persistence.Outbox
        const notifications = yield* Notifications.Notifications
        yield* outbox.enqueue([message("+8613812345641", start), message("+8613812345642", start)])
        assert.strictEqual((yield* (yield* Dispatcher.Dispatcher).dispatchOnce("a")).dead, 2)
        assert.lengthOf((yield* notifications.deadLetters(world.operator, {})).items, 2)
        const refused = yield* Effect.flip(
          notifications.requeueDead(world.operator, { code: "isv.AMOUNT_NOT_ENOUGH" })
        )
        assert.strictEqual(refused._tag, "InfrastructureError")
        assert.match(refused.message, /another code/)
        const listed = yield* Effect.flip(
          notifications.deadLetters(world.operator, { code: "isv.AMOUNT_NOT_ENOUGH" })
        )
        assert.strictEqual(listed._tag, "InfrastructureError", "the list is refused too")
        assert.lengthOf(
          (yield* notifications.deadLetters(world.operator, {})).items,
          2,
          "both still dead: nothing re-queued"
        )
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: a claim whose holder died is reclaimed when its lease expires; the old holder cannot settle",
    () => {
      const { layer } = setup({}, outboxSettings({ leaseMillis: 5000, sendTimeoutMillis: 1000 }))
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const m = message("+8613912340000", start)
        yield* outbox.enqueue([m])
        const now = yield* DateTime.now
        const first = yield* outbox.claim({ owner: "dead-holder", now, leaseMillis: 5000, limit: 10 })
        assert.strictEqual(first.length, 1)
        assert.strictEqual((yield* outbox.claim({ owner: "b", now, leaseMillis: 5000, limit: 10 })).length, 0)
        yield* TestClock.adjust("5 seconds")
        const dispatcher = yield* Dispatcher.Dispatcher
        assert.strictEqual((yield* dispatcher.dispatchOnce("b")).sent, 1)
        const late = yield* outbox.settle(m.id, "dead-holder", {
          _tag: "Dead",
          at: yield* DateTime.now,
          unknownOutcome: false,
          error: "late"
        })
        assert.isFalse(late)
        const d = Option.getOrThrow(yield* outbox.find(m.id)).delivery
        assert.strictEqual(d.status, "sent")
        assert.strictEqual(d.attempts, 2, "the late holder's attempt is counted")
        assert.strictEqual(d.unknownOutcomes, 1, "and its outcome counts as unknown")
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: a send with no answer within the timeout is an unknown outcome and is retried, logged as a warning with the number masked",
    () => {
      const { memory, layer } = setup(
        { timeoutShare: 1 },
        outboxSettings({ sendTimeoutMillis: 1000, leaseMillis: 60_000, backoffBaseMillis: 500 })
      )
      const { lines, logged } = capturingLogs()
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const m = message("+8613912341111", start)
        yield* outbox.enqueue([m])
        const fiber = yield* Effect.fork((yield* Dispatcher.Dispatcher).dispatchOnce("a"))
        yield* TestClock.adjust("999 millis")
        assert.isNull(fiber.unsafePoll(), "still waiting before the timeout")
        yield* TestClock.adjust("2 seconds")
        const round = yield* Fiber.join(fiber)
        assert.strictEqual(round.retried, 1)
        const d = Option.getOrThrow(yield* outbox.find(m.id)).delivery
        assert.strictEqual(d.status, "pending")
        assert.strictEqual(d.unknownOutcomes, 1)
        assert.match(d.lastError ?? "", /Unknown: no answer within 1000 ms/)
        assert.strictEqual(d.lastCode, "dispatcher.timeout", "the delivery keeps the code")
        assert.strictEqual(memory.log.requests.length, 1)
        const cut = lines.filter((line) => line.includes("cut by the dispatcher's timeout"))
        assert.lengthOf(cut, 1)
        assert.include(cut[0], `"messageId":"${m.id}"`)
        assert.include(cut[0], '"result":"Unknown"')
        assert.include(cut[0], '"reason":"no answer within 1000 ms"')
        assert.include(cut[0], '"code":"dispatcher.timeout"')
        assert.include(cut[0], "139****1111")
        assert.notInclude(cut[0], "13912341111")
      }).pipe(Effect.provide(layer), logged)
    }
  )

  it.effect(
    "R64: a send whose sender dies is an unknown outcome and is retried; the defect is logged as an error, the number masked in it",
    () => {
      const dying = SmsSender.SmsSender.of({
        send: (request) => Effect.dieMessage(`a bug in the sender, sending to ${request.phone}`)
      })
      const layer = layerWith(dying, outboxSettings({ leaseMillis: 60_000, backoffBaseMillis: 500 }))
      const { lines, logged } = capturingLogs()
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const m = message("+8613912342222", start)
        yield* outbox.enqueue([m])
        const round = yield* (yield* Dispatcher.Dispatcher).dispatchOnce("a")
        assert.strictEqual(round.retried, 1)
        const d = Option.getOrThrow(yield* outbox.find(m.id)).delivery
        assert.strictEqual(d.status, "pending")
        assert.strictEqual(d.unknownOutcomes, 1)
        assert.match(d.lastError ?? "", /^Unknown: the sender failed unexpectedly/)
        assert.strictEqual(d.lastCode, "sender.defect", "the delivery keeps the code")
        const died = lines.filter((line) => line.includes("sms sender failed unexpectedly"))
        assert.lengthOf(died, 1)
        assert.include(died[0], "a bug in the sender")
        assert.include(died[0], '"code":"sender.defect"')
        assert.include(died[0], "139****2222")
        assert.notInclude(died[0], "13912342222")
        assert.lengthOf(
          lines.filter((line) => line.includes("cut by the dispatcher's timeout")),
          0,
          "not logged as a timeout"
        )
      }).pipe(Effect.provide(layer), logged)
    }
  )

  it.effect("R64: two dispatchers claiming at once never hold the same message", () => {
    const { layer } = setup({})
    return Effect.gen(function* () {
      yield* at(start)
      const outbox = yield* Persistence.Outbox
      yield* outbox.enqueue(
        Array.from({ length: 300 }, (_, i) => message(`+86139000${String(i).padStart(5, "0")}`, start))
      )
      const now = yield* DateTime.now
      const claims = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) =>
          outbox.claim({ owner: `d${i}`, now, leaseMillis: 60_000, limit: 50 })
        ),
        { concurrency: "unbounded" }
      )
      const ids = claims.flat().map((t) => t.message.id)
      assert.strictEqual(ids.length, 300)
      assert.strictEqual(new Set(ids).size, 300)
    }).pipe(Effect.provide(layer))
  })

  it.effect(
    "R64: a provider's error quoting the number is masked in log lines and in the dead-letter list",
    () => {
      const phone = "+8613712345678"
      const quoting = SmsSender.SmsSender.of({
        send: (r) =>
          Effect.succeed(
            SmsSender.SendResult.Permanent({
              reason: `invalid number ${r.phone} (national ${r.phone.slice(3)})`
            })
          )
      })
      const layer = layerWith(quoting)
      const { lines, logged } = capturingLogs()
      return Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        yield* (yield* Persistence.Outbox).enqueue([message(phone, start)])
        assert.strictEqual((yield* (yield* Dispatcher.Dispatcher).dispatchOnce("a")).dead, 1)
        const dead = yield* (yield* Notifications.Notifications).deadLetters(world.operator, {})
        const text = lines.join("\n")
        assert.include(text, "invalid number 137****5678 (national 137****5678)")
        assert.notInclude(text, "13712345678")
        assert.include(dead.items[0]!.delivery.lastError ?? "", "137****5678")
        assert.notInclude(JSON.stringify(dead.items), "13712345678")
      }).pipe(Effect.provide(layer), logged)
    }
  )

  it.effect(
    "R64: interrupting a running dispatcher ends it only once the sends it started are recorded: none is left sent but not recorded",
    () => {
      const called = Deferred.unsafeMake<void>(FiberId.none)
      const gate = Deferred.unsafeMake<void>(FiberId.none)
      const sender: SmsSender.SmsSender["Type"] = {
        send: () =>
          Effect.zipRight(
            Effect.zipRight(Deferred.succeed(called, undefined), Deferred.await(gate)),
            Effect.succeed(SmsSender.SendResult.Sent({ providerMessageId: "p-1" }))
          )
      }
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const m = message("+8613912345678", start)
        yield* outbox.enqueue([m])
        const running = yield* Effect.fork((yield* Dispatcher.Dispatcher).run("a"))
        yield* Deferred.await(called)
        const stopping = yield* Effect.fork(Fiber.interrupt(running))
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
        assert.isNull(stopping.unsafePoll(), "the dispatcher waits for its send")
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(stopping)
        const found = Option.getOrThrow(yield* outbox.find(m.id))
        assert.strictEqual(found.delivery.status, "sent", "recorded before the dispatcher ended")
        assert.strictEqual(found.delivery.providerMessageId, "p-1")
      }).pipe(Effect.provide(layerWith(sender)))
    }
  )

  it.effect(
    "R64: an outbox that cannot be read (database away) does not stop the dispatcher: it resumes within ten seconds of the database's return",
    () => {
      const memory = SmsSender.makeMemory({})
      const outage = { claims: 8 }
      const flaky = <C>(ports: Context.Context<C>): Context.Context<C> => {
        const full = ports as Context.Context<Persistence.Outbox>
        const outbox = Context.get(full, Persistence.Outbox)
        return full.pipe(
          Context.add(Persistence.Outbox, {
            ...outbox,
            claim: (q) =>
              outage.claims-- > 0
                ? Effect.fail(
                    new Errors.InfrastructureError({ port: "Outbox", message: "connection terminated" })
                  )
                : outbox.claim(q)
          })
        ) as Context.Context<C>
      }
      const layer = layerWith(memory.sender, {}, flaky)
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const m = message("+8613912345678", start)
        yield* outbox.enqueue([m])
        const fiber = yield* Effect.fork((yield* Dispatcher.Dispatcher).run("a"))
        // Retried after 1, 2, 4, 8 s, then ten seconds apart: the ninth claim comes 55 s in.
        for (let i = 0; i < 55 && outage.claims >= 0; i++) yield* TestClock.adjust("1 second")
        assert.isBelow(outage.claims, 0, "every failing claim was made, and the next one, within 55 s")
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual(fiber.unsafePoll(), null, "the dispatcher still runs")
        assert.strictEqual(Option.getOrThrow(yield* outbox.find(m.id)).delivery.status, "sent")
        assert.lengthOf(memory.log.delivered, 1)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect(
    "R64: a defect in a round (an adapter's bug) does not stop the dispatcher: it is logged and the next round sends",
    () => {
      const memory = SmsSender.makeMemory({})
      const broken = { claims: 2 }
      const layer = layerWith(memory.sender, {}, (ports) => {
        const outbox = Context.get(ports, Persistence.Outbox)
        return Context.add(ports, Persistence.Outbox, {
          ...outbox,
          claim: (q) => (broken.claims-- > 0 ? Effect.dieMessage("a bug in claim") : outbox.claim(q))
        })
      })
      const { lines, logged } = capturingLogs()
      return Effect.gen(function* () {
        yield* at(start)
        const outbox = yield* Persistence.Outbox
        const m = message("+8613912345670", start)
        yield* outbox.enqueue([m])
        const fiber = yield* Effect.fork((yield* Dispatcher.Dispatcher).run("a"))
        for (let i = 0; i < 5; i++) yield* TestClock.adjust("1 second")
        assert.strictEqual(fiber.unsafePoll(), null, "the dispatcher still runs")
        assert.strictEqual(lines.filter((l) => l.includes("a round died")).length, 2)
        assert.strictEqual(Option.getOrThrow(yield* outbox.find(m.id)).delivery.status, "sent")
        assert.lengthOf(memory.log.delivered, 1)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(layer), logged)
    }
  )

  it("R64: a masked number shows 3 and 4 digits as 138****5678 does, and of a shorter number no more than half", () => {
    assert.strictEqual(Member.maskPhone("+8613812345678"), "138****5678")
    assert.strictEqual(Member.maskPhone("+85291234567"), "852****4567")
    assert.strictEqual(Member.maskPhone("91234567"), "91****67")
    assert.strictEqual(Member.maskPhone("6123-4567"), "61****67")
    assert.strictEqual(Member.maskPhone("1234567"), "****")
    for (let n = 8; n <= 10; n++) {
      const digits = "1234567890123456".slice(0, n)
      const shown = Member.maskPhone(digits).replace("****", "").length
      assert.isAtMost(shown, n / 2, `${n} digits: ${Member.maskPhone(digits)}`)
    }
  })

  it.effect("R64: phone numbers appear in log lines only masked", () => {
    const phone = "+8613712345678"
    const { layer } = setup({})
    const { lines, logged } = capturingLogs()
    return Effect.gen(function* () {
      yield* at(start)
      const outbox = yield* Persistence.Outbox
      yield* outbox.enqueue([message(phone, start)])
      yield* (yield* Dispatcher.Dispatcher).dispatchOnce("a")
      assert.isAbove(lines.length, 0)
      assert.isTrue(lines.some((l) => l.includes("137****5678")))
      assert.isFalse(lines.some((l) => l.includes("13712345678")))
    }).pipe(Effect.provide(layer), logged)
  })

  it.live(
    "R64: 10,000 messages, 30% failures and dispatchers interrupted mid-batch → all sent, none twice unless an outcome was unknown",
    () => {
      const { memory, layer } = setup(
        { failShare: 0.3, timeoutShare: 0.005 },
        outboxSettings({
          batchSize: 100,
          sendConcurrency: 16,
          leaseMillis: 2000,
          sendTimeoutMillis: 30,
          maxAttempts: 100,
          backoffBaseMillis: 1,
          backoffMaxMillis: 20,
          idleMillis: 2
        })
      )
      return Effect.gen(function* () {
        const outbox = yield* Persistence.Outbox
        const dispatcher = yield* Dispatcher.Dispatcher
        const now = yield* DateTime.now
        const total = 10_000
        const messages = Array.from({ length: total }, (_, i) =>
          message(`+86139${String(10_000_000 + i).padStart(8, "0")}`, now)
        )
        yield* outbox.enqueue(messages)
        let generation = 0
        const spawn = () => Effect.forkDaemon(dispatcher.run(`d${generation++}`))
        const fibers = yield* Effect.all(Array.from({ length: 4 }, spawn))
        let interruptions = 0
        const deadline = Date.now() + 60_000
        let pending = total
        while (pending > 0 && Date.now() < deadline) {
          yield* Effect.sleep("2 millis")
          const victim = Math.floor((yield* Random.next) * fibers.length)
          yield* Fiber.interrupt(fibers[victim]!)
          interruptions += 1
          fibers[victim] = yield* spawn()
          if (interruptions % 50 === 0) {
            pending = 0
            for (const m of messages) {
              if (Option.getOrThrow(yield* outbox.find(m.id)).delivery.status !== "sent") pending += 1
            }
          }
        }
        yield* Effect.forEach(fibers, Fiber.interrupt)
        const delivered = new Map<string, number>()
        for (const r of memory.log.delivered)
          delivered.set(r.messageId, (delivered.get(r.messageId) ?? 0) + 1)
        const requested = new Map<string, number>()
        for (const r of memory.log.requests) requested.set(r.messageId, (requested.get(r.messageId) ?? 0) + 1)
        let twice = 0
        let unknown = 0
        for (const m of messages) {
          const d = Option.getOrThrow(yield* outbox.find(m.id)).delivery
          assert.strictEqual(d.status, "sent", `message ${m.id} not sent`)
          const times = delivered.get(m.id) ?? 0
          assert.isAtLeast(times, 1, `message ${m.id} never reached the phone`)
          assert.isAtMost(
            times,
            1 + d.unknownOutcomes,
            `message ${m.id} delivered twice without an unknown outcome`
          )
          assert.isAtLeast(requested.get(m.id) ?? 0, d.attempts)
          if (times > 1) twice += 1
          unknown += d.unknownOutcomes
        }
        assert.isAbove(interruptions, 0)
        assert.isAbove(memory.log.requests.length, total, "30% failures cause retries")
        console.log(
          `fault test: ${total} messages, ${memory.log.requests.length} sends, ${interruptions} interruptions, ${unknown} unknown outcomes, ${twice} delivered twice`
        )
      }).pipe(Effect.provide(layer))
    },
    120_000
  )
})
