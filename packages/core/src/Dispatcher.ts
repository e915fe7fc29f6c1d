/**
 * The outbox dispatcher (R64): claims due messages under a lease, sends each through
 * the `SmsSender` port, and records the result — sent, retried later with
 * exponential backoff and jitter, or dead-lettered (permanent failure, or too many
 * attempts). A claim whose holder died is reclaimed when its lease expires; a
 * holder that lost its lease cannot record a result. Safe to run in many fibers and
 * processes at once, whose clocks agree to well within half a lease (as NTP keeps
 * them): each reads leases against its own effect `Clock`, so a process whose clock
 * runs ahead by more than the lease's unused half takes over a lease still held,
 * and the message is sent twice without an unknown outcome.
 *
 * Each message's send-and-record runs in a fiber of its own that only the send
 * timeout interrupts: stopping a dispatcher never leaves a message that was sent
 * but not recorded. A message is sent only while more than half of its lease (and at least
 * two send timeouts) remains, so no other dispatcher can claim it before its result
 * is recorded even on a busy machine; what a batch could not start in time, or did
 * not start before the dispatcher stopped, is given back unsent. So a message
 * reaches a phone twice only when an attempt's outcome was unknown, and that attempt
 * is counted as such: a timeout, or a lease that expired before its result was
 * written (the holder died, or the database was away that long: tried again until
 * then, and logged as an error), which the claim that takes the lease over counts.
 * `run` claims the next batch once every send of the current one has started, so a
 * batch's messages may also wait for the last sends of the one before: choose
 * `leaseMillis` well above
 * `(batchSize / sendConcurrency + 3) × sendTimeoutMillis`.
 *
 * When the outbox has `settleMany`, the results of a batch are recorded together:
 * a result that arrives while a `settleMany` runs waits for it and is written with
 * the others that arrived meanwhile in the next one (group commit, no timer). A
 * send keeps its concurrency slot until its result is recorded, so a process that
 * dies leaves at most `sendConcurrency` messages sent but not recorded, each for
 * at most two statements' time — as many as with one `settle` per message. Those
 * are sent again once their lease expires, each counted as an unknown outcome.
 *
 * A failed attempt's settlement carries the sender's `code` with its reason, which the
 * outbox keeps as the delivery's `lastCode`; the dispatcher's own codes are listed in
 * `SmsSender`'s docs.
 *
 * The per-message path (start, send, record) is written as `flatMap` chains, not
 * `Effect.gen`: running a generator costs a few microseconds each time, and the
 * three a message ran took about a tenth of the dispatcher's CPU per message with
 * the PostgreSQL outbox (issue 8's P4).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as LogLevel from "effect/LogLevel"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type { InfrastructureError } from "./Errors.js"
import * as Ids from "./Ids.js"
import { maskPhone, maskPhoneIn } from "./Member.js"
import type { Settlement, Tracked } from "./Notification.js"
import { compareCodePoints } from "./Pagination.js"
import { Outbox } from "./Persistence.js"
import { Settings } from "./Settings.js"
import { type SendResult, SendResult as Result, SmsSender } from "./SmsSender.js"

interface Batch {
  readonly slots: Effect.Semaphore
  readonly inflight: Map<Fiber.RuntimeFiber<unknown, unknown>, number>
  readonly results: Array<"Sent" | "Retry" | "Dead" | "Lost">
  launching: boolean
  /** Settlements waiting for the next `settleMany`, and whether a fiber is writing them. */
  readonly queue: Array<Queued>
  settling: boolean
}

interface Queued {
  readonly id: Tracked["message"]["id"]
  readonly settlement: Settlement
  /** Resumes the fiber that waits for this settlement's answer. */
  readonly resume: (answer: Exit.Exit<boolean, InfrastructureError>) => void
}

/** At most this many settlements in one `settleMany`. */
const maxSettlements = 1_000

/**
 * What one dispatch round did.
 *
 * @since 0.1.0
 * @category models
 */
export interface Round {
  readonly claimed: number
  readonly sent: number
  readonly retried: number
  readonly dead: number
  readonly lost: number
}

