/**
 * The conformance suite on the embedded PGlite even when `DATABASE_URL` is set, so
 * CI runs it on both databases, and traced: statements go through @effect/sql's
 * `Statement` with their spans (`conformance.test.ts` runs untraced). Without
 * `DATABASE_URL`, `conformance.test.ts` already runs on PGlite and this file skips.
 */
import { describe } from "@effect/vitest"
import { Conformance } from "@zhongbao/testing/conformance"
import * as TestDatabase from "./support.js"

describe.skipIf(TestDatabase.backend === "pglite")(
  "PGlite besides PostgreSQL (skipped without DATABASE_URL: conformance.test.ts runs on PGlite then)",
  () =>
    Conformance.suite("adapter-pg (pglite, traced)", TestDatabase.ports("pglite", { tracing: true }), {
      requireOptional: true
    })
)
