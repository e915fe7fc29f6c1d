import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AuditEvent } from "../Audit.js"
import type { IdempotencyRecord } from "../Idempotency.js"
import type { OutboxMessage } from "../Notification.js"
import {
  type AccountMessage,
  AccountRepository,
  AuditRepository,
  IdempotencyRepository,
  Journal,
  type JournalEntry,
  Outbox
} from "../Persistence.js"

/**
 * @internal
 * What a unit of work has to write at its end: audit events and notifications,
 * collected while it runs and written together by {@link makeJournal}'s `flush`.
 */
export class Pending {
  readonly events: Array<AuditEvent> = []
  readonly messages: Array<OutboxMessage> = []
  readonly accountMessages: Array<AccountMessage> = []
}

/**
 * @internal
 * Writes journal entries: through the adapter's `Journal` when it has one (one
 * round trip), through the other ports otherwise.
 */
export const makeJournal = Effect.gen(function* () {
  const port = yield* Effect.serviceOption(Journal)
  const audit = yield* AuditRepository
  const accounts = yield* AccountRepository
  const outbox = yield* Outbox
  const idempotency = yield* IdempotencyRepository

  const throughPorts = (entry: JournalEntry) =>
    Effect.gen(function* () {
      for (const event of entry.events) yield* audit.append(event)
      const messages = [...entry.messages]
      for (const m of entry.accountMessages) {
        const account = yield* accounts.findById(m.accountId)
        if (Option.isSome(account)) {
          const phone = account.value.phone
          messages.push({ ...m.message, recipientPhone: phone, dedupeKey: `${m.dedupeKeyPrefix}${phone}` })
        }
      }
      if (messages.length > 0) yield* outbox.enqueue(messages)
      if (entry.idempotency !== null) yield* idempotency.insert(entry.idempotency)
    })

  const write = Option.isSome(port) ? port.value.write : throughPorts

  /** Writes what `pending` collected, and the idempotency record if any. */
  const flush = (pending: Pending, record: IdempotencyRecord | null = null) =>
    pending.events.length === 0 &&
    pending.messages.length === 0 &&
    pending.accountMessages.length === 0 &&
    record === null
      ? Effect.void
      : write({
          events: pending.events,
          messages: pending.messages,
          accountMessages: pending.accountMessages,
          idempotency: record
        })

  return { flush }
})
