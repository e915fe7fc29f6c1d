import { createHash, createHmac, randomBytes } from "node:crypto"

const emptySha256 = createHash("sha256").digest("hex")

/** @internal Lowercase hex SHA-256 of UTF-8 text. */
export const sha256Hex = (data: string): string =>
  data === "" ? emptySha256 : createHash("sha256").update(data, "utf8").digest("hex")

/** @internal HMAC-SHA256 of UTF-8 text. */
export const hmacSha256 = (key: string | Buffer, data: string): Buffer =>
  createHmac("sha256", key).update(data, "utf8").digest()

const nonceBytes = 16
let pool = Buffer.alloc(0)
let used = 0

/**
 * @internal
 * A random 128-bit nonce as 32 hex characters, cut from a pool of random bytes
 * drawn 256 nonces at a time (one `randomBytes` call per message cost more than
 * the rest of the signature's hashing).
 */
export const nonce = (): string => {
  if (used + nonceBytes > pool.length) {
    pool = randomBytes(nonceBytes * 256)
    used = 0
  }
  used += nonceBytes
  return pool.toString("hex", used - nonceBytes, used)
}
