import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Member, SmsSender } from "@zhongbao/core"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Classify from "../Classify.js"

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
 * Sends one request with a timeout. Failures become results: a timeout or a
 * failure after the request may have been written is `Unknown`, a connection
 * that was never made is `RetryLater`, an unreadable body is `Unknown` after a
 * success status and `RetryLater` after a 5xx. Interruption passes through.
 */
export const exchange = (
  provider: "aliyun" | "tencent",
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  timeout: Duration.Duration
): Effect.Effect<Either.Either<Reply, SmsSender.SendResult>> =>
  Effect.gen(function* () {
    const response = yield* client.execute(request)
    const text = yield* Effect.either(response.text)
    if (Either.isLeft(text)) {
      return Either.left(
        Classify.httpStatus(provider, response.status) ??
          Classify.transport(provider, text.left.cause ?? text.left)
      )
    }
    return Either.right<Reply>({ status: response.status, body: parse(text.right) })
  }).pipe(
    Effect.timeoutFail({ duration: timeout, onTimeout: () => "timeout" as const }),
    Effect.catchAll((error) =>
      Effect.succeed(
        Either.left(
          error === "timeout"
            ? Classify.timeout(provider, timeout)
            : error._tag === "RequestError" && error.reason !== "Transport"
              ? Result.Configuration({ reason: `${provider} request could not be built: ${error.reason}` })
              : Classify.transport(provider, error.cause ?? error)
        )
      )
    ),
    Effect.catchAllDefect((defect) => Effect.succeed(Either.left(Classify.transport(provider, defect))))
  )

/**
 * @internal
 * Masks a number for logs as core does (`138****5678`); input that is not a
 * number is reduced to its digits first, so separators cannot widen the mask.
 */
export const mask = (phone: string): string => Member.maskPhone(`+${phone.replace(/\D/g, "")}`)

/** @internal Logs a result with the number masked; never parameters or bodies. */
export const logResult = (
  provider: string,
  request: SmsSender.SmsRequest,
  phone: string,
  result: SmsSender.SendResult
): Effect.Effect<void> => {
  const annotations = {
    provider,
    messageId: request.messageId,
    templateId: request.templateId,
    to: mask(phone),
    result: result._tag,
    ...(result._tag === "Sent" ? { providerMessageId: result.providerMessageId } : { reason: result.reason })
  }
  switch (result._tag) {
    case "Sent":
      return Effect.logDebug("sms sent", annotations)
    case "RetryLater":
      return Effect.logInfo("sms to retry", annotations)
    case "Permanent":
    case "Unknown":
      return Effect.logWarning("sms not sent", annotations)
    case "Configuration":
      return Effect.logError("sms provider configuration", annotations)
  }
}

/**
 * @internal
 * One provider call from request to result: the exchange, the provider's
 * classification of the reply it answered, and the masked log line.
 */
export const deliver = (
  provider: "aliyun" | "tencent",
  client: HttpClient.HttpClient,
  httpRequest: HttpClientRequest.HttpClientRequest,
  timeout: Duration.Duration,
  request: SmsSender.SmsRequest,
  phone: string,
  classify: (reply: Reply, nowMillis: number) => SmsSender.SendResult
): Effect.Effect<SmsSender.SendResult> =>
  Effect.gen(function* () {
    const reply = yield* exchange(provider, client, httpRequest, timeout)
    const result = Either.isLeft(reply) ? reply.left : classify(reply.right, yield* Clock.currentTimeMillis)
    yield* logResult(provider, request, phone, result)
    return result
  })
