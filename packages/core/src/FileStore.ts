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
 * A file name as the uploader gave it: 1–255 characters, no path separators,
 * control characters or unpaired surrogates. It is only a label; the content type never comes from it.
 *
 * @since 0.1.0
 * @category models
 */
export const FileName = Schema.Trim.pipe(
  Schema.minLength(1),
  Schema.maxLength(255),
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  Schema.pattern(/^[^/\\\u0000-\u001f\u007f\p{Cs}]+$/u, {
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
