/**
 * The persistence ports. An adapter provides every tag of {@link Ports};
 * `layerMemory` in `PersistenceMemory` is the reference implementation, and
 * `@zhongbao/testing` is the suite every implementation passes. The file store of
 * R54 is a port of its own module, `FileStore`, and belongs to {@link Ports} as well.
 *
 * Optional capabilities let an adapter do in one round trip what core otherwise
 * does in several, with the same result. This is the whole list:
 * `AccountRepository.findWithMember`, `AccountRepository.findWithMemberAndRecord`,
 * `ResponseRepository.findWithDemandForUpdate`, `ResponseRepository.findActiveAmong`,
 * `Outbox.settleMany`, `UnitOfWork.read`, `FileStore.read` (a file streamed in pieces
 * rather than read whole) and the {@link Journal} port (not part of {@link Ports};
 * core looks for it in the context). The memory adapter has them all but
 * `UnitOfWork.read` (its writes apply in place, so a read outside a unit could see
 * an unfinished one's); the conformance suite checks those an adapter has and reports
 * the tests of the others skipped.
 *
 * Contract shared by all ports:
 * - Methods never fail with domain errors; infrastructure failures are
 *   `InfrastructureError`, a taken unique key `UniqueViolation`, a lost versioned
 *   update, or an update of an id not stored (an update never inserts), `StaleWrite`.
 * - Inside `UnitOfWork.transaction` every method takes part in that transaction:
 *   all of it commits or none of it does. `findByIdForUpdate` locks the row until
 *   the transaction ends (the respond-vs-adopt race of R26).
 * - A method makes its checks when its effect runs, not when the effect is made,
 *   and methods may run concurrently in one unit of work (core issues a command's
 *   actor read with the row it locks, and its deferred writes with its journal,
 *   together): the adapter runs them in its transaction, in the order they were
 *   issued where its connection orders them. Nested units of work are not run
 *   concurrently with one another.
 * - A unit of work that catches a failure of one of its methods and goes on may
 *   still fail as a whole: an adapter on a database whose transaction a failed
 *   statement aborts (PostgreSQL) rolls the unit back and fails it rather than
 *   commit half of it. To go on after a refused write, run that write in a nested
 *   unit of work: its failure undoes it alone. Core's use cases never catch and go on;
 *   `layerMemory` fails a unit that went on after a `UniqueViolation` too (an
 *   `InfrastructureError` of the port `UnitOfWork`), so that core's tests would find
 *   one that did.
 * - Reads see what had committed when each of them started (PostgreSQL's READ
 *   COMMITTED), and inside a unit of work its own writes too: core reads a row again
 *   after it locked another, and expects the latest. A store whose transactions read
 *   one snapshot from their first read on (MySQL's default REPEATABLE READ) runs its
 *   units at READ COMMITTED. (`layerMemory` runs reads outside a unit in a unit of
 *   their own, as it lacks `UnitOfWork.read`.)
 * - Text compares exactly, code point by code point (a binary collation): ids,
 *   unique keys (an idempotency key `ORDER-42` is not `order-42`) and filters
 *   (`field`, `region`). A keyword matches as a substring of the lower-cased title,
 *   summary or keywords, lower-cased as JavaScript's `toLowerCase` does, without
 *   folding accents or full-width letters (`ＯＬＥＤ` is not `oled`), or as the whole
 *   of a demand's number in upper case (`zb20260005` finds `ZB20260005`).
 * - Lists return at most `limit` rows after the position `after` in the list's
 *   order (sort key, then id); the caller asks for one more row than it shows to
 *   know whether a next page exists.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { AuditEvent } from "./Audit.js"
import type { Commission, CommissionState } from "./Commission.js"
import type { Message, Thread } from "./Consultation.js"
import type { LocalDate } from "./Deadline.js"
import type { Demand, DemandBrief, DemandState } from "./Demand.js"
import type { InfrastructureError, StaleWrite, UniqueViolation } from "./Errors.js"
import type { FileStore } from "./FileStore.js"
import type { IdempotencyRecord } from "./Idempotency.js"
import type {
  AccountId,
  CommissionId,
  DemandId,
  MemberId,
  OutboxMessageId,
  ResponseId,
  TechnologyManagerId,
  ThreadId
} from "./Ids.js"
import type { Account, Member, MemberKind, TechnologyManager } from "./Member.js"
import type { OutboxMessage, OutboxSummary, Settlement, Tracked } from "./Notification.js"
import type { Position } from "./Pagination.js"
import type { StatusView, WindowView } from "./Phase.js"
import type { Fen } from "./Money.js"
import type { Response, ResponseStatus } from "./Response.js"
import type {
  ApplicationState,
  InstitutionProfile,
  RewardApplication,
  RewardApplicationId,
  RewardRound,
  RewardRoundId,
  RoundState
} from "./Reward.js"
import type { Entry } from "./ServiceLog.js"

type Fx<A> = Effect.Effect<A, InfrastructureError>
type Insert = Effect.Effect<void, InfrastructureError | UniqueViolation>
type Update = Effect.Effect<void, InfrastructureError | StaleWrite | UniqueViolation>

/**
 * Where a list continues and how many rows it returns.
 *
 * @since 0.1.0
 * @category models
 */
