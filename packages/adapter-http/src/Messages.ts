/**
 * The language of error messages. Core writes its messages in English and gives
 * every error a stable `code`; the API answers in the request's language, chosen from
 * `Accept-Language` (q-values honoured): `zh-CN` by default, `en` on request. A
 * Chinese message comes from the table below by code; a code without an entry
 * keeps core's English message, so a new rule never answers with nothing.
 *
 * @since 0.1.0
 */

import { Labels } from "@zhongbao/core"

/**
 * The languages the API answers in.
 *
 * @since 0.1.0
 * @category models
 */
export type Language = "zh-CN" | "en"

/** RFC 9110 §12.4.2: a weight, `q=` in any case, 0 to 1 with at most three decimals. */
const qvalue = /^\s*q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/i

/**
 * The language for an `Accept-Language` header: the first of `zh*` or `en*` by
 * preference (q-values, then order); `zh-CN` when neither is asked for.
 *
 * @since 0.1.0
 * @category languages
 */
export const languageOf = (acceptLanguage: string | undefined): Language => {
  if (acceptLanguage === undefined || acceptLanguage === "") return "zh-CN"
  const ranges = acceptLanguage
    .split(",")
    .slice(0, 20)
    .map((part, index) => {
      const [tag = "", ...params] = part.trim().split(";")
      // RFC 9110 §12.4.2: a weight is `q=` (any case) and 0 to 1 with at most three decimals;
      // a range whose weight is not one is left out.
      const weight = params.find((p) => /^\s*q\s*=/i.test(p))
      const q = weight === undefined ? 1 : Number(qvalue.exec(weight)?.[1] ?? Number.NaN)
      return { tag: tag.trim().toLowerCase(), q, index }
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
  for (const { tag } of ranges) {
    if (tag === "zh" || tag.startsWith("zh-")) return "zh-CN"
    if (tag === "en" || tag.startsWith("en-")) return "en"
  }
  return "zh-CN"
}

const entities: Record<string, string> = {
  demand: "需求",
  demand_responses: "该需求的应答",
  service_log: "该需求的服务日志",
  audit_trail: "该需求的操作记录",
  response: "应答",
  thread: "咨询",
  member: "会员",
  account: "账号",
  technology_manager: "技术经理人",
  commission: "委托",
  institution: "技术转移机构",
  reward_round: "奖励申报批次",
  reward_application: "奖励申报",
  profile: "单位基本信息",
  file: "文件",
  notification: "通知"
}

/**
 * The Chinese name of each field a refusal may name, by the last segment of its path
 * or, where one name means two things, by the last two (`contact.name`).
 */
const fieldNames: Readonly<Record<string, string>> = {
  accountId: "账号",
  active: "是否启用",
  address: "地址",
  amount: "核定金额",
  applicationDeadline: "申报截止日期",
  applicationId: "申报",
  attachments: "附件",
  bankAccount: "银行账户",
  body: "请求内容",
  "content-length": "请求头 Content-Length",
  "content-type": "请求内容类型",
  path: "请求路径",
  "bankAccount.accountName": "开户名称",
  "bankAccount.accountNumber": "银行账号",
  "bankAccount.bank": "开户银行",
  bytes: "文件内容",
  clientId: "委托企业",
  commissionId: "委托",
  contact: "联系人",
  "contact.name": "联系人姓名",
  "contact.phone": "联系电话",
  creditCode: "统一社会信用代码",
  cursor: "分页游标",
  date: "日期",
  "entry.date": "服务日志日期",
  deadlineFrom: "截止日期范围的开始日期",
  deadlineTo: "截止日期范围的结束日期",
  demandId: "需求",
  entry: "服务日志",
  feedback: "未采纳原因",
  "feedback.reason": "未采纳原因类别",
  "feedback.text": "未采纳原因说明",
  field: "所属领域",
  file: "文件",
  fileId: "文件",
  form: "需求信息",
  from: "开始日期",
  groupBy: "分组方式",
  "idempotency-key": "幂等键",
  "if-match": "If-Match 请求头",
  "if-none-match": "If-None-Match 请求头",
  input: "输入",
  institutionId: "技术转移机构",
  intendedInvestment: "拟投入资金",
  items: "申报需求",
  "items.demandId": "",
  "feedback.responseId": "",
  keyword: "搜索关键词",
  keywords: "关键词",
  kind: "会员类型",
  limit: "每页条数",
  memberId: "会员",
  message: "留言",
  messageId: "通知",
  name: "名称",
  note: "备注",
  periodEnd: "统计期结束日期",
  periodStart: "统计期开始日期",
  phone: "联系电话",
  proofs: "证明材料",
  proposal: "应答方案",
  "proposal.content": "方案内容",
  "proposal.title": "方案标题",
  reason: "驳回原因",
  region: "所在地区",
  responseDeadline: "应答截止日期",
  responseId: "应答",
  role: "角色",
  roundId: "申报批次",
  rules: "申报规则",
  serviceFee: "服务费用",
  serviceMode: "服务方式",
  solvingWay: "解决方式",
  sort: "排序方式",
  states: "状态",
  statuses: "应答状态",
  summary: "需求摘要",
  "summary.expectedGoal": "预期目标",
  "summary.keyTechnology": "技术关键",
  "summary.mainProblem": "主要问题",
  takingResponses: "是否接收应答",
  technologyManagerId: "技术经理人",
  text: "内容",
  "entry.text": "日志内容",
  threadId: "咨询",
  title: "标题",
  "form.title": "需求名称",
  to: "结束日期"
}

/**
 * Names a field has on one endpoint (`METHOD /path`, as the API declares it), where
 * the same property means another thing elsewhere: a draft's body is the demand's
 * form itself, so its `title` is the form's 需求名称 (R10), and a round's title is
 * the round's; an account's or a technology manager's `name` is a person's 姓名, a
 * member's its organisation's, an upload's the file's, an institution profile's the
 * institution's (R51).
 */
const endpointFieldNames: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "POST /demands": { title: "需求名称" },
  "POST /reward-rounds": { title: "批次名称" },
  "POST /members": { name: "会员名称" },
  "POST /accounts": { name: "姓名" },
  "PUT /accounts/:accountId": { name: "姓名" },
  "POST /technology-managers": { name: "姓名" },
  "PUT /technology-managers/:technologyManagerId": { name: "姓名" },
  "POST /files": { name: "文件名" },
  "PUT /institution-profile": { name: "单位名称" }
}

/** The fields that are lists, whose items a path numbers. */
const lists: ReadonlySet<string> = new Set([
  "attachments",
  "feedback",
  "items",
  "keywords",
  "proofs",
  "states",
  "statuses"
])

/**
 * A field's path in Chinese: the name of its last segment after the lists it sits
 * in, with its place in each, counted from one: `keywords.1` is 关键词（第 2 项）,
 * `items.0.proofs.2` 申报需求（第 1 项）的证明材料（第 3 项）. A path with a name not
 * known here (a property the API does not know, say) stays as it is. Given the
 * `endpoint` it was sent to (`POST /accounts`), a field whose name differs there is
 * named as it is there (`name` is 姓名 on `POST /accounts`, 会员名称 on `POST /members`).
 *
 * @since 0.1.0
 * @category messages
 */
export const zhField = (path: string, endpoint?: string): string => {
  if (path === "") return "输入"
  const onEndpoint = endpoint === undefined ? undefined : own(endpointFieldNames, endpoint)
  const named = onEndpoint === undefined ? undefined : own(onEndpoint, path)
  if (named !== undefined) return named
  const segments = path.split(".")
  const isPlace = (segment: string | undefined) => segment !== undefined && /^\d+$/.test(segment)
  const parts: Array<string> = []
  let known = true
  segments.forEach((segment, i) => {
    if (isPlace(segment)) {
      // A place only in a list the API takes: a digit key of an object is no place.
      if (!lists.has(segments[i - 1] ?? "") || segment.length > 6 || parts.length === 0) known = false
      else parts.push(`${parts.pop()}（第 ${Number(segment) + 1} 项）`)
      return
    }
    // Only the field itself and the lists it is in are named: `form.summary.mainProblem` is 主要问题.
    if (i < segments.length - 1 && !isPlace(segments[i + 1])) return
    const parent = segments.slice(0, i).findLast((s) => !isPlace(s))
    const name = own(fieldNames, `${parent}.${segment}`) ?? own(fieldNames, segment)
    if (name === undefined) known = false
    // A field named by its list alone: `items.0.demandId` is 申报需求（第 1 项）.
    else if (name !== "") parts.push(name)
  })
  return !known ? path : parts.length === 0 ? "输入" : parts.join("的")
}

/**
 * The Chinese message of each code.
 *
 * @since 0.1.0
 * @category messages
 */
export const zhCN: Readonly<Record<string, string>> = {
  // adapter
  "auth.required": "请先登录：此操作需要账号",
  "auth.invalid": "登录凭证无效或已过期，请重新登录",
  "body.too_large": "请求内容超过大小上限",
  "body.timeout": "上传内容长时间未送达，请重新上传",
  "body.invalid": "请求内容无法解析，请提交有效的 JSON",
  "body.encoding": "请求内容不是 UTF-8 编码：请以 UTF-8 提交 JSON",
  "body.charset": "请求内容按 UTF-8 读取：请以 UTF-8 编码提交 JSON，不要声明其他字符集",
  "body.too_deep": "请求内容嵌套层级过深",
  "body.too_many_values": "请求内容包含的值过多（至多 10,000 个）",
  "body.unexpected": "此操作不接受请求内容：请勿附带请求内容（或仅提交 {}）",
  "request.cross_site": "拒绝来自其他网站页面、仅凭浏览器自动携带的凭证（Cookie）发出的操作请求",
  "path.invalid": "请求路径无效：路径中不能含有 . 或 .. 段及编码的分隔符",
  "path.encoding": "请求路径无效：路径中的百分号编码无法按 UTF-8 解码",
  "body.content_type": "请求内容类型不受支持：请以 JSON（上传文件以 multipart/form-data）提交",
  "rate.limited": "操作过于频繁，请稍后再试",
  internal: "服务暂时不可用，请稍后再试",
  "outcome.unknown":
    "提交时与数据库的连接中断，无法确定操作是否已完成：请使用相同的 Idempotency-Key 重新提交以确认；未带 Idempotency-Key 的请求，请先确认操作未生效再重新提交",
  // core: actors and operators
  "actor.required": "此操作需要登录账号",
  "actor.unknown": "当前账号不存在或已停用",
  "operator.required": "仅平台运营人员可执行此操作",
  "list.member_required": "此列表仅对会员开放",
  "list.range_invalid": "截止日期范围的结束日期不能早于开始日期",
  "bootstrap.not_operator": "该账号已存在且不是运营人员",
  "member.not_institution": "只有技术转移机构可以登记",
  "account.self_deactivation": "运营人员不能停用自己的账号",
  "revision.stale": "该记录在您读取之后已被修改，请重新读取，在其当前内容上修改后再提交",
  "institution.not_registered": "仅已登记的技术转移机构可执行此操作",
  // demands
  "demand.publisher_kind": "仅企业和已登记的技术转移机构可以发布需求",
  "demand.field_unknown": "所属领域不在平台的领域分类中",
  "demand.service_mode_unknown": "所选服务方式不是平台提供的服务方式",
  "demand.service_mode_not_allowed": "该服务方式仅限指定类型的发布方选择（如机构自行服务仅限技术转移机构）",
  "demand.manager_required": "技术转移机构发布需求须指定技术经理人",
  "demand.manager_unknown": "技术经理人不属于本机构",
  "demand.manager_inactive": "所指定的技术经理人已停用，需求须改选其他技术经理人",
  "demand.manager_not_allowed": "只有技术转移机构可以指定技术经理人",
  "demand.client_not_allowed": "只有技术转移机构可以代委托企业发布需求",
  "demand.deadline_too_soon": "应答截止日期过早，短于平台要求的最短应答期限",
  "demand.deadline_too_late": "应答截止日期过晚，超出平台允许的最长应答期限",
  "demand.not_editable": "只有草稿或被驳回的需求可以修改",
  "demand.not_submittable": "只有草稿或被驳回的需求可以提交审核",
  "demand.not_pending": "只有待审核的需求可以审核",
  "demand.not_manager": "只有需求发布方可以管理此需求",
  "demand.client_reads_only": "委托企业可以查看但不能操作委托发布的需求",
  "commission.not_active": "该需求所依据的委托已不再有效",
  "commission.end_not_active": "只有生效中的委托可以终止",
  "demand.client_not_commissioning": "本机构没有来自该企业的有效委托",
  // responses
  "respond.member_required": "应答须由会员提交",
  "respond.own_demand": "不能应答自己发布或委托发布的需求",
  "respond.not_published": "该需求当前不在发布状态，不能应答",
  "respond.mode_closed": "该需求的服务方式不接受应答",
  "respond.intake_closed": "已有应答被采纳，需求不再接收新的应答",
  "respond.deadline_passed": "应答已截止",
  "respond.already_responded": "您在本轮已有有效应答",
  "respond.selection_ended": "本轮选标已结束，不再接收新的应答",
  "response.not_responder": "只有应答方可以修改或撤回应答",
  "response.decided": "应答已有结果，不能再修改或撤回",
  "response.earlier_round": "之前轮次的应答只读，不能修改或撤回",
  "response.deadline_passed": "应答已截止，不能再修改",
  // consultation
  "consult.member_required": "咨询须由会员发起",
  "consult.own_demand": "不能咨询自己发布或委托发布的需求",
  "consult.not_party": "只有咨询双方可以留言",
  "consult.not_published": "需求发布期间才可以咨询",
  "consult.mode_closed": "该需求的服务方式不接受应答，除本轮应答方外不接受咨询",
  // selection
  "adopt.not_published": "需求未处于发布状态，不能采纳",
  "adopt.earlier_round": "之前轮次的应答只读，不能采纳",
  "adopt.single_adoption": "本平台每轮只采纳一个应答",
  "adopt.not_submitted": "该应答当前不能被采纳",
  "adopt.selection_over": "选标已结束",
  "selection.already_over": "选标已经结束",
  "selection.intake_open": "应答截止或采纳应答之后才能结束选标",
  "selection.mode_closed": "该需求的服务方式不接受应答，没有选标",
  "feedback.response_unknown": "该应答不是本轮待决定的应答",
  "feedback.response_twice": "同一应答不能重复填写未采纳原因",
  "feedback.not_applicable": "已采纳或已撤回的应答不能填写未采纳原因",
  "feedback.already_sent": "未采纳原因已通知应答方，不能再修改",
  "feedback.earlier_round": "之前轮次的应答只读，不能填写未采纳原因",
  // service log and outcome
  "log.not_published": "只能为已发布的需求记录服务日志",
  "log.date_future": "服务日志日期不能晚于今天",
  "outcome.not_published": "只有已发布的需求可以更新需求状态",
  "outcome.already_unsolved": "该需求已记录为未解决",
  "outcome.fee_required": "技术转移机构发布的需求标记为已解决时须填写服务费用",
  "outcome.fee_not_applicable": "企业自行发布的需求标记为已解决时不填写服务费用",
  "restart.not_published": "只有已发布的需求可以修改并重启众包流程",
  "restart.before_deadline": "应答截止后才能修改需求并重启众包流程",
  "restart.not_unsolved": "须先将需求状态更新为未解决，才能修改需求并重启众包流程",
  "restart.client_changed": "已编号的需求不能更换委托企业，请为其他企业发布新的需求",
  // commissions
  "commission.enterprise_only": "只有企业可以委托技术转移机构",
  "commission.institution_decides": "只有受托机构可以接受或拒绝委托",
  "commission.not_requested": "该委托已处理",
  "commission.open_exists": "双方之间已有待处理或进行中的委托",
  // rewards
  "reward.institution_only": "只有已登记的技术转移机构可以申报奖励",
  "reward.institution_acts": "只有申报机构可以修改其申报",
  "reward.round_closed": "该申报批次已关闭",
  "reward.deadline_passed": "该批次申报已截止",
  "reward.deadline_past": "申报截止日期不能早于今天",
  "reward.period_invalid": "统计期结束日期不能早于统计期开始日期",
  "reward.deadline_before_period": "申报截止日期不能早于统计期的开始日期",
  "reward.demand_twice": "同一需求重复列出",
  "reward.demand_claimed": "该需求已列入本机构另一批次已提交或已通过的申报",
  "reward.demand_not_own": "不是本机构发布的需求",
  "reward.demand_not_solved": "该需求尚未标记为已解决",
  "reward.demand_outside_period": "该需求的解决日期不在本批次的统计期内",
  "reward.proof_unknown": "证明材料须为本机构上传的文件",
  "reward.application_exists": "本机构在该批次已有申报",
  "reward.not_editable": "当前状态的申报不能修改",
  "reward.not_submittable": "当前状态的申报不能提交",
  "reward.not_submitted": "只有已提交的申报可以审核",
  "reward.profile_missing": "请先填写单位基本信息再提交申报",
  // files
  "file.member_required": "文件须由会员账号上传",
  "file.too_large": "文件超过大小限制",
  "file.empty": "文件为空",
  "file.type_not_allowed": "文件类型不允许：仅支持 PDF、图片（PNG、JPEG、GIF、WebP）和办公文档",
  "attachment.unknown": "附件须为本会员上传的文件",
  "attachment.twice": "同一文件重复列出",
  // notifications, statistics, paging, idempotency, concurrency
  "notification.not_dead": "只有发送失败的通知可以重新发送",
  "statistics.period_invalid": "统计期的结束日期不能早于开始日期",
  "statistics.total_too_large": "该统计期的金额合计超出可精确表示的范围，请缩短统计期",
  "page.cursor_invalid": "分页游标无效：请使用本列表按同一排序返回的游标",
  "audit.scope_required": "请指定要查看的需求或会员；只有平台运营人员可查看全部操作记录",
  "idempotency.key_invalid": "幂等键须为 1–255 个可见 ASCII 字符",
  "idempotency.key_reused": "该幂等键已用于另一个不同的请求",
  "idempotency.result_unreadable":
    "该幂等键下保存的首次结果已无法读取；该请求已执行，请查看其结果，勿重复提交",
  concurrent_change: "该内容已被他人修改，请刷新后重试",
  "server.starting": "服务正在启动（数据库迁移中），请几秒后重试",
  "server.stopping": "服务正在停止，请在新的连接上重新发送请求",
  "store.unavailable": "数据库暂时无法连接，本次操作未执行，请稍后重试"
}

/** A size as core writes it (`2,097,153 bytes`, `20 MiB`, `512 KiB`), in Chinese. */
const zhBytes = (size: string) =>
  size
    .replace(/ bytes$/, " 字节")
    .replace(/ MiB$/, " MB")
    .replace(/ KiB$/, " KB")

/**
 * A size in bytes as the Chinese of a limit reads it: whole MB or KB (of 1,024) where
 * it is one, the bytes otherwise.
 *
 * @since 0.1.0
 * @category messages
 */
export const zhSize = (bytes: number): string =>
  bytes >= 2 ** 20 && bytes % 2 ** 20 === 0
    ? `${bytes / 2 ** 20} MB`
    : bytes >= 1024 && bytes % 1024 === 0
      ? `${bytes / 1024} KB`
      : `${bytes.toLocaleString("en-US")} 字节`

const publisherKinds: Readonly<Record<string, string>> = {
  enterprise: "企业",
  transfer_institution: "技术转移机构"
}

/**
 * The Chinese of refusals whose English message carries the figure to mend the input
 * by (the limit, the earliest or latest date allowed, today's date, a name): read
 * back from core's wording, the code's plain message when it does not match.
 */
const zhWithFigures: Readonly<Record<string, readonly [RegExp, (m: RegExpExecArray) => string]>> = {
  "file.too_large": [
    /the file is (.+); the limit is (.+)$/,
    (m) => `文件大小为 ${zhBytes(m[1]!)}，超过上限 ${zhBytes(m[2]!)}`
  ],
  "demand.deadline_too_soon": [
    /must be on or after (\d{4}-\d{2}-\d{2})/,
    (m) => `应答截止日期过早：最早为 ${m[1]}`
  ],
  "demand.deadline_too_late": [
    /must be on or before (\d{4}-\d{2}-\d{2}) \(at most (\d+) days ahead\)/,
    (m) => `应答截止日期过晚：最晚为 ${m[1]}（自今日起不超过 ${m[2]} 天）`
  ],
  "log.date_future": [
    /on or before today, (\d{4}-\d{2}-\d{2})/,
    (m) => `服务日志日期不能晚于今天（${m[1]}）`
  ],
  "reward.deadline_past": [
    /must be on or after (\d{4}-\d{2}-\d{2})$/,
    (m) => `申报截止日期不能早于今天（${m[1]}）`
  ],
  "reward.deadline_before_period": [
    /the period's start, (\d{4}-\d{2}-\d{2})/,
    (m) => `申报截止日期不能早于统计期的开始日期（${m[1]}）`
  ],
  "reward.deadline_passed": [/due by (\d{4}-\d{2}-\d{2})/, (m) => `该批次申报已于 ${m[1]} 截止`],
  "adopt.selection_over": [
    /selection ended at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) /,
    (m) => `选标已结束（${m[1]}）`
  ],
  "selection.intake_open": [
    /taken until (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) /,
    (m) => `应答截止（${m[1]}）或采纳应答之后才能结束选标`
  ],
  "reward.demand_outside_period": [
    /solved on (\d{4}-\d{2}-\d{2}), outside the round's period (\d{4}-\d{2}-\d{2}) – (\d{4}-\d{2}-\d{2})/,
    (m) => `该需求解决于 ${m[1]}，不在本批次的统计期 ${m[2]} 至 ${m[3]} 内`
  ],
  "body.invalid": [
    /the Content-Length header is not a number of bytes/,
    () => "请求头 Content-Length 须为字节数"
  ],
  "list.range_invalid": [
    /ends on or after it starts \((\d{4}-\d{2}-\d{2})\)/,
    (m) => `截止日期范围的结束日期不能早于开始日期（${m[1]}）`
  ],
  "reward.demand_claimed": [
    /application to the round (.+)$/,
    (m) => `该需求已列入本机构在“${m[1]}”${m[1]!.endsWith("批次") ? "" : "批次"}已提交或已通过的申报`
  ],
  "demand.service_mode_not_allowed": [
    /serviceMode: (.+) \([a-z0-9_]+\) is chosen by ([a-z_ ]+) publishers only/,
    (m) =>
      `服务方式“${m[1]}”仅限${m[2]!
        .split(" or ")
        .map((kind) => publisherKinds[kind] ?? kind)
        .join("或")}选择`
  ],
  "adopt.not_submitted": [
    /the response is ([a-z_]+)$/,
    (m) =>
      m[1] === "adopted"
        ? "该应答已采纳，不能重复采纳"
        : m[1] === "not_adopted"
          ? "本轮选标已结束，该应答未被采纳，不能再采纳"
          : `该应答${responseStatus(m[1]!)}，不能采纳`
  ],
  "response.decided": [
    /the response is ([a-z_]+)$/,
    (m) => `该应答${responseStatus(m[1]!)}，不能再修改或撤回`
  ],
  "store.unavailable": [
    /try again in (\d+) s$/,
    (m) => `数据库暂时无法连接，本次操作未执行，请 ${m[1]} 秒后重试`
  ]
}

