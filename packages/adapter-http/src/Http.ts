/**
 * The implementation of `Api`: each group's handlers call core's use cases with the
 * acting account, the decoded input and the `Idempotency-Key`, and map core's
 * errors to the API's. Around them, one API-wide middleware enforces the body limit,
 * answers messages in the request's language and turns decode failures, malformed
 * bodies and defects into `400` / `413` / `500` bodies; `/openapi.json` serves the
 * OpenAPI 3.1 document and `/docs` a bundled Swagger UI (no CDN), both made on their
 * first request (the UI's module is loaded then), so a server that is never asked
 * for them does not hold them in memory. Both carry an `ETag` and `Cache-Control:
 * no-cache`, so a browser that has them asks again with `If-None-Match` and gets
 * `304` without the body.
 *
 * ```ts
 * import { HttpApiBuilder } from "@effect/platform"
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { Authentication, Http, RateLimit } from "@zhongbao/adapter-http"
 * import { Zhongbao } from "@zhongbao/core"
 *
 * HttpApiBuilder.serve().pipe(
 *   Layer.provide(Http.layer()),
 *   Layer.provide(Authentication.layerBearer),
 *   Layer.provide(Authentication.layerSessionsMemory()),
 *   Layer.provide(RateLimit.layer()),
 *   Layer.provide(Zhongbao.layerMemory()),
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 3000, host: "127.0.0.1" })),
 *   Layer.launch
 * )
 * ```
 *
 * To mount the API inside an existing server, see `Mount`.
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import { type Ids, Settings, type Zhongbao } from "@zhongbao/core"
import * as Effect from "effect/Effect"
import { constTrue } from "effect/Function"
import * as Layer from "effect/Layer"
import { Api } from "./Api.js"
import * as Authentication from "./Authentication.js"
import {
  AuditLive,
  CommissionsLive,
  ConsultationsLive,
  DemandsLive,
  FilesLive,
  HallLive,
  MembersLive,
  NotificationsLive,
  ResponsesLive,
  ReviewLive,
  RewardsLive,
  ServiceLogLive,
  SettingsLive,
  StatisticsLive,
  Uploads
} from "./internal/groups.js"
import { accountTurns, type Reading } from "./internal/body.js"
import { keepSuccess, revalidated } from "./internal/lazy.js"
import * as Middleware from "./internal/middleware.js"
import * as Outages from "./internal/outages.js"
import type { RateLimiter, RateLimits } from "./RateLimit.js"

/**
 * How the API is served.
 *
 * - `prefix`: the path the API is mounted under, for the OpenAPI `servers` entry
 *   (`Mount` strips it from request paths).
 * - `bodyLimitBytes`: the largest request body (default 1 MiB); `413` above it.
 * - `uploadLimitBytes`: the largest upload body (default the platform's file size
 *   limit plus 1 MiB of multipart overhead).
 * - `uploadConcurrency`: how many uploads are read and stored at once (default 4). An
 *   upload is held in memory whole while it is parsed, checked and stored (several
 *   copies of its bytes at its peak); uploads beyond this wait their turn with their
 *   bodies unread, which TCP holds back, so that memory stays bounded however many
 *   arrive. A waiting upload whose client goes away leaves the queue.
 * - `uploadConcurrencyPerAccount`: how many of those turns one account holds at once
 *   (default 2). Its further uploads wait for one of its own turns, holding none of
 *   the others', so that one account sending many uploads, or slow ones, does not keep
 *   every other account waiting. Counted per instance, as `uploadConcurrency` is.
 * - `uploadIdleTimeout`: how long an upload's body may stop arriving once its turn
 *   has come (default 30 seconds): then it is answered `408` (`body.timeout`), nothing
 *   is stored and the connection is closed, so that a client that stalls, or sends a
 *   byte now and then, does not keep a turn from others. Node's own `requestTimeout`
 *   (300 s by default) still bounds the whole request; keep it set.
 * - `bodyConcurrencyPerAccount`: how many JSON bodies one account has being read at
 *   once (default 8). Its further requests wait for one of its own turns with their
 *   bodies unread, which TCP holds back: one account sending many slow bodies holds
 *   at most this many bodies' bytes in memory, and no other account waits for it.
 *   Counted per instance.
 * - `bodyIdleTimeout`: how long a JSON body may stop arriving (default 30 seconds):
 *   then it is answered `408` (`body.timeout`), nothing is done and the connection is
 *   closed, giving its turn up.
 * - `docs`: the path of the Swagger UI (default `/docs`), or `false`.
 * - `openApiPath`: the path of the OpenAPI document (default `/openapi.json`).
 * - `cors`: CORS options, when browsers call the API from another origin. A command a
 *   page of another site sends with the browser's own credentials (cookies: no
 *   `Authorization` header) is refused `403` (`request.cross_site`) unless
 *   `allowedOrigins` names its origin (a list, or a function that accepts it).
 *   Without `allowedOrigins` CORS answers every origin, for bearer tokens only.
 * - `tracing`: whether requests make spans (default `true`): the HTTP server span
 *   with its attributes and every span under it (use cases, SQL statements). Set
 *   `false` where no tracer exports them, as in the example server: spans nobody
 *   reads still cost CPU on every request. Honoured by `Mount`'s handlers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly prefix?: string | undefined
  readonly bodyLimitBytes?: number | undefined
  readonly uploadLimitBytes?: number | undefined
  readonly uploadConcurrency?: number | undefined
  readonly uploadConcurrencyPerAccount?: number | undefined
  readonly uploadIdleTimeout?: Duration.DurationInput | undefined
  readonly bodyConcurrencyPerAccount?: number | undefined
  readonly bodyIdleTimeout?: Duration.DurationInput | undefined
  readonly docs?: `/${string}` | false | undefined
  readonly openApiPath?: `/${string}` | undefined
  readonly cors?: Parameters<typeof HttpApiBuilder.middlewareCors>[0] | undefined
  readonly tracing?: boolean | undefined
}

/**
 * @internal
 * Runs `effect` with tracing off (`Options.tracing: false`): no spans, and no HTTP
 * server span for the requests of a handler made inside it.
 */
