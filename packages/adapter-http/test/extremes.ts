/**
 * Valid extremes: requests whose every input the endpoint's own schemas accept, drawn
 * from `Arbitrary.make` of the payload, URL parameters and path (refinements kept, so
 * the values run to their bounds: the longest texts, the largest numbers, the first
 * and last dates of the calendar, unusual but valid characters), with the ids of real
 * rows most of the time, an `Idempotency-Key` now and then, and the tokens of four
 * roles in turn. Such a request may well be refused by a rule (`4xx`), but never
 * answered `5xx`: whatever the schemas let through, the adapters must hold (a `500`
 * here was once an `afterSeq` over PostgreSQL's `int4`, and a statistics period
 * ending on 9999-12-31). Every `4xx` is one of the API's errors, with its code.
 * `EXTREMES_TARGET` and `EXTREMES_SEED` draw more or other requests (15,000 with
 * seed 7 found no `5xx` on PostgreSQL either).
 */
import { assert, describe, layer } from "@effect/vitest"
import type { Persistence as P } from "@zhongbao/core"
import { Arbitrary, Effect, FastCheck as fc, type Layer, Option, Schema } from "effect"
import { endpoints, makeServer, roundRobin, seedRows, sendAs, unreached } from "./harness.js"

const TARGET = Number(process.env.EXTREMES_TARGET ?? 2_000)

interface Req {
  readonly endpoint: string
  readonly method: string
  readonly path: string
  readonly body?: { readonly text: string; readonly contentType: string }
  readonly headers?: Record<string, string>
}

/** One value of `schema`'s type, encoded; `undefined` where none could be drawn. */
const draw = (schema: Schema.Schema.Any, seed: number): unknown => {
  try {
    const [value] = fc.sample(Arbitrary.make(schema as Schema.Schema<unknown, unknown>), { numRuns: 1, seed })
    return Schema.encodeSync(schema as Schema.Schema<unknown, unknown>)(value)
  } catch {
    return undefined
  }
}

/** URL parameters of an encoded record: an array is the same key repeated. */
const search = (record: Record<string, unknown>) => {
  const out = new URLSearchParams()
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) out.append(key, String(v))
  }
  return out.toString()
}

/** Builds the valid requests for every endpoint with inputs, round-robin, until `target`. */
const generate = (ids: Record<string, string>, target: number, seed: number): ReadonlyArray<Req> => {
  let state = seed
  const rnd = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff
    return state / 0x7fffffff
  }
  const nextSeed = () => Math.floor(rnd() * 2 ** 31)
  const generators: Array<() => Req | undefined> = []
  for (const { name, endpoint } of endpoints) {
    if (name === "files.upload") continue
    const payload = Option.getOrUndefined(endpoint.payloadSchema)
    const urlParams = Option.getOrUndefined(endpoint.urlParamsSchema)
    const pathSchema = Option.getOrUndefined(endpoint.pathSchema)
    if (payload === undefined && urlParams === undefined && pathSchema === undefined) continue
    generators.push(() => {
      const drawnPath =
        pathSchema === undefined ? {} : (draw(pathSchema, nextSeed()) as Record<string, string>)
      if (drawnPath === undefined) return undefined
      const path = endpoint.path.replace(/:(\w+)/g, (_, key: string) =>
        encodeURIComponent(rnd() < 0.8 && ids[key] !== undefined ? ids[key]! : String(drawnPath[key]))
      )
      const params = urlParams === undefined ? undefined : draw(urlParams, nextSeed())
      if (urlParams !== undefined && params === undefined) return undefined
      const query = params === undefined ? "" : search(params as Record<string, unknown>)
      const body = payload === undefined ? undefined : draw(payload, nextSeed())
      if (payload !== undefined && body === undefined) return undefined
      return {
        endpoint: name,
        method: endpoint.method,
        path: query === "" ? path : `${path}?${query}`,
        ...(body === undefined
          ? {}
          : { body: { text: JSON.stringify(body), contentType: "application/json" } }),
        ...(endpoint.method !== "GET" && rnd() < 0.3
          ? { headers: { "idempotency-key": `k-${nextSeed()}` } }
          : {})
      }
    })
  }
  return roundRobin(generators, [], target, target * 5)
}

/** The valid-extremes suite over `ports`. */
export const extremesSuite = (name: string, ports: Layer.Layer<P.Ports>) =>
  describe(`valid extremes (${name})`, () => {
    layer(makeServer(ports), { timeout: 300_000 })((it) => {
      it.effect(
        `${TARGET} requests that every schema accepts, across every endpoint: no 5xx, every 4xx an API error`,
        () =>
          Effect.gen(function* () {
            const { ids, tokens } = yield* seedRows
            const requests = generate(ids, TARGET, Number(process.env.EXTREMES_SEED ?? 20261201))
            assert.isAtLeast(requests.length, TARGET)
            const failures: Array<string> = []
            const hit = new Set<string>()
            yield* Effect.forEach(
              requests,
              (req, i) =>
                Effect.gen(function* () {
                  const answer = yield* sendAs(req, tokens[i % tokens.length]!)
                  const text = answer.text
                  hit.add(req.endpoint)
                  const shown = `${req.method} ${req.path.slice(0, 160)} ${req.body?.text.slice(0, 200) ?? ""}`
                  if (answer.status >= 500) failures.push(`${shown}: ${answer.status} ${text.slice(0, 200)}`)
                  else if (answer.status >= 400) {
                    const body = JSON.parse(text) as { _tag?: unknown; code?: unknown }
                    if (typeof body._tag !== "string" || typeof body.code !== "string")
                      failures.push(`${shown}: ${answer.status} without an API error: ${text.slice(0, 200)}`)
                  }
                }),
              { concurrency: 8, discard: true }
            )
            assert.deepStrictEqual(failures.slice(0, 10), [])
            assert.deepStrictEqual(unreached(hit, ["files.upload"]), [], "endpoints never reached")
          }),
        300_000
      )
    })
  })