/** A response's status as a refusal states it: 已采纳, or 当前状态为“…” for one the table does not name. */
const responseStatus = (status: string) => {
  const name = own(Labels.zhCN.responseStatus, status)
  return name === undefined ? `当前状态为“${status}”` : name
}

/** What core adds to a refusal at approval (R13): the operator rejects the demand instead. */
const atApproval = "; reject the demand so it can be corrected"

/**
 * The Chinese of a refusal other than `input.invalid`: with the figures of its
 * English `message` where it has them, else the code's own; at approval, with the
 * hint to reject.
 */
const zhRefusal = (code: string, message: string): string | undefined => {
  let zh: string | undefined
  if (Object.hasOwn(zhWithFigures, code)) {
    const [pattern, withFigures] = zhWithFigures[code]!
    const m = pattern.exec(message)
    if (m !== null) zh = withFigures(m)
  }
  zh ??= own(zhCN, code)
  if (zh === undefined) return undefined
  return message.endsWith(atApproval) ? `${zh}；请驳回该需求以便修改` : zh
}

/**
 * A refusal's Chinese after the Chinese name of the field it names, unless it names
 * the field already (and the field is not in a list, whose place it would lose).
 */
const onField = (field: string | undefined, zh: string, endpoint: string | undefined): string => {
  if (field === undefined) return zh
  const name = zhField(field, endpoint)
  return zh.includes(name) && !name.includes("（") ? zh : `${name}：${zh}`
}

