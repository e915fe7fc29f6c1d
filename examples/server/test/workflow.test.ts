/**
 * The guide's whole workflow over HTTP against the example server started as a
 * child process: publish → review → number → respond → consult → adopt → SMS in the
 * console sender → service log → solved with fee → reward application with a proof
 * file → approval; then a graceful stop. On embedded PGlite in a fresh folder, or on
 * `DATABASE_URL` in a fresh schema, dropped afterwards.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdtempSync, readFileSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import * as Pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

let child: ChildProcess
let schema: string | undefined
let output = ""
let base = ""
const tokens = new Map<string, string>()
const names = new Map<string, string>()

const waitFor = (pattern: RegExp, ms = 90_000) =>
  new Promise<RegExpExecArray>((resolve, reject) => {
    const started = Date.now()
    const check = () => {
      const match = pattern.exec(output)
      if (match) return resolve(match)
      if (Date.now() - started > ms)
        return reject(new Error(`timed out waiting for ${pattern}\n${output.slice(-2000)}`))
      setTimeout(check, 50)
    }
    check()
  })

const { SESSION_SECRET: _inMemorySessions, ...inherited } = process.env as Record<string, string>
const env: Record<string, string> = { ...inherited, PORT: "0", LOG_FORMAT: "json", SEED: "true" }

/**
 * What the root README's curl workflow needs, as it says: bash, curl, jq and GNU
 * `date -d`. Without them (macOS, say) that test is skipped; CI's machines have them.
 */
const readmeTools =
  spawnSync("bash", ["-c", "command -v curl && command -v jq && date -d '+60 days' +%F"], { stdio: "ignore" })
    .status === 0

/** Starts the server on `env`'s data; `base` and `tokens` are what it printed. */
const launch = async () => {
  output = ""
  tokens.clear()
  names.clear()
  child = spawn(process.execPath, ["--import", "tsx", "--conditions=@zhongbao/source", "src/main.ts"], {
    cwd: join(import.meta.dirname, ".."),
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  base = (await waitFor(/zhongbao is ready at (http:\/\/[\d.:]+)/))[1]!
  for (const line of output.split("\n")) {
    const match =
      /^ {2}(operator|enterprise|commissioning enterprise|transfer institution|research institute|expert)\s+(\S+)\s+(\S+)$/.exec(
        line
      )
    if (match) {
      names.set(match[1]!, match[2]!)
      tokens.set(match[1]!, match[3]!)
    }
  }
}

beforeAll(async () => {
  if (process.env.DATABASE_URL) {
    schema = `workflow_${randomUUID().replaceAll("-", "").slice(0, 12)}`
    env.DATABASE_SCHEMA = schema
  } else env.DATA_DIR = mkdtempSync(join(tmpdir(), "zhongbao-server-"))
  await launch()
})

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill("SIGTERM")
    await new Promise((resolve) => child.once("exit", resolve))
  }
  if (schema !== undefined) {
    const client = new Pg.Client({ connectionString: process.env.DATABASE_URL })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  }
})

