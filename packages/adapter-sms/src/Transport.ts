/**
 * How a sender reaches its provider: one `POST` with a text body, answered by a
 * status and a text body, within a timeout. `AliyunSms` and `TencentSms` need a
 * `Transport`; three are given:
 *
 * - {@link layerUndici}: undici's connection pools (one per provider origin), with
 *   keep-alive. The one to use on Node: it costs the least CPU per message.
 * - {@link layerNode}: `node:http`/`node:https` with keep-alive agents, for a host
 *   that keeps to Node's own modules.
 * - {@link layerHttpClient}: over the @effect/platform `HttpClient` in context, for
 *   a host that routes its traffic through one (a proxy, a custom dispatcher, a
 *   runtime other than Node).
 *
 * Why a port of our own instead of `HttpClient` directly: the outbox sends every
 * message through it, and measured per message (issue 8's P4, a sender against the
 * local fake provider, 64 at a time) the `HttpClient` path with its fork for the
 * timeout cost about twice the CPU of a plain `node:http` request, and a request on
 * an undici pool about half of one on `node:http` (63 against 126 µs, median of ten
 * alternating rounds of 4,000). The port keeps what a sender needs (status, body,
 * timeout, interruption) and nothing else, so any of them can stand behind it.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { EventEmitter } from "node:events"
import * as Http from "node:http"
import * as Https from "node:https"
import type * as Net from "node:net"
import * as Tls from "node:tls"
import type * as Undici from "undici"

/**
 * A request to a provider: always `POST`. `headers` are sent as given; a
 * `content-length` among them is replaced by the transport's own.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * A provider's reply: its status and its body as UTF-8 text.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reply {
  readonly status: number
  readonly body: string
}

/**
 * Why no reply came:
 *
 * - `Request`: the request could not be built (a bad URL, protocol or header); nothing
 *   was sent. `cause` is the error, whose `code` (`ERR_INVALID_PROTOCOL` …) or
 *   `HttpClient` `reason` (`InvalidUrl` …) names why.
 * - `Transport`: the connection failed; `cause` carries the error (its `code`,
 *   `ECONNREFUSED` …, tells whether anything was sent), `status` the reply's status
 *   when the failure came while reading its body.
 * - `Timeout`: no complete reply within the timeout; the request was aborted.
 *
 * `sent` (of a `Transport` or `Timeout` failure) says what the transport knows of
 * the request's connection. `false`: nothing of the request can have reached the
 * provider, its connection (and TLS handshake) never completed; the Node and undici
 * transports tell. `true`: the connection was made, so the request may have reached
 * the provider whatever the error's code; the Node transport tells. Without it, the
 * request may have been sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Data.TaggedError("TransportError")<{
  readonly reason: "Request" | "Transport" | "Timeout"
  readonly status?: number | undefined
  readonly cause?: unknown
  readonly sent?: boolean | undefined
}> {}

/**
 * The port. `post` sends one request and fails with {@link TransportError} when no
 * complete reply arrives within `timeoutMillis`; interrupting it aborts the request.
 *
 * @since 0.1.0
 * @category tags
 */
export class Transport extends Context.Tag("@zhongbao/adapter-sms/Transport")<
  Transport,
  {
    readonly post: (request: Request, timeoutMillis: number) => Effect.Effect<Reply, TransportError>
  }
>() {}

/**
 * Options of {@link makeUndici} and {@link makeNode}: `ca`, certificates to trust for
 * `https` besides Node's own root certificates (a TLS-inspecting proxy's, a test
 * server's); the most connections open to one provider host (default 64, the
 * dispatcher's default concurrency is 16); how long an idle connection is kept
 * (default 4 s, below the 5 s many servers keep one: this narrows, without closing,
 * the race where a reused connection is reset by the server as a request goes out;
 * such a reset is a `Transport` failure the senders classify `Unknown`; undici
 * follows a server's own `Keep-Alive: timeout` hint instead, less 2 s), and the
 * largest reply body read (default 1 MiB; a provider's reply is a few hundred
 * bytes).
 *
 * @since 0.1.0
 * @category models
 */
