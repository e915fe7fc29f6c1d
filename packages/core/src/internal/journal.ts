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
import { concurrentlyInOrder } from "./concurrently.js"
import { recipientOf } from "./notify.js"
import type { AccountId } from "../Ids.js"
import type { Account } from "../Member.js"

/**
 * @internal
 * What a unit of work has to write at its end: audit events and notifications,
 * collected while it runs, and the writes the use case deferred (whose results it
 * does not read, failing with `E`), written together by {@link makeJournal}'s `flush`.
 */
export class Pending<E = never> {
  readonly events: Array<AuditEvent> = []
  readonly messages: Array<OutboxMessage> = []
  readonly accountMessages: Array<AccountMessage> = []
  readonly writes: Array<Effect.Effect<unknown, E>> = []
}

/**
 * Runs `effects` concurrently, each to its end, then fails with the first failure in
 * their order, if any. Issued together, their statements leave in the same turn, so
 * an adapter that pipelines a connection's statements (adapter-pg on a PostgreSQL
 * server) sends them in one round trip. Which failure is reported does not depend on
 * which finished first, and none is interrupted, not even from outside (a client
 * gone away): they are short writes, and an interrupted statement would have each
 * of them cancelled on the server by a request of its own; the unit is undone once
 * they end.
 */
const together = <E>(effects: ReadonlyArray<Effect.Effect<unknown, E>>): Effect.Effect<void, E> =>
  Effect.uninterruptible(Effect.asVoid(concurrentlyInOrder(effects)))

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

  /** The recipient of a message to `accountId` ({@link recipientOf}), read through the ports. */
  const recipient = (accountId: AccountId): Effect.Effect<Account | undefined, InfrastructureError> =>
    Effect.flatMap(accounts.findById(accountId), (found) => {
      if (Option.isNone(found)) return Effect.succeed(undefined)
      const account = found.value
      if (account.active || account.memberId === null) return Effect.succeed(recipientOf(account, []))
      return Effect.map(accounts.listByMember(account.memberId), (members) => recipientOf(account, members))
    })

  /** The account messages addressed to their recipients, after `messages`. */
  const addressed = (
    messages: ReadonlyArray<OutboxMessage>,
    accountMessages: ReadonlyArray<AccountMessage>,
    i = 0
  ): Effect.Effect<ReadonlyArray<OutboxMessage>, InfrastructureError> => {
    const m = accountMessages[i]
    if (m === undefined) return Effect.succeed(messages)
    return Effect.flatMap(recipient(m.accountId), (to) =>
      addressed(
        to === undefined
          ? messages
          : [
              ...messages,
              { ...m.message, recipientPhone: to.phone, dedupeKey: `${m.dedupeKeyPrefix}${to.phone}` }
            ],
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

  /** The journal entry of what `pending` collected, and the idempotency record if any. */
  const entry = <E>(pending: Pending<E>, record: IdempotencyRecord | null) =>
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

  /**
   * Writes what `pending` collected, and the idempotency record if any: the deferred
   * writes, in the order they were deferred, and the journal entry after them, all
   * issued together (see {@link together}).
   */
  const flush = <E>(
    pending: Pending<E>,
    record: IdempotencyRecord | null = null
  ): Effect.Effect<void, E | InfrastructureError | UniqueViolation> =>
    pending.writes.length === 0
      ? entry(pending, record)
      : together<E | InfrastructureError | UniqueViolation>([...pending.writes, entry(pending, record)])

  return { flush }
})
