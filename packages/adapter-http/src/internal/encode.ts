import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"

/**
 * @internal
 * An encoder of a schema's values, compiled once from its AST.
 *
 * `Schema.encode` re-runs every refinement of the type side and goes through the
 * parser's generic machinery for each node: on the public hall it was about a
 * quarter of the request's CPU (20 list items, issue 8's P1). A response is a value
 * core built to its type, so this encoder trusts it: refinements are not re-checked,
 * and structs, arrays and `NullOr` are walked directly. Transformations and
 * declarations still run their own `encode` (a `DateTimeUtc` still becomes its ISO
 * string), and what this does not know how to walk (struct transformations, empty
 * structs, unions of several non-literal members, declarations with type parameters,
 * effectful transformations) falls back to `Schema.encode` of that node, so the
 * output is what `Schema.encode` writes, which the tests check over arbitrary values
 * of every endpoint's success schema. Excess properties are dropped as
 * `Schema.encode` does. A value that cannot be encoded is a defect (`500`), where the
 * builder answered its encoding failure as a decode error.
 */
export type Encoder = (value: unknown) => unknown

const identity: Encoder = (value) => value

/** What `Schema.encode` of the node would do, kept for what is not compiled. */
const slow = (ast: AST.AST): Encoder => {
  const encode = ParseResult.encodeUnknownSync(Schema.make(ast))
  return (value) => encode(value)
}

/** Whether a node's encoded form is its value itself (no transformation inside, no excess properties to drop). */
const isIdentity = (ast: AST.AST): boolean => {
  switch (ast._tag) {
    case "Refinement":
      return isIdentity(ast.from)
    case "Union":
      return ast.types.every(isIdentity)
    case "Declaration":
    case "Transformation":
    case "TypeLiteral":
    case "TupleType":
    case "Suspend":
      return false
    default:
      return true
  }
}

/** The value of a `Literal` node, possibly refined (`null` of `NullOr`, `undefined` of `UndefinedOr`). */
const literalOf = (ast: AST.AST): { readonly value: unknown } | undefined =>
  ast._tag === "Literal"
    ? { value: ast.literal }
    : ast._tag === "UndefinedKeyword"
      ? { value: undefined }
      : undefined

/**
 * For a struct whose keys are all strings and all required (none `__proto__`, which
 * `Schema.encode` assigns as the prototype), an object with those keys in order,
 * each `null`: each output is a copy of it, filled. `JSON.parse`
 * gives V8 an object of that shape in one piece, so a copy is allocated once at its
 * full size, where an output grown key by key reallocates its properties as it grows.
 */
const templateOf = (
  properties: ReadonlyArray<{ readonly name: PropertyKey; readonly optional: boolean }>
): Readonly<Record<string, null>> | undefined =>
  properties.every((p) => typeof p.name === "string" && p.name !== "__proto__" && !p.optional)
    ? (JSON.parse(`{${properties.map((p) => `${JSON.stringify(p.name)}:null`).join(",")}}`) as Record<
        string,
        null
      >)
    : undefined

const compileStruct = (ast: AST.TypeLiteral): Encoder => {
  if (ast.indexSignatures.length > 0 || ast.propertySignatures.length === 0) return slow(ast)
  const properties = ast.propertySignatures.map((ps) => ({
    name: ps.name,
    encode: compile(ps.type),
    optional: ps.isOptional
  }))
  const template = templateOf(properties)
  return (value) => {
    const input = value as Record<PropertyKey, unknown>
    const output: Record<PropertyKey, unknown> = template === undefined ? {} : { ...template }
    for (const p of properties) {
      if (p.optional && !Object.hasOwn(input, p.name)) continue
      const v = input[p.name]
      output[p.name] = p.encode === identity ? v : p.encode(v)
    }
    return output
  }
}

const compileTuple = (ast: AST.TupleType): Encoder => {
  if (ast.elements.length > 0 || ast.rest.length !== 1) return slow(ast)
  const item = compile(ast.rest[0]!.type)
  return item === identity
    ? (value) => (value as ReadonlyArray<unknown>).slice()
    : (value) => (value as ReadonlyArray<unknown>).map((v) => item(v))
}

/**
 * A union whose members are all identity is the identity; one member and literals
 * (`NullOr`, `UndefinedOr`) is walked: a literal value is itself, anything else is the
 * member's. Other unions are left to `Schema.encode`, which picks a member by its
 * literal tags first.
 */
const compileUnion = (ast: AST.Union): Encoder => {
  if (isIdentity(ast)) return identity
  const others = ast.types.filter((member) => literalOf(member) === undefined)
  if (others.length !== 1) return slow(ast)
  const literals = ast.types.flatMap((member) => {
    const literal = literalOf(member)
    return literal === undefined ? [] : [literal.value]
  })
  const member = compile(others[0]!)
  return (value) => (literals.includes(value) ? value : member(value))
}

const compileTransformation = (ast: AST.Transformation): Encoder => {
  if (ast.transformation === dateTimeUtc) {
    const fallback = slow(ast)
    return (value) =>
      DateTime.isDateTime(value) && DateTime.isUtc(value)
        ? isoOf(DateTime.toEpochMillis(value))
        : fallback(value)
  }
  const to = compile(ast.to)
  const from = compile(ast.from)
  const t = ast.transformation
  switch (t._tag) {
    case "ComposeTransformation":
      return (value) => from(to(value))
    case "FinalTransformation": {
      const fallback = slow(ast)
      return (value) => {
        const result = t.encode(to(value), {}, ast, value)
        return Either.isEither(result) && Either.isRight(result) ? from(result.right) : fallback(value)
      }
    }
    case "TypeLiteralTransformation":
      return slow(ast)
  }
}

