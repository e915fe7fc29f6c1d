/**
 * Several instances of the example server in one process tree (`WEB_CONCURRENCY`,
 * `src/cluster.ts`): refused without a shared database and a shared session secret;
 * on `DATABASE_URL` (a fresh schema, dropped afterwards), instances that share the
 * port and each other's tokens, one that ends is started again, and SIGTERM stops
 * them all.
 */
import { randomUUID } from "node:crypto"
import { existsSync } from "node:fs"
import { request } from "node:http"
import { connect } from "node:net"
import { join } from "node:path"
import * as Pg from "pg"
import { afterAll, describe, expect, it } from "vitest"
import { launch, plainLines, type Started, waitFor } from "./support.js"

const databaseUrl = process.env.DATABASE_URL || undefined
const secret = "cluster-test-session-secret-0123456789abcdef"

/** A GET on a connection of its own (closed after), so that each may reach another instance. */
const get = (url: string, headers: Record<string, string> = {}) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: "close", ...headers } }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk) => (body += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    req.end()
  })

/** A POST of JSON on a connection of its own (closed after), as `get`. */
const post = (url: string, token: string, body: unknown) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent: false,
        headers: { connection: "close", authorization: `Bearer ${token}`, "content-type": "application/json" }
      },
      (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk) => (text += chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
      }
    )
    req.on("error", reject)
    req.end(JSON.stringify(body))
  })

