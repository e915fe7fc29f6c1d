/**
 * `npm start`: the example server on embedded PGlite (or `DATABASE_URL`), with API
 * docs, and demo data as `SEED` says (by default on the embedded database only). Stops
 * gracefully on SIGTERM and SIGINT; a second one a second or more after the first
 * exits at once (see {@link sameStopMillis}). With `WEB_CONCURRENCY`
 * above 1, this process starts that many instances and watches them (`cluster.ts`).
 */
import cluster from "node:cluster"
import * as Effect from "effect/Effect"
import type { App } from "./app.js"
import { instanceNumber, reportReady, runPrimary, sameStopMillis } from "./cluster.js"
import { explain, refusalLine, ServerConfig } from "./config.js"

const config = await Effect.runPromise(
  Effect.catchAll(ServerConfig, (error) =>
    Effect.sync(() => {
      console.error(refusalLine(error))
      return process.exit(1)
    })
  )
)

if (config.instances > 1 && cluster.isPrimary) {
  process.exit(await runPrimary(config))
}

const instance = instanceNumber()
const prefix = instance === null ? "" : `instance ${instance}: `
/** Aborted by a signal that comes while the server starts: `start` stops what it started. */
const starting = new AbortController()
let app: App | undefined
let stoppingSince: number | undefined
const shutdown = (signal: string) => {
  if (stoppingSince !== undefined) {
    if (performance.now() - stoppingSince < sameStopMillis) return
    console.log(`${prefix}${signal} again: exiting now`)
    return process.exit(1)
  }
  stoppingSince = performance.now()
  console.log(`${prefix}${signal}: shutting down`)
  if (app === undefined) return starting.abort()
  app.stop().then(
    () => process.exit(0),
    (error) => {
      console.error(error)
      process.exit(1)
    }
  )
}
process.on("SIGTERM", () => shutdown("SIGTERM"))
process.on("SIGINT", () => shutdown("SIGINT"))

// Loaded once the configuration holds, and never by a primary of several instances:
// a refusal comes sooner, and the primary holds none of the server's modules.
const { start } = await import("./app.js")
app = await start(config, starting.signal).catch((error: unknown) => {
  if (starting.signal.aborted) {
    console.log(`${prefix}stopped before it was ready`)
    return process.exit(0)
  }
  console.error(
    `zhongbao: could not start${instance === null ? "" : ` instance ${instance}`}: ${explain(error)}`
  )
  return process.exit(1)
})
// A signal that came after start's last look at it: the stop it asked for.
if (starting.signal.aborted) {
  await app.stop()
  console.log(`${prefix}stopped`)
  process.exit(0)
}
if (app.demo !== null) {
  console.log("\nDemo accounts (send as `Authorization: Bearer <token>`):")
  for (const a of app.demo) console.log(`  ${a.role.padEnd(26)} ${a.name.padEnd(16)} ${a.token}`)
}
if (instance === null) {
  console.log(
    `\nzhongbao is ready at ${app.url} — API docs: ${app.url}/docs, OpenAPI: ${app.url}/openapi.json\n`
  )
}
reportReady(app.url)
