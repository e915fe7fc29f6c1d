/**
 * Demo data for the example server: an operator, a registered technology transfer
 * institution with a technology manager, enterprises, a research institute and an
 * expert; demands in every state, responses, a consultation, a commission and an
 * open reward round. Written through core's use cases only, so it obeys every rule,
 * under the platform's settings (`SETTINGS_JSON`): each demand takes its field if the
 * platform has it (else the platform's first), the service modes its publisher may
 * choose, and a deadline within the days the platform allows.
 * On a database seeded before, {@link demoAccounts} finds the demo accounts again.
 */
import {
  Commissioning,
  Consulting,
  Deadline,
  type Demand,
  Errors,
  type Ids,
  Membership,
  Outcome,
  Persistence,
  Publishing,
  Responding,
  Review,
  Rewards,
  Selection,
  Settings
} from "@zhongbao/core"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** A demo account: who it is and its id. */
export interface DemoAccount {
  readonly role: string
  readonly name: string
  readonly accountId: Ids.AccountId
}

const summary = (problem: string) => ({
  mainProblem: problem,
  keyTechnology: "关键指标需达到行业先进水平，并提供第三方检测报告",
  expectedGoal: "一年内完成中试并形成可量产的工艺方案"
})

/** The demo operator's account id: fixed, so that a restart finds it. */
const operatorId = "demo-operator" as Ids.AccountId

/** The demo members, each with one account. */
const parties = {
  enterprise: {
    role: "enterprise",
    kind: "enterprise",
    name: "津沽新材料科技有限公司",
    phone: "13800000002"
  },
  client: {
    role: "commissioning enterprise",
    kind: "enterprise",
    name: "滨海智能装备有限公司",
    phone: "13800000003"
  },
  institution: {
    role: "transfer institution",
    kind: "transfer_institution",
    name: "天津市技术转移中心",
    phone: "13800000004"
  },
  institute: {
    role: "research institute",
    kind: "research_institute",
    name: "天津大学材料科学与工程学院",
    phone: "13800000005"
  },
  expert: { role: "expert", kind: "expert", name: "王建国教授", phone: "13800000006" }
} as const

/**
 * The demo accounts of a database {@link seed} filled before, found by the operator's
 * fixed id and the members' kinds and names (a database seeded by an older version,
 * whose operator has another id, gives the members only); `null` when none is found.
 */
export const demoAccounts = Effect.gen(function* () {
  const accounts = yield* Persistence.AccountRepository
  const members = yield* Persistence.MemberRepository
  const operator = yield* accounts.findById(operatorId)
  const found: Array<DemoAccount> =
    Option.isSome(operator) && operator.value.role === "operator"
      ? [{ role: "operator", name: operator.value.name, accountId: operatorId }]
      : []
  const all = yield* members.list({ limit: 200 })
  for (const party of Object.values(parties)) {
    const member = all.find((m) => m.kind === party.kind && m.name === party.name)
    if (member === undefined) continue
    const account = (yield* accounts.listByMember(member.id)).find((a) => a.active)
    if (account !== undefined) found.push({ role: party.role, name: member.name, accountId: account.id })
  }
  return found.length === 0 ? null : found
})

const isDomainError = Schema.is(Errors.DomainError)

/** The kinds of member a service mode may be kept for (`ServiceMode.publishers`). */
type Publisher = NonNullable<Settings.ServiceMode["publishers"]>[number]

/** Why the demo was not seeded: a refusal of core's under the platform's settings. */
const seedRefused = (reason: string, cause?: unknown) =>
  new Error(`the demo cannot be seeded under these settings (SEED=false starts without it): ${reason}`, {
    cause
  })

/**
 * Seeds an empty platform in one unit of work; answers the demo accounts, or `null`
 * when data already exists. All of it is written or none: a process stopped while
 * seeding leaves an empty database, seeded on its next start. Two processes that
 * find the database empty at once (two replicas of a first deployment) both go on to
 * create the demo operator, whose id is fixed: the second one's insert waits for the
 * first one's unit to end, and then either fails (its unit rolled back) or, finding
 * the operator, finds the first one's members too and answers `null`. Either way
 * only one demo is written; the caller then finds its accounts ({@link demoAccounts}).
 */
export const seed = Effect.flatMap(Persistence.UnitOfWork, (unit) => unit.transaction(seedEmpty)).pipe(
  Effect.catchIf(isDomainError, (error) => Effect.fail(seedRefused(error.message, error)))
)

