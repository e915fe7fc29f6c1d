/**
 * Core's `SmsSender` over Aliyun (阿里云短信服务) SendSms, API version
 * `2017-05-25`, signed with signature V3 (`ACS3-HMAC-SHA256`), through the
 * `Transport` in context (`Transport.layerUndici`, `Transport.layerNode`, or `Transport.layerHttpClient` over
 * an @effect/platform `HttpClient`).
 *
 * Each request: the number is normalised (an invalid one is answered `Permanent`
 * without a request), the per-number throttle is consulted, then one
 * `POST https://dysmsapi.aliyuncs.com/?…` carries `PhoneNumbers`, `SignName`,
 * `TemplateCode` (the message's `templateId`), `TemplateParam` (the message's
 * parameters as a JSON string, by name) and `OutId` (the outbox message id,
 * echoed in delivery receipts) in the signed query string, as Aliyun's own SDK
 * sends them; the body is empty. The reply is classified by `Classify.aliyun`.
 *
 * With tracing on, the sender opens a span `AliyunSms.send` with the template and
 * message ids (with tracing off, none: not even a no-op one); the transport records
 * none (an `HttpClient`'s span would record the full URL, number and parameters
 * included).
 *
 * @since 0.1.0
 */
import { SmsSender } from "@zhongbao/core"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Classify from "./Classify.js"
import { hmacSha256, nonce, sha256Hex } from "./internal/crypto.js"
import { endpoint, timeout } from "./internal/config.js"
import { secret } from "./internal/secret.js"
import { deliver, sendWith } from "./internal/exchange.js"
import * as Phone from "./Phone.js"
import * as Throttle from "./Throttle.js"
import * as Transport from "./Transport.js"

/**
 * The signature algorithm's name.
 *
 * @since 0.1.0
 * @category signing
 */
export const algorithm = "ACS3-HMAC-SHA256"

/**
 * The API action and version.
 *
 * @since 0.1.0
 * @category constants
 */
export const api = { action: "SendSms", version: "2017-05-25" } as const