export interface Range {
  readonly after?: Position | undefined
  readonly limit: number
}

/**
 * Members: order `(createdAt, id)` ascending.
 *
 * @since 0.1.0
 * @category ports
 */
export class MemberRepository extends Context.Tag("@zhongbao/core/MemberRepository")<
  MemberRepository,
  {
    readonly insert: (member: Member) => Insert
    readonly update: (member: Member) => Update
    readonly findById: (id: MemberId) => Fx<Option.Option<Member>>
    /**
     * As `findById`, and no other unit of work changes the member or locks it with
     * `findByIdForUpdate` until the transaction ends: a second call waits, then
     * reads what the first committed (an exclusive row lock, not a shared one);
     * writes that merely refer to the member are not held up. R1: two registrations
     * of one institution at once register it once; R52: two submissions of one
     * institution's applications are checked one after the other.
     */
    readonly findByIdForUpdate: (id: MemberId) => Fx<Option.Option<Member>>
    readonly list: (
      query: { readonly kind?: MemberKind | undefined; readonly registered?: boolean | undefined } & Range
    ) => Fx<ReadonlyArray<Member>>
  }
>() {}

/**
 * Accounts.
 *
 * @since 0.1.0
 * @category ports
 */
export class AccountRepository extends Context.Tag("@zhongbao/core/AccountRepository")<
  AccountRepository,
  {
    readonly insert: (account: Account) => Insert
    readonly update: (account: Account) => Update
    readonly findById: (id: AccountId) => Fx<Option.Option<Account>>
    /**
     * `findById`, holding the account until the unit of work ends (an exclusive row
     * lock: another `findByIdForUpdate` or a change waits, then reads what was
     * committed). §3: an operator's change to an account is taken in turn with another
     * (`Membership.updateAccount`), so each audits what it found and two operators do
     * not deactivate each other at once.
     *
     * @since 0.1.1
     */
    readonly findByIdForUpdate: (id: AccountId) => Fx<Option.Option<Account>>
    /** The member's accounts, the earliest created first, then by id (in code-point order). */
    readonly listByMember: (memberId: MemberId) => Fx<ReadonlyArray<Account>>
    /**
     * Optional: the account and its member (`null` without one, or when the member
     * row is missing) in one read, as `findById` then `MemberRepository.findById`
     * would answer them. Core reads the acting account of every use case with it
     * when the adapter has it, and with those two calls otherwise.
     *
     * @since 0.1.1
     */
    readonly findWithMember?: (
      id: AccountId
    ) => Fx<Option.Option<{ readonly account: Account; readonly member: Member | null }>>
    /**
     * Optional: what `findWithMember(id)` answers, with the account's idempotency
     * record under `key` (R63) as `IdempotencyRepository.find(id, key)` would answer
     * it, in one read. Core reads the acting account of every command that carries
     * an idempotency key with it when the adapter has it, and with `findWithMember`
     * (or its two calls) then `find` otherwise.
     *
     * @since 0.1.1
     */
    readonly findWithMemberAndRecord?: (
      id: AccountId,
      key: string
    ) => Fx<
      Option.Option<{
        readonly account: Account
        readonly member: Member | null
        readonly record: Option.Option<IdempotencyRecord>
      }>
    >
  }
>() {}

/**
 * Technology managers of institutions: order `(createdAt, id)` ascending.
 *
 * @since 0.1.0
 * @category ports
 */
export class TechnologyManagerRepository extends Context.Tag("@zhongbao/core/TechnologyManagerRepository")<
  TechnologyManagerRepository,
  {
    readonly insert: (manager: TechnologyManager) => Insert
    /** @since 0.1.1 */
    readonly update: (manager: TechnologyManager) => Update
    readonly findById: (id: TechnologyManagerId) => Fx<Option.Option<TechnologyManager>>
    /**
     * `findById`, and the manager found stays as it is until the transaction ends (a
     * shared row lock: other checks go on, a change waits); a change committed
     * meanwhile is waited for and read. R1: a demand names a manager only while the
     * manager it checked is active, never as it is retired.
     *
     * @since 0.1.1
     */
    readonly findByIdForShare: (id: TechnologyManagerId) => Fx<Option.Option<TechnologyManager>>
    /**
     * `findById`, holding the manager until the unit of work ends (an exclusive row
     * lock: another `findByIdForUpdate`, a `findByIdForShare` or a change waits, then
     * reads what was committed). R1: an institution's changes to one manager are taken
     * in turn, so each audits what it found.
     *
     * @since 0.1.1
     */
    readonly findByIdForUpdate: (id: TechnologyManagerId) => Fx<Option.Option<TechnologyManager>>
    readonly listByInstitution: (institutionId: MemberId) => Fx<ReadonlyArray<TechnologyManager>>
  }
