/**
 * The README's recipes for mounting the API in a host's server, run in the real
 * frameworks (exact-pinned devDependencies): Express, connect-style `use` through
 * `@fastify/middie`, Fastify with a scope of its own, Koa, and Hono through
 * `Mount.toWebHandler`. Each host also has a JSON route of its own behind its own
 * body parser, registered after zhongbao as the README says.
 */
import { assert, describe, it } from "@effect/vitest"
import middie from "@fastify/middie"
import { serve } from "@hono/node-server"
import { bodyParser } from "@koa/bodyparser"
import { Fixtures } from "@zhongbao/testing"
import { Effect, type Layer, type ManagedRuntime } from "effect"
import express from "express"
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify"
import { Hono } from "hono"
import Koa from "koa"
import type { Server } from "node:http"
import { type AddressInfo, connect } from "node:net"
import { Mount } from "../src/index.js"
import { app, tokenFor } from "./harness.js"

type Runtime = ManagedRuntime.ManagedRuntime<
  Layer.Layer.Success<ReturnType<typeof app>>,
  Layer.Layer.Error<ReturnType<typeof app>>
>

/** The base URL of a `node:http` server listening on a free port. */
const baseOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

/** A fresh world's expert's session token, and a demand its enterprise published, made in `runtime`. */
const expertOnDemand = (runtime: Runtime) =>
  runtime.runPromise(
    Effect.gen(function* () {
      const world = yield* Fixtures.makeWorld
      const demand = yield* Fixtures.publish(world, world.enterprise.account)
      return { token: yield* tokenFor(world.expert.account), demandId: demand.id }
    })
  )

/**
 * What every host must get from the mount, at `base`: a public read, a command
 * whose JSON body reaches zhongbao (an expert's question on a published demand, then
 * read back), a body without `Content-Length` cut off at the limit (`413`), an upload, `404` for a path under the prefix without an endpoint, and
 * the host's own routes, with their body parsed by the host, untouched.
 */
const checkHost = async (base: string, runtime: Runtime) => {
  const { token, demandId } = await expertOnDemand(runtime)
  const signedIn = { authorization: `Bearer ${token}` }

  const settings = await fetch(`${base}/zhongbao/settings`)
  assert.strictEqual(settings.status, 200)
  assert.include(((await settings.json()) as { technicalFields: Array<string> }).technicalFields, "海洋")

  const asked = await fetch(`${base}/zhongbao/demands/${demandId}/consultations`, {
    method: "POST",
    headers: { ...signedIn, "content-type": "application/json" },
    body: JSON.stringify({ text: "请问样品尺寸？" })
  })
  assert.strictEqual(asked.status, 201, await asked.clone().text())
  const threadId = ((await asked.json()) as { thread: { id: string } }).thread.id
  const messages = await fetch(`${base}/zhongbao/consultations/${threadId}/messages`, { headers: signedIn })
  assert.deepStrictEqual(
    ((await messages.json()) as Array<{ text: string }>).map((m) => m.text),
    ["请问样品尺寸？"]
  )

  const form = new FormData()
  form.append("file", new Blob(["%PDF-1.7\n%%EOF\n"], { type: "application/pdf" }), "方案.pdf")
  const uploaded = await fetch(`${base}/zhongbao/files`, { method: "POST", headers: signedIn, body: form })
  assert.strictEqual(uploaded.status, 201, await uploaded.clone().text())
  assert.strictEqual(((await uploaded.json()) as { name: string }).name, "方案.pdf")

  const chunk = new TextEncoder().encode(`{"text":"${"长".repeat(700 * 1024)}"}`)
  const unsized = await fetch(`${base}/zhongbao/demands/${demandId}/consultations`, {
    method: "POST",
    headers: { ...signedIn, "content-type": "application/json" },
    body: new ReadableStream({
      start(controller) {
        controller.enqueue(chunk)
        controller.close()
      }
    }),
    duplex: "half"
  } as RequestInit)
  assert.strictEqual(unsized.status, 413, "a body without Content-Length over the limit")
  assert.deepInclude(await unsized.json(), { _tag: "PayloadTooLarge" })

  const missing = await fetch(`${base}/zhongbao/nowhere`)
  assert.strictEqual(missing.status, 404)
  assert.deepInclude(await missing.json(), { code: "route.not_found" })

  const echoed = await fetch(`${base}/echo`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ host: "门户" })
  })
  assert.strictEqual(echoed.status, 200)
  assert.deepStrictEqual(await echoed.json(), { echoed: { host: "门户" } })
}

