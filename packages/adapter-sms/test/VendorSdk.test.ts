/**
 * The signers against the providers' own code. `Signer.test.ts` and the fake
 * providers check the signatures against our reading of the providers' documents;
 * a misreading shared by the signer and that reading would pass them and fail in
 * production. Here the same requests are signed by Alibaba Cloud's
 * `@alicloud/openapi-util` (`getAuthorization`, what its official SDKs sign with) and
 * Tencent Cloud's `tencentcloud-sdk-nodejs-common` (`Sign.sign3`), both
 * devDependencies run offline, and the two must agree byte for byte.
 */
import { assert, describe, it } from "@effect/vitest"
import * as AliyunUtilModule from "@alicloud/openapi-util"
import { AliyunSms, TencentSms } from "@zhongbao/adapter-sms"
import type { SmsSender } from "@zhongbao/core"
import { Effect, Redacted } from "effect"
import * as TencentSignModule from "tencentcloud-sdk-nodejs-common/tencentcloud/common/sign.js"
import { setup } from "./support/AliyunSender.js"
import { keyId, paramsOf, secret } from "./support/FakeAliyun.js"

/** A CommonJS module's class, whether the loader hands over `module.exports` or its `default`. */
const commonJs = <A>(module: unknown, has: string): A => {
  let value = module as { readonly default?: unknown }
  for (let depth = 0; depth < 3 && !(has in value); depth++)
    value = value.default as { readonly default?: unknown }
  return value as A
}

interface AliyunUtil {
  getAuthorization(
    request: {
      method: string
      pathname: string
      query: Record<string, string>
      headers: Record<string, string>
    },
    signatureAlgorithm: string,
    payload: string,
    accessKey: string,
    secret: string
  ): string
}
interface TencentSign {
  sign3(input: {
    method: string
    url: string
    payload: Buffer
    timestamp: number
    service: string
    secretId: string
    secretKey: string
    headers: Record<string, string>
  }): string
}
const aliyunUtil = commonJs<AliyunUtil>(AliyunUtilModule, "getAuthorization")
const tencentSign = commonJs<TencentSign>(TencentSignModule, "sign3")

/** Made-up credentials, the same for both signers of each provider. */
const aliyunKey = { id: "LTAI5tExampleKeyId", secret: "ExampleSecretForTests0123456789" }
const tencentKey = { id: "AKIDExampleSecretId0123456789", secret: "ExampleSecretKey0123456789abcd" }

/** Template parameters with what percent-encoding and JSON treat specially. */
const awkward: ReadonlyArray<Readonly<Record<string, string>>> = [
  { number: "ZB20260001", title: "石墨烯储能材料" },
  { title: "a b+c*d~e'f(g)h!i/j:k=l&m?n#o%p" },
  { title: '"引号" \\ 反斜杠 \n 换行 🚀 emoji' },
  { title: "" }
]

describe("AliyunSms.sign agrees with @alicloud/openapi-util", () => {
  for (const [i, params] of awkward.entries()) {
    it(`R64: SendSms ${i + 1} (${JSON.stringify(params).slice(0, 40)}): the same Authorization`, () => {
      const query = {
        PhoneNumbers: "13812345678",
        SignName: "众包平台",
        TemplateCode: "SMS_465000001",
        TemplateParam: JSON.stringify(params),
        OutId: `m-${i}`
      }
      const signed = AliyunSms.sign({
        method: "POST",
        host: "dysmsapi.aliyuncs.com",
        path: "/",
        query,
        body: "",
        action: "SendSms",
        version: "2017-05-25",
        date: "2026-12-04T08:00:00Z",
        nonce: `0123456789abcdef0123456789abcde${i}`,
        accessKeyId: Redacted.make(aliyunKey.id),
        accessKeySecret: Redacted.make(aliyunKey.secret)
      })
      const { authorization, ...headers } = signed.headers
      const theirs = aliyunUtil.getAuthorization(
        { method: "POST", pathname: "/", query, headers: { host: "dysmsapi.aliyuncs.com", ...headers } },
        "ACS3-HMAC-SHA256",
        headers["x-acs-content-sha256"]!,
        aliyunKey.id,
        aliyunKey.secret
      )
      assert.strictEqual(authorization, theirs)
    })
  }

  it.scopedLive(
    "R64: the request AliyunSms sends (over HTTP to the fake) carries the Authorization openapi-util computes from what arrived",
    () =>
      Effect.gen(function* () {
        const { fake, sender } = yield* setup()
        const result = yield* sender.send({
          messageId: "vendor-1",
          dedupeKey: "response_adopted:r-vendor:+8613812345678",
          phone: "+8613812345678",
          templateId: "SMS_465000001",
          params: awkward[1]!
        } satisfies SmsSender.SmsRequest)
        assert.strictEqual(result._tag, "Sent")
        const arrived = fake.requests[0]!
        const signedNames = /SignedHeaders=([^,]+),/.exec(arrived.headers.authorization!)![1]!.split(";")
        const theirs = aliyunUtil.getAuthorization(
          {
            method: arrived.method,
            pathname: arrived.url.split("?")[0]!,
            query: paramsOf(arrived),
            headers: Object.fromEntries(signedNames.map((name) => [name, arrived.headers[name]!]))
          },
          "ACS3-HMAC-SHA256",
          arrived.headers["x-acs-content-sha256"]!,
          keyId,
          secret
        )
        assert.strictEqual(arrived.headers.authorization, theirs)
      })
  )
})

describe("TencentSms.sign agrees with tencentcloud-sdk-nodejs-common", () => {
  // 1764835200 is 2025-12-04T08:00:00Z; 1764878400 is 20:00Z, already the next day in Beijing.
  for (const timestamp of [1764835200, 1764878400]) {
    for (const [i, params] of awkward.entries()) {
      it(`R64: SendSms ${i + 1} at ${timestamp}: the same Authorization`, () => {
        const payload = JSON.stringify({
          PhoneNumberSet: ["+8613812345678"],
          SmsSdkAppId: "1400006666",
          SignName: "众包平台",
          TemplateId: "1110",
          TemplateParamSet: Object.values(params),
          SessionContext: `m-${i}`
        })
        const ours = TencentSms.sign({
          host: "sms.tencentcloudapi.com",
          payload,
          timestamp,
          secretId: Redacted.make(tencentKey.id),
          secretKey: Redacted.make(tencentKey.secret)
        })
        const theirs = tencentSign.sign3({
          method: "POST",
          url: "https://sms.tencentcloudapi.com/",
          payload: Buffer.from(payload, "utf8"),
          timestamp,
          service: "sms",
          secretId: tencentKey.id,
          secretKey: tencentKey.secret,
          headers: { "Content-Type": TencentSms.contentType }
        })
        assert.strictEqual(ours.authorization, theirs)
      })
    }
  }
})
