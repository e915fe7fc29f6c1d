/**
 * Mounting the API in an existing server. {@link toWebHandler} gives a
 * `(Request) => Promise<Response>` for any runtime with web requests (Deno, Bun,
 * Cloudflare, Hono, Next.js route handlers); {@link toNodeListener} gives a
 * `(req, res, next?)` listener for `node:http`, Express, Fastify and Koa.
 *
 * ```ts
 * import { Authentication, Mount, RateLimit } from "@zhongbao/adapter-http"
 * import { Zhongbao } from "@zhongbao/core"
 * import express from "express"
 *
 * const zhongbao = Mount.toNodeListener(
 *   Layer.mergeAll(
 *     Zhongbao.layerMemory(),
 *     Authentication.layerBearer.pipe(Layer.provideMerge(Authentication.layerSessionsMemory())),
 *     RateLimit.layer()
 *   ),
 *   { prefix: "/zhongbao" }
 * )
 * const app = express()
 * app.use("/zhongbao", zhongbao.listener)   // Express strips the mount path itself
 * // node:http: createServer((req, res) => zhongbao.listener(req, res, () => otherRoutes(req, res)))
 * // Fastify reads bodies before a route runs: give zhongbao's routes a scope without its parsers
 * // Fastify:   await app.register(async (scope) => {
 * //              scope.removeAllContentTypeParsers()
 * //              scope.addContentTypeParser("*", (_req, _payload, done) => done(null))
 * //              const serve = (req, reply) => { reply.hijack(); zhongbao.listener(req.raw, reply.raw) }
 * //              scope.all("/zhongbao", serve)
 * //              scope.all("/zhongbao/*", serve)
 * //            })
 * // Koa:       app.use(async (ctx, next) => {
 * //              if (ctx.path !== "/zhongbao" && !ctx.path.startsWith("/zhongbao/")) return next()
 * //              ctx.respond = false
 * //              await new Promise((done) => { ctx.res.once("close", done); zhongbao.listener(ctx.req, ctx.res) })
 * //            })
 * // Hono, with toWebHandler's handler: app.all("/zhongbao", h) and app.all("/zhongbao/*", h),
 * //            h = (c) => web.handler(c.req.raw) (app.mount strips the prefix first)
 *
 * // the portal's login issues a session token for the signed-in user's account:
 * const token = await zhongbao.runtime.runPromise(
 *   Effect.flatMap(Authentication.Sessions, (s) => s.issue(accountId))
 * )
 * ```
 *
 * The layer is built once, on the first request or the first use of `runtime`; the
 * two share every service (`runtime` and the handler build over one memo map), so
 * the sessions the portal issues are those the API reads. `dispose` releases it.
 * A layer that fails to build (the database not reachable yet, say) is not built
 * again: its error is logged and every request is answered `500` (or passed to
 * `next`) until the listener is made anew; a host that would rather not start so
 * builds it first, e.g. `await zhongbao.runtime.runPromise(Effect.void)`.
 *
 * Mount the Node listener before the host's body parsers (`express.json()`,
 * koa-bodyparser): it reads the body itself, and answers a request whose body was
 * already read `500`, logging why; so does the web handler for a `Request` whose body
 * was used.
 *
 * @since 0.1.0
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import type { IncomingMessage, ServerResponse } from "node:http"
import { PassThrough } from "node:stream"
import * as Http from "./Http.js"
import { BodyTooLargeName, isUpload } from "./internal/middleware.js"
import { languageOf, translate } from "./Messages.js"

/**
 * A mounted API.
 *
 * @since 0.1.0
 * @category models
 */
export interface WebHandler<R, E> {
  readonly handler: (request: Request) => Promise<Response>
  readonly runtime: ManagedRuntime.ManagedRuntime<R, E>
  readonly dispose: () => Promise<void>
}

/**
 * A mounted API as a Node listener. `next`, when given, is called for a request
 * outside the prefix (Express and connect style); without it such a request is
 * answered `404`.
 *
 * @since 0.1.0
 * @category models
 */
