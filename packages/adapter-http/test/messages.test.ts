import { assert, describe, it } from "@effect/vitest"
import {
  Deadline,
  Demand,
  Errors,
  FileStore,
  Idempotency,
  Ids,
  Member,
  Money,
  Response,
  Reward,
  Settings,
  Text
} from "@zhongbao/core"
import { Either, ParseResult, Schema } from "effect"
import { Messages } from "../src/index.js"
import { coreCodes } from "./coreCodes.js"

/** Latin words a Chinese message may keep: names of formats, example values, the letters a credit code leaves out. */
const kept = new Set([
  "ISO",
  "IANA",
  "ASCII",
  "YYYY",
  "MM",
  "DD",
  "Asia",
  "Shanghai",
  "true",
  "false",
  "T",
  "Z",
  "I",
  "O",
  "S",
  "V"
])

/** Each schema with an input it refuses: effect/Schema's own checks and core's. */
const refusals: ReadonlyArray<readonly [string, Schema.Schema.Any, unknown]> = [
  ["missing", Schema.Struct({ title: Schema.String }), {}],
  ["not a string", Schema.String, 1],
  ["not a number", Schema.Number, "1"],
  ["not a boolean", Schema.Boolean, "yes"],
  ["too short", Schema.String.pipe(Schema.minLength(2)), "a"],
  ["too long", Schema.String.pipe(Schema.maxLength(2)), "abc"],
  ["too few items", Schema.Array(Schema.String).pipe(Schema.minItems(1)), []],
  ["too many items", Schema.Array(Schema.String).pipe(Schema.maxItems(1)), ["a", "b"]],
  ["out of range", Schema.Number.pipe(Schema.between(1, 100)), 1000],
  ["below a minimum", Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), 0],
  ["above a maximum", Schema.Number.pipe(Schema.lessThanOrEqualTo(1)), 2],
  ["not positive", Schema.Number.pipe(Schema.positive()), -1],
  ["negative", Schema.Int.pipe(Schema.nonNegative()), -1],
  ["not an integer", Schema.Int, 1.5],
  ["untrimmed", Schema.Trimmed, " a "],
  ["a pattern", Schema.String.pipe(Schema.pattern(/^\d+$/)), "a"],
  ["not a literal", Schema.Literal("a", "b"), "c"],
  ["not an instant", Schema.DateTimeUtc, "soon"],
  ["not a numeric string", Schema.NumberFromString, "x"],
  ["an unknown field", Schema.Literal(...Settings.defaults.technicalFields), "炼金术"],
  ["core: text", Text.Text(5), "一二三四五六"],
  ["core: invisible text", Text.Text(5), "\u200b\u200b"],
  ["core: one line", Text.Line(5), "一二\n三"],
  ["core: phone", Member.PhoneNumber, "12345"],
  ["core: date format", Deadline.LocalDate, "2026/5/4"],
  ["core: calendar date", Deadline.LocalDate, "2026-02-30"],
  ["core: idempotency key", Idempotency.IdempotencyKey, "含中文"],
  ["core: credit code characters", Reward.CreditCode, "9112011?MA05JQ1X2X"],
  ["core: credit code check", Reward.CreditCode, "91120116MA05JQ1X20"],
  ["core: money", Money.Fen, -1],
  ["core: file name", FileStore.FileName, "a/b.pdf"],
  ["core: feedback", Response.Feedback, { reason: "too_late" }],
  ["core: a demand form", Demand.DemandForm, {}],
  ["core: an id", Ids.DemandId, "a\u0000"],
  [
    "a struct named by its identifier",
    Schema.Struct({ a: Schema.String }).annotations({ identifier: "Proposal" }),
    "str"
  ],
  [
    "a count in digits",
    Schema.String.pipe(Schema.pattern(/^\d+$/, { message: () => "an integer in decimal digits" })),
    "x"
  ],
  [
    "a count in a range (the API's query parameters)",
    Schema.String.pipe(
      Schema.pattern(/^\d+$/, { message: () => "an integer from 1 to 100 in decimal digits" })
    ),
    "-1"
  ],
  ["core: a phone with an extension", Member.PhoneNumber, "13912345601 ext. 5"],
  ["core: a mobile with an extension", Member.MobileNumber, "13912345601;ext=5"]
]

/** The first issue of a refusal as core and the middleware report it. */
const inputError = (schema: Schema.Schema.Any, input: unknown) => {
  const result = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)(input)
  if (Either.isRight(result)) throw new Error(`accepted: ${JSON.stringify(input)}`)
  const issue = Errors.firstIssue(ParseResult.ArrayFormatter.formatErrorSync(result.left))!
  const field = issue.path.join(".") || "input"
  return { code: "input.invalid", field, message: `${field}: ${issue.message}` }
}

