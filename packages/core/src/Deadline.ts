/**
 * Calendar dates, deadlines and the selection window (R13, R20, R23, R24), as pure
 * functions of a demand, the settings and the current instant. Time zones come from
 * effect's `DateTime`; nothing here reads a clock.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import { utcDate } from "./internal/calendar.js"
import type { ResolvedSettings } from "./Settings.js"

const isCalendarDate = (s: string) => {
  const [y, m, d] = s.split("-").map(Number) as [number, number, number]
  const date = utcDate(y, m, d)
  return y >= 1 && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

/**
 * A calendar date, `YYYY-MM-DD` of the years 1–9999 (PostgreSQL's `date` has no
 * year 0), with no time and no zone.
 *
 * @since 0.1.0
 * @category models
 */
export const LocalDate = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}$/, { message: () => "a date as YYYY-MM-DD" }),
  Schema.filter(isCalendarDate, { message: () => "a date that exists in the calendar" }),
  Schema.brand("LocalDate"),
  Schema.annotations({ identifier: "LocalDate" })
)

/** @since 0.1.0 @category models */
export type LocalDate = typeof LocalDate.Type

/**
 * The calendar date of an instant in the platform time zone.
 *
 * @since 0.1.0
 * @category dates
 */
export const dateAt = (instant: DateTime.DateTime, settings: ResolvedSettings): LocalDate => {
  const millis = DateTime.toEpochMillis(instant)
  const day = currentDay.get(settings.timeZone)
  if (day !== undefined && millis > day.after && millis <= day.until) return day.date
  const date = dateInZone(instant, settings)
  const after = DateTime.toEpochMillis(endOfDate(addDays(date, -1), settings))
  const until = DateTime.toEpochMillis(endOfDate(date, settings))
  if (dateInZone(DateTime.unsafeMake(after + 1), settings) === date) {
    currentDay.set(settings.timeZone, { date, after, until })
  }
  return date
}

const dateInZone = (instant: DateTime.DateTime, settings: ResolvedSettings): LocalDate => {
  const parts = DateTime.toParts(DateTime.setZone(instant, settings.zone))
  return `${String(parts.year).padStart(4, "0")}-${String(parts.month).padStart(2, "0")}-${String(parts.day).padStart(2, "0")}` as LocalDate
}

/**
 * The last date {@link dateAt} answered in each time zone, with its instants (after
 * the end of the day before, up to its own end): nearly every call asks for today,
 * and resolving the zone through `Intl` is slow. A day is kept only when the instant
 * after the end of the day before is in it ({@link endOfDate} gives each date's last
 * instant, so this holds but where a date's end could not be read).
 */
const currentDay = new Map<
  string,
  { readonly date: LocalDate; readonly after: number; readonly until: number }
>()

/**
 * The year of an instant in the platform time zone (R12 numbering).
 *
 * @since 0.1.0
 * @category dates
 */
export const yearAt = (instant: DateTime.DateTime, settings: ResolvedSettings): number =>
  DateTime.toParts(DateTime.setZone(instant, settings.zone)).year

/**
 * An instant as people of the platform read it: its date and time to the second in
 * the platform time zone, the zone's offset then (which tells the two readings of an
 * hour clocks go back over apart) and the zone's name
 * (`2026-06-20 23:59:59 +08:00 Asia/Shanghai`), for messages; a response deadline's
 * end reads as its own date's 23:59:59.
 *
 * @since 0.2.0
 * @category dates
 */
