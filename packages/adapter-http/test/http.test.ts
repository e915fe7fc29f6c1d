/**
 * What surrounds the endpoints: mounting under a prefix (web handler and Node
 * listener), the OpenAPI document and docs page, authentication failures, the body
 * limit, the language of messages and the rate limit.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { vi } from "vitest"
import {
  HttpApiClient,
  HttpApiError,
  type HttpApiGroup,
  HttpClient,
  HttpClientRequest,
  HttpServer,
  HttpServerRequest
} from "@effect/platform"
import {
  Deadline,
  Errors,
  FileStore,
  Ids,
  Lists,
  Membership,
  Persistence,
  PersistenceMemory,
  Publishing,
  Responding,
  Settings,
  Zhongbao
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import {
  Cause,
  Context,
  DateTime,
  type Duration,
  Effect,
  Exit,
  identity,
  Layer,
  Logger,
  type ManagedRuntime,
  Option,
  Redacted,
  Schema,
  Stream,
  TestClock,
  Tracer
} from "effect"
import { createServer, request } from "node:http"
import { type AddressInfo, connect } from "node:net"
import { Validator } from "@seriousme/openapi-schema-validator"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import openapiTS, { astToString } from "openapi-typescript"
import ts from "typescript"
import { ApiError, Authentication, Http, Messages, Mount, RateLimit } from "../src/index.js"
import { Api } from "../src/Api.js"
import { answersAnonymous, maxBodyDepth, maxBodyValues } from "../src/internal/middleware.js"
import { coreCodes } from "./coreCodes.js"
import { app, makeServer, tokenFor } from "./harness.js"
import packageJson from "../package.json" with { type: "json" }

/** {@link app} with a logger that keeps the first part of each message in `lines`. */
const appLogging = (lines: Array<string>) =>
  Layer.mergeAll(
    app(),
    Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ message }) => {
        lines.push(String(Array.isArray(message) ? message[0] : message))
      })
    )
  )

/**
 * A server that hands the paths under `mountAt` to `listener` as a router of the host
 * would, the request's fields set by `fields` from its URL as sent (a path outside
 * it, or one passed to `next`, is answered 418); its base URL and its `close`.
 */
const behindRouter = async (
  mountAt: string,
  fields: (original: string) => Record<string, string>,
  listener: Mount.NodeListener<unknown, unknown>["listener"]
) => {
  const server = createServer((req, res) => {
    const original = req.url ?? "/"
    const teapot = () => {
      res.statusCode = 418
      res.end()
    }
    if (original !== mountAt && !original.startsWith(`${mountAt}/`) && !original.startsWith(`${mountAt}?`))
      return teapot()
    Object.assign(req, fields(original))
    listener(req, res, teapot)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(resolve))
  }
}

/** A session token of the platform's first operator, made in `runtime`. */
const operatorToken = (
  runtime: ManagedRuntime.ManagedRuntime<
    Layer.Layer.Success<ReturnType<typeof app>>,
    Layer.Layer.Error<ReturnType<typeof app>>
  >
) =>
  runtime.runPromise(
    Effect.gen(function* () {
      const operator = yield* Membership.bootstrapOperator({ name: "运营", phone: "13900000001" })
      const sessions = yield* Authentication.Sessions
      return Redacted.value(yield* sessions.issue(operator.id))
    })
  )

/** A session token of a fresh world's enterprise, made in `runtime`. */
const enterpriseToken = (runtime: Parameters<typeof operatorToken>[0]) =>
  runtime.runPromise(
    Effect.gen(function* () {
      const world = yield* Fixtures.makeWorld
      const sessions = yield* Authentication.Sessions
      return Redacted.value(yield* sessions.issue(world.enterprise.account))
    })
  )

/**
 * An expert on a demand the enterprise published, over `web`: POSTs as the expert (or
 * anonymously), the demand's consultation path, and the texts of a thread.
 */
const expertOnDemand = async (web: {
  readonly handler: (request: Request) => Promise<Response>
  readonly runtime: Parameters<typeof operatorToken>[0]
}) => {
  const { token, demandId } = await web.runtime.runPromise(
    Effect.gen(function* () {
      const world = yield* Fixtures.makeWorld
      const sessions = yield* Authentication.Sessions
      const demand = yield* Fixtures.publish(world, world.enterprise.account)
      return { token: Redacted.value(yield* sessions.issue(world.expert.account)), demandId: demand.id }
    })
  )
  const send = (path: string, contentType: string, body: string | Uint8Array, signedIn = true) =>
    web.handler(
      new Request(`http://localhost${path}`, {
        method: "POST",
        headers: { "content-type": contentType, ...(signedIn ? { authorization: `Bearer ${token}` } : {}) },
        body
      })
    )
  const texts = async (threadId: string) => {
    const answer = await web.handler(
      new Request(`http://localhost/consultations/${threadId}/messages`, {
        headers: { authorization: `Bearer ${token}` }
      })
    )
    return ((await answer.json()) as Array<{ text: string }>).map((m) => m.text)
  }
  return { ask: `/demands/${demandId}/consultations`, send, texts }
}

/** A consultation's thread as its answer carries it. */
interface Thread {
  readonly thread: { readonly id: string }
}

/** `value` as the bytes of a JSON body. */
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

/**
 * An expert's token, the enterprise's, and the consultation path of a demand it published,
 * in `runtime`'s store, and the texts of a thread read over a Node listener's `port`.
 */
const expertAsking = async (runtime: Parameters<typeof operatorToken>[0]) => {
  const { token, owner, demandId } = await runtime.runPromise(
    Effect.gen(function* () {
      const world = yield* Fixtures.makeWorld
      const sessions = yield* Authentication.Sessions
      const demand = yield* Fixtures.publish(world, world.enterprise.account)
      return {
        token: Redacted.value(yield* sessions.issue(world.expert.account)),
        owner: Redacted.value(yield* sessions.issue(world.enterprise.account)),
        demandId: demand.id
      }
    })
  )
  const texts = async (port: number, threadId: string) => {
    const answer = await fetch(`http://127.0.0.1:${port}/consultations/${threadId}/messages`, {
      headers: { authorization: `Bearer ${token}` }
    })
    return ((await answer.json()) as Array<{ text: string }>).map((m) => m.text)
  }
  return { token, owner, ask: `/demands/${demandId}/consultations`, texts }
}

/** How many uploads the audit trail of `runtime`'s store records (R60: every stored file is). */
const uploadsAudited = (runtime: Parameters<typeof operatorToken>[0]) =>
  runtime.runPromise(
    Effect.map(
      Effect.flatMap(Persistence.AuditRepository, (audit) => audit.list({ limit: 10_000 })),
      (events) => events.filter((event) => event.action === "file.uploaded").length
    )
  )

/** A Node listener under `prefix` on a free port; other paths go to `next()`, answered 418. */
const underPrefix = async (prefix = "/zhongbao", options: Omit<Http.Options, "prefix"> = {}) => {
  const mounted = Mount.toNodeListener(app(), { ...options, prefix })
  const server = createServer((req, res) =>
    mounted.listener(req, res, () => {
      res.statusCode = 418
      res.end()
    })
  )
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { mounted, server }
}

/**
 * A POST whose body is sent chunked (no length): `chunks` in turn, waiting for the
 * socket to drain; the answer's status and JSON body. The server may answer before
 * the body ends and close the connection: an error after the answer is ignored.
 */
const postChunked = (url: string, headers: Record<string, string>, chunks: ReadonlyArray<Buffer>) =>
  new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { ...headers, "transfer-encoding": "chunked" } })
    let answered = false
    req.on("response", (res) => {
      answered = true
      let text = ""
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString()
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on("error", (error) => {
      if (!answered) reject(error)
    })
    let sent = 0
    const write = () => {
      while (sent < chunks.length) {
        if (!req.write(chunks[sent++])) return void req.once("drain", write)
      }
      req.end()
    }
    write()
  })

/** A PDF of 64 KiB in a multipart body, its part boundary `b`. */
const pdfBody = (name: string) =>
  Buffer.from(
    `--b\r\nContent-Disposition: form-data; name="file"; filename="${name}.pdf"\r\n\r\n` +
      `%PDF-1.7\n${"0".repeat(64 * 1024)}\n%%EOF\r\n--b--\r\n`
  )

/** An upload of {@link pdfBody} held after `cut` bytes ({@link heldPost}). */
const heldUpload = (port: number, token: string, name: string, cut: number) =>
  heldPost(port, token, "/files", "multipart/form-data; boundary=b", pdfBody(name), cut)

/**
 * A POST of `bytes` to `path` over a socket of its own, sent up to `cut` and held
 * there: its answer as text (once a JSON body has come, or the socket closed), whether
 * the server closed it, and the rest to send.
 */
const heldPost = (
  port: number,
  token: string,
  path: string,
  contentType: string,
  bytes: Uint8Array,
  cut: number
) => {
  const socket = connect(port, "127.0.0.1")
  let text = ""
  const answered = new Promise<string>((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8")
      if (/\r\n\r\n[\s\S]*\}$/.test(text)) resolve(text)
    })
    socket.on("close", () => resolve(text))
  })
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()))
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: ${contentType}\r\nContent-Length: ${bytes.length}\r\n\r\n`
  )
  socket.write(bytes.subarray(0, cut))
  return {
    answered,
    closed,
    finish: () => socket.write(bytes.subarray(cut)),
    send: (piece: Uint8Array) => socket.write(piece),
    leave: () => socket.destroy()
  }
}

/** An upload of {@link pdfBody} by fetch: its status and JSON body. */
const plainUpload = (port: number, token: string, name: string) =>
  fetch(`http://127.0.0.1:${port}/files`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "multipart/form-data; boundary=b" },
    body: pdfBody(name)
  }).then(async (answer) => ({ status: answer.status, body: (await answer.json()) as { name?: string } }))

/** Asserts that the API's layer with `options` fails to build, naming `option` and its value. */
const refusedOption = async (options: Http.Options, option: keyof Http.Options) => {
  const value = String(options[option])
  const exit = await Effect.runPromiseExit(
    Effect.scoped(Layer.build(Http.layer(options).pipe(Layer.provide(app()))))
  )
  assert.isTrue(Exit.isFailure(exit), `${option}: ${value}`)
  if (Exit.isFailure(exit)) assert.include(String(Cause.squash(exit.cause)), option, value)
}

/**
 * `Mount`'s Node listener with `options` on a free port of a server of its own: the
 * mount, the port, and `close` (connections cut, server closed, mount disposed).
 */
const listening = async (options: Http.Options = {}) => {
  const node = Mount.toNodeListener(app(), options)
  const server = createServer(node.listener)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    node,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await node.dispose()
    }
  }
}

/**
 * A body the client is still sending (three pieces of `{}`), and whether it was read
 * to its end: a host's server waits for that before it goes on with the connection.
 */
const stillSending = () => {
  let pulled = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++
      if (pulled > 3) return controller.close()
      controller.enqueue(new TextEncoder().encode("{}"))
    }
  })
  return { body, ended: () => pulled > 3 }
}

/** Waits up to `ms` for `promise`, then says whether it settled. */
const within = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))])

