import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPortal } from "../src/portal.js"

let portal: Awaited<ReturnType<typeof startPortal>>
beforeAll(async () => {
  portal = await startPortal()
})
afterAll(() => portal.close())

const login = async (user: string) => {
  const res = await fetch(`${portal.url}/login?user=${user}`, { method: "POST" })
  expect(res.status).toBe(204)
  return (res.headers.get("set-cookie") ?? "").split(";")[0]!
}

describe("embedding zhongbao in an existing server", () => {
  it("R2: the portal's session decides the acting account; anonymous and foreign cookies are told apart", async () => {
    expect(await (await fetch(`${portal.url}/`)).text()).toBe("portal home")
    const beside = await fetch(`${portal.url}/crowdsourcing-old/hall`)
    expect([beside.status, await beside.text()], "a path beside the prefix is the portal's").toEqual([
      404,
      ""
    ])
    const hall = await fetch(`${portal.url}/crowdsourcing/hall`)
    expect(hall.status).toBe(200)
    expect(await hall.json()).toEqual({ items: [], nextCursor: null })
    expect((await fetch(`${portal.url}/crowdsourcing/my/demands`)).status).toBe(401)
    const cookie = await login("alice")
    const mine = await fetch(`${portal.url}/crowdsourcing/my/demands`, { headers: { cookie } })
    expect(mine.status).toBe(200)
    expect(
      (await fetch(`${portal.url}/crowdsourcing/my/demands`, { headers: { cookie: "sid=forged" } })).status
    ).toBe(401)
    const admin = await login("admin")
    const pending = await fetch(`${portal.url}/crowdsourcing/review/pending`, { headers: { cookie: admin } })
    expect(pending.status).toBe(200)
    expect((await fetch(`${portal.url}/crowdsourcing/review/pending`, { headers: { cookie } })).status).toBe(
      403
    )
  })

  it("the glue stays within 40 lines of code", () => {
    const code = readFileSync(new URL("../src/zhongbao.ts", import.meta.url), "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "" && !/^\s*(\/\*\*|\*|\/\/)/.test(line))
    expect(code.length).toBeLessThanOrEqual(40)
  })
})
