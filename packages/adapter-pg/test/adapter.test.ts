/**
 * What the conformance suite cannot see: the database's plans, faults of the
 * connection and the pool, how SQL failures are mapped, keyword search in Chinese.
 * Runs on PostgreSQL when `DATABASE_URL` is set, on PGlite otherwise; the tests
 * that need concurrent backends are PostgreSQL only.
 */
import { inspect } from "node:util"
import { Expect } from "@zhongbao/testing"
import { SqlClient, SqlError, Statement } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { PgDatabase, PgMigrations, PgPersistence } from "@zhongbao/adapter-pg"
import {
  Access,
  type Audit,
  Commissioning,
  Deadline,
  Demand,
  Errors,
  Files,
  FileStore,
  Ids,
  type Member,
  Membership,
  Outcome,
  Persistence,
  Publishing,
  Review,
  Rewards,
  Settings,
  Zhongbao
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import {
  Cause,
  DateTime,
  Deferred,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Redacted,
  Schema,
  Stream
} from "effect"
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from "node:net"
import * as Pg from "pg"
import { infrastructure, makeDb } from "../src/internal/db.js"
import { commitOutcomeUnknown } from "../src/internal/db.js"
import * as Demands from "../src/internal/demands.js"
import { sliceBytes } from "../src/internal/files.js"
import * as Parties from "../src/internal/parties.js"
import * as Records from "../src/internal/records.js"
import * as Responses from "../src/internal/responses.js"
import * as Rows from "./rows.js"
import * as T from "./support.js"

const shared = T.sharedClient(T.backend)
const onPostgres = T.backend === "postgres"
const timeout = 120_000

/** Runs `body` on the ports of a fresh schema of this file's client. */
const withSchema = <A, E>(
  body: (schema: string) => Effect.Effect<A, E, Persistence.Ports | SqlClient.SqlClient>
): Effect.Effect<A, unknown> => {
  const schema = T.freshSchema("zba")
  return body(schema).pipe(Effect.provide(T.portsIn(schema, shared, { drop: onPostgres })))
}

/** A connection of its own to the test server (not through the adapter). */
const withServerClient = <A>(f: (client: Pg.Client) => Promise<A>) =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const client = new Pg.Client({ connectionString: process.env.DATABASE_URL })
      client.on("error", () => {})
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => f(client)),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

/** Ends the backend of `sql`'s connection (in a unit of work, the transaction's) from another connection. */
const terminateOwnBackend = (sql: SqlClient.SqlClient) =>
  Effect.flatMap(sql.unsafe<{ pid: number }>("SELECT pg_backend_pid() AS pid"), ([row]) =>
    withServerClient((c) => c.query("SELECT pg_terminate_backend($1)", [row!.pid]))
  )

/** The failure of an exit, failing the test when it succeeded or died. */
const failure = <A, E>(exit: Exit.Exit<A, E>, label: string): E => {
  if (Exit.isSuccess(exit)) return assert.fail(`${label}: expected a failure, it succeeded`)
  const failed = Cause.failureOption(exit.cause)
  if (Option.isNone(failed))
    return assert.fail(`${label}: expected a failure, got ${Cause.pretty(exit.cause)}`)
  return failed.value
}

/** Every index a JSON plan scans. */
/**
 * The plan of `statement` prepared as `name`, as a custom plan and as the generic one
 * a prepared statement may settle on.
 */