describe("Mount", () => {
  it("a web handler under a prefix: routes, 404 outside, OpenAPI servers, sessions shared; a body it refuses unread is read to its end", async () => {
    const mounted = Mount.toWebHandler(app(), { prefix: "/zhongbao" })
    try {
      const settings = await mounted.handler(new Request("http://portal.example/zhongbao/settings"))
      assert.strictEqual(settings.status, 200)
      assert.include(((await settings.json()) as { technicalFields: Array<string> }).technicalFields, "海洋")
      const outside = await mounted.handler(new Request("http://portal.example/settings"))
      assert.strictEqual(outside.status, 404)
      assert.deepInclude(await outside.json(), { _tag: "NotFound", code: "route.not_found", entity: "route" })
      for (const path of ["/zhongbao/SETTINGS", "/zhongbao//settings"]) {
        const other = await mounted.handler(new Request(`http://portal.example${path}`))
        assert.strictEqual(other.status, 404, path)
        assert.deepInclude(await other.json(), { code: "route.not_found" })
      }
      for (const path of [
        "/zhongbao/demands/a%2Fb",
        "/zhongbao/review%2Fpending",
        "/zhongbao/demands/a%5cb"
      ]) {
        const refused = await mounted.handler(new Request(`http://portal.example${path}`))
        assert.strictEqual(refused.status, 400, path)
        assert.deepInclude(await refused.json(), { code: "path.invalid", field: "path" }, path)
      }
      for (const [path, status] of [
        ["/members", 404],
        ["/zhongbao/demands/a%2Fb", 400]
      ] as const) {
        const sent = stillSending()
        const answer = await mounted.handler(
          new Request(`http://portal.example${path}`, {
            method: "POST",
            body: sent.body,
            duplex: "half"
          } as RequestInit)
        )
        assert.strictEqual(answer.status, status, path)
        await vi.waitFor(() => assert.isTrue(sent.ended(), `${path}: the body was read to its end`))
      }
      const spec = (await (
        await mounted.handler(new Request("http://portal.example/zhongbao/openapi.json"))
      ).json()) as {
        servers: Array<{ url: string }>
      }
      assert.strictEqual(spec.servers[0]?.url, "/zhongbao")
      const token = await operatorToken(mounted.runtime)
      const pending = await mounted.handler(
        new Request("http://portal.example/zhongbao/review/pending", {
          headers: { authorization: `Bearer ${token}` }
        })
      )
      assert.strictEqual(pending.status, 200)
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(32))
          controller.close()
        }
      })
      const chunked = await mounted.handler(
        new Request("http://portal.example/zhongbao/demands", {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body,
          duplex: "half"
        } as RequestInit)
      )
      assert.strictEqual(chunked.status, 413)
      // An upload without a length, over the upload limit: 413 as well, not 500.
      const head = new TextEncoder().encode(
        '--b\r\nContent-Disposition: form-data; name="extra"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
      )
      const upload = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(head)
          for (let i = 0; i < 23 * 16; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(32))
          controller.enqueue(new TextEncoder().encode("\r\n--b--\r\n"))
          controller.close()
        }
      })
      const streamed = await mounted.handler(
        new Request("http://portal.example/zhongbao/files", {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "multipart/form-data; boundary=b" },
          body: upload,
          duplex: "half"
        } as RequestInit)
      )
      assert.strictEqual(streamed.status, 413)
    } finally {
      await mounted.dispose()
    }
  })

  it("§input: a Content-Length that is not a number of bytes is 400 body.invalid naming the header, in the caller's language, on any method; nothing is read", async () => {
    const mounted = Mount.toWebHandler(app())
    try {
      for (const [method, path, body] of [
        ["POST", "/demands", "{}"],
        ["GET", "/hall", undefined]
      ] as const) {
        for (const [language, message] of [
          ["en", "content-length: the Content-Length header is not a number of bytes"],
          ["zh-CN", "请求头 Content-Length 须为字节数"]
        ] as const) {
          const answer = await mounted.handler(
            new Request(`http://localhost${path}`, {
              method,
              headers: {
                "content-length": "abc",
                "content-type": "application/json",
                "accept-language": language
              },
              ...(body === undefined ? {} : { body })
            })
          )
          assert.strictEqual(answer.status, 400, `${method} ${language}`)
          assert.deepInclude(await answer.json(), { code: "body.invalid", field: "content-length", message })
        }
      }
    } finally {
      await mounted.dispose()
    }
  })

  it("§9: a refused filter value in the query names the list's place and each allowed value in Chinese (Labels.zhCN), the field keeping its path", async () => {
    const mounted = Mount.toWebHandler(app())
    try {
      const answer = await mounted.handler(new Request("http://localhost/hall?states=published&states=x"))
      assert.strictEqual(answer.status, 400)
      assert.deepInclude(await answer.json(), {
        code: "input.invalid",
        field: "states.1",
        message: "状态（第 2 项）：须为以下取值之一：published（已发布）、solved（已解决）"
      })
    } finally {
      await mounted.dispose()
    }
  })

  it("a web handler reads a JSON body that arrives in chunks, each within bodyIdleTimeout though the whole takes longer, as one; past bodyLimitBytes it answers 413; a body whose stream fails is a 400 body.invalid that writes nothing", async () => {
    const web = Mount.toWebHandler(app(), { bodyIdleTimeout: "300 millis", bodyLimitBytes: 300 })
    try {
      const { token, ask } = await expertAsking(web.runtime)
      const post = (body: ReadableStream<Uint8Array>) =>
        web.handler(
          new Request(`http://localhost${ask}`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body,
            duplex: "half"
          } as RequestInit)
        )
      const messages = async (thread: string) =>
        (await (
          await web.handler(
            new Request(`http://localhost/consultations/${thread}/messages`, {
              headers: { authorization: `Bearer ${token}` }
            })
          )
        ).json()) as Array<{ text: string }>
      const pause = () => new Promise((resolve) => setTimeout(resolve, 100))
      const bytes = json({ text: "分段送达的提问" })
      const slow = await post(
        new ReadableStream<Uint8Array>({
          async start(controller) {
            for (let at = 0; at < bytes.length; at += 8) {
              await pause()
              controller.enqueue(bytes.subarray(at, at + 8))
            }
            controller.close()
          }
        })
      )
      const taken = (await slow.json()) as { thread: { id: string } }
      assert.strictEqual(slow.status, 201, JSON.stringify(taken))
      assert.deepStrictEqual(
        (await messages(taken.thread.id)).map((m) => m.text),
        ["分段送达的提问"],
        "the chunks were joined in order"
      )

      const endless = await post(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            controller.enqueue(new Uint8Array(100).fill(32))
          }
        })
      )
      assert.strictEqual(endless.status, 413)
      assert.deepInclude(await endless.json(), { code: "body.too_large", limit: 300 })

      const broken = await post(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes.subarray(0, 5))
            controller.error(new Error("the client's stream broke"))
          }
        })
      )
      assert.strictEqual(broken.status, 400)
      assert.deepInclude(await broken.json(), { code: "body.invalid", field: "body" })
      assert.strictEqual((await messages(taken.thread.id)).length, 1, "the broken body wrote nothing")
    } finally {
      await web.dispose()
    }
  })

  it("a web handler reads a streamed body (no length) of exactly bodyLimitBytes; one byte more is 413", async () => {
    const mounted = Mount.toWebHandler(app(), { bodyLimitBytes: 300 })
    try {
      const token = await operatorToken(mounted.runtime)
      const post = (bytes: number) => {
        const text = `{"title":"${"x".repeat(bytes - 12)}"}`
        assert.strictEqual(new TextEncoder().encode(text).byteLength, bytes)
        return mounted.handler(
          new Request("http://localhost/demands", {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: new ReadableStream<Uint8Array>({
              start(controller) {
                controller.enqueue(new TextEncoder().encode(text))
                controller.close()
              }
            }),
            duplex: "half"
          } as RequestInit)
        )
      }
      const exact = await post(300)
      const read = (await exact.json()) as { code?: string; field?: string }
      assert.strictEqual(exact.status, 400, JSON.stringify(read))
      assert.notStrictEqual(read.code, "body.too_large", "refused for what it says, not for its size")
      const over = await post(301)
      assert.strictEqual(over.status, 413)
      assert.deepInclude(await over.json(), { code: "body.too_large", limit: 300 })
    } finally {
      await mounted.dispose()
    }
  })

  it("§input: a path whose percent-encoding does not decode (%ZZ, a lone %, half a UTF-8 character) is 400 path.encoding naming the path, in the caller's language; a path that decodes but is no endpoint's stays 404", async () => {
    const web = Mount.toWebHandler(app())
    try {
      for (const path of ["/demands/%ZZ", "/demands/abc%", "/demands/%E4%B8"]) {
        const answer = await web.handler(new Request(`http://localhost${path}`))
        assert.strictEqual(answer.status, 400, path)
        assert.deepStrictEqual(
          await answer.json(),
          {
            _tag: "InvalidInput",
            rule: "§input",
            code: "path.encoding",
            field: "path",
            message: Messages.zhCN["path.encoding"]
          },
          path
        )
      }
      const en = await web.handler(
        new Request("http://localhost/demands/%ZZ", { headers: { "accept-language": "en" } })
      )
      assert.include(((await en.json()) as { message: string }).message, "percent-encoding")
      const decoded = await web.handler(new Request("http://localhost/demandz/%E4%B8%AD"))
      assert.strictEqual(decoded.status, 404)
      assert.deepInclude(await decoded.json(), { code: "route.not_found" })
    } finally {
      await web.dispose()
    }
  })

  it("a Node listener: the prefix is stripped, other paths go to next()", async () => {
    const { mounted, server } = await underPrefix()
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const hall = await fetch(`${base}/zhongbao/hall?keyword=%E7%9F%B3`)
      assert.strictEqual(hall.status, 200)
      assert.deepStrictEqual(((await hall.json()) as { items: Array<unknown> }).items, [])
      const other = await fetch(`${base}/elsewhere`)
      assert.strictEqual(other.status, 418)
      const docs = await fetch(`${base}/zhongbao/docs`)
      assert.strictEqual(docs.status, 200)
      const html = await docs.text()
      assert.include(html, "SwaggerUIBundle")
      assert.notMatch(
        html,
        /<script[^>]+src=|<link[^>]+href="https?:/,
        "the docs page loads nothing from a CDN"
      )
      // An anonymous command is 401 before its body is read (Api.ts: public endpoints only answer anonymous callers).
      const anonymous = await fetch(`${base}/zhongbao/demands`, {
        method: "POST",
        headers: { "content-type": "application/json", "accept-language": "en" },
        body: "{not json"
      })
      assert.strictEqual(anonymous.status, 401)
      assert.strictEqual(
        anonymous.headers.get("www-authenticate"),
        'Bearer realm="zhongbao"',
        "RFC 9110's challenge"
      )
      assert.strictEqual(((await anonymous.json()) as { code: string }).code, "auth.required")
      const token = await operatorToken(mounted.runtime)
      const bad = await fetch(`${base}/zhongbao/demands`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "accept-language": "en"
        },
        body: "{not json"
      })
      assert.strictEqual(bad.status, 400)
      assert.strictEqual(((await bad.json()) as { code: string }).code, "body.invalid")
      const chunked = await postChunked(
        `${base}/zhongbao/demands`,
        { authorization: `Bearer ${token}`, "content-type": "application/json" },
        Array.from({ length: 40 }, () => Buffer.alloc(64 * 1024, 32))
      )
      assert.deepStrictEqual([chunked.status, chunked.body.code], [413, "body.too_large"])
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await mounted.dispose()
    }
  })

  it("a Node listener given no next() (the README's node:http line) answers a path outside its prefix 404 route.not_found, in the API's shape and the caller's language", async () => {
    const mounted = Mount.toNodeListener(app(), { prefix: "/zhongbao" })
    const server = createServer((req, res) => mounted.listener(req, res))
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const outside = await fetch(`${base}/elsewhere`, { headers: { "accept-language": "en" } })
      assert.strictEqual(outside.status, 404)
      assert.strictEqual(outside.headers.get("content-language"), "en")
      assert.deepInclude(await outside.json(), { _tag: "NotFound", code: "route.not_found", entity: "route" })
      assert.strictEqual((await fetch(`${base}/zhongbao/settings`)).status, 200)
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await mounted.dispose()
    }
  })

  it("R54: a streamed upload (chunked, no length) through the Node listener of exactly uploadLimitBytes is stored; one byte more is 413 naming the limit, in Chinese", async () => {
    const { mounted, server } = await underPrefix("/zhongbao", { uploadLimitBytes: 1_000 })
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const token = await enterpriseToken(mounted.runtime)
      const head = Buffer.from(
        '--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n'
      )
      const tail = Buffer.from("\r\n--b--\r\n")
      const bodyOf = (bytes: number) => [head, Buffer.alloc(bytes - head.length - tail.length, 32), tail]
      const headers = { authorization: `Bearer ${token}`, "content-type": "multipart/form-data; boundary=b" }
      const exact = await postChunked(`${base}/zhongbao/files`, headers, bodyOf(1_000))
      assert.strictEqual(exact.status, 201, JSON.stringify(exact.body))
      assert.strictEqual(exact.body.size, 1_000 - head.length - tail.length + "%PDF-1.7\n".length)
      const over = await postChunked(`${base}/zhongbao/files`, headers, bodyOf(1_001))
      assert.strictEqual(over.status, 413, JSON.stringify(over.body))
      assert.deepInclude(over.body, {
        code: "body.too_large",
        limit: 1_000,
        message: "请求内容超过上限（1,000 字节）"
      })
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await mounted.dispose()
    }
  })

  it("a prefix given with a trailing slash is the same prefix", async () => {
    const { mounted, server } = await underPrefix("/zhongbao/")
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      assert.strictEqual((await fetch(`${base}/zhongbao/hall`)).status, 200)
      assert.strictEqual((await fetch(`${base}/zhongbao/settings`)).status, 200)
      assert.strictEqual((await fetch(`${base}/hall`)).status, 418)
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await mounted.dispose()
    }
  })

  it("a Node listener matches its prefix on the path as sent; a body left unread does not hold the connection", async () => {
    const { mounted, server } = await underPrefix()
    const port = (server.address() as AddressInfo).port
    const status = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on("error", reject)
        req.end()
      })
    try {
      assert.strictEqual(await status("/zhongbao/settings"), 200)
      // Outside the prefix as sent, whatever a URL parser would make of them: the host's.
      for (const path of [
        "//evil.example/zhongbao/settings",
        "/other/%2e%2e/zhongbao/settings",
        "/other\\..\\zhongbao/settings"
      ]) {
        assert.strictEqual(await status(path), 418, path)
      }
      // Inside it, a path a parser would rewrite is refused, not read as another one.
      for (const path of [
        "/zhongbao/x/../settings",
        "/zhongbao/%2e%2e/zhongbao/settings",
        "/zhongbao/x\\..\\settings",
        "/zhongbao/demands%2Fx",
        "/zhongbao/demands%2fx",
        "/zhongbao/demands%5cx"
      ]) {
        assert.strictEqual(await status(path), 400, path)
      }
      // A path that only begins like the prefix is the host's, and so is the prefix in
      // other letters; under it, an endpoint is its path as documented, a trailing slash aside.
      assert.strictEqual(await status("/zhongbaox/settings"), 418)
      assert.strictEqual(await status("/ZhongBao/settings"), 418)
      for (const path of ["/zhongbao/Settings", "/zhongbao//settings", "/zhongbao/review//pending"]) {
        assert.strictEqual(await status(path), 404, path)
      }
      assert.strictEqual(await status("/zhongbao/settings/"), 200)
      const refused = await new Promise<{ language: unknown; body: unknown }>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            path: "/zhongbao/%2e%2e/zhongbao/settings",
            headers: { "accept-language": "en" }
          },
          (res) => {
            let text = ""
            res.on("data", (chunk: Buffer) => {
              text += chunk.toString("utf8")
            })
            res.on("end", () =>
              resolve({ language: res.headers["content-language"], body: JSON.parse(text) })
            )
          }
        )
        req.on("error", reject)
        req.end()
      })
      assert.strictEqual(refused.language, "en")
      assert.deepInclude(refused.body, { _tag: "InvalidInput", code: "path.invalid", field: "path" })

      // An upload without a length, answered 401 before its body is read, then a GET on
      // the same connection: both are answered.
      const answers = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1")
        let text = ""
        const timer = setTimeout(() => {
          socket.destroy()
          resolve(text)
        }, 5_000)
        socket.on("data", (chunk: Buffer) => {
          text += chunk.toString("latin1")
          if ((text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= 2 && text.includes("technicalFields")) {
            clearTimeout(timer)
            socket.destroy()
            resolve(text)
          }
        })
        socket.on("error", reject)
        const part = Buffer.alloc(64 * 1024, 32)
        socket.write(
          "POST /zhongbao/files HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
            "Content-Type: multipart/form-data; boundary=b\r\n\r\n"
        )
        for (let i = 0; i < 8; i++)
          socket.write(`${part.length.toString(16)}\r\n${part.toString("latin1")}\r\n`)
        socket.write("0\r\n\r\nGET /zhongbao/settings HTTP/1.1\r\nHost: x\r\n\r\n")
      })
      assert.deepStrictEqual(answers.match(/HTTP\/1\.1 \d{3}/g), ["HTTP/1.1 401", "HTTP/1.1 200"])
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await mounted.dispose()
    }
  })

  it("R54: an upload that is empty, cut short (in a part, in a part's headers, after a `--boundary--` inside a part), names two boundaries or an invalid `filename*`, or has two parts named `file`, is refused (400, field file) at once, over both handlers", async () => {
    const part = 'Content-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7'
    const bodies: ReadonlyArray<string | readonly [string, string]> = [
      "",
      `--b\r\n${part} cut short`,
      '--b\r\nContent-Disposition: form-data; name="other"; filename="a.pdf"\r\n\r\n%PDF-1.7 cut short',
      `--b\r\n${part} x--b-- cut short`,
      '--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"',
      `--b\r\n${part}\n%%EOF\r\n--b\r\nContent-Disposition: form-data; name="na`,
      [`--c\r\n${part}\r\n--b--\r\n cut short`, "multipart/form-data; boundary=b; boundary=c"],
      `--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"; filename*=UTF-8''%ZZ.pdf\r\n\r\n%PDF-1.7\r\n--b--\r\n`,
      `--b\r\n${part}\n%%EOF\r\n--b\r\n${part}\n%%EOF\r\n--b--\r\n`
    ]
    const web = Mount.toWebHandler(app())
    const node = Mount.toNodeListener(app())
    const server = createServer(node.listener)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      for (const [send, runtime] of [
        [(init: RequestInit) => web.handler(new Request("http://localhost/files", init)), web.runtime],
        [(init: RequestInit) => fetch(`${base}/files`, init), node.runtime]
      ] as const) {
        const token = await enterpriseToken(runtime)
        for (const sent of bodies) {
          const [body, contentType] =
            typeof sent === "string" ? [sent, "multipart/form-data; boundary=b"] : sent
          const answer = await Promise.race([
            send({
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": contentType },
              body
            }),
            new Promise<never>((_, reject) =>
              setTimeout(() => reject(new Error(`no answer: ${body}`)), 5_000)
            )
          ])
          assert.strictEqual(answer.status, 400, JSON.stringify(body))
          const error = (await answer.json()) as { field: string; rule: string }
          assert.deepStrictEqual([error.field, error.rule], ["file", "R54"], JSON.stringify(body))
        }
        const twoNames = await send({
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "multipart/form-data; boundary=b" },
          body: `--b\r\n${part}\n%%EOF\r\n--b\r\nContent-Disposition: form-data; name="name"\r\n\r\n甲.pdf\r\n--b\r\nContent-Disposition: form-data; name="name"\r\n\r\n乙.pdf\r\n--b--\r\n`
        })
        assert.strictEqual(twoNames.status, 400)
        assert.deepInclude(await twoNames.json(), { field: "name", rule: "R54" })
        assert.strictEqual(await uploadsAudited(runtime), 0, "nothing refused was stored")
        // The part named `file` is the file without a `filename` too (RFC 7578 makes it optional).
        const unnamed = await send({
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "multipart/form-data; boundary=b" },
          body: '--b\r\nContent-Disposition: form-data; name="file"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n%%EOF\n\r\n--b\r\nContent-Disposition: form-data; name="name"\r\n\r\n方案.pdf\r\n--b--\r\n'
        })
        const stored = (await unnamed.json()) as { name?: string; size?: number }
        assert.strictEqual(unnamed.status, 201, JSON.stringify(stored))
        assert.deepStrictEqual([stored.name, stored.size], ["方案.pdf", 15])
        assert.strictEqual(await uploadsAudited(runtime), 1)
      }
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await web.dispose()
      await node.dispose()
    }
  })

  it("R54: a file whose name is Chinese, sent as browsers send it (its UTF-8 name raw in the part's headers), is stored under that name and downloaded with it; quotes and apostrophes too", async () => {
    const web = Mount.toWebHandler(app())
    const node = Mount.toNodeListener(app())
    const server = createServer(node.listener)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const pdf = new TextEncoder().encode("%PDF-1.7\n%%EOF\n")
    try {
      for (const [send, runtime] of [
        [
          (path: string, init: RequestInit) => web.handler(new Request(`http://localhost${path}`, init)),
          web.runtime
        ],
        [(path: string, init: RequestInit) => fetch(`${base}${path}`, init), node.runtime]
      ] as const) {
        const token = await enterpriseToken(runtime)
        for (const [name, label] of [
          ["技术合同.pdf", undefined],
          ["技术合同.pdf", "技术合同（盖章版）.pdf"],
          ['O\'Brien "报告" (1)*.pdf', undefined]
        ] as const) {
          const form = new FormData()
          if (label !== undefined) form.append("name", label)
          form.append("file", new File([pdf], name, { type: "application/pdf" }))
          const answer = await send("/files", {
            method: "POST",
            headers: { authorization: `Bearer ${token}` },
            body: form
          })
          const stored = (await answer.json()) as { id?: string; name?: string; size?: number }
          assert.strictEqual(answer.status, 201, JSON.stringify(stored))
          assert.deepStrictEqual([stored.name, stored.size], [label ?? name, pdf.length])
          const download = await send(`/files/${stored.id}/content`, {
            headers: { authorization: `Bearer ${token}` }
          })
          assert.strictEqual(download.status, 200)
          await download.arrayBuffer()
          const disposition = download.headers.get("content-disposition") ?? ""
          // RFC 8187: the extended value is attr-chars and percent-encoded octets only.
          const extended = /filename\*=UTF-8''([^;]*)/.exec(disposition)?.[1] ?? ""
          assert.match(extended, /^(?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})+$/, disposition)
          assert.strictEqual(decodeURIComponent(extended), label ?? name)
        }
      }
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await web.dispose()
      await node.dispose()
    }
  })

  it("R54: a download streams the file (Content-Length its size, the bytes exact); bytes failing mid-file cut the connection, never a short file taken as whole", async () => {
    const lines: Array<string> = []
    const broken = { now: false }
    const pieces = { served: 0 }
    /** Memory ports whose file store's read counts its pieces and, when broken, fails after the first. */
    const ports = Layer.map(PersistenceMemory.layerMemory, (context) => {
      const store = Context.get(context, FileStore.FileStore)
      return Context.add(context, FileStore.FileStore, {
        ...store,
        read: (file: FileStore.StoredFile) =>
          Stream.mapEffect(Stream.zipWithIndex(store.read!(file)), ([piece, i]) =>
            broken.now && i > 0
              ? Effect.fail(new Errors.InfrastructureError({ port: "FileStore", message: "disk gone" }))
              : Effect.sync(() => {
                  pieces.served++
                  return piece
                })
          )
      })
    })
    const layer = () =>
      Layer.mergeAll(
        Zhongbao.layer.pipe(Layer.provideMerge(Layer.merge(ports, Settings.layer({})))),
        Authentication.layerBearer.pipe(Layer.provideMerge(Authentication.layerSessionsMemory())),
        RateLimit.layer(),
        Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ message }) => {
            lines.push(String(Array.isArray(message) ? message[0] : message))
          })
        )
      )
    const web = Mount.toWebHandler(layer())
    const node = Mount.toNodeListener(layer())
    // Kept alive past the test's timeout: a connection left open after a short body
    // would hold the client's read until then, not end it.
    const server = createServer({ keepAliveTimeout: 600_000 }, node.listener)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const pdf = new Uint8Array(600 * 1024 + 7).map((_, i) => (i * 7919) & 0xff)
    pdf.set(new TextEncoder().encode("%PDF-1.7\n"), 0)
    try {
      for (const [label, send, runtime] of [
        [
          "web handler",
          (path: string, init: RequestInit) => web.handler(new Request(`http://localhost${path}`, init)),
          web.runtime
        ],
        ["node listener", (path: string, init: RequestInit) => fetch(`${base}${path}`, init), node.runtime]
      ] as const) {
        broken.now = false
        const token = await enterpriseToken(runtime)
        const form = new FormData()
        form.append("file", new File([pdf], "方案.pdf", { type: "application/pdf" }))
        const upload = await send("/files", {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          body: form
        })
        const stored = (await upload.json()) as { id: string; size: number }
        assert.strictEqual(upload.status, 201, `${label}: ${JSON.stringify(stored)}`)
        const path = `/files/${stored.id}/content`
        const headers = { authorization: `Bearer ${token}` }
        pieces.served = 0
        const whole = await send(path, { headers })
        assert.strictEqual(whole.status, 200, label)
        assert.strictEqual(
          whole.headers.get("content-length"),
          String(pdf.length),
          `${label}: Content-Length`
        )
        assert.strictEqual(whole.headers.get("content-type"), "application/pdf", label)
        assert.deepStrictEqual(new Uint8Array(await whole.arrayBuffer()), pdf, `${label}: the bytes`)
        assert.strictEqual(pieces.served, 3, `${label}: read in the store's pieces of 256 KiB`)

        broken.now = true
        lines.length = 0
        const cut = await send(path, { headers })
        assert.strictEqual(cut.status, 200, `${label}: the status was sent before the bytes failed`)
        const body = await cut.arrayBuffer().then(
          (bytes) => `read whole: ${bytes.byteLength} bytes`,
          () => "failed"
        )
        assert.strictEqual(body, "failed", `${label}: the client's read of the body fails`)
        await vi.waitFor(() =>
          assert.isTrue(
            lines.some((line) => line.includes(`file ${stored.id} failed mid-download`)),
            `${label}: logged: ${lines.join(" | ")}`
          )
        )
        broken.now = false
        const again = await send(path, { headers })
        assert.deepStrictEqual(new Uint8Array(await again.arrayBuffer()), pdf, `${label}: served again`)
      }
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await web.dispose()
      await node.dispose()
    }
  })

  it("R54: an upload whose body arrives in small pieces (part headers and boundaries split across them, the file full of near-boundaries) is stored byte-exact", async () => {
    const { node, port, close } = await listening()
    try {
      const token = await enterpriseToken(node.runtime)
      const file = new Uint8Array(200_003).map((_, i) => (i * 131 + (i >> 9)) & 0xff)
      file.set(new TextEncoder().encode("%PDF-1.7\n"), 0)
      const near = new TextEncoder().encode("\r\n--boundar")
      for (let at = 100; at + near.length < file.length; at += 997) file.set(near, at)
      const body = Buffer.concat([
        Buffer.from('--boundary\r\nContent-Disposition: form-data; name="name"\r\n\r\n分片.pdf\r\n'),
        Buffer.from('--boundary\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'),
        Buffer.from("Content-Type: application/pdf\r\n\r\n"),
        file,
        Buffer.from("\r\n--boundary--\r\n")
      ])
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1")
        let text = ""
        socket.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8")
          if (/\r\n\r\n[\s\S]*\}$/.test(text)) {
            socket.destroy()
            resolve(text)
          }
        })
        socket.on("error", reject)
        socket.write(
          `POST /files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
            `Content-Type: multipart/form-data; boundary=boundary\r\nContent-Length: ${body.length}\r\n\r\n`
        )
        // The head and the tail in pieces of 1 to 13 bytes, each its own TCP segment
        // (a pause after each), the middle in larger ones.
        socket.setNoDelay(true)
        const send = async () => {
          for (let at = 0, i = 0; at < body.length; i++) {
            const edge = at < 400 || at > body.length - 120
            const piece = edge ? [1, 7, 13][i % 3]! : 4093
            socket.write(body.subarray(at, at + piece))
            at += piece
            await new Promise((r) => (edge ? setTimeout(r, 1) : setImmediate(r)))
          }
        }
        send().catch(reject)
      })
      assert.match(answer, /^HTTP\/1\.1 201/, answer.slice(0, 300))
      const stored = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as {
        name: string
        size: number
        sha256: string
      }
      assert.deepStrictEqual(
        [stored.name, stored.size, stored.sha256],
        [
          "分片.pdf",
          file.length,
          Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", file)), (b) =>
            b.toString(16).padStart(2, "0")
          ).join("")
        ]
      )
    } finally {
      await close()
    }
  })

  it("R54: uploads beyond uploadConcurrency wait their turn with their bodies unread; one whose client leaves gives its turn up; an uploadConcurrency not a whole number from 1 is refused", async () => {
    const { node, port, close } = await listening({ uploadConcurrency: 1 })
    const token = await enterpriseToken(node.runtime)
    const held = (name: string, cut: number) => heldUpload(port, token, name, cut)
    const upload = (name: string) => plainUpload(port, token, name)
    const order: Array<string> = []
    const settled = <A>(label: string, promise: Promise<A>) =>
      promise.then((value) => {
        order.push(label)
        return value
      })
    try {
      const first = held("first", 1000)
      const second = settled("second", upload("second"))
      assert.isFalse(
        await within(second, 1_000),
        "the second upload waits while the first holds the only turn"
      )
      first.finish()
      const firstAnswer = await settled("first", first.answered)
      assert.match(firstAnswer, /^HTTP\/1\.1 201/, firstAnswer.slice(0, 200))
      const secondAnswer = await second
      assert.strictEqual(secondAnswer.status, 201, JSON.stringify(secondAnswer.body))
      assert.deepStrictEqual(order, ["first", "second"], "the second stored after the first")

      const leaving = held("leaving", 1000)
      const next = upload("next")
      assert.isFalse(await within(next, 500), "waits behind the held upload")
      leaving.leave()
      const nextAnswer = await next
      assert.deepStrictEqual(
        [nextAnswer.status, nextAnswer.body.name],
        [201, "next.pdf"],
        "its turn came once the first left"
      )
    } finally {
      await close()
    }

    for (const concurrency of [0, -1, 1.5, Number.NaN])
      await refusedOption({ uploadConcurrency: concurrency }, "uploadConcurrency")
  })

  it("R54: one account holds at most uploadConcurrencyPerAccount turns: its further uploads wait for one of its own, holding none of the others', which another account's upload takes; a value not a whole number from 1 is refused", async () => {
    const { node, port, close } = await listening({ uploadConcurrency: 2, uploadConcurrencyPerAccount: 1 })
    const [enterprise, expert] = await node.runtime.runPromise(
      Effect.gen(function* () {
        const world = yield* Fixtures.makeWorld
        const sessions = yield* Authentication.Sessions
        return [
          Redacted.value(yield* sessions.issue(world.enterprise.account)),
          Redacted.value(yield* sessions.issue(world.expert.account))
        ] as const
      })
    )
    try {
      const first = heldUpload(port, enterprise, "first", 1000)
      const second = plainUpload(port, enterprise, "second")
      assert.isFalse(
        await within(second, 1_000),
        "the enterprise's second upload waits while its first holds its one turn"
      )
      const otherUpload = plainUpload(port, expert, "other")
      assert.isTrue(
        await within(otherUpload, 15_000),
        "another account's upload takes the turn the waiting one does not hold"
      )
      const other = await otherUpload
      assert.deepStrictEqual([other.status, other.body.name], [201, "other.pdf"])
      assert.isFalse(await within(second, 200), "still waiting for the enterprise's own turn")
      first.finish()
      assert.match(await first.answered, /^HTTP\/1\.1 201/)
      const secondAnswer = await second
      assert.deepStrictEqual([secondAnswer.status, secondAnswer.body.name], [201, "second.pdf"])
      const again = await plainUpload(port, enterprise, "again")
      assert.strictEqual(again.status, 201, "the account's turn was given back")
    } finally {
      await close()
    }

    for (const perAccount of [0, -1, 1.5, Number.NaN])
      await refusedOption({ uploadConcurrencyPerAccount: perAccount }, "uploadConcurrencyPerAccount")
  }, 30_000)

  it("R54: an upload whose body stops arriving for uploadIdleTimeout is answered 408 (body.timeout), over Node its connection closed; nothing is stored and the next upload takes its turn; a body slow but never idle that long is stored; an uploadIdleTimeout not a positive finite duration is refused", async () => {
    const { node, port, close } = await listening({ uploadConcurrency: 1, uploadIdleTimeout: "300 millis" })
    const token = await enterpriseToken(node.runtime)
    try {
      const stalled = heldUpload(port, token, "stalled", 1000)
      const next = plainUpload(port, token, "next")
      assert.isTrue(await within(stalled.answered, 3_000), "the stalled upload is answered")
      const answer = await stalled.answered
      assert.match(answer, /^HTTP\/1\.1 408/, answer.slice(0, 300))
      assert.match(answer, /\r\nconnection: close\r\n/i, answer.slice(0, 300))
      const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as Record<string, unknown>
      assert.deepInclude(body, { _tag: "RequestTimeout", code: "body.timeout", idleSeconds: 0.3 })
      assert.include(String(body.message), "0.3 秒")
      assert.isTrue(await within(stalled.closed, 5_000), "the server closed the stalled connection")
      const nextAnswer = await next
      assert.deepStrictEqual([nextAnswer.status, nextAnswer.body.name], [201, "next.pdf"])
      assert.strictEqual(await uploadsAudited(node.runtime), 1, "only the next upload is stored")

      const bytes = pdfBody("steady")
      const steady = heldUpload(port, token, "steady", 1000)
      const pieces = 6
      const piece = Math.ceil((bytes.length - 1000) / pieces)
      for (let at = 1000; at < bytes.length; at += piece) {
        await new Promise((resolve) => setTimeout(resolve, 150))
        steady.send(bytes.subarray(at, at + piece))
      }
      const steadyAnswer = await steady.answered
      assert.match(
        steadyAnswer,
        /^HTTP\/1\.1 201/,
        "a body arriving slowly, never idle for the timeout, is stored however long it takes in all"
      )
    } finally {
      await close()
    }

    const web = Mount.toWebHandler(app(), { uploadIdleTimeout: "300 millis" })
    try {
      const webToken = await enterpriseToken(web.runtime)
      const answer = web.handler(
        new Request("http://localhost/files", {
          method: "POST",
          headers: { authorization: `Bearer ${webToken}`, "content-type": "multipart/form-data; boundary=b" },
          body: new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(pdfBody("stalled").subarray(0, 1000))
            }
          }),
          duplex: "half"
        } as RequestInit)
      )
      assert.isTrue(await within(answer, 3_000), "the web handler answers the stalled upload")
      const response = await answer
      assert.strictEqual(response.status, 408)
      assert.deepInclude(await response.json(), { code: "body.timeout", idleSeconds: 0.3 })
      assert.strictEqual(await uploadsAudited(web.runtime), 0)
    } finally {
      await web.dispose()
    }

    for (const idle of [0, -1, "0 millis", Number.POSITIVE_INFINITY, "soon"] as const)
      await refusedOption({ uploadIdleTimeout: idle as Duration.DurationInput }, "uploadIdleTimeout")
  })

  it("a JSON body that stops arriving for bodyIdleTimeout is answered 408 (body.timeout) in the caller's language, over Node its connection closed, and does nothing; a body slow but never idle that long is taken; a bodyIdleTimeout or bodyConcurrencyPerAccount out of range is refused", async () => {
    const { node, port, close } = await listening({ bodyIdleTimeout: "300 millis" })
    try {
      const { token, ask, texts } = await expertAsking(node.runtime)
      const stalled = heldPost(port, token, ask, "application/json", json({ text: "停顿的提问" }), 5)
      assert.isTrue(await within(stalled.answered, 3_000), "the stalled body is answered")
      const answer = await stalled.answered
      assert.match(answer, /^HTTP\/1\.1 408/, answer.slice(0, 300))
      assert.match(answer, /\r\nconnection: close\r\n/i, answer.slice(0, 300))
      const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as Record<string, unknown>
      assert.deepInclude(body, { _tag: "RequestTimeout", code: "body.timeout", idleSeconds: 0.3 })
      assert.strictEqual(body.message, "请求内容已 0.3 秒未送达，请重新发送")
      assert.isTrue(await within(stalled.closed, 5_000), "the server closed the stalled connection")

      const bytes = json({ text: "慢慢送达的提问" })
      const steady = heldPost(port, token, ask, "application/json", bytes, 3)
      for (let at = 3; at < bytes.length; at += 8) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        steady.send(bytes.subarray(at, at + 8))
      }
      const steadyAnswer = await steady.answered
      assert.match(steadyAnswer, /^HTTP\/1\.1 201/, "a body arriving slowly, never idle that long, is taken")
      const threadId = (JSON.parse(steadyAnswer.slice(steadyAnswer.indexOf("\r\n\r\n") + 4)) as Thread).thread
        .id
      assert.deepStrictEqual(
        await texts(port, threadId),
        ["慢慢送达的提问"],
        "the stalled request wrote nothing"
      )
    } finally {
      await close()
    }

    const web = Mount.toWebHandler(app(), { bodyIdleTimeout: "300 millis" })
    try {
      const { token, ask } = await expertAsking(web.runtime)
      const answer = web.handler(
        new Request(`http://localhost${ask}`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            "accept-language": "en"
          },
          body: new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(json({ text: "stalled" }).subarray(0, 5))
            }
          }),
          duplex: "half"
        } as RequestInit)
      )
      assert.isTrue(await within(answer, 3_000), "the web handler answers the stalled body")
      const response = await answer
      assert.strictEqual(response.status, 408)
      assert.deepInclude(await response.json(), {
        code: "body.timeout",
        idleSeconds: 0.3,
        message: "no byte of the request's body came for 0.3 s; send it again"
      })
    } finally {
      await web.dispose()
    }

    for (const idle of [0, -1, "0 millis", Number.POSITIVE_INFINITY, "soon"] as const)
      await refusedOption({ bodyIdleTimeout: idle as Duration.DurationInput }, "bodyIdleTimeout")
    for (const perAccount of [0, -1, 1.5, Number.NaN])
      await refusedOption({ bodyConcurrencyPerAccount: perAccount }, "bodyConcurrencyPerAccount")
  })

  it("bodyConcurrencyPerAccount: an account's JSON bodies beyond its turns wait unread until one of its own is read, while another account's body is read at once", async () => {
    const { node, port, close } = await listening({ bodyConcurrencyPerAccount: 1 })
    try {
      const { token, owner: other, ask, texts } = await expertAsking(node.runtime)
      const first = heldPost(port, token, ask, "application/json", json({ text: "第一问" }), 5)
      await new Promise((resolve) => setTimeout(resolve, 200))
      const second = heldPost(port, token, ask, "application/json", json({ text: "第二问" }), 0)
      second.finish()
      const another = heldPost(port, other, ask, "application/json", json({ text: "另一账号" }), 0)
      another.finish()
      assert.isTrue(await within(another.answered, 3_000), "another account's body is read at once")
      assert.match(
        await another.answered,
        /^HTTP\/1\.1 403/,
        "(the enterprise may not consult on its own demand)"
      )
      assert.isFalse(await within(second.answered, 500), "the account's second body waits for its turn")
      first.finish()
      const answers = await Promise.all([first.answered, second.answered])
      for (const text of answers) assert.match(text, /^HTTP\/1\.1 201/, text.slice(0, 300))
      const threadId = (JSON.parse(answers[0].slice(answers[0].indexOf("\r\n\r\n") + 4)) as Thread).thread.id
      assert.deepStrictEqual(await texts(port, threadId), ["第一问", "第二问"])
    } finally {
      await close()
    }
  })

  it("rate limits: a host's limiter answering a wait that is not a finite number, or beyond its window, still gets 429 with a Retry-After within the window", async () => {
    for (const [wait, expected, windowMillis] of [
      [Number.NaN, 60, 60_000],
      [Number.POSITIVE_INFINITY, 60, 60_000],
      [-5, 1, 60_000],
      [600_000, 60, 60_000],
      [1_500, 2, 60_000],
      // A window of a second and a half is two whole seconds at most, not one.
      [Number.POSITIVE_INFINITY, 2, 1_500]
    ] as const) {
      const web = Mount.toWebHandler(
        Layer.mergeAll(
          Zhongbao.layerMemory(),
          Authentication.layerBearer.pipe(Layer.provideMerge(Authentication.layerSessionsMemory())),
          RateLimit.layerPolicies({ consulting: { limit: 1, windowMillis } }),
          Layer.succeed(RateLimit.RateLimiter, {
            consume: () => Effect.succeed({ allowed: false, retryAfterMillis: wait })
          })
        )
      )
      try {
        const [token, demandId] = await web.runtime.runPromise(
          Effect.gen(function* () {
            const world = yield* Fixtures.makeWorld
            const demand = yield* Fixtures.publish(world, world.enterprise.account)
            const sessions = yield* Authentication.Sessions
            return [Redacted.value(yield* sessions.issue(world.expert.account)), demand.id] as const
          })
        )
        const answer = await web.handler(
          new Request(`http://localhost/demands/${demandId}/consultations`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ text: "请问" })
          })
        )
        const body = (await answer.json()) as { retryAfterSeconds?: number }
        assert.strictEqual(answer.status, 429, `${wait}: ${JSON.stringify(body)}`)
        assert.strictEqual(answer.headers.get("retry-after"), String(expected), String(wait))
        assert.strictEqual(body.retryAfterSeconds, expected)
      } finally {
        await web.dispose()
      }
    }
  })

  it("a host's resolver failing with an error the API does not declare is answered 500 InternalError, in the API's body, and logged", async () => {
    const logged: Array<string> = []
    for (const failure of [new HttpApiError.Unauthorized(), new Error("directory down"), "down"]) {
      const web = Mount.toWebHandler(
        Layer.mergeAll(
          Zhongbao.layerMemory(),
          Authentication.make(
            () => Effect.fail(failure) as unknown as Effect.Effect<Option.Option<Ids.AccountId>>
          ),
          RateLimit.layer(),
          Logger.replace(
            Logger.defaultLogger,
            Logger.make(({ message }) => {
              logged.push(String(Array.isArray(message) ? message[0] : message))
            })
          )
        )
      )
      try {
        const answer = await web.handler(
          new Request("http://localhost/hall", { headers: { "accept-language": "en" } })
        )
        assert.strictEqual(answer.status, 500)
        assert.match(answer.headers.get("content-type") ?? "", /application\/json/)
        assert.deepInclude(await answer.json(), { _tag: "InternalError", code: "internal" })
      } finally {
        await web.dispose()
      }
    }
    assert.lengthOf(
      logged.filter((line) => line.includes("does not declare")),
      3
    )
  })

  it("a Node listener behind a host's body parser that already read the body answers 500 at once, and logs why; a GET through the same parser is served", async () => {
    const logged: Array<string> = []
    const node = Mount.toNodeListener(appLogging(logged), { prefix: "/zhongbao" })
    // What express.json() does: reads the body to its end, then passes the request on.
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => node.listener(req, res))
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/zhongbao`
    try {
      const token = await operatorToken(node.runtime as Parameters<typeof operatorToken>[0])
      const answer = await Promise.race([
        fetch(`${base}/members`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            "accept-language": "en"
          },
          body: JSON.stringify({ kind: "enterprise", name: "某公司" })
        }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no answer")), 5_000))
      ])
      assert.strictEqual(answer.status, 500)
      assert.deepInclude(await answer.json(), { _tag: "InternalError", code: "internal" })
      assert.isTrue(
        logged.some((line) => line.includes("before the host's body parsers")),
        logged.join("\n")
      )
      assert.strictEqual((await fetch(`${base}/settings`)).status, 200)
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await node.dispose()
    }
  })

  it("a Node listener whose layer cannot be built answers 500 in the API's body and logs the error once", async () => {
    const node = Mount.toNodeListener(
      Layer.mergeAll(app(), Layer.effectDiscard(Effect.fail("the database is not reachable"))),
      { prefix: "/zhongbao" }
    )
    const server = createServer((req, res) => node.listener(req, res))
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const logged = vi.spyOn(console, "log").mockImplementation(() => undefined)
    try {
      for (let i = 0; i < 2; i++) {
        const answer = await fetch(
          `http://127.0.0.1:${(server.address() as AddressInfo).port}/zhongbao/settings`
        )
        assert.strictEqual(answer.status, 500)
        assert.deepInclude(await answer.json(), { _tag: "InternalError", code: "internal" })
      }
      const lines = logged.mock.calls.map((call) => call.map(String).join(" "))
      const unbuilt = lines.filter((line) => line.includes("could not be built"))
      assert.lengthOf(unbuilt, 1, lines.join("\n"))
      assert.include(unbuilt[0], "the database is not reachable")
    } finally {
      logged.mockRestore()
      await new Promise((resolve) => server.close(resolve))
      await node.dispose().catch(() => undefined)
    }
  })

  it("a web handler whose layer cannot be built answers 500 in the API's body, never its error, logs the error once and reads the body to its end", async () => {
    const secret = "connect ECONNREFUSED postgres://admin:hunter2@db:5432/zb"
    const web = Mount.toWebHandler(
      Layer.mergeAll(app(), Layer.effectDiscard(Effect.fail(new Error(secret)))),
      {
        prefix: "/zhongbao"
      }
    )
    const logged = vi.spyOn(console, "log").mockImplementation(() => undefined)
    try {
      const unsized = stillSending()
      const sized = stillSending()
      for (const request of [
        new Request("http://localhost/zhongbao/settings"),
        new Request("http://localhost/zhongbao/settings"),
        new Request("http://localhost/zhongbao/members", {
          method: "POST",
          body: JSON.stringify({ kind: "enterprise", name: "某公司" })
        }),
        new Request("http://localhost/zhongbao/members", {
          method: "POST",
          body: unsized.body,
          duplex: "half"
        } as RequestInit),
        new Request("http://localhost/zhongbao/members", {
          method: "POST",
          headers: { "content-length": "6" },
          body: sized.body,
          duplex: "half"
        } as RequestInit)
      ]) {
        const answer = await web.handler(request)
        assert.strictEqual(answer.status, 500)
        const text = await answer.text()
        assert.deepInclude(JSON.parse(text), { _tag: "InternalError", code: "internal" })
        assert.notInclude(text, "hunter2")
      }
      await vi.waitFor(() => {
        assert.isTrue(unsized.ended(), "a body without a length was read to its end")
        assert.isTrue(sized.ended(), "a body with a length was read to its end")
      })
      const lines = logged.mock.calls.map((call) => call.map(String).join(" "))
      const unbuilt = lines.filter((line) => line.includes("could not be built"))
      assert.lengthOf(unbuilt, 1, lines.join("\n"))
      assert.include(unbuilt[0], "ECONNREFUSED")
    } finally {
      logged.mockRestore()
      await web.dispose().catch(() => undefined)
    }
  })

  it("a Node listener whose layer cannot be built hands the host's next() an error that names no cause, when given one (the cause is logged)", async () => {
    const node = Mount.toNodeListener(
      Layer.mergeAll(app(), Layer.effectDiscard(Effect.fail("the database is not reachable")))
    )
    const handed: Array<unknown> = []
    const server = createServer((req, res) =>
      node.listener(req, res, (error?: unknown) => {
        handed.push(error)
        res.statusCode = 503
        res.end()
      })
    )
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const logged = vi.spyOn(console, "log").mockImplementation(() => undefined)
    try {
      const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/settings`)
      assert.strictEqual(answer.status, 503, "the host's error handler answered")
      assert.lengthOf(handed, 1)
      assert.instanceOf(handed[0], Error)
      assert.include((handed[0] as Error).message, "could not be built")
      assert.notInclude(String((handed[0] as Error).stack), "the database is not reachable")
      const lines = logged.mock.calls.map((call) => call.map(String).join(" "))
      assert.isTrue(
        lines.some(
          (line) => line.includes("could not be built") && line.includes("the database is not reachable")
        ),
        lines.join("\n")
      )
    } finally {
      logged.mockRestore()
      await new Promise((resolve) => server.close(resolve))
      await node.dispose().catch(() => undefined)
    }
  })

  it("a host's resolver answering an id that cannot be an account's (empty, over 64 characters, a control character) is an invalid credential: 401", async () => {
    for (const id of ["", "a".repeat(65), "acc\u0000ount"]) {
      const web = Mount.toWebHandler(
        Layer.mergeAll(
          Zhongbao.layerMemory(),
          Authentication.make(() => Effect.succeed(Option.some(id as Ids.AccountId))),
          RateLimit.layer()
        )
      )
      try {
        for (const path of ["/hall", "/settings", "/my/demands"]) {
          const answer = await web.handler(new Request(`http://localhost${path}`))
          assert.strictEqual(answer.status, 401, `${JSON.stringify(id)} ${path}`)
          assert.strictEqual(
            answer.headers.get("www-authenticate"),
            'Bearer realm="zhongbao"',
            "RFC 9110's challenge"
          )
          assert.deepInclude(await answer.json(), { _tag: "Unauthorized", code: "auth.invalid" })
        }
      } finally {
        await web.dispose()
      }
    }
  })

  it("paths are matched as the API's router matches them (a trailing slash, percent-encoding, the path ending at `;`): an anonymous command is 401 before its body is read, a malformed body names its endpoint's rule, an upload has the upload limit; another letter case or `//` is no endpoint", async () => {
    const web = Mount.toWebHandler(app())
    try {
      const token = await enterpriseToken(web.runtime)
      const post = (path: string, body: string, headers: Record<string, string>) =>
        web.handler(new Request(`http://localhost${path}`, { method: "POST", headers, body }))
      const upload = (path: string) =>
        post(
          path,
          `--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n${" ".repeat(2 * 1024 * 1024)}\n%%EOF\n\r\n--b--\r\n`,
          { "content-type": "multipart/form-data; boundary=b", authorization: `Bearer ${token}` }
        )
      for (const path of ["/demands/", "/d%65mands", "/demands;jsessionid=1", "/demands/;x"]) {
        const anonymous = await post(path, "{not json", { "content-type": "application/json" })
        assert.strictEqual(anonymous.status, 401, path)
        assert.strictEqual(((await anonymous.json()) as { code: string }).code, "auth.required", path)
        const malformed = await post(path, "{not json", {
          "content-type": "application/json",
          authorization: `Bearer ${token}`
        })
        const error = (await malformed.json()) as { code: string; rule: string }
        assert.deepStrictEqual([malformed.status, error.code, error.rule], [400, "body.invalid", "R10"], path)
      }
      for (const path of ["/files/", "/files;"]) {
        const uploaded = await upload(path)
        assert.strictEqual(uploaded.status, 201, uploaded.status === 201 ? path : await uploaded.text())
      }
      for (const path of ["//demands", "/Demands"]) {
        for (const headers of [{}, { authorization: `Bearer ${token}` }]) {
          const answer = await post(path, "{not json", { "content-type": "application/json", ...headers })
          assert.strictEqual(answer.status, 404, path)
          assert.strictEqual(((await answer.json()) as { code: string }).code, "route.not_found", path)
        }
      }
      // Another spelling of /files is not an upload: its multipart body is refused as anywhere else.
      for (const path of ["/FILES", "//files/"]) {
        const refused = await upload(path)
        assert.strictEqual(refused.status, 400, path)
        assert.strictEqual(((await refused.json()) as { code: string }).code, "body.content_type", path)
      }
      assert.strictEqual(await uploadsAudited(web.runtime), 2)
    } finally {
      await web.dispose()
    }
  })

  it("HEAD is matched to its path's GET endpoint: HEAD of the public hall answers anonymous callers, HEAD of a member read is refused before its handler", async () => {
    const web = Mount.toWebHandler(app())
    try {
      const head = (path: string) => web.handler(new Request(`http://localhost${path}`, { method: "HEAD" }))
      assert.strictEqual((await head("/hall")).status, 200)
      assert.strictEqual((await head("/my/demands")).status, 401)
      const asked = (method: string, path: string) =>
        answersAnonymous(HttpServerRequest.fromWeb(new Request(`http://localhost${path}`, { method })))
      assert.isTrue(asked("HEAD", "/hall"))
      assert.isFalse(asked("HEAD", "/my/demands"))
    } finally {
      await web.dispose()
    }
  })

  it("a body is JSON (multipart for uploads): forms and multipart elsewhere are refused naming content-type, and write nothing", async () => {
    const web = Mount.toWebHandler(app())
    try {
      const { ask, send, texts } = await expertOnDemand(web)
      for (const [contentType, body] of [
        ["application/x-www-form-urlencoded", "text=hi"],
        [
          "multipart/form-data; boundary=b",
          '--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--b--\r\n'
        ],
        ["text/plain", JSON.stringify({ text: "hi" })]
      ] as const) {
        const answer = await send(ask, contentType, body)
        assert.strictEqual(answer.status, 400, contentType)
        assert.deepInclude(
          await answer.json(),
          { code: "body.content_type", field: "content-type" },
          contentType
        )
      }
      const asked = await send(
        ask,
        "application/json; charset=utf-8",
        JSON.stringify({ text: "请问样品尺寸？" })
      )
      assert.strictEqual(asked.status, 201)
      const threadId = ((await asked.json()) as { thread: { id: string } }).thread.id
      assert.deepStrictEqual(
        await texts(threadId),
        ["请问样品尺寸？"],
        "the refused requests wrote no message"
      )
      // An upload spelled /files/ is an upload: its limit, not the 1 MiB body limit.
      const pdf = `%PDF-1.7\n${"0".repeat(2 * 1024 * 1024)}\n%%EOF`
      const upload = await send(
        "/files/",
        "multipart/form-data; boundary=b",
        `--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n${pdf}\r\n--b--\r\n`
      )
      assert.strictEqual(upload.status, 201)
    } finally {
      await web.dispose()
    }
  })

  it("a JSON body nested deeper than the limit, or not UTF-8 (bytes that are not, or another charset), is refused naming body, after authentication, and writes nothing", async () => {
    const web = Mount.toWebHandler(app())
    try {
      const consultation = await expertOnDemand(web)
      const send = (body: string | Uint8Array, contentType = "application/json", signedIn = true) =>
        consultation.send(consultation.ask, contentType, body, signedIn)
      const nested = (depth: number) => `{"text":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`
      for (const depth of [maxBodyDepth + 1, 3_000]) {
        const deep = await send(nested(depth))
        assert.strictEqual(deep.status, 400, `depth ${depth}`)
        assert.deepInclude(await deep.json(), { code: "body.too_deep", field: "body", rule: "R22" })
      }
      const anonymous = await send(nested(3_000), "application/json", false)
      assert.strictEqual(anonymous.status, 401, "an anonymous caller is answered before its body is read")
      const shallow = await send(nested(maxBodyDepth))
      assert.deepInclude(
        await shallow.json(),
        { code: "input.invalid", field: "text" },
        "decoded and refused for what it holds"
      )
      // The body object and the array are two values, each element after the first a third.
      const holding = (values: number) =>
        `{"text":[${Array(values - 1)
          .fill("{}")
          .join(",")}]}`
      const many = await send(holding(maxBodyValues + 1))
      assert.strictEqual(many.status, 400)
      assert.deepInclude(await many.json(), { code: "body.too_many_values", field: "body", rule: "R22" })
      const most = await send(holding(maxBodyValues))
      assert.deepInclude(await most.json(), { code: "input.invalid", field: "text" }, "at the limit: decoded")
      // The value past the limit may be a container's first, not one after a comma.
      const firstOfContainer = (values: number) =>
        `{"text":[${Array(values - 3)
          .fill("{}")
          .join(",")},[0]]}`
      const overByFirst = await send(firstOfContainer(maxBodyValues + 1))
      assert.deepInclude(await overByFirst.json(), { code: "body.too_many_values", field: "body" })
      const atByFirst = await send(firstOfContainer(maxBodyValues))
      assert.deepInclude(
        await atByFirst.json(),
        { code: "input.invalid", field: "text" },
        "at the limit: decoded"
      )
      const commas = await send(`{"text":"${",".repeat(50_000)}"}`)
      assert.strictEqual(commas.status, 400)
      assert.deepInclude(
        await commas.json(),
        { code: "input.invalid", field: "text" },
        "commas inside a string are not values"
      )
      const gbk = new Uint8Array([
        ...new TextEncoder().encode('{"text":"'),
        0xc7,
        0xeb,
        0xce,
        0xca,
        0x22,
        0x7d
      ])
      const notUtf8 = await send(gbk)
      assert.strictEqual(notUtf8.status, 400)
      assert.deepInclude(await notUtf8.json(), { code: "body.encoding", field: "body" })
      const latin1 = await send(JSON.stringify({ text: "Café?" }), "application/json; charset=iso-8859-1")
      assert.strictEqual(latin1.status, 400)
      assert.deepInclude(await latin1.json(), { code: "body.charset", field: "body" })
      const asked = await send(
        JSON.stringify({ text: "请问样品尺寸？" }),
        'application/json; charset="UTF-8"'
      )
      assert.strictEqual(asked.status, 201, "UTF-8, named or not, is read")
      const threadId = ((await asked.json()) as { thread: { id: string } }).thread.id
      for (const [text, contentType] of [
        ["Is a sample available?", "application/json; charset=iso-8859-1"],
        ["Sample size?", "application/json; charset=us-ascii"],
        ["样品尺寸 \ufffd 请问", "application/json"],
        // An escaped quote does not end a string: the brackets after it are text, not nesting.
        [`引号 " 之后 ${"[".repeat(maxBodyDepth + 8)}${"{".repeat(maxBodyDepth + 8)}`, "application/json"],
        ["样品尺寸（US-ASCII 声明，按 UTF-8 读取）", "application/json; charset=US-ASCII"]
      ] as const) {
        const taken = await send(JSON.stringify({ text }), contentType)
        assert.strictEqual(
          taken.status,
          201,
          `${contentType}: ASCII reads alike in any charset; U+FFFD sent as UTF-8 is a character`
        )
      }
      assert.deepStrictEqual(
        await consultation.texts(threadId),
        [
          "请问样品尺寸？",
          "Is a sample available?",
          "Sample size?",
          "样品尺寸 \ufffd 请问",
          `引号 " 之后 ${"[".repeat(maxBodyDepth + 8)}${"{".repeat(maxBodyDepth + 8)}`,
          "样品尺寸（US-ASCII 声明，按 UTF-8 读取）"
        ],
        "the refused requests wrote no message"
      )
    } finally {
      await web.dispose()
    }
  })

  it("a command that takes no body refuses one: a field sent to it is named, malformed JSON is body.invalid, and nothing changes; none, {} and null are taken; any body without a Content-Type is body.content_type", async () => {
    const web = Mount.toWebHandler(app())
    try {
      const { token, drafts } = await web.runtime.runPromise(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const sessions = yield* Authentication.Sessions
          const publishing = yield* Publishing.Publishing
          const drafts: Array<string> = []
          for (let i = 0; i < 5; i++) {
            drafts.push((yield* publishing.draft(world.enterprise.account, yield* Fixtures.form())).id)
          }
          return { token: Redacted.value(yield* sessions.issue(world.enterprise.account)), drafts }
        })
      )
      const call = (method: string, path: string, body?: string, contentType = "application/json") =>
        web.handler(
          new Request(`http://localhost${path}`, {
            method,
            headers: { authorization: `Bearer ${token}`, "content-type": contentType },
            ...(body === undefined ? {} : { body })
          })
        )
      const stateOf = async (id: string) =>
        ((await (await call("GET", `/demands/${id}`)).json()) as { demand: { state: string } }).demand.state
      const submit = (id: string) => `/demands/${id}/submit`
      const field = await call("POST", submit(drafts[0]!), JSON.stringify({ note: "请尽快审核" }))
      assert.strictEqual(field.status, 400)
      assert.deepInclude(await field.json(), { code: "body.unexpected", field: "note", rule: "R11" })
      for (const [body, code] of [
        ["[1]", "body.unexpected"],
        ['"x"', "body.unexpected"],
        ["{not json", "body.invalid"]
      ] as const) {
        const refused = await call("POST", submit(drafts[0]!), body)
        assert.strictEqual(refused.status, 400, body)
        assert.deepInclude(await refused.json(), { code, field: "body" }, body)
      }
      const untyped = await web.handler(
        new Request(`http://localhost${submit(drafts[0]!)}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          body: new Blob(["{}"])
        })
      )
      assert.strictEqual(untyped.status, 400, "a body without a Content-Type")
      assert.deepInclude(await untyped.json(), { code: "body.content_type", field: "content-type" })
      assert.strictEqual(await stateOf(drafts[0]!), "draft", "the refused submissions changed nothing")
      for (const [i, body] of [undefined, "", " {} ", "null"].entries()) {
        const charset = i === 2 ? "application/json; charset=iso-8859-1" : undefined
        const taken = await call("POST", submit(drafts[i + 1]!), body, charset)
        assert.strictEqual(taken.status, 200, `${JSON.stringify(body)}: ${await taken.clone().text()}`)
        assert.strictEqual(await stateOf(drafts[i + 1]!), "pending_review")
      }
    } finally {
      await web.dispose()
    }
  })

  it("a command a page of another site sends with the browser's own credentials is refused 403 unless CORS allows its origin; a body without a Content-Type is refused; bearer tokens, same-site and non-browser requests pass", async () => {
    const plain = Mount.toWebHandler(app())
    const portal = Mount.toWebHandler(app(), { cors: { allowedOrigins: ["https://portal.example"] } })
    const anyOrigin = Mount.toWebHandler(app(), { cors: {} })
    try {
      const token = await enterpriseToken(plain.runtime)
      const post = (
        web: typeof plain,
        headers: Record<string, string>,
        body?: Uint8Array,
        path = "/demands/x/submit"
      ): Promise<Response> =>
        web.handler(
          new Request(`http://localhost${path}`, {
            method: "POST",
            headers,
            ...(body === undefined ? {} : { body })
          })
        )
      const codeOf = async (answer: Response) => [
        answer.status,
        ((await answer.json()) as { code: string }).code
      ]
      const crossSite = { "sec-fetch-site": "cross-site", origin: "https://evil.example" }
      assert.deepStrictEqual(await codeOf(await post(plain, crossSite)), [403, "request.cross_site"])
      assert.deepStrictEqual(
        await codeOf(await post(portal, crossSite)),
        [403, "request.cross_site"],
        "an origin CORS does not allow"
      )
      assert.deepStrictEqual(
        await codeOf(await post(portal, { ...crossSite, origin: "https://portal.example" })),
        [401, "auth.required"],
        "an origin CORS allows goes on (to authentication)"
      )
      assert.deepStrictEqual(
        await codeOf(await post(anyOrigin, crossSite)),
        [403, "request.cross_site"],
        "CORS without allowedOrigins names no site whose pages may send the user's cookies"
      )
      const everyOrigin = Mount.toWebHandler(app(), { cors: { allowedOrigins: () => true } })
      try {
        assert.deepStrictEqual(
          await codeOf(await post(everyOrigin, { "sec-fetch-site": "cross-site" })),
          [403, "request.cross_site"],
          "a cross-site command without an Origin is no origin CORS allows, whatever the function says"
        )
      } finally {
        await everyOrigin.dispose()
      }
      for (const web of [plain, portal]) {
        const preflight = await web.handler(
          new Request("http://localhost/demands/x/submit", {
            method: "OPTIONS",
            headers: { ...crossSite, "access-control-request-method": "POST" }
          })
        )
        assert.notStrictEqual(preflight.status, 403, "a preflight is CORS's to answer, not a forgery")
      }
      assert.deepStrictEqual(
        await codeOf(
          await post(anyOrigin, {
            ...crossSite,
            authorization: `Bearer ${await enterpriseToken(anyOrigin.runtime)}`
          })
        ),
        [404, "demand.not_found"],
        "it answers every origin's bearer tokens"
      )
      for (const site of ["same-origin", "same-site", "none"]) {
        assert.deepStrictEqual(
          await codeOf(await post(plain, { "sec-fetch-site": site })),
          [401, "auth.required"],
          site
        )
      }
      assert.deepStrictEqual(
        await codeOf(await post(plain, { ...crossSite, authorization: `Bearer ${token}` })),
        [404, "demand.not_found"],
        "a bearer token is no ambient credential"
      )
      const json = new TextEncoder().encode('{"text":"请问"}')
      assert.deepStrictEqual(
        await codeOf(
          await post(plain, { authorization: `Bearer ${token}` }, json, "/demands/x/consultations")
        ),
        [400, "body.content_type"],
        "a body without a Content-Type, as a page of any site can send it"
      )
      assert.deepStrictEqual(
        await codeOf(
          await post(
            plain,
            { authorization: `Bearer ${token}`, "content-type": "application/json" },
            json,
            "/demands/x/consultations"
          )
        ),
        [404, "demand.not_found"]
      )
      const listed = await plain.handler(
        new Request("http://localhost/hall", { headers: { "sec-fetch-site": "cross-site" } })
      )
      assert.strictEqual(listed.status, 200, "reads from any site are answered")
    } finally {
      await anyOrigin.dispose()
      await plain.dispose()
      await portal.dispose()
    }
  })

  it("every command without a payload refuses a body, naming its field, before it acts", async () => {
    const web = Mount.toWebHandler(app())
    try {
      const token = await enterpriseToken(web.runtime)
      const bodiless = Object.values(
        Api.groups as unknown as Record<string, HttpApiGroup.HttpApiGroup.AnyWithProps>
      )
        .flatMap((group) => Object.values(group.endpoints))
        .filter((endpoint) => endpoint.method !== "GET" && Option.isNone(endpoint.payloadSchema))
      assert.isAtLeast(bodiless.length, 13, "the API's commands without a payload were found")
      for (const endpoint of bodiless) {
        const path = endpoint.path.replace(/:[A-Za-z]+/g, "x")
        const answer = await web.handler(
          new Request(`http://localhost${path}`, {
            method: endpoint.method,
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ reason: "sent by mistake" })
          })
        )
        assert.strictEqual(answer.status, 400, `${endpoint.method} ${endpoint.path}`)
        assert.deepInclude(
          await answer.json(),
          { code: "body.unexpected", field: "reason" },
          `${endpoint.method} ${endpoint.path}`
        )
      }
    } finally {
      await web.dispose()
    }
  })

  it("tracing: requests make spans by default and none with `tracing: false`, on both handlers", async () => {
    const base = Effect.runSync(Effect.tracer)
    const spans = (names: Array<string>) =>
      Layer.setTracer(
        Tracer.make({
          span: (name, parent, context, links, startTime, kind, options) => {
            names.push(name)
            return base.span(name, parent, context, links, startTime, kind, options)
          },
          context: base.context
        })
      )
    const overNode = async (tracing: boolean | undefined) => {
      const names: Array<string> = []
      const mounted = Mount.toNodeListener(Layer.merge(app(), spans(names)), { tracing })
      const server = createServer(mounted.listener)
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      try {
        const hall = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hall`)
        assert.strictEqual(hall.status, 200)
        return names
      } finally {
        await new Promise((resolve) => server.close(resolve))
        await mounted.dispose()
      }
    }
    const overWeb = async (tracing: boolean | undefined) => {
      const names: Array<string> = []
      const mounted = Mount.toWebHandler(Layer.merge(app(), spans(names)), { tracing })
      try {
        assert.strictEqual((await mounted.handler(new Request("http://localhost/hall"))).status, 200)
        return names
      } finally {
        await mounted.dispose()
      }
    }
    for (const over of [overNode, overWeb]) {
      assert.include(await over(undefined), "http.server GET")
      assert.deepStrictEqual(await over(false), [])
    }
  })

  it("a Node listener under connect or @fastify/middie (the prefix taken off req.url, the full URL in req.originalUrl, no baseUrl): the path is taken as it is", async () => {
    const mounted = Mount.toNodeListener(app(), { prefix: "/zhongbao" })
    // What connect's `app.use("/zhongbao", listener)` does before it calls the listener.
    const { base, close } = await behindRouter(
      "/zhongbao",
      (original) => {
        const rest = original.slice("/zhongbao".length)
        return { originalUrl: original, url: rest.startsWith("/") ? rest : `/${rest}` }
      },
      mounted.listener
    )
    try {
      assert.strictEqual((await fetch(`${base}/zhongbao/settings`)).status, 200)
      const hall = await fetch(`${base}/zhongbao/hall?keyword=%E7%9F%B3`)
      assert.strictEqual(hall.status, 200)
      assert.deepStrictEqual(((await hall.json()) as { items: Array<unknown> }).items, [])
      const missing = await fetch(`${base}/zhongbao/nowhere`)
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(
        ((await missing.json()) as { code: string }).code,
        "route.not_found",
        "zhongbao's 404"
      )
      // A listener whose prefix is not the mount path passes the request on.
      const elsewhere = Mount.toNodeListener(app(), { prefix: "/other" })
      const req = Object.assign(Object.create(null), { url: "/settings", originalUrl: "/zhongbao/settings" })
      let passed = false
      elsewhere.listener(req, {} as never, () => {
        passed = true
      })
      assert.isTrue(passed, "outside its prefix: next()")
      await elsewhere.dispose()
    } finally {
      await close()
      await mounted.dispose()
    }
  })

  it("a web handler behind a middleware that already read the body answers 500 in the API's body at once, and logs why", async () => {
    const logged: Array<string> = []
    const web = Mount.toWebHandler(appLogging(logged), { prefix: "/zhongbao" })
    try {
      for (const headers of [{ "content-type": "application/json" }, { "transfer-encoding": "chunked" }]) {
        const request = new Request("http://portal.example/zhongbao/members", {
          method: "POST",
          headers: { ...headers, "accept-language": "en" },
          body: JSON.stringify({ kind: "enterprise", name: "某公司" })
        })
        await request.json()
        const answer = await web.handler(request)
        assert.strictEqual(answer.status, 500)
        assert.deepInclude(await answer.json(), { _tag: "InternalError", code: "internal" })
      }
      assert.lengthOf(
        logged.filter((line) => line.includes("was read before zhongbao's handler")),
        2
      )
      assert.strictEqual(
        (await web.handler(new Request("http://portal.example/zhongbao/settings"))).status,
        200
      )
    } finally {
      await web.dispose()
    }
  })

  it("a Node listener under Express: the mounted path is taken as it is", async () => {
    const mounted = Mount.toNodeListener(app(), { prefix: "/zhongbao" })
    const { base, close } = await behindRouter(
      "/mounted",
      (original) => ({ baseUrl: "/mounted", originalUrl: original, url: original.slice("/mounted".length) }),
      mounted.listener
    )
    try {
      const settings = await fetch(`${base}/mounted/settings`)
      assert.strictEqual(settings.status, 200)
      assert.include(((await settings.json()) as { technicalFields: Array<string> }).technicalFields, "海洋")
      const missing = await fetch(`${base}/mounted/nowhere`)
      assert.strictEqual(missing.status, 404)
    } finally {
      await close()
      await mounted.dispose()
    }
  })
})

/** The OpenAPI document the API serves, read through a web handler made for it. */
const openApiDocument = async <A>(): Promise<A> => {
  const mounted = Mount.toWebHandler(app())
  try {
    return (await (await mounted.handler(new Request("http://x/openapi.json"))).json()) as A
  } finally {
    await mounted.dispose()
  }
}

describe("OpenAPI", () => {
  it("§errors: every error code an operation's description names is one the API answers with, under the status it answers it with", async () => {
    const spec = await openApiDocument<{
      paths: Record<string, Record<string, { description?: string; responses: Record<string, unknown> }>>
    }>()
    const raised = coreCodes()
    let named = 0
    let paired = 0
    for (const [path, operations] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const description = operation.description ?? ""
        const where = `${method.toUpperCase()} ${path}`
        for (const [, code] of description.matchAll(/`([a-z_]+\.[a-z_.]+)`/g)) {
          named++
          assert.isDefined(Messages.zhCN[code!], `${where}: ${code} is no code the API answers with`)
        }
        // "`409` `restart.not_unsolved`", "`409` `reward.round_closed`, `reward.deadline_passed`": each code after a status
        for (const [, status, codes] of description.matchAll(
          /`(\d{3})` (`[a-z_]+\.[a-z_.]+`(?:,? (?:or )?`[a-z_]+\.[a-z_.]+`)*)/g
        )) {
          assert.property(operation.responses, status!, `${where}: ${status} is not among its responses`)
          for (const [, code] of codes!.matchAll(/`([a-z_]+\.[a-z_.]+)`/g)) {
            const statuses = raised.get(code!)
            if (statuses === undefined) continue // the adapter's own (body.*, rate.limited …)
            paired++
            assert.include(
              [...statuses],
              Number(status),
              `${where}: ${code} is answered ${[...statuses]}, not ${status}`
            )
          }
        }
      }
    }
    assert.isAtLeast(named, 30, "the descriptions name codes")
    assert.isAtLeast(paired, 25, "the descriptions give codes their statuses")
  })

  it("§3: an account's reactivatedAt is a required field of the document, as it is always sent", async () => {
    const spec = await openApiDocument<{
      components: { schemas: Record<string, { required: ReadonlyArray<string> }> }
    }>()
    assert.include(spec.components.schemas.RevisedAccount!.required, "reactivatedAt")
  })

  it("R54: the upload's multipart form is the part file and the field name, and other fields are not refused (the API ignores them, as upload libraries send their own)", async () => {
    const spec = await openApiDocument<{
      paths: Record<
        string,
        Record<string, { requestBody: { content: Record<string, { schema: Record<string, unknown> }> } }>
      >
    }>()
    const form = spec.paths["/files"]!.post!.requestBody.content["multipart/form-data"]!.schema
    assert.deepStrictEqual(form.required, ["file"])
    assert.sameMembers(Object.keys(form.properties as object), ["file", "name"])
    assert.notStrictEqual(form.additionalProperties, false, "other fields are not refused")
  })

  it("openapi-typescript makes types from the document that a portal's front end compiles against, strictly", async () => {
    const spec = await openApiDocument<object>()
    const dir = mkdtempSync(join(tmpdir(), "zhongbao-openapi-"))
    try {
      writeFileSync(join(dir, "api.d.ts"), astToString(await openapiTS(spec as never)))
      writeFileSync(join(dir, "front-end.ts"), frontEnd)
      const program = ts.createProgram([join(dir, "front-end.ts")], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        types: []
      })
      const errors = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))
      assert.deepStrictEqual(errors, [])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it("valid OpenAPI 3.1 by the specification's own JSON Schema, every $ref resolving; operation ids unique; every path template's parameter declared, required, in the path", async () => {
    const spec = await openApiDocument<{
      paths: Record<
        string,
        Record<
          string,
          { operationId?: string; parameters?: Array<{ in: string; name: string; required?: boolean }> }
        >
      >
    }>()
    const checked = await new Validator().validate(structuredClone(spec) as Record<string, unknown>)
    assert.isTrue(
      checked.valid,
      JSON.stringify(Array.isArray(checked.errors) ? checked.errors.slice(0, 3) : checked.errors)
    )
    const ids = new Set<string>()
    for (const [path, methods] of Object.entries(spec.paths)) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
      for (const [method, op] of Object.entries(methods)) {
        assert.isString(op.operationId, `${method} ${path} has an operationId`)
        assert.isFalse(ids.has(op.operationId!), `${method} ${path}: operationId ${op.operationId} is unique`)
        ids.add(op.operationId!)
        const inPath = (op.parameters ?? []).filter((p) => p.in === "path")
        assert.sameMembers(
          inPath.map((p) => p.name),
          templated,
          `${method} ${path}: its path parameters are the template's`
        )
        for (const p of inPath) assert.isTrue(p.required, `${method} ${path}: ${p.name} is required`)
      }
    }
  })

  it("3.1, a summary on every operation, errors declared with their status (400 as InvalidInput, the only one sent), none that the operation cannot answer", async () => {
    const spec = await openApiDocument<{
      openapi: string
      info: { version: string }
      paths: Record<string, Record<string, { summary?: string; responses: Record<string, unknown> }>>
    }>()
    assert.strictEqual(spec.openapi, "3.1.0")
    assert.strictEqual(spec.info.version, packageJson.version, "the package's version")
    const operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op }))
    )
    assert.isAtLeast(operations.length, 60)
    // The platform's decoding failure is never sent: no operation declares it, nor the document's schemas.
    assert.notInclude(JSON.stringify(spec), "HttpApiDecodeError")
    // R51: the credit code is documented as it is accepted (trimmed, any case), not as it is stored.
    const creditCode = (spec as unknown as { components: { schemas: { CreditCode: { pattern: string } } } })
      .components.schemas.CreditCode
    assert.match(` ${Fixtures.profileInput().creditCode.toLowerCase()} `, new RegExp(creditCode.pattern))
    for (const { path, method, op } of operations) {
      assert.isString(op.summary, `${method} ${path} has a summary`)
      // 400 on every operation: InvalidInput, as the middleware answers every decoding failure.
      for (const status of ["400", "401", "413", "500"]) {
        assert.property(op.responses, status, `${method} ${path} declares ${status}`)
      }
      assert.property(
        (op.responses["401"] as { headers?: object }).headers,
        "WWW-Authenticate",
        `${method} ${path}: 401 declares its challenge`
      )
      assert.deepStrictEqual(
        (op.responses["400"] as { content: unknown }).content,
        { "application/json": { schema: { $ref: "#/components/schemas/InvalidInput" } } },
        `${method} ${path}: 400 is InvalidInput`
      )
      // GET /settings has no input and answers anyone: it cannot answer 403 or 404.
      const fixed = method === "get" && path === "/settings"
      for (const status of ["403", "404"]) {
        if (fixed) assert.notProperty(op.responses, status, `${method} ${path} does not declare ${status}`)
        else assert.property(op.responses, status, `${method} ${path} declares ${status}`)
      }
      if (method === "post" || method === "put") {
        for (const status of ["409", "422"])
          assert.property(op.responses, status, `${method} ${path} declares ${status}`)
      }
    }
  })

  it("a host's 503 while it starts or stops (Mount.unavailable) is the API's declared Unavailable, in the caller's language, Retry-After while starting", async () => {
    const spec = await openApiDocument<{
      paths: Record<string, Record<string, { responses: Record<string, { headers?: object }> }>>
    }>()
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        assert.property(op.responses["503"]?.headers, "Retry-After", `${method} ${path} declares 503`)
      }
    }
    const decode = Schema.decodeUnknownSync(ApiError.Unavailable)
    const starting = Mount.unavailable("starting", undefined)
    assert.strictEqual(starting.status, 503)
    assert.include(starting.headers, { "retry-after": "5", "content-language": "zh-CN" })
    assert.include(decode(JSON.parse(starting.body)), {
      code: "server.starting",
      message: "服务正在启动（数据库迁移中），请几秒后重试"
    })
    const stopping = Mount.unavailable("stopping", "en")
    assert.notProperty(stopping.headers, "retry-after")
    assert.include(decode(JSON.parse(stopping.body)), { code: "server.stopping" })
    assert.match(decode(JSON.parse(stopping.body)).message, /^the server is stopping/)
  })

  it("the schemas say what is sent: every component in use, instants as date-time, an upload's file as binary, R53's approved amount from 1", async () => {
    const spec = await openApiDocument<{
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >
      components: { schemas: Record<string, Record<string, unknown>> }
    }>()
    const text = JSON.stringify(spec)
    const unused = Object.keys(spec.components.schemas).filter(
      (name) => !text.includes(`"#/components/schemas/${name}"`)
    )
    assert.deepStrictEqual(unused, [], "no component is left that nothing refers to")
    assert.include(spec.components.schemas.DateTimeUtc, { type: "string", format: "date-time" })
    assert.notInclude(text, "to be decoded into")
    const upload = spec.paths["/files"]!.post!.requestBody!.content["multipart/form-data"]!.schema as {
      properties: { file: Record<string, unknown> }
    }
    assert.include(upload.properties.file, { type: "string", format: "binary" })
    assert.include(spec.components.schemas.ApprovedAmount, { type: "integer", minimum: 1 })
  })
})

