import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlError from "@effect/sql/SqlError"
import type { Connection } from "@effect/sql/SqlConnection"
import { Deadline, Errors } from "@zhongbao/core"
import * as DateTime from "effect/DateTime"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Pg from "pg"
import {
  currentAbortable,
  currentUnit,
  isStalePrepared,
  type StatementNames,
  type UnitOfWorkStale
} from "./prepared.js"

/** @internal A row as the driver returns it. */
export type Row = Readonly<Record<string, unknown>>

/** @internal The SQLSTATE of a failed statement, if the database answered one. */
export const sqlState = (error: unknown): string | undefined => {
  const cause = error instanceof SqlError.SqlError ? error.cause : error
  // Node's system errors (EPIPE, ECONNRESET) have a `code` too, and an `errno`.
  const code =
    typeof cause === "object" && cause !== null && "code" in cause && !("errno" in cause)
      ? (cause as { code: unknown }).code
      : undefined
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/** @internal SQLSTATEs after which the whole transaction may simply run again. */
export const retryableStates: ReadonlySet<string> = new Set(["40001", "40P01"])

/** @internal Whether a failure (of a port, or a statement of the host) is a serialization failure or a deadlock. */
export const isRetryable = (error: unknown): boolean => {
  const state =
    error instanceof Errors.InfrastructureError
      ? sqlState(error.cause)
      : error instanceof SqlError.SqlError
        ? sqlState(error)
        : undefined
  return state !== undefined && retryableStates.has(state)
}

/** What a failed request says of the database: a reason safe to show, and whether the database was out of reach. */
interface Failure {
  readonly reason: string
  readonly unavailable: boolean
}

const lost: Failure = { reason: "the database connection was lost", unavailable: true }

/**
 * SQLSTATEs of a database out of reach for the moment: the connection's exceptions
 * but a protocol violation (08P01, a client's bug) and an unknown transaction
 * resolution (08007, which a unit of work's COMMIT answers as an unknown outcome),
 * and a server shutting down, crashed or starting (57P01–57P03).
 */
const lostStates: ReadonlySet<string> = new Set([
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "57P01",
  "57P02",
  "57P03"
])

const describe = (error: SqlError.SqlError): Failure => {
  const state = sqlState(error)
  if (state === undefined) {
    const text = `${error.message ?? ""} ${(error.cause as { message?: string } | undefined)?.message ?? ""}`
    if (/timeout|timed out/i.test(text))
      return { reason: "no database connection could be used in time", unavailable: true }
    if (/terminat|closed|not queryable|connection error|ECONNRESET|EPIPE/i.test(text)) return lost
    if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN/.test(text))
      return { reason: "the database could not be reached", unavailable: true }
    return { reason: "the database request failed", unavailable: false }
  }
  if (retryableStates.has(state))
    return { reason: "a concurrent transaction conflicted with this one", unavailable: false }
  if (state === "57014")
    return { reason: "the database cancelled the statement (timeout)", unavailable: false }
  if (lostStates.has(state)) return lost
  if (state.startsWith("08")) return { reason: "the database connection failed", unavailable: false }
  if (state === "53300") return { reason: "the database has no free connection", unavailable: true }
  if (state === "25P02")
    return { reason: "the transaction was aborted by an earlier failure", unavailable: false }
  return { reason: `the database refused the request (SQLSTATE ${state})`, unavailable: false }
}

/** What a database error's `detail` reads once withheld. */
const withheldDetail = "(withheld: it may quote the row's values)"

/**
 * @internal
 * `error` with the server's `detail` withheld, in place: PostgreSQL's detail of a
 * refused row quotes the row ("Failing row contains (…, +8613912345678, …)", "Key
 * (…)=(…) already exists"), and the cause of an infrastructure error is logged
 * whole, where phone numbers may appear only masked (R64). The SQLSTATE, the
 * constraint, table and column names and the message stay. In place, because the
 * error's identity is how a lost prepared statement is told (`prepared.ts`).
 */
export const withoutRowValues = <E>(error: E): E => {
  const cause = error instanceof SqlError.SqlError ? error.cause : error
  if (
    typeof cause === "object" &&
    cause !== null &&
    typeof (cause as { detail?: unknown }).detail === "string"
  )
    (cause as { detail: string }).detail = withheldDetail
  return error
}

