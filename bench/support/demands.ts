/**
 * Demands for the benchmarks, made fast: members and accounts in SQL, 50 template
 * demands written through `DemandRepository.insert` (so the search columns are the
 * adapter's own), then `INSERT … SELECT … generate_series` copies of the templates —
 * a pool of published demands (`publishedPool`) or a public hall of drafts, demands
 * pending review and published demands in 12 fields (`loadHall`, which drops the
 * demand's secondary indexes for a large load and rebuilds them from their own
 * definitions). Also `traced`: the statements the adapter sends for an effect.
 * Everything runs on the `SqlClient` in context, in the schema it is given.
 */
import { Socket } from "node:net"
import { SqlClient } from "@effect/sql"
import { Demand, type Ids, Persistence, Settings } from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, Schema, Tracer } from "effect"

/** A row as the driver returns it. */
export type Row = Record<string, unknown>

/** A statement of a benchmark's own (setup, checks), on a connection of the pool. */
export const exec = (text: string, params: ReadonlyArray<unknown> = []) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.orDie(sql.unsafe<Row>(text, params as Array<unknown>))
  ) as Effect.Effect<ReadonlyArray<Row>, never, SqlClient.SqlClient>

/** A table of `schema`, quoted and qualified. */
export const table = (schema: string, name: string): string => `"${schema}".${name}`

/** Publishers (enterprises), one account each. */
export const PUBLISHERS = 50
/** The member id of publisher `k` (1-based). */
export const publisherMember = (k: number): string => String(100_000 + k)
/** The account id of publisher `k`. */
export const publisherAccount = (k: number): string => String(110_000 + k)
/** The account id of responder (research institute) `k`. */
export const responderAccount = (k: number): string => String(210_000 + k)

/** The templates' keywords, one per template. */
export const KEYWORDS: ReadonlyArray<string> = Array.from(
  { length: 50 },
  (_, i) => `关键词${String(i).padStart(2, "0")}`
)
/** The technical fields of the default settings, which the hall's demands cycle through. */
export const FIELDS: ReadonlyArray<string> = Settings.defaults.technicalFields
/** The field the hall benchmarks filter by. */
export const HALL_FIELD: string = FIELDS[3]!

/** Every written column of `demand`, in the DDL's order. */
export const DEMAND_COLUMNS = [
  "id",
  "publisher_id",
  "created_by",
  "title",
  "main_problem",
  "key_technology",
  "expected_goal",
  "keywords",
  "field",
  "intended_investment",
  "solving_way",
  "region",
  "response_deadline",
  "service_mode",
  "technology_manager_id",
  "client_id",
  "attachments",
  "contact_name",
  "contact_phone",
  "state",
  "number",
  "round",
  "rejection_reason",
  "submitted_at",
  "approved_at",
  "first_published_at",
  "intake_closed_at",
  "first_adopted_at",
  "selection_ended_at",
  "selection_window_days",
  "outcome",
  "service_fee",
  "closed_at",
  "response_count",
  "adopted_count",
  "version",
  "created_at",
  "updated_at",
  "search_text",
  "search_grams"
] as const

/** A column of `demand`. */
export type DemandColumn = (typeof DEMAND_COLUMNS)[number]

/**
 * `INSERT … SELECT` of demands `i` in `[from, to]` copied from the template row `t`
 * numbered `template` (SQL over `i`), with `columns` overriding the copied value of
 * some columns (SQL over `i`, `t` and the statement's parameters).
 */
export const copyDemands = (
  schema: string,
  template: string,
  columns: Partial<Record<DemandColumn, string>>,
  from: string,
  to: string
): string =>
  `INSERT INTO ${table(schema, "demand")} (${DEMAND_COLUMNS.join(", ")})
   SELECT ${DEMAND_COLUMNS.map((c) => columns[c] ?? `t.${c}`).join(", ")}
   FROM generate_series(${from}, ${to}) AS i JOIN ${table(schema, "bench_template")} t ON t.k = ${template}`

/**
 * `PUBLISHERS` enterprises and `responders` research institutes with one account each,
 * in SQL; then 50 templates through `DemandRepository.insert` (drafts of the testing
 * fixtures' form with keyword k in the title and keywords), kept as the rows of
 * `bench_template` and removed from `demand`. Answers the templates' instant (ISO),
 * a day ago.
 */
