import * as HttpApiError from "@effect/platform/HttpApiError"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Errors } from "@zhongbao/core"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Api, Public, Rule } from "../Api.js"
import {
  Denied,
  IdempotencyKeyReused,
  PreconditionFailed,
  InternalError,
  InvalidInput,
  InvalidState,
  NotFound,
  OutcomeUnknown,
  PayloadTooLarge,
  RateLimited,
  RequestTimeout,
  Unauthorized,
  Unavailable
} from "../ApiError.js"
import { CurrentAccount } from "../Authentication.js"
import { type Language, languageOf, translate, zhSize } from "../Messages.js"
import { type Reading, wholeBody } from "./body.js"
import type { OutageLog } from "./outages.js"
import { storeUnavailable } from "./retry.js"

/** @internal The limits the middleware enforces. */
export interface Limits {
  readonly bodyBytes: number
  readonly uploadBytes: number
  /** Whether a command may come from a page of the site `origin` names (CORS's allowed origins). */
  readonly crossSiteAllowed: (origin: string) => boolean
  /** How JSON bodies are read (`bodyConcurrencyPerAccount`, `bodyIdleTimeout`). */
  readonly bodies: Reading
  /** The log of stores out of reach, shared with the handlers. */
  readonly outages: OutageLog["Type"]
}

/** @internal The name of the error a limited web body stream fails with. */
export const BodyTooLargeName = "ZhongbaoBodyTooLarge"

/**
 * @internal
 * Whether an error (or one of its causes) says the body was over the limit: the
 * limited web stream's, the platform's `maxBytes`, or a multipart parser's limit
 * (`ReachedLimit`: total size, part size, file size or number of parts).
 */
export const isBodyTooLarge = (u: unknown): boolean => {
  for (let e = u, depth = 0; e !== null && typeof e === "object" && depth < 8; depth++) {
    const { name, message, cause, _tag } = e as {
      name?: unknown
      message?: unknown
      cause?: unknown
      _tag?: unknown
    }
    if (name === BodyTooLargeName || message === "maxBytes exceeded" || _tag === "ReachedLimit") return true
    e = cause
  }
  return false
}

/**
 * A path as the API's router (find-my-way, configured by `Http.layer` to match
 * exactly) reads it before matching: ended at the first `;`, `?` or `#` (it takes
 * `/demands;jsessionid=1` for `/demands`), then percent-encoded characters that
 * `decodeURI` decodes decoded. Letter case and repeated slashes count; the router
 * ignores a trailing slash, which the patterns below allow.
 */
