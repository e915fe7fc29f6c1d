import { assert, describe, it } from "@effect/vitest"
import { Deadline, Phase, Publishing, Responding, Review, Selection, Settings } from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, Either, Schema } from "effect"
import { defaultSettings, draft, instant, offeredTo, proposal } from "./demandHelpers.js"
import { at, expectError, withWorld } from "./helpers.js"

const date = (s: string) => s as Deadline.LocalDate
const iso = (t: DateTime.DateTime) => DateTime.formatIso(DateTime.toUtc(t))

/** The boundary instants of a demand whose deadline is 2026-05-20, in Asia/Shanghai. */
const lastMomentToRespond = "2026-05-20T15:59:59.999Z"
const firstMomentAfterDeadline = "2026-05-20T16:00:00.000Z"
const lastMomentToAdopt = "2026-06-03T15:59:59.999Z"
const firstMomentAfterSelection = "2026-06-03T16:00:00.000Z"

describe("deadline", () => {
  describe("R13: pure date functions (Deadline)", () => {
    it("R13: a deadline date ends at 23:59:59.999 in Asia/Shanghai", () => {
      assert.strictEqual(iso(Deadline.endOfDate(date("2026-05-20"), defaultSettings)), lastMomentToRespond)
      assert.strictEqual(
        iso(Deadline.endOfDate(date("2026-12-31"), defaultSettings)),
        "2026-12-31T15:59:59.999Z"
      )
    })

    it("R13: on or before the deadline up to its last millisecond, not after", () => {
      const deadline = date("2026-05-20")
      assert.isTrue(
        Deadline.isOnOrBeforeDeadline(instant("2026-05-19T16:00:00.000Z"), deadline, defaultSettings)
      )
      assert.isTrue(Deadline.isOnOrBeforeDeadline(instant(lastMomentToRespond), deadline, defaultSettings))
      assert.isFalse(
        Deadline.isOnOrBeforeDeadline(instant(firstMomentAfterDeadline), deadline, defaultSettings)
      )
    })

    it("R13: the selection window ends 14 days after the deadline, at 23:59:59.999 Shanghai (R23)", () => {
      assert.strictEqual(
        iso(Deadline.selectionEndsAt(date("2026-05-20"), defaultSettings)),
        lastMomentToAdopt
      )
      assert.strictEqual(
        iso(Deadline.selectionEndsAt(date("2026-05-20"), { ...defaultSettings, selectionWindowDays: 0 })),
        lastMomentToRespond
      )
    })

    it("R13: the same date ends at a different instant in each time zone and window, asked in turn (R23)", () => {
      const newYork = {
        ...defaultSettings,
        timeZone: "America/New_York",
        zone: DateTime.zoneUnsafeMakeNamed("America/New_York")
      }
      for (let round = 0; round < 2; round++) {
        assert.strictEqual(
          iso(Deadline.endOfDate(date("2026-07-01"), defaultSettings)),
          "2026-07-01T15:59:59.999Z"
        )
        assert.strictEqual(iso(Deadline.endOfDate(date("2026-07-01"), newYork)), "2026-07-02T03:59:59.999Z")
        assert.strictEqual(
          iso(Deadline.selectionEndsAt(date("2026-07-01"), defaultSettings)),
          "2026-07-15T15:59:59.999Z"
        )
        assert.strictEqual(
          iso(Deadline.selectionEndsAt(date("2026-07-01"), newYork)),
          "2026-07-16T03:59:59.999Z"
        )
        assert.strictEqual(
          iso(Deadline.selectionEndsAt(date("2026-07-01"), { ...newYork, selectionWindowDays: 1 })),
          "2026-07-03T03:59:59.999Z"
        )
      }
    })

    it("R13: the calendar date of an instant is taken in the platform time zone", () => {
      assert.strictEqual(Deadline.dateAt(instant("2026-12-31T15:59:59.999Z"), defaultSettings), "2026-12-31")
      assert.strictEqual(Deadline.dateAt(instant("2026-12-31T16:00:00.000Z"), defaultSettings), "2027-01-01")
      assert.strictEqual(Deadline.yearAt(instant("2026-12-31T16:30:00Z"), defaultSettings), 2027)
      assert.strictEqual(Deadline.yearAt(instant("2026-12-31T15:59:59.999Z"), defaultSettings), 2026)
      const utc = { ...defaultSettings, timeZone: "UTC", zone: DateTime.zoneUnsafeMakeNamed("UTC") }
      assert.strictEqual(Deadline.dateAt(instant("2026-12-31T16:30:00Z"), utc), "2026-12-31")
    })

    it("R13: the calendar date of every instant, minute by minute across midnights and a DST change, in two zones at once", () => {
      const newYork = {
        ...defaultSettings,
        timeZone: "America/New_York",
        zone: DateTime.zoneUnsafeMakeNamed("America/New_York")
      }
      const direct = (t: DateTime.Utc, zone: DateTime.TimeZone) => {
        const p = DateTime.toParts(DateTime.setZone(t, zone))
        return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`
      }
      // 2026-03-08: New York moves from UTC-5 to UTC-4 at 02:00; its midnights are 05:00Z, then 04:00Z
      const start = DateTime.toEpochMillis(instant("2026-03-06T23:00:00Z"))
      let seen = 0
      for (let t = start; t <= start + 4 * 86_400_000; t += 60_000) {
        for (const settings of [newYork, defaultSettings]) {
          const at = DateTime.unsafeMake(t)
          assert.strictEqual(Deadline.dateAt(at, settings), direct(at, settings.zone))
          seen++
        }
      }
      assert.strictEqual(seen, 2 * (4 * 24 * 60 + 1))
      assert.strictEqual(Deadline.dateAt(instant("2026-03-09T03:59:59.999Z"), newYork), "2026-03-08")
      assert.strictEqual(Deadline.dateAt(instant("2026-03-09T04:00:00.000Z"), newYork), "2026-03-09")
      assert.strictEqual(Deadline.dateAt(instant("2026-03-08T04:59:59.999Z"), newYork), "2026-03-07")
      assert.strictEqual(Deadline.dateAt(instant("2026-03-08T05:00:00.000Z"), newYork), "2026-03-08")
    })

    it("R20, R23: an instant in a message reads in the platform's zone with its offset, which tells the two readings of an hour clocks go back over apart", () => {
      assert.strictEqual(
        Deadline.formatLocal(instant("2026-06-20T15:59:59.999Z"), defaultSettings),
        "2026-06-20 23:59:59 +08:00 Asia/Shanghai"
      )
      const newYork = {
        ...defaultSettings,
        timeZone: "America/New_York",
        zone: DateTime.zoneUnsafeMakeNamed("America/New_York")
      }
      // 2026-11-01: New York goes back from UTC-4 to UTC-5 at 02:00, living 01:30 twice.
      assert.deepStrictEqual(
        [instant("2026-11-01T05:30:00Z"), instant("2026-11-01T06:30:00Z")].map((t) =>
          Deadline.formatLocal(t, newYork)
        ),
        ["2026-11-01 01:30:00 -04:00 America/New_York", "2026-11-01 01:30:00 -05:00 America/New_York"]
      )
    })

    it("R13: the calendar date where clocks go back over midnight, asked in any order (America/Santiago, 2025-04-06)", () => {
      const santiago = {
        ...defaultSettings,
        timeZone: "America/Santiago",
        zone: DateTime.zoneUnsafeMakeNamed("America/Santiago")
      }
      // Saturday 2025-04-05 24:00 -03 becomes 23:00 -04: Saturday's last hour happens twice, 03:00Z–03:59Z is Saturday
      assert.strictEqual(Deadline.dateAt(instant("2025-04-06T12:00:00Z"), santiago), "2025-04-06")
      assert.strictEqual(Deadline.dateAt(instant("2025-04-06T03:30:00Z"), santiago), "2025-04-05")
      assert.strictEqual(Deadline.dateAt(instant("2025-04-06T12:00:00Z"), santiago), "2025-04-06")
      assert.strictEqual(Deadline.dateAt(instant("2025-04-06T03:59:59.999Z"), santiago), "2025-04-05")
      assert.strictEqual(Deadline.dateAt(instant("2025-04-06T04:00:00.000Z"), santiago), "2025-04-06")
      const direct = (t: DateTime.Utc) => {
        const p = DateTime.toParts(DateTime.setZone(t, santiago.zone))
        return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`
      }
      const end = DateTime.toEpochMillis(instant("2025-04-07T12:00:00Z"))
      for (let t = end; t >= end - 3 * 86_400_000; t -= 60_000) {
        const at = DateTime.unsafeMake(t)
        assert.strictEqual(Deadline.dateAt(at, santiago), direct(at))
      }
    })

    it("R13: where clocks go back over midnight, a date ends at its second 23:59:59.999 (America/Santiago, 2025-04-05)", () => {
      const santiago = {
        ...defaultSettings,
        timeZone: "America/Santiago",
        zone: DateTime.zoneUnsafeMakeNamed("America/Santiago")
      }
      const date = Deadline.LocalDate.make("2025-04-05" as never)
      const end = Deadline.endOfDate(date, santiago)
      assert.strictEqual(DateTime.formatIso(end), "2025-04-06T03:59:59.999Z")
      assert.strictEqual(Deadline.dateAt(end, santiago), date)
      assert.strictEqual(Deadline.dateAt(DateTime.add(end, { millis: 1 }), santiago), "2025-04-06")
      // Inside the hour that happens twice, the deadline date has not passed.
      assert.isTrue(Deadline.isOnOrBeforeDeadline(instant("2025-04-06T03:30:00Z"), date, santiago))
      assert.isFalse(Deadline.isOnOrBeforeDeadline(instant("2025-04-06T04:00:00Z"), date, santiago))
      // The day before, without a change, ends at its only 23:59:59.999.
      assert.strictEqual(
        DateTime.formatIso(Deadline.endOfDate(Deadline.LocalDate.make("2025-04-04" as never), santiago)),
        "2025-04-05T02:59:59.999Z"
      )
    })

    it("R13: the earliest deadline is the day after the approval date in Shanghai", () => {
      assert.strictEqual(
        Deadline.earliestDeadline(instant("2026-05-04T15:59:59.999Z"), defaultSettings),
        "2026-05-05"
      )
      assert.strictEqual(
        Deadline.earliestDeadline(instant("2026-05-04T16:00:00.000Z"), defaultSettings),
        "2026-05-06"
      )
      assert.strictEqual(
        Deadline.earliestDeadline(instant("2026-12-31T16:30:00Z"), defaultSettings),
        "2027-01-02"
      )
      assert.strictEqual(
        Deadline.earliestDeadline(instant("2026-05-04T02:00:00Z"), {
          ...defaultSettings,
          minDeadlineDays: 7
        }),
        "2026-05-11"
      )
    })

    it("R13: adding days crosses months, years and leap days", () => {
      assert.strictEqual(Deadline.addDays(date("2026-05-20"), 14), "2026-06-03")
      assert.strictEqual(Deadline.addDays(date("2026-12-31"), 1), "2027-01-01")
      assert.strictEqual(Deadline.addDays(date("2028-02-28"), 1), "2028-02-29")
      assert.strictEqual(Deadline.addDays(date("2027-02-28"), 1), "2027-03-01")
      assert.strictEqual(Deadline.addDays(date("2026-01-01"), -1), "2025-12-31")
      // years 1–99 are not read as 1901–1999
      assert.strictEqual(Deadline.addDays(date("0099-12-31"), 1), "0100-01-01")
      assert.strictEqual(Deadline.addDays(date("0001-01-02"), -1), "0001-01-01")
      assert.strictEqual(Deadline.addDays(date("0004-02-28"), 1), "0004-02-29")
    })

    it("R13: a deadline is a calendar date that exists", () => {
      const decode = Schema.decodeUnknownEither(Deadline.LocalDate)
      for (const ok of ["2026-05-20", "2028-02-29", "2026-12-31", "0001-01-01", "0004-02-29", "9999-12-31"])
        assert.isTrue(Either.isRight(decode(ok)), ok)
      for (const bad of [
        "0000-01-01",
        "2026-02-30",
        "2027-02-29",
        "2026-13-01",
        "2026-04-31",
        "2026-5-1",
        "2026/05/20",
        ""
      ]) {
        assert.isTrue(Either.isLeft(decode(bad)), bad)
      }
    })

    it("R13: the end of a date follows daylight saving in zones that have it", () => {
      const newYork = {
        ...defaultSettings,
        timeZone: "America/New_York",
        zone: DateTime.zoneUnsafeMakeNamed("America/New_York")
      }
      // EDT (UTC-4) from 2026-03-08, EST (UTC-5) from 2026-11-01
      assert.strictEqual(iso(Deadline.endOfDate(date("2026-03-07"), newYork)), "2026-03-08T04:59:59.999Z")
      assert.strictEqual(iso(Deadline.endOfDate(date("2026-03-08"), newYork)), "2026-03-09T03:59:59.999Z")
      assert.strictEqual(iso(Deadline.endOfDate(date("2026-11-01"), newYork)), "2026-11-02T04:59:59.999Z")
    })
  })

  describe("R13: phases across the boundary instants (Phase)", () => {
    it.effect("R13: taking_responses → selecting → selection_over at the deadline and window ends", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const settings = yield* Settings.Settings
          const demand = yield* Fixtures.publish(world, world.enterprise.account, {
            responseDeadline: "2026-05-20"
          })
          const phaseAt = (t: string) => Phase.phaseOf(demand, instant(t), settings)
          assert.strictEqual(phaseAt("2026-05-04T02:00:00Z"), "taking_responses")
          assert.strictEqual(phaseAt(lastMomentToRespond), "taking_responses")
          assert.strictEqual(phaseAt(firstMomentAfterDeadline), "selecting")
          assert.strictEqual(phaseAt(lastMomentToAdopt), "selecting")
          assert.strictEqual(phaseAt(firstMomentAfterSelection), "selection_over")
          assert.isFalse(Phase.selectionOver(demand, instant(lastMomentToAdopt), settings))
          assert.isTrue(Phase.selectionOver(demand, instant(firstMomentAfterSelection), settings))
          const ends = Phase.selectionEndsAtOf(demand, settings)
          assert.strictEqual(ends === null ? null : iso(ends), lastMomentToAdopt)
        })
      )
    )

    it.effect("R13: the phase follows the demand's state and its intake and selection ends", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const settings = yield* Settings.Settings
          const demand = yield* Fixtures.publish(world, world.enterprise.account, {
            responseDeadline: "2026-05-20"
          })
          const early = instant("2026-05-10T02:00:00Z")
          const phase = (changes: Partial<typeof demand>, t = early) =>
            Phase.phaseOf({ ...demand, ...changes }, t, settings)
          assert.strictEqual(phase({ state: "draft" }), "not_published")
          assert.strictEqual(phase({ state: "pending_review" }), "not_published")
          assert.strictEqual(phase({ state: "rejected" }), "not_published")
          assert.strictEqual(phase({ state: "solved" }), "selection_over")
          // R24: an adoption closes intake before the deadline
          assert.strictEqual(phase({ intakeClosedAt: early, adoptedCount: 1 }), "selecting")
          assert.strictEqual(
            Phase.phaseOf({ ...demand, intakeClosedAt: early, adoptedCount: 1 }, early, {
              ...settings,
              singleAdoption: true
            }),
            "selection_over"
          )
          assert.strictEqual(phase({ selectionEndedAt: early }), "selection_over")
          // R14: a service mode without responses
          assert.strictEqual(
            phase({ form: { ...demand.form, serviceMode: "institution_service" } }),
            "no_responses"
          )
          assert.strictEqual(
            phase(
              { form: { ...demand.form, serviceMode: "institution_service" } },
              instant(firstMomentAfterSelection)
            ),
            "no_responses"
          )
        })
      )
    )
  })

  describe("§9, R25, R33: the status shown, from stored rows (Phase.shownStatus)", () => {
    it.effect(
      "§9, R23: the view at an instant tells each response's shown status as responseStatus does, across the window's end, the demand's state, round, end of selection and adoptions, in two zones and windows, by the round's own window or, without one, the settings'",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const base = yield* Settings.Settings
            const demand = yield* Fixtures.publish(world, world.enterprise.account, {
              responseDeadline: "2026-05-20"
            })
            const responding = yield* Responding.Responding
            const response = yield* responding.respond(world.institute.account, {
              demandId: demand.id,
              proposal
            })
            const settingsList: ReadonlyArray<Settings.ResolvedSettings> = [
              base,
              { ...base, singleAdoption: !base.singleAdoption },
              {
                ...base,
                timeZone: "America/Santiago",
                zone: DateTime.zoneUnsafeMakeNamed("America/Santiago"),
                selectionWindowDays: 3
              }
            ]
            const demands: ReadonlyArray<typeof demand> = [
              demand,
              { ...demand, selectionEndedAt: instant("2026-05-25T00:00:00Z") },
              { ...demand, adoptedCount: 1, intakeClosedAt: instant("2026-05-12T00:00:00Z") },
              { ...demand, state: "solved" },
              { ...demand, state: "pending_review", round: 2 },
              { ...demand, round: 2 },
              { ...demand, state: "pending_review" },
              { ...demand, state: "draft" }
            ]
            const statuses = ["submitted", "adopted", "not_adopted", "withdrawn"] as const
            // R23: the round's own window (approved under base's), none (a round approved
            // before rounds kept theirs: the settings' window), and another.
            assert.strictEqual(demand.selectionWindowDays, base.selectionWindowDays)
            const windows: ReadonlyArray<number | null> = [demand.selectionWindowDays, null, 5]
            let compared = 0
            let flipped = 0
            for (const settings of settingsList) {
              for (const days of windows) {
                const end = DateTime.toEpochMillis(
                  Phase.roundSelectionEndsAt({ ...demand, selectionWindowDays: days }, settings)
                )
                const instants = [
                  end - 86_400_000,
                  end - 1,
                  end,
                  end + 1,
                  end + 3_600_000,
                  end + 86_400_000 * 3
                ]
                for (const t of instants) {
                  const now = DateTime.unsafeMake(t)
                  const view = Phase.statusViewAt(now, settings)
                  for (const variant of demands) {
                    const d = { ...variant, selectionWindowDays: days }
                    for (const status of statuses) {
                      const r = { ...response, status }
                      const shown = Phase.shownStatus(r, d, view)
                      assert.strictEqual(
                        shown,
                        Phase.responseStatus(r, d, now, settings),
                        `${settings.timeZone}/${settings.selectionWindowDays}d/${settings.singleAdoption}, the round's ${days}d, at ${new Date(t).toISOString()}: ${d.state} round ${d.round}, ${status}`
                      )
                      compared++
                      if (variant === demand && status === "submitted" && shown === "not_adopted") flipped++
                    }
                  }
                }
              }
            }
            assert.strictEqual(compared, 3 * 3 * 6 * 8 * 4)
            assert.strictEqual(
              flipped,
              3 * 3 * 3,
              "after the window's last millisecond, in each of the settings and windows"
            )

            // America/Santiago, 2026-04-04: clocks go back from 24:00 to 23:00, so the
            // date's last hour comes twice; its end is the second 23:59:59.999 (03:59:59.999Z).
            const santiago = settingsList[2]!
            const overThere = {
              ...demand,
              selectionWindowDays: null,
              form: { ...demand.form, responseDeadline: date("2026-04-01") }
            }
            const submitted = { ...response, status: "submitted" as const }
            const seen = [
              "2026-04-05T02:59:59.999Z",
              "2026-04-05T03:00:00.000Z",
              "2026-04-05T03:30:00.000Z",
              "2026-04-05T03:59:59.999Z",
              "2026-04-05T04:00:00.000Z"
            ].map((t) => {
              const shown = Phase.shownStatus(submitted, overThere, Phase.statusViewAt(instant(t), santiago))
              assert.strictEqual(shown, Phase.responseStatus(submitted, overThere, instant(t), santiago), t)
              return shown
            })
            assert.deepStrictEqual(seen, ["submitted", "submitted", "submitted", "submitted", "not_adopted"])
          })
        )
    )
  })

  describe("R13: the services at the boundary instants", () => {
    it.effect(
      "R13: a draft whose deadline is exactly minDeadlineDays after today is offered for submission, one a day sooner is not, and it is approved",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const tomorrow = yield* draft(world.enterprise.account, {}, 1)
            assert.include(yield* offeredTo(world.enterprise.account, tomorrow.id), "submit")
            const today = yield* draft(world.enterprise.account, {}, 0)
            assert.notInclude(yield* offeredTo(world.enterprise.account, today.id), "submit")
            yield* (yield* Publishing.Publishing).submit(world.enterprise.account, { demandId: tomorrow.id })
            const approved = yield* (yield* Review.Review).approve(world.operator, { demandId: tomorrow.id })
            assert.strictEqual(approved.state, "published")
          })
        )
    )

    it.effect(
      "R13: a draft whose deadline is exactly maxDeadlineDays after today is offered for submission, one a day later is not, and it is approved",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const { maxDeadlineDays } = yield* Settings.Settings
            const last = yield* draft(world.enterprise.account, {}, maxDeadlineDays)
            assert.include(yield* offeredTo(world.enterprise.account, last.id), "submit")
            const tooLate = yield* draft(world.enterprise.account, {}, maxDeadlineDays + 1)
            assert.notInclude(yield* offeredTo(world.enterprise.account, tooLate.id), "submit")
            yield* (yield* Publishing.Publishing).submit(world.enterprise.account, { demandId: last.id })
            const approved = yield* (yield* Review.Review).approve(world.operator, { demandId: last.id })
            assert.strictEqual(approved.state, "published")
          })
        )
    )

    it.effect("R13: a response at 2026-05-20T15:59:59.999Z is accepted; at 16:00:00.000Z refused (R20)", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const publishing = yield* Publishing.Publishing
          const demand = yield* Fixtures.publish(world, world.enterprise.account, {
            responseDeadline: "2026-05-20"
          })
          const view = yield* publishing.get(world.institute.account, { demandId: demand.id })
          assert.strictEqual(iso(view.deadlineEndsAt), lastMomentToRespond)

          yield* at(lastMomentToRespond)
          const seen = yield* publishing.get(world.expert.account, { demandId: demand.id })
          assert.strictEqual(seen.phase, "taking_responses")
          assert.include([...seen.actions], "respond")
          const response = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal
          })
          assert.strictEqual(response.status, "submitted")

          yield* at(firstMomentAfterDeadline)
          const after = yield* publishing.get(world.expert.account, { demandId: demand.id })
          assert.strictEqual(after.phase, "selecting")
          assert.notInclude([...after.actions], "respond")
          yield* expectError(
            responding.respond(world.expert.account, { demandId: demand.id, proposal }),
            "InvalidState",
            "R20"
          )
          const read = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
          assert.strictEqual(read.demand.responseCount, 1)
        })
      )
    )

    it.effect(
      "R13: adoption is allowed until deadline + 14 days 23:59:59.999 Shanghai, refused 1 ms later (R23)",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const responding = yield* Responding.Responding
            const selection = yield* Selection.Selection
            const publishing = yield* Publishing.Publishing
            const demand = yield* Fixtures.publish(world, world.enterprise.account, {
              responseDeadline: "2026-05-20"
            })
            const first = yield* responding.respond(world.institute.account, {
              demandId: demand.id,
              proposal
            })
            const second = yield* responding.respond(world.expert.account, { demandId: demand.id, proposal })

            yield* at(lastMomentToAdopt)
            const view = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
            assert.strictEqual(view.phase, "selecting")
            assert.strictEqual(
              view.selectionEndsAt === null ? null : iso(view.selectionEndsAt),
              lastMomentToAdopt
            )
            const adopted = yield* selection.adopt(world.enterprise.account, { responseId: first.id })
            assert.strictEqual(adopted.status, "adopted")

            yield* at(firstMomentAfterSelection)
            const over = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
            assert.strictEqual(over.phase, "selection_over")
            assert.notInclude([...over.actions], "adopt")
            yield* expectError(
              selection.adopt(world.enterprise.account, { responseId: second.id }),
              "InvalidState",
              "R23"
            )
          })
        )
    )
  })
})
