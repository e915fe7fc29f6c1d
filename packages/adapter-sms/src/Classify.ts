/**
 * How the providers' replies become core's `SendResult` (R64).
 *
 * - `Sent`: the provider accepted the message; its id is kept.
 * - `RetryLater`: nothing was sent and a later attempt can succeed: throttling,
 *   outage, HTTP 5xx, a connection that could not be made. Throttling answers
 *   carry `retryAfterMillis` when the limit's period is known.
 * - `Permanent`: this message can never be sent: invalid or blacklisted number,
 *   content the provider refuses.
 * - `Configuration`: the account must be fixed: credentials, signature, template,
 *   balance, permissions. The dispatcher retries these like an outage, so fixing
 *   the account delivers the backlog.
 * - `Unknown`: the request may have reached the provider but no answer arrived: a
 *   timeout, a connection lost after the request was written, an unreadable
 *   success reply. The dispatcher retries and counts the attempt as an unknown
 *   outcome instead of resending blindly.
 *
 * Every code of the providers' SendSms references is in {@link aliyunCodes} and
 * {@link tencentCodes}; a code that is not is classified by its family
 * (`isp.*`, `InternalError.*`, throttling families → `RetryLater`) or else as
 * `Configuration`, so that an operator looks at it. A reply outside 2xx that says
 * the message was sent (Aliyun's `OK`, Tencent's `Ok` in a `SendStatusSet`) is not
 * taken as sent: with a 3xx or 4xx status it is `Configuration` too (a proxy or
 * gateway of the host's answering in the provider's stead is the likely cause);
 * with a 5xx or 429 its status classifies it, as any other reply's (504 `Unknown`,
 * the others `RetryLater`). Reasons carry the code, a
 * description and the provider's request id, never the provider's free-text
 * message, which may echo numbers or parameters.
 *
 * Every result but `Sent` also carries a `code` (core's `SmsSender.Failed`), the
 * same in either language, for log queries and alert rules: the provider's own code
 * where its reply had one (`isv.AMOUNT_NOT_ENOUGH`, `LimitExceeded.PhoneNumberDailyLimit`,
 * listed or not), else one of the senders':
 *
 * | code                       | when                                                         |
 * | -------------------------- | ------------------------------------------------------------ |
 * | `http.<status>`            | the HTTP status decided alone (5xx, 429, 504)                |
 * | `reply.no_code`            | a reply, an error or a number's status without a code        |
 * | `reply.ok_not_2xx`         | Aliyun's `OK` outside a 2xx reply                            |
 * | `reply.unreadable`         | a 2xx reply that could not be read                           |
 * | `reply.unexpected`         | a reply outside 2xx in no known shape                        |
 * | `reply.no_status`          | Tencent's reply without a status for the number              |
 * | `sender.not_reached`       | the connection was not made: nothing was sent                |
 * | `sender.connection_failed` | the connection failed once made: the message may have gone   |
 * | `sender.timeout`           | no reply within the sender's timeout                         |
 * | `sender.request_invalid`   | the request could not be built (the sender's configuration)  |
 * | `sender.invalid_number`    | not a mobile number: the provider was not called             |
 * | `sender.unknown_template`  | Tencent: a template without its parameter order in settings  |
 * | `sender.throttled`         | the sender's own throttle (`Throttle`): not called           |
 *
 * @since 0.1.0
 */
import { SmsSender } from "@zhongbao/core"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import { inParens, phrase, reason } from "./internal/reason.js"

type SendResult = SmsSender.SendResult
const Result = SmsSender.SendResult

/**
 * When a throttled request may succeed again: after 30 seconds, a minute, an
 * hour, or at the next natural day or month in China Standard Time.
 *
 * @since 0.1.0
 * @category models
 */
export type RetryHint = "thirtySeconds" | "minute" | "hour" | "day" | "month"

/**
 * What a documented code means.
 *
 * @since 0.1.0
 * @category models
 */
export interface CodeInfo {
  readonly result: "RetryLater" | "Permanent" | "Configuration" | "Unknown"
  /** In English. */
  readonly description: string
  /** In Chinese, in the providers' own consoles' terms. */
  readonly zh: string
  readonly retry?: RetryHint
}

/**
 * The language of the reasons a sender writes (`zh-CN`, the default, or `en`).
 * Operators read them as a dead letter's `lastError` (R64); the provider's code
 * and request id are in them either way, as the provider's console names them.
 *
 * @since 0.1.0
 * @category models
 */
export type Language = "zh-CN" | "en"

