/**
 * The glue: zhongbao mounted under `/crowdsourcing` of an existing server, with the
 * portal's own session cookie deciding which zhongbao account acts.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Authentication, Mount, RateLimit } from "@zhongbao/adapter-http"
import { type Ids, Zhongbao } from "@zhongbao/core"
import { Effect, Layer, Option } from "effect"

/** Which zhongbao account a portal session acts as (`undefined`: not signed in). */
export type SessionToAccount = (sessionId: string) => Ids.AccountId | undefined

/** Mounts zhongbao; `accountOf` maps the portal's `sid` cookie to a zhongbao account. */
export const mountZhongbao = (accountOf: SessionToAccount) => {
  const resolver = Authentication.make((request) => {
    const sid = /(?:^|;\s*)sid=([^;]+)/.exec(request.headers.cookie ?? "")?.[1]
    if (sid === undefined) return Effect.succeed(Option.none())
    const account = accountOf(sid)
    return account === undefined
      ? Effect.fail(Authentication.invalidCredential())
      : Effect.succeedSome(account)
  })
  const layer = Layer.mergeAll(Zhongbao.layerMemory(), resolver, RateLimit.layer())
  const mounted = Mount.toNodeListener(Layer.orDie(layer), { prefix: "/crowdsourcing" })
  return {
    /** Answers a request under `/crowdsourcing`; `false` for any other path. */
    handle: (req: IncomingMessage, res: ServerResponse): boolean => {
      if (!/^\/crowdsourcing(?:[/?]|$)/.test(req.url ?? "")) return false
      mounted.listener(req, res)
      return true
    },
    /**
     * The mounted listener itself, for a framework that routes by path: as Express
     * middleware, `app.use("/crowdsourcing", listener)` (Express strips the mount
     * path, which the listener sees from `req.baseUrl`). `handle` is for `node:http`.
     */
    listener: mounted.listener,
    /** Runs a zhongbao effect (setup, seeding) in the mounted runtime. */
    run: mounted.runtime.runPromise,
    close: mounted.dispose
  }
}
