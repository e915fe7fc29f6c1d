/**
 * The compiled response encoder (`src/internal/encode.ts`) writes what `Schema.encode`
 * writes: for every endpoint it answers, over values `Arbitrary.make` generates from
 * the endpoint's success schema, the two encodings are the same JSON; and it takes
 * the same decisions the builder does about which endpoints are JSON.
 */
import { HttpApiEndpoint, HttpApiSchema, HttpServerResponse } from "@effect/platform"
import { Arbitrary, DateTime, FastCheck as fc, ParseResult, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { compile, isoOf, responder } from "../src/internal/encode.js"
import { endpoints } from "./harness.js"

const RUNS = 40

describe("responses: the compiled encoder", () => {
  it("answers every JSON endpoint with one success schema, and leaves the others to the builder", () => {
    const answered = endpoints.filter((e) => responder(e.endpoint) !== undefined)
    const left = endpoints.filter((e) => responder(e.endpoint) === undefined)
    for (const { endpoint } of left) {
      const ast = endpoint.successSchema.ast
      expect(
        HttpApiSchema.isVoid(ast) || ast._tag === "Union" || HttpApiSchema.getEncoding(ast).kind !== "Json"
      ).toBe(true)
    }
    expect(answered.length).toBeGreaterThan(endpoints.length / 2)
  })

  for (const { name, endpoint } of endpoints) {
    if (responder(endpoint) === undefined) continue
    it(`${name}: the same JSON as Schema.encode over arbitrary values`, () => {
      const schema = endpoint.successSchema as Schema.Schema<unknown, unknown, never>
      const slow = Schema.encodeSync(schema)
      const fast = compile(schema.ast)
      fc.assert(
        fc.property(Arbitrary.make(schema), (value) => {
          const expected = slow(value)
          expect(fast(value)).toEqual(expected)
          expect(JSON.stringify(fast(value))).toBe(JSON.stringify(expected))
        }),
        { numRuns: RUNS }
      )
    })
  }

  it("what it does not walk is Schema.encode's: unions tagged by literals, empty structs, declarations that change the value, a key named __proto__", () => {
    const cases: ReadonlyArray<readonly [Schema.Schema<unknown, unknown>, unknown]> = [
      [
        Schema.Union(
          Schema.Struct({ a: Schema.String }),
          Schema.Struct({ kind: Schema.Literal("x"), a: Schema.String })
        ) as never,
        { kind: "x", a: "s" }
      ],
      [
        Schema.Union(Schema.Struct({ a: Schema.Unknown }), Schema.Struct({ b: Schema.String })) as never,
        { b: "x" }
      ],
      [Schema.Struct({ meta: Schema.Struct({}) }) as never, { meta: { ok: true } }],
      [
        Schema.Struct({
          c: Schema.declare([], {
            decode: () => (u) => ParseResult.succeed(u),
            encode: () => (u) => ParseResult.succeed(String(u).toUpperCase())
          })
        }) as never,
        { c: "abc" }
      ],
      [Schema.Struct({ at: Schema.NullOr(Schema.DateTimeUtc) }) as never, { at: DateTime.unsafeMake(0) }],
      [
        Schema.Struct({ a: Schema.String, ["__proto__"]: Schema.Struct({ b: Schema.String }) }) as never,
        JSON.parse('{"a":"x","__proto__":{"b":"y"}}')
      ]
    ]
    for (const [schema, value] of cases) {
      expect(JSON.stringify(compile(schema.ast)(value))).toBe(
        JSON.stringify(Schema.encodeSync(schema)(value))
      )
    }
  })

  it("drops excess properties, keeps absent optional ones absent, runs transformations, does not re-check refinements", () => {
    const Item = Schema.Struct({
      at: Schema.DateTimeUtc,
      code: Schema.String.pipe(Schema.pattern(/^[A-Z]+$/)),
      note: Schema.optional(Schema.String),
      when: Schema.NullOr(Schema.DateTimeUtc),
      tags: Schema.Array(Schema.Struct({ name: Schema.String }))
    })
    const at = DateTime.unsafeMake(0)
    const value = {
      at,
      code: "AB",
      when: null,
      tags: [{ name: "x", extra: 1 }],
      extra: true
    }
    const encoded = compile(Item.ast)(value)
    expect(encoded).toEqual(Schema.encodeSync(Item)(value as never))
    expect(encoded).toEqual({ at: "1970-01-01T00:00:00.000Z", code: "AB", when: null, tags: [{ name: "x" }] })
    expect("note" in (encoded as object)).toBe(false)
    expect(compile(Item.ast)({ ...value, code: "lower" })).toMatchObject({ code: "lower" })
  })

  it("writes an instant as DateTime.formatIso does, in every year Date knows and at the edges of days, months and years", () => {
    const instant = fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.getTime()),
      fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }),
      fc
        .record({
          year: fc.integer({ min: 0, max: 9999 }),
          month: fc.integer({ min: 0, max: 11 }),
          end: fc.boolean()
        })
        .map(({ year, month, end }) => {
          const start = new Date(0)
          start.setUTCFullYear(year, month + (end ? 1 : 0), 1)
          return start.getTime() - (end ? 1 : 0)
        })
    )
    fc.assert(
      fc.property(instant, (ms) => {
        expect(isoOf(ms)).toBe(DateTime.formatIso(DateTime.unsafeMake(ms)))
      }),
      { numRuns: 20_000 }
    )
  })

  it("answers JSON with its length in bytes", async () => {
    const endpoint = HttpApiEndpoint.get("demand", "/demand").addSuccess(
      Schema.Struct({ title: Schema.String, at: Schema.DateTimeUtc })
    )
    const value = { title: "石墨烯散热膜", at: DateTime.unsafeMake(0) }
    const response = responder(endpoint)!(value)
    const text = await HttpServerResponse.toWeb(response).text()
    expect(JSON.parse(text)).toEqual({ title: "石墨烯散热膜", at: "1970-01-01T00:00:00.000Z" })
    expect(response.headers["content-length"]).toBe(String(new TextEncoder().encode(text).length))
    expect(response.headers["content-type"]).toBe("application/json")
  })
})