/**
 * What a portal's front end writes against the types openapi-typescript makes from
 * the document: the hall's query and page, a response's proposal, an error's rule.
 * The `@ts-expect-error` lines must be errors, or the directive is one itself.
 */
const frontEnd = `import type { paths } from "./api"
type Hall = paths["/hall"]["get"]
const query: NonNullable<Hall["parameters"]["query"]> = { field: "新材料及应用", sort: "published", limit: 20 }
// @ts-expect-error the limit is a number
const wrong: NonNullable<Hall["parameters"]["query"]> = { limit: "20" }
declare const page: Hall["responses"][200]["content"]["application/json"]
const item = page.items[0]!
const shown: [string, string, number, string | null] = [item.id, item.title, item.responseCount, page.nextCursor]
// @ts-expect-error a brief has no proposal
item.proposal
type Respond = paths["/demands/{demandId}/responses"]["post"]
const body: Respond["requestBody"] extends { content: { "application/json": infer B } } ? B : never = {
  proposal: { title: "工艺优化", content: "中试线" }
}
declare const refused: Respond["responses"][409]["content"]["application/json"]
const rule: string = refused.rule
export { query, wrong, shown, body, rule }
`

describe("OpenAPI text fields", () => {
  it("R10: text fields give their lengths in a schema of their own, not beside a $ref, and the hall's keyword its own in the query", async () => {
    const mounted = Mount.toWebHandler(app())
    try {
      const text = await (await mounted.handler(new Request("http://x/openapi.json"))).text()
      const spec = JSON.parse(text) as {
        paths: Record<
          string,
          Record<string, { parameters?: ReadonlyArray<{ name: string; schema: unknown }> }>
        >
        components: { schemas: Record<string, { properties?: Record<string, unknown> }> }
      }
      assert.notInclude(text, "#/components/schemas/Trimmed")
      assert.deepInclude(spec.components.schemas.DemandForm?.properties?.title as object, {
        type: "string",
        minLength: 1,
        maxLength: 60
      })
      const keyword = spec.paths["/hall"]!.get!.parameters!.find((p) => p.name === "keyword")
      assert.deepInclude(keyword?.schema as object, { type: "string", minLength: 1, maxLength: 50 })
    } finally {
      await mounted.dispose()
    }
  })
})