const preparedPlans = (name: string, statement: { text: string; values: ReadonlyArray<unknown> }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(
      Effect.gen(function* () {
        yield* sql.unsafe(`PREPARE ${name} AS ${statement.text}`)
        // EXECUTE's arguments are literals: a utility statement takes no parameters.
        const args = statement.values
          .map((v) => (Array.isArray(v) ? `'{${v.join(",")}}'` : typeof v === "number" ? v : `'${v}'`))
          .join(", ")
        const planned = (mode: string) =>
          Effect.zipRight(
            sql.unsafe(`SET LOCAL plan_cache_mode = ${mode}`),
            Effect.map(
              sql.unsafe<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) EXECUTE ${name}(${args})`),
              (rows) => rows[0]?.["QUERY PLAN"]
            )
          )
        const custom = yield* planned("force_custom_plan")
        const generic = yield* planned("force_generic_plan")
        yield* sql.unsafe(`DEALLOCATE ${name}`)
        return { custom, generic }
      })
    )
  )

const indexesOf = (plan: unknown): Array<string> => {
  const out: Array<string> = []
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk)
    else if (node !== null && typeof node === "object") {
      const record = node as Record<string, unknown>
      if (typeof record["Index Name"] === "string") out.push(record["Index Name"])
      Object.values(record).forEach(walk)
    }
  }
  walk(plan)
  return out
}

/** Core's services over the ports of a fresh schema of this file's client. */
const withServices = <A, E>(
  body: Effect.Effect<A, E, Zhongbao.Services | Persistence.Ports | Settings.Settings>
): Effect.Effect<A, unknown> =>
  body.pipe(
    Effect.provide(
      Zhongbao.layer.pipe(
        Layer.provideMerge(
          Layer.merge(T.portsIn(T.freshSchema("zbk"), shared, { drop: onPostgres }), Settings.layerDefault)
        )
      )
    )
  )

/**
 * Runs `change` in a unit of work that stays open (holding the rows it changed)
 * until `check` has run for a while, then commits it; answers how `check` ended and
 * whether it was still waiting when the change committed.
 */
const racingUncommitted = <E, R1, A, E2, R2>(
  change: Effect.Effect<unknown, E, R1>,
  check: Effect.Effect<A, E2, R2>
) =>
  Effect.gen(function* () {
    const uow = yield* Persistence.UnitOfWork
    const changed = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const changing = yield* Effect.fork(
      uow.transaction(
        Effect.zipRight(
          change,
          Effect.zipRight(Deferred.succeed(changed, undefined), Deferred.await(release))
        )
      )
    )
    yield* Deferred.await(changed)
    const checking = yield* Effect.fork(Effect.either(check))
    yield* Effect.sleep("300 millis")
    const waited = Option.isNone(yield* Fiber.poll(checking))
    yield* Deferred.succeed(release, undefined)
    yield* Fiber.join(changing)
    return { result: yield* Fiber.join(checking), waited }
  })

/** A constraint trigger on `member` that fails every COMMIT of a transaction that inserted one. */
const refuseAtCommit = (sql: SqlClient.SqlClient, schema: string) =>
  sql.unsafe(`
    CREATE FUNCTION "${schema}".refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
    CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON "${schema}".member
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_commit();`)

/**
 * A TCP proxy to the test server whose next COMMIT (once `cutAtCommit` is called)
 * loses its connection: the COMMIT is passed on and answered (`forward: true`: the
 * client's socket is destroyed as the answer arrives, which it never sees) or not
 * passed on at all (the socket is destroyed at once). `down` cuts every connection
 * and refuses new ones, as a database that went away does; `up` takes them again.
 */
const cuttingProxy = Effect.acquireRelease(
  Effect.promise(async () => {
    const upstream = new URL(process.env.DATABASE_URL!)
    let cut: { readonly forward: boolean } | undefined
    let cuts = 0
    const sockets = new Set<Socket>()
    const server = createNetServer((client) => {
      const server = connect(Number(upstream.port || 5432), upstream.hostname)
      for (const s of [client, server]) {
        sockets.add(s)
        s.on("error", () => {})
        s.on("close", () => sockets.delete(s))
      }
      let answered = false
      const drop = () => {
        client.destroy()
        server.end()
      }
      server.on("data", (chunk: Buffer) => (answered ? drop() : client.write(chunk)))
      client.on("data", (chunk: Buffer) => {
        if (cut !== undefined && chunk.includes("COMMIT")) {
          const { forward } = cut
          cut = undefined
          cuts++
          if (!forward) return drop()
          answered = true
        }
        server.write(chunk)
      })
      client.on("close", () => server.end())
      server.on("close", () => client.destroy())
    })
    const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
    await listen(0)
    const port = (server.address() as AddressInfo).port
    const url = new URL(upstream.href)
    url.hostname = "127.0.0.1"
    url.port = String(port)
    const close = () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        if (!server.listening) return resolve()
        server.close(() => resolve())
      })
    return {
      url: url.href,
      cutAtCommit: (options: { readonly forward: boolean }) => {
        cut = options
      },
      cuts: () => cuts,
      down: close,
      up: () => listen(port),
      close
    }
  }),
  (proxy) => Effect.promise(() => proxy.close())
)

/**
 * A fresh schema dropped when the scope closes, and the ports on it reached through
 * a {@link cuttingProxy}.
 */
const throughProxy = (prefix: string) =>
  Effect.gen(function* () {
    const proxy = yield* cuttingProxy
    const schema = T.freshSchema(prefix)
    yield* Effect.addFinalizer(() =>
      withServerClient((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
    )
    const ports = T.portsWith(
      schema,
      PgDatabase.layerPool({ url: Redacted.make(proxy.url), maxConnections: 2 }),
      { drop: false }
    )
    return { proxy, schema, ports }
  })

/**
 * A unit of work that writes a member, then runs `failing` (which must fail: `label`)
 * and goes on: it must fail all the same, and nothing of it be written.
 */
const goingOnAfter = <A, E, R>(failing: Effect.Effect<A, E, R>, label: string) =>
  Effect.gen(function* () {
    const uow = yield* Persistence.UnitOfWork
    const members = yield* Persistence.MemberRepository
    const before = Rows.member()
    const result = yield* Effect.either(
      uow.transaction(
        Effect.gen(function* () {
          yield* members.insert(before)
          assert.isTrue(Either.isLeft(yield* Effect.either(failing)), label)
          return "went on"
        })
      )
    )
    assert.isTrue(
      Either.isLeft(result) && result.left instanceof Errors.InfrastructureError,
      "the unit fails instead of answering success for a rolled-back transaction"
    )
    assert.isTrue(Option.isNone(yield* members.findById(before.id)), "nothing of the unit is written")
  })

/** A stored PDF's row: `size` bytes owned by `owner` (the store does not check its checksum). */
const pdfRow = (owner: Ids.MemberId, name: string, size: number) =>
  FileStore.StoredFile.make({
    id: Ids.make<Ids.FileId>(),
    ownerMemberId: owner,
    name,
    contentType: "application/pdf" as FileStore.StoredFile["contentType"],
    size,
    sha256: "0".repeat(64) as FileStore.Sha256,
    createdAt: Rows.at(0)
  })

/** A member (the fixture, with `overrides`) and one account of it, inserted. */
const memberWithAccount = (overrides: Parameters<typeof Rows.member>[0] = {}) =>
  Effect.gen(function* () {
    const m = Rows.member(overrides)
    const a = Rows.account(m.id)
    yield* (yield* Persistence.MemberRepository).insert(m)
    yield* (yield* Persistence.AccountRepository).insert(a)
    return { m, a }
  })

/** 20 000 demands (three in four published) of 100 members and 40 000 responses, then ANALYZE. */
const seed = (schema: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.unsafe(`
      INSERT INTO "${schema}".member (id, kind, name, region, registered, created_at)
        SELECT 'm' || i, 'enterprise', '企业' || i, '天津市', false, now() FROM generate_series(1, 100) i;
      INSERT INTO "${schema}".account (id, member_id, role, name, phone, active, created_at)
        SELECT 'a' || i, 'm' || i, 'member', '联系人', '+8613900000000', true, now() FROM generate_series(1, 100) i;
      INSERT INTO "${schema}".demand (id, publisher_id, created_by, title, main_problem, key_technology,
          expected_goal, keywords, field, region, response_deadline, service_mode, state, number, round,
          approved_at, first_published_at, response_count, adopted_count, version, created_at, updated_at,
          search_text, search_grams)
        SELECT 'd' || lpad(i::text, 7, '0'), 'm' || (i % 100 + 1), 'a' || (i % 100 + 1), '需求' || i, '问题', '技术',
          '目标', ARRAY['词'], '领域' || (i % 20), '天津市', date '2026-06-01' + (i % 60), 'cooperative',
          CASE WHEN i % 4 = 0 THEN 'draft' ELSE 'published' END, CASE WHEN i % 4 = 0 THEN NULL ELSE 'ZB' || i END, 1,
          CASE WHEN i % 4 = 0 THEN NULL ELSE timestamptz '2026-01-01 00:00Z' + i * interval '1 minute' END,
          CASE WHEN i % 4 = 0 THEN NULL ELSE timestamptz '2026-01-01 00:00Z' + i * interval '1 minute' END,
          0, 0, 1, timestamptz '2026-01-01 00:00Z' + i * interval '1 minute', now(), '需求' || i, ARRAY['需', '求']
        FROM generate_series(1, 20000) i;
      INSERT INTO "${schema}".response (id, demand_id, demand_publisher_id, round, responder_id, responder_account_id,
          proposal_title, proposal_content, status, submitted_at, updated_at, version)
        SELECT 'r' || i, 'd' || lpad((i % 20000 + 1)::text, 7, '0'), 'm' || ((i % 20000 + 1) % 100 + 1), 1,
          'm' || (i / 20000 + 1), 'a' || (i / 20000 + 1), '方案', '内容', 'submitted',
          timestamptz '2026-02-01 00:00Z' + i * interval '1 second', now(), 1
        FROM generate_series(1, 40000) i;
      ANALYZE "${schema}".member, "${schema}".account, "${schema}".demand, "${schema}".response;
    `)
  )

const explain = (text: string, values: ReadonlyArray<unknown>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all({
      json: Effect.map(
        sql.unsafe<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, values as Array<unknown>),
        (rows) => rows[0]?.["QUERY PLAN"]
      ),
      text: Effect.map(
        sql.unsafe<{ "QUERY PLAN": string }>(`EXPLAIN (COSTS OFF) ${text}`, values as Array<unknown>),
        (rows) => rows.map((r) => r["QUERY PLAN"]).join("\n")
      )
    })
  )

describe(`adapter-pg on ${T.backend}`, () => {
  it.live(
    "R63: a journal entry refused for its idempotency key or an event id outside a unit of work (alone, or in a host's transaction) writes none of its events and messages",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const journal = Option.getOrThrow(yield* Effect.serviceOption(Persistence.Journal))
          const idempotency = yield* Persistence.IdempotencyRepository
          const audit = yield* Persistence.AuditRepository
          const outbox = yield* Persistence.Outbox
          const { m, a } = yield* memberWithAccount()
          const record = {
            accountId: a.id,
            key: "k1",
            fingerprint: "draftDemand:{}",
            result: { id: "d-1" },
            createdAt: Rows.at(1)
          }
          yield* idempotency.insert(record)
          const entry = () => {
            const id = Ids.make<Ids.OutboxMessageId>()
            return {
              events: [Rows.memberEvent(a, m)],
              messages: [
                {
                  id,
                  event: "response_adopted" as const,
                  dedupeKey: `response_adopted:${id}:+8613912345678`,
                  recipientPhone: "+8613912345678" as Member.PhoneNumber,
                  templateId: "ZB_RESPONSE_ADOPTED",
                  params: {},
                  createdAt: Rows.at(2)
                }
              ],
              accountMessages: [],
              idempotency: record
            }
          }
          for (const [label, around] of [
            ["alone", <A, E, R>(e: Effect.Effect<A, E, R>) => e],
            ["in a host's transaction", <A, E, R>(e: Effect.Effect<A, E, R>) => sql.withTransaction(e)]
          ] as const) {
            const written = entry()
            const error = yield* Expect.failureOf(around(journal.write(written)))
            assert.instanceOf(error, Errors.UniqueViolation, label)
            assert.deepStrictEqual(yield* audit.list({ memberId: m.id, limit: 10 }), [], label)
            assert.isTrue(Option.isNone(yield* outbox.find(written.messages[0]!.id)), label)
          }
          const fresh = { ...entry(), idempotency: { ...record, key: "k2" } }
          yield* journal.write(fresh)
          assert.lengthOf(
            yield* audit.list({ memberId: m.id, limit: 10 }),
            1,
            "an entry not refused is written"
          )
        })
      ),
    timeout
  )

  it.live(
    "all-or-nothing: a unit of work that catches a failed statement (its transaction aborted) and goes on fails, and writes nothing",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          const demands = yield* Persistence.DemandRepository
          // PostgreSQL refuses the NUL in the parameter: the statement fails, and with it
          // the transaction.
          yield* goingOnAfter(demands.findById("d\u0000" as Ids.DemandId), "the statement fails")
          // The next unit of work is not affected.
          yield* uow.transaction(members.insert(Rows.member()))
        })
      ),
    timeout
  )

  it.live(
    "all-or-nothing: a nested unit of work that catches a failed statement and goes on fails and rolls back to its savepoint; the enclosing unit or host transaction goes on and commits",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          const demands = yield* Persistence.DemandRepository
          for (const enclosing of ["unit of work", "host transaction"] as const) {
            const [before, inner, after] = [Rows.member(), Rows.member(), Rows.member()]
            let nested: Either.Either<string, unknown> | undefined
            const body = Effect.gen(function* () {
              yield* members.insert(before)
              nested = yield* Effect.either(
                uow.transaction(
                  Effect.gen(function* () {
                    yield* members.insert(inner)
                    const failed = yield* Effect.either(demands.findById("d\u0000" as Ids.DemandId))
                    assert.isTrue(Either.isLeft(failed), "the statement fails")
                    return "went on"
                  })
                )
              )
              yield* members.insert(after)
            })
            const result = yield* Effect.either(
              enclosing === "unit of work" ? uow.transaction(body) : sql.withTransaction(body)
            )
            assert.isTrue(Either.isRight(result), `${enclosing}: it goes on and commits`)
            assert.isTrue(
              nested !== undefined &&
                Either.isLeft(nested) &&
                nested.left instanceof Errors.InfrastructureError,
              `${enclosing}: the nested unit fails`
            )
            assert.isTrue(Option.isSome(yield* members.findById(before.id)), `${enclosing}: the write before`)
            assert.isTrue(
              Option.isNone(yield* members.findById(inner.id)),
              `${enclosing}: the nested unit's write`
            )
            assert.isTrue(Option.isSome(yield* members.findById(after.id)), `${enclosing}: the write after`)
          }
        })
      ),
    timeout
  )

  it.live(
    "all-or-nothing: a unit of work whose COMMIT PostgreSQL answers with ROLLBACK fails, and writes nothing: a host's statement that failed inside it and was caught, a statement of a fiber forked in a nested unit that failed after that unit ended; a host transaction that caught its own failed statement fails at its COMMIT",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          yield* goingOnAfter(sql`SELECT 1 / 0`, "the host's statement fails")
          const forked = Rows.member()
          let late: Either.Either<unknown, unknown> | undefined
          const result = yield* Effect.either(
            uow.transaction(
              Effect.gen(function* () {
                yield* members.insert(forked)
                const started = yield* Deferred.make<void>()
                const done = yield* Deferred.make<void>()
                yield* uow.transaction(
                  Effect.forkDaemon(
                    Deferred.await(started).pipe(
                      Effect.zipRight(Effect.either(sql`SELECT 1 / 0`)),
                      Effect.tap((e) => Effect.sync(() => (late = e))),
                      Effect.ensuring(Deferred.succeed(done, undefined))
                    )
                  )
                )
                yield* Deferred.succeed(started, undefined)
                yield* Deferred.await(done)
                return "went on"
              })
            )
          )
          assert.isTrue(late !== undefined && Either.isLeft(late), "the forked fiber's statement failed")
          assert.isTrue(
            Either.isLeft(result) && result.left instanceof Errors.InfrastructureError,
            "the unit fails instead of answering success for a rolled-back transaction"
          )
          assert.isTrue(Option.isNone(yield* members.findById(forked.id)), "nothing of the unit is written")
          const hosts = Rows.member()
          const host = yield* Effect.exit(
            sql.withTransaction(
              Effect.gen(function* () {
                yield* members.insert(hosts)
                assert.isTrue(Either.isLeft(yield* Effect.either(sql`SELECT 1 / 0`)), "the statement fails")
              })
            )
          )
          assert.isTrue(Exit.isFailure(host), "the host's transaction fails at its COMMIT")
          assert.isTrue(Option.isNone(yield* members.findById(hosts.id)), "nothing of it is written")
          // The next unit of work is not affected.
          const next = Rows.member()
          yield* uow.transaction(members.insert(next))
          assert.isTrue(Option.isSome(yield* members.findById(next.id)))
        })
      ),
    timeout
  )

  it.live(
    "EXPLAIN: the public hall and “responses submitted to me” are served by their indexes",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          yield* seed(schema)
          const db = makeDb(yield* SqlClient.SqlClient, schema)
          const hall = Demands.listStatement(
            db,
            { scope: { _tag: "public" }, sort: "published", limit: 21 },
            Demands.briefColumns
          )!
          const byDeadline = Demands.listStatement(
            db,
            {
              scope: { _tag: "public" },
              sort: "deadline",
              field: "领域7",
              after: ["2026-06-10", "d0000000"],
              limit: 21
            },
            Demands.briefColumns
          )!
          const toMe = Responses.listStatement(db, {
            scope: { _tag: "publisher", memberId: "m7" as Ids.MemberId },
            limit: 21
          })!
          const plans = {
            hall: yield* explain(hall.text, hall.values),
            byDeadline: yield* explain(byDeadline.text, byDeadline.values),
            toMe: yield* explain(toMe.text, toMe.values)
          }
          console.log(
            `public hall (${T.backend}):\n${plans.hall.text}\n\nhall by deadline and field:\n${plans.byDeadline.text}\n\nresponses submitted to me:\n${plans.toMe.text}`
          )
          assert.include(indexesOf(plans.hall.json), "demand_published", "the hall, newest first")
          assert.isTrue(
            indexesOf(plans.byDeadline.json).some((i) => i.startsWith("demand_hall_")),
            "the hall by deadline, filtered by field"
          )
          assert.include(indexesOf(plans.toMe.json), "response_publisher", "responses submitted to me")
          assert.notInclude(plans.hall.text, "Seq Scan", "no sequential scan of demands")
          assert.notInclude(plans.toMe.text, "Seq Scan", "no sequential scan of responses")
        })
      ),
    timeout
  )

  it.live(
    "EXPLAIN: §9: a member's demands by creation, publication or deadline (as publisher, as client, in either role), responses by status and the registered institutions are read from their indexes: in order, or only the rows of the status asked (few here, so sorted)",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          yield* seed(schema)
          const sql = yield* SqlClient.SqlClient
          yield* sql.unsafe(`
            INSERT INTO "${schema}".member (id, kind, name, region, registered, created_at)
              SELECT 'ti' || i, 'transfer_institution', '机构' || i, '天津市', i % 100 = 0,
                timestamptz '2026-01-01 00:00Z' + i * interval '1 minute'
              FROM generate_series(1, 5000) i;
            UPDATE "${schema}".demand SET client_id = 'm' || ((publisher_id = 'm3')::int + 3) WHERE id < 'd0005000';
            UPDATE "${schema}".response SET status = 'adopted' WHERE id LIKE '%00';
            UPDATE "${schema}".response SET status = 'withdrawn' WHERE id LIKE '%50';
            ANALYZE "${schema}".member, "${schema}".demand, "${schema}".response;
          `)
          const db = makeDb(sql, schema)
          const mine = (role: "publisher" | "client" | "any", sort: "created" | "published" | "deadline") =>
            Demands.listStatement(
              db,
              { scope: { _tag: "member", memberId: "m3" as Ids.MemberId, role }, sort, limit: 21 },
              Demands.briefColumns
            )!
          const responses = (
            scope: "publisher" | "responder",
            statuses: ReadonlyArray<"adopted" | "withdrawn">
          ) =>
            Responses.listStatement(db, {
              // m7 received 400 responses; m2 sent 20 000.
              scope: { _tag: scope, memberId: (scope === "publisher" ? "m7" : "m2") as Ids.MemberId },
              statuses,
              shown: { singleAdoption: false, overBefore: "2026-01-01" as never, selectionWindowDays: 14 },
              limit: 21
            })!
          const cases = [
            ["my demands by publication", mine("publisher", "published"), "demand_publisher_published", true],
            ["my demands by deadline", mine("publisher", "deadline"), "demand_publisher_deadline", true],
            [
              "demands I am the client of, by publication",
              mine("client", "published"),
              "demand_client_published"
            ],
            [
              "demands I am the client of, by deadline",
              mine("client", "deadline"),
              "demand_client_deadline",
              true
            ],
            [
              "responses submitted to me, adopted",
              responses("publisher", ["adopted"]),
              "response_publisher_status"
            ],
            [
              "my responses, withdrawn",
              responses("responder", ["withdrawn"]),
              "response_responder_status",
              false
            ],
            [
              "registered institutions",
              Parties.memberListStatement(db, { kind: "transfer_institution", registered: true, limit: 21 })!,
              "member_registered",
              true
            ]
          ] as const
          // In either role (the default): one ordered read per role, then their first rows merged.
          for (const sort of ["created", "published", "deadline"] as const) {
            const statement = mine("any", sort)
            const plan = yield* explain(statement.text, statement.values)
            const indexes = indexesOf(plan.json)
            const suffix = sort === "created" ? "" : `_${sort}`
            assert.includeMembers(
              indexes,
              [`demand_publisher${suffix}`, `demand_client${suffix}`],
              `any, ${sort}:\n${plan.text}`
            )
            assert.notInclude(plan.text, "Seq Scan", `any, ${sort}:\n${plan.text}`)
            assert.notInclude(
              plan.text,
              "Bitmap",
              `any, ${sort}: no bitmap read of every demand of the member:\n${plan.text}`
            )
          }
          for (const [name, statement, index, ordered] of cases) {
            const plan = yield* explain(statement.text, statement.values)
            assert.include(indexesOf(plan.json), index, `${name}:\n${plan.text}`)
            assert.notInclude(plan.text, "Seq Scan", `${name}: no sequential scan:\n${plan.text}`)
            if (ordered) assert.notInclude(plan.text, "Sort", `${name}: no sort:\n${plan.text}`)
          }
        })
      ),
    timeout
  )

  it.live(
    "EXPLAIN: R25: the sweeper's two lists are served by their partial indexes, the rounds of each mode taking responses in order past the institution-served ones, in the generic plan a prepared statement settles on too (states written as literals, one text per set of states)",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          yield* seed(schema)
          const sql = yield* SqlClient.SqlClient
          // Most rounds past their window ended; a few still open, some of those with responses.
          yield* sql.unsafe(`
            UPDATE "${schema}".demand SET selection_ended_at = now()
              WHERE state = 'published' AND response_deadline < date '2026-07-20' AND right(id, 2) <> '01';
            UPDATE "${schema}".demand SET response_count = 2 WHERE right(id, 3) IN ('101', '301', '501');
            -- Institution-served demands take no responses: nothing ends their selection.
            UPDATE "${schema}".demand SET service_mode = 'institution_service', selection_ended_at = NULL
              WHERE state = 'published' AND right(id, 1) = '7';
            ANALYZE "${schema}".demand;
          `)
          const db = makeDb(sql, schema)
          const query = {
            scope: { _tag: "all" },
            sort: "deadline",
            states: ["published"],
            selectionOpen: true,
            // The sweep's shape (core's Sweeper): R23's window over by each round's days.
            windowOver: { overBefore: "2026-07-11" as Deadline.LocalDate, selectionWindowDays: 14 },
            deadlineTo: "2026-07-10" as Deadline.LocalDate,
            limit: 100
          } as const
          const taking = Demands.listStatement(db, { ...query, serviceModes: ["cooperative"] }, "d.id")!
          const takingTwo = Demands.listStatement(
            db,
            { ...query, serviceModes: ["cooperative", "expert_service"] },
            "d.id"
          )!
          const responded = Demands.listStatement(db, { ...query, hasResponses: true }, "d.id")!
          const textOf = (states: ReadonlyArray<Demand.DemandState>) =>
            Demands.listStatement(db, { ...query, states }, "d.id")!.text
          assert.strictEqual(
            textOf(["solved", "published", "solved"]),
            textOf(["published", "solved"]),
            "one text per set of states, whatever their order and repeats (prepared statements stay few)"
          )
          const sweep = {
            taking: yield* preparedPlans("sweep_taking", taking),
            takingTwo: yield* preparedPlans("sweep_taking_two", takingTwo),
            responded: yield* preparedPlans("sweep_responded", responded)
          }
          console.log(`the sweeper's lists (${T.backend}): indexes ${JSON.stringify(indexesOf(sweep))}`)
          for (const plan of [sweep.taking.custom, sweep.taking.generic]) {
            assert.deepStrictEqual(
              indexesOf(plan),
              ["demand_selection_mode"],
              "rounds of the modes taking responses"
            )
            assert.notInclude(
              JSON.stringify(plan),
              '"Sort"',
              "in the index's order: the institution-served rounds are not read and sorted away"
            )
          }
          for (const plan of [sweep.takingTwo.custom, sweep.takingTwo.generic]) {
            assert.deepStrictEqual(
              indexesOf(plan),
              ["demand_selection_mode", "demand_selection_mode"],
              "two modes: one ordered read of each"
            )
          }
          for (const plan of [sweep.responded.custom, sweep.responded.generic]) {
            assert.include(indexesOf(plan), "demand_selection_responded", "rounds holding responses")
          }
          assert.notInclude(JSON.stringify(sweep), "Seq Scan", "no sequential scan of demands")
        })
      ),
    timeout
  )

  it.live(
    "EXPLAIN: §9: the hall's demands taking responses are read newest first from their own index, on the first page and deep after a cursor, never past the ones swept or served by institutions, in the custom and the generic plan",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          yield* seed(schema)
          const sql = yield* SqlClient.SqlClient
          // Today is 2026-07-01. Rounds due before 2026-06-20 were swept; institution-served
          // demands take no responses and nothing closes their intake.
          yield* sql.unsafe(`
            UPDATE "${schema}".demand SET intake_closed_at = now(), selection_ended_at = now()
              WHERE state = 'published' AND response_deadline < date '2026-06-20';
            UPDATE "${schema}".demand
              SET service_mode = 'institution_service', intake_closed_at = NULL, selection_ended_at = NULL
              WHERE state = 'published' AND right(id, 1) IN ('3', '7');
            ANALYZE "${schema}".demand;
          `)
          const db = makeDb(sql, schema)
          // The query of `Lists.hall` with `takingResponses`.
          const taking = {
            scope: { _tag: "public" },
            sort: "published",
            states: ["published"],
            deadlineFrom: "2026-07-01" as Deadline.LocalDate,
            intakeOpen: true,
            serviceModes: ["cooperative"],
            limit: 21
          } as const
          const first = Demands.listStatement(db, taking, Demands.briefColumns)!
          const deep = Demands.listStatement(
            db,
            { ...taking, after: [Date.parse("2026-01-02T00:00:00Z"), "d0001440"] },
            Demands.briefColumns
          )!
          const hall = {
            first: yield* preparedPlans("hall_taking_first", first),
            deep: yield* preparedPlans("hall_taking_deep", deep)
          }
          console.log(`the hall taking responses (${T.backend}): indexes ${JSON.stringify(indexesOf(hall))}`)
          for (const plan of [hall.first.custom, hall.first.generic, hall.deep.custom, hall.deep.generic]) {
            assert.deepStrictEqual(indexesOf(plan), ["demand_hall_taking"])
            assert.notInclude(JSON.stringify(plan), '"Sort"', "in the index's order")
          }
        })
      ),
    timeout
  )

  it.live(
    "EXPLAIN: R4: a client's trails without response and thread events are served by their partial indexes",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          // One demand with 30 000 consultation events done on its client m2's behalf and
          // 30 of its own, beside 30 000 events of 300 other demands; each event has a
          // row for the client and one for the responder m3.
          yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql.unsafe(`
              INSERT INTO "${schema}".audit_event (id, at, actor_account_id, actor_member_id, on_behalf_of,
                  entity, entity_id, demand_id, members, action)
                SELECT 'e' || lpad(i::text, 6, '0'), timestamptz '2026-01-01 00:00Z' + i * interval '1 second',
                  'a3', 'm3', 'm2', CASE WHEN i % 1000 = 0 THEN 'demand' ELSE 'thread' END, 'x' || i, 'd0000001',
                  ARRAY['m2', 'm3'], 'thread.message'
                FROM generate_series(1, 30000) i
                UNION ALL
                SELECT 'f' || lpad(i::text, 6, '0'), timestamptz '2026-01-01 00:00Z' + i * interval '1 second',
                  'a4', 'm4', NULL, 'demand', 'd' || (i % 300 + 2), 'd' || lpad((i % 300 + 2)::text, 7, '0'),
                  ARRAY['m4'], 'demand.updated'
                FROM generate_series(1, 30000) i;
              INSERT INTO "${schema}".audit_event_member (member_id, at, event_id, shared)
                SELECT x, e.at, e.id, NOT (e.entity IN ('response', 'thread') AND e.on_behalf_of = x)
                FROM "${schema}".audit_event e, unnest(e.members) AS x;
              ANALYZE "${schema}".audit_event, "${schema}".audit_event_member;
            `)
          )
          const db = makeDb(yield* SqlClient.SqlClient, schema)
          const hide = { entities: Access.responsePrivateEntities }
          const demandTrail = Records.auditListStatement(db, {
            demandId: "d0000001" as Ids.DemandId,
            hide,
            limit: 21
          })!
          const memberTrail = Records.auditListStatement(db, {
            memberId: "m2" as Ids.MemberId,
            hide: { ...hide, onBehalfOf: "m2" as Ids.MemberId },
            limit: 21
          })!
          // A demand's trail filtered by a member with 30 000 events on 300 demands (§9).
          const demandAndMember = Records.auditListStatement(db, {
            demandId: "d0000002" as Ids.DemandId,
            memberId: "m4" as Ids.MemberId,
            limit: 21
          })!
          const plans = {
            demand: yield* explain(demandTrail.text, demandTrail.values),
            member: yield* explain(memberTrail.text, memberTrail.values),
            demandAndMember: yield* explain(demandAndMember.text, demandAndMember.values)
          }
          console.log(
            `a demand's trail as its client reads it (${T.backend}):\n${plans.demand.text}\n\nthe client's own trail:\n${plans.member.text}`
          )
          assert.include(indexesOf(plans.demand.json), "audit_event_demand_shared", "the demand's trail")
          assert.include(indexesOf(plans.member.json), "audit_event_member_shared", "the client's own trail")
          assert.include(
            indexesOf(plans.demandAndMember.json),
            "audit_event_demand",
            `a demand's trail filtered by a member is read from the demand's side:\n${plans.demandAndMember.text}`
          )
          for (const plan of [plans.demand.text, plans.member.text, plans.demandAndMember.text]) {
            assert.notInclude(plan, "Seq Scan", "no sequential scan of the trail")
            assert.notInclude(plan, "Sort", "rows come in the order of the index")
          }
          // The statements answer what R4 lets the client see: the demand's own events.
          const sql = yield* SqlClient.SqlClient
          const seen = yield* sql.unsafe<{ entity: string }>(
            demandTrail.text,
            demandTrail.values as Array<unknown>
          )
          assert.lengthOf(seen, 21)
          assert.isTrue(seen.every((r) => r.entity === "demand"))
          const own = yield* sql.unsafe<{ id: string }>(
            memberTrail.text,
            memberTrail.values as Array<unknown>
          )
          assert.deepStrictEqual(
            own.map((r) => r.id),
            Array.from({ length: 21 }, (_, i) => `e${String((30 - i) * 1000).padStart(6, "0")}`)
          )
          const both = yield* sql.unsafe<{ id: string }>(
            demandAndMember.text,
            demandAndMember.values as Array<unknown>
          )
          assert.deepStrictEqual(
            both.map((r) => r.id),
            Array.from({ length: 21 }, (_, i) => `f${String(30000 - i * 300).padStart(6, "0")}`),
            "the demand's 21 newest events, each naming the member"
          )
        })
      ),
    timeout
  )

  it.live(
    "§9: a crafted cursor (a control character, an instant or date PostgreSQL cannot hold) answers an empty page, not a failure",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const demands = yield* Persistence.DemandRepository
          const audit = yield* Persistence.AuditRepository
          const { m, a } = yield* memberWithAccount()
          yield* demands.insert(Rows.published(m.id, a.id, 1))
          const page = (sort: "published" | "deadline", after: ReadonlyArray<string | number | null>) =>
            demands.list({ scope: { _tag: "public" }, sort, after, limit: 20 })
          assert.lengthOf(yield* page("published", [Date.now() + 1000, "z"]), 1, "a cursor before the row")
          for (const after of [
            [-8.64e15, "x"],
            [8.64e15, "x"],
            [Date.now() + 1000, "\u0000"]
          ] as const) {
            assert.lengthOf(yield* page("published", after), 0, JSON.stringify(after))
          }
          for (const after of [
            ["2024-02-31", "x"],
            ["0000-01-01", "x"],
            ["2999-01-01", "a\u0000"]
          ] as const) {
            assert.lengthOf(yield* page("deadline", after), 0, JSON.stringify(after))
          }
          assert.lengthOf(yield* audit.list({ memberId: m.id, after: [-8.64e15, "x"], limit: 20 }), 0)
        })
      ),
    timeout
  )

  it.live(
    "keyword search in Chinese: substrings of one, two and more characters, in titles, summaries and keywords",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const demands = yield* Persistence.DemandRepository
          const { m, a } = yield* memberWithAccount()
          const forms = [
            Rows.form({ title: "石墨烯散热膜量产工艺", keywords: ["石墨烯", "散热"] }),
            Rows.form({ title: "车规级芯片封装测试", keywords: ["芯片"] }),
            Rows.form({
              title: "固态电池电解质中试",
              summary: {
                mainProblem: "界面阻抗高",
                keyTechnology: "硫化物电解质",
                expectedGoal: "能量密度提升50%"
              },
              keywords: ["储能"]
            }),
            Rows.form({ title: "锂电池回收利用", keywords: ["回收"] }),
            Rows.form({
              title: "OLED 驱动IC国产化",
              summary: { mainProblem: "依赖进口芯片", keyTechnology: "显示驱动", expectedGoal: "量产" },
              keywords: ["显示"]
            }),
            Rows.form({ title: "玉米抗旱品种选育", keywords: ["育种"] })
          ]
          const rows = forms.map((form, i) => Rows.published(m.id, a.id, i + 1, { form }))
          for (const d of rows) yield* demands.insert(d)
          const search = (keyword: string) =>
            Effect.map(
              demands.list({ scope: { _tag: "public" }, sort: "published", keyword, limit: 100 }),
              (found) => found.map((d) => d.form.title).sort()
            )
          const expected = (keyword: string) =>
            rows
              .filter((d) => Demand.searchText(d.form).includes(keyword))
              .map((d) => d.form.title)
              .sort()
          for (const keyword of [
            "石墨烯",
            "芯片",
            "电池",
            "电",
            "电解质",
            "储能",
            "oled",
            "50%",
            "_",
            "驱动ic",
            "不存在"
          ]) {
            assert.deepStrictEqual(yield* search(keyword), expected(keyword), `keyword ${keyword}`)
          }
          assert.deepStrictEqual(yield* search("芯片"), ["OLED 驱动IC国产化", "车规级芯片封装测试"])
          assert.deepStrictEqual(yield* search("电池"), ["固态电池电解质中试", "锂电池回收利用"])
          assert.deepStrictEqual(yield* search("石墨烯"), ["石墨烯散热膜量产工艺"])
          assert.deepStrictEqual(
            yield* search("50%"),
            ["固态电池电解质中试"],
            "% is a character, not a wildcard"
          )
          const edited = { ...rows[0]!, form: Rows.form({ title: "碳纤维复合材料" }), version: 2 }
          yield* demands.update(edited)
          assert.deepStrictEqual(yield* search("石墨烯"), [], "an update re-indexes the text")
          assert.deepStrictEqual(yield* search("碳纤维"), ["碳纤维复合材料"])
        })
      ),
    timeout
  )

  it.live(
    "statements: through @effect/sql's Statement with tracing on; with tracing off, straight to the transaction's connection in a unit of work and to the pool outside one; the same rows either way",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          let seen = 0
          const counted = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
            Statement.withTransformer(effect, (statement) => {
              seen++
              return Effect.succeed(statement)
            })
          const write = () => {
            const a = Rows.member()
            const b = Rows.member()
            return Effect.as(uow.transaction(Effect.zipRight(members.insert(a), members.insert(b))), [
              a,
              b
            ] as const)
          }
          const traced = yield* counted(write())
          assert.strictEqual(seen, 2, "two statements through Statement")
          seen = 0
          const untraced = yield* counted(Effect.withTracerEnabled(write(), false))
          assert.strictEqual(seen, 0, "no statement through Statement")
          for (const m of [...traced, ...untraced]) {
            seen = 0
            assert.deepStrictEqual(Option.getOrThrow(yield* counted(members.findById(m.id))), m)
            assert.strictEqual(seen, 1, "a read outside a unit of work, traced: through Statement")
            seen = 0
            const read = yield* counted(Effect.withTracerEnabled(members.findById(m.id), false))
            assert.deepStrictEqual(Option.getOrThrow(read), m)
            assert.strictEqual(seen, 0, "untraced: on the pool PgDatabase made")
          }
          const refused = yield* Effect.withTracerEnabled(
            Expect.failureOf(uow.transaction(members.insert(traced[0]))),
            false
          )
          assert.instanceOf(
            refused,
            Errors.UniqueViolation,
            "a unique violation still maps to the port's error"
          )
        })
      ),
    timeout
  )

  it.live(
    "a demand's update writes its form and search columns unless it carries, for its next version, the form read for it (frozen): by id, locked, or locked with a response",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const demands = yield* Persistence.DemandRepository
          const responses = yield* Persistence.ResponseRepository
          const { m, a } = yield* memberWithAccount()
          const { m: institute, a: expert } = yield* memberWithAccount({
            kind: "research_institute",
            name: "研究所"
          })
          const one = Rows.published(m.id, a.id, 1, { form: Rows.form({ title: "石墨烯散热膜量产工艺" }) })
          const two = Rows.published(m.id, a.id, 2, { form: Rows.form({ title: "车规级芯片封装测试" }) })
          yield* demands.insert(one)
          yield* demands.insert(two)
          const updates: Array<string> = []
          const update = (d: Demand.Demand) =>
            Statement.withTransformer(demands.update(d), (statement) => {
              const [text] = statement.compile()
              if (text.includes("UPDATE")) updates.push(text)
              return Effect.succeed(statement)
            })
          const writesForm = () => {
            assert.strictEqual(updates.length, 1, "one update statement")
            return updates.pop()!.includes("search_grams")
          }
          const search = (keyword: string) =>
            Effect.map(
              demands.list({ scope: { _tag: "public" }, sort: "published", keyword, limit: 10 }),
              (found) => found.map((d) => d.id).sort()
            )
          const locked = (id: Ids.DemandId) => Effect.map(demands.findByIdForUpdate(id), Option.getOrThrow)
          const next = (d: Demand.Demand, changes: Partial<Demand.Demand> = {}) => ({
            ...d,
            responseCount: d.responseCount + 1,
            ...changes,
            version: d.version + 1
          })

          const first = yield* locked(one.id)
          assert.throws(() => {
            ;(first.form as { title: string }).title = "改在原处"
          }, TypeError)
          assert.throws(() => {
            ;(first.form.keywords as Array<string>).push("原处")
          }, TypeError)
          yield* update(next(first))
          assert.isFalse(writesForm(), "the form it was read with: only the life columns")
          assert.deepStrictEqual(Option.getOrThrow(yield* demands.findById(one.id)), next(first))
          assert.deepStrictEqual(yield* search("石墨烯"), [one.id], "the search columns are kept")

          const byId = Option.getOrThrow(yield* demands.findById(one.id))
          yield* update(next(byId))
          assert.isFalse(writesForm(), "read by id: only the life columns")

          const response = {
            id: "r-form" as Ids.ResponseId,
            demandId: two.id,
            demandPublisherId: m.id,
            round: 1,
            responderId: institute.id,
            responderAccountId: expert.id,
            proposal: { title: "方案", content: "内容" },
            status: "submitted" as const,
            feedback: null,
            submittedAt: Rows.at(10),
            updatedAt: Rows.at(10),
            adoptedAt: null,
            version: 1
          }
          yield* responses.insert(response)
          const findWith = responses.findWithDemandForUpdate
          if (findWith === undefined) return assert.fail("adapter-pg has findWithDemandForUpdate")
          const withResponse = Option.getOrThrow(yield* findWith(response.id))
          yield* update(next(withResponse.demand))
          assert.isFalse(writesForm(), "read locked with a response: only the life columns")

          const before = yield* locked(one.id)
          const edited = next(before, { form: { ...before.form, title: "碳纤维复合材料" } })
          yield* update(edited)
          assert.isTrue(writesForm(), "a new form: the form and its search columns")
          assert.deepStrictEqual(yield* search("石墨烯"), [])
          assert.deepStrictEqual(yield* search("碳纤维"), [one.id])

          const current = yield* locked(one.id)
          yield* update(next(current, { form: before.form }))
          assert.isTrue(writesForm(), "a form read at an older version: written in full")
          assert.deepStrictEqual(yield* search("碳纤维"), [], "the form written back is searched again")
          assert.deepStrictEqual(yield* search("石墨烯"), [one.id])

          const other = yield* locked(two.id)
          const readAsOne = (yield* locked(one.id)).form
          yield* update(next(other, { form: readAsOne }))
          assert.isTrue(writesForm(), "a form read as another demand: written in full")
          assert.deepStrictEqual(yield* search("石墨烯"), [one.id, two.id].sort())
          assert.deepStrictEqual(yield* search("芯片"), [])

          const stale = yield* locked(one.id)
          yield* update(next(stale, { form: { ...stale.form, title: "固态电池电解质中试" } }))
          assert.isTrue(writesForm())
          const refused = yield* Expect.failureOf(update(next(stale)))
          assert.isFalse(writesForm(), "the form it was read with, but the row moved on")
          assert.instanceOf(refused, Errors.StaleWrite, "the version guard refuses it: the row's text stays")
          assert.deepStrictEqual(yield* search("电解质"), [one.id])
        })
      ),
    timeout
  )

  it.live(
    "a refused insert (UniqueViolation) leaves the unit of work usable; its other writes commit",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          const first = Rows.member()
          const second = Rows.member()
          const refused = yield* uow.transaction(
            Effect.gen(function* () {
              yield* members.insert(first)
              const twin = yield* Expect.failureOf(members.insert({ ...first, name: "另一家" }))
              yield* members.insert(second)
              return twin
            })
          )
          assert.instanceOf(refused, Errors.UniqueViolation)
          assert.isTrue(Option.isSome(yield* members.findById(first.id)))
          assert.isTrue(Option.isSome(yield* members.findById(second.id)))
        })
      ),
    timeout
  )

  it.live(
    "a demand number taken by a concurrent, uncommitted transaction → UniqueViolation once it commits",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const uow = yield* Persistence.UnitOfWork
          const demands = yield* Persistence.DemandRepository
          const { m, a } = yield* memberWithAccount()
          const draft = (i: number) =>
            Rows.published(m.id, a.id, i, { state: "pending_review", number: null, firstPublishedAt: null })
          const one = draft(1)
          const two = draft(2)
          yield* demands.insert(one)
          yield* demands.insert(two)
          const numbered = (d: Demand.Demand) => ({
            ...d,
            state: "published" as const,
            number: "ZB20260001",
            version: 2
          })
          const written = yield* Deferred.make<void>()
          const go = yield* Deferred.make<void>()
          const holder = yield* Effect.fork(
            uow.transaction(
              Effect.gen(function* () {
                yield* demands.update(numbered(one))
                yield* Deferred.succeed(written, undefined)
                yield* Deferred.await(go)
              })
            )
          )
          yield* Deferred.await(written)
          const rival = yield* Effect.fork(Effect.either(uow.transaction(demands.update(numbered(two)))))
          yield* Effect.sleep("300 millis")
          yield* Deferred.succeed(go, undefined)
          yield* Fiber.join(holder)
          const result = yield* Fiber.join(rival)
          assert.isTrue(Either.isLeft(result), "the rival update is refused")
          assert.instanceOf(Either.getLeft(result).pipe(Option.getOrUndefined), Errors.UniqueViolation)
          assert.strictEqual(Option.getOrThrow(yield* demands.findById(two.id)).number, null)
        })
      ),
    timeout
  )

  it.live(
    "a failing statement is an InfrastructureError whose message names the operation, never the SQL; the cause keeps the SQLSTATE",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const members = yield* Persistence.MemberRepository
          const demands = yield* Persistence.DemandRepository
          yield* sql.unsafe(`ALTER TABLE "${schema}".demand RENAME TO demand_elsewhere`)
          const errors = [
            yield* Expect.failureOf(demands.findById("d-1" as Ids.DemandId)),
            yield* Expect.failureOf(
              demands.list({ scope: { _tag: "public" }, sort: "published", keyword: "芯片", limit: 5 })
            ),
            yield* Expect.failureOf(
              demands.insert(Rows.published("m" as Ids.MemberId, "a" as Ids.AccountId, 1))
            )
          ]
          for (const error of errors) {
            assert.instanceOf(error, Errors.InfrastructureError)
            const infrastructure = error as Errors.InfrastructureError
            assert.strictEqual(infrastructure.port, "DemandRepository")
            assert.match(infrastructure.message, /^DemandRepository\.\w+: /)
            const shown = JSON.stringify(Schema.encodeSync(Errors.InfrastructureError)(infrastructure))
            for (const leak of ["SELECT", "INSERT", " FROM ", "WHERE", "$1", schema, "search_text", "芯片"]) {
              assert.notInclude(infrastructure.message, leak, `message: ${leak}`)
              assert.notInclude(shown, leak, `encoded: ${leak}`)
            }
            assert.instanceOf(infrastructure.cause, SqlError.SqlError, "the cause is kept for logs")
            assert.strictEqual(
              (infrastructure.cause as SqlError.SqlError & { cause: { code: string } }).cause.code,
              "42P01"
            )
          }
          assert.isTrue(
            Option.isNone(yield* members.findById("m" as Ids.MemberId)),
            "other tables still answer"
          )
        })
      ),
    timeout
  )

  it.live(
    "R64: a row the database refuses is not quoted in the error: the cause's detail, which logs print whole, is withheld, its SQLSTATE and constraint kept; inside a unit of work too",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const members = yield* Persistence.MemberRepository
          const accounts = yield* Persistence.AccountRepository
          const uow = yield* Persistence.UnitOfWork
          const m = Rows.member()
          yield* members.insert(m)
          const refused = Rows.account(m.id)
          const digits = refused.phone.slice(3)
          yield* sql.unsafe(
            `ALTER TABLE "${schema}".account ADD CONSTRAINT probe_phone CHECK (phone <> '${refused.phone}') NOT VALID`
          )
          const errors = [
            yield* Expect.failureOf(accounts.insert(refused)),
            yield* Expect.failureOf(uow.transaction(accounts.insert(refused)))
          ]
          for (const error of errors) {
            assert.instanceOf(error, Errors.InfrastructureError)
            const cause = (error as Errors.InfrastructureError).cause as SqlError.SqlError & {
              cause: { code: string; constraint: string; detail: string }
            }
            assert.strictEqual(cause.cause.code, "23514", "the SQLSTATE is kept")
            assert.strictEqual(cause.cause.constraint, "probe_phone", "the constraint is kept")
            assert.notInclude(cause.cause.detail, digits, "the detail does not quote the row")
            assert.notInclude(inspect(error, { depth: 10 }), digits, "nothing a log prints quotes the phone")
          }
        })
      ),
    timeout
  )

  it.effect(
    "a unit of work interrupted while its statement runs rolls back, without hanging (under effect's TestClock)",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          const m = Rows.member()
          const fiber = yield* Effect.fork(
            uow.transaction(
              Effect.gen(function* () {
                yield* members.insert(m)
                yield* sql.unsafe("SELECT pg_sleep(1)")
              })
            )
          )
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 300)))
          const started = Date.now()
          yield* Fiber.interrupt(fiber)
          // PostgreSQL cancels the statement; PGlite (which cannot) lets it finish.
          assert.isBelow(Date.now() - started, 5_000, "the interruption completes")
          assert.isTrue(Option.isNone(yield* members.findById(m.id)), "the insert is rolled back")
          yield* members.insert(m)
        })
      ),
    timeout
  )

  it.live(
    "a pool exhausted past its connect timeout answers an InfrastructureError, not a hang",
    () => {
      const schema = T.freshSchema("zbp")
      return Effect.gen(function* () {
        const uow = yield* Persistence.UnitOfWork
        const members = yield* Persistence.MemberRepository
        const m = Rows.member()
        yield* members.insert(m)
        const holding = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(
          uow.transaction(
            Effect.gen(function* () {
              yield* members.findById(m.id)
              yield* Deferred.succeed(holding, undefined)
              yield* Deferred.await(release)
            })
          )
        )
        yield* Deferred.await(holding)
        const started = Date.now()
        const result = yield* Effect.either(members.findById(m.id)).pipe(Effect.timeout("20 seconds"))
        const waited = Date.now() - started
        assert.isTrue(Either.isLeft(result), "the statement fails")
        const error = Either.getLeft(result).pipe(Option.getOrThrow)
        assert.instanceOf(error, Errors.InfrastructureError)
        assert.strictEqual(
          error.message,
          "MemberRepository.findById: no database connection could be used in time"
        )
        assert.strictEqual(error.unavailable, true, "the database is out of reach for the moment")
        assert.isAtLeast(waited, 250, "it waited for the connect timeout")
        assert.isBelow(waited, 10_000, "and not much longer")
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)
        assert.isTrue(
          Option.isSome(yield* members.findById(m.id)),
          "the pool serves again once a connection is free"
        )
      }).pipe(
        Effect.provide(
          T.portsWith(schema, T.clientLayer(T.backend, { maxConnections: 1, connectTimeout: "300 millis" }), {
            drop: onPostgres
          })
        )
      )
    },
    timeout
  )

  it.live(
    "R60: the audit trail is append-only in the database: an UPDATE or a DELETE of an event or of its member rows is refused, and the event stays as written",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const audit = yield* Persistence.AuditRepository
          const memberId = Ids.make<Ids.MemberId>()
          const event: Audit.AuditEvent = {
            id: Ids.make<Ids.AuditEventId>(),
            at: Rows.at(1),
            actorAccountId: Ids.make<Ids.AccountId>(),
            actorMemberId: memberId,
            onBehalfOf: null,
            entity: "member",
            entityId: memberId,
            demandId: null,
            members: [memberId],
            action: "institution_profile.saved",
            before: null,
            after: "天津技术转移中心",
            reason: null
          }
          yield* audit.append(event)
          for (const statement of [
            `UPDATE "${schema}".audit_event SET action = 'tampered'`,
            `UPDATE "${schema}".audit_event SET members = '{}'`,
            `DELETE FROM "${schema}".audit_event`,
            `UPDATE "${schema}".audit_event_member SET member_id = 'someone'`,
            `DELETE FROM "${schema}".audit_event_member`
          ]) {
            const error = yield* Expect.failureOf(sql.unsafe(statement))
            assert.include(
              String((error as SqlError.SqlError).cause),
              "R60: the audit trail is append-only",
              statement
            )
          }
          assert.deepStrictEqual(yield* audit.list({ memberId, limit: 10 }), [event])
          assert.deepStrictEqual(yield* audit.list({ limit: 10 }), [event])
        })
      ),
    timeout
  )

  it.live(
    "migrate: false on a schema not migrated this far (a new database, a misspelt schema, an older migration): building the layer is refused, naming the schema and its last migration; on one migrated, it builds",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const build = (name: string) =>
            Effect.scoped(Layer.build(PgPersistence.layer({ schema: name, migrate: false })))
          const latest = Math.max(
            ...Object.keys(PgMigrations.migrations(schema, "public")).map((key) => Number.parseInt(key, 10))
          )
          assert.strictEqual(PgMigrations.latest, latest)
          yield* build(schema)
          const badName = yield* Expect.failureOf(PgMigrations.check({ schema: 'a"; DROP SCHEMA x; --' }))
          assert.include(badName.message, "lower-case identifier")
          const never = T.freshSchema("zbn")
          const missing = yield* Expect.failureOf(build(never))
          assert.instanceOf(missing, Errors.InfrastructureError)
          assert.include(
            missing.message,
            `the schema "${never}" is not migrated (its last migration 0, this version's ${latest})`
          )
          yield* sql.unsafe(`DELETE FROM "${schema}".effect_sql_migrations WHERE migration_id = ${latest}`)
          const older = yield* Expect.failureOf(build(schema))
          assert.include(
            older.message,
            `the schema "${schema}" is not migrated (its last migration ${latest - 1}, this version's ${latest})`
          )
        })
      ),
    timeout
  )

  it.live(
    "schemas: each has its own tables and migrations table; migrating twice runs nothing; a bad name is refused",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          assert.deepStrictEqual(yield* PgMigrations.run({ schema }), [], "a migrated schema runs nothing")
          const applied = yield* sql.unsafe<{ migration_id: number; name: string }>(
            `SELECT migration_id, name FROM "${schema}".effect_sql_migrations ORDER BY migration_id`
          )
          assert.deepStrictEqual(
            applied.map((r) => `${r.migration_id}_${r.name}`),
            Object.keys(PgMigrations.migrations(schema, "public"))
          )
          const bad = "Robert'); DROP TABLE x;--"
          // A schema of that name left by an earlier run that made it would hide a refusal now.
          yield* sql.unsafe(`DROP SCHEMA IF EXISTS "${bad.replaceAll('"', '""')}" CASCADE`)
          const error = yield* Expect.failureOf(PgMigrations.run({ schema: bad }))
          assert.instanceOf(error, Errors.InfrastructureError)
          const created = yield* sql.unsafe<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1",
            [bad]
          )
          assert.strictEqual(created[0]?.n, 0, "refused before any statement: no such schema made")
          const members = yield* Persistence.MemberRepository
          yield* members.insert(Rows.member())
          const other = T.freshSchema("zbo")
          const counts = yield* Effect.gen(function* () {
            const inOther = yield* Persistence.MemberRepository
            return (yield* inOther.list({ limit: 10 })).length
          }).pipe(Effect.provide(T.portsIn(other, shared, { drop: onPostgres })))
          assert.strictEqual(counts, 0, "another schema of the same database is empty")
          assert.strictEqual((yield* members.list({ limit: 10 })).length, 1)
        })
      ),
    timeout
  )

  it("R63: a failed COMMIT's outcome is unknown when no answer came, or a connection exception (08) or an operator intervention (57) did; any other answer rolled it back", () => {
    const answered = (code: unknown) =>
      commitOutcomeUnknown(new SqlError.SqlError({ cause: { code, message: "x" }, message: "COMMIT" }))
    for (const code of ["08006", "08003", "57P01", "57P02", "57014", undefined])
      assert.isTrue(answered(code), `${code}: unknown`)
    for (const code of ["40001", "40P01", "23505", "25P02", "42P01", "53300"])
      assert.isFalse(answered(code), `${code}: rolled back`)
    const lost = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", errno: -104 })
    assert.isTrue(
      commitOutcomeUnknown(new SqlError.SqlError({ cause: lost, message: "COMMIT" })),
      "the connection lost: no answer"
    )
  })

  it("§errors: a failure is unavailable when the database is out of reach for the moment (not reached, connection lost, none free, shutting down or starting), not when a request or the client is at fault", () => {
    const failed = (cause: unknown) =>
      infrastructure("MemberRepository.findById", new SqlError.SqlError({ cause, message: "x" })).unavailable
    const state = (code: string) => failed({ code, message: "x" })
    for (const code of ["08000", "08001", "08003", "08004", "08006", "57P01", "57P02", "57P03", "53300"])
      assert.isTrue(state(code), `${code}: out of reach`)
    for (const code of ["08P01", "08007", "57014", "40001", "23505", "25P02", "42P01"])
      assert.isUndefined(state(code), `${code}: not for a retry later`)
    const system = (code: string) =>
      Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -1 })
    for (const code of ["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ECONNRESET"])
      assert.isTrue(failed(system(code)), code)
    assert.isTrue(failed(new Error("timeout exceeded when trying to connect")), "no connection free in time")
    assert.isTrue(failed(new Error("Connection terminated unexpectedly")), "the connection lost")
    assert.isUndefined(
      failed(new Error("Client has already been connected. You cannot reuse a client.")),
      "a client's misuse"
    )
  })

  it.live(
    "a host's own statement that fails inside a unit of work fails it with its own SqlError, as the unit's own failure is kept",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const uow = yield* Persistence.UnitOfWork
          const sql = yield* SqlClient.SqlClient
          const failed = yield* Expect.failureOf(uow.transaction(sql.unsafe("SELECT 1/0")))
          assert.instanceOf(failed, SqlError.SqlError)
          assert.strictEqual(
            (failed as SqlError.SqlError & { cause: { code: string } }).cause.code,
            "22012",
            "division by zero"
          )
        })
      ),
    timeout
  )

  it.live(
    "R54: a stored file's bytes come back as a Uint8Array of their own (not a view into Node's shared buffer pool), as they were put",
    () =>
      withSchema(() =>
        Effect.gen(function* () {
          const store = yield* FileStore.FileStore
          const { m } = yield* memberWithAccount()
          const bytes = new TextEncoder().encode("%PDF-1.7\n小文件\n%%EOF\n")
          const file = pdfRow(m.id, "a.pdf", bytes.length)
          yield* store.put(file, bytes)
          const got = Option.getOrThrow(yield* store.get(file.id)).bytes
          assert.strictEqual(Object.getPrototypeOf(got), Uint8Array.prototype, "not a Buffer")
          assert.strictEqual(got.byteOffset, 0)
          assert.strictEqual(got.buffer.byteLength, got.length, "its ArrayBuffer holds these bytes only")
          assert.deepStrictEqual([...got], [...bytes])
        })
      ),
    timeout
  )

  it.live(
    "R54: a large file whose stored bytes are shorter than its recorded size fails get and read (sliced) with an InfrastructureError, never served padded with zeros",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const store = yield* FileStore.FileStore
          const { m } = yield* memberWithAccount()
          const bytes = new Uint8Array(sliceBytes + 10).fill(0x25)
          const file = pdfRow(m.id, "large.pdf", bytes.length)
          yield* store.put(file, bytes)
          yield* sql.unsafe(`ALTER TABLE "${schema}".stored_file DROP CONSTRAINT stored_file_size_check`)
          yield* sql.unsafe(
            `UPDATE "${schema}".stored_file SET bytes = substring(bytes FROM 1 FOR ${bytes.length - 4}) WHERE id = $1`,
            [file.id]
          )
          const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
            ["FileStore.get", store.get(file.id)],
            ["FileStore.read", Stream.runCollect(store.read!(file))]
          ]
          for (const [name, call] of calls) {
            const error = yield* Expect.failureOf(call)
            assert.instanceOf(error, Errors.InfrastructureError, name)
            const infra = error as Errors.InfrastructureError
            assert.strictEqual(infra.message, `${name}: the stored bytes could not be read`)
            assert.match(
              String((infra.cause as Error | undefined)?.message),
              /^a slice of the stored bytes is not as long as the file's size says$/,
              `${name}: the bytes stored are 4 short of the file's size`
            )
          }
        })
      ),
    timeout
  )

  it.live(
    "schemas: a schema named by a reserved word (order) is quoted in every statement: migrated, written and read",
    () =>
      Effect.gen(function* () {
        const members = yield* Persistence.MemberRepository
        const member = Rows.member()
        yield* members.insert(member)
        assert.deepStrictEqual(Option.getOrNull(yield* members.findById(member.id)), member)
      }).pipe(Effect.provide(T.portsIn("order", shared, { drop: true, background: false }))),
    timeout
  )

  it.live(
    "R63: a COMMIT the server refuses (a deferred constraint) is a known failure: nothing written, no unknown outcome",
    () =>
      withSchema((schema) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          yield* refuseAtCommit(sql, schema)
          const m = Rows.member()
          const error = yield* Expect.failureOf(uow.transaction(members.insert(m)))
          assert.instanceOf(error, Errors.InfrastructureError)
          assert.isUndefined(
            (error as Errors.InfrastructureError).outcome,
            "the server answered: rolled back"
          )
          assert.isTrue(Option.isNone(yield* members.findById(m.id)), "nothing written")
        })
      ),
    timeout
  )
})

