import {
  type Audit,
  type Commission,
  type Consultation,
  Deadline,
  Demand,
  type Errors,
  type FileStore,
  type Idempotency,
  Ids,
  type Member,
  type Money,
  type Notification,
  Persistence,
  type Response,
  type Reward,
  type ServiceLog
} from "@zhongbao/core"
import { type DateTime, Effect } from "effect"
import { nextPhone } from "../Fixtures.js"
import { minutesAfter, start } from "./harness.js"

/** @internal A distinct E.164 mobile number. */
export const phone = (): Member.PhoneNumber => `+86${nextPhone()}` as Member.PhoneNumber

/** @internal A calendar date `days` after 2026-05-04. */
export const date = (days: number): Deadline.LocalDate =>
  Deadline.addDays("2026-05-04" as Deadline.LocalDate, days)

/** @internal */
export const fen = (n: number): Money.Fen => n as Money.Fen

/** @internal A member row. */
export const member = (overrides: Partial<Member.Member> = {}): Member.Member => ({
  id: Ids.make<Ids.MemberId>(),
  kind: "enterprise",
  name: "天津新材料有限公司",
  region: null,
  registered: false,
  createdAt: minutesAfter(0, 123),
  ...overrides
})

/** @internal An account row of a member. */
export const account = (
  memberId: Ids.MemberId | null,
  overrides: Partial<Member.Account> = {}
): Member.Account => ({
  id: Ids.make<Ids.AccountId>(),
  memberId,
  role: memberId === null ? "operator" : "member",
  name: "张联系人",
  phone: phone(),
  active: true,
  reactivatedAt: null,
  createdAt: minutesAfter(0, 456),
  ...overrides
})

/** @internal A technology manager row. */
export const manager = (institutionId: Ids.MemberId): Member.TechnologyManager => ({
  id: Ids.make<Ids.TechnologyManagerId>(),
  institutionId,
  name: "李经理",
  phone: phone(),
  active: true,
  createdAt: minutesAfter(1, 7)
})

/** @internal A demand form with every optional field filled. */
export const fullForm = (
  managerId: Ids.TechnologyManagerId,
  clientId: Ids.MemberId,
  overrides: Partial<Demand.DemandForm> = {}
): Demand.DemandForm => ({
  title: "石墨烯散热膜量产工艺",
  summary: {
    mainProblem: "石墨烯散热膜在量产中良率偏低",
    keyTechnology: "导热系数不低于1500 W/mK，厚度25微米",
    expectedGoal: "形成年产十万平方米的中试线"
  },
  keywords: ["石墨烯", "散热", "Thermal"],
  field: "新材料及应用",
  intendedInvestment: fen(5_000_000_00),
  solvingWay: "cooperative_rd",
  region: "天津市",
  responseDeadline: date(30),
  serviceMode: "cooperative",
  technologyManagerId: managerId,
  clientId,
  attachments: [Ids.make<Ids.FileId>(), Ids.make<Ids.FileId>()],
  contact: { name: "王工", phone: phone() },
  ...overrides
})

/** @internal A demand form with only the required fields. */
export const minimalForm = (overrides: Partial<Demand.DemandForm> = {}): Demand.DemandForm => ({
  title: "玉米抗旱品种选育",
  summary: { mainProblem: "干旱减产", keyTechnology: "抗旱基因", expectedGoal: "亩产提高一成" },
  keywords: ["玉米"],
  field: "现代农业",
  responseDeadline: date(20),
  serviceMode: "cooperative",
  ...overrides
})

/** @internal A draft demand row: every nullable field null. */
export const demand = (
  publisherId: Ids.MemberId,
  createdBy: Ids.AccountId,
  overrides: Partial<Demand.Demand> = {}
): Demand.Demand => ({
  ...Demand.draft({
    id: Ids.make<Ids.DemandId>(),
    publisherId,
    createdBy,
    form: minimalForm(),
    at: minutesAfter(2, 1)
  }),
  ...overrides
})

/** @internal The fields a published demand has set. */
export const publishedFields = (
  number: string,
  at: DateTime.Utc = minutesAfter(3, 999)
): Partial<Demand.Demand> => ({
  state: "published",
  number,
  submittedAt: minutesAfter(2, 500),
  approvedAt: at,
  firstPublishedAt: at,
  selectionWindowDays: 14
})

/** @internal A response row. */
export const response = (
  demand: Demand.Demand,
  responderId: Ids.MemberId,
  responderAccountId: Ids.AccountId,
  overrides: Partial<Response.Response> = {}
): Response.Response => ({
  id: Ids.make<Ids.ResponseId>(),
  demandId: demand.id,
  demandPublisherId: demand.publisherId,
  round: demand.round,
  responderId,
  responderAccountId,
  proposal: { title: "石墨烯卷对卷连续制备方案", content: "采用化学气相沉积，良率目标95%以上。" },
  status: "submitted",
  feedback: null,
  submittedAt: minutesAfter(10, 42),
  updatedAt: minutesAfter(10, 42),
  adoptedAt: null,
  version: 1,
  ...overrides
})