describe("OpenAPI security and parameters", () => {
  it("every operation requires the bearer token, optional on public ones, as an anonymous request finds; integer parameters are integers", async () => {
    const mounted = Mount.toWebHandler(app())
    try {
      const spec = (await (await mounted.handler(new Request("http://x/openapi.json"))).json()) as {
        paths: Record<string, Record<string, { security?: ReadonlyArray<Record<string, unknown>> }>>
      }
      const seen = { public: 0, required: 0 }
      for (const [path, methods] of Object.entries(spec.paths)) {
        for (const [method, op] of Object.entries(methods)) {
          const url = `http://x${path.replace(/\{[^}]+\}/g, "x")}`
          const answer = await mounted.handler(new Request(url, { method: method.toUpperCase() }))
          const isPublic = answer.status !== 401
          seen[isPublic ? "public" : "required"]++
          assert.deepStrictEqual(
            op.security,
            isPublic ? [{}, { bearer: [] }] : [{ bearer: [] }],
            `${method} ${path} (anonymous: ${answer.status})`
          )
        }
      }
      assert.isAtLeast(seen.public, 5)
      assert.isAtLeast(seen.required, 50)
      const limited = Object.entries(spec.paths).flatMap(([path, methods]) =>
        Object.entries(methods as Record<string, { responses?: Record<string, { headers?: unknown }> }>)
          .filter(([, op]) => op.responses?.["429"] !== undefined)
          .map(([method, op]) => [`${method} ${path}`, op.responses!["429"]!.headers] as const)
      )
      assert.isAtLeast(limited.length, 2, "the rate-limited commands answer 429")
      for (const [name, headers] of limited) {
        assert.deepStrictEqual(
          (headers as Record<string, { schema: unknown }> | undefined)?.["Retry-After"]?.schema,
          { type: "integer", minimum: 1 },
          `${name}: 429 declares Retry-After`
        )
      }
      const params = (path: string) =>
        (spec.paths[path]!.get as unknown as { parameters: ReadonlyArray<{ name: string; schema: unknown }> })
          .parameters
      assert.deepStrictEqual(params("/hall").find((p) => p.name === "limit")?.schema, {
        type: "integer",
        minimum: 1,
        maximum: 100
      })
      assert.deepStrictEqual(
        params("/consultations/{threadId}/messages").find((p) => p.name === "afterSeq")?.schema,
        { type: "integer", minimum: 0, maximum: 2_147_483_647 }
      )
    } finally {
      await mounted.dispose()
    }
  })
})

