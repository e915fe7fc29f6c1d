/**
 * @internal
 * The log of a store out of reach. While the database is down every request meets it,
 * and each logged an error with its cause: a line per request, a thousand a second
 * under load, the first cause lost among them. Here the first failure of each kind is
 * logged in full; later ones are counted, and at most one line every
 * {@link everyMillis} says how many requests met it since the last line, with the
 * latest cause. A host's logger still gets every line this writes; only the repeats
 * are folded. One log per API instance (its layer), read by the handlers and the
 * middleware from their context; without it (a handler run outside the API's layer),
 * each failure is logged as before.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/** @internal At most one line of a kind of failure this often, in milliseconds. */
export const everyMillis = 10_000

/** @internal The log of stores out of reach of one API instance. */
export class OutageLog extends Context.Tag("@zhongbao/adapter-http/OutageLog")<
  OutageLog,
  { readonly failed: (message: string, error: unknown) => Effect.Effect<void> }
>() {}

/**
 * The time of a kind's last line, the failures met since that were not logged, and
 * the time of the last of them.
 */
interface Kind {
  loggedAt: number
  unlogged: number
  lastAt: number
}

/** @internal A new log: its own counts. */
export const make = (): OutageLog["Type"] => {
  const kinds = new Map<string, Kind>()
  return {
    failed: (message, error) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const kind = kinds.get(message)
        if (kind !== undefined && now - kind.loggedAt < everyMillis) {
          kind.unlogged++
          kind.lastAt = now
          return Effect.void
        }
        kinds.set(message, { loggedAt: now, unlogged: 0, lastAt: now })
        if (kind === undefined || kind.unlogged === 0) return Effect.logError(message, error)
        const over = `${kind.unlogged} more in the ${Math.round((kind.lastAt - kind.loggedAt) / 1000)} s after the last such line`
        // A quiet spell as long as the window ended the failures counted: their count
        // closes them, and this failure starts a new run, logged in full.
        return now - kind.lastAt >= everyMillis
          ? Effect.zipRight(
              Effect.logError(`${message}: ${over}, then none`),
              Effect.logError(message, error)
            )
          : Effect.logError(`${message} (${over})`, error)
      })
  }
}

/** @internal A new log for an API instance (each `Http.layer` builds its own). */
export const layer = (): Layer.Layer<OutageLog> => Layer.sync(OutageLog, make)

/** @internal Logs `error` through the API's {@link OutageLog}, or at once without one. */
export const logOutage = (message: string, error: unknown): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(OutageLog), (log) =>
    Option.isSome(log) ? log.value.failed(message, error) : Effect.logError(message, error)
  )
