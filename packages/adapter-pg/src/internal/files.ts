import { Errors, FileStore, type Ids } from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type Db, type Row, read, selText, selTs, ts } from "./db.js"
import { expectOne } from "./writes.js"

const metadata = `id, owner_member_id, name, content_type, ${selText("size")}, sha256, ${selTs("created_at")}`

const toFile = (r: Row): FileStore.StoredFile => ({
  id: read.str(r, "id") as Ids.FileId,
  ownerMemberId: read.str(r, "owner_member_id") as Ids.MemberId,
  name: read.str(r, "name"),
  contentType: read.str(r, "content_type") as FileStore.ContentType,
  size: read.int(r, "size"),
  sha256: read.str(r, "sha256") as FileStore.Sha256,
  createdAt: read.ts(r, "created_at")
})

/** A fresh copy of the driver's bytes (a `Buffer` may share a pool with others). */
const bytesOf = (value: unknown): Uint8Array => {
  if (value instanceof Uint8Array) return new Uint8Array(value)
  if (typeof value === "string" && value.startsWith("\\x"))
    return new Uint8Array(Buffer.from(value.slice(2), "hex"))
  throw new Error("bytea column did not come back as bytes")
}

/**
 * @internal
 * The file store (R54) in a `bytea` column: an id is written once (`ON CONFLICT DO
 * NOTHING` → `UniqueViolation`), inside the current transaction like every port;
 * `head` never reads the bytes. The `Files` use case of core checks the type, the
 * size limit and computes the SHA-256 before `put`; the table checks that the size
 * is the bytes' length and the checksum is 64 hex digits.
 */
export const makeFiles = (db: Db): Context.Tag.Service<FileStore.FileStore> => {
  const file = db.t("stored_file")
  return FileStore.FileStore.of({
    put: (f, bytes) =>
      Effect.flatMap(
        db.write(
          "FileStore.put",
          "file",
          `INSERT INTO ${file} (id, owner_member_id, name, content_type, size, sha256, created_at, bytes)
           VALUES ($1, $2, $3, $4, $5::int8, $6, $7::timestamptz, $8::bytea) ON CONFLICT DO NOTHING RETURNING id`,
          [
            f.id,
            f.ownerMemberId,
            f.name,
            f.contentType,
            f.size,
            f.sha256,
            ts(f.createdAt),
            Buffer.from(bytes)
          ]
        ),
        expectOne("file", f.id)
      ),
    get: (id) =>
      Effect.flatMap(
        db.query("FileStore.get", `SELECT ${metadata}, bytes FROM ${file} WHERE id = $1`, [id]),
        (rows) =>
          Effect.try({
            try: () =>
              Option.map(Option.fromNullable(rows[0]), (r) => ({ file: toFile(r), bytes: bytesOf(r.bytes) })),
            catch: (cause) => infrastructureOf(cause)
          })
      ),
    head: (id) =>
      Effect.map(db.query("FileStore.head", `SELECT ${metadata} FROM ${file} WHERE id = $1`, [id]), (rows) =>
        Option.map(Option.fromNullable(rows[0]), toFile)
      )
  })
}

const infrastructureOf = (cause: unknown) =>
  new Errors.InfrastructureError({
    port: "FileStore",
    message: "FileStore.get: the stored bytes could not be read",
    cause
  })
