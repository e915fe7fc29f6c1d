/**
 * The first operator's command (`npm run operator`, `src/operator.ts`): an account
 * and a token the server accepts, and its refusals.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Authentication } from "@zhongbao/adapter-http"
import type { Ids } from "@zhongbao/core"
import { Effect, Redacted } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import {
  databaseDir,
  dataDir,
  inBatches,
  launch,
  plainLines,
  runOperator,
  stop,
  stopAll,
  waitFor
} from "./support.js"

afterAll(stopAll)

describe("example server: npm run operator", () => {
  it("npm run operator: the first operator of a database without the demo, and a token the server accepts, the phone printed masked (R64), the token written to a file its owner alone reads, not to the output; run again, the same account and another token; deactivated by another operator, refused naming how it is made active again (§3)", async () => {
    const folder = databaseDir()
    const env = { DATA_DIR: folder, SESSION_SECRET: "operator-test-session-secret-0123456789abcdef" }
    mkdirSync(folder, { recursive: true })
    const files = [join(folder, "first-token"), join(folder, "again-token")]
    // A file there before, readable by anyone, is replaced by one its owner alone reads.
    writeFileSync(files[1]!, "old\n", { mode: 0o644 })
    const first = await runOperator(["王敏", "13800000000"], { ...env, OPERATOR_TOKEN_FILE: files[0]! })
    expect(first.code, first.output).toBe(0)
    expect(first.output).toMatch(/^operator account operator: 王敏, 138\*\*\*\*0000$/m)
    expect(first.output, "R64: the phone only masked").not.toContain("13800000000")
    // Relative to the folder the command was run from (npm's INIT_CWD), not the workspace's.
    const again = await runOperator(["李强", "13900000000"], {
      ...env,
      INIT_CWD: folder,
      OPERATOR_TOKEN_FILE: "again-token"
    })
    expect(again.code, again.output).toBe(0)
    expect(again.output, "the account found again, as it was").toMatch(
      /^operator account operator: 王敏, 138\*\*\*\*0000 \(there already: its name and phone unchanged\)$/m
    )
    const tokens = files.map((file) => readFileSync(file, "utf8").trim())
    for (const [i, run] of [first, again].entries()) {
      expect(run.output).toContain(
        `the operator's session token is in ${files[i]}, readable by its owner only`
      )
      expect(statSync(files[i]!).mode & 0o777, "its owner alone reads it").toBe(0o600)
      expect(tokens[i]).toMatch(/^\S{20,}$/)
      expect(run.output, "a job's output ends up in logs: no token in it").not.toContain(tokens[i])
      expect(run.output).not.toMatch(/Bearer (?!<token>)\S/)
    }
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

    // §3: another operator deactivates this one: the command then refuses it, naming how
    // it is made active again, and issues no token.
    const second = await fetch(`${base}/accounts`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens[0]}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "李强", phone: "13900000000" })
    })
    expect(second.status, await second.clone().text()).toBe(201)
    const secondId = ((await second.json()) as { id: Ids.AccountId }).id
    const secondToken = await Effect.runPromise(
      Effect.flatMap(Authentication.Sessions, (sessions) => sessions.issue(secondId)).pipe(
        Effect.provide(Authentication.layerSessionsSigned({ secret: Redacted.make(env.SESSION_SECRET) }))
      )
    )
    const deactivated = await fetch(`${base}/accounts/operator`, {
      method: "PUT",
      headers: { authorization: `Bearer ${Redacted.value(secondToken)}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "王敏", phone: "13800000000", active: false })
    })
    expect(deactivated.status, await deactivated.clone().text()).toBe(200)
    expect(await stop(server)).toBe(0)
    const refused = await runOperator(["王敏", "13800000000"], { ...env, OPERATOR_TOKEN_FILE: files[0]! })
    expect(refused.code).toBe(1)
    expect(plainLines(refused.output)).toContain(
      'zhongbao operator: operator account operator is deactivated: another operator makes it active again (PUT /accounts/operator with "active": true)'
    )
    expect(readFileSync(files[0]!, "utf8").trim(), "no new token written").toBe(tokens[0])
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
      ],
      [
        ["王敏", "13800000000"],
        { SESSION_SECRET: "operator-test-session-secret-0123456789abcdef", OPERATOR_TOKEN_FILE: tmpdir() },
        `zhongbao operator: OPERATOR_TOKEN_FILE: ${tmpdir()} is a folder, not a file`
      ],
      [
        ["王敏", "13800000000"],
        {
          SESSION_SECRET: "operator-test-session-secret-0123456789abcdef",
          OPERATOR_TOKEN_FILE: join(tmpdir(), "zhongbao-no-such-folder", "token")
        },
        `zhongbao operator: OPERATOR_TOKEN_FILE: the folder of ${join(tmpdir(), "zhongbao-no-such-folder", "token")} is not there`
      ]
    ]
    await inBatches(cases, async ([args, env, line]) => {
      const folder = join(dataDir(), "never")
      const run = await runOperator(args, { DATA_DIR: folder, ...env })
      expect(run.code, run.output).toBe(1)
      expect(plainLines(run.output)).toEqual([line])
      expect(existsSync(folder), "nothing is written").toBe(false)
    })
  })
})
