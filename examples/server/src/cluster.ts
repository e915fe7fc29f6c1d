/**
 * Several instances of the server in one container (`WEB_CONCURRENCY` > 1): this
 * process forks them with `node:cluster` and they share its port (on Linux the
 * primary accepts each connection and hands it to the instances in turn). Node runs
 * JavaScript on one thread per process, so one instance uses one core for its
 * requests; with one instance per core a server uses the machine (issue 8's P1
 * measures both ways).
 *
 * Instance 1 seeds the demo data, prints its tokens and runs the outbox dispatcher
 * and the selection sweeper (as `SEED` and `WORKERS` say); the others serve requests
 * only. They share one PostgreSQL (`DATABASE_URL`: the embedded database belongs to
 * one process) and accept one another's tokens (`SESSION_SECRET`): `ServerConfig`
 * refuses more than one instance without either. An instance that ends on its own
 * after it was ready is started again under its number; one that ends before it
 * was ready stops the others, and the primary exits with 1 (a configuration or
 * database the instances cannot start with). SIGTERM or SIGINT stops every
 * instance gracefully, then the primary; a signal within {@link sameStopMillis} of the
 * first is the same stop, a later one ends the instances at once (SIGKILL) and the
 * primary exits with 1, as it does when an instance ends other than cleanly while
 * they stop.
 */
import cluster, { type Worker } from "node:cluster"
import type { ServerConfig } from "./config.js"

/**
 * How long after the first signal another is the same stop passed on, not a second
 * one. One Ctrl-C under `npm start` reaches a process twice within milliseconds:
 * from the terminal (to the whole process group) and from npm passing it to its
 * script; an instance also gets the primary's SIGTERM. (`npm start` runs node with
 * tsx as a loader, `node --import tsx`, not tsx's command: that one passes each
 * signal on again and kills its child when it has not heard back within 30 ms, which
 * a server busy stopping often has not.) A signal after this exits at once: whoever
 * sends it does not want to wait.
 */
export const sameStopMillis = 1_000

/** What an instance tells the primary once it listens. */
export interface Ready {
  readonly zhongbao: "ready"
  readonly url: string
}

const isReady = (message: unknown): message is Ready =>
  typeof message === "object" && message !== null && (message as { zhongbao?: unknown }).zhongbao === "ready"

/** The number of this instance (1 …), or `null` outside a cluster. */
export const instanceNumber = (): number | null => {
  const n = Number(process.env.ZHONGBAO_INSTANCE)
  return cluster.isWorker && Number.isInteger(n) && n >= 1 ? n : null
}

/**
 * Whether this instance listens from the start, as a single server does, so that
 * `/health` answers (and `/ready` says it is starting) while the database migrates:
 * instance 1 when the instances first start, for a first migration of a large
 * database can take minutes and a liveness probe would otherwise find nothing
 * listening. The others, and an instance started again later, join the shared port
 * once ready: the ones listening serve their share meanwhile.
 */
export const listensEarly = (): boolean => !cluster.isWorker || process.env.ZHONGBAO_LISTEN_EARLY === "true"

/** Tells the primary, if there is one, that this instance listens at `url`. */
export const reportReady = (url: string): void => {
  if (cluster.isWorker) process.send?.({ zhongbao: "ready", url } satisfies Ready)
}

/** The time an instance gets to stop gracefully before it is killed. */
const stopMillis = 30_000

/**
 * Forks `config.instances` instances of this script and watches them; resolves
 * with the exit code once they have all stopped.
 */
export const runPrimary = (config: ServerConfig): Promise<number> =>
  new Promise((resolve) => {
    const numbers = new Map<Worker, number>()
    const ready = new Set<Worker>()
    let stopping = false
    let code = 0
    let url = ""

    /** Forks instance `n`; `first`: the instances' first start (see {@link listensEarly}). */
    const fork = (n: number, first: boolean) => {
      const worker = cluster.fork({
        ZHONGBAO_INSTANCE: String(n),
        ZHONGBAO_LISTEN_EARLY: String(first && n === 1),
        ...(n === 1 ? {} : { SEED: "false", WORKERS: "false" })
      })
      numbers.set(worker, n)
      worker.on("message", (message: unknown) => {
        if (!isReady(message) || ready.has(worker)) return
        ready.add(worker)
        console.log(`instance ${n} (pid ${worker.process.pid}) is ready`)
        if (url !== "" || ready.size < config.instances) return
        url = message.url
        console.log(
          `\nzhongbao is ready at ${url} — API docs: ${url}/docs, OpenAPI: ${url}/openapi.json (${config.instances} instances)\n`
        )
      })
    }

    const stopAll = (exitCode: number) => {
      if (stopping) return
      stopping = true
      code = exitCode
      for (const worker of numbers.keys()) worker.process.kill("SIGTERM")
      setTimeout(() => {
        for (const worker of numbers.keys()) worker.process.kill("SIGKILL")
      }, stopMillis).unref()
    }

    cluster.on("exit", (worker, exitCode, signal) => {
      const n = numbers.get(worker)
      const wasReady = ready.delete(worker)
      numbers.delete(worker)
      if (n === undefined) return
      if (!stopping) {
        const how = signal === null ? `with code ${exitCode}` : `on ${signal}`
        if (wasReady) {
          console.error(`instance ${n} (pid ${worker.process.pid}) ended ${how}; starting it again`)
          fork(n, false)
        } else {
          console.error(
            `instance ${n} (pid ${worker.process.pid}) ended ${how} before it was ready; stopping`
          )
          stopAll(1)
        }
      } else if (exitCode !== 0 || signal !== null) code = 1
      if (stopping && numbers.size === 0) resolve(code)
    })

    let signalledAt: number | undefined
    const onSignal = (signal: string) => {
      if (signalledAt !== undefined) {
        if (performance.now() - signalledAt < sameStopMillis) return
        console.log(`${signal} again: ending ${numbers.size} instances now`)
        code = 1
        for (const worker of numbers.keys()) worker.process.kill("SIGKILL")
        return
      }
      signalledAt = performance.now()
      if (stopping) return
      console.log(`${signal}: stopping ${numbers.size} instances`)
      stopAll(0)
    }
    process.on("SIGTERM", () => onSignal("SIGTERM"))
    process.on("SIGINT", () => onSignal("SIGINT"))

    for (let n = 1; n <= config.instances; n++) fork(n, true)
  })
