import { Member, SmsSender } from "@zhongbao/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as LogLevel from "effect/LogLevel"
import * as Classify from "../Classify.js"
import * as Phone from "../Phone.js"
import { inParens, phrase } from "./reason.js"
import type * as Transport from "../Transport.js"

const Result = SmsSender.SendResult

/** @internal A reply that arrived: its status and its body parsed as JSON (`undefined` if it is not JSON). */
export interface Reply {
  readonly status: number
  readonly body: unknown
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * @internal
 * Sends one request through the transport. Failures become results: a timeout or a
 * failure after the request may have been written (whatever its code once the
 * transport says the connection was made) is `Unknown`, a connection that was never
 * made is `RetryLater`, an unreadable body is `Unknown` after a success
 * status and `RetryLater` after a 5xx, a request that could not be built is
 * `Configuration`, a transport's defect is a transport failure (`Unknown`: it may
 * have come after the request was written). Interruption passes through.
 */
export const exchange = (
  provider: Classify.Provider,
  transport: Transport.Transport["Type"],
  request: Transport.Request,
  timeoutMillis: number,
  language: Classify.Language
): Effect.Effect<Either.Either<Reply, SmsSender.SendResult>> =>
  Effect.catchAllDefect(
    Effect.match(transport.post(request, timeoutMillis), {
      onSuccess: (reply) => Either.right<Reply>({ status: reply.status, body: parse(reply.body) }),
      onFailure: (error) => Either.left(failure(provider, error, timeoutMillis, language))
    }),
    (defect) => Effect.succeed(Either.left(Classify.transport(provider, defect, undefined, language)))
  )

/**
 * What names a request error without quoting it: its `code` (`ERR_INVALID_URL` …),
 * an `HttpClient` error's `reason` (`InvalidUrl`, `Encode`), else its name. Never the
 * message, which may hold the URL and with it the number and parameters.
 */
const detailOf = (cause: unknown): string | undefined => {
  if (typeof cause !== "object" || cause === null) return undefined
  const error = cause as { code?: unknown; reason?: unknown; name?: unknown }
  return [error.code, error.reason, error.name].find(
    (token): token is string => typeof token === "string" && /^[A-Za-z][A-Za-z0-9_.]{0,39}$/.test(token)
  )
}

const failure = (
  provider: Classify.Provider,
  error: Transport.TransportError,
  timeoutMillis: number,
  language: Classify.Language
): SmsSender.SendResult => {
  if (error.sent === false && error.reason !== "Request") {
    const detail = detailOf(error.cause)
    return Result.RetryLater({
      reason: phrase(language, provider, {
        en: `not reached: the connection was not made${inParens("en", detail)}`,
        zh: `未能连接${inParens("zh-CN", detail)}`
      }),
      code: "sender.not_reached"
    })
  }
  switch (error.reason) {
    case "Timeout":
      return Classify.timeout(provider, timeoutMillis, language)
    case "Request": {
      const detail = detailOf(error.cause)
      return Result.Configuration({
        reason: phrase(language, provider, {
          en: `request could not be built${inParens("en", detail)}`,
          zh: `请求无法构造${inParens("zh-CN", detail)}，请检查发送方的配置`
        }),
        code: "sender.request_invalid"
      })
    }
    case "Transport":
      return (
        (error.status === undefined ? undefined : Classify.httpStatus(provider, error.status, language)) ??
        Classify.transport(provider, error.cause ?? error, error.sent, language)
      )
  }
}

/**
 * @internal
 * Masks a number for logs as core does (`138****5678`); input that is not a
 * number is reduced to its digits first, so separators cannot widen the mask.
 */
export const mask = (phone: string): string => Member.maskPhone(`+${phone.replace(/\D/g, "")}`)