/**
 * @internal
 * An infrastructure error with a message safe to show: the operation and the kind
 * of failure, never the statement or the values; the `SqlError` stays as `cause`,
 * its detail withheld ({@link withoutRowValues}).
 * A database out of reach (not reached, connection lost, no free connection, or
 * starting or stopping: `lostStates` and 53300) is marked `unavailable`.
 */
export const infrastructure = (operation: string, error: unknown): Errors.InfrastructureError => {
  const port = operation.split(".")[0] ?? operation
  const failure: Failure =
    error instanceof SqlError.SqlError
      ? describe(error)
      : { reason: "the database request failed", unavailable: false }
  return new Errors.InfrastructureError({
    port,
    message: `${operation}: ${failure.reason}`,
    ...(failure.unavailable ? { unavailable: true as const } : {}),
    cause: withoutRowValues(error)
  })
}

/** @internal The constraint a unique violation names, if any. */
const constraintOf = (error: SqlError.SqlError): string | undefined => {
  const cause = error.cause as { constraint?: unknown } | undefined
  return typeof cause?.constraint === "string" ? cause.constraint : undefined
}

/**
 * @internal
 * Whether a failed COMMIT may have committed all the same: no answer came (the
 * connection was lost, or the client stopped waiting), or the server answered with
 * a connection exception (class 08) or an operator intervention (class 57: a
 * termination, shutdown or cancellation that PostgreSQL holds off while it commits
 * and may raise once the commit is done). Any other answer (a serialization failure,
 * a deferred constraint) says the transaction was rolled back.
 */
export const commitOutcomeUnknown = (error: SqlError.SqlError): boolean => {
  const state = sqlState(error)
  return state === undefined || state.startsWith("08") || state.startsWith("57")
}

/**
 * @internal
 * The failure of `operation` (`Port.method`) whose COMMIT may have committed
 * ({@link commitOutcomeUnknown}): `outcome: "unknown"`, so that no caller takes it
 * for a rollback (R63: a keyed retry is how a client learns what happened).
 */
export const outcomeUnknown = (operation: string, what: string, cause: SqlError.SqlError) =>
  new Errors.InfrastructureError({
    port: operation.split(".")[0] ?? operation,
    message: `${operation}: ${what}'s COMMIT got no answer, or one that may have come after the commit (the connection was lost, or the server was stopping or cancelled it); whether it was written is unknown`,
    outcome: "unknown",
    cause: withoutRowValues(cause)
  })

/**
 * @internal `effect` in a transaction of its own (a savepoint inside an enclosing
 * one), the statements' `SqlError`s and those of BEGIN, COMMIT and ROLLBACK (which
 * @effect/sql raises as defects, the connection lost) failing as `operation`'s
 * `InfrastructureError`. A COMMIT of its own that may have committed all the same
 * fails with `outcome: "unknown"`, as a unit of work's does.
 */
export const ownTransaction = <A, E, R>(db: Db, operation: string, effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (enclosing) => {
    // Set once `effect` succeeded in a transaction of its own: a failure after it is its COMMIT's.
    let committing = false
    return db.sql
      .withTransaction(
        Effect.tap(effect, () =>
          Effect.sync(() => {
            committing = Option.isNone(enclosing)
          })
        )
      )
      .pipe(
        Effect.catchIf(
          (e): e is Extract<typeof e, SqlError.SqlError> => e instanceof SqlError.SqlError,
          (e) => Effect.fail(infrastructure(operation, e))
        ),
        Effect.catchSomeDefect((defect) =>
          defect instanceof SqlError.SqlError
            ? Option.some(
                Effect.fail(
                  committing && commitOutcomeUnknown(defect)
                    ? outcomeUnknown(operation, "the transaction", defect)
                    : infrastructure(operation, defect)
                )
              )
            : Option.none()
        )
      )
  })

/** @internal Validates a schema name: an unquoted PostgreSQL identifier in lower case. */
export const isSchemaName = (name: string): boolean => /^[a-z_][a-z0-9_]{0,62}$/.test(name)

/**
 * @internal The schema as a quoted identifier for the statements' text; a name that
 * is not a lower-case identifier is refused (thrown: it is a host's programming
 * error, and it would otherwise become part of every statement).
 */
