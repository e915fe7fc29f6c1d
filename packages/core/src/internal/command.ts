import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { AuditEvent } from "../Audit.js"
import {
  type DomainError,
  denied,
  firstIssue,
  IdempotencyKeyReused,
  InfrastructureError,
  InvalidInput,
  InvalidState,
  notFound,
  type StaleWrite,
  type UniqueViolation
} from "../Errors.js"
import { canonicalJson, IdempotencyKey, type IdempotencyRecord } from "../Idempotency.js"
import * as Ids from "../Ids.js"
import type { AccountId, DemandId, MemberId } from "../Ids.js"
import { type Account, type Actor, credentialIssuedAt, issuedBeforeReactivation } from "../Member.js"
import { AccountRepository, IdempotencyRepository, MemberRepository, UnitOfWork } from "../Persistence.js"
import { type EventValues, type NotificationEvent, type ResolvedSettings, Settings } from "../Settings.js"
import { concurrentlyInOrder } from "./concurrently.js"
import { makeJournal, Pending } from "./journal.js"
import { type Notice, toAccountMessage, toOutbox } from "./notify.js"

/**
 * Options every command takes.
 *
 * @since 0.1.0
 */
export interface CommandOptions {
  /** R63: a client key; a repeat with the same input returns the first result. */
  readonly idempotencyKey?: string | undefined
  /**
   * R63: answer only a repeat of `idempotencyKey` (its first result, or
   * `IdempotencyKeyReused`), and run nothing new: without a stored result the command
   * fails with `InvalidState` (`idempotency.not_replayed`) and changes nothing. For a
   * caller that refuses new commands for now (a rate limit) but owes a repeat its
   * first result.
   */
  readonly replayOnly?: boolean | undefined
  /**
   * R63: run once the command has answered a repeat of `idempotencyKey` from its
   * stored result (nothing new ran), after its unit of work ended. For a caller that
   * charged the request for running something (a rate limit gives it back).
   *
   * @since 0.2.0
   */
  readonly onReplay?: Effect.Effect<void> | undefined
}

/** @internal What an audit call fills in itself. */
export type AuditInput = Pick<AuditEvent, "entity" | "entityId" | "action"> &
  Partial<Pick<AuditEvent, "demandId" | "onBehalfOf" | "before" | "after" | "reason">> & {
    readonly members?: ReadonlyArray<MemberId | null>
  }

/**
 * @internal
 * The audit event of `event` done by `actorAccountId` (of `actorMemberId`) at `now`:
 * its members are the actor's member, the member it was done on behalf of, and the
 * ones the event names (R60), each once.
 */
export const auditEventOf = (
  event: AuditInput,
  actorAccountId: AccountId,
  actorMemberId: MemberId | null,
  now: DateTime.Utc
): AuditEvent => ({
  id: Ids.make(),
  at: now,
  actorAccountId,
  actorMemberId,
  onBehalfOf: event.onBehalfOf ?? null,
  entity: event.entity,
  entityId: event.entityId,
  demandId: event.demandId ?? null,
  members: [...new Set([actorMemberId, event.onBehalfOf ?? null, ...(event.members ?? [])])].filter(
    (m): m is MemberId => m !== null
  ),
  action: event.action,
  before: event.before ?? null,
  after: event.after ?? null,
  reason: event.reason ?? null
})

/** @internal A notice to one account: the event, what it is about, the template's values. */
export type AccountNotice = <E extends NotificationEvent>(
  accountId: AccountId,
  event: E,
  subjectId: string,
  values: EventValues<E>
) => Effect.Effect<void>

/**
 * @internal
 * The context of one run of a use case. Audit events and notifications are
 * collected while the use case runs and written together at its end, in its unit
 * of work (see `journal.ts`).
 */
export interface Ctx {
  readonly actor: Actor
  readonly now: DateTime.Utc
  readonly settings: ResolvedSettings
  readonly audit: (event: AuditInput) => Effect.Effect<void>
  /** Notifies phones (R64). */
  readonly notify: (notices: ReadonlyArray<Notice>) => Effect.Effect<void>
  /** Notifies an account by its phone; an account that no longer exists is skipped. */
  readonly notifyAccount: AccountNotice
  /**
   * Defers a write whose result the use case does not read to the end of its unit of
   * work, where the deferred writes and the journal are issued together (an adapter
   * that pipelines sends them in one round trip). Its failure fails the use case and
   * undoes the unit, as a write made at once does; the first failure in the order
   * the writes were deferred is the one reported.
   */
  readonly writeLater: (write: Effect.Effect<unknown, LaterError>) => Effect.Effect<void>
}

