import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import {
  AuditTrail,
  Commissioning,
  Errors,
  Consulting,
  Files,
  type FileStore,
  Lists,
  Member,
  Membership,
  Notifications,
  Outcome,
  Publishing,
  Responding,
  Review,
  Revision,
  Reward,
  Rewards,
  Selection,
  Settings,
  Statistics
} from "@zhongbao/core"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Multipasta from "multipasta"
import { Api } from "../Api.js"
import { InvalidInput } from "../ApiError.js"
import { bodyTooLarge, eachChunk, joined, type Reading } from "./body.js"
import { ifMatchValues } from "./conditions.js"
import { served } from "./served.js"
import {
  type CoreError,
  account,
  accountWithoutBody,
  conditional,
  core,
  coreRead,
  limited,
  maybeAccount,
  optionsOf
} from "./handle.js"

const revisedAccount = Revision.withRevision(Member.Account)
const revisedManager = Revision.withRevision(Member.TechnologyManager)
const revisedProfile = Revision.withRevision(Reward.InstitutionProfile)

/**
 * The core input of an `If-Match` header under `name`: the revisions it names (`*`
 * any), none without it. Records kept with a version of their own take them as
 * `ifVersion`, the others as `ifRevision`.
 */
const ifMatchOf =
  <K extends "ifRevision" | "ifVersion">(name: K) =>
  (headers: { readonly "if-match"?: string | undefined }): { readonly [P in K]?: Revision.Expected } => {
    const expected = ifMatchValues(headers["if-match"])
    return expected === undefined ? {} : ({ [name]: expected } as { readonly [P in K]: Revision.Expected })
  }
const ifRevisionOf = ifMatchOf("ifRevision")
const ifVersionOf = ifMatchOf("ifVersion")

/** The core input of `If-None-Match: *`: save only if none was saved. */
const ifAbsentOf = (headers: { readonly "if-none-match"?: "*" | undefined }) =>
  headers["if-none-match"] === "*" ? { ifAbsent: true as const } : {}

/** @internal */
export const HallLive = HttpApiBuilder.group(Api, "hall", (handlers) =>
  Effect.gen(function* () {
    const lists = yield* Lists.Lists
    const membership = yield* Membership.Membership
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.flatMap(maybeAccount, (a) => coreRead(lists.hall(a, urlParams)))
      )
      .handle("institutions", ({ urlParams }) =>
        Effect.flatMap(maybeAccount, (a) => coreRead(membership.registeredInstitutions(a, urlParams)))
      )
  }).pipe(Effect.map(served))
)

/** @internal */
export const DemandsLive = HttpApiBuilder.group(Api, "demands", (handlers) =>
  Effect.gen(function* () {
    const publishing = yield* Publishing.Publishing
    const lists = yield* Lists.Lists
    return handlers
      .handle("draft", ({ payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "writes", headers, (options) => core(publishing.draft(a, payload, options)))
        )
      )
      .handle("get", ({ path }) => Effect.flatMap(maybeAccount, (a) => coreRead(publishing.get(a, path))))
      .handle("edit", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "writes", headers, (options) =>
            conditional(
              publishing.edit(
                a,
                { demandId: path.demandId, form: payload.form, ...ifVersionOf(headers) },
                options
              )
            )
          )
        )
      )
      .handle("submit", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) =>
          limited(a, "writes", headers, (options) => core(publishing.submit(a, path, options)))
        )
      )
      .handle("mine", ({ urlParams }) =>
        Effect.flatMap(account, (a) => coreRead(lists.myDemands(a, urlParams)))
      )
  }).pipe(Effect.map(served))
)

/** @internal */
export const ReviewLive = HttpApiBuilder.group(Api, "review", (handlers) =>
  Effect.gen(function* () {
    const review = yield* Review.Review
    return handlers
      .handle("pending", ({ urlParams }) =>
        Effect.flatMap(account, (a) => coreRead(review.pending(a, urlParams)))
      )
      .handle("approve", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) => core(review.approve(a, path, optionsOf(headers))))
      )
      .handle("reject", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          core(review.reject(a, { demandId: path.demandId, reason: payload.reason }, optionsOf(headers)))
        )
      )
  }).pipe(Effect.map(served))
)