describe.skipIf(!onPostgres)(
  "adapter-pg on a PostgreSQL server (skipped without DATABASE_URL: PGlite has a single backend, so no concurrent transactions, no pg_terminate_backend and no statement timeout)",
  () => {
    it.live(
      "migrations: an instance starting while another holds the migrations table waits for it past the pool's statement_timeout, then runs nothing",
      () => {
        const schema = T.freshSchema("zbm")
        return Effect.gen(function* () {
          const blocker = yield* Effect.promise(async () => {
            const client = new Pg.Client({ connectionString: process.env.DATABASE_URL })
            client.on("error", () => {})
            await client.connect()
            await client.query("BEGIN")
            await client.query(`LOCK TABLE "${schema}".effect_sql_migrations IN ACCESS EXCLUSIVE MODE`)
            return client
          })
          const waiting = yield* Effect.fork(PgMigrations.run({ schema }))
          yield* Effect.sleep("1200 millis")
          assert.isNull(waiting.unsafePoll(), "still waiting for the other instance, 4 timeouts later")
          yield* Effect.promise(async () => {
            await blocker.query("COMMIT")
            await blocker.end()
          })
          assert.deepStrictEqual(yield* Fiber.join(waiting), [])
        }).pipe(
          Effect.provide(
            T.portsWith(
              schema,
              T.clientLayer("postgres", { maxConnections: 2, statementTimeout: "300 millis" }),
              { drop: true }
            )
          )
        )
      },
      timeout
    )

    it.live(
      "a connection dropped mid-transaction (pg_terminate_backend) leaves nothing half-written and fails with an InfrastructureError",
      () =>
        withSchema(() =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const uow = yield* Persistence.UnitOfWork
            const members = yield* Persistence.MemberRepository
            const first = Rows.member()
            const second = Rows.member()
            const exit = yield* Effect.exit(
              uow.transaction(
                Effect.gen(function* () {
                  yield* members.insert(first)
                  yield* terminateOwnBackend(sql)
                  yield* members.insert(second)
                })
              )
            )
            const error = failure(exit, "the unit of work")
            assert.instanceOf(error, Errors.InfrastructureError)
            assert.match(
              (error as Errors.InfrastructureError).message,
              /^MemberRepository\.insert: the database connection was lost$/,
              "the failure of the statement on the dropped connection"
            )
            assert.isTrue(Option.isNone(yield* members.findById(first.id)), "the first write is gone")
            assert.isTrue(Option.isNone(yield* members.findById(second.id)), "the second never happened")
            yield* uow.transaction(members.insert(second))
            assert.isTrue(Option.isSome(yield* members.findById(second.id)), "the pool serves new units")
          })
        ),
      timeout
    )

    it.live(
      "all-or-nothing: a nested unit whose connection is lost (its savepoint cannot be rolled back) stops the enclosing unit, which catches it and goes on: a known failure, nothing written, no COMMIT sent",
      () =>
        withSchema(() =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const uow = yield* Persistence.UnitOfWork
            const members = yield* Persistence.MemberRepository
            const first = Rows.member()
            const exit = yield* Effect.exit(
              uow.transaction(
                Effect.gen(function* () {
                  yield* members.insert(first)
                  yield* Effect.ignore(
                    uow.transaction(Effect.zipRight(terminateOwnBackend(sql), members.insert(Rows.member())))
                  )
                })
              )
            )
            const error = failure(exit, "the enclosing unit")
            assert.instanceOf(error, Errors.InfrastructureError)
            assert.isUndefined(
              (error as Errors.InfrastructureError).outcome,
              "rolled back, not a COMMIT of unknown outcome"
            )
            assert.isTrue(
              Option.isNone(yield* members.findById(first.id)),
              "the enclosing unit's write is gone"
            )
          })
        ),
      timeout
    )

    it.live(
      "R64: settleMany with a repeated id (its own transaction) whose connection is lost fails with an InfrastructureError, not a defect",
      () =>
        withSchema((schema) =>
          Effect.gen(function* () {
            const outbox = yield* Persistence.Outbox
            const now = Rows.at(10)
            const id = Ids.make<Ids.OutboxMessageId>()
            yield* outbox.enqueue([
              {
                id,
                event: "response_adopted",
                dedupeKey: `response_adopted:${id}:+8613912345678`,
                recipientPhone: "+8613912345678",
                templateId: "ZB_RESPONSE_ADOPTED",
                params: { number: "ZB20260001" },
                createdAt: now
              }
            ])
            assert.lengthOf(yield* outbox.claim({ owner: "A", now, leaseMillis: 60_000, limit: 10 }), 1)
            const sent = { _tag: "Sent", at: now, providerMessageId: "p-1", unknownOutcome: false } as const
            const settleMany = outbox.settleMany!
            const exit = yield* withServerClient(async (blocker) => {
              await blocker.query("BEGIN")
              await blocker.query(`SELECT 1 FROM "${schema}".outbox_message WHERE id = $1 FOR UPDATE`, [id])
              const running = Effect.runPromiseExit(
                settleMany("A", [
                  { id, settlement: sent },
                  { id, settlement: sent }
                ])
              )
              for (let tries = 0; tries < 250; tries++) {
                const waiting = await blocker.query<{ pid: number }>(
                  `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()
                     AND query LIKE '%outbox_message%'`
                )
                if (waiting.rows[0] !== undefined) {
                  await blocker.query("SELECT pg_terminate_backend($1)", [waiting.rows[0].pid])
                  break
                }
                await new Promise((resolve) => setTimeout(resolve, 20))
              }
              const exit = await running
              await blocker.query("ROLLBACK")
              return exit
            })
            assert.instanceOf(failure(exit, "settleMany"), Errors.InfrastructureError)
            const [found] = yield* outbox.claim({
              owner: "B",
              now: Rows.at(20),
              leaseMillis: 60_000,
              limit: 10
            })
            assert.strictEqual(
              found?.message.id,
              id,
              "not settled: its lease expires and it is claimed again"
            )
          })
        ),
      timeout
    )

    it.live(
      "R64: a claim skips the messages another transaction holds and claims the next due ones, without waiting for it",
      () =>
        withSchema((schema) =>
          Effect.gen(function* () {
            const outbox = yield* Persistence.Outbox
            const ids = Array.from({ length: 4 }, () => Ids.make<Ids.OutboxMessageId>())
            yield* outbox.enqueue(
              ids.map((id, i) => ({
                id,
                event: "response_adopted" as const,
                dedupeKey: `response_adopted:${id}:+8613912345678`,
                recipientPhone: "+8613912345678",
                templateId: "ZB_RESPONSE_ADOPTED",
                params: { number: `ZB2026000${i + 1}` },
                createdAt: Rows.at(i + 1)
              }))
            )
            const held = [ids[0]!, ids[2]!]
            const claimed = yield* withServerClient(async (blocker) => {
              await blocker.query("BEGIN")
              try {
                const locked = await blocker.query(
                  `SELECT id FROM "${schema}".outbox_message WHERE id = ANY($1) FOR UPDATE`,
                  [held]
                )
                assert.strictEqual(locked.rowCount, 2, "the other transaction holds two messages")
                const claiming = Effect.runPromiseExit(
                  outbox.claim({ owner: "A", now: Rows.at(10), leaseMillis: 60_000, limit: 2 })
                )
                let timer: ReturnType<typeof setTimeout> | undefined
                const answered = await Promise.race([
                  claiming.then((exit) => ({ exit })),
                  new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 5_000)))
                ])
                clearTimeout(timer)
                return answered
              } finally {
                await blocker.query("ROLLBACK")
              }
            })
            if (claimed === undefined)
              return assert.fail("the claim waited for the transaction holding two of the messages")
            assert.isTrue(Exit.isSuccess(claimed.exit), "the claim succeeded")
            assert.deepStrictEqual(
              Exit.isSuccess(claimed.exit) ? claimed.exit.value.map((t) => t.message.id) : [],
              [ids[1]!, ids[3]!],
              "the two due messages no one holds, in order"
            )
          })
        ),
      timeout
    )

    it.live(
      "R63: a connection lost during COMMIT fails with outcome unknown, not run again, whether it committed or not",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const { proxy, schema, ports } = yield* throughProxy("zbc")
            for (const forward of [true, false]) {
              const attempts = { count: 0 }
              const m = Rows.member()
              const exit = yield* Effect.gen(function* () {
                const uow = yield* Persistence.UnitOfWork
                const members = yield* Persistence.MemberRepository
                return yield* Effect.exit(
                  uow.transaction(
                    Effect.gen(function* () {
                      attempts.count++
                      yield* members.insert(m)
                      proxy.cutAtCommit({ forward })
                    })
                  )
                )
              }).pipe(Effect.provide(ports))
              const error = failure(exit, `COMMIT cut, ${forward ? "after" : "before"} the server had it`)
              assert.instanceOf(error, Errors.InfrastructureError)
              assert.strictEqual((error as Errors.InfrastructureError).outcome, "unknown")
              assert.match((error as Errors.InfrastructureError).message, /whether it was written is unknown/)
              assert.strictEqual(attempts.count, 1, "a unit whose outcome is unknown is not run again")
              const rows = yield* withServerClient((c) =>
                c.query(`SELECT count(*)::int AS n FROM "${schema}".member WHERE id = $1`, [m.id])
              )
              assert.strictEqual(rows.rows[0].n, forward ? 1 : 0, forward ? "it committed" : "it did not")
            }
            assert.strictEqual(proxy.cuts(), 2)
          })
        ),
      timeout
    )

    it.live(
      "R63: a journal entry written outside a unit of work (its own transaction) whose COMMIT is cut fails with outcome unknown, whether it committed or not",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const { proxy, schema, ports } = yield* throughProxy("zbj")
            yield* Effect.gen(function* () {
              const journal = Option.getOrThrow(yield* Effect.serviceOption(Persistence.Journal))
              const { a } = yield* memberWithAccount()
              for (const forward of [true, false]) {
                const key = `cut-${forward}`
                proxy.cutAtCommit({ forward })
                const exit = yield* Effect.exit(
                  journal.write({
                    events: [],
                    messages: [],
                    accountMessages: [],
                    idempotency: {
                      accountId: a.id,
                      key,
                      fingerprint: "draftDemand:{}",
                      result: { id: "d-1" },
                      createdAt: Rows.at(1)
                    }
                  })
                )
                const label = `COMMIT cut, ${forward ? "after" : "before"} the server had it`
                const error = failure(exit, label)
                assert.instanceOf(error, Errors.InfrastructureError, label)
                assert.strictEqual((error as Errors.InfrastructureError).outcome, "unknown", label)
                assert.match(
                  (error as Errors.InfrastructureError).message,
                  /^Journal\.write: the transaction's COMMIT .* whether it was written is unknown$/
                )
                const rows = yield* withServerClient((c) =>
                  c.query(
                    `SELECT count(*)::int AS n FROM "${schema}".idempotency_record WHERE account_id = $1 AND key = $2`,
                    [a.id, key]
                  )
                )
                assert.strictEqual(rows.rows[0].n, forward ? 1 : 0, forward ? "it committed" : "it did not")
              }
              assert.strictEqual(proxy.cuts(), 2)
            }).pipe(Effect.provide(ports))
          })
        ),
      timeout
    )

    it.live(
      "§errors: a database gone away fails reads and units of work as unavailable, writes nothing, and serves again once it is back",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const { proxy, schema, ports } = yield* throughProxy("zbd")
            const m = Rows.member()
            yield* Effect.gen(function* () {
              const uow = yield* Persistence.UnitOfWork
              const members = yield* Persistence.MemberRepository
              yield* members.findById(m.id)
              yield* Effect.promise(() => proxy.down())
              for (const [label, call] of [
                ["a read", members.findById(m.id)],
                ["a unit of work", uow.transaction(members.insert(m))]
              ] as const) {
                const error = failure(yield* Effect.exit(call), label)
                assert.instanceOf(error, Errors.InfrastructureError, label)
                const infra = error as Errors.InfrastructureError
                assert.strictEqual(infra.unavailable, true, `${label}: ${infra.message}`)
                assert.isUndefined(infra.outcome, `${label}: nothing was committing`)
              }
              const rows = yield* withServerClient((c) =>
                c.query(`SELECT count(*)::int AS n FROM "${schema}".member WHERE id = $1`, [m.id])
              )
              assert.strictEqual(rows.rows[0].n, 0, "nothing written")
              yield* Effect.promise(() => proxy.up())
              yield* uow.transaction(members.insert(m))
              assert.isTrue(Option.isSome(yield* members.findById(m.id)), "served again")
            }).pipe(Effect.provide(ports))
          })
        ),
      timeout
    )

    it.live(
      "R41: an approval on behalf of a client waits for the commission's end to commit, then is refused",
      () =>
        withServices(
          Effect.gen(function* () {
            const world = yield* Fixtures.makeWorld
            const commissioning = yield* Commissioning.Commissioning
            const publishing = yield* Publishing.Publishing
            const review = yield* Review.Review
            const commission = yield* Fixtures.activeCommission(world)
            const draft = yield* publishing.draft(
              world.institution.account,
              yield* Fixtures.form(Fixtures.onBehalf(world, world.enterprise.member.id))
            )
            yield* publishing.submit(world.institution.account, { demandId: draft.id })
            const { result, waited } = yield* racingUncommitted(
              commissioning.end(world.enterprise.account, { commissionId: commission.id }),
              review.approve(world.operator, { demandId: draft.id })
            )
            assert.isTrue(waited, "the approval waited for the commission's change")
            assert.isTrue(Either.isLeft(result), "the approval is refused")
            const error = (result as Either.Left<{ code?: string; rule?: string }, unknown>).left
            assert.strictEqual(error.code, "commission.not_active")
            assert.strictEqual(error.rule, "R41")
          })
        ),
      timeout
    )

    it.live(
      "R1: two registrations of one institution at once register it once (one audit event)",
      () =>
        withServices(
          Effect.gen(function* () {
            const world = yield* Fixtures.makeWorld
            const membership = yield* Membership.Membership
            const memberId = world.unregistered.member.id
            const register = membership.registerInstitution(world.operator, { memberId })
            const { result } = yield* racingUncommitted(register, register)
            assert.isTrue(
              Either.isRight(result) && result.right.registered,
              "the second answers it registered"
            )
            const events = yield* (yield* Persistence.AuditRepository).list({ memberId, limit: 100 })
            assert.strictEqual(
              events.filter((e) => e.action === "institution.registered").length,
              1,
              "one institution.registered event"
            )
          })
        ),
      timeout
    )

    it.live(
      "R52: a submission waits for the round's closing to commit, then is refused",
      () =>
        withServices(
          Effect.gen(function* () {
            const world = yield* Fixtures.makeWorld
            const rewards = yield* Rewards.Rewards
            const settings = yield* Settings.Settings
            const today = Deadline.dateAt(yield* DateTime.now, settings)
            const round = yield* rewards.openRound(world.operator, {
              title: "年度奖励申报",
              rules: "按服务费用给予奖励",
              periodStart: Deadline.addDays(today, -30),
              periodEnd: Deadline.addDays(today, 1),
              applicationDeadline: Deadline.addDays(today, 10)
            })
            const published = yield* Fixtures.publish(
              world,
              world.institution.account,
              Fixtures.onBehalf(world)
            )
            const solved = yield* (yield* Outcome.Outcome).solved(world.institution.account, {
              demandId: published.id,
              serviceFee: 2_000_000
            })
            const file = yield* (yield* Files.Files).upload(world.institution.account, {
              name: "技术合同.pdf",
              bytes: Uint8Array.from(Array.from("%PDF-1.7\n%%EOF", (c) => c.charCodeAt(0)))
            })
            yield* rewards.saveProfile(world.institution.account, Fixtures.profileInput())
            const application = yield* rewards.draft(world.institution.account, {
              roundId: round.id,
              items: [{ demandId: solved.id, proofs: [file.id] }]
            })
            const { result, waited } = yield* racingUncommitted(
              rewards.closeRound(world.operator, { roundId: round.id }),
              rewards.submit(world.institution.account, { applicationId: application.id })
            )
            assert.isTrue(waited, "the submission waited for the round's change")
            assert.isTrue(Either.isLeft(result), "the submission is refused")
            const error = (result as Either.Left<{ code?: string; rule?: string }, unknown>).left
            assert.strictEqual(error.code, "reward.round_closed")
          })
        ),
      timeout
    )

    it.live(
      "all-or-nothing: a unit of work that goes on after one of its statements was interrupted (a timeout) fails, and writes nothing",
      () =>
        withSchema((schema) =>
          Effect.gen(function* () {
            const members = yield* Persistence.MemberRepository
            const locked = Rows.member()
            yield* members.insert(locked)
            // Another connection holds the row, so that the update waits until it is interrupted.
            yield* Effect.acquireRelease(
              Effect.promise(async () => {
                const blocker = new Pg.Client({ connectionString: process.env.DATABASE_URL })
                blocker.on("error", () => {})
                await blocker.connect()
                await blocker.query("BEGIN")
                await blocker.query(`UPDATE "${schema}".member SET name = 'locked' WHERE id = $1`, [
                  locked.id
                ])
                return blocker
              }),
              (blocker) =>
                Effect.promise(async () => {
                  await blocker.query("ROLLBACK").catch(() => undefined)
                  await blocker.end().catch(() => undefined)
                })
            )
            yield* goingOnAfter(
              Effect.timeout(members.update({ ...locked, name: "改名" }), "300 millis"),
              "the update timed out"
            )
          }).pipe(Effect.scoped)
        ),
      timeout
    )

    for (const caught of [false, true]) {
      it.live(
        caught
          ? "a deadlock (40P01) is retried at the outermost unit of work also where the unit caught it and went on: both units commit"
          : "a deadlock (40P01) is retried at the outermost unit of work: both units commit",
        () =>
          withSchema(() =>
            Effect.gen(function* () {
              const uow = yield* Persistence.UnitOfWork
              const demands = yield* Persistence.DemandRepository
              const { m, a } = yield* memberWithAccount()
              const one = Rows.published(m.id, a.id, 1)
              const two = Rows.published(m.id, a.id, 2)
              yield* demands.insert(one)
              yield* demands.insert(two)
              const attempts = { count: 0 }
              const locked = [yield* Deferred.make<void>(), yield* Deferred.make<void>()] as const
              const unit = (mine: Demand.Demand, theirs: Demand.Demand, i: 0 | 1) =>
                uow.transaction(
                  Effect.gen(function* () {
                    attempts.count++
                    const d = Option.getOrThrow(yield* demands.findByIdForUpdate(mine.id))
                    yield* Deferred.succeed(locked[i], undefined)
                    yield* Deferred.await(locked[1 - i]!)
                    // Caught: the victim goes on; its transaction is aborted all the same.
                    const theirsLocked = demands.findByIdForUpdate(theirs.id)
                    yield* caught ? Effect.either(theirsLocked) : theirsLocked
                    yield* demands.update({
                      ...d,
                      responseCount: d.responseCount + 1,
                      version: d.version + 1
                    })
                  })
                )
              yield* Effect.all([unit(one, two, 0), unit(two, one, 1)], { concurrency: 2 })
              assert.strictEqual(attempts.count, 3, "the deadlock victim ran again")
              for (const d of [one, two]) {
                assert.strictEqual(Option.getOrThrow(yield* demands.findById(d.id)).responseCount, 1)
              }
            })
          ),
        timeout
      )
    }

    it.live(
      "a statement waiting past statement_timeout is cancelled: an InfrastructureError, and the row stays as it was",
      () => {
        const schema = T.freshSchema("zbs")
        return Effect.gen(function* () {
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          const m = Rows.member()
          yield* members.insert(m)
          const blocker = new Pg.Client({ connectionString: process.env.DATABASE_URL })
          blocker.on("error", () => {})
          yield* Effect.promise(async () => {
            await blocker.connect()
            await blocker.query("BEGIN")
            await blocker.query(`UPDATE "${schema}".member SET name = 'locked' WHERE id = $1`, [m.id])
          })
          const started = Date.now()
          const failed = yield* Expect.failureOf(uow.transaction(members.update({ ...m, name: "改名" })))
          assert.isBelow(Date.now() - started, 10_000)
          assert.instanceOf(failed, Errors.InfrastructureError)
          assert.match(failed.message, /timeout/)
          yield* Effect.promise(async () => {
            await blocker.query("ROLLBACK")
            await blocker.end()
          })
          assert.strictEqual(Option.getOrThrow(yield* members.findById(m.id)).name, m.name)
        }).pipe(
          Effect.provide(
            T.portsWith(
              schema,
              T.clientLayer("postgres", {
                maxConnections: 2,
                connectTimeout: "5 seconds",
                statementTimeout: "300 millis"
              }),
              { drop: true }
            )
          )
        )
      },
      timeout
    )
  }
)