/** @internal A thread row. */
export const thread = (demand: Demand.Demand, responderId: Ids.MemberId): Consultation.Thread => ({
  id: Ids.make<Ids.ThreadId>(),
  demandId: demand.id,
  demandPublisherId: demand.publisherId,
  responderId,
  messageCount: 0,
  createdAt: minutesAfter(5, 5),
  lastMessageAt: minutesAfter(5, 5)
})

/** @internal A message row. */
export const message = (
  thread: Consultation.Thread,
  seq: number,
  authorAccountId: Ids.AccountId,
  side: Consultation.Message["side"]
): Consultation.Message => ({
  id: Ids.make<Ids.MessageId>(),
  threadId: thread.id,
  seq,
  authorAccountId,
  side,
  text: `第${seq}条留言：请问中试线的场地条件？`,
  at: minutesAfter(5 + seq, seq)
})

/** @internal A service-log entry row. */
export const entry = (
  demandId: Ids.DemandId,
  seq: number,
  authorAccountId: Ids.AccountId
): ServiceLog.Entry => ({
  id: Ids.make<Ids.ServiceLogEntryId>(),
  demandId,
  seq,
  date: date(seq),
  text: `第${seq}次现场对接，确定工艺参数。`,
  attachments: seq % 2 === 0 ? [] : [Ids.make<Ids.FileId>()],
  authorAccountId,
  at: minutesAfter(20 + seq, 250)
})

/** @internal A commission row. */
export const commission = (
  enterpriseId: Ids.MemberId,
  institutionId: Ids.MemberId,
  requestedBy: Ids.AccountId,
  overrides: Partial<Commission.Commission> = {}
): Commission.Commission => ({
  id: Ids.make<Ids.CommissionId>(),
  enterpriseId,
  institutionId,
  message: "委托贵机构代为征集散热膜量产方案",
  state: "requested",
  requestedBy,
  createdAt: minutesAfter(4, 321),
  decidedAt: null,
  endedAt: null,
  endedBy: null,
  version: 1,
  ...overrides
})

/** @internal An audit event row. */
export const auditEvent = (
  actorAccountId: Ids.AccountId,
  members: ReadonlyArray<Ids.MemberId>,
  demandId: Ids.DemandId | null,
  overrides: Partial<Audit.AuditEvent> = {}
): Audit.AuditEvent => ({
  id: Ids.make<Ids.AuditEventId>(),
  at: minutesAfter(6, 66),
  actorAccountId,
  actorMemberId: members[0] ?? null,
  onBehalfOf: null,
  entity: "demand",
  entityId: demandId ?? Ids.make(),
  demandId,
  members,
  action: "demand.approved",
  before: "pending_review",
  after: "published ZB20260001",
  reason: null,
  ...overrides
})

/** @internal An idempotency record row. */
export const idempotencyRecord = (
  accountId: Ids.AccountId,
  key: string,
  createdAt: DateTime.Utc = start
): Idempotency.IdempotencyRecord => ({
  accountId,
  key,
  fingerprint: `draftDemand:{"title":"石墨烯散热膜量产工艺"}`,
  result: { id: "d-1", title: "石墨烯散热膜量产工艺", nested: { list: [1, "二", null, true] }, none: null },
  createdAt
})

/** @internal An outbox message row. */
export const outboxMessage = (
  overrides: Partial<Notification.OutboxMessage> = {}
): Notification.OutboxMessage => {
  const id = Ids.make<Ids.OutboxMessageId>()
  return {
    id,
    event: "response_adopted",
    dedupeKey: `response_adopted:${id}:+8613912345678`,
    recipientPhone: "+8613912345678",
    templateId: "ZB_RESPONSE_ADOPTED",
    params: { number: "ZB20260001", title: "石墨烯散热膜量产工艺" },
    createdAt: minutesAfter(7, 777),
    ...overrides
  }
}

/** @internal The parties of the direct-row tests, inserted through the repositories. */
export interface Parties {
  readonly enterprise: Member.Member
  readonly enterpriseAccount: Member.Account
  readonly institution: Member.Member
  readonly institutionAccount: Member.Account
  readonly manager: Member.TechnologyManager
  readonly responder: Member.Member
  readonly responderAccount: Member.Account
  readonly operator: Member.Account
}

/** @internal Inserts {@link Parties} straight through the member, account and manager ports. */
export const insertParties: Effect.Effect<
  Parties,
  Errors.InfrastructureError | Errors.UniqueViolation,
  Persistence.MemberRepository | Persistence.AccountRepository | Persistence.TechnologyManagerRepository
