/**
 * An `AliyunSms` sender against a fresh fake Aliyun (`FakeAliyun.ts`) for the scope:
 * the fake's credentials, no throttle windows, a 2-second timeout.
 */
import { AliyunSms, Transport } from "@zhongbao/adapter-sms"
import { Effect, Layer, Redacted } from "effect"
import { aliyun, keyId, secret } from "./FakeAliyun.js"
import * as Fake from "./FakeProvider.js"

/** The sender's options for the fake at `endpoint`, with `overrides`. */
export const options = (endpoint: string, overrides: Partial<AliyunSms.Options> = {}): AliyunSms.Options => ({
  accessKeyId: Redacted.make(keyId),
  accessKeySecret: Redacted.make(secret),
  signName: "众包平台",
  endpoint,
  timeout: "2 seconds",
  throttle: { windows: [] },
  ...overrides
})

/** A fake Aliyun started for the scope, and a sender to it over `transport`. */
export const setup = (
  overrides: Partial<AliyunSms.Options> = {},
  transport: Layer.Layer<Transport.Transport> = Transport.layerNode()
) =>
  Effect.gen(function* () {
    const fake = yield* Fake.start(aliyun())
    const built = yield* Layer.build(transport)
    const sender = yield* AliyunSms.make(options(fake.url, overrides)).pipe(Effect.provide(built))
    return { fake, sender }
  })
