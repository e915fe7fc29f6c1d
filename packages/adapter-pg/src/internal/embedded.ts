import { existsSync } from "node:fs"
import { mkdir, realpath, stat } from "node:fs/promises"
import { dirname, join } from "node:path"
import type { PGliteOptions } from "@electric-sql/pglite"
import * as lockfile from "proper-lockfile"
import { Errors } from "@zhongbao/core"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"

/** @internal A running PGlite behind a pglite-socket server. */
export interface Server {
  readonly host: string
  readonly port: number
  readonly maxConnections: number
}

/** @internal The lock's name inside a data folder (a directory, made atomically). */
export const lockName = "zhongbao.lock"

/**
 * @internal
 * How long a lock may go without being refreshed before another process takes it
 * over, and how often its holder refreshes it.
 */
export const lockTiming = { staleMillis: 30_000, refreshMillis: 2_000 } as const

/** @internal How long a taker waits for a held lock by default. */
export const defaultLockWaitMillis = 5_000

/** @internal Another process (or another layer of this one) has the data folder open. */
export class FolderInUse extends Error {}

/** @internal The data folder, or one of its parents, could not be made. */
export class FolderNotMade extends Error {}

/**
 * @internal
 * The data folder on disk that `dataDir` names: a path, or a `file://` URL, read as
 * PGlite reads it (the rest of the text is the path, not decoded); `undefined` for
 * the stores that are not a folder (`memory://`, `idb://` and the like).
 */
export const folderOf = (dataDir: string): string | undefined =>
  dataDir.startsWith("file://")
    ? dataDir.slice("file://".length)
    : dataDir.includes("://")
      ? undefined
      : dataDir

/**
 * Makes `folder` and its missing parents, as `mkdir -p` does. Written out because
 * Node's `mkdir(folder, { recursive: true })` never returns for a folder under
 * `/proc`: procfs answers ENOENT for a child of a folder that exists, which Node
 * takes for a missing parent, makes the parent (EEXIST) and tries the child again,
 * spinning on a thread of libuv's pool (the process then ignores SIGTERM, whose stop
 * waits for it). Here each missing folder is tried once more after its parent, and a
 * second ENOENT is the answer.
 */
const makeFolder = async (folder: string, afterParent = false): Promise<void> => {
  try {
    await mkdir(folder)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === "EEXIST" && (await stat(folder)).isDirectory()) return
    const parent = dirname(folder)
    if (code !== "ENOENT" || parent === folder || afterParent) throw error
    await makeFolder(parent)
    await makeFolder(folder, true)
  }
}

/**
 * @internal
 * Takes the folder's lock for this layer and answers how to give it back. PGlite
 * keeps no lock of its own (its `postmaster.pid` holds a fixed, made-up process id),
 * and two processes on one folder each write over the other's pages: rows one of
 * them committed are lost. The lock is proper-lockfile's: a directory made
 * atomically in the folder (its real path: a folder reached through a symbolic link
 * is the same folder), which its holder touches every `refreshMillis`; one left
 * untouched for `staleMillis` (its holder killed, the machine restarted, a container
 * recreated) is taken over, whatever process ids and host names say. `staleMillis`
 * is long because PGlite runs each statement on the main thread, where the refresh
 * waits for it: a statement of several seconds (a migration, an index) must not let
 * another process take a folder still in use. A taker tries again every half second
 * for `waitMillis` (any duration, unbounded too), then fails with a `FolderInUse`. A holder that finds its lock taken (its process was frozen longer
 * than `staleMillis`) cannot go on writing safely: it throws, outside any fiber, and
 * the process stops.
 */