/**
 * R64: the delay before attempt `attempts + 1`: `base · 2^(attempts−1)` capped at
 * `max`, then "equal jitter" (half fixed, half random) so retries of a burst spread
 * out.
 *
 * @since 0.1.0
 * @category backoff
 */
export const backoffMillis = (attempts: number, base: number, max: number, random: number): number => {
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempts - 1))
  return Math.round(ceiling / 2 + (ceiling / 2) * random)
}

/**
 * A message's parameters with their keys in code-point order, whatever order its
 * store keeps them in (PostgreSQL's `jsonb` orders keys by length first): every
 * adapter hands the sender the same object, and a sender that lists or signs them
 * in the order it reads them sends the same request.
 */
const inKeyOrder = (params: Readonly<Record<string, string>>): Readonly<Record<string, string>> =>
  Object.fromEntries(Object.entries(params).sort(([a], [b]) => compareCodePoints(a, b)))

/**
 * The dispatcher.
 *
 * @since 0.1.0
 * @category services
 */
export class Dispatcher extends Effect.Service<Dispatcher>()("@zhongbao/core/Dispatcher", {
  effect: Effect.gen(function* () {
    const outbox = yield* Outbox
    const sender = yield* SmsSender
    const settings = yield* Settings
    const config = settings.outbox

    const settlementOf = (t: Tracked, result: SendResult, now: DateTime.Utc): Effect.Effect<Settlement> => {
      // R64: a sender's own throttle (the provider not called) does not use up an attempt.
      const attempted = !(result._tag === "RetryLater" && result.attempted === false)
      const attempts = t.delivery.attempts + (attempted ? 1 : 0)
      const unknownOutcome = result._tag === "Unknown"
      if (result._tag === "Sent") {
        return Effect.succeed({
          _tag: "Sent",
          at: now,
          providerMessageId: result.providerMessageId,
          unknownOutcome
        })
      }
      const error = `${result._tag}: ${result.reason}`
      const code = result.code
      // A throttled send that never reached the provider is retried, never given up for.
      if (result._tag === "Permanent" || (attempted && attempts >= config.maxAttempts)) {
        return Effect.succeed({ _tag: "Dead", at: now, unknownOutcome, error, code })
      }
      return Effect.map(Random.next, (random) => {
        const delay = Math.max(
          backoffMillis(attempts, config.backoffBaseMillis, config.backoffMaxMillis, random),
          result._tag === "RetryLater" ? (result.retryAfterMillis ?? 0) : 0
        )
        return {
          _tag: "Retry",
          nextAttemptAt: DateTime.add(now, { millis: delay }),
          unknownOutcome,
          error,
          code,
          ...(attempted ? {} : { attempted: false })
        }
      })
    }

    const send = (t: Tracked) =>
      sender.send({
        messageId: t.message.id,
        dedupeKey: t.message.dedupeKey,
        phone: t.message.recipientPhone,
        templateId: t.message.templateId,
        params: inKeyOrder(t.message.params)
      })

    const timedOut = Result.Unknown({
      reason: `no answer within ${config.sendTimeoutMillis} ms`,
      code: "dispatcher.timeout"
    })
    const died = Result.Unknown({
      reason: "the sender failed unexpectedly (logged): the message may have been sent",
      code: "sender.defect"
    })
    const tick = Duration.millis(Math.max(1, Math.floor(config.sendTimeoutMillis / 4)))
    /** Pauses between tries to record a result: 50 ms, doubling, at most 1 s. */
    const recordRetries = Schedule.union(Schedule.exponential("50 millis"), Schedule.spaced("1 second"))

    /**
     * Writes the queued settlements of a batch until none is left, in
     * `settleMany`s of what queued up while the previous one ran, and tells each
     * waiting fiber its answer. Taking the next settlements and, when there are
     * none, stepping down happen in one step, so a settlement queued meanwhile is
     * never left without a writer.
     */
    const writeQueued = (
      owner: string,
      batch: Batch,
      settleMany: NonNullable<typeof outbox.settleMany>
    ): Effect.Effect<void> =>
      Effect.suspend(() => {
        const next = batch.queue.splice(0, maxSettlements)
        if (next.length === 0) {
          batch.settling = false
          return Effect.void
        }
        const entries = next.map((q) => ({ id: q.id, settlement: q.settlement }))
        return Effect.flatMap(Effect.exit(settleMany(owner, entries)), (exit) => {
          for (let i = 0; i < next.length; i++) next[i]!.resume(Exit.map(exit, (held) => held[i] === true))
          return writeQueued(owner, batch, settleMany)
        })
      })

    /**
     * Records a result. With `settleMany`, a fiber that finds no write under way
     * writes its own result, then every result queued meanwhile (group commit); one
     * that finds a write under way queues its result and waits. A result waits at
     * most for the statement already running and its own.
     */
    const record = (
      owner: string,
      batch: Batch,
      id: Queued["id"],
      settlement: Settlement
    ): Effect.Effect<boolean, InfrastructureError> => {
      const settleMany = outbox.settleMany
      if (settleMany === undefined) return outbox.settle(id, owner, settlement)
      const lead = Effect.flatMap(Effect.exit(settleMany(owner, [{ id, settlement }])), (exit) => {
        const held = Exit.map(exit, (answers) => answers[0] === true)
        if (batch.queue.length > 0) return Effect.zipRight(writeQueued(owner, batch, settleMany), held)
        batch.settling = false
        return held
      })
      return Effect.async<boolean, InfrastructureError>((resume) => {
        if (batch.settling) {
          batch.queue.push({ id, settlement, resume })
        } else {
          batch.settling = true
          resume(lead)
        }
      })
    }

    /** What a log line says of a message: its id and event, the number masked (R64). */
    const logged = (t: Tracked) => ({
      messageId: t.message.id,
      event: t.message.event,
      to: maskPhone(t.message.recipientPhone)
    })

    /** The debug line of a recorded result; nothing is built when debug is not logged. */
    const logSettled = (t: Tracked, settlement: Settlement, held: boolean): Effect.Effect<void> =>
      Effect.asVoid(
        Effect.whenLogLevel(
          Effect.suspend(() =>
            Effect.logDebug(held ? `sms ${settlement._tag.toLowerCase()}` : "sms lease lost", {
              ...logged(t),
              attempts: t.delivery.attempts + 1,
              ...(settlement._tag === "Sent"
                ? {}
                : { error: maskPhoneIn(settlement.error, t.message.recipientPhone) })
            })
          ),
          LogLevel.Debug
        )
      )

    /**
     * A send the watchdog cut at `outbox.sendTimeoutMillis`: a warning, as a sender logs
     * its own timeouts, since its outcome is unknown. A sender that keeps its own
     * timeout below the dispatcher's never gets here.
     */
    const logCut = (t: Tracked): Effect.Effect<void> =>
      Effect.logWarning("sms send cut by the dispatcher's timeout; its outcome is unknown", {
        ...logged(t),
        result: timedOut._tag,
        code: timedOut.code,
        reason: timedOut.reason
      })

    /**
     * A send that died (a defect of the sender's): an error with its cause, the number
     * masked in it too; its outcome is unknown as a timeout's is.
     */
    const logDied = (t: Tracked, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
      Effect.logError("sms sender failed unexpectedly; its outcome is unknown", {
        ...logged(t),
        result: died._tag,
        code: died.code,
        reason: died.reason,
        cause: maskPhoneIn(Cause.pretty(cause), t.message.recipientPhone)
      })

    /**
     * Records a message's result, again and again while its claim's lease holds
     * when the write fails (the database went away for a moment): once the lease
     * expires another dispatcher may claim the message and send it again (that claim
     * counts this attempt as an unknown outcome). Each failure is a
     * warning; the last, when the lease ran out, an error saying the message will be
     * sent again.
     */
    const recordWhileLeased = (
      owner: string,
      batch: Batch,
      t: Tracked,
      settlement: Settlement
    ): Effect.Effect<boolean, InfrastructureError> => {
      const leaseUntil = t.delivery.leaseUntil?.epochMillis ?? 0
      const about = (error: InfrastructureError) => ({
        ...logged(t),
        result: settlement._tag,
        error: maskPhoneIn(error.message, t.message.recipientPhone)
      })
      return Effect.suspend(() => record(owner, batch, t.message.id, settlement)).pipe(
        Effect.tapError((error) => Effect.logWarning("sms result not recorded; trying again", about(error))),
        Effect.retry({
          schedule: recordRetries,
          while: () => Effect.map(Clock.currentTimeMillis, (now) => now < leaseUntil)
        }),
        Effect.tapError((error) =>
          Effect.logError(
            "sms result not recorded before its lease expired: the message will be sent again, this attempt counted as an unknown outcome",
            about(error)
          )
        )
      )
    }

    /**
     * R64: a message claimed with its attempts at the limit already (the claims that
     * took over leases which expired unreleased counted them: its sending may be what
     * ends its dispatchers) is given up unsent.
     */
    const givenUp = (t: Tracked, now: DateTime.Utc): Settlement => ({
      _tag: "Dead",
      at: now,
      unknownOutcome: false,
      error: `given up unsent: ${t.delivery.attempts} attempts counted, ${t.delivery.unknownOutcomes} of them with unknown outcomes (timeouts, or leases that expired before a result was recorded)`,
      code: "dispatcher.given_up",
      attempted: false
    })

    /**
     * Sends one message and records its result (or gives it up, see `givenUp`).
     * Only the send is interruptible, by the batch's watchdog, which the dispatcher
     * tells about this fiber when it forks it; the result is always recorded and the
     * slot given back.
     */
    const processOne = (owner: string, t: Tracked, batch: Batch, index: number) =>
      Effect.uninterruptible(
        Effect.withFiberRuntime<void, InfrastructureError>((self) =>
          Effect.flatMap(
            t.delivery.attempts >= config.maxAttempts
              ? Effect.succeed(null)
              : Effect.exit(Effect.interruptible(send(t))),
            (exit) => {
              batch.inflight.delete(self)
              return Effect.flatMap(DateTime.now, (now) =>
                Effect.flatMap(
                  exit === null
                    ? Effect.succeed(givenUp(t, now))
                    : Exit.isSuccess(exit)
                      ? settlementOf(t, exit.value, now)
                      : Cause.isInterruptedOnly(exit.cause)
                        ? Effect.zipRight(logCut(t), settlementOf(t, timedOut, now))
                        : Effect.zipRight(logDied(t, exit.cause), settlementOf(t, died, now)),
                  (settlement) =>
                    Effect.flatMap(recordWhileLeased(owner, batch, t, settlement), (held) => {
                      batch.results[index] = held ? settlement._tag : "Lost"
                      return logSettled(t, settlement, held)
                    })
                )
              )
            }
          )
        ).pipe(Effect.ensuring(batch.slots.release(1)))
      )

    /**
     * Interrupts the sends of a batch that pass the send timeout. One timer per batch
     * rather than one per message: a timed-out send counts as an unknown outcome.
     */
    const watchdog = (batch: Batch) =>
      Effect.gen(function* () {
        while (batch.launching || batch.inflight.size > 0) {
          yield* Effect.sleep(tick)
          const now = yield* Clock.currentTimeMillis
          for (const [fiber, deadline] of batch.inflight) {
            if (deadline <= now) {
              batch.inflight.delete(fiber)
              yield* Fiber.interruptFork(fiber)
            }
          }
        }
      })

    /**
     * Gives back the claimed messages a batch did not start (too little of their
     * lease left, or the dispatcher stopped): due now, their attempts as they were. Left
     * to expire, their leases would count as attempts with unknown outcomes. A
     * release the outbox cannot answer is logged; those leases then expire.
     */
    const release = (holder: string, unstarted: ReadonlyArray<Tracked>): Effect.Effect<void> =>
      unstarted.length === 0
        ? Effect.void
        : Effect.flatMap(DateTime.now, (now) => {
            const entries = unstarted.map((t) => ({
              id: t.message.id,
              settlement: {
                _tag: "Retry",
                nextAttemptAt: now,
                unknownOutcome: false,
                ...(t.delivery.lastError === null
                  ? { error: "not sent yet: released unsent by its dispatcher", code: "dispatcher.released" }
                  : { error: t.delivery.lastError, code: t.delivery.lastCode ?? undefined }),
                attempted: false
              } satisfies Settlement
            }))
            const settleMany = outbox.settleMany
            return (
              settleMany === undefined
                ? Effect.forEach(entries, (e) => outbox.settle(e.id, holder, e.settlement), { discard: true })
                : settleMany(holder, entries)
            ).pipe(
              Effect.asVoid,
              Effect.catchAll((error) =>
                Effect.logWarning("sms not released; they wait for their leases to expire", {
                  messages: unstarted.length,
                  error: error.message
                })
              )
            )
          })

    /**
     * Claims a batch for `owner` (its leases held as `<owner>/<a fresh id>`, so that
     * a claim is told from the same dispatcher's earlier ones) and starts its sends, each in a fiber of its own
     * detached from the caller, as `slots` allow; answers once every send of the
     * batch has started (or the batch is empty) with what waits for the batch's
     * end. Interrupting it stops it from starting more sends and gives back the
     * messages it did not start (a claim under way gives back what it claims once
     * it answers); the sends already started finish and record their results.
     */
    const launch = (
      owner: string,
      slots: Effect.Semaphore,
      started?: Set<Fiber.RuntimeFiber<void, InfrastructureError>>
    ): Effect.Effect<Effect.Effect<Round> | undefined, InfrastructureError> =>
      // Only waiting for the claim or for a free slot is interruptible: a claim made
      // is always met by the release of what the batch does not start, and a message
      // whose turn came is started or given back. The watchdog's fiber is
      // interruptible; a send's is but for its send (see processOne).
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          // Each claim holds its leases under a name of its own: a late write of an
          // earlier claim of this dispatcher cannot pass for this one's.
          const holder = `${owner}/${Ids.make()}`
          // A claim under way is not cut short (the database may still commit it), nor
          // waited for by a stop: it finishes on its own fiber, which then gives back
          // what it claimed.
          const claiming = yield* Effect.forkDaemon(
            outbox.claim({
              owner: holder,
              now: yield* DateTime.now,
              leaseMillis: config.leaseMillis,
              limit: config.batchSize
            })
          )
          const claimed = yield* restore(Fiber.join(claiming)).pipe(
            Effect.onInterrupt(() =>
              Effect.forkDaemon(
                Effect.flatMap(Fiber.join(claiming), (late) => release(holder, late)).pipe(Effect.ignore)
              )
            )
          )
          if (claimed.length === 0) return undefined
          const batch: Batch = {
            slots,
            inflight: new Map(),
            results: claimed.map(() => "Lost" as const),
            launching: true,
            queue: [],
            settling: false
          }
          yield* Effect.forkDaemon(Effect.interruptible(watchdog(batch)))
          const fibers: Array<Fiber.RuntimeFiber<void, InfrastructureError>> = []
          const skipped: Array<Tracked> = []
          let reached = 0
          yield* Effect.forEach(
            claimed,
            (t, index) =>
              Effect.zipRight(
                restore(batch.slots.take(1)),
                Effect.flatMap(Clock.currentTimeMillis, (now) => {
                  reached = index + 1
                  const remaining = (t.delivery.leaseUntil?.epochMillis ?? 0) - now
                  if (remaining <= Math.max(config.sendTimeoutMillis * 2, config.leaseMillis / 2)) {
                    skipped.push(t)
                    return batch.slots.release(1)
                  }
                  return Effect.map(Effect.forkDaemon(processOne(holder, t, batch, index)), (fiber) => {
                    batch.inflight.set(fiber, now + config.sendTimeoutMillis)
                    fibers.push(fiber)
                    if (started !== undefined) {
                      started.add(fiber)
                      fiber.addObserver(() => started.delete(fiber))
                    }
                  })
                })
              ),
            { discard: true }
          ).pipe(
            Effect.ensuring(
              Effect.suspend(() => {
                batch.launching = false
                return release(holder, [...skipped, ...claimed.slice(reached)])
              })
            )
          )
          if (skipped.length > 0)
            yield* Effect.logWarning(
              "sms not sent: too little of their lease was left when their turn came; released for the next claim (raise outbox.leaseMillis, or lower outbox.batchSize)",
              { skipped: skipped.length, claimed: claimed.length, leaseMillis: config.leaseMillis }
            )
          return Effect.map(Effect.forEach(fibers, Fiber.await, { discard: true }), () => {
            const count = (tag: string) => batch.results.filter((r) => r === tag).length
            return {
              claimed: claimed.length,
              sent: count("Sent"),
              retried: count("Retry"),
              dead: count("Dead"),
              lost: count("Lost")
            }
          })
        })
      )

    /**
     * One round: claim a batch for `owner` and process it, at most
     * `sendConcurrency` sends at once. Each message runs in a fiber of its own,
     * detached from the caller: interrupting the round stops it from starting more
     * sends, and the sends already started finish and record their results.
     */
    const dispatchOnce = (owner: string = Ids.make()): Effect.Effect<Round, InfrastructureError> =>
      Effect.gen(function* () {
        const launched = yield* launch(owner, yield* Effect.makeSemaphore(config.sendConcurrency))
        return launched === undefined
          ? { claimed: 0, sent: 0, retried: 0, dead: 0, lost: 0 }
          : yield* launched
      })

    /**
     * R64: a claim the outbox could not answer (the database away) is logged and tried
     * again, after `idleMillis`, then twice as long each time, at most ten seconds
     * apart (or `idleMillis`, if longer): the dispatcher outlives an outage and resumes
     * within seconds of its end (a claim that cannot connect costs nothing).
     */
    const outage = Schedule.exponential(Duration.millis(config.idleMillis)).pipe(
      Schedule.union(Schedule.spaced(Duration.millis(Math.max(config.idleMillis, 10_000))))
    )

    /**
     * Dispatches forever, sleeping `idleMillis` when nothing is due. Rounds
     * overlap: the next batch is claimed once every send of the current one has
     * started, and its sends take the slots the current one frees, so at most
     * `sendConcurrency` sends run at once and the slots stay busy between batches.
     * One batch at a time waits for slots: at most `batchSize` claimed messages
     * wait to start. A failed claim does not end it (see `outage`). Interrupting it
     * stops it from claiming and starting sends, and it ends once every send it
     * started has finished and recorded its result (a send at most its timeout, a
     * record tried again while the message's lease lasts): a process that stops its
     * dispatcher before closing its database and transport leaves no message sent
     * but not recorded.
     */
    const run = (owner: string = Ids.make()): Effect.Effect<never> =>
      Effect.flatMap(Effect.makeSemaphore(config.sendConcurrency), (slots) => {
        const started = new Set<Fiber.RuntimeFiber<void, InfrastructureError>>()
        return Effect.forever(
          launch(owner, slots, started).pipe(
            Effect.tapError((error) => Effect.logWarning("outbox claim failed; trying again", error)),
            Effect.retry(outage),
            Effect.orDie, // `outage` never ends
            // A defect (a bug of an adapter, say) must not end the dispatcher either.
            Effect.catchAllDefect((defect) =>
              Effect.as(
                Effect.zipRight(
                  Effect.logError("outbox dispatcher: a round died; going on", Cause.die(defect)),
                  Effect.sleep(Duration.millis(Math.max(config.idleMillis, 1_000)))
                ),
                null
              )
            ),
            Effect.flatMap((launched) =>
              launched === undefined ? Effect.sleep(Duration.millis(config.idleMillis)) : Effect.void
            )
          )
        ).pipe(Effect.onInterrupt(() => Effect.forEach([...started], Fiber.await, { discard: true })))
      })

    return { dispatchOnce, run }
  })
}) {}