>() {}

/**
 * Sort orders of demand lists and their keys:
 * - `created`: `(createdAt, id)` descending;
 * - `published`: `(firstPublishedAt, id)` descending; a demand never published has
 *   no such key and comes after those that were (a `null` key sorts below every
 *   other, as in `comparePositions`), by id;
 * - `deadline`: `(form.responseDeadline, id)` ascending.
 *
 * @since 0.1.0
 * @category models
 */
export type DemandSort = "created" | "published" | "deadline"

/**
 * Which demands a list may contain:
 * - `public`: published and solved demands (the public hall);
 * - `member`: demands a member manages (`publisher`), was commissioned for
 *   (`client`), or either (`any`);
 * - `all`: every demand (operators).
 *
 * @since 0.1.0
 * @category models
 */
export type DemandScope =
  | { readonly _tag: "public" }
  | { readonly _tag: "member"; readonly memberId: MemberId; readonly role: "publisher" | "client" | "any" }
  | { readonly _tag: "all" }

/**
 * A demand list query. `keyword` is lower case and matches title, summary or a
 * keyword as a substring (Chinese text included), or a demand's whole number in
 * upper case (R12: the number users quote); every other filter is exact or a
 * closed range.
 *
 * @since 0.1.0
 * @category models
 */
export interface DemandQuery extends Range {
  readonly scope: DemandScope
  readonly sort: DemandSort
  readonly states?: ReadonlyArray<DemandState> | undefined
  readonly field?: string | undefined
  readonly region?: string | undefined
  readonly keyword?: string | undefined
  readonly deadlineFrom?: LocalDate | undefined
  readonly deadlineTo?: LocalDate | undefined
  readonly intakeOpen?: boolean | undefined
  readonly serviceModes?: ReadonlyArray<string> | undefined
  /** Only demands whose selection has not been ended (`selectionEndedAt` is null). */
  readonly selectionOpen?: boolean | undefined
  /**
   * Only demands whose current round's selection window is over under the view
   * (R23, `Phase.windowOver`: the response deadline before `overBefore` less the
   * round's `selectionWindowDays`, or the view's for a round without one). The sweep
   * finds the rounds due by it.
   *
   * @since 0.2.0
   */
  readonly windowOver?: WindowView | undefined
  /**
   * Only demands whose current round holds responses (`responseCount > 0`), or,
   * `false`, none.
   *
   * @since 0.1.3
   */
  readonly hasResponses?: boolean | undefined
}

/**
 * Demands. `update` writes a demand whose `version` is one more than the stored one,
 * and fails with `StaleWrite` otherwise. `number` is unique. `findByIds` answers the
 * demands it finds, in no particular order.
 *
 * @since 0.1.0
 * @category ports
 */
export class DemandRepository extends Context.Tag("@zhongbao/core/DemandRepository")<
  DemandRepository,
  {
    readonly insert: (demand: Demand) => Insert
    readonly update: (demand: Demand) => Update
    readonly findById: (id: DemandId) => Fx<Option.Option<Demand>>
    readonly findByIdForUpdate: (id: DemandId) => Fx<Option.Option<Demand>>
    readonly findByIds: (ids: ReadonlyArray<DemandId>) => Fx<ReadonlyArray<Demand>>
    readonly list: (query: DemandQuery) => Fx<ReadonlyArray<Demand>>
    /** The rows of `list` for the same query, in its order, each as `Demand.briefOf` makes it (§9's list pages). */
    readonly listBriefs: (query: DemandQuery) => Fx<ReadonlyArray<DemandBrief>>
  }
>() {}

/**
 * Which responses a list may contain: those to demands a member manages
 * (`publisher`), those a member submitted (`responder`), or those of one demand.
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseScope =
  | { readonly _tag: "publisher"; readonly memberId: MemberId }
  | { readonly _tag: "responder"; readonly memberId: MemberId }
  | { readonly _tag: "demand"; readonly demandId: DemandId }

/**
 * A response list query: order `(submittedAt, id)` descending. `statuses` filters
 * by the stored status, or with `shown` by the status a reader is shown under that
 * view (`Phase.shownStatus`: a response still `submitted` whose round's selection is
 * over counts as `not_adopted`), which the lists of §9 ask for.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResponseQuery extends Range {
  readonly scope: ResponseScope
  readonly demandId?: DemandId | undefined
  readonly round?: number | undefined
  readonly statuses?: ReadonlyArray<ResponseStatus> | undefined
  readonly shown?: StatusView | undefined
}

/**
 * Responses. At most one response that is not withdrawn exists per
 * `(demandId, round, responderId)` (R21): `insert` and `update` fail with
 * `UniqueViolation` otherwise. `listByDemandRound` answers the round's responses in
 * the order they were submitted (`submittedAt`, then `id`): the order of the audit
 * events and notices of a round that ends.
 *
 * @since 0.1.0
 * @category ports
 */