/**
 * The reasons' language when none is given: Chinese.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultLanguage: Language = "zh-CN"

/**
 * A provider, as the reasons name it.
 *
 * @since 0.1.0
 * @category models
 */
export type Provider = "aliyun" | "tencent"

/**
 * The reasons' language from `SMS_LANGUAGE` (`zh-CN` or `en`; default `zh-CN`).
 *
 * @since 0.1.0
 * @category models
 */
export const languageConfig: Config.Config<Language> = Config.literal(
  "zh-CN",
  "en"
)("SMS_LANGUAGE").pipe(Config.withDefault(defaultLanguage))

const retry = (description: string, zh: string, hint?: RetryHint): CodeInfo =>
  hint === undefined
    ? { result: "RetryLater", description, zh }
    : { result: "RetryLater", description, zh, retry: hint }
const permanent = (description: string, zh: string): CodeInfo => ({ result: "Permanent", description, zh })
const configuration = (description: string, zh: string): CodeInfo => ({
  result: "Configuration",
  description,
  zh
})
const unknown = (description: string, zh: string): CodeInfo => ({ result: "Unknown", description, zh })

/**
 * Aliyun SendSms codes (the SMS API error codes and the OpenAPI gateway's
 * common errors). `isv.BUSINESS_LIMIT_CONTROL` is a per-number limit whose period
 * (minute, hour, day) is read from the reply's message.
 *
 * @since 0.1.0
 * @category aliyun
 */
