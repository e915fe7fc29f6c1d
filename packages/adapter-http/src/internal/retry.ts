/**
 * @internal
 * Answers that tell the client when to try again: `Retry-After` on a `429` or a `503`.
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { Unavailable } from "../ApiError.js"

/** @internal How long a client waits before it sends a request again that met its store out of reach. */
export const storeRetryAfterSeconds = 5

/** @internal `error`, answered with `Retry-After: seconds` (a `429` or a `503`). */
export const retryAfter = <E>(seconds: number, error: E): Effect.Effect<never, E> =>
  Effect.zipRight(
    HttpApp.appendPreResponseHandler((_request, response) =>
      Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(seconds)))
    ),
    Effect.fail(error)
  )

/** @internal A store out of reach: `503` with `Retry-After`. */
export const storeUnavailable = retryAfter(
  storeRetryAfterSeconds,
  new Unavailable({
    code: "store.unavailable",
    message: `the database is out of reach for the moment and the request was not carried out; try again in ${storeRetryAfterSeconds} s`
  })
)