layer(
  makeServer(PersistenceMemory.layerMemory, {
    rateLimits: {
      responding: { limit: 1, windowMillis: 60_000 },
      consulting: { limit: 2, windowMillis: 60_000 }
    }
  })
)("errors", (it) => {
  it.effect("401 without an account where one is needed, and for a bad credential", () =>
    Effect.gen(function* () {
      const anonymous = yield* HttpClient.execute(HttpClientRequest.get("/my/demands"))
      assert.strictEqual(anonymous.status, 401)
      assert.strictEqual(((yield* anonymous.json) as { code: string }).code, "auth.required")
      const forged = yield* HttpClient.execute(
        HttpClientRequest.get("/hall").pipe(HttpClientRequest.bearerToken("forged"))
      )
      assert.strictEqual(forged.status, 401)
      assert.strictEqual(((yield* forged.json) as { code: string }).code, "auth.invalid")
      // A session whose account is unknown is not a valid credential either.
      const orphan = yield* tokenFor("no-such-account" as Ids.AccountId)
      for (const path of ["/hall", "/my/demands"]) {
        const answer = yield* HttpClient.execute(
          HttpClientRequest.get(path).pipe(HttpClientRequest.bearerToken(orphan))
        )
        assert.strictEqual(answer.status, 401, path)
        assert.strictEqual(((yield* answer.json) as { code: string }).code, "auth.invalid", path)
      }
    })
  )

  it.effect("413 for a body over the limit", () =>
    Effect.gen(function* () {
      const response = yield* HttpClient.execute(
        HttpClientRequest.post("/demands").pipe(
          HttpClientRequest.bodyText(
            JSON.stringify({ title: "x".repeat(2 * 1024 * 1024) }),
            "application/json"
          )
        )
      )
      assert.strictEqual(response.status, 413)
      assert.strictEqual(((yield* response.json) as { _tag: string })._tag, "PayloadTooLarge")
    })
  )

  it.effect(
    "§input: a path or method without an endpoint, letter case and `//` counting, answers the API's JSON 404 (route.not_found); a path whose percent-encoding is malformed, 400 path.encoding",
    () =>
      Effect.gen(function* () {
        const send = (request: HttpClientRequest.HttpClientRequest) =>
          HttpClient.execute(request).pipe(
            Effect.flatMap((r) =>
              Effect.map(r.json, (body) => ({
                status: r.status,
                type: r.headers["content-type"],
                body: body as Record<string, string>
              }))
            )
          )
        for (const request of [
          HttpClientRequest.get("/no-such-path"),
          HttpClientRequest.get("/"),
          HttpClientRequest.del("/hall"),
          HttpClientRequest.get("/Hall"),
          HttpClientRequest.get("//hall"),
          HttpClientRequest.get("/review/Pending")
        ]) {
          const zh = yield* send(request)
          assert.strictEqual(zh.status, 404)
          assert.match(zh.type ?? "", /^application\/json/)
          assert.deepInclude(zh.body, { _tag: "NotFound", code: "route.not_found", entity: "route" })
          assert.strictEqual(zh.body.message, "请求的接口不存在")
        }
        for (const path of ["/demands/%E0%A4%A", "/hall%"]) {
          const malformed = yield* send(HttpClientRequest.get(path))
          assert.strictEqual(malformed.status, 400, path)
          assert.deepInclude(
            malformed.body,
            { _tag: "InvalidInput", code: "path.encoding", field: "path" },
            path
          )
        }
        const en = yield* send(
          HttpClientRequest.get("/no-such-path").pipe(HttpClientRequest.setHeader("accept-language", "en"))
        )
        assert.strictEqual(en.body.message, "no such endpoint")
      })
  )

  it.effect("messages follow Accept-Language: zh-CN by default, en on request; the field is named", () =>
    Effect.gen(function* () {
      const w = yield* Fixtures.makeWorld
      const token = yield* tokenFor(w.enterprise.account)
      const send = (language?: string) =>
        HttpClient.execute(
          HttpClientRequest.post("/demands").pipe(
            HttpClientRequest.bearerToken(token),
            HttpClientRequest.setHeaders(language === undefined ? {} : { "accept-language": language }),
            HttpClientRequest.bodyUnsafeJson({ title: 1 })
          )
        ).pipe(
          Effect.flatMap((r) =>
            Effect.map(r.json, (body) => ({ status: r.status, body: body as Record<string, string> }))
          )
        )
      const zh = yield* send()
      assert.strictEqual(zh.status, 400)
      assert.strictEqual(zh.body.field, "title")
      assert.strictEqual(zh.body.rule, "R10")
      // R10: a draft's body is the demand's form, whose title is 需求名称.
      assert.strictEqual(zh.body.message, "需求名称：须为文本")
      const en = yield* send("en-US,en;q=0.9,zh;q=0.5")
      assert.match(en.body.message!, /^title: /)
      const domain = yield* HttpClient.execute(
        HttpClientRequest.post(`/members/${w.expert.member.id}/register`).pipe(
          HttpClientRequest.bearerToken(token),
          HttpClientRequest.setHeaders({ "accept-language": "zh-CN" })
        )
      )
      assert.strictEqual(domain.status, 403)
      assert.strictEqual(((yield* domain.json) as { message: string }).message, "仅平台运营人员可执行此操作")
    })
  )

  it.effect(
    "R64: a dead-letter code that is blank, over 128 characters or holds a control character is refused naming it, on the list and on the re-queue; a padded one is trimmed",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const token = yield* tokenFor(w.operator)
        const call = (method: "get" | "post", path: string, code: string) =>
          HttpClient.execute(
            HttpClientRequest[method](`${path}?code=${encodeURIComponent(code)}`).pipe(
              HttpClientRequest.bearerToken(token)
            )
          )
        for (const [method, path] of [
          ["get", "/notifications/dead-letters"],
          ["post", "/notifications/dead-letters/requeue"]
        ] as const) {
          for (const code of ["", "   ", "x".repeat(129), "isv.\u0000"]) {
            const refused = yield* call(method, path, code)
            assert.strictEqual(refused.status, 400, `${method} ${JSON.stringify(code)}`)
            assert.deepInclude(yield* refused.json, { code: "input.invalid", field: "code", rule: "R64" })
          }
          const padded = yield* call(method, path, ` ${"x".repeat(128)} `)
          assert.strictEqual(padded.status, 200, `${method}: 128 characters once trimmed`)
          assert.deepStrictEqual(yield* padded.json, { items: [], nextCursor: null })
        }
      })
  )

  it.effect(
    "R22, R30: afterSeq beyond 2^31 − 1, or not in decimal digits, is refused naming it; the largest answers an empty list",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const token = yield* tokenFor(w.enterprise.account)
        const demand = yield* Fixtures.publish(w, w.enterprise.account)
        const get = (afterSeq: string) =>
          HttpClient.execute(
            HttpClientRequest.get(`/demands/${demand.id}/service-log?afterSeq=${afterSeq}`).pipe(
              HttpClientRequest.bearerToken(token)
            )
          )
        const refused = yield* get("2147483648")
        assert.strictEqual(refused.status, 400)
        assert.deepInclude(yield* refused.json, { code: "input.invalid", field: "afterSeq", rule: "R30" })
        const largest = yield* get("2147483647")
        assert.strictEqual(largest.status, 200)
        assert.deepStrictEqual(yield* largest.json, [])
        for (const written of ["1e1", "0x10", "+1", " 1", "1.0"]) {
          const odd = yield* get(encodeURIComponent(written))
          assert.strictEqual(odd.status, 400, written)
          assert.deepInclude(yield* odd.json, { field: "afterSeq" }, written)
        }
      })
  )

  it.effect(
    "R13, R50: a refusal that states a date states it in Chinese too: a deadline's earliest and latest day, a round's period start and today",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const settings = yield* Settings.Settings
        const now = yield* DateTime.now
        const publishing = yield* Publishing.Publishing
        const token = yield* tokenFor(w.enterprise.account)
        const post = (path: string, body: unknown, as = token) =>
          HttpClient.execute(
            HttpClientRequest.post(path).pipe(
              HttpClientRequest.bearerToken(as),
              HttpClientRequest.bodyUnsafeJson(body)
            )
          ).pipe(Effect.flatMap((r) => Effect.map(r.json, (json) => ({ status: r.status, json }))))
        const submitted = (days: number) =>
          Effect.flatMap(
            Effect.flatMap(Fixtures.form({}, days), (form) => publishing.draft(w.enterprise.account, form)),
            (draft) => post(`/demands/${draft.id}/submit`, {})
          )
        const soon = yield* submitted(settings.minDeadlineDays - 1)
        assert.strictEqual(soon.status, 400)
        assert.deepInclude(soon.json, {
          code: "demand.deadline_too_soon",
          message: `应答截止日期过早：最早为 ${Deadline.earliestDeadline(now, settings)}`
        })
        const late = yield* submitted(settings.maxDeadlineDays + 1)
        assert.deepInclude(late.json, {
          code: "demand.deadline_too_late",
          message: `应答截止日期过晚：最晚为 ${Deadline.latestDeadlineAt(now, settings)}（自今日起不超过 ${settings.maxDeadlineDays} 天）`
        })
        const operator = yield* tokenFor(w.operator)
        const today = Deadline.dateAt(now, settings)
        const round = (periodStart: string, applicationDeadline: string) =>
          post(
            "/reward-rounds",
            { title: "批次", rules: "规则", periodStart, periodEnd: today, applicationDeadline },
            operator
          )
        const beforePeriod = yield* round(today, Deadline.addDays(today, -1))
        assert.deepInclude(beforePeriod.json, {
          code: "reward.deadline_before_period",
          message: `申报截止日期不能早于统计期的开始日期（${today}）`
        })
        const past = yield* round(Deadline.addDays(today, -30), Deadline.addDays(today, -1))
        assert.deepInclude(past.json, {
          code: "reward.deadline_past",
          message: `申报截止日期不能早于今天（${today}）`
        })
      })
  )

  it.effect(
    "R30: a service-log entry dated after today is refused naming entry.date, in Chinese by default, and writes nothing",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const token = yield* tokenFor(w.enterprise.account)
        const demand = yield* Fixtures.publish(w, w.enterprise.account)
        const today = Deadline.dateAt(yield* DateTime.now, yield* Settings.Settings)
        const append = (date: string) =>
          HttpClient.execute(
            HttpClientRequest.post(`/demands/${demand.id}/service-log`).pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.bodyUnsafeJson({ entry: { date, text: "走访" } })
            )
          )
        const refused = yield* append(Deadline.addDays(today, 1))
        assert.strictEqual(refused.status, 400)
        assert.deepInclude(yield* refused.json, {
          rule: "R30",
          code: "log.date_future",
          field: "entry.date",
          message: `服务日志日期不能晚于今天（${today}）`
        })
        const log = yield* HttpClient.execute(
          HttpClientRequest.get(`/demands/${demand.id}/service-log`).pipe(
            HttpClientRequest.bearerToken(token)
          )
        )
        assert.deepStrictEqual(yield* log.json, [])
        assert.strictEqual((yield* append(today)).status, 201)
      })
  )

  it.effect(
    "every answer carries Content-Language, Cache-Control: no-store and nosniff: success, handler errors, decode error, malformed body, 401 (missing and forged credential), unknown route, 413",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const token = yield* tokenFor(w.enterprise.account)
        const answers = {
          success: HttpClientRequest.get("/settings"),
          "not found": HttpClientRequest.get("/demands/nope").pipe(HttpClientRequest.bearerToken(token)),
          denied: HttpClientRequest.post(`/members/${w.expert.member.id}/register`).pipe(
            HttpClientRequest.bearerToken(token)
          ),
          "decode error": HttpClientRequest.get("/hall?limit=abc"),
          "malformed body": HttpClientRequest.post("/demands").pipe(
            HttpClientRequest.bearerToken(token),
            HttpClientRequest.bodyText("{not json", "application/json")
          ),
          "no credential": HttpClientRequest.get("/my/demands"),
          "forged credential": HttpClientRequest.get("/hall").pipe(HttpClientRequest.bearerToken("forged")),
          "unknown route": HttpClientRequest.get("/nowhere"),
          "over the limit": HttpClientRequest.post("/demands").pipe(
            HttpClientRequest.bodyText("x".repeat(2 * 1024 * 1024), "application/json")
          )
        }
        const seen: Array<string> = []
        for (const [name, request] of Object.entries(answers)) {
          for (const language of ["zh-CN", "en"] as const) {
            const response = yield* HttpClient.execute(
              request.pipe(HttpClientRequest.setHeader("accept-language", language))
            )
            const body = yield* response.text
            const code =
              response.status === 200
                ? ""
                : body === ""
                  ? " (no body)"
                  : ` ${(JSON.parse(body) as { code?: string }).code}`
            seen.push(`${name} ${language}: ${response.status}${code}`)
            assert.strictEqual(response.headers["content-language"], language, `${name}, ${language}`)
            assert.strictEqual(response.headers["cache-control"], "no-store", `${name}, ${language}`)
            assert.strictEqual(response.headers["x-content-type-options"], "nosniff", `${name}, ${language}`)
          }
        }
        assert.deepStrictEqual(
          seen,
          [
            "success 200",
            "not found 404 demand.not_found",
            "denied 403 operator.required",
            "decode error 400 input.invalid",
            "malformed body 400 body.invalid",
            "no credential 401 auth.required",
            "forged credential 401 auth.invalid",
            "unknown route 404 route.not_found",
            "over the limit 413 body.too_large"
          ].flatMap((line) => {
            const [name, ...rest] = line.split(/ (?=\d{3})/)
            return ["zh-CN", "en"].map((language) => `${name} ${language}: ${rest.join(" ")}`)
          })
        )
      })
  )

  it.effect("429 with Retry-After once an account's bucket is spent", () =>
    Effect.gen(function* () {
      const w = yield* Fixtures.makeWorld
      const demand = yield* Fixtures.publish(w, w.enterprise.account)
      const token = yield* tokenFor(w.expert.account)
      const ask = () =>
        HttpClient.execute(
          HttpClientRequest.post(`/demands/${demand.id}/consultations`).pipe(
            HttpClientRequest.bearerToken(token),
            HttpClientRequest.bodyUnsafeJson({ text: "请问" })
          )
        )
      assert.strictEqual((yield* ask()).status, 201)
      assert.strictEqual((yield* ask()).status, 201)
      const limited = yield* ask()
      assert.strictEqual(limited.status, 429)
      assert.isDefined(limited.headers["retry-after"])
      const body = (yield* limited.json) as { bucket: string; retryAfterSeconds: number; message: string }
      assert.strictEqual(body.bucket, "consulting")
      assert.isAbove(body.retryAfterSeconds, 0)
      assert.strictEqual(body.message, `操作过于频繁，请在 ${body.retryAfterSeconds} 秒后再试`)
      // Each bucket counts on its own: the spent consulting bucket leaves responding's whole.
      const respond = yield* HttpClient.execute(
        HttpClientRequest.post(`/demands/${demand.id}/responses`).pipe(
          HttpClientRequest.bearerToken(token),
          HttpClientRequest.bodyUnsafeJson({ proposal: { title: "方案", content: "内容" } })
        )
      )
      assert.strictEqual(respond.status, 201)
    })
  )

  it.effect(
    "§errors: answers name what they are about: the missing entity, a nested field's path and rule (a form's under R10, its deadline under R13), every value of a choice, the header's and the cursor's rule, the body limit; a lower-case bearer is a bearer",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const token = yield* tokenFor(w.enterprise.account)
        const answer = (request: HttpClientRequest.HttpClientRequest) =>
          HttpClient.execute(request.pipe(HttpClientRequest.setHeader("accept-language", "en"))).pipe(
            Effect.flatMap((r) =>
              Effect.map(r.json, (body) => ({ status: r.status, body: body as Record<string, unknown> }))
            )
          )
        const authorised = (request: HttpClientRequest.HttpClientRequest) =>
          answer(request.pipe(HttpClientRequest.bearerToken(token)))

        const missing = yield* authorised(HttpClientRequest.get("/demands/no-such-demand"))
        assert.strictEqual(missing.status, 404)
        assert.strictEqual(missing.body.entity, "demand")

        const draft = yield* (yield* Publishing.Publishing).draft(
          w.enterprise.account,
          yield* Fixtures.form()
        )
        const nested = yield* authorised(
          HttpClientRequest.put(`/demands/${draft.id}/form`).pipe(
            HttpClientRequest.bodyUnsafeJson({ form: { ...(yield* Fixtures.form()), title: 1 } })
          )
        )
        assert.strictEqual(nested.status, 400)
        assert.strictEqual(nested.body.field, "form.title")
        assert.strictEqual(nested.body.rule, "R10", "a form's field under R10, as on POST /demands")
        const nestedDeadline = yield* authorised(
          HttpClientRequest.put(`/demands/${draft.id}/form`).pipe(
            HttpClientRequest.bodyUnsafeJson({
              form: { ...(yield* Fixtures.form()), responseDeadline: "tomorrow" }
            })
          )
        )
        assert.deepInclude(nestedDeadline.body, { field: "form.responseDeadline", rule: "R13" })

        // A value outside a choice names every value allowed, not the first alone.
        const sort = yield* answer(HttpClientRequest.get("/hall?sort=newest"))
        assert.strictEqual(sort.status, 400)
        assert.deepInclude(sort.body, {
          field: "sort",
          message: 'sort: Expected "published" | "deadline", actual "newest"'
        })

        const key = yield* authorised(
          HttpClientRequest.post("/demands").pipe(
            HttpClientRequest.setHeader("idempotency-key", "a b"),
            HttpClientRequest.bodyUnsafeJson(yield* Fixtures.form())
          )
        )
        assert.deepInclude(key.body, { field: "idempotency-key", rule: "R63" })
        assert.strictEqual(key.status, 400)

        // If-Match: entity tags are quoted; at most 20 of them.
        const manyTags = Array.from({ length: 21 }, (_, i) => `"${i}"`).join(", ")
        for (const ifMatch of ["0123456789abcdef0123456789abcdef", manyTags, '"a" "b"']) {
          const refused = yield* authorised(
            HttpClientRequest.put(`/accounts/${Ids.make<Ids.AccountId>()}`).pipe(
              HttpClientRequest.setHeader("if-match", ifMatch),
              HttpClientRequest.bodyUnsafeJson({ name: "王", phone: Fixtures.nextPhone(), active: true })
            )
          )
          assert.strictEqual(refused.status, 400, ifMatch)
          assert.deepInclude(refused.body, { field: "if-match", rule: "§3" })
        }
        // Empty list elements and tabs are taken (RFC 9110 §5.6.1.2): the unknown account is 404.
        const listed = yield* authorised(
          HttpClientRequest.put(`/accounts/${Ids.make<Ids.AccountId>()}`).pipe(
            HttpClientRequest.setHeader("if-match", ', "a",,\t"b" ,'),
            HttpClientRequest.bodyUnsafeJson({ name: "王", phone: Fixtures.nextPhone(), active: true })
          )
        )
        assert.notStrictEqual(listed.status, 400, JSON.stringify(listed.body))
        const noneMatch = yield* HttpClient.execute(
          HttpClientRequest.put("/institution-profile").pipe(
            HttpClientRequest.bearerToken(token),
            HttpClientRequest.setHeader("if-none-match", '"x"'),
            HttpClientRequest.bodyUnsafeJson(Fixtures.profileInput())
          )
        )
        assert.strictEqual(noneMatch.status, 400)
        assert.deepInclude((yield* noneMatch.json) as object, {
          field: "if-none-match",
          message: "If-None-Match 请求头：此处只接受 *"
        })
        const zh = yield* HttpClient.execute(
          HttpClientRequest.put(`/accounts/${Ids.make<Ids.AccountId>()}`).pipe(
            HttpClientRequest.bearerToken(token),
            HttpClientRequest.setHeader("if-match", "abc"),
            HttpClientRequest.bodyUnsafeJson({ name: "王", phone: Fixtures.nextPhone(), active: true })
          )
        )
        assert.strictEqual(
          ((yield* zh.json) as { message: string }).message,
          'If-Match 请求头：须为 * 或以英文逗号分隔、带英文双引号的版本号（"<revision>"）'
        )

        // A cursor core cannot read, and one the API's schema refuses (over 512 characters), on
        // the hall and on a list whose endpoint names another rule (the audit trail's R60).
        for (const path of [
          "/hall?cursor=%21%21%21",
          `/hall?cursor=${"x".repeat(513)}`,
          `/audit?cursor=${"x".repeat(513)}`
        ]) {
          const cursor = yield* authorised(HttpClientRequest.get(path))
          assert.strictEqual(cursor.status, 400, path)
          assert.deepInclude(cursor.body, { field: "cursor", rule: "§9" }, path)
        }

        const tooLarge = yield* authorised(
          HttpClientRequest.post("/demands").pipe(
            HttpClientRequest.bodyText(
              JSON.stringify({ title: "x".repeat(2 * 1024 * 1024) }),
              "application/json"
            )
          )
        )
        assert.strictEqual(tooLarge.status, 413)
        assert.strictEqual(tooLarge.body.limit, 1024 * 1024)
        // A body of exactly the limit is read (and then refused for what it says, not for its size).
        const exact = `{"title":"${"x".repeat(1024 * 1024 - 12)}"}`
        assert.strictEqual(new TextEncoder().encode(exact).byteLength, 1024 * 1024)
        const atLimit = yield* authorised(
          HttpClientRequest.post("/demands").pipe(HttpClientRequest.bodyText(exact, "application/json"))
        )
        assert.strictEqual(atLimit.status, 400)
        assert.strictEqual(atLimit.body.rule, "R10")

        // A domain refusal naming a field says the field first, in Chinese too.
        const early = yield* (yield* Publishing.Publishing).draft(
          w.enterprise.account,
          yield* Fixtures.form({ responseDeadline: "2026-05-04" })
        )
        const tooSoon = yield* HttpClient.execute(
          HttpClientRequest.post(`/demands/${early.id}/submit`).pipe(HttpClientRequest.bearerToken(token))
        ).pipe(Effect.flatMap((r) => r.json))
        const soon = tooSoon as { field?: string; message: string }
        assert.strictEqual(soon.field, "responseDeadline")
        assert.match(soon.message, /^应答截止日期过早：/)

        // The media type is case-insensitive; a GET's Content-Type is no body to refuse.
        const mixedCase = yield* authorised(
          HttpClientRequest.post("/demands").pipe(
            HttpClientRequest.bodyText(JSON.stringify(yield* Fixtures.form()), "Application/JSON")
          )
        )
        assert.strictEqual(mixedCase.status, 201)
        const getWithType = yield* authorised(
          HttpClientRequest.get("/my/demands").pipe(HttpClientRequest.setHeader("content-type", "text/plain"))
        )
        assert.strictEqual(getWithType.status, 200)

        const lowerCase = yield* answer(
          HttpClientRequest.get("/my/demands").pipe(
            HttpClientRequest.setHeader("authorization", `bearer ${token}`)
          )
        )
        assert.strictEqual(lowerCase.status, 200)
      })
  )

  it.effect(
    "§errors: a field of the wrong shape is named for a reader (an object, an array expected; R10 for a demand's fields), a value is quoted back only when short, money past 2^53 − 1 names its range, and a property the API does not know (toString included) is refused naming it",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const token = yield* tokenFor(w.enterprise.account)
        const post = (body: unknown, language: "en" | "zh-CN") =>
          HttpClient.execute(
            HttpClientRequest.post("/demands").pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.setHeader("accept-language", language),
              HttpClientRequest.bodyUnsafeJson(body)
            )
          ).pipe(
            Effect.flatMap((r) =>
              Effect.map(r.text, (text) => ({
                status: r.status,
                text,
                body: JSON.parse(text) as Record<string, unknown>
              }))
            )
          )
        const form = yield* Fixtures.form()
        const cases: ReadonlyArray<readonly [Record<string, unknown>, string, string, string]> = [
          [{ summary: "not an object" }, "summary", "summary: Expected an object", "需求摘要：须为对象"],
          [{ keywords: "石墨烯" }, "keywords", "keywords: Expected an array", "关键词：须为数组"],
          [
            { intendedInvestment: 1e300 },
            "intendedInvestment",
            "intendedInvestment: an amount in fen: a whole number from 0 to 9007199254740991",
            "拟投入资金：金额以分计，须为 0 到 9007199254740991 之间的整数"
          ],
          [
            { intendedInvestment: "题".repeat(200_000) },
            "intendedInvestment",
            "intendedInvestment: Expected number",
            "拟投入资金：须为数字"
          ],
          // Past 80 characters a value is not quoted back, however much shorter than the body.
          [{ title: ["题".repeat(100)] }, "title", "title: Expected string", "需求名称：须为文本"]
        ]
        for (const [change, field, en, zh] of cases) {
          const english = yield* post({ ...form, ...change }, "en")
          assert.strictEqual(english.status, 400, field)
          assert.deepInclude(english.body, { field, rule: "R10", message: en })
          assert.isBelow(english.text.length, 1_000, `${field}: the answer does not quote the value back`)
          const chinese = yield* post({ ...form, ...change }, "zh-CN")
          assert.strictEqual(chinese.body.message, zh)
        }
        // A property the API does not know is refused, at any depth: a misspelled field would be lost.
        for (const [change, field] of [
          [{ intendedInvestmnet: 5_000_000 }, "intendedInvestmnet"],
          [{ summary: { ...form.summary, mainProblm: "拼写" } }, "summary.mainProblm"],
          [{ toString: "x" }, "toString"],
          [{ constructor: 1 }, "constructor"]
        ] as const) {
          const unknown = yield* post({ ...form, ...change }, "zh-CN")
          assert.strictEqual(unknown.status, 400, field)
          assert.deepInclude(unknown.body, { field, rule: "R10" })
          assert.match(String(unknown.body.message), new RegExp(`^${field}：不是可接受的字段（可用的字段：`))
        }
        const short = yield* post({ ...form, title: 7 }, "en")
        assert.deepInclude(short.body, { field: "title", message: "title: Expected string, actual 7" })
        assert.lengthOf((yield* (yield* Lists.Lists).myDemands(w.enterprise.account, {})).items, 0)
      })
  )

  it.effect(
    "§errors: a query parameter the endpoint does not take is refused naming it and the ones it takes (a misspelled filter would answer the page unfiltered), and the command does nothing; a path's `;` part, the router's query too, is checked as the query is",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const token = yield* tokenFor(w.enterprise.account)
        const send = (request: HttpClientRequest.HttpClientRequest, language: "en" | "zh-CN" = "zh-CN") =>
          HttpClient.execute(
            request.pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.setHeader("accept-language", language)
            )
          ).pipe(
            Effect.flatMap((r) =>
              Effect.map(r.json, (body) => ({ status: r.status, body: body as Record<string, unknown> }))
            )
          )
        yield* Fixtures.publish(w, w.enterprise.account)
        const mine = yield* send(HttpClientRequest.get("/my/demands?state=draft"), "en")
        assert.strictEqual(mine.status, 400)
        assert.deepInclude(mine.body, {
          code: "input.invalid",
          field: "state",
          rule: "§9",
          message:
            'state: is unexpected, expected: "role" | "states" | "field" | "keyword" | "sort" | "cursor" | "limit"'
        })
        const hall = yield* send(HttpClientRequest.get("/hall?feild=%E6%B5%B7%E6%B4%8B&limit=5"))
        assert.strictEqual(hall.status, 400)
        assert.deepInclude(hall.body, { code: "input.invalid", field: "feild" })
        assert.match(
          String(hall.body.message),
          /^feild：不是可接受的字段（可用的字段：keyword、field、region、/
        )
        // An endpoint that takes no query refuses any.
        const settings = yield* send(HttpClientRequest.get("/settings?_=1700000000000"))
        assert.strictEqual(settings.status, 400)
        assert.deepInclude(settings.body, { field: "_", message: "_：不是可接受的字段" })
        // A command named with an unknown parameter writes nothing.
        const form = yield* Fixtures.form()
        const drafted = yield* send(
          HttpClientRequest.post("/demands?dryRun=true").pipe(HttpClientRequest.bodyUnsafeJson(form))
        )
        assert.strictEqual(drafted.status, 400)
        assert.deepInclude(drafted.body, { field: "dryRun", rule: "R10" })
        const drafts = yield* (yield* Lists.Lists).myDemands(w.enterprise.account, { states: ["draft"] })
        assert.lengthOf(drafts.items, 0)
        // The router reads a path's `;` part as its query: checked as the query is.
        const matrix = yield* send(HttpClientRequest.get("/my/demands;state=draft"))
        assert.strictEqual(matrix.status, 400)
        assert.deepInclude(matrix.body, { field: "state" })
        // The parameters an endpoint takes pass, however the query is written.
        for (const path of [
          "/my/demands?states=published&limit=5",
          "/my/demands?states=published&states=draft",
          "/my/demands?st%61tes=published",
          "/my/demands;states=published",
          "/settings?",
          "/settings;"
        ]) {
          assert.strictEqual((yield* send(HttpClientRequest.get(path))).status, 200, path)
        }
      })
  )
})

