import { mkdir } from "node:fs/promises"
import { Errors } from "@zhongbao/core"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** @internal A running PGlite behind a pglite-socket server. */
export interface Server {
  readonly host: string
  readonly port: number
  readonly maxConnections: number
}

/**
 * @internal
 * Starts PGlite (PostgreSQL compiled to WASM, with pg_trgm) in `dataDir` (made
 * with its parents when missing; in memory when absent) and serves it over the PostgreSQL wire protocol on
 * 127.0.0.1, on a free port, to at most `maxConnections` connections. Stops the
 * server and closes the database when the scope closes. The packages are loaded
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
        if (options.dataDir !== undefined && !options.dataDir.includes("://")) {
          await mkdir(options.dataDir, { recursive: true })
        }
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
      },
      catch: (cause) =>
        new Errors.InfrastructureError({ port: "PgEmbedded", message: "PGlite could not be started", cause })
    }),
    ({ db, server }) =>
      Effect.promise(async () => {
        await server.stop()
        await db.close()
      })
  ).pipe(Effect.map(({ port }) => ({ host: "127.0.0.1", port, maxConnections: options.maxConnections })))
