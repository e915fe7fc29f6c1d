/**
 * TencentSms against a local fake Tencent Cloud. The fake recomputes every
 * signature from the raw request following the documented TC3-HMAC-SHA256
 * algorithm (written here, independently of the signer) and refuses a wrong one
 * with `AuthFailure.SignatureFailure`; scripted replies replay per-number
 * failures inside HTTP 200, request errors and outages.
 */
import { assert, describe, it } from "@effect/vitest"
import { Classify, TencentSms, Transport } from "@zhongbao/adapter-sms"
import { Settings, SmsSender } from "@zhongbao/core"
import { ConfigProvider, Context, Duration, Effect, Either, Exit, Layer, Redacted, TestClock } from "effect"
import { createHash, createHmac, randomUUID } from "node:crypto"
import * as Fake from "./support/FakeProvider.js"
import * as Logs from "./support/Logs.js"

const secretId = "AKIDFakeProviderSecretId"
const secretKey = "fake-provider-secret-key-1a2b3c"
const sdkAppId = "1400006666"

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex")
const hmac = (key: string | Buffer, text: string) => createHmac("sha256", key).update(text, "utf8").digest()

interface SendSmsBody {
  readonly PhoneNumberSet: ReadonlyArray<string>
  readonly SmsSdkAppId: string
  readonly SignName: string
  readonly TemplateId: string
  readonly TemplateParamSet?: ReadonlyArray<string>
  readonly SessionContext?: string
}

const bodyOf = (request: Fake.RawRequest) => JSON.parse(request.body) as SendSmsBody

/** The fake Tencent Cloud: checks the signature of the raw request, then answers. */
const tencent = (request: Fake.RawRequest, scripted: () => Fake.Reply | undefined): Fake.Handled => {
  const RequestId = randomUUID()
  const refuse = (Code: string, Message: string): Fake.Handled => ({
    verified: false,
    reply: Fake.json(200, { Response: { Error: { Code, Message }, RequestId } })
  })
  const auth =
    /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d\d-\d\d)\/([a-z]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
      request.headers.authorization ?? ""
    )
  if (auth === null) return refuse("AuthFailure.InvalidAuthorization", "Authorization header malformed.")
  const [, id, date, service, signedHeaders, signature] = auth as unknown as [
    string,
    string,
    string,
    string,
    string,
    string
  ]
  if (id !== secretId) return refuse("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
  const timestamp = Number(request.headers["x-tc-timestamp"])
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > 300) {
    return refuse("AuthFailure.SignatureExpire", "Signature expired.")
  }
  const names = signedHeaders.split(";")
  if (!names.includes("content-type") || !names.includes("host")) {
    return refuse("AuthFailure.SignatureFailure", "content-type and host must be signed.")
  }
  const [path, query = ""] = request.url.split("?") as [string, string?]
  const canonicalHeaders = names
    .map((name) => `${name}:${(request.headers[name] ?? "").trim().toLowerCase()}\n`)
    .join("")
  const canonicalRequest = [
    request.method,
    path,
    query,
    canonicalHeaders,
    signedHeaders,
    sha256(request.body)
  ].join("\n")
  const scopeDate = new Date(timestamp * 1000).toISOString().slice(0, 10)
  const scope = `${scopeDate}/${service}/tc3_request`
  const stringToSign = ["TC3-HMAC-SHA256", String(timestamp), scope, sha256(canonicalRequest)].join("\n")
  const kSigning = hmac(hmac(hmac(`TC3${secretKey}`, scopeDate), service), "tc3_request")
  const expected = hmac(kSigning, stringToSign).toString("hex")
  if (date !== scopeDate || service !== "sms" || expected !== signature) {
    return refuse(
      "AuthFailure.SignatureFailure",
      "The provided credentials could not be validated. Please check your signature is correct."
    )
  }
  if (request.headers["x-tc-action"] !== "SendSms" || request.headers["x-tc-version"] !== "2021-01-11") {
    return refuse("InvalidAction", "The action is not found.")
  }
  if (!request.headers["x-tc-region"]) return refuse("MissingParameter", "X-TC-Region is missing.")
  const body = bodyOf(request)
  if (body.SmsSdkAppId !== sdkAppId)
    return refuse("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId.")
  const reply =
    scripted() ??
    Fake.json(200, {
      Response: {
        SendStatusSet: body.PhoneNumberSet.map((phone, i) => ({
          SerialNo: `2645:${i}${RequestId.slice(0, 8)}`,
          PhoneNumber: phone,
          Fee: 1,
          SessionContext: body.SessionContext ?? "",
          Code: "Ok",
          Message: "send success",
          IsoCode: "CN"
        })),
        RequestId
      }
    })
  return { verified: true, reply }
}