/** Waits for `server` to listen, checks the host it serves, then closes it and disposes of `mounted`. */
const checkServed = async (
  server: Server,
  mounted: { readonly runtime: Runtime; readonly dispose: () => Promise<void> }
) => {
  if (!server.listening) await new Promise((resolve) => server.once("listening", resolve))
  try {
    await checkHost(baseOf(server), mounted.runtime)
  } finally {
    await close(server)
    await mounted.dispose()
  }
}

describe("Mount in the host's framework (the README's recipes)", () => {
  it("Express: app.use(prefix, listener) before express.json()", async () => {
    const zhongbao = Mount.toNodeListener(app(), { prefix: "/zhongbao" })
    const host = express()
    host.use("/zhongbao", zhongbao.listener)
    host.use(express.json())
    host.post("/echo", (req, res) => {
      res.json({ echoed: req.body })
    })
    await checkServed(host.listen(0, "127.0.0.1"), zhongbao)
  })

  type Listener = Mount.NodeListener<unknown, unknown>["listener"]
  for (const [how, mount] of [
    [
      "a scope of its own without content-type parsers, the reply hijacked",
      (fastify: FastifyInstance, listener: Listener) =>
        fastify.register(async (scope) => {
          scope.removeAllContentTypeParsers()
          scope.addContentTypeParser("*", (_req, _payload, done) => done(null))
          const hijacked = (req: FastifyRequest, reply: FastifyReply) => {
            reply.hijack()
            listener(req.raw, reply.raw)
          }
          scope.all("/zhongbao", hijacked)
          scope.all("/zhongbao/*", hijacked)
        })
    ],
    [
      "@fastify/middie's fastify.use(prefix, listener)",
      async (fastify: FastifyInstance, listener: Listener) => {
        await fastify.register(middie)
        fastify.use("/zhongbao", listener)
      }
    ]
  ] as const) {
    it(`Fastify: ${how}`, async () => {
      const zhongbao = Mount.toNodeListener(app(), { prefix: "/zhongbao" })
      const fastify = Fastify()
      await mount(fastify, zhongbao.listener)
      fastify.post("/echo", async (req) => ({ echoed: req.body }))
      await fastify.listen({ port: 0, host: "127.0.0.1" })
      try {
        await checkHost(baseOf(fastify.server), zhongbao.runtime)
      } finally {
        await fastify.close()
        await zhongbao.dispose()
      }
    })
  }

  it("Koa: a middleware before the body parser that hands the request over and waits for its answer", async () => {
    const zhongbao = Mount.toNodeListener(app(), { prefix: "/zhongbao" })
    const koa = new Koa()
    koa.use(async (ctx, next) => {
      if (ctx.path !== "/zhongbao" && !ctx.path.startsWith("/zhongbao/")) return next()
      ctx.respond = false
      await new Promise((resolve) => {
        ctx.res.once("close", resolve)
        zhongbao.listener(ctx.req, ctx.res)
      })
    })
    koa.use(bodyParser())
    koa.use(async (ctx) => {
      if (ctx.method === "POST" && ctx.path === "/echo") ctx.body = { echoed: ctx.request.body }
    })
    await checkServed(koa.listen(0, "127.0.0.1"), zhongbao)
  })

  for (const [how, route] of [
    [
      "app.all on the prefix and the paths under it",
      (hono: Hono, handler: (request: Request) => Promise<Response>) => {
        hono.all("/zhongbao", (c) => handler(c.req.raw))
        hono.all("/zhongbao/*", (c) => handler(c.req.raw))
      }
    ],
    [
      "app.mount with { replaceRequest: false }",
      (hono: Hono, handler: (request: Request) => Promise<Response>) => {
        hono.mount("/zhongbao", handler, { replaceRequest: false })
      }
    ]
  ] as const) {
    it(`Hono: ${how}, to Mount.toWebHandler`, async () => {
      const web = Mount.toWebHandler(app(), { prefix: "/zhongbao" })
      const hono = new Hono()
      route(hono, web.handler)
      hono.post("/echo", async (c) => c.json({ echoed: await c.req.json() }))
      await checkServed(serve({ fetch: hono.fetch, port: 0, hostname: "127.0.0.1" }) as Server, web)
    })
  }

  it("Hono: app.mount without { replaceRequest: false } takes the prefix off first, so every path is 404 (as the README warns)", async () => {
    const web = Mount.toWebHandler(app(), { prefix: "/zhongbao" })
    const hono = new Hono()
    hono.mount("/zhongbao", web.handler)
    try {
      const answer = await hono.request("http://portal.example/zhongbao/settings")
      assert.strictEqual(answer.status, 404)
      assert.deepInclude(await answer.json(), { code: "route.not_found" })
    } finally {
      await web.dispose()
    }
  })

  for (const prefix of ["/zhongbao", ""]) {
    it(`Hono: a body the API answers without reading all of it (401 before it, 413 past the upload limit, 400 for a malformed upload) is read and dropped, so the connection goes on (prefix "${prefix}")`, async () => {
      const web = Mount.toWebHandler(app(), { prefix, uploadLimitBytes: 3 * 1024 * 1024 })
      const hono = new Hono()
      hono.all(`${prefix}/*`, (c) => web.handler(c.req.raw))
      const server = serve({ fetch: hono.fetch, port: 0, hostname: "127.0.0.1" }) as Server
      if (!server.listening) await new Promise((resolve) => server.once("listening", resolve))
      const port = (server.address() as AddressInfo).port
      const { token } = await expertOnDemand(web.runtime)
      /** What the server answers on one connection to a POST of `body`, then a GET. */
      const answers = (path: string, contentType: string, body: string, chunked: boolean, token?: string) =>
        new Promise<Array<string>>((resolve, reject) => {
          const socket = connect(port, "127.0.0.1")
          let text = ""
          socket.on("data", (chunk: Buffer) => {
            text += chunk.toString("latin1")
            if (text.includes("technicalFields")) socket.end()
          })
          socket.on("close", () => resolve(text.match(/HTTP\/1\.1 \d{3}/g) ?? []))
          socket.on("error", reject)
          const length = chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${Buffer.byteLength(body)}`
          const authorization = token === undefined ? "" : `Authorization: Bearer ${token}\r\n`
          socket.write(
            `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\n${authorization}${length}\r\n\r\n`
          )
          socket.write(chunked ? `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n` : body)
          socket.write(`GET ${prefix}/settings HTTP/1.1\r\nHost: x\r\n\r\n`)
          setTimeout(() => socket.destroy(), 15_000)
        })
      try {
        const json = JSON.stringify({ text: "问".repeat(300_000) })
        const upload = (mib: number) =>
          `--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n${" ".repeat(mib * 1024 * 1024)}\n%%EOF\r\n--b--\r\n`
        const malformed = `--b\r\nno part headers\r\n\r\n${" ".repeat(2 * 1024 * 1024)}\r\n--b--\r\n`
        for (const chunked of [false, true]) {
          assert.deepStrictEqual(
            await answers(`${prefix}/demands`, "application/json", json, chunked),
            ["HTTP/1.1 401", "HTTP/1.1 200"],
            `a JSON body of 900 KB${chunked ? ", chunked" : ""}`
          )
          assert.deepStrictEqual(
            await answers(`${prefix}/files`, "multipart/form-data; boundary=b", upload(2), chunked),
            ["HTTP/1.1 401", "HTTP/1.1 200"],
            `an upload of 2 MiB${chunked ? ", chunked" : ""}`
          )
          assert.deepStrictEqual(
            await answers(`${prefix}/files`, "multipart/form-data; boundary=b", upload(5), chunked, token),
            ["HTTP/1.1 413", "HTTP/1.1 200"],
            `an upload of 5 MiB past the limit of 3 MiB${chunked ? ", chunked" : ""}`
          )
          assert.deepStrictEqual(
            await answers(`${prefix}/files`, "multipart/form-data; boundary=b", malformed, chunked, token),
            ["HTTP/1.1 400", "HTTP/1.1 200"],
            `a malformed upload of 2 MiB${chunked ? ", chunked" : ""}`
          )
        }
      } finally {
        await close(server)
        await web.dispose()
      }
    })
  }
})
