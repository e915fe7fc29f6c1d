import { Errors, FileStore, type Ids } from "@zhongbao/core"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { type Db, type Row, read, selText, selTs, ts, withoutRowValues } from "./db.js"
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

/**
 * @internal
 * Files larger than this are read in slices of this size. `bytea` comes back as hex
 * text: a file read in one piece is held several times over at once (the message,
 * the string, the bytes), and decoding one large string is slow (a 20 MiB file took
 * 1.7 s, `npm run bench:files`). The column's storage is `EXTERNAL`, so a slice
 * reads only its own chunks.
 */
export const sliceBytes = 1024 * 1024

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
 * `head` never reads the bytes, `read` streams them a slice at a time (one statement
 * each, outside any transaction: a file is never overwritten). The `Files` use case of core checks the type, the
 * size limit and computes the SHA-256 before `put`; the table checks that the size
 * is the bytes' length and the checksum is 64 hex digits.
 */
export const makeFiles = (db: Db): Context.Tag.Service<FileStore.FileStore> => {
  const file = db.t("stored_file")
  const sliceSql = `SELECT substring(bytes FROM $2::int4 FOR $3::int4) AS bytes FROM ${file} WHERE id = $1`

  /** The slice of a file's bytes at `offset`, decoded into `out` at `at`. */
  const readSlice = (name: string, id: Ids.FileId, size: number, offset: number, out: Buffer, at: number) =>
    Effect.flatMap(db.query(name, sliceSql, [id, offset + 1, sliceBytes]), (rows) =>
      Effect.try({
        try: () => copySlice(rows[0]?.bytes, out, at, Math.min(sliceBytes, size - offset)),
        catch: infrastructureOf(name)
      })
    )

  /** The offsets of a file's slices: one at least, so that an empty file is looked up too. */
  const offsetsOf = (size: number) =>
    Array.from({ length: Math.max(1, Math.ceil(size / sliceBytes)) }, (_, i) => i * sliceBytes)

  /** A large file's bytes, read one slice at a time into one array of the size its row records. */
  const readSlices = (id: Ids.FileId, size: number) =>
    Effect.suspend(() => {
      const out = Buffer.alloc(size)
      return Effect.as(
        Effect.forEach(
          offsetsOf(size),
          (offset) => readSlice("FileStore.get", id, size, offset, out, offset),
          {
            discard: true
          }
        ),
        new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
      )
    })

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
            // A view, not a copy: the driver copies the bytes into its message as the
            // statement is sent, before put answers.
            Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
          ]
        ),
        expectOne("file", f.id)
      ),
    get: (id) =>
      Effect.flatMap(
        db.query(
          "FileStore.get",
          `SELECT ${metadata}, CASE WHEN size <= ${sliceBytes} THEN bytes END AS bytes FROM ${file} WHERE id = $1`,
          [id]
        ),
        (rows) => {
          const r = rows[0]
          if (r === undefined) return Effect.succeed(Option.none())
          return Effect.flatMap(
            Effect.try({ try: () => toFile(r), catch: infrastructureOf("FileStore.get") }),
            (stored) =>
              r.bytes === null
                ? Effect.map(readSlices(id, stored.size), (bytes) => Option.some({ file: stored, bytes }))
                : Effect.try({
                    try: () => Option.some({ file: stored, bytes: bytesOf(r.bytes) }),
                    catch: infrastructureOf("FileStore.get")
                  })
          )
        }
      ),
    head: (id) =>
      Effect.map(db.query("FileStore.head", `SELECT ${metadata} FROM ${file} WHERE id = $1`, [id]), (rows) =>
        Option.map(Option.fromNullable(rows[0]), toFile)
      ),
    // An empty file's one slice is empty: looked up (a file never stored fails), not streamed.
    read: (stored) =>
      Stream.mapEffect(
        Stream.suspend(() => Stream.fromIterable(offsetsOf(stored.size))),
        (offset) =>
          Effect.suspend(() => {
            const out = Buffer.alloc(Math.min(sliceBytes, stored.size - offset))
            return Effect.as(
              readSlice("FileStore.read", stored.id, stored.size, offset, out, 0),
              new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
            )
          })
      ).pipe(Stream.filter((piece) => piece.length > 0))
  })
}

/** Decodes one slice (hex text, or bytes) into `out` at `offset`; it must be `length` bytes. */
const copySlice = (value: unknown, out: Buffer, offset: number, length: number): void => {
  if (value instanceof Uint8Array && value.length === length) {
    out.set(value, offset)
    return
  }
  const hex = typeof value === "string" && value.startsWith("\\x") && value.length === 2 + 2 * length
  if (!hex || out.write(value.slice(2), offset, length, "hex") !== length)
    throw new Error("a slice of the stored bytes is not as long as the file's size says")
}

const infrastructureOf = (name: string) => (cause: unknown) =>
  new Errors.InfrastructureError({
    port: "FileStore",
    message: `${name}: the stored bytes could not be read`,
    cause: withoutRowValues(cause)
  })
