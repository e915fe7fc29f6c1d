import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { InfrastructureError, InvalidInput } from "../Errors.js"
import {
  decodeCursor,
  defaultLimit,
  encodeCursor,
  type Page,
  type PageRequest,
  type Position
} from "../Pagination.js"
import type { Range } from "../Persistence.js"

/** @internal Asks the port for one row more than the page shows and makes the cursor. */
export const pageOf = <A, B = A>(
  request: PageRequest,
  arity: number,
  fetch: (range: Range) => Effect.Effect<ReadonlyArray<A>, InfrastructureError>,
  key: (a: A) => Position,
  view: (rows: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<B>, InfrastructureError> = (rows) =>
    Effect.succeed(rows as unknown as ReadonlyArray<B>)
): Effect.Effect<Page<B>, InfrastructureError | InvalidInput> =>
  Effect.gen(function* () {
    const limit = request.limit ?? defaultLimit
    const after =
      request.cursor === undefined
        ? undefined
        : yield* Either.match(decodeCursor(request.cursor, arity), {
            onLeft: Effect.fail,
            onRight: Effect.succeed
          })
    const rows = yield* fetch({ after, limit: limit + 1 })
    const shown = rows.slice(0, limit)
    const last = shown[shown.length - 1]
    return {
      items: yield* view(shown),
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor(key(last)) : null
    }
  })
