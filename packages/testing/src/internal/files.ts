import { createHash } from "node:crypto"
import { assert, it } from "@effect/vitest"
import { FileStore, Files, Ids, Persistence, Settings } from "@zhongbao/core"
import { Chunk, Effect, Either, Stream } from "effect"
import * as Fixtures from "../Fixtures.js"
import {
  failsWith,
  type Harness,
  lacks,
  minutesAfter,
  none,
  replace,
  same,
  some,
  type Wrap
} from "./harness.js"
import * as Rows from "./rows.js"

const hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/** Asserts two byte arrays are equal, byte for byte. */
const sameBytes = (actual: Uint8Array, expected: Uint8Array, label: string) => {
  assert.instanceOf(actual, Uint8Array, `${label}: bytes come back as a Uint8Array`)
  assert.strictEqual(actual.length, expected.length, `${label}: length`)
  const first = expected.findIndex((b, i) => actual[i] !== b)
  assert.strictEqual(first, -1, `${label}: the bytes differ from offset ${first}`)
}

/** A stored file of `owner` with these bytes, its checksum computed here. */
const fileOf = (owner: Ids.MemberId, bytes: Uint8Array, overrides: Partial<FileStore.StoredFile> = {}) =>
  Rows.storedFile(owner, bytes, hex(bytes), overrides)

const mib = 1024 * 1024

/** A PDF of `size` bytes, each byte after the header unlike its neighbours a MiB away. */
const patterned = (size: number) => {
  const bytes = Rows.pdfBytes(size)
  for (let i = 16; i < size; i++) bytes[i] = (i * 31 + Math.floor(i / mib) * 97) & 0xff
  return bytes
}

/** The file store and its optional `read`. */
const storeRead = Effect.map(FileStore.FileStore, (store) => ({ store, read: store.read }))

class Boom {
  readonly _tag = "Boom"
}

/** The file store counts its `put` calls. */
const countingPuts =
  (count: { puts: number }): Wrap =>
  (ports) =>
    replace(ports, FileStore.FileStore, (store) => ({
      ...store,
      put: (file, bytes) =>
        Effect.zipRight(
          Effect.sync(() => count.puts++),
          store.put(file, bytes)
        )
    }))

const fileEvents = Effect.gen(function* () {
  const audit = yield* Persistence.AuditRepository
  return (yield* audit.list({ limit: 1000 })).filter((e) => e.entity === "file")
})

