import { assert, describe, it } from "@effect/vitest"
import { ConsoleSms, Throttle } from "@zhongbao/adapter-sms"
import { SmsSender } from "@zhongbao/core"
import { ConfigProvider, Context, Effect, Layer } from "effect"
import * as Logs from "./support/Logs.js"

const request = (phone: string): SmsSender.SmsRequest => ({
  messageId: "m-1",
  dedupeKey: "d-1",
  phone,
  templateId: "ZB_RESPONSE_ADOPTED",
  params: { number: "ZB20260001", title: "石墨烯储能材料" }
})

describe("ConsoleSms", () => {
  it.effect("R64: logs the masked number and the template id, never the parameters", () => {
    const logs = Logs.capture()
    return Effect.gen(function* () {
      const sender = yield* SmsSender.SmsSender
      assert.deepStrictEqual(
        yield* sender.send(request("+8613812345678")),
        SmsSender.SendResult.Sent({ providerMessageId: "console-1" })
      )
      assert.deepStrictEqual(
        yield* sender.send(request("13912345678")),
        SmsSender.SendResult.Sent({ providerMessageId: "console-2" })
      )
      assert.deepStrictEqual(
        yield* sender.send(request("12345")),
        SmsSender.SendResult.Permanent({
          reason: "开发用发送器：不是有效的电话号码",
          code: "sender.invalid_number"
        })
      )
      const english = yield* ConsoleSms.make("en")
      assert.deepStrictEqual(
        yield* english.send(request("12345")),
        SmsSender.SendResult.Permanent({
          reason: "console: not a valid phone number",
          code: "sender.invalid_number"
        })
      )
      const configured = yield* Effect.scoped(
        Effect.flatMap(
          Effect.map(Layer.build(ConsoleSms.layerConfig), Context.get(SmsSender.SmsSender)),
          (configured) => configured.send(request("12345"))
        )
      ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SMS_LANGUAGE", "en"]]))))
      assert.deepStrictEqual(
        configured,
        SmsSender.SendResult.Permanent({
          reason: "console: not a valid phone number",
          code: "sender.invalid_number"
        })
      )
      const text = logs.lines.join("\n")
      assert.include(text, "138****5678")
      assert.include(text, "ZB_RESPONSE_ADOPTED")
      for (const secret of ["13812345678", "13912345678", "12345", "ZB20260001", "石墨烯"])
        assert.notInclude(text, secret)
    }).pipe(Effect.provide(Layer.merge(ConsoleSms.layer, logs.layer)))
  })

  it.effect("R64: the console sender can be throttled like the others", () =>
    Effect.gen(function* () {
      const sender = yield* SmsSender.SmsSender
      assert.strictEqual((yield* sender.send(request("+8613812345678")))._tag, "Sent")
      assert.strictEqual((yield* sender.send(request("+8613812345678")))._tag, "RetryLater")
    }).pipe(Effect.provide(Throttle.layer().pipe(Layer.provide(ConsoleSms.layer))))
  )
})