export const schemaIdentifier = (name: string): string => {
  if (!isSchemaName(name))
    throw new TypeError(
      `zhongbao adapter-pg: schema ${JSON.stringify(name)} is not a lower-case identifier (a-z, 0-9, _; 63 characters at most)`
    )
  return `"${name}"`
}

/**
 * @internal
 * The adapter's access to the database: schema-qualified table names and
 * statements whose failures are mapped to the ports' errors.
 */
export interface Db {
  readonly sql: SqlClient.SqlClient
  readonly schema: string
  /** A table of the schema, quoted and qualified. */
  readonly t: (table: string) => string
  /** Runs a statement; every failure is an `InfrastructureError`. */
  readonly query: (
    operation: string,
    text: string,
    params?: ReadonlyArray<unknown>
  ) => Effect.Effect<ReadonlyArray<Row>, Errors.InfrastructureError>
  /** Runs a write; a unique violation (23505) is a `UniqueViolation` of `entity`. */
  readonly write: (
    operation: string,
    entity: string,
    text: string,
    params?: ReadonlyArray<unknown>
  ) => Effect.Effect<ReadonlyArray<Row>, Errors.InfrastructureError | Errors.UniqueViolation>
  /** Whether the current fiber runs inside a transaction of this client. */
  readonly inTransaction: Effect.Effect<boolean>
}

/**
 * @internal
 * The pools of the clients `PgDatabase` made. A client a host made itself has none
 * here, and its statements always go through `Statement`.
 */
export const poolOf = new WeakMap<SqlClient.SqlClient, Pg.Pool>()

/** @internal The statement names of the pools `PgDatabase` made that name statements (not the embedded database's). */
export const statementNamesOf = new WeakMap<Pg.Pool, StatementNames>()