/** The instances that answered `count` health checks, each on a new connection. */
const instancesAnswering = async (base: string, count: number) => {
  const seen = new Set<number>()
  for (let i = 0; i < count; i++) {
    const { body } = await get(`${base}/health`)
    seen.add((JSON.parse(body) as { instance: number }).instance)
  }
  return [...seen].sort()
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("example server: several instances (WEB_CONCURRENCY)", () => {
  it("WEB_CONCURRENCY: more than one instance without DATABASE_URL is refused naming the variable, and nothing starts (every refusal: config.test.ts)", async () => {
    const started = launch({
      WEB_CONCURRENCY: "2",
      SESSION_SECRET: secret,
      DATA_DIR: join(import.meta.dirname, ".never-created")
    })
    expect(await started.exited).toBe(1)
    expect(plainLines(started.output())).toEqual([
      'zhongbao: the configuration is not valid: (Invalid data at WEB_CONCURRENCY: "WEB_CONCURRENCY: more than one instance needs DATABASE_URL (the embedded database belongs to one process)")'
    ])
    expect(started.output()).not.toMatch(/is ready/)
    expect(existsSync(join(import.meta.dirname, ".never-created")), "no data folder made").toBe(false)
  })

  describe.runIf(databaseUrl !== undefined)("on DATABASE_URL", () => {
    const schema = `cluster_${randomUUID().replaceAll("-", "").slice(0, 12)}`
    let started: Started | undefined

    afterAll(async () => {
      if (started !== undefined && started.child.exitCode === null) {
        started.child.kill("SIGKILL")
        await started.exited
      }
      const client = new Pg.Client({ connectionString: databaseUrl })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await client.end()
    })

    it("WEB_CONCURRENCY=2: two instances share the port and accept each other's tokens and rate limits; instance 1 alone seeds and prints the demo tokens; each names itself in its log lines; an instance that ends is started again; SIGTERM stops them all", async () => {
      const s = launch({
        WEB_CONCURRENCY: "2",
        DATABASE_URL: databaseUrl!,
        DATABASE_SCHEMA: schema,
        SESSION_SECRET: secret,
        SEED: "true",
        RATE_LIMITS_JSON: '{"consulting":{"limit":3,"windowMillis":3600000}}'
      })
      started = s
      const base = (await waitFor(s, /zhongbao is ready at (http:\/\/[\d.:]+) .*\(2 instances\)/))[1]!
      const pids = new Map(
        [...s.output().matchAll(/instance (\d) \(pid (\d+)\) is ready/g)].map((m) => [
          Number(m[1]),
          Number(m[2])
        ])
      )
      expect([...pids.keys()].sort()).toEqual([1, 2])
      expect(s.output().match(/Demo accounts/g)).toHaveLength(1)
      const readyLines = s
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { message: string; annotations: Record<string, unknown> })
        .filter((line) => line.message === "ready")
      expect(
        readyLines.map((line) => line.annotations.instance).sort(),
        "each instance's log lines name it"
      ).toEqual([1, 2])

      expect(await instancesAnswering(base, 20)).toEqual([1, 2])
      const operator = /^ {2}operator\s+\S+\s+(\S+)$/m.exec(s.output())![1]!
      const pending = await Promise.all(
        Array.from({ length: 10 }, () =>
          get(`${base}/review/pending`, { authorization: `Bearer ${operator}` })
        )
      )
      expect(pending.map((r) => r.status)).toEqual(Array(10).fill(200))

      // RATE_LIMIT_STORE=database (the default): the consulting bucket of 3 counts for both instances.
      const institute = /^ {2}research institute\s+\S+\s+(\S+)$/m.exec(s.output())![1]!
      const hall = JSON.parse((await get(`${base}/hall`)).body) as { items: ReadonlyArray<{ id: string }> }
      const asks: Array<number> = []
      for (const demand of hall.items) {
        const first = await post(`${base}/demands/${demand.id}/consultations`, institute, { text: "请问" })
        if (first.status !== 201) continue
        asks.push(first.status)
        for (let i = 0; i < 7; i++)
          asks.push(
            (await post(`${base}/demands/${demand.id}/consultations`, institute, { text: "请问" })).status
          )
        break
      }
      expect(asks).toEqual([201, 201, 201, 429, 429, 429, 429, 429])

      process.kill(pids.get(2)!, "SIGKILL")
      const again = await waitFor(
        s,
        /instance 2 \(pid (\d+)\) ended on SIGKILL; starting it again[\s\S]*instance 2 \(pid (\d+)\) is ready/
      )
      const replacement = Number(again[2])
      expect(replacement).not.toBe(pids.get(2))
      expect(await instancesAnswering(base, 20)).toEqual([1, 2])

      s.child.kill("SIGTERM")
      expect(await s.exited).toBe(0)
      expect([pids.get(1)!, replacement].filter(alive)).toEqual([])
    })

    it("WEB_CONCURRENCY=2: on the instances' first start instance 1 listens while the database migrates (/health 200, /ready 503, other requests 503 server.starting), the other joins once ready; an instance started again later joins once ready", async () => {
      const fresh = `cluster_${randomUUID().replaceAll("-", "").slice(0, 12)}`
      const holder = new Pg.Client({ connectionString: databaseUrl })
      await holder.connect()
      let s: Started | undefined
      try {
        // The Migrator locks its table: holding that lock holds every instance's migration.
        await holder.query(`CREATE SCHEMA "${fresh}"`)
        await holder.query(
          `CREATE TABLE "${fresh}".effect_sql_migrations (migration_id integer PRIMARY KEY,
             created_at timestamptz NOT NULL DEFAULT now(), name text NOT NULL)`
        )
        await holder.query("BEGIN")
        await holder.query(`LOCK TABLE "${fresh}".effect_sql_migrations IN ACCESS EXCLUSIVE MODE`)
        s = launch({
          WEB_CONCURRENCY: "2",
          DATABASE_URL: databaseUrl!,
          DATABASE_SCHEMA: fresh,
          SESSION_SECRET: secret,
          SEED: "false"
        })
        const base = (
          await waitFor(
            s,
            /"message":"listening: \/health answers; migrating the database"[^\n]*"url":"(http:\/\/[\d.:]+)"/
          )
        )[1]!
        expect(await instancesAnswering(base, 10), "instance 1 answers /health alone").toEqual([1])
        const [ready, hall] = await Promise.all([get(`${base}/ready`), get(`${base}/hall`)])
        expect(ready.status).toBe(503)
        expect(hall.status).toBe(503)
        expect(JSON.parse(hall.body)).toMatchObject({ code: "server.starting" })
        expect(s.output(), "still migrating").not.toMatch(/is ready/)
        await holder.query("COMMIT")
        await waitFor(s, /zhongbao is ready at (http:\/\/[\d.:]+) .*\(2 instances\)/)
        expect(await instancesAnswering(base, 20)).toEqual([1, 2])
        const first = Number(/instance 1 \(pid (\d+)\) is ready/.exec(s.output())![1])
        process.kill(first, "SIGKILL")
        await waitFor(
          s,
          /instance 1 \(pid \d+\) ended on SIGKILL; starting it again[\s\S]*instance 1 \(pid \d+\) is ready/
        )
        expect(
          s.output().match(/listening: \/health answers/g),
          "instance 1 started again joined once ready"
        ).toHaveLength(1)
        s.child.kill("SIGTERM")
        expect(await s.exited).toBe(0)
      } finally {
        if (s !== undefined && s.child.exitCode === null) {
          s.child.kill("SIGKILL")
          await s.exited
        }
        await holder.query("ROLLBACK").catch(() => undefined)
        await holder.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`)
        await holder.end()
      }
    })

    it("WEB_CONCURRENCY=2: a signal within a second of the first is the same stop (the instances' draining goes on); a later one ends the instances at once and the process exits with 1", async () => {
      const s = launch({
        WEB_CONCURRENCY: "2",
        DATABASE_URL: databaseUrl!,
        DATABASE_SCHEMA: schema,
        SESSION_SECRET: secret,
        SEED: "false"
      })
      started = s
      const base = (await waitFor(s, /zhongbao is ready at (http:\/\/[\d.:]+) .*\(2 instances\)/))[1]!
      const pids = [...s.output().matchAll(/instance \d \(pid (\d+)\) is ready/g)].map((m) => Number(m[1]))
      // Requests half sent on both instances keep them draining once they stop.
      const sockets = Array.from({ length: 4 }, () => {
        const socket = connect(Number(new URL(base).port), "127.0.0.1")
        socket.on("error", () => {})
        socket.write(
          "POST /members HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        return socket
      })
      try {
        await new Promise((resolve) => setTimeout(resolve, 300))
        s.child.kill("SIGTERM")
        await waitFor(s, /SIGTERM: stopping 2 instances/)
        const first = Date.now()
        s.child.kill("SIGINT")
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, first + 1_200 - Date.now())))
        expect(s.child.exitCode, "the repeat within the window is the same stop").toBeNull()
        expect(s.output()).not.toMatch(/again/)
        const later = Date.now()
        s.child.kill("SIGTERM")
        expect(await s.exited).toBe(1)
        expect(Date.now() - later, "without waiting for the drain").toBeLessThan(10_000)
        expect(s.output()).toMatch(/SIGTERM again: ending \d instances now/)
        expect(pids.filter(alive)).toEqual([])
      } finally {
        for (const socket of sockets) socket.destroy()
      }
    })
  })
})
