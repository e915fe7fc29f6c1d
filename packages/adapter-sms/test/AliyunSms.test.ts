/**
 * AliyunSms against a local fake Aliyun. The fake recomputes every signature from
 * the raw request following the documented ACS3-HMAC-SHA256 algorithm (written
 * here, independently of the signer) and refuses a wrong one as Aliyun does; the
 * scripted replies replay throttling, invalid numbers, account errors and
 * outages.
 */
import { FetchHttpClient, HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { AliyunSms, TencentSms, Transport } from "@zhongbao/adapter-sms"
import { Settings, SmsSender } from "@zhongbao/core"
import {
  type Config,
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  Redacted,
  Tracer
} from "effect"
import { options, setup } from "./support/AliyunSender.js"
import { aliyun, keyId, paramsOf, secret } from "./support/FakeAliyun.js"
import * as Fake from "./support/FakeProvider.js"
import * as Logs from "./support/Logs.js"

let seq = 0
const message = (overrides: Partial<SmsSender.SmsRequest> = {}): SmsSender.SmsRequest => {
  seq += 1
  return {
    messageId: `msg-${seq}`,
    dedupeKey: `response_adopted:r-${seq}:+8613812345678`,
    phone: "+8613812345678",
    templateId: "SMS_465000001",
    params: { number: "ZB20260001", title: "石墨烯储能材料" },
    ...overrides
  }
}

/** The node and undici transports, and the HttpClient adapter over each of @effect/platform's clients. */
const transports: ReadonlyArray<readonly [string, Layer.Layer<Transport.Transport>]> = [
  ["node", Transport.layerNode()],
  ["undici", Transport.layerUndici()],
  ["HttpClient: undici", Transport.layerHttpClient.pipe(Layer.provide(NodeHttpClient.layerUndici))],
  ["HttpClient: node:http", Transport.layerHttpClient.pipe(Layer.provide(NodeHttpClient.layer))],
  ["HttpClient: fetch", Transport.layerHttpClient.pipe(Layer.provide(FetchHttpClient.layer))]
]

const tagOf = (result: SmsSender.SendResult) => result._tag

/** The variables each provider's configuration requires, set. */
const requiredVariables = {
  aliyun: {
    ALIYUN_SMS_ACCESS_KEY_ID: keyId,
    ALIYUN_SMS_ACCESS_KEY_SECRET: secret,
    ALIYUN_SMS_SIGN_NAME: "众包平台"
  },
  tencent: {
    TENCENT_SMS_SECRET_ID: "AKIDtencent",
    TENCENT_SMS_SECRET_KEY: "tencent-secret",
    TENCENT_SMS_SDK_APP_ID: "1400000000",
    TENCENT_SMS_SIGN_NAME: "众包平台"
  }
}

describe("AliyunSms", () => {
  it.scopedLive(
    "R64: a signed SendSms is accepted by the fake provider and answered Sent with the BizId",
    () =>
      Effect.gen(function* () {
        const { fake, sender } = yield* setup()
        const m = message()
        const result = yield* sender.send(m)
        assert.deepStrictEqual(result, SmsSender.SendResult.Sent({ providerMessageId: "900511^0" }))
        assert.strictEqual(fake.requests.length, 1)
        const request = fake.requests[0]!
        assert.isTrue(request.verified)
        assert.strictEqual(request.method, "POST")
        assert.strictEqual(request.body, "")
        assert.deepStrictEqual(paramsOf(request), {
          OutId: m.messageId,
          PhoneNumbers: "13812345678",
          SignName: "众包平台",
          TemplateCode: "SMS_465000001",
          TemplateParam: '{"number":"ZB20260001","title":"石墨烯储能材料"}'
        })
      })
  )

  it.scopedLive(
    "R64: numbers are normalised before sending; international numbers keep their country code",
    () =>
      Effect.gen(function* () {
        const { fake, sender } = yield* setup()
        assert.strictEqual(tagOf(yield* sender.send(message({ phone: "138 1234 5679" }))), "Sent")
        assert.strictEqual(tagOf(yield* sender.send(message({ phone: "+852 5123 4567" }))), "Sent")
        assert.deepStrictEqual(
          fake.requests.map((r) => paramsOf(r).PhoneNumbers),
          ["13812345679", "85251234567"]
        )
      })
  )

  it.scopedLive("R64: a template without parameters sends no TemplateParam", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup()
      assert.strictEqual(tagOf(yield* sender.send(message({ params: {} }))), "Sent")
      assert.isUndefined(paramsOf(fake.requests[0]!).TemplateParam)
    })
  )

  it.scopedLive(
    "R64: a wrong secret is refused by the fake provider (SignatureDoesNotMatch): Configuration",
    () =>
      Effect.gen(function* () {
        const { fake, sender } = yield* setup({ accessKeySecret: Redacted.make("not-the-secret") })
        const result = yield* sender.send(message())
        assert.strictEqual(result._tag, "Configuration")
        assert.include((result as { reason: string }).reason, "SignatureDoesNotMatch")
        assert.isFalse(fake.requests[0]!.verified)
      })
  )

  it.scopedLive("R64: an unknown access key (InvalidAccessKeyId.NotFound, HTTP 404): Configuration", () =>
    Effect.gen(function* () {
      const { sender } = yield* setup({ accessKeyId: Redacted.make("LTAI5tSomeoneElse") })
      const result = yield* sender.send(message())
      assert.strictEqual(result._tag, "Configuration")
      assert.include((result as { reason: string }).reason, "InvalidAccessKeyId.NotFound")
    })
  )

  it.scopedLive("R64: every attempt is signed with a fresh nonce", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup()
      for (let i = 0; i < 5; i++) assert.strictEqual(tagOf(yield* sender.send(message())), "Sent")
      assert.strictEqual(new Set(fake.requests.map((r) => r.headers["x-acs-signature-nonce"])).size, 5)
      assert.isTrue(fake.requests.every((r) => r.verified))
    })
  )

  it.scopedLive("R64: the fake provider refuses a request altered after signing, and a replayed nonce", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup()
      assert.strictEqual(tagOf(yield* sender.send(message())), "Sent")
      const signed = fake.requests[0]!
      const replay = (url: string) =>
        Effect.promise(() =>
          fetch(new URL(url, fake.url), {
            method: "POST",
            headers: Object.fromEntries(
              Object.entries(signed.headers).filter(
                ([name]) => !["host", "content-length", "connection"].includes(name)
              )
            )
          }).then((response) => response.json() as Promise<{ Code: string }>)
        )
      const altered = signed.url.replace("TemplateCode=SMS_465000001", "TemplateCode=SMS_465000002")
      assert.notStrictEqual(altered, signed.url)
      assert.strictEqual((yield* replay(altered)).Code, "SignatureDoesNotMatch")
      assert.strictEqual((yield* replay(signed.url)).Code, "SignatureNonceUsed")
    })
  )

  const cases: ReadonlyArray<{
    readonly name: string
    readonly reply: Fake.Reply
    readonly expect: SmsSender.SendResult["_tag"]
    readonly retryAfter?: (millis: number | undefined) => boolean
  }> = [
    {
      name: "per-number minute throttling (isv.BUSINESS_LIMIT_CONTROL) → RetryLater after a minute",
      reply: Fake.json(200, {
        Code: "isv.BUSINESS_LIMIT_CONTROL",
        Message: "触发分钟级流控Permits:1",
        RequestId: "R1"
      }),
      expect: "RetryLater",
      retryAfter: (ms) => ms === 60_000
    },
    {
      name: "per-number hour throttling → RetryLater after an hour",
      reply: Fake.json(200, {
        Code: "isv.BUSINESS_LIMIT_CONTROL",
        Message: "触发小时级流控Permits:5",
        RequestId: "R2"
      }),
      expect: "RetryLater",
      retryAfter: (ms) => ms === 3_600_000
    },
    {
      name: "per-number day throttling → RetryLater at the next day in China",
      reply: Fake.json(200, {
        Code: "isv.BUSINESS_LIMIT_CONTROL",
        Message: "触发天级流控Permits:10",
        RequestId: "R3"
      }),
      expect: "RetryLater",
      retryAfter: (ms) => ms !== undefined && ms > 0 && ms <= 86_400_000
    },
    {
      name: "account daily limit (isv.DAY_LIMIT_CONTROL) → RetryLater",
      reply: Fake.json(200, { Code: "isv.DAY_LIMIT_CONTROL", Message: "触发日发送限额", RequestId: "R4" }),
      expect: "RetryLater",
      retryAfter: (ms) => ms !== undefined && ms > 0 && ms <= 86_400_000
    },
    {
      name: "invalid number (isv.MOBILE_NUMBER_ILLEGAL) → Permanent",
      reply: Fake.json(200, { Code: "isv.MOBILE_NUMBER_ILLEGAL", Message: "非法手机号", RequestId: "R5" }),
      expect: "Permanent"
    },
    {
      name: "blocked keyword in a parameter (isv.BLACK_KEY_CONTROL_LIMIT) → Permanent",
      reply: Fake.json(200, { Code: "isv.BLACK_KEY_CONTROL_LIMIT", Message: "黑名单管控", RequestId: "R6" }),
      expect: "Permanent"
    },
    {
      name: "balance (isv.AMOUNT_NOT_ENOUGH) → Configuration",
      reply: Fake.json(200, { Code: "isv.AMOUNT_NOT_ENOUGH", Message: "账户余额不足", RequestId: "R7" }),
      expect: "Configuration"
    },
    {
      name: "service stopped (isv.OUT_OF_SERVICE) → Configuration",
      reply: Fake.json(200, { Code: "isv.OUT_OF_SERVICE", Message: "业务停机", RequestId: "R8" }),
      expect: "Configuration"
    },
    {
      name: "template (isv.SMS_TEMPLATE_ILLEGAL) → Configuration",
      reply: Fake.json(200, { Code: "isv.SMS_TEMPLATE_ILLEGAL", Message: "模板不合法", RequestId: "R9" }),
      expect: "Configuration"
    },
    {
      name: "permissions (isp.RAM_PERMISSION_DENY) → Configuration",
      reply: Fake.json(200, { Code: "isp.RAM_PERMISSION_DENY", Message: "RAM权限DENY", RequestId: "R10" }),
      expect: "Configuration"
    },
    {
      name: "platform error (isp.SYSTEM_ERROR) → RetryLater",
      reply: Fake.json(200, { Code: "isp.SYSTEM_ERROR", Message: "系统错误", RequestId: "R11" }),
      expect: "RetryLater"
    },
    {
      name: "an unlisted isv code → Configuration",
      reply: Fake.json(200, { Code: "isv.SOMETHING_NEW", Message: "?", RequestId: "R12" }),
      expect: "Configuration"
    },
    {
      name: "HTTP 500 InternalError → RetryLater",
      reply: Fake.json(500, { Code: "InternalError", Message: "internal", RequestId: "R13" }),
      expect: "RetryLater"
    },
    {
      name: "HTTP 503 with an HTML page → RetryLater",
      reply: Fake.text(503, "<html>503</html>"),
      expect: "RetryLater"
    },
    { name: "HTTP 502 → RetryLater", reply: Fake.text(502, "Bad Gateway"), expect: "RetryLater" },
    {
      name: "HTTP 504 (a timeout on the way) → Unknown",
      reply: Fake.text(504, "Gateway Timeout"),
      expect: "Unknown"
    },
    {
      name: "a gateway timeout code (ServiceTimeout) → Unknown",
      reply: Fake.json(200, { Code: "ServiceTimeout", Message: "Service timeout", RequestId: "R14" }),
      expect: "Unknown"
    },
    {
      name: "ServiceTimeout with the gateway's HTTP 503 → Unknown, not an outage to retry",
      reply: Fake.json(503, { Code: "ServiceTimeout", Message: "Service timeout", RequestId: "R15" }),
      expect: "Unknown"
    },
    {
      name: "SignatureNonceUsed (this very request arrived before) → Unknown",
      reply: Fake.json(400, { Code: "SignatureNonceUsed", Message: "nonce used", RequestId: "R16" }),
      expect: "Unknown"
    },
    {
      name: "HTTP 200 that is not JSON → Unknown",
      reply: Fake.text(200, "<html>ok?</html>"),
      expect: "Unknown"
    },
    {
      name: "HTTP 400 without a code → Configuration",
      reply: Fake.text(400, "bad request"),
      expect: "Configuration"
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

  it.scopedLive("R64: the provider's free-text message never reaches the result", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup()
      fake.script.push(
        Fake.json(200, {
          Code: "isv.MOBILE_NUMBER_ILLEGAL",
          Message: "13812345678 石墨烯储能材料",
          RequestId: "R1"
        })
      )
      const result = yield* sender.send(message())
      assert.strictEqual(result._tag, "Permanent")
      const reason = (result as { reason: string }).reason
      assert.notInclude(reason, "13812345678")
      assert.notInclude(reason, "石墨烯")
      assert.include(reason, "请求 R1")
    })
  )

  it.scopedLive("R64: no reply within the timeout → Unknown, so the dispatcher does not resend blindly", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup({ timeout: "300 millis" })
      fake.script.push(Fake.hang)
      const started = Date.now()
      const result = yield* sender.send(message())
      assert.strictEqual(result._tag, "Unknown")
      assert.strictEqual(result._tag === "Unknown" ? result.code : undefined, "sender.timeout")
      assert.isBelow(Date.now() - started, 2_000)
      assert.strictEqual(fake.requests.length, 1)
    })
  )

  for (const [name, transport] of transports) {
    it.scopedLive(
      `R64: a parameter with spaces, a plus and RFC 3986's marks reaches the provider as it was signed (${name})`,
      () =>
        Effect.gen(function* () {
          const { fake, sender } = yield* setup({}, transport)
          const title = "OLED 散热膜 a+b ~*'()! 100%"
          const result = yield* sender.send(message({ params: { number: "ZB20260001", title } }))
          assert.strictEqual(result._tag, "Sent")
          assert.isTrue(fake.requests[0]!.verified, "the signature matches the query received")
          assert.strictEqual(
            paramsOf(fake.requests[0]!).TemplateParam,
            JSON.stringify({ number: "ZB20260001", title })
          )
        })
    )

    it.scopedLive(`R64: a connection dropped after the request was read → Unknown (${name})`, () =>
      Effect.gen(function* () {
        const { fake, sender } = yield* setup({}, transport)
        fake.script.push(Fake.drop)
        const result = yield* sender.send(message())
        assert.strictEqual(result._tag, "Unknown")
        assert.strictEqual(fake.requests.length, 1)
      })
    )

    it.scopedLive(`R64: a 503 whose body is cut off → RetryLater: the status decides (${name})`, () =>
      Effect.gen(function* () {
        const { fake, sender } = yield* setup({}, transport)
        fake.script.push(Fake.cut(503))
        const result = yield* sender.send(message())
        assert.strictEqual(result._tag, "RetryLater")
        assert.include((result as { reason: string }).reason, "HTTP 503")
      })
    )

    it.scopedLive(`R64: a refused connection sent nothing → RetryLater (${name})`, () =>
      Effect.gen(function* () {
        const port = yield* Fake.closedPort
        const built = yield* Layer.build(transport)
        const sender = yield* AliyunSms.make(options(`http://127.0.0.1:${port}/`)).pipe(Effect.provide(built))
        const result = yield* sender.send(message())
        assert.strictEqual(result._tag, "RetryLater")
        assert.include((result as { reason: string }).reason, "ECONNREFUSED")
      })
    )
  }

  it.scopedLive(
    "R64: a request the transport cannot build is Configuration, naming why without the URL",
    () =>
      Effect.gen(function* () {
        const built = yield* Layer.build(Transport.layerNode())
        const sender = yield* AliyunSms.make(options("ftp://127.0.0.1/")).pipe(Effect.provide(built))
        const result = yield* sender.send(message())
        assert.strictEqual(result._tag, "Configuration")
        const reason = (result as { reason: string }).reason
        assert.strictEqual(reason, "阿里云：请求无法构造（ERR_INVALID_PROTOCOL），请检查发送方的配置")
        assert.notInclude(reason, "13812345678")
      })
  )

  it.scopedLive(
    "R64: a failure after the transport saw the connection made is Unknown whatever its code (EHOSTUNREACH, ENETUNREACH, ENETDOWN), not RetryLater",
    () =>
      Effect.gen(function* () {
        for (const code of ["EHOSTUNREACH", "ENETUNREACH", "ENETDOWN"]) {
          const failing = (sent: boolean | undefined) =>
            Layer.succeed(
              Transport.Transport,
              Transport.Transport.of({
                post: () =>
                  Effect.fail(
                    new Transport.TransportError({
                      reason: "Transport",
                      cause: Object.assign(new Error(`read ${code}`), { code }),
                      sent
                    })
                  )
              })
            )
          const sendOver = (sent: boolean | undefined) =>
            Effect.flatMap(Layer.build(failing(sent)), (built) =>
              Effect.flatMap(
                AliyunSms.make(options("http://127.0.0.1:1/")).pipe(Effect.provide(built)),
                (sender) => sender.send(message())
              )
            )
          const made = yield* sendOver(true)
          assert.strictEqual(made._tag, "Unknown", code)
          assert.include((made as { reason: string }).reason, code)
          assert.strictEqual((yield* sendOver(false))._tag, "RetryLater", code)
          assert.strictEqual((yield* sendOver(undefined))._tag, "RetryLater", code)
        }
      })
  )

  it.scopedLive("R64: a transport's defect is Unknown (it may have come after the request was written)", () =>
    Effect.gen(function* () {
      const broken = Layer.succeed(
        Transport.Transport,
        Transport.Transport.of({ post: () => Effect.die(new Error("socket state corrupted")) })
      )
      const built = yield* Layer.build(broken)
      const sender = yield* AliyunSms.make(options("http://127.0.0.1:1/")).pipe(Effect.provide(built))
      const result = yield* sender.send(message())
      assert.strictEqual(result._tag, "Unknown")
    })
  )

  it.scopedLive(
    "R64: a defect of the host's HttpClient is Unknown: it may have come after the request was written",
    () =>
      Effect.gen(function* () {
        const broken = Layer.succeed(
          HttpClient.HttpClient,
          HttpClient.make(() => Effect.die(new Error("client state corrupted")))
        )
        const built = yield* Layer.build(Transport.layerHttpClient.pipe(Layer.provide(broken)))
        const sender = yield* AliyunSms.make(options("http://127.0.0.1:1/")).pipe(Effect.provide(built))
        assert.strictEqual((yield* sender.send(message()))._tag, "Unknown")
      })
  )

  it.scopedLive(
    "R64: a send is a client span AliyunSms.send with the ids, around the request; with tracing off there is none",
    () =>
      Effect.gen(function* () {
        const around: Array<string | undefined> = []
        const observed = Layer.effect(
          Transport.Transport,
          Effect.map(Transport.Transport, (node) =>
            Transport.Transport.of({
              post: (request, timeoutMillis) =>
                Effect.zipRight(
                  Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
                    Effect.sync(() => around.push(Option.getOrUndefined(span)?.name))
                  ),
                  node.post(request, timeoutMillis)
                )
            })
          )
        ).pipe(Layer.provide(Transport.layerNode()))
        const { fake, sender } = yield* setup({}, observed)
        const base = yield* Effect.tracer
        const spans: Array<Tracer.Span> = []
        const recording = Tracer.make({
          span: (...args) => {
            const span = base.span(...args)
            spans.push(span)
            return span
          },
          context: base.context
        })
        const traced = message()
        const untraced = message()
        assert.strictEqual(tagOf(yield* Effect.withTracer(sender.send(traced), recording)), "Sent")
        assert.strictEqual(
          tagOf(yield* Effect.withTracer(Effect.withTracerEnabled(sender.send(untraced), false), recording)),
          "Sent"
        )
        assert.deepStrictEqual(
          spans.map((span) => [span.name, span.kind, Object.fromEntries(span.attributes)]),
          [
            [
              "AliyunSms.send",
              "client",
              {
                "sms.provider": "aliyun",
                "sms.template_id": traced.templateId,
                "sms.message_id": traced.messageId
              }
            ]
          ]
        )
        assert.deepStrictEqual(around, ["AliyunSms.send", undefined])
        assert.deepStrictEqual(
          fake.requests.map((r) => paramsOf(r).OutId),
          [traced.messageId, untraced.messageId]
        )
      })
  )

  it.scopedLive("R64: an invalid number is Permanent without calling the provider", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup()
      assert.strictEqual(tagOf(yield* sender.send(message({ phone: "12345" }))), "Permanent")
      assert.strictEqual(tagOf(yield* sender.send(message({ phone: "+86 10 6552 9988" }))), "Permanent")
      assert.strictEqual(fake.requests.length, 0)
    })
  )

  it.scopedLive(
    "R64: the throttle answers RetryLater with retryAfterMillis without calling the provider",
    () =>
      Effect.gen(function* () {
        const { fake, sender } = yield* setup({ throttle: undefined })
        assert.strictEqual(tagOf(yield* sender.send(message())), "Sent")
        const second = yield* sender.send(message({ phone: "13812345678" }))
        assert.strictEqual(second._tag, "RetryLater")
        const after = second._tag === "RetryLater" ? (second.retryAfterMillis ?? 0) : 0
        assert.isTrue(after > 30_000 && after <= 35_000)
        assert.strictEqual(fake.requests.length, 1)
        assert.strictEqual(tagOf(yield* sender.send(message({ phone: "+8613912345678" }))), "Sent")
        assert.strictEqual(fake.requests.length, 2)
      })
  )

  it.scopedLive("R64: a provider refusal gives the throttle's slot back; an unknown outcome keeps it", () =>
    Effect.gen(function* () {
      const { fake, sender } = yield* setup({ throttle: undefined, timeout: "200 millis" })
      fake.script.push(Fake.text(503, "busy"))
      assert.strictEqual(tagOf(yield* sender.send(message())), "RetryLater")
      assert.strictEqual(tagOf(yield* sender.send(message())), "Sent")
      assert.strictEqual(fake.requests.length, 2)
      // An account error (balance) gives it back too: the number is not kept waiting while the account is fixed.
      fake.script.push(Fake.json(200, { Code: "isv.AMOUNT_NOT_ENOUGH", RequestId: "R" }))
      assert.strictEqual(tagOf(yield* sender.send(message({ phone: "+8613612345678" }))), "Configuration")
      assert.strictEqual(tagOf(yield* sender.send(message({ phone: "+8613612345678" }))), "Sent")
      assert.strictEqual(fake.requests.length, 4)
      fake.script.push(Fake.hang)
      assert.strictEqual(tagOf(yield* sender.send(message({ phone: "+8613912345678" }))), "Unknown")
      assert.strictEqual(tagOf(yield* sender.send(message({ phone: "+8613912345678" }))), "RetryLater")
      assert.strictEqual(fake.requests.length, 5)
    })
  )

  it.scopedLive("R64: logs mask numbers and carry no parameter, body or secret", () => {
    const logs = Logs.capture()
    return Effect.gen(function* () {
      const { fake, sender } = yield* setup({ throttle: undefined, timeout: "200 millis" })
      fake.script.push(
        Fake.json(200, { Code: "isv.AMOUNT_NOT_ENOUGH", Message: "13812345678", RequestId: "R1" }),
        Fake.json(200, { Code: "isv.MOBILE_NUMBER_ILLEGAL", Message: "非法手机号", RequestId: "R2" }),
        Fake.hang
      )
      yield* sender.send(message())
      yield* sender.send(message())
      yield* sender.send(message({ phone: "+8613912345678" }))
      yield* sender.send(message({ phone: "+8613912345678" }))
      yield* sender.send(message({ phone: "+8613712345678" }))
      yield* sender.send(message({ phone: "+8613712345678" }))
      yield* sender.send(message({ phone: "123456789012" }))
      const text = logs.lines.join("\n")
      assert.isAbove(logs.lines.length, 5)
      assert.include(text, "138****5678")
      assert.include(text, "139****5678")
      for (const secretText of [
        "13812345678",
        "13912345678",
        "13712345678",
        "123456789012",
        "ZB20260001",
        "石墨烯",
        "TemplateParam",
        "PhoneNumbers",
        secret,
        keyId,
        "Signature="
      ]) {
        assert.notInclude(text, secretText)
      }
    }).pipe(Effect.provide(logs.layer))
  })

  it.scopedLive(
    "R64: layer(options) provides core's SmsSender, which sends through the Transport it is given",
    () =>
      Effect.gen(function* () {
        const fake = yield* Fake.start(aliyun())
        const layer = AliyunSms.layer(options(fake.url)).pipe(Layer.provide(Transport.layerNode()))
        const sender = yield* Effect.map(Layer.build(layer), Context.get(SmsSender.SmsSender))
        assert.strictEqual(tagOf(yield* sender.send(message())), "Sent")
        assert.strictEqual(fake.requests.length, 1)
      })
  )

  it.scopedLive("R64: layerConfig reads keys as Redacted, sign name, endpoint and timeout from Config", () =>
    Effect.gen(function* () {
      const fake = yield* Fake.start(aliyun())
      const provider = ConfigProvider.fromMap(
        new Map([
          ["ALIYUN_SMS_ACCESS_KEY_ID", keyId],
          ["ALIYUN_SMS_ACCESS_KEY_SECRET", secret],
          ["ALIYUN_SMS_SIGN_NAME", "众包平台"],
          ["ALIYUN_SMS_ENDPOINT", fake.url],
          ["ALIYUN_SMS_TIMEOUT", "1 second"],
          ["SMS_THROTTLE_PER_30_SECONDS", "2"]
        ])
      )
      const config = yield* Effect.withConfigProvider(AliyunSms.config, provider)
      assert.strictEqual(String(config.accessKeySecret), "<redacted>")
      assert.strictEqual(config.region, "cn-hangzhou")
      assert.deepStrictEqual(config.throttle?.windows[0], { limit: 2, windowMillis: 35_000 })
      assert.strictEqual(Duration.toMillis(Duration.decode(config.timeout!)), 1_000)
      const layer = AliyunSms.layerConfig().pipe(
        Layer.provide(Layer.merge(Transport.layerNode(), Layer.setConfigProvider(provider)))
      )
      const sender = yield* Effect.map(Layer.build(layer), Context.get(SmsSender.SmsSender))
      assert.strictEqual(tagOf(yield* sender.send(message())), "Sent")
      assert.strictEqual(tagOf(yield* sender.send(message())), "Sent")
      assert.strictEqual(tagOf(yield* sender.send(message())), "RetryLater")
      assert.strictEqual(fake.requests.length, 2)
    })
  )

  it.effect(
    'R64: a missing or blank provider key is refused naming its variable, never as "<redacted>"',
    () =>
      Effect.gen(function* () {
        const full = requiredVariables
        const messageOf = (provider: keyof typeof full, entries: Record<string, string>) => {
          const config: Config.Config<unknown> = provider === "aliyun" ? AliyunSms.config : TencentSms.config
          return Effect.withConfigProvider(
            config,
            ConfigProvider.fromMap(new Map(Object.entries(entries)))
          ).pipe(Effect.flip, Effect.map(String))
        }
        for (const [provider, variable] of [
          ["aliyun", "ALIYUN_SMS_ACCESS_KEY_ID"],
          ["aliyun", "ALIYUN_SMS_ACCESS_KEY_SECRET"],
          ["tencent", "TENCENT_SMS_SECRET_ID"],
          ["tencent", "TENCENT_SMS_SECRET_KEY"]
        ] as const) {
          const { [variable]: _, ...without } = full[provider] as Record<string, string>
          const missing = yield* messageOf(provider, without)
          assert.include(missing, `Expected ${variable} to exist`)
          assert.notInclude(missing, "<redacted>")
          for (const blank of ["", "  "]) {
            const refused = yield* messageOf(provider, { ...full[provider], [variable]: blank })
            assert.include(refused, `${variable} is empty`)
          }
        }
      })
  )

  it.effect(
    "R64: an endpoint that is no http:// or https:// URL (host:port without its scheme), or a timeout of zero, is refused at start naming its variable, not dead-lettered message by message",
    () =>
      Effect.gen(function* () {
        for (const provider of ["aliyun", "tencent"] as const) {
          const config: Config.Config<{ readonly endpoint?: string | undefined }> =
            provider === "aliyun" ? AliyunSms.config : TencentSms.config
          const prefix = provider.toUpperCase()
          const read = (extra: Record<string, string>) =>
            Effect.either(
              Effect.withConfigProvider(
                config,
                ConfigProvider.fromMap(new Map(Object.entries({ ...requiredVariables[provider], ...extra })))
              )
            )
          for (const [variable, value] of [
            [`${prefix}_SMS_ENDPOINT`, "sms-proxy.internal:8443"],
            [`${prefix}_SMS_ENDPOINT`, "ftp://sms.example.com"],
            [`${prefix}_SMS_TIMEOUT`, "0 millis"]
          ] as const) {
            const refused = yield* read({ [variable]: value })
            assert.isTrue(Either.isLeft(refused), `${variable}=${value} was taken`)
            if (Either.isLeft(refused)) assert.include(String(refused.left), variable)
          }
          const taken = yield* read({ [`${prefix}_SMS_ENDPOINT`]: "http://127.0.0.1:8443/" })
          assert.strictEqual(Either.getOrThrow(taken).endpoint, "http://127.0.0.1:8443/")
        }
      })
  )

  it("R64: the senders' default timeouts end before the dispatcher's, so the sender's own classification stands", () => {
    for (const timeout of [AliyunSms.defaultTimeout, TencentSms.defaultTimeout]) {
      assert.isBelow(Duration.toMillis(timeout), Settings.defaults.outbox.sendTimeoutMillis)
    }
  })

  it.scopedLive(
    "R64: an account error is logged at error level, for the operator who must fix it, with the provider's code as its code",
    () => {
      const logs = Logs.capture()
      return Effect.gen(function* () {
        const { fake, sender } = yield* setup()
        fake.script.push(Fake.json(200, { Code: "isv.AMOUNT_NOT_ENOUGH", RequestId: "R" }))
        const m = message()
        assert.strictEqual(tagOf(yield* sender.send(m)), "Configuration")
        const levels = logs.lines.map((line) => JSON.parse(line) as { level: string; message: unknown })
        const configuration = levels.filter((l) => String(l.message).includes("configuration"))
        assert.deepStrictEqual(
          configuration.map((l) => l.level),
          ["ERROR"]
        )
        assert.deepInclude(configuration[0]!.message as Array<unknown>, {
          provider: "aliyun",
          messageId: m.messageId,
          templateId: "SMS_465000001",
          to: "138****5678",
          result: "Configuration",
          code: "isv.AMOUNT_NOT_ENOUGH",
          reason: "阿里云 isv.AMOUNT_NOT_ENOUGH：账户余额不足（请求 R）"
        })
      }).pipe(Effect.provide(logs.layer))
    }
  )

  it("R64: the endpoint follows the region unless given: the central one, but for the regions with an endpoint of their own", () => {
    for (const region of ["cn-hangzhou", "cn-shanghai", "cn-shenzhen", "cn-qingdao", "no-such-region"]) {
      assert.strictEqual(AliyunSms.endpointFor(region), "https://dysmsapi.aliyuncs.com/", region)
    }
    assert.deepStrictEqual(
      ["ap-southeast-1", "ap-southeast-5", "eu-central-1", "us-east-1", "cn-beijing", "cn-hongkong"].map(
        AliyunSms.endpointFor
      ),
      [
        "https://dysmsapi.ap-southeast-1.aliyuncs.com/",
        "https://dysmsapi.ap-southeast-5.aliyuncs.com/",
        "https://dysmsapi.eu-central-1.aliyuncs.com/",
        "https://dysmsapi.us-east-1.aliyuncs.com/",
        "https://dysmsapi-proxy.cn-beijing.aliyuncs.com/",
        "https://dysmsapi-xman.cn-hongkong.aliyuncs.com/"
      ]
    )
  })

  it.scopedLive("R64: the sender's reasons are in its language, Chinese by default, English when set", () =>
    Effect.gen(function* () {
      const zh = yield* setup({ throttle: { windows: [{ limit: 1, windowMillis: 60_000 }] } })
      const en = yield* setup({ language: "en", throttle: { windows: [{ limit: 1, windowMillis: 60_000 }] } })
      const codes: Array<string | undefined> = []
      const reasonOf = (result: SmsSender.SendResult) => {
        codes.push((result as { code?: string }).code)
        return (result as { reason: string }).reason
      }
      const balance = { Code: "isv.AMOUNT_NOT_ENOUGH", Message: "余额不足", RequestId: "R2" }
      zh.fake.script.push(Fake.json(200, balance))
      en.fake.script.push(Fake.json(200, balance))
      assert.strictEqual(
        reasonOf(yield* zh.sender.send(message())),
        "阿里云 isv.AMOUNT_NOT_ENOUGH：账户余额不足（请求 R2）"
      )
      assert.strictEqual(
        reasonOf(yield* en.sender.send(message())),
        "aliyun isv.AMOUNT_NOT_ENOUGH: balance insufficient (request R2)"
      )
      assert.strictEqual(
        reasonOf(yield* zh.sender.send(message({ phone: "12345" }))),
        "阿里云：未发送（不是有效的电话号码）"
      )
      assert.strictEqual(
        reasonOf(yield* en.sender.send(message({ phone: "+86 10 6552 9988" }))),
        "aliyun not called: not a mobile number (fixed_line)"
      )
      const other = "+8613912345678"
      assert.strictEqual((yield* zh.sender.send(message({ phone: other })))._tag, "Sent")
      assert.strictEqual(
        reasonOf(yield* zh.sender.send(message({ phone: other }))),
        "已限流：本发送方对该号码的发送频率已达上限，未调用服务商"
      )
      assert.strictEqual((yield* en.sender.send(message({ phone: other })))._tag, "Sent")
      assert.strictEqual(
        reasonOf(yield* en.sender.send(message({ phone: other }))),
        "throttled: per-number limit of this sender reached"
      )
      const built = yield* Layer.build(Transport.layerNode())
      const unbuildable = yield* AliyunSms.make(options("ftp://127.0.0.1/", { language: "en" })).pipe(
        Effect.provide(built)
      )
      assert.strictEqual(
        reasonOf(yield* unbuildable.send(message())),
        "aliyun request could not be built (ERR_INVALID_PROTOCOL)"
      )
      const port = yield* Fake.closedPort
      for (const [language, expected] of [
        ["en", "aliyun not reached: the connection was not made (ECONNREFUSED)"],
        ["zh-CN", "阿里云：未能连接（ECONNREFUSED）"]
      ] as const) {
        const refused = yield* AliyunSms.make(options(`http://127.0.0.1:${port}/`, { language })).pipe(
          Effect.provide(built)
        )
        assert.strictEqual(reasonOf(yield* refused.send(message())), expected)
      }
      assert.deepStrictEqual(codes, [
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.AMOUNT_NOT_ENOUGH",
        "sender.invalid_number",
        "sender.invalid_number",
        "sender.throttled",
        "sender.throttled",
        "sender.request_invalid",
        "sender.not_reached",
        "sender.not_reached"
      ])
    })
  )

  it.effect("R64: SMS_LANGUAGE sets the reasons' language: zh-CN by default, en, nothing else", () =>
    Effect.gen(function* () {
      const read = (entries: ReadonlyArray<readonly [string, string]>) =>
        Effect.either(
          Effect.withConfigProvider(
            AliyunSms.config,
            ConfigProvider.fromMap(
              new Map([
                ["ALIYUN_SMS_ACCESS_KEY_ID", keyId],
                ["ALIYUN_SMS_ACCESS_KEY_SECRET", secret],
                ["ALIYUN_SMS_SIGN_NAME", "众包平台"],
                ...entries
              ])
            )
          )
        )
      const unset = yield* read([])
      assert.strictEqual(Either.getOrThrow(unset).language, "zh-CN")
      const english = yield* read([["SMS_LANGUAGE", "en"]])
      assert.strictEqual(Either.getOrThrow(english).language, "en")
      const french = yield* read([["SMS_LANGUAGE", "fr"]])
      assert.isTrue(Either.isLeft(french))
      if (Either.isLeft(french)) assert.include(String(french.left), "SMS_LANGUAGE")
    })
  )

  it.scopedLive(
    "R64: a number written with separators is masked by its digits in the logs, the mask no wider",
    () => {
      const logs = Logs.capture()
      return Effect.gen(function* () {
        const { fake, sender } = yield* setup()
        const result = yield* sender.send(message({ phone: "138 1234 56" }))
        assert.strictEqual(result._tag, "Permanent")
        assert.strictEqual(fake.requests.length, 0, "refused without a request")
        const text = logs.lines.join("\n")
        assert.include(text, '"to":"13****56"')
        assert.notInclude(text, "1234")
      }).pipe(Effect.provide(logs.layer))
    }
  )
})