/** @internal */
export const ResponsesLive = HttpApiBuilder.group(Api, "responses", (handlers) =>
  Effect.gen(function* () {
    const responding = yield* Responding.Responding
    const selection = yield* Selection.Selection
    const lists = yield* Lists.Lists
    return handlers
      .handle("respond", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "responding", headers, (options) =>
            core(responding.respond(a, { demandId: path.demandId, proposal: payload.proposal }, options))
          )
        )
      )
      .handle("get", ({ path }) => Effect.flatMap(account, (a) => coreRead(lists.response(a, path))))
      .handle("revise", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "responding", headers, (options) =>
            conditional(
              responding.revise(
                a,
                { responseId: path.responseId, proposal: payload.proposal, ...ifVersionOf(headers) },
                options
              )
            )
          )
        )
      )
      .handle("withdraw", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) =>
          limited(a, "writes", headers, (options) => core(responding.withdraw(a, path, options)))
        )
      )
      .handle("adopt", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) =>
          limited(a, "sms", headers, (options) => core(selection.adopt(a, path, options)))
        )
      )
      .handle("feedback", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "sms", headers, (options) =>
            core(
              selection.giveFeedback(a, { responseId: path.responseId, feedback: payload.feedback }, options)
            )
          )
        )
      )
      .handle("endSelection", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "sms", headers, (options) =>
            core(
              selection.endSelection(
                a,
                payload.feedback === undefined
                  ? { demandId: path.demandId }
                  : { demandId: path.demandId, feedback: payload.feedback },
                options
              )
            )
          )
        )
      )
      .handle("ofDemand", ({ path, urlParams }) =>
        Effect.flatMap(account, (a) =>
          coreRead(lists.demandResponses(a, { ...urlParams, demandId: path.demandId }))
        )
      )
      .handle("mine", ({ urlParams }) =>
        Effect.flatMap(account, (a) => coreRead(lists.myResponses(a, urlParams)))
      )
      .handle("toMe", ({ urlParams }) =>
        Effect.flatMap(account, (a) => coreRead(lists.responsesToMe(a, urlParams)))
      )
  }).pipe(Effect.map(served))
)

/** @internal */
export const ConsultationsLive = HttpApiBuilder.group(Api, "consultations", (handlers) =>
  Effect.gen(function* () {
    const consulting = yield* Consulting.Consulting
    return handlers
      .handle("ask", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "consulting", headers, (options) =>
            core(consulting.ask(a, { demandId: path.demandId, text: payload.text }, options))
          )
        )
      )
      .handle("askResponder", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "consulting", headers, (options) =>
            core(consulting.askResponder(a, { responseId: path.responseId, text: payload.text }, options))
          )
        )
      )
      .handle("threads", ({ path, urlParams }) =>
        Effect.flatMap(account, (a) =>
          coreRead(consulting.threads(a, { ...urlParams, demandId: path.demandId }))
        )
      )
      .handle("reply", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "consulting", headers, (options) =>
            core(consulting.reply(a, { threadId: path.threadId, text: payload.text }, options))
          )
        )
      )
      .handle("messages", ({ path, urlParams }) =>
        Effect.flatMap(account, (a) =>
          coreRead(consulting.messages(a, { ...urlParams, threadId: path.threadId }))
        )
      )
  }).pipe(Effect.map(served))
)

