/** @internal The providers' shared configuration readers, each refusing a value it cannot use by its variable's name. */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/**
 * @internal
 * An optional endpoint URL read from `name`: `http:` or `https:`, refused naming the
 * variable otherwise. `Config.url` alone takes `sms-proxy.internal:8443` (its scheme
 * read as `sms-proxy.internal:`), and every message then failed to be sent, dead-
 * lettered after its attempts with a reason that named no variable.
 */
export const endpoint = (name: string): Config.Config<string | undefined> =>
  Config.option(Config.url(name)).pipe(
    Config.mapOrFail((url) =>
      Option.isNone(url)
        ? Either.right(undefined)
        : url.value.protocol === "https:" || url.value.protocol === "http:"
          ? Either.right(String(url.value))
          : Either.left(
              ConfigError.InvalidData(
                [],
                `${name} must be an http:// or https:// URL, such as https://host:443`
              )
            )
    )
  )

/**
 * @internal
 * A send timeout read from `name`, more than zero, refused naming the variable
 * otherwise: with none, every request would end before its connection was made, and
 * each message be dead-lettered as if the provider could not be reached.
 */
export const timeout = (name: string, fallback: Duration.Duration): Config.Config<Duration.Duration> =>
  Config.duration(name).pipe(
    Config.withDefault(fallback),
    Config.mapOrFail((value) =>
      Duration.greaterThan(value, Duration.zero)
        ? Either.right(value)
        : Either.left(ConfigError.InvalidData([], `${name} must be more than zero`))
    )
  )
