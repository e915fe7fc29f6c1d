/**
 * How the example server starts and fails to: a configuration it cannot use and a
 * start that fails (the port taken, the data folder held by another process) end
 * with one line that names the cause and leave nothing behind; `/ready` follows the
 * database; two processes seeding one empty database write one demo.
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { existsSync, mkdtempSync } from "node:fs"
import { createServer, type Server, type Socket, connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Pg from "pg"
import { afterAll, describe, expect, it, onTestFinished } from "vitest"
import { inherited, launch as launchServer, runOperator, type Started, waitFor } from "./support.js"

const databaseUrl = process.env.DATABASE_URL || undefined

const running: Array<Started> = []

const launch = (env: Record<string, string>): Started => {
  const started = launchServer(env)
  running.push(started)
  return started
}

const stop = async (started: Started) => {
  if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill("SIGTERM")
  return started.exited
}

/** The lines of an output that are not JSON log lines. */
const plainLines = (output: string) =>
  output.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("{"))

const dataDir = () => mkdtempSync(join(tmpdir(), "zhongbao-startup-"))

const schemas: Array<string> = []
const freshSchema = () => {
  const schema = `startup_${randomUUID().replaceAll("-", "").slice(0, 12)}`
  schemas.push(schema)
  return schema
}

afterAll(async () => {
  await Promise.all(running.map(stop))
  if (databaseUrl !== undefined && schemas.length > 0) {
    const client = new Pg.Client({ connectionString: databaseUrl })
    await client.connect()
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  }
})

