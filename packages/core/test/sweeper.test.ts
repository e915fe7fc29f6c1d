import { assert, describe, it } from "@effect/vitest"
import {
  AuditTrail,
  Errors,
  type Ids,
  Deadline,
  Lists,
  Persistence,
  PersistenceMemory,
  Publishing,
  Responding,
  type Response,
  Selection,
  Settings,
  Sweeper,
  Zhongbao
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Context, DateTime, Effect, Fiber, Layer, Logger, Option, TestClock } from "effect"
import { at, expectError, failingUpdates, outboxMessage, start, failureOf } from "./helpers.js"
import { activeCommission, demandTrail } from "./support.js"

const layer = Layer.orDie(Sweeper.Sweeper.Default.pipe(Layer.provideMerge(Zhongbao.layerMemory())))

const proposal = { title: "方案", content: "我们有成熟的工艺" }

/** The sweeper and core over `ports`, with the settings `overrides` makes. */
const sweeperOn = (
  ports: Layer.Layer<Persistence.Ports>,
  overrides: Partial<Settings.PlatformSettings> = {}
) =>
  Layer.orDie(
    Sweeper.Sweeper.Default.pipe(
      Layer.provideMerge(
        Zhongbao.layer.pipe(Layer.provideMerge(Layer.merge(ports, Settings.layer(overrides))))
      )
    )
  )

/** The sweeper and core over the memory ports as `change` makes them. */
const sweeperOver = (
  change: (ports: Context.Context<Persistence.Ports>) => Context.Context<Persistence.Ports>
) => sweeperOn(Layer.map(PersistenceMemory.layerMemory, change))

/** The memory ports and the sweeper, with the "not adopted" updates of the responses `fails` picks failing. */
const withFailingNotAdoptedOf = (fails: (response: Response.Response) => boolean) =>
  sweeperOver(failingUpdates({ response: (r) => r.status === "not_adopted" && fails(r) }))

/** The same, with every "not adopted" update failing while `updates.failing` is set. */
const withFailingNotAdopted = (updates: { failing: boolean }) =>
  withFailingNotAdoptedOf(() => updates.failing)

/** The "not adopted" notices in the outbox. */
const notAdoptedNotices = Effect.flatMap(Persistence.Outbox, (outbox) =>
  Effect.map(outbox.list({ limit: 1000 }), (all) => all.filter((m) => m.event === "response_not_adopted"))
)

/** At `start`: the world, a demand published with a 10-day deadline, and the institute's and the expert's responses to it. */
const publishedWithTwoResponses = Effect.gen(function* () {
  yield* at(start)
  const world = yield* Fixtures.makeWorld
  const settings = yield* Settings.Settings
  const demand = yield* Fixtures.publish(world, world.enterprise.account, {}, 10)
  const responding = yield* Responding.Responding
  const a = yield* responding.respond(world.institute.account, { demandId: demand.id, proposal })
  const b = yield* responding.respond(world.expert.account, { demandId: demand.id, proposal })
  return { world, settings, demand, responding, a, b }
})

/** Moves the test clock to just after `demand`'s selection window (R23, R25). */
const justAfterWindow = (demand: { readonly form: { readonly responseDeadline: Deadline.LocalDate } }) =>
  Effect.flatMap(Settings.Settings, (settings) =>
    at(DateTime.add(Deadline.selectionEndsAt(demand.form.responseDeadline, settings), { millis: 1 }))
  )

/** `count` demands published by the enterprise with a deadline `days` after `start`, on the same day. */
const publishedMany = (
  world: Fixtures.World,
  count: number,
  days: number,
  overrides: Parameters<typeof Fixtures.publish>[2] = {}
) =>
  Effect.forEach(Array.from({ length: count }), () =>
    Fixtures.publish(world, world.enterprise.account, overrides, days)
  )

/** The demand `id` as `account` reads it (its phase, end of selection and actions). */
const viewedBy = (account: Ids.AccountId, id: Ids.DemandId) =>
  Effect.flatMap(Publishing.Publishing, (p) => p.get(account, { demandId: id }))

/** How many of `demands` have their selection ended, as stored. */
const endedAmong = (demands: ReadonlyArray<{ readonly id: Ids.DemandId }>) =>
  Effect.flatMap(Persistence.DemandRepository, (repo) =>
    Effect.map(
      Effect.forEach(demands, (d) =>
        Effect.map(repo.findById(d.id), (found) => Option.getOrThrow(found).selectionEndedAt !== null)
      ),
      (ended) => ended.filter(Boolean).length
    )
  )

/**
 * Over the ports `memory` builds (kept across settings): a demand with two responses
 * and one without, both cooperative, and the settings that switch that mode off since
 * (R14); `over` gives the services under some settings.
 */
