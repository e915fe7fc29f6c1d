/**
 * The `pg` client of the pools `PgDatabase` makes (issue 8's P2): a transaction's
 * BEGIN travels with its first statement, rows are built without `pg`'s template
 * clone, and statements are written at the end of the event loop's turn. Checked on the backend of the run (PostgreSQL with
 * `DATABASE_URL`, PGlite otherwise) against a plain `pg.Client` on the same
 * database: the same rows, one round trip less, and every statement of a
 * transaction inside it.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { PgClient } from "@effect/sql-pg"
import { PgDatabase } from "@zhongbao/adapter-pg"
import { Chunk, Effect, Exit, Scope, Stream } from "effect"
import * as Pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, EmbeddedClient } from "../src/internal/client.js"
import { isStalePrepared, makeStatementNames } from "../src/internal/prepared.js"
import * as T from "./support.js"

const timeout = 120_000

let scope: Scope.CloseableScope | undefined
let connection: Pg.PoolConfig = {}
const pools: Array<Pg.Pool> = []

beforeAll(async () => {
  if (T.backend === "postgres") {
    connection = { connectionString: process.env.DATABASE_URL }
    return
  }
  scope = Effect.runSync(Scope.make())
  const server = await Effect.runPromise(
    Scope.extend(PgDatabase.startEmbedded({ maxConnections: 16 }), scope)
  )
  connection = { host: server.host, port: server.port, user: "postgres", database: "postgres" }
}, timeout)

const tables: Array<string> = []

afterAll(async () => {
  if (tables.length > 0) await pool("plain").query(`DROP TABLE IF EXISTS ${tables.join(", ")}`)
  await Promise.all(pools.map((pool) => pool.end()))
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
}, timeout)

/** The failure that rolls a test's transaction back, with what it read. */
class Rollback {
  constructor(readonly rows: ReadonlyArray<{ readonly id: number }>) {}
}

const made: Partial<Record<"ours" | "plain" | "embedded", Pg.Pool>> = {}

const classes = { ours: Client, embedded: EmbeddedClient } as const

/**
 * The pool of the adapter's client (`ours`), of its embedded database's client
 * (`embedded`) or of `pg.Client`, one of each for the file.
 */
const pool = (kind: "ours" | "plain" | "embedded") => {
  const existing = made[kind]
  if (existing !== undefined) return existing
  const created = new Pg.Pool({
    ...connection,
    max: 4,
    ...(kind === "plain" ? {} : { Client: classes[kind] as unknown as NonNullable<Pg.PoolConfig["Client"]> })
  })
  created.on("error", () => {})
  pools.push(created)
  made[kind] = created
  return created
}

/** How many times the server said it is ready for a query while `f` ran: its round trips. */
const roundTrips = async (client: Pg.PoolClient, f: () => Promise<unknown>) => {
  const connection = (client as unknown as { connection: NodeJS.EventEmitter }).connection
  let n = 0
  const count = () => n++
  connection.on("readyForQuery", count)
  try {
    await f()
  } finally {
    connection.off("readyForQuery", count)
  }
  return n
}

/** The names of the statements `client` sends a Parse for from now on, read off its connection. */
const countParses = (client: Pg.PoolClient) => {
  const connection = (client as unknown as { connection: { parse(query: { name?: string }): void } })
    .connection
  const parse = connection.parse.bind(connection)
  const names: Array<string> = []
  connection.parse = (query) => {
    if (query.name) names.push(query.name)
    parse(query)
  }
  return { named: () => [...names] }
}

const status = (client: Pg.PoolClient) =>
  (client as unknown as { getTransactionStatus(): string | null }).getTransactionStatus()

/** A table of its own for a test, and a way to count its rows from another connection. */
const table = async (on: Pg.Pool) => {
  const name = `"zbc_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e9).toString(36)}"`
  await on.query(`CREATE TABLE ${name} (id int PRIMARY KEY, v text)`)
  tables.push(name)
  const count = async () => Number((await pool("plain").query(`SELECT count(*) AS n FROM ${name}`)).rows[0].n)
  return { name, count }
}

/** How many commands wait in `pg`'s own queue of a connection. */
const queued = (client: Pg.PoolClient) =>
  (client as unknown as { _queryQueue: Array<unknown> })._queryQueue.length

/** Runs `f` on a connection of `kind`'s pool, released afterwards. */
const withClient = async (
  kind: "ours" | "plain" | "embedded",
  f: (client: Pg.PoolClient) => Promise<void>
) => {
  const client = await pool(kind).connect()
  try {
    await f(client)
  } finally {
    client.release()
  }
}

/**
 * Runs `f` on a connection of `kind`'s pool with a table of its own (`name`, columns
 * `id int PRIMARY KEY, v text`); answers the rows the table has afterwards, counted
 * from another connection.
 */
const onTable = async (
  kind: "ours" | "plain" | "embedded",
  f: (client: Pg.PoolClient, name: string) => Promise<void>
) => {
  const t = await table(pool(kind))
  await withClient(kind, (client) => f(client, t.name))
  return t.count()
}

/**
 * Runs `f` as {@link onTable} does, once with the adapter's client and once with
 * `pg.Client`: the rows each left, to compare.
 */
