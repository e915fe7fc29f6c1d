/**
 * Uploading and downloading files (R54): proof materials and attachments.
 *
 * An upload is checked before anything is stored: its size against the platform's
 * `fileSizeLimitBytes`, its content type from its bytes against the allow-list of
 * `FileStore.ContentType`. Its SHA-256 is computed, and the file is written under a
 * new id that is never written again.
 *
 * R63 on uploads: the idempotency fingerprint of a command is the canonical JSON of
 * its input, and an upload's input holds megabytes. So an upload's fingerprint is
 * taken over what identifies its content instead — name, content type, size and
 * SHA-256 — never over the bytes. A repeat with the same key and the same file
 * returns the first `StoredFile` and stores nothing; the same key with another file
 * is `IdempotencyKeyReused`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { denied, invalid, notFound } from "./Errors.js"
import { ContentType, contentTypeOf, FileName, FileStore, Sha256, sha256, StoredFile } from "./FileStore.js"
import * as Ids from "./Ids.js"
import { type AccountId, FileId } from "./Ids.js"
import { type CommandOptions, inputError, makeRunner } from "./internal/command.js"
import { type Actor, isOperator } from "./Member.js"

/**
 * Input of {@link Files.upload}: the name the uploader gives and the bytes.
 *
 * @since 0.1.0
 * @category inputs
 */
export const UploadInput = Schema.Struct({ name: FileName, bytes: Schema.Uint8ArrayFromSelf })

/**
 * Input of {@link Files.download} and {@link Files.info}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const FileRef = Schema.Struct({ fileId: FileId })

/** What the upload command sees, and its R63 fingerprint: the bytes stay out of it. */
const Described = Schema.Struct({
  name: Schema.String,
  contentType: ContentType,
  size: Schema.Int,
  sha256: Sha256
})

const formatBytes = (n: number) =>
  n >= 1024 * 1024
    ? `${(n / (1024 * 1024)).toFixed(1)} MiB`
    : n >= 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${n} B`

/**
 * Use cases of files.
 *
 * @since 0.1.0
 * @category services
 */
export class Files extends Effect.Service<Files>()("@zhongbao/core/Files", {
  effect: Effect.gen(function* () {
    const { command, query, settings } = yield* makeRunner
    const store = yield* FileStore
    const decodeUpload = Schema.decodeUnknown(UploadInput)

    const storeCommand = (bytes: Uint8Array) =>
      command({ name: "uploadFile", input: Described, output: StoredFile, rule: "R54" }, (ctx, input) =>
        Effect.gen(function* () {
          const member = ctx.actor.member
          if (member === null) {
            return yield* denied(
              "R54",
              "file.member_required",
              "a file belongs to a member; an operator account uploads none"
            )
          }
          const file: StoredFile = {
            id: Ids.make(),
            ownerMemberId: member.id,
            name: input.name,
            contentType: input.contentType,
            size: input.size,
            sha256: input.sha256,
            createdAt: ctx.now
          }
          yield* store.put(file, bytes)
          yield* ctx.audit({
            entity: "file",
            entityId: file.id,
            action: "file.uploaded",
            after: `${file.contentType} ${file.size} sha256:${file.sha256}`
          })
          return file
        })
      )

    /** The file if the actor may see it: its owner's accounts and operators (R5). */
    const visible = <A>(actor: Actor, found: Option.Option<A>, file: (a: A) => StoredFile) =>
      Option.isSome(found) && (isOperator(actor) || actor.member?.id === file(found.value).ownerMemberId)
        ? Effect.succeed(found.value)
        : Effect.fail(notFound("file"))

    return {
      /**
       * R54: stores a file for the actor's member. A type outside the allow-list
       * (read from the bytes) or a size over the limit is refused before anything is
       * stored (`InvalidInput`, field `bytes`).
       */
      upload: (accountId: AccountId, input: typeof UploadInput.Encoded, options: CommandOptions = {}) =>
        Effect.gen(function* () {
          const decoded = yield* Effect.mapError(decodeUpload(input), inputError("R54", {}))
          const bytes = decoded.bytes.slice()
          if (bytes.length > settings.fileSizeLimitBytes) {
            return yield* invalid(
              "R54",
              "bytes",
              "file.too_large",
              `bytes: the file is ${formatBytes(bytes.length)}; the limit is ${formatBytes(settings.fileSizeLimitBytes)}`
            )
          }
          const contentType = contentTypeOf(bytes)
          if (contentType === undefined) {
            return yield* invalid(
              "R54",
              "bytes",
              "file.type_not_allowed",
              "bytes: the content is not a PDF, an image (PNG, JPEG, GIF, WebP) or an office document"
            )
          }
          const digest = yield* sha256(bytes)
          return yield* storeCommand(bytes)(
            accountId,
            { name: decoded.name, contentType, size: bytes.length, sha256: digest },
            options
          )
        }),

      /** R54, R5: the file and its bytes, for its owner's accounts and operators. */
      download: query({ input: FileRef, rule: "R54" }, (ctx, input) =>
        Effect.flatMap(store.get(input.fileId), (found) => visible(ctx.actor!, found, (f) => f.file))
      ),

      /** R54, R5: the file's description without its bytes, for the same readers. */
      info: query({ input: FileRef, rule: "R54" }, (ctx, input) =>
        Effect.flatMap(store.head(input.fileId), (found) => visible(ctx.actor!, found, (f) => f))
      )
    }
  })
}) {}
