/**
 * Once per run of these tests: a new, empty PGlite database in a folder of its own,
 * made by the adapter's own embedded start and closed, for the tests to copy
 * (`support.ts`'s `databaseDir`). PGlite's `initdb` runs in WASM for 4–6 seconds on
 * two cores, and most tests need a database, not its making; the ones that check a
 * first start (`startup.test.ts`'s start while seeding a new database, and
 * adapter-pg's `layers.test.ts`) still make theirs.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PgDatabase } from "@zhongbao/adapter-pg"
import { Effect, Logger, LogLevel } from "effect"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** The folder of the empty PGlite database the tests copy. */
    readonly pgliteTemplate: string
  }
}

export default async function setup(project: TestProject) {
  const folder = mkdtempSync(join(tmpdir(), "zhongbao-template-"))
  await Effect.runPromise(
    Effect.scoped(PgDatabase.startEmbedded({ dataDir: folder, maxConnections: 1 })).pipe(
      Logger.withMinimumLogLevel(LogLevel.Warning)
    )
  )
  project.provide("pgliteTemplate", folder)
  return () => rmSync(folder, { recursive: true, force: true })
}