describe("Messages", () => {
  it("§errors: the answer's language follows Accept-Language's weights (RFC 9110: `q` in any case, 0 to 1)", () => {
    const cases: ReadonlyArray<readonly [string | undefined, Messages.Language]> = [
      [undefined, "zh-CN"],
      ["", "zh-CN"],
      ["en", "en"],
      ["en-US,en;q=0.9", "en"],
      ["zh-CN;q=0.1, en", "en"],
      ["zh-CN;Q=0.1, en", "en"],
      ["zh-CN;q=0.1, en;q=0.2", "en"],
      ["en;q=0.5, zh;q=2", "en"],
      ["en;q=0, zh-TW", "zh-CN"],
      ["en;q=0.5, zh;q=1.0", "zh-CN"],
      ["en;q=1.0001, zh;q=0.001", "zh-CN"],
      ["fr, de", "zh-CN"],
      ["en;q=0", "zh-CN"],
      ["en, zh", "en"],
      ["zh, en", "zh-CN"],
      ["en-GB", "en"]
    ]
    for (const [header, language] of cases) assert.strictEqual(Messages.languageOf(header), language, header)
  })

  it("§input: a refused input is explained in Chinese, after the field's Chinese name", () => {
    for (const [name, schema, input] of refusals) {
      const error = inputError(schema, input)
      const zh = Messages.translate("zh-CN", error)
      const field = Messages.zhField(error.field)
      assert.isTrue(zh.startsWith(`${field}：`), `${name}: ${zh}`)
      // The values a choice allows are quoted as they are, not words to translate.
      const words = zh
        .slice(field.length)
        .replace(/(须为以下取值之一：).*$/, "$1")
        .match(/[A-Za-z]+/g)
        ?.filter((w) => !kept.has(w))
      assert.deepStrictEqual(words ?? [], [], `${name}: ${zh} (from ${error.message})`)
      assert.strictEqual(Messages.translate("en", error), error.message)
    }
  })

  it("§errors: every error code core raises has a Chinese message", () => {
    const raised = [...coreCodes().keys()]
    assert.isAtLeast(raised.length, 60, "the codes were found in core's source")
    const untranslated = raised.filter((code) => Messages.zhCN[code] === undefined)
    assert.deepStrictEqual(untranslated, [])
  })

  it("R54: an upload's refusals of its parts are explained in Chinese", () => {
    for (const [field, detail] of [
      ["file", "send one part named `file`; this body has 2"],
      ["name", "send at most one field `name`; this body has 3"]
    ] as const) {
      const zh = Messages.translate("zh-CN", { code: "input.invalid", field, message: `${field}: ${detail}` })
      assert.notInclude(zh, "输入无效", zh)
      assert.match(zh, /[23] 个）$/, zh)
    }
  })

  it("§input: the Chinese says what the value must be: a choice's values, a count's range, a phone without its extension", () => {
    const zh = (schema: Schema.Schema.Any, input: unknown) =>
      Messages.translate("zh-CN", inputError(schema, input))
    assert.strictEqual(
      zh(Schema.Struct({ sort: Schema.optional(Schema.Literal("created", "published", "deadline")) }), {
        sort: "x"
      }),
      "排序方式：须为以下取值之一：created（按创建时间）、published（按发布时间）、deadline（按应答截止日期）",
      "the API's own choices are named too"
    )
    assert.strictEqual(
      zh(Schema.Struct({ feedback: Response.Feedback }), { feedback: { reason: "too_late" } }),
      "未采纳原因类别：须为以下取值之一：not_relevant（方案与需求不相关）、cost_too_high（成本过高）、maturity_too_low（技术成熟度不足）、ip_conflict（知识产权冲突）、other（其他）",
      "a model's values are named as Labels.zhCN names them"
    )
    assert.strictEqual(
      zh(Schema.Struct({ form: Schema.Struct({ solvingWay: Demand.SolvingWay }) }), {
        form: { solvingWay: "x" }
      }),
      "解决方式：须为以下取值之一：independent_rd（独立研发）、commissioned_rd（委托研发）、cooperative_rd（合作研发）、other（其他）"
    )
    assert.strictEqual(
      zh(
        Schema.Struct({
          limit: Schema.String.pipe(
            Schema.pattern(/^\d+$/, { message: () => "an integer from 1 to 100 in decimal digits" })
          )
        }),
        { limit: "-1" }
      ),
      "每页条数：须为 1 到 100 之间的十进制整数"
    )
    assert.strictEqual(
      zh(Schema.Struct({ phone: Member.PhoneNumber }), { phone: "13912345601 ext. 5" }),
      "联系电话：须为有效的电话号码，不含分机号"
    )
    assert.strictEqual(
      zh(Schema.Struct({ keyword: Text.Line(50) }), { keyword: "工艺\n石墨烯" }),
      "搜索关键词：须为 1–50 个字符，至少一个可见字符，不含控制字符、制表符或换行",
      "§9: a keyword is one line"
    )
  })

  it("R13, R20, R23, R52: a refusal whose English states a date keeps it in Chinese; at approval, the hint to reject", () => {
    const zh = (code: string, message: string, field?: string) =>
      Messages.translate("zh-CN", field === undefined ? { code, message } : { code, message, field })
    // core's wordings (Rewards.ts, Selection.ts, internal/demandForm.ts)
    assert.strictEqual(
      zh("reward.deadline_passed", "applications to this round were due by 2026-06-15"),
      "该批次申报已于 2026-06-15 截止"
    )
    assert.strictEqual(
      zh("adopt.selection_over", "selection ended at 2026-06-20 23:59:59 +08:00 Asia/Shanghai"),
      "选标已结束（2026-06-20 23:59:59）"
    )
    assert.strictEqual(
      zh(
        "selection.intake_open",
        "responses are taken until 2026-06-10 23:59:59 +08:00 Asia/Shanghai unless one is adopted first; selection can end after that"
      ),
      "应答截止（2026-06-10 23:59:59）或采纳应答之后才能结束选标"
    )
    assert.strictEqual(
      zh(
        "reward.demand_outside_period",
        "items.0.demandId: solved on 2026-04-30, outside the round's period 2026-05-01 – 2026-05-31",
        "items.0.demandId"
      ),
      "申报需求（第 1 项）：该需求解决于 2026-04-30，不在本批次的统计期 2026-05-01 至 2026-05-31 内"
    )
    assert.strictEqual(
      zh(
        "demand.deadline_too_soon",
        "responseDeadline: must be on or after 2026-05-05; reject the demand so it can be corrected",
        "responseDeadline"
      ),
      "应答截止日期过早：最早为 2026-05-05；请驳回该需求以便修改"
    )
    // A wording it does not know keeps the code's own message.
    assert.strictEqual(zh("reward.deadline_passed", "closed"), "该批次申报已截止")
  })

  it("R10, §3, R54: a field whose name differs on its endpoint is named as it is there", () => {
    const named = (field: string, endpoint?: string) =>
      Messages.translate("zh-CN", { code: "input.invalid", field, message: `${field}: is missing` }, endpoint)
    assert.strictEqual(
      named("title", "POST /demands"),
      "需求名称：必填",
      "a draft's body is the demand's form"
    )
    assert.strictEqual(named("form.title", "PUT /demands/:demandId/form"), "需求名称：必填")
    assert.strictEqual(named("title", "POST /reward-rounds"), "批次名称：必填")
    assert.strictEqual(named("name", "POST /accounts"), "姓名：必填")
    assert.strictEqual(named("name", "PUT /accounts/:accountId"), "姓名：必填")
    assert.strictEqual(named("name", "POST /technology-managers"), "姓名：必填")
    assert.strictEqual(named("name", "PUT /technology-managers/:technologyManagerId"), "姓名：必填")
    assert.strictEqual(named("name", "POST /members"), "会员名称：必填")
    assert.strictEqual(named("name", "POST /files"), "文件名：必填")
    assert.strictEqual(named("name", "PUT /institution-profile"), "单位名称：必填")
    // Elsewhere, and on those endpoints for their other fields, the shared names.
    assert.strictEqual(named("title"), "标题：必填")
    assert.strictEqual(named("phone", "POST /accounts"), "联系电话：必填")
    assert.strictEqual(named("proposal.title", "POST /demands/:demandId/responses"), "方案标题：必填")
    assert.strictEqual(Messages.zhField("name", "POST /accounts"), "姓名")
    assert.strictEqual(Messages.zhField("name", "GET /toString"), "名称")
  })

  it("R10, R51, R52, R53, R50, R54: a refusal names its field once", () => {
    const cases: ReadonlyArray<readonly [string, string, string, string, string?]> = [
      [
        "input.invalid",
        "bankAccount.accountNumber",
        "a bank account number of 8–32 digits",
        "银行账号：须为 8–32 位数字"
      ],
      ["input.invalid", "amount", "an approved amount is at least 1 fen", "核定金额：至少为 1 分"],
      [
        "input.invalid",
        "items",
        "an application lists at least one solved demand",
        "申报需求：至少列出一个已解决的需求"
      ],
      [
        "input.invalid",
        "items.0.proofs",
        "each demand needs at least one proof material",
        "申报需求（第 1 项）的证明材料：至少需要一份"
      ],
      ["input.invalid", "keywords.1", "a keyword listed once", "关键词（第 2 项）：与前面的关键词重复"],
      [
        "input.invalid",
        "name",
        "a file name without path separators or control characters",
        "文件名：不能含路径分隔符或控制字符",
        "POST /files"
      ],
      [
        "reward.period_invalid",
        "periodEnd",
        "the period ends on or after the day it starts",
        "统计期结束日期不能早于统计期开始日期"
      ]
    ]
    for (const [code, field, detail, zh, endpoint] of cases)
      assert.strictEqual(
        Messages.translate("zh-CN", { code, field, message: `${field}: ${detail}` }, endpoint),
        zh
      )
  })

  it("R21, R23: a refused adoption or change of a response says what became of the response", () => {
    const zh = (code: string, status: string) =>
      Messages.translate("zh-CN", { code, message: `the response is ${status}` })
    assert.strictEqual(zh("adopt.not_submitted", "adopted"), "该应答已采纳，不能重复采纳")
    assert.strictEqual(zh("adopt.not_submitted", "withdrawn"), "该应答已撤回，不能采纳")
    assert.strictEqual(zh("adopt.not_submitted", "not_adopted"), "本轮选标已结束，该应答未被采纳，不能再采纳")
    assert.strictEqual(zh("response.decided", "withdrawn"), "该应答已撤回，不能再修改或撤回")
    assert.strictEqual(zh("response.decided", "not_adopted"), "该应答未采纳，不能再修改或撤回")
    assert.strictEqual(zh("response.decided", "lost"), "该应答当前状态为“lost”，不能再修改或撤回")
    assert.strictEqual(
      zh("response.decided", "constructor"),
      "该应答当前状态为“constructor”，不能再修改或撤回"
    )
    // A wording it does not know keeps the code's own message.
    assert.strictEqual(
      Messages.translate("zh-CN", { code: "response.decided", message: "decided" }),
      "应答已有结果，不能再修改或撤回"
    )
  })

  it("§input: a detail not known keeps its words, in parentheses", () => {
    const error = { code: "input.invalid", field: "x", message: "x: something new" }
    assert.strictEqual(Messages.translate("zh-CN", error), "x：输入无效（something new）")
  })

  it("§input: a field is named in Chinese, with its place in each list it is in, counted from one; a name not known stays", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["title", "标题"],
      ["form.title", "需求名称"],
      ["form.summary.mainProblem", "主要问题"],
      ["summary.keyTechnology", "技术关键"],
      ["keywords.1", "关键词（第 2 项）"],
      ["form.attachments.0", "附件（第 1 项）"],
      ["items.0.demandId", "申报需求（第 1 项）"],
      ["items.2.proofs.0", "申报需求（第 3 项）的证明材料（第 1 项）"],
      ["feedback.0.responseId", "未采纳原因（第 1 项）"],
      ["contact.name", "联系人姓名"],
      ["bankAccount.accountName", "开户名称"],
      ["entry.date", "服务日志日期"],
      ["somethingNew", "somethingNew"],
      ["summary.mainProblm", "summary.mainProblm"],
      ["list.3", "list.3"],
      // A digit key of an object is no place in a list; a place past what a list can hold stays as sent.
      ["form.0", "form.0"],
      ["0", "0"],
      ["keywords.99999999999999999999999", "keywords.99999999999999999999999"],
      ["", "输入"]
    ]
    for (const [path, zh] of cases) assert.strictEqual(Messages.zhField(path), zh, path)
    // A refusal that begins with its field's name is not prefixed twice; one in a list keeps its place.
    const zh = (code: string, message: string, field: string) =>
      Messages.translate("zh-CN", { code, message, field })
    assert.strictEqual(
      zh("attachment.unknown", "form.attachments.1: not a file of yours", "form.attachments.1"),
      "附件（第 2 项）：附件须为本会员上传的文件"
    )
    assert.strictEqual(
      zh(
        "list.range_invalid",
        "deadlineTo: the deadline range ends on or after it starts (2026-05-04)",
        "deadlineTo"
      ),
      "截止日期范围的结束日期不能早于开始日期（2026-05-04）"
    )
  })

  it("R14, R52, R13: a refusal naming a round, a service mode or a wait keeps it in Chinese; every refusal at approval carries the hint to reject", () => {
    const zh = (code: string, message: string, field?: string) =>
      Messages.translate("zh-CN", field === undefined ? { code, message } : { code, message, field })
    assert.strictEqual(
      zh(
        "reward.demand_claimed",
        "items.1.demandId: the demand is already claimed by your submitted or approved application to the round 2026年度第一批",
        "items.1.demandId"
      ),
      "申报需求（第 2 项）：该需求已列入本机构在“2026年度第一批”批次已提交或已通过的申报"
    )
    assert.strictEqual(
      zh(
        "demand.service_mode_not_allowed",
        "form.serviceMode: 机构自行服务 (institution_service) is chosen by transfer_institution publishers only",
        "form.serviceMode"
      ),
      "服务方式“机构自行服务”仅限技术转移机构选择"
    )
    assert.strictEqual(
      zh(
        "demand.service_mode_not_allowed",
        "serviceMode: 合作 (joint) is chosen by enterprise or transfer_institution publishers only; reject the demand so it can be corrected",
        "serviceMode"
      ),
      "服务方式“合作”仅限企业或技术转移机构选择；请驳回该需求以便修改"
    )
    assert.strictEqual(
      zh(
        "demand.field_unknown",
        "field: not one of the platform's technical fields; reject the demand so it can be corrected",
        "field"
      ),
      "所属领域不在平台的领域分类中；请驳回该需求以便修改"
    )
    assert.strictEqual(
      zh(
        "store.unavailable",
        "the database is out of reach for the moment and the request was not carried out; try again in 7 s"
      ),
      "数据库暂时无法连接，本次操作未执行，请 7 秒后重试"
    )
    assert.strictEqual(
      zh(
        "reward.demand_claimed",
        "items.0.demandId: the demand is already claimed by your submitted or approved application to the round 2026年度奖励申报批次",
        "items.0.demandId"
      ),
      "申报需求（第 1 项）：该需求已列入本机构在“2026年度奖励申报批次”已提交或已通过的申报",
      "a round named …批次 is not called 批次 twice"
    )
    assert.strictEqual(
      zh("statistics.period_invalid", "to: the period ends on or after it starts", "to"),
      "统计期的结束日期不能早于开始日期",
      "a refusal that names its field is not prefixed with it"
    )
    // A choice is named from the one model whose values it is, wherever the field is.
    const choice = (field: string, values: ReadonlyArray<string>) =>
      Messages.translate("zh-CN", {
        code: "input.invalid",
        field,
        message: `${field}: Expected ${values.map((v) => `"${v}"`).join(" | ")}, actual "x"`
      })
    assert.strictEqual(
      choice("states.0", ["published", "solved"]),
      "状态（第 1 项）：须为以下取值之一：published（已发布）、solved（已解决）"
    )
    assert.strictEqual(
      choice("states.0", ["draft", "submitted", "approved", "rejected"]),
      "状态（第 1 项）：须为以下取值之一：draft（草稿）、submitted（已提交）、approved（已通过）、rejected（未通过）"
    )
    assert.strictEqual(
      choice("groupBy", ["field", "region"]),
      "分组方式：须为以下取值之一：field（按所属领域）、region（按所在地区）"
    )
    assert.strictEqual(
      choice("sort", ["created", "hot"]),
      "排序方式：须为以下取值之一：created、hot",
      "values no table holds all of stay as they are"
    )
    assert.strictEqual(zh("route.not_found", "no such endpoint"), "请求的接口不存在")
    // What was not found is named by the field that refers to it, where the field is known.
    assert.strictEqual(
      zh("member.not_found", "form.technologyManagerId: member not found", "form.technologyManagerId"),
      "技术经理人不存在或无权查看"
    )
    assert.strictEqual(
      zh("file.not_found", "items.0.proofs.1: file not found", "items.0.proofs.1"),
      "申报需求（第 1 项）的证明材料（第 2 项）不存在或无权查看"
    )
    assert.strictEqual(zh("demand.not_found", "demand not found"), "需求不存在或无权查看")
    assert.strictEqual(zh("member.not_found", "odd: member not found", "odd"), "odd：会员不存在或无权查看")
    assert.deepStrictEqual([2 ** 20, 20 * 2 ** 20, 512 * 1024, 1000, 1_048_577].map(Messages.zhSize), [
      "1 MB",
      "20 MB",
      "512 KB",
      "1,000 字节",
      "1,048,577 字节"
    ])
  })
})