const switchedOffRound = (memory: Layer.Layer<Persistence.Ports>) =>
  Effect.gen(function* () {
    const ports = yield* Layer.build(memory)
    const over = (overrides: Partial<Settings.PlatformSettings>) =>
      sweeperOn(Layer.succeedContext(ports), overrides)
    const round = yield* publishedWithTwoResponses.pipe(Effect.provide(over({})))
    const quiet = yield* Fixtures.publish(round.world, round.world.enterprise.account, {}, 10).pipe(
      Effect.provide(over({}))
    )
    const switchedOff = {
      serviceModes: round.settings.serviceModes.map((m) =>
        m.id === "cooperative" ? { ...m, acceptsResponses: false } : m
      )
    }
    const notices = notAdoptedNotices.pipe(Effect.provide(Layer.succeedContext(ports)))
    return { ...round, ports, over, quiet, switchedOff, notices }
  })

describe("Sweeper", () => {
  it.effect(
    "R60, R25: the end of a commissioned demand's window, done on its client's behalf, is in the client's own trail; its responses' not-adopted events are not (R4)",
    () =>
      Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        const client = world.enterprise.member.id
        yield* activeCommission(world)
        const demand = yield* Fixtures.publish(
          world,
          world.institution.account,
          Fixtures.onBehalf(world, client),
          10
        )
        yield* (yield* Responding.Responding).respond(world.institute.account, {
          demandId: demand.id,
          proposal
        })
        yield* justAfterWindow(demand)
        assert.strictEqual(yield* (yield* Sweeper.Sweeper).sweepOnce(), 1)
        const trail = yield* AuditTrail.AuditTrail
        const own = (yield* trail.list(world.enterprise.account, { memberId: client, limit: 100 })).items
        const actions = own.filter((e) => e.demandId === demand.id).map((e) => e.action)
        assert.include(actions, "selection.window_ended")
        assert.notInclude(actions, "response.not_adopted")
        const forOperator = (yield* trail.list(world.operator, { memberId: client, limit: 100 })).items
        assert.includeMembers(
          forOperator.filter((e) => e.demandId === demand.id).map((e) => e.action),
          ["selection.window_ended", "response.not_adopted"]
        )
      }).pipe(Effect.provide(layer))
  )

  it.scoped(
    "R23: a round keeps the selection window it was approved with: a selectionWindowDays changed since moves neither its phase, its adoption, its listed status nor its sweep; a round stored without one takes the setting",
    () =>
      Effect.gen(function* () {
        const ports = yield* Layer.build(PersistenceMemory.layerMemory)
        const under = (selectionWindowDays: number) =>
          sweeperOn(Layer.succeedContext(ports), { selectionWindowDays })
        const long = yield* publishedWithTwoResponses.pipe(Effect.provide(under(14)))
        const { world, settings, demand, a } = long
        assert.strictEqual(demand.selectionWindowDays, 14, "approval fixes the round's window")
        const short = yield* Effect.gen(function* () {
          const d = yield* Fixtures.publish(world, world.enterprise.account, {}, 10)
          const r = yield* (yield* Responding.Responding).respond(world.institute.account, {
            demandId: d.id,
            proposal
          })
          return { demand: d, response: r }
        }).pipe(Effect.provide(under(3)))
        assert.strictEqual(short.demand.selectionWindowDays, 3)
        assert.strictEqual(short.demand.form.responseDeadline, demand.form.responseDeadline)
        // A round approved before rounds kept their window (an adapter's row from then).
        const repo = Context.get(ports, Persistence.DemandRepository)
        const legacy = yield* Fixtures.publish(world, world.enterprise.account, {}, 10).pipe(
          Effect.provide(under(14))
        )
        yield* repo.update({ ...legacy, selectionWindowDays: null, version: legacy.version + 1 })
        const read = (id: Ids.DemandId) => viewedBy(world.enterprise.account, id)
        const threeDaysOver = DateTime.add(
          Deadline.selectionEndsAt(demand.form.responseDeadline, settings, 3),
          { millis: 1 }
        )

        // 5 days after the deadline, under a longer window (30 days) set since:
        yield* at(DateTime.add(threeDaysOver, { days: 2 }))
        yield* Effect.gen(function* () {
          const view = yield* read(demand.id)
          assert.strictEqual(view.phase, "selecting", "the 14-day round still selects")
          assert.isTrue(
            view.selectionEndsAt !== null &&
              DateTime.Equivalence(
                view.selectionEndsAt,
                Deadline.selectionEndsAt(demand.form.responseDeadline, settings, 14)
              ),
            "its window's end is the one it was approved with"
          )
          assert.strictEqual(
            (yield* read(short.demand.id)).phase,
            "selection_over",
            "the 3-day round is not reopened"
          )
          assert.strictEqual((yield* read(legacy.id)).phase, "selecting", "the setting's 30 days")
          const mine = yield* (yield* Lists.Lists).myResponses(world.institute.account, {
            statuses: ["submitted"]
          })
          assert.sameMembers(
            mine.items.map((r) => r.id),
            [a.id],
            "submitted as shown: the 14-day round's response, not the 3-day one's"
          )
          assert.strictEqual(yield* (yield* Sweeper.Sweeper).sweepDue, 1, "the sweep ends the 3-day round")
          assert.strictEqual(yield* endedAmong([short.demand]), 1)
          yield* expectError(
            (yield* Selection.Selection).adopt(world.enterprise.account, { responseId: short.response.id }),
            "InvalidState",
            "R23"
          )
        }).pipe(Effect.provide(under(30)))

        // The same instant under a shorter window (3 days) set since:
        yield* Effect.gen(function* () {
          assert.strictEqual((yield* read(demand.id)).phase, "selecting", "the 14-day round still selects")
          assert.strictEqual((yield* read(legacy.id)).phase, "selection_over", "the setting's 3 days")
          assert.strictEqual(
            yield* (yield* Sweeper.Sweeper).sweepDue,
            1,
            "the sweep ends the round without a window"
          )
          assert.strictEqual(yield* endedAmong([demand]), 0)
          assert.strictEqual(yield* endedAmong([legacy]), 1)
          const adopted = yield* (yield* Selection.Selection).adopt(world.enterprise.account, {
            responseId: a.id
          })
          assert.strictEqual(adopted.status, "adopted", "the 14-day round still adopts")
        }).pipe(Effect.provide(under(3)))

        // The platform now has a 30-day window; just after the round's own 14 days:
        const windowEnd = Deadline.selectionEndsAt(demand.form.responseDeadline, settings, 14)
        yield* at(DateTime.add(windowEnd, { millis: 1 }))
        yield* Effect.gen(function* () {
          assert.strictEqual((yield* read(demand.id)).phase, "selection_over")
          assert.strictEqual(yield* (yield* Sweeper.Sweeper).sweepDue, 1)
          const ended = Option.getOrThrow(yield* repo.findById(demand.id))
          assert.isTrue(
            ended.selectionEndedAt !== null && DateTime.Equivalence(ended.selectionEndedAt, windowEnd),
            "ended at its own window's end"
          )
        }).pipe(Effect.provide(under(30)))
      })
  )

  it.effect(
    "R23: a sweep run days after the window passed records the window's end, not the sweep's instant, as the end of selection",
    () =>
      Effect.gen(function* () {
        const { world, settings, demand } = yield* publishedWithTwoResponses
        const windowEnd = Deadline.selectionEndsAt(demand.form.responseDeadline, settings)
        yield* at(DateTime.add(windowEnd, { days: 2 }))
        assert.strictEqual(yield* (yield* Sweeper.Sweeper).sweepOnce(), 1)
        const stored = Option.getOrThrow(yield* (yield* Persistence.DemandRepository).findById(demand.id))
        assert.isTrue(
          stored.selectionEndedAt !== null && DateTime.Equivalence(stored.selectionEndedAt, windowEnd),
          "the demand records the window's end"
        )
        const view = yield* (yield* Publishing.Publishing).get(world.enterprise.account, {
          demandId: demand.id
        })
        assert.isTrue(view.selectionEndsAt !== null && DateTime.Equivalence(view.selectionEndsAt, windowEnd))
      }).pipe(Effect.provide(layer))
  )

  it.effect(
    "R25: when the window passes, each responder not adopted is notified once, with its R61 reason",
    () =>
      Effect.gen(function* () {
        const { world, settings, demand, responding, a, b } = yield* publishedWithTwoResponses
        const selection = yield* Selection.Selection
        const c = yield* responding.respond(world.serviceInstitution.account, {
          demandId: demand.id,
          proposal
        })
        yield* selection.adopt(world.enterprise.account, { responseId: a.id })
        yield* selection.giveFeedback(world.enterprise.account, {
          responseId: b.id,
          feedback: { reason: "cost_too_high" }
        })
        const sweeper = yield* Sweeper.Sweeper
        const notAdopted = notAdoptedNotices

        const windowEnd = Deadline.selectionEndsAt(demand.form.responseDeadline, settings)
        yield* at(windowEnd)
        assert.strictEqual(yield* sweeper.sweepOnce(), 0, "the last instant of the window is still inside it")
        assert.strictEqual((yield* notAdopted).length, 0)

        yield* at(DateTime.add(windowEnd, { millis: 1 }))
        const [first, second] = yield* Effect.all([sweeper.sweepOnce(), sweeper.sweepOnce()], {
          concurrency: "unbounded"
        })
        assert.strictEqual(first + second, 1, "one sweeper closes the demand, the other finds nothing")
        assert.strictEqual(yield* sweeper.sweepOnce(), 0)
        const notices = yield* notAdopted
        assert.strictEqual(notices.length, 2)
        const byPhone = new Map(notices.map((n) => [n.dedupeKey.split(":")[1], n]))
        assert.strictEqual(byPhone.get(b.id)?.params.reason, "成本过高")
        assert.strictEqual(byPhone.get(c.id)?.params.reason, "需求方暂未填写")
        assert.isFalse(byPhone.has(a.id))

        const lists = yield* Lists.Lists
        const mine = yield* lists.myResponses(world.expert.account, {})
        assert.strictEqual(mine.items[0]?.status, "not_adopted")
      }).pipe(Effect.provide(layer))
  )

  /** Memory ports whose listing ignores the `hasResponses` filter, as a careless adapter might. */
  const ignoringHasResponses = Layer.map(PersistenceMemory.layerMemory, (ports) => {
    const demands = Context.get(ports, Persistence.DemandRepository)
    return Context.add(ports, Persistence.DemandRepository, {
      ...demands,
      listBriefs: ({ hasResponses: _, ...query }) => demands.listBriefs(query)
    })
  })

  it.scoped.each([
    ["", PersistenceMemory.layerMemory],
    [" (even when the adapter's listing ignores hasResponses)", ignoringHasResponses]
  ] as const)(
    "R25, R14: a round holding responses in a service mode switched off since still ends with its window, each responder notified once; the mode's demands without responses are left alone%s",
    ([, memory]) =>
      Effect.gen(function* () {
        const { ports, over, settings, demand, a, b, quiet, switchedOff, notices } =
          yield* switchedOffRound(memory)
        const windowEnd = Deadline.selectionEndsAt(demand.form.responseDeadline, settings)
        yield* at(DateTime.add(windowEnd, { millis: 1 }))
        const swept = yield* Effect.flatMap(Sweeper.Sweeper, (sweeper) =>
          Effect.all([sweeper.sweepOnce(), sweeper.sweepOnce()])
        ).pipe(Effect.provide(over(switchedOff)))
        assert.deepStrictEqual(swept, [1, 0], "the round is ended once")
        assert.sameMembers(
          (yield* notices).map((n) => n.dedupeKey.split(":")[1]),
          [a.id, b.id]
        )
        const repo = Context.get(ports, Persistence.DemandRepository)
        const ended = Option.getOrThrow(yield* repo.findById(demand.id))
        assert.isTrue(
          ended.selectionEndedAt !== null && DateTime.Equivalence(ended.selectionEndedAt, windowEnd)
        )
        assert.isNull(
          Option.getOrThrow(yield* repo.findById(quiet.id)).selectionEndedAt,
          "no responses, a mode that takes none: no selection to end"
        )
      })
  )

  it.scoped(
    "R25, R14: a sweep that reads a full batch of a switched-off mode's rounds without responses (the adapter ignoring hasResponses) does not step over a later round holding responses",
    () =>
      Effect.gen(function* () {
        const ports = yield* Layer.build(ignoringHasResponses)
        const joint = { id: "joint", name: "联合攻关", acceptsResponses: true } as const
        const modes = (jointTakes: boolean) => ({
          serviceModes: [...Settings.defaults.serviceModes, { ...joint, acceptsResponses: jointTakes }]
        })
        const over = (jointTakes: boolean) => sweeperOn(Layer.succeedContext(ports), modes(jointTakes))
        const { held, quiet, cooperative } = yield* Effect.gen(function* () {
          yield* at(start)
          const world = yield* Fixtures.makeWorld
          const responding = yield* Responding.Responding
          const withResponse = (days: number) =>
            Effect.tap(
              Fixtures.publish(world, world.enterprise.account, { serviceMode: "joint" }, days),
              (d) => responding.respond(world.institute.account, { demandId: d.id, proposal })
            )
          const first = yield* withResponse(10)
          const quiet = yield* publishedMany(world, 99, 11, { serviceMode: "joint" })
          const last = yield* withResponse(12)
          const cooperative = yield* publishedMany(world, 100, 13)
          return { held: [first, last], quiet, cooperative }
        }).pipe(Effect.provide(over(true)))
        yield* Effect.gen(function* () {
          yield* justAfterWindow(cooperative[0]!)
          assert.strictEqual(yield* (yield* Sweeper.Sweeper).sweepDue, 102)
          assert.strictEqual(yield* endedAmong(held), 2, "both rounds holding responses")
          assert.strictEqual(yield* endedAmong(cooperative), 100)
          assert.strictEqual(yield* endedAmong(quiet), 0)
        }).pipe(Effect.provide(over(false)))
      })
  )

  it.scoped(
    "R14, R25: a round holding responses in a service mode switched off since reads as selecting until its window ends: its side is offered adopt and end_selection and may end it early, each responder notified once; the mode's demand without responses reads no_responses",
    () =>
      Effect.gen(function* () {
        const round = yield* switchedOffRound(PersistenceMemory.layerMemory)
        const { world, settings, demand, a, b, quiet, notices } = round
        const switchedOff = round.over(round.switchedOff)
        yield* at(DateTime.add(Deadline.endOfDate(demand.form.responseDeadline, settings), { days: 1 }))
        const read = (id: typeof demand.id) => viewedBy(world.enterprise.account, id)
        const before = yield* read(demand.id).pipe(Effect.provide(switchedOff))
        assert.strictEqual(before.phase, "selecting")
        assert.includeMembers([...before.actions], ["adopt", "end_selection"])
        assert.isTrue(
          before.selectionEndsAt !== null &&
            DateTime.Equivalence(
              before.selectionEndsAt,
              Deadline.selectionEndsAt(demand.form.responseDeadline, settings)
            ),
          "its window's end"
        )
        const quietView = yield* read(quiet.id).pipe(Effect.provide(switchedOff))
        assert.strictEqual(quietView.phase, "no_responses")
        assert.notInclude([...quietView.actions], "end_selection")
        const ended = yield* Effect.flatMap(Selection.Selection, (s) =>
          s.endSelection(world.enterprise.account, { demandId: demand.id })
        ).pipe(Effect.provide(switchedOff))
        assert.isNotNull(ended.selectionEndedAt)
        assert.sameMembers(
          (yield* notices).map((n) => n.dedupeKey.split(":")[1]),
          [a.id, b.id]
        )
        assert.strictEqual((yield* read(demand.id).pipe(Effect.provide(switchedOff))).phase, "selection_over")
      })
  )

  it.effect(
    "R25: a sweep whose adapter ignores the position to start after (on one list) logs it as an error, naming the port",
    () =>
      Effect.gen(function* () {
        const lines: Array<string> = []
        const logger = Logger.make(({ logLevel, message }) =>
          lines.push(`${logLevel.label} ${String(message)}`)
        )
        const stuck = new Set<string>()
        const failing = failingUpdates({ demand: (d) => stuck.has(d.id) })
        const ignoringAfter = (ports: Context.Context<Persistence.Ports>) => {
          const demands = Context.get(ports, Persistence.DemandRepository)
          return Context.add(ports, Persistence.DemandRepository, {
            ...demands,
            listBriefs: (query) =>
              demands.listBriefs(query.hasResponses === true ? { ...query, after: undefined } : query)
          })
        }
        for (const [name, change, logged] of [
          ["a careful adapter", failing, 0],
          [
            "an adapter ignoring after",
            (ports: Context.Context<Persistence.Ports>) => ignoringAfter(failing(ports)),
            1
          ]
        ] as const) {
          lines.length = 0
          yield* Effect.gen(function* () {
            yield* at(start)
            const world = yield* Fixtures.makeWorld
            // A round holding a response that cannot be ended: it stays due, before every later position.
            const held = yield* Fixtures.publish(world, world.enterprise.account, {}, 10)
            yield* (yield* Responding.Responding).respond(world.institute.account, {
              demandId: held.id,
              proposal
            })
            stuck.add(held.id)
            const later = yield* publishedMany(world, 150, 11)
            yield* justAfterWindow(later[0]!)
            yield* Effect.either((yield* Sweeper.Sweeper).sweepDue)
          }).pipe(
            Effect.provide(sweeperOver(change)),
            Effect.provide(Logger.replace(Logger.defaultLogger, logger))
          )
          const errors = lines.filter((line) => line.startsWith("ERROR") && line.includes("ignores `after`"))
          assert.lengthOf(errors, logged, `${name}: ${lines.join("\n")}`)
          if (logged > 0) assert.include(errors[0], "DemandRepository.listBriefs")
        }
      })
  )

  it.effect(
    "R25: on a deadline day, every round whose window passed ends within one period of the sweeper's run, not a hundred a period",
    () =>
      Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        const settings = yield* Settings.Settings
        const published = yield* publishedMany(world, 250, 10)
        const windowEnd = Deadline.selectionEndsAt(published[0]!.form.responseDeadline, settings)
        yield* at(DateTime.add(windowEnd, { millis: 1 }))
        const fiber = yield* Effect.fork((yield* Sweeper.Sweeper).run("1 minute"))
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* endedAmong(published), 250)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(layer))
  )

  it.effect("R25: a demand whose selection was ended by its side is not swept again", () =>
    Effect.gen(function* () {
      yield* at(start)
      const world = yield* Fixtures.makeWorld
      const settings = yield* Settings.Settings
      const demand = yield* Fixtures.publish(world, world.enterprise.account, {}, 10)
      const responding = yield* Responding.Responding
      yield* responding.respond(world.institute.account, { demandId: demand.id, proposal })
      yield* at(DateTime.add(Deadline.endOfDate(demand.form.responseDeadline, settings), { millis: 1 }))
      yield* (yield* Selection.Selection).endSelection(world.enterprise.account, { demandId: demand.id })
      const outbox = yield* Persistence.Outbox
      const before = (yield* outbox.list({ limit: 1000 })).length
      yield* at(DateTime.add(Deadline.selectionEndsAt(demand.form.responseDeadline, settings), { days: 1 }))
      assert.strictEqual(yield* (yield* Sweeper.Sweeper).sweepOnce(), 0)
      assert.strictEqual((yield* outbox.list({ limit: 1000 })).length, before)
    }).pipe(Effect.provide(layer))
  )
})

