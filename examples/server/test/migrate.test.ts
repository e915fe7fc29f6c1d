/**
 * The migrations on their own (`npm run migrate`, `src/migrate.ts`), and a server that
 * starts without migrating (`MIGRATE=false`) on the database they made.
 */
import { afterAll, describe, expect, it } from "vitest"
import { databaseDir, dataDir, launch, runCommand, stop, stopAll, waitFor } from "./support.js"

afterAll(stopAll)

describe("example server: npm run migrate", () => {
  it("npm run migrate: a new database migrated, each migration named once; run again, none due; a server with MIGRATE=false serves it, and does not start on a new database, leaving it unmigrated; a schema name it cannot use is refused on one line", async () => {
    const folder = databaseDir()
    const first = await runCommand("migrate", [], { DATA_DIR: folder })
    expect(first.code, first.output).toBe(0)
    const applied = /^schema zhongbao: applied (.+)$/m.exec(first.output)?.[1]?.split(", ") ?? []
    const ids = applied.map((m) => Number(m.split(" ")[0]))
    expect(ids.length, first.output).toBeGreaterThan(1)
    expect(ids, "every migration, in order, from the first").toEqual(ids.map((_, i) => i + 1))
    const again = await runCommand("migrate", [], { DATA_DIR: folder })
    expect(again.code, again.output).toBe(0)
    expect(again.output).toMatch(/^schema zhongbao: up to date, no migration due$/m)

    const server = launch({ DATA_DIR: folder, MIGRATE: "false", SEED: "false", WORKERS: "false" })
    const base = (await waitFor(server, /zhongbao is ready at (http:\/\/[\d.:]+)/))[1]!
    const hall = await fetch(`${base}/hall`)
    expect(hall.status, await hall.clone().text()).toBe(200)
    expect(await stop(server)).toBe(0)

    // MIGRATE=false on a new database: the server does not start on it (every request
    // would be a 500 on a missing table), says why on one line, and leaves it unmigrated.
    const unmigrated = databaseDir()
    const idle = launch({ DATA_DIR: unmigrated, MIGRATE: "false", SEED: "false", WORKERS: "false" })
    expect(await idle.exited, idle.output()).toBe(1)
    expect(idle.output()).toMatch(
      /^zhongbao: could not start: the schema "zhongbao" is not migrated \(its last migration 0, this version's \d+\)/m
    )
    const later = await runCommand("migrate", [], { DATA_DIR: unmigrated })
    expect(later.output, "every migration still due").toMatch(/^schema zhongbao: applied 1 /m)

    const refused = await runCommand("migrate", [], { DATA_DIR: dataDir(), DATABASE_SCHEMA: "Bad-Name" })
    expect(refused.code).toBe(1)
    expect(refused.output).toMatch(
      /^zhongbao migrate: could not migrate: the schema name must be a lower-case identifier/m
    )
  })
})
