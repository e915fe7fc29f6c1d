/**
 * A development sender: nothing leaves the machine. Each message is logged at
 * info level with its masked number (`138****5678`), its template id and its
 * message id, never its parameters, and answered `Sent` with an id
 * `console-<n>`. Numbers are validated as by the real senders: an invalid one
 * is answered `Permanent`, its reason in the sender's language (Chinese unless
 * `en` is asked for, as the provider senders').
 *
 * @since 0.1.0
 */
import { Member, SmsSender } from "@zhongbao/core"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { mask } from "./internal/exchange.js"
import * as Phone from "./Phone.js"
import * as Classify from "./Classify.js"

type Sender = Context.Tag.Service<SmsSender.SmsSender>

/**
 * A console sender with its own counter, its reasons in `language`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (language: Classify.Language = Classify.defaultLanguage): Effect.Effect<Sender> =>
  Effect.sync(() => {
    let seq = 0
    return SmsSender.SmsSender.of({
      send: (request) =>
        Effect.gen(function* () {
          const phone = Phone.normalize(request.phone, "CN", language)
          if (Either.isLeft(phone)) {
            yield* Effect.logWarning("sms (console) refused", {
              messageId: request.messageId,
              templateId: request.templateId,
              to: mask(request.phone),
              code: "sender.invalid_number",
              reason: phone.left
            })
            return SmsSender.SendResult.Permanent({
              reason: language === "en" ? `console: ${phone.left}` : `开发用发送器：${phone.left}`,
              code: "sender.invalid_number"
            })
          }
          seq += 1
          const providerMessageId = `console-${seq}`
          yield* Effect.logInfo("sms (console)", {
            messageId: request.messageId,
            templateId: request.templateId,
            to: Member.maskPhone(phone.right),
            providerMessageId
          })
          return SmsSender.SendResult.Sent({ providerMessageId })
        })
    })
  })

/**
 * The console sender as core's `SmsSender`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<SmsSender.SmsSender> = Layer.effect(SmsSender.SmsSender, make())

/**
 * The console sender as core's `SmsSender`, its reasons in the language of
 * `SMS_LANGUAGE` ({@link Classify.languageConfig}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<SmsSender.SmsSender, ConfigError.ConfigError> = Layer.effect(
  SmsSender.SmsSender,
  Effect.flatMap(Classify.languageConfig, make)
)