/** @internal */
export const ServiceLogLive = HttpApiBuilder.group(Api, "serviceLog", (handlers) =>
  Effect.gen(function* () {
    const outcome = yield* Outcome.Outcome
    return handlers
      .handle("append", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "writes", headers, (options) =>
            core(outcome.appendLog(a, { demandId: path.demandId, entry: payload.entry }, options))
          )
        )
      )
      .handle("list", ({ path, urlParams }) =>
        Effect.flatMap(account, (a) =>
          coreRead(outcome.serviceLog(a, { ...urlParams, demandId: path.demandId }))
        )
      )
      .handle("solved", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "sms", headers, (options) =>
            core(
              outcome.solved(
                a,
                payload.serviceFee === undefined
                  ? { demandId: path.demandId }
                  : { demandId: path.demandId, serviceFee: payload.serviceFee },
                options
              )
            )
          )
        )
      )
      .handle("unsolved", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) =>
          limited(a, "writes", headers, (options) => core(outcome.unsolved(a, path, options)))
        )
      )
      .handle("restart", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "sms", headers, (options) =>
            core(outcome.restart(a, { demandId: path.demandId, form: payload.form }, options))
          )
        )
      )
  }).pipe(Effect.map(served))
)

/** @internal */
export const CommissionsLive = HttpApiBuilder.group(Api, "commissions", (handlers) =>
  Effect.gen(function* () {
    const commissioning = yield* Commissioning.Commissioning
    return handlers
      .handle("request", ({ payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "sms", headers, (options) => core(commissioning.request(a, payload, options)))
        )
      )
      .handle("accept", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) =>
          limited(a, "sms", headers, (options) => core(commissioning.accept(a, path, options)))
        )
      )
      .handle("decline", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) =>
          limited(a, "sms", headers, (options) => core(commissioning.decline(a, path, options)))
        )
      )
      .handle("end", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) =>
          limited(a, "writes", headers, (options) => core(commissioning.end(a, path, options)))
        )
      )
      .handle("list", ({ urlParams }) =>
        Effect.flatMap(account, (a) => coreRead(commissioning.list(a, urlParams)))
      )
  }).pipe(Effect.map(served))
)

/** @internal */
export const RewardsLive = HttpApiBuilder.group(Api, "rewards", (handlers) =>
  Effect.gen(function* () {
    const rewards = yield* Rewards.Rewards
    return handlers
      .handle("openRound", ({ payload, headers }) =>
        Effect.flatMap(account, (a) => core(rewards.openRound(a, payload, optionsOf(headers))))
      )
      .handle("closeRound", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) => core(rewards.closeRound(a, path, optionsOf(headers))))
      )
      .handle("rounds", ({ urlParams }) =>
        Effect.flatMap(maybeAccount, (a) => coreRead(rewards.rounds(a, urlParams)))
      )
      .handle("round", ({ path }) => Effect.flatMap(maybeAccount, (a) => coreRead(rewards.round(a, path))))
      .handle("roundApplications", ({ path, urlParams }) =>
        Effect.flatMap(account, (a) =>
          coreRead(rewards.roundApplications(a, { ...urlParams, roundId: path.roundId }))
        )
      )
      .handle("saveProfile", ({ payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "writes", headers, (options) =>
            conditional(
              Effect.flatMap(
                rewards.saveProfile(
                  a,
                  { ...payload, ...ifRevisionOf(headers), ...ifAbsentOf(headers) },
                  options
                ),
                revisedProfile
              )
            )
          )
        )
      )
      .handle("profile", ({ urlParams }) =>
        Effect.flatMap(account, (a) =>
          coreRead(
            Effect.flatMap(rewards.profile(a, urlParams), (profile) =>
              profile === null ? Effect.succeed(null) : revisedProfile(profile)
            )
          )
        )
      )
      .handle("draft", ({ payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "writes", headers, (options) => core(rewards.draft(a, payload, options)))
        )
      )
      .handle("update", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "writes", headers, (options) =>
            conditional(
              rewards.update(
                a,
                { ...payload, applicationId: path.applicationId, ...ifVersionOf(headers) },
                options
              )
            )
          )
        )
      )
      .handle("submit", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) =>
          limited(a, "writes", headers, (options) => core(rewards.submit(a, path, options)))
        )
      )
      .handle("approve", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          core(
            rewards.approve(
              a,
              { applicationId: path.applicationId, amount: payload.amount },
              optionsOf(headers)
            )
          )
        )
      )
      .handle("reject", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          core(
            rewards.reject(
              a,
              { applicationId: path.applicationId, reason: payload.reason },
              optionsOf(headers)
            )
          )
        )
      )
      .handle("application", ({ path }) =>
        Effect.flatMap(account, (a) => coreRead(rewards.application(a, path)))
      )
      .handle("mine", ({ urlParams }) =>
        Effect.flatMap(account, (a) => coreRead(rewards.myApplications(a, urlParams)))
      )
  }).pipe(Effect.map(served))
)