layer(makeServer(PersistenceMemory.layerMemory, { rateLimits: { sms: { limit: 1, windowMillis: 60_000 } } }))(
  "the sms bucket",
  (it) => {
    it.effect("R61: feedback may send an SMS, so it takes from the account's sms bucket", () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const demand = yield* Fixtures.publish(w, w.enterprise.account)
        const responding = yield* Responding.Responding
        const responses = [
          yield* responding.respond(w.institute.account, {
            demandId: demand.id,
            proposal: { title: "方案一", content: "内容" }
          }),
          yield* responding.respond(w.expert.account, {
            demandId: demand.id,
            proposal: { title: "方案二", content: "内容" }
          })
        ]
        const token = yield* tokenFor(w.enterprise.account)
        const feedback = (responseId: string) =>
          HttpClient.execute(
            HttpClientRequest.post(`/responses/${responseId}/feedback`).pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.bodyUnsafeJson({ feedback: { reason: "cost_too_high" } })
            )
          )
        assert.strictEqual((yield* feedback(responses[0]!.id)).status, 200)
        const limited = yield* feedback(responses[1]!.id)
        assert.strictEqual(limited.status, 429)
        assert.strictEqual(((yield* limited.json) as { bucket: string }).bucket, "sms")
      })
    )

    it.effect(
      "R63: a repeat of a keyed command gets its first result when the bucket is spent; a new one gets 429",
      () =>
        Effect.gen(function* () {
          const w = yield* Fixtures.makeWorld
          const demand = yield* Fixtures.publish(w, w.enterprise.account)
          const responding = yield* Responding.Responding
          const response = yield* responding.respond(w.institute.account, {
            demandId: demand.id,
            proposal: { title: "方案一", content: "内容" }
          })
          const other = yield* Fixtures.publish(w, w.enterprise.account)
          const token = yield* tokenFor(w.enterprise.account)
          const adopt = (responseId: string, key: string) =>
            HttpClient.execute(
              HttpClientRequest.post(`/responses/${responseId}/adopt`).pipe(
                HttpClientRequest.bearerToken(token),
                HttpClientRequest.setHeader("idempotency-key", key)
              )
            )
          const first = yield* adopt(response.id, "adopt-1")
          assert.strictEqual(first.status, 200)
          const adopted = yield* first.json
          for (let i = 0; i < 3; i++) {
            const repeat = yield* adopt(response.id, "adopt-1")
            assert.strictEqual(repeat.status, 200, `repeat ${i + 1}`)
            assert.deepStrictEqual(yield* repeat.json, adopted)
          }
          // The same key for another request: 422, as R63 says, not 429.
          const otherResponse = yield* responding.respond(w.expert.account, {
            demandId: other.id,
            proposal: { title: "方案二", content: "内容" }
          })
          assert.strictEqual((yield* adopt(otherResponse.id, "adopt-1")).status, 422)
          // A new key runs nothing: 429, and the response stays submitted.
          const fresh = yield* adopt(otherResponse.id, "adopt-2")
          assert.strictEqual(fresh.status, 429)
          assert.isDefined(fresh.headers["retry-after"])
          const lists = yield* Lists.Lists
          assert.strictEqual(
            (yield* lists.response(w.expert.account, { responseId: otherResponse.id })).status,
            "submitted"
          )
        })
    )
  }
)

/** A demand the enterprise published, the institute's response to it, and the enterprise's token. */
const respondedDemand = Effect.gen(function* () {
  const w = yield* Fixtures.makeWorld
  const demand = yield* Fixtures.publish(w, w.enterprise.account)
  const response = yield* (yield* Responding.Responding).respond(w.institute.account, {
    demandId: demand.id,
    proposal: { title: "方案一", content: "内容" }
  })
  const token = yield* tokenFor(w.enterprise.account)
  return { w, demand, response, token }
})

/**
 * The memory ports, but for a unit of work that, once `lost` is set, fails as a unit
 * whose connection was lost during its COMMIT does: after committing (`"written"`),
 * or after its writes were undone (`"unwritten"`: the COMMIT never reached the
 * database).
 */
const lostAtCommit: { lost: "written" | "unwritten" | null } = { lost: null }
const outcomeUnknown = () =>
  new Errors.InfrastructureError({
    port: "UnitOfWork",
    message: "UnitOfWork.transaction: whether it was written is unknown",
    outcome: "unknown"
  })