const unreserved = /^[A-Za-z0-9\-_.~]*$/
const reservedByRfc3986 = /[!'()*]/
const reservedByRfc3986Global = /[!'()*]/g

/**
 * RFC 3986 percent-encoding as the signature requires: everything but
 * `A–Z a–z 0–9 - _ . ~` is encoded, UTF-8, upper-case hex (space is `%20`).
 *
 * @since 0.1.0
 * @category signing
 */
export const percentEncode = (value: string): string => {
  if (unreserved.test(value)) return value
  const encoded = encodeURIComponent(value)
  return reservedByRfc3986.test(encoded)
    ? encoded.replace(reservedByRfc3986Global, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    : encoded
}

/**
 * The canonical query string: parameters sorted by name, names and values
 * percent-encoded, joined with `=` and `&`.
 *
 * @since 0.1.0
 * @category signing
 */
export const canonicalQuery = (query: Readonly<Record<string, string>>): string =>
  Object.keys(query)
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(query[name]!)}`)
    .join("&")

let dateSecond = Number.NaN
let dateText = ""

/**
 * `x-acs-date`: UTC ISO 8601 to the second, `2025-03-01T08:00:00Z`. The text of the
 * latest second is kept: every message sent within that second carries it.
 *
 * @since 0.1.0
 * @category signing
 */
export const formatDate = (epochMillis: number): string => {
  const second = Math.floor(epochMillis / 1000)
  if (second !== dateSecond) {
    dateText = new Date(second * 1000).toISOString().replace(/\.000Z$/, "Z")
    dateSecond = second
  }
  return dateText
}

/**
 * What a request signature covers.
 *
 * @since 0.1.0
 * @category signing
 */
export interface SignInput {
  readonly method: string
  readonly host: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly body: string
  readonly action: string
  readonly version: string
  readonly date: string
  readonly nonce: string
  readonly accessKeyId: Redacted.Redacted<string>
  readonly accessKeySecret: Redacted.Redacted<string>
}

/**
 * A signed request: the query string to send and the headers to add (`host` is
 * signed but set by the HTTP client from the URL).
 *
 * @since 0.1.0
 * @category signing
 */
export interface Signed {
  readonly queryString: string
  readonly headers: Readonly<Record<string, string>>
  readonly signedHeaders: string
  readonly signature: string
}

/**
 * Signs a request with signature V3: the canonical request (method, path, sorted
 * query, sorted lower-case `name:value` header lines, signed header names, body
 * hash), its SHA-256 behind `ACS3-HMAC-SHA256\n`, and the HMAC-SHA256 of that
 * with the secret. Signed headers: `host` and every `x-acs-*` header.
 *
 * @since 0.1.0
 * @category signing
 */
export const sign = (input: SignInput): Signed => {
  const payloadHash = sha256Hex(input.body)
  const toSign: Record<string, string> = {
    host: input.host,
    "x-acs-action": input.action,
    "x-acs-content-sha256": payloadHash,
    "x-acs-date": input.date,
    "x-acs-signature-nonce": input.nonce,
    "x-acs-version": input.version
  }
  const names = Object.keys(toSign).sort()
  const canonicalHeaders = names.map((name) => `${name}:${toSign[name]!.trim()}\n`).join("")
  const signedHeaders = names.join(";")
  const queryString = canonicalQuery(input.query)
  const path = input.path === "" ? "/" : input.path.split("/").map(percentEncode).join("/")
  const canonicalRequest = [
    input.method.toUpperCase(),
    path,
    queryString,
    canonicalHeaders,
    signedHeaders,
    payloadHash
  ].join("\n")
  const stringToSign = `${algorithm}\n${sha256Hex(canonicalRequest)}`
  const signature = hmacSha256(Redacted.value(input.accessKeySecret), stringToSign).toString("hex")
  const { host: _host, ...headers } = toSign
  return {
    queryString,
    signedHeaders,
    signature,
    headers: {
      ...headers,
      authorization: `${algorithm} Credential=${Redacted.value(input.accessKeyId)},SignedHeaders=${signedHeaders},Signature=${signature}`
    }
  }
}

/**
 * The sender's settings. `endpoint` overrides the one derived from `region`
 * (tests point it at a local server); `timeout` bounds each request, keep it
 * below the dispatcher's `outbox.sendTimeoutMillis`; `throttle` defaults to
 * {@link Throttle.defaults}, `{ windows: [] }` turns it off; `language` is the
 * reasons' ({@link Classify.Language}, Chinese by default).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly accessKeyId: Redacted.Redacted<string>
  readonly accessKeySecret: Redacted.Redacted<string>
  readonly signName: string
  readonly region?: string | undefined
  readonly endpoint?: string | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly throttle?: Throttle.Options | undefined
  readonly language?: Classify.Language | undefined
}

/**
 * `cn-hangzhou`, whose endpoint is `dysmsapi.aliyuncs.com`.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultRegion = "cn-hangzhou"

/**
 * Five seconds.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(5)

/**
 * The hosts of the regions that have one of their own. Dysmsapi is a central
 * product: every other region, the mainland's but Beijing, is served at
 * `dysmsapi.aliyuncs.com` (there is no `dysmsapi.cn-shanghai.aliyuncs.com`). As
 * Aliyun's SDKs map them (`dysmsapi` 2017-05-25, endpoint type "central").
 */
const regionalHosts: Readonly<Record<string, string>> = {
  "cn-beijing": "dysmsapi-proxy.cn-beijing.aliyuncs.com",
  "cn-hongkong": "dysmsapi-xman.cn-hongkong.aliyuncs.com",
  "ap-southeast-1": "dysmsapi.ap-southeast-1.aliyuncs.com",
  "ap-southeast-5": "dysmsapi.ap-southeast-5.aliyuncs.com",
  "eu-central-1": "dysmsapi.eu-central-1.aliyuncs.com",
  "us-east-1": "dysmsapi.us-east-1.aliyuncs.com"
}

/**
 * The public endpoint of a region: the region's own host for the few that have
 * one (Beijing, Hong Kong, Singapore, Jakarta, Frankfurt, Virginia), else the
 * central `https://dysmsapi.aliyuncs.com/`. Give `endpoint` for a VPC endpoint or
 * a host this list does not know.
 *
 * @since 0.1.0
 * @category defaults
 */
export const endpointFor = (region: string): string =>
  `https://${Object.hasOwn(regionalHosts, region) ? regionalHosts[region] : "dysmsapi.aliyuncs.com"}/`

type Sender = Context.Tag.Service<SmsSender.SmsSender>

/**
 * A sender over the `Transport` in context, throttled.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Sender, never, Transport.Transport> =>
  Effect.gen(function* () {
    const transport = yield* Transport.Transport
    const url = yield* Effect.try(
      () => new URL(options.endpoint ?? endpointFor(options.region ?? defaultRegion))
    ).pipe(Effect.orElse(() => Effect.dieMessage("AliyunSms: the endpoint is not a URL")))
    const timeoutMillis = Duration.toMillis(Duration.decode(options.timeout ?? defaultTimeout))
    const language = options.language ?? Classify.defaultLanguage

    const call = (request: SmsSender.SmsRequest, phone: string, nowMillis: number) => {
      const query: Record<string, string> = {
        PhoneNumbers: Phone.toAliyun(phone),
        SignName: options.signName,
        TemplateCode: request.templateId,
        OutId: request.messageId
      }
      if (Object.keys(request.params).length > 0) query.TemplateParam = JSON.stringify(request.params)
      const signed = sign({
        method: "POST",
        host: url.host,
        path: url.pathname,
        query,
        body: "",
        action: api.action,
        version: api.version,
        date: formatDate(nowMillis),
        nonce: nonce(),
        accessKeyId: options.accessKeyId,
        accessKeySecret: options.accessKeySecret
      })
      const httpRequest: Transport.Request = {
        url: `${url.origin}${url.pathname}?${signed.queryString}`,
        headers: { ...signed.headers, accept: "application/json" },
        body: ""
      }
      return deliver(
        "aliyun",
        language,
        transport,
        httpRequest,
        timeoutMillis,
        request,
        phone,
        (reply, now) => Classify.aliyun(reply.status, reply.body, now, language)
      )
    }

    const send = (request: SmsSender.SmsRequest): Effect.Effect<SmsSender.SendResult> =>
      sendWith("aliyun", language, "AliyunSms.send", request, (phone, now) => call(request, phone, now))

    const raw = SmsSender.SmsSender.of({ send })
    return Throttle.wrap(yield* Throttle.make(options.throttle ?? Throttle.defaults), language)(raw)
  })

/**
 * Settings from the environment: `ALIYUN_SMS_ACCESS_KEY_ID`,
 * `ALIYUN_SMS_ACCESS_KEY_SECRET` (both `Redacted`), `ALIYUN_SMS_SIGN_NAME`,
 * `ALIYUN_SMS_REGION` (default `cn-hangzhou`), `ALIYUN_SMS_ENDPOINT` (optional),
 * `ALIYUN_SMS_TIMEOUT` (a duration, default `5 seconds`), the throttle's
 * `SMS_THROTTLE_*` ({@link Throttle.config}) and `SMS_LANGUAGE`
 * ({@link Classify.languageConfig}).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  accessKeyId: secret("ALIYUN_SMS_ACCESS_KEY_ID"),
  accessKeySecret: secret("ALIYUN_SMS_ACCESS_KEY_SECRET"),
  signName: Config.nonEmptyString("ALIYUN_SMS_SIGN_NAME"),
  region: Config.nonEmptyString("ALIYUN_SMS_REGION").pipe(Config.withDefault(defaultRegion)),
  endpoint: endpoint("ALIYUN_SMS_ENDPOINT"),
  timeout: timeout("ALIYUN_SMS_TIMEOUT", defaultTimeout),
  throttle: Throttle.config,
  language: Classify.languageConfig
})

/**
 * The sender as core's `SmsSender`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<SmsSender.SmsSender, never, Transport.Transport> =>
  Layer.effect(SmsSender.SmsSender, make(options))

/**
 * The sender as core's `SmsSender`, configured by {@link config} or the given
 * `Config`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  settings: Config.Config<Options> = config
): Layer.Layer<SmsSender.SmsSender, ConfigError.ConfigError, Transport.Transport> =>
  Layer.effect(SmsSender.SmsSender, Effect.flatMap(settings, make))
