/**
 * The transports against a local server that records what reaches it: the node
 * transport and the HttpClient adapter must send the same request and answer the
 * same way (R64: a sender's outcome is classified from what the transport saw).
 */
import { FetchHttpClient, HttpClient, HttpClientError } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { AliyunSms, Classify, Transport } from "@zhongbao/adapter-sms"
import {
  Cause,
  Context,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Redacted,
  Schedule,
  Scope
} from "effect"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Net from "node:net"
import type { AddressInfo } from "node:net"

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/**
 * `s` listening on a free port of 127.0.0.1, closed with the scope (its connections
 * too); answers its URL.
 */
const listening = (s: Http.Server | Https.Server, scheme: "http" | "https") =>
  Effect.acquireRelease(
    Effect.async<string>((resume) => {
      s.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed(`${scheme}://127.0.0.1:${(s.address() as AddressInfo).port}`))
      )
    }),
    () =>
      Effect.async<void>((resume) => {
        s.closeAllConnections()
        s.close(() => resume(Effect.void))
      })
  )

/** A server answering each request with `answer`; it records requests, connections and closed requests. */
const server = (answer: (req: Http.IncomingMessage, res: Http.ServerResponse, body: string) => void) =>
  Effect.suspend(() => {
    const seen: Array<Seen> = []
    const state = { connections: 0, closed: 0 }
    const s = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8")
        seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body })
        res.on("close", () => {
          if (!res.writableFinished) state.closed += 1
        })
        answer(req, res, body)
      })
    })
    s.on("connection", () => {
      state.connections += 1
    })
    return Effect.map(listening(s, "http"), (url) => ({ server: s, url, seen, state }))
  })

const tls = {
  cert: readFileSync(new URL("./support/tls/cert.pem", import.meta.url)),
  key: readFileSync(new URL("./support/tls/key.pem", import.meta.url))
}

/**
 * A TCP server that never completes a TLS handshake: `silent` reads the ClientHello
 * and says nothing, `reset` resets the connection on it. Answers its port.
 */
