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
 * A file is read by its owner's accounts and operators. Attached (to a demand's form,
 * a response's proposal or a service-log entry, each checked to be the attacher's
 * own file), it is read too by whoever may read what it is attached to, when the
 * reader names that: `demandId` or `responseId` in {@link FileRef}.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { canFollowDemand, canReadDemand, canSeeResponse } from "./Access.js"
import { denied, InfrastructureError, type InvalidInput, invalid, notFound } from "./Errors.js"
import {
  ContentType,
  contentTypeOf,
  FileName,
  FileStore,
  Sha256,
  sha256,
  StoredFile,
  storedName
} from "./FileStore.js"
import * as Ids from "./Ids.js"
import { type AccountId, DemandId, FileId, ResponseId } from "./Ids.js"
import { type CommandOptions, inputError, makeRunner, strictly } from "./internal/command.js"
import { type Actor, isOperator } from "./Member.js"
import { DemandRepository, ResponseRepository, ServiceLogRepository } from "./Persistence.js"

/**
 * Input of {@link Files.upload}: the name the uploader gives and the bytes.
 *
 * @since 0.1.0
 * @category inputs
 */
export const UploadInput = Schema.Struct({ name: FileName, bytes: Schema.Uint8ArrayFromSelf })

/**
 * Input of {@link Files.download} and {@link Files.info}: the file, and where the
 * reader found it attached, if it is not the file's owner.
 *
 * @since 0.1.0
 * @category inputs
 */
export const FileRef = Schema.Struct({
  fileId: FileId,
  /**
   * A demand the file is attached to: to its form (for whoever reads the demand,
   * R4) or to an entry of its service log (for whoever follows it, R2).
   */
  demandId: Schema.optional(DemandId),
  /** A response whose proposal the file is attached to (for whoever sees it, R4). */
  responseId: Schema.optional(ResponseId)
})

/** What the upload command sees, and its R63 fingerprint: the bytes stay out of it. */
const Described = Schema.Struct({
  name: Schema.String,
  contentType: ContentType,
  size: Schema.Int,
  sha256: Sha256
})

/** How many service-log entries are read at a time looking for an attachment. */
const logPage = 100

/**
 * A size as people read it: whole mebibytes or kibibytes as such (a limit is one), any
 * other size in bytes, exactly: one byte over a limit of 2 MiB reads "2,097,153 bytes",
 * where one decimal of MiB would read "2.0 MiB", the limit itself.
 */
const formatBytes = (n: number) => {
  const [unit, name] = n >= 1024 * 1024 ? [1024 * 1024, "MiB"] : [1024, "KiB"]
  return n >= unit && n % unit === 0 ? `${n / unit} ${name}` : `${n.toLocaleString("en-US")} bytes`
}

/**
 * R54: the refusal of a file of `size` bytes over the platform's `limit`, on the field
 * `bytes`, stating both. An adapter that sees an upload's size before core does (as
 * its body streams in) refuses it with this, in core's words.
 *
 * @since 0.2.0
 * @category errors
 */
export const tooLarge = (size: number, limit: number): InvalidInput =>
  invalid(
    "R54",
    "bytes",
    "file.too_large",
    `bytes: the file is ${formatBytes(size)}; the limit is ${formatBytes(limit)}`
  )

/**
 * The pieces of a file's bytes, failing once they go past its `size` or end short
 * of it: a download's `Content-Length` is the size, so bytes of another length must
 * not pass for the file.
 */
