import { Errors } from "@zhongbao/core"
import * as Effect from "effect/Effect"
import type { Db, Row } from "./db.js"

/**
 * @internal
 * Inserts are `INSERT … ON CONFLICT DO NOTHING RETURNING …`: a taken key inserts
 * nothing and answers no row, which is a `UniqueViolation` — without aborting the
 * surrounding transaction, so a use case may catch it and go on (as it may over the
 * memory adapter).
 */
export const expectOne =
  (entity: string, key: string) =>
  (rows: ReadonlyArray<Row>): Effect.Effect<void, Errors.UniqueViolation> =>
    rows.length > 0 ? Effect.void : Effect.fail(new Errors.UniqueViolation({ entity, key }))

/**
 * @internal
 * An update without a version (`… WHERE id = … RETURNING id`): no row answered means
 * the id is not stored, a `StaleWrite` (the port's contract; an update never inserts).
 */
export const expectUpdated =
  (entity: string, id: string) =>
  (rows: ReadonlyArray<Row>): Effect.Effect<void, Errors.StaleWrite> =>
    rows.length > 0 ? Effect.void : Effect.fail(new Errors.StaleWrite({ entity, id }))

/**
 * @internal
 * A versioned update, in one statement: `update` is an `UPDATE … WHERE id = … AND
 * version = … - 1 AND NOT EXISTS (conflict) RETURNING 1` named `u`, and `conflict`
 * a query of another row holding a unique key the update would take (or `false`).
 * Answers `UniqueViolation` when the key is taken, `StaleWrite` when no row of the
 * expected version was there. Checking the key first keeps the transaction usable
 * after a refusal; a key taken by a concurrent, uncommitted transaction still ends
 * in the database's own unique violation (23505), mapped to `UniqueViolation` too.
 */
export const versioned = (
  db: Db,
  operation: string,
  entity: string,
  id: string,
  statement: { readonly conflict: string; readonly update: string },
  params: ReadonlyArray<unknown>
): Effect.Effect<void, Errors.InfrastructureError | Errors.UniqueViolation | Errors.StaleWrite> =>
  Effect.flatMap(
    db.write(
      operation,
      entity,
      `WITH c AS (SELECT EXISTS (${statement.conflict}) AS taken),
            u AS (${statement.update.replace("$CONFLICT", "(SELECT taken FROM c)")})
       SELECT (SELECT taken FROM c) AS taken, (SELECT count(*) FROM u)::int AS updated`,
      params
    ),
    (rows): Effect.Effect<void, Errors.UniqueViolation | Errors.StaleWrite> => {
      const row = rows[0]
      if (row?.taken === true)
        return Effect.fail(new Errors.UniqueViolation({ entity, key: `${entity}:${id}` }))
      if (Number(row?.updated ?? 0) === 1) return Effect.void
      return Effect.fail(new Errors.StaleWrite({ entity, id }))
    }
  )
