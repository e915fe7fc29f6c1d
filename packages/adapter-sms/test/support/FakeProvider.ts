/**
 * A local fake provider: a node:http server on 127.0.0.1 (port 0) that records
 * every raw request, hands it to a provider-specific `handle` (which checks the
 * signature from the raw request and answers), and replays scripted replies.
 */
import { Effect, type Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export interface RawRequest {
  readonly method: string
  readonly url: string
  /** Header names in lower case, values as received. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export type Reply =
  | { readonly _tag: "Json"; readonly status: number; readonly body: unknown }
  | { readonly _tag: "Text"; readonly status: number; readonly body: string }
  /** Never answers: the client times out. */
  | { readonly _tag: "Hang" }
  /** Reads the request, then drops the connection without a reply. */
  | { readonly _tag: "Drop" }
  /** Answers the status and part of a longer body, then drops the connection. */
  | { readonly _tag: "Cut"; readonly status: number }

export const json = (status: number, body: unknown): Reply => ({ _tag: "Json", status, body })
export const text = (status: number, body: string): Reply => ({ _tag: "Text", status, body })
export const hang: Reply = { _tag: "Hang" }
export const drop: Reply = { _tag: "Drop" }
export const cut = (status: number): Reply => ({ _tag: "Cut", status })

/** A scripted reply, or one built from the request it answers. */
export type Scripted = Reply | ((request: RawRequest) => Reply)

export interface Handled {
  /** Whether the signature matched. */
  readonly verified: boolean
  readonly reply: Reply
}

export interface FakeProvider {
  readonly url: string
  readonly requests: Array<RawRequest & { readonly verified: boolean }>
  /** Replies for the next verified requests, in order; when empty, `handle` answers. */
  readonly script: Array<Scripted>
}

/**
 * Starts a fake provider for the scope. `handle` gets each raw request and the
 * next scripted reply (if any) and answers.
 */
export const start = (
  handle: (request: RawRequest, scripted: () => Reply | undefined) => Handled
): Effect.Effect<FakeProvider, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: Http.Server; fake: FakeProvider }>((resume) => {
      const requests: FakeProvider["requests"] = []
      const script: Array<Scripted> = []
      const server = Http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const headers: Record<string, string> = {}
          for (let i = 0; i < req.rawHeaders.length; i += 2) {
            headers[req.rawHeaders[i]!.toLowerCase()] = req.rawHeaders[i + 1]!
          }
          const raw: RawRequest = {
            method: req.method ?? "",
            url: req.url ?? "",
            headers,
            body: Buffer.concat(chunks).toString("utf8")
          }
          const handled = handle(raw, () => {
            const next = script.shift()
            return typeof next === "function" ? next(raw) : next
          })
          requests.push({ ...raw, verified: handled.verified })
          const reply = handled.reply
          switch (reply._tag) {
            case "Json":
              res.writeHead(reply.status, { "content-type": "application/json;charset=utf-8" })
              res.end(JSON.stringify(reply.body))
              return
            case "Text":
              res.writeHead(reply.status, { "content-type": "text/html" })
              res.end(reply.body)
              return
            case "Hang":
              return
            case "Drop":
              req.socket.destroy()
              return
            case "Cut":
              res.writeHead(reply.status, { "content-type": "application/json", "content-length": "100" })
              res.write('{"Code":"Throttl', () => res.socket?.destroy())
              return
          }
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, fake: { url: `http://127.0.0.1:${port}/`, requests, script } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ fake }) => fake))

/** A port on 127.0.0.1 that nothing listens on. */
export const closedPort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = Http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})
