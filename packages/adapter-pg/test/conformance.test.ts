/**
 * The conformance suite on this file's backend (PostgreSQL with `DATABASE_URL`,
 * PGlite otherwise), untraced, as the example server runs: statements in a unit of
 * work take the adapter's direct path. `conformance.pglite.test.ts` runs it traced.
 */
import { Conformance } from "@zhongbao/testing/conformance"
import * as TestDatabase from "./support.js"

Conformance.suite(
  `adapter-pg (${TestDatabase.backend}, untraced)`,
  TestDatabase.ports(TestDatabase.backend, { tracing: false }),
  { requireOptional: true }
)
