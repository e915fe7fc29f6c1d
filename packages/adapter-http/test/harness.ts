/**
 * The test server: the API over some persistence ports (the parameter, so the same
 * suites run on core's memory ports now and on adapter-pg's later), served by a
 * real Node server on a random port, with bearer sessions in memory and a client.
 */
import {
  HttpApiBuilder,
  type HttpApiEndpoint,
  HttpClient,
  HttpClientRequest,
  HttpServer
} from "@effect/platform"
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { createServer } from "node:http"
import {
  Consulting,
  type Errors,
  Files,
  type Ids,
  type Persistence,
  Responding,
  Rewards,
  Settings,
  Zhongbao
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, Layer, Option, Redacted, TestClock } from "effect"
import { Api, Authentication, Http, RateLimit } from "../src/index.js"

/** 2026-05-04 10:00 in Asia/Shanghai. */
export const start = DateTime.unsafeMake("2026-05-04T02:00:00Z")

/**
 * `NodeHttpServer.layerTest` with a keep-alive client: a fresh connection per request
 * costs more than the request itself, which the fuzz test sends ten thousand of.
 * The server listens on 127.0.0.1 only.
 */
const testServer = HttpServer.layerTestClient.pipe(
  Layer.provide(NodeHttpClient.layerWithoutAgent),
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true, maxSockets: 16 })),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

/** Options of a test server. */
export interface ServerOptions {
  readonly settings?: Partial<Settings.PlatformSettings>
  readonly rateLimits?: Partial<RateLimit.Policies>
  /** The limiter in place of `RateLimit.layerMemory`. */
  readonly limiter?: Layer.Layer<RateLimit.RateLimiter>
  readonly http?: Http.Options
}

/** What a test has: the services and ports, the sessions, an HTTP client bound to the server. */
export type Env =
  | Zhongbao.Services
  | Persistence.Ports
  | Settings.Settings
  | Authentication.Sessions
  | HttpClient.HttpClient
  | HttpServer.HttpServer

/**
 * The test server over `ports`. The clock is effect's `TestClock`, set to
 * {@link start}; the server and the tests share it.
 */
export const makeServer = (
  ports: Layer.Layer<Persistence.Ports>,
  options: ServerOptions = {}
): Layer.Layer<Env, unknown> => {
  const core = Zhongbao.layer.pipe(
    Layer.provideMerge(Layer.merge(ports, Settings.layer(options.settings ?? {})))
  )
  const auth = Authentication.layerBearer.pipe(Layer.provideMerge(Authentication.layerSessionsMemory()))
  const deps = Layer.mergeAll(
    core,
    auth,
    options.limiter ?? RateLimit.layerMemory,
    RateLimit.layerPolicies(options.rateLimits ?? {})
  )
  const server = HttpApiBuilder.serve().pipe(
    Layer.provide(Http.layer(options.http ?? {})),
    Layer.provide(deps),
    Layer.provideMerge(testServer)
  )
  const clock = Layer.effectDiscard(TestClock.setTime(DateTime.toEpochMillis(start)))
  return Layer.mergeAll(server, deps).pipe(Layer.provide(clock))
}

/** A session token for an account. */
export const tokenFor = (
  account: Ids.AccountId
): Effect.Effect<string, Errors.InfrastructureError, Authentication.Sessions> =>
  Effect.flatMap(Authentication.Sessions, (sessions) => sessions.issue(account)).pipe(
    Effect.map(Redacted.value)
  )

/**
 * What `Mount` is given in the tests: core in memory, bearer sessions in memory, the
 * rate limits at their defaults (the README's own example layer).
 */
export const app = () =>
  Layer.mergeAll(
    Zhongbao.layerMemory(),
    Authentication.layerBearer.pipe(Layer.provideMerge(Authentication.layerSessionsMemory())),
    RateLimit.layer()
  )

/** An endpoint of the API with its name (`group.endpoint`). */
export type Endpoint = HttpApiEndpoint.HttpApiEndpoint.AnyWithProps

/** Every endpoint of the API, named `group.endpoint`. */
export const endpoints: ReadonlyArray<{ readonly name: string; readonly endpoint: Endpoint }> = Object.values(
  Api.Api.groups as unknown as Record<string, { identifier: string; endpoints: Record<string, Endpoint> }>
).flatMap((group) =>
  Object.values(group.endpoints).map((endpoint) => ({
    name: `${group.identifier}.${endpoint.name}`,
    endpoint
  }))
)

