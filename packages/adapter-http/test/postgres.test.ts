/**
 * The same suites on adapter-pg's ports over the PostgreSQL server of
 * `DATABASE_URL` (CI sets it), each suite in a fresh schema of its own. Without
 * `DATABASE_URL` they do not run here: the memory file covers the API, and
 * adapter-pg's own conformance suite covers PGlite.
 */
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import { Effect, Layer, Redacted } from "effect"
import { describe } from "vitest"
import { authorizationSuite } from "./authorization.js"
import { contractSuite } from "./contract.js"
import { fuzzSuite } from "./fuzz.js"

const url = process.env.DATABASE_URL

const ports = Layer.unwrapEffect(
  Effect.sync(() =>
    PgPersistence.layer({ schema: `http_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}` }).pipe(
      Layer.provide(PgDatabase.layerPool({ url: Redacted.make(url ?? ""), maxConnections: 5 })),
      Layer.orDie
    )
  )
)

describe.skipIf(url === undefined)("on PostgreSQL (needs DATABASE_URL)", () => {
  contractSuite("postgres", ports)
  authorizationSuite("postgres", ports)
  fuzzSuite("postgres", ports)
})
