import { assert, describe, it } from "@effect/vitest"
import { Errors, Persistence } from "@zhongbao/core"
import { Effect, Either, Option } from "effect"
import { withWorld } from "./helpers.js"

describe("the memory adapter's unit of work", () => {
  it.effect(
    "all-or-nothing: a unit that catches a refused write and goes on fails and keeps nothing, as on PostgreSQL",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          const existing = world.enterprise.member
          const renamed = { ...world.institution.member, name: "改名研究院", version: 2 }
          const result = yield* Effect.either(
            uow.transaction(
              Effect.gen(function* () {
                yield* members.update(renamed)
                const refused = yield* Effect.either(members.insert(existing))
                assert.isTrue(
                  Either.isLeft(refused) && refused.left instanceof Errors.UniqueViolation,
                  "the insert is refused"
                )
                return "went on"
              })
            )
          )
          assert.isTrue(
            Either.isLeft(result) && result.left instanceof Errors.InfrastructureError,
            "the unit fails as a store's unit whose transaction was aborted"
          )
          const after = Option.getOrThrow(yield* members.findById(renamed.id))
          assert.strictEqual(after.name, world.institution.member.name, "the unit's other write is undone")
        })
      )
  )

  it.effect(
    "all-or-nothing: a nested unit that catches a refused write fails alone; the outer unit goes on and keeps its writes",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const uow = yield* Persistence.UnitOfWork
          const members = yield* Persistence.MemberRepository
          const renamed = { ...world.institution.member, name: "改名研究院", version: 2 }
          const nested = yield* uow.transaction(
            Effect.gen(function* () {
              yield* members.update(renamed)
              return yield* Effect.either(
                uow.transaction(Effect.either(members.insert(world.enterprise.member)))
              )
            })
          )
          assert.isTrue(
            Either.isLeft(nested) && nested.left instanceof Errors.InfrastructureError,
            "the nested unit fails"
          )
          const after = Option.getOrThrow(yield* members.findById(renamed.id))
          assert.strictEqual(after.name, "改名研究院", "the outer unit's write is kept")
        })
      )
  )

  it.effect("all-or-nothing: a refused write outside any unit fails alone", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const members = yield* Persistence.MemberRepository
        const refused = yield* Effect.either(members.insert(world.enterprise.member))
        assert.isTrue(Either.isLeft(refused) && refused.left instanceof Errors.UniqueViolation)
        const renamed = { ...world.institution.member, name: "改名研究院", version: 2 }
        yield* members.update(renamed)
        assert.strictEqual(Option.getOrThrow(yield* members.findById(renamed.id)).name, "改名研究院")
      })
    )
  )
})
