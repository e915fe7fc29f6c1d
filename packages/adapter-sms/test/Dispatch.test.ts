/**
 * The senders under core's dispatcher: the composition the README shows.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConsoleSms, TencentSms, Transport } from "@zhongbao/adapter-sms"
import { Dispatcher, type Ids, Persistence, PersistenceMemory, Settings, Zhongbao } from "@zhongbao/core"
import { ConfigProvider, DateTime, Effect, Layer } from "effect"
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