const uploadInvalid = (message: string) =>
  new InvalidInput({ rule: "R54", code: "input.invalid", field: "file", message: `file: ${message}` })

/** R54's refusal of a file over the limit in core's words (`Files.tooLarge`), on the part `file`. */
const fileTooLarge = (size: number, max: number) => new InvalidInput(onFilePart(Files.tooLarge(size, max)))

/** What an upload that the parser cannot read fails with. */
const notMultipart = () => uploadInvalid("a multipart/form-data body with one part named `file`")

const unreadableHeaders = () =>
  uploadInvalid(
    "a part's headers could not be read; send a file name with non-ASCII characters as `filename*=UTF-8''…` or in the field `name`"
  )

/** The most parts an upload may have (one file and its name are two). */
const maxParts = 16

/**
 * A parameter of a part's `Content-Disposition` multipasta left out. Browsers (the
 * WHATWG form encoding) and undici write a file's name raw in UTF-8, escaping only
 * `"`, CR and LF (`%22`, `%0D`, `%0A`); multipasta reads the header as UTF-8 but its
 * parameter pattern stops at U+00FF, and then drops the whole disposition: the part
 * has no name. Read here from the header as the parser decoded it.
 */
const dispositionParameter = (info: Multipasta.PartInfo, key: "name" | "filename"): string | undefined => {
  const header = info.headers["content-disposition"]
  const text = Array.isArray(header) ? header[0] : header
  if (text === undefined) return undefined
  const value = new RegExp(`;\\s*${key}="([^"]*)"`, "i").exec(text)?.[1]
  return value?.replace(/%(22|0D|0A)/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

/** A part's name and file name, read again from its headers when multipasta could not. */
const partOf = (info: Multipasta.PartInfo) =>
  info.name !== "" || info.contentDisposition !== ""
    ? { name: info.name, filename: info.filename }
    : { name: dispositionParameter(info, "name") ?? "", filename: dispositionParameter(info, "filename") }

/**
 * R54: the part `file` of an upload (and its optional field `name`), parsed from the
 * whole body read first (within the body limit the middleware sets, `413` above it),
 * keeping at most `max` bytes of the file (`400 file.too_large` above it).
 *
 * Parsed with multipasta, the parser @effect/platform's `Multipart` runs, called
 * directly over the bytes in one synchronous pass: the platform's channel around it
 * never ends when the body ends before its closing delimiter (an empty body, a body
 * cut short in a part or in a part's headers, a `--boundary--` inside a part without
 * the line break before it, a content type naming two boundaries): over the web
 * handler it looped at full CPU, over Node the request waited forever. Here a body
 * whose closing delimiter the parser does not reach is refused (`400`), as is a part
 * whose headers it cannot read or whose `filename*` is not valid percent-encoding
 * (the parser's `decodeURIComponent` throws). The part named `file` is the file
 * whether or not it has a `filename` (RFC 7578 makes it optional); a body with two
 * such parts, or two fields `name`, is refused rather than one of them taken unasked.
 * Fields of other names are left alone: upload libraries send their own (Uppy's
 * `type` and `relativePath`, say).
 *
 * The body goes to the parser chunk by chunk as it arrives, within the body limit the
 * middleware set (`413` above it), and only the file's bytes are kept (views of those
 * chunks), joined once at the end: a 20 MiB upload is not held a second time as its
 * whole body (the platform's `arrayBuffer` over Node, besides, took 4.3 s of CPU to read
 * 19 MiB sent in 64 KiB chunks). A body that stops arriving for `idle` is refused
 * `408` (`body.timeout`) and its connection closed, giving its turn up.
 */
const readUpload = (request: HttpServerRequest.HttpServerRequest, max: number, idle: Duration.Duration) =>
  Effect.flatMap(IncomingMessage.MaxBodySize, (maxBody) =>
    Effect.suspend(() => {
      const limit = Option.match(maxBody, { onNone: () => Number.POSITIVE_INFINITY, onSome: Number })
      let size = 0
      let unreadable = false
      let done = false
      let error: Multipasta.MultipartError | undefined
      let file: { name: string; chunks: Array<Uint8Array>; size: number } | undefined
      let files = 0
      let labels = 0
      let label: string | undefined
      const parser = Multipasta.make({
        headers: request.headers,
        maxParts,
        isFile: (info) => partOf(info).name === "file",
        onFile: (info) => {
          files += 1
          if (file !== undefined) return () => {}
          const part = partOf(info)
          const current = { name: part.filename ?? part.name, chunks: [] as Array<Uint8Array>, size: 0 }
          file = current
          return (chunk) => {
            if (chunk === null) return
            current.size += chunk.length
            if (current.size <= max) current.chunks.push(chunk)
          }
        },
        onField: (info, value) => {
          if (partOf(info).name !== "name") return
          labels += 1
          label = Multipasta.decodeField(info, value)
        },
        onError: (e) => {
          error ??= e
        },
        onDone: () => {
          done = true
        }
      })
      /** Runs the parser on its input; a throw (headers it cannot decode) makes the body unreadable. */
      const parse = (f: () => void) => {
        if (unreadable) return
        try {
          f()
        } catch {
          unreadable = true
        }
      }
      /** The upload the parsed body holds, or why it is refused. */
      const checked = () => {
        if (unreadable) return Effect.fail(unreadableHeaders())
        if (error !== undefined)
          return Effect.fail(
            error._tag === "BadHeaders" || error._tag === "InvalidDisposition"
              ? unreadableHeaders()
              : notMultipart()
          )
        if (!done) return Effect.fail(notMultipart())
        if (file === undefined) return Effect.fail(uploadInvalid("is missing"))
        if (files > 1)
          return Effect.fail(uploadInvalid(`send one part named \`file\`; this body has ${files}`))
        if (labels > 1)
          return Effect.fail(
            new InvalidInput({
              rule: "R54",
              code: "input.invalid",
              field: "name",
              message: `name: send at most one field \`name\`; this body has ${labels}`
            })
          )
        if (file.size > max) return Effect.fail(fileTooLarge(file.size, max))
        return Effect.succeed({ name: label ?? file.name, bytes: joined(file.chunks, file.size) })
      }
      const body = eachChunk(request, idle, "upload", (chunk) => {
        size += chunk.length
        if (size > limit) return Effect.fail(bodyTooLarge())
        parse(() => parser.write(chunk))
        return Effect.void
      })
      return Effect.flatMap(body, () => {
        parse(() => parser.end())
        return checked()
      })
    })
  )

/** RFC 8187's value: `encodeURIComponent` leaves `'`, `(`, `)` and `*`, which are not attr-chars. */
const extendedValue = (name: string) =>
  encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

const contentDisposition = (name: string) =>
  `attachment; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, "_")}"; filename*=UTF-8''${extendedValue(name)}`

/** Core names an upload's content `bytes`; over HTTP it is the multipart part `file`. */
const onFilePart = (error: Errors.InvalidInput) => ({
  rule: error.rule,
  code: error.code,
  field: "file",
  message: error.message.replace(/^bytes:/, "file:")
})

const asFilePart = (error: CoreError): CoreError =>
  error._tag === "InvalidInput" && error.field === "bytes"
    ? new Errors.InvalidInput(onFilePart(error))
    : error

/**
 * A download's bytes as its response streams them (R54: read a piece at a time, never
 * held whole). Should they fail once the status and `Content-Length` are sent (the
 * store failing mid-file), the failure is logged and the connection closed: a Node
 * response would otherwise end as if whole and keep the connection, and the client
 * would wait for the bytes it was promised. Under a web handler the body's stream
 * fails instead, which the host's server turns into an aborted response.
 */
const cutOnFailure = (
  request: HttpServerRequest.HttpServerRequest,
  file: FileStore.StoredFile,
  content: Stream.Stream<Uint8Array, Errors.InfrastructureError>
): Stream.Stream<Uint8Array, Errors.InfrastructureError> =>
  Stream.catchAllCause(content, (cause) =>
    Stream.unwrap(
      Effect.as(
        Effect.zipRight(
          Effect.logError(
            `zhongbao: the bytes of file ${file.id} failed mid-download; its connection is closed`,
            cause
          ),
          Effect.sync(() =>
            (request.source as { readonly socket?: { destroy?: () => void } }).socket?.destroy?.()
          )
        ),
        Stream.failCause(cause)
      )
    )
  )

/**
 * @internal
 * How uploads are read (`Http.Options.uploadConcurrency`, `uploadConcurrencyPerAccount`,
 * `uploadIdleTimeout`): an upload runs in its account's `turn`, taken before it reads
 * its body and given back once stored or refused; its body may stop arriving for at
 * most `idleTimeout` meanwhile.
 */
export class Uploads extends Context.Tag("@zhongbao/adapter-http/Uploads")<Uploads, Reading>() {}

/** @internal */
export const FilesLive = HttpApiBuilder.group(Api, "files", (handlers) =>
  Effect.gen(function* () {
    const files = yield* Files.Files
    const settings = yield* Settings.Settings
    const uploads = yield* Uploads
    const membership = yield* Membership.Membership
    return handlers
      .handle("upload", ({ request, headers }) =>
        // The actor is read first (one read): an account deactivated, or a credential
        // from before its reactivation (§3), is refused before it spends the account's
        // uploads bucket and turn, which its body would hold, and which are not given back.
        Effect.flatMap(
          Effect.tap(account, (a) => coreRead(membership.me(a, {}))),
          (a) =>
            limited(a, "uploads", headers, (options) =>
              uploads.turn(a)(
                Effect.flatMap(
                  readUpload(request, settings.fileSizeLimitBytes, uploads.idleTimeout),
                  (upload) => core(Effect.mapError(files.upload(a, upload, options), asFilePart))
                )
              )
            )
        )
      )
      .handle("info", ({ path, urlParams }) =>
        Effect.flatMap(account, (a) => coreRead(files.info(a, { ...urlParams, ...path })))
      )
      .handle("content", ({ path, urlParams, request }) =>
        Effect.gen(function* () {
          const a = yield* account
          const { file, content } = yield* coreRead(files.open(a, { ...urlParams, ...path }))
          return HttpServerResponse.stream(cutOnFailure(request, file, content), {
            contentType: file.contentType,
            // Set as a header, not `contentLength`, which the platform leaves out when 0.
            headers: {
              "content-length": String(file.size),
              "content-disposition": contentDisposition(file.name),
              "x-content-type-options": "nosniff"
            }
          })
        })
      )
  }).pipe(Effect.map(served))
)

/** @internal */
export const NotificationsLive = HttpApiBuilder.group(Api, "notifications", (handlers) =>
  Effect.gen(function* () {
    const notifications = yield* Notifications.Notifications
    return handlers
      .handle("summary", () => Effect.flatMap(account, (a) => coreRead(notifications.summary(a, {}))))
      .handle("deadLetters", ({ urlParams }) =>
        Effect.flatMap(account, (a) => coreRead(notifications.deadLetters(a, urlParams)))
      )
      .handle("requeue", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) => core(notifications.requeue(a, path, optionsOf(headers))))
      )
      .handle("requeueDead", ({ urlParams, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) =>
          core(notifications.requeueDead(a, urlParams, optionsOf(headers)))
        )
      )
  }).pipe(Effect.map(served))
)