describe("example server: starting", () => {
  it("PORT outside 0–65535, a DATABASE_URL that is not a PostgreSQL URL, a SESSION_SECRET under 32 characters, a SETTINGS_JSON the platform cannot use: refused on one line naming the variable", async () => {
    const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
      [
        { PORT: "70000" },
        'zhongbao: the configuration is not valid: (Invalid data at PORT: "PORT must be a port number from 0 to 65535 (0: any free port)")'
      ],
      [
        { DATABASE_URL: "notaurl" },
        'zhongbao: the configuration is not valid: (Invalid data at DATABASE_URL: "DATABASE_URL must be a PostgreSQL URL, postgres://user@host:port/database")'
      ],
      [
        { SESSION_SECRET: "short" },
        'zhongbao: the configuration is not valid: (Invalid data at SESSION_SECRET: "SESSION_SECRET must be a secret of at least 32 characters (or none: sessions in memory)")'
      ],
      [
        { SETTINGS_JSON: '{"timeZone":"CST"}', DATA_DIR: dataDir() },
        "zhongbao: could not start: SETTINGS_JSON: timeZone: an IANA time zone name, Area/Location or UTC (not an abbreviation such as CST)"
      ]
    ]
    for (const [env, line] of cases) {
      const started = launch({ DATA_DIR: join(dataDir(), "never"), ...env })
      expect(await started.exited, JSON.stringify(env)).toBe(1)
      expect(plainLines(started.output()), JSON.stringify(env)).toEqual([line])
    }
  })

  it("SEED defaults to true on the embedded database: the demo is seeded and its tokens printed, the operator's working", async () => {
    const started = launch({ DATA_DIR: dataDir(), WORKERS: "false" })
    const base = (await waitFor(started, /zhongbao is ready at (http:\/\/[\d.:]+)/))[1]!
    const operatorToken = /^ {2}operator\s+\S+\s+(\S+)$/m.exec(started.output())?.[1]
    expect(operatorToken, "the operator's token is printed").toBeDefined()
    const pending = await fetch(`${base}/review/pending`, {
      headers: { authorization: `Bearer ${operatorToken}` }
    })
    expect(pending.status).toBe(200)
    const hall = (await (await fetch(`${base}/hall`)).json()) as { items: Array<unknown> }
    expect(hall.items.length, "the demo's published demands").toBeGreaterThan(0)
    expect(await stop(started)).toBe(0)
  })

  it("a port already taken, or a data folder another process holds: the start fails on one line naming it, gives the folder back, and the first server goes on", async () => {
    const folder = dataDir()
    const first = launch({ DATA_DIR: folder })
    const base = (await waitFor(first, /zhongbao is ready at (http:\/\/[\d.:]+)/))[1]!
    const { port } = new URL(base)

    const other = dataDir()
    const samePort = launch({ DATA_DIR: other, PORT: port })
    expect(await samePort.exited).toBe(1)
    const portLines = plainLines(samePort.output())
    expect(portLines).toEqual([
      `zhongbao: could not start: listen EADDRINUSE: address already in use 127.0.0.1:${port}`
    ])
    expect(existsSync(join(other, "zhongbao.lock")), "its own folder's lock was given back").toBe(false)

    const sameFolder = launch({ DATA_DIR: folder })
    expect(await sameFolder.exited).toBe(1)
    expect(plainLines(sameFolder.output())).toEqual([
      `zhongbao: could not start: PGlite could not be started: the data folder ${folder} is in use by another process, or another layer of this one (its lock ${join(folder, "zhongbao.lock")} was refreshed within the last 30 seconds, and still was after 5 seconds of waiting): PGlite serves one process at a time, and two would overwrite each other's writes`
    ])

    expect((await fetch(`${base}/ready`)).status).toBe(200)
    expect(existsSync(join(folder, "zhongbao.lock"))).toBe(true)
    expect(await stop(first)).toBe(0)
    expect(existsSync(join(folder, "zhongbao.lock")), "given back on a graceful stop").toBe(false)
  })

  it("while it starts (a new PGlite database, the demo seeded), it already listens: /health answers 200, /ready 503, other requests 503 server.starting; once ready, they are served", async () => {
    const started = launch({ DATA_DIR: dataDir(), SEED: "true" })
    const base = (
      await waitFor(
        started,
        /"message":"listening: \/health answers; migrating the database"[^\n]*"url":"(http:\/\/[\d.:]+)"/
      )
    )[1]!
    expect(started.output()).not.toMatch(/zhongbao is ready at/)
    const [health, ready, hall] = await Promise.all(
      ["/health", "/ready", "/hall"].map((path) => fetch(`${base}${path}`))
    )
    expect(health!.status).toBe(200)
    expect(ready!.status).toBe(503)
    expect(await ready!.json()).toEqual({ ready: false, reason: "starting or stopping" })
    expect(hall!.status).toBe(503)
    expect(await hall!.json()).toMatchObject({ code: "server.starting" })
    expect(started.output(), "all three answered before the server was ready").not.toMatch(
      /zhongbao is ready at/
    )
    await waitFor(started, /zhongbao is ready at/)
    expect((await fetch(`${base}/hall`)).status).toBe(200)
    expect((await fetch(`${base}/ready`)).status).toBe(200)
    expect(await stop(started)).toBe(0)
  })

  it("SIGTERM while it starts (the demo being seeded): it stops what it started and exits 0, the data folder's lock given back; started again at once, it comes up with the demo", async () => {
    const folder = dataDir()
    const first = launch({ DATA_DIR: folder, SEED: "true" })
    await waitFor(first, /migrating the database and starting services/)
    first.child.kill("SIGTERM")
    expect(await first.exited, first.output().slice(-2000)).toBe(0)
    expect(first.output()).toMatch(/SIGTERM: shutting down/)
    expect(first.output()).toMatch(/stopped before it was ready/)
    expect(first.output()).not.toMatch(/zhongbao is ready at/)
    expect(existsSync(join(folder, "zhongbao.lock")), "the lock given back").toBe(false)
    const again = launch({ DATA_DIR: folder, SEED: "true" })
    await waitFor(again, /zhongbao is ready at/)
    expect(again.output()).toMatch(/^ {2}operator\s/m)
    expect(await stop(again)).toBe(0)
  })

  it.each([
    ["SIGTERM to npm (a container's stop)", "npm"],
    ["SIGINT to the process group (a terminal's Ctrl-C)", "group"]
  ] as const)(
    "the root README's `npm start`: %s stops the server it started gracefully, once: nothing is left running, the data folder's lock is given back",
    async (_, target) => {
      const root = join(import.meta.dirname, "..", "..", "..")
      const folder = dataDir()
      let output = ""
      const npm = spawn(process.platform === "win32" ? "npm.cmd" : "npm", ["start"], {
        cwd: root,
        env: { ...inherited, PORT: "0", LOG_FORMAT: "json", SEED: "false", DATA_DIR: folder },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true
      })
      onTestFinished(() => {
        try {
          process.kill(-npm.pid!, "SIGKILL")
        } catch {
          // the group has ended
        }
      })
      npm.stdout!.on("data", (chunk) => (output += chunk))
      npm.stderr!.on("data", (chunk) => (output += chunk))
      const npmExited = new Promise<number | null>((resolve) => npm.once("exit", resolve))
      const started = { child: npm, output: () => output, exited: npmExited }
      const base = (await waitFor(started, /zhongbao is ready at (http:\/\/[\d.:]+)/))[1]!
      expect((await fetch(`${base}/health`)).status).toBe(200)
      if (target === "npm") npm.kill("SIGTERM")
      else process.kill(-npm.pid!, "SIGINT")
      const code = await Promise.race([
        npmExited,
        new Promise((resolve) => setTimeout(() => resolve("still running"), 30_000))
      ])
      expect(code, output.slice(-2000)).toBe(0)
      expect(output).toMatch(target === "npm" ? /SIGTERM: shutting down/ : /SIGINT: shutting down/)
      expect(output).not.toMatch(/again: exiting now/)
      const answering = await fetch(`${base}/health`).then(
        () => true,
        () => false
      )
      expect(answering, "the server still answers after npm was stopped").toBe(false)
      expect(existsSync(join(folder, "zhongbao.lock")), "the lock given back").toBe(false)
    }
  )

  it("npm run operator: the first operator of a database without the demo, and a token the server accepts; run again, the same account and another token", async () => {
    const folder = dataDir()
    const env = { DATA_DIR: folder, SESSION_SECRET: "operator-test-session-secret-0123456789abcdef" }
    const first = await runOperator(["王敏", "13800000000"], env)
    expect(first.code, first.output).toBe(0)
    expect(first.output).toMatch(/^operator account operator: 王敏, \+8613800000000$/m)
    const again = await runOperator(["李强", "13900000000"], env)
    expect(again.code, again.output).toBe(0)
    expect(again.output, "the account found again, as it was").toMatch(
      /^operator account operator: 王敏, \+8613800000000 \(there already: its name and phone unchanged\)$/m
    )
    const tokens = [first, again].map((run) => /^Authorization: Bearer (\S+)$/m.exec(run.output)?.[1])
    expect(tokens[0]).toBeDefined()
    expect(tokens[1]).toBeDefined()
    expect(tokens[1]).not.toBe(tokens[0])

    const server = launch({ ...env, SEED: "false", WORKERS: "false" })
    const base = (await waitFor(server, /zhongbao is ready at (http:\/\/[\d.:]+)/))[1]!
    for (const token of tokens) {
      const pending = await fetch(`${base}/review/pending`, { headers: { authorization: `Bearer ${token}` } })
      expect(pending.status, "an operator's endpoint").toBe(200)
    }
    const member = await fetch(`${base}/members`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens[0]}`, "content-type": "application/json" },
      body: JSON.stringify({ kind: "enterprise", name: "津南精密制造有限公司", region: "天津市津南区" })
    })
    expect(member.status, await member.clone().text()).toBe(201)
    expect(await stop(server)).toBe(0)
  })

  it("npm run operator: without SESSION_SECRET, with a phone that is not one, or without its arguments: refused on one line naming it, and the data folder is never made", async () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, Record<string, string>, string]> = [
      [
        ["王敏", "13800000000"],
        {},
        "zhongbao operator: SESSION_SECRET is needed, the server's: without one the server keeps its sessions in its own memory, where a token issued here is unknown"
      ],
      [
        ["王敏", "12"],
        { SESSION_SECRET: "operator-test-session-secret-0123456789abcdef" },
        "zhongbao operator: phone: a mobile number that can receive SMS"
      ],
      [
        ["王敏"],
        { SESSION_SECRET: "operator-test-session-secret-0123456789abcdef" },
        "zhongbao operator: usage: npm run operator -- <name> <phone>, for example npm run operator -- 王敏 13800000000"
      ]
    ]
    for (const [args, env, line] of cases) {
      const folder = join(dataDir(), "never")
      const run = await runOperator(args, { DATA_DIR: folder, ...env })
      expect(run.code, run.output).toBe(1)
      expect(plainLines(run.output)).toEqual([line])
      expect(existsSync(folder), "nothing is written").toBe(false)
    }
  })

  it("ACCESS_LOG=true: one log line per request with its method, path, status and milliseconds; HOST=::1 prints a URL with the address in brackets", async () => {
    const started = launch({ DATA_DIR: dataDir(), ACCESS_LOG: "true", HOST: "::1", SEED: "false" })
    const base = (await waitFor(started, /zhongbao is ready at (http:\/\/\S+) /))[1]!
    expect(base).toMatch(/^http:\/\/\[::1\]:\d+$/)
    expect((await fetch(`${base}/health`)).status).toBe(200)
    expect((await fetch(`${base}/hall?limit=1`)).status).toBe(200)
    expect((await fetch(`${base}/nowhere`)).status).toBe(404)
    await waitFor(started, /"path":"\/nowhere"/)
    const requests = started
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { message: string; annotations: Record<string, unknown> })
      .filter((line) => line.message === "request")
      .map(({ annotations: { method, path, status, millis } }) => ({
        method,
        path,
        status,
        ms: typeof millis
      }))
    expect(requests).toEqual([
      { method: "GET", path: "/health", status: 200, ms: "number" },
      { method: "GET", path: "/hall?limit=1", status: 200, ms: "number" },
      { method: "GET", path: "/nowhere", status: 404, ms: "number" }
    ])
    expect(await stop(started)).toBe(0)
  })

  it("a database that cannot be reached: the start fails on one line naming the address", async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
    const { port } = probe.address() as { port: number }
    await new Promise((resolve) => probe.close(resolve))
    const started = launch({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/test` })
    expect(await started.exited).toBe(1)
    expect(plainLines(started.output())).toEqual([
      `zhongbao: could not start: PgDatabase.connect: the database could not be reached: PgDatabase: failed to connect: connect ECONNREFUSED 127.0.0.1:${port}`
    ])
  })
})

