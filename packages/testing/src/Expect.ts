/**
 * Expectations for tests over zhongbao's use cases and ports, without a test runner
 * of their own (they fail with a defect that any runner reports).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

/**
 * Runs `effect` and returns what it failed with. A success dies with an `Error`
 * naming what came back, so the test fails with a short message. (`Effect.flip`
 * instead makes the success the test's error: a whole domain object, which
 * `@effect/vitest` has been seen to report and then never finish.)
 *
 * @since 0.1.0
 * @category expectations
 */
export const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  Effect.flatMap(Effect.either(effect), (result) =>
    Either.isLeft(result)
      ? Effect.succeed(result.left)
      : Effect.die(new Error(`expected a failure, got a success (${describe(result.right)})`))
  )

const describe = (value: unknown): string =>
  value === null || typeof value !== "object"
    ? String(value)
    : "_tag" in value
      ? String(value._tag)
      : `object with ${Object.keys(value).slice(0, 5).join(", ")}`