/** @internal The file store (R54): bytes kept exactly, never overwritten, part of the unit of work. */
export const files = (h: Harness): void => {
  it.effect(
    "R54: put then get and head return the bytes byte-exact and the metadata, SHA-256 included",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const store = yield* FileStore.FileStore
          const pdf = Rows.pdfBytes(70_001)
          const png = Uint8Array.from([
            0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0xff, 0x00
          ])
          const empty = new Uint8Array(0)
          const cases = [
            { file: fileOf(p.institution.id, pdf), bytes: pdf },
            {
              file: fileOf(p.enterprise.id, png, {
                name: "发票 扫描件 2026-05.png",
                contentType: "image/png",
                createdAt: minutesAfter(15, 1)
              }),
              bytes: png
            },
            { file: fileOf(p.institution.id, empty, { name: "空白.pdf" }), bytes: empty },
            // A Node Buffer, as an HTTP layer may hand over: its slice is a view, not a copy.
            {
              file: fileOf(p.enterprise.id, Buffer.from(Rows.pdfBytes(9_001)), { name: "缓冲区.pdf" }),
              bytes: Buffer.from(Rows.pdfBytes(9_001))
            }
          ]
          for (const { file, bytes } of cases) yield* store.put(file, bytes)
          for (const { file, bytes } of cases) {
            const label = file.name
            const got = some(yield* store.get(file.id), `get ${label}`)
            same(FileStore.StoredFile, got.file, file, `get ${label}: the metadata`)
            sameBytes(got.bytes, bytes, `get ${label}`)
            assert.strictEqual(
              hex(got.bytes),
              got.file.sha256,
              `get ${label}: the stored SHA-256 is the bytes'`
            )
            same(
              FileStore.StoredFile,
              some(yield* store.head(file.id), `head ${label}`),
              file,
              `head ${label}: the metadata`
            )
          }

          const original = pdf.slice()
          pdf.fill(0)
          sameBytes(
            some(yield* store.get(cases[0]!.file.id), "get").bytes,
            original,
            "the uploader's buffer changed after put"
          )
          const buffer = cases[3]!
          const fromBuffer = Uint8Array.from(buffer.bytes)
          buffer.bytes.fill(0)
          sameBytes(
            some(yield* store.get(buffer.file.id), "get").bytes,
            fromBuffer,
            "the uploader's Node Buffer changed after put"
          )
          const read = some(yield* store.get(cases[0]!.file.id), "get").bytes
          read.fill(1)
          sameBytes(
            some(yield* store.get(cases[0]!.file.id), "get").bytes,
            original,
            "a reader's buffer changed after get"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R54: files of several MiB, at and around each MiB, read back byte-exact",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const store = yield* FileStore.FileStore
          for (const size of [mib, mib + 1, 2 * mib + 12_345]) {
            const bytes = patterned(size)
            const file = fileOf(p.institution.id, bytes, { name: `大文件-${size}.pdf` })
            yield* store.put(file, bytes)
            const got = some(yield* store.get(file.id), `get ${size} bytes`)
            same(FileStore.StoredFile, got.file, file, `get ${size} bytes: the metadata`)
            sameBytes(got.bytes, bytes, `get ${size} bytes`)
          }
        })
      ),
    h.timeout
  )

  it.effect(
    "R54: a file near the default upload limit (fileSizeLimitBytes, 20 MiB), its size a multiple of no chunk, comes back byte-exact from get and from read",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const { store, read } = yield* storeRead
          const size = Settings.defaults.fileSizeLimitBytes - 12_345
          const bytes = patterned(size)
          const file = fileOf(p.institution.id, bytes, { name: "上限大小.pdf" })
          yield* store.put(file, bytes)
          const got = some(yield* store.get(file.id), `get ${size} bytes`)
          sameBytes(got.bytes, bytes, `get ${size} bytes`)
          assert.strictEqual(hex(got.bytes), file.sha256, `get ${size} bytes: its SHA-256`)
          if (read !== undefined) sameBytes(yield* joined(read(file)), bytes, `read ${size} bytes`)
        })
      ),
    h.timeout
  )

  it.effect(
    "R54: a file is never overwritten: a second put with its id → UniqueViolation, the stored bytes and metadata unchanged",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const store = yield* FileStore.FileStore
          const bytes = Rows.pdfBytes(4096)
          const file = fileOf(p.institution.id, bytes)
          yield* store.put(file, bytes)
          const other = Rows.pdfBytes(100)
          yield* failsWith(
            store.put(
              fileOf(p.enterprise.id, other, { id: file.id, name: "替换.pdf", createdAt: minutesAfter(30) }),
              other
            ),
            "UniqueViolation",
            "a second put with the id"
          )
          yield* failsWith(store.put(file, bytes), "UniqueViolation", "the same file put again")
          const got = some(yield* store.get(file.id), "the original file")
          same(FileStore.StoredFile, got.file, file, "the original metadata")
          sameBytes(got.bytes, bytes, "the original bytes")
        })
      ),
    h.timeout
  )

  it.effect(
    "R54: get and head of an unknown id answer none",
    () =>
      h.run(
        Effect.gen(function* () {
          const store = yield* FileStore.FileStore
          for (const id of [Ids.make<Ids.FileId>(), "no-such-file" as Ids.FileId]) {
            none(yield* store.get(id), `get ${id}`)
            none(yield* store.head(id), `head ${id}`)
          }
        })
      ),
    h.timeout
  )

  it.effect(
    "R54: a put inside a failed unit of work leaves no file behind; inside one that commits it stays",
    () =>
      h.run(
        Effect.gen(function* () {
          const p = yield* Rows.insertParties
          const store = yield* FileStore.FileStore
          const uow = yield* Persistence.UnitOfWork
          const bytes = Rows.pdfBytes(2048)
          const file = fileOf(p.institution.id, bytes)
          const result = yield* Effect.either(
            uow.transaction(Effect.zipRight(store.put(file, bytes), Effect.fail(new Boom())))
          )
          assert.isTrue(Either.isLeft(result), "the unit of work fails")
          none(yield* store.get(file.id), "get after the rollback")
          none(yield* store.head(file.id), "head after the rollback")
          yield* uow.transaction(store.put(file, bytes))
          sameBytes(
            some(yield* store.get(file.id), "committed").bytes,
            bytes,
            "the id is free after a rollback"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R54: the Files service refuses a content type outside the allow-list and a size over the limit before anything is stored",
    () => {
      const count = { puts: 0 }
      return h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const files = yield* Files.Files
          const settings = yield* Settings.Settings
          const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0))
          const refused = [
            { bytes: ascii("合同内容 plain text, not a PDF"), code: "file.type_not_allowed" },
            { bytes: Uint8Array.from([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0]), code: "file.type_not_allowed" },
            { bytes: Rows.pdfBytes(settings.fileSizeLimitBytes + 1), code: "file.too_large" }
          ]
          for (const { bytes, code } of refused) {
            const error = (yield* failsWith(
              files.upload(world.institution.account, { name: "证明材料.pdf", bytes }),
              "InvalidInput",
              code
            )) as { readonly rule?: string; readonly field?: string; readonly code?: string }
            assert.deepStrictEqual(
              { rule: error.rule, field: error.field, code: error.code },
              { rule: "R54", field: "bytes", code },
              `refused as ${code}`
            )
          }
          assert.strictEqual(count.puts, 0, "nothing reached the file store")
          assert.deepStrictEqual(yield* fileEvents, [], "no file was audited")
        }),
        countingPuts(count)
      )
    },
    h.timeout
  )

  it.effect(
    "R54: an upload through the Files service is stored byte-exact with the SHA-256 node:crypto computes",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const files = yield* Files.Files
          const store = yield* FileStore.FileStore
          const bytes = Rows.pdfBytes(100_003)
          const stored = yield* files.upload(world.institution.account, { name: "技术合同.pdf", bytes })
          assert.strictEqual(stored.sha256, hex(bytes), "the SHA-256 of the bytes")
          assert.strictEqual(stored.contentType, "application/pdf", "the type read from the bytes")
          assert.strictEqual(stored.size, bytes.length, "the size in bytes")
          assert.strictEqual(
            stored.ownerMemberId,
            world.institution.member.id,
            "owned by the uploader's member"
          )
          const got = some(yield* store.get(stored.id), "the uploaded file")
          same(FileStore.StoredFile, got.file, stored, "stored as returned")
          sameBytes(got.bytes, bytes, "stored byte-exact")
          same(FileStore.StoredFile, some(yield* store.head(stored.id), "head"), stored, "head")
          const down = yield* files.download(world.institution.account, { fileId: stored.id })
          sameBytes(down.bytes, bytes, "downloaded byte-exact")
          const opened = yield* files.open(world.institution.account, { fileId: stored.id })
          same(FileStore.StoredFile, opened.file, stored, "opened: the file")
          sameBytes(yield* joined(opened.content), bytes, "opened: the bytes streamed byte-exact")
          assert.deepStrictEqual(
            (yield* fileEvents).map((e) => e.entityId),
            [stored.id],
            "the upload is audited with its unit of work"
          )
        })
      ),
    h.timeout
  )

  it.effect(
    "R54: FileStore.read streams the bytes as they were put, in order, each piece the reader's own",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const { store, read } = yield* storeRead
          if (read === undefined) return yield* lacks(h, "FileStore.read", ctx)
          const p = yield* Rows.insertParties
          const cases = [0, 70_001, mib, mib + 1, 2 * mib + 12_345].map((size) => {
            const bytes = patterned(size)
            return { bytes, file: fileOf(p.institution.id, bytes, { name: `流-${size}.pdf` }) }
          })
          for (const { file, bytes } of cases) yield* store.put(file, bytes)
          for (const { file, bytes } of cases) {
            const label = `read ${file.size} bytes`
            const pieces: ReadonlyArray<Uint8Array> = Chunk.toReadonlyArray(
              yield* Stream.runCollect(read(file))
            )
            for (const piece of pieces)
              assert.instanceOf(piece, Uint8Array, `${label}: pieces are Uint8Arrays`)
            sameBytes(concat(pieces), bytes, label)
            for (const piece of pieces) piece.fill(7)
            sameBytes(
              yield* joined(read(file)),
              bytes,
              `${label}: again, after the reader changed its pieces`
            )
          }
        })
      ),
    h.timeout
  )

  it.effect(
    "R54: FileStore.read of a file whose bytes were never put fails with InfrastructureError, an empty one too",
    (ctx) =>
      h.run(
        Effect.gen(function* () {
          const { read } = yield* storeRead
          if (read === undefined) return yield* lacks(h, "FileStore.read", ctx)
          const p = yield* Rows.insertParties
          for (const bytes of [Rows.pdfBytes(4096), new Uint8Array(0)]) {
            const never = fileOf(p.institution.id, bytes)
            const result = yield* Effect.either(Stream.runCollect(read(never)))
            assert.isTrue(Either.isLeft(result), `the stream of ${bytes.length} bytes fails`)
            if (Either.isLeft(result))
              assert.strictEqual(result.left._tag, "InfrastructureError", "as InfrastructureError")
          }
        })
      ),
    h.timeout
  )

  it.effect(
    "R54: Files.open refuses a reader the file is not shown to before any byte, and names the file it streams",
    () =>
      h.run(
        Effect.gen(function* () {
          const world = yield* Fixtures.makeWorld
          const files = yield* Files.Files
          const bytes = Rows.pdfBytes(3 * 1024 * 1024 + 5)
          const stored = yield* files.upload(world.institution.account, { name: "大附件.pdf", bytes })
          yield* failsWith(
            files.open(world.enterprise.account, { fileId: stored.id }),
            "NotFound",
            "another member's file, found attached nowhere it names"
          )
          yield* failsWith(
            files.open(world.institution.account, { fileId: Ids.make<Ids.FileId>() }),
            "NotFound",
            "an unknown file"
          )
          const opened = yield* files.open(world.operator, { fileId: stored.id })
          same(FileStore.StoredFile, opened.file, stored, "an operator opens it")
          const streamed = yield* joined(opened.content)
          sameBytes(streamed, bytes, "streamed byte-exact")
          assert.strictEqual(hex(streamed), stored.sha256, "its SHA-256 is the file's")
        })
      ),
    h.timeout
  )
}

/** The pieces of a stream joined into one array. */
const joined = <E>(content: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(content), (pieces) => concat(Chunk.toReadonlyArray(pieces)))

const concat = (pieces: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(pieces.reduce((n, piece) => n + piece.length, 0))
  let at = 0
  for (const piece of pieces) {
    out.set(piece, at)
    at += piece.length
  }
  return out
}