const tcpServer = (behaviour: "silent" | "reset") =>
  Effect.acquireRelease(
    Effect.async<Net.Server>((resume) => {
      const s = Net.createServer((socket) => {
        socket.on("error", () => {})
        socket.once("data", () => {
          if (behaviour === "reset") socket.resetAndDestroy()
        })
      })
      s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
    }),
    (s) =>
      Effect.async<void>((resume) => {
        s.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((s) => (s.address() as AddressInfo).port))

/** An HTTPS server with the test certificate, answering `{"ok":true}`. */
const httpsServer = Effect.suspend(() => {
  const s = Https.createServer(tls, (req, res) => {
    req.resume()
    req.on("end", () => res.end('{"ok":true}'))
  })
  return Effect.map(listening(s, "https"), (url) => ({ server: s, url: `${url}/` }))
})

/**
 * An HTTP or HTTPS server that answers the odd requests it receives (the first of
 * each pair) after 100 ms with Aliyun's `{"Code":"OK"}`, and leaves the even ones
 * unanswered (`hang`) or destroys their connection (`reset`). Counts requests and
 * connections.
 */
const pairServer = (scheme: "http" | "https", second: "hang" | "reset") =>
  Effect.suspend(() => {
    const state = { requests: 0, connections: 0 }
    const answer = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      req.resume()
      req.on("end", () => {
        state.requests += 1
        if (state.requests % 2 === 1) setTimeout(() => res.end('{"Code":"OK"}'), 100)
        else if (second === "reset") req.socket.destroy()
      })
    }
    const s = scheme === "https" ? Https.createServer(tls, answer) : Http.createServer(answer)
    s.on("connection", () => {
      state.connections += 1
    })
    return Effect.map(listening(s, scheme), (url) => ({ server: s, url: `${url}/`, state }))
  })

/**
 * The transports of this package's own, with their options, and how many connections
 * sequential requests may open: undici's pool can open a second one when a request
 * is dispatched before the connection that answered the last is marked idle again.
 */
const natives: ReadonlyArray<
  readonly [string, (options?: Transport.NodeOptions) => Layer.Layer<Transport.Transport>, number]
> = [
  ["node", Transport.layerNode, 1],
  ["undici", Transport.layerUndici, 2]
]

const transports: ReadonlyArray<readonly [string, Layer.Layer<Transport.Transport>]> = [
  ...natives.map(([name, make]) => [name, make()] as const),
  ["HttpClient: undici", Transport.layerHttpClient.pipe(Layer.provide(NodeHttpClient.layerUndici))],
  ["HttpClient: node:http", Transport.layerHttpClient.pipe(Layer.provide(NodeHttpClient.layer))],
  ["HttpClient: fetch", Transport.layerHttpClient.pipe(Layer.provide(FetchHttpClient.layer))]
]

const build = (layer: Layer.Layer<Transport.Transport>) =>
  Effect.map(Layer.build(layer), Context.get(Transport.Transport))

/** Waits until `check` holds, failing after 3 s. */
const until = (check: () => boolean) =>
  Effect.repeat(Effect.sync(check), { until: (done) => done, schedule: Schedule.spaced("10 millis") }).pipe(
    Effect.timeoutFail({
      duration: "3 seconds",
      onTimeout: () => new Error("the condition did not hold in 3 s")
    })
  )

const failureOf = <A>(result: Either.Either<A, Transport.TransportError>): Transport.TransportError => {
  if (Either.isRight(result)) throw new Error("the request did not fail")
  return result.left
}

describe("Transport", () => {
  for (const [name, layer] of transports) {
    it.scopedLive(
      `R64: a POST carries its headers and body; the reply's status and body come back (${name})`,
      () =>
        Effect.gen(function* () {
          const s = yield* server((_req, res, body) => {
            res.writeHead(201, { "content-type": "application/json" })
            res.end(JSON.stringify({ echoed: body.length, 中: "文" }))
          })
          const transport = yield* build(layer)
          const reply = yield* transport.post(
            {
              url: `${s.url}/send?To=138&Sig=a%2Fb`,
              headers: { "content-type": "application/json; charset=utf-8", "x-acs-action": "SendSms" },
              body: '{"短信":1}'
            },
            2_000
          )
          assert.deepStrictEqual(reply, { status: 201, body: JSON.stringify({ echoed: 8, 中: "文" }) })
          const [seen] = s.seen
          assert.strictEqual(seen?.method, "POST")
          assert.strictEqual(seen?.url, "/send?To=138&Sig=a%2Fb")
          assert.strictEqual(seen?.headers["content-type"], "application/json; charset=utf-8")
          assert.strictEqual(seen?.headers["x-acs-action"], "SendSms")
          assert.strictEqual(seen?.headers["content-length"], String(Buffer.byteLength('{"短信":1}')))
          assert.strictEqual(seen?.body, '{"短信":1}')
        })
    )

    it.scopedLive(
      `R64: no reply within the timeout fails with Timeout and the request is aborted (${name})`,
      () =>
        Effect.gen(function* () {
          const s = yield* server(() => {})
          const transport = yield* build(layer)
          const started = Date.now()
          const result = yield* Effect.either(transport.post({ url: s.url, headers: {}, body: "" }, 200))
          assert.strictEqual(failureOf(result).reason, "Timeout")
          assert.isBelow(Date.now() - started, 1_500)
          yield* until(() => s.state.closed === 1)
        })
    )

    it.scopedLive(
      `R64: a reply cut off after its status fails with Transport and keeps the status (${name})`,
      () =>
        Effect.gen(function* () {
          const s = yield* server((_req, res) => {
            res.writeHead(503, { "content-type": "application/json", "content-length": "100" })
            res.write('{"Code":"Throttl', () => res.socket?.destroy())
          })
          const transport = yield* build(layer)
          const error = failureOf(
            yield* Effect.either(transport.post({ url: s.url, headers: {}, body: "" }, 2_000))
          )
          assert.strictEqual(error.reason, "Transport")
          assert.strictEqual(error.status, 503)
        })
    )

    it.scopedLive(`R64: a refused connection fails with Transport and its ECONNREFUSED (${name})`, () =>
      Effect.gen(function* () {
        const s = yield* server(() => {})
        const url = s.url
        yield* Effect.async<void>((resume) => {
          s.server.close(() => resume(Effect.void))
        })
        const transport = yield* build(layer)
        const result = yield* Effect.either(transport.post({ url, headers: {}, body: "" }, 2_000))
        const error = failureOf(result)
        assert.strictEqual(error.reason, "Transport")
        assert.strictEqual(Classify.transport("aliyun", error.cause)._tag, "RetryLater")
      })
    )
  }

  for (const [name, make] of natives) {
    it.scopedLive(`R64: HTTPS to a provider whose certificate is trusted through \`ca\` (${name})`, () =>
      Effect.gen(function* () {
        const s = yield* httpsServer
        const transport = yield* build(make({ ca: tls.cert }))
        const reply = yield* transport.post({ url: s.url, headers: {}, body: "" }, 2_000)
        assert.deepStrictEqual(reply, { status: 200, body: '{"ok":true}' })
      })
    )
  }

  for (const [name, layer] of transports) {
    it.scopedLive(`R64: a certificate that fails verification sent nothing: RetryLater (${name})`, () =>
      Effect.gen(function* () {
        const s = yield* httpsServer
        const transport = yield* build(layer)
        const error = failureOf(
          yield* Effect.either(transport.post({ url: s.url, headers: {}, body: "" }, 2_000))
        )
        assert.strictEqual(error.reason, "Transport")
        const result = Classify.transport("aliyun", error.cause)
        assert.strictEqual(result._tag, "RetryLater")
      })
    )
  }

  for (const [name, make] of natives) {
    it.scopedLive(
      `R64: a connection whose TLS handshake never completes (silent, or reset) sent nothing: sent false, RetryLater; one made but not answered may have: Unknown (${name})`,
      () =>
        Effect.gen(function* () {
          const transport = yield* build(make({ ca: tls.cert }))
          // undici checks its connect timeout (a third of this) about once a second.
          const timeout = 4_000
          const send = (port: number) =>
            AliyunSms.make({
              accessKeyId: Redacted.make("key"),
              accessKeySecret: Redacted.make("secret"),
              signName: "众包平台",
              endpoint: `https://127.0.0.1:${port}/`,
              timeout: `${timeout} millis`,
              throttle: { windows: [] }
            }).pipe(
              Effect.provideService(Transport.Transport, transport),
              Effect.flatMap((s) =>
                s.send({
                  messageId: "m-1",
                  dedupeKey: "d-1",
                  phone: "+8613812345678",
                  templateId: "SMS_1",
                  params: {}
                })
              )
            )
          for (const behaviour of ["silent", "reset"] as const) {
            const port = yield* tcpServer(behaviour)
            if (behaviour === "reset") {
              const direct = failureOf(
                yield* Effect.either(
                  transport.post({ url: `https://127.0.0.1:${port}/`, headers: {}, body: "" }, timeout)
                )
              )
              assert.deepStrictEqual([direct.reason, direct.sent], ["Transport", false])
            }
            const result = yield* send(port)
            assert.strictEqual(result._tag, "RetryLater", `${behaviour}: ${JSON.stringify(result)}`)
          }
          const answering = yield* Effect.acquireRelease(
            Effect.async<Https.Server>((resume) => {
              const s = Https.createServer(tls, () => {})
              s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
            }),
            (s) =>
              Effect.sync(() => {
                s.closeAllConnections()
                s.close()
              })
          )
          const unanswered = yield* send((answering.address() as AddressInfo).port)
          assert.strictEqual(unanswered._tag, "Unknown", JSON.stringify(unanswered))
        }),
      20_000
    )
  }

  for (const [name, make] of natives) {
    for (const scheme of ["http", "https"] as const) {
      for (const [second, outcome] of [
        ["hang", "and then timed out"],
        ["reset", "whose connection was then reset"]
      ] as const) {
        it.scopedLive(
          `R64: a request queued for a busy socket ${outcome} counts as sent (its outcome unknown), not as not reached (${name}, ${scheme})`,
          () =>
            Effect.gen(function* () {
              const s = yield* pairServer(scheme, second)
              // One socket: the second request waits for it and is written on it once the first is answered.
              const transport = yield* build(make({ maxSockets: 1, ca: tls.cert }))
              const request = { url: s.url, headers: {}, body: "x" }
              const [first, queued] = yield* Effect.all(
                [
                  Effect.either(transport.post(request, 2_000)),
                  Effect.either(transport.post(request, 2_000))
                ],
                { concurrency: 2 }
              )
              assert.deepStrictEqual(first, Either.right({ status: 200, body: '{"Code":"OK"}' }))
              const error = failureOf(queued)
              assert.deepStrictEqual(
                [error.reason, error.sent],
                [second === "hang" ? "Timeout" : "Transport", true]
              )
              assert.deepStrictEqual([s.state.requests, s.state.connections], [2, 1])
              const sender = yield* AliyunSms.make({
                accessKeyId: Redacted.make("key"),
                accessKeySecret: Redacted.make("secret"),
                signName: "众包平台",
                endpoint: s.url,
                timeout: "2 seconds",
                throttle: { windows: [] }
              }).pipe(Effect.provideService(Transport.Transport, transport))
              const send = (id: string) =>
                sender.send({
                  messageId: id,
                  dedupeKey: id,
                  phone: "+8613812345678",
                  templateId: "SMS_1",
                  params: {}
                })
              const results = yield* Effect.all([send("m-1"), send("m-2")], { concurrency: 2 })
              assert.deepStrictEqual(
                results.map((r) => r._tag),
                ["Sent", "Unknown"],
                JSON.stringify(results)
              )
              assert.strictEqual(s.state.requests, 4)
            })
        )
      }
    }
  }

  for (const [name, make, reused] of natives) {
    it.scopedLive(`R64: interrupting a request aborts it at the provider (${name})`, () =>
      Effect.gen(function* () {
        const s = yield* server(() => {})
        const transport = yield* build(make())
        const fiber = yield* Effect.fork(transport.post({ url: s.url, headers: {}, body: "" }, 10_000))
        yield* until(() => s.seen.length === 1)
        yield* Fiber.interrupt(fiber)
        yield* until(() => s.state.closed === 1)
      })
    )

    it.scopedLive(
      `R64: 20 sequential requests reuse kept-alive connections (${name}: at most ${reused})`,
      () =>
        Effect.gen(function* () {
          const s = yield* server((_req, res) => res.end("{}"))
          const transport = yield* build(make())
          for (let i = 0; i < 20; i++) {
            assert.strictEqual(
              (yield* transport.post({ url: s.url, headers: {}, body: "x" }, 2_000)).status,
              200
            )
          }
          assert.strictEqual(s.seen.length, 20)
          assert.isAtMost(s.state.connections, reused)
        })
    )

    it.scopedLive(
      `R64: a reply body over the limit fails with Transport, its status and REPLY_TOO_LARGE (${name})`,
      () =>
        Effect.gen(function* () {
          const s = yield* server((_req, res) => {
            res.writeHead(200)
            res.end("x".repeat(4_096))
          })
          const transport = yield* build(make({ maxReplyBytes: 1_024 }))
          const result = yield* Effect.either(transport.post({ url: s.url, headers: {}, body: "" }, 2_000))
          const error = failureOf(result)
          assert.strictEqual(error.reason, "Transport")
          assert.strictEqual(error.status, 200)
          assert.deepStrictEqual(codes(error.cause), ["REPLY_TOO_LARGE"])
        })
    )

    it.scopedLive(`R64: a request that cannot be built fails with Request and sends nothing (${name})`, () =>
      Effect.gen(function* () {
        const s = yield* server((_req, res) => res.end("{}"))
        const transport = yield* build(make())
        for (const request of [
          { url: "not a url", headers: {}, body: "" },
          { url: "ftp://127.0.0.1/", headers: {}, body: "" },
          { url: s.url, headers: { "x-bad": "line\nbreak" }, body: "" }
        ]) {
          const result = yield* Effect.either(transport.post(request, 2_000))
          const error = failureOf(result)
          assert.strictEqual(error.reason, "Request")
          assert.isUndefined(error.sent, "sent is told only of Transport and Timeout failures")
        }
        assert.strictEqual(s.seen.length, 0)
      })
    )

    it.scoped(
      `R64: a limit that is not a positive integer is refused when the transport is made (${name})`,
      () =>
        Effect.gen(function* () {
          for (const options of [
            { maxReplyBytes: 0 },
            { maxSockets: 0 },
            { idleMillis: 0 },
            { maxSockets: 1.5 },
            { maxReplyBytes: -1 }
          ]) {
            const made = yield* Effect.exit(build(make(options)))
            const name = Object.keys(options)[0]!
            assert.isTrue(Exit.isFailure(made), name)
            if (Exit.isFailure(made)) {
              const defect = Cause.squash(made.cause)
              assert.instanceOf(defect, RangeError, name)
              assert.strictEqual(
                (defect as RangeError).message,
                `Transport: ${name} must be a positive integer`
              )
            }
          }
          const one = yield* build(make({ maxSockets: 1, maxReplyBytes: 1, idleMillis: 1 }))
          assert.isFunction(one.post, "1 is a positive integer")
        })
    )
  }

  it.live(
    "R64: fromHttpClient: a request whose caller is interrupted, at whatever point the caller yields, is interrupted with it, long before its timeout",
    () =>
      Effect.gen(function* () {
        const left: Array<string> = []
        const cases: Array<{ readonly label: string; started: boolean; stopped: boolean }> = []
        // The caller yields every `budget` operations; `k` operations before the call
        // move where: one of them falls between the request's start and the wait for it.
        for (const budget of [12, 32, 48, 64]) {
          for (let k = 0; k <= budget + 4; k++) {
            const state = { label: `budget ${budget}, ${k} before`, started: false, stopped: false }
            cases.push(state)
            let caller: Fiber.RuntimeFiber<unknown, unknown> | undefined
            const client = HttpClient.make(() =>
              Effect.ensuring(
                Effect.suspend(() => {
                  state.started = true
                  caller?.unsafeInterruptAsFork(caller.id())
                  return Effect.never
                }),
                Effect.sync(() => (state.stopped = true))
              )
            )
            let before: Effect.Effect<void> = Effect.void
            for (let i = 0; i < k; i++) before = Effect.zipRight(before, Effect.void)
            const call = Effect.zipRight(
              before,
              Transport.fromHttpClient(client).post(
                { url: "http://127.0.0.1:9/", headers: {}, body: "" },
                30_000
              )
            ).pipe(Effect.withMaxOpsBeforeYield(budget))
            const fiber = Effect.runFork(Effect.zipRight(Effect.yieldNow(), call))
            caller = fiber
            const exit = yield* Fiber.await(fiber)
            assert.isTrue(Exit.isInterrupted(exit), state.label)
          }
        }
        yield* Effect.sleep("100 millis")
        for (const c of cases) if (c.started && !c.stopped) left.push(c.label)
        assert.strictEqual(cases.filter((c) => c.started).length, 176, "every request started")
        assert.deepStrictEqual(left, [], "requests left running")
      })
  )

  it.live(
    "R64: fromHttpClient: a caller that cannot be interrupted gets Timeout, and its request is stopped at its timeout",
    () =>
      Effect.gen(function* () {
        const state = { stopped: false }
        const client = HttpClient.make(() =>
          Effect.ensuring(
            Effect.never,
            Effect.sync(() => (state.stopped = true))
          )
        )
        const error = yield* Effect.flip(
          Effect.uninterruptible(
            Transport.fromHttpClient(client).post({ url: "http://127.0.0.1:9/", headers: {}, body: "" }, 30)
          )
        )
        assert.strictEqual(error.reason, "Timeout")
        yield* Effect.sleep("50 millis")
        assert.isTrue(state.stopped, "the request was interrupted")
      })
  )

  it.live(
    "R64: fromHttpClient: a failed request is not logged as an unhandled fiber failure (its cause holds the request, whose URL carries the phone number)",
    () =>
      Effect.gen(function* () {
        const logs: Array<string> = []
        const logger = Logger.make(({ message, cause }) => {
          logs.push(`${String(message)} ${Cause.pretty(cause)}`)
        })
        const client = HttpClient.make((request) =>
          Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              description: "connection refused"
            })
          )
        )
        const error = yield* Effect.flip(
          Transport.fromHttpClient(client).post(
            { url: "http://127.0.0.1:9/?PhoneNumbers=13912345678", headers: {}, body: "" },
            5_000
          )
        ).pipe(
          Logger.withMinimumLogLevel(LogLevel.Debug),
          Effect.provide(Logger.replace(Logger.defaultLogger, logger))
        )
        assert.strictEqual(error.reason, "Transport")
        // A logger that writes a failure's cause in full (JSON, say) would write the number.
        assert.deepStrictEqual(
          logs.filter((line) => /unhandled/i.test(line)),
          [],
          "no fiber failure logged as unhandled"
        )
      })
  )

  it.scopedLive(
    "R64: a request after the transport's scope closed fails with Request and sends nothing (undici)",
    () =>
      Effect.gen(function* () {
        const s = yield* server((_req, res) => res.end("{}"))
        const scope = yield* Scope.make()
        const transport = yield* build(Transport.layerUndici()).pipe(Scope.extend(scope))
        assert.strictEqual((yield* transport.post({ url: s.url, headers: {}, body: "" }, 2_000)).status, 200)
        yield* Scope.close(scope, Exit.void)
        const error = failureOf(
          yield* Effect.either(transport.post({ url: s.url, headers: {}, body: "" }, 2_000))
        )
        assert.strictEqual(error.reason, "Request")
        assert.deepStrictEqual(codes(error.cause), ["TRANSPORT_CLOSED"])
        assert.strictEqual(s.seen.length, 1)
      })
  )
})

const codes = (cause: unknown): Array<string> => {
  const code = (cause as { code?: unknown } | undefined)?.code
  const nested = (cause as { cause?: unknown } | undefined)?.cause
  return [...(typeof code === "string" ? [code] : []), ...(nested === undefined ? [] : codes(nested))]
}
