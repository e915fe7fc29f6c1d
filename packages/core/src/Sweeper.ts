/**
 * The selection sweeper (R25, R61): finds demands whose selection window has passed
 * without the selection being ended, ends it, and writes each "not adopted" notice
 * with its R61 reason — exactly once, whatever the number of sweepers: each demand
 * is locked, re-checked and closed in its own unit of work, and the outbox keeps one
 * message per (event, response, recipient).
 *
 * @since 0.1.0
 */
import * as Arr from "effect/Array"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Order from "effect/Order"
import { addDays } from "./Deadline.js"
import type { InfrastructureError, StaleWrite, UniqueViolation } from "./Errors.js"
import { type AccountNotice, type AuditInput, auditEventOf } from "./internal/command.js"
import type { DemandBrief } from "./Demand.js"
import type { AccountId, DemandId } from "./Ids.js"
import { makeJournal, Pending } from "./internal/journal.js"
import { toAccountMessage } from "./internal/notify.js"
import { makeRoundEnd } from "./internal/round.js"
import { comparePositions, type Position } from "./Pagination.js"
import { DemandRepository, IdempotencyRepository, Outbox, UnitOfWork } from "./Persistence.js"
import { acceptsResponses, hasSelection, roundSelectionEndsAt, windowViewAt } from "./Phase.js"
import { Settings } from "./Settings.js"
import * as SortKeys from "./SortKeys.js"

/**
 * The actor recorded in the audit trail for what the platform does by itself.
 *
 * @since 0.1.0
 * @category constants
 */
export const systemAccount = "system" as AccountId

/** How many selections one sweep ends at most, each in its own unit of work. */
const sweepBatch = 100

/** How many settled outbox messages one statement of the purge deletes at most. */
const purgeBatch = 1_000

/** The position of a round in the sweeper's lists: its response deadline, the id last. */
const deadlineKey = (d: DemandBrief): Position => SortKeys.demand(d, "deadline")

const positionOrder: Order.Order<Position> = (a, b) => {
  const c = comparePositions(a, b, false)
  return c < 0 ? -1 : c > 0 ? 1 : 0
}

/** The sweeper's order of rounds, as its lists give them. */
const byDeadline: Order.Order<DemandBrief> = (a, b) => positionOrder(deadlineKey(a), deadlineKey(b))

/** The last row of a list that came back full: rows past it were not read. */
const lastOfFull = <A>(rows: ReadonlyArray<A>, limit: number): Option.Option<A> =>
  rows.length >= limit ? Arr.last(rows) : Option.none()

/**
 * The sweeper.
 *
 * @since 0.1.0
 * @category services
 */