export class ResponseRepository extends Context.Tag("@zhongbao/core/ResponseRepository")<
  ResponseRepository,
  {
    readonly insert: (response: Response) => Insert
    readonly update: (response: Response) => Update
    readonly findById: (id: ResponseId) => Fx<Option.Option<Response>>
    readonly findActive: (
      demandId: DemandId,
      round: number,
      responderId: MemberId
    ) => Fx<Option.Option<Response>>
    readonly listByDemandRound: (demandId: DemandId, round: number) => Fx<ReadonlyArray<Response>>
    readonly list: (query: ResponseQuery) => Fx<ReadonlyArray<Response>>
    /**
     * Optional: a response and its demand, both locked until the unit of work ends
     * (the demand first, as `DemandRepository.findByIdForUpdate` locks it, then the
     * response), both as they are once the locks are held. Core reads a response
     * it is about to change with it when the adapter has it, and otherwise with
     * `findById`, `DemandRepository.findByIdForUpdate` and `findById` again.
     *
     * @since 0.1.1
     */
    readonly findWithDemandForUpdate?: (
      id: ResponseId
    ) => Fx<Option.Option<{ readonly response: Response; readonly demand: Demand }>>
    /**
     * Optional: `responderId`'s active responses (not withdrawn) among the given
     * demands' rounds, in any order, each once however often its pair is given —
     * what `findActive` answers for each pair, in one read. Core reads a list page's worth with it when the adapter has it (§9's
     * actions, R21), and otherwise calls `findActive` once per demand.
     *
     * @since 0.1.1
     */
    readonly findActiveAmong?: (
      responderId: MemberId,
      rounds: ReadonlyArray<{ readonly demandId: DemandId; readonly round: number }>
    ) => Fx<ReadonlyArray<Response>>
  }
>() {}

/**
 * Consultation threads and messages. One thread per `(demandId, responderId)`;
 * messages of a thread have `seq` 1, 2, … and are never changed. Threads of a
 * demand list by `(lastMessageAt, id)` descending; messages by `seq` ascending.
 *
 * @since 0.1.0
 * @category ports
 */
export class ConsultationRepository extends Context.Tag("@zhongbao/core/ConsultationRepository")<
  ConsultationRepository,
  {
    readonly insertThread: (thread: Thread) => Insert
    readonly updateThread: (thread: Thread) => Update
    readonly findThreadById: (id: ThreadId) => Fx<Option.Option<Thread>>
    readonly findThreadForUpdate: (id: ThreadId) => Fx<Option.Option<Thread>>
    readonly findThread: (demandId: DemandId, responderId: MemberId) => Fx<Option.Option<Thread>>
    readonly listThreads: (
      query: { readonly demandId?: DemandId; readonly responderId?: MemberId } & Range
    ) => Fx<ReadonlyArray<Thread>>
    readonly appendMessage: (message: Message) => Insert
    readonly listMessages: (threadId: ThreadId, afterSeq: number, limit: number) => Fx<ReadonlyArray<Message>>
  }
>() {}

/**
 * Service-log entries: `(demandId, seq)` unique; listed by `seq` ascending.
 *
 * @since 0.1.0
 * @category ports
 */
export class ServiceLogRepository extends Context.Tag("@zhongbao/core/ServiceLogRepository")<
  ServiceLogRepository,
  {
    readonly append: (entry: Entry) => Insert
    readonly lastSeq: (demandId: DemandId) => Fx<number>
    readonly list: (demandId: DemandId, afterSeq: number, limit: number) => Fx<ReadonlyArray<Entry>>
  }
>() {}

/**
 * Commissions: at most one open (requested or active) per `(enterpriseId,
 * institutionId)`; listed by `(createdAt, id)` descending.
 *
 * @since 0.1.0
 * @category ports
 */
