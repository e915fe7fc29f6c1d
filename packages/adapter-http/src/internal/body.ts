/**
 * @internal
 * How request bodies are read as they arrive: chunk by chunk with an idle timeout
 * (`Http.Options.uploadIdleTimeout`, `bodyIdleTimeout`), and in turns per account
 * (`uploadConcurrencyPerAccount`, `bodyConcurrencyPerAccount`), so that one account's
 * slow or stalled bodies hold neither memory nor turns beyond its own.
 */
import { IncomingMessage as NodeIncomingMessage } from "node:http"
import * as HttpApp from "@effect/platform/HttpApp"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerError from "@effect/platform/HttpServerError"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Ids } from "@zhongbao/core"
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { PayloadTooLarge, RequestTimeout } from "../ApiError.js"

/**
 * How bodies of one kind are read: each in its account's `turn`, stopping for at most
 * `idleTimeout` (uploads: `Http.Options.uploadConcurrencyPerAccount` and
 * `uploadIdleTimeout`, with `uploadConcurrency` in their turn; JSON bodies:
 * `bodyConcurrencyPerAccount` and `bodyIdleTimeout`).
 */
export interface Reading {
  readonly turn: (account: Ids.AccountId) => <A, E, R>(read: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly idleTimeout: Duration.Duration
}

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

/** A body of `size` bytes read as `chunks`: one chunk (most bodies) as it came, with no copy; more {@link joined}. */
const whole = (chunks: ReadonlyArray<Uint8Array>, size: number) =>
  chunks.length === 1 ? chunks[0]! : joined(chunks, size)

/**
 * A request's whole body as it arrives, within the body limit the middleware set
 * ({@link bodyTooLarge} above it, `413`) and failing with {@link stalled} when no byte
 * comes for `idle`. Read this way rather than with the platform's `arrayBuffer`, which
 * waits for the body however slowly it comes. A Node request is read from its own
 * events ({@link nodeBody}), a web `Request` (`Mount.toWebHandler`) from its body's
 * reader ({@link webBody}); any other through the platform's stream.
 */
export const wholeBody = (
  request: HttpServerRequest.HttpServerRequest,
  idle: Duration.Duration
): Effect.Effect<Uint8Array, PayloadTooLarge | RequestTimeout> =>
  Effect.flatMap(IncomingMessage.MaxBodySize, (maxBody) => {
    const limit = Option.match(maxBody, { onNone: () => Number.POSITIVE_INFINITY, onSome: Number })
    return request.source instanceof NodeIncomingMessage
      ? nodeBody(request.source, Duration.toMillis(idle), limit, () => stalled(idle, "request"))
      : typeof Request !== "undefined" && request.source instanceof Request
        ? webBody(
            request.source,
            Duration.toMillis(idle),
            limit,
            () => stalled(idle, "request"),
            (cause) => new HttpServerError.RequestError({ request, reason: "Decode", cause })
          )
        : streamedBody(request, idle, limit)
  })

/**
 * A Node request's body from its `data` and `end` events, with one timer that each
 * chunk restarts, rather than the platform's stream with a pull and a fiber racing a
 * timeout per chunk: reading bodies that way, with the first turns, cost a JSON command
 * about 0.6 ms of the server's CPU under load (issue 8's P2; bodies nearly always come
 * in one chunk). A client that goes away before the end interrupts the read, as it
 * does the request. On a timeout or past the limit the request is paused, not
 * destroyed: the `408` or `413` closes the connection. The timeout's error is made
 * only when it fires (`timedOut`): an error made for every request, as it was, took
 * about 2 % of the server's time in P2's profile (its stack trace captured each time).
 */
const nodeBody = (
  source: NodeIncomingMessage,
  idleMillis: number,
  limit: number,
  timedOut: () => RequestTimeout
): Effect.Effect<Uint8Array, PayloadTooLarge | RequestTimeout> =>
  Effect.async((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    let settled = false
    const settle = (effect: Effect.Effect<Uint8Array, PayloadTooLarge | RequestTimeout>) => {
      if (settled) return
      settled = true
      stop()
      resume(effect)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        source.pause()
        return settle(Effect.zipRight(closingConnection, Effect.fail(bodyTooLarge())))
      }
      chunks.push(chunk)
      timer.refresh()
    }
    const onEnd = () => settle(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    const onGone = () => {
      if (!source.complete) settle(Effect.interrupt)
    }
    const onError = () => settle(Effect.interrupt)
    const timer = setTimeout(() => {
      source.pause()
      settle(Effect.zipRight(closingConnection, Effect.fail(timedOut())))
    }, idleMillis)
    const stop = () => {
      clearTimeout(timer)
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("close", onGone)
      source.off("error", onError)
    }
    if (source.readableEnded) {
      settle(Effect.succeed(new Uint8Array(0)))
      return
    }
    source.on("data", onData)
    source.on("end", onEnd)
    source.on("close", onGone)
    source.on("error", onError)
    return Effect.sync(() => {
      if (settled) return
      settled = true
      stop()
    })
  })

/**
 * A web `Request`'s body from its stream's reader, one timer started anew for each
 * chunk, for the reasons {@link nodeBody} gives: through the platform's stream, with a
 * pull and a fiber racing a timeout per chunk and a scope for the stream, a respond
 * through `Mount.toWebHandler` took 1,366 effect operations and 8 fibers (core's
 * respond alone 525 and 4). A timer is made anew rather than refreshed: `refresh` is
 * Node's, and the handler serves other runtimes too. On a timeout the reader is left
 * as it is (as the stream's scope was: the `408` closes the connection); past the
 * limit, on interruption or a failed read, it is cancelled (`Mount.toWebHandler`'s
 * stream then drains the rest). A read that fails is the defect the platform's
 * stream made it (`unreadable`, a `RequestError`): the middleware answers the
 * body-too-large error of `Mount`'s limited stream `413` and any other `400`.
 */
const webBody = (
  source: Request,
  idleMillis: number,
  limit: number,
  timedOut: () => RequestTimeout,
  unreadable: (cause: unknown) => HttpServerError.RequestError
): Effect.Effect<Uint8Array, PayloadTooLarge | RequestTimeout> =>
  Effect.async((resume) => {
    const body = source.body
    if (body === null) {
      resume(Effect.succeed(new Uint8Array(0)))
      return
    }
    const reader = body.getReader()
    const chunks: Array<Uint8Array> = []
    let size = 0
    let settled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const cancel = () => {
      reader.cancel().catch(() => {})
    }
    const settle = (effect: Effect.Effect<Uint8Array, PayloadTooLarge | RequestTimeout>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resume(effect)
    }
    const wait = () => {
      clearTimeout(timer)
      timer = setTimeout(
        () => settle(Effect.zipRight(closingConnection, Effect.fail(timedOut()))),
        idleMillis
      )
    }
    const pump = (): void => {
      wait()
      reader.read().then(
        (next) => {
          if (settled) return
          if (next.done) return settle(Effect.succeed(whole(chunks, size)))
          size += next.value.length
          if (size > limit) {
            cancel()
            return settle(Effect.fail(bodyTooLarge()))
          }
          chunks.push(next.value)
          pump()
        },
        (error: unknown) => {
          if (settled) return
          cancel()
          settle(Effect.die(unreadable(error)))
        }
      )
    }
    pump()
    return Effect.sync(() => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      cancel()
    })
  })

