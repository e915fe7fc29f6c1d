/**
 * A small platform to test against: an operator, enterprises, a registered and an
 * unregistered institution with a technology manager, a research institute, an
 * expert and a service institution, each with one account; and helpers that take
 * demands through their lifecycle. Works on any adapter's ports.
 *
 * @since 0.1.0
 */
import {
  type Commission,
  Commissioning,
  Deadline,
  type Demand,
  type Errors,
  type Ids,
  type Member,
  Membership,
  type Persistence,
  Publishing,
  Review,
  type Reward,
  Settings,
  type Zhongbao
} from "@zhongbao/core"
import { DateTime, Effect, type ParseResult } from "effect"

/**
 * What fixture steps may fail with: any domain or port error.
 *
 * @since 0.1.0
 * @category models
 */
export type FixtureError =
  | Errors.DomainError
  | Errors.InfrastructureError
  | Errors.UniqueViolation
  | ParseResult.ParseError

type AccountId = Ids.AccountId
type MemberId = Ids.MemberId

/**
 * One member and the account that acts for it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Party {
  readonly member: Member.Member
  readonly account: AccountId
}

/**
 * The parties of a test platform.
 *
 * @since 0.1.0
 * @category models
 */
export interface World {
  readonly operator: AccountId
  readonly enterprise: Party
  readonly enterprise2: Party
  readonly institution: Party
  readonly unregistered: Party
  readonly institute: Party
  readonly expert: Party
  readonly serviceInstitution: Party
  readonly manager: Ids.TechnologyManagerId
}

let phoneSeq = 0
/**
 * A distinct valid mainland mobile number for each call.
 *
 * @since 0.1.0
 * @category constructors
 */
export const nextPhone = (): string => `139${String(10000000 + (phoneSeq++ % 89999999)).padStart(8, "0")}`

/**
 * Creates the parties of {@link World}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWorld: Effect.Effect<
  World,
  FixtureError,
  Membership.Membership | Persistence.AccountRepository
> = Effect.gen(function* () {
  const membership = yield* Membership.Membership
  const operator = (yield* Membership.bootstrapOperator({ name: "运营管理员", phone: nextPhone() })).id
  const party = (kind: Member.MemberKind, name: string, register = false) =>
    Effect.gen(function* () {
      const member = yield* membership.createMember(operator, { kind, name, region: "天津市" })
      const registered = register
        ? yield* membership.registerInstitution(operator, { memberId: member.id })
        : member
      const account = yield* membership.createAccount(operator, {
        memberId: member.id,
        name: `${name}联系人`,
        phone: nextPhone()
      })
      return { member: registered, account: account.id } satisfies Party
    })
  const enterprise = yield* party("enterprise", "天津新材料有限公司")
  const enterprise2 = yield* party("enterprise", "滨海电子科技有限公司")
  const institution = yield* party("transfer_institution", "天津技术转移中心", true)
  const unregistered = yield* party("transfer_institution", "未登记转移机构")
  const institute = yield* party("research_institute", "天津大学材料研究所")
  const expert = yield* party("expert", "王教授")
  const serviceInstitution = yield* party("service_institution", "科技咨询服务中心")
  const manager = (yield* membership.addTechnologyManager(institution.account, {
    name: "李经理",
    phone: nextPhone()
  })).id
  return {
    operator,
    enterprise,
    enterprise2,
    institution,
    unregistered,
    institute,
    expert,
    serviceInstitution,
    manager
  } satisfies World
})

/** Characters stores and encoders get wrong. */
const awkward = ["𠮷", "中", "😀", "e", "\u0301", "\n", "'", '"', "\\", "%", "_", "\t", "Ω", " "]

/**
 * A text of exactly `n` characters (code points, as the model counts them) that
 * stores and encoders get wrong: mostly outside the BMP (four bytes in UTF-8, two
 * UTF-16 code units), CJK, an emoji, a combining accent, quotes, a backslash,
 * `LIKE`'s wildcards, tabs and line breaks; beginning and ending with a character
 * outside the BMP (texts are trimmed). The longest value a field of at most `n`
 * characters admits.
 *
 * @since 0.1.1
 * @category constructors
 */
