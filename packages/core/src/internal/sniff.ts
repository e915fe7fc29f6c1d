/**
 * @internal
 * R54: the content type of a file, read from its bytes (magic numbers), never from
 * its name. Only the allow-listed types are recognised; anything else is
 * `undefined` and refused.
 *
 * Written by hand on purpose: the common library, `file-type`, is ESM-only (core
 * ships a CJS build too), reads streams or blobs asynchronously, and knows hundreds
 * of formats we must not accept. We need a dozen fixed signatures over bytes that
 * are already in memory, so a small pure function is the smaller dependency.
 *
 * - PDF `%PDF-`; PNG `89 50 4E 47 0D 0A 1A 0A`; JPEG `FF D8 FF`; GIF `GIF87a` /
 *   `GIF89a`; WebP `RIFF····WEBP`.
 * - OOXML (docx, xlsx, pptx): a ZIP archive whose central directory lists
 *   `[Content_Types].xml` and the main part of its kind (`word/document.xml`,
 *   `xl/workbook.xml`, `ppt/presentation.xml`), and no macros (`vbaProject.bin`:
 *   docm, xlsm and pptm are other types). The central directory is read, not the
 *   local headers, so entries written with data descriptors are found too.
 * - Legacy office (doc, xls, ppt): an OLE compound file (`D0 CF 11 E0 A1 B1 1A E1`)
 *   whose root storage holds the stream of its kind (`WordDocument`, `Workbook` /
 *   `Book`, `PowerPoint Document`), read from its directory. Other compound files
 *   (installers, mail items, which may hold such a stream deeper, in an attachment)
 *   are refused.
 */
import type { ContentType } from "../FileStore.js"

const startsWith = (bytes: Uint8Array, signature: ReadonlyArray<number>, offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b)

const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0))
const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8)
const u32 = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000

const PDF = ascii("%PDF-")
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
const JPEG = [0xff, 0xd8, 0xff]
const GIF87 = ascii("GIF87a")
const GIF89 = ascii("GIF89a")
const RIFF = ascii("RIFF")
const WEBP = ascii("WEBP")
const ZIP = [0x50, 0x4b, 0x03, 0x04]
const EOCD = [0x50, 0x4b, 0x05, 0x06]
const OLE = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]

/** The names of a ZIP archive's entries, from its central directory; `undefined` if unreadable. */
const zipEntryNames = (bytes: Uint8Array): ReadonlyArray<string> | undefined => {
  // End of central directory: 22 bytes plus a comment of at most 65535 bytes.
  const floor = Math.max(0, bytes.length - 22 - 0xffff)
  let eocd = -1
  for (let i = bytes.length - 22; i >= floor; i--) {
    if (startsWith(bytes, EOCD, i)) {
      eocd = i
      break
    }
  }
  if (eocd === -1) return undefined
  const count = u16(bytes, eocd + 10)
  let at = u32(bytes, eocd + 16)
  const decoder = new TextDecoder()
  const names: Array<string> = []
  for (let n = 0; n < count; n++) {
    if (at + 46 > bytes.length || !startsWith(bytes, [0x50, 0x4b, 0x01, 0x02], at)) return undefined
    const nameLength = u16(bytes, at + 28)
    const extraLength = u16(bytes, at + 30)
    const commentLength = u16(bytes, at + 32)
    if (at + 46 + nameLength > bytes.length) return undefined
    names.push(decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength)))
    at += 46 + nameLength + extraLength + commentLength
  }
  return names
}

const ooxml = (bytes: Uint8Array): ContentType | undefined => {
  const names = zipEntryNames(bytes)
  if (names === undefined || !names.includes("[Content_Types].xml")) return undefined
  if (names.some((name) => /(^|\/)vbaProject\.bin$/i.test(name))) return undefined
  if (names.includes("word/document.xml"))
    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
  if (names.includes("xl/workbook.xml"))
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
  if (names.includes("ppt/presentation.xml"))
    return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
  return undefined
}