const DAY = 86_400_000

/** The character code of a decimal digit. */
const digit = (n: number): number => 48 + n

/**
 * @internal
 * `DateTime.formatIso` of an instant, which is `Date.prototype.toISOString`, written in
 * JavaScript for the years 0000–9999 (other years are left to `toISOString`, whose
 * six-digit form this does not write). V8 answers `toISOString` in its C++ runtime:
 * about 0.75 µs a call here, against 0.27 µs for this, and the public hall's page of
 * 20 items formats 40 instants (issue 8's P1). The string is made in one piece from
 * its character codes (`String.fromCharCode`): a template literal of its parts made
 * about 530 bytes of intermediate strings per instant, 17 KB of a hall page's 229 KB
 * of garbage, and took longer (0.27 against 0.46 µs in the same run). The date is
 * Howard Hinnant's `civil_from_days` (proleptic Gregorian, as `Date`); the tests
 * compare the two over arbitrary instants.
 */
export const isoOf = (epochMillis: number): string => {
  const days = Math.floor(epochMillis / DAY)
  let rest = epochMillis - days * DAY
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const dayOfEra = z - era * 146_097
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365
  )
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const shifted = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * shifted + 2) / 5) + 1
  const month = shifted < 10 ? shifted + 3 : shifted - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  if (year < 0 || year > 9999 || !Number.isFinite(epochMillis)) return new Date(epochMillis).toISOString()
  const hours = Math.floor(rest / 3_600_000)
  rest -= hours * 3_600_000
  const minutes = Math.floor(rest / 60_000)
  rest -= minutes * 60_000
  const seconds = Math.floor(rest / 1000)
  const millis = rest - seconds * 1000
  return String.fromCharCode(
    digit(Math.floor(year / 1000)),
    digit(Math.floor(year / 100) % 10),
    digit(Math.floor(year / 10) % 10),
    digit(year % 10),
    45, // -
    digit(Math.floor(month / 10)),
    digit(month % 10),
    45,
    digit(Math.floor(day / 10)),
    digit(day % 10),
    84, // T
    digit(Math.floor(hours / 10)),
    digit(hours % 10),
    58, // :
    digit(Math.floor(minutes / 10)),
    digit(minutes % 10),
    58,
    digit(Math.floor(seconds / 10)),
    digit(seconds % 10),
    46, // .
    digit(Math.floor(millis / 100)),
    digit(Math.floor(millis / 10) % 10),
    digit(millis % 10),
    90 // Z
  )
}

/** The transformation of `Schema.DateTimeUtc` (annotating the schema keeps it). */
const dateTimeUtc = (Schema.DateTimeUtc.ast as AST.Transformation).transformation

/** A declaration without type parameters runs its own `encode` (`DateTimeUtcFromSelf` checks and keeps the value). */
const compileDeclaration = (ast: AST.Declaration): Encoder => {
  if (ast.typeParameters.length > 0) return slow(ast)
  const encode = ast.encodeUnknown()
  const fallback = slow(ast)
  return (value) => {
    const result = encode(value, {}, ast)
    return Either.isEither(result) && Either.isRight(result) ? result.right : fallback(value)
  }
}

const compiled = new WeakMap<AST.AST, Encoder>()

/** @internal The encoder of `ast` (see {@link Encoder}). */
export const compile = (ast: AST.AST): Encoder => {
  const known = compiled.get(ast)
  if (known !== undefined) return known
  let encoder: Encoder
  switch (ast._tag) {
    case "Refinement":
      encoder = compile(ast.from)
      break
    case "TypeLiteral":
      encoder = compileStruct(ast)
      break
    case "TupleType":
      encoder = compileTuple(ast)
      break
    case "Union":
      encoder = compileUnion(ast)
      break
    case "Transformation":
      encoder = compileTransformation(ast)
      break
    case "Suspend": {
      let inner: Encoder | undefined
      encoder = (value) => {
        inner ??= compile(ast.f())
        return inner(value)
      }
      break
    }
    case "Declaration":
      encoder = compileDeclaration(ast)
      break
    default:
      encoder = identity
  }
  compiled.set(ast, encoder)
  return encoder
}

/**
 * @internal
 * The JSON response of an endpoint's success value, encoded by {@link compile}; `undefined`
 * for the endpoints it does not answer (no content, not JSON, several success
 * schemas), which keep the builder's own encoding. The body is the builder's
 * `unsafeJson`. Sending the JSON text instead (node writing it with the response's head)
 * measured slower on the public hall: node joins the head and the text and copies the
 * join again to encode it, where the builder's body is encoded once into bytes.
 */
export const responder = (
  endpoint: HttpApiEndpoint.HttpApiEndpoint.Any
): ((value: unknown) => HttpServerResponse.HttpServerResponse) | undefined => {
  const ast = (endpoint as HttpApiEndpoint.HttpApiEndpoint.AnyWithProps).successSchema.ast
  if (ast._tag === "Union" || HttpApiSchema.isVoid(ast)) return undefined
  const encoding = HttpApiSchema.getEncoding(ast)
  if (encoding.kind !== "Json") return undefined
  const status = HttpApiSchema.getStatusSuccessAST(ast)
  const encode = compile(ast)
  return (value) =>
    HttpServerResponse.unsafeJson(encode(value), { status, contentType: encoding.contentType })
}