export interface NodeListener<R, E> {
  readonly listener: (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void
  readonly runtime: ManagedRuntime.ManagedRuntime<R, E>
  readonly dispose: () => Promise<void>
}

const normalizePrefix = (prefix: string | undefined) => {
  if (prefix === undefined || prefix === "" || prefix === "/") return ""
  const withSlash = prefix.startsWith("/") ? prefix : `/${prefix}`
  return withSlash.endsWith("/") ? withSlash.slice(0, -1) : withSlash
}

/**
 * Whether a path under the prefix is free of what a parser would rewrite: dot
 * segments, backslashes, and encoded dots, slashes or backslashes. The prefix is
 * matched on the path as it was sent, so that zhongbao serves exactly the paths a
 * host or proxy routing on the raw path sends it; one of these is refused (`400`)
 * rather than read as another path.
 */
const isPlainPath = (path: string) => !/\\|%2e|%2f|%5c/i.test(path) && !/\/\.\.?(?:\/|$)/.test(path)

/** The path under the prefix, or `undefined` when the path is outside it. */
const strip = (prefix: string, pathname: string) =>
  prefix === ""
    ? pathname
    : pathname === prefix
      ? "/"
      : pathname.startsWith(`${prefix}/`)
        ? pathname.slice(prefix.length)
        : undefined

/** Reads and drops what is left in `reader`, cancelling it past `max` more bytes. */
const discardRest = (reader: ReadableStreamDefaultReader<Uint8Array>, max: number) => {
  let seen = 0
  const next = (): Promise<void> =>
    reader.read().then(({ done, value }) => {
      if (done) return
      seen += value.byteLength
      return seen > max ? reader.cancel() : next()
    })
  next().catch(() => undefined)
}

/**
 * `source` as the API reads it, cut off once over `max` bytes (the stream fails with
 * the body-too-large error), and `rest`, which reads and drops what the API left of
 * `source` — past the limit, after it cancelled, or unread when it answered — up to
 * `discardMax` bytes in all, rather than cancelling it, so that the host's server can
 * send the answer and go on with the connection (see {@link discardUnread}).
 */
const forwardedBody = (source: ReadableStream<Uint8Array>, max: number, discardMax: number) => {
  const reader = source.getReader()
  let seen = 0
  let dropping = false
  const rest = () => {
    if (dropping) return
    dropping = true
    discardRest(reader, discardMax - seen)
  }
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read()
      if (done) return controller.close()
      seen += value.byteLength
      if (seen <= max) return controller.enqueue(value)
      const error = new Error("the request body is over the limit")
      error.name = BodyTooLargeName
      controller.error(error)
      rest()
    },
    cancel: rest
  })
  return { stream, rest }
}

/**
 * What Mount answers itself, in the API's shape and headers: a path outside the
 * prefix (`404`, `route.not_found`), one with dot segments or encoded separators
 * (`400`, `path.invalid`), which the node listener does not pass on, or what failed
 * before the API could run (`500`, `internal`).
 */
const refusal = (status: 400 | 404 | 500, acceptLanguage: string | null | undefined) => {
  const error =
    status === 500
      ? { _tag: "InternalError", code: "internal", message: "an internal error occurred; it has been logged" }
      : status === 404
        ? {
            _tag: "NotFound",
            rule: "§input",
            code: "route.not_found",
            entity: "route",
            message: "no such endpoint"
          }
        : {
            _tag: "InvalidInput",
            rule: "§input",
            code: "path.invalid",
            field: "path",
            message: "path: dot segments and encoded separators are not part of the API's paths"
          }
  return answer(status, acceptLanguage, error)
}

/** An error of the API's as it answers it: the body in the caller's language, the API's headers. */
const answer = <E extends { readonly _tag: string; readonly code: string; readonly message: string }>(
  status: number,
  acceptLanguage: string | null | undefined,
  error: E & { readonly field?: string | undefined },
  headers: Record<string, string> = {}
) => {
  const language = languageOf(acceptLanguage ?? undefined)
  return {
    status,
    body: JSON.stringify({ ...error, message: translate(language, error) }),
    headers: {
      "content-type": "application/json",
      "content-language": language,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...headers
    } as Record<string, string>
  }
}

/**
 * A host's `503` while it starts (`server.starting`, with `Retry-After`) or stops
 * (`server.stopping`), in the API's shape, language and headers: the `Unavailable`
 * error its document declares, which its clients decode as they decode the API's own.
 * The example server answers it to every request but its probes until it is ready,
 * and once it stops.
 *
 * @since 0.2.0
 * @category refusals
 */
