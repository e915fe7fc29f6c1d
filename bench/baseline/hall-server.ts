/**
 * The baseline of the public-hall benchmark (`bench/http-hall.ts`): `GET /hall` written
 * by hand on `node:http` and a node-postgres `Pool`, as a host would without zhongbao.
 * It runs the statement adapter-pg sends for the hall's first page filtered by field,
 * newest publication first ({@link hallSql}; the benchmark checks that the two are
 * the same text), and answers the same JSON as the example server: the anonymous
 * list items (phase and end of selection computed from the settings it is given, no
 * actions) and the next cursor. Only `field`, `sort=published` and `limit` are
 * understood; anything else is a `400`.
 *
 * Run as a script: `DATABASE_URL`, `DATABASE_SCHEMA`, `HALL_SETTINGS` (JSON of
 * {@link HallSettings}), `PORT` (0 for any), `INSTANCES` (1: processes sharing the
 * port); prints `baseline is ready at <url>` and stops on SIGTERM. The pool is the example server's default: 10 connections, a
 * 30-second statement timeout; the statement is sent named and planned with its own
 * values each time (`plan_cache_mode = force_custom_plan`), as adapter-pg sends it. `BASELINE_FIBER=1` runs the query in an effect fiber
 * (`Effect.runPromise(Effect.async(…))`, `pool.query`'s callback resuming it), the
 * rest as before: what one fiber per request costs a server that does nothing else
 * (`bench/EXPERIMENTS.md`; `npm run bench:ab-hall` with `A_SERVER=baseline`).
 */
import cluster from "node:cluster"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { pathToFileURL } from "node:url"
import * as Pg from "pg"

/** What the baseline needs of the platform settings to compute a demand's phase. */
export interface HallSettings {
  readonly timeZone: string
  readonly selectionWindowDays: number
  readonly singleAdoption: boolean
  /** The service modes that take responses. */
  readonly acceptingModes: ReadonlyArray<string>
}

/** The hall's first page of one field, newest publication first: `$1` the field, `$2` the limit + 1. */
export const hallSql = (schema: string): string =>
  `SELECT d.id, d.publisher_id, d.title, d.field, d.region,
     to_char(d.response_deadline, 'YYYY-MM-DD') AS response_deadline, d.service_mode, d.client_id, d.state, d.round, d.number,
     (extract(epoch from d.first_published_at) * 1000)::int8::text AS first_published_at,
     (extract(epoch from d.intake_closed_at) * 1000)::int8::text AS intake_closed_at,
     (extract(epoch from d.selection_ended_at) * 1000)::int8::text AS selection_ended_at,
     d.selection_window_days, d.response_count, d.adopted_count, d.outcome,
     (extract(epoch from d.created_at) * 1000)::int8::text AS created_at
   FROM "${schema}".demand d
   WHERE d.state IN ('published', 'solved') AND d.field = $1 AND d.first_published_at IS NOT NULL
   ORDER BY d.first_published_at DESC, d.id DESC LIMIT $2`

interface DemandRow {
  readonly id: string
  readonly number: string | null
  readonly title: string
  readonly field: string
  readonly region: string | null
  readonly state: string
  readonly outcome: string | null
  readonly service_mode: string
  readonly response_deadline: string
  readonly first_published_at: string | null
  readonly intake_closed_at: string | null
  readonly selection_ended_at: string | null
  readonly selection_window_days: number | null
  readonly response_count: number
  readonly adopted_count: number
}

const DAY = 86_400_000

/** The offset of `timeZone` from UTC at `utc`, in ms. */
const offsetAt = (format: Intl.DateTimeFormat, utc: number): number => {
  const name = format.formatToParts(utc).find((p) => p.type === "timeZoneName")?.value ?? "GMT"
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name)
  return match === null
    ? 0
    : (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) * 60_000
}

const makeDates = (settings: HallSettings) => {
  const format = new Intl.DateTimeFormat("en-US", { timeZone: settings.timeZone, timeZoneName: "longOffset" })
  const ends = new Map<string, number>()
  /** The last millisecond of a date (YYYY-MM-DD, plus `days`) in the platform zone. */
  const endOf = (date: string, days = 0): number => {
    const key = `${date}+${days}`
    const cached = ends.get(key)
    if (cached !== undefined) return cached
    const [y, m, d] = date.split("-").map(Number) as [number, number, number]
    const local = Date.UTC(y, m - 1, d + days) + DAY - 1
    const end = local - offsetAt(format, local - offsetAt(format, local))
    if (ends.size >= 10_000) ends.clear()
    ends.set(key, end)
    return end
  }
  return endOf
}

const iso = (ms: string | null) => (ms === null ? null : new Date(Number(ms)).toISOString())

