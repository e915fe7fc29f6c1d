import { assert } from "@effect/vitest"
import { Errors, Pagination, Persistence, Settings, Zhongbao } from "@zhongbao/core"
import {
  Context,
  DateTime,
  Effect,
  Either,
  Layer,
  Option,
  Schema,
  Scope,
  TestClock,
  TestServices
} from "effect"

/** @internal What every conformance test runs with. */
export type Env = Zhongbao.Services | Persistence.Ports | Settings.Settings

/** @internal Replaces some ports of the adapter's context (failure injection, probes). */
export type Wrap = (ports: Context.Context<Persistence.Ports>) => Context.Context<Persistence.Ports>

/** @internal 2026-05-04 10:00 in Asia/Shanghai: the instant every test starts at. */
export const start: DateTime.Utc = DateTime.unsafeMake("2026-05-04T02:00:00Z")

/** @internal An instant `minutes` after {@link start}, with a millisecond part. */
export const minutesAfter = (minutes: number, millis = 0): DateTime.Utc =>
  DateTime.unsafeMake(DateTime.toEpochMillis(start) + minutes * 60_000 + millis)

/** @internal The tests' access to the adapter under test. */
export interface Harness {
  /**
   * Runs `body` on a fresh build of the adapter's ports (optionally wrapped), the
   * default settings and every use case, with the test clock at {@link start}.
   */
  readonly run: <A, E>(body: Effect.Effect<A, E, Env>, wrap?: Wrap) => Effect.Effect<A, unknown>
  /** Per-test timeout in milliseconds. */
  readonly timeout: number
  /**
   * The adapter has every optional capability: a test of one fails when the
   * capability is missing, instead of checking nothing.
   */
  readonly requireOptional: boolean
}

/** @internal What {@link lacks} needs of vitest's test context. */
export interface Skippable {
  readonly skip: (note?: string) => void
  readonly task?: { readonly result?: object | undefined }
}

/**
 * @internal
 * What a test of the optional capability `name` does when the adapter lacks it: it
 * is reported skipped (vitest's `ctx.skip`, with the reason), or it fails when the
 * suite requires every optional capability.
 */
export const lacks = (h: Harness, name: string, ctx: Skippable): Effect.Effect<void> =>
  Effect.sync(() =>
    h.requireOptional
      ? assert.fail(`the adapter lacks the optional capability ${name}, which this suite requires`)
      : skipWith(ctx, `the adapter lacks the optional capability ${name}`)
  )

/*
 * vitest keeps a skip's note only when it sees its own skip error, and
 * `@effect/vitest` rethrows a copy of what the effect died with: the note is set on
 * the task first (the skip itself holds, as `ctx.skip` marks the task before it throws).
 */
const skipWith = (ctx: Skippable, note: string) => {
  const result = ctx.task?.result as { note?: string } | undefined
  if (result !== undefined) result.note = note
  ctx.skip(note)
}

/** @internal */
export const makeHarness = (
  ports: Layer.Layer<Persistence.Ports, unknown>,
  timeout: number,
  requireOptional = false
): Harness => ({
  timeout,
  requireOptional,
  run: (body, wrap) => {
    const fresh = Layer.fresh(ports)
    const adapter =
      wrap === undefined
        ? fresh
        : Layer.effectContext(Effect.map(Effect.context<Persistence.Ports>(), wrap)).pipe(
            Layer.provide(fresh)
          )
    // The adapter is built and released on effect's live clock (a connection retried
    // with a sleep, a pool drained with a timeout); only the test's body runs under
    // the TestClock, where time moves only when the test moves it.
    return Effect.acquireUseRelease(
      Scope.make(),
      (scope) =>
        Effect.flatMap(TestServices.provideLive(Layer.buildWithScope(adapter, scope)), (built) =>
          Effect.zipRight(TestClock.setTime(DateTime.toEpochMillis(start)), body).pipe(
            Effect.provide(
              Zhongbao.layer.pipe(
                Layer.provideMerge(Layer.merge(Layer.succeedContext(built), Settings.layerDefault))
              )
            )
          )
        ),
      (scope, exit) => TestServices.provideLive(Scope.close(scope, exit))
    )
  }
})