/** Values of a sector or directory id that name no sector or entry (MS-CFB 2.1). */
const NONE = 0xfffffffa

/**
 * The names of the streams directly under a compound file's root storage (MS-CFB):
 * the sector size from the header, the FAT's sectors from the header's DIFAT and its
 * chain, the directory's sectors along the FAT, then the root entry's children (a
 * tree of left and right siblings). `undefined` when any of it is outside the bytes
 * or loops: such a file is not one Word, Excel or PowerPoint wrote.
 */
const rootStreams = (bytes: Uint8Array): ReadonlySet<string> | undefined => {
  if (bytes.length < 512) return undefined
  const shift = u16(bytes, 0x1e)
  if (shift !== 9 && shift !== 12) return undefined
  const size = 2 ** shift
  const sectors = Math.floor(bytes.length / size) - 1
  const offset = (n: number) => (n + 1) * size
  const fat: Array<number> = []
  for (let i = 0; i < 109; i++) {
    const sector = u32(bytes, 0x4c + 4 * i)
    if (sector < NONE) fat.push(sector)
  }
  const perDifat = size / 4 - 1
  for (let at = u32(bytes, 0x44), guard = 0; at < NONE; guard++) {
    if (at >= sectors || guard > sectors) return undefined
    for (let i = 0; i < perDifat; i++) {
      const sector = u32(bytes, offset(at) + 4 * i)
      if (sector < NONE) fat.push(sector)
    }
    at = u32(bytes, offset(at) + 4 * perDifat)
  }
  const perFat = size / 4
  const next = (n: number): number | undefined => {
    const sector = fat[Math.floor(n / perFat)]
    return sector === undefined || sector >= sectors
      ? undefined
      : u32(bytes, offset(sector) + (n % perFat) * 4)
  }
  const entries: Array<number> = []
  for (let at: number | undefined = u32(bytes, 0x30), guard = 0; at !== undefined && at < NONE; guard++) {
    if (at >= sectors || guard > sectors) return undefined
    for (let entry = offset(at); entry < offset(at) + size; entry += 128) entries.push(entry)
    at = next(at)
    if (at === undefined) return undefined
  }
  const root = entries[0]
  if (root === undefined || bytes[root + 0x42] !== 5) return undefined
  const names = new Set<string>()
  const seen = new Set<number>()
  const pending = [u32(bytes, root + 0x4c)]
  while (pending.length > 0) {
    const id = pending.pop()!
    if (id >= NONE) continue
    const entry = entries[id]
    if (entry === undefined || seen.has(id)) return undefined
    seen.add(id)
    const length = u16(bytes, entry + 0x40)
    if (bytes[entry + 0x42] === 2 && length >= 2 && length <= 64) {
      names.add(
        String.fromCharCode(...Array.from({ length: length / 2 - 1 }, (_, i) => u16(bytes, entry + 2 * i)))
      )
    }
    pending.push(u32(bytes, entry + 0x44), u32(bytes, entry + 0x48))
  }
  return names
}

const legacyOffice = (bytes: Uint8Array): ContentType | undefined => {
  const streams = rootStreams(bytes)
  if (streams === undefined) return undefined
  if (streams.has("WordDocument")) return "application/msword"
  if (streams.has("Workbook") || streams.has("Book")) return "application/vnd.ms-excel"
  if (streams.has("PowerPoint Document")) return "application/vnd.ms-powerpoint"
  return undefined
}

/** @internal The allow-listed content type of `bytes`, or `undefined`. */
export const sniff = (bytes: Uint8Array): ContentType | undefined => {
  if (startsWith(bytes, PDF)) return "application/pdf"
  if (startsWith(bytes, PNG)) return "image/png"
  if (startsWith(bytes, JPEG)) return "image/jpeg"
  if (startsWith(bytes, GIF87) || startsWith(bytes, GIF89)) return "image/gif"
  if (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8)) return "image/webp"
  if (startsWith(bytes, ZIP)) return ooxml(bytes)
  if (startsWith(bytes, OLE)) return legacyOffice(bytes)
  return undefined
}
