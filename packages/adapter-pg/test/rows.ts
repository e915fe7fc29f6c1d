/** Rows for the adapter's own tests, written straight through the ports. */
import { type Audit, type Deadline, Demand, Ids, type Member } from "@zhongbao/core"
import { DateTime } from "effect"

let phones = 0
const phone = () => `+86139${String(10_000_000 + phones++).padStart(8, "0")}` as Member.PhoneNumber

export const at = (minutes: number): DateTime.Utc =>
  DateTime.unsafeMake(Date.UTC(2026, 4, 4, 2, 0, 0) + minutes * 60_000)

export const member = (overrides: Partial<Member.Member> = {}): Member.Member => ({
  id: Ids.make<Ids.MemberId>(),
  kind: "enterprise",
  name: "天津新材料有限公司",
  region: "天津市",
  registered: false,
  createdAt: at(0),
  ...overrides
})

/** An event of `member` updated by its `account`, listed for the member alone. */
export const memberEvent = (account: Member.Account, member: Member.Member): Audit.AuditEvent => ({
  id: Ids.make<Ids.AuditEventId>(),
  at: at(2),
  actorAccountId: account.id,
  actorMemberId: member.id,
  onBehalfOf: null,
  entity: "member",
  entityId: member.id,
  demandId: null,
  members: [member.id],
  action: "member.updated",
  before: null,
  after: null,
  reason: null
})

export const account = (memberId: Ids.MemberId): Member.Account => ({
  id: Ids.make<Ids.AccountId>(),
  memberId,
  role: "member",
  name: "张联系人",
  phone: phone(),
  active: true,
  reactivatedAt: null,
  createdAt: at(0)
})

export const form = (overrides: Partial<Demand.DemandForm> = {}): Demand.DemandForm => ({
  title: "石墨烯散热膜量产工艺",
  summary: { mainProblem: "量产良率偏低", keyTechnology: "导热系数不低于1500 W/mK", expectedGoal: "中试线" },
  keywords: ["散热"],
  field: "新材料及应用",
  responseDeadline: "2026-06-30" as Deadline.LocalDate,
  serviceMode: "cooperative",
  ...overrides
})

export const published = (
  publisherId: Ids.MemberId,
  createdBy: Ids.AccountId,
  sequence: number,
  overrides: Partial<Demand.Demand> = {}
): Demand.Demand => ({
  ...Demand.draft({ id: Ids.make<Ids.DemandId>(), publisherId, createdBy, form: form(), at: at(0) }),
  state: "published",
  number: `ZB2026${String(sequence).padStart(4, "0")}`,
  submittedAt: at(1),
  approvedAt: at(2 + sequence),
  firstPublishedAt: at(2 + sequence),
  updatedAt: at(2 + sequence),
  ...overrides
})