describe("Sweeper, two instances", () => {
  /** Run once, right after a sweep has listed the demands due (then cleared): another instance's sweep. */
  const afterListing: { run: Effect.Effect<unknown, unknown> | null } = { run: null }
  const layer = sweeperOver((ports) => {
    const demands = Context.get(ports, Persistence.DemandRepository)
    return Context.add(ports, Persistence.DemandRepository, {
      ...demands,
      listBriefs: (query) =>
        Effect.tap(demands.listBriefs(query), () => {
          const run = afterListing.run
          afterListing.run = null
          return run === null ? Effect.void : Effect.orDie(run)
        })
    })
  })
  it.effect(
    "R25: a demand another instance's sweep closes after this sweep listed it is not closed again: one window_ended event, one not-adopted notice per response",
    () =>
      Effect.gen(function* () {
        const { world, demand } = yield* publishedWithTwoResponses
        const sweeper = yield* Sweeper.Sweeper
        yield* justAfterWindow(demand)
        const other = { closed: -1 }
        afterListing.run = Effect.map(sweeper.sweepOnce(), (closed) => {
          other.closed = closed
        })
        assert.strictEqual(
          yield* sweeper.sweepOnce(),
          0,
          "this sweep finds the demand closed once it holds it"
        )
        assert.strictEqual(other.closed, 1, "the other instance's sweep closed it")
        assert.lengthOf(yield* notAdoptedNotices, 2)
        const events = yield* demandTrail(world.operator, demand.id)
        const count = (action: string) => events.filter((e) => e.action === action).length
        assert.strictEqual(count("selection.window_ended"), 1)
        assert.strictEqual(count("response.not_adopted"), 2)
      }).pipe(Effect.provide(layer))
  )

  it.effect(
    "R25: when another instance ends some of a full batch first, the sweep still goes on to the deadline day's remaining rounds",
    () =>
      Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        const published = yield* publishedMany(world, 250, 10)
        const sweeper = yield* Sweeper.Sweeper
        yield* justAfterWindow(published[0]!)
        afterListing.run = sweeper.sweepOnce(1)
        assert.strictEqual(yield* sweeper.sweepDue, 249, "one round was the other instance's")
        assert.strictEqual(yield* endedAmong(published), 250)
      }).pipe(Effect.provide(layer))
  )
})

