/**
 * An existing portal: its own users, its own login (`POST /login?user=…` sets a
 * `sid` cookie), its own pages — and zhongbao mounted under `/crowdsourcing`. Each
 * portal user is linked to a zhongbao account, created here at start-up through
 * zhongbao's membership use cases.
 */
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { type Ids, Membership } from "@zhongbao/core"
import { Effect } from "effect"
import { mountZhongbao } from "./zhongbao.js"

export const startPortal = async (port = 0) => {
  const sessions = new Map<string, string>()
  const accounts = new Map<string, Ids.AccountId>()
  const zhongbao = mountZhongbao((sid) => {
    const user = sessions.get(sid)
    return user === undefined ? undefined : accounts.get(user)
  })
  await zhongbao.run(
    Effect.gen(function* () {
      const membership = yield* Membership.Membership
      const operator = yield* Membership.bootstrapOperator({ name: "门户管理员", phone: "13700000001" })
      const company = yield* membership.createMember(operator.id, { kind: "enterprise", name: "示例企业" })
      const alice = yield* membership.createAccount(operator.id, {
        memberId: company.id,
        name: "Alice",
        phone: "13700000002"
      })
      accounts.set("admin", operator.id)
      accounts.set("alice", alice.id)
    })
  )
  const server = createServer((req, res) => {
    if (zhongbao.handle(req, res)) return
    const url = new URL(req.url ?? "/", "http://portal")
    if (req.method === "POST" && url.pathname === "/login") {
      const user = url.searchParams.get("user") ?? ""
      if (!accounts.has(user)) return void res.writeHead(403).end("unknown user")
      const sid = randomUUID()
      sessions.set(sid, user)
      return void res.writeHead(204, { "set-cookie": `sid=${sid}; HttpOnly; SameSite=Lax; Path=/` }).end()
    }
    if (url.pathname === "/")
      return void res.writeHead(200, { "content-type": "text/plain" }).end("portal home")
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const close = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await zhongbao.close()
  }
  return { url, close }
}