export const formatLocal = (instant: DateTime.DateTime, settings: ResolvedSettings): string => {
  const zoned = DateTime.setZone(instant, settings.zone)
  const p = DateTime.toParts(zoned)
  const two = (n: number) => String(n).padStart(2, "0")
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hours)}:${two(p.minutes)}:${two(p.seconds)} ${DateTime.zonedOffsetIso(zoned)} ${settings.timeZone}`
}

/**
 * A date `days` later (or earlier, when negative).
 *
 * @since 0.1.0
 * @category dates
 */
export const addDays = (date: LocalDate, days: number): LocalDate => {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number]
  return utcDate(y, m, d + days)
    .toISOString()
    .slice(0, 10) as LocalDate
}

/**
 * R13: the last instant of a date in the platform time zone, 23:59:59.999 (the
 * second one where clocks go back over midnight).
 *
 * @since 0.1.0
 * @category deadlines
 */
export const endOfDate = (date: LocalDate, settings: ResolvedSettings): DateTime.Utc => {
  const cache = cacheOf(endOfDateCache, settings.timeZone)
  const cached = cache.get(date)
  if (cached !== undefined) return cached
  if (cache.size >= cacheLimit) cache.clear()
  const [year, month, day] = date.split("-").map(Number) as [number, number, number]
  const at = (disambiguation: DateTime.Disambiguation) =>
    DateTime.toUtc(
      DateTime.unsafeMakeZoned(
        { year, month, day, hours: 23, minutes: 59, seconds: 59, millis: 999 },
        { timeZone: settings.zone, adjustForTimeZone: true, disambiguation }
      )
    )
  // Where clocks go back over midnight, 23:59:59.999 happens twice: the date ends at
  // the later one. Where it does not exist (clocks go forward over it), the later
  // reading is the next date's, and the date ends before the gap.
  const later = at("later")
  const end = dateInZone(later, settings) === date ? later : at("earlier")
  cache.set(date, end)
  return end
}

/** How many dates each cache below keeps before it starts again. */
const cacheLimit = 10_000

/**
 * The cache of `key` (a time zone, a window) in `caches`, made on first use. Caches
 * are nested by time zone, window and date, so that a look-up builds no key string
 * (a page of the public hall makes three look-ups per demand).
 */
const cacheOf = <K, J, A>(caches: Map<K, Map<J, A>>, key: K): Map<J, A> => {
  let cache = caches.get(key)
  if (cache === undefined) {
    cache = new Map()
    caches.set(key, cache)
  }
  return cache
}

/** The ends of dates already computed, by time zone: resolving a zone's offset through `Intl` is slow. */
const endOfDateCache = new Map<string, Map<LocalDate, DateTime.Utc>>()

/**
 * R13: the earliest response deadline allowed when approving or submitting at
 * `instant` (the date `minDeadlineDays` after it, default one day).
 *
 * @since 0.1.0
 * @category deadlines
 */
export const earliestDeadline = (instant: DateTime.DateTime, settings: ResolvedSettings): LocalDate =>
  addDays(dateAt(instant, settings), settings.minDeadlineDays)

/**
 * R13, R23: the latest response deadline, the one whose selection window ends on the
 * last date {@link LocalDate} writes (9999-12-31): later, the window's end would not
 * be a date of four-digit year.
 *
 * @since 0.1.1
 * @category deadlines
 */
export const latestDeadline = (settings: ResolvedSettings): LocalDate =>
  addDays("9999-12-31" as LocalDate, -settings.selectionWindowDays)

/**
 * R13: the latest response deadline allowed when a demand is submitted or approved
 * at `instant`: the date `maxDeadlineDays` after it (default 365), and never past
 * {@link latestDeadline}. A deadline years away would keep a demand taking
 * responses, and its responders waiting for an answer, for as long.
 *
 * @since 0.1.3
 * @category deadlines
 */
export const latestDeadlineAt = (instant: DateTime.DateTime, settings: ResolvedSettings): LocalDate => {
  const bound = latestDeadline(settings)
  const today = dateAt(instant, settings)
  return today <= addDays(bound, -settings.maxDeadlineDays) ? addDays(today, settings.maxDeadlineDays) : bound
}

/**
 * R13: whether `date` may be a response deadline when a demand is submitted or
 * approved at `instant`: from {@link earliestDeadline} to {@link latestDeadlineAt}.
 *
 * @since 0.1.2
 * @category deadlines
 */
export const isAllowedDeadline = (
  date: LocalDate,
  instant: DateTime.DateTime,
  settings: ResolvedSettings
): boolean => date >= earliestDeadline(instant, settings) && date <= latestDeadlineAt(instant, settings)

/**
 * R23: the last instant of the selection window, `days` after the end of the
 * deadline date: a round's own window (`Demand.selectionWindowDays`), the platform's
 * `selectionWindowDays` when none is given. A demand's round ends by its own days
 * (`Phase.roundSelectionEndsAt`), not the platform's current setting.
 *
 * @since 0.1.0
 * @category deadlines
 */
export const selectionEndsAt = (
  deadline: LocalDate,
  settings: ResolvedSettings,
  days: number = settings.selectionWindowDays
): DateTime.Utc => {
  const cache = cacheOf(cacheOf(selectionEndCache, settings.timeZone), days)
  const cached = cache.get(deadline)
  if (cached !== undefined) return cached
  if (cache.size >= cacheLimit) cache.clear()
  const end = endOfDate(addDays(deadline, days), settings)
  cache.set(deadline, end)
  return end
}

/**
 * The selection ends already computed, by time zone and window: every listed demand
 * asks for its own, often more than once.
 */
const selectionEndCache = new Map<string, Map<number, Map<LocalDate, DateTime.Utc>>>()

/**
 * Whether `instant` is on or before the end of the deadline date.
 *
 * @since 0.1.0
 * @category deadlines
 */
export const isOnOrBeforeDeadline = (
  instant: DateTime.DateTime,
  deadline: LocalDate,
  settings: ResolvedSettings
): boolean => DateTime.lessThanOrEqualTo(instant, endOfDate(deadline, settings))