const onBoth = async (f: (client: Pg.PoolClient, name: string, kind: "ours" | "plain") => Promise<void>) => ({
  ours: await onTable("ours", (client, name) => f(client, name, "ours")),
  plain: await onTable("plain", (client, name) => f(client, name, "plain"))
})

describe("the adapter's pg client", () => {
  it(
    "rows as pg.Client builds them for a host's statement with a column named __proto__ (an own key, not the row's prototype), and a statement's own query_timeout",
    async () => {
      const rows: Record<string, unknown> = {}
      for (const kind of ["ours", "embedded", "plain"] as const) {
        await withClient(kind, async (client) => {
          const answer = await client.query('SELECT 1 AS "__proto__", 2 AS n')
          const row = answer.rows[0] as Record<string, unknown>
          expect(Object.hasOwn(row, "__proto__"), `${kind}: an own key`).toBe(true)
          expect(Object.getOwnPropertyDescriptor(row, "__proto__")?.value, kind).toBe(1)
          expect(Object.getPrototypeOf(row), `${kind}: the prototype is untouched`).not.toBe(1)
          rows[kind] = { keys: Object.keys(row), n: row.n }
        })
        // The statement goes on in its backend after the timeout: the connection is dropped.
        const client = await pool(kind).connect()
        try {
          const timedOut = client.query({ text: "SELECT pg_sleep(2)", query_timeout: 50 } as Pg.QueryConfig)
          await expect(timedOut, `${kind}: its query_timeout`).rejects.toThrow(/timeout/i)
        } finally {
          client.release(true)
        }
      }
      expect(rows.ours).toEqual(rows.plain)
      expect(rows.embedded).toEqual(rows.plain)
    },
    timeout
  )

  it(
    "P2: a statement is written at the end of the event loop's turn (the socket corked, its bytes buffered, until setImmediate), answered as pg.Client answers it; a refused one leaves the socket uncorked",
    async () => {
      const corked = (client: Pg.PoolClient) =>
        (client as unknown as { connection: { stream: { writableCorked: number } } }).connection.stream
          .writableCorked
      const buffered = (client: Pg.PoolClient) =>
        (client as unknown as { connection: { stream: { writableLength: number } } }).connection.stream
          .writableLength
      const turn = () => new Promise((resolve) => setImmediate(resolve))
      const answers: Record<string, unknown> = {}
      for (const kind of ["ours", "embedded", "plain"] as const) {
        await withClient(kind, async (client) => {
          const first = client.query("SELECT $1::int AS n", [1])
          const second = client.query("SELECT $1::text AS t, 2 AS n", ["二"])
          expect(corked(client), `${kind}: corked in the turn that sent the statement`).toBe(
            kind === "plain" ? 0 : 1
          )
          if (kind !== "plain")
            expect(buffered(client), `${kind}: its bytes still buffered`).toBeGreaterThan(0)
          await turn()
          expect(corked(client), `${kind}: written once the turn ended`).toBe(0)
          answers[kind] = [(await first).rows, (await second).rows]
          expect(corked(client), `${kind}: the queued statement written too`).toBe(0)
          const refused = client.query("SELECT $1::int AS n", "not an array" as unknown as Array<unknown>)
          await expect(refused, `${kind}: values that are not an array`).rejects.toThrow()
          await turn()
          expect(corked(client), `${kind}: uncorked after a refused statement`).toBe(0)
          expect((await client.query("SELECT $1::int AS n", [3])).rows, `${kind}: answers after it`).toEqual([
            { n: 3 }
          ])
        })
      }
      expect(answers.ours).toEqual(answers.plain)
      expect(answers.embedded).toEqual(answers.plain)
      expect(answers.plain).toEqual([[{ n: 1 }], [{ t: "二", n: 2 }]])
    },
    timeout
  )

  it(
    "P2: BEGIN travels with the transaction's first statement (BEGIN, INSERT, COMMIT: two round trips), and the insert commits",
    async () => {
      const rows = await onTable("ours", async (client, name) => {
        const trips = await roundTrips(client, async () => {
          expect((await client.query("BEGIN")).command).toBe("BEGIN")
          const inserted = await client.query(`INSERT INTO ${name} VALUES ($1, $2) RETURNING id, v`, [1, "a"])
          expect(inserted.rows).toEqual([{ id: 1, v: "a" }])
          expect(inserted.command).toBe("INSERT")
          expect(status(client)).toBe("T")
          await client.query("COMMIT")
        })
        expect(trips).toBe(2)
        expect(status(client)).toBe("I")
      })
      expect(rows).toBe(1)

      await onTable("plain", async (client, name) => {
        const trips = await roundTrips(client, async () => {
          await client.query("BEGIN")
          await client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [2, "b"])
          await client.query("COMMIT")
        })
        expect(trips).toBe(3)
      })
    },
    timeout
  )

  it(
    "P2: two transactions in a row on one connection take two round trips each, and both commit",
    async () => {
      const rows = await onTable("ours", async (client, name) => {
        const trips = await roundTrips(client, async () => {
          for (const id of [1, 2]) {
            await client.query("BEGIN")
            await client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [id, "row"])
            await client.query("COMMIT")
          }
        })
        expect(trips).toBe(4)
        expect(status(client)).toBe("I")
      })
      expect(rows).toBe(2)
    },
    timeout
  )

  it(
    "P2: every statement after a held BEGIN is inside the transaction, with parameters or without (ROLLBACK undoes both)",
    async () => {
      const rows = await onTable("ours", async (client, name) => {
        await client.query("BEGIN")
        await client.query(`INSERT INTO ${name} VALUES (1, 'literal')`)
        expect(status(client)).toBe("T")
        await client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [2, "parameter"])
        await client.query("ROLLBACK")
        await client.query("BEGIN")
        await client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [3, "parameter"])
        await client.query(`INSERT INTO ${name} VALUES (4, 'literal')`)
        await client.query("ROLLBACK")
        expect(status(client)).toBe("I")
      })
      expect(rows).toBe(0)
    },
    timeout
  )

  it(
    "P2: a first statement that fails aborts the transaction; ROLLBACK ends it and nothing is written",
    async () => {
      const rows = await onTable("ours", async (client, name) => {
        await client.query("BEGIN")
        const error = await client.query(`INSERT INTO ${name} VALUES ($1, 'x'), ($1, 'y')`, [1]).then(
          () => undefined,
          (e: { code?: string }) => e
        )
        expect(error?.code).toBe("23505")
        const next = await client.query("SELECT $1::int", [1]).then(
          () => undefined,
          (e: { code?: string }) => e
        )
        expect(next?.code).toBe("25P02")
        expect(status(client)).toBe("E")
        await client.query("ROLLBACK")
        expect(status(client)).toBe("I")
        await client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [5, "after"])
      })
      expect(rows).toBe(1)
    },
    timeout
  )

  it(
    "P2: a transaction without statements sends nothing (BEGIN then COMMIT or ROLLBACK: no round trip)",
    async () => {
      await withClient("ours", async (client) => {
        const trips = await roundTrips(client, async () => {
          await client.query("BEGIN")
          expect((await client.query("COMMIT")).command).toBe("COMMIT")
          await client.query("BEGIN")
          expect((await client.query("ROLLBACK")).command).toBe("ROLLBACK")
        })
        expect(trips).toBe(0)
        expect(status(client)).toBe("I")
      })
    },
    timeout
  )

  it(
    "P2: a BEGIN inside a transaction is sent, not held, so the COMMIT after it commits",
    async () => {
      const rows = await onTable("ours", async (client, name) => {
        await client.query("BEGIN")
        await client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [1, "a"])
        await client.query("BEGIN")
        await client.query("COMMIT")
        expect(status(client)).toBe("I")
      })
      expect(rows).toBe(1)
    },
    timeout
  )

  it(
    "P2: callbacks are answered as pg answers them, a held BEGIN's included",
    async () => {
      await withClient("ours", async (client) => {
        const answers: Array<string> = []
        await new Promise<void>((resolve, reject) => {
          client.query("BEGIN", (error: Error | undefined, result: Pg.QueryResult) => {
            if (error) return reject(error)
            answers.push(result.command)
            client.query(
              "SELECT $1::int AS one",
              [1],
              (error2: Error | undefined, result2: Pg.QueryResult) => {
                if (error2) return reject(error2)
                answers.push(JSON.stringify(result2.rows))
                client.query("COMMIT", (error3: Error | undefined) => (error3 ? reject(error3) : resolve()))
              }
            )
          })
        })
        expect(answers).toEqual(["BEGIN", '[{"one":1}]'])
      })
    },
    timeout
  )

  it(
    "P1, P2: rows and fields are those of pg.Client (names, duplicates, nulls, parsed types, arrays, rowMode array, several statements; a row changed by its caller changes no later row)",
    async () => {
      const queries: ReadonlyArray<Pg.QueryConfig | Pg.QueryArrayConfig | string> = [
        {
          text: `SELECT 1::int4 AS a, 2::int4 AS a, NULL::text AS b, 'x'::text AS c, true AS d,
          '2026-01-02T03:04:05Z'::timestamptz AS e, ARRAY[1, 2]::int4[] AS f, '{"k": [1]}'::json AS g,
          12.5::numeric AS h, 9007199254740993::int8 AS i, $1::text AS j, '' AS k`,
          values: ["v"]
        },
        { text: `SELECT 'p'::text AS "__proto__", NULL::int4 AS a, $1::text AS "1"`, values: ["one"] },
        { text: String.raw`SELECT 1 AS "q""uote", 2 AS "back\slash", 3 AS "名 称", 4, 5 AS "2", 6` },
        { text: "SELECT $1::int4 AS a, NULL::text AS b, 'c'::text AS c", values: [7], rowMode: "array" },
        "SELECT 1 AS one; SELECT 'two' AS two",
        { text: "SELECT g AS n, g::text AS t FROM generate_series(1, $1::int) g", values: [25] }
      ]
      const ours = await pool("ours").connect()
      const plain = await pool("plain").connect()
      try {
        for (const q of queries) {
          const [a, b] = [await ours.query(q), await plain.query(q)]
          const shape = (r: Pg.QueryResult | Array<Pg.QueryResult>) =>
            (Array.isArray(r) ? r : [r]).map((x) => ({
              rows: x.rows.map((row) =>
                Array.isArray(row) ? row : Object.entries(row).concat([["proto", Object.getPrototypeOf(row)]])
              ),
              fields: x.fields.map((f) => [f.name, f.dataTypeID]),
              command: x.command,
              rowCount: x.rowCount
            }))
          expect(shape(a as unknown as Pg.QueryResult)).toStrictEqual(shape(b as unknown as Pg.QueryResult))
        }
        const again = "SELECT g AS n, NULL::text AS t FROM generate_series(1, 2) g"
        const first = await ours.query(again)
        first.rows[0].n = "changed"
        first.rows[0].extra = true
        delete first.rows[1].t
        const [second, fromPg] = [await ours.query(again), await plain.query(again)]
        expect(second.rows.map((r) => Object.entries(r))).toStrictEqual(
          fromPg.rows.map((r) => Object.entries(r))
        )
      } finally {
        ours.release()
        plain.release()
      }
    },
    timeout
  )

  it(
    "P2: a held BEGIN is answered after the call returns, as pg answers",
    async () => {
      await withClient("ours", async (client) => {
        let returned = false
        const answeredLater = await new Promise<boolean>((resolve) => {
          client.query("BEGIN", () => resolve(returned))
          returned = true
        })
        expect(answeredLater).toBe(true)
        await client.query("ROLLBACK")
      })
    },
    timeout
  )

  it(
    "P2: a statement refused before it is sent leaves BEGIN held: the next statement is still inside the transaction",
    async () => {
      const rows = await onTable("ours", async (client, name) => {
        await client.query("BEGIN")
        const refused = await client
          .query({ text: `INSERT INTO ${name} VALUES ($1, 'x')`, values: "1" as unknown as Array<unknown> })
          .then(
            () => undefined,
            (e: Error) => e
          )
        expect(refused?.message).toMatch(/array/)
        await client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [1, "inside"])
        expect(status(client)).toBe("T")
        await client.query("ROLLBACK")
      })
      expect(rows).toBe(0)
    },
    timeout
  )

  it(
    "P2: a statement refused before it is sent gives BEGIN back at once: a statement queued in the same tick is inside the transaction (ROLLBACK undoes it), as with pg.Client",
    async () => {
      const rows = await onBoth(async (client, name) => {
        await client.query("BEGIN")
        const refused = client
          .query({ text: `INSERT INTO ${name} VALUES ($1, 'x')`, values: "1" as unknown as Array<unknown> })
          .then(
            () => undefined,
            (e: Error) => e
          )
        const inserted = client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [2, "same tick"])
        expect((await refused)?.message).toMatch(/array/)
        await inserted
        expect(status(client)).toBe("T")
        await client.query("ROLLBACK")
        expect(status(client)).toBe("I")
      })
      expect(rows).toEqual({ ours: 0, plain: 0 })
    },
    timeout
  )

  it(
    "P2: BEGIN, a statement refused before it is sent and ROLLBACK in one tick leave the connection idle: the next statement commits on its own, as with pg.Client",
    async () => {
      const rows = await onBoth(async (client, name, kind) => {
        const order: Array<string> = []
        const begun = client.query("BEGIN").then(() => order.push("BEGIN"))
        const refused = client.query({ text: "SELECT $1", values: "x" as unknown as Array<unknown> }).then(
          () => undefined,
          (e: Error) => {
            order.push("refused")
            return e
          }
        )
        const rolledBack = client.query("ROLLBACK").then(() => order.push("ROLLBACK"))
        await begun
        expect((await refused)?.message).toMatch(/array/)
        await rolledBack
        expect({ kind, order }).toEqual({ kind, order: ["BEGIN", "refused", "ROLLBACK"] })
        expect(status(client)).toBe("I")
        await client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [1, "autocommit"])
        expect(status(client)).toBe("I")
      })
      expect(rows).toEqual({ ours: 1, plain: 1 })
    },
    timeout
  )

  it(
    "P2: a BEGIN and ROLLBACK issued from the callback of a failed first statement are sent, not held: the aborted transaction ends, as with pg.Client",
    async () => {
      for (const kind of ["ours", "plain"] as const) {
        await withClient(kind, async (client) => {
          await client.query("BEGIN")
          const codes: Array<string | undefined> = []
          await new Promise<void>((resolve) => {
            client.query(
              "SELECT $1::int",
              ["not a number"],
              (error: (Error & { code?: string }) | undefined) => {
                codes.push(error?.code)
                client.query("BEGIN", (e: (Error & { code?: string }) | undefined) =>
                  codes.push(e?.code ?? "ok")
                )
                client.query("ROLLBACK", () => resolve())
              }
            )
          })
          expect({ kind, codes }).toEqual({ kind, codes: ["22P02", "25P02"] })
          expect({ kind, status: status(client) }).toEqual({ kind, status: "I" })
        })
      }
    },
    timeout
  )

  it(
    "P2: in pg's pipeline mode a statement pg refuses before sending it (rows) gets BEGIN on its own: the next one runs inside the transaction (ROLLBACK undoes it)",
    async () => {
      const t = await table(pool("plain"))
      const client = new Client({ ...connection, pipeline: true } as Pg.ClientConfig) as unknown as Pg.Client
      await client.connect()
      try {
        await client.query("BEGIN")
        const refused = client.query({ text: "SELECT 1", rows: 1 } as Pg.QueryConfig).then(
          () => undefined,
          (e: Error) => e
        )
        const inserted = client.query(`INSERT INTO ${t.name} VALUES ($1, $2)`, [1, "inside"])
        expect((await refused)?.message).toMatch(/pipeline/)
        await inserted
        expect(client.getTransactionStatus()).toBe("T")
        await client.query("ROLLBACK")
      } finally {
        await client.end()
      }
      expect(await t.count()).toBe(0)
    },
    timeout
  )

  it(
    "P2: in pg's pipeline mode BEGIN is held too and statements issued together go out in one write: BEGIN, three inserts issued together and COMMIT are 2 writes (pg.Client in pipeline mode: 5), with the same answers; a failure among them aborts the transaction (the next fails with 25P02) and ROLLBACK leaves nothing",
    async () => {
      const seen: Record<string, unknown> = {}
      for (const kind of ["ours", "plain"] as const) {
        const t = await table(pool("plain"))
        const Made = kind === "ours" ? Client : Pg.Client
        const client = new Made({ ...connection, pipeline: true } as Pg.ClientConfig) as unknown as Pg.Client
        await client.connect()
        try {
          const stream = (client as unknown as { connection: { stream: Record<string, unknown> } }).connection
            .stream
          const write = stream._writeGeneric as (...args: Array<unknown>) => unknown
          let writes = 0
          stream._writeGeneric = function (this: unknown, ...args: Array<unknown>) {
            writes++
            return write.apply(this, args)
          }
          const insert = (id: number) =>
            client.query(`INSERT INTO ${t.name} VALUES ($1, $2) RETURNING id`, [id, "together"])
          await client.query("BEGIN")
          const committed = (await Promise.all([insert(1), insert(2), insert(3)])).map((r) => r.rows)
          await client.query("COMMIT")
          const committedWrites = writes
          const rows = await t.count()
          writes = 0
          await client.query("BEGIN")
          const failed = await Promise.allSettled([insert(4), insert(1), insert(5)])
          await client.query("ROLLBACK")
          seen[kind] = {
            committed,
            rows,
            codes: failed.map((r) =>
              r.status === "fulfilled" ? "ok" : (r.reason as { code?: string }).code
            ),
            after: await t.count(),
            status: (client as unknown as { getTransactionStatus(): string }).getTransactionStatus()
          }
          seen[`${kind} writes`] = committedWrites
        } finally {
          await client.end()
        }
      }
      expect(seen.ours).toEqual(seen.plain)
      expect(seen.plain).toEqual({
        committed: [[{ id: 1 }], [{ id: 2 }], [{ id: 3 }]],
        rows: 3,
        codes: ["ok", "23505", "25P02"],
        after: 3,
        status: "I"
      })
      expect({ ours: seen["ours writes"], plain: seen["plain writes"] }).toEqual({ ours: 2, plain: 5 })
    },
    timeout
  )

  it(
    "P2: a named statement carries a held BEGIN under its name (BEGIN, INSERT, ROLLBACK: two round trips), parsed once per connection: sent again, by its text or by its name alone, it is bound without a Parse; a host's name alike; all inside their transactions",
    async () => {
      const name = makeStatementNames().nameOf(`client.test ${process.pid} ${Date.now()}`)!
      const host = `zbc_host_${process.pid}`
      const prepared = async (client: Pg.PoolClient) =>
        (
          await client.query("SELECT name FROM pg_prepared_statements WHERE name = ANY($1)", [[name, host]])
        ).rows
          .map((r) => r.name)
          .sort()
      const rows = await onTable("ours", async (client, table) => {
        const text = `INSERT INTO ${table} VALUES ($1, $2)`
        const parses = countParses(client)
        const trips = []
        for (const [config, id] of [
          [{ name, text }, 1],
          [{ name, text }, 2],
          [{ name }, 3],
          [{ name: host, text }, 4],
          [{ name: host }, 5]
        ] as const) {
          trips.push(
            await roundTrips(client, async () => {
              await client.query("BEGIN")
              await client.query({ ...config, values: [id, "a"] } as Pg.QueryConfig)
              await client.query(id === 2 ? "COMMIT" : "ROLLBACK")
              expect(status(client)).toBe("I")
            })
          )
        }
        expect(trips).toEqual([2, 2, 2, 2, 2])
        expect(parses.named(), "each name parsed once").toEqual([name, host])
        expect(await prepared(client)).toEqual([host, name].sort())
        const { parsedStatements, submittedNamedStatements } = (
          client as unknown as {
            connection: {
              parsedStatements: Record<string, string>
              submittedNamedStatements: Record<string, string>
            }
          }
        ).connection
        expect(
          {
            parsed: [parsedStatements[name], parsedStatements[host]],
            waiting: Object.keys(submittedNamedStatements)
          },
          "pg saw each statement's own Parse answered"
        ).toEqual({ parsed: [text, text], waiting: [] })
      })
      expect(rows, "the one committed").toBe(1)
    },
    timeout
  )

  it(
    "P2: when the setting after a held BEGIN fails ahead of a named statement, the name is not taken for parsed: sent again outside a transaction, the statement is parsed and runs (pg.Client, taking BEGIN's ParseComplete for the statement's, would bind a statement the server never prepared: 26000)",
    async () => {
      const client = new Client({
        ...connection,
        beginSetting: "SET LOCAL plan_cache_mode = nonsense"
      } as Pg.ClientConfig) as unknown as Pg.PoolClient
      client.on("error", () => {})
      await client.connect()
      try {
        const named = { name: `zbc_after_failed_begin_${process.pid}`, text: "SELECT $1::int AS n" }
        await client.query("BEGIN")
        const failed = await client.query({ ...named, values: [1] }).then(
          () => "ok",
          (e: { code?: string }) => e.code
        )
        expect(failed, "the setting's error, the statement skipped").toBe("22023")
        await client.query("ROLLBACK")
        expect((await client.query({ ...named, values: [2] })).rows).toEqual([{ n: 2 }])
        expect(
          (
            await client.query("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = $1", [
              named.name
            ])
          ).rows[0].n
        ).toBe(1)
      } finally {
        await client.end()
      }
    },
    timeout
  )

  it(
    "P2: in pg's pipeline mode, a named statement carrying BEGIN and the same name written behind it in its turn are parsed once and answered in order; should the setting fail ahead of it alone, the name is not taken for parsed and the next transaction parses it again",
    async () => {
      const outcomes = async (beginSetting: string, statements: ReadonlyArray<number>) => {
        const client = new Client({
          ...connection,
          pipeline: true,
          beginSetting
        } as Pg.ClientConfig) as unknown as Pg.Client
        client.on("error", () => {})
        await client.connect()
        try {
          const named = { name: `zbc_piped_${process.pid}`, text: "SELECT $1::int AS n" }
          const parses = countParses(client as unknown as Pg.PoolClient)
          const turn = async () => {
            await client.query("BEGIN")
            const answers = await Promise.all(
              statements.map((n) =>
                client.query({ ...named, values: [n] }).then(
                  (r) => `n=${r.rows[0].n}`,
                  (e: { code?: string }) => `error ${e.code}`
                )
              )
            )
            await client.query("ROLLBACK")
            return answers
          }
          const first = await turn()
          const second = await turn()
          return {
            first,
            second,
            parses: parses.named().length,
            status: status(client as unknown as Pg.PoolClient)
          }
        } finally {
          await client.end()
        }
      }
      expect(await outcomes("SET LOCAL plan_cache_mode = auto", [1, 2, 3])).toEqual({
        first: ["n=1", "n=2", "n=3"],
        second: ["n=1", "n=2", "n=3"],
        parses: 1,
        status: "I"
      })
      // Alone: with the same name behind it, that one's 26000 would make the client forget the name (5. of client.ts).
      expect(await outcomes("SET LOCAL plan_cache_mode = nonsense", [1])).toEqual({
        first: ["error 22023"],
        second: ["error 22023"],
        parses: 2,
        status: "I"
      })
    },
    timeout
  )

  it(
    "P2: with beginSetting, a BEGIN carried by a statement is followed by the setting in the same Sync (still two round trips for BEGIN, SELECT, COMMIT): it holds for the transaction only; should it fail, the statement never runs, those issued behind it in pg's pipeline mode fail inside the aborted transaction, and ROLLBACK leaves nothing",
    async () => {
      const made = (beginSetting: string) => {
        const created = new Pg.Pool({
          ...connection,
          max: 1,
          Client: Client as unknown as NonNullable<Pg.PoolConfig["Client"]>,
          beginSetting
        } as Pg.PoolConfig)
        created.on("error", () => {})
        pools.push(created)
        return created
      }
      const setting = "SELECT current_setting($1) AS mode"
      const client = await made("SET LOCAL plan_cache_mode = force_generic_plan").connect()
      try {
        await client.query("SET plan_cache_mode = force_custom_plan")
        let inside: unknown
        const trips = await roundTrips(client, async () => {
          await client.query("BEGIN")
          inside = (await client.query(setting, ["plan_cache_mode"])).rows[0].mode
          await client.query("COMMIT")
        })
        expect(inside).toBe("force_generic_plan")
        expect(trips).toBe(2)
        expect((await client.query(setting, ["plan_cache_mode"])).rows[0].mode).toBe("force_custom_plan")
      } finally {
        client.release()
      }
      const failing = made("SET LOCAL plan_cache_mode = nonsense")
      const sequence = `zbc_seq_${process.pid}_${Date.now().toString(36)}`
      await failing.query(`CREATE SEQUENCE ${sequence}`)
      const other = await failing.connect()
      try {
        await other.query("BEGIN")
        const error = await other.query("SELECT nextval($1::regclass) AS n", [sequence]).then(
          () => undefined,
          (e: { code?: string }) => e.code
        )
        expect(error).toBe("22023")
        await other.query("ROLLBACK")
        expect(status(other)).toBe("I")
        const [state] = (await other.query(`SELECT is_called FROM ${sequence}`)).rows
        expect(state.is_called, "nextval never ran (a sequence does not roll back)").toBe(false)
      } finally {
        other.release()
        await failing.query(`DROP SEQUENCE ${sequence}`)
      }
      const pipelined = new Client({
        ...connection,
        pipeline: true,
        beginSetting: "SET LOCAL plan_cache_mode = nonsense"
      } as Pg.ClientConfig) as unknown as Pg.Client
      pipelined.on("error", () => {})
      await pipelined.connect()
      try {
        const t = await table(pool("plain"))
        await pipelined.query("BEGIN")
        const codes = await Promise.all(
          [1, 2, 3].map((n) =>
            pipelined.query(`INSERT INTO ${t.name} VALUES ($1, $2)`, [n, "x"]).then(
              () => "ok",
              (e: { code?: string }) => e.code
            )
          )
        )
        expect(codes, "behind the carrier, in the aborted transaction").toEqual(["22023", "25P02", "25P02"])
        await pipelined.query("ROLLBACK")
        expect(await t.count()).toBe(0)
      } finally {
        await pipelined.end()
      }
    },
    timeout
  )

  it(
    "P2: a named statement the server no longer holds (26000, after DEALLOCATE ALL) fails once, marked stale, and is parsed again the next time; a name the server still holds is not (no 42P05); pg.Client fails it every time",
    async () => {
      const answers: Record<string, Array<string>> = {}
      for (const kind of ["ours", "plain"] as const) {
        await withClient(kind, async (client) => {
          const a = { name: `zbc_a_${process.pid}_${kind}`, text: "SELECT $1::int AS n" }
          const b = { name: `zbc_b_${process.pid}_${kind}`, text: "SELECT $1::int + 1 AS n" }
          const outcome = (config: { readonly name: string; readonly text: string }) =>
            client.query({ ...config, values: [1] }).then(
              (r) => `n=${r.rows[0].n}`,
              (e: { code?: string }) => `error ${e.code}${isStalePrepared(e) ? " stale" : ""}`
            )
          await outcome(a)
          await client.query("DEALLOCATE ALL")
          answers[kind] = [await outcome(b), await outcome(a), await outcome(b), await outcome(a)]
        })
      }
      expect(answers.plain).toEqual(["n=2", "error 26000", "n=2", "error 26000"])
      expect(answers.ours).toEqual(["n=2", "error 26000 stale", "n=2", "n=1"])
    },
    timeout
  )

  it(
    "P2: in pg's pipeline mode, a text sent twice in one turn whose first Parse fails fails twice, the second with a 26000 that is not taken for a stale statement",
    async () => {
      const client = new Client({ ...connection, pipeline: true } as Pg.ClientConfig) as unknown as Pg.Client
      client.on("error", () => {})
      await client.connect()
      try {
        const config = { name: `zbc_dup_${process.pid}`, text: "SELECT $1::int AS n FROM zbc_no_such_table" }
        const errors = await Promise.all(
          [1, 2].map((n) =>
            client.query({ ...config, values: [n] }).then(
              () => "ok",
              (e: { code?: string }) => `${e.code}${isStalePrepared(e) ? " stale" : ""}`
            )
          )
        )
        expect(errors).toEqual(["42P01", "26000"])
      } finally {
        await client.end()
      }
    },
    timeout
  )

  it(
    "P2: the embedded database's client sends BEGIN on its own (three round trips) and builds the same rows",
    async () => {
      const rows = await onTable("embedded", async (client, name) => {
        const trips = await roundTrips(client, async () => {
          await client.query("BEGIN")
          const rows = await client.query(`INSERT INTO ${name} VALUES ($1, NULL), ($2, $3) RETURNING id, v`, [
            1,
            2,
            "b"
          ])
          expect(rows.rows).toStrictEqual([
            { id: 1, v: null },
            { id: 2, v: "b" }
          ])
          await client.query("COMMIT")
        })
        expect(trips).toBe(3)
      })
      expect(rows).toBe(2)
    },
    timeout
  )

  it(
    "outside pipeline mode (the embedded database, pipelining: false) both clients take one command at a time: commands issued while one runs are held, in order, and handed to pg once it is idle; held ones fail with the connection",
    async () => {
      for (const kind of ["embedded", "ours"] as const) {
        const rows = await onTable(kind, async (client, name) => {
          const order: Array<string> = []
          const insert = (id: number) =>
            client
              .query(`INSERT INTO ${name} VALUES ($1, $2) RETURNING id`, [id, `v${id}`])
              .then((r) => order.push(`insert ${r.rows[0].id}`))
          const issued = [
            client.query("BEGIN").then(() => order.push("begin")),
            insert(1),
            new Promise<void>((resolve, reject) =>
              client.query(
                `SELECT count(*)::int AS n FROM ${name}`,
                (error: Error | null, r: Pg.QueryResult) => {
                  if (error) return reject(error)
                  order.push(`count ${r.rows[0].n}`)
                  resolve()
                }
              )
            ),
            insert(2),
            client.query("COMMIT").then(() => order.push("commit"))
          ]
          expect(queued(client), "nothing waits in pg's own queue").toBe(0)
          await Promise.all(issued)
          expect(order).toStrictEqual(["begin", "insert 1", "count 1", "insert 2", "commit"])
        })
        expect(rows).toBe(2)

        // Held behind a running statement: a transaction whose BEGIN is held (answered
        // without the server), then one whose COMMIT is answered without it too.
        const behind = await onTable(kind, async (client, name) => {
          const issued = [
            client.query("SELECT pg_sleep(0.1)"),
            client.query("BEGIN"),
            client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [1, "a"]),
            client.query("COMMIT"),
            client.query("BEGIN"),
            client.query("COMMIT"),
            client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [2, "b"])
          ]
          expect(queued(client), "nothing waits in pg's own queue").toBe(0)
          await Promise.all(issued)
        })
        expect(behind, "every held command ran").toBe(2)

        const client = await pool(kind).connect()
        const running = client.query("SELECT pg_sleep(0.2)").catch((e: Error) => e)
        const held = client.query("SELECT 1").catch((e: Error) => e)
        client.release(new Error("the test ends this connection"))
        expect(await held).toBeInstanceOf(Error)
        await running
      }
    },
    timeout
  )

  it(
    "P2: should the BEGIN sent ahead of a statement without parameters fail, that statement fails too and never runs",
    async () => {
      type Query = (this: Pg.Client, ...args: Array<unknown>) => unknown
      const prototype = Pg.Client.prototype as unknown as { query: Query }
      const original = prototype.query
      // The server refuses this connection's BEGIN: it is sent as a statement that fails.
      prototype.query = function (this: Pg.Client, ...args: Array<unknown>) {
        return original.apply(this, args[0] === "BEGIN" ? ["SELECT 1 / 0", ...args.slice(1)] : args)
      }
      try {
        const rows = await onTable("ours", async (client, name) => {
          await client.query("BEGIN")
          const error = await client.query(`INSERT INTO ${name} VALUES (1, 'literal')`).then(
            () => undefined,
            (e: { code?: string }) => e
          )
          expect(error?.code).toBe("22012")
          await client.query("ROLLBACK")
        })
        expect(rows).toBe(0)
      } finally {
        prototype.query = original
      }
    },
    timeout
  )

  it(
    "P2: should the BEGIN sent ahead of a statement with a read timeout fail, the statement's callback is called once, with BEGIN's error",
    async () => {
      type Query = (this: Pg.Client, ...args: Array<unknown>) => unknown
      const prototype = Pg.Client.prototype as unknown as { query: Query }
      const original = prototype.query
      prototype.query = function (this: Pg.Client, ...args: Array<unknown>) {
        return original.apply(this, args[0] === "BEGIN" ? ["SELECT 1 / 0", ...args.slice(1)] : args)
      }
      try {
        await withClient("ours", async (client) => {
          await client.query("BEGIN")
          const answers: Array<string | undefined> = []
          client.query(
            { text: "SELECT 1", query_timeout: 200 } as Pg.QueryConfig,
            (error: (Error & { code?: string }) | undefined) => answers.push(error?.code ?? error?.message)
          )
          await new Promise((resolve) => setTimeout(resolve, 500))
          expect(answers).toEqual(["22012"])
          await client.query("ROLLBACK")
        })
      } finally {
        prototype.query = original
      }
    },
    timeout
  )

  it(
    "P2: a stream (a cursor) after a held BEGIN runs inside the transaction (ROLLBACK undoes its insert)",
    async () => {
      const ours = pool("ours")
      const t = await table(ours)
      const program = Effect.gen(function* () {
        const sql = yield* PgClient.fromPool({ acquire: Effect.succeed(ours) })
        const rows = yield* sql
          .withTransaction(
            Effect.flatMap(
              Stream.runCollect(
                sql.unsafe<{ id: number }>(`INSERT INTO ${t.name} VALUES (1, 'a'), (2, 'b') RETURNING id`)
                  .stream
              ),
              (rows) => Effect.fail(new Rollback(Chunk.toReadonlyArray(rows)))
            )
          )
          .pipe(
            Effect.catchIf(
              (e) => e instanceof Rollback,
              (e) => Effect.succeed((e as Rollback).rows)
            )
          )
        return rows
      })
      const rows = await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Reactivity.layer)))
      expect(rows.map((r) => r.id)).toEqual([1, 2])
      expect(await t.count()).toBe(0)
    },
    timeout
  )

  it(
    "all-or-nothing: a COMMIT that PostgreSQL answers with ROLLBACK (a statement failed and aborted the transaction) fails with SQLSTATE 25P02, by callback and by promise, where pg.Client answers it as a success; nothing is written and the connection is idle after it",
    async () => {
      const commitAfterFailure = async (client: Pg.PoolClient, name: string, by: "promise" | "callback") => {
        await client.query("BEGIN")
        await client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [1, "a"])
        await expect(client.query("SELECT 1 / 0")).rejects.toThrow()
        const answer =
          by === "promise"
            ? client.query("COMMIT").then(
                (result) => ({ command: result.command }),
                (error: { code?: unknown }) => ({ code: error.code })
              )
            : new Promise((resolve) =>
                client.query("COMMIT", (error: Error | undefined, result: Pg.QueryResult) =>
                  resolve(error ? { code: (error as { code?: unknown }).code } : { command: result.command })
                )
              )
        return answer
      }
      for (const by of ["promise", "callback"] as const) {
        const answers: Record<string, unknown> = {}
        const rows = await onBoth(async (client, name, kind) => {
          answers[kind] = await commitAfterFailure(client, name, by)
          expect(status(client)).toBe("I")
          expect((await client.query("SELECT 2 AS two")).rows).toEqual([{ two: 2 }])
        })
        expect(answers, by).toEqual({ plain: { command: "ROLLBACK" }, ours: { code: "25P02" } })
        expect(rows, by).toEqual({ plain: 0, ours: 0 })
      }
      // A COMMIT that commits is answered as before.
      const committed = await onTable("ours", async (client, name) => {
        await client.query("BEGIN")
        await client.query(`INSERT INTO ${name} VALUES ($1, $2)`, [1, "a"])
        expect((await client.query("COMMIT")).command).toBe("COMMIT")
      })
      expect(committed).toBe(1)
    },
    timeout
  )
})
