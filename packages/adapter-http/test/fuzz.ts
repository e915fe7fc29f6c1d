/**
 * Fuzz: at least 10,000 generated invalid requests across every endpoint — payloads
 * from `fc.jsonValue`, from `Arbitrary.make` of each payload's encoded schema
 * (refinements dropped) and those mutated leaf by leaf; URL parameters and path
 * ids out of range; malformed JSON, wrong content types, oversized and junk
 * multipart bodies; invalid `Idempotency-Key` headers. A candidate is sent only if
 * the endpoint's own schema refuses it locally, so every request is invalid by
 * construction. Asserted: no `5xx`, every answer `400` (or `413` for an oversized
 * body) with a body naming the field, and no state change — the audit trail, the
 * outbox and every demand's version are the same before and after.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Persistence, type Persistence as P } from "@zhongbao/core"
import {
  Arbitrary,
  Effect,
  Either,
  FastCheck as fc,
  type Layer,
  Option,
  Schema,
  type SchemaAST
} from "effect"

import { endpoints, makeServer, roundRobin, seedRows, sendAs, unreached } from "./harness.js"

const TARGET = 10_000

interface Req {
  readonly endpoint: string
  readonly method: string
  readonly path: string
  readonly body?: { readonly text: string; readonly contentType: string } | { readonly form: FormData }
  readonly headers?: Record<string, string>
  readonly oversized?: boolean
}

const isInvalid = (schema: Schema.Schema.Any, value: unknown) =>
  Either.isLeft(Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)(value))

const badStrings = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "abc",
    "-1",
    "0",
    "1.5",
    "101",
    "1e3",
    "9999999999999999999999",
    "2026-02-30",
    "2026-13-01",
    "20260101",
    "true1",
    "null",
    "[]",
    "{}",
    "%",
    "\u0000",
    "石墨烯".repeat(40),
    "x".repeat(600)
  ),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 40 })
)

const badLeaf = fc.oneof(
  badStrings,
  fc.constantFrom(null, true, false, 0, -1, 1.5, -0.5, 1e21, [], {}, [null], { a: 1 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true })
)

/** Replaces one leaf (or removes one key) of a JSON value. */
const mutate = (value: unknown, rnd: () => number, leaf: unknown): unknown => {
  if (Array.isArray(value)) {
    if (value.length === 0 || rnd() < 0.2) return rnd() < 0.5 ? leaf : [...value, leaf]
    const i = Math.floor(rnd() * value.length)
    return value.map((v, j) => (j === i ? mutate(v, rnd, leaf) : v))
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value)
    if (keys.length === 0 || rnd() < 0.15) return leaf
    const key = keys[Math.floor(rnd() * keys.length)]!
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
    if (rnd() < 0.25) delete copy[key]
    else copy[key] = mutate(copy[key], rnd, leaf)
    return copy
  }
  return leaf
}

const jsonRoundTrip = (value: unknown) => {
  const text = JSON.stringify(value)
  return text === undefined ? undefined : { text, value: JSON.parse(text) as unknown }
}

const keysOf = (ast: SchemaAST.AST): ReadonlyArray<string> =>
  ast._tag === "TypeLiteral"
    ? ast.propertySignatures.map((p) => String(p.name))
    : ast._tag === "Transformation"
      ? keysOf(ast.to)
      : ast._tag === "Refinement"
        ? keysOf(ast.from)
        : []

const isArrayType = (ast: SchemaAST.AST): boolean =>
  ast._tag === "TupleType" ||
  (ast._tag === "Refinement" && isArrayType(ast.from)) ||
  (ast._tag === "Transformation" && isArrayType(ast.from)) ||
  (ast._tag === "Union" && ast.types.some(isArrayType))

/** URL parameters as the server hands them to the schema: arrays for array fields. */
const normalize = (params: Record<string, string | Array<string>>, ast: SchemaAST.AST) => {
  const struct = ast._tag === "TypeLiteral" ? ast : undefined
  const out: Record<string, string | Array<string>> = {}
  for (const [key, value] of Object.entries(params)) {
    const ps = struct?.propertySignatures.find((p) => p.name === key)
    out[key] = Array.isArray(value) || ps === undefined || !isArrayType(ps.type) ? value : [value]
  }
  return out
}