export const unavailable = (
  reason: "starting" | "stopping",
  acceptLanguage: string | null | undefined,
  retryAfterSeconds = 5
): { readonly status: 503; readonly body: string; readonly headers: Record<string, string> } => {
  const { body, headers } =
    reason === "starting"
      ? answer(
          503,
          acceptLanguage,
          {
            _tag: "Unavailable",
            code: "server.starting",
            message: "the server is starting: its database is being migrated; try again in a few seconds"
          },
          { "retry-after": String(retryAfterSeconds) }
        )
      : answer(503, acceptLanguage, {
          _tag: "Unavailable",
          code: "server.stopping",
          message: "the server is stopping: send the request again on a new connection"
        })
  return { status: 503, body, headers }
}

const notFound = (request: Request) => {
  const { status, body, headers } = refusal(404, request.headers.get("accept-language"))
  return new Response(body, { status, headers })
}

const refuse = (res: ServerResponse, status: 400 | 404 | 500, req: IncomingMessage) => {
  const { body, headers } = refusal(status, req.headers["accept-language"])
  res.writeHead(status, { ...headers, "content-length": Buffer.byteLength(body) })
  res.end(body)
}

/**
 * Reads and discards what is left of a body the API answered without reading (a
 * `401` before an upload, a `404`, a refused media type), as Node does for a body
 * nobody reads, so that the host's server goes on with the connection:
 * `@hono/node-server`, for one, waits a moment for a request stream it made to be
 * drained and then closes the connection, and a client still sending its body sees
 * the connection reset instead of the answer. Past `max` bytes (declared or read)
 * the stream is cancelled instead.
 */
const discardUnread = (request: Request, max: number) => {
  const body = request.body
  if (body === null || request.bodyUsed || body.locked) return
  if (Number(request.headers.get("content-length") ?? 0) > max) {
    body.cancel().catch(() => undefined)
    return
  }
  discardRest(body.getReader(), max)
}

/** The most `discardUnread` reads of a body before it cancels it. */
const discardMaxBytes = 64 * 1024 * 1024

interface Built<R, E> {
  readonly inner: (request: Request) => Promise<Response>
  /** Reads and drops what is left of a body answered without the API (see {@link discardUnread}). */
  readonly drop: (request: Request) => void
  readonly runtime: ManagedRuntime.ManagedRuntime<R, E>
  readonly dispose: () => Promise<void>
  /**
   * Re-issues a request for `pathname`, cutting a body without a length off at the
   * limit; what the API leaves of the body is read and dropped once it answers.
   */
  readonly forward: (
    url: URL,
    pathname: string,
    init: { readonly method: string; readonly headers: Headers; readonly signal: AbortSignal },
    body: ReadableStream<Uint8Array> | null
  ) => Promise<Response>
}

/** The API over `layer`, with the services every `HttpApp` needs. */
const apiLayer = <R, E>(layer: Layer.Layer<R, E>, prefix: string, options: Http.Options) =>
  Layer.mergeAll(
    Http.layer({ ...options, prefix: prefix === "" ? undefined : prefix }).pipe(
      Layer.provide(layer as unknown as Layer.Layer<Http.Requirements, E>)
    ),
    HttpServer.layerContext
  )

const build = <R, E>(layer: Layer.Layer<R, E>, options: Http.Options): Built<R, E> => {
  const prefix = normalizePrefix(options.prefix)
  const runtime = ManagedRuntime.make(layer)
  const api = apiLayer(layer, prefix, options)
  const web = HttpApiBuilder.toWebHandler(
    options.tracing === false ? Layer.merge(api, Http.layerUntraced) : api,
    { memoMap: runtime.memoMap }
  )
  const bodyLimit = options.bodyLimitBytes ?? 1024 * 1024
  const discardMax = Math.max(options.uploadLimitBytes ?? 0, bodyLimit, discardMaxBytes)
  return {
    inner: (request) => web.handler(request).finally(() => discardUnread(request, discardMax)),
    drop: (request) => discardUnread(request, discardMax),
    runtime,
    dispose: async () => {
      await web.dispose()
      await runtime.dispose()
    },
    forward: (url, pathname, init, body) => {
      const target = new URL(url)
      target.pathname = pathname
      const request: RequestInit & { duplex?: "half" } = { ...init }
      let rest = () => {}
      if (body !== null) {
        const unsized = !init.headers.has("content-length") && !isUpload(init.method, pathname)
        const forwarded = forwardedBody(body, unsized ? bodyLimit : Number.POSITIVE_INFINITY, discardMax)
        request.body = forwarded.stream
        request.duplex = "half"
        rest = forwarded.rest
      }
      return web.handler(new Request(target, request)).finally(rest)
    }
  }
}

