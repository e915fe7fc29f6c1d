import { createHash, createHmac, randomBytes } from "node:crypto"

/** @internal Lowercase hex SHA-256 of UTF-8 text. */
export const sha256Hex = (data: string): string => createHash("sha256").update(data, "utf8").digest("hex")

/** @internal HMAC-SHA256 of UTF-8 text. */
export const hmacSha256 = (key: string | Buffer, data: string): Buffer =>
  createHmac("sha256", key).update(data, "utf8").digest()

/** @internal A random 128-bit nonce as 32 hex characters. */
export const nonce = (): string => randomBytes(16).toString("hex")