/** Core's own wordings of what an input must be (and the API's own few), in Chinese. */
const coreDetails: Readonly<Record<string, string>> = {
  "a valid phone number": "须为有效的电话号码",
  "a mobile number that can receive SMS": "须为能接收短信的手机号码",
  "a valid phone number, without an extension": "须为有效的电话号码，不含分机号",
  "a mobile number that can receive SMS, without an extension": "须为能接收短信的手机号码，不含分机号",
  "a file name without path separators or control characters": "不能含路径分隔符或控制字符",
  "an application lists at least one solved demand": "至少列出一个已解决的需求",
  "an approved amount is at least 1 fen": "至少为 1 分",
  "an IANA time zone name": "须为 IANA 时区名称（如 Asia/Shanghai）",
  "18 characters of 0-9 and A-Y without I, O, S, V, Z":
    "须为 18 位，由数字和除 I、O、S、V、Z 外的大写字母组成",
  "the check character (the 18th) does not match the code": "校验码（第 18 位）不正确",
  "a bank account number of 8–32 digits": "须为 8–32 位数字",
  "each demand needs at least one proof material": "至少需要一份",
  "an amount of money must be ≥ 0": "金额不能为负",
  "a keyword listed once": "与前面的关键词重复",
  "an amount in fen: a whole number from 0 to 9007199254740991":
    "金额以分计，须为 0 到 9007199254740991 之间的整数",
  "1–255 visible ASCII characters": "须为 1–255 个可见 ASCII 字符",
  '`*` or entity tags: `"<revision>"`, separated by commas':
    '须为 * 或以英文逗号分隔、带英文双引号的版本号（"<revision>"）',
  "at most 20 entity tags": "最多 20 个版本号",
  "`*`, the only value taken here": "此处只接受 *",
  "a date as YYYY-MM-DD": "日期格式须为 YYYY-MM-DD",
  "a date that exists in the calendar": "日期不存在",
  "an id without control characters": "标识不能含控制字符",
  "an integer in decimal digits": "须为十进制整数",
  "a multipart/form-data body with one part named `file`":
    "请以 multipart/form-data 上传，且只含一个名为 file 的部分",
  "a part's headers could not be read; send a file name with non-ASCII characters as `filename*=UTF-8''…` or in the field `name`":
    "无法读取文件部分的头信息：含中文等非 ASCII 字符的文件名请以 filename*=UTF-8''… 或 name 字段提交"
}