/**
 * Logs why the API's layer could not be built, the cause itself rendered as Effect
 * renders causes, once per handler: a layer that failed stays failed (each request
 * is answered `500` until the handler is disposed and made again), and a log line per
 * request would bury it.
 */
const logUnbuiltOnce = () => {
  let logged = false
  return (error: unknown) => {
    if (logged) return
    logged = true
    Effect.runFork(
      Effect.logError(
        "zhongbao: the API's layer could not be built; every request is answered 500 until the handler is made again",
        Runtime.isFiberFailure(error) ? error[Runtime.FiberFailureCauseId] : Cause.die(error)
      )
    )
  }
}

/** What a host's `next` is handed when the layer cannot be built: never the error itself, which may hold a connection string (it is logged). */
const unbuiltError = () => new Error("zhongbao: the API's layer could not be built (its cause is logged)")

/**
 * The API as a web handler over `layer`, which provides core's use cases and
 * settings, an `AccountResolver` and the rate limiter (see `Http.Requirements`).
 * Requests outside `options.prefix` are answered `404`; inside it the prefix is
 * stripped. A body without `Content-Length` is cut off at the limit.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toWebHandler = <L extends Layer.Layer<Http.Requirements, unknown>>(
  layer: L,
  options: Http.Options = {}
): WebHandler<Layer.Layer.Success<L>, Layer.Layer.Error<L>> => {
  const prefix = normalizePrefix(options.prefix)
  const built = build(layer as Layer.Layer<Layer.Layer.Success<L>, Layer.Layer.Error<L>>, options)
  const logUnbuilt = logUnbuiltOnce()
  /**
   * The answer to a request whose handler failed: only a layer that could not be
   * built fails it (the API answers every other failure itself). The error is logged,
   * never sent: it may hold a connection string.
   */
  const unbuilt =
    (request: Request) =>
    (error: unknown): Response => {
      logUnbuilt(error)
      const { status, body, headers } = refusal(500, request.headers.get("accept-language"))
      return new Response(body, { status, headers })
    }
  const answered = (request: Request, response: Response) => {
    built.drop(request)
    return response
  }
  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    const pathname = strip(prefix, url.pathname)
    if (pathname === undefined) return answered(request, notFound(request))
    // As toNodeListener: under a prefix, encoded separators are refused (the URL
    // parser has already resolved dot segments).
    if (prefix !== "" && !isPlainPath(pathname)) {
      const { status, body, headers } = refusal(400, request.headers.get("accept-language"))
      return answered(request, new Response(body, { status, headers }))
    }
    if (request.bodyUsed) {
      built.runtime.runFork(
        Effect.logError(
          `zhongbao: the body of ${request.method} ${url.pathname} was read before zhongbao's handler: let no middleware in front of it read the body`
        )
      )
      const { status, body, headers } = refusal(500, request.headers.get("accept-language"))
      return new Response(body, { status, headers })
    }
    if (prefix === "" && (request.body === null || request.headers.has("content-length"))) {
      return built.inner(request).catch(unbuilt(request))
    }
    return built
      .forward(
        url,
        pathname,
        { method: request.method, headers: request.headers, signal: request.signal },
        request.body
      )
      .catch(unbuilt(request))
  }
  return { handler, runtime: built.runtime, dispose: built.dispose }
}

/**
 * A request whose body someone read before the listener (a body parser of the host
 * mounted in front of it: `express.json()`, koa-bodyparser): the API would wait for
 * a body that never comes.
 */