/** @internal */
export const StatisticsLive = HttpApiBuilder.group(Api, "statistics", (handlers) =>
  Effect.gen(function* () {
    const statistics = yield* Statistics.Statistics
    return handlers.handle("figures", ({ urlParams }) =>
      Effect.flatMap(account, (a) => coreRead(statistics.figures(a, urlParams)))
    )
  }).pipe(Effect.map(served))
)

/** @internal */
export const SettingsLive = HttpApiBuilder.group(Api, "settings", (handlers) =>
  Effect.gen(function* () {
    const s = yield* Settings.Settings
    const view = {
      numberingPrefix: s.numberingPrefix,
      sequenceWidth: s.sequenceWidth,
      timeZone: s.timeZone,
      selectionWindowDays: s.selectionWindowDays,
      minDeadlineDays: s.minDeadlineDays,
      maxDeadlineDays: s.maxDeadlineDays,
      singleAdoption: s.singleAdoption,
      serviceModes: s.serviceModes,
      technicalFields: s.technicalFields,
      fileSizeLimitBytes: s.fileSizeLimitBytes
    }
    return handlers.handle("get", () => Effect.succeed(view))
  }).pipe(Effect.map(served))
)

/** @internal */
export const MembersLive = HttpApiBuilder.group(Api, "members", (handlers) =>
  Effect.gen(function* () {
    const membership = yield* Membership.Membership
    return handlers
      .handle("createMember", ({ payload, headers }) =>
        Effect.flatMap(account, (a) => core(membership.createMember(a, payload, optionsOf(headers))))
      )
      .handle("registerInstitution", ({ path, headers }) =>
        Effect.flatMap(accountWithoutBody, (a) =>
          core(membership.registerInstitution(a, path, optionsOf(headers)))
        )
      )
      .handle("get", ({ path }) => Effect.flatMap(account, (a) => coreRead(membership.member(a, path))))
      .handle("me", () =>
        Effect.flatMap(account, (a) =>
          coreRead(
            Effect.flatMap(membership.me(a, {}), (me) =>
              Effect.map(revisedAccount(me.account), (account) => ({ ...me, account }))
            )
          )
        )
      )
      .handle("createAccount", ({ payload, headers }) =>
        Effect.flatMap(account, (a) =>
          core(Effect.flatMap(membership.createAccount(a, payload, optionsOf(headers)), revisedAccount))
        )
      )
      .handle("accounts", ({ path }) =>
        Effect.flatMap(account, (a) =>
          coreRead(Effect.flatMap(membership.accounts(a, path), Effect.forEach(revisedAccount)))
        )
      )
      .handle("updateAccount", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          conditional(
            Effect.flatMap(
              membership.updateAccount(
                a,
                { ...payload, accountId: path.accountId, ...ifRevisionOf(headers) },
                optionsOf(headers)
              ),
              revisedAccount
            )
          )
        )
      )
      .handle("addTechnologyManager", ({ payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "writes", headers, (options) =>
            core(Effect.flatMap(membership.addTechnologyManager(a, payload, options), revisedManager))
          )
        )
      )
      .handle("updateTechnologyManager", ({ path, payload, headers }) =>
        Effect.flatMap(account, (a) =>
          limited(a, "writes", headers, (options) =>
            conditional(
              Effect.flatMap(
                membership.updateTechnologyManager(
                  a,
                  { ...payload, technologyManagerId: path.technologyManagerId, ...ifRevisionOf(headers) },
                  options
                ),
                revisedManager
              )
            )
          )
        )
      )
      .handle("technologyManagers", ({ path }) =>
        Effect.flatMap(account, (a) =>
          coreRead(
            Effect.flatMap(
              membership.technologyManagers(a, { institutionId: path.memberId }),
              Effect.forEach(revisedManager)
            )
          )
        )
      )
  }).pipe(Effect.map(served))
)

/** @internal */
export const AuditLive = HttpApiBuilder.group(Api, "audit", (handlers) =>
  Effect.gen(function* () {
    const trail = yield* AuditTrail.AuditTrail
    return handlers.handle("list", ({ urlParams }) =>
      Effect.flatMap(account, (a) => coreRead(trail.list(a, urlParams)))
    )
  }).pipe(Effect.map(served))
)