export const untraced = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locally(Effect.withTracerEnabled(effect, false), HttpMiddleware.currentTracerDisabledWhen, constTrue)

/** @internal The layer that turns tracing off for the runtime built with it. */
export const layerUntraced: Layer.Layer<never> = Layer.mergeAll(
  Layer.setTracerEnabled(false),
  Layer.locallyScoped(HttpMiddleware.currentTracerDisabledWhen, constTrue)
)

/**
 * Whether the CORS options allow commands with the browser's own credentials from
 * pages of `origin`: only an origin `allowedOrigins` names (or its function accepts).
 * CORS without `allowedOrigins` answers every origin, which suits bearer tokens; it
 * does not let every site send a signed-in user's cookies with a command.
 */
const crossSiteAllowed =
  (cors: Options["cors"]) =>
  (origin: string): boolean => {
    const allowed = cors?.allowedOrigins
    return (
      allowed !== undefined && (typeof allowed === "function" ? allowed(origin) : allowed.includes(origin))
    )
  }

/**
 * What the API needs: core's use cases and settings, an account resolver, and the
 * rate limiter with its policies.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements =
  | Zhongbao.Services
  | Settings.Settings
  | Authentication.AccountResolver
  | RateLimiter
  | RateLimits

/**
 * A `GET` route whose response is made on its first request, then kept (a request
 * that fails or goes away while it is made leaves it to the next); `make` answers
 * the route's handler. Its answer carries a validator (`revalidated`).
 */
const lazyGet = (
  path: `/${string}`,
  make: (api: HttpApi.Api["Type"]) => Effect.Effect<HttpRouter.Route.Handler<never, never>>
) =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function* () {
      const handler = yield* keepSuccess(make(yield* HttpApi.Api))
      yield* router.get(path, revalidated(Effect.flatten(handler)))
    })
  )

/** The OpenAPI document, built on its first request. */
const openApiDocument = (path: `/${string}`) =>
  lazyGet(path, ({ api }) =>
    Effect.map(
      Effect.orDie(Effect.suspend(() => HttpServerResponse.json(OpenApi.fromApi(api)))),
      Effect.succeed
    )
  )

/**
 * The Swagger UI of `@effect/platform` (`HttpApiSwagger`, a bundled page of several
 * megabytes), its module loaded on the first request: the route it registers on a
 * router of its own is the handler.
 */
const swaggerUi = (path: `/${string}`) =>
  lazyGet(path, (api) =>
    Effect.gen(function* () {
      const Swagger = yield* Effect.promise(() => import("@effect/platform/HttpApiSwagger"))
      const built = yield* Layer.build(Layer.merge(HttpApiBuilder.Router.Live, Swagger.layer({ path }))).pipe(
        Effect.flatMap((context) => Effect.provide(HttpApiBuilder.Router.router, context)),
        Effect.provideService(HttpApi.Api, api),
        Effect.scoped
      )
      return Chunk.unsafeHead(built.routes).handler as HttpRouter.Route.Handler<never, never>
    })
  )

/** The authentication middleware: anonymous callers of endpoints that are not public get `401` first. */
const authentication = Authentication.layerWith(Middleware.answersAnonymous)

/** The implementation of every group, with the authentication middleware. */
const layerGroups = Layer.mergeAll(
  HallLive,
  DemandsLive,
  ReviewLive,
  ResponsesLive,
  ConsultationsLive,
  ServiceLogLive,
  CommissionsLive,
  RewardsLive,
  FilesLive,
  NotificationsLive,
  StatisticsLive,
  SettingsLive,
  MembersLive,
  AuditLive
).pipe(Layer.provide(authentication))

/**
 * Routing by the path exactly as documented: letter case counts and `//` is not
 * read as `/` (the platform's router defaults to neither), so that `/Hall` or
 * `//review/queue` is `404` and not another spelling of an endpoint that a host's
 * proxy or gateway, matching paths as they are, would route or guard differently.
 * A trailing slash is still ignored.
 */
const exactRouting = HttpRouter.setRouterConfig({ caseSensitive: true, ignoreDuplicateSlashes: false })