const makeItem = (settings: HallSettings) => {
  const endOf = makeDates(settings)
  const accepting = new Set(settings.acceptingModes)
  return (r: DemandRow, now: number) => {
    const accepts = accepting.has(r.service_mode)
    const selectionEnd = endOf(r.response_deadline, r.selection_window_days ?? settings.selectionWindowDays)
    const phase =
      r.state === "solved"
        ? "selection_over"
        : r.state !== "published"
          ? "not_published"
          : !accepts
            ? "no_responses"
            : r.selection_ended_at !== null ||
                (settings.singleAdoption && r.adopted_count > 0) ||
                now > selectionEnd
              ? "selection_over"
              : r.intake_closed_at === null && now <= endOf(r.response_deadline)
                ? "taking_responses"
                : "selecting"
    return {
      id: r.id,
      number: r.number,
      title: r.title,
      field: r.field,
      region: r.region,
      state: r.state,
      outcome: r.outcome,
      phase,
      publishedAt: iso(r.first_published_at),
      responseCount: r.response_count,
      responseDeadline: r.response_deadline,
      selectionEndsAt:
        r.state === "published" && accepts && r.selection_ended_at === null
          ? new Date(selectionEnd).toISOString()
          : iso(r.selection_ended_at),
      actions: []
    }
  }
}

/** `pool.query` in a fiber of its own, awaited as a promise; effect is loaded only for it. */
const fiberQuery = async () => {
  const { Effect } = await import("effect")
  return (pool: Pg.Pool, query: Pg.QueryConfig) =>
    Effect.runPromise(
      Effect.async<Pg.QueryResult<DemandRow>>((resume) => {
        pool.query<DemandRow>(query, (error: Error | undefined, result: Pg.QueryResult<DemandRow>) =>
          resume(error ? Effect.die(error) : Effect.succeed(result))
        )
      })
    )
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

/** Starts the baseline; answers its URL and a stop function. */
export const startBaseline = async (options: {
  readonly databaseUrl: string
  readonly schema: string
  readonly settings: HallSettings
  readonly port?: number
  /** Runs the query in an effect fiber (`BASELINE_FIBER`). */
  readonly queryInFiber?: boolean
}) => {
  const inFiber = options.queryInFiber === true ? await fiberQuery() : undefined
  const pool = new Pg.default.Pool({
    connectionString: options.databaseUrl,
    max: 10,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 10_000,
    statement_timeout: 30_000,
    application_name: "zhongbao-bench-baseline",
    options: "-c plan_cache_mode=force_custom_plan"
  })
  pool.on("error", () => {})
  const sql = hallSql(options.schema)
  const item = makeItem(options.settings)
  const hall = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost")
    if (req.method !== "GET" || url.pathname !== "/hall") return send(res, 404, { _tag: "RouteNotFound" })
    const field = url.searchParams.get("field")
    const limit = Number(url.searchParams.get("limit") ?? 20)
    const known = [...url.searchParams.keys()].every((k) => k === "field" || k === "sort" || k === "limit")
    const sort = url.searchParams.get("sort") ?? "published"
    if (
      field === null ||
      !known ||
      sort !== "published" ||
      !Number.isInteger(limit) ||
      limit < 1 ||
      limit > 100
    )
      return send(res, 400, { _tag: "InvalidInput" })
    const query = { name: "zb_bench_hall", text: sql, values: [field, limit + 1] }
    const { rows } = inFiber === undefined ? await pool.query<DemandRow>(query) : await inFiber(pool, query)
    const now = Date.now()
    const shown = rows.slice(0, limit)
    const last = shown[shown.length - 1]
    send(res, 200, {
      items: shown.map((r) => item(r, now)),
      nextCursor:
        rows.length > limit && last !== undefined
          ? Buffer.from(
              JSON.stringify(["demand.published", Number(last.first_published_at), last.id])
            ).toString("base64url")
          : null
    })
  }
  const server = createServer((req, res) => {
    hall(req, res).catch((error: unknown) => {
      console.error(error)
      if (!res.headersSent) send(res, 500, { _tag: "InternalError" })
      else res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await pool.end()
    }
  }
}

/**
 * With `INSTANCES` above 1, the script forks that many instances of itself with
 * `node:cluster` (they share the port, as the example server's `WEB_CONCURRENCY`
 * instances do) and prints its ready line once all of them listen.
 */
const runPrimary = (instances: number) => {
  let ready = 0
  for (let i = 0; i < instances; i++) {
    cluster.fork().on("message", (message: { readonly ready?: string }) => {
      if (message.ready !== undefined && ++ready === instances)
        console.log(`baseline is ready at ${message.ready}`)
    })
  }
  process.once("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM")
    cluster.on("exit", () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
    })
  })
}

const instances = Number(process.env.INSTANCES ?? 1)
if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  instances > 1 &&
  cluster.isPrimary
) {
  runPrimary(instances)
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const baseline = await startBaseline({
    databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    schema: process.env.DATABASE_SCHEMA ?? "zhongbao",
    settings: JSON.parse(process.env.HALL_SETTINGS ?? "null") as HallSettings,
    port: Number(process.env.PORT ?? 0),
    queryInFiber: process.env.BASELINE_FIBER === "1"
  })
  if (cluster.isWorker) process.send?.({ ready: baseline.url })
  else console.log(`baseline is ready at ${baseline.url}`)
  process.once("SIGTERM", () => {
    baseline.stop().then(
      () => process.exit(0),
      () => process.exit(1)
    )
  })
}
