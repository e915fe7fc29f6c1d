/**
 * How the example server stops: SIGTERM while it starts, and the root README's
 * `npm start` stopped as a container or a terminal stops it.
 */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it, onTestFinished } from "vitest"
import { databaseDir, inherited, launch, stop, stopAll, waitFor } from "./support.js"

afterAll(stopAll)

describe("example server: stopping", () => {
  it("SIGTERM while it starts (the demo being seeded): it stops what it started and exits 0, the data folder's lock given back; started again at once, it comes up with the demo", async () => {
    const folder = databaseDir()
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
      const folder = databaseDir()
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
})
