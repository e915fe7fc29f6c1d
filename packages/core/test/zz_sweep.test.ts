import { assert, describe, it } from "@effect/vitest"
import { Persistence, Zhongbao, Deadline, Settings } from "@zhongbao/core"
import * as Sweeper from "./zz_sweeper_copy.js"
import { Fixtures } from "@zhongbao/testing"
import { DateTime, Effect, Layer, TestClock } from "effect"
import { at, start } from "./helpers.js"
describe("zz", () => {
  it.effect("sweep", () =>
    Effect.gen(function* () {
      yield* at(start)
      const world = yield* Fixtures.makeWorld
      yield* TestClock.adjust(1000)
      const d = yield* Fixtures.publish(world, world.enterprise.account, {}, 1)
      yield* TestClock.adjust("16 days")
      const now = yield* DateTime.now
      const settings = yield* Settings.Settings
      const repo = yield* Persistence.DemandRepository
      const q = {
        scope: { _tag: "all" } as const,
        sort: "deadline" as const,
        states: ["published" as const],
        selectionOpen: true,
        deadlineTo: Deadline.addDays(Deadline.dateAt(now, settings), -settings.selectionWindowDays - 1),
        limit: 100
      }
      console.log(
        DateTime.formatIso(now),
        d.form.responseDeadline,
        q.deadlineTo,
        (yield* repo.list(q)).length,
        (yield* repo.list({ ...q, deadlineTo: undefined })).length
      )
      const stored = yield* repo.findById(d.id)
      console.log(JSON.stringify(stored))
      const uow = yield* Persistence.UnitOfWork
      const r = yield* Effect.either(
        uow.transaction(
          Effect.gen(function* () {
            const demand = (yield* repo.findByIdForUpdate(d.id)).pipe((o: any) => o.value)
            const endsAt = Deadline.selectionEndsAt(demand.form.responseDeadline, settings)
            console.log("endsAt", DateTime.formatIso(endsAt), DateTime.greaterThan(now, endsAt))
            yield* repo.update({
              ...demand,
              selectionEndedAt: endsAt,
              intakeClosedAt: demand.intakeClosedAt ?? endsAt,
              version: demand.version + 1,
              updatedAt: now
            })
            const audit = yield* Persistence.AuditRepository
            yield* audit.append({
              id: "x" as any,
              at: now,
              actorAccountId: "system" as any,
              actorMemberId: null,
              onBehalfOf: null,
              entity: "demand",
              entityId: demand.id,
              demandId: demand.id,
              members: [demand.publisherId],
              action: "selection.window_ended",
              before: "selecting",
              after: "selection_over",
              reason: "0 not adopted"
            })
            return yield* Effect.fail("rollback-ok")
          })
        )
      )
      console.log("manual close:", JSON.stringify(r))
      const n = yield* Effect.flatMap(Sweeper.Sweeper, (s) => s.sweepOnce(1000))
      console.log(
        "after sweep",
        n,
        JSON.stringify(
          (yield* repo.findById(d.id)).pipe((o: any) => [o.value.selectionEndedAt, o.value.version])
        )
      )
      const audit = yield* Persistence.AuditRepository
      console.log(
        JSON.stringify(
          (yield* audit.list({ demandId: d.id, limit: 50 })).map((e) => [e.action, e.actorAccountId, e.at])
        )
      )
      assert.strictEqual(n, 1)
    }).pipe(
      Effect.provide(Sweeper.Sweeper.Default.pipe(Layer.provideMerge(Layer.fresh(Zhongbao.layerMemory())))),
      Effect.orDie
    )
  )
})