/** @internal The context of a read that anonymous callers may make. */
export interface ReadCtx {
  readonly actor: Actor | null
  readonly now: DateTime.Utc
  readonly settings: ResolvedSettings
}

type Leftover = UniqueViolation | StaleWrite

/** @internal What a write deferred with `Ctx.writeLater` may fail with. */
export type LaterError = DomainError | InfrastructureError | Leftover

const isIdempotencyKey = Schema.is(IdempotencyKey)

/**
 * @internal
 * How inputs are decoded: a property the input's schema does not have, at any depth,
 * is refused naming it ("is unexpected"). Dropped without a word, a misspelt optional
 * field (`clientID` for `clientId`, R41) would lose its value (R10: every field is
 * validated).
 */
export const strictly = { onExcessProperty: "error" } as const

/** R63: what a command asked only for a replay (`replayOnly`) fails with when there is none. */
const notReplayed = () =>
  new InvalidState({
    rule: "R63",
    code: "idempotency.not_replayed",
    message: "no first result is stored under this idempotency key"
  })

/**
 * R63: what a repeat fails with when its key's stored first result no longer reads
 * as the command's output (stored by a release whose output was shaped otherwise,
 * within the key's hours): its first run committed, so it is not run again.
 */
const unreadableResult = () =>
  new InvalidState({
    rule: "R63",
    code: "idempotency.result_unreadable",
    message:
      "the first result stored under this idempotency key can no longer be read; the request was done: read what it changed instead of sending it again"
  })

/** @internal */
export const inputError =
  (rule: string, rules: Readonly<Record<string, string>>) => (error: ParseResult.ParseError) => {
    const issue = firstIssue(ParseResult.ArrayFormatter.formatErrorSync(error))
    const field = issue?.path.join(".") || "input"
    const top = String(issue?.path[0] ?? "")
    return new InvalidInput({
      rule: rules[field] ?? rules[top] ?? rule,
      code: "input.invalid",
      field,
      message: `${field}: ${issue?.message ?? "invalid"}`
    })
  }

/**
 * Both results, `first`'s and `second`'s, the two issued together (an adapter that
 * pipelines sends their statements in one round trip), each run to its end;
 * `first`'s failure is reported before `second`'s.
 */
const both = <A, EA, B, EB>(
  first: Effect.Effect<A, EA>,
  second: Effect.Effect<B, EB>
): Effect.Effect<readonly [A, B], EA | EB> =>
  Effect.map(concurrentlyInOrder<A | B, EA | EB>([first, second]), ([a, b]) => [a as A, b as B] as const)

