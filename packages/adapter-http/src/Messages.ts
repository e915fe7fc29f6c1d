/**
 * The language of error messages. Core writes its messages in English and gives
 * every error a stable `code`; the API answers in the request's language, chosen from
 * `Accept-Language` (q-values honoured): `zh-CN` by default, `en` on request. A
 * Chinese message comes from the table below by code; a code without an entry
 * keeps core's English message, so a new rule never answers with nothing.
 *
 * @since 0.1.0
 */

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
  audit_trail: "该需求的操作日志",
  response: "应答",
  thread: "咨询",
  member: "会员",
  commission: "委托",
  institution: "技术转移机构",
  reward_round: "奖励申报批次",
  reward_application: "奖励申报",
  profile: "机构基本信息",
  file: "文件",
  notification: "通知",
  route: "接口"
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
  "body.too_large": "请求内容过大",
  "body.timeout": "上传内容长时间未送达，请重新上传",
  "body.invalid": "请求内容无法解析，请提交有效的 JSON",
  "body.encoding": "请求内容不是 UTF-8 编码：请以 UTF-8 提交 JSON",
  "body.charset": "请求内容按 UTF-8 读取：请以 UTF-8 编码提交 JSON，不要声明其他字符集",
  "body.too_deep": "请求内容嵌套层级过深",
  "body.too_many_values": "请求内容包含的值过多（至多 10,000 个）",
  "body.unexpected": "此操作不接受请求内容：请不带内容（或以 {}）提交",
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
  "institution.not_registered": "仅已登记的技术转移机构可执行此操作",
  // demands
  "demand.publisher_kind": "仅企业和已登记的技术转移机构可以发布需求",
  "demand.field_unknown": "所属领域不在平台的领域分类中",
  "demand.service_mode_unknown": "服务方式不在平台的服务方式中",
  "demand.service_mode_not_allowed": "该服务方式仅限指定类型的发布方选择（如机构自行服务仅限技术转移机构）",
  "demand.manager_required": "技术转移机构发布需求须指定技术经理人",
  "demand.manager_unknown": "技术经理人不属于本机构",
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
  "respond.own_demand": "不能应答本单位发布或委托发布的需求",
  "respond.not_published": "需求未发布，不能应答",
  "respond.mode_closed": "该需求的服务方式不接受应答",
  "respond.intake_closed": "已有应答被采纳，需求不再接收新的应答",
  "respond.deadline_passed": "应答已截止",
  "respond.already_responded": "本单位在本轮已有有效应答",
  "respond.selection_ended": "本轮选择已结束，不再接收新的应答",
  "response.not_responder": "只有应答方可以修改或撤回应答",
  "response.decided": "应答已有结果，不能再修改",
  "response.earlier_round": "之前轮次的应答只读，不能修改或撤回",
  "response.deadline_passed": "应答已截止，不能再修改",
  // consultation
  "consult.member_required": "咨询须由会员发起",
  "consult.own_demand": "不能咨询本单位发布或委托发布的需求",
  "consult.not_party": "只有咨询双方可以留言",
  "consult.not_published": "需求发布期间才可以咨询",
  "consult.mode_closed": "该需求的服务方式不接受应答和咨询",
  // selection
  "adopt.not_published": "需求未处于发布状态，不能采纳",
  "adopt.earlier_round": "之前轮次的应答只读，不能采纳",
  "adopt.single_adoption": "本平台每轮只采纳一个应答",
  "adopt.not_submitted": "该应答当前不能被采纳",
  "adopt.selection_over": "选标期已结束",
  "selection.already_over": "选标已经结束",
  "selection.intake_open": "应答截止或采纳应答之后才能结束选标",
  "selection.mode_closed": "该需求的服务方式不接受应答，没有选标",
  "feedback.response_unknown": "该应答不是本轮待决定的应答",
  "feedback.response_twice": "同一应答重复给出反馈",
  "feedback.not_applicable": "已采纳或已撤回的应答不能填写未采纳原因",
  "feedback.already_sent": "未采纳原因已通知应答方，不能再修改",
  "feedback.earlier_round": "之前轮次的应答只读，不能填写未采纳原因",
  // service log and outcome
  "log.not_published": "只能为已发布的需求记录服务日志",
  "log.date_future": "服务日志的日期不能晚于今天",
  "outcome.not_published": "需求未处于发布状态",
  "outcome.already_unsolved": "该需求已记录为未解决",
  "outcome.fee_required": "技术转移机构的需求标记为已解决时须填写服务费用",
  "outcome.fee_not_applicable": "企业自行发布的需求标记为已解决时不填写服务费用",
  "restart.not_published": "只有已发布的需求可以重新启动",
  "restart.before_deadline": "应答截止后才能修改并重新启动需求",
  "restart.not_unsolved": "须先将需求状态更新为未解决，才能修改并重新启动",
  "restart.client_changed": "已编号的需求不能更换委托企业，请为其他企业发布新的需求",
  // commissions
  "commission.enterprise_only": "只有企业可以委托技术转移机构",
  "commission.institution_decides": "由受托机构接受或拒绝委托",
  "commission.not_requested": "该委托已处理",
  "commission.open_exists": "双方之间已有待处理或进行中的委托",
  // rewards
  "reward.institution_only": "只有已登记的技术转移机构可以申报奖励",
  "reward.institution_acts": "只有申报机构可以修改其申报",
  "reward.round_closed": "该申报批次已关闭",
  "reward.deadline_passed": "该批次申报已截止",
  "reward.deadline_past": "申报截止日期不能早于今天",
  "reward.period_invalid": "统计期的结束日期不能早于开始日期",
  "reward.deadline_before_period": "申报截止日期不能早于统计期的开始日期",
  "reward.demand_twice": "同一需求重复列出",
  "reward.demand_claimed": "该需求已列入本机构另一批次已提交或已通过的申报",
  "reward.demand_not_own": "不是本机构发布的需求",
  "reward.demand_not_solved": "该需求尚未解决",
  "reward.demand_outside_period": "该需求的解决日期不在本批次的统计期内",
  "reward.proof_unknown": "证明材料须为本机构上传的文件",
  "reward.application_exists": "本机构在该批次已有申报",
  "reward.not_editable": "当前状态的申报不能修改",
  "reward.not_submittable": "当前状态的申报不能提交",
  "reward.not_submitted": "只有已提交的申报可以审核",
  "reward.profile_missing": "请先填写机构基本信息再提交申报",
  // files
  "file.member_required": "文件须由会员账号上传",
  "file.too_large": "文件超过大小限制",
  "file.empty": "文件为空",
  "file.type_not_allowed": "文件类型不允许：仅支持 PDF、图片（PNG、JPEG、GIF、WebP）和办公文档",
  "attachment.unknown": "附件须为本单位上传的文件",
  "attachment.twice": "同一文件重复列出",
  // notifications, statistics, paging, idempotency, concurrency
  "notification.not_dead": "只有投递失败的通知可以重新发送",
  "statistics.period_invalid": "统计期的结束日期不能早于开始日期",
  "statistics.total_too_large": "该统计期的金额合计超出可精确表示的范围，请缩短统计期",
  "page.cursor_invalid": "分页游标无效：请使用本列表按同一排序返回的游标",
  "audit.scope_required": "请指定需求（demandId）或本单位（memberId）：只有运营方可查看全部日志",
  "idempotency.key_invalid": "幂等键须为 1–255 个可见 ASCII 字符",
  "idempotency.key_reused": "该幂等键已用于另一个不同的请求",
  concurrent_change: "资源已被他人同时修改，请刷新后重试",
  "server.starting": "服务正在启动（数据库迁移中），请几秒后重试",
  "server.stopping": "服务正在停止，请在新的连接上重新发送请求",
  "store.unavailable": "数据库暂时无法连接，本次操作未执行，请稍后重试"
}