describe("Sweeper, atomic", () => {
  const updates = { failing: false }
  it.effect(
    'R25: a sweep whose "not adopted" updates cannot be written changes nothing, and the next sweep ends the selection once',
    () =>
      Effect.gen(function* () {
        const { world, demand, a, b } = yield* publishedWithTwoResponses
        const notAdopted = notAdoptedNotices
        const stored = yield* Persistence.ResponseRepository
        const statuses = Effect.forEach([a, b], (r) =>
          Effect.map(stored.findById(r.id), (x) => Option.getOrThrow(x).status)
        )
        const sweeper = yield* Sweeper.Sweeper
        yield* justAfterWindow(demand)

        updates.failing = true
        const failure = yield* failureOf(sweeper.sweepOnce())
        assert.strictEqual(failure._tag, "InfrastructureError")
        assert.deepStrictEqual(yield* statuses, ["submitted", "submitted"])
        assert.lengthOf(yield* notAdopted, 0)
        const view = yield* (yield* Publishing.Publishing).get(world.enterprise.account, {
          demandId: demand.id
        })
        assert.isNull(view.demand.selectionEndedAt)

        updates.failing = false
        assert.strictEqual(yield* sweeper.sweepOnce(), 1)
        assert.deepStrictEqual(yield* statuses, ["not_adopted", "not_adopted"])
        assert.lengthOf(yield* notAdopted, 2)
      }).pipe(Effect.provide(withFailingNotAdopted(updates)))
  )
})

