/**
 * Signer unit tests with fixed time and nonce. Each expected value is built here,
 * step by step from the providers' documented algorithms with node:crypto, with
 * the canonical strings written out by hand; nothing is taken from the signer.
 */
import { assert, describe, it } from "@effect/vitest"
import { AliyunSms, TencentSms } from "@zhongbao/adapter-sms"
import { Redacted } from "effect"
import { createHash, createHmac } from "node:crypto"

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex")
const hmac = (key: string | Buffer, text: string) => createHmac("sha256", key).update(text, "utf8").digest()

describe("AliyunSms.sign (ACS3-HMAC-SHA256)", () => {
  const accessKeyId = "LTAI5tExampleKeyId"
  const accessKeySecret = "ExampleSecretForTests0123456789"
  const input = {
    method: "POST",
    host: "dysmsapi.aliyuncs.com",
    path: "/",
    query: {
      TemplateParam: '{"number":"ZB20260001","title":"石墨烯 储能"}',
      PhoneNumbers: "13812345678",
      SignName: "众包平台",
      TemplateCode: "SMS_465000001",
      OutId: "m-1"
    },
    body: "",
    action: "SendSms",
    version: "2017-05-25",
    date: "2025-03-01T08:00:00Z",
    nonce: "0123456789abcdef0123456789abcdef",
    accessKeyId: Redacted.make(accessKeyId),
    accessKeySecret: Redacted.make(accessKeySecret)
  }

  // Step 1: the hash of the empty body (a well-known constant).
  const payloadHash = sha256("")
  // Step 2: the query sorted by name, RFC 3986 encoded by hand (UTF-8 bytes, %20 for space).
  const canonicalQuery =
    "OutId=m-1" +
    "&PhoneNumbers=13812345678" +
    "&SignName=%E4%BC%97%E5%8C%85%E5%B9%B3%E5%8F%B0" +
    "&TemplateCode=SMS_465000001" +
    "&TemplateParam=%7B%22number%22%3A%22ZB20260001%22%2C%22title%22%3A%22" +
    "%E7%9F%B3%E5%A2%A8%E7%83%AF%20%E5%82%A8%E8%83%BD%22%7D"
  // Step 3: the signed headers, lower case, sorted, one `name:value\n` line each.
  const canonicalHeaders =
    "host:dysmsapi.aliyuncs.com\n" +
    "x-acs-action:SendSms\n" +
    `x-acs-content-sha256:${payloadHash}\n` +
    "x-acs-date:2025-03-01T08:00:00Z\n" +
    "x-acs-signature-nonce:0123456789abcdef0123456789abcdef\n" +
    "x-acs-version:2017-05-25\n"
  const signedHeaders =
    "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
  // Step 4: the canonical request.
  const canonicalRequest = `POST\n/\n${canonicalQuery}\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`
  // Step 5: the string to sign and the signature.
  const stringToSign = `ACS3-HMAC-SHA256\n${sha256(canonicalRequest)}`
  const signature = hmac(accessKeySecret, stringToSign).toString("hex")

  it("R64: an empty body is signed with the SHA-256 of nothing in x-acs-content-sha256", () => {
    assert.strictEqual(
      AliyunSms.sign(input).headers["x-acs-content-sha256"],
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
  })

  it("R64: signature, Authorization header and query string match the documented algorithm", () => {
    const signed = AliyunSms.sign(input)
    assert.strictEqual(signed.queryString, canonicalQuery)
    assert.strictEqual(signed.signedHeaders, signedHeaders)
    assert.strictEqual(signed.signature, signature)
    assert.deepStrictEqual(signed.headers, {
      "x-acs-action": "SendSms",
      "x-acs-content-sha256": payloadHash,
      "x-acs-date": "2025-03-01T08:00:00Z",
      "x-acs-signature-nonce": "0123456789abcdef0123456789abcdef",
      "x-acs-version": "2017-05-25",
      authorization: `ACS3-HMAC-SHA256 Credential=${accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`
    })
  })

  it("R64: another nonce, date or secret gives another signature", () => {
    const base = AliyunSms.sign(input).signature
    assert.notStrictEqual(
      AliyunSms.sign({ ...input, nonce: "ffffffffffffffffffffffffffffffff" }).signature,
      base
    )
    assert.notStrictEqual(AliyunSms.sign({ ...input, date: "2025-03-01T08:00:01Z" }).signature, base)
    assert.notStrictEqual(
      AliyunSms.sign({ ...input, accessKeySecret: Redacted.make("other") }).signature,
      base
    )
  })

  it("R64: a body is hashed into x-acs-content-sha256", () => {
    const body = "a=1"
    const signed = AliyunSms.sign({ ...input, body })
    assert.strictEqual(signed.headers["x-acs-content-sha256"], sha256(body))
  })

  it("R64: RFC 3986 encoding leaves only A–Z a–z 0–9 - _ . ~", () => {
    assert.strictEqual(AliyunSms.percentEncode("a b*~'()!-_.+/:"), "a%20b%2A~%27%28%29%21-_.%2B%2F%3A")
    // Without a space or a reserved character, on the fast path too.
    assert.strictEqual(AliyunSms.percentEncode("a+b"), "a%2Bb")
    assert.strictEqual(AliyunSms.percentEncode("a/b=c"), "a%2Fb%3Dc")
    assert.strictEqual(AliyunSms.formatDate(Date.UTC(2025, 2, 1, 8, 0, 0, 999)), "2025-03-01T08:00:00Z")
  })

  it("R64: x-acs-date follows the clock: the kept text is that of the latest second, made again for another", () => {
    assert.strictEqual(AliyunSms.formatDate(Date.UTC(2025, 2, 1, 8, 0, 0)), "2025-03-01T08:00:00Z")
    assert.strictEqual(AliyunSms.formatDate(Date.UTC(2025, 2, 1, 8, 0, 0, 400)), "2025-03-01T08:00:00Z")
    assert.strictEqual(AliyunSms.formatDate(Date.UTC(2025, 2, 1, 8, 0, 1, 500)), "2025-03-01T08:00:01Z")
    assert.strictEqual(AliyunSms.formatDate(Date.UTC(2025, 2, 2, 0, 0, 0)), "2025-03-02T00:00:00Z")
    assert.strictEqual(AliyunSms.formatDate(Date.UTC(2025, 2, 1, 8, 0, 0)), "2025-03-01T08:00:00Z")
  })
})

describe("TencentSms.sign (TC3-HMAC-SHA256)", () => {
  const secretId = "AKIDExampleSecretId0123456789"
  const secretKey = "ExampleSecretKey0123456789abcd"
  const host = "sms.tencentcloudapi.com"
  const payload =
    '{"PhoneNumberSet":["+8613812345678"],"SmsSdkAppId":"1400006666","SignName":"众包平台",' +
    '"TemplateId":"1110","TemplateParamSet":["ZB20260001","石墨烯"],"SessionContext":"m-1"}'

  const expected = (timestamp: number, date: string) => {
    // Step 1: the canonical request over content-type and host.
    const canonicalRequest =
      "POST\n/\n\n" +
      "content-type:application/json; charset=utf-8\n" +
      `host:${host}\n` +
      "\n" +
      "content-type;host\n" +
      sha256(payload)
    // Step 2: the credential scope and the string to sign.
    const scope = `${date}/sms/tc3_request`
    const stringToSign = `TC3-HMAC-SHA256\n${timestamp}\n${scope}\n${sha256(canonicalRequest)}`
    // Step 3: the derived signing key and the signature.
    const kDate = hmac(`TC3${secretKey}`, date)
    const kService = hmac(kDate, "sms")
    const kSigning = hmac(kService, "tc3_request")
    const signature = hmac(kSigning, stringToSign).toString("hex")
    return {
      scope,
      signature,
      authorization: `TC3-HMAC-SHA256 Credential=${secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`
    }
  }

  const sign = (timestamp: number) =>
    TencentSms.sign({
      host,
      payload,
      timestamp,
      secretId: Redacted.make(secretId),
      secretKey: Redacted.make(secretKey)
    })

  it("R64: signature and Authorization header match the documented algorithm", () => {
    // 1740816000 is 2025-03-01T08:00:00Z.
    assert.deepStrictEqual(sign(1740816000), expected(1740816000, "2025-03-01"))
  })

  it("R64: the scope's date is the UTC date, not China's", () => {
    // 1740859200 is 2025-03-01T20:00:00Z, already 2025-03-02 in Beijing.
    assert.deepStrictEqual(sign(1740859200), expected(1740859200, "2025-03-01"))
    assert.notStrictEqual(sign(1740859200).signature, expected(1740859200, "2025-03-02").signature)
  })

  it("R64: another timestamp or key gives another signature", () => {
    assert.notStrictEqual(sign(1740816000).signature, sign(1740816001).signature)
    const other = TencentSms.sign({
      host,
      payload,
      timestamp: 1740816000,
      secretId: Redacted.make(secretId),
      secretKey: Redacted.make("other")
    })
    assert.notStrictEqual(other.signature, sign(1740816000).signature)
  })
})
