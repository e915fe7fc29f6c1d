/**
 * `npm run bench:embedded`: how long an in-memory embedded database takes to start
 * (`PgDatabase.layerEmbedded()` without a folder, to its first answered statement),
 * five starts one after another in one process, and with the adapter's migrations.
 * The first start of a process runs PGlite's `initdb` and dumps the empty database;
 * later ones load that dump. Prints each start's wall time and the process's RSS.
 */
import { SqlClient } from "@effect/sql"
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import { Ids, Persistence } from "@zhongbao/core"
import { Duration, Effect, Layer } from "effect"

const timed = <A, E>(run: Effect.Effect<A, E>) =>
  Effect.map(Effect.timed(run), ([duration]) => Math.round(Duration.toMillis(duration)))

const bare = Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.asVoid(sql`SELECT 1`)).pipe(
  Effect.provide(PgDatabase.layerEmbedded({ maxConnections: 2 }))
)
const migrated = Effect.flatMap(Persistence.MemberRepository, (members) =>
  Effect.asVoid(members.findById(Ids.MemberId.make("m-none")))
).pipe(
  Effect.provide(PgPersistence.layer().pipe(Layer.provide(PgDatabase.layerEmbedded({ maxConnections: 2 }))))
)

const program = Effect.gen(function* () {
  const lines: Array<string> = []
  for (const [label, run] of [
    ["to SELECT 1", bare],
    ["migrated, to a repository read", migrated]
  ] as const) {
    const times: Array<number> = []
    for (let i = 0; i < 5; i++) times.push(yield* timed(run))
    lines.push(`| ${label} | ${times.map((t) => t.toLocaleString("en")).join(", ")} ms |`)
  }
  console.log("| in-memory start (five, one after another) | wall time |")
  console.log("| --- | --- |")
  for (const line of lines) console.log(line)
  globalThis.gc?.()
  console.log(
    `\nRSS at the end: ${Math.round(process.memoryUsage().rss / 1e6)} MB, heap used ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB`
  )
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