/** A reply with one failed status for the number of the request. */
const failed =
  (Code: string) =>
  (request: Fake.RawRequest): Fake.Reply =>
    Fake.json(200, {
      Response: {
        SendStatusSet: bodyOf(request).PhoneNumberSet.map((phone) => ({
          SerialNo: "",
          PhoneNumber: phone,
          Fee: 0,
          SessionContext: "",
          Code,
          Message: `${phone} refused`,
          IsoCode: "CN"
        })),
        RequestId: "T-REQ-1"
      }
    })

const requestError = (Code: string) =>
  Fake.json(200, { Response: { Error: { Code, Message: "refused" }, RequestId: "T-REQ-2" } })

const templates = new Map<string, ReadonlyArray<string>>([
  ["2001", ["number", "title"]],
  ["2002", ["number", "title", "reason"]],
  ["2003", []]
])

let seq = 0
const message = (overrides: Partial<SmsSender.SmsRequest> = {}): SmsSender.SmsRequest => {
  seq += 1
  return {
    messageId: `msg-${seq}`,
    dedupeKey: `response_not_adopted:r-${seq}:+8613812345678`,
    phone: "+8613812345678",
    templateId: "2002",
    params: { reason: "方案不符合", title: "石墨烯储能材料", number: "ZB20260001" },
    ...overrides
  }
}

const options = (endpoint: string, overrides: Partial<TencentSms.Options> = {}): TencentSms.Options => ({
  secretId: Redacted.make(secretId),
  secretKey: Redacted.make(secretKey),
  sdkAppId,
  signName: "众包平台",
  endpoint,
  timeout: "2 seconds",
  throttle: { windows: [] },
  ...overrides
})

const setup = (
  overrides: Partial<TencentSms.Options> = {},
  transport: Layer.Layer<Transport.Transport> = Transport.layerNode()
) =>
  Effect.gen(function* () {
    const fake = yield* Fake.start(tencent)
    const built = yield* Layer.build(transport)
    const sender = yield* TencentSms.make(options(fake.url, overrides), templates).pipe(Effect.provide(built))
    return { fake, sender }
  })