export interface NodeOptions {
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined
  readonly maxSockets?: number | undefined
  readonly idleMillis?: number | undefined
  readonly maxReplyBytes?: number | undefined
}

/** The certificates a TLS connection trusts: Node's root certificates and `ca`. */
const trusted = (ca: NodeOptions["ca"]): Array<string | Buffer> | undefined =>
  ca === undefined
    ? undefined
    : [...Tls.rootCertificates, ...(typeof ca === "string" || Buffer.isBuffer(ca) ? [ca] : ca)]

/** The options, checked once when a transport is made (a bad one is a defect). */
const checked = (options: NodeOptions) => {
  const positive = (name: string, value: number | undefined, fallback: number) => {
    if (value === undefined) return fallback
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`Transport: ${name} must be a positive integer`)
    return value
  }
  return {
    maxSockets: positive("maxSockets", options.maxSockets, 64),
    idleMillis: positive("idleMillis", options.idleMillis, 4_000),
    maxReplyBytes: positive("maxReplyBytes", options.maxReplyBytes, 1024 * 1024),
    ca: trusted(options.ca)
  }
}

const replyTooLarge = (max: number) =>
  Object.assign(new Error(`the reply is over ${max} bytes`), { code: "REPLY_TOO_LARGE" })

/** Where a request goes: its URL (`http:` or `https:` only) and its headers without `content-length`. */
const targetOf = (request: Request) => {
  const url = new URL(request.url)
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw Object.assign(new TypeError(`protocol "${url.protocol}" not supported`), {
      code: "ERR_INVALID_PROTOCOL"
    })
  }
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.toLowerCase() !== "content-length") headers[name] = value
  }
  return { url, https: url.protocol === "https:", headers }
}

/** What a native transport's request does with its one answer. */
interface Exchange {
  /** Fails the request; `unsent`: nothing of it can have left (see `TransportError.sent`). */
  readonly fail: (reason: TransportError["reason"], cause: unknown, status?: number, unsent?: boolean) => void
  /** Says that the request's connection is made (its TLS handshake done): from now on it may be sent. */
  readonly connected: () => void
  /** How to abort the request once it exists: on timeout, interruption or a failure to build it. */
  readonly onAbort: (abort: () => void) => void
  /** Reads a reply's body, at most `maxReplyBytes`, and answers it with `status`. */
  readonly read: (body: NodeJS.ReadableStream & { destroy(): void }, status: number) => void
}

/**
 * One request of a native transport: `start` sends it; the first answer wins (the
 * reply, a failure, or `Timeout` after `timeoutMillis`, which aborts it);
 * interrupting aborts it too. `start` throwing is a `Request` failure. With
 * `tellsConnection`, `start` calls `connected` once the connection is made; a
 * failure before it is `sent: false`, one after it `sent: true`.
 */
const postOnce = (
  timeoutMillis: number,
  maxReplyBytes: number,
  start: (exchange: Exchange) => void,
  tellsConnection = false
) =>
  Effect.async<Reply, TransportError>((resume) => {
    let settled = false
    let connected = false
    let abort = () => {}
    const finish = (result: Effect.Effect<Reply, TransportError>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resume(result)
    }
    const fail = (reason: TransportError["reason"], cause: unknown, status?: number, unsent = false) => {
      const sent = reason === "Request" ? undefined : unsent ? false : tellsConnection ? connected : undefined
      finish(
        Effect.fail(new TransportError({ reason, cause, status, ...(sent === undefined ? {} : { sent }) }))
      )
    }
    const timer = setTimeout(() => {
      fail("Timeout", undefined)
      abort()
    }, timeoutMillis)
    const read: Exchange["read"] = (body, status) => {
      const chunks: Array<Buffer> = []
      let size = 0
      body.on("data", (chunk: Buffer) => {
        size += chunk.length
        if (size > maxReplyBytes) {
          fail("Transport", replyTooLarge(maxReplyBytes), status)
          body.destroy()
          return
        }
        chunks.push(chunk)
      })
      body.on("end", () =>
        finish(Effect.succeed({ status, body: Buffer.concat(chunks, size).toString("utf8") }))
      )
      body.on("error", (error) => fail("Transport", error, status))
    }
    try {
      start({
        fail,
        read,
        onAbort: (f) => (abort = f),
        connected: () => {
          connected = true
        }
      })
    } catch (error) {
      fail("Request", error)
      abort()
      return
    }
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
      abort()
    })
  })