export const setup = (schema: string, options: { readonly responders: number }) =>
  Effect.gen(function* () {
    const t = (name: string) => table(schema, name)
    const now = yield* DateTime.now
    const at = DateTime.unsafeMake(Math.floor(DateTime.toEpochMillis(now) / 1000) * 1000 - 86_400_000)
    const iso = DateTime.formatIso(at)
    yield* exec(
      `INSERT INTO ${t("member")} (id, kind, name, region, registered, created_at)
       SELECT (100000 + k)::text, 'enterprise', '企业' || k, '天津市', false, $1::timestamptz
       FROM generate_series(1, $2::int) k
       UNION ALL
       SELECT (200000 + k)::text, 'research_institute', '研究所' || k, '天津市', false, $1::timestamptz
       FROM generate_series(1, $3::int) k`,
      [iso, PUBLISHERS, options.responders]
    )
    yield* exec(
      `INSERT INTO ${t("account")} (id, member_id, role, name, phone, active, created_at)
       SELECT (110000 + k)::text, (100000 + k)::text, 'member', '联系人' || k, '+86138' || lpad(k::text, 8, '0'),
         true, $1::timestamptz FROM generate_series(1, $2::int) k
       UNION ALL
       SELECT (210000 + k)::text, (200000 + k)::text, 'member', '联系人' || k, '+86139' || lpad(k::text, 8, '0'),
         true, $1::timestamptz FROM generate_series(1, $3::int) k`,
      [iso, PUBLISHERS, options.responders]
    )
    const repo = yield* Persistence.DemandRepository
    const base = yield* Schema.decodeUnknown(Demand.DemandForm)(yield* Fixtures.form({}, 60))
    for (const [k, keyword] of KEYWORDS.entries()) {
      yield* repo.insert(
        Demand.draft({
          id: `tpl-${String(k).padStart(2, "0")}` as Ids.DemandId,
          publisherId: publisherMember(1) as Ids.MemberId,
          createdBy: publisherAccount(1) as Ids.AccountId,
          form: { ...base, title: `${base.title} ${keyword}`, keywords: [keyword, "散热"] },
          at
        })
      )
    }
    yield* exec(
      `CREATE TABLE ${t("bench_template")} AS
         SELECT (row_number() OVER (ORDER BY id) - 1)::int AS k, * FROM ${t("demand")} WHERE id LIKE 'tpl-%'`
    )
    yield* exec(`DELETE FROM ${t("demand")} WHERE id LIKE 'tpl-%'`)
    return iso
  })

/**
 * `count` published demands with ids `pool + 1 …`, publishers in turn, all copies of
 * template 0 with `at` as submission, approval, publication and creation.
 */
export const publishedPool = (schema: string, pool: number, count: number, at: string) =>
  exec(
    copyDemands(
      schema,
      "0",
      {
        id: `(${pool} + i)::text`,
        publisher_id: `(100001 + i % ${PUBLISHERS})::text`,
        created_by: `(110001 + i % ${PUBLISHERS})::text`,
        state: "'published'",
        number: `'ZB' || (${pool} + i)`,
        submitted_at: "$1::timestamptz",
        approved_at: "$1::timestamptz",
        first_published_at: "$1::timestamptz",
        selection_window_days: String(Settings.defaults.selectionWindowDays),
        created_at: "$1::timestamptz",
        updated_at: "$1::timestamptz"
      },
      "1",
      "$2::int"
    ),
    [at, count]
  )

/** Which hall demands to write: `i` in `[from, to]` of a hall of `total`, the last at `end` (ISO). */
export interface HallRange {
  readonly from: number
  readonly to: number
  readonly total: number
  readonly end: string
}

/**
 * Hall demands `i` in `[from, to]` of `total`: template `i % 50`, field `i % 12`,
 * deadlines over 60 days, one in ten a draft, one in ten pending review, the rest
 * published; instants 30 s apart, demand `total` at `end`. Ranges ending at `total`
 * are the newest, so a small hall grows into a larger one by adding older demands.
 */
export const hallDemands = (schema: string, range: HallRange) => {
  const at = `($2::timestamptz - (${range.total} - i) * interval '30 seconds')`
  return exec(
    copyDemands(
      schema,
      `i % ${KEYWORDS.length}`,
      {
        id: `'h' || lpad(i::text, 8, '0')`,
        publisher_id: `(100001 + i % ${PUBLISHERS})::text`,
        created_by: `(110001 + i % ${PUBLISHERS})::text`,
        field: `($1::text[])[1 + i % ${FIELDS.length}]`,
        response_deadline: "t.response_deadline + (i % 60)",
        state: "CASE i % 10 WHEN 0 THEN 'draft' WHEN 1 THEN 'pending_review' ELSE 'published' END",
        number: `CASE WHEN i % 10 >= 2 THEN 'ZB' || lpad(i::text, 8, '0') END`,
        submitted_at: `CASE WHEN i % 10 <> 0 THEN ${at} END`,
        approved_at: `CASE WHEN i % 10 >= 2 THEN ${at} END`,
        first_published_at: `CASE WHEN i % 10 >= 2 THEN ${at} END`,
        selection_window_days: `CASE WHEN i % 10 >= 2 THEN ${Settings.defaults.selectionWindowDays} END`,
        created_at: at,
        updated_at: at
      },
      "$3::int",
      "$4::int"
    ),
    [FIELDS, range.end, range.from, range.to]
  )
}