describe("Sweeper, one demand failing", () => {
  const failing = { demandId: "" }
  const layer = withFailingNotAdoptedOf((r) => r.demandId === failing.demandId)
  it.effect("R25: a demand that cannot be closed does not keep the others' selections open", () =>
    Effect.gen(function* () {
      const { world, demand: stuck, responding } = yield* publishedWithTwoResponses
      const other = yield* Fixtures.publish(world, world.enterprise.account, {}, 11)
      const r = yield* responding.respond(world.institute.account, { demandId: other.id, proposal })
      failing.demandId = stuck.id
      yield* justAfterWindow(other)
      const failure = yield* failureOf((yield* Sweeper.Sweeper).sweepOnce())
      assert.strictEqual(failure._tag, "InfrastructureError")
      const stored = yield* Persistence.ResponseRepository
      assert.strictEqual(Option.getOrThrow(yield* stored.findById(r.id)).status, "not_adopted")
      const notices = yield* notAdoptedNotices
      assert.lengthOf(notices, 1, "the other demand's notice, and none of the stuck one's")
      failing.demandId = ""
      assert.strictEqual(yield* (yield* Sweeper.Sweeper).sweepOnce(), 1)
      assert.lengthOf(yield* notAdoptedNotices, 3)
    }).pipe(Effect.provide(layer))
  )
})

