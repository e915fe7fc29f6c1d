/**
 * The reference implementation of every persistence port, in memory. Units of work
 * are serialised by one permit and rolled back from an undo log, so each use case
 * is all-or-nothing and concurrent fibers never see each other's half-done work.
 * Lists scan and sort; they are meant for tests, demos and as the executable
 * statement of each port's contract.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { AuditEvent } from "./Audit.js"
import { type Commission, isOpen } from "./Commission.js"
import type { Message, Thread } from "./Consultation.js"
import { briefOf, type Demand, searchText } from "./Demand.js"
import { InfrastructureError, StaleWrite, UniqueViolation } from "./Errors.js"
import { FileStore, type StoredFile } from "./FileStore.js"
import type { IdempotencyRecord } from "./Idempotency.js"
import type { AccountId, MemberId } from "./Ids.js"
import { utcDate } from "./internal/calendar.js"
import { TimeHeap } from "./internal/heap.js"
import { MemoryDb, page, refuse, Table } from "./internal/memoryDb.js"
import type { Account, Member, TechnologyManager } from "./Member.js"
import type { Fen } from "./Money.js"
import { compareCodePoints } from "./Pagination.js"
import type { Delivery, OutboxMessage, Settlement, Tracked } from "./Notification.js"
import {
  AccountRepository,
  AuditRepository,
  isHidden,
  CommissionRepository,
  ConsultationRepository,
  type DemandQuery,
  DemandNumbering,
  DemandRepository,
  type FiguresRow,
  IdempotencyRepository,
  Journal,
  MemberRepository,
  Outbox,
  type Ports,
  type ResponseQuery,
  ResponseRepository,
  type RewardApplicationQuery,
  RewardRepository,
  ServiceLogRepository,
  StatisticsSource,
  TechnologyManagerRepository,
  UnitOfWork
} from "./Persistence.js"
import { recipientOf } from "./internal/notify.js"
import { shownStatus, windowOver } from "./Phase.js"
import { isActive, type Response } from "./Response.js"
import {
  applicationKey,
  type InstitutionProfile,
  type RewardApplication,
  type RewardRound,
  roundKey
} from "./Reward.js"
import type { Entry } from "./ServiceLog.js"
import * as SortKeys from "./SortKeys.js"

/**
 * R60: an audit event as the memory adapter stores it, a frozen copy: nothing that
 * holds the event a command wrote, or one a list answered, can change the trail.
 */
const frozen = (e: AuditEvent): AuditEvent => Object.freeze({ ...e, members: Object.freeze([...e.members]) })

const sum = (amounts: ReadonlyArray<number>) => amounts.reduce((a, b) => a + b, 0) as Fen

const median = (sorted: ReadonlyArray<number>): number | null =>
  sorted.length === 0
    ? null
    : sorted.length % 2 === 1
      ? sorted[(sorted.length - 1) / 2]!
      : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2

const dayNumber = (instant: DateTime.Utc, zone: DateTime.TimeZone) => {
  const parts = DateTime.toParts(DateTime.setZone(instant, zone))
  return utcDate(parts.year, parts.month, parts.day).getTime() / 86_400_000
}

/** Calendar days between the dates of two instants in a zone. */
const calendarDays = (from: DateTime.Utc, to: DateTime.Utc, zone: DateTime.TimeZone) =>
  dayNumber(to, zone) - dayNumber(from, zone)

/**
 * The port with each method's checks made when its effect runs, not when the effect
 * is made: a write deferred to the end of a unit of work, or issued together with
 * others (core's `Ctx.writeLater`), sees the rows as they are when it runs.
 */
const whenRun = <S extends object>(port: S): S =>
  Object.fromEntries(
    Object.entries(port).map(([name, method]) => [
      name,
      typeof method === "function"
        ? (...args: Array<unknown>) =>
            Effect.suspend(() => method(...args) as Effect.Effect<unknown, unknown>)
        : method
    ])
  ) as S

/**
 * The key of a row found by several columns, as a composite key or unique index of a
 * database finds it: the parts as a JSON array, so that no two lists of parts give one
 * key (an account id `a/b` with the key `c`, and `a` with `b/c`, joined by `/`, would).
 */
const keyOf = (...parts: ReadonlyArray<string | number>): string => JSON.stringify(parts)

/** A refused write: it marks its unit of work, which then fails even if the refusal is caught (`refuse`). */
const unique = (entity: string, key: string) =>
  Effect.zipRight(refuse, Effect.fail(new UniqueViolation({ entity, key })))
const stale = (entity: string, id: string) => Effect.fail(new StaleWrite({ entity, id }))

/** The size of the pieces `FileStore.read` streams a stored file in. */
const memoryPieceBytes = 256 * 1024

const missingBytes = (file: StoredFile) =>
  new InfrastructureError({
    port: "FileStore",
    message: `FileStore.read: no bytes stored for file ${file.id}`
  })

