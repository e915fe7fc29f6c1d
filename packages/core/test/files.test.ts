import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import {
  type Errors,
  Files,
  FileStore,
  type Ids,
  Membership,
  Outcome,
  Persistence,
  PersistenceMemory,
  Publishing,
  Responding,
  Settings,
  Zhongbao
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Chunk, Context, Effect, Either, Fiber, Layer, Option, Ref, Schema, Stream } from "effect"
import { at, type Env, expectError, start, withWorld, failureOf } from "./helpers.js"
import { activeCommission } from "./support.js"

const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0))

/** A small but well-formed-looking PDF of `size` bytes (at least 16). */
const pdf = (size = 64) => {
  const bytes = new Uint8Array(size).fill(0x20)
  bytes.set(ascii("%PDF-1.7\n"), 0)
  bytes.set(ascii("%%EOF"), size - 5)
  return bytes
}

const png = () =>
  Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, ...ascii("IHDR")])
const jpeg = () => Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, ...ascii("JFIF"), 0])
const gif = () => Uint8Array.from([...ascii("GIF89a"), 1, 0, 1, 0, 0, 0, 0])
const webp = () => Uint8Array.from([...ascii("RIFF"), 26, 0, 0, 0, ...ascii("WEBPVP8 "), 0, 0, 0, 0])

/** A ZIP archive (entries stored, empty) whose central directory lists `names`. */
const zip = (names: ReadonlyArray<string>) => {
  const out: Array<number> = []
  const u16 = (n: number) => [n & 0xff, (n >> 8) & 0xff]
  const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff]
  const offsets: Array<number> = []
  for (const name of names) {
    offsets.push(out.length)
    const n = ascii(name)
    out.push(...[0x50, 0x4b, 0x03, 0x04], ...u16(20), ...u16(0), ...u16(0), ...u16(0), ...u16(0))
    out.push(...u32(0), ...u32(0), ...u32(0), ...u16(n.length), ...u16(0), ...n)
  }
  const directory = out.length
  names.forEach((name, i) => {
    const n = ascii(name)
    out.push(...[0x50, 0x4b, 0x01, 0x02], ...u16(20), ...u16(20), ...u16(0), ...u16(0), ...u16(0), ...u16(0))
    out.push(...u32(0), ...u32(0), ...u32(0), ...u16(n.length), ...u16(0), ...u16(0), ...u16(0), ...u16(0))
    out.push(...u32(0), ...u32(offsets[i]!), ...n)
  })
  const size = out.length - directory
  out.push(...[0x50, 0x4b, 0x05, 0x06], ...u16(0), ...u16(0), ...u16(names.length), ...u16(names.length))
  out.push(...u32(size), ...u32(directory), ...u16(0))
  return Uint8Array.from(out)
}

/**
 * The header of a compound file (MS-CFB version 3, 512-byte sectors) in `bytes`: its
 * FAT's and DIFAT's sector counts, the directory's first sector, the first DIFAT sector
 * (the 109 FAT sectors the header lists are the caller's to write). Its view, for the rest.
 */
const cfbHeader = (
  bytes: Uint8Array,
  layout: { fatSectors: number; directory: number; difat: number; difatSectors: number }
) => {
  const view = new DataView(bytes.buffer)
  bytes.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 0)
  view.setUint16(0x18, 0x3e, true)
  view.setUint16(0x1a, 3, true)
  view.setUint16(0x1c, 0xfffe, true)
  view.setUint16(0x1e, 9, true)
  view.setUint16(0x20, 6, true)
  view.setUint32(0x2c, layout.fatSectors, true)
  view.setUint32(0x30, layout.directory, true)
  view.setUint32(0x38, 4096, true)
  view.setUint32(0x3c, 0xfffffffe, true)
  view.setUint32(0x44, layout.difat, true)
  view.setUint32(0x48, layout.difatSectors, true)
  return view
}

/**
 * A directory entry at `at`: its name, of `type` (5 root, 1 storage, 2 stream), with no
 * siblings or child yet. Its offset, for the caller to link it.
 */
const cfbEntry = (view: DataView, at: number, name: string, type: number) => {
  for (let i = 0; i < name.length; i++) view.setUint16(at + 2 * i, name.charCodeAt(i), true)
  view.setUint16(at + 0x40, 2 * (name.length + 1), true)
  view.setUint8(at + 0x42, type)
  for (const field of [0x44, 0x48, 0x4c]) view.setUint32(at + field, 0xffffffff, true)
  return at
}

/** An entry under a compound file's root: a stream, or a storage with `children`. */
interface CfbEntry {
  readonly name: string
  readonly children?: ReadonlyArray<CfbEntry>
}