class Undone {
  readonly _tag = "Undone"
}
const portsLosingCommits = Layer.map(PersistenceMemory.layerMemory, (context) => {
  const inner = Context.get(context, Persistence.UnitOfWork)
  return Context.add(
    context,
    Persistence.UnitOfWork,
    Persistence.UnitOfWork.of({
      ...inner,
      transaction: (effect) =>
        Effect.suspend(() => {
          const lost = lostAtCommit.lost
          lostAtCommit.lost = null
          if (lost === null) return inner.transaction(effect)
          if (lost === "written")
            return Effect.zipRight(inner.transaction(effect), Effect.fail(outcomeUnknown()))
          return Effect.catchIf(
            inner.transaction(Effect.zipRight(effect, Effect.fail(new Undone()))),
            (e): e is Undone => e instanceof Undone,
            () => Effect.fail(outcomeUnknown())
          )
        })
    })
  )
})

layer(makeServer(portsLosingCommits))("a command whose outcome is unknown", (it) => {
  it.effect(
    "R63: a command whose COMMIT lost its connection before it was written answers 500 outcome.unknown; its repeat with the same Idempotency-Key runs it; one whose COMMIT was written answers its result at once (its key's record read again)",
    () =>
      Effect.gen(function* () {
        const { w, response, token } = yield* respondedDemand
        const adopt = (language: string, key = "adopt-unknown") =>
          HttpClient.execute(
            HttpClientRequest.post(`/responses/${response.id}/adopt`).pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.setHeader("idempotency-key", key),
              HttpClientRequest.setHeader("accept-language", language)
            )
          )
        const lists = yield* Lists.Lists
        const status = () =>
          Effect.map(lists.response(w.institute.account, { responseId: response.id }), (r) => r.status)
        lostAtCommit.lost = "unwritten"
        const lost = yield* adopt("en")
        assert.strictEqual(lost.status, 500)
        const body = (yield* lost.json) as { _tag: string; code: string; message: string }
        assert.strictEqual(body._tag, "OutcomeUnknown")
        assert.strictEqual(body.code, "outcome.unknown")
        assert.match(body.message, /same Idempotency-Key/)
        assert.strictEqual(yield* status(), "submitted", "not written")
        lostAtCommit.lost = "unwritten"
        const zh = (yield* (yield* adopt("zh-CN")).json) as { message: string }
        assert.match(zh.message, /Idempotency-Key/)
        assert.notMatch(zh.message, /connection/)
        lostAtCommit.lost = "written"
        const repeat = yield* adopt("zh-CN")
        assert.strictEqual(repeat.status, 200, "written: the key's record answers")
        assert.strictEqual(((yield* repeat.json) as { status: string }).status, "adopted")
        assert.strictEqual(yield* status(), "adopted")
        assert.strictEqual((yield* adopt("en")).status, 200, "a repeat answers the first result")
      })
  )
})

layer(makeServer(PersistenceMemory.layerMemory, { http: { bodyLimitBytes: 64 * 1024 } }))(
  "a JSON body over the limit on the platform's own Node server",
  (it) => {
    it.effect(
      "§input: a chunked JSON body that passes bodyLimitBytes is answered 413 body.too_large as it arrives, and its connection closed",
      () =>
        Effect.gen(function* () {
          const { token } = yield* respondedDemand
          const address = (yield* HttpServer.HttpServer).address as { readonly port: number }
          const answer = yield* Effect.promise(
            () =>
              new Promise<{ status: number; connection: string | undefined; code: unknown }>(
                (resolve, reject) => {
                  const req = request(`http://127.0.0.1:${address.port}/demands`, {
                    method: "POST",
                    headers: {
                      authorization: `Bearer ${token}`,
                      "content-type": "application/json",
                      "transfer-encoding": "chunked"
                    }
                  })
                  req.on("response", (res) => {
                    let text = ""
                    res.on("data", (c: Buffer) => {
                      text += c.toString()
                    })
                    res.on("end", () =>
                      resolve({
                        status: res.statusCode ?? 0,
                        connection: res.headers.connection,
                        code: (JSON.parse(text) as { code?: unknown }).code
                      })
                    )
                  })
                  req.on("error", (e) => reject(e))
                  const piece = Buffer.alloc(16 * 1024, 32)
                  for (let i = 0; i < 8; i++) req.write(piece)
                }
              )
          )
          assert.deepStrictEqual(answer, { status: 413, connection: "close", code: "body.too_large" })
        })
    )

    it.effect(
      "§input: a chunked JSON body of exactly bodyLimitBytes is read (and refused for what it says); one byte more is 413 body.too_large",
      () =>
        Effect.gen(function* () {
          const { token } = yield* respondedDemand
          const address = (yield* HttpServer.HttpServer).address as { readonly port: number }
          const post = (bytes: number) => {
            const text = `{"title":"${"x".repeat(bytes - 12)}"}`
            assert.strictEqual(Buffer.byteLength(text), bytes)
            const body = Buffer.from(text)
            const half = Math.floor(bytes / 2)
            return Effect.promise(() =>
              postChunked(
                `http://127.0.0.1:${address.port}/demands`,
                { authorization: `Bearer ${token}`, "content-type": "application/json" },
                [body.subarray(0, half), body.subarray(half)]
              )
            )
          }
          const exact = yield* post(64 * 1024)
          assert.strictEqual(exact.status, 400, JSON.stringify(exact.body))
          assert.notStrictEqual(
            exact.body.code,
            "body.too_large",
            "refused for what it says, not for its size"
          )
          const over = yield* post(64 * 1024 + 1)
          assert.deepStrictEqual([over.status, over.body.code], [413, "body.too_large"])
        })
    )
  }
)

layer(makeServer(PersistenceMemory.layerMemory))("bodies left out", (it) => {
  it.effect(
    "R25, R31: a command whose fields are all optional takes no body (ending a selection, recording solved); one with a required field names it missing",
    () =>
      Effect.gen(function* () {
        const { demand, response, token } = yield* respondedDemand
        const bare = (path: string) =>
          HttpClient.execute(
            HttpClientRequest.post(path).pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.setHeader("accept-language", "en")
            )
          ).pipe(Effect.flatMap((r) => Effect.map(r.json, (body) => ({ status: r.status, body }))))
        const rejected = yield* bare(`/review/demands/${demand.id}/reject`)
        assert.strictEqual(rejected.status, 400, JSON.stringify(rejected.body))
        assert.include(rejected.body as object, { code: "input.invalid", field: "reason" })
        assert.match((rejected.body as { message: string }).message, /^reason: is missing/)
        assert.strictEqual((yield* bare(`/responses/${response.id}/adopt`)).status, 200)
        const ended = yield* bare(`/demands/${demand.id}/selection/end`)
        assert.strictEqual(ended.status, 200, JSON.stringify(ended.body))
        const solved = yield* bare(`/demands/${demand.id}/outcome/solved`)
        assert.strictEqual(solved.status, 200, JSON.stringify(solved.body))
        assert.include(solved.body as object, { outcome: "solved", serviceFee: null })
      })
  )
})

/**
 * The memory ports, but with the unit of work and the demand repository failing as
 * an adapter out of reach of its database does (`unavailable: true`) while `down`.
 */
const storeDown = { now: false }
const unreachable = (port: string) =>
  new Errors.InfrastructureError({
    port,
    message: `${port}: the database could not be reached`,
    unavailable: true
  })
const portsGoingDown = Layer.map(PersistenceMemory.layerMemory, (context) => {
  const uow = Context.get(context, Persistence.UnitOfWork)
  const demands = Context.get(context, Persistence.DemandRepository)
  const guarded = Object.fromEntries(
    Object.entries(demands).map(([name, method]) => [
      name,
      typeof method === "function"
        ? (...args: ReadonlyArray<unknown>) =>
            storeDown.now
              ? Effect.fail(unreachable("DemandRepository"))
              : (method as (...a: ReadonlyArray<unknown>) => unknown)(...args)
        : method
    ])
  ) as unknown as typeof demands
  return Context.add(
    Context.add(context, Persistence.DemandRepository, guarded),
    Persistence.UnitOfWork,
    Persistence.UnitOfWork.of({
      ...uow,
      transaction: (effect) =>
        Effect.suspend(() =>
          storeDown.now ? Effect.fail(unreachable("UnitOfWork")) : uow.transaction(effect)
        )
    })
  )
})

layer(makeServer(portsGoingDown))("a store out of reach", (it) => {
  it.effect(
    "§errors: a store out of reach answers 503 store.unavailable with Retry-After, in the caller's language, decoded by the typed client; nothing is written, and the same request succeeds once it is back",
    () =>
      Effect.gen(function* () {
        const { w, demand, response, token } = yield* respondedDemand
        const adopt = (language: string) =>
          HttpClient.execute(
            HttpClientRequest.post(`/responses/${response.id}/adopt`).pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.setHeader("accept-language", language)
            )
          )
        const lists = yield* Lists.Lists
        storeDown.now = true
        for (const [label, send] of [
          ["a command", adopt("en")],
          ["a read", HttpClient.get(`/demands/${demand.id}`, { headers: { "accept-language": "en" } })]
        ] as const) {
          const refused = yield* send
          assert.strictEqual(refused.status, 503, label)
          assert.strictEqual(refused.headers["retry-after"], "5", label)
          const body = (yield* refused.json) as { _tag: string; code: string; message: string }
          assert.deepStrictEqual(
            body,
            {
              _tag: "Unavailable",
              code: "store.unavailable",
              message:
                "the database is out of reach for the moment and the request was not carried out; try again in 5 s"
            },
            label
          )
        }
        const zh = (yield* (yield* adopt("zh-CN")).json) as { message: string }
        assert.strictEqual(zh.message, "数据库暂时无法连接，本次操作未执行，请 5 秒后重试")
        const client = yield* HttpApiClient.make(Api)
        const decoded = yield* Effect.flip(client.demands.get({ path: { demandId: demand.id } }))
        assert.strictEqual(decoded._tag, "Unavailable")
        storeDown.now = false
        assert.strictEqual(
          (yield* lists.response(w.institute.account, { responseId: response.id })).status,
          "submitted",
          "nothing written"
        )
        const adopted = yield* adopt("en")
        assert.strictEqual(adopted.status, 200, "the same request once the store is back")
      }).pipe(Effect.ensuring(Effect.sync(() => (storeDown.now = false))))
  )
})

/** What the server below logs, message by message. */
const outageLines: Array<string> = []
const capturing = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ message }) => {
    outageLines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })
)

layer(makeServer(portsGoingDown).pipe(Layer.provide(capturing)))("a store out of reach, logged", (it) => {
  it.effect(
    "§errors: while a store is out of reach, its failure is logged in full once, then at most once every 10 seconds with how many requests met it since (not once a request); after a quiet spell the count closes the run and the next failure is logged in full",
    () =>
      Effect.gen(function* () {
        const { demand } = yield* respondedDemand
        const read = HttpClient.get(`/demands/${demand.id}`)
        const outOfReach = () => outageLines.filter((line) => line.includes("a port failed (out of reach)"))
        storeDown.now = true
        for (let i = 0; i < 5; i++) assert.strictEqual((yield* read).status, 503)
        assert.lengthOf(outOfReach(), 1, "the first failure, in full")
        assert.include(outOfReach()[0], "the database could not be reached", "with its cause")
        yield* TestClock.adjust("9 seconds")
        assert.strictEqual((yield* read).status, 503)
        assert.lengthOf(outOfReach(), 1, "within 10 seconds, counted only")
        yield* TestClock.adjust("2 seconds")
        assert.strictEqual((yield* read).status, 503)
        assert.lengthOf(outOfReach(), 2)
        assert.include(outOfReach()[1], "(5 more in the 9 s after the last such line)")
        assert.include(outOfReach()[1], "the database could not be reached", "with the latest cause")
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* read).status, 503)
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual((yield* read).status, 503)
        assert.lengthOf(outOfReach(), 4, "after a quiet spell: the count closes the run, the next is in full")
        assert.include(outOfReach()[2], ": 1 more in the 1 s after the last such line, then none")
        assert.include(outOfReach()[3], "the database could not be reached")
        assert.notInclude(outOfReach()[3], "more in the")
        storeDown.now = false
        assert.strictEqual((yield* read).status, 200, "served once the store is back")
      }).pipe(Effect.ensuring(Effect.sync(() => (storeDown.now = false))))
  )
})

describe("a host's account resolver failing", () => {
  it("§errors: a resolver whose session store is out of reach (unavailable: true) answers 503 store.unavailable with Retry-After, in the caller's language; any other failure of it 500 internal", async () => {
    const failure: { error: Errors.InfrastructureError } = {
      error: new Errors.InfrastructureError({
        port: "Sessions",
        message: "sessions out of reach",
        unavailable: true
      })
    }
    const web = Mount.toWebHandler(
      Layer.mergeAll(
        Zhongbao.layerMemory(),
        Layer.succeed(Authentication.AccountResolver, {
          resolve: () => Effect.fail(failure.error)
        }),
        RateLimit.layer()
      )
    )
    try {
      const get = (language: string) =>
        web.handler(
          new Request("http://localhost/my/demands", {
            headers: { authorization: "Bearer t", "accept-language": language }
          })
        )
      const refused = await get("en")
      assert.strictEqual(refused.status, 503)
      assert.strictEqual(refused.headers.get("retry-after"), "5")
      assert.deepInclude(await refused.json(), { _tag: "Unavailable", code: "store.unavailable" })
      const zh = (await (await get("zh-CN")).json()) as { message: string }
      assert.strictEqual(zh.message, "数据库暂时无法连接，本次操作未执行，请 5 秒后重试")
      failure.error = new Errors.InfrastructureError({
        port: "Sessions",
        message: "a bug in the host's store"
      })
      const failed = await get("en")
      assert.strictEqual(failed.status, 500)
      assert.isNull(failed.headers.get("retry-after"))
      assert.deepInclude(await failed.json(), { _tag: "InternalError", code: "internal" })
      // Out of reach but perhaps done: not a 503 that says nothing was carried out.
      failure.error = new Errors.InfrastructureError({
        port: "Sessions",
        message: "the session's COMMIT got no answer",
        unavailable: true,
        outcome: "unknown"
      })
      const unknown = await get("en")
      assert.strictEqual(unknown.status, 500)
      assert.isNull(unknown.headers.get("retry-after"))
      assert.deepInclude(await unknown.json(), { _tag: "InternalError", code: "internal" })
    } finally {
      await web.dispose()
    }
  })
})

/** The same policy, per minute, for every bucket. */
const everyBucket = (limit: number): RateLimit.Policies => ({
  responding: { limit, windowMillis: 60_000 },
  consulting: { limit, windowMillis: 60_000 },
  sms: { limit, windowMillis: 60_000 },
  uploads: { limit, windowMillis: 60_000 },
  writes: { limit, windowMillis: 60_000 }
})

/** A command's request: POST or PUT with a bearer token, headers, and a JSON body when given. */
const commandRequest = (
  method: "post" | "put",
  path: string,
  token: string,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {}
) => {
  const request = (method === "post" ? HttpClientRequest.post(path) : HttpClientRequest.put(path)).pipe(
    HttpClientRequest.bearerToken(token),
    HttpClientRequest.setHeaders(headers)
  )
  return body === undefined ? request : HttpClientRequest.bodyUnsafeJson(request, body)
}

/** A host's limiter that only counts: without `refund`, refused commands spend their bucket too. */
const countingOnly = Layer.effect(
  RateLimit.RateLimiter,
  Effect.map(RateLimit.RateLimiter, (limiter) => ({ consume: limiter.consume }))
).pipe(Layer.provide(RateLimit.layerMemory))

layer(makeServer(PersistenceMemory.layerMemory, { rateLimits: everyBucket(1), limiter: countingOnly }))(
  "every rate-limited endpoint",
  (it) => {
    it.effect(
      "rate limits: each limited endpoint draws on its bucket (a limiter without refund), the second call within the window is 429 naming it",
      () =>
        Effect.gen(function* () {
          const w = yield* Fixtures.makeWorld
          const membership = yield* Membership.Membership
          const form = yield* Fixtures.form()
          // Written out here, not read from the API: which bucket each command spends.
          const table: ReadonlyArray<readonly [string, "post" | "put", string, unknown, RateLimit.Bucket]> = [
            [
              "respond",
              "post",
              "/demands/d/responses",
              { proposal: { title: "方案", content: "内容" } },
              "responding"
            ],
            [
              "revise",
              "put",
              "/responses/r/proposal",
              { proposal: { title: "方案", content: "内容" } },
              "responding"
            ],
            ["adopt", "post", "/responses/r/adopt", undefined, "sms"],
            ["give feedback", "post", "/responses/r/feedback", { feedback: { reason: "other" } }, "sms"],
            ["end selection", "post", "/demands/d/selection/end", {}, "sms"],
            ["ask", "post", "/demands/d/consultations", { text: "请问" }, "consulting"],
            ["ask a responder", "post", "/responses/r/consultations", { text: "请问" }, "consulting"],
            ["reply", "post", "/consultations/t/messages", { text: "答复" }, "consulting"],
            ["record solved", "post", "/demands/d/outcome/solved", {}, "sms"],
            ["restart", "post", "/demands/d/restart", { form }, "sms"],
            ["request a commission", "post", "/commissions", { institutionId: "m", message: "委托" }, "sms"],
            ["accept a commission", "post", "/commissions/c/accept", undefined, "sms"],
            ["decline a commission", "post", "/commissions/c/decline", undefined, "sms"],
            ["draft a demand", "post", "/demands", form, "writes"],
            ["edit a demand", "put", "/demands/d/form", { form }, "writes"],
            ["submit a demand", "post", "/demands/d/submit", undefined, "writes"],
            ["withdraw a response", "post", "/responses/r/withdraw", undefined, "writes"],
            [
              "append to a service log",
              "post",
              "/demands/d/service-log",
              { entry: { date: "2026-01-05", text: "现场调试" } },
              "writes"
            ],
            ["record unsolved", "post", "/demands/d/outcome/unsolved", undefined, "writes"],
            ["end a commission", "post", "/commissions/c/end", undefined, "writes"],
            [
              "save the institution's profile",
              "put",
              "/institution-profile",
              Fixtures.profileInput(),
              "writes"
            ],
            [
              "draft an application",
              "post",
              "/reward-applications",
              { roundId: "g", items: [{ demandId: "d", proofs: ["f"] }] },
              "writes"
            ],
            [
              "update an application",
              "put",
              "/reward-applications/a",
              { items: [{ demandId: "d", proofs: ["f"] }] },
              "writes"
            ],
            ["submit an application", "post", "/reward-applications/a/submit", undefined, "writes"],
            [
              "name a technology manager",
              "post",
              "/technology-managers",
              { name: "技术经理人", phone: Fixtures.nextPhone() },
              "writes"
            ],
            [
              "correct, retire or reactivate a technology manager",
              "put",
              "/technology-managers/t",
              { name: "技术经理人", phone: Fixtures.nextPhone(), active: false },
              "writes"
            ]
          ]
          // A fresh account each: buckets are per account.
          const freshToken = (i: number) =>
            Effect.gen(function* () {
              const member = yield* membership.createMember(w.operator, {
                kind: "enterprise",
                name: `限流${i}`
              })
              const account = yield* membership.createAccount(w.operator, {
                memberId: member.id,
                name: `联系人${i}`,
                phone: Fixtures.nextPhone()
              })
              return yield* tokenFor(account.id)
            })
          for (const [i, [name, method, path, body, bucket]] of table.entries()) {
            const token = yield* freshToken(i)
            const call = () => HttpClient.execute(commandRequest(method, path, token, body))
            const first = yield* call()
            assert.notStrictEqual(first.status, 429, `${name}: the first call is not limited`)
            assert.notStrictEqual(first.status, 400, `${name}: the table's request is well formed`)
            const second = yield* call()
            assert.strictEqual(second.status, 429, name)
            assert.strictEqual(((yield* second.json) as { bucket: string }).bucket, bucket, name)
          }
          // The operator's commands draw on no bucket: a review day approves many demands.
          const operator = yield* tokenFor(w.operator)
          for (const [name, path, body] of [
            ["approve a demand", "/review/demands/d/approve", undefined],
            ["reject a demand", "/review/demands/d/reject", { reason: "不具体" }],
            ["approve an application", "/reward-applications/a/approve", { amount: 100 }],
            ["reject an application", "/reward-applications/a/reject", { reason: "材料不全" }]
          ] as const) {
            for (let i = 0; i < 3; i++) {
              const answer = yield* HttpClient.execute(commandRequest("post", path, operator, body))
              assert.strictEqual(
                answer.status,
                404,
                `${name} #${i + 1}: not limited, refused for the missing ${path}`
              )
            }
          }
          const uploader = yield* freshToken(table.length)
          const upload = () => uploadAs(uploader, "%PDF-1.7\n%%EOF\n", "application/pdf")
          assert.strictEqual((yield* upload()).status, 201, "upload: the first call is stored")
          const again = yield* upload()
          assert.strictEqual(again.status, 429, "upload")
          assert.strictEqual(((yield* again.json) as { bucket: string }).bucket, "uploads")
        }),
      30_000
    )
  }
)

/** `token`'s account uploads `content` as a part of type `type` over HTTP, with an `Idempotency-Key` when given. */
const uploadAs = (token: string, content: string, type: string, key?: string) => {
  const data = new FormData()
  data.append("file", new Blob([content], { type }), "附件")
  return HttpClient.execute(
    HttpClientRequest.post("/files").pipe(
      HttpClientRequest.bearerToken(token),
      key === undefined ? identity : HttpClientRequest.setHeader("idempotency-key", key),
      HttpClientRequest.bodyFormData(data)
    )
  )
}

