/**
 * How the example server starts and fails to: a configuration it cannot use and a
 * start that fails (the port taken, the data folder held by another process) end
 * with one line that names the cause and leave nothing behind; `/ready` follows the
 * database; two processes seeding one empty database write one demo. How it stops:
 * `stopping.test.ts`; the operator's command: `operator.test.ts`.
 */
import { randomUUID } from "node:crypto"
import { existsSync } from "node:fs"
import { createServer, type Server, type Socket, connect } from "node:net"
import { join } from "node:path"
import * as Pg from "pg"
import { Settings } from "@zhongbao/core"
import { afterAll, describe, expect, it } from "vitest"
import { databaseDir, dataDir, inBatches, launch, plainLines, stop, stopAll, waitFor } from "./support.js"

const databaseUrl = process.env.DATABASE_URL || undefined

const schemas: Array<string> = []
const freshSchema = () => {
  const schema = `startup_${randomUUID().replaceAll("-", "").slice(0, 12)}`
  schemas.push(schema)
  return schema
}

afterAll(async () => {
  await stopAll()
  if (databaseUrl !== undefined && schemas.length > 0) {
    const client = new Pg.Client({ connectionString: databaseUrl })
    await client.connect()
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  }
})

describe("example server: starting", () => {
  it("a configuration it cannot use (PORT outside 0–65535; every refusal: config.test.ts) and a SETTINGS_JSON the platform cannot use or with a key that is no setting, an SMS variable its layer refuses: the process exits 1 on one line naming the variable, nothing started: the database neither reached nor made", async () => {
    const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
      [
        { PORT: "70000" },
        'zhongbao: the configuration is not valid: (Invalid data at PORT: "PORT must be a port number from 0 to 65535 (0: any free port)")'
      ],
      [
        { SETTINGS_JSON: '{"numberingPrefx":"TJ"}' },
        `zhongbao: could not start: SETTINGS_JSON: numberingPrefx: is unexpected, expected: ${Object.keys(
          Settings.defaults
        )
          .map((key) => `"${key}"`)
          .join(" | ")}`
      ],
      [
        { SETTINGS_JSON: '{"timeZone":"CST"}' },
        "zhongbao: could not start: SETTINGS_JSON: timeZone: an IANA time zone name, Area/Location or UTC (not an abbreviation such as CST)"
      ],
      // The SMS sender's variables, read by its layer, are named as the server's are.
      [
        { SMS_LANGUAGE: "fr" },
        'zhongbao: could not start: (Invalid data at SMS_LANGUAGE: "Expected one of (zh-CN, en) but received "fr"")'
      ],
      [
        {
          SMS_PROVIDER: "aliyun",
          ALIYUN_SMS_ACCESS_KEY_ID: "id",
          ALIYUN_SMS_ACCESS_KEY_SECRET: "secret",
          ALIYUN_SMS_SIGN_NAME: "天津科技",
          SMS_THROTTLE_PER_HOUR: "0"
        },
        'zhongbao: could not start: (Invalid data at SMS_THROTTLE_PER_HOUR: "SMS_THROTTLE_PER_HOUR must be a positive integer")'
      ]
    ]
    await inBatches(cases, async ([env, line]) => {
      const folder = join(dataDir(), "never")
      const started = launch({ DATA_DIR: folder, ...env })
      expect(await started.exited, JSON.stringify(env)).toBe(1)
      expect(plainLines(started.output()), JSON.stringify(env)).toEqual([line])
      expect(existsSync(folder), `${JSON.stringify(env)}: no database made`).toBe(false)
    })
  })

  it("SEED defaults to true on the embedded database: the demo is seeded and its tokens printed, the operator's working", async () => {
    const started = launch({ DATA_DIR: databaseDir(), WORKERS: "false" })
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
    const folder = databaseDir()
    const first = launch({ DATA_DIR: folder })
    const base = (await waitFor(first, /zhongbao is ready at (http:\/\/[\d.:]+)/))[1]!
    const { port } = new URL(base)

    const other = databaseDir()
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
    // The API's declared Unavailable error, in its language, with Retry-After.
    expect(await hall!.json()).toEqual({
      _tag: "Unavailable",
      code: "server.starting",
      message: "服务正在启动（数据库迁移中），请几秒后重试"
    })
    expect(hall!.headers.get("retry-after")).toBe("5")
    expect(hall!.headers.get("content-language")).toBe("zh-CN")
    expect(started.output(), "all three answered before the server was ready").not.toMatch(
      /zhongbao is ready at/
    )
    await waitFor(started, /zhongbao is ready at/)
    expect((await fetch(`${base}/hall`)).status).toBe(200)
    expect((await fetch(`${base}/ready`)).status).toBe(200)
    expect(await stop(started)).toBe(0)
  })

  it("MAX_CONNECTIONS=2: a third connection held open at once is closed as it comes; once one ends, a new one is served", async () => {
    const started = launch({ DATA_DIR: databaseDir(), MAX_CONNECTIONS: "2", SEED: "false" })
    const base = new URL((await waitFor(started, /zhongbao is ready at (http:\/\/\S+) /))[1]!)
    const open = async () => {
      const socket = connect(Number(base.port), base.hostname)
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve)
        socket.once("error", reject)
      })
      socket.on("error", () => {})
      return socket
    }
    /** What a request on `socket` gets: its status line, or `closed` when the server ends the connection. */
    const ask = (socket: Socket) =>
      new Promise<string>((resolve) => {
        let text = ""
        socket.on("data", (chunk) => {
          text += chunk
          if (text.includes("\r\n")) resolve(text.split("\r\n")[0]!)
        })
        socket.once("close", () => resolve("closed"))
        socket.write(`GET /health HTTP/1.1\r\nHost: ${base.host}\r\n\r\n`)
      })
    const [first, second] = [await open(), await open()]
    expect(await ask(first)).toBe("HTTP/1.1 200 OK")
    const third = await open()
    expect(await ask(third)).toBe("closed")
    expect(await ask(second)).toBe("HTTP/1.1 200 OK")
    first.destroy()
    second.destroy()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const fourth = await open()
    expect(await ask(fourth)).toBe("HTTP/1.1 200 OK")
    fourth.destroy()
    expect(await stop(started)).toBe(0)
  })

  it("ACCESS_LOG=true: one log line per request with its method, path, status and milliseconds; HOST=::1 prints a URL with the address in brackets", async () => {
    const started = launch({ DATA_DIR: databaseDir(), ACCESS_LOG: "true", HOST: "::1", SEED: "false" })
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
