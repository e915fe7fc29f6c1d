/**
 * The implementation of `Api`: each group's handlers call core's use cases with the
 * acting account, the decoded input and the `Idempotency-Key`, and map core's
 * errors to the API's. Around them, one API-wide middleware enforces the body limit,
 * answers messages in the request's language and turns decode failures, malformed
 * bodies and defects into `400` / `413` / `500` bodies; `/openapi.json` serves the
 * OpenAPI 3.1 document and `/docs` a bundled Swagger UI (no CDN).
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
import { type HttpApi, HttpApiBuilder, HttpApiSwagger, OpenApi } from "@effect/platform"
import { Settings, type Zhongbao } from "@zhongbao/core"
import { Effect, Layer } from "effect"
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
  StatisticsLive
} from "./internal/groups.js"
import * as Middleware from "./internal/middleware.js"
import type { RateLimiter, RateLimits } from "./RateLimit.js"

/**
 * How the API is served.
 *
 * - `prefix`: the path the API is mounted under, for the OpenAPI `servers` entry
 *   (`Mount` strips it from request paths).
 * - `bodyLimitBytes`: the largest request body (default 1 MiB); `413` above it.
 * - `uploadLimitBytes`: the largest upload body (default the platform's file size
 *   limit plus 1 MiB of multipart overhead).
 * - `docs`: the path of the Swagger UI (default `/docs`), or `false`.
 * - `openApiPath`: the path of the OpenAPI document (default `/openapi.json`).
 * - `cors`: CORS options, when browsers call the API from another origin.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly prefix?: string | undefined
  readonly bodyLimitBytes?: number | undefined
  readonly uploadLimitBytes?: number | undefined
  readonly docs?: `/${string}` | false | undefined
  readonly openApiPath?: `/${string}` | undefined
  readonly cors?: Parameters<typeof HttpApiBuilder.middlewareCors>[0] | undefined
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
).pipe(Layer.provide(Authentication.layer))

/**
 * The API with its middleware, OpenAPI document and docs UI, ready for
 * `HttpApiBuilder.serve` or `HttpApiBuilder.toWebHandler`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<HttpApi.Api, never, Requirements> => {
  const prefix = options.prefix === undefined || options.prefix === "/" ? undefined : options.prefix
  const api = prefix === undefined ? Api : Api.annotate(OpenApi.Servers, [{ url: prefix }])
  const middleware = HttpApiBuilder.middleware(
    Effect.map(Settings.Settings, (settings) =>
      Middleware.make({
        bodyBytes: options.bodyLimitBytes ?? 1024 * 1024,
        uploadBytes: options.uploadLimitBytes ?? settings.fileSizeLimitBytes + 1024 * 1024
      })
    )
  )
  const docs = options.docs === false ? Layer.empty : HttpApiSwagger.layer({ path: options.docs ?? "/docs" })
  return Layer.mergeAll(
    HttpApiBuilder.middlewareOpenApi({ path: options.openApiPath ?? "/openapi.json" }),
    docs,
    middleware,
    options.cors === undefined ? Layer.empty : HttpApiBuilder.middlewareCors(options.cors)
  ).pipe(
    Layer.provideMerge(HttpApiBuilder.api(api)),
    Layer.provide(layerGroups),
    Layer.provide(Authentication.layer)
  )
}
