import * as Ids from "../Ids.js"
import type { OutboxMessage } from "../Notification.js"
import type { AccountMessage } from "../Persistence.js"
import type { AccountId } from "../Ids.js"
import type { NotificationEvent, ResolvedSettings } from "../Settings.js"
import * as DateTime from "effect/DateTime"
import type { Account } from "../Member.js"
import { compareCodePoints } from "../Pagination.js"

/** @internal One notification to write: the event, what it is about, who gets it, the values. */
export interface Notice {
  readonly event: NotificationEvent
  readonly subjectId: string
  readonly phone: string
  readonly values: Readonly<Record<string, string>>
}

/**
 * @internal
 * Providers cap a template variable's length and refuse longer values for good
 * (Aliyun 35 characters, Tencent less for some variable types): values longer than
 * `smsParamMaxLength` characters are cut and end with "…".
 */
export const shorten = (value: string, max: number): string => {
  if (value.length <= max) return value
  const chars = [...value]
  return chars.length <= max ? value : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`
}

/** The message of a notice, but for its recipient. */
const unaddressed = (
  n: Omit<Notice, "phone">,
  settings: ResolvedSettings,
  now: DateTime.Utc
): Omit<OutboxMessage, "recipientPhone" | "dedupeKey"> => {
  const template = settings.smsTemplates[n.event]
  return {
    id: Ids.make(),
    event: n.event,
    templateId: template.templateId,
    params: Object.fromEntries(
      template.params.map((p) => [p, shorten(n.values[p] ?? "", settings.smsParamMaxLength)])
    ),
    createdAt: now
  }
}

/** The de-duplication key of a notice, but for the recipient's phone that ends it. */
const dedupeKeyPrefix = (n: Omit<Notice, "phone">) => `${n.event}:${n.subjectId}:`

/**
 * @internal
 * Builds outbox messages from the settings' templates. Only the parameters a
 * template names are kept, so a message carries no more personal data than it
 * needs (R64); the de-duplication key is (event, subject, recipient).
 */
export const toOutbox = (notices: ReadonlyArray<Notice>, settings: ResolvedSettings, now: DateTime.Utc) =>
  notices.map(
    (n): OutboxMessage => ({
      ...unaddressed(n, settings, now),
      dedupeKey: `${dedupeKeyPrefix(n)}${n.phone}`,
      recipientPhone: n.phone
    })
  )

/**
 * @internal
 * R64: who receives a message addressed to `account`: the account while it is
 * active; otherwise the first active account of its member (`members`: the member's
 * accounts), the earliest created, then the smallest id; none without one.
 */
export const recipientOf = (account: Account, members: ReadonlyArray<Account>): Account | undefined => {
  if (account.active) return account
  let first: Account | undefined
  for (const a of members) {
    if (!a.active) continue
    const at = DateTime.toEpochMillis(a.createdAt)
    const firstAt = first === undefined ? 0 : DateTime.toEpochMillis(first.createdAt)
    if (first === undefined || at < firstAt || (at === firstAt && compareCodePoints(a.id, first.id) < 0))
      first = a
  }
  return first
}

/**
 * @internal
 * The outbox message of a notice to an account, as {@link toOutbox} builds it once
 * the account's phone is read (when the message is written).
 */
export const toAccountMessage = (
  accountId: AccountId,
  notice: Omit<Notice, "phone">,
  settings: ResolvedSettings,
  now: DateTime.Utc
): AccountMessage => ({
  accountId,
  dedupeKeyPrefix: dedupeKeyPrefix(notice),
  message: unaddressed(notice, settings, now)
})
