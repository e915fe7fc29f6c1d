/**
 * Cursor pagination (§9 of the domain). Every list is ordered by a sort key with the id
 * as tie-breaker, so an order is total and stable; a cursor carries the last row's
 * key and is opaque to callers.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Schema from "effect/Schema"
import { LocalDate } from "./Deadline.js"
import { InvalidInput } from "./Errors.js"

/**
 * What a caller asks of a list: where to continue and how many rows.
 *
 * @since 0.1.0
 * @category models
 */
export const PageRequest = Schema.Struct({
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(512))),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 100)))
})

/** @since 0.1.0 @category models */
export type PageRequest = typeof PageRequest.Type

/**
 * Where to continue an append-only list numbered from 1 (a consultation thread's
 * messages, a service log): the last number read, 0 for the start. At most
 * 2³¹ − 1, as an adapter's integer column holds it.
 *
 * @since 0.1.1
 * @category models
 */
export const AfterSeq = Schema.Int.pipe(Schema.between(0, 2_147_483_647))

/**
 * What a caller asks of an append-only list: the last number read and how many entries.
 *
 * @since 0.1.1
 * @category models
 */
export const SeqRequest = Schema.Struct({
  afterSeq: Schema.optional(AfterSeq),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 200)))
})

/**
 * A page of a list; `nextCursor` is `null` on the last page.
 *
 * @since 0.1.0
 * @category models
 */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextCursor: string | null
}

/**
 * Schema of a page of `item`.
 *
 * @since 0.1.0
 * @category models
 */
export const Page = <A, I, R>(item: Schema.Schema<A, I, R>) =>
  Schema.Struct({ items: Schema.Array(item), nextCursor: Schema.NullOr(Schema.String) })

/**
 * Rows per page when a request names none.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultLimit = 20

/**
 * A cursor's position: the sort key values of the last row seen, then its id.
 *
 * @since 0.1.0
 * @category models
 */
export type Position = ReadonlyArray<string | number | null>

/**
 * What a cursor belongs to: the order it continues (`list`: the rows' kind and, where
 * a list offers several, its sort) and its sort key's kind: an instant (epoch
 * milliseconds), an instant or `null` (`instantOrNull`, for a key a row may lack, as
 * an unpublished demand lacks its publication), or a calendar date; the id comes
 * last. A cursor continues only the order that handed it out: a position read under
 * another (a creation time taken as a publication time) would answer a wrong page.
 *
 * @since 0.1.0
 * @category cursors
 */
export interface CursorScope {
  readonly list: string
  readonly key: "instant" | "instantOrNull" | "date"
}

/**
 * Encodes a position of `scope`'s order as an opaque URL-safe cursor.
 *
 * @since 0.1.0
 * @category cursors
 */
export const encodeCursor = (scope: CursorScope, position: Position): string =>
  Encoding.encodeBase64Url(JSON.stringify([scope.list, ...position]))

/**
 * Control characters and unpaired surrogates, which no key or id a list hands out
 * holds (a cursor's JSON may spell them, `"\ud800"`, which a store could not even
 * compare faithfully).
 */
const controls = /[\p{Cc}\p{Cs}]/u

/** 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants every store holds. */
const firstInstant = -62135596800000
const lastInstant = 253402300799999
const isLocalDate = Schema.is(LocalDate)

/** Whether `key` can be a sort key of `kind`. */
const isKey = (key: unknown, kind: CursorScope["key"]): boolean =>
  kind === "date"
    ? typeof key === "string" && isLocalDate(key)
    : (kind === "instantOrNull" && key === null) ||
      (Number.isSafeInteger(key) && (key as number) >= firstInstant && (key as number) <= lastInstant)

/** Whether `id` can be a row's id. */
const isId = (id: unknown): boolean => typeof id === "string" && id.length > 0 && !controls.test(id)

/**
 * Decodes a cursor made by {@link encodeCursor} for `scope`. One that is not such a
 * cursor is an `InvalidInput` on the field `cursor`: one of another order (another
 * list's, or this list's under another sort), a key not of the scope's kind, an id
 * that is empty or holds control characters or unpaired surrogates.
 *
 * @since 0.1.0
 * @category cursors
 */
export const decodeCursor = (cursor: string, scope: CursorScope): Either.Either<Position, InvalidInput> => {
  const bad = new InvalidInput({
    rule: "§9",
    code: "page.cursor_invalid",
    field: "cursor",
    message: "the cursor is not one this list handed out in this order"
  })
  return Encoding.decodeBase64UrlString(cursor).pipe(
    Either.mapLeft(() => bad),
    Either.flatMap((json) => {
      try {
        const value: unknown = JSON.parse(json)
        return Array.isArray(value) &&
          value.length === 3 &&
          value[0] === scope.list &&
          isKey(value[1], scope.key) &&
          isId(value[2])
          ? Either.right(value.slice(1) as Position)
          : Either.left(bad)
      } catch {
        return Either.left(bad)
      }
    })
  )
}

/**
 * Compares two strings by Unicode code point, the order of PostgreSQL's "C"
 * collation over UTF-8 (and of a byte-wise comparison of UTF-8 in any store).
 * JavaScript's `<` compares UTF-16 code units, which puts a character outside the
 * Basic Multilingual Plane (an emoji, a rare CJK character: a surrogate pair) before
 * U+E000–U+FFFF (full-width forms, for one); at the first unit that differs, this
 * moves the surrogates above that range, so the two orders agree.
 *
 * @since 0.1.3
 * @category cursors
 */
export const compareCodePoints = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}

/** A UTF-16 code unit ranked so that surrogates sort above U+E000–U+FFFF. */
const codePointRank = (unit: number): number =>
  unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit

/**
 * Compares two positions element by element (`null` first; strings by code point,
 * {@link compareCodePoints}), the order every list uses; `descending` flips it.
 *
 * @since 0.1.0
 * @category cursors
 */
export const comparePositions = (a: Position, b: Position, descending: boolean): number => {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null
    const y = b[i] ?? null
    if (x === y) continue
    const order =
      x === null
        ? -1
        : y === null
          ? 1
          : typeof x === "string" && typeof y === "string"
            ? Math.sign(compareCodePoints(x, y))
            : x < y
              ? -1
              : 1
    return descending ? -order : order
  }
  return 0
}
