/**
 * @internal
 * How request bodies are read as they arrive: chunk by chunk with an idle timeout
 * (`Http.Options.uploadIdleTimeout`, `bodyIdleTimeout`), and in turns per account
 * (`uploadConcurrencyPerAccount`, `bodyConcurrencyPerAccount`), so that one account's
 * slow or stalled bodies hold neither memory nor turns beyond its own.
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Ids } from "@zhongbao/core"
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as RcMap from "effect/RcMap"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { PayloadTooLarge, RequestTimeout } from "../ApiError.js"

/** A body that stopped arriving for `idle`: an upload's, or any other request's. */
export const stalled = (idle: Duration.Duration, what: "upload" | "request") => {
  const seconds = Duration.toSeconds(idle)
  return new RequestTimeout({
    code: "body.timeout",
    idleSeconds: seconds,
    message: `no byte of the ${what}'s body came for ${seconds} s; send it again`
  })
}

/** A body over the limit (the middleware answers it with the limit, in the request's language). */
export const bodyTooLarge = () =>
  new PayloadTooLarge({ code: "body.too_large", limit: 0, message: "the body is too large" })

/**
 * The response closes its connection: the rest of a stalled body is not waited for
 * (Node would otherwise read and drop it, keeping the connection for it).
 */
const closingConnection = HttpApp.appendPreResponseHandler((_request, response) =>
  Effect.succeed(HttpServerResponse.setHeader(response, "connection", "close"))
)

/**
 * Hands `request`'s body to `f` chunk by chunk as it arrives, failing with
 * {@link stalled} when no byte comes for `idle`. The body's stream is pulled in a scope
 * of its own, closed when it ends or fails but left open on that timeout: closing it
 * destroys a Node request unread to its end, and its socket with it, before the `408`
 * could be sent. The answer closes the connection instead ({@link closingConnection}),
 * which ends the request's stream.
 */
export const eachChunk = <E>(
  request: HttpServerRequest.HttpServerRequest,
  idle: Duration.Duration,
  what: "upload" | "request",
  f: (chunk: Uint8Array) => Effect.Effect<void, E>
): Effect.Effect<void, E | RequestTimeout> =>
  Effect.flatMap(Scope.make(), (scope) => {
    const step = (
      pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<never>>
    ): Effect.Effect<void, E | RequestTimeout> =>
      Effect.matchEffect(
        Effect.timeoutFail(pull, { duration: idle, onTimeout: () => Option.some(stalled(idle, what)) }),
        {
          onFailure: (end) =>
            Option.isNone(end) ? Effect.void : Effect.zipRight(closingConnection, Effect.fail(end.value)),
          onSuccess: (chunk) =>
            Effect.zipRight(
              Effect.forEach(chunk, f, { discard: true }),
              Effect.suspend(() => step(pull))
            )
        }
      )
    return Scope.extend(Stream.toPull(Stream.orDie(request.stream)), scope).pipe(
      Effect.flatMap(step),
      Effect.onExit((exit) =>
        Exit.isFailure(exit) &&
        Option.exists(Cause.failureOption(exit.cause), (e) => e instanceof RequestTimeout)
          ? Effect.void
          : Scope.close(scope, exit)
      )
    )
  })

/** `chunks` joined into one array of `size` bytes, copied once. */
export const joined = (chunks: ReadonlyArray<Uint8Array>, size: number) => {
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}

/**
 * A request's whole body as it arrives, within the body limit the middleware set
 * ({@link bodyTooLarge} above it, `413`) and failing with {@link stalled} when no byte
 * comes for `idle`. Read this way rather than with the platform's `arrayBuffer`, which
 * waits for the body however slowly it comes.
 */
export const wholeBody = (
  request: HttpServerRequest.HttpServerRequest,
  idle: Duration.Duration
): Effect.Effect<Uint8Array, PayloadTooLarge | RequestTimeout> =>
  Effect.flatMap(IncomingMessage.MaxBodySize, (maxBody) =>
    Effect.suspend(() => {
      const limit = Option.match(maxBody, { onNone: () => Number.POSITIVE_INFINITY, onSome: Number })
      const chunks: Array<Uint8Array> = []
      let size = 0
      const read = eachChunk(request, idle, "request", (chunk) => {
        size += chunk.length
        if (size > limit) return Effect.fail(bodyTooLarge())
        chunks.push(chunk)
        return Effect.void
      })
      // One chunk (most bodies) is read as it came, with no copy.
      return Effect.map(read, () => (chunks.length === 1 ? chunks[0]! : joined(chunks, size)))
    })
  )

/**
 * Turns per account: at most `perAccount` effects of one account run at once, its
 * further ones waiting for one of its own turns, holding none of another account's.
 * An account's turns are dropped once it has none in use (`RcMap` counts holders).
 */
export const accountTurns = (perAccount: number) =>
  Effect.map(
    RcMap.make({ lookup: (_: Ids.AccountId) => Effect.makeSemaphore(perAccount) }),
    (own) =>
      (account: Ids.AccountId) =>
      <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
        Effect.scopedWith((scope) =>
          Effect.flatMap(Scope.extend(RcMap.get(own, account), scope), (mine) => mine.withPermits(1)(effect))
        )
  )
