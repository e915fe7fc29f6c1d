/**
 * The same suites on adapter-pg's ports over the PostgreSQL server of
 * `DATABASE_URL` (CI sets it), each suite in a fresh schema of its own, dropped
 * after it. Without
 * `DATABASE_URL` they do not run here: the memory file covers the API, and
 * adapter-pg's own conformance suite covers PGlite.
 */
import { SqlClient } from "@effect/sql"
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import { Effect, Layer, Redacted } from "effect"
import { describe } from "vitest"
import { authorizationSuite } from "./authorization.js"
import { contractSuite } from "./contract.js"
import { extremesSuite } from "./extremes.js"
import { fuzzSuite } from "./fuzz.js"

const url = process.env.DATABASE_URL

/** The ports in a fresh schema, dropped when the suite's layer is released. */
const ports = Layer.unwrapEffect(
  Effect.sync(() => {
    const schema = `http_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`
    const dropped = Layer.scopedDiscard(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.addFinalizer(() => Effect.orDie(sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)))
      )
    )
    return Layer.merge(PgPersistence.layer({ schema }), dropped).pipe(
      Layer.provide(PgDatabase.layerPool({ url: Redacted.make(url ?? ""), maxConnections: 5 })),
      Layer.orDie
    )
  })
)

describe.skipIf(url === undefined)("on PostgreSQL (needs DATABASE_URL)", () => {
  contractSuite("postgres", ports)
  authorizationSuite("postgres", ports)
  fuzzSuite("postgres", ports)
  extremesSuite("postgres", ports)
})