const paramsOf = (search: URLSearchParams) => {
  const out: Record<string, string | Array<string>> = {}
  for (const [k, v] of search) {
    const prev = out[k]
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return out
}

const pathParams = (path: string) => [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!)

/** Builds the invalid requests for every endpoint, round-robin, until `target`. */
const generate = (ids: Record<string, string>, target: number, seed: number): ReadonlyArray<Req> => {
  let state = seed
  const rnd = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff
    return state / 0x7fffffff
  }
  const fill = (path: string, override?: [string, string]) =>
    path.replace(/:(\w+)/g, (_, name: string) =>
      override !== undefined && override[0] === name ? encodeURIComponent(override[1]) : (ids[name] ?? "x")
    )
  const generators: Array<() => Req | undefined> = []
  for (const { name, endpoint } of endpoints) {
    const method = endpoint.method
    const payload = Option.getOrUndefined(endpoint.payloadSchema)
    const isMultipart = name === "files.upload"
    const headersFor = (): Record<string, string> | undefined =>
      method !== "GET" && rnd() < 0.1
        ? { "idempotency-key": rnd() < 0.5 ? "bad key" : "k".repeat(300) }
        : undefined
    if (payload !== undefined && !isMultipart) {
      const arbitrary = Arbitrary.make(Schema.encodedSchema(payload))
      const sources = [
        fc.jsonValue({ maxDepth: 3 }),
        arbitrary,
        arbitrary.chain((v) => badLeaf.map((leaf) => mutate(v, rnd, leaf)))
      ]
      for (const source of sources) {
        generators.push(() => {
          const [candidate] = fc.sample(source, { numRuns: 1, seed: Math.floor(rnd() * 2 ** 31) })
          const json = jsonRoundTrip(candidate)
          if (json === undefined || !isInvalid(payload, json.value)) return undefined
          const headers = headersFor()
          return {
            endpoint: name,
            method,
            path: fill(endpoint.path),
            body: { text: json.text, contentType: "application/json" },
            ...(headers === undefined ? {} : { headers })
          }
        })
      }
    }
    if (method !== "GET" && !isMultipart) {
      generators.push(() => {
        const kind = Math.floor(rnd() * 5)
        if (payload === undefined) return undefined
        const [body, parsed]: [{ text: string; contentType: string }, unknown] =
          kind === 0
            ? [
                { text: `{"title": ${"[".repeat(Math.floor(rnd() * 50))}`, contentType: "application/json" },
                undefined
              ]
            : kind === 1
              ? [{ text: "hello 石墨烯", contentType: "text/plain" }, "hello 石墨烯"]
              : kind === 2
                ? [
                    { text: "title=%E7%9F%B3&limit=abc", contentType: "application/x-www-form-urlencoded" },
                    { title: "石", limit: "abc" }
                  ]
                : kind === 3
                  ? [
                      { text: "\u0000binary", contentType: "application/octet-stream" },
                      new TextEncoder().encode("\u0000binary")
                    ]
                  : [{ text: "[1,2,3]", contentType: "application/json" }, [1, 2, 3]]
        // a body the server cannot parse (kind 0) is refused before decoding; any other must fail the schema
        if (kind !== 0 && !isInvalid(payload, parsed)) return undefined
        return { endpoint: name, method, path: fill(endpoint.path), body }
      })
    }
    const urlParams = Option.getOrUndefined(endpoint.urlParamsSchema)
    if (urlParams !== undefined) {
      const keys = keysOf(urlParams.ast)
      generators.push(() => {
        const [values] = fc.sample(
          fc.array(fc.tuple(fc.constantFrom(...keys), badStrings), { minLength: 1, maxLength: 3 }),
          {
            numRuns: 1,
            seed: Math.floor(rnd() * 2 ** 31)
          }
        )
        const search = new URLSearchParams()
        for (const [k, v] of values!) search.append(k, v)
        const record = normalize(paramsOf(search), urlParams.ast)
        if (!isInvalid(urlParams, record)) return undefined
        return { endpoint: name, method, path: `${fill(endpoint.path)}?${search.toString()}` }
      })
    }
    const pathSchema = Option.getOrUndefined(endpoint.pathSchema)
    if (pathSchema !== undefined) {
      const params = pathParams(endpoint.path)
      generators.push(() => {
        const param = params[Math.floor(rnd() * params.length)]!
        // 65–100 characters: longer path parameters never match a route (find-my-way's
        // maxParamLength is 100) and answer 404 before any decoding
        const bad = "z".repeat(65 + Math.floor(rnd() * 36))
        const values = Object.fromEntries(params.map((p) => [p, p === param ? bad : (ids[p] ?? "x")]))
        if (!isInvalid(pathSchema, values)) return undefined
        return {
          endpoint: name,
          method,
          path: fill(endpoint.path, [param, bad]),
          ...(payload === undefined || isMultipart
            ? {}
            : { body: { text: "{}", contentType: "application/json" } })
        }
      })
    }
    if (isMultipart) {
      generators.push(() => {
        const form = new FormData()
        const kind = Math.floor(rnd() * 3)
        if (kind === 0) form.append("other", "field")
        else if (kind === 1) form.append("nofile", new Blob([new Uint8Array([1, 2, 3])]), "x.bin")
        else {
          const bytes = new Uint8Array(1 + Math.floor(rnd() * 200)).map(() => Math.floor(rnd() * 256))
          bytes[0] = 0
          form.append("file", new Blob([bytes]), "x.pdf")
        }
        return { endpoint: name, method, path: "/files", body: { form } }
      })
    }
  }
  const out: Array<Req> = []
  // a few bodies over the limit
  for (let i = 0; i < 5; i++) {
    out.push({
      endpoint: "demands.draft",
      method: "POST",
      path: "/demands",
      body: {
        text: JSON.stringify({ title: "x".repeat(1024 * 1024 + 10) }),
        contentType: "application/json"
      },
      oversized: true
    })
  }
  return roundRobin(generators, out, target, target * 20)
}

