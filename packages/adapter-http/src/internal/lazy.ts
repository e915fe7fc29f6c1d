import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { createHash } from "node:crypto"

/**
 * @internal
 * `make` run on the first call and its value kept for every later call; callers
 * that arrive while it runs wait for it. A run that fails or is interrupted keeps
 * nothing: the next call runs `make` again. `Effect.cached` keeps the first outcome,
 * whatever it is, so a first request that went away while a lazily made route was
 * being made (the docs UI loads a module of several megabytes) left that route
 * answering its interruption until the server restarted.
 */
export const keepSuccess = <A, E>(make: Effect.Effect<A, E>): Effect.Effect<Effect.Effect<A, E>> =>
  Effect.map(Effect.cachedInvalidateWithTTL(make, Duration.infinity), ([cached, invalidate]) =>
    Effect.onExit(cached, (exit) => (Exit.isSuccess(exit) ? Effect.void : invalidate))
  )

const validators = new WeakMap<HttpServerResponse.HttpServerResponse, string>()

/** The strong validator of a response with a body of bytes, computed once per response. */
const etagOf = (response: HttpServerResponse.HttpServerResponse): string | undefined => {
  if (response.body._tag !== "Uint8Array") return undefined
  let etag = validators.get(response)
  if (etag === undefined) {
    etag = `"${createHash("sha256").update(response.body.body).digest("base64url")}"`
    validators.set(response, etag)
  }
  return etag
}

/** Whether `If-None-Match` names `etag` (weakly compared, as RFC 9110 asks) or is `*`. */
const matches = (ifNoneMatch: string | undefined, etag: string): boolean =>
  (ifNoneMatch ?? "").split(",").some((tag) => {
    const trimmed = tag.trim()
    return trimmed === "*" || trimmed.replace(/^W\//, "") === etag
  })

/**
 * @internal
 * A document that stays the same for the life of the process (the OpenAPI document,
 * the docs UI of about 2 MB) answered with an `ETag` and `Cache-Control: no-cache`:
 * a browser keeps it and asks again with `If-None-Match`, which is answered `304`
 * without the body. A response whose body is not bytes passes as it is.
 */
export const revalidated = <E, R>(
  handler: Effect.Effect<HttpServerRespondable.Respondable, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(Effect.flatMap(handler, HttpServerRespondable.toResponse), (response) => {
    const etag = etagOf(response)
    if (etag === undefined) return Effect.succeed(response)
    const headers = { etag, "cache-control": "no-cache" }
    return Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      matches(request.headers["if-none-match"], etag)
        ? HttpServerResponse.empty({ status: 304, headers })
        : HttpServerResponse.setHeaders(response, headers)
    )
  })
