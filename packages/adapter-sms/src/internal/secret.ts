import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"

/**
 * @internal
 * A required secret read from `name`, as `Redacted`. Not `Config.redacted(name)`: that
 * replaces every failure's message with `"<redacted>"`, so a missing key read
 * `Missing data at ALIYUN_SMS_ACCESS_KEY_ID: "<redacted>"` and an empty one was taken.
 * Here a missing variable keeps effect's message naming it, an empty or blank one is
 * refused naming it, and no message ever holds the value.
 */
export const secret = (name: string): Config.Config<Redacted.Redacted<string>> =>
  Config.string(name).pipe(
    Config.mapOrFail((value) =>
      value.trim() === ""
        ? Either.left(ConfigError.InvalidData([], `${name} is empty: it must hold the provider's key`))
        : Either.right(Redacted.make(value))
    )
  )
