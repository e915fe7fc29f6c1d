import { Effect, Option } from "effect"
import * as Ids from "../Ids.js"
import type { OutboxMessage } from "../Notification.js"
import { AccountRepository, Outbox } from "../Persistence.js"
import type { AccountId } from "../Ids.js"
import type { NotificationEvent, ResolvedSettings } from "../Settings.js"
import type { DateTime } from "effect"

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
  const chars = [...value]
  return chars.length <= max ? value : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`
}

/**
 * @internal
 * Builds outbox messages from the settings' templates. Only the parameters a
 * template names are kept, so a message carries no more personal data than it
 * needs (R64); the de-duplication key is (event, subject, recipient).
 */
export const toOutbox = (notices: ReadonlyArray<Notice>, settings: ResolvedSettings, now: DateTime.Utc) =>
  notices.map((n): OutboxMessage => {
    const template = settings.smsTemplates[n.event]
    return {
      id: Ids.make(),
      event: n.event,
      dedupeKey: `${n.event}:${n.subjectId}:${n.phone}`,
      recipientPhone: n.phone,
      templateId: template.templateId,
      params: Object.fromEntries(
        template.params.map((p) => [p, shorten(n.values[p] ?? "", settings.smsParamMaxLength)])
      ),
      createdAt: now
    }
  })

/** @internal */
export const makeNotifier = Effect.map(
  Outbox,
  (outbox) => (notices: ReadonlyArray<Notice>, settings: ResolvedSettings, now: DateTime.Utc) =>
    notices.length === 0 ? Effect.void : outbox.enqueue(toOutbox(notices, settings, now))
)

/**
 * @internal
 * Notifies one account (by its phone) of an event, in the current unit of work; an
 * account that no longer exists is skipped.
 */
export const makeAccountNotifier = Effect.gen(function* () {
  const notify = yield* makeNotifier
  const accounts = yield* AccountRepository
  return (
    ctx: { readonly settings: ResolvedSettings; readonly now: DateTime.Utc },
    accountId: AccountId,
    event: NotificationEvent,
    subjectId: string,
    values: Readonly<Record<string, string>>
  ) =>
    Effect.flatMap(accounts.findById(accountId), (account) =>
      Option.isSome(account)
        ? notify([{ event, subjectId, phone: account.value.phone, values }], ctx.settings, ctx.now)
        : Effect.void
    )
})