/** @internal */
export const makeDb = (client: SqlClient.SqlClient, schema: string): Db => {
  const quoted = schemaIdentifier(schema)
  const sql = client.withoutTransforms()
  const statement = (text: string, params: ReadonlyArray<unknown>) =>
    sql.unsafe<Row>(text, params as Array<unknown>) as unknown as Effect.Effect<
      ReadonlyArray<Row>,
      SqlError.SqlError
    >
  const pool = poolOf.get(client)
  const names = pool === undefined ? undefined : statementNamesOf.get(pool)
  const send = (pool: Pg.Pool, config: Pg.QueryConfig<Array<unknown>>) =>
    Effect.async<ReadonlyArray<Row>, SqlError.SqlError>((resume) => {
      pool.query(config, (error: Error | undefined, result: Pg.QueryResult<Row>) =>
        resume(
          error === undefined || error === null
            ? Effect.succeed(result.rows)
            : Effect.fail(new SqlError.SqlError({ cause: error, message: "Failed to execute statement" }))
        )
      )
    })
  /** On the pool, named when the pool names statements (see `StatementNames`). */
  const pooled = (pool: Pg.Pool, text: string, params: ReadonlyArray<unknown>) => {
    const values = params as Array<unknown>
    const name = names?.nameOf(text)
    if (name === undefined) return send(pool, { text, values })
    return Effect.catchIf(
      send(pool, { name, text, values }),
      (error) => isStalePrepared(error.cause),
      () =>
        Effect.suspend(() => {
          names!.forget(text)
          return send(pool, { text, values })
        })
    )
  }
  /**
   * On the transaction's connection; named when the pool names statements, the
   * adapter's outermost unit of work can run again (see `UnitOfWorkStale`), which a
   * stale prepared statement then tells, and no savepoint is open (`depth` 0: a
   * savepoint rolled back would leave the transaction going with the failure caught).
   * The name goes to `pg` in the statement's config, through `@effect/sql-pg`'s
   * connection, which keeps its cancel on interruption.
   */
  const transactional = (
    connection: Connection,
    depth: number,
    unit: UnitOfWorkStale | undefined,
    text: string,
    params: ReadonlyArray<unknown>
  ) => {
    const name = unit === undefined || depth !== 0 ? undefined : names?.nameOf(text)
    const execute = (statement: string | Pg.QueryConfig) =>
      connection.execute(statement as string, params, undefined) as Effect.Effect<
        ReadonlyArray<Row>,
        SqlError.SqlError
      >
    if (name === undefined) return execute(text)
    return Effect.tapError(execute({ name, text }), (error) =>
      Effect.sync(() => {
        if (!isStalePrepared(error.cause)) return
        names!.forget(text)
        unit!.stale = true
      })
    )
  }
  /*
   * With tracing off, a statement skips `@effect/sql`'s `Statement` (its span,
   * compilation and scoped acquisition): inside a unit of work it goes straight to
   * the transaction's connection (about 80 µs of CPU less per statement, 7 per
   * respond: issue 8's P2); outside one, on a pool `PgDatabase` made, to
   * `pool.query` (about 160 µs less: the public hall's one statement, P1). Either
   * way it is named when the pool names statements. With tracing on, statements
   * keep their `sql.execute` spans and go unnamed.
   */
  const dispatch = (
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    unit: UnitOfWorkStale | undefined,
    text: string,
    params: ReadonlyArray<unknown>
  ) => {
    if (fiber.getFiberRef(FiberRef.currentTracerEnabled)) return statement(text, params)
    const tx = Context.getOption(fiber.currentContext, SqlClient.TransactionConnection)
    if (Option.isSome(tx)) return transactional(tx.value[0], tx.value[1], unit, text, params)
    return pool === undefined ? statement(text, params) : pooled(pool, text, params)
  }
  /*
   * A statement of a unit of work that fails has aborted its transaction: the
   * innermost unit is marked, so that it fails before its COMMIT (a nested one:
   * instead of keeping its savepoint) even if it catches the failure and goes on
   * (see `UnitOfWorkStale.aborted`). So is one interrupted (a timeout, a race): the
   * client cancels it on the server, which aborts the transaction the same way.
   */
  const run = (text: string, params: ReadonlyArray<unknown>) =>
    Effect.withFiberRuntime<ReadonlyArray<Row>, SqlError.SqlError>((fiber) => {
      const sent = dispatch(fiber, fiber.getFiberRef(currentUnit), text, params)
      const abortable = fiber.getFiberRef(currentAbortable)
      return abortable === undefined
        ? sent
        : Effect.onError(sent, (cause) =>
            Effect.sync(() => {
              if (!abortable.aborted) abortable.cause = Cause.squash(cause)
              abortable.aborted = true
            })
          )
    })
  return {
    sql,
    schema,
    t: (table) => `${quoted}.${table}`,
    query: (operation, text, params = []) =>
      Effect.mapError(run(text, params), (error) => infrastructure(operation, error)),
    write: (operation, entity, text, params = []) =>
      Effect.mapError(run(text, params), (error) =>
        sqlState(error) === "23505"
          ? new Errors.UniqueViolation({ entity, key: constraintOf(error) ?? "unique" })
          : infrastructure(operation, error)
      ),
    inTransaction: Effect.map(Effect.serviceOption(SqlClient.TransactionConnection), Option.isSome)
  }
}