const call = async (role: string, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens.get(role)}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`)
  return text === "" ? undefined : JSON.parse(text)
}

const inDays = (days: number) => {
  const shanghai = new Date(Date.now() + 8 * 3600_000 + days * 86_400_000)
  return shanghai.toISOString().slice(0, 10)
}

describe("example server", () => {
  it("is healthy and ready, and serves its API docs", async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200)
    expect(await (await fetch(`${base}/ready`)).json()).toEqual({ ready: true })
    expect((await fetch(`${base}/docs`)).status).toBe(200)
    const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string }
    expect(openapi.openapi).toMatch(/^3\.1/)
    expect(tokens.size).toBe(6)
  })

  it("R11–R64: the guide's whole workflow, from publishing to the reward's approval", async () => {
    const inst = "transfer institution"
    const manager = await call(inst, "POST", "/technology-managers", { name: "赵经理", phone: "13912345601" })
    const draft = await call(inst, "POST", "/demands", {
      title: "高温合金叶片精密铸造",
      summary: {
        mainProblem: "叶片铸造缺陷率高",
        keyTechnology: "单晶定向凝固",
        expectedGoal: "合格率提升到95%"
      },
      keywords: ["高温合金", "铸造"],
      field: "新材料及应用",
      intendedInvestment: 3_000_000_00,
      responseDeadline: inDays(10),
      serviceMode: "cooperative",
      technologyManagerId: manager.id
    })
    await call(inst, "POST", `/demands/${draft.id}/submit`)
    const approved = await call("operator", "POST", `/review/demands/${draft.id}/approve`)
    expect(approved.state).toBe("published")
    expect(approved.number).toMatch(/^ZB\d{4}\d{4}$/)

    const response = await call("research institute", "POST", `/demands/${draft.id}/responses`, {
      proposal: { title: "定向凝固工艺优化", content: "我们有成熟的单晶叶片中试线" }
    })
    await call("expert", "POST", `/demands/${draft.id}/consultations`, { text: "请问叶片尺寸范围？" })
    // R22: before adopting, the demand's side asks the responder about its proposal.
    const asked = await call(inst, "POST", `/responses/${response.id}/consultations`, {
      text: "中试线产能如何？"
    })
    expect([asked.message.side, asked.thread.responderId]).toEqual(["demand", response.responderId])
    const adopted = await call(inst, "POST", `/responses/${response.id}/adopt`)
    expect(adopted.status).toBe("adopted")
    await waitFor(/ZB_RESPONSE_ADOPTED/)
    expect(output).not.toMatch(/13800000005/)

    await call(inst, "POST", `/demands/${draft.id}/service-log`, {
      entry: { date: inDays(0), text: "双方签订技术合同" }
    })
    const solved = await call(inst, "POST", `/demands/${draft.id}/outcome/solved`, { serviceFee: 50_000_00 })
    expect(solved.state).toBe("solved")

    await call(inst, "PUT", "/institution-profile", {
      name: "天津市技术转移中心",
      creditCode: "91350100M000100Y43",
      address: "天津市南开区",
      contact: "李敏",
      phone: "13800000004",
      bankAccount: {
        bank: "中国银行天津分行",
        accountName: "天津市技术转移中心",
        accountNumber: "6216610200001234567"
      }
    })
    const form = new FormData()
    form.append(
      "file",
      new Blob([Buffer.from("%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")], {
        type: "application/pdf"
      }),
      "contract.pdf"
    )
    const upload = await fetch(`${base}/files`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.get(inst)}` },
      body: form
    })
    expect(upload.status).toBeLessThan(300)
    const file = (await upload.json()) as { id: string; contentType: string }
    expect(file.contentType).toBe("application/pdf")
    const rounds = await call(inst, "GET", "/reward-rounds")
    const application = await call(inst, "POST", "/reward-applications", {
      roundId: rounds.items[0].id,
      items: [{ demandId: draft.id, proofs: [file.id] }]
    })
    await call(inst, "POST", `/reward-applications/${application.id}/submit`)
    const decided = await call("operator", "POST", `/reward-applications/${application.id}/approve`, {
      amount: 10_000_00
    })
    expect(decided.state).toBe("approved")
    expect(decided.amount).toBe(10_000_00)
  })

  it.skipIf(!readmeTools)(
    "the root README's curl workflow, run as written in bash with curl and jq: the demand is numbered, its responder consulted, the response adopted with its SMS, the demand solved with its fee",
    async () => {
      const readme = readFileSync(join(import.meta.dirname, "../../../README.md"), "utf8")
      const section = readme.slice(readme.indexOf("## The guide's workflow over HTTP"))
      const script = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? ""
      const local = "api=http://127.0.0.1:3000\n"
      expect(script.startsWith(local), "the README's script starts with the server's default address").toBe(
        true
      )
      const smsBefore = output.match(/ZB_RESPONSE_ADOPTED/g)?.length ?? 0
      const { stdout } = await promisify(execFile)(
        "bash",
        [
          "-euo",
          "pipefail",
          "-c",
          `api=${base}\n${script.slice(local.length)}\necho; echo "ids $demand $resp"`
        ],
        {
          env: {
            ...process.env,
            OP: tokens.get("operator"),
            INST: tokens.get("transfer institution"),
            INST_R: tokens.get("research institute")
          }
        }
      )
      const [, demandId, responseId] = /^ids (\S+) (\S+)$/m.exec(stdout) ?? []
      const inst = "transfer institution"
      const { demand } = await call(inst, "GET", `/demands/${demandId}`)
      expect(demand).toMatchObject({
        state: "solved",
        outcome: "solved",
        serviceFee: 50_000_00,
        adoptedCount: 1
      })
      expect(demand.number).toMatch(/^ZB\d{8}$/)
      expect(demand.form.technologyManagerId).not.toBeNull()
      const threads = await call(inst, "GET", `/demands/${demandId}/consultations`)
      expect(threads.items.map((t: { messageCount: number }) => t.messageCount)).toEqual([1])
      expect(await call(inst, "GET", `/responses/${responseId}`)).toMatchObject({ status: "adopted" })
      await waitFor(new RegExp(`(?:ZB_RESPONSE_ADOPTED[\\s\\S]*){${smsBefore + 1}}`))
    }
  )

  it("stops gracefully on SIGTERM: a request under way on a kept-alive connection is answered with Connection: close, and nothing more is served on that connection", async () => {
    const { port } = new URL(base)
    const socket = connect(Number(port), "127.0.0.1")
    socket.on("error", () => {})
    let received = ""
    socket.on("data", (chunk) => (received += chunk))
    const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()))
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()))
    const body = JSON.stringify({ name: "x" })
    const head = (length: number) =>
      `POST /demands HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nAuthorization: Bearer ${tokens.get("enterprise")}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`
    socket.write(head(body.length) + body.slice(0, 3))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    await waitFor(/SIGTERM: shutting down/)
    socket.write(body.slice(3))
    await new Promise<void>((resolve, reject) => {
      const started = Date.now()
      const check = () =>
        /\r\n\r\n/.test(received)
          ? resolve()
          : Date.now() - started > 10_000
            ? reject(new Error(`no answer: ${received}`))
            : setTimeout(check, 20)
      check()
    })
    const [status, ...headers] = received.split("\r\n\r\n")[0]!.split("\r\n")
    expect(status).toMatch(/^HTTP\/1\.1 400 /)
    expect(headers.map((h) => h.toLowerCase())).toContain("connection: close")
    // A second request on the same connection is not served: the server ends it.
    socket.write(`GET /hall HTTP/1.1\r\nHost: x\r\n\r\n`)
    await ended
    expect(received.match(/HTTP\/1\.1 /g)).toHaveLength(1)
    expect(await exited).toBe(0)
  })

  it("started again on the same data, it keeps the data and prints working tokens for the demo accounts", async () => {
    const first = new Map(names)
    await launch()
    expect([...tokens.keys()].sort()).toEqual([
      "commissioning enterprise",
      "enterprise",
      "expert",
      "operator",
      "research institute",
      "transfer institution"
    ])
    expect(names).toEqual(first)
    for (const [role, proposal] of [
      ["research institute", "高导热石墨烯膜连续化制备方案"],
      ["expert", "石墨烯膜缺陷修复工艺"]
    ] as const) {
      const mine = (await call(role, "GET", "/my/responses")) as {
        items: ReadonlyArray<{ proposalTitle: string }>
      }
      expect(
        mine.items.map((r) => r.proposalTitle),
        role
      ).toContain(proposal)
    }
    const mine = (await call("transfer institution", "GET", "/my/demands?limit=100")) as {
      items: ReadonlyArray<{ title: string }>
    }
    expect(mine.items.map((d) => d.title)).toContain("高温合金叶片精密铸造")
    expect(await call("operator", "GET", "/review/pending")).toHaveProperty("items")
    const institutions = (await call("enterprise", "GET", "/institutions?limit=100")) as {
      items: ReadonlyArray<{ name: string }>
    }
    expect(institutions.items.filter((m) => m.name === "天津市技术转移中心")).toHaveLength(1)
  })

  it("started again with SESSION_SECRET set, on data seeded without it, it prints working tokens too", async () => {
    child.kill("SIGTERM")
    await new Promise((resolve) => child.once("exit", resolve))
    env.SESSION_SECRET = "workflow-test-session-secret-0123456789abcdef"
    await launch()
    expect(tokens.size).toBe(6)
    expect(await call("operator", "GET", "/review/pending")).toHaveProperty("items")
    const mine = (await call("transfer institution", "GET", "/my/demands?limit=100")) as {
      items: ReadonlyArray<{ title: string }>
    }
    expect(mine.items.map((d) => d.title)).toContain("高温合金叶片精密铸造")
  })

  it("a client holding a request half sent keeps a stopping server draining; a signal within a second of the first is the same stop (npm and tsx pass one Ctrl-C on again), a later one exits at once", async () => {
    const { port } = new URL(base)
    const socket = connect(Number(port), "127.0.0.1")
    socket.on("error", () => {})
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()))
    socket.write(
      "POST /members HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    await waitFor(/SIGTERM: shutting down/)
    // Printed once the server noted the time: a lower bound of its window's start.
    const first = Date.now()
    child.kill("SIGINT")
    child.kill("SIGTERM")
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, first + 1_200 - Date.now())))
    expect(child.exitCode).toBeNull()
    expect(output).not.toMatch(/again: exiting now/)
    child.kill("SIGTERM")
    expect(await exited).toBe(1)
    expect(output).toMatch(/SIGTERM again: exiting now/)
    socket.destroy()
  })
})
