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
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { EventEmitter } from "node:events"
import * as Http from "node:http"
import * as Https from "node:https"
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
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Data.TaggedError("TransportError")<{
  readonly reason: "Request" | "Transport" | "Timeout"
  readonly status?: number | undefined
  readonly cause?: unknown
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
 * Options of {@link makeNode}: `ca`, certificates to trust for `https` besides
 * Node's own (a TLS-inspecting proxy's, a test server's); the most sockets open to one provider host
 * (default 64, the dispatcher's default concurrency is 16), how long an idle
 * socket is kept (default 4 s, below the 5 s many servers keep one: this narrows,
 * without closing, the race where a reused socket is reset by the server as a
 * request goes out; such a reset is a `Transport` failure the senders classify
 * `Unknown`), and the largest reply body read (default 1 MiB; a provider's reply is
 * a few hundred bytes).
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

const replyTooLarge = (max: number) =>
  Object.assign(new Error(`the reply is over ${max} bytes`), { code: "REPLY_TOO_LARGE" })

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
        const agentOptions = {
          keepAlive: true,
          maxSockets: options.maxSockets ?? 64,
          timeout: options.idleMillis ?? 4_000
        }
        return {
          http: new Http.Agent(agentOptions),
          https: new Https.Agent(
            options.ca === undefined
              ? agentOptions
              : {
                  ...agentOptions,
                  ca:
                    typeof options.ca === "string" || Buffer.isBuffer(options.ca)
                      ? options.ca
                      : [...options.ca]
                }
          )
        }
      }),
      (agents) =>
        Effect.sync(() => {
          agents.http.destroy()
          agents.https.destroy()
        })
    ),
    (agents) => {
      const maxReplyBytes = options.maxReplyBytes ?? 1024 * 1024
      const post = (request: Request, timeoutMillis: number) =>
        Effect.async<Reply, TransportError>((resume) => {
          let settled = false
          let client: Http.ClientRequest | undefined
          let status: number | undefined
          const finish = (result: Effect.Effect<Reply, TransportError>) => {
            if (settled) return
            settled = true
            clearTimeout(timer)
            resume(result)
          }
          const fail = (reason: TransportError["reason"], cause: unknown, status?: number) =>
            finish(Effect.fail(new TransportError({ reason, cause, status })))
          const timer = setTimeout(() => {
            fail("Timeout", undefined)
            client?.destroy()
          }, timeoutMillis)
          try {
            const url = new URL(request.url)
            const https = url.protocol === "https:"
            if (!https && url.protocol !== "http:") {
              throw Object.assign(new TypeError(`protocol "${url.protocol}" not supported`), {
                code: "ERR_INVALID_PROTOCOL"
              })
            }
            const body = Buffer.from(request.body, "utf8")
            const headers: Record<string, string> = {}
            for (const [name, value] of Object.entries(request.headers)) {
              if (name.toLowerCase() !== "content-length") headers[name] = value
            }
            headers["content-length"] = String(body.length)
            client = (https ? Https.request : Http.request)(
              url,
              {
                method: "POST",
                agent: https ? agents.https : agents.http,
                headers
              },
              (response) => {
                const answered = response.statusCode ?? 0
                status = answered
                const chunks: Array<Buffer> = []
                let size = 0
                response.on("data", (chunk: Buffer) => {
                  size += chunk.length
                  if (size > maxReplyBytes) {
                    fail("Transport", replyTooLarge(maxReplyBytes), answered)
                    response.destroy()
                    return
                  }
                  chunks.push(chunk)
                })
                response.on("end", () =>
                  finish(
                    Effect.succeed({ status: answered, body: Buffer.concat(chunks, size).toString("utf8") })
                  )
                )
                response.on("error", (error) => fail("Transport", error, answered))
                response.on("aborted", () => fail("Transport", new Error("the reply was cut off"), answered))
              }
            )
            client.on("error", (error) => fail("Transport", error, status))
            client.end(body)
          } catch (error) {
            fail("Request", error)
            client?.destroy()
            return
          }
          return Effect.sync(() => {
            settled = true
            clearTimeout(timer)
            client?.destroy()
          })
        })
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
 * request), closed with the scope. Takes the options of {@link makeNode}:
 * `maxSockets` is each pool's number of connections, `idleMillis` its keep-alive
 * time, `ca` the certificates its TLS connections trust besides Node's own. undici
 * is loaded when the transport is made, not with this module.
 *
 * Failures are those of {@link makeNode}: a URL, protocol or header the request
 * cannot be built with is `Request` (nothing was sent), a connection failure is
 * `Transport` with undici's error as `cause` (its `code`: `ECONNREFUSED`,
 * `UND_ERR_CONNECT_TIMEOUT`, `UND_ERR_SOCKET` …), no complete reply within the
 * timeout is `Timeout` and aborts the request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeUndici = (
  options: NodeOptions = {}
): Effect.Effect<Context.Tag.Service<Transport>, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.map(
        Effect.promise(() => import("undici")),
        (undici) => ({ undici, pools: new Map<string, Undici.Pool>() })
      ),
      ({ pools }) =>
        Effect.promise(() => Promise.allSettled([...pools.values()].map((pool) => pool.destroy())))
    ),
    ({ undici, pools }) => {
      const maxReplyBytes = options.maxReplyBytes ?? 1024 * 1024
      const ca =
        options.ca === undefined
          ? undefined
          : typeof options.ca === "string" || Buffer.isBuffer(options.ca)
            ? options.ca
            : [...options.ca]
      const poolFor = (origin: string) => {
        let pool = pools.get(origin)
        if (pool === undefined) {
          pool = new undici.Pool(origin, {
            connections: options.maxSockets ?? 64,
            keepAliveTimeout: options.idleMillis ?? 4_000,
            ...(ca === undefined ? {} : { connect: { ca } })
          })
          pools.set(origin, pool)
        }
        return pool
      }
      const post = (request: Request, timeoutMillis: number) =>
        Effect.async<Reply, TransportError>((resume) => {
          let settled = false
          const abort = new EventEmitter()
          const finish = (result: Effect.Effect<Reply, TransportError>) => {
            if (settled) return
            settled = true
            clearTimeout(timer)
            resume(result)
          }
          const fail = (reason: TransportError["reason"], cause: unknown, status?: number) =>
            finish(Effect.fail(new TransportError({ reason, cause, status })))
          const timer = setTimeout(() => {
            fail("Timeout", undefined)
            abort.emit("abort")
          }, timeoutMillis)
          try {
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
            poolFor(url.origin).request(
              { path: url.pathname + url.search, method: "POST", headers, body: request.body, signal: abort },
              (error, data) => {
                if (error !== null) {
                  // undici checks a request before it writes anything: a bad header is such a failure
                  const unsent = (error as { code?: unknown }).code === "UND_ERR_INVALID_ARG"
                  return fail(unsent ? "Request" : "Transport", error)
                }
                const answered = data.statusCode
                const chunks: Array<Buffer> = []
                let size = 0
                data.body.on("data", (chunk: Buffer) => {
                  size += chunk.length
                  if (size > maxReplyBytes) {
                    fail("Transport", replyTooLarge(maxReplyBytes), answered)
                    data.body.destroy()
                    return
                  }
                  chunks.push(chunk)
                })
                data.body.on("end", () =>
                  finish(
                    Effect.succeed({ status: answered, body: Buffer.concat(chunks, size).toString("utf8") })
                  )
                )
                data.body.on("error", (cause) => fail("Transport", cause, answered))
              }
            )
          } catch (error) {
            fail("Request", error)
            return
          }
          return Effect.sync(() => {
            settled = true
            clearTimeout(timer)
            abort.emit("abort")
          })
        })
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
 * answer arrives as the forked fiber's exit. Interrupting the caller interrupts
 * `self`. The timer is a real one (`setTimeout`), not effect's `Clock`: a
 * provider answers in real time.
 */
const timeoutTo = <A, E>(
  self: Effect.Effect<A, E>,
  millis: number,
  onTimeout: () => E
): Effect.Effect<A, E> =>
  Effect.flatMap(Effect.forkDaemon(self), (fiber) =>
    Effect.async<A, E>((resume) => {
      const timer = setTimeout(() => {
        fiber.unsafeInterruptAsFork(fiber.id())
        resume(Effect.fail(onTimeout()))
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