export class CommissionRepository extends Context.Tag("@zhongbao/core/CommissionRepository")<
  CommissionRepository,
  {
    readonly insert: (commission: Commission) => Insert
    readonly update: (commission: Commission) => Update
    readonly findById: (id: CommissionId) => Fx<Option.Option<Commission>>
    /**
     * As `findById`, and the commission stays as it is until the transaction ends
     * (an exclusive row lock: another `findByIdForUpdate` or a change waits, then
     * reads what was committed). R40: two answers to one commission at once (an
     * acceptance and a withdrawal, or both sides ending it) are taken one after the
     * other, the second answered as the first left it.
     *
     * @since 0.2.0
     */
    readonly findByIdForUpdate: (id: CommissionId) => Fx<Option.Option<Commission>>
    readonly findOpen: (enterpriseId: MemberId, institutionId: MemberId) => Fx<Option.Option<Commission>>
    /**
     * As `findOpen`, and the commission found stays as it is until the transaction
     * ends (a shared row lock: other checks go on, a change waits); a change
     * committed meanwhile is waited for and read. R41: a demand is submitted or
     * approved on behalf of a client only while the commission it checked is
     * still active, never as it ends.
     */
    readonly findOpenForShare: (
      enterpriseId: MemberId,
      institutionId: MemberId
    ) => Fx<Option.Option<Commission>>
    readonly list: (
      query: {
        readonly memberId: MemberId
        readonly side: "enterprise" | "institution"
        readonly states?: ReadonlyArray<CommissionState> | undefined
      } & Range
    ) => Fx<ReadonlyArray<Commission>>
  }
>() {}

/**
 * What {@link AuditRepository.list} leaves out: the events of `entities`, all of
 * them, or, with `onBehalfOf`, those done on behalf of that member (R4: a demand's
 * client does not see its responses' and threads' events).
 *
 * @since 0.1.0
 * @category ports
 */
export interface AuditHidden {
  readonly entities: ReadonlyArray<AuditEvent["entity"]>
  readonly onBehalfOf?: MemberId | undefined
}

/**
 * Whether `hide` of {@link AuditRepository.list} leaves `event` out.
 *
 * @since 0.1.0
 * @category ports
 */
export const isHidden = (event: AuditEvent, hide: AuditHidden | undefined): boolean =>
  hide?.entities.includes(event.entity) === true &&
  (hide.onBehalfOf === undefined || event.onBehalfOf === hide.onBehalfOf)

/**
 * The audit trail (R60): append-only; listed by `(at, id)` descending, for one
 * demand, one member (events whose `members` contain it) or all, without the events
 * `hide` leaves out ({@link AuditHidden}).
 *
 * @since 0.1.0
 * @category ports
 */
export class AuditRepository extends Context.Tag("@zhongbao/core/AuditRepository")<
  AuditRepository,
  {
    readonly append: (event: AuditEvent) => Insert
    readonly list: (
      query: {
        readonly demandId?: DemandId | undefined
        readonly memberId?: MemberId | undefined
        readonly hide?: AuditHidden | undefined
      } & Range
    ) => Fx<ReadonlyArray<AuditEvent>>
  }
>() {}

/**
 * Idempotency records (R63), unique per `(accountId, key)`. Records are kept at
 * least `idempotencyKeyHours` (settings); the sweeper purges older ones.
 *
 * @since 0.1.0
 * @category ports
 */
export class IdempotencyRepository extends Context.Tag("@zhongbao/core/IdempotencyRepository")<
  IdempotencyRepository,
  {
    readonly find: (accountId: AccountId, key: string) => Fx<Option.Option<IdempotencyRecord>>
    readonly insert: (record: IdempotencyRecord) => Insert
    /** Removes the records created before `before`; answers how many. */
    readonly purge: (before: DateTime.Utc) => Fx<number>
  }
>() {}

/**
 * R12: the next number of a yearly sequence. Called inside the approving
 * transaction; an adapter must make the sequence gapless (a rolled-back transaction
 * gives its number back) and unique under any concurrency.
 *
 * @since 0.1.0
 * @category ports
 */
export class DemandNumbering extends Context.Tag("@zhongbao/core/DemandNumbering")<
  DemandNumbering,
  { readonly next: (prefix: string, year: number) => Fx<number> }
>() {}

/**
 * Which dead letters {@link Outbox.listDead} lists: a page of them, and with `code`
 * only those whose delivery's `lastCode` is exactly it (an operator re-queues the
 * letters one cause killed, once it is fixed).
 *
 * @since 0.2.0
 * @category models
 */
export interface DeadLetterQuery extends Range {
  readonly code?: string | undefined
}

/**
 * The outbox (R64): notifications written in the unit of work of their cause. A
 * message whose `dedupeKey` is already there (or comes earlier in the batch) is
 * ignored; one whose id is already there under another `dedupeKey` is a
 * `UniqueViolation`, and the earlier message stays as it was.
 *
 * @since 0.1.0
 * @category ports
 */