const typeNames: Readonly<Record<string, string>> = {
  string: "文本",
  number: "数字",
  boolean: "布尔值（true 或 false）"
}

/** effect/Schema's wordings (its default messages) and core's parametrised ones, in Chinese. */
const detailPatterns: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => string]> = [
  [/^is missing$/, () => "必填"],
  [/^is unexpected$/, () => "不是可接受的字段"],
  [
    /^is unexpected, expected: (.*)$/,
    (m) => `不是可接受的字段（可用的字段：${m[1]!.replaceAll('"', "").split(" | ").join("、")}）`
  ],
  [/^Expected a string at least (\d+) character\(s\) long(?:,|$)/, (m) => `至少 ${m[1]} 个字符`],
  [/^Expected a string at most (\d+) character\(s\) long(?:,|$)/, (m) => `最多 ${m[1]} 个字符`],
  [/^Expected an array of at least (\d+) item\(s\)(?:,|$)/, (m) => `至少 ${m[1]} 项`],
  [/^Expected an array of at most (\d+) item\(s\)(?:,|$)/, (m) => `最多 ${m[1]} 项`],
  [/^Expected a number between (\S+) and (\S+)(?:,|$)/, (m) => `须为 ${m[1]} 到 ${m[2]} 之间的数`],
  [/^Expected a number greater than or equal to (\S+)(?:,|$)/, (m) => `不能小于 ${m[1]}`],
  [/^Expected a number less than or equal to (\S+)(?:,|$)/, (m) => `不能大于 ${m[1]}`],
  [/^Expected a positive number(?:,|$)/, () => "须为正数"],
  [/^Expected a non-negative number(?:,|$)/, () => "不能为负数"],
  [/^Expected an integer(?:,|$)/, () => "须为整数"],
  [/^Expected an object$/, () => "须为对象"],
  [/^Expected an array$/, () => "须为数组"],
  [/^Expected a string with no leading or trailing whitespace(?:,|$)/, () => "首尾不能有空白"],
  [/^Expected a string matching the pattern /, () => "格式不正确"],
  [/^Expected (string|number|boolean)(?:, actual |$)/, (m) => `须为${typeNames[m[1]!]}`],
  [
    /^Expected ("[^"]*"(?: \| "[^"]*")+)(?:, actual |$)/,
    (m) => `须为以下取值之一：${m[1]!.replaceAll('"', "").split(" | ").join("、")}`
  ],
  [/^Expected ".*"(?:, actual |$)/, () => "不是允许的取值"],
  [/^an integer from (\d+) to (\d+) in decimal digits$/, (m) => `须为 ${m[1]} 到 ${m[2]} 之间的十进制整数`],
  [/^Unable to decode .* into a DateTime\.Utc$/, () => "须为 ISO 8601 时间（如 2026-05-04T02:00:00Z）"],
  [/^Unable to decode .* into a number$/, () => "须为数字"],
  [/^Expected [A-Z][A-Za-z]*(?:, actual |$)/, () => "类型不正确"],
  [
    /^send one part named `file`; this body has (\d+)$/,
    (m) => `须只有一个名为 file 的部分（此请求有 ${m[1]} 个）`
  ],
  [
    /^send at most one field `name`; this body has (\d+)$/,
    (m) => `最多一个名为 name 的字段（此请求有 ${m[1]} 个）`
  ],
  [
    /^between (\d+) and (\d+) characters(, at least one visible)?, without control characters(, tabs or line breaks)?$/,
    (m) =>
      `须为 ${m[1]}–${m[2]} 个字符${m[3] === undefined ? "" : "，至少一个可见字符"}，不含控制字符${m[4] === undefined ? "" : "、制表符或换行"}`
  ]
]