/** @internal Builds the runner that every use-case service uses. */
export const makeRunner = Effect.gen(function* () {
  const uow = yield* UnitOfWork
  const read = uow.read ?? uow.transaction
  const accounts = yield* AccountRepository
  const members = yield* MemberRepository
  const idempotency = yield* IdempotencyRepository
  const journal = yield* makeJournal
  const settings = yield* Settings

  const unknownActor = () => denied("R5", "actor.unknown", "the acting account is unknown or inactive")
  /**
   * `found` when its account acts: active, and reactivated no later than its
   * caller's credential was issued (§3, `Member.credentialIssuedAt`), else R5's
   * refusal. The credential's instant is read only for an account once reactivated.
   */
  const acting = <A>(account: Account, found: A): Effect.Effect<A, DomainError> =>
    !account.active
      ? Effect.fail(unknownActor())
      : account.reactivatedAt === null
        ? Effect.succeed(found)
        : Effect.flatMap(FiberRef.get(credentialIssuedAt), (issuedAt) =>
            issuedBeforeReactivation(account, issuedAt)
              ? Effect.fail(
                  denied(
                    "R5",
                    "actor.unknown",
                    "the credential was issued before the acting account was made active again: sign in again"
                  )
                )
              : Effect.succeed(found)
          )
  const findWithMember = accounts.findWithMember
  const loadActor = (accountId: AccountId): Effect.Effect<Actor, DomainError | InfrastructureError> =>
    findWithMember === undefined
      ? Effect.gen(function* () {
          const account = yield* accounts.findById(accountId)
          if (Option.isNone(account)) return yield* Effect.fail(unknownActor())
          yield* acting(account.value, undefined)
          const member =
            account.value.memberId === null ? Option.none() : yield* members.findById(account.value.memberId)
          return { account: account.value, member: Option.getOrNull(member) } satisfies Actor
        })
      : Effect.flatMap(findWithMember(accountId), (found) =>
          Option.isNone(found) ? Effect.fail(unknownActor()) : acting<Actor>(found.value.account, found.value)
        )

  const findWithRecord = accounts.findWithMemberAndRecord
  /**
   * The actor and its idempotency record under `key` (R63): one read when the
   * adapter has `findWithMemberAndRecord`, else the actor then the record. An
   * unknown or inactive account fails before its record counts (R5).
   */
  const loadActorAndRecord = (
    accountId: AccountId,
    key: string
  ): Effect.Effect<
    { readonly actor: Actor; readonly previous: Option.Option<IdempotencyRecord> },
    DomainError | InfrastructureError
  > =>
    findWithRecord === undefined
      ? Effect.flatMap(loadActor(accountId), (actor) =>
          Effect.map(idempotency.find(accountId, key), (previous) => ({ actor, previous }))
        )
      : Effect.flatMap(findWithRecord(accountId, key), (found) =>
          Option.isNone(found)
            ? Effect.fail(unknownActor())
            : acting(found.value.account, {
                actor: { account: found.value.account, member: found.value.member },
                previous: found.value.record
              })
        )

  /** A write conflict the body did not catch, reported under `rule` (R5: errors name their rule). */
  const settleLeftovers = <A, E>(rule: string, effect: Effect.Effect<A, E | Leftover>) =>
    Effect.catchIf(
      effect,
      (e): e is Leftover =>
        typeof e === "object" &&
        e !== null &&
        "_tag" in e &&
        (e._tag === "UniqueViolation" || e._tag === "StaleWrite"),
      () =>
        Effect.fail(
          new InvalidState({
            rule,
            code: "concurrent_change",
            message: "the resource was changed by someone else at the same time; read it again and retry"
          })
        )
    ) as Effect.Effect<A, Exclude<E, Leftover> | InvalidState>

  const makeCtx = (actor: Actor, now: DateTime.Utc, pending: Pending<LaterError>): Ctx => ({
    actor,
    now,
    settings,
    notify: (notices) => Effect.sync(() => pending.messages.push(...toOutbox(notices, settings, now))),
    writeLater: (write) => Effect.sync(() => pending.writes.push(write)),
    notifyAccount: (accountId, event, subjectId, values) =>
      Effect.sync(() =>
        pending.accountMessages.push(toAccountMessage(accountId, { event, subjectId, values }, settings, now))
      ),
    audit: (event) =>
      Effect.sync(() =>
        pending.events.push(auditEventOf(event, actor.account.id, actor.member?.id ?? null, now))
      )
  })

  /**
   * A mutating command: decodes its input (errors name the field and the rule),
   * resolves the actor, applies R63, runs the body and writes its audit events, all
   * in one unit of work. Written without generators, as the reads: every command
   * runs it (issue 8's P2).
   */
  const command = <I, IE, A, AE, E, P = undefined>(
    spec: {
      readonly name: string
      readonly input: Schema.Schema<I, IE>
      readonly output: Schema.Schema<A, AE>
      readonly rule: string
      readonly rules?: Readonly<Record<string, string>>
      /**
       * The rule a write conflict the body does not catch (`concurrent_change`) names;
       * `rule` when not given.
       */
      readonly conflictRule?: string
      /**
       * A read the body needs whoever acts (a row to lock), issued together with the
       * actor's read: an adapter that pipelines sends both in one round trip. Its
       * result is the body's third argument. It runs whatever the actor's read finds
       * (an unknown account's unit locks the row too, until it is undone), but a
       * failure of the actor's read (R5) is reported before its own; a replayed key
       * (R63) ignores its result, and its failure. The command's instant (`ctx.now`)
       * is read once it is done: a command that waited here for another's lock is
       * timed after it, so the times the two store follow the order they were taken
       * in (a response is never stored as submitted after the adoption that closed
       * intake to it, R24, R26). The commands of a demand's responses (respond,
       * revise, withdraw, adopt, feedback, end of selection, outcomes) lock here; a
       * lock a body takes later is waited for after the instant was read.
       */
      readonly prefetch?: (input: I) => Effect.Effect<P, InfrastructureError>
    },
    body: (ctx: Ctx, input: I, prefetched: P) => Effect.Effect<A, E | Leftover>
  ) => {
    const decodeInput = Schema.decodeUnknown(spec.input, strictly)
    const encodeInput = Schema.encodeEither(spec.input)
    const encodeOutput = Schema.encode(spec.output)
    const decodeOutput = Schema.decodeUnknown(spec.output)
    const invalid = inputError(spec.rule, spec.rules ?? {})

    /**
     * R63: the answer a stored record gives a repeat: its first result, or
     * `IdempotencyKeyReused` for another input.
     */
    const replay = (
      record: IdempotencyRecord,
      fingerprint: string
    ): Effect.Effect<A, IdempotencyKeyReused | InvalidState> =>
      record.fingerprint === fingerprint
        ? Effect.mapError(decodeOutput(record.result), unreadableResult)
        : Effect.fail(
            new IdempotencyKeyReused({
              rule: "R63",
              code: "idempotency.key_reused",
              field: "idempotencyKey",
              message: "this idempotency key was used with a different request"
            })
          )

    /**
     * R63, a repeat sent while the first was still running: it read no record, ran
     * the body, and failed once the first committed (it waited for the first's row
     * lock and was refused by what the first did, or its record's insert waited for
     * the first's and was a unique violation). Read again after the failure, the
     * key's record answers it as any repeat; without a record the failure stands (a
     * refusal of its own: nothing of an unfinished first is visible to another unit
     * of work), as it does when the read itself fails.
     */
    const replayAfter = <E>(accountId: AccountId, key: string, fingerprint: string, failure: E) =>
      Effect.catchAll(
        read(
          Effect.flatMap(
            loadActorAndRecord(accountId, key),
            ({ previous }): Effect.Effect<A, E | IdempotencyKeyReused | InvalidState> =>
              Option.isSome(previous) ? replay(previous.value, fingerprint) : Effect.fail(failure)
          )
        ),
        (error) =>
          Effect.fail(
            error instanceof IdempotencyKeyReused ||
              (error instanceof InvalidState && error.code === "idempotency.result_unreadable")
              ? error
              : failure
          )
      )

    /** The body and its journal; with a key, its encoded result is recorded too (R63). */
    const run = (
      accountId: AccountId,
      actor: Actor,
      now: DateTime.Utc,
      decoded: I,
      prefetched: P,
      keyed?: { readonly key: string; readonly fingerprint: string }
    ) =>
      Effect.suspend(() => {
        const pending = new Pending<LaterError>()
        return Effect.flatMap(body(makeCtx(actor, now, pending), decoded, prefetched), (result) =>
          keyed === undefined
            ? Effect.as(journal.flush(pending, null), result)
            : Effect.flatMap(Effect.orDie(encodeOutput(result)), (encoded) =>
                Effect.as(
                  journal.flush(pending, { accountId, ...keyed, result: encoded, createdAt: now }),
                  result
                )
              )
        )
      })

    return (
      accountId: AccountId,
      input: IE,
      options: CommandOptions = {}
    ): Effect.Effect<A, Exclude<E, Leftover> | DomainError | InfrastructureError> => {
      const key = options.idempotencyKey
      return Effect.suspend(() => {
        /** Whether this run's last attempt answered from the key's stored result. */
        let replayed = false
        const replaying = <X, EX>(answer: Effect.Effect<X, EX>) =>
          Effect.tap(answer, () => {
            replayed = true
          })
        if (key !== undefined && !isIdempotencyKey(key)) {
          return Effect.fail(
            new InvalidInput({
              rule: "R63",
              code: "idempotency.key_invalid",
              field: "idempotencyKey",
              message: "an idempotency key is 1–255 visible ASCII characters"
            })
          )
        }
        return Effect.flatMap(Effect.mapError(decodeInput(input), invalid), (decoded) => {
          // R63: the request as decoded (trimmed, normalised), so that inputs the schema
          // reads alike are one request, whichever layer decoded them first.
          const fingerprint =
            key === undefined
              ? ""
              : `${spec.name}:${canonicalJson(Either.getOrElse(encodeInput(decoded), () => input))}`
          const attempt = uow.transaction(
            settleLeftovers(
              spec.conflictRule ?? spec.rule,
              Effect.suspend(() => {
                replayed = false
                const prefetch = spec.prefetch
                /*
                 * The prefetch's outcome is kept as an Either: a failure of the actor's
                 * read is reported first, and the prefetch's own failure only when the
                 * body runs with it (a replayed key answers without it).
                 */
                const withPrefetched = <X, EX>(read: Effect.Effect<X, EX>) =>
                  prefetch === undefined
                    ? Effect.map(read, (x) => [x, Either.right(undefined as P)] as const)
                    : both(read, Effect.either(prefetch(decoded)))
                const runWith = (
                  actor: Actor,
                  prefetched: Either.Either<P, InfrastructureError>,
                  keyed?: { readonly key: string; readonly fingerprint: string }
                ) =>
                  Either.isLeft(prefetched)
                    ? Effect.fail(prefetched.left)
                    : Effect.flatMap(DateTime.now, (now) =>
                        run(accountId, actor, now, decoded, prefetched.right, keyed)
                      )
                if (key === undefined) {
                  if (options.replayOnly === true) return Effect.fail(notReplayed())
                  return Effect.flatMap(withPrefetched(loadActor(accountId)), ([actor, prefetched]) =>
                    runWith(actor, prefetched)
                  )
                }
                return Effect.flatMap(
                  withPrefetched(loadActorAndRecord(accountId, key)),
                  ([{ actor, previous }, prefetched]): Effect.Effect<
                    A,
                    E | Leftover | DomainError | InfrastructureError
                  > => {
                    if (Option.isNone(previous)) {
                      return options.replayOnly === true
                        ? Effect.fail(notReplayed())
                        : runWith(actor, prefetched, { key, fingerprint })
                    }
                    return replaying(replay(previous.value, fingerprint))
                  }
                )
              })
            )
          )
          const answered =
            key === undefined || options.replayOnly === true
              ? attempt
              : Effect.catchAll(attempt, (failure) =>
                  failure instanceof IdempotencyKeyReused
                    ? Effect.fail(failure)
                    : // A commit whose outcome is unknown may have landed: the record
                      // then found is this run's own, not a replay.
                      failure instanceof InfrastructureError && failure.outcome === "unknown"
                      ? replayAfter(accountId, key, fingerprint, failure)
                      : replaying(replayAfter(accountId, key, fingerprint, failure))
                )
          const onReplay = options.onReplay
          return onReplay === undefined
            ? answered
            : Effect.tap(answered, () => (replayed ? onReplay : Effect.void))
        })
      }) as Effect.Effect<A, Exclude<E, Leftover> | DomainError | InfrastructureError>
    }
  }

  /**
   * A read: decodes its input and runs as the unit of work's read (committed data
   * only). Written without a generator: every list and page runs it (issue 8's P1).
   */
  const query = <I, IE, A, E>(
    spec: { readonly input: Schema.Schema<I, IE>; readonly rule: string; readonly anonymous?: boolean },
    body: (ctx: ReadCtx, input: I) => Effect.Effect<A, E>
  ) => {
    const decodeInput = Schema.decodeUnknown(spec.input, strictly)
    const invalid = inputError(spec.rule, {})
    return (
      accountId: AccountId | null,
      input: IE
    ): Effect.Effect<A, E | DomainError | InfrastructureError> =>
      Effect.suspend(() =>
        Effect.flatMap(Effect.mapError(decodeInput(input), invalid), (decoded) =>
          read(
            Effect.flatMap(DateTime.now, (now) => {
              if (accountId === null) {
                return spec.anonymous === true
                  ? body({ actor: null, now, settings }, decoded)
                  : Effect.fail(denied("R5", "actor.required", "this list needs a signed-in account"))
              }
              return Effect.flatMap(loadActor(accountId), (actor) => body({ actor, now, settings }, decoded))
            })
          )
        )
      )
  }

  return { command, query, settings, loadActor }
})

/** @internal */
export type Runner = Effect.Effect.Success<typeof makeRunner>

/** @internal The demand the actor may see, or not-found (R5). */
export const found = <A>(entity: string, value: Option.Option<A>, visible: (a: A) => boolean = () => true) =>
  Option.isSome(value) && visible(value.value) ? Effect.succeed(value.value) : Effect.fail(notFound(entity))

/** @internal */
export type { DemandId }