const bodyAlreadyRead = (req: IncomingMessage) =>
  req.readableEnded &&
  (req.headers["transfer-encoding"] !== undefined ||
    (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0"))

/** The path of a request URL, without its query. */
const pathOf = (url: string) => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

/**
 * Whether a router in front took the prefix off `req.url` itself: Express sets
 * `baseUrl`; connect and `@fastify/middie` keep the full URL in `originalUrl` only.
 */
const mountedBefore = (
  prefix: string,
  req: IncomingMessage & { readonly baseUrl?: string; readonly originalUrl?: string },
  raw: string
) =>
  (typeof req.baseUrl === "string" && req.baseUrl !== "") ||
  (typeof req.originalUrl === "string" &&
    req.originalUrl !== raw &&
    strip(prefix, pathOf(req.originalUrl)) === pathOf(raw))

const hasUnsizedBody = (req: IncomingMessage) =>
  req.headers["content-length"] === undefined && req.headers["transfer-encoding"] !== undefined

/**
 * The request with its body behind a stream of its own. The API destroys the stream
 * it reads once the body is over the limit: that must not be the request (whose
 * socket the `413` is written on); the rest of the body is discarded, as Node does
 * for a body nobody reads, and so it is when the response is sent before the body
 * was read.
 */
const detached = (req: IncomingMessage, res: ServerResponse): IncomingMessage => {
  const body = new PassThrough()
  const discard = () => {
    if (!req.complete) {
      req.unpipe(body)
      req.resume()
    }
  }
  body.on("close", discard)
  // Answered without reading the body (a 401 …): the rest is discarded too, or the
  // connection would wait for a reader that never comes.
  res.once("finish", () => {
    discard()
    body.destroy()
  })
  req.pipe(body)
  return Object.assign(body, {
    headers: req.headers,
    method: req.method,
    url: req.url,
    socket: req.socket
  }) as unknown as IncomingMessage
}

/**
 * The API as a Node request listener over `layer` (see {@link toWebHandler}), on
 * `@effect/platform-node`'s own bridge: the handler reads the Node request and
 * writes the Node response directly, with no web `Request`/`Response` in between.
 * Under a router that strips the mount path itself (Express's, connect's or
 * `@fastify/middie`'s `use(prefix, listener)`: `req.baseUrl` set, or `req.originalUrl`
 * the prefix and `req.url`) the request path is taken as it is; otherwise
 * `options.prefix` is stripped from `req.url` (the full URL is kept in
 * `req.originalUrl`, as connect does). A body
 * without `Content-Length` is cut off at the limit (`413`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const toNodeListener = <L extends Layer.Layer<Http.Requirements, unknown>>(
  layer: L,
  options: Http.Options = {}
): NodeListener<Layer.Layer.Success<L>, Layer.Layer.Error<L>> => {
  type R = Layer.Layer.Success<L>
  type E = Layer.Layer.Error<L>
  const prefix = normalizePrefix(options.prefix)
  const runtime = ManagedRuntime.make(layer as Layer.Layer<R, E>)
  const logUnbuilt = logUnbuiltOnce()
  const scope = Effect.runSync(Scope.make())
  const served = Layer.mergeAll(
    apiLayer(layer as Layer.Layer<R, E>, prefix, options),
    HttpApiBuilder.Router.Live,
    HttpApiBuilder.Middleware.layer
  )
  type Handler = (req: IncomingMessage, res: ServerResponse) => void
  let handler: Handler | undefined
  let pending: Promise<Handler> | undefined
  const make = () =>
    (pending ??= Effect.gen(function* () {
      const context = yield* Layer.buildWithMemoMap(served, runtime.memoMap, scope)
      const made = Effect.flatMap(HttpApiBuilder.httpApp, (app) => NodeHttpServer.makeHandler(app))
      handler = yield* (options.tracing === false ? Http.untraced(made) : made).pipe(Effect.provide(context))
      return handler
    }).pipe(Effect.runPromise))
  const fail =
    (req: IncomingMessage, res: ServerResponse, next: ((error?: unknown) => void) | undefined) =>
    (error: unknown) => {
      logUnbuilt(error)
      if (next !== undefined && !res.headersSent) return next(unbuiltError())
      if (!res.headersSent) return refuse(res, 500, req)
      res.end()
    }
  const listener = (
    req: IncomingMessage & { readonly baseUrl?: string; originalUrl?: string },
    res: ServerResponse,
    next?: (error?: unknown) => void
  ) => {
    const raw = req.url ?? "/"
    if (prefix !== "" && !mountedBefore(prefix, req, raw)) {
      const q = raw.indexOf("?")
      const stripped = strip(prefix, pathOf(raw))
      if (stripped === undefined) {
        if (next !== undefined) return next()
        return refuse(res, 404, req)
      }
      if (!isPlainPath(stripped)) return refuse(res, 400, req)
      req.originalUrl ??= raw
      req.url = q === -1 ? stripped : stripped + raw.slice(q)
    }
    if (bodyAlreadyRead(req)) {
      runtime.runFork(
        Effect.logError(
          `zhongbao: the body of ${req.method} ${req.originalUrl ?? raw} was read before zhongbao's listener: mount it before the host's body parsers`
        )
      )
      return refuse(res, 500, req)
    }
    const source = hasUnsizedBody(req) ? detached(req, res) : req
    if (handler !== undefined) return handler(source, res)
    make().then((h) => h(source, res), fail(req, res, next))
  }
  return {
    listener,
    runtime,
    dispose: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await runtime.dispose()
    }
  }
}