export class Outbox extends Context.Tag("@zhongbao/core/Outbox")<
  Outbox,
  {
    readonly enqueue: (messages: ReadonlyArray<OutboxMessage>) => Insert
    readonly list: (range: Range) => Fx<ReadonlyArray<OutboxMessage>>
    /**
     * Leases up to `limit` due messages (pending, `nextAttemptAt ≤ now`, no live
     * lease) to `owner` until `now + leaseMillis`, in the order they became
     * claimable (the later of `nextAttemptAt` and an expired `leaseUntil`), then id. Two claims
     * never hold the same message at once; a lease that expired is claimable again.
     * Taking over a lease that expired unreleased (`leaseOwner` still set) counts its
     * holder's attempt, with an unknown outcome (`attempts + 1`, `unknownOutcomes + 1`):
     * the holder may have sent the message and died, or still be sending it.
     */
    readonly claim: (options: {
      readonly owner: string
      readonly now: DateTime.Utc
      readonly leaseMillis: number
      readonly limit: number
    }) => Fx<ReadonlyArray<Tracked>>
    /**
     * Records the result of a claimed message if `owner` still holds its lease (it
     * may have expired, while no claim took it over) and answers `true`, counting
     * the attempt (`attempts + 1`, but not for a `Retry` or `Dead` not `attempted`, and
     * `unknownOutcomes + 1` when the settlement says so), and releases the lease.
     * Otherwise answers `false` and changes nothing: the claim that took the lease
     * over counted this attempt, as an unknown outcome. Whether `owner` holds the
     * lease is read with the row locked (or in one atomic step with the write): a
     * claim taking the lease over in a unit of work not yet committed is waited
     * for, and then found to hold it (testing's races check it).
     */
    readonly settle: (id: OutboxMessageId, owner: string, settlement: Settlement) => Fx<boolean>
    /**
     * Optional: settles several messages for `owner` at once, all or nothing, as
     * `settle` of each entry one after another in order would, and answers what each
     * of those calls would answer, in order. The lease is checked for each message on
     * its own: an entry whose lease `owner` no longer holds changes nothing. The dispatcher settles the results of a
     * batch with it when the adapter has it, and with `settle` otherwise.
     *
     * @since 0.1.1
     */
    readonly settleMany?: (
      owner: string,
      entries: ReadonlyArray<{ readonly id: OutboxMessageId; readonly settlement: Settlement }>
    ) => Fx<ReadonlyArray<boolean>>
    readonly find: (id: OutboxMessageId) => Fx<Option.Option<Tracked>>
    /** Dead letters, oldest message first; with `code`, only those whose `lastCode` is it. */
    readonly listDead: (query: DeadLetterQuery) => Fx<ReadonlyArray<Tracked>>
    /**
     * Puts a dead letter back to pending, due now, with its attempts reset (its
     * `lastError` and `lastCode` kept until its next attempt); `false` if it is not dead.
     */
    readonly requeue: (id: OutboxMessageId, now: DateTime.Utc) => Fx<boolean>
    /**
     * The outbox at `now` ({@link OutboxSummary}), read at one instant of the store:
     * `due` counts the pending messages a claim at `now` could take, `oldestDueAt` is
     * the earliest instant one of them became claimable; `deadByCode` holds one entry
     * per `lastCode` of the dead letters (`null` for those without), in any order.
     *
     * @since 0.2.0
     */
    readonly summary: (now: DateTime.Utc) => Fx<OutboxSummary>
    /**
     * Optional: deletes up to `limit` settled messages, those sent before `before`
     * and those dead since before it, the longest settled first, with their
     * deliveries and dedupe keys (a message with the same key may be enqueued again),
     * and answers how many it deleted; pending messages are never deleted. `limit` is
     * taken down to a whole number; below one, nothing is deleted. The sweeper calls
     * it in batches to keep `outbox.retentionDays` (R64's records hold the recipient's
     * phone: kept no longer than the platform says). An adapter without it keeps
     * every message.
     *
     * @since 0.2.0
     */
    readonly purge?: (before: DateTime.Utc, limit: number) => Fx<number>
  }
>() {}

/**
 * A notification to an account whose phone is read when the message is written:
 * the message's `recipientPhone` is the account's phone and its `dedupeKey` is
 * `dedupeKeyPrefix` followed by that phone. An account that is no longer active is
 * sent nothing more (R64: its phone may be that of someone who has left the member):
 * the message goes to the first active account of its member instead (the earliest
 * created, then the smallest id), and nowhere if it has none. Nothing is written for
 * an account that does not exist.
 *
 * @since 0.1.1
 * @category models
 */
export interface AccountMessage {
  readonly accountId: AccountId
  readonly dedupeKeyPrefix: string
  readonly message: Omit<OutboxMessage, "recipientPhone" | "dedupeKey">
}