describe("Sweeper, one demand failing on a deadline day", () => {
  const failing = { demandId: "" }
  const layer = sweeperOver(failingUpdates({ demand: (d) => d.id === failing.demandId }))
  it.effect(
    "R25: a round that cannot be ended does not hold a deadline day's other rounds to one batch a period; the sweep then fails with its error",
    () =>
      Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        const settings = yield* Settings.Settings
        const stuck = yield* Fixtures.publish(world, world.enterprise.account, {}, 10)
        const others = yield* publishedMany(world, 250, 11)
        failing.demandId = stuck.id
        const windowEnd = Deadline.selectionEndsAt(others[0]!.form.responseDeadline, settings)
        yield* at(DateTime.add(windowEnd, { millis: 1 }))
        const failure = yield* failureOf((yield* Sweeper.Sweeper).sweepDue)
        assert.strictEqual(failure._tag, "InfrastructureError")
        assert.strictEqual(yield* endedAmong(others), 250, "the earliest round failing in every batch")
        const repo = yield* Persistence.DemandRepository
        assert.isNull(Option.getOrThrow(yield* repo.findById(stuck.id)).selectionEndedAt)
      }).pipe(Effect.provide(layer))
  )
})

describe("Sweeper, a full batch that cannot be ended", () => {
  const stuck = new Set<string>()
  const layer = sweeperOver(failingUpdates({ demand: (d) => stuck.has(d.id) }))
  it.effect(
    "R25: rounds that can never be ended, a whole batch of them, do not keep the later rounds of the period open",
    () =>
      Effect.gen(function* () {
        yield* at(start)
        const world = yield* Fixtures.makeWorld
        const failing = yield* publishedMany(world, 120, 10)
        const later = yield* publishedMany(world, 30, 11)
        for (const d of failing) stuck.add(d.id)
        yield* justAfterWindow(later[0]!)
        const failure = yield* failureOf((yield* Sweeper.Sweeper).sweepDue)
        assert.strictEqual(failure._tag, "InfrastructureError")
        assert.strictEqual(yield* endedAmong(later), 30)
        assert.strictEqual(yield* endedAmong(failing), 0)
      }).pipe(Effect.provide(layer))
  )
})

