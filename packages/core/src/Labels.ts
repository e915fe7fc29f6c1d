/**
 * The Chinese names of the values the models take — states, phases, kinds, reasons —
 * in the user guide's words: one table for every interface built on zhongbao (a
 * portal's pages, its exports, an operator's screens), so that no two call a demand's
 * state by different names. The R61 "not adopted" notice carries {@link zhCN}'s
 * `notAdoptedReason`. Every value of each model has its name (the types require it).
 *
 * @since 0.1.0
 */
import type { CommissionState } from "./Commission.js"
import type { DemandState, SolvingWay } from "./Demand.js"
import type { Account, MemberKind } from "./Member.js"
import type { DeliveryStatus } from "./Notification.js"
import type { Phase } from "./Phase.js"
import type { NotAdoptedReason, ResponseStatus } from "./Response.js"
import type { ApplicationState, RoundState } from "./Reward.js"

/**
 * The names of one model's values.
 *
 * @since 0.1.0
 * @category models
 */
export type Names<K extends string> = { readonly [V in K]: string }

/**
 * The tables, one per model.
 *
 * @since 0.1.0
 * @category models
 */
export interface Labels {
  readonly demandState: Names<DemandState>
  readonly outcome: Names<"unsolved" | "solved">
  readonly phase: Names<Phase>
  readonly solvingWay: Names<typeof SolvingWay.Type>
  readonly responseStatus: Names<ResponseStatus>
  readonly notAdoptedReason: Names<NotAdoptedReason>
  readonly memberKind: Names<MemberKind>
  readonly role: Names<Account["role"]>
  readonly commissionState: Names<CommissionState>
  readonly roundState: Names<RoundState>
  readonly applicationState: Names<ApplicationState>
  readonly deliveryStatus: Names<DeliveryStatus>
}

/**
 * The names in Simplified Chinese.
 *
 * @since 0.1.0
 * @category labels
 */
export const zhCN: Labels = {
  demandState: {
    draft: "草稿",
    pending_review: "待审核",
    published: "已发布",
    rejected: "已驳回",
    solved: "已解决"
  },
  outcome: { unsolved: "未解决", solved: "已解决" },
  phase: {
    not_published: "未发布",
    no_responses: "不接收应答",
    taking_responses: "接收应答中",
    selecting: "选标中",
    selection_over: "选标已结束"
  },
  solvingWay: {
    independent_rd: "独立研发",
    commissioned_rd: "委托研发",
    cooperative_rd: "合作研发",
    other: "其他"
  },
  responseStatus: {
    submitted: "已提交",
    adopted: "已采纳",
    not_adopted: "未采纳",
    withdrawn: "已撤回"
  },
  notAdoptedReason: {
    not_relevant: "方案与需求不相关",
    cost_too_high: "成本过高",
    maturity_too_low: "技术成熟度不足",
    ip_conflict: "知识产权冲突",
    other: "其他"
  },
  memberKind: {
    transfer_institution: "技术转移机构",
    enterprise: "企业",
    research_institute: "科研机构",
    service_institution: "服务机构",
    expert: "专家"
  },
  role: { member: "会员", operator: "平台运营人员" },
  commissionState: {
    requested: "待处理",
    active: "进行中",
    declined: "已拒绝",
    ended: "已终止"
  },
  roundState: { open: "申报中", closed: "已关闭" },
  applicationState: {
    draft: "草稿",
    submitted: "已提交",
    approved: "已通过",
    rejected: "未通过"
  },
  deliveryStatus: { pending: "待发送", sent: "已发送", dead: "发送失败" }
}