export const longest = (n: number): string =>
  Array.from({ length: n }, (_, i) => (i === 0 || i === n - 1 ? "𠮷" : awkward[i % awkward.length]!)).join("")

/**
 * A valid demand form (encoded), deadline `days` after today in the platform zone.
 *
 * @since 0.1.0
 * @category constructors
 */
export const form = (overrides: Partial<typeof Demand.DemandForm.Encoded> = {}, days = 30) =>
  Effect.gen(function* () {
    const settings = yield* Settings.Settings
    const today = Deadline.dateAt(yield* DateTime.now, settings)
    return {
      title: "石墨烯散热膜量产工艺",
      summary: {
        mainProblem: "石墨烯散热膜在量产中良率偏低",
        keyTechnology: "导热系数不低于1500 W/mK，厚度25微米",
        expectedGoal: "形成年产十万平方米的中试线"
      },
      keywords: ["石墨烯", "散热"],
      field: "新材料及应用",
      intendedInvestment: 5_000_000_00,
      solvingWay: "cooperative_rd",
      region: "天津市",
      responseDeadline: Deadline.addDays(today, days),
      serviceMode: "cooperative",
      ...overrides
    } satisfies typeof Demand.DemandForm.Encoded
  })

/**
 * Drafts, submits and approves a demand for `publisher`; returns it published.
 *
 * @since 0.1.0
 * @category constructors
 */
export const publish = (
  world: World,
  publisher: AccountId,
  overrides: Partial<typeof Demand.DemandForm.Encoded> = {},
  days = 30
): Effect.Effect<Demand.Demand, FixtureError, Publishing.Publishing | Review.Review | Settings.Settings> =>
  Effect.gen(function* () {
    const publishing = yield* Publishing.Publishing
    const review = yield* Review.Review
    const draft = yield* publishing.draft(publisher, yield* form(overrides, days))
    yield* publishing.submit(publisher, { demandId: draft.id })
    return yield* review.approve(world.operator, { demandId: draft.id })
  })

/**
 * The form overrides an institution needs to publish for `client` (R1, R41).
 *
 * @since 0.1.0
 * @category constructors
 */
export const onBehalf = (world: World, client?: MemberId) => ({
  technologyManagerId: world.manager,
  ...(client === undefined ? {} : { clientId: client })
})

/**
 * Everything a test needs: the services over some ports.
 *
 * @since 0.1.0
 * @category models
 */
export type Env = Zhongbao.Services

/**
 * A valid institution profile (R51, encoded): a credit code with its check digit, a
 * fresh phone, a bank account; `overrides` replace fields.
 *
 * @since 0.1.0
 * @category constructors
 */
export const profileInput = (
  overrides: Partial<typeof Reward.ProfileInput.Encoded> = {}
): typeof Reward.ProfileInput.Encoded => ({
  name: "天津技术转移中心",
  creditCode: "91350100M000100Y43",
  address: "天津市南开区科技路1号",
  contact: "张主任",
  phone: nextPhone(),
  bankAccount: {
    bank: "中国银行天津分行",
    accountName: "天津技术转移中心",
    accountNumber: "6217000010001234567"
  },
  ...overrides
})

/**
 * R40: an active commission from `enterprise` (the world's first by default) to the
 * world's registered institution: requested, then accepted.
 *
 * @since 0.1.0
 * @category constructors
 */
export const activeCommission = (
  world: World,
  enterprise: Party = world.enterprise
): Effect.Effect<Commission.Commission, FixtureError, Commissioning.Commissioning> =>
  Effect.gen(function* () {
    const commissioning = yield* Commissioning.Commissioning
    const requested = yield* commissioning.request(enterprise.account, {
      institutionId: world.institution.member.id,
      message: "委托贵机构代为发布并跟进技术需求"
    })
    return yield* commissioning.accept(world.institution.account, { commissionId: requested.id })
  })