const seedEmpty = Effect.gen(function* () {
  const members = yield* Persistence.MemberRepository
  if ((yield* members.list({ limit: 1 })).length > 0) return null

  const settings = yield* Settings.Settings
  const membership = yield* Membership.Membership
  const publishing = yield* Publishing.Publishing
  const review = yield* Review.Review
  const responding = yield* Responding.Responding
  const consulting = yield* Consulting.Consulting
  const selection = yield* Selection.Selection
  const outcome = yield* Outcome.Outcome
  const commissioning = yield* Commissioning.Commissioning
  const rewards = yield* Rewards.Rewards

  const today = Deadline.dateAt(yield* DateTime.now, settings)
  /** The demo's choices under the settings: a field the platform has, a deadline it allows. */
  const fieldOf = (preferred: string) =>
    settings.technicalFields.includes(preferred) ? preferred : (settings.technicalFields[0] ?? preferred)
  const daysOf = (days: number) =>
    Math.min(Math.max(days, settings.minDeadlineDays), settings.maxDeadlineDays)
  /** A service mode taking responses or not that `kind` may choose (R14), if the platform has one. */
  const modeOf = (takesResponses: boolean, kind: Publisher) =>
    settings.serviceModes.find(
      (m) =>
        m.acceptsResponses === takesResponses && (m.publishers === undefined || m.publishers.includes(kind))
    )?.id
  const cooperative = (kind: Publisher) => {
    const mode = modeOf(true, kind)
    return mode === undefined
      ? Effect.fail(seedRefused(`no service mode takes responses on a demand of a member of kind ${kind}`))
      : Effect.succeed(mode)
  }
  const enterpriseMode = yield* cooperative("enterprise")
  const institutionMode = yield* cooperative("transfer_institution")
  const operator = yield* Membership.bootstrapOperator({
    id: operatorId,
    name: "平台运营",
    phone: "13800000001"
  })
  if ((yield* members.list({ limit: 1 })).length > 0) return null
  const party = ({ kind, name, phone }: (typeof parties)[keyof typeof parties]) =>
    Effect.gen(function* () {
      const member = yield* membership.createMember(operator.id, { kind, name, region: "天津市" })
      if (kind === "transfer_institution")
        yield* membership.registerInstitution(operator.id, { memberId: member.id })
      const account = yield* membership.createAccount(operator.id, {
        memberId: member.id,
        name: `${name}联系人`,
        phone
      })
      return { member, account: account.id }
    })
  const enterprise = yield* party(parties.enterprise)
  const client = yield* party(parties.client)
  const institution = yield* party(parties.institution)
  const institute = yield* party(parties.institute)
  const expert = yield* party(parties.expert)
  const manager = yield* membership.addTechnologyManager(institution.account, {
    name: "李敏",
    phone: "13800000007"
  })

  /** Each demo demand's keywords, as a submitter would choose them. */
  const keywordsOf: Readonly<Record<string, ReadonlyArray<string>>> = {
    石墨烯散热膜量产工艺: ["石墨烯", "散热膜", "量产工艺"],
    焊接机器人视觉定位: ["焊接机器人", "视觉定位"],
    储能电池热失控预警: ["储能电池", "热失控", "预警"],
    园区技术需求调研服务: ["需求调研", "技术服务"],
    芯片封装用导热胶: ["芯片封装", "导热胶"],
    海水淡化膜抗污染改性: ["海水淡化", "膜污染"],
    农用无人机续航提升: ["农用无人机", "续航"]
  }
  const form = (
    title: string,
    problem: string,
    field: string,
    days: number,
    extra: Partial<typeof Demand.DemandForm.Encoded> = {}
  ) => ({
    title,
    summary: summary(problem),
    keywords: [...(keywordsOf[title] ?? [title])],
    field: fieldOf(field),
    intendedInvestment: 200_000_00,
    solvingWay: "cooperative_rd" as const,
    region: "天津市",
    responseDeadline: Deadline.addDays(today, daysOf(days)),
    serviceMode: enterpriseMode,
    ...extra
  })
  const publish = (by: Ids.AccountId, f: ReturnType<typeof form>) =>
    Effect.gen(function* () {
      const draft = yield* publishing.draft(by, f)
      yield* publishing.submit(by, { demandId: draft.id })
      return yield* review.approve(operator.id, { demandId: draft.id })
    })
  const proposal = (title: string) => ({
    title,
    content: `${title}：团队具备相关研发经验与中试条件，可在六个月内给出样品。`
  })

  const graphene = yield* publish(
    enterprise.account,
    form("石墨烯散热膜量产工艺", "散热膜量产良率偏低", "新材料及应用", 30)
  )
  yield* responding.respond(institute.account, {
    demandId: graphene.id,
    proposal: proposal("高导热石墨烯膜连续化制备方案")
  })
  const repair = yield* responding.respond(expert.account, {
    demandId: graphene.id,
    proposal: proposal("石墨烯膜缺陷修复工艺")
  })
  yield* consulting.ask(institute.account, {
    demandId: graphene.id,
    text: "请问现有产线的烧结温度区间是多少？"
  })
  yield* consulting.askResponder(enterprise.account, {
    responseId: repair.id,
    text: "请补充缺陷修复后的导热系数测试数据。"
  })

  const commission = yield* commissioning.request(client.account, {
    institutionId: institution.member.id,
    message: "委托贵中心代为征集焊接机器人视觉方案"
  })
  yield* commissioning.accept(institution.account, { commissionId: commission.id })
  const robot = yield* publish(
    institution.account,
    form("焊接机器人视觉定位", "复杂焊缝识别精度不足", "光机电一体化", 20, {
      technologyManagerId: manager.id,
      clientId: client.member.id,
      serviceMode: institutionMode
    })
  )
  const adopted = yield* responding.respond(institute.account, {
    demandId: robot.id,
    proposal: proposal("基于结构光的焊缝跟踪方案")
  })
  yield* responding.respond(expert.account, {
    demandId: robot.id,
    proposal: proposal("深度学习焊缝识别算法")
  })
  yield* selection.adopt(institution.account, { responseId: adopted.id })
  yield* outcome.appendLog(institution.account, {
    demandId: robot.id,
    entry: { date: today, text: "组织供需双方线上对接，确认样机测试计划" }
  })

  const battery = yield* publish(
    institution.account,
    form("储能电池热失控预警", "电池包热失控难以提前发现", "新能源与高效节能", 10, {
      technologyManagerId: manager.id,
      serviceMode: institutionMode
    })
  )
  const solver = yield* responding.respond(institute.account, {
    demandId: battery.id,
    proposal: proposal("多传感器融合预警方案")
  })
  yield* selection.adopt(institution.account, { responseId: solver.id })
  yield* outcome.solved(institution.account, { demandId: battery.id, serviceFee: 80_000_00 })

  const ownService = modeOf(false, "transfer_institution")
  if (ownService !== undefined) {
    yield* publish(
      institution.account,
      form("园区技术需求调研服务", "需求挖掘缺少系统方法", "高科技服务业", 15, {
        technologyManagerId: manager.id,
        serviceMode: ownService
      })
    )
  }
  yield* publishing.draft(enterprise.account, form("芯片封装用导热胶", "导热胶可靠性不足", "电子信息", 40))
  const pending = yield* publishing.draft(
    enterprise.account,
    form("海水淡化膜抗污染改性", "膜污染导致通量衰减", "海洋", 40)
  )
  yield* publishing.submit(enterprise.account, { demandId: pending.id })
  const rejected = yield* publishing.draft(
    enterprise.account,
    form("农用无人机续航提升", "续航时间短", "现代农业", 40)
  )
  yield* publishing.submit(enterprise.account, { demandId: rejected.id })
  yield* review.reject(operator.id, { demandId: rejected.id, reason: "请补充预期目标的量化指标" })

  yield* rewards.openRound(operator.id, {
    title: `${today.slice(0, 4)}年度科研众包对接奖励申报`,
    rules: "对接成功的需求须上传合同或发票等证明材料；每家机构每批次申报一次。",
    periodStart: Deadline.addDays(today, -60),
    periodEnd: Deadline.addDays(today, 60),
    applicationDeadline: Deadline.addDays(today, 60)
  })

  return [
    { role: "operator", name: operator.name, accountId: operator.id },
    { role: parties.enterprise.role, name: enterprise.member.name, accountId: enterprise.account },
    { role: parties.client.role, name: client.member.name, accountId: client.account },
    { role: parties.institution.role, name: institution.member.name, accountId: institution.account },
    { role: parties.institute.role, name: institute.member.name, accountId: institute.account },
    { role: parties.expert.role, name: expert.member.name, accountId: expert.account }
  ] satisfies ReadonlyArray<DemoAccount>
})