const sized = (
  file: StoredFile,
  pieces: Stream.Stream<Uint8Array, InfrastructureError>
): Stream.Stream<Uint8Array, InfrastructureError> =>
  Stream.suspend(() => {
    let read = 0
    const wrongLength = () =>
      new InfrastructureError({
        port: "FileStore",
        message: `FileStore.read: file ${file.id} is ${file.size} bytes; its stored bytes are ${read}${read > file.size ? " or more" : ""}`
      })
    return Stream.concat(
      Stream.mapEffect(pieces, (piece) => {
        read += piece.length
        return read > file.size ? Effect.fail(wrongLength()) : Effect.succeed(piece)
      }),
      Stream.suspend(() => (read === file.size ? Stream.empty : Stream.fail(wrongLength())))
    )
  })

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
    const demands = yield* DemandRepository
    const responses = yield* ResponseRepository
    const log = yield* ServiceLogRepository
    const decodeUpload = Schema.decodeUnknown(UploadInput, strictly)

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
            // R63: the name as given is the key's input; two names stored alike are two inputs.
            name: storedName(input.name, input.contentType),
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

    /** Whether a service-log entry of the demand, from `afterSeq` on, has the file. */
    const loggedWith = (
      demandId: DemandId,
      fileId: FileId,
      afterSeq = 0
    ): Effect.Effect<boolean, InfrastructureError> =>
      Effect.flatMap(log.list(demandId, afterSeq, logPage), (entries) =>
        entries.some((e) => e.attachments.includes(fileId))
          ? Effect.succeed(true)
          : entries.length < logPage
            ? Effect.succeed(false)
            : loggedWith(demandId, fileId, entries[entries.length - 1]!.seq)
      )

    /**
     * Whether the file is attached where `ref` says and the actor may read it there:
     * a response's proposal (R4), a demand's form (whoever reads the demand) or its
     * service log (whoever follows it, R2). The file must be its attacher's own
     * (R54), as attaching checks. With both `responseId` and `demandId`, either
     * place will do.
     */
    const attachedFor = (
      actor: Actor,
      ref: typeof FileRef.Type,
      file: StoredFile
    ): Effect.Effect<boolean, InfrastructureError> => {
      const viaDemand = (demandId: DemandId | undefined) =>
        demandId === undefined
          ? Effect.succeed(false)
          : Effect.flatMap(demands.findById(demandId), (found) => {
              if (Option.isNone(found) || found.value.publisherId !== file.ownerMemberId) {
                return Effect.succeed(false)
              }
              const demand = found.value
              if (canReadDemand(actor, demand) && (demand.form.attachments ?? []).includes(file.id)) {
                return Effect.succeed(true)
              }
              return canFollowDemand(actor, demand) ? loggedWith(demand.id, file.id) : Effect.succeed(false)
            })
      if (ref.responseId === undefined) return viaDemand(ref.demandId)
      return Effect.flatMap(
        responses.findById(ref.responseId),
        (found): Effect.Effect<boolean, InfrastructureError> =>
          Option.isSome(found) &&
          canSeeResponse(actor, found.value) &&
          found.value.responderId === file.ownerMemberId &&
          (found.value.proposal.attachments ?? []).includes(file.id)
            ? Effect.succeed(true)
            : viaDemand(ref.demandId)
      )
    }

    /**
     * The file if the actor may read it (R5): its owner's accounts and operators, and
     * whoever may read what `ref` says it is attached to.
     */
    const visible = (actor: Actor, ref: typeof FileRef.Type, found: Option.Option<StoredFile>) => {
      if (Option.isNone(found)) return Effect.fail(notFound("file"))
      const file = found.value
      if (isOperator(actor) || actor.member?.id === file.ownerMemberId) return Effect.succeed(file)
      return Effect.flatMap(attachedFor(actor, ref, file), (attached) =>
        attached ? Effect.succeed(file) : Effect.fail(notFound("file"))
      )
    }

    return {
      /**
       * R54: stores a file for the actor's member. An empty file, a type outside the
       * allow-list (read from the bytes) or a size over the limit is refused before
       * anything is stored (`InvalidInput`, field `bytes`). Its name ends with an
       * extension of that type (`FileStore.storedName`).
       */
      upload: (accountId: AccountId, input: typeof UploadInput.Encoded, options: CommandOptions = {}) =>
        Effect.gen(function* () {
          const decoded = yield* Effect.mapError(decodeUpload(input), inputError("R54", {}))
          const given = decoded.bytes
          if (given.length > settings.fileSizeLimitBytes) {
            return yield* tooLarge(given.length, settings.fileSizeLimitBytes)
          }
          if (given.length === 0) {
            return yield* invalid("R54", "bytes", "file.empty", "bytes: the file is empty")
          }
          const contentType = contentTypeOf(given)
          if (contentType === undefined) {
            return yield* invalid(
              "R54",
              "bytes",
              "file.type_not_allowed",
              "bytes: the content is not a PDF, an image (PNG, JPEG, GIF, WebP) or an office document"
            )
          }
          // Checked above while nothing else ran; copied before the first wait, so a
          // caller changing its array afterwards changes neither the hash nor what is
          // stored. A copy of the bytes, also of a Node `Buffer`, whose `slice` is a view.
          const bytes = new Uint8Array(given)
          const digest = yield* sha256(bytes)
          return yield* storeCommand(bytes)(
            accountId,
            { name: decoded.name, contentType, size: bytes.length, sha256: digest },
            options
          )
        }),

      /**
       * R54, R5: the file and its bytes, for its owner's accounts and operators, and
       * for whoever reads what it is attached to, named in the input (R4, R2).
       */
      download: query({ input: FileRef, rule: "R54" }, (ctx, input) =>
        Effect.flatMap(store.head(input.fileId), (head) =>
          Effect.flatMap(visible(ctx.actor!, input, head), () =>
            Effect.flatMap(store.get(input.fileId), (found) =>
              Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(notFound("file"))
            )
          )
        )
      ),

      /**
       * R54, R5: the file and its bytes as a stream of pieces, for the same readers as
       * {@link download}: for serving a file without holding it whole. The access
       * check and the file's description are read first (a refusal or `NotFound`
       * fails the effect, not the stream); the bytes are read as the stream is
       * pulled, through the store's `read` where it has one (else its `get`, read at
       * once). The stream fails with `InfrastructureError` if the bytes cannot be
       * read or add up to another length than the file's `size`.
       *
       * @since 0.1.3
       */
      open: query({ input: FileRef, rule: "R54" }, (ctx, input) =>
        Effect.flatMap(store.head(input.fileId), (head) =>
          Effect.flatMap(visible(ctx.actor!, input, head), (file) => {
            if (store.read !== undefined)
              return Effect.succeed({ file, content: sized(file, store.read(file)) })
            return Effect.flatMap(store.get(input.fileId), (found) =>
              Option.isSome(found)
                ? Effect.succeed({ file, content: sized(file, Stream.make(found.value.bytes)) })
                : Effect.fail(notFound("file"))
            )
          })
        )
      ),

      /** R54, R5: the file's description without its bytes, for the same readers. */
      info: query({ input: FileRef, rule: "R54" }, (ctx, input) =>
        Effect.flatMap(store.head(input.fileId), (found) => visible(ctx.actor!, input, found))
      )
    }
  })
}) {}