/**
 * What a command writes besides its own rows, at its end: its audit events, its
 * notifications (to phones, and to accounts) and its idempotency record (R63).
 *
 * @since 0.1.1
 * @category models
 */
export interface JournalEntry {
  readonly events: ReadonlyArray<AuditEvent>
  readonly messages: ReadonlyArray<OutboxMessage>
  readonly accountMessages: ReadonlyArray<AccountMessage>
  readonly idempotency: IdempotencyRecord | null
}

/**
 * Optional port: writes a {@link JournalEntry} in the current unit of work, as one
 * statement where the adapter can. Without it, core writes the same through the
 * other ports: `AuditRepository.append` for each event, `AccountRepository.findById`
 * for each account message, one `Outbox.enqueue` of every message in order (phone
 * messages first), then `IdempotencyRepository.insert`. The contract is theirs: an
 * event id or idempotency key already there is a `UniqueViolation`, a message whose
 * `dedupeKey` is there (or comes earlier in the entry) is ignored, one whose id is
 * there under another `dedupeKey` is a `UniqueViolation`, an account that
 * does not exist gets no message, one that is not active is stood in for by its
 * member's first active account ({@link AccountMessage}).
 *
 * @since 0.1.1
 * @category ports
 */
export class Journal extends Context.Tag("@zhongbao/core/Journal")<
  Journal,
  { readonly write: (entry: JournalEntry) => Insert }
>() {}

/**
 * Runs an effect as one all-or-nothing unit: if it fails, dies or is interrupted,
 * nothing it wrote through the ports remains. An interruption that comes once the
 * effect has succeeded, while the unit commits, waits for the commit and is
 * delivered after it: the unit is then written though its caller sees an
 * interruption, as when the commit's answer is lost (`outcome: "unknown"`); a
 * caller that interrupts commands (a timeout, a client gone) repeats them with the
 * same idempotency key to tell (R63). Nested calls join the outer unit (a
 * nested failure undoes only the nested part); nested units of one unit begun at once
 * run one after another, each all-or-nothing on its own.
 *
 * @since 0.1.0
 * @category ports
 */
export class UnitOfWork extends Context.Tag("@zhongbao/core/UnitOfWork")<
  UnitOfWork,
  {
    readonly transaction: <A, E, R>(
      effect: Effect.Effect<A, E, R>
    ) => Effect.Effect<A, E | InfrastructureError, R>
    /**
     * Optional: runs a read (the use cases' queries, which write nothing) so that it
     * sees only committed data. An adapter whose every statement sees a committed
     * snapshot (PostgreSQL at READ COMMITTED, where a read-only transaction adds no
     * consistency across statements) runs it as it is, sparing BEGIN, COMMIT and a
     * pinned connection. Without it, reads run in {@link transaction}.
     */
    readonly read?: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | InfrastructureError, R>
  }
>() {}

/**
 * Which applications a list may contain: those of one institution (its own, §9)
 * or those of one round (the operator's review).
 *
 * @since 0.1.0
 * @category models
 */
export type RewardApplicationScope =
  | { readonly _tag: "institution"; readonly memberId: MemberId }
  | { readonly _tag: "round"; readonly roundId: RewardRoundId }

/**
 * A list of applications: order `(createdAt, id)` descending.
 *
 * @since 0.1.0
 * @category models
 */
export interface RewardApplicationQuery extends Range {
  readonly scope: RewardApplicationScope
  readonly states?: ReadonlyArray<ApplicationState> | undefined
}

/**
 * Rewards (R50–R53): rounds, institutions' basic information and applications.
 * Rounds list by `(openedAt, id)` descending. At most one application exists per
 * `(roundId, institutionId)`: `insertApplication` fails with `UniqueViolation`
 * otherwise. Every `update…` (and `updateProfile`) writes a row whose `version` is
 * one more than the stored one and fails with `StaleWrite` otherwise;
 * `insertProfile` fails with `UniqueViolation` when the member has one.
 *
 * @since 0.1.0
 * @category ports
 */