/**
 * The API with its middleware, OpenAPI document and docs UI, ready for
 * `HttpApiBuilder.serve` or `HttpApiBuilder.toWebHandler`. Paths are matched
 * exactly: letter case counts and `//` is not `/` (a trailing slash is ignored).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<HttpApi.Api, never, Requirements> => {
  const prefix = options.prefix === undefined || options.prefix === "/" ? undefined : options.prefix
  const api = prefix === undefined ? Api : Api.annotate(OpenApi.Servers, [{ url: prefix }])
  const middleware = HttpApiBuilder.middleware(
    Effect.gen(function* () {
      const settings = yield* Settings.Settings
      return Middleware.make({
        bodyBytes: options.bodyLimitBytes ?? 1024 * 1024,
        uploadBytes: options.uploadLimitBytes ?? settings.fileSizeLimitBytes + 1024 * 1024,
        crossSiteAllowed: crossSiteAllowed(options.cors),
        bodies: yield* bodies(
          options.bodyConcurrencyPerAccount ?? 8,
          options.bodyIdleTimeout ?? "30 seconds"
        ),
        outages: yield* Outages.OutageLog
      })
    })
  )
  const docs = options.docs === false ? Layer.empty : swaggerUi(options.docs ?? "/docs")
  return Layer.mergeAll(
    exactRouting,
    openApiDocument(options.openApiPath ?? "/openapi.json"),
    docs,
    middleware,
    options.cors === undefined ? Layer.empty : HttpApiBuilder.middlewareCors(options.cors)
  ).pipe(
    Layer.provideMerge(HttpApiBuilder.api(api)),
    Layer.provide(
      Layer.provide(
        layerGroups,
        uploads(
          options.uploadConcurrency ?? 4,
          options.uploadConcurrencyPerAccount ?? 2,
          options.uploadIdleTimeout ?? "30 seconds"
        )
      )
    ),
    Layer.provide(authentication),
    Layer.provide(Outages.layer())
  )
}

/** A `TypeError` unless `value` is a whole number from 1, naming the option. */
const wholeFromOne = (option: string, what: string, value: number) =>
  Number.isSafeInteger(value) && value > 0
    ? undefined
    : new TypeError(`Http.Options.${option}: ${what}, a whole number from 1; got ${String(value)}`)

/**
 * `value` as a positive finite duration, or a `TypeError` naming the option.
 */
const positiveDuration = (option: string, what: string, value: Duration.DurationInput) => {
  const decoded = Duration.decodeUnknown(value)
  return decoded._tag === "Some" && Duration.isFinite(decoded.value) && !Duration.isZero(decoded.value)
    ? decoded.value
    : new TypeError(`Http.Options.${option}: ${what}, a positive finite duration; got ${String(value)}`)
}

/**
 * Turns of `perAccount` for each account and an idle timeout, as {@link Reading}; a
 * defect naming the option when a count is not a positive whole number or the
 * timeout not a positive finite duration (`refused`: another option's, checked first).
 */
const reading = (
  perAccount: { readonly option: string; readonly what: string; readonly value: number },
  idle: { readonly option: string; readonly what: string; readonly value: Duration.DurationInput },
  refused?: TypeError
): Effect.Effect<Reading> => {
  const idleTimeout = positiveDuration(idle.option, idle.what, idle.value)
  const error =
    refused ??
    wholeFromOne(perAccount.option, perAccount.what, perAccount.value) ??
    (idleTimeout instanceof TypeError ? idleTimeout : undefined)
  return error !== undefined || idleTimeout instanceof TypeError
    ? Effect.die(error)
    : Effect.map(accountTurns(perAccount.value), (turn) => ({ turn, idleTimeout }))
}

/**
 * Uploads read in turns of `uploadConcurrency` in all, inside their account's of
 * `uploadConcurrencyPerAccount`, each stopping for at most `uploadIdleTimeout`.
 */
const uploads = (concurrency: number, perAccount: number, idle: Duration.DurationInput) =>
  Layer.effect(
    Uploads,
    Effect.flatMap(
      reading(
        {
          option: "uploadConcurrencyPerAccount",
          what: "how many uploads one account has read at once",
          value: perAccount
        },
        { option: "uploadIdleTimeout", what: "how long an upload's body may stop arriving", value: idle },
        wholeFromOne("uploadConcurrency", "how many uploads are read at once", concurrency)
      ),
      ({ turn, idleTimeout }) =>
        Effect.map(Effect.makeSemaphore(concurrency), (slots) => ({
          idleTimeout,
          turn:
            (account: Ids.AccountId) =>
            <A, E, R>(upload: Effect.Effect<A, E, R>) =>
              turn(account)(slots.withPermits(1)(upload))
        }))
    )
  )

/** JSON bodies read in turns of `bodyConcurrencyPerAccount`, each stopping for at most `bodyIdleTimeout`. */
const bodies = (perAccount: number, idle: Duration.DurationInput) =>
  reading(
    {
      option: "bodyConcurrencyPerAccount",
      what: "how many bodies one account has read at once",
      value: perAccount
    },
    { option: "bodyIdleTimeout", what: "how long a request's body may stop arriving", value: idle }
  )
