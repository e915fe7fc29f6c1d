import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AuditEvent } from "../Audit.js"
import type { InfrastructureError, UniqueViolation } from "../Errors.js"
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

  /** The account messages addressed to the accounts that exist, after `messages`. */
  const addressed = (
    messages: ReadonlyArray<OutboxMessage>,
    accountMessages: ReadonlyArray<AccountMessage>,
    i = 0
  ): Effect.Effect<ReadonlyArray<OutboxMessage>, InfrastructureError> => {
    const m = accountMessages[i]
    if (m === undefined) return Effect.succeed(messages)
    return Effect.flatMap(accounts.findById(m.accountId), (account) =>
      addressed(
        Option.isSome(account)
          ? [
              ...messages,
              {
                ...m.message,
                recipientPhone: account.value.phone,
                dedupeKey: `${m.dedupeKeyPrefix}${account.value.phone}`
              }
            ]
          : messages,
        accountMessages,
        i + 1
      )
    )
  }

  const throughPorts = (entry: JournalEntry): Effect.Effect<void, InfrastructureError | UniqueViolation> => {
    let effect: Effect.Effect<void, InfrastructureError | UniqueViolation> = Effect.void
    for (const event of entry.events) effect = Effect.zipRight(effect, audit.append(event))
    effect = Effect.zipRight(
      effect,
      Effect.flatMap(addressed(entry.messages, entry.accountMessages), (messages) =>
        messages.length === 0 ? Effect.void : outbox.enqueue(messages)
      )
    )
    return entry.idempotency === null
      ? effect
      : Effect.zipRight(effect, idempotency.insert(entry.idempotency))
  }

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