const routedPath = (pathname: string) => {
  const end = pathname.search(/[;?#]/)
  const path = end === -1 ? pathname : pathname.slice(0, end)
  try {
    return decodeURI(path)
  } catch {
    return path
  }
}

/**
 * @internal
 * Whether a request is an upload (its body limit is the upload limit): `POST /files`,
 * with or without a trailing slash, as the router matches it.
 */
export const isUpload = (method: string, pathname: string) =>
  method === "POST" && /^\/files\/?$/.test(routedPath(pathname))

/**
 * The media types a body is read as: JSON, and multipart for an upload. The platform
 * would also decode forms and multipart bodies into any endpoint's payload, which
 * the API neither documents nor means (a cross-site form can send those without a
 * preflight). A body without a `Content-Type` is read as JSON.
 */
const acceptsMedia = (contentType: string, upload: boolean) => {
  const semicolon = contentType.indexOf(";")
  const media = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
  return media === "application/json" || (upload && media === "multipart/form-data")
}

interface Route {
  /** `METHOD /path`, as the API declares it (`POST /demands/:demandId/responses`). */
  readonly endpoint: string
  readonly method: string
  readonly pattern: RegExp
  readonly statics: number
  readonly rule: string
  readonly isPublic: boolean
}

const routes: ReadonlyArray<Route> = Object.values(
  Api.groups as unknown as Record<string, HttpApiGroup.HttpApiGroup.AnyWithProps>
)
  .flatMap((group) => Object.values(group.endpoints))
  .map((endpoint) => {
    const segments = endpoint.path.split("/").filter((s) => s !== "")
    const pattern = new RegExp(
      `^/${segments.map((s) => (s.startsWith(":") ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("/")}/?$`
    )
    return {
      endpoint: `${endpoint.method} ${endpoint.path}`,
      method: endpoint.method,
      pattern,
      statics: segments.filter((s) => !s.startsWith(":")).length,
      rule: Option.getOrElse(Context.getOption(endpoint.annotations, Rule), () => "§input"),
      isPublic: Option.getOrElse(Context.getOption(endpoint.annotations, Public), () => false)
    }
  })
  .sort((a, b) => b.statics - a.statics)

/**
 * @internal The route of a request, if it is one of the API's, as the router matches
 * it: a `HEAD` request is routed to its path's `GET` endpoint.
 */
export const routeOf = (method: string, pathname: string): Route | undefined => {
  const path = routedPath(pathname)
  const routed = method === "HEAD" ? "GET" : method
  return routes.find((r) => r.method === routed && r.pattern.test(path))
}

/**
 * Rules of fields whose own rule differs from their endpoint's (as core names them,
 * `formRules` of its demand forms): a demand form nested in an edit or a restart is
 * checked under R10 as it is on `POST /demands`.
 */
const fieldRules: Readonly<Record<string, string>> = {
  form: "R10",
  responseDeadline: "R13",
  serviceMode: "R14",
  technologyManagerId: "R1",
  clientId: "R41",
  "idempotency-key": "R63",
  cursor: "§9",
  limit: "§9",
  feedback: "R61"
}

const ruleOfField = (field: string, route: Route | undefined) => {
  const segments = field.split(".")
  // Own keys only: a body's property may be named `toString` or `__proto__`.
  const ruleOf = (segment: string) => (Object.hasOwn(fieldRules, segment) ? fieldRules[segment] : undefined)
  for (const segment of segments.slice(1)) {
    const rule = ruleOf(segment)
    if (rule !== undefined) return rule
  }
  return ruleOf(segments[0]!) ?? route?.rule ?? "§input"
}

const pathnameOf = (url: string) => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

/**
 * @internal Whether a request's endpoint answers anonymous callers: the API's
 * `Public` ones, and requests that are no endpoint's (the API's 404 and its docs
 * answer them; every member handler refuses an anonymous caller itself too).
 */
export const answersAnonymous = (request: HttpServerRequest.HttpServerRequest): boolean =>
  routeOf(request.method, pathnameOf(request.url))?.isPublic !== false

/**
 * An API error with its message in `language`, its fields named as `route` names them
 * (a timeout's naming an upload's body or another request's, as `upload` says);
 * `undefined` for any other failure.
 */
const withMessage = (
  language: Language,
  error: unknown,
  upload: boolean,
  route: Route | undefined
): unknown => {
  const message = (e: Parameters<typeof translate>[1]) => translate(language, e, route?.endpoint)
  if (error instanceof InvalidInput) return new InvalidInput({ ...error, message: message(error) })
  if (error instanceof Denied) return new Denied({ ...error, message: message(error) })
  if (error instanceof NotFound) return new NotFound({ ...error, message: message(error) })
  if (error instanceof InvalidState) return new InvalidState({ ...error, message: message(error) })
  if (error instanceof PreconditionFailed)
    return new PreconditionFailed({ ...error, message: message(error) })
  if (error instanceof IdempotencyKeyReused)
    return new IdempotencyKeyReused({ ...error, message: message(error) })
  if (error instanceof Unauthorized) return new Unauthorized({ ...error, message: message(error) })
  if (error instanceof InternalError) return new InternalError({ ...error, message: message(error) })
  if (error instanceof OutcomeUnknown) return new OutcomeUnknown({ ...error, message: message(error) })
  if (error instanceof Unavailable) return new Unavailable({ ...error, message: message(error) })
  if (error instanceof RequestTimeout)
    return new RequestTimeout({
      ...error,
      message:
        language === "en"
          ? error.message
          : upload
            ? `上传内容已 ${error.idleSeconds} 秒未送达，请重新上传`
            : `请求内容已 ${error.idleSeconds} 秒未送达，请重新发送`
    })
  if (error instanceof RateLimited)
    return new RateLimited({
      ...error,
      message: language === "en" ? error.message : `操作过于频繁，请在 ${error.retryAfterSeconds} 秒后再试`
    })
  return undefined
}

const tooLarge = (language: Language, limit: number) =>
  new PayloadTooLarge({
    code: "body.too_large",
    limit,
    message:
      language === "en"
        ? `the request body is over the limit of ${limit} bytes`
        : `请求内容超过上限（${zhSize(limit)}）`
  })

/** @internal How much of a value (or an unknown name) a refusal quotes back, at most. */
export const quotedChars = 80

/**
 * effect/Schema's wording of what a field must be, for a reader: an expected struct
 * or array is named as such instead of its schema's notation, and the value received
 * is quoted only when short (a body of a megabyte was answered with itself).
 */
const plainDetail = (detail: string): string => {
  if (/^Expected \{/.test(detail)) return "Expected an object"
  if (/^Expected (ReadonlyArray<|Array<|readonly \[)/.test(detail)) return "Expected an array"
  const undecoded = /^Unable to decode ([\s\S]*) into /.exec(detail)
  if (undecoded !== null && undecoded[1]!.length > quotedChars)
    return `Unable to decode the value into ${detail.slice(undecoded[0].length)}`
  const actual = detail.indexOf(", actual ")
  const plain = actual !== -1 && detail.length - actual - 9 > quotedChars ? detail.slice(0, actual) : detail
  return plain.length > 4 * quotedChars ? `${plain.slice(0, 4 * quotedChars)}…` : plain
}

const decodeError = (
  language: Language,
  error: HttpApiError.HttpApiDecodeError,
  route: Route | undefined
) => {
  const issue = Errors.firstIssue(error.issues)
  const field = issue === undefined || issue.path.length === 0 ? "body" : issue.path.join(".")
  const detail = plainDetail(issue?.message ?? "invalid")
  const invalid = {
    rule: ruleOfField(field, route),
    code: "input.invalid",
    field,
    message: `${field}: ${detail}`
  }
  return new InvalidInput({ ...invalid, message: translate(language, invalid, route?.endpoint) })
}

/**
 * A request refused for its framing or body, under the route's rule, in English: the
 * middleware's answer translates it once, as it does every error
 * ({@link translate} in `withMessage`).
 */
const refusal = (route: Route | undefined, code: string, field: string, message: string) =>
  new InvalidInput({ rule: route?.rule ?? "§input", code, field, message: `${field}: ${message}` })

const unsupportedMedia = (route: Route | undefined, upload: boolean) =>
  refusal(
    route,
    "body.content_type",
    "content-type",
    `the request body is sent as ${upload ? "multipart/form-data" : "application/json"}`
  )

/** A `Content-Length` that is not a number of bytes: the request's framing is not to be trusted. */
const malformedLength = (route: Route | undefined) =>
  refusal(route, "body.invalid", "content-length", "the Content-Length header is not a number of bytes")

const malformedBody = (route: Route | undefined) =>
  refusal(route, "body.invalid", "body", "the request body is not valid JSON")

/**
 * @internal
 * How deep a JSON body may nest arrays and objects. The API's deepest payload nests
 * four levels; effect's formatting of a decoding error recurses once per level of the
 * value it quotes, and a body of some 2,000 levels overflowed the stack (a `500`).
 */
export const maxBodyDepth = 32

/**
 * @internal
 * How many values (array elements and object members) a JSON body may hold. The
 * API's largest payload, an end of selection with 1,000 feedback items, holds about
 * 5,000. Effect's formatting of a decoding error quotes the value it refuses whole:
 * a 1 MiB body of 200,000 empty objects where a title goes cost the server 0.7–1.1 s
 * of CPU to refuse (found by review; effect's two formatters alone, 73 ms), against
 * 1.3 ms for the formatters at 10,000.
 */
export const maxBodyValues = 10_000

/**
 * What is wrong with the shape of JSON `text` (strings skipped), if anything: it nests
 * arrays and objects deeper than `maxDepth`, or holds more than `maxValues` values
 * (array elements and object members: a container's first, and one per comma).
 */
const shapeRefusal = (
  text: string,
  maxDepth: number,
  maxValues: number
): "too_deep" | "too_many_values" | undefined => {
  let depth = 0
  let values = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return "too_deep"
      let next = i + 1
      while (isJsonSpace(text.charCodeAt(next))) next++
      const close = text.charCodeAt(next)
      // A container's first value; each later one follows a comma.
      if (close !== 0x5d && close !== 0x7d && ++values > maxValues) return "too_many_values"
    } else if (c === 0x5d || c === 0x7d) depth--
    else if (c === 0x2c && ++values > maxValues) return "too_many_values"
  }
  return undefined
}

const isJsonSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/**
 * A body {@link checkedJson} refused, with the answer: the platform reads a payload
 * with `Effect.orDie`, so it arrives as a defect, told apart from any other by its class.
 */
class RefusedBody {
  constructor(readonly error: InvalidInput | RequestTimeout | PayloadTooLarge) {}
}

const refusedBody = (route: Route | undefined, code: string, message: string) =>
  new RefusedBody(refusal(route, code, "body", message))

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * The `charset` a `Content-Type` names, lower-cased, if it names one that is not
 * UTF-8 or ASCII (which UTF-8 reads alike); `undefined` otherwise.
 */
const otherCharset = (contentType: string | undefined): string | undefined => {
  if (contentType === undefined) return undefined
  for (const m of contentType.matchAll(/;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g)) {
    if (m[1]!.toLowerCase() !== "charset") continue
    const charset = m[2]!.replace(/^"|"$/g, "").trim().toLowerCase()
    return charset === "" || /^(utf-?8|us-ascii|ascii)$/.test(charset) ? undefined : charset
  }
  return undefined
}

/**
 * A JSON body as the API reads it: refused without a `Content-Type` (`body.content_type`:
 * a page of any site can send such a body without a CORS preflight, as it can a
 * form); its bytes decoded as UTF-8, refused (as `InvalidInput` naming `body`) when
 * they are not UTF-8 (`body.encoding`: a GBK or
 * Latin-1 body would be stored with U+FFFD in place of its characters), when the
 * `Content-Type` names another charset and the body is not plain ASCII
 * (`body.charset`), when it nests deeper than {@link maxBodyDepth} (`body.too_deep`) or
 * holds more than {@link maxBodyValues} values (`body.too_many_values`)
 * or is not JSON (`body.invalid`). An empty body is `{}`: a command whose fields are all
 * optional (ending a selection without feedback, recording a demand solved without a
 * fee) takes none, and one with a required field names the field missing.
 */
const checkedJson = (
  request: HttpServerRequest.HttpServerRequest,
  route: () => Route | undefined,
  bodies: Reading
): Effect.Effect<unknown, RefusedBody> =>
  Effect.flatMap(accountBody(request, bodies), (bytes) => {
    if (request.headers["content-type"] === undefined && bytes.length > 0)
      return Effect.fail(new RefusedBody(unsupportedMedia(route(), false)))
    const charset = otherCharset(request.headers["content-type"])
    if (charset !== undefined && bytes.some((b) => b >= 0x80))
      return Effect.fail(refusedBody(route(), "body.charset", `the body is read as UTF-8, not as ${charset}`))
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch {
      return Effect.fail(refusedBody(route(), "body.encoding", "the body is not UTF-8"))
    }
    if (text.trim() === "") return Effect.succeed({})
    const shape = shapeRefusal(text, maxBodyDepth, maxBodyValues)
    if (shape === "too_deep")
      return Effect.fail(
        refusedBody(route(), "body.too_deep", `the body nests deeper than ${maxBodyDepth} levels`)
      )
    if (shape === "too_many_values")
      return Effect.fail(
        refusedBody(
          route(),
          "body.too_many_values",
          `the body holds more than ${maxBodyValues.toLocaleString("en")} values`
        )
      )
    try {
      return Effect.succeed(JSON.parse(text) as unknown)
    } catch {
      return Effect.fail(new RefusedBody(malformedBody(route())))
    }
  })

/**
 * The request's body, read in its account's turn (`Http.Options.bodyConcurrencyPerAccount`:
 * one account's slow bodies hold at most that many bodies' bytes) and refused `408`
 * when it stops arriving for `bodies.idleTimeout`, or `413` over the body limit. An
 * anonymous caller reaches no endpoint that reads a body (the authentication
 * middleware answers it `401` first), so it takes no turn.
 */
const accountBody = (
  request: HttpServerRequest.HttpServerRequest,
  bodies: Reading
): Effect.Effect<Uint8Array, RefusedBody> =>
  Effect.flatMap(Effect.serviceOption(CurrentAccount), (current) => {
    const read = Effect.mapError(wholeBody(request, bodies.idleTimeout), (e) => new RefusedBody(e))
    const account = Option.getOrNull(current)
    return account === null ? read : bodies.turn(account)(read)
  })

/**
 * The request as the API's endpoints see it: the same, but its `json` is
 * {@link checkedJson}. The endpoints read the body after authentication (an anonymous
 * caller of a member's endpoint is answered `401` before its body is read), so the
 * check sits where they read it rather than here.
 */
const withCheckedJson = (
  request: HttpServerRequest.HttpServerRequest,
  route: () => Route | undefined,
  bodies: Reading
): HttpServerRequest.HttpServerRequest =>
  new Proxy(request, {
    get: (target, property) =>
      property === "json" ? checkedJson(target, route, bodies) : Reflect.get(target, property, target)
  })

/**
 * @internal
 * A command without a payload refuses a body (a field sent to it would be dropped
 * without a word: `{"reason": …}` to an endpoint that takes none): nothing, `{}`
 * or `null` is taken; anything else is `InvalidInput` naming the body, or its first
 * property; any body without a `Content-Type` is `body.content_type`. Read after
 * authentication, like the payloads of the other endpoints.
 */
export const noBody: Effect.Effect<void, InvalidInput, HttpServerRequest.HttpServerRequest> = Effect.flatMap(
  HttpServerRequest.HttpServerRequest,
  (request) =>
    Effect.flatMap(Effect.orDie(request.text), (text) => {
      const route = routeOf(request.method, pathnameOf(request.url))
      // As a payload's: a body without a Content-Type is refused (a cross-site page can
      // send one without a preflight), whatever it holds.
      if (request.headers["content-type"] === undefined && text.length > 0)
        return Effect.fail(unsupportedMedia(route, false))
      if (text.trim() === "") return Effect.void
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        return Effect.fail(malformedBody(route))
      }
      if (value === null || (isPlainObject(value) && Object.keys(value).length === 0)) return Effect.void
      const first = isPlainObject(value) ? Object.keys(value)[0] : undefined
      return Effect.fail(
        refusal(route, "body.unexpected", first ?? "body", "this endpoint takes no body (send none, or {})")
      )
    })
)

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Whether a command is a cross-site request forgery as far as the request tells: a
 * browser says it comes from a page of another site (`Sec-Fetch-Site: cross-site`),
 * it carries no `Authorization` header (so whatever credentials it has are ones the
 * browser adds by itself: cookies, as a host's resolver may read them), and its
 * `Origin` is not one CORS allows. A page of another site can send a `POST` without
 * a body, or with a form's body, without a preflight. Requests not sent by a browser
 * (no `Sec-Fetch-Site`), from the same site, or with a bearer token, pass.
 */
const isForged = (
  method: string,
  headers: Readonly<Record<string, string | undefined>>,
  allowed: (origin: string) => boolean
) =>
  !hasNoBody(method) &&
  method !== "OPTIONS" &&
  headers["sec-fetch-site"] === "cross-site" &&
  headers.authorization === undefined &&
  (headers.origin === undefined || !allowed(headers.origin))

/** In English, as {@link refusal}: the middleware's answer translates it. */
const forged = (route: Route | undefined) =>
  new Denied({
    rule: route?.rule ?? "§input",
    code: "request.cross_site",
    message:
      "a command from a page of another site, with the credentials the browser adds by itself, is refused (allow the site in the API's CORS options, or send a bearer token)"
  })

/** A path and method the API has no endpoint for, answered like the API's other 404s. */
const routeNotFound = (language: Language) => {
  const error = { rule: "§input", code: "route.not_found", entity: "route", message: "no such endpoint" }
  return new NotFound({ ...error, message: translate(language, error) })
}

/** Whether every `%` of `pathname` starts an escape that decodes, as UTF-8, with the rest. */
const decodes = (pathname: string) => {
  try {
    decodeURIComponent(pathname)
    return true
  } catch {
    return false
  }
}

/**
 * A path no route matched because its percent-encoding does not decode (`%ZZ`, a
 * lone `%`, half a UTF-8 character): the endpoint may well exist, the id in it is
 * what cannot be read.
 */
const undecodablePath = (language: Language) => {
  const invalid = {
    rule: "§input",
    code: "path.encoding",
    field: "path",
    message: "path: its percent-encoding does not decode as UTF-8"
  }
  return new InvalidInput({ ...invalid, message: translate(language, invalid) })
}

const internal = (language: Language) =>
  new InternalError({
    code: "internal",
    message: translate(language, {
      code: "internal",
      message: "an internal error occurred; it has been logged"
    })
  })

/**
 * Methods whose requests the API never reads a body of (their inputs are the path and
 * query): no body limit is provided to them, which saves a context and fiber-refs
 * copy per request (issue 8's P1). A declared `Content-Length` over the limit is
 * refused for every method.
 */
const hasNoBody = (method: string) => method === "GET" || method === "HEAD"

/**
 * The challenge of a `401` (RFC 9110 §11.6.1 asks one of every `401`): the API's
 * `bearer` scheme, as its OpenAPI document declares it. A host that signs in by
 * cookie still answers with it; browsers prompt only for `Basic` and `Digest`.
 */
const challenge = 'Bearer realm="zhongbao"'

/**
 * @internal
 * The API-wide middleware: the body limit, the language of messages, JSON bodies
 * read through {@link checkedJson} (UTF-8, nesting), decode failures as
 * `InvalidInput`, malformed bodies as `400`, a path or method without an
 * endpoint as `NotFound` (`route.not_found`), defects as a bare `500`,
 * and response headers (`Content-Language`, `Cache-Control: no-store`,
 * `X-Content-Type-Options: nosniff`, and on a `401` `WWW-Authenticate`).
 *
 * The headers go on the response the API answers with; only a request that fails
 * here (its error is made a response further out: 4xx, 500, or 503 when something
 * it waited for was interrupted) appends a pre-response handler for them. A request
 * whose own fiber is interrupted (the client went away, or the server is stopping)
 * runs none of this and answers its 499 or 503 without them. Appending a handler on
 * every request sets a fiber ref of the request's fiber: about 4% of the server's
 * CPU per `GET /settings` (issue 8's P1; median of 12 A/B pairs of fresh server
 * processes).
 */
export const make =
  (limits: Limits) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const language = languageOf(request.headers["accept-language"])
      const pathname = pathnameOf(request.url)
      const route = () => routeOf(request.method, pathname)
      const upload = isUpload(request.method, pathname)
      const max = upload ? limits.uploadBytes : limits.bodyBytes
      const length = request.headers["content-length"]
      const contentType = request.headers["content-type"]
      const refused =
        length !== undefined && !(/^\d+$/.test(length) && Number(length) <= max)
          ? Effect.fail(/^\d+$/.test(length) ? tooLarge(language, max) : malformedLength(route()))
          : contentType !== undefined && !hasNoBody(request.method) && !acceptsMedia(contentType, upload)
            ? Effect.fail(unsupportedMedia(route(), upload))
            : isForged(request.method, request.headers, limits.crossSiteAllowed)
              ? Effect.fail(forged(route()))
              : undefined
      const withHeaders = (response: HttpServerResponse.HttpServerResponse) => {
        const headed = HttpServerResponse.setHeaders(response, {
          "content-language": language,
          "cache-control": response.headers["cache-control"] ?? "no-store",
          "x-content-type-options": "nosniff"
        })
        return response.status === 401
          ? HttpServerResponse.setHeader(headed, "www-authenticate", challenge)
          : headed
      }
      const failing = <E>(cause: Cause.Cause<E>) =>
        Effect.zipRight(
          HttpApp.appendPreResponseHandler((_request, response) => Effect.succeed(withHeaders(response))),
          Effect.failCause(cause)
        )
      const failWith = (error: unknown) => failing(Cause.fail(error))
      const run: Effect.Effect<
        HttpServerResponse.HttpServerResponse,
        unknown,
        HttpServerRequest.HttpServerRequest
      > =
        refused ??
        (hasNoBody(request.method)
          ? app
          : HttpServerRequest.withMaxBodySize(
              upload
                ? app
                : Effect.provideService(
                    app,
                    HttpServerRequest.HttpServerRequest,
                    withCheckedJson(request, route, limits.bodies)
                  ),
              Option.some(max)
            ))
      return run.pipe(
        Effect.matchCauseEffect({
          onSuccess: (response) => Effect.succeed(withHeaders(response)),
          onFailure: (cause) => {
            if (Cause.isInterruptedOnly(cause)) return failing(cause)
            const failure = Cause.failureOption(cause as Cause.Cause<unknown>)
            if (Option.isSome(failure)) {
              const error = failure.value
              if (error instanceof HttpApiError.HttpApiDecodeError)
                return failWith(decodeError(language, error, route()))
              if (error instanceof PayloadTooLarge) return failWith(tooLarge(language, max))
              if (isBodyTooLarge(error)) return failWith(tooLarge(language, max))
              if ((error as { readonly _tag?: unknown })?._tag === "RouteNotFound")
                return failWith(decodes(pathname) ? routeNotFound(language) : undecodablePath(language))
              const translated = withMessage(language, error, upload, route())
              if (translated !== undefined) return failWith(translated)
              // A failure the API does not declare (a host's resolver failing with an
              // error of its own, say): the encoder would answer an empty 500.
              return Effect.zipRight(
                Effect.logError("zhongbao: request failed with an error the API does not declare", cause),
                failWith(internal(language))
              )
            }
            const defect = Cause.dieOption(cause)
            if (Option.isSome(defect)) {
              const d = defect.value as { readonly _tag?: unknown; readonly reason?: unknown }
              if (isBodyTooLarge(d)) return failWith(tooLarge(language, max))
              // A port out of reach whose failure arrives as a defect (the host's resolver:
              // Authentication.layerWith makes it one), answered as a port of core's is.
              if (
                d instanceof Errors.InfrastructureError &&
                d.unavailable === true &&
                d.outcome !== "unknown"
              )
                return Effect.zipRight(
                  limits.outages.failed("zhongbao: the account resolver's store is out of reach", d),
                  Effect.catchAll(storeUnavailable, (e) =>
                    failWith(withMessage(language, e, upload, route()))
                  )
                )
              if (d instanceof RefusedBody)
                return failWith(
                  d.error instanceof PayloadTooLarge
                    ? tooLarge(language, max)
                    : withMessage(language, d.error, upload, route())
                )
              if (d?._tag === "RequestError" && d.reason === "Decode") {
                return failWith(withMessage(language, malformedBody(route()), upload, route()))
              }
            }
            return Effect.zipRight(
              Effect.logError("zhongbao: request failed with a defect", cause),
              failWith(internal(language))
            )
          }
        })
      )
    }) as HttpApp.Default
