/**
 * The service log (服务日志, R30): dated entries on a published demand, appended by
 * its managing side and never edited or deleted.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Text } from "./Text.js"
import { LocalDate } from "./Deadline.js"
import { AccountId, DemandId, FileId, ServiceLogEntryId } from "./Ids.js"

/**
 * What the managing side writes.
 *
 * @since 0.1.0
 * @category models
 */
export const EntryInput = Schema.Struct({
  date: LocalDate,
  text: Text(2000),
  attachments: Schema.optional(Schema.Array(FileId).pipe(Schema.maxItems(10)))
}).annotations({ identifier: "ServiceLogEntryInput" })

/**
 * A stored entry; `seq` orders a demand's entries from 1.
 *
 * @since 0.1.0
 * @category models
 */
export const Entry = Schema.Struct({
  id: ServiceLogEntryId,
  demandId: DemandId,
  seq: Schema.Int,
  date: LocalDate,
  text: Schema.String,
  attachments: Schema.Array(FileId),
  authorAccountId: AccountId,
  at: Schema.DateTimeUtc
}).annotations({ identifier: "ServiceLogEntry" })

/** @since 0.1.0 @category models */
export type Entry = typeof Entry.Type