/** `token`'s account responds to `demandId` over HTTP, with an `Idempotency-Key` when given. */
const respondAs = (token: string) => (demandId: string, key?: string) =>
  HttpClient.execute(
    HttpClientRequest.post(`/demands/${demandId}/responses`).pipe(
      HttpClientRequest.bearerToken(token),
      key === undefined ? identity : HttpClientRequest.setHeader("idempotency-key", key),
      HttpClientRequest.bodyUnsafeJson({ proposal: { title: "方案", content: "内容" } })
    )
  )

/** Three demands of a new world's enterprise, and its institute's token and `respondAs`. */
const threeDemandsToRespond = Effect.gen(function* () {
  const w = yield* Fixtures.makeWorld
  const demands = [
    yield* Fixtures.publish(w, w.enterprise.account),
    yield* Fixtures.publish(w, w.enterprise.account),
    yield* Fixtures.publish(w, w.enterprise.account)
  ] as const
  const token = yield* tokenFor(w.institute.account)
  return { demands, token, respond: respondAs(token) }
})

layer(
  makeServer(PersistenceMemory.layerMemory, {
    rateLimits: {
      responding: { limit: 2, windowMillis: 60_000 },
      uploads: { limit: 1, windowMillis: 60_000 },
      writes: { limit: 2, windowMillis: 60_000 }
    }
  })
)("refused commands and the rate limit", (it) => {
  it.effect(
    "§3, R5: a credential from before the account's reactivation, refused 401, takes nothing from its writes or uploads bucket: its person, signed in again, still writes and uploads",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const membership = yield* Membership.Membership
        const { account } = yield* membership.me(w.enterprise.account, {})
        const old = yield* tokenFor(w.enterprise.account)
        const asIt = (active: boolean) => ({
          accountId: account.id,
          name: account.name,
          phone: account.phone,
          active
        })
        yield* TestClock.adjust("1 second")
        yield* membership.updateAccount(w.operator, asIt(false))
        yield* TestClock.adjust("1 second")
        yield* membership.updateAccount(w.operator, asIt(true))
        yield* TestClock.adjust("1 second")
        const form = yield* Fixtures.form()
        const draft = (token: string) =>
          HttpClient.execute(
            HttpClientRequest.post("/demands").pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.bodyUnsafeJson(form)
            )
          )
        const multipart = `--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7\n${" ".repeat(2_000)}\r\n--b--\r\n`
        const upload = (token: string) =>
          HttpClient.execute(
            HttpClientRequest.post("/files").pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.bodyText(multipart, "multipart/form-data; boundary=b")
            )
          )
        for (let i = 0; i < 2; i++) assert.strictEqual((yield* draft(old)).status, 401)
        assert.strictEqual((yield* upload(old)).status, 401)
        const again = yield* tokenFor(w.enterprise.account)
        for (let i = 0; i < 2; i++) {
          const own = yield* draft(again)
          assert.strictEqual(own.status, 201, JSON.stringify(yield* own.json))
        }
        const stored = yield* upload(again)
        assert.strictEqual(stored.status, 201, JSON.stringify(yield* stored.json))
      })
  )

  it.effect(
    "rate limits, R51: a save refused because the information changed since it was read (412) gives its request back",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const token = yield* tokenFor(w.institution.account)
        const save = (headers: Record<string, string>) =>
          HttpClient.execute(
            HttpClientRequest.put("/institution-profile").pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.setHeaders(headers),
              HttpClientRequest.bodyUnsafeJson(Fixtures.profileInput())
            )
          ).pipe(Effect.flatMap((r) => Effect.map(r.json, (body) => ({ status: r.status, body }))))
        const first = yield* save({})
        assert.strictEqual(first.status, 200)
        const revision = (first.body as { revision: string }).revision
        assert.strictEqual((yield* save({ "if-match": `"${"0".repeat(32)}"` })).status, 412)
        assert.strictEqual(
          (yield* save({ "if-match": `"${revision}"` })).status,
          200,
          "the 412 spent nothing"
        )
        assert.strictEqual((yield* save({})).status, 429, "the two saves spent the bucket")
      })
  )

  it.effect(
    "rate limits: a command the domain refuses (404, 409) gives its request back, the bucket's requests go to the commands that succeed; a refused upload keeps its count",
    () =>
      Effect.gen(function* () {
        const {
          demands: [demand, second, third],
          respond,
          token
        } = yield* threeDemandsToRespond
        assert.strictEqual((yield* respond("no-such-demand")).status, 404)
        assert.strictEqual((yield* respond(demand.id)).status, 201, "the refusal spent nothing")
        const again = yield* respond(demand.id)
        assert.strictEqual(again.status, 409, "one response per responder and demand")
        assert.strictEqual((yield* respond(second.id)).status, 201, "the 409 gave its request back")
        const spent = yield* respond(third.id)
        assert.strictEqual(spent.status, 429, "the two successes spent the bucket")
        assert.strictEqual(((yield* spent.json) as { bucket: string }).bucket, "responding")

        const upload = (content: string, type: string) => uploadAs(token, content, type)
        assert.strictEqual((yield* upload("#!/bin/sh\n", "text/x-sh")).status, 400, "a type not allowed")
        const after = yield* upload("%PDF-1.7\n%%EOF\n", "application/pdf")
        assert.strictEqual(after.status, 429, "the refused upload's body was read: it counts")
        assert.strictEqual(((yield* after.json) as { bucket: string }).bucket, "uploads")
      })
  )

  it.effect(
    "rate limits, R54, R63: with the uploads bucket spent an upload is refused before its body is read, under a new Idempotency-Key or a stored one",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const token = yield* tokenFor(w.institute.account)
        const upload = (key: string, content: string, type: string) => uploadAs(token, content, type, key)
        const pdf = "%PDF-1.7\n%%EOF\n"
        assert.strictEqual((yield* upload("upload-1", pdf, "application/pdf")).status, 201)
        for (const [key, content, type] of [
          ["upload-2", "#!/bin/sh\n", "text/x-sh"],
          ["upload-3", pdf, "application/pdf"],
          ["upload-1", pdf, "application/pdf"]
        ] as const) {
          const refused = yield* upload(key, content, type)
          assert.strictEqual(refused.status, 429, `${key}: not read, so neither 400 nor a replay`)
          assert.strictEqual(((yield* refused.json) as { bucket: string }).bucket, "uploads")
        }
      })
  )

  it.effect(
    "rate limits, R63: an Idempotency-Key reused with another input (422) gives its request back",
    () =>
      Effect.gen(function* () {
        const {
          demands: [first, second, third],
          respond
        } = yield* threeDemandsToRespond
        assert.strictEqual((yield* respond(first.id, "respond-a1")).status, 201)
        const reused = yield* respond(second.id, "respond-a1")
        assert.strictEqual(reused.status, 422)
        assert.strictEqual(((yield* reused.json) as { code: string }).code, "idempotency.key_reused")
        assert.strictEqual((yield* respond(second.id)).status, 201, "the 422 gave its request back")
        assert.strictEqual((yield* respond(third.id)).status, 429, "the two successes spent the bucket")
      })
  )

  it.effect(
    "rate limits, R63: a repeat answered from its Idempotency-Key's stored result gives its request back: it ran nothing",
    () =>
      Effect.gen(function* () {
        const {
          demands: [first, second, third],
          respond
        } = yield* threeDemandsToRespond
        const original = yield* respond(first.id, "respond-r1")
        assert.strictEqual(original.status, 201)
        const body = yield* original.json
        // Two: refunds of a window are capped at the bucket's limit, as a refusal's are.
        for (let i = 0; i < 2; i++) {
          const repeat = yield* respond(first.id, "respond-r1")
          assert.strictEqual(repeat.status, 201)
          assert.deepStrictEqual(yield* repeat.json, body, "the first result")
        }
        assert.strictEqual((yield* respond(second.id)).status, 201, "the repeats gave their requests back")
        assert.strictEqual((yield* respond(third.id)).status, 429, "the two responses spent the bucket")
        const spent = yield* respond(first.id, "respond-r1")
        assert.strictEqual(spent.status, 201, "with the bucket spent a repeat still gets its first result")
        assert.deepStrictEqual(yield* spent.json, body)
      })
  )
})

/** A host's limiter written as a class, over `layerMemory`: its methods use `this`. */
class ClassLimiter {
  constructor(private readonly inner: RateLimit.RateLimiter["Type"]) {}
  consume(key: string, policy: RateLimit.Policy) {
    return this.inner.consume(key, policy)
  }
  refund(key: string, policy: RateLimit.Policy, decision: RateLimit.Decision) {
    return this.inner.refund!(key, policy, decision)
  }
}

/** What the server logs in the suite of {@link failingRefunds}. */
const refundLog: Array<unknown> = []

/** A limiter whose refunds fail, as a shared store's may while it is unreachable (and the server's log). */
const failingRefunds = Layer.effect(
  RateLimit.RateLimiter,
  Effect.map(RateLimit.RateLimiter, (limiter) => ({
    consume: limiter.consume,
    refund: () => new Errors.InfrastructureError({ port: "RateLimiter", message: "the store is unreachable" })
  }))
).pipe(
  Layer.provide(RateLimit.layerMemory),
  Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ message }) => refundLog.push(message))
    )
  )
)

/** One respond to a demand that does not exist, then one to `demandId`: their statuses. */
const refusedThenValid = (demandId: string, token: string) =>
  Effect.gen(function* () {
    const respond = (id: string) =>
      HttpClient.execute(
        HttpClientRequest.post(`/demands/${id}/responses`).pipe(
          HttpClientRequest.bearerToken(token),
          HttpClientRequest.bodyUnsafeJson({ proposal: { title: "方案", content: "内容" } })
        )
      )
    return [(yield* respond("no-such-demand")).status, (yield* respond(demandId)).status]
  })

const respondingOfOne = { responding: { limit: 1, windowMillis: 60_000 } }

layer(
  makeServer(PersistenceMemory.layerMemory, {
    rateLimits: respondingOfOne,
    limiter: Layer.effect(
      RateLimit.RateLimiter,
      Effect.map(RateLimit.RateLimiter, (inner) => new ClassLimiter(inner))
    ).pipe(Layer.provide(RateLimit.layerMemory))
  })
)("a host's limiter written as a class", (it) => {
  it.effect(
    "rate limits: a limiter's refund is called as its method: a refused command gives its request back",
    () =>
      Effect.gen(function* () {
        const w = yield* Fixtures.makeWorld
        const demand = yield* Fixtures.publish(w, w.enterprise.account)
        assert.deepStrictEqual(
          yield* refusedThenValid(demand.id, yield* tokenFor(w.institute.account)),
          [404, 201]
        )
      })
  )
})

layer(makeServer(PersistenceMemory.layerMemory, { rateLimits: respondingOfOne, limiter: failingRefunds }))(
  "a limiter whose refunds fail",
  (it) => {
    it.effect(
      "rate limits: a refund that fails is logged, the refusal answered as it was; the request stays counted",
      () =>
        Effect.gen(function* () {
          const w = yield* Fixtures.makeWorld
          const demand = yield* Fixtures.publish(w, w.enterprise.account)
          const statuses = yield* refusedThenValid(demand.id, yield* tokenFor(w.institute.account))
          assert.deepStrictEqual(statuses, [404, 429])
          assert.isTrue(
            refundLog.some((m) => JSON.stringify(m).includes("a rate-limit refund failed")),
            JSON.stringify(refundLog)
          )
        })
    )
  }
)

layer(makeServer(PersistenceMemory.layerMemory, { settings: { fileSizeLimitBytes: 2_000 } }))(
  "uploads at the file size limit",
  (it) => {
    it.effect(
      "R54: a file of exactly the limit is stored and downloaded with its type; one byte more, a type not allowed or an empty file is refused naming the part file (400 file.too_large, file.type_not_allowed, file.empty)",
      () =>
        Effect.gen(function* () {
          const w = yield* Fixtures.makeWorld
          const token = yield* tokenFor(w.institution.account)
          const pdf = (size: number) => {
            const head = new TextEncoder().encode("%PDF-1.7\n")
            const bytes = new Uint8Array(size).fill(0x20)
            bytes.set(head)
            return bytes
          }
          const send = (bytes: Uint8Array) => {
            const data = new FormData()
            data.append("file", new Blob([bytes], { type: "application/pdf" }), "合同.pdf")
            return HttpClient.execute(
              HttpClientRequest.post("/files").pipe(
                HttpClientRequest.bearerToken(token),
                HttpClientRequest.bodyFormData(data)
              )
            ).pipe(
              Effect.flatMap((r) =>
                Effect.map(r.json, (body) => ({ status: r.status, body: body as Record<string, unknown> }))
              )
            )
          }
          const upload = (size: number) => send(pdf(size))
          const stored = yield* upload(2_000)
          assert.strictEqual(stored.status, 201, JSON.stringify(stored.body))
          assert.strictEqual(stored.body.size, 2_000)
          const content = yield* HttpClient.execute(
            HttpClientRequest.get(`/files/${stored.body.id as string}/content`).pipe(
              HttpClientRequest.bearerToken(token)
            )
          )
          assert.strictEqual(content.status, 200)
          assert.strictEqual(content.headers["content-type"], "application/pdf")
          assert.strictEqual((yield* content.arrayBuffer).byteLength, 2_000)
          const over = yield* upload(2_001)
          assert.strictEqual(over.status, 400)
          assert.deepInclude(over.body, {
            code: "file.too_large",
            field: "file",
            rule: "R54",
            message: "文件大小为 2,001 字节，超过上限 2,000 字节"
          })
          const script = yield* send(new TextEncoder().encode("#!/bin/sh\n"))
          assert.strictEqual(script.status, 400)
          assert.deepInclude(script.body, { code: "file.type_not_allowed", field: "file", rule: "R54" })
          assert.strictEqual(script.body.message, Messages.zhCN["file.type_not_allowed"])
          const empty = yield* send(new Uint8Array(0))
          assert.strictEqual(empty.status, 400)
          assert.deepInclude(empty.body, { code: "file.empty", field: "file", rule: "R54" })
        })
    )
  }
)

layer(makeServer(PersistenceMemory.layerMemory, { rateLimits: everyBucket(1_000) }))(
  "the Idempotency-Key of every command",
  (it) => {
    it.effect(
      "R63: every command endpoint hands its Idempotency-Key to core: a key one command used, sent with another, is 422 naming the header",
      () =>
        Effect.gen(function* () {
          const w = yield* Fixtures.makeWorld
          const token = yield* tokenFor(w.operator)
          const form = yield* Fixtures.form()
          const key = "shared-key-1"
          const send = (method: "post" | "put", path: string, body?: unknown) =>
            HttpClient.execute(commandRequest(method, path, token, body, { "idempotency-key": key })).pipe(
              Effect.flatMap((r) =>
                Effect.map(r.json, (json) => ({ status: r.status, body: json as Record<string, unknown> }))
              )
            )
          // The key's first use: the operator creates a member.
          const first = yield* send("post", "/members", { kind: "expert", name: "键的首次使用" })
          assert.strictEqual(first.status, 201, JSON.stringify(first.body))
          const proposal = { title: "方案", content: "内容" }
          const item = { demandId: "d", proofs: ["f"] }
          // Written out here: every endpoint that takes an Idempotency-Key, with a well-formed request.
          const table: ReadonlyArray<readonly [string, "post" | "put", string, unknown?]> = [
            ["draft a demand", "post", "/demands", form],
            ["edit a demand", "put", "/demands/d/form", { form }],
            ["submit a demand", "post", "/demands/d/submit"],
            ["approve a demand", "post", "/review/demands/d/approve"],
            ["reject a demand", "post", "/review/demands/d/reject", { reason: "不具体" }],
            ["respond", "post", "/demands/d/responses", { proposal }],
            ["revise", "put", "/responses/r/proposal", { proposal }],
            ["withdraw", "post", "/responses/r/withdraw"],
            ["adopt", "post", "/responses/r/adopt"],
            ["give feedback", "post", "/responses/r/feedback", { feedback: { reason: "other" } }],
            ["ask", "post", "/demands/d/consultations", { text: "请问" }],
            ["ask a responder", "post", "/responses/r/consultations", { text: "请问" }],
            ["reply", "post", "/consultations/t/messages", { text: "答复" }],
            ["end selection", "post", "/demands/d/selection/end", {}],
            [
              "append to the service log",
              "post",
              "/demands/d/service-log",
              { entry: { date: "2026-05-04", text: "会谈" } }
            ],
            ["record solved", "post", "/demands/d/outcome/solved", {}],
            ["record unsolved", "post", "/demands/d/outcome/unsolved"],
            ["restart", "post", "/demands/d/restart", { form }],
            ["request a commission", "post", "/commissions", { institutionId: "m", message: "委托" }],
            ["accept a commission", "post", "/commissions/c/accept"],
            ["decline a commission", "post", "/commissions/c/decline"],
            ["end a commission", "post", "/commissions/c/end"],
            [
              "open a reward round",
              "post",
              "/reward-rounds",
              {
                title: "批次",
                rules: "规则",
                periodStart: "2026-05-01",
                periodEnd: "2026-05-31",
                applicationDeadline: "2026-06-30"
              }
            ],
            ["close a reward round", "post", "/reward-rounds/o/close"],
            ["save a profile", "put", "/institution-profile", Fixtures.profileInput()],
            ["draft an application", "post", "/reward-applications", { roundId: "o", items: [item] }],
            ["update an application", "put", "/reward-applications/a", { items: [item] }],
            ["submit an application", "post", "/reward-applications/a/submit"],
            ["approve an application", "post", "/reward-applications/a/approve", { amount: 100 }],
            ["reject an application", "post", "/reward-applications/a/reject", { reason: "材料不全" }],
            ["re-queue a dead letter", "post", "/notifications/dead-letters/m/requeue"],
            ["re-queue the dead letters", "post", "/notifications/dead-letters/requeue"],
            ["register an institution", "post", "/members/m/register"],
            ["create an account", "post", "/accounts", { name: "联系人", phone: Fixtures.nextPhone() }],
            [
              "add a technology manager",
              "post",
              "/technology-managers",
              { name: "经理人", phone: Fixtures.nextPhone() }
            ]
          ]
          const wrong: Array<string> = []
          const check = (name: string, answer: { status: number; body: Record<string, unknown> }) => {
            if (
              answer.status !== 422 ||
              answer.body.field !== "idempotency-key" ||
              answer.body.rule !== "R63"
            )
              wrong.push(`${name}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 160)}`)
          }
          for (const [name, method, path, body] of table) check(name, yield* send(method, path, body))
          // An upload is multipart.
          const upload = yield* HttpClient.execute(
            HttpClientRequest.post("/files").pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.setHeader("idempotency-key", key),
              HttpClientRequest.bodyText(
                '--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7\n%%EOF\n\r\n--b--\r\n',
                "multipart/form-data; boundary=b"
              )
            )
          )
          check("upload a file", {
            status: upload.status,
            body: (yield* upload.json) as Record<string, unknown>
          })
          assert.deepStrictEqual(wrong, [])
        }),
      30_000
    )
  }
)

layer(makeServer(PersistenceMemory.layerMemory, { http: { uploadLimitBytes: 1_000 } }))(
  "an upload limit of the host's",
  (it) => {
    it.effect(
      "R54: uploadLimitBytes bounds an upload's body: over it, 413 naming the limit, in Chinese by default",
      () =>
        Effect.gen(function* () {
          const w = yield* Fixtures.makeWorld
          const token = yield* tokenFor(w.institution.account)
          // Sent with its length, as browsers send a form: refused from the header, before the body is read.
          const multipart = `--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7\n${" ".repeat(2_000)}\r\n--b--\r\n`
          const answer = yield* HttpClient.execute(
            HttpClientRequest.post("/files").pipe(
              HttpClientRequest.bearerToken(token),
              HttpClientRequest.bodyText(multipart, "multipart/form-data; boundary=b")
            )
          )
          assert.strictEqual(answer.status, 413)
          const body = (yield* answer.json) as { limit: number; message: string }
          assert.strictEqual(body.limit, 1_000)
          assert.strictEqual(body.message, "请求内容超过上限（1,000 字节）")
        })
    )
  }
)

describe("the API's documents", () => {
  it("the OpenAPI document and the docs UI carry an ETag and Cache-Control: no-cache; If-None-Match naming it is 304 without the body", async () => {
    const mounted = Mount.toWebHandler(app())
    try {
      for (const path of ["/openapi.json", "/docs"]) {
        const first = await mounted.handler(new Request(`http://x${path}`))
        assert.strictEqual(first.status, 200, path)
        const body = await first.text()
        const etag = first.headers.get("etag")
        assert.match(etag ?? "", /^"[A-Za-z0-9_-]{43}"$/, path)
        assert.strictEqual(first.headers.get("cache-control"), "no-cache", path)
        const again = await mounted.handler(new Request(`http://x${path}`))
        assert.strictEqual(again.headers.get("etag"), etag, `${path}: the same document, the same tag`)
        assert.strictEqual(await again.text(), body)
        for (const ifNoneMatch of [etag!, `W/${etag}`, `"other", ${etag}`, "*"]) {
          const revalidated = await mounted.handler(
            new Request(`http://x${path}`, { headers: { "if-none-match": ifNoneMatch } })
          )
          assert.strictEqual(revalidated.status, 304, `${path} ${ifNoneMatch}`)
          assert.strictEqual(await revalidated.text(), "")
          assert.strictEqual(revalidated.headers.get("etag"), etag)
        }
        const stale = await mounted.handler(
          new Request(`http://x${path}`, { headers: { "if-none-match": '"an-older-document"' } })
        )
        assert.strictEqual(stale.status, 200, path)
        assert.strictEqual(await stale.text(), body)
      }
      const api = await mounted.handler(new Request("http://x/settings"))
      assert.strictEqual(api.headers.get("cache-control"), "no-store", "the API's answers are not kept")
      assert.isNull(api.headers.get("etag"))
    } finally {
      await mounted.dispose()
    }
  })
})