/** The demand's indexes that no constraint owns, with their definitions. */
export const secondaryIndexes = (schema: string) =>
  exec(
    `SELECT c.relname AS name, pg_get_indexdef(c.oid) AS def
     FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
     WHERE x.indrelid = '${table(schema, "demand")}'::regclass
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
     ORDER BY c.relname`
  )

/** How a hall load went, in ms; `indexes` is the number of secondary indexes rebuilt (0 when kept). */
export interface HallLoad {
  readonly rows: number
  readonly insert: number
  readonly index: number
  readonly indexes: number
}

/** Loads of at least this many rows drop the secondary indexes and rebuild them afterwards. */
export const BULK_ROWS = 50_000

/**
 * Writes the hall demands of `range` (see {@link hallDemands}), then `VACUUM ANALYZE`,
 * so that autovacuum does not start on the new rows while a benchmark measures and
 * halls of every size are in the same state (visibility map set, statistics taken).
 * From {@link BULK_ROWS} rows (or with `bulk: true`) without the demand's secondary
 * indexes, in two halves at once, the indexes rebuilt afterwards from their own
 * definitions (the grams GIN index, the slowest, on one connection, the others on
 * another). Needs a pool of two connections or more.
 */
export const loadHall = (schema: string, range: HallRange, options: { readonly bulk?: boolean } = {}) =>
  Effect.gen(function* () {
    const rows = range.to - range.from + 1
    const bulk = options.bulk ?? rows >= BULK_ROWS
    let started = performance.now()
    if (!bulk) {
      yield* hallDemands(schema, range)
      const insert = performance.now() - started
      yield* exec(`VACUUM ANALYZE ${table(schema, "demand")}`)
      return { rows, insert, index: 0, indexes: 0 } satisfies HallLoad
    }
    const indexes = yield* secondaryIndexes(schema)
    yield* exec(indexes.map((i) => `DROP INDEX "${schema}"."${String(i.name)}";`).join("\n"))
    const half = range.from + Math.floor(rows / 2)
    yield* Effect.all(
      [hallDemands(schema, { ...range, to: half - 1 }), hallDemands(schema, { ...range, from: half })],
      { concurrency: 2, discard: true }
    )
    const insert = performance.now() - started
    started = performance.now()
    const grams = indexes.filter((i) => /gin \(search_grams\)/.test(String(i.def)))
    const others = indexes.filter((i) => !grams.includes(i))
    yield* Effect.all(
      [grams, others].map((group) =>
        exec(
          `SET maintenance_work_mem = '512MB';\n${group.map((i) => `${String(i.def)};`).join("\n")}\nRESET maintenance_work_mem;`
        )
      ),
      { concurrency: 2, discard: true }
    )
    const index = performance.now() - started
    yield* exec(`VACUUM ANALYZE ${table(schema, "demand")}`)
    return { rows, insert, index, indexes: indexes.length } satisfies HallLoad
  })

/**
 * A tracer that logs the SQL the adapter sends through `@effect/sql`: each statement's
 * text, and BEGIN/COMMIT for the outermost transactions.
 */
const recordingTracer = (base: Tracer.Tracer, log: Array<string>): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = base.span(name, parent, context, links, startTime, kind, options)
      if (name === "sql.transaction") log.push("BEGIN")
      return Object.assign(Object.create(span) as Tracer.Span, {
        attribute: (key: string, value: unknown) => {
          if (name === "sql.execute" && key === "db.query.text") log.push(String(value))
          span.attribute(key, value)
        },
        end: (endTime: bigint, exit: Parameters<Tracer.Span["end"]>[1]) => {
          if (name === "sql.transaction") log.push("COMMIT")
          span.end(endTime, exit)
        }
      })
    },
    context: (f, fiber) => base.context(f, fiber)
  })

/**
 * `effect`, and how many times this process wrote to a socket while it ran. With
 * only a runtime's pool writing, which writes again only once answered (statements
 * issued together go out in one write), these are the round trips of `effect`.
 */
export const countingWrites = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const proto = Socket.prototype as unknown as { _writeGeneric: (...args: Array<unknown>) => unknown }
    const write = proto._writeGeneric
    let writes = 0
    proto._writeGeneric = function (this: unknown, ...args: Array<unknown>) {
      writes++
      return write.apply(this, args)
    }
    return effect.pipe(
      Effect.map((result) => ({ result, writes })),
      Effect.ensuring(Effect.sync(() => (proto._writeGeneric = write)))
    )
  })

/** Runs `effect`, answering its result and the statements it sent, in order. */
export const traced = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const log: Array<string> = []
    const base = yield* Effect.tracer
    const result = yield* Effect.withTracer(effect, recordingTracer(base, log))
    return { result, log }
  })
