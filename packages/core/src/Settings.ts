/**
 * Platform settings (§10 of the domain; the README's "Settings" lists them). Every deployment starts from {@link defaults}
 * and overrides what it chooses through {@link layer}; the settings are validated
 * once, when the layer is built.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { firstIssue, InvalidInput } from "./Errors.js"
import { Name } from "./Text.js"

/**
 * A service mode (R14): whether demands published in it take public responses, and
 * which kinds of publisher may choose it (`publishers`; any publisher when absent).
 * The default `institution_service` (机构自行服务: the publishing institution serves
 * the demand itself) is for transfer institutions only.
 *
 * @since 0.1.0
 * @category models
 */
export const ServiceMode = Schema.Struct({
  id: Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9_]{0,39}$/)),
  name: Name(40),
  acceptsResponses: Schema.Boolean,
  publishers: Schema.optional(
    Schema.Array(Schema.Literal("enterprise", "transfer_institution")).pipe(Schema.minItems(1))
  )
})

/** @since 0.1.0 @category models */
export type ServiceMode = typeof ServiceMode.Type

/**
 * An SMS template for one notifying event (R64): the provider's template id and the
 * names of its parameters, in order.
 *
 * @since 0.1.0
 * @category models
 */
export const SmsTemplate = Schema.Struct({
  templateId: Name(100),
  params: Schema.Array(Schema.String)
})

/** @since 0.1.2 @category models */
export type SmsTemplate = typeof SmsTemplate.Type

/**
 * The events that notify (R64).
 *
 * @since 0.1.0
 * @category models
 */
export const NotificationEvent = Schema.Literal(
  "response_adopted",
  "response_not_adopted",
  "demand_approved",
  "demand_rejected",
  "response_received",
  "consultation_message",
  "commission_requested",
  "commission_accepted",
  "commission_declined",
  "reward_approved",
  "reward_rejected"
)

/** @since 0.1.0 @category models */
export type NotificationEvent = typeof NotificationEvent.Type

/**
 * The values each notifying event gives its SMS template (R64), by name: a
 * template's `params` name some of them, in the order its provider expects. A
 * name that is not among its event's values is refused when the settings are
 * built: it would be sent empty in every message.
 *
 * The rejections' `reason` (R13, R53: the operator's reason, which the recipient
 * reads in the member center anyway) is offered but named by no default template: a
 * platform whose provider approves a template with it adds it to `params`. Like every
 * value it is cut to `smsParamMaxLength`.
 *
 * @since 0.1.2
 * @category models
 */
export const eventValues = {
  response_adopted: ["number", "title"],
  response_not_adopted: ["number", "title", "reason"],
  demand_approved: ["number", "title"],
  demand_rejected: ["title", "reason"],
  response_received: ["number", "title"],
  consultation_message: ["number", "title"],
  commission_requested: ["enterprise"],
  commission_accepted: ["institution"],
  commission_declined: ["institution"],
  reward_approved: ["round", "amount"],
  reward_rejected: ["round", "reason"]
} as const satisfies { readonly [E in NotificationEvent]: ReadonlyArray<string> }

/**
 * The values a notification of `E` carries (see {@link eventValues}).
 *
 * @since 0.1.2
 * @category models
 */
export type EventValues<E extends NotificationEvent> = {
  readonly [K in (typeof eventValues)[E][number]]: string
}

/** The first name of a template that its event does not give, with where it is. */
const unknownParam = (templates: { readonly [E in NotificationEvent]: SmsTemplate }) => {
  for (const [event, template] of Object.entries(templates) as Array<[NotificationEvent, SmsTemplate]>) {
    const known: ReadonlyArray<string> = eventValues[event]
    const at = template.params.findIndex((name) => !known.includes(name))
    if (at >= 0)
      return {
        path: ["smsTemplates", event, "params", at],
        message: `${JSON.stringify(template.params[at])} is not a value of ${event}, which gives ${known.join(", ")} (R64)`
      }
  }
  return undefined
}

