import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/**
 * @internal
 * `make` run on the first call and its value kept for every later call; callers
 * that arrive while it runs wait for it. A run that fails or is interrupted keeps
 * nothing: the next call runs `make` again. `Effect.cached` keeps the first outcome,
 * whatever it is, so a first request that went away while a lazily made route was
 * being made (the docs UI loads a module of several megabytes) left that route
 * answering its interruption until the server restarted.
 */
export const keepSuccess = <A, E>(make: Effect.Effect<A, E>): Effect.Effect<Effect.Effect<A, E>> =>
  Effect.map(Effect.cachedInvalidateWithTTL(make, Duration.infinity), ([cached, invalidate]) =>
    Effect.onExit(cached, (exit) => (Exit.isSuccess(exit) ? Effect.void : invalidate))
  )
