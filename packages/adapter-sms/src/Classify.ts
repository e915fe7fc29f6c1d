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
 * @since 0.1.0
 */
import { SmsSender } from "@zhongbao/core"
import * as Duration from "effect/Duration"

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
  readonly description: string
  readonly retry?: RetryHint
}

const retry = (description: string, hint?: RetryHint): CodeInfo =>
  hint === undefined
    ? { result: "RetryLater", description }
    : { result: "RetryLater", description, retry: hint }
const permanent = (description: string): CodeInfo => ({ result: "Permanent", description })
const configuration = (description: string): CodeInfo => ({ result: "Configuration", description })
const unknown = (description: string): CodeInfo => ({ result: "Unknown", description })

/**
 * Aliyun SendSms codes (the SMS API error codes and the OpenAPI gateway's
 * common errors). `isv.BUSINESS_LIMIT_CONTROL` is a per-number limit whose period
 * (minute, hour, day) is read from the reply's message.
 *
 * @since 0.1.0
 * @category aliyun
 */
export const aliyunCodes: Readonly<Record<string, CodeInfo>> = {
  "isv.BUSINESS_LIMIT_CONTROL": retry("per-number limit of the provider reached", "minute"),
  "isv.DAY_LIMIT_CONTROL": retry("the account's daily sending limit reached", "day"),
  "isv.MONTH_LIMIT_CONTROL": retry("the account's monthly sending limit reached", "month"),
  "isp.SYSTEM_ERROR": retry("provider system error"),
  "isp.GATEWAY_ERROR": retry("provider gateway error"),
  "isp.UNKNOWN": retry("provider error"),
  Throttling: retry("request rate of the account exceeded"),
  "Throttling.User": retry("request rate of the account exceeded"),
  "Throttling.Api": retry("request rate of the API exceeded"),
  ServiceUnavailable: retry("service unavailable"),
  InternalError: retry("provider internal error"),
  SignatureNonceUsed: unknown(
    "signature nonce already used: every attempt signs with a new one, so this very request reached the provider before (a retry on the way), and the message may have been sent"
  ),
  ServiceTimeout: unknown("the provider timed out: the message may have been sent"),
  "isv.MOBILE_NUMBER_ILLEGAL": permanent("invalid number"),
  "isv.NOT_SUPPORTED_COUNTRY": permanent("the number's country is not supported"),
  "isv.SMS_CONTENT_ILLEGAL": permanent("the message contains content that may not be sent"),
  "isv.BLACK_KEY_CONTROL_LIMIT": permanent("a template parameter contains a blocked keyword"),
  "isv.PARAM_LENGTH_LIMIT": permanent("a template parameter is too long"),
  "isv.PARAM_NOT_SUPPORT_URL": permanent("a template parameter contains a URL"),
  "isv.TEMPLATE_PARAMS_ILLEGAL": permanent("a template parameter does not fit its variable's type"),
  "isp.RAM_PERMISSION_DENY": configuration("the access key lacks the SMS permission (AliyunDysmsFullAccess)"),
  "isv.OUT_OF_SERVICE": configuration("service stopped: balance insufficient"),
  "isv.AMOUNT_NOT_ENOUGH": configuration("balance insufficient"),
  "isv.PRODUCT_UN_SUBSCRIPT": configuration("SMS service not activated for this account"),
  "isv.PRODUCT_UNSUBSCRIBE": configuration("product not activated for this account"),
  "isv.ACCOUNT_NOT_EXISTS": configuration("account does not exist"),
  "isv.ACCOUNT_ABNORMAL": configuration("account abnormal"),
  "isv.SMS_TEMPLATE_ILLEGAL": configuration(
    "template not found, not approved, or its variables do not match"
  ),
  "isv.TEMPLATE_MISSING_PARAMETERS": configuration("a template variable has no parameter"),
  "isv.SMS_SIGNATURE_ILLEGAL": configuration("signature not found or not approved"),
  "isv.SMS_SIGN_ILLEGAL": configuration("signature may not be used"),
  "isv.SIGN_STATE_ILLEGAL": configuration("signature unavailable"),
  "isv.SMS_SIGNATURE_SCENE_ILLEGAL": configuration("signature type does not match the template type"),
  "isv.EXTEND_CODE_ERROR": configuration("extension code used by several signatures"),
  "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": configuration(
    "an international template cannot send to mainland numbers"
  ),
  "isv.DENY_IP_RANGE": configuration("requests from this IP region are refused"),
  "isv.INVALID_PARAMETERS": configuration("invalid request parameters"),
  "isv.INVALID_JSON_PARAM": configuration("TemplateParam is not valid JSON of strings"),
  "isv.MOBILE_COUNT_OVER_LIMIT": configuration("too many numbers in one request"),
  "isv.SMS_TEST_SIGN_TEMPLATE_LIMIT": configuration(
    "the test signature and template only send to bound test numbers"
  ),
  "isv.SMS_TEST_TEMPLATE_PARAMS_ILLEGAL": configuration("the test template's parameters are invalid"),
  "isv.SMS_TEST_NUMBER_LIMIT": configuration("the number is not a bound test number"),
  SignatureDoesNotMatch: configuration("signature does not match: check the access key secret"),
  IncompleteSignature: configuration("signature incomplete"),
  "InvalidAccessKeyId.NotFound": configuration("access key id not found"),
  "InvalidAccessKeyId.Inactive": configuration("access key disabled"),
  "Forbidden.AccessKeyDisabled": configuration("access key disabled"),
  "Forbidden.RAM": configuration("the access key is not authorised for this action"),
  "InvalidTimeStamp.Expired": configuration(
    "request date too far from the provider's clock: check the clock"
  ),
  "InvalidTimeStamp.Format": configuration("request date malformed"),
  MissingParameter: configuration("a required parameter is missing"),
  InvalidParameter: configuration("invalid parameter"),
  InvalidVersion: configuration("API version not supported"),
  "InvalidAction.NotFound": configuration("API action not found"),
  UnsupportedHTTPMethod: configuration("HTTP method not supported")
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
  "LimitExceeded.PhoneNumberThirtySecondLimit": retry("per-number 30-second limit reached", "thirtySeconds"),
  "LimitExceeded.PhoneNumberOneHourLimit": retry("per-number hourly limit reached", "hour"),
  "LimitExceeded.PhoneNumberDailyLimit": retry("per-number daily limit reached", "day"),
  "LimitExceeded.PhoneNumberSameContentDailyLimit": retry(
    "per-number daily limit for the same content reached",
    "day"
  ),
  "LimitExceeded.DeliveryFrequencyLimit": retry("a sending frequency limit reached", "thirtySeconds"),
  "LimitExceeded.DailyLimit": retry("the application's daily limit reached", "day"),
  "LimitExceeded.AppDailyLimit": retry("the application's daily limit reached", "day"),
  "LimitExceeded.AppGlobalDailyLimit": retry("the application's international daily limit reached", "day"),
  "LimitExceeded.AppMainlandChinaDailyLimit": retry("the application's mainland daily limit reached", "day"),
  "LimitExceeded.AppCountryOrRegionDailyLimit": retry(
    "the daily limit for this country or region reached",
    "day"
  ),
  "FailedOperation.MarketingSendTimeConstraint": retry("marketing messages are only sent 8:00–22:00", "hour"),
  RequestLimitExceeded: retry("request rate exceeded"),
  LimitExceeded: retry("a quota or frequency limit reached"),
  ServiceUnavailable: retry("service temporarily unavailable"),
  "RequestLimitExceeded.GlobalRegionUinLimitExceeded": retry("request rate of the account exceeded"),
  "RequestLimitExceeded.IPLimitExceeded": retry("request rate of this IP exceeded"),
  "RequestLimitExceeded.UinLimitExceeded": retry("request rate of the account exceeded"),
  InternalError: retry("provider internal error"),
  "InternalError.OtherError": retry("provider error"),
  ResourceUnavailable: retry("resource unavailable"),
  "InternalError.Timeout": unknown("the provider timed out sending: the message may have been sent"),
  "InternalError.SendAndRecvFail": unknown("the provider's send timed out: the message may have been sent"),
  "InvalidParameterValue.IncorrectPhoneNumber": permanent("invalid number"),
  "FailedOperation.PhoneNumberParseFail": permanent("number cannot be parsed"),
  "FailedOperation.PhoneNumberInBlacklist": permanent("number is on the do-not-disturb list"),
  "FailedOperation.ContainSensitiveWord": permanent("the message contains sensitive words"),
  "InvalidParameterValue.ContentLengthLimit": permanent("the message is too long"),
  "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": permanent(
    "a template parameter contains a URL"
  ),
  "InvalidParameterValue.TemplateParameterFormatError": permanent(
    "a template parameter has the wrong format"
  ),
  "InvalidParameterValue.TemplateParameterLengthLimit": permanent("a template parameter is too long"),
  "UnsupportedOperation.UnsupportedRegion": permanent("SMS to the number's region is not supported"),
  "AuthFailure.InvalidAuthorization": configuration("Authorization header malformed"),
  "AuthFailure.InvalidSecretId": configuration("invalid secret id"),
  "AuthFailure.MFAFailure": configuration("MFA failed"),
  "AuthFailure.SecretIdNotFound": configuration("secret id not found or disabled"),
  "AuthFailure.SignatureExpire": configuration("signature expired: check the clock"),
  "AuthFailure.SignatureFailure": configuration("signature does not match: check the secret key"),
  "AuthFailure.TokenFailure": configuration("token invalid"),
  "AuthFailure.UnauthorizedOperation": configuration("the key is not authorised for this action"),
  ActionOffline: configuration("API action offline"),
  InvalidAction: configuration("API action not found"),
  NoSuchProduct: configuration("product not found"),
  NoSuchVersion: configuration("API version not found"),
  InvalidParameter: configuration("invalid parameter"),
  InvalidParameterValue: configuration("invalid parameter value"),
  InvalidRequest: configuration("request body malformed"),
  MissingParameter: configuration("a required parameter is missing"),
  UnknownParameter: configuration("unknown parameter"),
  IpInBlacklist: configuration("the caller's IP is blacklisted"),
  IpNotInWhitelist: configuration("the caller's IP is not in the whitelist"),
  RequestSizeLimitExceeded: configuration("request too large"),
  UnauthorizedOperation: configuration("operation not authorised"),
  UnsupportedOperation: configuration("operation not supported"),
  UnsupportedProtocol: configuration("protocol not supported"),
  UnsupportedRegion: configuration("region not supported"),
  DryRunOperation: configuration("dry-run request"),
  FailedOperation: configuration("operation failed"),
  "FailedOperation.FailResolvePacket": configuration("request could not be parsed"),
  "FailedOperation.JsonParseFail": configuration("request JSON could not be parsed"),
  "FailedOperation.InsufficientBalanceInSmsPackage": configuration("SMS package balance insufficient"),
  "FailedOperation.SignatureIncorrectOrUnapproved": configuration("signature wrong or not approved"),
  "FailedOperation.TemplateIncorrectOrUnapproved": configuration("template wrong or not approved"),
  "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": configuration(
    "parameters do not match the approved template"
  ),
  "FailedOperation.TemplateUnapprovedOrNotExist": configuration("template not approved or not found"),
  "InternalError.RequestTimeException": configuration("request time differs from the provider's clock"),
  "InternalError.RestApiInterfaceNotExist": configuration("API interface not found"),
  "InternalError.SigFieldMissing": configuration("signature field missing"),
  "InternalError.SigVerificationFail": configuration("signature verification failed"),
  "InternalError.JsonParseFail": configuration("request JSON could not be parsed"),
  "InvalidParameterValue.SdkAppIdNotExist": configuration("SmsSdkAppId not found"),
  "LimitExceeded.PhoneNumberCountLimit": configuration("too many numbers in one request"),
  "LimitExceeded.AppCountryOrRegionInBlacklist": configuration(
    "the number's country or region is blocked in the console"
  ),
  "MissingParameter.EmptyPhoneNumberSet": configuration("no number in the request"),
  "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny": configuration(
    "individual accounts may not send marketing messages"
  ),
  "UnauthorizedOperation.RequestIpNotInWhitelist": configuration(
    "the caller's IP is not in the SMS whitelist"
  ),
  "UnauthorizedOperation.RequestPermissionDeny": configuration("request not permitted"),
  "UnauthorizedOperation.SdkAppIdIsDisabled": configuration("SmsSdkAppId disabled"),
  "UnauthorizedOperation.ServiceSuspendDueToArrears": configuration("service suspended for arrears"),
  "UnauthorizedOperation.SmsSdkAppIdVerifyFail": configuration("SmsSdkAppId does not belong to this account"),
  "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": configuration(
    "mainland and international numbers in one request"
  ),
  "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone": configuration(
    "a mainland template cannot send to international numbers"
  ),
  "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone": configuration(
    "an international template cannot send to mainland numbers"
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

const suffix = (requestId: string | undefined) => (requestId === undefined ? "" : ` (request ${requestId})`)

const fromCode = (
  provider: "aliyun" | "tencent",
  code: string,
  info: CodeInfo,
  requestId: string | undefined,
  nowMillis: number,
  hint: RetryHint | undefined = info.retry
): SendResult => {
  const reason = `${provider} ${code}: ${info.description}${suffix(requestId)}`
  switch (info.result) {
    case "RetryLater":
      return Result.RetryLater({
        reason,
        retryAfterMillis: hint === undefined ? undefined : retryAfterMillis(hint, nowMillis)
      })
    case "Permanent":
      return Result.Permanent({ reason })
    case "Configuration":
      return Result.Configuration({ reason })
    case "Unknown":
      return Result.Unknown({ reason })
  }
}

const unlisted = (code: string): CodeInfo =>
  /^(isp\.|InternalError|Throttling|ServiceUnavailable|RequestLimitExceeded|LimitExceeded)/.test(code)
    ? retry("unlisted provider code")
    : configuration("unlisted provider code: check the provider's console")

/**
 * The result for an HTTP status that decides alone: 5xx (outage) and 429
 * answer `RetryLater`, except 504, a timeout on the way: `Unknown`.
 *
 * @since 0.1.0
 * @category http
 */
export const httpStatus = (provider: "aliyun" | "tencent", status: number): SendResult | undefined => {
  if (status === 504)
    return Result.Unknown({ reason: `${provider} HTTP 504: gateway timeout, the message may have been sent` })
  if (status >= 500) return Result.RetryLater({ reason: `${provider} HTTP ${status}: provider outage` })
  if (status === 429) return Result.RetryLater({ reason: `${provider} HTTP 429: too many requests` })
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

/**
 * Classifies an Aliyun SendSms reply: its HTTP status and its parsed JSON body
 * (`{ Code, Message, BizId, RequestId }`), or `undefined` when it was not JSON.
 *
 * @since 0.1.0
 * @category aliyun
 */
export const aliyun = (status: number, body: unknown, nowMillis: number): SendResult => {
  const reply = record(body)
  const code = safeToken(reply?.Code, 100)
  const requestId = safeToken(reply?.RequestId, 100)
  // A code that says the message may have been sent counts before the status: the
  // gateway answers its errors with a 4xx or 5xx status.
  const listed = code === undefined ? undefined : aliyunCodes[code]
  if (code !== undefined && listed?.result === "Unknown") {
    return fromCode("aliyun", code, listed, requestId, nowMillis, listed.retry)
  }
  const byStatus = httpStatus("aliyun", status)
  if (byStatus !== undefined) return byStatus
  if (code === undefined) {
    return status >= 200 && status < 300
      ? Result.Unknown({ reason: `aliyun HTTP ${status}: reply without a code${suffix(requestId)}` })
      : Result.Configuration({ reason: `aliyun HTTP ${status}: reply without a code${suffix(requestId)}` })
  }
  if (code === "OK") {
    if (!(status >= 200 && status < 300))
      return Result.Configuration({
        reason: `aliyun HTTP ${status}: OK outside a 2xx reply${suffix(requestId)}`
      })
    const bizId = safeToken(reply?.BizId, 100)
    return Result.Sent({ providerMessageId: bizId ?? `request:${requestId ?? "unknown"}` })
  }
  const info = aliyunCodes[code] ?? unlisted(code)
  const hint = code === "isv.BUSINESS_LIMIT_CONTROL" ? businessLimitHint(reply?.Message) : info.retry
  return fromCode("aliyun", code, info, requestId, nowMillis, hint)
}

/**
 * Classifies one Tencent Cloud code, from `Response.Error.Code` or from a
 * number's `SendStatus.Code`.
 *
 * @since 0.1.0
 * @category tencent
 */
export const tencentCode = (code: string, requestId: string | undefined, nowMillis: number): SendResult =>
  fromCode("tencent", code, tencentCodes[code] ?? unlisted(code), requestId, nowMillis)

/**
 * The result for each number of a Tencent Cloud SendSms reply that has a
 * `SendStatusSet`: per-number failures arrive with HTTP 200, so each number is
 * read on its own. Keys are the numbers as the reply spells them (E.164).
 *
 * @since 0.1.0
 * @category tencent
 */
export const tencentStatuses = (body: unknown, nowMillis: number): ReadonlyMap<string, SendResult> => {
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
      results.set(phone, Result.Unknown({ reason: `tencent: status without a code${suffix(requestId)}` }))
    } else {
      results.set(phone, tencentCode(code, requestId, nowMillis))
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
export const tencent = (status: number, body: unknown, phone: string, nowMillis: number): SendResult => {
  const byStatus = httpStatus("tencent", status)
  if (byStatus !== undefined) return byStatus
  const response = record(record(body)?.Response)
  const requestId = safeToken(response?.RequestId, 100)
  const error = record(response?.Error)
  if (error !== undefined) {
    const code = safeToken(error.Code, 100)
    return code === undefined
      ? Result.Configuration({ reason: `tencent HTTP ${status}: error without a code${suffix(requestId)}` })
      : tencentCode(code, requestId, nowMillis)
  }
  if (response === undefined || !(status >= 200 && status < 300)) {
    return status >= 200 && status < 300
      ? Result.Unknown({ reason: `tencent HTTP ${status}: unreadable reply` })
      : Result.Configuration({ reason: `tencent HTTP ${status}: unexpected reply${suffix(requestId)}` })
  }
  return (
    tencentStatuses(body, nowMillis).get(phone) ??
    Result.Unknown({ reason: `tencent: no status for the number${suffix(requestId)}` })
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
  provider: "aliyun" | "tencent",
  cause: unknown,
  sent?: boolean | undefined
): SendResult => {
  const codes = errorCodes(cause)
  const code = codes.find((c) => safeToken(c, 40) !== undefined)
  if (sent === false) {
    return Result.RetryLater({ reason: `${provider} not reached: ${code ?? "the connection was not made"}` })
  }
  const notSent = sent === true ? undefined : codes.find((c) => notSentCodes.has(c))
  if (notSent !== undefined) return Result.RetryLater({ reason: `${provider} not reached: ${notSent}` })
  return Result.Unknown({
    reason: `${provider} connection failed${code === undefined ? "" : ` (${code})`}: the message may have been sent`
  })
}

/**
 * The result of a request that got no reply in time: the provider may have
 * sent the message.
 *
 * @since 0.1.0
 * @category http
 */
export const timeout = (provider: "aliyun" | "tencent", after: Duration.DurationInput): SendResult =>
  Result.Unknown({
    reason: `${provider} no reply within ${Duration.toMillis(after)} ms: the message may have been sent`
  })