/**
 * An IANA zone name as `Area/Location` (or `UTC`) that `Intl` knows. Abbreviations and
 * legacy names without an area (`PRC`, `EST5EDT`) are refused: JavaScript resolves
 * `CST` to America/Chicago and `IST` to Asia/Kolkata, while PostgreSQL's `AT TIME ZONE`
 * reads them as fixed offsets (−6, +2), so the adapters would disagree on calendar days
 * (R13, R62). Links with an area (`US/Pacific`, `Asia/Kolkata`) are accepted: both
 * resolve them alike. Letter case is not checked (`Intl` and PostgreSQL both read
 * `Asia/shanghai`); messages show the name as written.
 */
const isTimeZone = (zone: string) =>
  /^(?:UTC|[A-Z][A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)+)$/.test(zone) && DateTime.zoneMakeNamed(zone)._tag === "Some"

/** The first of `names` an earlier one has, as a filter's issue at `pathOf` its index. */
const repeated = (
  names: ReadonlyArray<string>,
  pathOf: (i: number) => ReadonlyArray<string | number>,
  what: string
) => {
  const i = names.findIndex((name, at) => names.indexOf(name) !== at)
  return i === -1
    ? undefined
    : { path: pathOf(i), message: `${what} is named once: ${JSON.stringify(names[i])} is repeated` }
}

/**
 * The largest `fileSizeLimitBytes` a platform may set: 512 MiB. A file is checked
 * (its type read from its bytes, its SHA-256) and stored whole, as one value:
 * PostgreSQL's `bytea` and its protocol's messages stop short of 1 GiB, where the
 * database drops the connection, and the upload would be answered "unavailable"
 * however often it is sent again.
 *
 * @since 0.2.0
 * @category constants
 */
export const maxFileSizeLimitBytes = 512 * 1024 * 1024

/**
 * The settings a platform chooses. `timeZone` is an IANA name; money is in fen. A
 * demand number (`numberingPrefix`, the year, `sequenceWidth` digits, R12) must fit
 * `smsParamMaxLength`, which SMS template values are cut to (R64): the approval SMS
 * carries it whole (a year with more demands than `sequenceWidth` digits count
 * lengthens its numbers). The outbox's retries (R64) wait `backoffBaseMillis · 2^n`
 * up to `backoffMaxMillis` (which must not be below the base), half of it random;
 * by default the 14 attempts of a message span 38 to 77 minutes of a provider's
 * outage before it is dead-lettered. A message sent or dead-lettered more than
 * `outbox.retentionDays` ago (default 184: six months of any calendar, the least
 * China's Cybersecurity Law keeps network logs) is deleted by the sweeper, with the
 * recipient's phone it holds; its de-duplication goes with it, so a notice whose key
 * comes again after that (a response withdrawn and sent again in a round longer than
 * the retention) is sent again.
 *
 * @since 0.1.0
 * @category models
 */
