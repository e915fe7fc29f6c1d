/**
 * The senders under core's dispatcher: the composition the README shows.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConsoleSms, TencentSms, Throttle, Transport } from "@zhongbao/adapter-sms"
import { Dispatcher, type Ids, Persistence, PersistenceMemory, Settings, Zhongbao } from "@zhongbao/core"
import { ConfigProvider, DateTime, Effect, Layer, Option, TestClock } from "effect"
import * as Logs from "./support/Logs.js"

const message = (id: string, phone: string, now: DateTime.Utc) => ({
  id: id as Ids.OutboxMessageId,
  event: "response_adopted" as const,
  dedupeKey: `response_adopted:r-${id}:${phone}`,
  recipientPhone: phone,
  templateId: Settings.defaults.smsTemplates.response_adopted.templateId,
  params: { number: "ZB20260001", title: "石墨烯储能材料" },
  createdAt: now
})

describe("with core's dispatcher", () => {
  it.live(
    "R64: the dispatcher delivers through the console sender; invalid numbers are dead-lettered",
    () => {
      const logs = Logs.capture()
      const platform = Zhongbao.layerWorkers.pipe(
        Layer.provideMerge(
          Layer.mergeAll(PersistenceMemory.layerMemory, Settings.layerDefault, ConsoleSms.layer)
        )
      )
      return Effect.gen(function* () {
        const now = yield* DateTime.now
        const outbox = yield* Persistence.Outbox
        yield* outbox.enqueue([
          message("0190a000-0000-7000-8000-000000000001", "+8613812345678", now),
          message("0190a000-0000-7000-8000-000000000002", "+861234", now)
        ])
        const round = yield* (yield* Dispatcher.Dispatcher).dispatchOnce("test")
        assert.deepStrictEqual(round, { claimed: 2, sent: 1, retried: 0, dead: 1, lost: 0 })
        const text = logs.lines.join("\n")
        assert.include(text, "138****5678")
        assert.notInclude(text, "13812345678")
        assert.notInclude(text, "石墨烯")
      }).pipe(Effect.provide(Layer.merge(Layer.orDie(platform), logs.layer)))
    }
  )

  it.effect(
    "R64: a burst to one number waits for the throttle's windows and is all delivered: the throttle's refusals use up no attempts",
    () => {
      const logs = Logs.capture()
      const platform = Zhongbao.layerWorkers.pipe(
        Layer.provideMerge(
          Layer.mergeAll(
            PersistenceMemory.layerMemory,
            Settings.layerDefault,
            Throttle.layer().pipe(Layer.provide(ConsoleSms.layer))
          )
        )
      )
      return Effect.gen(function* () {
        const start = yield* DateTime.now
        const outbox = yield* Persistence.Outbox
        const burst = Array.from({ length: 12 }, (_, i) =>
          message(`0190a000-0000-7000-8000-0000000001${String(i).padStart(2, "0")}`, "+8613812345678", start)
        )
        yield* outbox.enqueue(burst)
        const dispatcher = yield* Dispatcher.Dispatcher
        // 48 hours in steps of 10 minutes: the defaults let 9 through per day.
        for (let step = 0; step < 6 * 48; step++) {
          yield* dispatcher.dispatchOnce("test")
          yield* TestClock.adjust("10 minutes")
        }
        const states = yield* Effect.forEach(burst, (m) => outbox.find(m.id))
        const delivered = states.map((s) => Option.getOrThrow(s).delivery)
        assert.deepStrictEqual(
          delivered.map((d) => d.status),
          burst.map(() => "sent"),
          "every message sent, none dead"
        )
        assert.isAtMost(Math.max(...delivered.map((d) => d.attempts)), 1, "one attempt each: the provider's")
      }).pipe(Effect.provide(Layer.merge(Layer.orDie(platform), logs.layer)))
    },
    // 288 dispatch rounds: seconds on a busy machine, beyond vitest's default 5 s.
    60_000
  )

  it("R64: a production composition type-checks: Tencent from Config, settings and a transport", () => {
    const sms = TencentSms.layerConfig().pipe(Layer.provide(Transport.layerNode()))
    const workers = Zhongbao.layerWorkers.pipe(
      Layer.provide(sms),
      Layer.provide(Layer.merge(PersistenceMemory.layerMemory, Settings.layerDefault))
    )
    const program = Layer.build(workers).pipe(
      Effect.scoped,
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
      Effect.either
    )
    return Effect.runPromise(program).then((result) => {
      // without TENCENT_SMS_* settings the layer fails with a ConfigError
      assert.strictEqual(result._tag, "Left")
    })
  })
})