/** @internal Replaces one port in a context. */
export const replace = <I, S>(
  ports: Context.Context<Persistence.Ports>,
  tag: Context.Tag<I, S>,
  f: (service: S) => S
): Context.Context<Persistence.Ports> =>
  Context.add(
    ports,
    tag,
    f(Context.get(ports as Context.Context<I>, tag))
  ) as Context.Context<Persistence.Ports>

/**
 * @internal
 * Fails with an injected `Outbox` error every write of notifications that `failing`
 * picks, however the adapter writes them: `Outbox.enqueue`, or the optional
 * `Journal` (whose entry's messages and account messages are all looked at).
 */
export const failingNotifications =
  (
    failing: (messages: ReadonlyArray<{ readonly params: Readonly<Record<string, string>> }>) => boolean
  ): Wrap =>
  (ports) => {
    const withOutbox = replace(ports, Persistence.Outbox, (outbox) => ({
      ...outbox,
      enqueue: (messages) => (failing(messages) ? Effect.fail(injected("Outbox")) : outbox.enqueue(messages))
    }))
    const journal = Context.getOption(
      ports as Context.Context<unknown> as Context.Context<Persistence.Journal>,
      Persistence.Journal
    )
    return Option.isNone(journal)
      ? withOutbox
      : (Context.add(withOutbox, Persistence.Journal, {
          write: (entry) =>
            failing([...entry.messages, ...entry.accountMessages.map((m) => m.message)])
              ? Effect.fail(injected("Outbox"))
              : journal.value.write(entry)
        }) as Context.Context<Persistence.Ports>)
  }

/**
 * @internal
 * Makes every port call yield to the other fibers before it runs, as a round trip
 * to a database would, so that concurrent use cases interleave at every call even
 * over an adapter that never suspends.
 */
export const yielding: Wrap = (ports) => {
  const services = new Map<string, unknown>()
  for (const [key, service] of ports.unsafeMap) {
    services.set(
      key,
      new Proxy(service as object, {
        get: (target, property, receiver) => {
          const value: unknown = Reflect.get(target, property, receiver)
          return typeof value === "function" && typeof property === "string"
            ? (...args: Array<unknown>) =>
                Effect.zipRight(
                  Effect.yieldNow(),
                  Effect.suspend(() => value.apply(target, args) as Effect.Effect<unknown, unknown>)
                )
            : value
        }
      })
    )
  }
  return Context.unsafeMake(services)
}

/** @internal An injected infrastructure failure. */
export const injected = (port: string): Errors.InfrastructureError =>
  new Errors.InfrastructureError({ port, message: "injected failure" })

/** @internal The value inside a `Some`, failing the test on `None`. */
export const some = <A>(option: Option.Option<A>, label: string): A => {
  if (Option.isNone(option)) assert.fail(`${label}: expected a row, found none`)
  return option.value
}

/** A found value for a failure message: bytes by their length, not one key per byte. */
const shown = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))

/** @internal Asserts `None`. */
export const none = <A>(option: Option.Option<A>, label: string): void => {
  if (Option.isSome(option)) assert.fail(`${label}: expected no row, found ${shown(option.value)}`)
}

/**
 * @internal
 * Runs an effect that must succeed; its failure fails the test under `label`
 * (which says what the contract expects), not as the port's bare error.
 */
export const succeeds = <A, E, R>(effect: Effect.Effect<A, E, R>, label: string) =>
  Effect.catchAll(effect, (error) =>
    Effect.sync(() => assert.fail(`${label}: expected a success, got ${shown(error)}`))
  )

const normal = <A, I>(schema: Schema.Schema<A, I>, value: A): unknown =>
  JSON.parse(JSON.stringify(Schema.encodeSync(schema)(value)))

/**
 * @internal
 * Asserts two rows are the same value: equal once encoded by their schema (instants
 * as ISO strings to the millisecond), absent and `undefined` optional fields alike.
 */
export const same = <A, I>(schema: Schema.Schema<A, I>, actual: A, expected: A, label: string): void => {
  assert.deepStrictEqual(normal(schema, actual), normal(schema, expected), label)
}

/** @internal The row of `rows` with `id`; fails the test, naming it, when there is none. */
export const byId = <A extends { readonly id: string }>(
  rows: ReadonlyArray<A>,
  id: string,
  label: string
): A => {
  const found = rows.find((r) => r.id === id)
  if (found === undefined) return assert.fail(`${label}: row ${id} is not in the list`)
  return found
}