export const PlatformSettings = Schema.Struct({
  numberingPrefix: Schema.String.pipe(Schema.pattern(/^[A-Z]{1,8}$/)),
  sequenceWidth: Schema.Int.pipe(Schema.between(1, 9)),
  timeZone: Schema.String.pipe(
    Schema.filter(isTimeZone, {
      message: () => "an IANA time zone name, Area/Location or UTC (not an abbreviation such as CST)"
    })
  ),
  selectionWindowDays: Schema.Int.pipe(Schema.between(0, 366)),
  minDeadlineDays: Schema.Int.pipe(Schema.between(1, 366)),
  maxDeadlineDays: Schema.Int.pipe(Schema.between(1, 36_500)),
  singleAdoption: Schema.Boolean,
  serviceModes: Schema.Array(ServiceMode).pipe(Schema.minItems(1)),
  technicalFields: Schema.Array(Name(40)).pipe(Schema.minItems(1)),
  smsTemplates: Schema.Record({ key: NotificationEvent, value: SmsTemplate }),
  fileSizeLimitBytes: Schema.Int.pipe(Schema.between(1, maxFileSizeLimitBytes)),
  smsParamMaxLength: Schema.Int.pipe(Schema.between(1, 500)),
  idempotencyKeyHours: Schema.Int.pipe(Schema.between(24, 24 * 365)),
  outbox: Schema.Struct({
    batchSize: Schema.Int.pipe(Schema.between(1, 10_000)),
    sendConcurrency: Schema.Int.pipe(Schema.between(1, 1000)),
    leaseMillis: Schema.Int.pipe(Schema.between(100, 24 * 3600 * 1000)),
    sendTimeoutMillis: Schema.Int.pipe(Schema.between(1, 600_000)),
    maxAttempts: Schema.Int.pipe(Schema.between(1, 100)),
    backoffBaseMillis: Schema.Int.pipe(Schema.between(1, 3600_000)),
    backoffMaxMillis: Schema.Int.pipe(Schema.between(1, 7 * 24 * 3600_000)),
    idleMillis: Schema.Int.pipe(Schema.between(1, 600_000)),
    retentionDays: Schema.Int.pipe(Schema.between(1, 36_500))
  }).pipe(
    Schema.filter((o) =>
      o.leaseMillis >= 3 * o.sendTimeoutMillis
        ? undefined
        : {
            path: ["leaseMillis"],
            message:
              "outbox.leaseMillis must be at least three times outbox.sendTimeoutMillis: a send starts only while more than two send timeouts of its lease remain (R64)"
          }
    ),
    Schema.filter((o) =>
      o.backoffMaxMillis >= o.backoffBaseMillis
        ? undefined
        : {
            path: ["backoffMaxMillis"],
            message: `backoffMaxMillis (${o.backoffMaxMillis}) must be at least backoffBaseMillis (${o.backoffBaseMillis}): the delays of R64's backoff grow from the base up to the cap`
          }
    )
  )
}).pipe(
  Schema.filter((s) =>
    repeated(
      s.serviceModes.map((m) => m.id),
      (i) => ["serviceModes", i, "id"],
      "a service mode's id (R14)"
    )
  ),
  Schema.filter((s) => repeated(s.technicalFields, (i) => ["technicalFields", i], "a technical field")),
  Schema.filter((s) => unknownParam(s.smsTemplates)),
  Schema.filter((s) =>
    s.maxDeadlineDays >= s.minDeadlineDays
      ? undefined
      : {
          path: ["maxDeadlineDays"],
          message: `maxDeadlineDays (${s.maxDeadlineDays}) must be at least minDeadlineDays (${s.minDeadlineDays}): no deadline could be chosen otherwise (R13)`
        }
  ),
  Schema.filter((s) =>
    s.numberingPrefix.length + 4 + s.sequenceWidth <= s.smsParamMaxLength
      ? undefined
      : {
          path: ["sequenceWidth"],
          message: `a demand number (numberingPrefix, the year's 4 digits, sequenceWidth digits) must fit smsParamMaxLength (${s.smsParamMaxLength}) characters, so that the approval SMS carries it whole (R12, R64)`
        }
  )
)

/** @since 0.1.0 @category models */
export type PlatformSettings = typeof PlatformSettings.Type