/**
 * Whether a socket handed to a request is connected (for `https`, its handshake done
 * and its certificate verified, which the agent requires): one kept alive, or one
 * that an earlier request opened while this one waited for a free socket (Node does
 * not set `reusedSocket` for it, and its connect events have passed).
 */
const isConnected = (socket: Net.Socket, https: boolean): boolean =>
  !socket.connecting && !socket.destroyed && (!https || (socket as Tls.TLSSocket).authorized === true)

/**
 * A transport over `node:http` and `node:https` with keep-alive agents, destroyed
 * with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeNode = (
  options: NodeOptions = {}
): Effect.Effect<Context.Tag.Service<Transport>, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const o = checked(options)
        const agentOptions = { keepAlive: true, maxSockets: o.maxSockets, timeout: o.idleMillis }
        return {
          o,
          http: new Http.Agent(agentOptions),
          https: new Https.Agent(o.ca === undefined ? agentOptions : { ...agentOptions, ca: o.ca })
        }
      }),
      (agents) =>
        Effect.sync(() => {
          agents.http.destroy()
          agents.https.destroy()
        })
    ),
    ({ o, ...agents }) => {
      const post = (request: Request, timeoutMillis: number) =>
        postOnce(
          timeoutMillis,
          o.maxReplyBytes,
          ({ fail, read, onAbort, connected }) => {
            const { url, https, headers } = targetOf(request)
            const body = Buffer.from(request.body, "utf8")
            headers["content-length"] = String(body.length)
            let status: number | undefined
            const client = (https ? Https.request : Http.request)(
              url,
              { method: "POST", agent: https ? agents.https : agents.http, headers },
              (response) => {
                const answered = response.statusCode ?? 0
                status = answered
                read(response, answered)
                response.on("aborted", () => fail("Transport", new Error("the reply was cut off"), answered))
              }
            )
            onAbort(() => client.destroy())
            // A new socket is connected once its TCP connection (and TLS handshake) is done.
            client.on("socket", (socket) => {
              if (client.reusedSocket || isConnected(socket, https)) connected()
              else socket.once(https ? "secureConnect" : "connect", connected)
            })
            client.on("error", (error) => fail("Transport", error, status))
            client.end(body)
          },
          true
        )
      return Transport.of({ post })
    }
  )

/**
 * {@link makeNode} as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNode = (options: NodeOptions = {}): Layer.Layer<Transport> =>
  Layer.scoped(Transport, makeNode(options))

/**
 * A transport over undici's `Pool`s, one per provider origin (made on its first
 * request), closed with the scope; a request after that fails with `Request`
 * (`TRANSPORT_CLOSED`). Takes the options of {@link makeNode}: `maxSockets` is each
 * pool's number of connections, `idleMillis` its keep-alive time. undici is loaded
 * when the transport is made, not with this module.
 *
 * Failures are those of {@link makeNode}: a URL, protocol or header the request
 * cannot be built with is `Request` (nothing was sent), a connection failure is
 * `Transport` with undici's error as `cause` (its `code`: `ECONNREFUSED`,
 * `UND_ERR_CONNECT_TIMEOUT`, `UND_ERR_SOCKET` …), no complete reply within the
 * timeout is `Timeout` and aborts the request. Like {@link makeNode}'s, each tells
 * whether the request had its connection (`sent`): each pool is composed with an
 * interceptor that sees undici start the request on a connected socket, which it
 * does just before it writes it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeUndici = (
  options: NodeOptions = {}
): Effect.Effect<Context.Tag.Service<Transport>, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.flatMap(
        Effect.sync(() => checked(options)),
        (o) =>
          Effect.map(
            Effect.promise(() => import("undici")),
            (undici) => ({
              o,
              undici,
              pools: new Map<string, Undici.Pool>(),
              closed: false
            })
          )
      ),
      (state) =>
        Effect.promise(() => {
          state.closed = true
          return Promise.allSettled([...state.pools.values()].map((pool) => pool.destroy()))
        })
    ),
    (state) => {
      const { o, undici, pools } = state
      // A request's options (undici hands the object it was given to its
      // interceptors) → what to call once undici starts it on a connected socket.
      const starts = new WeakMap<object, () => void>()
      const watchStarts: Undici.Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) =>
        dispatch(opts, {
          onRequestStart: (controller, context) => {
            starts.get(opts)?.()
            handler.onRequestStart?.(controller, context)
          },
          onRequestUpgrade: (controller, status, headers, socket) =>
            handler.onRequestUpgrade?.(controller, status, headers, socket),
          onResponseStart: (controller, status, headers, message) =>
            handler.onResponseStart?.(controller, status, headers, message),
          onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
          onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
          onResponseError: (controller, error) => handler.onResponseError?.(controller, error)
        })
      const dispatchers = new Map<string, Undici.Dispatcher>()
      const poolFor = (origin: string, timeoutMillis: number) => {
        if (state.closed) {
          throw Object.assign(new Error("the transport is closed"), { code: "TRANSPORT_CLOSED" })
        }
        let dispatcher = dispatchers.get(origin)
        if (dispatcher === undefined) {
          const pool = new undici.Pool(origin, {
            connections: o.maxSockets,
            keepAliveTimeout: o.idleMillis,
            // A connection not made within a third of the request's timeout fails as not
            // made, before the timeout (undici's own default, 10 s, outlasts a sender's
            // timeout; undici checks connect timeouts about once a second).
            connect: {
              timeout: Math.max(1, Math.floor(timeoutMillis / 3)),
              ...(o.ca === undefined ? {} : { ca: o.ca })
            }
          })
          pools.set(origin, pool)
          dispatcher = pool.compose(watchStarts)
          dispatchers.set(origin, dispatcher)
        }
        return dispatcher
      }
      const post = (request: Request, timeoutMillis: number) =>
        postOnce(
          timeoutMillis,
          o.maxReplyBytes,
          ({ fail, read, onAbort, connected }) => {
            const { url, headers } = targetOf(request)
            const pool = poolFor(url.origin, timeoutMillis)
            const signal = new EventEmitter()
            onAbort(() => signal.emit("abort"))
            const opts = {
              path: url.pathname + url.search,
              method: "POST",
              headers,
              body: request.body,
              signal
            } as const
            starts.set(opts, connected)
            pool.request(opts, (error, data) => {
              if (error !== null) {
                // undici checks a request before it writes anything: a bad header is such a failure
                const unsent = (error as { code?: unknown }).code === "UND_ERR_INVALID_ARG"
                return fail(unsent ? "Request" : "Transport", error)
              }
              read(data.body, data.statusCode)
            })
          },
          true
        )
      return Transport.of({ post })
    }
  )

/**
 * {@link makeUndici} as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUndici = (options: NodeOptions = {}): Layer.Layer<Transport> =>
  Layer.scoped(Transport, makeUndici(options))

/**
 * `self`, or `onTimeout()` once `millis` have passed without its answer; `self` is
 * then interrupted. Cheaper than `Effect.timeout` (which forks `self` and a sleep,
 * races them and joins the winner's fiber refs): one fork and one timer, and the
 * answer arrives as the forked fiber's exit. Interrupting the caller sends `self`
 * its interruption at once (without waiting for it to stop): the fork and the
 * handler that interrupts it are set up while the caller cannot be interrupted, and
 * only the wait is interruptible. `self` itself is always interruptible, so the
 * timer stops it even for a caller that cannot be interrupted. (Forked in an
 * interruptible region before the wait, as it was, a caller interrupted as it yielded
 * between the fork and the wait left the request running with no timeout at all.)
 * The forked fiber answers `self`'s exit as its value, so a failed request is not
 * reported as an unhandled fiber failure (its cause may hold the request's URL). The
 * timer is a real one (`setTimeout`), not effect's `Clock`: a provider answers in
 * real time.
 */
