/**
 * `npm run migrate` (from the repository's root; in this folder `npm run migrate`, and
 * `node dist/migrate.js` in a built deployment): migrates the configured database
 * (`DATABASE_URL` or `DATA_DIR`, `DATABASE_SCHEMA`) as the server does when it starts,
 * and prints the migrations it applied, or that none was due. For a deployment that
 * migrates in a step of its own, under a role that may change the schema, and starts
 * its servers with `MIGRATE=false` under a role that only reads and writes rows. A
 * configuration it cannot use, or a database it cannot migrate, is refused on one
 * line, and the process exits with 1.
 */
import { PgMigrations } from "@zhongbao/adapter-pg"
import * as Effect from "effect/Effect"
import { database } from "./app.js"
import { commandConfig, explain, refuser } from "./config.js"

const refuse = refuser("migrate")

const config = await commandConfig(refuse)

await Effect.runPromise(
  Effect.scoped(Effect.provide(PgMigrations.run({ schema: config.schema }), database(config)))
).then(
  (applied) =>
    console.log(
      applied.length === 0
        ? `schema ${config.schema}: up to date, no migration due`
        : `schema ${config.schema}: applied ${applied.map(([id, name]) => `${id} ${name}`).join(", ")}`
    ),
  (error: unknown) => refuse(`could not migrate: ${explain(error)}`)
)