/**
 * A TCP proxy to PostgreSQL that can be cut (its connections destroyed, new ones
 * refused) and mended, so that the database stops answering while it keeps running.
 */
const proxy = async (target: URL) => {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const open = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname)
      for (const socket of [client, upstream]) {
        sockets.add(socket)
        socket.on("error", () => {})
        socket.on("close", () => {
          sockets.delete(socket)
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve))
    port = (server.address() as { port: number }).port
  }
  await open()
  return {
    url: () => {
      const url = new URL(target)
      url.hostname = "127.0.0.1"
      url.port = String(port)
      return url.toString()
    },
    cut: async () => {
      const closed = new Promise((resolve) => server!.close(resolve))
      for (const socket of sockets) socket.destroy()
      await closed
    },
    mend: open
  }
}

const until = async (what: () => Promise<boolean>, ms = 30_000) => {
  const end = Date.now() + ms
  while (!(await what())) {
    if (Date.now() > end) return false
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return true
}

describe.skipIf(databaseUrl === undefined)("example server on DATABASE_URL", () => {
  it("/ready: 503 naming the database while it does not answer, 200 again once it does; /health stays 200", async () => {
    const database = await proxy(new URL(databaseUrl!))
    const started = launch({
      DATABASE_URL: database.url(),
      DATABASE_SCHEMA: freshSchema(),
      DATABASE_CONNECT_TIMEOUT: "1 second",
      SEED: "false",
      WORKERS: "false"
    })
    const base = (await waitFor(started, /zhongbao is ready at (http:\/\/[\d.:]+)/))[1]!
    const ready = async () => {
      const res = await fetch(`${base}/ready`)
      return { status: res.status, body: await res.json() }
    }
    expect(await ready()).toEqual({ status: 200, body: { ready: true } })
    await database.cut()
    expect(await until(async () => (await ready()).status === 503)).toBe(true)
    expect(await ready()).toEqual({
      status: 503,
      body: { ready: false, reason: "the database does not answer" }
    })
    expect((await fetch(`${base}/health`)).status).toBe(200)
    await database.mend()
    expect(await until(async () => (await ready()).status === 200)).toBe(true)
    expect(await stop(started)).toBe(0)
  })

  it("SEED defaults to false on DATABASE_URL: an empty database stays empty and no token is printed", async () => {
    const schema = freshSchema()
    const started = launch({ DATABASE_URL: databaseUrl!, DATABASE_SCHEMA: schema, WORKERS: "false" })
    await waitFor(started, /zhongbao is ready at (http:\/\/[\d.:]+)/)
    expect(started.output()).not.toMatch(/^ {2}operator\s/m)
    const client = new Pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      const members = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".member`)
      expect(members.rows[0]!.n).toBe(0)
      const accounts = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".account`)
      expect(accounts.rows[0]!.n).toBe(0)
    } finally {
      await client.end()
    }
    expect(await stop(started)).toBe(0)
  })

  it("three processes that start on one empty database at once with SEED=true write one demo, and all print working tokens", async () => {
    const schema = freshSchema()
    const env = { DATABASE_URL: databaseUrl!, DATABASE_SCHEMA: schema, WORKERS: "false", SEED: "true" }
    const pair = [launch(env), launch(env), launch(env)]
    const bases = await Promise.all(
      pair.map(async (s) => (await waitFor(s, /zhongbao is ready at (http:\/\/[\d.:]+)/))[1]!)
    )
    const client = new Pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      const members = await client.query<{ name: string; n: number }>(
        `SELECT name, count(*)::int AS n FROM "${schema}".member GROUP BY name ORDER BY name`
      )
      expect(members.rows.map((r) => r.n)).toEqual([1, 1, 1, 1, 1])
      const demands = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".demand`)
      expect(demands.rows[0]!.n).toBe(7)
    } finally {
      await client.end()
    }
    for (const [k, s] of pair.entries()) {
      const token = /^ {2}operator\s+\S+\s+(\S+)$/m.exec(s.output())?.[1]
      expect(token, `process ${k + 1} printed the operator's token`).toBeDefined()
      const res = await fetch(`${bases[k]}/review/pending`, { headers: { authorization: `Bearer ${token}` } })
      expect(res.status).toBe(200)
    }
    await Promise.all(pair.map(stop))
  })
})