const timeoutTo = <A, E>(
  self: Effect.Effect<A, E>,
  millis: number,
  onTimeout: () => E
): Effect.Effect<A, E> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.forkDaemon(Effect.interruptible(Effect.exit(self))), (fiber) =>
      restore(
        Effect.async<A, E>((resume) => {
          const timer = setTimeout(() => {
            fiber.unsafeInterruptAsFork(fiber.id())
            resume(Effect.fail(onTimeout()))
          }, millis)
          fiber.addObserver((exit) => {
            clearTimeout(timer)
            resume(Exit.isSuccess(exit) ? exit.value : Effect.failCause(exit.cause))
          })
          return Effect.sync(() => clearTimeout(timer))
        })
      ).pipe(Effect.onInterrupt(() => Effect.sync(() => fiber.unsafeInterruptAsFork(fiber.id()))))
    )
  )

/**
 * A transport over an `HttpClient`. The client's own tracing is turned off for
 * these requests (its span would record the full URL, number and parameters
 * included). A request the client could not build is `Request`; any other client
 * failure, or a defect, is `Transport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromHttpClient = (client: HttpClient.HttpClient): Context.Tag.Service<Transport> => {
  const untraced = client.pipe(HttpClient.withTracerDisabledWhen(() => true))
  const post = (request: Request, timeoutMillis: number) =>
    timeoutTo(
      Effect.gen(function* () {
        let contentType: string | undefined
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(request.headers)) {
          const lower = name.toLowerCase()
          if (lower === "content-type") contentType = value
          else if (lower !== "content-length") headers[lower] = value
        }
        const base = HttpClientRequest.post(request.url).pipe(HttpClientRequest.setHeaders(headers))
        const response = yield* untraced.execute(
          request.body === "" && contentType === undefined
            ? base
            : HttpClientRequest.bodyText(base, request.body, contentType)
        )
        const body = yield* Effect.mapError(
          response.text,
          (error) =>
            new TransportError({ reason: "Transport", status: response.status, cause: error.cause ?? error })
        )
        return { status: response.status, body }
      }).pipe(
        Effect.catchTags({
          RequestError: (error) =>
            Effect.fail(
              error.reason === "Transport"
                ? new TransportError({ reason: "Transport", cause: error.cause ?? error })
                : new TransportError({ reason: "Request", cause: error })
            ),
          ResponseError: (error) =>
            Effect.fail(new TransportError({ reason: "Transport", cause: error.cause ?? error }))
        }),
        Effect.catchAllDefect((defect) =>
          Effect.fail(new TransportError({ reason: "Transport", cause: defect }))
        )
      ),
      timeoutMillis,
      () => new TransportError({ reason: "Timeout" })
    )
  return Transport.of({ post })
}

/**
 * {@link fromHttpClient} over the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClient: Layer.Layer<Transport, never, HttpClient.HttpClient> = Layer.effect(
  Transport,
  Effect.map(HttpClient.HttpClient, fromHttpClient)
)