/**
 * A compound file (MS-CFB version 3, 512-byte sectors): the header, one FAT sector and
 * one directory sector of at most four entries, the root storage and `top` under it;
 * the children of a storage are siblings to the right of one another.
 */
const compound = (top: ReadonlyArray<CfbEntry>) => {
  const bytes = new Uint8Array(512 * 3)
  const view = cfbHeader(bytes, { fatSectors: 1, directory: 1, difat: 0xfffffffe, difatSectors: 0 })
  for (let i = 0; i < 109; i++) view.setUint32(0x4c + 4 * i, i === 0 ? 0 : 0xffffffff, true)
  for (let i = 0; i < 128; i++) {
    view.setUint32(512 + 4 * i, i === 0 ? 0xfffffffd : i === 1 ? 0xfffffffe : 0xffffffff, true)
  }
  let next = 0
  const write = (name: string, type: number, children: ReadonlyArray<CfbEntry>): number => {
    const id = next++
    const at = cfbEntry(view, 1024 + 128 * id, name, type)
    let previous: number | undefined
    for (const child of children) {
      const childId = write(child.name, child.children === undefined ? 2 : 1, child.children ?? [])
      view.setUint32(previous === undefined ? at + 0x4c : 1024 + 128 * previous + 0x48, childId, true)
      previous = childId
    }
    return id
  }
  write("Root Entry", 5, top)
  return bytes
}

/**
 * A compound file of 14,002 sectors (6.8 MiB) whose directory, in sector 14,000, is
 * chained in the 110th FAT sector: past the 109 the header lists, that one is found
 * through a DIFAT sector, as in a Word or Excel file of that size. Under the root, one
 * stream named `stream`.
 */
const largeCompound = (stream: string) => {
  const fatSectors = 110
  const difat = fatSectors
  const directory = 14_000
  const bytes = new Uint8Array(512 * (directory + 2))
  const view = cfbHeader(bytes, { fatSectors, directory, difat, difatSectors: 1 })
  const at = (sector: number) => 512 * (sector + 1)
  for (let i = 0; i < 109; i++) view.setUint32(0x4c + 4 * i, i, true)
  for (let i = 0; i < 128; i++) view.setUint32(at(difat) + 4 * i, i === 0 ? 109 : 0xffffffff, true)
  view.setUint32(at(difat) + 4 * 127, 0xfffffffe, true)
  for (let sector = 0; sector < fatSectors * 128; sector++) {
    const entry =
      sector < fatSectors
        ? 0xfffffffd
        : sector === difat
          ? 0xfffffffc
          : sector === directory
            ? 0xfffffffe
            : 0xffffffff
    const fat = Math.floor(sector / 128)
    view.setUint32(at(fat) + 4 * (sector % 128), entry, true)
  }
  view.setUint32(cfbEntry(view, at(directory), "Root Entry", 5) + 0x4c, 1, true)
  cfbEntry(view, at(directory) + 128, stream, 2)
  return bytes
}

/** A compound file whose root storage holds `streams`. */
const ole = (...streams: ReadonlyArray<string>) => compound(streams.map((name) => ({ name })))

const hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/** Memory ports whose file store `wrap` changes, with the use cases over them. */
const withStore = <A, E>(
  wrap: (store: FileStore.FileStore["Type"]) => FileStore.FileStore["Type"],
  body: (world: Fixtures.World) => Effect.Effect<A, E, Env>,
  overrides: Partial<Settings.PlatformSettings> = {}
) =>
  Effect.gen(function* () {
    const ports = Layer.map(PersistenceMemory.layerMemory, (context) =>
      Context.add(context, FileStore.FileStore, wrap(Context.get(context, FileStore.FileStore)))
    )
    const layer = Zhongbao.layer.pipe(Layer.provideMerge(Layer.merge(ports, Settings.layer(overrides))))
    return yield* Effect.gen(function* () {
      yield* at(start)
      return yield* body(yield* Fixtures.makeWorld)
    }).pipe(Effect.provide(Layer.fresh(layer)))
  }).pipe(Effect.orDie)

/** Memory ports whose file store counts `put` calls. */
const withProbe = <A, E>(
  body: (world: Fixtures.World, puts: Ref.Ref<number>) => Effect.Effect<A, E, Env>,
  overrides: Partial<Settings.PlatformSettings> = {}
) =>
  Effect.flatMap(Ref.make(0), (puts) =>
    withStore(
      (store) => ({
        ...store,
        put: (file, bytes) =>
          Effect.zipRight(
            Ref.update(puts, (n) => n + 1),
            store.put(file, bytes)
          )
      }),
      (world) => body(world, puts),
      overrides
    )
  )

