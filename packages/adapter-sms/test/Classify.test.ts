import { assert, describe, it } from "@effect/vitest"
import { Classify } from "@zhongbao/adapter-sms"
import { SmsSender } from "@zhongbao/core"

const now = Date.UTC(2025, 2, 1, 8, 0, 0) // 16:00 in Beijing

/**
 * Each code of the providers' tables by what it must give, written out here rather
 * than read from the tables: a code moved to `Permanent` dead-letters its messages,
 * one moved out of `Unknown` may send a message twice, a wrong hint retries a daily
 * limit every hour until its attempts run out (R64). Keys: the result, then the hint.
 */
type Expected = Readonly<Record<string, ReadonlyArray<string>>>
const aliyunExpected: Expected = {
  "RetryLater minute": ["isv.BUSINESS_LIMIT_CONTROL"],
  "RetryLater day": ["isv.DAY_LIMIT_CONTROL"],
  "RetryLater month": ["isv.MONTH_LIMIT_CONTROL"],
  RetryLater: [
    "isp.SYSTEM_ERROR",
    "isp.GATEWAY_ERROR",
    "isp.UNKNOWN",
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "ServiceUnavailable",
    "InternalError"
  ],
  Unknown: ["SignatureNonceUsed", "ServiceTimeout"],
  Permanent: [
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.NOT_SUPPORTED_COUNTRY",
    "isv.SMS_CONTENT_ILLEGAL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.PARAM_NOT_SUPPORT_URL",
    "isv.TEMPLATE_PARAMS_ILLEGAL"
  ],
  Configuration: [
    "isp.RAM_PERMISSION_DENY",
    "isv.OUT_OF_SERVICE",
    "isv.AMOUNT_NOT_ENOUGH",
    "isv.PRODUCT_UN_SUBSCRIPT",
    "isv.PRODUCT_UNSUBSCRIBE",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.ACCOUNT_ABNORMAL",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.SMS_SIGN_ILLEGAL",
    "isv.SIGN_STATE_ILLEGAL",
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
    "isv.EXTEND_CODE_ERROR",
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
    "isv.DENY_IP_RANGE",
    "isv.INVALID_PARAMETERS",
    "isv.INVALID_JSON_PARAM",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.SMS_TEST_SIGN_TEMPLATE_LIMIT",
    "isv.SMS_TEST_TEMPLATE_PARAMS_ILLEGAL",
    "isv.SMS_TEST_NUMBER_LIMIT",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
    "Forbidden.AccessKeyDisabled",
    "Forbidden.RAM",
    "InvalidTimeStamp.Expired",
    "InvalidTimeStamp.Format",
    "MissingParameter",
    "InvalidParameter",
    "InvalidVersion",
    "InvalidAction.NotFound",
    "UnsupportedHTTPMethod"
  ]
}
const tencentExpected: Expected = {
  "RetryLater thirtySeconds": [
    "LimitExceeded.PhoneNumberThirtySecondLimit",
    "LimitExceeded.DeliveryFrequencyLimit"
  ],
  "RetryLater hour": ["LimitExceeded.PhoneNumberOneHourLimit", "FailedOperation.MarketingSendTimeConstraint"],
  "RetryLater day": [
    "LimitExceeded.PhoneNumberDailyLimit",
    "LimitExceeded.PhoneNumberSameContentDailyLimit",
    "LimitExceeded.DailyLimit",
    "LimitExceeded.AppDailyLimit",
    "LimitExceeded.AppGlobalDailyLimit",
    "LimitExceeded.AppMainlandChinaDailyLimit",
    "LimitExceeded.AppCountryOrRegionDailyLimit"
  ],
  RetryLater: [
    "RequestLimitExceeded",
    "LimitExceeded",
    "ServiceUnavailable",
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
    "RequestLimitExceeded.IPLimitExceeded",
    "RequestLimitExceeded.UinLimitExceeded",
    "InternalError",
    "InternalError.OtherError",
    "ResourceUnavailable"
  ],
  Unknown: ["InternalError.Timeout", "InternalError.SendAndRecvFail"],
  Permanent: [
    "InvalidParameterValue.IncorrectPhoneNumber",
    "FailedOperation.PhoneNumberParseFail",
    "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.ContainSensitiveWord",
    "InvalidParameterValue.ContentLengthLimit",
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
    "InvalidParameterValue.TemplateParameterFormatError",
    "InvalidParameterValue.TemplateParameterLengthLimit",
    "UnsupportedOperation.UnsupportedRegion"
  ],
  Configuration: [
    "AuthFailure.InvalidAuthorization",
    "AuthFailure.InvalidSecretId",
    "AuthFailure.MFAFailure",
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.SignatureExpire",
    "AuthFailure.SignatureFailure",
    "AuthFailure.TokenFailure",
    "AuthFailure.UnauthorizedOperation",
    "ActionOffline",
    "InvalidAction",
    "NoSuchProduct",
    "NoSuchVersion",
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidRequest",
    "MissingParameter",
    "UnknownParameter",
    "IpInBlacklist",
    "IpNotInWhitelist",
    "RequestSizeLimitExceeded",
    "UnauthorizedOperation",
    "UnsupportedOperation",
    "UnsupportedProtocol",
    "UnsupportedRegion",
    "DryRunOperation",
    "FailedOperation",
    "FailedOperation.FailResolvePacket",
    "FailedOperation.JsonParseFail",
    "FailedOperation.InsufficientBalanceInSmsPackage",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
    "FailedOperation.TemplateUnapprovedOrNotExist",
    "InternalError.RequestTimeException",
    "InternalError.RestApiInterfaceNotExist",
    "InternalError.SigFieldMissing",
    "InternalError.SigVerificationFail",
    "InternalError.JsonParseFail",
    "InvalidParameterValue.SdkAppIdNotExist",
    "LimitExceeded.PhoneNumberCountLimit",
    "LimitExceeded.AppCountryOrRegionInBlacklist",
    "MissingParameter.EmptyPhoneNumberSet",
    "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny",
    "UnauthorizedOperation.RequestIpNotInWhitelist",
    "UnauthorizedOperation.RequestPermissionDeny",
    "UnauthorizedOperation.SdkAppIdIsDisabled",
    "UnauthorizedOperation.ServiceSuspendDueToArrears",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
    "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone",
    "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone"
  ]
}