/**
 * The defaults of §10 of the domain.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults: PlatformSettings = {
  numberingPrefix: "ZB",
  sequenceWidth: 4,
  timeZone: "Asia/Shanghai",
  selectionWindowDays: 14,
  minDeadlineDays: 1,
  maxDeadlineDays: 365,
  singleAdoption: false,
  serviceModes: [
    { id: "cooperative", name: "合作服务", acceptsResponses: true },
    {
      id: "institution_service",
      name: "机构自行服务",
      acceptsResponses: false,
      publishers: ["transfer_institution"]
    }
  ],
  technicalFields: [
    "电子信息",
    "光机电一体化",
    "生物技术与制药",
    "新材料及应用",
    "现代农业",
    "新能源与高效节能",
    "资源与环境",
    "高科技服务业",
    "海洋",
    "社会公共事业",
    "医疗卫生",
    "其他"
  ],
  smsTemplates: {
    response_adopted: { templateId: "ZB_RESPONSE_ADOPTED", params: ["number", "title"] },
    response_not_adopted: { templateId: "ZB_RESPONSE_NOT_ADOPTED", params: ["number", "title", "reason"] },
    demand_approved: { templateId: "ZB_DEMAND_APPROVED", params: ["number", "title"] },
    demand_rejected: { templateId: "ZB_DEMAND_REJECTED", params: ["title"] },
    response_received: { templateId: "ZB_RESPONSE_RECEIVED", params: ["number", "title"] },
    consultation_message: { templateId: "ZB_CONSULTATION_MESSAGE", params: ["number", "title"] },
    commission_requested: { templateId: "ZB_COMMISSION_REQUESTED", params: ["enterprise"] },
    commission_accepted: { templateId: "ZB_COMMISSION_ACCEPTED", params: ["institution"] },
    commission_declined: { templateId: "ZB_COMMISSION_DECLINED", params: ["institution"] },
    reward_approved: { templateId: "ZB_REWARD_APPROVED", params: ["round", "amount"] },
    reward_rejected: { templateId: "ZB_REWARD_REJECTED", params: ["round"] }
  },
  fileSizeLimitBytes: 20 * 1024 * 1024,
  smsParamMaxLength: 20,
  idempotencyKeyHours: 24,
  outbox: {
    batchSize: 16,
    sendConcurrency: 8,
    leaseMillis: 60_000,
    sendTimeoutMillis: 10_000,
    maxAttempts: 14,
    backoffBaseMillis: 2_000,
    backoffMaxMillis: 15 * 60_000,
    idleMillis: 1_000,
    retentionDays: 184
  }
}

/**
 * Settings as the services read them: the chosen values plus the resolved time zone.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedSettings extends PlatformSettings {
  readonly zone: DateTime.TimeZone
}

/**
 * The settings port.
 *
 * @since 0.1.0
 * @category tags
 */
export class Settings extends Context.Tag("@zhongbao/core/Settings")<Settings, ResolvedSettings>() {}

/**
 * Validates a (partial) override of the defaults. A key that is no setting (a
 * misspelt `numberingPrefx`, here or in `outbox`) is refused naming it, rather than
 * ignored while its default applies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  overrides: Partial<PlatformSettings> = {}
): Effect.Effect<ResolvedSettings, InvalidInput> =>
  Schema.decodeUnknown(PlatformSettings)({ ...defaults, ...overrides }, { onExcessProperty: "error" }).pipe(
    Effect.map((settings) => ({ ...settings, zone: DateTime.zoneUnsafeMakeNamed(settings.timeZone) })),
    Effect.mapError((error) => {
      const issue = firstIssue(ParseResult.ArrayFormatter.formatErrorSync(error))
      return new InvalidInput({
        rule: "§10",
        code: "settings.invalid",
        field: issue?.path.join(".") ?? "settings",
        message: issue?.message ?? "invalid settings"
      })
    })
  )

/**
 * Settings from overrides of the defaults; fails to build on an invalid value.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (overrides: Partial<PlatformSettings> = {}): Layer.Layer<Settings, InvalidInput> =>
  Layer.effect(Settings, make(overrides))

/**
 * The defaults of §10.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDefault: Layer.Layer<Settings> = Layer.succeed(Settings, {
  ...defaults,
  zone: DateTime.zoneUnsafeMakeNamed(defaults.timeZone)
})

/**
 * The service mode with this id, if the platform has it.
 *
 * @since 0.1.0
 * @category lookups
 */
export const serviceMode = (settings: PlatformSettings, id: string): ServiceMode | undefined =>
  settings.serviceModes.find((mode) => mode.id === id)
