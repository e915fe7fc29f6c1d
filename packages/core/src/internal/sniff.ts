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
 *   `xl/workbook.xml`, `ppt/presentation.xml`). The central directory is read, not
 *   the local headers, so entries written with data descriptors are found too.
 * - Legacy office (doc, xls, ppt): an OLE compound file (`D0 CF 11 E0 A1 B1 1A E1`)
 *   holding the stream of its kind (`WordDocument`, `Workbook` / `Book`,
 *   `PowerPoint Document`, names in UTF-16LE). Other compound files (installers,
 *   mail items) are refused.
 */
import type { ContentType } from "../FileStore.js"

const startsWith = (bytes: Uint8Array, signature: ReadonlyArray<number>, offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b)

const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0))
const utf16le = (text: string) => Array.from(text, (c) => [c.charCodeAt(0), 0]).flat()

const indexOf = (bytes: Uint8Array, pattern: ReadonlyArray<number>, from = 0) => {
  const first = pattern[0]!
  const last = bytes.length - pattern.length
  for (let i = bytes.indexOf(first, from); i !== -1 && i <= last; i = bytes.indexOf(first, i + 1)) {
    let j = 1
    while (j < pattern.length && bytes[i + j] === pattern[j]) j++
    if (j === pattern.length) return i
  }
  return -1
}

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
  if (names.includes("word/document.xml"))
    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
  if (names.includes("xl/workbook.xml"))
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
  if (names.includes("ppt/presentation.xml"))
    return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
  return undefined
}

const WORD = utf16le("WordDocument")
const WORKBOOK = utf16le("Workbook")
const BOOK = utf16le("Book\0")
const POWERPOINT = utf16le("PowerPoint Document")

const legacyOffice = (bytes: Uint8Array): ContentType | undefined =>
  indexOf(bytes, WORD, 512) !== -1
    ? "application/msword"
    : indexOf(bytes, WORKBOOK, 512) !== -1 || indexOf(bytes, BOOK, 512) !== -1
      ? "application/vnd.ms-excel"
      : indexOf(bytes, POWERPOINT, 512) !== -1
        ? "application/vnd.ms-powerpoint"
        : undefined

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
