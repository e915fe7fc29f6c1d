/**
 * Cold start to ready of the example server (issue goals: ≤ 1.5 s on PostgreSQL,
 * ≤ 5 s on a first run of embedded PGlite): spawns `examples/server` and times the
 * wall clock from spawn to its "ready" line, three times each, printing the figures.
 * PostgreSQL runs use `DATABASE_URL` (default the local test database) and a fresh
 * schema each time; PGlite runs use a fresh data folder each time.
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const once = (env: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const started = performance.now()
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=@zhongbao/source", "src/main.ts"],
      {
        cwd: join(import.meta.dirname, "..", "examples", "server"),
        env: { ...(process.env as Record<string, string>), PORT: "0", LOG_FORMAT: "json", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      }
    )
    let output = ""
    let done = false
    const onData = (chunk: Buffer) => {
      output += chunk
      if (!done && output.includes("zhongbao is ready at")) {
        done = true
        const ms = performance.now() - started
        child.kill("SIGTERM")
        child.once("exit", () => resolve(ms))
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => {
      if (!output.includes("zhongbao is ready at"))
        reject(new Error(`exited ${code}: ${output.slice(-1000)}`))
    })
  })

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const runs = 3
const pg: Array<number> = []
const lite: Array<number> = []
for (let i = 0; i < runs; i++) {
  pg.push(
    await once({
      DATABASE_URL: url,
      DATABASE_SCHEMA: `cold_${randomUUID().replaceAll("-", "").slice(0, 10)}`,
      SEED: "true"
    })
  )
  lite.push(
    await once({ DATA_DIR: mkdtempSync(join(tmpdir(), "zhongbao-cold-")), DATABASE_URL: "", SEED: "true" })
  )
}
const fmt = (xs: Array<number>) => xs.map((x) => (x / 1000).toFixed(2)).join(" / ")
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! / 1000
console.log(
  "cold start to ready (spawn → ready line: TypeScript loaded through tsx, migrations and demo seed included), seconds"
)
console.log(`  PostgreSQL (fresh schema)   median ${median(pg).toFixed(2)}  runs ${fmt(pg)}  goal ≤ 1.5`)
console.log(`  embedded PGlite (new dir)   median ${median(lite).toFixed(2)}  runs ${fmt(lite)}  goal ≤ 5`)