const checkPinned = (
  table: Readonly<Record<string, Classify.CodeInfo>>,
  expected: Expected,
  results: (
    code: string
  ) => ReadonlyArray<{ readonly _tag: string; readonly retryAfterMillis?: number | undefined }>
) => {
  assert.sameMembers(
    Object.values(expected).flat(),
    Object.keys(table),
    "the table's codes are the codes pinned here"
  )
  for (const [key, codes] of Object.entries(expected)) {
    const [tag, hint] = key.split(" ") as [string, Classify.RetryHint | undefined]
    for (const code of codes) {
      for (const result of results(code)) {
        assert.strictEqual(result._tag, tag, code)
        if (tag === "RetryLater") {
          const wait = hint === undefined ? undefined : Classify.retryAfterMillis(hint, now)
          assert.strictEqual(result.retryAfterMillis, wait, `${code} waits ${hint ?? "no hint"}`)
        }
      }
    }
  }
}

describe("Classify", () => {
  it("R64: every listed Aliyun code is classified as its table says", () => {
    for (const [code, info] of Object.entries(Classify.aliyunCodes)) {
      const result = Classify.aliyun(200, { Code: code, Message: "x", RequestId: "R" }, now)
      assert.strictEqual(result._tag, info.result, code)
      assert.include((result as { reason: string }).reason, code)
    }
  })

  it("R64: every listed Tencent code is classified as its table says, per number and per request", () => {
    for (const [code, info] of Object.entries(Classify.tencentCodes)) {
      const perNumber = {
        Response: { SendStatusSet: [{ PhoneNumber: "+8613812345678", Code: code }], RequestId: "R" }
      }
      const perRequest = { Response: { Error: { Code: code, Message: "x" }, RequestId: "R" } }
      assert.strictEqual(Classify.tencent(200, perNumber, "+8613812345678", now)._tag, info.result, code)
      assert.strictEqual(Classify.tencent(200, perRequest, "+8613812345678", now)._tag, info.result, code)
    }
  })

  it("R64: each Aliyun code gives the result and the wait pinned here", () =>
    checkPinned(Classify.aliyunCodes, aliyunExpected, (code) => [
      Classify.aliyun(200, { Code: code, Message: "x", RequestId: "R" }, now)
    ]))

  it("R64: each Tencent code gives the result and the wait pinned here, per number and per request", () =>
    checkPinned(Classify.tencentCodes, tencentExpected, (code) => [
      Classify.tencent(
        200,
        { Response: { SendStatusSet: [{ PhoneNumber: "+8613812345678", Code: code }], RequestId: "R" } },
        "+8613812345678",
        now
      ),
      Classify.tencent(
        200,
        { Response: { Error: { Code: code, Message: "x" }, RequestId: "R" } },
        "+8613812345678",
        now
      )
    ]))

  it("R64: a Tencent status entry without a code is unknown (it may have been sent); an error without a code is the account's to look at", () => {
    const entry = { Response: { SendStatusSet: [{ PhoneNumber: "+8613812345678" }], RequestId: "R" } }
    assert.strictEqual(Classify.tencent(200, entry, "+8613812345678", now)._tag, "Unknown")
    const error = { Response: { Error: { Message: "x" }, RequestId: "R" } }
    assert.strictEqual(Classify.tencent(200, error, "+8613812345678", now)._tag, "Configuration")
  })

  it("R64: a connection that was never made, by any of the codes that say so, retries; nothing was sent", () => {
    for (const code of [
      "ECONNREFUSED",
      "ENOTFOUND",
      "EAI_AGAIN",
      "EHOSTUNREACH",
      "ENETUNREACH",
      "ENETDOWN",
      "UND_ERR_CONNECT_TIMEOUT",
      "CERT_HAS_EXPIRED",
      "CERT_NOT_YET_VALID",
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "UNABLE_TO_GET_ISSUER_CERT",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "ERR_TLS_CERT_ALTNAME_INVALID"
    ]) {
      const error = Object.assign(new Error(code), { code })
      assert.strictEqual(Classify.transport("aliyun", error)._tag, "RetryLater", code)
      assert.strictEqual(
        Classify.transport("tencent", new TypeError("fetch failed", { cause: error }))._tag,
        "RetryLater",
        code
      )
    }
  })

  it("R64: a failure after the transport saw the connection made is Unknown whatever its code; one it saw never made is RetryLater", () => {
    for (const code of [
      "EHOSTUNREACH",
      "ENETUNREACH",
      "ENETDOWN",
      "ECONNREFUSED",
      "EAI_AGAIN",
      "CERT_HAS_EXPIRED"
    ]) {
      const error = Object.assign(new Error(code), { code })
      const made = Classify.transport("aliyun", error, true)
      assert.strictEqual(made._tag, "Unknown", code)
      assert.include((made as { reason: string }).reason, code)
      assert.strictEqual(
        Classify.transport("tencent", new TypeError("fetch failed", { cause: error }), true)._tag,
        "Unknown",
        code
      )
      assert.strictEqual(Classify.transport("aliyun", error, undefined)._tag, "RetryLater", code)
    }
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
    const unmade = Classify.transport("aliyun", reset, false)
    assert.deepStrictEqual(
      [unmade._tag, (unmade as { reason: string }).reason],
      ["RetryLater", "阿里云：未能连接（ECONNRESET）"]
    )
    assert.strictEqual(Classify.transport("aliyun", reset)._tag, "Unknown")
  })

  it("R64: the documented classes of the providers' notes", () => {
    const aliyun = (code: string) => Classify.aliyun(200, { Code: code }, now)._tag
    assert.strictEqual(aliyun("OK"), "Sent")
    assert.strictEqual(aliyun("isv.BUSINESS_LIMIT_CONTROL"), "RetryLater")
    assert.strictEqual(aliyun("isv.DAY_LIMIT_CONTROL"), "RetryLater")
    assert.strictEqual(aliyun("isv.MOBILE_NUMBER_ILLEGAL"), "Permanent")
    assert.strictEqual(aliyun("isv.OUT_OF_SERVICE"), "Configuration")
    assert.strictEqual(aliyun("isv.AMOUNT_NOT_ENOUGH"), "Configuration")
    assert.strictEqual(aliyun("isp.ANYTHING"), "RetryLater")
    const tencent = (code: string) =>
      Classify.tencent(
        200,
        { Response: { SendStatusSet: [{ PhoneNumber: "+86138", Code: code }] } },
        "+86138",
        now
      )._tag
    assert.strictEqual(tencent("Ok"), "Sent")
    assert.strictEqual(tencent("LimitExceeded.PhoneNumberThirtySecondLimit"), "RetryLater")
    assert.strictEqual(tencent("LimitExceeded.PhoneNumberOneHourLimit"), "RetryLater")
    assert.strictEqual(tencent("LimitExceeded.PhoneNumberDailyLimit"), "RetryLater")
    assert.strictEqual(tencent("InvalidParameterValue.IncorrectPhoneNumber"), "Permanent")
    assert.strictEqual(tencent("FailedOperation.PhoneNumberInBlacklist"), "Permanent")
    assert.strictEqual(tencent("FailedOperation.InsufficientBalanceInSmsPackage"), "Configuration")
    assert.strictEqual(tencent("InternalError.Whatever"), "RetryLater")
    assert.strictEqual(tencent("FailedOperation.Whatever"), "Configuration")
  })

  it("R64: Tencent's common outage and limit errors (ServiceUnavailable, LimitExceeded) are retried, as are unlisted codes of those families", () => {
    const error = (code: string) =>
      Classify.tencent(
        200,
        { Response: { Error: { Code: code, Message: "x" }, RequestId: "R" } },
        "+86138",
        now
      )
    for (const code of [
      "ServiceUnavailable",
      "LimitExceeded",
      "LimitExceeded.SomethingNew",
      "RequestLimitExceeded.SomethingNew",
      "ServiceUnavailable.SomethingNew"
    ]) {
      assert.strictEqual(error(code)._tag, "RetryLater", code)
    }
    assert.strictEqual(error("AuthFailure.SomethingNew")._tag, "Configuration")
  })

  it("R64: HTTP statuses: 5xx and 429 retry, 504 is unknown, 2xx without a code is unknown", () => {
    assert.strictEqual(Classify.aliyun(500, undefined, now)._tag, "RetryLater")
    assert.strictEqual(Classify.aliyun(503, { Code: "isv.MOBILE_NUMBER_ILLEGAL" }, now)._tag, "RetryLater")
    assert.strictEqual(Classify.aliyun(429, undefined, now)._tag, "RetryLater")
    assert.strictEqual(Classify.aliyun(504, undefined, now)._tag, "Unknown")
    assert.strictEqual(Classify.aliyun(200, undefined, now)._tag, "Unknown")
    assert.strictEqual(Classify.aliyun(403, undefined, now)._tag, "Configuration")
    assert.strictEqual(Classify.tencent(502, undefined, "+86138", now)._tag, "RetryLater")
    assert.strictEqual(Classify.tencent(200, undefined, "+86138", now)._tag, "Unknown")
    assert.strictEqual(Classify.tencent(404, "nope", "+86138", now)._tag, "Configuration")
  })

  it("R64: a reply outside 2xx that says the message was sent is not taken as sent: 3xx and 4xx are Configuration, 5xx and 429 go by their status", () => {
    assert.deepStrictEqual(Classify.aliyun(403, { Code: "OK", BizId: "9", RequestId: "r-1" }, now), {
      _tag: "Configuration",
      reason: "阿里云 HTTP 403：非 2xx 回复中出现 OK（请求 r-1）",
      code: "reply.ok_not_2xx"
    })
    const sent = {
      Response: { SendStatusSet: [{ PhoneNumber: "+8613812345678", Code: "Ok", SerialNo: "s" }] }
    }
    assert.strictEqual(Classify.tencent(403, sent, "+8613812345678", now)._tag, "Configuration")
    assert.strictEqual(Classify.tencent(200, sent, "+8613812345678", now)._tag, "Sent")
    for (const [status, tag] of [
      [302, "Configuration"],
      [429, "RetryLater"],
      [503, "RetryLater"],
      [504, "Unknown"]
    ] as const) {
      assert.strictEqual(
        Classify.aliyun(status, { Code: "OK", BizId: "9" }, now)._tag,
        tag,
        `aliyun ${status}`
      )
      assert.strictEqual(Classify.tencent(status, sent, "+8613812345678", now)._tag, tag, `tencent ${status}`)
    }
  })

  it("R64: Sent keeps the provider's id", () => {
    assert.deepStrictEqual(Classify.aliyun(200, { Code: "OK", BizId: "900619746936498440^0" }, now), {
      _tag: "Sent",
      providerMessageId: "900619746936498440^0"
    } as never)
  })

  it("R64: throttling hints: Aliyun's period from its message, Tencent's from its code", () => {
    const after = (message: string) => {
      const r = Classify.aliyun(200, { Code: "isv.BUSINESS_LIMIT_CONTROL", Message: message }, now)
      return r._tag === "RetryLater" ? r.retryAfterMillis : undefined
    }
    assert.strictEqual(after("触发分钟级流控Permits:1"), 60_000)
    assert.strictEqual(after("触发小时级流控Permits:5"), 3_600_000)
    assert.strictEqual(after("触发天级流控Permits:10"), 8 * 3_600_000)
    assert.strictEqual(after(""), 60_000)
  })

  it("R64: day and month limits end at midnight China Standard Time", () => {
    assert.strictEqual(Classify.retryAfterMillis("day", now), 8 * 3_600_000)
    assert.strictEqual(Classify.retryAfterMillis("day", Date.UTC(2025, 2, 1, 15, 59, 59)), 1_000)
    assert.strictEqual(Classify.retryAfterMillis("day", Date.UTC(2025, 2, 1, 16, 0, 0)), 86_400_000)
    // 2025-03-31 16:00 UTC is 2025-04-01 00:00 in Beijing: a whole month (30 days) to wait.
    assert.strictEqual(Classify.retryAfterMillis("month", Date.UTC(2025, 2, 31, 16, 0, 0)), 30 * 86_400_000)
    assert.strictEqual(Classify.retryAfterMillis("month", Date.UTC(2025, 3, 30, 15, 0, 0)), 3_600_000)
  })

  it("R64: transport failures: never connected → RetryLater, anything else → Unknown", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })
    assert.strictEqual(Classify.transport("aliyun", refused)._tag, "RetryLater")
    assert.strictEqual(
      Classify.transport("aliyun", new TypeError("fetch failed", { cause: refused }))._tag,
      "RetryLater"
    )
    assert.strictEqual(
      Classify.transport("aliyun", Object.assign(new AggregateError([refused]), { code: undefined }))._tag,
      "RetryLater"
    )
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
    assert.strictEqual(Classify.transport("tencent", reset)._tag, "Unknown")
    assert.strictEqual(Classify.transport("tencent", new Error("?"))._tag, "Unknown")
    assert.strictEqual(Classify.timeout("tencent", "5 seconds")._tag, "Unknown")
  })

  it("R64: reasons never carry the provider's free text", () => {
    const r = Classify.aliyun(200, { Code: "isv.MOBILE_NUMBER_ILLEGAL", Message: "13812345678 is bad" }, now)
    assert.notInclude((r as { reason: string }).reason, "13812345678")
    const odd = Classify.aliyun(200, { Code: "13812345678 secret", RequestId: "<script>" }, now)
    assert.notInclude((odd as { reason: string }).reason, "13812345678")
    assert.notInclude((odd as { reason: string }).reason, "<script>")
  })

  it("R64: every listed code has a Chinese description, which the reason carries by default; English when asked", () => {
    const han = /\p{Script=Han}/u
    for (const [code, info] of Object.entries(Classify.aliyunCodes)) {
      assert.match(info.zh, han, code)
      const body = { Code: code, RequestId: "r-1" }
      const zh = Classify.aliyun(200, body, now) as { reason: string }
      assert.strictEqual(zh.reason, `阿里云 ${code}：${info.zh}（请求 r-1）`)
      const en = Classify.aliyun(200, body, now, "en") as { reason: string }
      assert.strictEqual(en.reason, `aliyun ${code}: ${info.description} (request r-1)`)
    }
    for (const [code, info] of Object.entries(Classify.tencentCodes)) {
      assert.match(info.zh, han, code)
      assert.strictEqual(
        (Classify.tencentCode(code, "r-2", now) as { reason: string }).reason,
        `腾讯云 ${code}：${info.zh}（请求 r-2）`
      )
      assert.strictEqual(
        (Classify.tencentCode(code, undefined, now, "en") as { reason: string }).reason,
        `tencent ${code}: ${info.description}`
      )
    }
  })

  it("R64: the English reasons of listed codes are as before the Chinese ones came", () => {
    const en = (result: SmsSender.SendResult) => (result as { reason: string }).reason
    assert.strictEqual(
      en(Classify.aliyun(200, { Code: "isv.MOBILE_NUMBER_ILLEGAL", RequestId: "r" }, now, "en")),
      "aliyun isv.MOBILE_NUMBER_ILLEGAL: invalid number (request r)"
    )
    assert.strictEqual(
      en(Classify.aliyun(200, { Code: "isv.OUT_OF_SERVICE" }, now, "en")),
      "aliyun isv.OUT_OF_SERVICE: service stopped: balance insufficient"
    )
    assert.strictEqual(
      en(Classify.tencentCode("FailedOperation.PhoneNumberInBlacklist", "r", now, "en")),
      "tencent FailedOperation.PhoneNumberInBlacklist: number is on the do-not-disturb list (request r)"
    )
    assert.strictEqual(
      en(Classify.tencentCode("LimitExceeded.PhoneNumberDailyLimit", undefined, now, "en")),
      "tencent LimitExceeded.PhoneNumberDailyLimit: per-number daily limit reached"
    )
  })

  it("R64: reasons without a listed code are in the language asked for, Chinese by default", () => {
    const reasonOf = (result: SmsSender.SendResult) => (result as { reason: string }).reason
    const pairs: ReadonlyArray<readonly [string, string, string]> = [
      [
        reasonOf(Classify.httpStatus("aliyun", 504)!),
        reasonOf(Classify.httpStatus("aliyun", 504, "en")!),
        "阿里云 HTTP 504：网关超时，短信可能已发出"
      ],
      [
        reasonOf(Classify.httpStatus("tencent", 503)!),
        reasonOf(Classify.httpStatus("tencent", 503, "en")!),
        "腾讯云 HTTP 503：服务商故障"
      ],
      [
        reasonOf(Classify.httpStatus("aliyun", 429)!),
        reasonOf(Classify.httpStatus("aliyun", 429, "en")!),
        "阿里云 HTTP 429：请求过于频繁"
      ],
      [
        reasonOf(Classify.aliyun(200, { Code: "isv.SOMETHING_NEW" }, now)),
        reasonOf(Classify.aliyun(200, { Code: "isv.SOMETHING_NEW" }, now, "en")),
        "阿里云 isv.SOMETHING_NEW：未收录的服务商错误码，请在服务商控制台中查看"
      ],
      [
        reasonOf(Classify.aliyun(200, {}, now)),
        reasonOf(Classify.aliyun(200, {}, now, "en")),
        "阿里云 HTTP 200：回复中没有错误码"
      ],
      [
        reasonOf(Classify.tencent(200, { Response: { RequestId: "r-3" } }, "+8613812345678", now)),
        reasonOf(Classify.tencent(200, { Response: { RequestId: "r-3" } }, "+8613812345678", now, "en")),
        "腾讯云：回复中没有该号码的发送状态（请求 r-3）"
      ],
      [
        reasonOf(Classify.transport("tencent", Object.assign(new Error("x"), { code: "ECONNRESET" }))),
        reasonOf(
          Classify.transport(
            "tencent",
            Object.assign(new Error("x"), { code: "ECONNRESET" }),
            undefined,
            "en"
          )
        ),
        "腾讯云：连接中断（ECONNRESET），短信可能已发出"
      ],
      [
        reasonOf(Classify.transport("aliyun", new Error("x"), false)),
        reasonOf(Classify.transport("aliyun", new Error("x"), false, "en")),
        "阿里云：未能连接"
      ],
      [
        reasonOf(Classify.timeout("aliyun", "5 seconds")),
        reasonOf(Classify.timeout("aliyun", "5 seconds", "en")),
        "阿里云：5000 毫秒内未收到回复，短信可能已发出"
      ]
    ]
    const english = [
      "aliyun HTTP 504: gateway timeout, the message may have been sent",
      "tencent HTTP 503: provider outage",
      "aliyun HTTP 429: too many requests",
      "aliyun isv.SOMETHING_NEW: unlisted provider code: check the provider's console",
      "aliyun HTTP 200: reply without a code",
      "tencent: no status for the number (request r-3)",
      "tencent connection failed (ECONNRESET): the message may have been sent",
      "aliyun not reached: the connection was not made",
      "aliyun no reply within 5000 ms: the message may have been sent"
    ]
    pairs.forEach(([zh, en, expected], i) => {
      assert.strictEqual(zh, expected)
      assert.strictEqual(en, english[i])
    })
  })

  it("R64: every result but Sent carries a code for machines, the same in either language: the provider's own where it answered one, else the sender's", () => {
    const codeOf = (result: SmsSender.SendResult | undefined) =>
      result === undefined || result._tag === "Sent" ? "(none)" : String(result.code)
    const connectionReset = Object.assign(new Error("x"), { code: "ECONNRESET" })
    const refused = Object.assign(new Error("x"), { code: "ECONNREFUSED" })
    const cases: ReadonlyArray<
      readonly [(language: Classify.Language) => SmsSender.SendResult | undefined, string]
    > = [
      [(l) => Classify.aliyun(200, { Code: "isv.AMOUNT_NOT_ENOUGH" }, now, l), "isv.AMOUNT_NOT_ENOUGH"],
      [
        (l) => Classify.aliyun(200, { Code: "isv.BUSINESS_LIMIT_CONTROL" }, now, l),
        "isv.BUSINESS_LIMIT_CONTROL"
      ],
      [(l) => Classify.aliyun(200, { Code: "isv.SOMETHING_NEW" }, now, l), "isv.SOMETHING_NEW"],
      [(l) => Classify.aliyun(200, { Code: "isp.SOMETHING_NEW" }, now, l), "isp.SOMETHING_NEW"],
      [(l) => Classify.aliyun(500, { Code: "isp.SYSTEM_ERROR" }, now, l), "http.500"],
      [(l) => Classify.aliyun(200, {}, now, l), "reply.no_code"],
      [(l) => Classify.aliyun(400, {}, now, l), "reply.no_code"],
      [(l) => Classify.aliyun(403, { Code: "OK" }, now, l), "reply.ok_not_2xx"],
      [
        (l) => Classify.tencentCode("LimitExceeded.PhoneNumberDailyLimit", "r", now, l),
        "LimitExceeded.PhoneNumberDailyLimit"
      ],
      [(l) => Classify.tencentCode("FailedOperation.Brand.New", "r", now, l), "FailedOperation.Brand.New"],
      [
        (l) => Classify.tencent(400, { Response: { Error: { Message: "m" } } }, "+8613812345678", now, l),
        "reply.no_code"
      ],
      [
        (l) =>
          Classify.tencent(
            200,
            { Response: { SendStatusSet: [{ PhoneNumber: "+8613812345678" }] } },
            "+8613812345678",
            now,
            l
          ),
        "reply.no_code"
      ],
      [(l) => Classify.tencent(200, "<html>", "+8613812345678", now, l), "reply.unreadable"],
      [(l) => Classify.tencent(403, "<html>", "+8613812345678", now, l), "reply.unexpected"],
      [
        (l) => Classify.tencent(200, { Response: { RequestId: "r" } }, "+8613812345678", now, l),
        "reply.no_status"
      ],
      [(l) => Classify.httpStatus("tencent", 504, l), "http.504"],
      [(l) => Classify.httpStatus("tencent", 503, l), "http.503"],
      [(l) => Classify.httpStatus("aliyun", 429, l), "http.429"],
      [(l) => Classify.httpStatus("aliyun", 404, l), "(none)"],
      [(l) => Classify.transport("aliyun", connectionReset, undefined, l), "sender.connection_failed"],
      [(l) => Classify.transport("aliyun", refused, true, l), "sender.connection_failed"],
      [(l) => Classify.transport("aliyun", refused, undefined, l), "sender.not_reached"],
      [(l) => Classify.transport("tencent", new Error("x"), false, l), "sender.not_reached"],
      [(l) => Classify.timeout("tencent", "5 seconds", l), "sender.timeout"]
    ]
    cases.forEach(([classify, code], i) => {
      assert.strictEqual(codeOf(classify("zh-CN")), code, `case ${i} in Chinese`)
      assert.strictEqual(codeOf(classify("en")), code, `case ${i} in English`)
    })
  })

  it("R64: a reply without a code is Unknown only with a 2xx status (299), the account's to look at from 300", () => {
    assert.strictEqual(Classify.aliyun(299, {}, now)._tag, "Unknown")
    assert.strictEqual(Classify.aliyun(300, {}, now)._tag, "Configuration")
    assert.strictEqual(Classify.aliyun(200, {}, now)._tag, "Unknown")
    assert.strictEqual(Classify.aliyun(199, {}, now)._tag, "Configuration")
  })

  it("R64: a sent message without the provider's id is known by its request id, or as unknown", () => {
    const ok = (response: Record<string, unknown>) => ({
      Response: { ...response, SendStatusSet: [{ PhoneNumber: "+8613812345678", Code: "Ok" }] }
    })
    assert.deepStrictEqual(
      Classify.tencent(200, ok({ RequestId: "R-1" }), "+8613812345678", now),
      SmsSender.SendResult.Sent({ providerMessageId: "request:R-1" })
    )
    assert.deepStrictEqual(
      Classify.tencent(200, ok({}), "+8613812345678", now),
      SmsSender.SendResult.Sent({ providerMessageId: "request:unknown" })
    )
    assert.deepStrictEqual(
      Classify.aliyun(200, { Code: "OK", RequestId: "R-2" }, now),
      SmsSender.SendResult.Sent({ providerMessageId: "request:R-2" })
    )
  })

  it("R64: a provider's id is kept up to 100 characters; a longer one is not taken (the request id stands for it)", () => {
    const hundred = "9".repeat(100)
    assert.deepStrictEqual(
      Classify.aliyun(200, { Code: "OK", BizId: hundred, RequestId: "r" }, now),
      SmsSender.SendResult.Sent({ providerMessageId: hundred })
    )
    assert.deepStrictEqual(
      Classify.aliyun(200, { Code: "OK", BizId: `${hundred}9`, RequestId: "r" }, now),
      SmsSender.SendResult.Sent({ providerMessageId: "request:r" })
    )
  })
})
