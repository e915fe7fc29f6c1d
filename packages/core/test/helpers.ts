import { assert } from "@effect/vitest"
import {
  type Demand,
  Errors,
  type Ids,
  Persistence,
  PersistenceMemory,
  type Response,
  Review,
  Settings,
  Zhongbao
} from "@zhongbao/core"
import { Expect, Fixtures } from "@zhongbao/testing"
import { Context, DateTime, Effect, Layer, TestClock } from "effect"

/** 2026-05-04 10:00 in Asia/Shanghai. */
export const start = DateTime.unsafeMake("2026-05-04T02:00:00Z")

/** Sets the test clock to an instant. */
export const at = (instant: DateTime.DateTime | string) =>
  TestClock.setTime(
    DateTime.toEpochMillis(typeof instant === "string" ? DateTime.unsafeMake(instant) : instant)
  )

/** What the rule tests run with. */
export type Env = Zhongbao.Services | Persistence.Ports | Settings.Settings

/** Fresh in-memory services with optional settings, the clock at {@link start}, and the world. */
export const withWorld = <A, E>(
  body: (world: Fixtures.World) => Effect.Effect<A, E, Env>,
  overrides: Partial<Settings.PlatformSettings> = {}
) =>
  Effect.gen(function* () {
    yield* at(start)
    const world = yield* Fixtures.makeWorld
    return yield* body(world)
  }).pipe(Effect.provide(Layer.fresh(Zhongbao.layerMemory(overrides))), Effect.orDie)

/**
 * Like {@link withWorld}, on memory ports that `change` rewrites (a port wrapped, an
 * optional capability taken away), with optional settings.
 */
export const withPorts = <A, E>(
  change: (ports: Context.Context<Persistence.Ports>) => Context.Context<Persistence.Ports>,
  body: (world: Fixtures.World) => Effect.Effect<A, E, Env>,
  overrides: Partial<Settings.PlatformSettings> = {}
) => {
  const layer = Zhongbao.layer.pipe(
    Layer.provideMerge(
      Layer.merge(Layer.map(PersistenceMemory.layerMemory, change), Settings.layer(overrides))
    )
  )
  return Effect.gen(function* () {
    yield* at(start)
    return yield* body(yield* Fixtures.makeWorld)
  }).pipe(Effect.provide(Layer.fresh(layer)), Effect.orDie)
}

/**
 * The ports with the demand and response updates that `fails` picks failing with an
 * `InfrastructureError` ("disk full"), the others written as before: a write that
 * fails after the other writes of its unit were issued.
 */
export const failingUpdates =
  (fails: {
    readonly demand?: (demand: Demand.Demand) => boolean
    readonly response?: (response: Response.Response) => boolean
  }) =>
  <C>(ports: Context.Context<C>): Context.Context<C> => {
    const full = ports as Context.Context<Persistence.DemandRepository | Persistence.ResponseRepository>
    const demands = Context.get(full, Persistence.DemandRepository)
    const responses = Context.get(full, Persistence.ResponseRepository)
    const diskFull = (port: string) =>
      Effect.fail(new Errors.InfrastructureError({ port, message: "disk full" }))
    return full.pipe(
      Context.add(Persistence.DemandRepository, {
        ...demands,
        update: (demand) => (fails.demand?.(demand) ? diskFull("DemandRepository") : demands.update(demand))
      }),
      Context.add(Persistence.ResponseRepository, {
        ...responses,
        update: (response) =>
          fails.response?.(response) ? diskFull("ResponseRepository") : responses.update(response)
      })
    ) as Context.Context<C>
  }

/**
 * Like {@link withPorts}, with the locked reads that commands issue with the actor's
 * read (`DemandRepository.findByIdForUpdate`, `ResponseRepository.findWithDemandForUpdate`)
 * failing with an `InfrastructureError` ("lock timeout") while `locks.failing` is set.
 */
