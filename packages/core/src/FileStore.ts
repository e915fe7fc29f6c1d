/**
 * Stored files (R54): proof materials of reward applications and attachments.
 * A file is kept as it was uploaded and never overwritten: an id is written once.
 * Its content type is read from its bytes (see {@link contentTypeOf}), its
 * SHA-256 checksum computed with Web Crypto; nothing here does I/O.
 *
 * `FileStore` is a port like those of `Persistence` (and part of its `Ports`): a
 * deployment may keep the bytes in its database or in an object store, as long as
 * `put` takes part in the unit of work (a failed use case leaves no file behind)
 * and refuses an id that exists.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { InfrastructureError, type UniqueViolation } from "./Errors.js"
import { FileId, MemberId } from "./Ids.js"
import { sniff } from "./internal/sniff.js"

/**
 * The content types a file may have (R54): PDF, images, and office documents in
 * their OOXML and legacy (OLE) forms.
 *
 * @since 0.1.0
 * @category models
 */
export const ContentType = Schema.Literal(
  "application/pdf",
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  "application/msword",
  "application/vnd.ms-excel",
  "application/vnd.ms-powerpoint"
)

/** @since 0.1.0 @category models */
export type ContentType = typeof ContentType.Type

/**
 * R54: the file-name extensions of each content type, the usual one first.
 *
 * @since 0.1.3
 * @category content types
 */
export const extensions: Readonly<Record<ContentType, readonly [string, ...Array<string>]>> = {
  "application/pdf": ["pdf"],
  "image/png": ["png"],
  "image/jpeg": ["jpg", "jpeg", "jpe", "jfif"],
  "image/gif": ["gif"],
  "image/webp": ["webp"],
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ["docx"],
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ["xlsx"],
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": ["pptx"],
  "application/msword": ["doc"],
  "application/vnd.ms-excel": ["xls"],
  "application/vnd.ms-powerpoint": ["ppt"]
}

/**
 * R54: the name a file is stored and downloaded under: the uploader's, ending with an
 * extension of the content type read from its bytes. One is added to a name without
 * one of them (`x.html` of PNG bytes becomes `x.html.png`, `方案1.0` of a PDF
 * `方案1.0.pdf`): a download saved under the name opens as what it is, never as a page
 * or a program whose bytes were made to read both ways. Letter case is the uploader's
 * (`SCAN.JPG` stays). Dots and spaces at the end of the name go before the extension
 * (`x.` of a PDF is `x.pdf`), and the name stays within {@link FileName}'s 255 UTF-16
 * units: a long one gives up its last characters, whole, before the extension.
 *
 * @since 0.1.3
 * @category content types
 */
export const storedName = (name: string, contentType: ContentType): string => {
  const dot = name.lastIndexOf(".")
  const own = dot === -1 ? undefined : name.slice(dot + 1).toLowerCase()
  if (own !== undefined && extensions[contentType].includes(own)) return name
  const suffix = `.${extensions[contentType][0]}`
  let base = ""
  for (const char of name) {
    if (base.length + char.length + suffix.length > 255) break
    base += char
  }
  return `${base.replace(/[.\s]+$/u, "") || "file"}${suffix}`
}

/**
 * A file name as the uploader gave it: 1–255 characters, no path separators,
 * control characters (C0 or C1) or unpaired surrogates. It is only a label; the
 * content type never comes from it, and it is stored with an extension of that type
 * ({@link storedName}).
 *
 * @since 0.1.0
 * @category models
 */
export const FileName = Schema.Trim.pipe(
  Schema.minLength(1),
  Schema.maxLength(255),
  Schema.pattern(/^[^/\\\p{Cc}\p{Cs}]+$/u, {
    message: () => "a file name without path separators or control characters"
  })
)

/**
 * A SHA-256 checksum as 64 lower-case hex digits.
 *
 * @since 0.1.0
 * @category models
 */
export const Sha256 = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/), Schema.brand("Sha256"))

/** @since 0.1.0 @category models */
export type Sha256 = typeof Sha256.Type

/**
 * A stored file's description. `ownerMemberId` is the member whose account
 * uploaded it; `size` is in bytes.
 *
 * @since 0.1.0
 * @category models
 */
export const StoredFile = Schema.Struct({
  id: FileId,
  ownerMemberId: MemberId,
  name: Schema.String,
  contentType: ContentType,
  size: Schema.Int.pipe(Schema.nonNegative()),
  sha256: Sha256,
  createdAt: Schema.DateTimeUtc
}).annotations({ identifier: "StoredFile" })

/** @since 0.1.0 @category models */
export type StoredFile = typeof StoredFile.Type

/**
 * The file store. `put` fails with `UniqueViolation` when the id exists (a file is
 * never overwritten) and takes part in the current unit of work; `get` returns the
 * bytes as they were put.
 *
 * `read` is optional: the bytes of a file `head` described, as a stream of pieces,
 * so that a download holds one piece at a time instead of the whole file (a 20 MiB
 * file read with `get` is held whole, and more than once while it is decoded). The
 * pieces, in order, are the bytes as they were put; each is the reader's own. The
 * stream may run outside any unit of work, after the read that found the file (a
 * file is never overwritten), and fails with `InfrastructureError` when the bytes
 * cannot be read. Without it, {@link Files} reads downloads with `get`.
 *
 * @since 0.1.0
 * @category ports
 */
export class FileStore extends Context.Tag("@zhongbao/core/FileStore")<
  FileStore,
  {
    readonly put: (
      file: StoredFile,
      bytes: Uint8Array
    ) => Effect.Effect<void, InfrastructureError | UniqueViolation>
    readonly get: (
      id: FileId
    ) => Effect.Effect<
      Option.Option<{ readonly file: StoredFile; readonly bytes: Uint8Array }>,
      InfrastructureError
    >
    readonly head: (id: FileId) => Effect.Effect<Option.Option<StoredFile>, InfrastructureError>
    readonly read?: ((file: StoredFile) => Stream.Stream<Uint8Array, InfrastructureError>) | undefined
  }
>() {}

/**
 * R54: the allow-listed content type of some bytes, read from their magic numbers
 * (PDF, PNG, JPEG, GIF, WebP, docx/xlsx/pptx, doc/xls/ppt); `undefined` for
 * anything else.
 *
 * @since 0.1.0
 * @category content types
 */
export const contentTypeOf = (bytes: Uint8Array): ContentType | undefined => sniff(bytes)

/**
 * R54: the SHA-256 of some bytes as lower-case hex, with Web Crypto
 * (`globalThis.crypto.subtle`, in Node ≥ 20 and browsers).
 *
 * @since 0.1.0
 * @category checksums
 */
export const sha256 = (bytes: Uint8Array): Effect.Effect<Sha256, InfrastructureError> =>
  Effect.tryPromise({
    try: () => globalThis.crypto.subtle.digest("SHA-256", bytes),
    catch: (cause) => new InfrastructureError({ port: "WebCrypto", message: "SHA-256 failed", cause })
  }).pipe(
    Effect.map(
      (digest) =>
        Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("") as Sha256
    )
  )