export const aliyunCodes: Readonly<Record<string, CodeInfo>> = {
  "isv.BUSINESS_LIMIT_CONTROL": retry(
    "per-number limit of the provider reached",
    "该号码触发服务商的发送频率限制",
    "minute"
  ),
  "isv.DAY_LIMIT_CONTROL": retry(
    "the account's daily sending limit reached",
    "账户当日发送量已达上限",
    "day"
  ),
  "isv.MONTH_LIMIT_CONTROL": retry(
    "the account's monthly sending limit reached",
    "账户当月发送量已达上限",
    "month"
  ),
  "isp.SYSTEM_ERROR": retry("provider system error", "服务商系统错误"),
  "isp.GATEWAY_ERROR": retry("provider gateway error", "服务商网关错误"),
  "isp.UNKNOWN": retry("provider error", "服务商错误"),
  Throttling: retry("request rate of the account exceeded", "账户请求频率超限"),
  "Throttling.User": retry("request rate of the account exceeded", "账户请求频率超限"),
  "Throttling.Api": retry("request rate of the API exceeded", "接口请求频率超限"),
  ServiceUnavailable: retry("service unavailable", "服务不可用"),
  InternalError: retry("provider internal error", "服务商内部错误"),
  SignatureNonceUsed: unknown(
    "signature nonce already used: every attempt signs with a new one, so this very request reached the provider before (a retry on the way), and the message may have been sent",
    "签名随机数已被使用：每次尝试都使用新的随机数，说明同一请求此前已到达服务商（途中被重试），短信可能已发出"
  ),
  ServiceTimeout: unknown(
    "the provider timed out: the message may have been sent",
    "服务商处理超时，短信可能已发出"
  ),
  "isv.MOBILE_NUMBER_ILLEGAL": permanent("invalid number", "手机号码格式错误"),
  "isv.NOT_SUPPORTED_COUNTRY": permanent(
    "the number's country is not supported",
    "不支持该号码所属国家或地区"
  ),
  "isv.SMS_CONTENT_ILLEGAL": permanent(
    "the message contains content that may not be sent",
    "短信内容包含禁止发送的内容"
  ),
  "isv.BLACK_KEY_CONTROL_LIMIT": permanent(
    "a template parameter contains a blocked keyword",
    "模板变量中包含屏蔽词"
  ),
  "isv.PARAM_LENGTH_LIMIT": permanent("a template parameter is too long", "模板变量内容超长"),
  "isv.PARAM_NOT_SUPPORT_URL": permanent("a template parameter contains a URL", "模板变量中包含网址"),
  "isv.TEMPLATE_PARAMS_ILLEGAL": permanent(
    "a template parameter does not fit its variable's type",
    "模板变量内容与变量类型不符"
  ),
  "isp.RAM_PERMISSION_DENY": configuration(
    "the access key lacks the SMS permission (AliyunDysmsFullAccess)",
    "AccessKey 缺少短信服务权限（AliyunDysmsFullAccess）"
  ),
  "isv.OUT_OF_SERVICE": configuration("service stopped: balance insufficient", "余额不足，业务已停机"),
  "isv.AMOUNT_NOT_ENOUGH": configuration("balance insufficient", "账户余额不足"),
  "isv.PRODUCT_UN_SUBSCRIPT": configuration(
    "SMS service not activated for this account",
    "账户未开通短信服务"
  ),
  "isv.PRODUCT_UNSUBSCRIBE": configuration("product not activated for this account", "账户未开通该产品"),
  "isv.ACCOUNT_NOT_EXISTS": configuration("account does not exist", "账户不存在"),
  "isv.ACCOUNT_ABNORMAL": configuration("account abnormal", "账户异常"),
  "isv.SMS_TEMPLATE_ILLEGAL": configuration(
    "template not found, not approved, or its variables do not match",
    "模板不存在、未审核通过或变量不匹配"
  ),
  "isv.TEMPLATE_MISSING_PARAMETERS": configuration(
    "a template variable has no parameter",
    "模板变量缺少对应参数"
  ),
  "isv.SMS_SIGNATURE_ILLEGAL": configuration("signature not found or not approved", "签名不存在或未审核通过"),
  "isv.SMS_SIGN_ILLEGAL": configuration("signature may not be used", "签名不可用"),
  "isv.SIGN_STATE_ILLEGAL": configuration("signature unavailable", "签名状态不可用"),
  "isv.SMS_SIGNATURE_SCENE_ILLEGAL": configuration(
    "signature type does not match the template type",
    "签名类型与模板类型不匹配"
  ),
  "isv.EXTEND_CODE_ERROR": configuration("extension code used by several signatures", "扩展码被多个签名使用"),
  "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": configuration(
    "an international template cannot send to mainland numbers",
    "国际/港澳台模板不能发送至中国内地号码"
  ),
  "isv.DENY_IP_RANGE": configuration(
    "requests from this IP region are refused",
    "该 IP 所在地区的请求被拒绝"
  ),
  "isv.INVALID_PARAMETERS": configuration("invalid request parameters", "请求参数无效"),
  "isv.INVALID_JSON_PARAM": configuration(
    "TemplateParam is not valid JSON of strings",
    "TemplateParam 不是由字符串组成的有效 JSON"
  ),
  "isv.MOBILE_COUNT_OVER_LIMIT": configuration("too many numbers in one request", "单次请求的号码数量超限"),
  "isv.SMS_TEST_SIGN_TEMPLATE_LIMIT": configuration(
    "the test signature and template only send to bound test numbers",
    "测试签名和模板只能发送至已绑定的测试号码"
  ),
  "isv.SMS_TEST_TEMPLATE_PARAMS_ILLEGAL": configuration(
    "the test template's parameters are invalid",
    "测试模板的参数无效"
  ),
  "isv.SMS_TEST_NUMBER_LIMIT": configuration(
    "the number is not a bound test number",
    "该号码不是已绑定的测试号码"
  ),
  SignatureDoesNotMatch: configuration(
    "signature does not match: check the access key secret",
    "签名不匹配，请检查 AccessKey Secret"
  ),
  IncompleteSignature: configuration("signature incomplete", "签名不完整"),
  "InvalidAccessKeyId.NotFound": configuration("access key id not found", "AccessKey ID 不存在"),
  "InvalidAccessKeyId.Inactive": configuration("access key disabled", "AccessKey 已禁用"),
  "Forbidden.AccessKeyDisabled": configuration("access key disabled", "AccessKey 已禁用"),
  "Forbidden.RAM": configuration(
    "the access key is not authorised for this action",
    "AccessKey 无权调用此接口"
  ),
  "InvalidTimeStamp.Expired": configuration(
    "request date too far from the provider's clock: check the clock",
    "请求时间与服务商时间相差过大，请检查服务器时钟"
  ),
  "InvalidTimeStamp.Format": configuration("request date malformed", "请求时间格式错误"),
  MissingParameter: configuration("a required parameter is missing", "缺少必填参数"),
  InvalidParameter: configuration("invalid parameter", "参数无效"),
  InvalidVersion: configuration("API version not supported", "不支持该接口版本"),
  "InvalidAction.NotFound": configuration("API action not found", "接口不存在"),
  UnsupportedHTTPMethod: configuration("HTTP method not supported", "不支持该 HTTP 方法")
}

/**
 * Tencent Cloud SendSms codes: the SMS API 3.0 send codes, which arrive per number
 * inside `SendStatusSet` or for the whole request in `Response.Error`, and the
 * API 3.0 common errors.
 *
 * @since 0.1.0
 * @category tencent
 */
