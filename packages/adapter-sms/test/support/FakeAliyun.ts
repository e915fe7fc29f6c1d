/**
 * A local fake Aliyun SMS: recomputes every signature from the raw request following
 * the documented ACS3-HMAC-SHA256 algorithm (written here, independently of the
 * signer) and refuses a wrong one, a reused nonce or a stale date as Aliyun does.
 */
import { createHash, createHmac, randomUUID } from "node:crypto"
import * as Fake from "./FakeProvider.js"

export const keyId = "LTAI5tFakeProviderKey"
export const secret = "fake-provider-secret-9f8e7d"

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex")

/** RFC 3986, byte by byte over UTF-8. */
const encode = (text: string) =>
  [...Buffer.from(text, "utf8")]
    .map((byte) => {
      const char = String.fromCharCode(byte)
      return /[A-Za-z0-9\-_.~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
    })
    .join("")

/** The decoded query parameters of a raw request. */
export const paramsOf = (request: Fake.RawRequest): Record<string, string> => {
  const query = request.url.split("?")[1] ?? ""
  return Object.fromEntries(
    query
      .split("&")
      .filter((pair) => pair !== "")
      .map((pair) => {
        const at = pair.indexOf("=")
        return at < 0
          ? [decodeURIComponent(pair), ""]
          : [decodeURIComponent(pair.slice(0, at)), decodeURIComponent(pair.slice(at + 1))]
      })
  )
}

/**
 * The fake Aliyun: checks the signature of the raw request, then answers (a scripted
 * reply, or `OK` with a `BizId`). Used by the adapter's tests and by the repository's
 * benchmarks and reliability runs.
 */
export const aliyun = () => {
  const nonces = new Set<string>()
  let sent = 0
  return (request: Fake.RawRequest, scripted: () => Fake.Reply | undefined): Fake.Handled => {
    const RequestId = randomUUID().toUpperCase()
    const refuse = (status: number, Code: string, Message: string): Fake.Handled => ({
      verified: false,
      reply: Fake.json(status, { RequestId, HostId: "dysmsapi.aliyuncs.com", Code, Message })
    })
    const auth = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(
      request.headers.authorization ?? ""
    )
    if (auth === null)
      return refuse(400, "IncompleteSignature", "The request signature does not conform to standards.")
    const [, credential, signedNames, signature] = auth as unknown as [string, string, string, string]
    if (credential !== keyId)
      return refuse(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    const names = signedNames.split(";")
    const mustSign = ["host", ...Object.keys(request.headers).filter((name) => name.startsWith("x-acs-"))]
    if (mustSign.some((name) => !names.includes(name))) {
      return refuse(400, "IncompleteSignature", "A header that must be signed is not.")
    }
    const bodyHash = sha256(request.body)
    if (request.headers["x-acs-content-sha256"] !== bodyHash) {
      return refuse(400, "SignatureDoesNotMatch", "The body does not match x-acs-content-sha256.")
    }
    const path = request.url.split("?")[0]!
    const canonicalQuery = Object.entries(paramsOf(request))
      .map(([name, value]) => [encode(name), encode(value)] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => `${name}=${value}`)
      .join("&")
    const canonicalHeaders = [...names]
      .sort()
      .map((name) => `${name}:${(request.headers[name] ?? "").trim()}\n`)
      .join("")
    const canonicalRequest = [
      request.method,
      path,
      canonicalQuery,
      canonicalHeaders,
      names.join(";"),
      bodyHash
    ].join("\n")
    const expected = createHmac("sha256", secret)
      .update(`ACS3-HMAC-SHA256\n${sha256(canonicalRequest)}`)
      .digest("hex")
    if (expected !== signature) {
      return refuse(400, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
    }
    const nonce = request.headers["x-acs-signature-nonce"] ?? ""
    if (nonces.has(nonce))
      return refuse(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
    nonces.add(nonce)
    const date = request.headers["x-acs-date"] ?? ""
    if (
      !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(date) ||
      Math.abs(Date.parse(date) - Date.now()) > 15 * 60_000
    ) {
      return refuse(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
    }
    if (request.headers["x-acs-action"] !== "SendSms" || request.headers["x-acs-version"] !== "2017-05-25") {
      return refuse(404, "InvalidAction.NotFound", "Specified api is not found.")
    }
    const params = paramsOf(request)
    if (!params.PhoneNumbers || !params.SignName || !params.TemplateCode) {
      return refuse(400, "MissingParameter", "A parameter is missing.")
    }
    sent += 1
    return {
      verified: true,
      reply: scripted() ?? Fake.json(200, { Code: "OK", Message: "OK", BizId: `90051${sent}^0`, RequestId })
    }
  }
}
