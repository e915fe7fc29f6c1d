import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type InfrastructureError, type InvalidInput, invalid } from "../Errors.js"
import { FileStore } from "../FileStore.js"
import type { FileId, MemberId } from "../Ids.js"

/** @internal How a file that is not the member's own is refused: its code and what it says. */
export interface Refusal {
  readonly code: string
  readonly says: string
}

const attachment: Refusal = {
  code: "attachment.unknown",
  says: "an attachment is a file your organisation uploaded"
}

/**
 * @internal
 * R10, R52, R54: attachments (and proof materials) name files the attaching member
 * uploaded. An unknown id, or another member's file, is refused as `InvalidInput`
 * on the file's own field (`<field>.<i>`) under `rule`, before anything is written;
 * so is a file listed twice (`attachment.twice`, naming the second).
 * Once attached, a file is readable by whoever may read what it is attached to
 * (`Files.download`), so a member attaches only files of its own.
 */
export const makeAttachmentCheck = Effect.map(
  FileStore,
  (files) =>
    (
      rule: string,
      field: string,
      owner: MemberId,
      ids: ReadonlyArray<FileId> | undefined,
      refusal: Refusal = attachment
    ): Effect.Effect<void, InvalidInput | InfrastructureError> =>
      ids === undefined || ids.length === 0
        ? Effect.void
        : ids.some((id, i) => ids.indexOf(id) !== i)
          ? Effect.fail(
              ((i) =>
                invalid(
                  rule,
                  `${field}.${i}`,
                  "attachment.twice",
                  `${field}.${i}: the file is listed twice`
                ))(ids.findIndex((id, i) => ids.indexOf(id) !== i))
            )
          : Effect.forEach(
              ids,
              (id, i) =>
                Effect.flatMap(files.head(id), (found) =>
                  Option.isSome(found) && found.value.ownerMemberId === owner
                    ? Effect.void
                    : Effect.fail(
                        invalid(rule, `${field}.${i}`, refusal.code, `${field}.${i}: ${refusal.says}`)
                      )
                ),
              { discard: true }
            )
)