export class RewardRepository extends Context.Tag("@zhongbao/core/RewardRepository")<
  RewardRepository,
  {
    readonly insertRound: (round: RewardRound) => Insert
    readonly updateRound: (round: RewardRound) => Update
    readonly findRound: (id: RewardRoundId) => Fx<Option.Option<RewardRound>>
    /**
     * As `findRound`, and the round stays as it is until the transaction ends (a
     * shared row lock; a change committed meanwhile is waited for and read). R52:
     * an application is drafted, changed or submitted only while the round it
     * checked is still open, never as it closes.
     */
    readonly findRoundForShare: (id: RewardRoundId) => Fx<Option.Option<RewardRound>>
    /**
     * As `findRound`, and the round stays as it is until the transaction ends (an
     * exclusive row lock, as `CommissionRepository.findByIdForUpdate`). R50: two
     * closings of one round at once are taken in turn, the second refused as closed.
     *
     * @since 0.2.0
     */
    readonly findRoundForUpdate: (id: RewardRoundId) => Fx<Option.Option<RewardRound>>
    readonly listRounds: (
      query: { readonly states?: ReadonlyArray<RoundState> | undefined } & Range
    ) => Fx<ReadonlyArray<RewardRound>>
    readonly insertProfile: (profile: InstitutionProfile) => Insert
    readonly updateProfile: (profile: InstitutionProfile) => Update
    readonly findProfile: (memberId: MemberId) => Fx<Option.Option<InstitutionProfile>>
    readonly insertApplication: (application: RewardApplication) => Insert
    readonly updateApplication: (application: RewardApplication) => Update
    readonly findApplication: (id: RewardApplicationId) => Fx<Option.Option<RewardApplication>>
    /**
     * As `findApplication`, and the application stays as it is until the transaction
     * ends (an exclusive row lock, as `CommissionRepository.findByIdForUpdate`). R52,
     * R53: an edit, a submission and a decision of one application at once are
     * taken one after the other, each answered as the one before left it.
     *
     * @since 0.2.0
     */
    readonly findApplicationForUpdate: (id: RewardApplicationId) => Fx<Option.Option<RewardApplication>>
    readonly findApplicationOf: (
      roundId: RewardRoundId,
      institutionId: MemberId
    ) => Fx<Option.Option<RewardApplication>>
    readonly listApplications: (query: RewardApplicationQuery) => Fx<ReadonlyArray<RewardApplication>>
  }
>() {}

/**
 * How R62 figures are grouped: not at all (one row), by technical field, or by
 * region (demands without a region form the group `null`).
 *
 * @since 0.1.0
 * @category models
 */
export type FiguresGroupBy = "none" | "field" | "region"

/**
 * What {@link StatisticsSource.figures} counts: the demands first published in
 * `[since, until)`. `timeZone` (IANA) is the platform's, for calendar days.
 *
 * @since 0.1.0
 * @category models
 */
export interface FiguresQuery {
  readonly since: DateTime.Utc
  readonly until: DateTime.Utc
  readonly groupBy: FiguresGroupBy
  readonly timeZone: string
}

/**
 * The raw figures of one group (R62), over the demands of the query (the cohort):
 * - `demandsPublished`: demands in the cohort;
 * - `enterprises`: distinct enterprises among them — the client of a commissioned
 *   demand, or the publisher when it is an enterprise;
 * - `intendedInvestment`: sum of their intended investment (absent counts 0);
 * - `responses`, `responders`: their responses that are not withdrawn, all rounds,
 *   and the distinct members who submitted them;
 * - `demandsAdopted`: demands with a first adoption (`firstAdoptedAt` set);
 * - `demandsSolved`, `serviceFees`: demands in state `solved` and the sum of their
 *   service fees;
 * - `medianDaysToFirstAdoption`: median, over adopted demands, of the calendar
 *   days (platform time zone) from the date of first publication to the date of
 *   first adoption; `null` when none was adopted. With an even count it is the
 *   mean of the middle two.
 *
 * One row per group that has at least one demand, in any order; with
 * `groupBy: "none"` exactly one row, `key` `null`, zeros if the cohort is empty.
 *
 * @since 0.1.0
 * @category models
 */
export interface FiguresRow {
  readonly key: string | null
  readonly demandsPublished: number
  readonly enterprises: number
  readonly intendedInvestment: Fen
  readonly responders: number
  readonly responses: number
  readonly demandsAdopted: number
  readonly demandsSolved: number
  readonly serviceFees: Fen
  readonly medianDaysToFirstAdoption: number | null
}

/**
 * R62: the operator's figures, computed where the data is. A SQL adapter answers
 * with one aggregate query over demands, responses and members (`count(distinct
 * …)`, `sum`, `percentile_cont(0.5)`); the memory adapter scans.
 *
 * @since 0.1.0
 * @category ports
 */
export class StatisticsSource extends Context.Tag("@zhongbao/core/StatisticsSource")<
  StatisticsSource,
  { readonly figures: (query: FiguresQuery) => Fx<ReadonlyArray<FiguresRow>> }
>() {}

/**
 * Every persistence port, the file store (R54) included.
 *
 * @since 0.1.0
 * @category models
 */
export type Ports =
  | MemberRepository
  | AccountRepository
  | TechnologyManagerRepository
  | DemandRepository
  | ResponseRepository
  | ConsultationRepository
  | ServiceLogRepository
  | CommissionRepository
  | AuditRepository
  | IdempotencyRepository
  | DemandNumbering
  | Outbox
  | RewardRepository
  | StatisticsSource
  | FileStore
  | UnitOfWork