export const tencentCodes: Readonly<Record<string, CodeInfo>> = {
  "LimitExceeded.PhoneNumberThirtySecondLimit": retry(
    "per-number 30-second limit reached",
    "该号码 30 秒内发送量已达上限",
    "thirtySeconds"
  ),
  "LimitExceeded.PhoneNumberOneHourLimit": retry(
    "per-number hourly limit reached",
    "该号码 1 小时内发送量已达上限",
    "hour"
  ),
  "LimitExceeded.PhoneNumberDailyLimit": retry(
    "per-number daily limit reached",
    "该号码当日发送量已达上限",
    "day"
  ),
  "LimitExceeded.PhoneNumberSameContentDailyLimit": retry(
    "per-number daily limit for the same content reached",
    "该号码当日相同内容发送量已达上限",
    "day"
  ),
  "LimitExceeded.DeliveryFrequencyLimit": retry(
    "a sending frequency limit reached",
    "触发发送频率限制",
    "thirtySeconds"
  ),
  "LimitExceeded.DailyLimit": retry("the application's daily limit reached", "应用当日发送量已达上限", "day"),
  "LimitExceeded.AppDailyLimit": retry(
    "the application's daily limit reached",
    "应用当日发送量已达上限",
    "day"
  ),
  "LimitExceeded.AppGlobalDailyLimit": retry(
    "the application's international daily limit reached",
    "应用当日国际/港澳台发送量已达上限",
    "day"
  ),
  "LimitExceeded.AppMainlandChinaDailyLimit": retry(
    "the application's mainland daily limit reached",
    "应用当日中国内地发送量已达上限",
    "day"
  ),
  "LimitExceeded.AppCountryOrRegionDailyLimit": retry(
    "the daily limit for this country or region reached",
    "该国家或地区当日发送量已达上限",
    "day"
  ),
  "FailedOperation.MarketingSendTimeConstraint": retry(
    "marketing messages are only sent 8:00–22:00",
    "营销短信只能在 8:00–22:00 发送",
    "hour"
  ),
  RequestLimitExceeded: retry("request rate exceeded", "请求频率超限"),
  LimitExceeded: retry("a quota or frequency limit reached", "配额或频率超限"),
  ServiceUnavailable: retry("service temporarily unavailable", "服务暂时不可用"),
  "RequestLimitExceeded.GlobalRegionUinLimitExceeded": retry(
    "request rate of the account exceeded",
    "账户请求频率超限"
  ),
  "RequestLimitExceeded.IPLimitExceeded": retry("request rate of this IP exceeded", "该 IP 请求频率超限"),
  "RequestLimitExceeded.UinLimitExceeded": retry("request rate of the account exceeded", "账户请求频率超限"),
  InternalError: retry("provider internal error", "服务商内部错误"),
  "InternalError.OtherError": retry("provider error", "服务商错误"),
  ResourceUnavailable: retry("resource unavailable", "资源不可用"),
  "InternalError.Timeout": unknown(
    "the provider timed out sending: the message may have been sent",
    "服务商发送超时，短信可能已发出"
  ),
  "InternalError.SendAndRecvFail": unknown(
    "the provider's send timed out: the message may have been sent",
    "服务商收发超时，短信可能已发出"
  ),
  "InvalidParameterValue.IncorrectPhoneNumber": permanent("invalid number", "手机号码格式错误"),
  "FailedOperation.PhoneNumberParseFail": permanent("number cannot be parsed", "手机号码无法解析"),
  "FailedOperation.PhoneNumberInBlacklist": permanent(
    "number is on the do-not-disturb list",
    "号码在免打扰名单中"
  ),
  "FailedOperation.ContainSensitiveWord": permanent(
    "the message contains sensitive words",
    "短信内容包含敏感词"
  ),
  "InvalidParameterValue.ContentLengthLimit": permanent("the message is too long", "短信内容超长"),
  "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": permanent(
    "a template parameter contains a URL",
    "模板变量中包含网址"
  ),
  "InvalidParameterValue.TemplateParameterFormatError": permanent(
    "a template parameter has the wrong format",
    "模板变量格式错误"
  ),
  "InvalidParameterValue.TemplateParameterLengthLimit": permanent(
    "a template parameter is too long",
    "模板变量内容超长"
  ),
  "UnsupportedOperation.UnsupportedRegion": permanent(
    "SMS to the number's region is not supported",
    "不支持向该号码所在地区发送短信"
  ),
  "AuthFailure.InvalidAuthorization": configuration(
    "Authorization header malformed",
    "Authorization 请求头格式错误"
  ),
  "AuthFailure.InvalidSecretId": configuration("invalid secret id", "SecretId 无效"),
  "AuthFailure.MFAFailure": configuration("MFA failed", "MFA 校验失败"),
  "AuthFailure.SecretIdNotFound": configuration("secret id not found or disabled", "SecretId 不存在或已禁用"),
  "AuthFailure.SignatureExpire": configuration(
    "signature expired: check the clock",
    "签名已过期，请检查服务器时钟"
  ),
  "AuthFailure.SignatureFailure": configuration(
    "signature does not match: check the secret key",
    "签名不匹配，请检查 SecretKey"
  ),
  "AuthFailure.TokenFailure": configuration("token invalid", "Token 无效"),
  "AuthFailure.UnauthorizedOperation": configuration(
    "the key is not authorised for this action",
    "密钥无权调用此接口"
  ),
  ActionOffline: configuration("API action offline", "接口已下线"),
  InvalidAction: configuration("API action not found", "接口不存在"),
  NoSuchProduct: configuration("product not found", "产品不存在"),
  NoSuchVersion: configuration("API version not found", "接口版本不存在"),
  InvalidParameter: configuration("invalid parameter", "参数无效"),
  InvalidParameterValue: configuration("invalid parameter value", "参数取值错误"),
  InvalidRequest: configuration("request body malformed", "请求体格式错误"),
  MissingParameter: configuration("a required parameter is missing", "缺少必填参数"),
  UnknownParameter: configuration("unknown parameter", "未知参数"),
  IpInBlacklist: configuration("the caller's IP is blacklisted", "调用方 IP 在黑名单中"),
  IpNotInWhitelist: configuration("the caller's IP is not in the whitelist", "调用方 IP 不在白名单中"),
  RequestSizeLimitExceeded: configuration("request too large", "请求过大"),
  UnauthorizedOperation: configuration("operation not authorised", "操作未授权"),
  UnsupportedOperation: configuration("operation not supported", "不支持该操作"),
  UnsupportedProtocol: configuration("protocol not supported", "不支持该协议"),
  UnsupportedRegion: configuration("region not supported", "不支持该地域"),
  DryRunOperation: configuration("dry-run request", "试运行请求"),
  FailedOperation: configuration("operation failed", "操作失败"),
  "FailedOperation.FailResolvePacket": configuration("request could not be parsed", "请求解析失败"),
  "FailedOperation.JsonParseFail": configuration("request JSON could not be parsed", "请求 JSON 解析失败"),
  "FailedOperation.InsufficientBalanceInSmsPackage": configuration(
    "SMS package balance insufficient",
    "短信套餐包余量不足"
  ),
  "FailedOperation.SignatureIncorrectOrUnapproved": configuration(
    "signature wrong or not approved",
    "签名错误或未审核通过"
  ),
  "FailedOperation.TemplateIncorrectOrUnapproved": configuration(
    "template wrong or not approved",
    "模板错误或未审核通过"
  ),
  "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": configuration(
    "parameters do not match the approved template",
    "参数与审核通过的模板不匹配"
  ),
  "FailedOperation.TemplateUnapprovedOrNotExist": configuration(
    "template not approved or not found",
    "模板未审核通过或不存在"
  ),
  "InternalError.RequestTimeException": configuration(
    "request time differs from the provider's clock",
    "请求时间与服务商时间不一致"
  ),
  "InternalError.RestApiInterfaceNotExist": configuration("API interface not found", "接口不存在"),
  "InternalError.SigFieldMissing": configuration("signature field missing", "缺少签名字段"),
  "InternalError.SigVerificationFail": configuration("signature verification failed", "签名校验失败"),
  "InternalError.JsonParseFail": configuration("request JSON could not be parsed", "请求 JSON 解析失败"),
  "InvalidParameterValue.SdkAppIdNotExist": configuration("SmsSdkAppId not found", "SmsSdkAppId 不存在"),
  "LimitExceeded.PhoneNumberCountLimit": configuration(
    "too many numbers in one request",
    "单次请求的号码数量超限"
  ),
  "LimitExceeded.AppCountryOrRegionInBlacklist": configuration(
    "the number's country or region is blocked in the console",
    "该号码所属国家或地区已在控制台中屏蔽"
  ),
  "MissingParameter.EmptyPhoneNumberSet": configuration("no number in the request", "请求中没有号码"),
  "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny": configuration(
    "individual accounts may not send marketing messages",
    "个人认证账户不能发送营销短信"
  ),
  "UnauthorizedOperation.RequestIpNotInWhitelist": configuration(
    "the caller's IP is not in the SMS whitelist",
    "调用方 IP 不在短信白名单中"
  ),
  "UnauthorizedOperation.RequestPermissionDeny": configuration("request not permitted", "请求未获许可"),
  "UnauthorizedOperation.SdkAppIdIsDisabled": configuration("SmsSdkAppId disabled", "SmsSdkAppId 已禁用"),
  "UnauthorizedOperation.ServiceSuspendDueToArrears": configuration(
    "service suspended for arrears",
    "欠费停服"
  ),
  "UnauthorizedOperation.SmsSdkAppIdVerifyFail": configuration(
    "SmsSdkAppId does not belong to this account",
    "SmsSdkAppId 不属于该账户"
  ),
  "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": configuration(
    "mainland and international numbers in one request",
    "同一请求中同时包含中国内地号码和国际/港澳台号码"
  ),
  "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone": configuration(
    "a mainland template cannot send to international numbers",
    "中国内地模板不能发送至国际/港澳台号码"
  ),
  "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone": configuration(
    "an international template cannot send to mainland numbers",
    "国际/港澳台模板不能发送至中国内地号码"
  )
}