describe("Sweeper, running", () => {
  const updates = { failing: false }
  it.effect(
    "R25: a sweep the database cannot answer does not stop the sweeper: the next period ends the selection",
    () =>
      Effect.gen(function* () {
        const { demand, a, b } = yield* publishedWithTwoResponses
        const stored = yield* Persistence.ResponseRepository
        const statuses = Effect.forEach([a, b], (r) =>
          Effect.map(stored.findById(r.id), (x) => Option.getOrThrow(x).status)
        )
        yield* justAfterWindow(demand)
        updates.failing = true
        const fiber = yield* Effect.fork((yield* Sweeper.Sweeper).run("1 minute"))
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* statuses, ["submitted", "submitted"])
        assert.strictEqual(fiber.unsafePoll(), null, "the sweeper still runs after a failed sweep")
        updates.failing = false
        yield* TestClock.adjust("1 minute")
        assert.deepStrictEqual(yield* statuses, ["not_adopted", "not_adopted"])
        assert.lengthOf(yield* notAdoptedNotices, 2)
        assert.strictEqual(fiber.unsafePoll(), null)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(withFailingNotAdopted(updates)))
  )
})

describe("Notification parameters", () => {
  it.effect("R64: a template value longer than smsParamMaxLength is cut and ends with an ellipsis", () =>
    Effect.gen(function* () {
      yield* at(start)
      const world = yield* Fixtures.makeWorld
      const title = "超长标题".repeat(10)
      const demand = yield* Fixtures.publish(world, world.enterprise.account, { title })
      const response = yield* (yield* Responding.Responding).respond(world.institute.account, {
        demandId: demand.id,
        proposal
      })
      yield* (yield* Selection.Selection).adopt(world.enterprise.account, { responseId: response.id })
      const adopted = (yield* (yield* Persistence.Outbox).list({ limit: 100 })).find(
        (m) => m.event === "response_adopted"
      )
      assert.strictEqual(adopted?.params.title, `${title.slice(0, 19)}…`)
      assert.strictEqual(adopted?.params.number, demand.number)
    }).pipe(Effect.provide(layer))
  )
})

