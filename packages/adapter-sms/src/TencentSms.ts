/**
 * Core's `SmsSender` over Tencent Cloud (腾讯云短信) SendSms, API 3.0 version
 * `2021-01-11`, signed with `TC3-HMAC-SHA256`, through the `Transport` in context
 * (`Transport.layerUndici`, `Transport.layerNode`, or `Transport.layerHttpClient` over an @effect/platform
 * `HttpClient`).
 *
 * Each request: the number is normalised to E.164 (an invalid one is answered
 * `Permanent` without a request), the per-number throttle is consulted, then one
 * `POST https://sms.tencentcloudapi.com/` carries a JSON body with
 * `PhoneNumberSet` (the one number), `SmsSdkAppId`, `SignName`, `TemplateId`,
 * `TemplateParamSet` and `SessionContext` (the outbox message id). Failures of a
 * number arrive with HTTP 200 inside `SendStatusSet`; the number's own entry is
 * read (`Classify.tencent`).
 *
 * **Parameter order.** Tencent templates take positional parameters
 * (`{1}`, `{2}`, …) while an outbox message carries its parameters by name. The
 * order is the template's `params` in core's settings (`smsTemplates`, per event
 * a `templateId` and its parameter names in order): {@link layer} and
 * {@link layerConfig} read core's `Settings` from context and look each message
 * up by `templateId`. A template id that settings do not know is answered
 * `Configuration` without a request; one template id listed with two different
 * orders fails the layer.
 *
 * @since 0.1.0
 */
import { Settings, SmsSender } from "@zhongbao/core"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Classify from "./Classify.js"
import { hmacSha256, sha256Hex } from "./internal/crypto.js"
import { endpoint, timeout } from "./internal/config.js"
import { secret } from "./internal/secret.js"
import { deliver, logged, sendWith } from "./internal/exchange.js"
import { phrase } from "./internal/reason.js"
import * as Throttle from "./Throttle.js"
import * as Transport from "./Transport.js"

/**
 * The signature algorithm's name.
 *
 * @since 0.1.0
 * @category signing
 */
export const algorithm = "TC3-HMAC-SHA256"

/**
 * The API action, version and service name.
 *
 * @since 0.1.0
 * @category constants
 */
export const api = { action: "SendSms", version: "2021-01-11", service: "sms" } as const

/**
 * The request body's content type, exactly as it is signed.
 *
 * @since 0.1.0
 * @category constants
 */
export const contentType = "application/json; charset=utf-8"

/**
 * What a request signature covers.
 *
 * @since 0.1.0
 * @category signing
 */
export interface SignInput {
  readonly host: string
  readonly payload: string
  /** Unix time in seconds, also sent as `X-TC-Timestamp`. */
  readonly timestamp: number
  readonly secretId: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
  readonly service?: string | undefined
}

/**
 * A signature: the `Authorization` header and its parts.
 *
 * @since 0.1.0
 * @category signing
 */
export interface Signed {
  readonly authorization: string
  readonly scope: string
  readonly signature: string
}

/**
 * Signs a `POST /` with a JSON body: canonical request over `content-type` and
 * `host`, credential scope `<UTC date>/<service>/tc3_request`, signing key derived
 * from `"TC3" + SecretKey` through the date, the service and `tc3_request`.
 *
 * @since 0.1.0
 * @category signing
 */
