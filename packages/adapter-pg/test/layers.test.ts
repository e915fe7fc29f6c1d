/**
 * The layers: embedded PGlite in a data folder (kept across restarts, stopped on
 * release), from `Config` (a server that cannot be reached fails fast with an
 * `InfrastructureError`; a reachable one serves the ports).
 */
import { Expect } from "@zhongbao/testing"
import { existsSync, mkdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { type AddressInfo, createServer as createNetServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { PgDatabase, PgMigrations, PgPersistence, PgRateLimit } from "@zhongbao/adapter-pg"
import { Errors, Ids, Persistence } from "@zhongbao/core"
import {
  Cause,
  Chunk,
  ConfigError,
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Either,
  Exit,
  Layer,
  Logger,
  Option,
  Redacted,
  Stream
} from "effect"
import * as Pg from "pg"
import { poolOf } from "../src/internal/db.js"
import * as Embedded from "../src/internal/embedded.js"
import { maxRetries } from "../src/internal/unitOfWork.js"
import * as Rows from "./rows.js"
import * as T from "./support.js"

const timeout = 180_000

/** A folder of its own, removed with the scope. */
const temporaryFolder = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "zhongbao-pglite-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

/** Whether something accepts connections on 127.0.0.1:port. */
const reachable = (port: number) =>
  Effect.promise(async () => {
    const client = new Pg.Client({
      host: "127.0.0.1",
      port,
      user: "postgres",
      connectionTimeoutMillis: 2_000
    })
    client.on("error", () => {})
    try {
      await client.connect()
      await client.end()
      return true
    } catch {
      return false
    }
  })

/** A statement on the pool's connection, beside the adapter's own. */
const sqlOn = (sql: SqlClient.SqlClient, text: string) =>
  Effect.promise(() => poolOf.get(sql)!.query<Record<string, unknown>>(text)).pipe(Effect.map((r) => r.rows))

/** Deallocates the prepared statements of the pool's one connection whose text starts with `start`. */
const deallocate = (sql: SqlClient.SqlClient, start: "SELECT" | "INSERT") =>
  Effect.gen(function* () {
    for (const { name } of yield* sqlOn(
      sql,
      `SELECT name FROM pg_prepared_statements WHERE statement LIKE '${start}%'`
    )) {
      yield* sqlOn(sql, `DEALLOCATE "${String(name)}"`)
    }
  })

/**
 * A member stored, and the look-up by id named on the connection by a unit of work,
 * then deallocated (the unit's insert stays prepared): the next unit that looks it up
 * finds its statement stale.
 */
const staleLookUp = (
  members: Persistence.MemberRepository["Type"],
  sql: SqlClient.SqlClient,
  uow: Persistence.UnitOfWork["Type"]
) =>
  Effect.gen(function* () {
    const seen = Rows.member()
    yield* uow.transaction(members.insert(seen))
    yield* uow.transaction(Effect.zipRight(members.insert(Rows.member()), members.findById(seen.id)))
    yield* deallocate(sql, "SELECT")
    return seen
  })

/**
 * `body` with the member repository of a fresh schema on a pool of its own, untraced
 * (statements outside a unit of work go to the pool), dropped afterwards.
 */
const onOneConnection = <A, E, R extends Persistence.Ports = never>(
  options: PgDatabase.PoolOptions,
  body: (
    members: Persistence.MemberRepository["Type"],
    sql: SqlClient.SqlClient,
    schema: string,
    uow: Persistence.UnitOfWork["Type"]
  ) => Effect.Effect<A, E, R>
) => {
  const schema = T.freshSchema("zbp")
  return Effect.gen(function* () {
    return yield* body(
      yield* Persistence.MemberRepository,
      yield* SqlClient.SqlClient,
      schema,
      yield* Persistence.UnitOfWork
    )
  }).pipe(
    Effect.withTracerEnabled(false),
    Effect.provide(T.portsWith(schema, PgDatabase.layerPool(options), { drop: true })),
    Effect.scoped
  )
}

describe("layers", () => {
  it.scopedLive(
    "layerEmbedded: a data folder that cannot be made fails at once naming it (under a file; under /proc, where Node's own recursive mkdir spins forever), and makes nothing",
    () =>
      Effect.gen(function* () {
        const root = yield* temporaryFolder
        const file = join(root, "a-file")
        writeFileSync(file, "")
        const folders = [
          join(file, "pglite"),
          ...(existsSync("/proc/self") ? ["/proc/zhongbao-test/pglite"] : [])
        ]
        for (const dataDir of folders) {
          const error = yield* Expect.failureOf(
            Effect.provide(Persistence.MemberRepository, PgPersistence.layerEmbedded({ dataDir }))
          )
          assert.instanceOf(error, Errors.InfrastructureError)
          assert.include(error.message, `the data folder ${dataDir} could not be made`, dataDir)
        }
        assert.isFalse(existsSync(join(file, "pglite")))
      })
  )

  it.live(
    "layerEmbedded: PGlite in a data folder (made with its parents) keeps its rows across restarts, on a free port, and stops on release; only a start that makes the database says so",
    () =>
      Effect.gen(function* () {
        const root = yield* Effect.acquireRelease(
          Effect.promise(() => mkdtemp(join(tmpdir(), "zhongbao-pglite-"))),
          (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
        )
        // A folder whose parent does not exist yet, as `.data/pglite` on a fresh checkout.
        const dataDir = join(root, ".data", "pglite")
        const logged: Array<string> = []
        const capture = Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ message }) => logged.push(String(message)))
        )
        const embedded = PgPersistence.layer().pipe(
          Layer.provideMerge(PgDatabase.layerEmbedded({ dataDir, maxConnections: 3 })),
          Layer.provide(capture)
        )
        const m = Rows.member()
        const port = yield* Effect.gen(function* () {
          yield* (yield* Persistence.MemberRepository).insert(m)
          const client = yield* PgClient.PgClient
          assert.strictEqual(client.config.host, "127.0.0.1")
          const [row] = yield* (yield* SqlClient.SqlClient).unsafe<{ size: string }>(
            "SELECT current_setting('max_connections') AS size"
          )
          assert.isDefined(row)
          return client.config.port!
        }).pipe(Effect.provide(embedded))
        assert.isFalse(yield* reachable(port), "the socket server stopped with the layer")
        const found = yield* Effect.flatMap(Persistence.MemberRepository, (members) =>
          members.findById(m.id)
        ).pipe(
          Effect.provide(
            PgPersistence.layerEmbedded({ dataDir, maxConnections: 2 }).pipe(Layer.provide(capture))
          )
        )
        assert.isTrue(Option.isSome(found), "the member is still there after a restart")
        assert.deepStrictEqual(
          logged.filter((line) => line.startsWith("PGlite:")),
          [`PGlite: making a new database in ${dataDir}; a first start takes several seconds`],
          "the first start says it makes the database, the restart does not"
        )
      }).pipe(Effect.scoped),
    timeout
  )

  it.live(
    "layerEmbedded in memory: every start is a new, empty database, though only the process's first runs initdb (later ones, one started beside it included, load the dump of its empty database); one started while another holds rows, or after it, has none of them and serves the ports",
    () =>
      Effect.gen(function* () {
        const tables = Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`
        ).pipe(Effect.map((rows) => rows.map((r) => r.name)))
        const before = { ...Embedded.inMemoryStarts }
        // Two at once: the process's first in-memory start (in this file), and one that waits for its dump.
        const [first, beside] = yield* Effect.all(
          [
            Layer.build(PgDatabase.layerEmbedded({ maxConnections: 2 })),
            Layer.build(PgDatabase.layerEmbedded({ maxConnections: 2 }))
          ],
          { concurrency: 2 }
        )
        assert.deepStrictEqual(yield* tables.pipe(Effect.provide(beside)), [])
        yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql.unsafe("CREATE TABLE zb_marker (x int); INSERT INTO zb_marker VALUES (1)")
        ).pipe(Effect.provide(first))
        assert.deepStrictEqual(yield* tables.pipe(Effect.provide(first)), ["zb_marker"])
        assert.deepStrictEqual(
          yield* tables.pipe(Effect.provide(PgDatabase.layerEmbedded({ maxConnections: 2 }))),
          [],
          "a second started while the first holds a table"
        )
        const m = Rows.member()
        const found = yield* Effect.flatMap(Persistence.MemberRepository, (members) =>
          Effect.zipRight(members.insert(m), members.findById(m.id))
        ).pipe(Effect.provide(PgPersistence.layerEmbedded({ maxConnections: 2 })))
        assert.deepStrictEqual(
          found,
          Option.some(m),
          "a third one migrated (pg_trgm included) serves the ports"
        )
        const after = Embedded.inMemoryStarts
        assert.strictEqual(after.made + after.loaded - before.made - before.loaded, 4)
        assert.isAtMost(after.made, 1, "initdb ran once in this process, though two started at once")
        assert.isAtLeast(after.loaded - before.loaded, 3, "the others loaded the first's dump")
      }).pipe(Effect.scoped),
    timeout
  )

  it.live(
    "layerEmbedded: concurrent statements each get their own answer: 300 operations 10 at a time, reads with parameters beside units of work that write; every read answers its own values, exactly the units' rows are stored",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const units = yield* Persistence.UnitOfWork
        yield* sql.unsafe("CREATE TABLE interleave (v int PRIMARY KEY)")
        const wrong: Array<string> = []
        const operation = (i: number) =>
          i % 3 === 0
            ? units.transaction(
                Effect.gen(function* () {
                  yield* sql.unsafe("INSERT INTO interleave (v) VALUES ($1::int)", [i])
                  yield* Effect.sleep("3 millis")
                  yield* sql.unsafe("SELECT count(*) FROM interleave")
                })
              )
            : Effect.map(
                sql.unsafe<{ src: string; v: number }>("SELECT $1::text AS src, $2::int AS v", [
                  i % 2 === 0 ? "even" : "odd",
                  i
                ]),
                (rows) => {
                  const expected = { src: i % 2 === 0 ? "even" : "odd", v: i }
                  if (JSON.stringify(rows) !== JSON.stringify([expected]))
                    wrong.push(`${JSON.stringify(expected)} answered ${JSON.stringify(rows)}`)
                }
              )
        const exits = yield* Effect.forEach(
          Array.from({ length: 300 }, (_, i) => i),
          (i) => Effect.exit(operation(i)),
          { concurrency: 10 }
        )
        assert.deepStrictEqual(
          exits.flatMap((exit, i) => (exit._tag === "Failure" ? [`${i}: ${exit.cause}`] : [])),
          [],
          "no operation failed"
        )
        assert.deepStrictEqual(wrong, [], "each read answered its own values")
        const stored = yield* sql.unsafe<{ v: number }>("SELECT v FROM interleave ORDER BY v")
        assert.deepStrictEqual(
          stored.map((r) => r.v),
          Array.from({ length: 100 }, (_, k) => 3 * k),
          "exactly the units' rows"
        )
      }).pipe(
        Effect.provide(
          PgPersistence.layer().pipe(Layer.provideMerge(PgDatabase.layerEmbedded({ maxConnections: 10 })))
        )
      ),
    timeout
  )

  it.live(
    "layerEmbedded: one holder of a data folder at a time, named by its path, a symbolic link to it or a file:// URL; a second fails naming the folder and changes nothing, a later one opens it once the first is released",
    () =>
      Effect.gen(function* () {
        const root = yield* temporaryFolder
        const dataDir = join(root, "pglite")
        const link = join(root, "link")
        const lockDir = join(dataDir, "zhongbao.lock")
        const m = Rows.member()
        yield* Effect.gen(function* () {
          yield* (yield* Persistence.MemberRepository).insert(m)
          assert.isTrue(statSync(lockDir).isDirectory())
          symlinkSync(dataDir, link)
          for (const other of [dataDir, link, pathToFileURL(dataDir).href]) {
            const second = yield* Expect.failureOf(
              Effect.provide(
                Persistence.MemberRepository,
                PgPersistence.layerEmbedded({ dataDir: other, maxConnections: 1, lockTimeout: 0 })
              )
            )
            assert.instanceOf(second, Errors.InfrastructureError)
            const named = other.startsWith("file:") ? dataDir : other
            assert.include(second.message, `the data folder ${named} is in use`, other)
            assert.include(second.message, lockDir, other)
          }
          assert.isTrue(existsSync(lockDir), "the holder's lock is kept")
          assert.isTrue(Option.isSome(yield* (yield* Persistence.MemberRepository).findById(m.id)))
        }).pipe(Effect.provide(PgPersistence.layerEmbedded({ dataDir, maxConnections: 2 })))
        assert.isFalse(existsSync(lockDir), "released with the layer")
        const found = yield* Effect.flatMap(Persistence.MemberRepository, (members) =>
          members.findById(m.id)
        ).pipe(
          Effect.provide(
            PgPersistence.layerEmbedded({ dataDir: pathToFileURL(dataDir).href, maxConnections: 2 })
          )
        )
        assert.isTrue(Option.isSome(found), "the same folder as a file:// URL")
      }).pipe(Effect.scoped),
    timeout
  )

  it.live(
    "layerEmbedded: of two layers started at once on one folder, one opens it and the other waits for it (lockTimeout: infinity); a lock left untouched for longer than it may be (its process killed) is taken over at once",
    () =>
      Effect.gen(function* () {
        const root = yield* temporaryFolder
        const dataDir = join(root, "pglite")
        const held: Array<readonly [number, number]> = []
        const opened = Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const from = Date.now()
          yield* sql`SELECT 1 AS one`
          yield* Effect.sleep("1500 millis")
          held.push([from, Date.now()])
        }).pipe(
          Effect.provide(
            PgDatabase.layerEmbedded({ dataDir, maxConnections: 1, lockTimeout: Duration.infinity })
          ),
          Effect.either
        )
        const both = yield* Effect.all([opened, opened], { concurrency: 2 })
        assert.deepStrictEqual(
          both.map((result) => result._tag),
          ["Right", "Right"],
          "the second waited for the first"
        )
        const [a, b] = [...held].sort((x, y) => x[0] - y[0])
        assert.isAtMost(a![1], b![0], "one after the other, never both at once")
        const lockDir = join(dataDir, "zhongbao.lock")
        mkdirSync(lockDir)
        const past = new Date(Date.now() - 60_000)
        utimesSync(lockDir, past, past)
        const started = Date.now()
        const taken = yield* opened
        assert.isTrue(Either.isRight(taken), "a stale lock is taken over")
        assert.isBelow(Date.now() - started, 9_000, "without waiting for it")
        assert.isFalse(existsSync(lockDir), "and given back")
      }).pipe(Effect.scoped),
    timeout
  )

  it.live.skipIf(T.backend !== "postgres")(
    "a connection whose backend is terminated during its COMMIT is not given to the next unit of work: the unit's outcome is unknown, the next one succeeds",
    () =>
      Effect.gen(function* () {
        const schema = T.freshSchema("zbfatal")
        const admin = new Pg.Client({ connectionString: Redacted.value(T.databaseUrl()) })
        yield* Effect.acquireRelease(
          Effect.promise(() => admin.connect()),
          () => Effect.promise(() => admin.end())
        )
        yield* Effect.addFinalizer(() =>
          Effect.promise(() => admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).pipe(Effect.ignore)
        )
        yield* Effect.promise(() =>
          admin.query(`
            CREATE SCHEMA ${schema};
            CREATE TABLE ${schema}.t (v int);
            CREATE FUNCTION ${schema}.slow() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON ${schema}.t
              DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${schema}.slow();`)
        )
        const layer = PgPersistence.layer({ schema }).pipe(
          Layer.provideMerge(PgDatabase.layerPool({ url: T.databaseUrl(), maxConnections: 1 }))
        )
        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const units = yield* Persistence.UnitOfWork
          const committing = yield* Effect.exit(
            units.transaction(
              Effect.gen(function* () {
                yield* sql.unsafe(`INSERT INTO ${schema}.t (v) VALUES (1)`)
                const [row] = yield* sql.unsafe<{ pid: number }>("SELECT pg_backend_pid() AS pid")
                setTimeout(() => void admin.query("SELECT pg_terminate_backend($1)", [row!.pid]), 400)
              })
            )
          )
          assert.isTrue(Exit.isFailure(committing), "the unit whose COMMIT was cut fails")
          const failure = Exit.isFailure(committing) ? Cause.failureOption(committing.cause) : Option.none()
          const error = Option.getOrUndefined(failure)
          assert.strictEqual(
            error instanceof Errors.InfrastructureError ? error.outcome : String(error),
            "unknown",
            "its outcome unknown"
          )
          const next = yield* Effect.exit(units.transaction(sql.unsafe("SELECT 1 AS one")))
          assert.isTrue(
            Exit.isSuccess(next),
            `the next unit succeeds: ${Exit.isFailure(next) ? next.cause : ""}`
          )
        }).pipe(Effect.provide(layer))
      }).pipe(Effect.scoped),
    timeout
  )

  it.live(
    "P2: layerPool's connections are in pg's pipeline mode unless pipelining is false; the embedded database's are not (its socket server takes one message at a time) and stream rows",
    () =>
      Effect.gen(function* () {
        const pipelined = Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.promise(async () => {
            const client = await poolOf.get(sql)!.connect()
            client.release()
            return (client as unknown as { pipeline: boolean }).pipeline
          })
        )
        const embedded = PgDatabase.layerEmbedded({ maxConnections: 2 })
        assert.isFalse(yield* pipelined.pipe(Effect.provide(embedded)), "embedded")
        const streamed = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`SELECT generate_series(1, 3) AS n`.stream.pipe(Stream.runCollect)
        ).pipe(Effect.provide(embedded))
        assert.deepStrictEqual(
          Chunk.toReadonlyArray(streamed).map((r) => Number(r.n)),
          [1, 2, 3],
          "embedded: rows streamed through a cursor"
        )
        if (T.backend === "postgres") {
          const url = Redacted.make(process.env.DATABASE_URL!)
          assert.isTrue(yield* pipelined.pipe(Effect.provide(PgDatabase.layerPool({ url }))), "layerPool")
          assert.isFalse(
            yield* pipelined.pipe(Effect.provide(PgDatabase.layerPool({ url, pipelining: false }))),
            "layerPool, pipelining: false"
          )
        }
      }),
    timeout
  )

  it.live.skipIf(T.backend !== "postgres")(
    "P1: reads outside a unit of work are named prepared statements on layerPool's connections, each execution planned with its own values, while a unit of work's transaction leaves the choice of plan to PostgreSQL; unnamed with preparedStatements: false (PostgreSQL only)",
    () =>
      Effect.gen(function* () {
        const url = T.databaseUrl()
        const probe = (preparedStatements: boolean) =>
          onOneConnection({ url, maxConnections: 1, preparedStatements }, (members, sql, _schema, uow) =>
            Effect.gen(function* () {
              const m = Rows.member()
              yield* members.insert(m)
              for (let i = 0; i < 3; i++) {
                assert.deepStrictEqual(Option.getOrThrow(yield* members.findById(m.id)), m)
              }
              return {
                prepared: yield* sqlOn(
                  sql,
                  "SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE '%.member WHERE id = $1'"
                ),
                mode: (yield* sqlOn(sql, "SHOW plan_cache_mode"))[0]?.plan_cache_mode,
                inUnit: (yield* uow.transaction(
                  sql.unsafe<{ mode: string }>("SELECT current_setting($1) AS mode", ["plan_cache_mode"])
                ))[0]?.mode
              }
            })
          )
        const named = yield* probe(true)
        assert.strictEqual(named.prepared.length, 1, "the look-up is prepared once on its connection")
        assert.match(String(named.prepared[0]!.name), /^zb_[0-9a-f]{24}$/)
        assert.strictEqual(named.mode, "force_custom_plan")
        assert.strictEqual(named.inUnit, "auto", "a unit of work's transaction: PostgreSQL's own choice")
        const unnamed = yield* probe(false)
        assert.deepStrictEqual(unnamed.prepared, [], "preparedStatements: false")
        assert.strictEqual(unnamed.mode, "auto")
      }),
    timeout
  )

  it.live.skipIf(T.backend !== "postgres")(
    "P2: the journal of a command (its event, its message, with or without its idempotency record) keeps PostgreSQL's generic plan in a unit of work, planned once per connection rather than at every execution (PostgreSQL only)",
    () =>
      onOneConnection({ url: T.databaseUrl(), maxConnections: 1 }, (members, sql, schema, uow) =>
        Effect.gen(function* () {
          const journal = Option.getOrThrow(yield* Effect.serviceOption(Persistence.Journal))
          const m = Rows.member()
          const a = Rows.account(m.id)
          yield* members.insert(m)
          yield* (yield* Persistence.AccountRepository).insert(a)
          const entry = (record: boolean) => ({
            events: [Rows.memberEvent(a, m)],
            messages: [],
            accountMessages: [
              {
                accountId: a.id,
                dedupeKeyPrefix: `response_received:${Ids.make()}:`,
                message: {
                  id: Ids.make<Ids.OutboxMessageId>(),
                  event: "response_received" as const,
                  templateId: "ZB_RESPONSE_RECEIVED",
                  params: { number: "ZB20260001" },
                  createdAt: Rows.at(2)
                }
              }
            ],
            idempotency: record
              ? {
                  accountId: a.id,
                  key: Ids.make(),
                  fingerprint: "respond:{}",
                  result: {},
                  createdAt: Rows.at(2)
                }
              : null
          })
          /** The journal's statement with or without the record (only one of each shape is written). */
          const plans = (record: boolean) =>
            Effect.map(
              sqlOn(
                sql,
                `SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements
                 WHERE statement LIKE 'WITH e AS%' AND statement LIKE '%outbox_message%'
                   AND (statement LIKE '%idempotency_record%') = ${record}`
              ),
              (rows) => rows.map((r) => ({ generic: Number(r.generic), custom: Number(r.custom) }))
            )
          for (const record of [true, false]) {
            for (let i = 0; i < 8; i++) yield* uow.transaction(journal.write(entry(record)))
            const [seen, ...more] = yield* plans(record)
            assert.isDefined(seen, `the journal ${record ? "with" : "without"} a record prepared`)
            assert.lengthOf(more, 0)
            assert.deepStrictEqual(
              seen,
              { generic: 3, custom: 5 },
              `the journal ${record ? "with" : "without"} a record: PostgreSQL's five custom plans, then its generic plan kept`
            )
          }
          const written = yield* sqlOn(sql, `SELECT count(*)::int AS n FROM "${schema}".outbox_message`)
          assert.strictEqual(Number(written[0]!.n), 16, "every message written")
        })
      ),
    timeout
  )

  it.live.skipIf(T.backend !== "postgres")(
    "a read whose prepared statement is gone (DEALLOCATE ALL) or no longer fits its table (a column changed type) answers, sent again unnamed, and its text stays unnamed (PostgreSQL only)",
    () =>
      onOneConnection({ url: T.databaseUrl(), maxConnections: 1 }, (members, sql, schema) =>
        Effect.gen(function* () {
          const m = Rows.member()
          yield* members.insert(m)
          const prepared = sqlOn(
            sql,
            "SELECT name FROM pg_prepared_statements WHERE statement LIKE '%.member WHERE id = $1'"
          )
          assert.deepStrictEqual(Option.getOrThrow(yield* members.findById(m.id)), m)
          assert.strictEqual((yield* prepared).length, 1)
          yield* sqlOn(sql, "DEALLOCATE ALL")
          assert.deepStrictEqual(Option.getOrThrow(yield* members.findById(m.id)), m, "after DEALLOCATE ALL")
          assert.deepStrictEqual(yield* prepared, [], "sent unnamed, not prepared again")

          const o = Rows.member()
          yield* members.insert(o)
          const list = () => members.list({ limit: 10 })
          assert.strictEqual((yield* list()).length, 2)
          const listed = sqlOn(
            sql,
            "SELECT name FROM pg_prepared_statements WHERE statement LIKE '%LIMIT $1'"
          )
          assert.strictEqual((yield* listed).length, 1)
          yield* sqlOn(sql, `ALTER TABLE "${schema}".member ALTER COLUMN name TYPE varchar(200)`)
          assert.deepStrictEqual(
            (yield* list()).map((x) => x.id).sort(),
            [m.id, o.id].sort(),
            "after the column changed type"
          )
          yield* sqlOn(sql, "DEALLOCATE ALL")
          assert.strictEqual((yield* list()).length, 2)
          assert.deepStrictEqual(yield* listed, [], "sent unnamed, not prepared again")
        })
      ),
    timeout
  )

  it.live.skipIf(T.backend !== "postgres")(
    "P2: in the adapter's units of work every statement is named, the one that carries BEGIN too; a unit whose named statement went stale (DEALLOCATE ALL, a column changed type) runs again at once, once per stale text, all or nothing, those texts unnamed from then on (PostgreSQL only)",
    () =>
      Effect.gen(function* () {
        const cases = [
          { label: "DEALLOCATE ALL", spoil: () => "DEALLOCATE ALL", stale: 2 },
          {
            label: "a column changed type",
            spoil: (schema: string) => `ALTER TABLE "${schema}".member ALTER COLUMN name TYPE varchar(200)`,
            stale: 1
          }
        ]
        for (const { label, spoil, stale } of cases) {
          yield* onOneConnection({ url: T.databaseUrl(), maxConnections: 1 }, (members, sql, schema, uow) =>
            Effect.gen(function* () {
              const named = sqlOn(
                sql,
                "SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%.member%' ORDER BY statement"
              )
              const seen = Rows.member()
              yield* uow.transaction(members.insert(seen))
              assert.deepStrictEqual(
                (yield* named).map((r) => String(r.statement).split(" ")[0]),
                ["INSERT"],
                `${label}: a unit's only statement carries BEGIN, named`
              )
              let runs = 0
              const unit = () => {
                const pair = [Rows.member(), Rows.member()] as const
                return uow
                  .transaction(
                    Effect.gen(function* () {
                      runs++
                      yield* members.insert(pair[0])
                      assert.deepStrictEqual(Option.getOrThrow(yield* members.findById(seen.id)), seen)
                      yield* members.insert(pair[1])
                    })
                  )
                  .pipe(Effect.as(pair))
              }
              const first = yield* unit()
              assert.strictEqual(runs, 1, label)
              const statements = (yield* named).map((r) => String(r.statement))
              assert.strictEqual(statements.length, 2, `${label}: the look-up and the second insert`)
              assert.match(statements[0]!, /^INSERT INTO/)
              assert.match(statements[1]!, /^SELECT/)
              yield* sqlOn(sql, spoil(schema))
              const second = yield* unit()
              assert.strictEqual(runs, 2 + stale, `${label}: the unit ran again once per stale text`)
              for (const m of [seen, ...first, ...second]) {
                assert.isTrue(Option.isSome(yield* members.findById(m.id)), `${label}: ${m.id}`)
              }
              assert.strictEqual((yield* members.list({ limit: 10 })).length, 5, `${label}: nothing twice`)
              yield* sqlOn(sql, spoil(schema).replace("varchar(200)", "varchar(300)"))
              yield* unit()
              assert.strictEqual(
                runs,
                3 + stale,
                `${label}: the stale texts go unnamed, so nothing is stale again`
              )
            })
          )
        }
      }),
    timeout
  )

  it.live.skipIf(T.backend !== "postgres")(
    "P2: a run again after a stale statement does not count toward the unit's retries of serialization failures: five of them after it are still retried (PostgreSQL only)",
    () =>
      onOneConnection({ url: T.databaseUrl(), maxConnections: 1 }, (members, sql, _schema, uow) =>
        Effect.gen(function* () {
          const seen = yield* staleLookUp(members, sql, uow)
          let runs = 0
          const added = Rows.member()
          yield* uow.transaction(
            Effect.gen(function* () {
              runs++
              yield* members.insert(added)
              // The look-up is named: stale in the first run, unnamed from then on.
              yield* members.findById(seen.id)
              if (runs >= 2 && runs < 2 + maxRetries)
                yield* sql.unsafe("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$")
            })
          )
          assert.strictEqual(runs, 2 + maxRetries, "one stale run, then every serialization failure retried")
          assert.isTrue(Option.isSome(yield* members.findById(added.id)), "the last run committed")
        })
      ),
    timeout
  )

  it.live.skipIf(T.backend !== "postgres")(
    "P2: a unit whose stale statement's failure was caught, and whose next statement then failed on the aborted transaction (25P02), runs again at once, all or nothing (PostgreSQL only)",
    () =>
      onOneConnection({ url: T.databaseUrl(), maxConnections: 1 }, (members, sql, _schema, uow) =>
        Effect.gen(function* () {
          const seen = yield* staleLookUp(members, sql, uow)
          let runs = 0
          const other = Rows.member()
          const listed = yield* uow.transaction(
            Effect.gen(function* () {
              runs++
              yield* members.insert(other)
              yield* Effect.either(members.findById(seen.id))
              return yield* members.list({ limit: 10 })
            })
          )
          assert.strictEqual(
            runs,
            2,
            "ran again once: the look-up failed (caught), the list after it with 25P02"
          )
          assert.strictEqual(listed.length, 3)
          assert.strictEqual((yield* members.list({ limit: 10 })).length, 3, "the insert once")
        })
      ),
    timeout
  )

  it.live.skipIf(T.backend !== "postgres")(
    "P2: a unit that finds more stale statements than the five retries of serialization failures runs again once per stale text and commits; one that caught a stale statement's failure and went on (its COMMIT a ROLLBACK) runs again too, nothing lost (PostgreSQL only)",
    () =>
      onOneConnection({ url: T.databaseUrl(), maxConnections: 1 }, (members, sql, _schema, uow) =>
        Effect.gen(function* () {
          const accounts = yield* Persistence.AccountRepository
          const managers = yield* Persistence.TechnologyManagerRepository
          const commissions = yield* Persistence.CommissionRepository
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const seen = Rows.member()
          yield* uow.transaction(members.insert(seen))
          const lookUps = Effect.all([
            members.findById(seen.id),
            members.list({ limit: 10 }),
            accounts.findById(Ids.make()),
            managers.findById(Ids.make()),
            commissions.findById(Ids.make()),
            demands.findById(Ids.make()),
            responses.findById(Ids.make())
          ])
          let runs = 0
          const unit = (m: ReturnType<typeof Rows.member>) =>
            uow.transaction(
              Effect.gen(function* () {
                runs++
                yield* members.insert(m)
                yield* lookUps
              })
            )
          yield* unit(Rows.member())
          yield* sqlOn(sql, "DEALLOCATE ALL")
          runs = 0
          const many = Rows.member()
          yield* unit(many)
          assert.strictEqual(
            runs,
            9,
            "once, then again for the insert that carries BEGIN and each of the 7 look-ups"
          )
          assert.isTrue(Option.isSome(yield* members.findById(many.id)))

          const fresh = () => demands.findByIdForUpdate(Ids.make())
          yield* uow.transaction(Effect.zipRight(members.insert(Rows.member()), fresh()))
          yield* deallocate(sql, "SELECT")
          runs = 0
          const caught = Rows.member()
          yield* uow.transaction(
            Effect.gen(function* () {
              runs++
              yield* members.insert(caught)
              yield* Effect.option(fresh())
            })
          )
          assert.strictEqual(runs, 2, "ran again after a caught stale failure")
          assert.isTrue(Option.isSome(yield* members.findById(caught.id)), "its insert is kept")
        })
      ),
    timeout
  )

  it.live.skipIf(T.backend !== "postgres")(
    "P2: statements of a transaction the host began itself go unnamed, of a unit of work nested in it or in the adapter's own unit too, and of a savepoint the host opened in the adapter's unit: nothing would run them again (PostgreSQL only)",
    () =>
      onOneConnection({ url: T.databaseUrl(), maxConnections: 1 }, (members, sql, _schema, uow) =>
        Effect.gen(function* () {
          const named = sqlOn(
            sql,
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'INSERT%'"
          )
          const three = Effect.suspend(() =>
            Effect.all([
              members.insert(Rows.member()),
              members.insert(Rows.member()),
              members.insert(Rows.member())
            ])
          )
          yield* sql.withTransaction(three)
          yield* sql.withTransaction(uow.transaction(three))
          // Each unit's first statement, which carries BEGIN, is a look-up, named.
          const first = members.findById(Ids.make())
          yield* uow.transaction(Effect.zipRight(first, uow.transaction(three)))
          yield* uow.transaction(Effect.zipRight(first, sql.withTransaction(three)))
          assert.deepStrictEqual(
            yield* named,
            [],
            "unnamed in the host's transaction, in nested units and in the host's savepoints"
          )
          yield* uow.transaction(three)
          assert.strictEqual((yield* named).length, 1, "named in the adapter's own unit of work")
          assert.strictEqual((yield* members.list({ limit: 30 })).length, 15)
        })
      ),
    timeout
  )

  it.live(
    "layerConfig: a server that cannot be reached fails the layer with an InfrastructureError within the connect timeout",
    () =>
      Effect.gen(function* () {
        const started = Date.now()
        const error = yield* Expect.failureOf(
          Effect.asVoid(Layer.build(PgPersistence.layerConfig())).pipe(
            Effect.scoped,
            Effect.withConfigProvider(
              ConfigProvider.fromMap(
                new Map([
                  ["DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing"],
                  ["DATABASE_CONNECT_TIMEOUT", "2 seconds"]
                ])
              )
            )
          )
        )
        assert.instanceOf(error, Errors.InfrastructureError)
        assert.notInclude(
          (error as Errors.InfrastructureError).message,
          "127.0.0.1:1",
          "no address in the message"
        )
        assert.isBelow(Date.now() - started, 10_000)
      }),
    timeout
  )

  it.effect('config: a missing or blank DATABASE_URL is refused naming it, never as "<redacted>"', () =>
    Effect.gen(function* () {
      const messageOf = (entries: ReadonlyArray<[string, string]>) =>
        Effect.withConfigProvider(PgDatabase.config, ConfigProvider.fromMap(new Map(entries))).pipe(
          Effect.flip,
          Effect.map(String)
        )
      const missing = yield* messageOf([])
      assert.include(missing, "Expected DATABASE_URL to exist")
      assert.notInclude(missing, "<redacted>")
      for (const blank of ["", " "]) {
        assert.include(yield* messageOf([["DATABASE_URL", blank]]), "DATABASE_URL is empty")
      }
      const read = yield* Effect.withConfigProvider(
        PgDatabase.config,
        ConfigProvider.fromMap(new Map([["DATABASE_URL", "postgres://u:pw@h/db"]]))
      )
      assert.strictEqual(Redacted.value(read.url!), "postgres://u:pw@h/db")
      assert.strictEqual(String(read.url), "<redacted>")
    })
  )

  it("makePorts and migrations refuse a schema that is not a lower-case identifier: it would be part of every statement", () => {
    const injected = 'x".member WHERE false UNION ALL SELECT usename::text FROM pg_shadow --'
    for (const schema of [injected, 'a"b', "Zhongbao", "", "a".repeat(64), "1abc"]) {
      assert.throws(
        () => PgPersistence.makePorts({} as SqlClient.SqlClient, schema),
        TypeError,
        "lower-case identifier"
      )
      assert.throws(() => PgMigrations.migrations(schema, "public"), TypeError, "lower-case identifier")
    }
    assert.doesNotThrow(() => PgMigrations.migrations("zb_tenant_1", "public"))
  })

  it.live(
    "a pool to an address where nothing listens fails to build: InfrastructureError 'PgDatabase.connect: the database could not be reached'",
    () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(
          () =>
            new Promise<number>((resolve) => {
              const server = createNetServer().listen(0, "127.0.0.1", () => {
                const { port } = server.address() as AddressInfo
                server.close(() => resolve(port))
              })
            })
        )
        const database = PgDatabase.layerPool({
          url: Redacted.make(`postgres://postgres@127.0.0.1:${port}/test`),
          connectTimeout: "2 seconds"
        })
        const refused = yield* Effect.flip(
          Effect.scoped(Layer.build(PgPersistence.layer({ migrate: false }).pipe(Layer.provide(database))))
        )
        assert.instanceOf(refused, Errors.InfrastructureError)
        assert.strictEqual(refused.message, "PgDatabase.connect: the database could not be reached")
      })
  )

  it.effect(
    "PgPersistence.layer with migrate: false, and PgRateLimit.make, refuse such a schema too, before any statement",
    () =>
      Effect.gen(function* () {
        const noStatements = Layer.succeed(SqlClient.SqlClient, {} as SqlClient.SqlClient)
        for (const schema of ['a"b', "Zhongbao", "1abc"]) {
          for (const build of [
            Effect.scoped(
              Layer.build(PgPersistence.layer({ schema, migrate: false }).pipe(Layer.provide(noStatements)))
            ),
            PgRateLimit.make({ schema }).pipe(Effect.provide(noStatements))
          ]) {
            const refused = yield* Effect.flip(build as Effect.Effect<unknown, Errors.InfrastructureError>)
            assert.instanceOf(refused, Errors.InfrastructureError)
            assert.include(refused.message, "lower-case identifier", schema)
          }
        }
      })
  )

  it.live.skipIf(T.backend !== "postgres")(
    'a timeout of zero is none, as pg and PostgreSQL read 0: DATABASE_STATEMENT_TIMEOUT="0 seconds" turns the statement timeout off (PostgreSQL only)',
    () =>
      Effect.gen(function* () {
        const config = (value: string) =>
          Effect.withConfigProvider(
            ConfigProvider.fromMap(
              new Map([
                ["DATABASE_URL", Redacted.value(T.databaseUrl())],
                ["DATABASE_STATEMENT_TIMEOUT", value]
              ])
            )
          )
        const timeoutOf = (value: string) =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            return (yield* sqlOn(sql, "SHOW statement_timeout"))[0]?.statement_timeout
          }).pipe(Effect.provide(PgDatabase.layerConfig()), config(value), Effect.scoped)
        assert.strictEqual(yield* timeoutOf("0 seconds"), "0")
        assert.strictEqual(yield* timeoutOf("2 seconds"), "2s")
        assert.strictEqual(
          yield* PgDatabase.layerPool({
            url: T.databaseUrl(),
            connectTimeout: 0,
            idleTimeout: Duration.infinity
          }).pipe(
            Layer.build,
            Effect.flatMap((context) => sqlOn(Context.get(context, SqlClient.SqlClient), "SELECT 1 AS one")),
            Effect.map((rows) => rows[0]?.one),
            Effect.scoped
          ),
          1
        )
      }),
    timeout
  )

  it.live(
    "layerConfig: a missing DATABASE_URL is a ConfigError",
    () =>
      Effect.gen(function* () {
        const error = yield* Expect.failureOf(
          Effect.asVoid(Layer.build(PgPersistence.layerConfig())).pipe(
            Effect.scoped,
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
          )
        )
        assert.isTrue(ConfigError.isConfigError(error) && ConfigError.isMissingDataOnly(error), String(error))
      }),
    timeout
  )

  it.live.skipIf(T.backend !== "postgres")(
    "layerConfig: DATABASE_URL, pool size and timeouts from Config serve the ports in the schema asked for (PostgreSQL only)",
    () => {
      const schema = T.freshSchema("zbc")
      return Effect.gen(function* () {
        const members = yield* Persistence.MemberRepository
        const m = Rows.member()
        yield* members.insert(m)
        assert.isTrue(Option.isSome(yield* members.findById(m.id)))
      }).pipe(
        Effect.provide(PgPersistence.layerConfig({ schema })),
        Effect.withConfigProvider(
          ConfigProvider.fromMap(
            new Map([
              ["DATABASE_URL", process.env.DATABASE_URL ?? ""],
              ["DATABASE_POOL_SIZE", "3"],
              ["DATABASE_CONNECT_TIMEOUT", "5 seconds"],
              ["DATABASE_STATEMENT_TIMEOUT", "5 seconds"]
            ])
          )
        ),
        Effect.ensuring(
          Effect.promise(async () => {
            const client = new Pg.Client({ connectionString: process.env.DATABASE_URL })
            await client.connect()
            await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
            await client.end()
          })
        )
      )
    },
    timeout
  )
})