describe("Sweeper, outbox retention", () => {
  /** The platform's settings with messages kept 30 days once settled. */
  const thirtyDays = { outbox: { ...Settings.defaults.outbox, retentionDays: 30 } }

  /** `n` messages enqueued at `at`, claimed, and settled as sent (or dead) at `at`. */
  const settledAt = (n: number, dead = false) =>
    Effect.gen(function* () {
      const outbox = yield* Persistence.Outbox
      const now = yield* DateTime.now
      const messages = Array.from({ length: n }, () => outboxMessage("+8613912345678", now))
      yield* outbox.enqueue(messages)
      const claimed = yield* outbox.claim({ owner: "d", now, leaseMillis: 60_000, limit: n })
      yield* outbox.settleMany!(
        "d",
        claimed.map((t) => ({
          id: t.message.id,
          settlement: dead
            ? { _tag: "Dead" as const, at: now, error: "Permanent: 号码不存在", unknownOutcome: false }
            : {
                _tag: "Sent" as const,
                at: now,
                providerMessageId: `p-${t.message.id}`,
                unknownOutcome: false
              }
        }))
      )
      return messages.map((m) => m.id)
    })

  const remaining = Effect.flatMap(Persistence.Outbox, (outbox) =>
    Effect.map(outbox.list({ limit: 10_000 }), (all) => all.length)
  )

  it.effect(
    "R64: the sweeper deletes the messages sent or dead-lettered more than outbox.retentionDays ago (the phones they hold with them), in batches until none is left, and keeps the rest",
    () =>
      Effect.gen(function* () {
        yield* at(start)
        const old = yield* settledAt(2_100)
        const oldDead = yield* settledAt(3, true)
        yield* TestClock.adjust("10 days")
        const recent = yield* settledAt(5)
        const sweeper = yield* Sweeper.Sweeper
        yield* TestClock.adjust("20 days")
        assert.strictEqual(yield* sweeper.purgeOutbox, 0, "30 days on, nothing is past 30 days")
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(
          yield* sweeper.purgeOutbox,
          old.length + oldDead.length,
          "past 30 days: all of the first, over several batches"
        )
        assert.strictEqual(yield* remaining, recent.length, "those settled 10 days later are kept")
        const fiber = yield* Effect.fork(sweeper.run("1 day"))
        yield* TestClock.adjust("10 days")
        assert.strictEqual(yield* remaining, 0, "the running sweeper purges the rest when their time comes")
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(sweeperOn(PersistenceMemory.layerMemory, thirtyDays)))
  )
  const purges = { failing: true, calls: 0 }
  it.effect(
    "R64: a purge the database cannot answer does not stop the sweeper: it is tried again each period, and purges once the database answers",
    () =>
      Effect.gen(function* () {
        yield* at(start)
        const old = yield* settledAt(3)
        yield* TestClock.adjust("31 days")
        const fiber = yield* Effect.fork((yield* Sweeper.Sweeper).run("1 minute"))
        yield* TestClock.adjust("2 minutes")
        assert.isAtLeast(purges.calls, 2, "tried each period")
        assert.strictEqual(yield* remaining, old.length)
        assert.strictEqual(fiber.unsafePoll(), null, "the sweeper still runs after failed purges")
        purges.failing = false
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(yield* remaining, 0, "purged once the database answers")
        assert.strictEqual(fiber.unsafePoll(), null)
        yield* Fiber.interrupt(fiber)
      }).pipe(
        Effect.provide(
          sweeperOn(
            Layer.map(PersistenceMemory.layerMemory, (ports) => {
              const outbox = Context.get(ports, Persistence.Outbox)
              return Context.add(ports, Persistence.Outbox, {
                ...outbox,
                purge: (before, limit) =>
                  Effect.suspend(() => {
                    purges.calls += 1
                    return purges.failing
                      ? Effect.fail(
                          new Errors.InfrastructureError({ port: "Outbox", message: "connection refused" })
                        )
                      : outbox.purge!(before, limit)
                  })
              })
            }),
            thirtyDays
          )
        )
      )
  )
})