export const sign = (input: SignInput): Signed => {
  const service = input.service ?? api.service
  const date = new Date(input.timestamp * 1000).toISOString().slice(0, 10)
  const canonicalHeaders = `content-type:${contentType}\nhost:${input.host.trim().toLowerCase()}\n`
  const signedHeaders = "content-type;host"
  const canonicalRequest = ["POST", "/", "", canonicalHeaders, signedHeaders, sha256Hex(input.payload)].join(
    "\n"
  )
  const scope = `${date}/${service}/tc3_request`
  const stringToSign = [algorithm, String(input.timestamp), scope, sha256Hex(canonicalRequest)].join("\n")
  const kDate = hmacSha256(`TC3${Redacted.value(input.secretKey)}`, date)
  const kService = hmacSha256(kDate, service)
  const kSigning = hmacSha256(kService, "tc3_request")
  const signature = hmacSha256(kSigning, stringToSign).toString("hex")
  return {
    scope,
    signature,
    authorization: `${algorithm} Credential=${Redacted.value(input.secretId)}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
  }
}

/**
 * Parameter names in order, per template id.
 *
 * @since 0.1.0
 * @category models
 */
export type Templates = ReadonlyMap<string, ReadonlyArray<string>>

/**
 * The parameter order of every template in core's settings, or the first
 * template id that two events list with different orders.
 *
 * @since 0.1.0
 * @category templates
 */
export const templatesFromSettings = (
  settings: Pick<Settings.PlatformSettings, "smsTemplates">
): Either.Either<Templates, string> => {
  const templates = new Map<string, ReadonlyArray<string>>()
  for (const template of Object.values(settings.smsTemplates)) {
    const known = templates.get(template.templateId)
    if (known !== undefined && known.join("\u0000") !== template.params.join("\u0000")) {
      return Either.left(template.templateId)
    }
    templates.set(template.templateId, template.params)
  }
  return Either.right(templates)
}

/**
 * The sender's settings. `sdkAppId` is the SMS application's `SmsSdkAppId`;
 * `endpoint` overrides the public one (tests point it at a local server);
 * `timeout` bounds each request, keep it below the dispatcher's
 * `outbox.sendTimeoutMillis`; `throttle` defaults to {@link Throttle.defaults},
 * `{ windows: [] }` turns it off; `language` is the reasons'
 * ({@link Classify.Language}, Chinese by default).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly secretId: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
  readonly sdkAppId: string
  readonly signName: string
  readonly region?: string | undefined
  readonly endpoint?: string | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly throttle?: Throttle.Options | undefined
  readonly language?: Classify.Language | undefined
}

/**
 * `ap-guangzhou`.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultRegion = "ap-guangzhou"

/**
 * `https://sms.tencentcloudapi.com/`.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultEndpoint = "https://sms.tencentcloudapi.com/"

/**
 * Five seconds.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(5)

type Sender = Context.Tag.Service<SmsSender.SmsSender>

/**
 * A sender over the `Transport` in context with the given template orders,
 * throttled.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options,
  templates: Templates
): Effect.Effect<Sender, never, Transport.Transport> =>
  Effect.gen(function* () {
    const transport = yield* Transport.Transport
    const url = yield* Effect.try(() => new URL(options.endpoint ?? defaultEndpoint)).pipe(
      Effect.orElse(() => Effect.dieMessage("TencentSms: the endpoint is not a URL"))
    )
    const timeoutMillis = Duration.toMillis(Duration.decode(options.timeout ?? defaultTimeout))
    const language = options.language ?? Classify.defaultLanguage
    const region = options.region ?? defaultRegion

    const call = (
      request: SmsSender.SmsRequest,
      phone: string,
      order: ReadonlyArray<string>,
      nowMillis: number
    ) => {
      const payload = JSON.stringify({
        PhoneNumberSet: [phone],
        SmsSdkAppId: options.sdkAppId,
        SignName: options.signName,
        TemplateId: request.templateId,
        TemplateParamSet: order.map((name) => request.params[name] ?? ""),
        SessionContext: request.messageId
      })
      const timestamp = Math.floor(nowMillis / 1000)
      const signed = sign({
        host: url.host,
        payload,
        timestamp,
        secretId: options.secretId,
        secretKey: options.secretKey
      })
      const httpRequest: Transport.Request = {
        url: url.toString(),
        headers: {
          authorization: signed.authorization,
          "content-type": contentType,
          "x-tc-action": api.action,
          "x-tc-version": api.version,
          "x-tc-timestamp": String(timestamp),
          "x-tc-region": region
        },
        body: payload
      }
      return deliver(
        "tencent",
        language,
        transport,
        httpRequest,
        timeoutMillis,
        request,
        phone,
        (reply, now) => Classify.tencent(reply.status, reply.body, phone, now, language)
      )
    }

    const send = (request: SmsSender.SmsRequest): Effect.Effect<SmsSender.SendResult> =>
      sendWith("tencent", language, "TencentSms.send", request, (phone, now) => {
        const order = templates.get(request.templateId)
        return order === undefined
          ? logged(
              "tencent",
              request,
              phone,
              SmsSender.SendResult.Configuration({
                reason: phrase(language, "tencent", {
                  en: `not called: template ${request.templateId} is not in settings.smsTemplates, its parameter order is unknown`,
                  zh: `未发送（模板 ${request.templateId} 不在 settings.smsTemplates 中，参数顺序未知）`
                }),
                code: "sender.unknown_template"
              })
            )
          : call(request, phone, order, now)
      })

    const raw = SmsSender.SmsSender.of({ send })
    return Throttle.wrap(yield* Throttle.make(options.throttle ?? Throttle.defaults), language)(raw)
  })

/**
 * Settings from the environment: `TENCENT_SMS_SECRET_ID`,
 * `TENCENT_SMS_SECRET_KEY` (both `Redacted`), `TENCENT_SMS_SDK_APP_ID`,
 * `TENCENT_SMS_SIGN_NAME`, `TENCENT_SMS_REGION` (default `ap-guangzhou`),
 * `TENCENT_SMS_ENDPOINT` (optional), `TENCENT_SMS_TIMEOUT` (a duration, default
 * `5 seconds`), the throttle's `SMS_THROTTLE_*` ({@link Throttle.config}) and
 * `SMS_LANGUAGE` ({@link Classify.languageConfig}).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  secretId: secret("TENCENT_SMS_SECRET_ID"),
  secretKey: secret("TENCENT_SMS_SECRET_KEY"),
  sdkAppId: Config.nonEmptyString("TENCENT_SMS_SDK_APP_ID"),
  signName: Config.nonEmptyString("TENCENT_SMS_SIGN_NAME"),
  region: Config.nonEmptyString("TENCENT_SMS_REGION").pipe(Config.withDefault(defaultRegion)),
  endpoint: endpoint("TENCENT_SMS_ENDPOINT"),
  timeout: timeout("TENCENT_SMS_TIMEOUT", defaultTimeout),
  throttle: Throttle.config,
  language: Classify.languageConfig
})

const fromSettings = (options: Options) =>
  Effect.gen(function* () {
    const settings = yield* Settings.Settings
    const templates = yield* Either.mapLeft(templatesFromSettings(settings), (templateId) =>
      ConfigError.InvalidData(
        ["smsTemplates"],
        `template ${templateId} is listed with two different parameter orders; Tencent parameters are positional`
      )
    )
    return yield* make(options, templates)
  })

/**
 * The sender as core's `SmsSender`, with the parameter orders of core's
 * `Settings`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<SmsSender.SmsSender, ConfigError.ConfigError, Transport.Transport | Settings.Settings> =>
  Layer.effect(SmsSender.SmsSender, fromSettings(options))

/**
 * The sender as core's `SmsSender`, configured by {@link config} or the given
 * `Config`, with the parameter orders of core's `Settings`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  settings: Config.Config<Options> = config
): Layer.Layer<SmsSender.SmsSender, ConfigError.ConfigError, Transport.Transport | Settings.Settings> =>
  Layer.effect(SmsSender.SmsSender, Effect.flatMap(settings, fromSettings))