> = Effect.gen(function* () {
  const members = yield* Persistence.MemberRepository
  const accounts = yield* Persistence.AccountRepository
  const managers = yield* Persistence.TechnologyManagerRepository
  const enterprise = member({ region: "天津市" })
  const institution = member({ kind: "transfer_institution", name: "天津技术转移中心", registered: true })
  const responder = member({ kind: "research_institute", name: "天津大学材料研究所", region: "天津市" })
  for (const m of [enterprise, institution, responder]) yield* members.insert(m)
  const enterpriseAccount = account(enterprise.id)
  const institutionAccount = account(institution.id)
  const responderAccount = account(responder.id)
  // Reactivated once, so that the optional reads are checked to return when (§3).
  const operator = account(null, { name: "运营管理员", reactivatedAt: minutesAfter(0, 789) })
  for (const a of [enterpriseAccount, institutionAccount, responderAccount, operator])
    yield* accounts.insert(a)
  const tm = manager(institution.id)
  yield* managers.insert(tm)
  return {
    enterprise,
    enterpriseAccount,
    institution,
    institutionAccount,
    manager: tm,
    responder,
    responderAccount,
    operator
  } satisfies Parties
})

/** @internal Bytes that start like a PDF, then every byte value, `size` long in all. */
export const pdfBytes = (size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) % 256
  const head = Array.from("%PDF-1.7\n", (c) => c.charCodeAt(0))
  bytes.set(head.slice(0, size), 0)
  return bytes
}

/** @internal A stored-file row of `ownerMemberId`; `sha256` must be the bytes' (the caller computes it). */
export const storedFile = (
  ownerMemberId: Ids.MemberId,
  bytes: Uint8Array,
  sha256: string,
  overrides: Partial<FileStore.StoredFile> = {}
): FileStore.StoredFile => ({
  id: Ids.make<Ids.FileId>(),
  ownerMemberId,
  name: "技术合同（盖章版）.pdf",
  contentType: "application/pdf",
  size: bytes.length,
  sha256: sha256 as FileStore.Sha256,
  createdAt: minutesAfter(14, 141),
  ...overrides
})

/** @internal A valid unified social credit code (R51). */
export const creditCode = "91350100M000100Y43" as Reward.CreditCode

/** @internal An open reward round row, opened by `openedBy`. */
export const rewardRound = (
  openedBy: Ids.AccountId,
  overrides: Partial<Reward.RewardRound> = {}
): Reward.RewardRound => ({
  id: Ids.make<Reward.RewardRoundId>(),
  title: "2026年度科研众包奖励申报",
  rules: "对在申报期内解决的众包需求，按服务费用给予奖励；\n每项需求须附技术合同或发票。",
  periodStart: date(-3),
  periodEnd: date(27),
  applicationDeadline: date(42),
  state: "open",
  openedBy,
  openedAt: minutesAfter(11, 111),
  closedBy: null,
  closedAt: null,
  version: 1,
  ...overrides
})

/** @internal An institution's basic information (R51). */
export const profileInfo = (overrides: Partial<Reward.ProfileSnapshot> = {}): Reward.ProfileSnapshot => ({
  name: "天津技术转移中心",
  creditCode,
  address: "天津市南开区科技路1号",
  contact: "张主任",
  phone: phone(),
  bankAccount: {
    bank: "中国银行天津分行",
    accountName: "天津技术转移中心",
    accountNumber: "6217000010001234567"
  },
  ...overrides
})

/** @internal An institution profile row. */
export const institutionProfile = (
  memberId: Ids.MemberId,
  updatedBy: Ids.AccountId,
  overrides: Partial<Reward.InstitutionProfile> = {}
): Reward.InstitutionProfile => ({
  memberId,
  info: profileInfo(),
  updatedBy,
  updatedAt: minutesAfter(12, 121),
  version: 1,
  ...overrides
})

/** @internal A draft reward application row: every nullable field null. */
export const rewardApplication = (
  roundId: Reward.RewardRoundId,
  institutionId: Ids.MemberId,
  createdBy: Ids.AccountId,
  items: ReadonlyArray<Reward.ApplicationItem>,
  overrides: Partial<Reward.RewardApplication> = {}
): Reward.RewardApplication => ({
  id: Ids.make<Reward.RewardApplicationId>(),
  roundId,
  institutionId,
  state: "draft",
  items,
  note: null,
  profile: null,
  amount: null,
  rejectionReason: null,
  createdBy,
  createdAt: minutesAfter(13, 131),
  updatedAt: minutesAfter(13, 131),
  submittedAt: null,
  decidedBy: null,
  decidedAt: null,
  version: 1,
  ...overrides
})