const chinaOffsetMillis = 8 * 3_600_000

/**
 * Milliseconds from `nowMillis` until a throttled request may succeed again.
 *
 * @since 0.1.0
 * @category hints
 */
export const retryAfterMillis = (hint: RetryHint, nowMillis: number): number => {
  switch (hint) {
    case "thirtySeconds":
      return 30_000
    case "minute":
      return 60_000
    case "hour":
      return 3_600_000
    case "day": {
      const local = nowMillis + chinaOffsetMillis
      return (Math.floor(local / 86_400_000) + 1) * 86_400_000 - local
    }
    case "month": {
      const local = new Date(nowMillis + chinaOffsetMillis)
      const next = Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 1)
      return next - local.getTime()
    }
  }
}

const safeToken = (value: unknown, max: number): string | undefined =>
  typeof value === "string" && value.length > 0 && value.length <= max && /^[A-Za-z0-9._:^-]+$/.test(value)
    ? value
    : undefined

const fromCode = (
  provider: Provider,
  code: string,
  info: CodeInfo,
  requestId: string | undefined,
  nowMillis: number,
  language: Language,
  hint: RetryHint | undefined = info.retry
): SendResult => {
  const failed = {
    reason: reason(language, provider, code, { en: info.description, zh: info.zh }, requestId),
    code
  }
  switch (info.result) {
    case "RetryLater":
      return Result.RetryLater({
        ...failed,
        retryAfterMillis: hint === undefined ? undefined : retryAfterMillis(hint, nowMillis)
      })
    case "Permanent":
      return Result.Permanent(failed)
    case "Configuration":
      return Result.Configuration(failed)
    case "Unknown":
      return Result.Unknown(failed)
  }
}