/** @internal Collects the parameters of a statement built piece by piece. */
export class Params {
  readonly values: Array<unknown> = []
  /** Adds a value and answers its placeholder. */
  add(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}

/*
 * Column codecs. Values are selected as text where the driver's parser could be
 * configured differently by a host (instants, dates, bigints, JSON, arrays), so the
 * adapter reads the same values whatever `types` the host's pool has.
 */

/** @internal An instant as epoch milliseconds, in text. */
export const selTs = (column: string, as: string = column.replace(/^.*\./, "")) =>
  `(extract(epoch from ${column}) * 1000)::int8::text AS ${as}`

/** @internal A date as `YYYY-MM-DD`. */
export const selDate = (column: string, as: string = column.replace(/^.*\./, "")) =>
  `to_char(${column}, 'YYYY-MM-DD') AS ${as}`

/** @internal A bigint, JSON or array value as text. */
export const selText = (column: string, as: string = column.replace(/^.*\./, "")) =>
  `${column}::text AS ${as}`

/** @internal A `text[]` as JSON text. */
export const selArray = (column: string, as: string = column.replace(/^.*\./, "")) =>
  `to_json(${column})::text AS ${as}`

/** @internal An instant parameter. */
export const ts = (value: DateTime.Utc): string => DateTime.formatIso(value)

/** @internal A nullable instant parameter. */
export const tsOrNull = (value: DateTime.Utc | null): string | null => (value === null ? null : ts(value))

/*
 * An instant from its epoch milliseconds. `DateTime.unsafeMake(millis)` makes a `Date`
 * for every instant only to read its time back; `unsafeFromDate` keeps the number,
 * not the `Date`, so one `Date` serves every read (a hall page reads 105 instants).
 * An invalid number throws as `unsafeMake` does.
 */
const reusedDate = new Date(0)
const instant = (millis: number): DateTime.Utc => {
  reusedDate.setTime(millis)
  return DateTime.unsafeFromDate(reusedDate)
}

/** @internal Readers of row values selected with the codecs above. */
export const read = {
  str: (row: Row, key: string): string => row[key] as string,
  strOrNull: (row: Row, key: string): string | null => (row[key] ?? null) as string | null,
  int: (row: Row, key: string): number => Number(row[key]),
  intOrNull: (row: Row, key: string): number | null => (row[key] === null ? null : Number(row[key])),
  bool: (row: Row, key: string): boolean => row[key] === true,
  ts: (row: Row, key: string): DateTime.Utc => instant(Number(row[key])),
  tsOrNull: (row: Row, key: string): DateTime.Utc | null =>
    row[key] === null || row[key] === undefined ? null : instant(Number(row[key])),
  json: (row: Row, key: string): unknown => (row[key] === null ? null : JSON.parse(row[key] as string)),
  strings: (row: Row, key: string): ReadonlyArray<string> => JSON.parse(row[key] as string) as Array<string>,
  stringsOrNull: (row: Row, key: string): ReadonlyArray<string> | null =>
    row[key] === null ? null : (JSON.parse(row[key] as string) as Array<string>)
}

/** @internal The first and last instants PostgreSQL and core both hold (years 1 to 9999 in UTC), in ms since the epoch. */
export const firstInstant = -62135596800000
/** @internal See {@link firstInstant}. */
export const lastInstant = 253402300799999

/** Control characters, which no stored id has (and U+0000, which PostgreSQL refuses). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
const controls = /[\u0000-\u001f\u007f]/

const isLocalDate = Schema.is(Deadline.LocalDate)

/**
 * @internal
 * The comparison that continues a list after a cursor position of `(key, id)`:
 * `>` ascending, `<` descending; `undefined` when the position cannot be such a key
 * (the list is then empty, as no row sorts after a position that does not exist): an
 * id with a control character, an instant outside years 1–9999, a date that is not in
 * the calendar. A crafted cursor thus answers an empty page, never a statement
 * PostgreSQL refuses.
 *
 * With `nullable`, the key column may be `NULL`, which sorts below every key as
 * core's `comparePositions` has it (`DESC NULLS LAST`, `ASC NULLS FIRST`: see
 * {@link nullsOrder}), and a position's key may be `null`.
 */
export const after = (
  p: Params,
  keyColumn: string,
  idColumn: string,
  position: ReadonlyArray<string | number | null> | undefined,
  kind: "ts" | "date",
  descending: boolean,
  nullable = false
): string | undefined | null => {
  if (position === undefined) return null
  const [key, id] = position
  if (typeof id !== "string" || position.length !== 2 || controls.test(id)) return undefined
  const op = descending ? "<" : ">"
  if (key === null) {
    if (!nullable) return undefined
    return descending
      ? `(${keyColumn} IS NULL AND ${idColumn} < ${p.add(id)})`
      : `(${keyColumn} IS NOT NULL OR ${idColumn} > ${p.add(id)})`
  }
  let value: string
  if (kind === "ts") {
    if (typeof key !== "number" || !Number.isFinite(key) || key < firstInstant || key > lastInstant)
      return undefined
    value = `${p.add(new Date(key).toISOString())}::timestamptz`
  } else {
    if (typeof key !== "string" || !isLocalDate(key)) return undefined
    value = `${p.add(key)}::date`
  }
  const past = `(${keyColumn}, ${idColumn}) ${op} (${value}, ${p.add(id)})`
  return nullable && descending ? `(${past} OR ${keyColumn} IS NULL)` : past
}

/**
 * @internal The `NULLS` clause that orders a nullable key as {@link after} continues
 * it: `NULL` below every key.
 */
export const nullsOrder = (descending: boolean): string => (descending ? "NULLS LAST" : "NULLS FIRST")

/** @internal A `LIMIT` clause for a non-negative integer. */
export const limit = (p: Params, n: number): string => `LIMIT ${p.add(Math.max(0, Math.floor(n)))}`