/** A table's entry for `key`, its own keys only (a detail or code may read `toString`). */
const own = <V>(table: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined

/**
 * The Chinese of an input error's detail (what the field must be), or `undefined`
 * for a wording not known here.
 */
const zhDetail = (detail: string): string | undefined => {
  const known = own(coreDetails, detail)
  if (known !== undefined) return known
  for (const [pattern, zh] of detailPatterns) {
    const m = pattern.exec(detail)
    if (m !== null) return zh(m)
  }
  return undefined
}

/**
 * The API's own choices that are no model's values: the orders and groupings a list
 * or the statistics take, and whose demands "my demands" lists.
 */
const listChoices: ReadonlyArray<Readonly<Record<string, string>>> = [
  { created: "按创建时间", published: "按发布时间", deadline: "按应答截止日期" },
  { field: "按所属领域", region: "按所在地区" },
  { publisher: "本会员发布的", client: "受托机构代本会员发布的", any: "全部" }
]

/** Every table of names of `Labels.zhCN`, and the API's own choices. */
const valueNames: ReadonlyArray<Readonly<Record<string, string>>> = [
  ...Object.values(Labels.zhCN),
  ...listChoices
]

/**
 * A refused choice among a model's values, each value followed by its Chinese name
 * (`not_relevant（方案与需求不相关）`): the values are what a client sends, the names
 * what its user reads. The model is the one table of `Labels.zhCN` that holds every
 * value of the choice; where none or several do, the values stay as they are.
 */
const namedChoice = (detail: string): string | undefined => {
  const choice = /^Expected ("[^"]*"(?: \| "[^"]*")+)(?:, actual |$)/.exec(detail)
  if (choice === null) return undefined
  const values = choice[1]!.replaceAll('"', "").split(" | ")
  const holding = valueNames.filter((names) => values.every((v) => Object.hasOwn(names, v)))
  if (holding.length !== 1) return undefined
  const names = holding[0]!
  return `须为以下取值之一：${values.map((v) => `${v}（${names[v]}）`).join("、")}`
}