const unlisted = (code: string): CodeInfo =>
  /^(isp\.|InternalError|Throttling|ServiceUnavailable|RequestLimitExceeded|LimitExceeded)/.test(code)
    ? retry("unlisted provider code", "未收录的服务商错误码")
    : configuration(
        "unlisted provider code: check the provider's console",
        "未收录的服务商错误码，请在服务商控制台中查看"
      )

/**
 * The result for an HTTP status that decides alone: 5xx (outage) and 429
 * answer `RetryLater`, except 504, a timeout on the way: `Unknown`.
 *
 * @since 0.1.0
 * @category http
 */
export const httpStatus = (
  provider: Provider,
  status: number,
  language: Language = defaultLanguage
): SendResult | undefined => {
  const head = `HTTP ${status}`
  const code = `http.${status}`
  if (status === 504)
    return Result.Unknown({
      reason: reason(language, provider, head, {
        en: "gateway timeout, the message may have been sent",
        zh: "网关超时，短信可能已发出"
      }),
      code
    })
  if (status >= 500)
    return Result.RetryLater({
      reason: reason(language, provider, head, { en: "provider outage", zh: "服务商故障" }),
      code
    })
  if (status === 429)
    return Result.RetryLater({
      reason: reason(language, provider, head, { en: "too many requests", zh: "请求过于频繁" }),
      code
    })
  return undefined
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined

const businessLimitHint = (message: unknown): RetryHint => {
  const text = typeof message === "string" ? message : ""
  if (/分钟|minute/i.test(text)) return "minute"
  if (/小时|hour/i.test(text)) return "hour"
  if (/天|日|day/i.test(text)) return "day"
  return "minute"
}

const withoutCode = { en: "reply without a code", zh: "回复中没有错误码" }

/**
 * Classifies an Aliyun SendSms reply: its HTTP status and its parsed JSON body
 * (`{ Code, Message, BizId, RequestId }`), or `undefined` when it was not JSON.
 *
 * @since 0.1.0
 * @category aliyun
 */
export const aliyun = (
  status: number,
  body: unknown,
  nowMillis: number,
  language: Language = defaultLanguage
): SendResult => {
  const reply = record(body)
  const code = safeToken(reply?.Code, 100)
  const requestId = safeToken(reply?.RequestId, 100)
  // A code that says the message may have been sent counts before the status: the
  // gateway answers its errors with a 4xx or 5xx status.
  const listed = code === undefined ? undefined : aliyunCodes[code]
  if (code !== undefined && listed?.result === "Unknown") {
    return fromCode("aliyun", code, listed, requestId, nowMillis, language, listed.retry)
  }
  const byStatus = httpStatus("aliyun", status, language)
  if (byStatus !== undefined) return byStatus
  const head = `HTTP ${status}`
  if (code === undefined) {
    const failed = { reason: reason(language, "aliyun", head, withoutCode, requestId), code: "reply.no_code" }
    return status >= 200 && status < 300 ? Result.Unknown(failed) : Result.Configuration(failed)
  }
  if (code === "OK") {
    if (!(status >= 200 && status < 300))
      return Result.Configuration({
        reason: reason(
          language,
          "aliyun",
          head,
          { en: "OK outside a 2xx reply", zh: "非 2xx 回复中出现 OK" },
          requestId
        ),
        code: "reply.ok_not_2xx"
      })
    const bizId = safeToken(reply?.BizId, 100)
    return Result.Sent({ providerMessageId: bizId ?? `request:${requestId ?? "unknown"}` })
  }
  const info = aliyunCodes[code] ?? unlisted(code)
  const hint = code === "isv.BUSINESS_LIMIT_CONTROL" ? businessLimitHint(reply?.Message) : info.retry
  return fromCode("aliyun", code, info, requestId, nowMillis, language, hint)
}

/**
 * Classifies one Tencent Cloud code, from `Response.Error.Code` or from a
 * number's `SendStatus.Code`.
 *
 * @since 0.1.0
 * @category tencent
 */
export const tencentCode = (
  code: string,
  requestId: string | undefined,
  nowMillis: number,
  language: Language = defaultLanguage
): SendResult =>
  fromCode("tencent", code, tencentCodes[code] ?? unlisted(code), requestId, nowMillis, language)

/**
 * The result for each number of a Tencent Cloud SendSms reply that has a
 * `SendStatusSet`: per-number failures arrive with HTTP 200, so each number is
 * read on its own. Keys are the numbers as the reply spells them (E.164).
 *
 * @since 0.1.0
 * @category tencent
 */
export const tencentStatuses = (
  body: unknown,
  nowMillis: number,
  language: Language = defaultLanguage
): ReadonlyMap<string, SendResult> => {
  const response = record(record(body)?.Response)
  const requestId = safeToken(response?.RequestId, 100)
  const statuses = Array.isArray(response?.SendStatusSet) ? response.SendStatusSet : []
  const results = new Map<string, SendResult>()
  for (const entry of statuses) {
    const status = record(entry)
    const phone = typeof status?.PhoneNumber === "string" ? status.PhoneNumber : undefined
    if (phone === undefined) continue
    const code = safeToken(status?.Code, 100)
    if (code === "Ok") {
      const serialNo = safeToken(status?.SerialNo, 100)
      results.set(phone, Result.Sent({ providerMessageId: serialNo ?? `request:${requestId ?? "unknown"}` }))
    } else if (code === undefined) {
      results.set(
        phone,
        Result.Unknown({
          reason: reason(
            language,
            "tencent",
            undefined,
            { en: "status without a code", zh: "号码的发送状态中没有错误码" },
            requestId
          ),
          code: "reply.no_code"
        })
      )
    } else {
      results.set(phone, tencentCode(code, requestId, nowMillis, language))
    }
  }
  return results
}

/**
 * Classifies a Tencent Cloud SendSms reply for one number (E.164): a request
 * error in `Response.Error`, else that number's entry of `SendStatusSet`. A
 * reply that accepted the request but says nothing of the number is `Unknown`.
 *
 * @since 0.1.0
 * @category tencent
 */
export const tencent = (
  status: number,
  body: unknown,
  phone: string,
  nowMillis: number,
  language: Language = defaultLanguage
): SendResult => {
  const byStatus = httpStatus("tencent", status, language)
  if (byStatus !== undefined) return byStatus
  const head = `HTTP ${status}`
  const response = record(record(body)?.Response)
  const requestId = safeToken(response?.RequestId, 100)
  const error = record(response?.Error)
  if (error !== undefined) {
    const code = safeToken(error.Code, 100)
    return code === undefined
      ? Result.Configuration({
          reason: reason(
            language,
            "tencent",
            head,
            { en: "error without a code", zh: "错误回复中没有错误码" },
            requestId
          ),
          code: "reply.no_code"
        })
      : tencentCode(code, requestId, nowMillis, language)
  }
  if (response === undefined || !(status >= 200 && status < 300)) {
    return status >= 200 && status < 300
      ? Result.Unknown({
          reason: reason(language, "tencent", head, { en: "unreadable reply", zh: "回复无法解读" }),
          code: "reply.unreadable"
        })
      : Result.Configuration({
          reason: reason(
            language,
            "tencent",
            head,
            { en: "unexpected reply", zh: "回复格式异常" },
            requestId
          ),
          code: "reply.unexpected"
        })
  }
  return (
    tencentStatuses(body, nowMillis, language).get(phone) ??
    Result.Unknown({
      reason: reason(
        language,
        "tencent",
        undefined,
        { en: "no status for the number", zh: "回复中没有该号码的发送状态" },
        requestId
      ),
      code: "reply.no_status"
    })
  )
}

const notSentCodes = new Set([
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
])

const errorCodes = (cause: unknown, seen = new Set<unknown>()): Array<string> => {
  if (typeof cause !== "object" || cause === null || seen.has(cause)) return []
  seen.add(cause)
  const error = cause as { code?: unknown; cause?: unknown; errors?: unknown }
  const own = typeof error.code === "string" ? [error.code] : []
  const nested = Array.isArray(error.errors) ? error.errors.flatMap((e) => errorCodes(e, seen)) : []
  return [...own, ...nested, ...errorCodes(error.cause, seen)]
}

/** A request that did not reach the provider, for the error `code` when one is known. */
const notReached = (provider: Provider, code: string | undefined, language: Language): string =>
  phrase(language, provider, {
    en: `not reached: ${code ?? "the connection was not made"}`,
    zh: `未能连接${inParens("zh-CN", code)}`
  })

/**
 * Classifies a transport failure. `sent` is what the transport knows of the
 * connection (`Transport.TransportError`'s `sent`): `true`, it was made, so the
 * request may have been written and the provider may have sent the message:
 * `Unknown` whatever the error's code (an `EHOSTUNREACH` on a connection already
 * made included). `false`, it never was: `RetryLater`. Not known: a connection that
 * could not be made by its code (refused, unresolvable host, unreachable network,
 * connect timeout, a provider certificate that failed verification during the TLS
 * handshake) sent nothing, `RetryLater`; any other failure may have happened after
 * the request was written, `Unknown`.
 *
 * @since 0.1.0
 * @category http
 */
export const transport = (
  provider: Provider,
  cause: unknown,
  sent?: boolean | undefined,
  language: Language = defaultLanguage
): SendResult => {
  const codes = errorCodes(cause)
  const code = codes.find((c) => safeToken(c, 40) !== undefined)
  if (sent === false)
    return Result.RetryLater({ reason: notReached(provider, code, language), code: "sender.not_reached" })
  const notSent = sent === true ? undefined : codes.find((c) => notSentCodes.has(c))
  if (notSent !== undefined)
    return Result.RetryLater({ reason: notReached(provider, notSent, language), code: "sender.not_reached" })
  return Result.Unknown({
    reason: phrase(language, provider, {
      en: `connection failed${inParens("en", code)}: the message may have been sent`,
      zh: `连接中断${inParens("zh-CN", code)}，短信可能已发出`
    }),
    code: "sender.connection_failed"
  })
}

/**
 * The result of a request that got no reply in time: the provider may have
 * sent the message.
 *
 * @since 0.1.0
 * @category http
 */
export const timeout = (
  provider: Provider,
  after: Duration.DurationInput,
  language: Language = defaultLanguage
): SendResult =>
  Result.Unknown({
    reason: phrase(language, provider, {
      en: `no reply within ${Duration.toMillis(after)} ms: the message may have been sent`,
      zh: `${Duration.toMillis(after)} 毫秒内未收到回复，短信可能已发出`
    }),
    code: "sender.timeout"
  })