const zhBytes = (size: string) => size.replace(" bytes", " 字节")

/**
 * The Chinese of refusals whose English message carries the figure to mend the input
 * by (the limit, the earliest or latest date allowed, today's date): read back from
 * core's wording, the code's plain message when it does not match.
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
    (m) => `应答截止日期过晚：最晚为 ${m[1]}（至多 ${m[2]} 天后）`
  ],
  "log.date_future": [
    /on or before today, (\d{4}-\d{2}-\d{2})/,
    (m) => `服务日志的日期不能晚于今天（${m[1]}）`
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
    (m) => `选标期已结束（${m[1]}）`
  ],
  "selection.intake_open": [
    /taken until (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) /,
    (m) => `应答截止（${m[1]}）或采纳应答之后才能结束选标`
  ],
  "reward.demand_outside_period": [
    /solved on (\d{4}-\d{2}-\d{2}), outside the round's period (\d{4}-\d{2}-\d{2}) – (\d{4}-\d{2}-\d{2})/,
    (m) => `该需求解决于 ${m[1]}，不在本批次的统计期 ${m[2]} 至 ${m[3]} 内`
  ]
}

/** What core adds to a refusal at approval (R13): the operator rejects the demand instead. */
const atApproval = "; reject the demand so it can be corrected"

