/**
 * @internal
 * How the senders' reasons are written, in either language (`Classify.Language`):
 * one place for the provider's name, the separators and the request id.
 */
import type { Language, Provider } from "../Classify.js"

const names: Record<Language, Record<Provider, string>> = {
  en: { aliyun: "aliyun", tencent: "tencent" },
  "zh-CN": { aliyun: "阿里云", tencent: "腾讯云" }
}

/**
 * A reason in `language`: `<provider> <head>: <text> (request <id>)` in English,
 * `<服务商> <head>：<说明>（请求 <id>）` in Chinese. `head` (a provider code, an HTTP
 * status) and the request id are the same in both.
 */
export const reason = (
  language: Language,
  provider: Provider,
  head: string | undefined,
  text: { readonly en: string; readonly zh: string },
  requestId?: string | undefined
): string => {
  const lead = head === undefined ? names[language][provider] : `${names[language][provider]} ${head}`
  if (language === "en")
    return `${lead}: ${text.en}${requestId === undefined ? "" : ` (request ${requestId})`}`
  return `${lead}：${text.zh}${requestId === undefined ? "" : `（请求 ${requestId}）`}`
}

/**
 * A reason that is a phrase about the provider, without a code or status:
 * `<provider> <phrase>` in English, `<服务商>：<说明>` in Chinese.
 */
export const phrase = (
  language: Language,
  provider: Provider,
  text: { readonly en: string; readonly zh: string }
): string => (language === "en" ? `${provider} ${text.en}` : `${names[language][provider]}：${text.zh}`)

/** ` (detail)` in English, `（detail）` in Chinese, nothing without a detail. */
export const inParens = (language: Language, detail: string | undefined) =>
  detail === undefined ? "" : language === "en" ? ` (${detail})` : `（${detail}）`
