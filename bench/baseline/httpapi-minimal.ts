/**
 * A minimal stock `@effect/platform` HttpApi, for scale beside P1 (issue 8): one
 * `GET /minimal` endpoint answering a constant struct (15 bytes of JSON, encoded by
 * `HttpApiBuilder` as any stock API encodes its answers), with no middleware, no
 * authentication and no database, served on `node:http` through
 * `@effect/platform-node`'s handler with tracing off, as `@zhongbao/adapter-http`'s
 * `Mount.toNodeListener` serves the example server (which keeps the layer's scope
 * open; here nothing in the layer is scoped).
 *
 * Run alone: `PORT=0 node --import tsx bench/baseline/httpapi-minimal.ts` (prints
 * `minimal is ready at <url>`).
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { pathToFileURL } from "node:url"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Schema } from "effect"

const Minimal = HttpApi.make("minimal").add(
  HttpApiGroup.make("minimal").add(
    HttpApiEndpoint.get("minimal", "/minimal").addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
  )
)

const MinimalLive = HttpApiBuilder.group(Minimal, "minimal", (handlers) =>
  handlers.handle("minimal", () => Effect.succeed({ status: "ok" as const }))
)

/** Starts the minimal API's server on `port` (0: any free port) and answers its URL. */
export const start = async (port: number): Promise<string> => {
  const served = Layer.mergeAll(
    HttpApiBuilder.api(Minimal).pipe(Layer.provide(MinimalLive)),
    HttpApiBuilder.Router.Live,
    HttpApiBuilder.Middleware.layer,
    HttpServer.layerContext,
    Layer.setTracerEnabled(false)
  )
  const made = Effect.flatMap(HttpApiBuilder.httpApp, (app) => NodeHttpServer.makeHandler(app))
  const handler = await Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(Layer.build(served), (context) =>
        Effect.locally(
          Effect.withTracerEnabled(made, false),
          HttpMiddleware.currentTracerDisabledWhen,
          () => true
        ).pipe(Effect.provide(context))
      )
    )
  )
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = await start(Number(process.env.PORT ?? 0))
  console.log(`minimal is ready at ${url}`)
}