/**
 * The message of an error in `language`. In Chinese, the field a refusal names is
 * named in Chinese ({@link zhField}; the answer's `field` keeps its path);
 * `input.invalid` says what the field must be: effect/Schema's and core's wordings
 * are translated, any other detail is kept in parentheses; a refusal that states a
 * limit, a date or a name (a file's size, a deadline's earliest or latest date,
 * today, a round) states it in Chinese too; `<entity>.not_found` is built from the
 * field it names (技术经理人不存在或无权查看), else from the entity. The `endpoint` the
 * request was sent to (`POST /accounts`) names the fields whose name differs there
 * ({@link zhField}).
 *
 * @since 0.1.0
 * @category messages
 */
export const translate = (
  language: Language,
  error: { readonly code: string; readonly message: string; readonly field?: string | undefined },
  endpoint?: string
): string => {
  if (language === "en") return error.message
  if (error.code === "input.invalid") {
    const field = error.field ?? "input"
    const detail = error.message.startsWith(`${field}: `)
      ? error.message.slice(field.length + 2)
      : error.message
    const zh = namedChoice(detail) ?? zhDetail(detail)
    return `${zhField(field, endpoint)}：${zh === undefined ? `输入无效（${detail}）` : zh}`
  }
  const known = zhRefusal(error.code, error.message)
  if (known !== undefined) return onField(error.field, known, endpoint)
  if (error.code === "route.not_found") return "请求的接口不存在"
  const notFound = /^(.+)\.not_found$/.exec(error.code)
  if (notFound) {
    // What a field refers to is named by the field (技术经理人, not 会员), where it is known.
    const named = error.field === undefined ? undefined : zhField(error.field, endpoint)
    return named !== undefined && named !== error.field
      ? `${named}不存在或无权查看`
      : onField(error.field, `${own(entities, notFound[1]!) ?? notFound[1]}不存在或无权查看`, endpoint)
  }
  return error.message
}
