import { mkdir, open, readFile, unlink } from "node:fs/promises"
import { hostname } from "node:os"
import { join, resolve } from "node:path"
import { Errors } from "@zhongbao/core"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** @internal A running PGlite behind a pglite-socket server. */
export interface Server {
  readonly host: string
  readonly port: number
  readonly maxConnections: number
}

/** @internal The lock file's name inside a data folder. */
export const lockName = "zhongbao.lock"

/** The lock files this process holds. */
const held = new Set<string>()

/** Whether a process with this id runs (`EPERM`: it does, as another user). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** @internal Another process (or another layer of this one) has the data folder open. */
export class FolderInUse extends Error {}

/**
 * @internal
 * Takes `dataDir`'s lock for this process and answers how to give it back. PGlite
 * keeps no lock of its own (its `postmaster.pid` holds a fixed, made-up process id),
 * and two processes on one folder each write over the other's pages: rows one of
 * them committed are lost. So, as PostgreSQL does with `postmaster.pid`, the lock is
 * a file made only if absent (`O_EXCL`), holding the owner's process id and host
 * name. A file left by a process that no longer runs on this host (or by an earlier
 * process with this one's id, as after a container's restart) is taken over; any
 * other holder is refused with a `FolderInUse` that says how to clear a lock that
 * no process holds.
 */
export const lockFolder = async (dataDir: string): Promise<() => Promise<void>> => {
  const path = join(resolve(dataDir), lockName)
  const mine = `${process.pid}\n${hostname()}\n`
  const refuse = (holder: string) =>
    new FolderInUse(
      `the data folder ${dataDir} is in use by ${holder}: PGlite serves one process at a time, and two would overwrite each other's writes. Stop it, or delete ${path} if no process uses the folder.`
    )
  if (held.has(path)) throw refuse("another layer of this process")
  for (let attempt = 1; ; attempt++) {
    try {
      const file = await open(path, "wx")
      try {
        await file.writeFile(mine)
      } finally {
        await file.close()
      }
      held.add(path)
      return async () => {
        held.delete(path)
        if ((await readFile(path, "utf8").catch(() => "")) === mine) await unlink(path).catch(() => undefined)
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    const [pidText = "", host = ""] = (await readFile(path, "utf8").catch(() => "")).split("\n")
    const pid = Number(pidText)
    const known = /^[1-9]\d*$/.test(pidText) && host !== ""
    const stale = known && host === hostname() && (pid === process.pid || !alive(pid))
    if (!stale || attempt === 2) {
      throw refuse(known ? `process ${pid} on ${host}` : "a process whose lock file cannot be read")
    }
    await unlink(path).catch(() => undefined)
  }
}

/**
 * @internal
 * Starts PGlite (PostgreSQL compiled to WASM, with pg_trgm) in `dataDir` (made
 * with its parents when missing; in memory when absent) and serves it over the PostgreSQL wire protocol on
 * 127.0.0.1, on a free port, to at most `maxConnections` connections, holding the
 * folder's lock ({@link lockFolder}) while it runs. Stops the server, closes the
 * database and gives the lock back when the scope closes. The packages are loaded
 * only here, so hosts on a PostgreSQL server never load the WASM.
 */
export const start = (options: {
  readonly dataDir?: string | undefined
  readonly maxConnections: number
}): Effect.Effect<Server, Errors.InfrastructureError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        // PGlite makes its own folder but not the folder's parents (`.data/pglite` on a fresh checkout).
        const unlock =
          options.dataDir !== undefined && !options.dataDir.includes("://")
            ? await mkdir(options.dataDir, { recursive: true }).then(() => lockFolder(options.dataDir!))
            : async () => {}
        try {
          return { ...(await serve(options)), unlock }
        } catch (error) {
          await unlock()
          throw error
        }
      },
      catch: (cause) =>
        new Errors.InfrastructureError({
          port: "PgEmbedded",
          message:
            cause instanceof FolderInUse
              ? `PGlite could not be started: ${cause.message}`
              : "PGlite could not be started",
          cause
        })
    }),
    ({ db, server, unlock }) =>
      Effect.promise(async () => {
        await server.stop()
        await db.close()
        await unlock()
      })
  ).pipe(Effect.map(({ port }) => ({ host: "127.0.0.1", port, maxConnections: options.maxConnections })))

/** PGlite in `dataDir` and a socket server in front of it. */
const serve = async (options: { readonly dataDir?: string | undefined; readonly maxConnections: number }) => {
  const [{ PGlite }, { pg_trgm }, { PGLiteSocketServer }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("@electric-sql/pglite/contrib/pg_trgm"),
    import("@electric-sql/pglite-socket")
  ])
  const db = await PGlite.create({
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    extensions: { pg_trgm }
  })
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: 0,
    maxConnections: options.maxConnections
  })
  try {
    await server.start()
  } catch (error) {
    await db.close()
    throw error
  }
  const address = server.getServerConn()
  const port = Number(address.slice(address.lastIndexOf(":") + 1))
  return { db, server, port }
}