describe("TencentSms", () => {
  it.scopedLive("R64: a signed SendSms is accepted and answered Sent with the number's SerialNo", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup()
      const m = message()
      const result = yield* sender.send(m)
      assert.strictEqual(result._tag, "Sent")
      assert.match(result._tag === "Sent" ? result.providerMessageId : "", /^2645:0/)
      const request = fake.requests[0]!
      assert.isTrue(request.verified)
      assert.strictEqual(request.headers["content-type"], "application/json; charset=utf-8")
      assert.strictEqual(request.headers["x-tc-region"], "ap-guangzhou")
      assert.deepStrictEqual(bodyOf(request), {
        PhoneNumberSet: ["+8613812345678"],
        SmsSdkAppId: sdkAppId,
        SignName: "众包平台",
        TemplateId: "2002",
        TemplateParamSet: ["ZB20260001", "石墨烯储能材料", "方案不符合"],
        SessionContext: m.messageId
      })
    })
  )

  it.scopedLive("R64: parameters go in the template's order from settings, missing ones empty", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup()
      yield* sender.send(
        message({ templateId: "2001", params: { title: "标题", number: "ZB20260002", extra: "x" } })
      )
      yield* sender.send(message({ templateId: "2002", params: { number: "ZB20260003" } }))
      yield* sender.send(message({ templateId: "2003", params: {} }))
      assert.deepStrictEqual(
        fake.requests.map((r) => bodyOf(r).TemplateParamSet),
        [["ZB20260002", "标题"], ["ZB20260003", "", ""], []]
      )
    })
  )

  it.scopedLive("R64: a template id unknown to settings is Configuration without calling the provider", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup()
      const result = yield* sender.send(message({ templateId: "9999" }))
      assert.strictEqual(result._tag, "Configuration")
      assert.strictEqual(fake.requests.length, 0)
    })
  )

  it.scopedLive(
    "R64: a wrong secret key is refused by the fake provider (AuthFailure.SignatureFailure)",
    () =>
      Effect.gen(function* () {
        const { fake, sender } = yield* setup({ secretKey: Redacted.make("not-the-key") })
        const result = yield* sender.send(message())
        assert.strictEqual(result._tag, "Configuration")
        assert.include((result as { reason: string }).reason, "AuthFailure.SignatureFailure")
        assert.isFalse(fake.requests[0]!.verified)
      })
  )

  it.scopedLive("R64: an unknown secret id (AuthFailure.SecretIdNotFound) and app id are Configuration", () =>
    Effect.gen(function* () {
      const a = yield* setup({ secretId: Redacted.make("AKIDsomeoneElse") })
      assert.strictEqual((yield* a.sender.send(message()))._tag, "Configuration")
      const b = yield* setup({ sdkAppId: "1400000000" })
      const result = yield* b.sender.send(message())
      assert.strictEqual(result._tag, "Configuration")
      assert.include((result as { reason: string }).reason, "SmsSdkAppIdVerifyFail")
    })
  )

  it.scopedLive("R64: the fake provider refuses a body altered after signing", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup()
      assert.strictEqual((yield* sender.send(message()))._tag, "Sent")
      const signed = fake.requests[0]!
      const replay = (body: string) =>
        Effect.promise(() =>
          fetch(fake.url, {
            method: "POST",
            headers: Object.fromEntries(
              Object.entries(signed.headers).filter(
                ([name]) => !["host", "content-length", "connection"].includes(name)
              )
            ),
            body
          }).then((response) => response.json() as Promise<{ Response: { Error?: { Code: string } } }>)
        )
      assert.isUndefined((yield* replay(signed.body)).Response.Error)
      const altered = signed.body.replace("+8613812345678", "+8613912345678")
      assert.strictEqual((yield* replay(altered)).Response.Error?.Code, "AuthFailure.SignatureFailure")
    })
  )

  const cases: ReadonlyArray<{
    readonly name: string
    readonly reply: Fake.Scripted
    readonly expect: SmsSender.SendResult["_tag"]
    readonly retryAfter?: (millis: number | undefined) => boolean
  }> = [
    {
      name: "per-number 30-second limit inside HTTP 200 → RetryLater after 30 s",
      reply: failed("LimitExceeded.PhoneNumberThirtySecondLimit"),
      expect: "RetryLater",
      retryAfter: (ms) => ms === 30_000
    },
    {
      name: "per-number hourly limit inside HTTP 200 → RetryLater after an hour",
      reply: failed("LimitExceeded.PhoneNumberOneHourLimit"),
      expect: "RetryLater",
      retryAfter: (ms) => ms === 3_600_000
    },
    {
      name: "per-number daily limit inside HTTP 200 → RetryLater at the next day in China",
      reply: failed("LimitExceeded.PhoneNumberDailyLimit"),
      expect: "RetryLater",
      retryAfter: (ms) => ms !== undefined && ms > 0 && ms <= 86_400_000
    },
    {
      name: "invalid number inside HTTP 200 → Permanent",
      reply: failed("InvalidParameterValue.IncorrectPhoneNumber"),
      expect: "Permanent"
    },
    {
      name: "blacklisted number inside HTTP 200 → Permanent",
      reply: failed("FailedOperation.PhoneNumberInBlacklist"),
      expect: "Permanent"
    },
    {
      name: "package balance inside HTTP 200 → Configuration",
      reply: failed("FailedOperation.InsufficientBalanceInSmsPackage"),
      expect: "Configuration"
    },
    {
      name: "template not approved inside HTTP 200 → Configuration",
      reply: failed("FailedOperation.TemplateIncorrectOrUnapproved"),
      expect: "Configuration"
    },
    {
      name: "the provider's own send timeout (InternalError.Timeout) → Unknown",
      reply: failed("InternalError.Timeout"),
      expect: "Unknown"
    },
    {
      name: "request rate (Response.Error RequestLimitExceeded) → RetryLater",
      reply: requestError("RequestLimitExceeded"),
      expect: "RetryLater"
    },
    {
      name: "arrears (Response.Error UnauthorizedOperation.ServiceSuspendDueToArrears) → Configuration",
      reply: requestError("UnauthorizedOperation.ServiceSuspendDueToArrears"),
      expect: "Configuration"
    },
    {
      name: "internal error (Response.Error InternalError.OtherError) → RetryLater",
      reply: requestError("InternalError.OtherError"),
      expect: "RetryLater"
    },
    { name: "HTTP 502 → RetryLater", reply: Fake.text(502, "Bad Gateway"), expect: "RetryLater" },
    { name: "HTTP 503 → RetryLater", reply: Fake.text(503, "Service Unavailable"), expect: "RetryLater" },
    { name: "HTTP 504 → Unknown", reply: Fake.text(504, "Gateway Timeout"), expect: "Unknown" },
    {
      name: "a reply that says nothing of the number → Unknown",
      reply: Fake.json(200, { Response: { SendStatusSet: [], RequestId: "T-REQ-3" } }),
      expect: "Unknown"
    }
  ]

  for (const c of cases) {
    it.scopedLive(`R64: ${c.name}`, () =>
      Effect.gen(function* () {
        const { fake, sender } = yield* setup()
        fake.script.push(c.reply)
        const result = yield* sender.send(message())
        assert.strictEqual(result._tag, c.expect)
        assert.isTrue(fake.requests[0]!.verified)
        if (c.retryAfter !== undefined) {
          assert.isTrue(c.retryAfter(result._tag === "RetryLater" ? result.retryAfterMillis : undefined))
        }
      })
    )
  }

  it("R64: per-number failures are read per number", () => {
    const body = {
      Response: {
        SendStatusSet: [
          { PhoneNumber: "+8613800000001", Code: "Ok", SerialNo: "s1" },
          { PhoneNumber: "+8613800000002", Code: "LimitExceeded.PhoneNumberOneHourLimit" },
          { PhoneNumber: "+8613800000003", Code: "FailedOperation.PhoneNumberInBlacklist" }
        ],
        RequestId: "T"
      }
    }
    const now = Date.UTC(2025, 2, 1)
    const statuses = Classify.tencentStatuses(body, now)
    assert.deepStrictEqual(
      [...statuses.values()].map((r) => r._tag),
      ["Sent", "RetryLater", "Permanent"]
    )
    assert.deepStrictEqual(
      ["+8613800000001", "+8613800000002", "+8613800000003", "+8613800000004"].map(
        (phone) => Classify.tencent(200, body, phone, now)._tag
      ),
      ["Sent", "RetryLater", "Permanent", "Unknown"]
    )
  })

  it.scopedLive("R64: no reply within the timeout → Unknown", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup({ timeout: "300 millis" })
      fake.script.push(Fake.hang)
      const started = Date.now()
      assert.strictEqual((yield* sender.send(message()))._tag, "Unknown")
      assert.isBelow(Date.now() - started, 2_000)
    })
  )

  it.scopedLive("R64: the throttle answers RetryLater without calling the provider", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup({
        throttle: { windows: [{ limit: 2, windowMillis: 3_600_000 }] }
      })
      assert.strictEqual((yield* sender.send(message()))._tag, "Sent")
      assert.strictEqual((yield* sender.send(message({ phone: "13812345678" })))._tag, "Sent")
      const third = yield* sender.send(message({ phone: "+86 138 1234 5678" }))
      assert.strictEqual(third._tag, "RetryLater")
      const after = third._tag === "RetryLater" ? (third.retryAfterMillis ?? 0) : 0
      assert.isTrue(after > 3_500_000 && after <= 3_600_000)
      assert.strictEqual(fake.requests.length, 2)
    })
  )

  it.scopedLive(
    "R64: without a throttle given, the default one answers RetryLater to a second message within 30 s",
    () =>
      Effect.gen(function* () {
        const { fake, sender } = yield* setup({ throttle: undefined })
        assert.strictEqual((yield* sender.send(message()))._tag, "Sent")
        const second = yield* sender.send(message())
        assert.strictEqual(second._tag, "RetryLater")
        const after = second._tag === "RetryLater" ? (second.retryAfterMillis ?? 0) : 0
        assert.isTrue(after > 30_000 && after <= 35_000)
        assert.strictEqual(fake.requests.length, 1)
      })
  )

  it.scopedLive("R64: logs mask numbers and carry no parameter, body or secret", () => {
    const logs = Logs.capture()
    return Effect.gen(function* () {
      const { fake, sender } = yield* setup({ timeout: "200 millis" })
      fake.script.push(
        failed("FailedOperation.PhoneNumberInBlacklist"),
        requestError("AuthFailure.SecretIdNotFound"),
        Fake.hang,
        Fake.text(503, "busy")
      )
      for (let i = 0; i < 5; i++) yield* sender.send(message())
      yield* sender.send(message({ templateId: "9999" }))
      yield* sender.send(message({ phone: "+86 10 6552 9988" }))
      const text = logs.lines.join("\n")
      assert.isAbove(logs.lines.length, 5)
      assert.include(text, "138****5678")
      for (const secretText of [
        "13812345678",
        "65529988",
        "ZB20260001",
        "石墨烯",
        "方案不符合",
        "TemplateParamSet",
        "PhoneNumberSet",
        secretKey,
        secretId,
        "Signature="
      ]) {
        assert.notInclude(text, secretText)
      }
    }).pipe(Effect.provide(logs.layer))
  })

  it.scopedLive("R64: layerConfig reads Config and takes the parameter order from core settings", () =>
    Effect.gen(function* () {
      const fake = yield* Fake.start(tencent)
      const provider = ConfigProvider.fromMap(
        new Map([
          ["TENCENT_SMS_SECRET_ID", secretId],
          ["TENCENT_SMS_SECRET_KEY", secretKey],
          ["TENCENT_SMS_SDK_APP_ID", sdkAppId],
          ["TENCENT_SMS_SIGN_NAME", "众包平台"],
          ["TENCENT_SMS_REGION", "ap-beijing"],
          ["TENCENT_SMS_ENDPOINT", fake.url],
          ["TENCENT_SMS_TIMEOUT", "1500 millis"],
          ["SMS_THROTTLE_ENABLED", "false"]
        ])
      )
      const config = yield* Effect.withConfigProvider(TencentSms.config, provider)
      assert.strictEqual(Duration.toMillis(Duration.decode(config.timeout!)), 1_500)
      const settings = Settings.layer({
        smsTemplates: {
          ...Settings.defaults.smsTemplates,
          response_not_adopted: { templateId: "3001", params: ["title", "reason", "number"] }
        }
      })
      const layer = TencentSms.layerConfig().pipe(
        Layer.provide(
          Layer.mergeAll(Transport.layerNode(), Layer.orDie(settings), Layer.setConfigProvider(provider))
        )
      )
      const sender = yield* Effect.map(Layer.build(layer), Context.get(SmsSender.SmsSender))
      const result = yield* sender.send(message({ templateId: "3001" }))
      assert.strictEqual(result._tag, "Sent")
      assert.strictEqual(fake.requests[0]!.headers["x-tc-region"], "ap-beijing")
      assert.deepStrictEqual(bodyOf(fake.requests[0]!).TemplateParamSet, [
        "石墨烯储能材料",
        "方案不符合",
        "ZB20260001"
      ])
      const defaults = yield* sender.send(message({ templateId: "ZB_RESPONSE_ADOPTED" }))
      assert.strictEqual(defaults._tag, "Sent")
      assert.deepStrictEqual(bodyOf(fake.requests[1]!).TemplateParamSet, ["ZB20260001", "石墨烯储能材料"])
    })
  )

  it.effect("R64: one template id listed with two parameter orders fails the layer", () =>
    Effect.gen(function* () {
      const settings = Settings.layer({
        smsTemplates: {
          ...Settings.defaults.smsTemplates,
          response_adopted: { templateId: "4001", params: ["number", "title"] },
          response_received: { templateId: "4001", params: ["title", "number"] }
        }
      })
      assert.deepStrictEqual(
        TencentSms.templatesFromSettings({
          smsTemplates: {
            ...Settings.defaults.smsTemplates,
            response_adopted: { templateId: "4001", params: ["number", "title"] },
            response_received: { templateId: "4001", params: ["title", "number"] }
          }
        }),
        Either.left("4001")
      )
      // the settings themselves are valid: the layer fails on the conflicting orders
      yield* Effect.scoped(Layer.build(settings))
      const layer = TencentSms.layer(options("http://127.0.0.1:9/")).pipe(
        Layer.provide(Layer.merge(Transport.layerNode(), Layer.orDie(settings)))
      )
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(layer)))
      assert.isTrue(Exit.isFailure(exit))
    })
  )

  it.scopedLive("R64: the sender's reasons are in its language, Chinese by default, English when set", () =>
    Effect.gen(function* () {
      const codes: Array<string | undefined> = []
      const reasonOf = (result: SmsSender.SendResult) => {
        codes.push((result as { code?: string }).code)
        return (result as { reason: string }).reason
      }
      const zh = yield* setup({ secretKey: Redacted.make("not-the-key") })
      const en = yield* setup({ secretKey: Redacted.make("not-the-key"), language: "en" })
      assert.match(
        reasonOf(yield* zh.sender.send(message())),
        /^腾讯云 AuthFailure\.SignatureFailure：签名不匹配，请检查 SecretKey（请求 [^）]+）$/
      )
      assert.match(
        reasonOf(yield* en.sender.send(message())),
        /^tencent AuthFailure\.SignatureFailure: signature does not match: check the secret key \(request [^)]+\)$/
      )
      assert.strictEqual(
        reasonOf(yield* zh.sender.send(message({ templateId: "9999" }))),
        "腾讯云：未发送（模板 9999 不在 settings.smsTemplates 中，参数顺序未知）"
      )
      assert.strictEqual(
        reasonOf(yield* en.sender.send(message({ templateId: "9999" }))),
        "tencent not called: template 9999 is not in settings.smsTemplates, its parameter order is unknown"
      )
      assert.deepStrictEqual(codes, [
        "AuthFailure.SignatureFailure",
        "AuthFailure.SignatureFailure",
        "sender.unknown_template",
        "sender.unknown_template"
      ])
    })
  )

  it.scoped("R64: X-TC-Timestamp is the clock's whole seconds, never rounded up", () =>
    Effect.gen(function* () {
      const second = Math.floor(Date.now() / 1000)
      yield* TestClock.setTime(second * 1000 + 999)
      const { fake, sender } = yield* setup()
      assert.strictEqual((yield* sender.send(message()))._tag, "Sent")
      assert.strictEqual(fake.requests[0]!.headers["x-tc-timestamp"], String(second))
    })
  )
})