export const withFailingLocks = <A, E>(
  body: (world: Fixtures.World, locks: { failing: boolean }) => Effect.Effect<A, E, Env>
) => {
  const locks = { failing: false }
  const failing = <X>(port: string, read: Effect.Effect<X, Errors.InfrastructureError>) =>
    Effect.suspend(() =>
      locks.failing ? Effect.fail(new Errors.InfrastructureError({ port, message: "lock timeout" })) : read
    )
  return withPorts(
    (full) => {
      const demands = Context.get(full, Persistence.DemandRepository)
      const responses = Context.get(full, Persistence.ResponseRepository)
      const find = responses.findWithDemandForUpdate
      if (find === undefined) throw new Error("the memory ports read a response with its demand in one read")
      return full.pipe(
        Context.add(Persistence.DemandRepository, {
          ...demands,
          findByIdForUpdate: (id) => failing("DemandRepository", demands.findByIdForUpdate(id))
        }),
        Context.add(Persistence.ResponseRepository, {
          ...responses,
          findWithDemandForUpdate: (id) => failing("ResponseRepository", find(id))
        })
      )
    },
    (world) => body(world, locks)
  )
}

/**
 * The ports without the account's one-read lookups (`findWithMember`,
 * `findWithMemberAndRecord`): core reads the actor with `findById` and
 * `MemberRepository.findById`, its idempotency record with `IdempotencyRepository.find`.
 */
export const withoutOneReadLookups = <C>(ports: Context.Context<C>): Context.Context<C> => {
  const {
    findWithMember: _member,
    findWithMemberAndRecord: _record,
    ...accounts
  } = Context.get(ports as Context.Context<Persistence.AccountRepository>, Persistence.AccountRepository)
  return Context.add(ports, Persistence.AccountRepository, accounts) as Context.Context<C>
}

/** Runs `effect` and returns what it failed with; a success fails the test (`Expect.failureOf`). */
export const failureOf = Expect.failureOf

/** Runs `effect`, expects it to fail with `tag` naming `rule` (and `field` when given). */
export const expectError = <A, E extends { readonly _tag: string }, R>(
  effect: Effect.Effect<A, E, R>,
  tag: string,
  rule: string,
  field?: string
) =>
  Effect.gen(function* () {
    const error = (yield* failureOf(effect)) as E & { rule?: string; field?: string; message?: string }
    assert.strictEqual(error._tag, tag, `expected ${tag} ${rule}, got ${JSON.stringify(error)}`)
    assert.strictEqual(error.rule, rule, `expected rule ${rule}, got ${JSON.stringify(error)}`)
    if (field !== undefined) assert.strictEqual(error.field, field)
    assert.isString(error.message)
    return error
  })

/** Review over the same store, under settings changed since a form was checked or a round approved. */
export const reviewUnder = (overrides: Partial<Settings.PlatformSettings>) =>
  Effect.flatMap(Effect.context<Persistence.Ports>(), (context) =>
    Effect.provide(
      Review.Review,
      Review.Review.Default.pipe(
        Layer.provide(Settings.layer(overrides)),
        Layer.provide(Layer.succeedContext(context))
      )
    )
  )

/**
 * Runs `body` with core's use cases over the same store, under settings changed since
 * (a platform setting switched while rounds are under way).
 */
export const underSettings =
  (overrides: Partial<Settings.PlatformSettings>) =>
  <A, E, R>(body: Effect.Effect<A, E, R>) =>
    Effect.flatMap(Effect.context<Persistence.Ports>(), (ports) =>
      Effect.provide(
        body,
        Zhongbao.layer.pipe(
          Layer.provideMerge(Layer.merge(Layer.succeedContext(ports), Settings.layer(overrides)))
        )
      )
    )

let messageSeq = 0

/** An outbox message to `phone`, created at `createdAt`, its id and dedupe key new (`m-1`, `m-2` … in this file). */
export const outboxMessage = (phone: string, createdAt: DateTime.Utc) => {
  messageSeq += 1
  return {
    id: `m-${messageSeq}` as Ids.OutboxMessageId,
    event: "response_adopted" as const,
    dedupeKey: `response_adopted:r-${messageSeq}:${phone}`,
    recipientPhone: phone,
    templateId: "T1",
    params: { number: "ZB20260001", title: "标题" },
    createdAt
  }
}