/** The pieces of a stream joined into one array. */
const joined = <E>(content: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(content), (pieces) => Buffer.concat(Chunk.toReadonlyArray(pieces)))

const fileTrail = () =>
  Effect.gen(function* () {
    const audit = yield* Persistence.AuditRepository
    const events = yield* audit.list({ limit: 1000 })
    return events.filter((e) => e.entity === "file")
  })

describe("Files", () => {
  it.effect(
    "R54: a file's type comes from its bytes, not its name (which is given that type's extension), and its SHA-256 matches node:crypto",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const files = yield* Files.Files
          const bytes = pdf(4096)
          const stored = yield* files.upload(world.institution.account, { name: "技术合同.png", bytes })
          assert.strictEqual(stored.contentType, "application/pdf")
          assert.strictEqual(stored.size, 4096)
          assert.strictEqual(stored.sha256, hex(bytes))
          assert.strictEqual(stored.name, "技术合同.png.pdf")
          assert.strictEqual(stored.ownerMemberId, world.institution.member.id)

          const down = yield* files.download(world.institution.account, { fileId: stored.id })
          assert.deepStrictEqual(down.file, stored)
          assert.deepStrictEqual(Array.from(down.bytes), Array.from(bytes))
          assert.strictEqual(hex(down.bytes), stored.sha256)
          assert.deepStrictEqual(yield* files.info(world.institution.account, { fileId: stored.id }), stored)

          const photo = yield* files.upload(world.institution.account, { name: "发票.pdf", bytes: jpeg() })
          assert.strictEqual(photo.contentType, "image/jpeg")
          assert.strictEqual(photo.sha256, hex(jpeg()))
        })
      )
  )

  it.effect(
    "R54: a file is stored under a name ending with an extension of the type read from its bytes: kept when it has one (any letter case), added when not, within the name's 255 UTF-16 units",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const files = yield* Files.Files
          const nameOf = (name: string, bytes: Uint8Array) =>
            Effect.map(files.upload(world.institution.account, { name, bytes }), (f) => f.name)
          assert.strictEqual(yield* nameOf("合同.pdf", pdf()), "合同.pdf")
          assert.strictEqual(yield* nameOf("SCAN.JPEG", jpeg()), "SCAN.JPEG")
          assert.strictEqual(yield* nameOf("扫描件.jpg", jpeg()), "扫描件.jpg")
          assert.strictEqual(yield* nameOf("x.html", png()), "x.html.png")
          assert.strictEqual(yield* nameOf("evil.exe", pdf()), "evil.exe.pdf")
          assert.strictEqual(yield* nameOf("方案1.0", pdf()), "方案1.0.pdf")
          assert.strictEqual(yield* nameOf("无扩展名", jpeg()), "无扩展名.jpg")
          const long = yield* nameOf(`${"长".repeat(250)}.exe`, pdf())
          assert.strictEqual(long, `${"长".repeat(250)}.pdf`, "cut to fit, without the dot left at its end")
          const longer = yield* nameOf(`${"长".repeat(255)}`, pdf())
          assert.strictEqual(longer, `${"长".repeat(251)}.pdf`)
          const emoji = yield* nameOf("😀".repeat(126), pdf())
          assert.strictEqual(
            emoji,
            `${"😀".repeat(125)}.pdf`,
            "cut by whole characters, within 255 UTF-16 units"
          )
          assert.isTrue(Schema.is(FileStore.FileName)(emoji))
          assert.strictEqual(yield* nameOf("合同. ", pdf()), "合同.pdf")
        })
      )
  )

  it.effect("R54: a type outside the allow-list is refused before anything is stored", () =>
    withProbe((world, puts) =>
      Effect.gen(function* () {
        const files = yield* Files.Files
        const refused = [
          Uint8Array.from([...ascii("MZ"), 0x90, 0, 3, 0, 0, 0]),
          Uint8Array.from(ascii("合同内容 plain text, not a PDF")),
          Uint8Array.from(ascii("<html><body>%PDF-1.7</body></html>")),
          zip(["[Content_Types].xml", "payload.exe"]),
          zip(["word/document.xml"]),
          ole("__substg1.0_0037001F")
        ]
        for (const bytes of refused) {
          const error = yield* expectError(
            files.upload(world.institution.account, { name: "证明材料.pdf", bytes }),
            "InvalidInput",
            "R54",
            "bytes"
          )
          assert.strictEqual((error as Errors.InvalidInput).code, "file.type_not_allowed")
        }
        assert.strictEqual(yield* Ref.get(puts), 0)
        assert.deepStrictEqual(yield* fileTrail(), [])
      })
    )
  )

  it.effect("R54: an empty file is refused as empty before anything is stored", () =>
    withProbe((world, puts) =>
      Effect.gen(function* () {
        const files = yield* Files.Files
        const error = yield* expectError(
          files.upload(world.institution.account, { name: "证明材料.pdf", bytes: new Uint8Array(0) }),
          "InvalidInput",
          "R54",
          "bytes"
        )
        assert.strictEqual((error as Errors.InvalidInput).code, "file.empty")
        assert.strictEqual(yield* Ref.get(puts), 0)
        assert.deepStrictEqual(yield* fileTrail(), [])
      })
    )
  )

  it.effect(
    "R54: a file over the size limit is refused before anything is stored; at the limit it is kept",
    () =>
      withProbe(
        (world, puts) =>
          Effect.gen(function* () {
            const files = yield* Files.Files
            const error = yield* expectError(
              files.upload(world.institution.account, { name: "大文件.pdf", bytes: pdf(1025) }),
              "InvalidInput",
              "R54",
              "bytes"
            )
            assert.strictEqual((error as Errors.InvalidInput).code, "file.too_large")
            // The sizes tell one byte over apart from the limit.
            assert.strictEqual(
              (error as Errors.InvalidInput).message,
              "bytes: the file is 1,025 bytes; the limit is 1 KiB"
            )
            assert.strictEqual(yield* Ref.get(puts), 0)
            const kept = yield* files.upload(world.institution.account, {
              name: "刚好.pdf",
              bytes: pdf(1024)
            })
            assert.strictEqual(kept.size, 1024)
            assert.strictEqual(yield* Ref.get(puts), 1)
          }),
        { fileSizeLimitBytes: 1024 }
      )
  )

  it.effect(
    "R54: a file name with a path separator, a control character or half a character (an unpaired surrogate) is refused, naming it; nothing is stored",
    () =>
      withProbe((world, puts) =>
        Effect.gen(function* () {
          const files = yield* Files.Files
          for (const name of [
            "合同/发票.pdf",
            "合同\\发票.pdf",
            "合同\u0000.pdf",
            "合同\ud842.pdf",
            "合同\udfb7.pdf"
          ]) {
            yield* expectError(
              files.upload(world.institution.account, { name, bytes: pdf(64) }),
              "InvalidInput",
              "R54",
              "name"
            )
          }
          assert.strictEqual(yield* Ref.get(puts), 0)
          const kept = yield* files.upload(world.institution.account, {
            name: "𠮷野家合同.pdf",
            bytes: pdf(64)
          })
          assert.strictEqual(kept.name, "𠮷野家合同.pdf")
        })
      )
  )

  it.effect("R54: the default size limit is 20 MiB", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const files = yield* Files.Files
        yield* expectError(
          files.upload(world.institution.account, { name: "超限.pdf", bytes: pdf(20 * 1024 * 1024 + 1) }),
          "InvalidInput",
          "R54",
          "bytes"
        )
      })
    )
  )

  it.effect("R54: a stored file is never overwritten, nor changed by its uploader's buffer", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const files = yield* Files.Files
        const store = yield* FileStore.FileStore
        const bytes = pdf(256)
        const original = hex(bytes)
        const stored = yield* files.upload(world.institution.account, { name: "合同.pdf", bytes })
        bytes.fill(0)

        const other = png()
        const error = yield* failureOf(
          store.put(
            { ...stored, contentType: "image/png", size: other.length, sha256: hex(other) as never },
            other
          )
        )
        assert.strictEqual(error._tag, "UniqueViolation")

        const found = Option.getOrThrow(yield* store.get(stored.id))
        assert.deepStrictEqual(found.file, stored)
        assert.strictEqual(hex(found.bytes), original)
        found.bytes.fill(1)
        assert.strictEqual(hex(Option.getOrThrow(yield* store.get(stored.id)).bytes), original)
      })
    )
  )

  it.effect(
    "R54: the bytes are copied before the upload waits: a caller changing its array meanwhile (a Node Buffer, whose slice is a view, too) changes neither the hash nor what is stored",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const files = yield* Files.Files
          const store = yield* FileStore.FileStore
          for (const bytes of [pdf(4096), Buffer.from(pdf(4096))]) {
            const original = hex(bytes)
            const upload = yield* Effect.fork(
              files.upload(world.institution.account, { name: "合同.pdf", bytes })
            )
            yield* Effect.yieldNow()
            bytes.fill(0x41)
            const stored = yield* Fiber.join(upload)
            assert.strictEqual(stored.sha256, original, bytes.constructor.name)
            assert.strictEqual(hex(Option.getOrThrow(yield* store.get(stored.id)).bytes), original)
          }
        })
      )
  )

  it.effect("R54: images by their signature, office documents by their internal part", () =>
    Effect.sync(() => {
      const expect = (bytes: Uint8Array, type: string | undefined) =>
        assert.strictEqual(FileStore.contentTypeOf(bytes), type)
      expect(pdf(), "application/pdf")
      expect(png(), "image/png")
      expect(jpeg(), "image/jpeg")
      expect(gif(), "image/gif")
      expect(Uint8Array.from([...ascii("GIF87a"), 1, 0]), "image/gif")
      expect(webp(), "image/webp")
      expect(Uint8Array.from([...ascii("RIFF"), 0, 0, 0, 0, ...ascii("WAVEfmt ")]), undefined)
      expect(
        zip(["[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/styles.xml"]),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
      )
      expect(
        zip(["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"]),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
      )
      expect(
        zip(["[Content_Types].xml", "ppt/presentation.xml"]),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
      )
      expect(zip(["[Content_Types].xml", "content.xml"]), undefined)
      expect(ole("WordDocument"), "application/msword")
      expect(ole("Workbook"), "application/vnd.ms-excel")
      expect(ole("PowerPoint Document"), "application/vnd.ms-powerpoint")
      expect(ole("SummaryInformation"), undefined)
      expect(ole("\u0005SummaryInformation", "Book"), "application/vnd.ms-excel")
      // Written by LibreOffice (Word 97 and Excel 97 filters).
      const fixture = (name: string) =>
        new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)))
      expect(fixture("libreoffice.doc"), "application/msword")
      expect(fixture("libreoffice.xls"), "application/vnd.ms-excel")
      // A large file: its directory's FAT sector is found through a DIFAT sector.
      expect(largeCompound("WordDocument"), "application/msword")
      expect(largeCompound("Workbook"), "application/vnd.ms-excel")
      // A mail item holds a Word document in an attachment's storage, not at its root.
      expect(
        compound([
          { name: "__substg1.0_0037001F" },
          { name: "__attach_version1.0_#00000000", children: [{ name: "WordDocument" }] }
        ]),
        undefined
      )
      // The name as text elsewhere in the file, outside the directory, names no stream.
      const text = ole("SummaryInformation")
      text.set(Array.from("WordDocument", (c) => [c.charCodeAt(0), 0]).flat(), 1024 + 128 * 3)
      expect(text, undefined)
      // A directory outside the file, or a FAT that loops, is not a compound file.
      const outside = ole("WordDocument")
      new DataView(outside.buffer).setUint32(0x30, 99, true)
      expect(outside, undefined)
      const loop = ole("WordDocument")
      new DataView(loop.buffer).setUint32(512 + 4, 1, true)
      expect(loop, undefined)
      // Macros make docx a docm, which is another type.
      expect(zip(["[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"]), undefined)
    })
  )

  it.effect("R54, R5: a file is downloaded by its owner's accounts and operators; others find nothing", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const files = yield* Files.Files
        const membership = yield* Membership.Membership
        const stored = yield* files.upload(world.institution.account, { name: "发票.pdf", bytes: pdf() })
        const colleague = yield* membership.createAccount(world.operator, {
          memberId: world.institution.member.id,
          name: "第二联系人",
          phone: Fixtures.nextPhone()
        })
        assert.strictEqual((yield* files.download(colleague.id, { fileId: stored.id })).file.id, stored.id)
        assert.strictEqual((yield* files.download(world.operator, { fileId: stored.id })).file.id, stored.id)
        yield* expectError(files.download(world.enterprise.account, { fileId: stored.id }), "NotFound", "R5")
        yield* expectError(files.info(world.enterprise.account, { fileId: stored.id }), "NotFound", "R5")
        yield* expectError(
          files.download(world.enterprise.account, { fileId: "no-such-file" }),
          "NotFound",
          "R5"
        )
      })
    )
  )

  it.effect(
    "R10, R30, R54: attachments name files the attaching member uploaded; another's, an unknown one or one listed twice (a keyword too, in either letter case) is refused naming it and changes nothing",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const files = yield* Files.Files
          const publishing = yield* Publishing.Publishing
          const responding = yield* Responding.Responding
          const outcome = yield* Outcome.Outcome
          const audit = yield* Persistence.AuditRepository
          const own = yield* files.upload(world.enterprise.account, { name: "需求说明.pdf", bytes: pdf() })
          const others = yield* files.upload(world.expert.account, { name: "专家简历.pdf", bytes: pdf() })
          const mine = yield* files.upload(world.institute.account, { name: "方案.pdf", bytes: pdf() })
          const events = () => Effect.map(audit.list({ limit: 1000 }), (all) => all.length)
          const before = yield* events()

          yield* expectError(
            publishing.draft(world.enterprise.account, yield* Fixtures.form({ attachments: [others.id] })),
            "InvalidInput",
            "R10",
            "attachments.0"
          )
          yield* expectError(
            publishing.draft(
              world.enterprise.account,
              yield* Fixtures.form({ attachments: [own.id, "no-such-file"] })
            ),
            "InvalidInput",
            "R10",
            "attachments.1"
          )
          const twice = yield* expectError(
            publishing.draft(
              world.enterprise.account,
              yield* Fixtures.form({ attachments: [own.id, own.id] })
            ),
            "InvalidInput",
            "R10",
            "attachments.1"
          )
          assert.strictEqual((twice as Errors.InvalidInput).code, "attachment.twice")
          yield* expectError(
            publishing.draft(
              world.enterprise.account,
              yield* Fixtures.form({ keywords: ["石墨烯", "散热", "石墨烯"] })
            ),
            "InvalidInput",
            "R10",
            "keywords.2"
          )
          yield* expectError(
            publishing.draft(
              world.enterprise.account,
              yield* Fixtures.form({ keywords: ["AI", "芯片", "ai"] })
            ),
            "InvalidInput",
            "R10",
            "keywords.2"
          )
          assert.strictEqual(yield* events(), before, "a refused draft wrote something")
          const distinct = yield* publishing.draft(
            world.enterprise.account,
            yield* Fixtures.form({ keywords: ["AI", "ＡＩ"] })
          )
          assert.deepStrictEqual(
            distinct.form.keywords,
            ["AI", "ＡＩ"],
            "full-width letters are searched apart"
          )

          const draft = yield* publishing.draft(world.enterprise.account, yield* Fixtures.form())
          yield* expectError(
            publishing.edit(world.enterprise.account, {
              demandId: draft.id,
              form: yield* Fixtures.form({ attachments: [mine.id] })
            }),
            "InvalidInput",
            "R10",
            "form.attachments.0"
          )
          const demand = yield* Fixtures.publish(world, world.enterprise.account, { attachments: [own.id] })
          assert.deepStrictEqual(demand.form.attachments, [own.id])

          const proposal = (attachments: ReadonlyArray<string>) => ({
            title: "应答方案",
            content: "采用化学气相沉积法提高良率",
            attachments
          })
          const afterPublish = yield* events()
          yield* expectError(
            responding.respond(world.institute.account, {
              demandId: demand.id,
              proposal: proposal([own.id])
            }),
            "InvalidInput",
            "R54",
            "proposal.attachments.0"
          )
          assert.strictEqual(yield* events(), afterPublish, "a refused response wrote something")
          const response = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal([mine.id])
          })
          yield* expectError(
            responding.revise(world.institute.account, {
              responseId: response.id,
              proposal: proposal([mine.id, others.id])
            }),
            "InvalidInput",
            "R54",
            "proposal.attachments.1"
          )

          const afterRespond = yield* events()
          yield* expectError(
            outcome.appendLog(world.enterprise.account, {
              demandId: demand.id,
              entry: { date: "2026-05-04", text: "组织对接会", attachments: [mine.id] }
            }),
            "InvalidInput",
            "R30",
            "entry.attachments.0"
          )
          assert.strictEqual(yield* events(), afterRespond, "a refused log entry wrote something")
        })
      )
  )

  it.effect(
    "R4, R2, R54: an attached file is read by whoever may read what it is attached to, when the reader names it; by no one else",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const files = yield* Files.Files
          const responding = yield* Responding.Responding
          const outcome = yield* Outcome.Outcome
          yield* activeCommission(world)
          const formFile = yield* files.upload(world.institution.account, {
            name: "需求说明.pdf",
            bytes: pdf()
          })
          const logFile = yield* files.upload(world.institution.account, {
            name: "对接纪要.pdf",
            bytes: pdf()
          })
          const proposalFile = yield* files.upload(world.institute.account, {
            name: "方案.pdf",
            bytes: pdf()
          })
          const demand = yield* Fixtures.publish(world, world.institution.account, {
            ...Fixtures.onBehalf(world, world.enterprise.member.id),
            attachments: [formFile.id]
          })
          const other = yield* Fixtures.publish(world, world.enterprise2.account)
          const response = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: {
              title: "应答方案",
              content: "采用化学气相沉积法提高良率",
              attachments: [proposalFile.id]
            }
          })
          yield* outcome.appendLog(world.institution.account, {
            demandId: demand.id,
            entry: { date: "2026-05-04", text: "组织对接会", attachments: [logFile.id] }
          })
          const reads = (reader: Ids.AccountId, ref: Parameters<typeof files.download>[1]) =>
            Effect.map(files.download(reader, ref), ({ file }) => file.id)
          const refused = (reader: Ids.AccountId, ref: Parameters<typeof files.download>[1]) =>
            Effect.all([
              expectError(files.download(reader, ref), "NotFound", "R5"),
              expectError(files.info(reader, ref), "NotFound", "R5")
            ])

          // The demand's form: whoever reads the demand, naming it.
          assert.strictEqual(
            yield* reads(world.expert.account, { fileId: formFile.id, demandId: demand.id }),
            formFile.id
          )
          assert.strictEqual(
            (yield* files.info(world.expert.account, { fileId: formFile.id, demandId: demand.id })).id,
            formFile.id
          )
          yield* refused(world.expert.account, { fileId: formFile.id })
          yield* refused(world.expert.account, { fileId: formFile.id, demandId: other.id })
          yield* refused(world.expert.account, { fileId: formFile.id, responseId: response.id })
          assert.strictEqual(
            yield* reads(world.expert.account, {
              fileId: formFile.id,
              responseId: response.id,
              demandId: demand.id
            }),
            formFile.id,
            "with both places named, either will do"
          )

          // The response's proposal: its responder's side and the demand's managing side (R4).
          assert.strictEqual(
            yield* reads(world.institution.account, { fileId: proposalFile.id, responseId: response.id }),
            proposalFile.id
          )
          yield* refused(world.expert.account, { fileId: proposalFile.id, responseId: response.id })
          yield* refused(world.enterprise.account, { fileId: proposalFile.id, responseId: response.id })
          yield* refused(world.institution.account, { fileId: proposalFile.id, demandId: demand.id })
          // A file of someone else's, stored as attached (written past the check), stays unreadable.
          const responses = yield* Persistence.ResponseRepository
          const foreign = yield* files.upload(world.expert.account, { name: "专家简历.pdf", bytes: pdf() })
          yield* responses.update({
            ...response,
            proposal: { ...response.proposal, attachments: [proposalFile.id, foreign.id] },
            version: response.version + 1
          })
          yield* refused(world.institution.account, { fileId: foreign.id, responseId: response.id })

          // The service log: whoever follows the demand, its client included (R2); not a responder.
          assert.strictEqual(
            yield* reads(world.enterprise.account, { fileId: logFile.id, demandId: demand.id }),
            logFile.id
          )
          yield* refused(world.institute.account, { fileId: logFile.id, demandId: demand.id })
          yield* refused(world.expert.account, { fileId: logFile.id, demandId: demand.id })
          // Found however long the log grows.
          for (let n = 0; n < 120; n++) {
            yield* outcome.appendLog(world.institution.account, {
              demandId: demand.id,
              entry: { date: "2026-05-03", text: `第${n + 1}次回访` }
            })
          }
          const lateFile = yield* files.upload(world.institution.account, {
            name: "验收报告.pdf",
            bytes: pdf()
          })
          yield* outcome.appendLog(world.institution.account, {
            demandId: demand.id,
            entry: { date: "2026-05-04", text: "验收", attachments: [lateFile.id] }
          })
          assert.strictEqual(
            yield* reads(world.enterprise.account, { fileId: lateFile.id, demandId: demand.id }),
            lateFile.id
          )
        })
      )
  )

  it.effect("R54: an operator account, belonging to no member, uploads no file", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const files = yield* Files.Files
        yield* expectError(files.upload(world.operator, { name: "a.pdf", bytes: pdf() }), "Denied", "R54")
      })
    )
  )

  it.effect(
    "R63: an upload repeated with its key returns the first file; another file under the key is refused, one under another name too (even a name stored alike)",
    () =>
      withProbe((world, puts) =>
        Effect.gen(function* () {
          const files = yield* Files.Files
          const options = { idempotencyKey: "upload-1" }
          const first = yield* files.upload(
            world.institution.account,
            { name: "合同.pdf", bytes: pdf() },
            options
          )
          const again = yield* files.upload(
            world.institution.account,
            { name: "合同.pdf", bytes: pdf() },
            options
          )
          assert.deepStrictEqual(again, first)
          assert.strictEqual(yield* Ref.get(puts), 1)
          yield* expectError(
            files.upload(world.institution.account, { name: "合同.pdf", bytes: pdf(65) }, options),
            "IdempotencyKeyReused",
            "R63"
          )
          yield* expectError(
            files.upload(world.institution.account, { name: "合同", bytes: pdf() }, options),
            "IdempotencyKeyReused",
            "R63"
          )
          const events = yield* fileTrail()
          assert.strictEqual(events.length, 1)
          assert.strictEqual(events[0]!.entityId, first.id)
        })
      )
  )

  it.effect("R54: a failed unit of work leaves no file behind", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const store = yield* FileStore.FileStore
        const uow = yield* Persistence.UnitOfWork
        const bytes = pdf()
        const file: FileStore.StoredFile = {
          id: "rolled-back" as Ids.FileId,
          ownerMemberId: world.institution.member.id,
          name: "x.pdf",
          contentType: "application/pdf",
          size: bytes.length,
          sha256: hex(bytes) as FileStore.Sha256,
          createdAt: start
        }
        const failed = yield* Effect.either(
          uow.transaction(Effect.zipRight(store.put(file, bytes), Effect.fail("boom" as const)))
        )
        assert.isTrue(failed._tag === "Left")
        assert.isTrue(Option.isNone(yield* store.head(file.id)))
      })
    )
  )
  it.effect(
    "R54: Files.open streams a file's bytes to its readers, through the store's read or else its get",
    () =>
      Effect.forEach(
        [
          (store: FileStore.FileStore["Type"]) => store,
          ({ read: _read, ...store }: FileStore.FileStore["Type"]) => store
        ],
        (wrap, i) =>
          withStore(wrap, (world) =>
            Effect.gen(function* () {
              const files = yield* Files.Files
              const bytes = pdf(600 * 1024 + 3)
              const stored = yield* files.upload(world.institution.account, { name: "方案.pdf", bytes })
              const opened = yield* files.open(world.operator, { fileId: stored.id })
              assert.deepStrictEqual(opened.file, stored, `case ${i}: the file`)
              const streamed = yield* joined(opened.content)
              assert.strictEqual(hex(streamed), hex(bytes), `case ${i}: the bytes`)
              yield* expectError(
                files.open(world.enterprise.account, { fileId: stored.id }),
                "NotFound",
                "R5"
              )
            })
          ),
        { discard: true }
      )
  )

  it.effect(
    "R54: the memory store's read copies a piece only as it is pulled, never the whole file first",
    () =>
      withStore(
        (store) => store,
        (world) =>
          Effect.gen(function* () {
            const files = yield* Files.Files
            const store = yield* FileStore.FileStore
            const stored = yield* files.upload(world.institution.account, {
              name: "方案.pdf",
              bytes: pdf(8 * 256 * 1024)
            })
            const original = Uint8Array.prototype.slice
            const copies = { made: 0 }
            const first = yield* Effect.acquireUseRelease(
              Effect.sync(() => {
                Uint8Array.prototype.slice = function (this: Uint8Array, ...range) {
                  copies.made += 1
                  return original.apply(this, range)
                }
              }),
              () => Stream.runHead(store.read!(stored)),
              () =>
                Effect.sync(() => {
                  Uint8Array.prototype.slice = original
                })
            )
            assert.strictEqual(Option.getOrThrow(first).length, 256 * 1024)
            assert.isAtMost(copies.made, 1, "one piece copied for the first piece taken, of eight")
          })
      )
  )

  it.effect(
    "R54: Files.open's stream fails when the stored bytes are longer or shorter than the file's size",
    () =>
      Effect.forEach(
        [
          { extra: Uint8Array.of(0x25), label: "a byte more" },
          { extra: undefined, label: "a byte less" }
        ],
        ({ extra, label }) =>
          withStore(
            (store) => ({
              ...store,
              read: (file) => {
                const pieces = store.read!(file)
                return extra === undefined
                  ? Stream.map(pieces, (piece) => piece.subarray(0, Math.max(0, piece.length - 1)))
                  : Stream.concat(pieces, Stream.make(extra))
              }
            }),
            (world) =>
              Effect.gen(function* () {
                const files = yield* Files.Files
                const stored = yield* files.upload(world.institution.account, {
                  name: "方案.pdf",
                  bytes: pdf(1000)
                })
                const opened = yield* files.open(world.institution.account, { fileId: stored.id })
                const result = yield* Effect.either(joined(opened.content))
                assert.isTrue(Either.isLeft(result), `${label}: the stream fails`)
                if (Either.isLeft(result)) {
                  assert.strictEqual(result.left._tag, "InfrastructureError", label)
                  assert.include(result.left.message, `${stored.id} is 1000 bytes`, label)
                }
              })
          ),
        { discard: true }
      )
  )
})