/**
 * One row of each kind the API's paths name, for the suites that send requests to
 * every endpoint: the world, an institution's demand for its commissioning
 * enterprise, a response, a consultation thread, an uploaded file, a reward round;
 * their ids by path parameter, and the tokens of four roles.
 */
export const seedRows: Effect.Effect<
  {
    readonly world: Fixtures.World
    readonly ids: Record<string, string>
    readonly tokens: ReadonlyArray<string>
  },
  unknown,
  Env
> = Effect.gen(function* () {
  const w = yield* Fixtures.makeWorld
  const c = yield* Fixtures.activeCommission(w)
  const demand = yield* Fixtures.publish(
    w,
    w.institution.account,
    Fixtures.onBehalf(w, w.enterprise.member.id)
  )
  const response = yield* (yield* Responding.Responding).respond(w.expert.account, {
    demandId: demand.id,
    proposal: { title: "方案", content: "内容" }
  })
  const posted = yield* (yield* Consulting.Consulting).ask(w.expert.account, {
    demandId: demand.id,
    text: "请问"
  })
  const file = yield* (yield* Files.Files).upload(w.institution.account, {
    name: "p.pdf",
    bytes: new TextEncoder().encode("%PDF-1.4\n%%EOF\n")
  })
  const round = yield* (yield* Rewards.Rewards).openRound(w.operator, {
    title: "批次",
    rules: "规则",
    periodStart: "2026-01-01",
    periodEnd: "2026-12-31",
    applicationDeadline: "2026-12-31"
  })
  const ids: Record<string, string> = {
    demandId: demand.id,
    responseId: response.id,
    threadId: posted.thread.id,
    memberId: w.institution.member.id,
    commissionId: c.id,
    roundId: round.id,
    fileId: file.id
  }
  const tokens = [
    yield* tokenFor(w.operator),
    yield* tokenFor(w.institution.account),
    yield* tokenFor(w.enterprise.account),
    yield* tokenFor(w.expert.account)
  ]
  return { world: w, ids, tokens }
})

/**
 * Draws from `generators` in turn (each answers a request, or `undefined` when its
 * draw did not fit) into `out` until it holds `target`, or `maxMisses` draws missed.
 */
export const roundRobin = <A>(
  generators: ReadonlyArray<() => A | undefined>,
  out: Array<A>,
  target: number,
  maxMisses: number
): Array<A> => {
  let misses = 0
  while (out.length < target && misses < maxMisses) {
    for (const g of generators) {
      if (out.length >= target) break
      const drawn = g()
      if (drawn === undefined) misses++
      else out.push(drawn)
    }
  }
  return out
}

/** A generated request: its method, path with query, headers and body. */
export interface Generated {
  readonly method: string
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: { readonly text: string; readonly contentType: string } | { readonly form: FormData }
}

/** Sends `req` with `token` as its bearer; answers the status and the body's text. */
export const sendAs = (req: Generated, token: string) =>
  Effect.gen(function* () {
    let request = HttpClientRequest.make(req.method as "GET")(req.path).pipe(
      HttpClientRequest.bearerToken(token),
      HttpClientRequest.setHeaders(req.headers ?? {})
    )
    if (req.body !== undefined) {
      request =
        "form" in req.body
          ? HttpClientRequest.bodyFormData(request, req.body.form)
          : HttpClientRequest.bodyText(request, req.body.text, req.body.contentType)
    }
    const response = yield* HttpClient.execute(request)
    return { status: response.status, text: yield* response.text }
  })

/** The endpoints with inputs (path, payload or URL parameters) but `skip` that `hit` lacks. */
export const unreached = (hit: ReadonlySet<string>, skip: ReadonlyArray<string> = []) =>
  endpoints
    .filter(
      (e) =>
        !skip.includes(e.name) &&
        (Option.isSome(e.endpoint.pathSchema) ||
          Option.isSome(e.endpoint.payloadSchema) ||
          Option.isSome(e.endpoint.urlParamsSchema))
    )
    .map((e) => e.name)
    .filter((n) => !hit.has(n))