/** The Chinese of `code`'s refusal with the figures of its English `message`, if it has them. */
const zhFigures = (code: string, message: string): string | undefined => {
  if (!Object.hasOwn(zhWithFigures, code)) return undefined
  const [pattern, zh] = zhWithFigures[code]!
  const m = pattern.exec(message)
  if (m === null) return undefined
  return message.endsWith(atApproval) ? `${zh(m)}；请驳回该需求以便修改` : zh(m)
}

/** Core's own wordings of what an input must be (and the API's own few), in Chinese. */
const coreDetails: Readonly<Record<string, string>> = {
  "a valid phone number": "须为有效的电话号码",
  "a mobile number that can receive SMS": "须为能接收短信的手机号码",
  "a valid phone number, without an extension": "须为有效的电话号码，不含分机号",
  "a mobile number that can receive SMS, without an extension": "须为能接收短信的手机号码，不含分机号",
  "a file name without path separators or control characters": "文件名不能含路径分隔符或控制字符",
  "an application lists at least one solved demand": "申报须至少列出一个已解决的需求",
  "an approved amount is at least 1 fen": "核定金额至少为 1 分",
  "an IANA time zone name": "须为 IANA 时区名称（如 Asia/Shanghai）",
  "18 characters of 0-9 and A-Y without I, O, S, V, Z":
    "须为 18 位，由数字和除 I、O、S、V、Z 外的大写字母组成",
  "the check character (the 18th) does not match the code": "校验码（第 18 位）不正确",
  "a bank account number of 8–32 digits": "银行账号须为 8–32 位数字",
  "each demand needs at least one proof material": "每个需求至少需要一份证明材料",
  "an amount of money must be ≥ 0": "金额不能为负",
  "a keyword listed once": "关键词不能重复",
  "an amount in fen: a whole number from 0 to 9007199254740991":
    "金额以分计，须为 0 到 9007199254740991 之间的整数",
  "1–255 visible ASCII characters": "须为 1–255 个可见 ASCII 字符",
  "a date as YYYY-MM-DD": "日期格式须为 YYYY-MM-DD",
  "a date that exists in the calendar": "日期不存在",
  "an id without control characters": "标识不能含控制字符",
  "an integer in decimal digits": "须为十进制整数"
}

const typeNames: Readonly<Record<string, string>> = {
  string: "文本",
  number: "数字",
  boolean: "true 或 false"
}

/** effect/Schema's wordings (its default messages) and core's parametrised ones, in Chinese. */
const detailPatterns: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => string]> = [
  [/^is missing$/, () => "必填"],
  [/^is unexpected$/, () => "不允许此项"],
  [
    /^is unexpected, expected: (.*)$/,
    (m) => `不允许此项（可用的字段：${m[1]!.replaceAll('"', "").split(" | ").join("、")}）`
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
    /^between (\d+) and (\d+) characters(, at least one visible)?, without control characters$/,
    (m) => `须为 ${m[1]}–${m[2]} 个字符${m[3] === undefined ? "" : "，至少一个可见字符"}，不含控制字符`
  ]
]

/** A table's entry for `key`, its own keys only (a detail or code may read `toString`). */
const own = (table: Readonly<Record<string, string>>, key: string): string | undefined =>
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
 * The message of an error in `language`. `input.invalid` names the field and, in
 * Chinese, what it must be: effect/Schema's and core's wordings are translated, any
 * other detail is kept in parentheses; a refusal that states a limit or a date (a
 * file's size, a deadline's earliest or latest date, today) states it in Chinese too;
 * `<entity>.not_found` is built from the entity.
 *
 * @since 0.1.0
 * @category messages
 */
export const translate = (
  language: Language,
  error: { readonly code: string; readonly message: string; readonly field?: string | undefined }
): string => {
  if (language === "en") return error.message
  if (error.code === "input.invalid") {
    const field = error.field ?? "input"
    const detail = error.message.startsWith(`${field}: `)
      ? error.message.slice(field.length + 2)
      : error.message
    const zh = zhDetail(detail)
    return zh === undefined ? `${field}：输入无效（${detail}）` : `${field}：${zh}`
  }
  const known = zhFigures(error.code, error.message) ?? own(zhCN, error.code)
  if (known !== undefined) return error.field === undefined ? known : `${error.field}：${known}`
  const notFound = /^(.+)\.not_found$/.exec(error.code)
  if (notFound) {
    const what = `${own(entities, notFound[1]!) ?? notFound[1]}不存在或无权查看`
    return error.field === undefined ? what : `${error.field}：${what}`
  }
  return error.message
}