export const lockFolder = async (folder: string, waitMillis: number): Promise<() => Promise<void>> => {
  const real = await realpath(folder)
  const path = join(real, lockName)
  const until = Date.now() + waitMillis
  for (;;) {
    try {
      return await lockfile.lock(real, {
        lockfilePath: path,
        realpath: false,
        stale: lockTiming.staleMillis,
        update: lockTiming.refreshMillis,
        onCompromised: (error) => {
          throw new Error(
            `@zhongbao/adapter-pg: the lock of the data folder ${real} was taken by another process (${error.message}); stopping, since two processes writing one folder lose each other's rows`
          )
        }
      })
    } catch (error) {
      if ((error as { code?: string }).code !== "ELOCKED") throw error
      if (Date.now() >= until) break
      await new Promise((resolve) => setTimeout(resolve, Math.min(500, Math.max(0, until - Date.now()))))
    }
  }
  throw new FolderInUse(
    `the data folder ${folder} is in use by another process, or another layer of this one (its lock ${path} was refreshed within the last ${lockTiming.staleMillis / 1_000} seconds, and still was after ${waitMillis / 1_000} seconds of waiting): PGlite serves one process at a time, and two would overwrite each other's writes`
  )
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
  readonly lockWaitMillis: number
}): Effect.Effect<Server, Errors.InfrastructureError, Scope.Scope> =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          // PGlite makes its own folder but not the folder's parents (`.data/pglite` on a fresh checkout).
          const folder = options.dataDir === undefined ? undefined : folderOf(options.dataDir)
          const unlock =
            folder === undefined
              ? async () => {}
              : await makeFolder(folder).then(
                  () => lockFolder(folder, options.lockWaitMillis),
                  (error: Error) => {
                    throw new FolderNotMade(`the data folder ${folder} could not be made: ${error.message}`)
                  }
                )
          if (folder !== undefined && !existsSync(join(folder, "PG_VERSION"))) {
            Runtime.runSync(runtime)(Effect.logInfo(announcement(folder)))
          }
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
              cause instanceof FolderInUse || cause instanceof FolderNotMade
                ? `PGlite could not be started: ${cause.message}`
                : "PGlite could not be started",
            cause
          })
      }),
      ({ db, server, unlock }) =>
        Effect.promise(async () => {
          try {
            await server.stop()
          } finally {
            await db.close()
          }
          // Only once the database is closed: a folder still open is still in use.
          await unlock()
        })
    ).pipe(Effect.map(({ port }) => ({ host: "127.0.0.1", port, maxConnections: options.maxConnections })))
  )

/**
 * What is logged, at info level, once the folder's lock is held, before PGlite makes a
 * new database in a folder without `PG_VERSION`: its `initdb` runs in WASM for several
 * seconds (4–6 on two cores), during which nothing else is printed. (In memory it
 * runs unannounced, once a process: see `open`.)
 */
const announcement = (folder: string) =>
  `PGlite: making a new database in ${folder}; a first start takes several seconds`

type PGliteModule = typeof import("@electric-sql/pglite")

/**
 * The data folder of a new, empty in-memory database, dumped (gzip, about 4.5 MB) from
 * the first one this process made, before anything was written to it: pending while
 * that first one is made (a start at the same time waits for it), `undefined` before
 * it, or once a dump failed or did not load (the next in-memory start makes another).
 */
let inMemoryTemplate: Promise<Blob | undefined> | undefined

/** @internal How this process's in-memory databases were made, for tests. */
export const inMemoryStarts = { made: 0, loaded: 0 }

/** Whether PGlite keeps `dataDir` in memory (no folder): absent, or `memory://…`. */
const inMemory = (dataDir: string | undefined) => dataDir === undefined || dataDir.startsWith("memory://")

/**
 * A new PGlite. In memory, PGlite's `initdb` runs in WASM on every start (on two
 * cores 2.4–3.5 s for a process's first, 1.3–1.6 s to a first answer for later ones)
 * and makes the same empty database each time, so the first in-memory start of a
 * process dumps what it made, and later ones, the ones made at the same time
 * included, load that dump (`loadDataDir`, 0.6–0.9 s to a first answer;
 * `npm run bench:embedded`): a host's tests that start a database each pay `initdb`
 * once a process. PGlite's own `clone()` copies a database that is open; the dump is
 * kept so that one can be made after the first is closed. A dump that fails, or does
 * not load, is dropped and the database made by `initdb`. Every in-memory start here
 * has the same options (pg_trgm), so one dump serves them all. A folder is opened as
 * it is.
 */
const open = async (PGlite: PGliteModule["PGlite"], options: PGliteOptions) => {
  if (!inMemory(options.dataDir)) return PGlite.create(options)
  if (inMemoryTemplate === undefined) {
    let settle: (dump: Blob | undefined) => void = () => {}
    const template = new Promise<Blob | undefined>((resolve) => {
      settle = resolve
    })
    inMemoryTemplate = template
    const forget = () => {
      if (inMemoryTemplate === template) inMemoryTemplate = undefined
      settle(undefined)
    }
    try {
      const db = await PGlite.create(options)
      inMemoryStarts.made++
      const dump = await db.dumpDataDir("gzip").catch(() => undefined)
      if (dump === undefined) forget()
      else settle(dump)
      return db
    } catch (error) {
      forget()
      throw error
    }
  }
  const template = inMemoryTemplate
  const dump = await template
  if (dump !== undefined) {
    try {
      const db = await PGlite.create({ ...options, loadDataDir: dump })
      inMemoryStarts.loaded++
      return db
    } catch {
      if (inMemoryTemplate === template) inMemoryTemplate = undefined
    }
  }
  const db = await PGlite.create(options)
  inMemoryStarts.made++
  return db
}

/** PGlite in `dataDir` and a socket server in front of it. */
const serve = async (options: { readonly dataDir?: string | undefined; readonly maxConnections: number }) => {
  const [{ PGlite }, { pg_trgm }, { PGLiteSocketServer }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("@electric-sql/pglite/contrib/pg_trgm"),
    import("@electric-sql/pglite-socket")
  ])
  const db = await open(PGlite, {
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
