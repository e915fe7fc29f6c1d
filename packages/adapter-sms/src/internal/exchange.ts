import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Member, SmsSender } from "@zhongbao/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
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
 * `self`, or `onTimeout()` once `millis` have passed without its answer; `self` is
 * then interrupted. Cheaper than `Effect.timeout` (which forks `self` and a sleep,
 * races them and joins the winner's fiber refs): one fork and one timer, and the
 * answer arrives as the forked fiber's exit. Interrupting the caller interrupts
 * `self`. The timer is a real one (`setTimeout`), not effect's `Clock`: a
 * provider answers in real time.
 */
export const timeoutTo = <A, E>(
  self: Effect.Effect<A, E>,
  millis: number,
  onTimeout: () => A
): Effect.Effect<A, E> =>
  Effect.flatMap(Effect.forkDaemon(self), (fiber) =>
    Effect.async<A, E>((resume) => {
      const timer = setTimeout(() => {
        fiber.unsafeInterruptAsFork(fiber.id())
        resume(Effect.sync(onTimeout))
      }, millis)
      fiber.addObserver((exit) => {
        clearTimeout(timer)
        resume(exit)
      })
      return Effect.sync(() => {
        clearTimeout(timer)
        fiber.unsafeInterruptAsFork(fiber.id())
      })
    })
  )

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
  timeoutTo(
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
      Effect.catchAll((error) =>
        Effect.succeed(
          Either.left(
            error._tag === "RequestError" && error.reason !== "Transport"
              ? Result.Configuration({ reason: `${provider} request could not be built: ${error.reason}` })
              : Classify.transport(provider, error.cause ?? error)
          )
        )
      ),
      Effect.catchAllDefect((defect) => Effect.succeed(Either.left(Classify.transport(provider, defect))))
    ),
    Duration.toMillis(timeout),
    () => Either.left(Classify.timeout(provider, timeout))
  )

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
            : { reason: result.reason })
        })
      ),
      level
    )
  )
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