const snapshot = Effect.gen(function* () {
  const audit = yield* Persistence.AuditRepository
  const outbox = yield* Persistence.Outbox
  const demands = yield* Persistence.DemandRepository
  const events = yield* audit.list({ limit: 1_000_000 })
  const messages = yield* outbox.list({ limit: 1_000_000 })
  const rows = yield* demands.list({ scope: { _tag: "all" }, sort: "created", limit: 1_000_000 })
  return JSON.stringify({
    audit: events.map((e) => e.id),
    outbox: messages.map((m) => m.id),
    demands: rows.map((d) => `${d.id}@${d.version}`)
  })
})

/** The fuzz suite over `ports`. */
export const fuzzSuite = (name: string, ports: Layer.Layer<P.Ports>) =>
  describe(`fuzz (${name})`, () => {
    layer(makeServer(ports), { timeout: 300_000 })((it) => {
      it.effect(
        `${TARGET} invalid requests across every endpoint: no 5xx, no state change`,
        () =>
          Effect.gen(function* () {
            const seeded = yield* seedRows
            const [message] = yield* (yield* Persistence.Outbox).list({ limit: 1 })
            const ids: Record<string, string> = {
              ...seeded.ids,
              applicationId: "01900000-0000-7000-8000-000000000000",
              messageId: message!.id
            }
            const tokens = seeded.tokens
            const requests = generate(ids, TARGET, 20260504)
            assert.isAtLeast(requests.length, TARGET)
            const before = yield* snapshot
            const failures: Array<string> = []
            const hit = new Set<string>()
            yield* Effect.forEach(
              requests,
              (req, i) =>
                Effect.gen(function* () {
                  const response = yield* sendAs(req, tokens[i % tokens.length]!)
                  const text = response.text
                  hit.add(req.endpoint)
                  const expected = req.oversized === true ? 413 : 400
                  if (response.status !== expected) {
                    failures.push(
                      `${req.method} ${req.path.slice(0, 120)}: ${response.status} ${text.slice(0, 200)}`
                    )
                  } else if (expected === 400) {
                    const body = JSON.parse(text) as { _tag?: string; field?: string }
                    if (body._tag !== "InvalidInput" || typeof body.field !== "string") {
                      failures.push(`${req.method} ${req.path.slice(0, 120)}: body ${text.slice(0, 200)}`)
                    }
                  }
                }),
              { concurrency: 8, discard: true }
            )
            const after = yield* snapshot
            assert.deepStrictEqual(failures.slice(0, 20), [])
            assert.strictEqual(after, before, "the fuzz changed the state")
            assert.deepStrictEqual(unreached(hit), [], "endpoints the fuzz never reached")
          }),
        300_000
      )
    })
  })
