import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { InfrastructureError, InvalidInput } from "../Errors.js"
import {
  decodeCursor,
  defaultLimit,
  encodeCursor,
  type CursorScope,
  type Page,
  type PageRequest,
  type Position
} from "../Pagination.js"
import type { Range } from "../Persistence.js"

/**
 * @internal Asks the port for one row more than the page shows and makes the cursor,
 * of `scope`'s order (`SortKeys`: the one `key` gives positions in).
 * Written without a generator: every page runs it (issue 8's P1).
 */
export const pageOf = <A, B = A>(
  request: PageRequest,
  scope: CursorScope,
  fetch: (range: Range) => Effect.Effect<ReadonlyArray<A>, InfrastructureError>,
  key: (a: A) => Position,
  view: (rows: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<B>, InfrastructureError> = (rows) =>
    Effect.succeed(rows as unknown as ReadonlyArray<B>)
): Effect.Effect<Page<B>, InfrastructureError | InvalidInput> =>
  Effect.suspend((): Effect.Effect<Page<B>, InfrastructureError | InvalidInput> => {
    const limit = request.limit ?? defaultLimit
    let after: Position | undefined
    if (request.cursor !== undefined) {
      const decoded = decodeCursor(request.cursor, scope)
      if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
      after = decoded.right
    }
    return Effect.flatMap(fetch({ after, limit: limit + 1 }), (rows) => {
      const shown = rows.slice(0, limit)
      const last = shown[shown.length - 1]
      const nextCursor = rows.length > limit && last !== undefined ? encodeCursor(scope, key(last)) : null
      return Effect.map(view(shown), (items): Page<B> => ({ items, nextCursor }))
    })
  })