const makeStore = () => {
  const db = new MemoryDb()
  const members = new Table<string, Member>(db)
  const accounts = new Table<string, Account>(db)
  const managers = new Table<string, TechnologyManager>(db)
  const demands = new Table<string, Demand>(db)
  const demandNumbers = new Table<string, string>(db)
  const searchTexts = new Map<string, string>()
  const responses = new Table<string, Response>(db)
  const activeResponses = new Table<string, string>(db)
  const threads = new Table<string, Thread>(db)
  const threadKeys = new Table<string, string>(db)
  const messages = new Table<string, Message>(db)
  const entries = new Table<string, Entry>(db)
  const commissions = new Table<string, Commission>(db)
  const openCommissions = new Table<string, string>(db)
  const audit = new Table<string, AuditEvent>(db)
  const idempotency = new Table<string, IdempotencyRecord>(db)
  const counters = new Table<string, number>(db)
  const outbox = new Table<string, OutboxMessage>(db)
  const deliveries = new Table<string, Delivery>(db)
  const due = new TimeHeap()
  const availableAt = (d: Delivery) =>
    d.leaseUntil === null
      ? d.nextAttemptAt.epochMillis
      : Math.max(d.nextAttemptAt.epochMillis, d.leaseUntil.epochMillis)
  const schedule = (d: Delivery) => {
    if (d.status === "pending") due.push(availableAt(d), d.messageId)
  }
  const outboxKeys = new Table<string, string>(db)
  const rounds = new Table<string, RewardRound>(db)
  const profiles = new Table<string, InstitutionProfile>(db)
  const applications = new Table<string, RewardApplication>(db)
  const applicationKeys = new Table<string, string>(db)
  const files = new Table<string, { readonly file: StoredFile; readonly bytes: Uint8Array }>(db)
  const get = <V>(table: Table<string, V>, id: string) => db.read(() => Option.fromNullable(table.get(id)))
  /** An update without a version: the row must be stored (an update never inserts). */
  const updateStored = <V>(table: Table<string, V>, entity: string, id: string, row: V) =>
    table.get(id) === undefined ? stale(entity, id) : db.write((log) => table.set(id, row, log))

  const memberRepo = MemberRepository.of({
    insert: (m) =>
      members.get(m.id) ? unique("member", m.id) : db.write((log) => members.set(m.id, m, log)),
    update: (m) => updateStored(members, "member", m.id, m),
    findById: (id) => get(members, id),
    // Memory units of work run one at a time: nothing changes a row a unit has read.
    findByIdForUpdate: (id) => get(members, id),
    list: (q) =>
      db.read(() =>
        page(
          members.rows.values(),
          (m) =>
            (q.kind === undefined || m.kind === q.kind) &&
            (q.registered === undefined || m.registered === q.registered),
          SortKeys.member,
          false,
          q.after,
          q.limit
        )
      )
  })

  const withMember = (
    id: AccountId
  ): Option.Option<{ readonly account: Account; readonly member: Member | null }> => {
    const account = accounts.get(id)
    if (account === undefined) return Option.none()
    const member = account.memberId === null ? null : (members.get(account.memberId) ?? null)
    return Option.some({ account, member })
  }

  const accountRepo = AccountRepository.of({
    insert: (a) =>
      accounts.get(a.id) ? unique("account", a.id) : db.write((log) => accounts.set(a.id, a, log)),
    update: (a) => updateStored(accounts, "account", a.id, a),
    findById: (id) => get(accounts, id),
    findByIdForUpdate: (id) => get(accounts, id),
    findWithMember: (id) => db.read(() => withMember(id)),
    findWithMemberAndRecord: (id, key) =>
      db.read(() =>
        Option.map(withMember(id), (found) => ({
          ...found,
          record: Option.fromNullable(idempotency.get(keyOf(id, key)))
        }))
      ),
    listByMember: (memberId) =>
      db.read(() =>
        [...accounts.rows.values()]
          .filter((a) => a.memberId === memberId)
          .sort((a, b) => a.createdAt.epochMillis - b.createdAt.epochMillis || compareCodePoints(a.id, b.id))
      )
  })

  const managerRepo = TechnologyManagerRepository.of({
    insert: (m) =>
      managers.get(m.id) ? unique("technology_manager", m.id) : db.write((log) => managers.set(m.id, m, log)),
    update: (m) => updateStored(managers, "technology_manager", m.id, m),
    findById: (id) => get(managers, id),
    findByIdForShare: (id) => get(managers, id),
    findByIdForUpdate: (id) => get(managers, id),
    listByInstitution: (institutionId) =>
      db.read(() =>
        page(
          managers.rows.values(),
          (m) => m.institutionId === institutionId,
          (m) => [m.createdAt.epochMillis, m.id],
          false,
          undefined,
          Number.MAX_SAFE_INTEGER
        )
      )
  })

  const inScope = (d: Demand, q: DemandQuery) => {
    switch (q.scope._tag) {
      case "public":
        return d.state === "published" || d.state === "solved"
      case "all":
        return true
      case "member": {
        const { memberId, role } = q.scope
        const publisher = d.publisherId === memberId
        const client = d.form.clientId === memberId
        return role === "publisher" ? publisher : role === "client" ? client : publisher || client
      }
    }
  }
  const matches = (d: Demand, q: DemandQuery) =>
    inScope(d, q) &&
    (q.states === undefined || q.states.includes(d.state)) &&
    (q.field === undefined || d.form.field === q.field) &&
    (q.region === undefined || d.form.region === q.region) &&
    (q.deadlineFrom === undefined || d.form.responseDeadline >= q.deadlineFrom) &&
    (q.deadlineTo === undefined || d.form.responseDeadline <= q.deadlineTo) &&
    (q.intakeOpen === undefined || (d.intakeClosedAt === null) === q.intakeOpen) &&
    (q.serviceModes === undefined || q.serviceModes.includes(d.form.serviceMode)) &&
    (q.selectionOpen === undefined || (d.selectionEndedAt === null) === q.selectionOpen) &&
    (q.windowOver === undefined || windowOver(d, q.windowOver)) &&
    (q.hasResponses === undefined || d.responseCount > 0 === q.hasResponses) &&
    (q.keyword === undefined ||
      (searchTexts.get(d.id) ?? "").includes(q.keyword) ||
      d.number === q.keyword.toUpperCase())

  const writeDemand = (d: Demand) =>
    db.write((log) => {
      const before = demands.get(d.id)
      if (before?.number && before.number !== d.number) demandNumbers.delete(before.number, log)
      if (d.number !== null) demandNumbers.set(d.number, d.id, log)
      demands.set(d.id, d, log)
      if (before === undefined || before.form !== d.form) {
        const previous = searchTexts.get(d.id)
        searchTexts.set(d.id, searchText(d.form))
        log(() => (previous === undefined ? searchTexts.delete(d.id) : searchTexts.set(d.id, previous)))
      }
    })
  const numberTaken = (d: Demand) =>
    d.number !== null && demandNumbers.get(d.number) !== undefined && demandNumbers.get(d.number) !== d.id

  const listDemands = (q: DemandQuery) =>
    db.read(() =>
      page(
        demands.rows.values(),
        (d) => matches(d, q),
        (d) => SortKeys.demand(d, q.sort),
        SortKeys.demandDescending(q.sort),
        q.after,
        q.limit
      )
    )

  const demandRepo = DemandRepository.of({
    insert: (d) =>
      demands.get(d.id)
        ? unique("demand", d.id)
        : numberTaken(d)
          ? unique("demand", `number:${d.number}`)
          : writeDemand(d),
    update: (d) =>
      numberTaken(d)
        ? unique("demand", `number:${d.number}`)
        : demands.get(d.id)?.version === d.version - 1
          ? writeDemand(d)
          : stale("demand", d.id),
    findById: (id) => get(demands, id),
    findByIdForUpdate: (id) => get(demands, id),
    findByIds: (ids) => db.read(() => ids.flatMap((id) => demands.get(id) ?? [])),
    list: listDemands,
    listBriefs: (q) => Effect.map(listDemands(q), (rows) => rows.map(briefOf))
  })

  const activeKey = (r: Response) => keyOf(r.demandId, r.round, r.responderId)
  const writeResponse = (r: Response) => {
    const holder = activeResponses.get(activeKey(r))
    if (isActive(r) && holder !== undefined && holder !== r.id) {
      return unique("response", `active:${activeKey(r)}`)
    }
    return db.write((log) => {
      if (isActive(r)) activeResponses.set(activeKey(r), r.id, log)
      else if (holder === r.id) activeResponses.delete(activeKey(r), log)
      responses.set(r.id, r, log)
    })
  }
  const responseInScope = (r: Response, q: ResponseQuery) =>
    q.scope._tag === "publisher"
      ? r.demandPublisherId === q.scope.memberId
      : q.scope._tag === "responder"
        ? r.responderId === q.scope.memberId
        : r.demandId === q.scope.demandId

  const responseRepo = ResponseRepository.of({
    insert: (r) => (responses.get(r.id) ? unique("response", r.id) : writeResponse(r)),
    update: (r) =>
      responses.get(r.id)?.version === r.version - 1 ? writeResponse(r) : stale("response", r.id),
    findById: (id) => get(responses, id),
    findWithDemandForUpdate: (id) =>
      db.read(() => {
        const response = responses.get(id)
        const demand = response === undefined ? undefined : demands.get(response.demandId)
        return response === undefined || demand === undefined
          ? Option.none()
          : Option.some({ response, demand })
      }),
    findActive: (demandId, round, responderId) =>
      db.read(() =>
        Option.fromNullable(activeResponses.get(keyOf(demandId, round, responderId))).pipe(
          Option.flatMapNullable((id) => responses.get(id))
        )
      ),
    findActiveAmong: (responderId, rounds) =>
      db.read(() => {
        const ids = new Set<string>()
        for (const { demandId, round } of rounds) {
          const id = activeResponses.get(keyOf(demandId, round, responderId))
          if (id !== undefined) ids.add(id)
        }
        return [...ids].flatMap((id) => {
          const response = responses.get(id)
          return response === undefined ? [] : [response]
        })
      }),
    listByDemandRound: (demandId, round) =>
      db.read(() =>
        [...responses.rows.values()]
          .filter((r) => r.demandId === demandId && r.round === round)
          .sort(
            (a, b) => a.submittedAt.epochMillis - b.submittedAt.epochMillis || compareCodePoints(a.id, b.id)
          )
      ),
    list: (q) =>
      db.read(() =>
        page(
          responses.rows.values(),
          (r) =>
            responseInScope(r, q) &&
            (q.demandId === undefined || r.demandId === q.demandId) &&
            (q.round === undefined || r.round === q.round) &&
            (q.statuses === undefined ||
              q.statuses.includes(
                q.shown === undefined ? r.status : shownStatus(r, demands.get(r.demandId)!, q.shown)
              )),
          SortKeys.response,
          true,
          q.after,
          q.limit
        )
      )
  })

  const consultationRepo = ConsultationRepository.of({
    insertThread: (t) =>
      threads.get(t.id) || threadKeys.get(keyOf(t.demandId, t.responderId))
        ? unique("thread", `${t.demandId}/${t.responderId}`)
        : db.write((log) => {
            threads.set(t.id, t, log)
            threadKeys.set(keyOf(t.demandId, t.responderId), t.id, log)
          }),
    updateThread: (t) => updateStored(threads, "thread", t.id, t),
    findThreadById: (id) => get(threads, id),
    findThreadForUpdate: (id) => get(threads, id),
    findThread: (demandId, responderId) =>
      db.read(() =>
        Option.fromNullable(threadKeys.get(keyOf(demandId, responderId))).pipe(
          Option.flatMapNullable((id) => threads.get(id))
        )
      ),
    listThreads: (q) =>
      db.read(() =>
        page(
          threads.rows.values(),
          (t) =>
            (q.demandId === undefined || t.demandId === q.demandId) &&
            (q.responderId === undefined || t.responderId === q.responderId),
          SortKeys.thread,
          true,
          q.after,
          q.limit
        )
      ),
    appendMessage: (m) =>
      messages.get(keyOf(m.threadId, m.seq))
        ? unique("message", `${m.threadId}/${m.seq}`)
        : db.write((log) => messages.set(keyOf(m.threadId, m.seq), m, log)),
    listMessages: (threadId, afterSeq, limit) =>
      db.read(() => {
        const out: Array<Message> = []
        for (let seq = afterSeq + 1; out.length < limit; seq++) {
          const m = messages.get(keyOf(threadId, seq))
          if (m === undefined) break
          out.push(m)
        }
        return out
      })
  })

  const serviceLogRepo = ServiceLogRepository.of({
    append: (e) =>
      entries.get(keyOf(e.demandId, e.seq))
        ? unique("service_log", `${e.demandId}/${e.seq}`)
        : db.write((log) => {
            entries.set(keyOf(e.demandId, e.seq), e, log)
            const last = counters.get(`log/${e.demandId}`) ?? 0
            if (e.seq > last) counters.set(`log/${e.demandId}`, e.seq, log)
          }),
    lastSeq: (demandId) => db.read(() => counters.get(`log/${demandId}`) ?? 0),
    list: (demandId, afterSeq, limit) =>
      db.read(() => {
        const out: Array<Entry> = []
        for (let seq = afterSeq + 1; out.length < limit; seq++) {
          const e = entries.get(keyOf(demandId, seq))
          if (e === undefined) break
          out.push(e)
        }
        return out
      })
  })

  const pairKey = (c: Commission) => keyOf(c.enterpriseId, c.institutionId)
  const writeCommission = (c: Commission) =>
    db.write((log) => {
      if (isOpen(c)) openCommissions.set(pairKey(c), c.id, log)
      else if (openCommissions.get(pairKey(c)) === c.id) openCommissions.delete(pairKey(c), log)
      commissions.set(c.id, c, log)
    })
  const pairTaken = (c: Commission) => {
    const holder = openCommissions.get(pairKey(c))
    return isOpen(c) && holder !== undefined && holder !== c.id
  }
  const findOpen = (enterpriseId: MemberId, institutionId: MemberId) =>
    db.read(() =>
      Option.fromNullable(openCommissions.get(keyOf(enterpriseId, institutionId))).pipe(
        Option.flatMapNullable((id) => commissions.get(id))
      )
    )
  const commissionRepo = CommissionRepository.of({
    insert: (c) =>
      commissions.get(c.id) || pairTaken(c) ? unique("commission", pairKey(c)) : writeCommission(c),
    update: (c) =>
      pairTaken(c)
        ? unique("commission", pairKey(c))
        : commissions.get(c.id)?.version === c.version - 1
          ? writeCommission(c)
          : stale("commission", c.id),
    findById: (id) => get(commissions, id),
    // Memory units of work run one at a time: nothing changes a row a unit has read.
    findByIdForUpdate: (id) => get(commissions, id),
    findOpen: (enterpriseId, institutionId) => findOpen(enterpriseId, institutionId),
    // Memory units of work run one at a time: nothing changes a row a unit has read.
    findOpenForShare: (enterpriseId, institutionId) => findOpen(enterpriseId, institutionId),
    list: (q) =>
      db.read(() =>
        page(
          commissions.rows.values(),
          (c) =>
            (q.side === "enterprise" ? c.enterpriseId : c.institutionId) === q.memberId &&
            (q.states === undefined || q.states.includes(c.state)),
          SortKeys.commission,
          true,
          q.after,
          q.limit
        )
      )
  })

  const auditRepo = AuditRepository.of({
    append: (e) =>
      audit.get(e.id) ? unique("audit", e.id) : db.write((log) => audit.set(e.id, frozen(e), log)),
    list: (q) =>
      db.read(() =>
        page(
          audit.rows.values(),
          (e) =>
            (q.demandId === undefined || e.demandId === q.demandId) &&
            (q.memberId === undefined || e.members.includes(q.memberId)) &&
            !isHidden(e, q.hide),
          SortKeys.audit,
          true,
          q.after,
          q.limit
        )
      )
  })

  const idempotencyRepo = IdempotencyRepository.of({
    find: (accountId, key) => get(idempotency, keyOf(accountId, key)),
    insert: (r) =>
      idempotency.get(keyOf(r.accountId, r.key))
        ? unique("idempotency", r.key)
        : db.write((log) => idempotency.set(keyOf(r.accountId, r.key), r, log)),
    purge: (before) =>
      db.write((log) => {
        let removed = 0
        for (const [key, record] of [...idempotency.rows]) {
          if (DateTime.lessThan(record.createdAt, before)) {
            idempotency.delete(key, log)
            removed += 1
          }
        }
        return removed
      })
  })

  const numbering = DemandNumbering.of({
    next: (prefix, year) =>
      db.write((log) => {
        const next = (counters.get(`number/${prefix}/${year}`) ?? 0) + 1
        counters.set(`number/${prefix}/${year}`, next, log)
        return next
      })
  })

  const tracked = (id: string): Tracked | undefined => {
    const message = outbox.get(id)
    const delivery = deliveries.get(id)
    return message && delivery ? { message, delivery } : undefined
  }
  /** The first message of a batch that would be stored under an id already taken (by another dedupeKey). */
  const takenId = (batch: ReadonlyArray<OutboxMessage>): OutboxMessage | undefined => {
    const keys = new Set<string>()
    const ids = new Set<string>()
    for (const m of batch) {
      if (outboxKeys.get(m.dedupeKey) !== undefined || keys.has(m.dedupeKey)) continue
      if (outbox.get(m.id) !== undefined || ids.has(m.id)) return m
      keys.add(m.dedupeKey)
      ids.add(m.id)
    }
    return undefined
  }
  const enqueueRows = (batch: ReadonlyArray<OutboxMessage>, log: (undo: () => void) => void) => {
    for (const m of batch) {
      if (outboxKeys.get(m.dedupeKey) !== undefined) continue
      outboxKeys.set(m.dedupeKey, m.id, log)
      outbox.set(m.id, m, log)
      deliveries.set(
        m.id,
        {
          messageId: m.id,
          status: "pending",
          attempts: 0,
          unknownOutcomes: 0,
          nextAttemptAt: m.createdAt,
          leaseOwner: null,
          leaseUntil: null,
          lastError: null,
          lastCode: null,
          providerMessageId: null,
          sentAt: null,
          deadAt: null
        },
        log
      )
      schedule(deliveries.get(m.id)!)
    }
  }
  const settleOne = (log: (undo: () => void) => void, id: string, owner: string, s: Settlement): boolean => {
    const d = deliveries.get(id)
    if (d === undefined) return false
    // Not held: the claim that took the expired lease over counted this attempt.
    if (d.status !== "pending" || d.leaseOwner !== owner) return false
    const base = {
      ...d,
      attempts: d.attempts + (s._tag !== "Sent" && s.attempted === false ? 0 : 1),
      unknownOutcomes: d.unknownOutcomes + (s.unknownOutcome ? 1 : 0),
      leaseOwner: null,
      leaseUntil: null
    }
    const next: Delivery =
      s._tag === "Sent"
        ? {
            ...base,
            status: "sent",
            sentAt: s.at,
            providerMessageId: s.providerMessageId,
            lastError: null,
            lastCode: null
          }
        : s._tag === "Retry"
          ? { ...base, nextAttemptAt: s.nextAttemptAt, lastError: s.error, lastCode: s.code ?? null }
          : { ...base, status: "dead", deadAt: s.at, lastError: s.error, lastCode: s.code ?? null }
    deliveries.set(id, next, log)
    schedule(next)
    return true
  }
  const outboxPort = Outbox.of({
    enqueue: (batch) => {
      const taken = takenId(batch)
      return taken === undefined ? db.write((log) => enqueueRows(batch, log)) : unique("outbox", taken.id)
    },
    list: (range) =>
      db.read(() => page(outbox.rows.values(), () => true, SortKeys.outbox, false, range.after, range.limit)),
    claim: ({ owner, now, leaseMillis, limit }) =>
      db.write((log) => {
        const out: Array<Tracked> = []
        // A message may have two entries at one time (a lease that ended at once, then a
        // retry due then): the first claims it, the second is passed over.
        const taken = new Set<string>()
        const leaseUntil = DateTime.add(now, { millis: leaseMillis })
        const nowMillis = now.epochMillis
        while (out.length < limit) {
          const time = due.peekTime()
          if (time === undefined || time > nowMillis) break
          const entry = due.pop()!
          log(() => due.push(entry.time, entry.id))
          const d = deliveries.get(entry.id)
          if (
            d === undefined ||
            d.status !== "pending" ||
            availableAt(d) !== entry.time ||
            taken.has(entry.id)
          )
            continue
          taken.add(entry.id)
          // A lease that expired unreleased: its holder's attempt, outcome unknown.
          const takenOver = d.leaseOwner === null ? 0 : 1
          const leased: Delivery = {
            ...d,
            attempts: d.attempts + takenOver,
            unknownOutcomes: d.unknownOutcomes + takenOver,
            leaseOwner: owner,
            leaseUntil
          }
          deliveries.set(d.messageId, leased, log)
          out.push({ message: outbox.get(d.messageId)!, delivery: leased })
        }
        // Scheduled once the claim is made: a lease that ends at once (leaseMillis ≤ 0)
        // makes the message due again, but not within this claim.
        for (const t of out) schedule(t.delivery)
        return out
      }),
    settle: (id, owner, s) => db.write((log) => settleOne(log, id, owner, s)),
    settleMany: (owner, entries) =>
      db.write((log) => entries.map((e) => settleOne(log, e.id, owner, e.settlement))),
    find: (id) => db.read(() => Option.fromNullable(tracked(id))),
    listDead: (query) =>
      db.read(() =>
        page(
          outbox.rows.values(),
          (m) => {
            const d = deliveries.get(m.id)
            return d?.status === "dead" && (query.code === undefined || d.lastCode === query.code)
          },
          SortKeys.outbox,
          false,
          query.after,
          query.limit
        ).map((m) => tracked(m.id)!)
      ),
    summary: (now) =>
      db.read(() => {
        let pending = 0
        let dueCount = 0
        let oldest: number | undefined
        const dead = new Map<string | null, number>()
        for (const d of deliveries.rows.values()) {
          if (d.status === "dead") dead.set(d.lastCode, (dead.get(d.lastCode) ?? 0) + 1)
          if (d.status !== "pending") continue
          pending++
          const at = availableAt(d)
          if (at > now.epochMillis) continue
          dueCount++
          if (oldest === undefined || at < oldest) oldest = at
        }
        return {
          pending,
          due: dueCount,
          oldestDueAt: oldest === undefined ? null : DateTime.unsafeMake(oldest),
          dead: [...dead.values()].reduce((a, b) => a + b, 0),
          deadByCode: [...dead].map(([code, count]) => ({ code, count }))
        }
      }),
    requeue: (id, now) =>
      db.write((log) => {
        const d = deliveries.get(id)
        if (d === undefined || d.status !== "dead") return false
        const next: Delivery = { ...d, status: "pending", attempts: 0, nextAttemptAt: now, deadAt: null }
        deliveries.set(id, next, log)
        schedule(next)
        return true
      }),
    purge: (before, limit) =>
      db.write((log) => {
        const settled: Array<{ readonly id: string; readonly at: number }> = []
        for (const d of deliveries.rows.values()) {
          const at = d.status === "sent" ? d.sentAt : d.status === "dead" ? d.deadAt : null
          if (at !== null && DateTime.lessThan(at, before))
            settled.push({ id: d.messageId, at: at.epochMillis })
        }
        settled.sort((a, b) => a.at - b.at || compareCodePoints(a.id, b.id))
        const doomed = Math.floor(limit) > 0 ? settled.slice(0, Math.floor(limit)) : []
        for (const { id } of doomed) {
          outboxKeys.delete(outbox.get(id)!.dedupeKey, log)
          outbox.delete(id, log)
          deliveries.delete(id, log)
        }
        return doomed.length
      })
  })

  const applicationInScope = (a: RewardApplication, q: RewardApplicationQuery) =>
    q.scope._tag === "institution" ? a.institutionId === q.scope.memberId : a.roundId === q.scope.roundId
  const rewardRepo = RewardRepository.of({
    insertRound: (r) =>
      rounds.get(r.id) ? unique("reward_round", r.id) : db.write((log) => rounds.set(r.id, r, log)),
    updateRound: (r) =>
      rounds.get(r.id)?.version === r.version - 1
        ? db.write((log) => rounds.set(r.id, r, log))
        : stale("reward_round", r.id),
    findRound: (id) => get(rounds, id),
    // Memory units of work run one at a time: nothing changes a row a unit has read.
    findRoundForShare: (id) => get(rounds, id),
    findRoundForUpdate: (id) => get(rounds, id),
    listRounds: (q) =>
      db.read(() =>
        page(
          rounds.rows.values(),
          (r) => q.states === undefined || q.states.includes(r.state),
          roundKey,
          true,
          q.after,
          q.limit
        )
      ),
    insertProfile: (p) =>
      profiles.get(p.memberId)
        ? unique("institution_profile", p.memberId)
        : db.write((log) => profiles.set(p.memberId, p, log)),
    updateProfile: (p) =>
      profiles.get(p.memberId)?.version === p.version - 1
        ? db.write((log) => profiles.set(p.memberId, p, log))
        : stale("institution_profile", p.memberId),
    findProfile: (memberId) => get(profiles, memberId),
    insertApplication: (a) =>
      applications.get(a.id) || applicationKeys.get(keyOf(a.roundId, a.institutionId))
        ? unique("reward_application", `${a.roundId}/${a.institutionId}`)
        : db.write((log) => {
            applications.set(a.id, a, log)
            applicationKeys.set(keyOf(a.roundId, a.institutionId), a.id, log)
          }),
    updateApplication: (a) => {
      const before = applications.get(a.id)
      if (before?.version !== a.version - 1) return stale("reward_application", a.id)
      if (before.roundId !== a.roundId || before.institutionId !== a.institutionId) {
        return unique("reward_application", `${a.roundId}/${a.institutionId}`)
      }
      return db.write((log) => applications.set(a.id, a, log))
    },
    findApplication: (id) => get(applications, id),
    findApplicationForUpdate: (id) => get(applications, id),
    findApplicationOf: (roundId, institutionId) =>
      db.read(() =>
        Option.fromNullable(applicationKeys.get(keyOf(roundId, institutionId))).pipe(
          Option.flatMapNullable((id) => applications.get(id))
        )
      ),
    listApplications: (q) =>
      db.read(() =>
        page(
          applications.rows.values(),
          (a) => applicationInScope(a, q) && (q.states === undefined || q.states.includes(a.state)),
          applicationKey,
          true,
          q.after,
          q.limit
        )
      )
  })

  const statistics = StatisticsSource.of({
    figures: (q) =>
      db.read(() => {
        const zone = DateTime.zoneUnsafeMakeNamed(q.timeZone)
        const cohort = [...demands.rows.values()].filter(
          (d) =>
            d.firstPublishedAt !== null &&
            DateTime.greaterThanOrEqualTo(d.firstPublishedAt, q.since) &&
            DateTime.lessThan(d.firstPublishedAt, q.until)
        )
        const groups = new Map<string | null, Array<Demand>>()
        for (const d of cohort) {
          const key =
            q.groupBy === "field" ? d.form.field : q.groupBy === "region" ? (d.form.region ?? null) : null
          const group = groups.get(key)
          if (group === undefined) groups.set(key, [d])
          else group.push(d)
        }
        if (q.groupBy === "none" && !groups.has(null)) groups.set(null, [])
        const inCohort = new Set(cohort.map((d) => d.id))
        const byDemand = new Map<string, Array<Response>>()
        for (const r of responses.rows.values()) {
          if (r.status === "withdrawn" || !inCohort.has(r.demandId)) continue
          const list = byDemand.get(r.demandId)
          if (list === undefined) byDemand.set(r.demandId, [r])
          else list.push(r)
        }
        return [...groups.entries()].map(([key, list]): FiguresRow => {
          const enterprises = new Set<string>()
          const responders = new Set<string>()
          let responseCount = 0
          for (const d of list) {
            const enterprise =
              d.form.clientId ?? (members.get(d.publisherId)?.kind === "enterprise" ? d.publisherId : null)
            if (enterprise !== null) enterprises.add(enterprise)
            for (const r of byDemand.get(d.id) ?? []) {
              responseCount++
              responders.add(r.responderId)
            }
          }
          const days = list
            .flatMap((d) =>
              d.firstAdoptedAt === null || d.firstPublishedAt === null
                ? []
                : [calendarDays(d.firstPublishedAt, d.firstAdoptedAt, zone)]
            )
            .sort((a, b) => a - b)
          const solved = list.filter((d) => d.state === "solved")
          return {
            key,
            demandsPublished: list.length,
            enterprises: enterprises.size,
            intendedInvestment: sum(list.map((d) => d.form.intendedInvestment ?? 0)),
            responders: responders.size,
            responses: responseCount,
            demandsAdopted: days.length,
            demandsSolved: solved.length,
            serviceFees: sum(solved.map((d) => d.serviceFee ?? 0)),
            medianDaysToFirstAdoption: median(days)
          }
        })
      })
  })

  const fileStore = FileStore.of({
    put: (file, bytes) =>
      files.get(file.id)
        ? unique("file", file.id)
        : db.write((log) => files.set(file.id, { file, bytes: new Uint8Array(bytes) }, log)),
    get: (id) =>
      db.read(() =>
        Option.fromNullable(files.get(id)).pipe(
          Option.map(({ file, bytes }) => ({ file, bytes: bytes.slice() }))
        )
      ),
    head: (id) => db.read(() => Option.fromNullable(files.get(id)?.file))
  })

  /** `FileStore.read`: the stored bytes in copies of {@link memoryPieceBytes}, each made as it is pulled. */
  const readFile = (file: StoredFile) =>
    Stream.unwrap(
      db.read(() => {
        const bytes = files.get(file.id)?.bytes
        if (bytes === undefined) return Stream.fail(missingBytes(file))
        function* pieces(of: Uint8Array) {
          for (let at = 0; at < of.length; at += memoryPieceBytes) yield of.slice(at, at + memoryPieceBytes)
        }
        // One piece per pull: `fromIterable` would take up to 4096 at once, copying the whole file first.
        return Stream.fromIteratorSucceed(pieces(bytes), 1)
      })
    )

  const unitOfWork = UnitOfWork.of({ transaction: (effect) => db.transaction(effect) })

  /** One write, refused as a whole when an event id, a message's id (under another dedupeKey) or the idempotency key is taken. */
  const journal = Journal.of({
    write: (entry) => {
      const seen = new Set<string>()
      const taken = entry.events.find((e) => {
        const twice = seen.has(e.id)
        seen.add(e.id)
        return twice || audit.get(e.id) !== undefined
      })
      if (taken !== undefined) return unique("audit", taken.id)
      const record = entry.idempotency
      const recordKey = record === null ? "" : keyOf(record.accountId, record.key)
      if (record !== null && idempotency.get(recordKey) !== undefined)
        return unique("idempotency", record.key)
      const batch: Array<OutboxMessage> = [...entry.messages]
      for (const m of entry.accountMessages) {
        const account = accounts.get(m.accountId)
        const to =
          account === undefined
            ? undefined
            : recipientOf(
                account,
                account.active || account.memberId === null
                  ? []
                  : [...accounts.rows.values()].filter((a) => a.memberId === account.memberId)
              )
        if (to !== undefined) {
          batch.push({
            ...m.message,
            recipientPhone: to.phone,
            dedupeKey: `${m.dedupeKeyPrefix}${to.phone}`
          })
        }
      }
      const takenMessage = takenId(batch)
      if (takenMessage !== undefined) return unique("outbox", takenMessage.id)
      return db.write((log) => {
        for (const e of entry.events) audit.set(e.id, frozen(e), log)
        enqueueRows(batch, log)
        if (record !== null) idempotency.set(recordKey, record, log)
      })
    }
  })

  return Context.make(MemberRepository, whenRun(memberRepo)).pipe(
    Context.add(AccountRepository, whenRun(accountRepo)),
    Context.add(TechnologyManagerRepository, whenRun(managerRepo)),
    Context.add(DemandRepository, whenRun(demandRepo)),
    Context.add(ResponseRepository, whenRun(responseRepo)),
    Context.add(ConsultationRepository, whenRun(consultationRepo)),
    Context.add(ServiceLogRepository, whenRun(serviceLogRepo)),
    Context.add(CommissionRepository, whenRun(commissionRepo)),
    Context.add(AuditRepository, whenRun(auditRepo)),
    Context.add(IdempotencyRepository, whenRun(idempotencyRepo)),
    Context.add(DemandNumbering, whenRun(numbering)),
    Context.add(Outbox, whenRun(outboxPort)),
    Context.add(RewardRepository, whenRun(rewardRepo)),
    Context.add(StatisticsSource, whenRun(statistics)),
    Context.add(FileStore, FileStore.of({ ...whenRun(fileStore), read: readFile })),
    Context.add(UnitOfWork, unitOfWork),
    Context.add(Journal, whenRun(journal))
  )
}

/**
 * Every persistence port in memory, the file store included (its writes are undone
 * with the rest of a failed unit of work), fresh and empty each time the layer is
 * built; with every optional capability (the list is in `Persistence`), the
 * optional `Journal` port among them, but `UnitOfWork.read`: its writes apply in
 * place and are undone on failure, so its reads run in a unit of their own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Ports | Journal> = Layer.effectContext(Effect.sync(makeStore))