/** {@link wholeBody} of a request that is neither Node's nor a web `Request`, through the platform's stream. */
const streamedBody = (request: HttpServerRequest.HttpServerRequest, idle: Duration.Duration, limit: number) =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    const read = eachChunk(request, idle, "request", (chunk) => {
      size += chunk.length
      if (size > limit) return Effect.fail(bodyTooLarge())
      chunks.push(chunk)
      return Effect.void
    })
    return Effect.map(read, () => whole(chunks, size))
  })

/**
 * Turns per account: at most `perAccount` effects of one account run at once, its
 * further ones waiting, in order, for one of its own turns, holding none of another
 * account's; one that is interrupted while it waits leaves the queue. An account's
 * entry is dropped once none of its effects runs or waits (`accounts()` counts the
 * entries kept: an idle account holds no memory).
 *
 * Hand-written rather than a semaphore per account (`RcMap` of `Effect.Semaphore`, as
 * it first was): every JSON command takes a turn, and that cost it about 0.13 ms of
 * the server's CPU (0.62 against 0.50 ms a request, A/B), a semaphore kept in a plain
 * map still 0.04 ms. Here a turn that is free is a counter.
 */
export const accountTurns = (perAccount: number) =>
  Effect.sync(() => {
    const own = new Map<Ids.AccountId, { running: number; readonly waiting: Array<() => void> }>()
    const turn =
      (account: Ids.AccountId) =>
      <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
        Effect.uninterruptibleMask((restore) =>
          Effect.suspend(() => {
            let entry = own.get(account)
            if (entry === undefined) {
              entry = { running: 0, waiting: [] }
              own.set(account, entry)
            }
            const mine = entry
            /** Gives the turn to the next waiting effect, or back. */
            const leave = Effect.sync(() => {
              const next = mine.waiting.shift()
              if (next !== undefined) return next()
              mine.running -= 1
              if (mine.running === 0) own.delete(account)
            })
            if (mine.running < perAccount) {
              mine.running += 1
              return Effect.ensuring(restore(effect), leave)
            }
            let given = false
            const wait = Effect.async<void>((resume) => {
              const wake = () => {
                given = true
                resume(Effect.void)
              }
              mine.waiting.push(wake)
              return Effect.sync(() => {
                const at = mine.waiting.indexOf(wake)
                if (at !== -1) mine.waiting.splice(at, 1)
              })
            })
            return Effect.zipRight(
              Effect.onInterrupt(restore(wait), () => (given ? leave : Effect.void)),
              Effect.ensuring(restore(effect), leave)
            )
          })
        )
    /** How many accounts have an effect running or waiting (their entries kept). */
    return Object.assign(turn, { accounts: () => own.size })
  })