const levels: Record<SmsSender.SendResult["_tag"], readonly [LogLevel.LogLevel, string]> = {
  Sent: [LogLevel.Debug, "sms sent"],
  RetryLater: [LogLevel.Info, "sms to retry"],
  Permanent: [LogLevel.Warning, "sms not sent"],
  Unknown: [LogLevel.Warning, "sms not sent"],
  Configuration: [LogLevel.Error, "sms provider configuration"]
}

/**
 * @internal
 * Logs a result with the number masked; never parameters or bodies. Nothing is
 * built when the result's level is not logged (a sent message logs at debug).
 */
export const logResult = (
  provider: string,
  request: SmsSender.SmsRequest,
  phone: string,
  result: SmsSender.SendResult
): Effect.Effect<void> => {
  const [level, message] = levels[result._tag]
  return Effect.asVoid(
    Effect.whenLogLevel(
      Effect.suspend(() =>
        Effect.logWithLevel(level, message, {
          provider,
          messageId: request.messageId,
          templateId: request.templateId,
          to: mask(phone),
          result: result._tag,
          ...(result._tag === "Sent"
            ? { providerMessageId: result.providerMessageId }
            : { code: result.code, reason: result.reason })
        })
      ),
      level
    )
  )
}

/** @internal `result`, once logged by {@link logResult}. */
export const logged = (
  provider: string,
  request: SmsSender.SmsRequest,
  phone: string,
  result: SmsSender.SendResult
): Effect.Effect<SmsSender.SendResult> => Effect.as(logResult(provider, request, phone, result), result)

/**
 * @internal
 * One provider call from request to result: the exchange, the provider's
 * classification of the reply it answered, and the masked log line.
 */
export const deliver = (
  provider: Classify.Provider,
  language: Classify.Language,
  transport: Transport.Transport["Type"],
  httpRequest: Transport.Request,
  timeoutMillis: number,
  request: SmsSender.SmsRequest,
  phone: string,
  classify: (reply: Reply, nowMillis: number) => SmsSender.SendResult
): Effect.Effect<SmsSender.SendResult> =>
  Effect.flatMap(exchange(provider, transport, httpRequest, timeoutMillis, language), (reply) =>
    Effect.flatMap(
      Either.isLeft(reply)
        ? Effect.succeed(reply.left)
        : Effect.map(Clock.currentTimeMillis, (now) => classify(reply.right, now)),
      (result) => logged(provider, request, phone, result)
    )
  )

/**
 * @internal
 * One send of a provider's sender, in a span `<spanName>` with the template and
 * message ids: a number that does not normalise is `Permanent` without a call;
 * otherwise `call` gets the E.164 number and the clock's time.
 *
 * With tracing off there is no span. `Effect.withSpan` would still make a no-op one
 * and provide it, which copies the fiber's whole context and its fiber refs: about
 * 7 KB allocated per message in the example server (issue 8's P4).
 */
export const sendWith = (
  provider: Classify.Provider,
  language: Classify.Language,
  spanName: string,
  request: SmsSender.SmsRequest,
  call: (phone: string, nowMillis: number) => Effect.Effect<SmsSender.SendResult>
): Effect.Effect<SmsSender.SendResult> => {
  const phone = Phone.normalize(request.phone, "CN", language)
  const sent = Either.isLeft(phone)
    ? logged(
        provider,
        request,
        request.phone,
        Result.Permanent({
          reason: phrase(language, provider, {
            en: `not called: ${phone.left}`,
            zh: `未发送（${phone.left}）`
          }),
          code: "sender.invalid_number"
        })
      )
    : Effect.flatMap(Clock.currentTimeMillis, (now) => call(phone.right, now))
  return Effect.withFiberRuntime((fiber) =>
    fiber.getFiberRef(FiberRef.currentTracerEnabled)
      ? Effect.withSpan(sent, spanName, {
          kind: "client",
          captureStackTrace: false,
          attributes: {
            "sms.provider": provider,
            "sms.template_id": request.templateId,
            "sms.message_id": request.messageId
          }
        })
      : sent
  )
}