/**
 * @internal
 * Asserts `actual` holds exactly the rows of `expected` (by id, in any order), each
 * {@link same} as its expected row; `labelOf` names a row in a failure.
 */
export const sameRows = <A extends { readonly id: string }, I>(
  schema: Schema.Schema<A, I>,
  actual: ReadonlyArray<A>,
  expected: ReadonlyArray<A>,
  label: string,
  labelOf: (row: A) => string = (row) => row.id
): void => {
  assert.sameMembers(
    actual.map((r) => r.id),
    expected.map((r) => r.id),
    label
  )
  for (const row of expected) same(schema, byId(actual, row.id, label), row, `${label}: ${labelOf(row)}`)
}

/** @internal Asserts an effect fails with the tagged error `tag`; returns the error. */
export const failsWith = <A, E, R>(effect: Effect.Effect<A, E, R>, tag: string, label: string) =>
  Effect.map(Effect.either(effect), (result) => {
    if (Either.isRight(result)) return assert.fail(`${label}: expected ${tag}, but it succeeded`)
    assert.isTrue(isTagged(result.left, tag), `${label}: expected ${tag}, got ${JSON.stringify(result.left)}`)
    return result.left
  })

/**
 * @internal
 * Whether `error` is core's (or this suite's) error of `tag`, by its tag: the adapter
 * may construct core's errors from another copy of `@zhongbao/core` than this suite
 * imports (npm nests one when their versions differ), whose classes `instanceof`
 * would not recognise.
 */
export const isTagged = (error: unknown, tag: string): boolean =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === tag

/**
 * @internal
 * Reads a whole list page by page, `limit` rows at a time, continuing after the
 * position of each page's last row; checks that no page is longer than `limit`.
 */
export const readAll = <A, E, R>(
  fetch: (range: Persistence.Range) => Effect.Effect<ReadonlyArray<A>, E, R>,
  key: (row: A) => Pagination.Position,
  limit = 10,
  label = "list"
): Effect.Effect<ReadonlyArray<A>, E, R> =>
  Effect.gen(function* () {
    const rows: Array<A> = []
    let after: Pagination.Position | undefined
    for (let page = 0; ; page++) {
      if (page > 10_000) return assert.fail(`${label}: the list never ends`)
      const got = yield* fetch({ after, limit })
      assert.isAtMost(got.length, limit, `${label}: page ${page + 1} has more than ${limit} rows`)
      rows.push(...got)
      const last = got[got.length - 1]
      if (got.length < limit || last === undefined) return rows
      after = key(last)
    }
  })

/**
 * @internal
 * Pages through a list and asserts it holds exactly `expected`, in the order of
 * `key` (then id), without duplicates or gaps. A failure names the order and
 * shows the keys read.
 */
export const expectPages = <A, E, R>(
  label: string,
  fetch: (range: Persistence.Range) => Effect.Effect<ReadonlyArray<A>, E, R>,
  key: (row: A) => Pagination.Position,
  descending: boolean,
  expected: ReadonlyArray<A>,
  id: (row: A) => string,
  limit = 10
): Effect.Effect<ReadonlyArray<A>, E, R> =>
  Effect.gen(function* () {
    const rows = yield* readAll(fetch, key, limit, label)
    const ids = rows.map(id)
    assert.strictEqual(new Set(ids).size, ids.length, `${label}: a row appears twice`)
    const want = [...expected].sort((a, b) => Pagination.comparePositions(key(a), key(b), descending)).map(id)
    const missing = want.filter((x) => !ids.includes(x))
    const extra = ids.filter((x) => !want.includes(x))
    assert.deepStrictEqual(
      { missing, extra },
      { missing: [], extra: [] },
      `${label}: rows missing from or wrongly in the list`
    )
    const order = `${descending ? "descending" : "ascending"} by the sort key, then by id (each list's order is in its port's docs, Persistence)`
    if (ids.some((x, i) => x !== want[i])) {
      const keys = rows.map((row) => JSON.stringify(key(row)))
      assert.deepStrictEqual(
        ids,
        want,
        `${label}: rows out of order: expected ${order}; read ${keys.join(" ")}`
      )
    }
    return rows
  })