export class Sweeper extends Effect.Service<Sweeper>()("@zhongbao/core/Sweeper", {
  effect: Effect.gen(function* () {
    const demands = yield* DemandRepository
    const journal = yield* makeJournal
    const idempotency = yield* IdempotencyRepository
    const outbox = yield* Outbox
    const uow = yield* UnitOfWork
    const settings = yield* Settings
    const endRound = yield* makeRoundEnd

    /** What the platform records for itself in a unit of work: audit events as the system, notices. */
    const systemCtx = (
      now: DateTime.Utc,
      pending: Pending<StaleWrite | UniqueViolation | InfrastructureError>
    ) => ({
      now,
      settings,
      writeLater: (write: Effect.Effect<unknown, StaleWrite | UniqueViolation | InfrastructureError>) =>
        Effect.sync(() => {
          pending.writes.push(write)
        }),
      audit: (event: AuditInput) =>
        Effect.sync(() => {
          pending.events.push(auditEventOf(event, systemAccount, null, now))
        }),
      notifyAccount: ((accountId, event, subjectId, values) =>
        Effect.sync(() => {
          pending.accountMessages.push(
            toAccountMessage(accountId, { event, subjectId, values }, settings, now)
          )
        })) satisfies AccountNotice
    })

    const close = (id: DemandId) =>
      uow
        .transaction(
          Effect.gen(function* () {
            const now = yield* DateTime.now
            const found = yield* demands.findByIdForUpdate(id)
            if (Option.isNone(found)) return false
            const demand = found.value
            const endsAt = roundSelectionEndsAt(demand, settings)
            if (
              demand.state !== "published" ||
              demand.selectionEndedAt !== null ||
              !DateTime.greaterThan(now, endsAt)
            ) {
              return false
            }
            const pending = new Pending<StaleWrite | UniqueViolation | InfrastructureError>()
            const ctx = systemCtx(now, pending)
            const notices = yield* endRound(ctx, demand)
            yield* demands.update({
              ...demand,
              selectionEndedAt: endsAt,
              intakeClosedAt: demand.intakeClosedAt ?? endsAt,
              version: demand.version + 1,
              updatedAt: now
            })
            yield* ctx.audit({
              entity: "demand",
              entityId: demand.id,
              demandId: demand.id,
              members: [demand.publisherId],
              onBehalfOf: demand.form.clientId ?? null,
              action: "selection.window_ended",
              before: "selecting",
              after: "selection_over",
              reason: `${notices} not adopted`
            })
            yield* journal.flush(pending)
            return true
          })
        )
        .pipe(
          Effect.catchTags({
            UniqueViolation: () => Effect.succeed(false),
            StaleWrite: () => Effect.succeed(false)
          })
        )

    /**
     * One pass over up to `limit` due rounds after the position `after` (in deadline
     * order, the id last): how many were due, how many it ended, the first error of a
     * round it could not end (the others are still tried), and, when more may be
     * due, the position the next pass starts after.
     *
     * Besides the demands of the service modes that take responses, it takes the
     * rounds that hold responses in a mode that no longer does (R14: the platform
     * switched it off since): their window ends too, and R25's notices are owed. The
     * two lists are merged in their common order; a full list's last row bounds the
     * pass, so that no round past it in the other list is stepped over.
     */
    const pass = (limit: number, after?: Position) =>
      Effect.gen(function* () {
        const window = windowViewAt(yield* DateTime.now, settings)
        const query = {
          scope: { _tag: "all" },
          sort: "deadline",
          states: ["published"],
          selectionOpen: true,
          windowOver: window,
          // A window is no shorter than 0 days: this bounds the deadline order's scan.
          deadlineTo: addDays(window.overBefore, -1),
          after,
          limit
        } as const
        const taking = yield* demands.listBriefs({
          ...query,
          serviceModes: settings.serviceModes.filter((m) => m.acceptsResponses).map((m) => m.id)
        })
        // Every mode (one the settings no longer name is switched off too).
        const switchedOff = yield* demands.listBriefs({ ...query, hasResponses: true })
        if (
          after !== undefined &&
          [...taking, ...switchedOff].some((d) => positionOrder(deadlineKey(d), after) <= 0)
        ) {
          yield* Effect.logError(
            "R25: DemandRepository.listBriefs gave a round at or before the position the sweep asked to start after: the adapter ignores `after` (@zhongbao/testing's pagination suite checks it); the sweep may stop before every due round is ended"
          )
        }
        const bound = Arr.head(
          Arr.sort(Arr.getSomes([lastOfFull(taking, limit), lastOfFull(switchedOff, limit)]), byDeadline)
        )
        const candidates = Arr.sort(
          Arr.dedupeWith(
            [
              ...taking.filter((d) => acceptsResponses(d, settings)),
              ...switchedOff.filter((d) => !acceptsResponses(d, settings) && hasSelection(d, settings))
            ],
            (a, b) => a.id === b.id
          ).filter((d) => Option.isNone(bound) || byDeadline(d, bound.value) <= 0),
          byDeadline
        )
        const due = candidates.slice(0, limit)
        const closed = yield* Effect.forEach(due, (d) => Effect.either(close(d.id)))
        return {
          due: due.length,
          ended: closed.filter((c) => Either.isRight(c) && c.right).length,
          failure: Option.fromNullable(closed.find(Either.isLeft)).pipe(Option.map((f) => f.left)),
          next: (candidates.length > limit ? Arr.last(due) : bound).pipe(
            Option.map(deadlineKey),
            // Only forward: a store that ignored `after` would hand the same rows again.
            Option.filter((p) => after === undefined || positionOrder(p, after) > 0)
          )
        }
      })

    /** The number of rounds ended, or the first error when one could not be. */
    const endedOrFailure = (swept: {
      readonly ended: number
      readonly failure: Option.Option<InfrastructureError>
    }): Effect.Effect<number, InfrastructureError> =>
      Option.match(swept.failure, { onNone: () => Effect.succeed(swept.ended), onSome: Effect.fail })

    /**
     * One sweep: ends the selection of up to `limit` demands whose window has passed
     * (rounds of a switched-off service mode only when they hold responses). Each
     * demand is closed in its own unit of work; one that cannot be closed does not
     * keep the others open: the sweep goes on, then fails with the first error.
     */
    const sweepOnce = (limit = sweepBatch): Effect.Effect<number, InfrastructureError> =>
      Effect.flatMap(pass(limit), endedOrFailure)

    /** R63: removes idempotency records older than `idempotencyKeyHours`. */
    const purgeIdempotency = Effect.flatMap(DateTime.now, (now) =>
      idempotency.purge(DateTime.subtract(now, { hours: settings.idempotencyKeyHours }))
    )

    /**
     * R64: deletes the messages sent or dead-lettered more than `outbox.retentionDays`
     * ago, a batch at a time (each its own statement, so none holds rows long), until
     * a batch comes back short; the number deleted. Nothing with an adapter whose
     * outbox cannot purge.
     */
    const purgeOutbox: Effect.Effect<number, InfrastructureError> = Effect.gen(function* () {
      const purge = outbox.purge
      if (purge === undefined) return 0
      const before = DateTime.subtract(yield* DateTime.now, { days: settings.outbox.retentionDays })
      let deleted = 0
      for (;;) {
        const batch = yield* purge(before, purgeBatch)
        deleted += batch
        if (batch < purgeBatch) return deleted
      }
    })

    /** Logs a failure of one of `run`'s steps; the next period tries again. */
    const logged = (step: string) =>
      Effect.catchAllCause((cause) => Effect.logWarning(`${step} failed; trying again next period`, cause))

    /**
     * Sweeps batch after batch, each starting where the last one stopped, until the
     * due rounds are all seen: a deadline day's thousands of rounds all end within
     * the period, not a hundred a period, even when another sweeper ends some of them
     * first or some can never be ended now (they are passed over, not met again).
     * The number it ended; it fails with the first error once it stops.
     */
    const sweepDue: Effect.Effect<number, InfrastructureError> = Effect.gen(function* () {
      let ended = 0
      let failure = Option.none<InfrastructureError>()
      let after = Option.none<Position>()
      for (;;) {
        const batch = yield* pass(sweepBatch, Option.getOrUndefined(after))
        ended += batch.ended
        failure = Option.orElse(failure, () => batch.failure)
        if (Option.isNone(batch.next)) break
        after = batch.next
      }
      return yield* endedOrFailure({ ended, failure })
    })

    /**
     * Sweeps forever, every `every`: ends passed selections (`sweepDue`), purges old
     * idempotency records and settled outbox messages past their retention. A step
     * the database could not answer is logged, and the next period tries again: an
     * outage does not end the sweeper (R25's notices go out late, never not at all),
     * and a failed sweep does not skip the purges.
     */
    const run = (every: Duration.DurationInput = "1 minute"): Effect.Effect<never> =>
      Effect.forever(
        Effect.zipRight(
          Effect.zipRight(
            Effect.zipRight(logged("sweep")(sweepDue), logged("idempotency purge")(purgeIdempotency)),
            logged("outbox purge")(purgeOutbox)
          ),
          Effect.sleep(every)
        )
      )

    return { sweepOnce, sweepDue, purgeIdempotency, purgeOutbox, run }
  })
}) {}
