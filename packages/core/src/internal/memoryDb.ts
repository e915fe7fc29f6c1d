import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import { InfrastructureError } from "../Errors.js"
import { comparePositions, type Position } from "../Pagination.js"

/** @internal An open memory transaction: undo actions, newest last. */
export interface Tx {
  readonly undo: Array<() => void>
}

/** @internal */
export const currentTx = FiberRef.unsafeMake<Option.Option<Tx>>(Option.none())

/**
 * A unit of work, outermost or nested: whether one of its writes was refused, and
 * the permit its nested units take, so that they run one after another.
 */
interface Unit {
  refused: boolean
  readonly nested: Effect.Semaphore
}

const currentUnit = FiberRef.unsafeMake<Unit | undefined>(undefined)

/**
 * @internal
 * Marks the innermost unit of work as having had a write refused (a unique key
 * taken). The unit then fails at its end even if it caught the refusal and went on,
 * as a PostgreSQL transaction that a failed statement aborted does, so that core's
 * tests on this adapter find a use case that would go on after one (the port allows
 * an adapter to fail it: see `Persistence`).
 */
export const refuse: Effect.Effect<void> = Effect.map(FiberRef.get(currentUnit), (unit) => {
  if (unit !== undefined) unit.refused = true
})

/** The failure of a unit that went on after a refused write. */
const wentOn = () =>
  new InfrastructureError({
    port: "UnitOfWork",
    message:
      "UnitOfWork.transaction: the unit went on after one of its writes was refused (a unique key taken); nothing of it was kept. Run a write that may be refused in a nested unit of work."
  })

/** `effect` as one unit, failing at its end if one of its writes was refused. */
const asUnit = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | InfrastructureError, R> =>
  Effect.suspend(() => {
    const unit: Unit = { refused: false, nested: Effect.unsafeMakeSemaphore(1) }
    return Effect.flatMap(Effect.locally(effect, currentUnit, unit), (a) =>
      unit.refused ? Effect.fail(wentOn()) : Effect.succeed(a)
    )
  })

/**
 * @internal
 * The store of `layerMemory`: plain maps guarded by one permit. A unit of work holds
 * the permit from start to end, so units never interleave; every write inside one
 * records how to undo itself, and a failed, dead or interrupted unit is rolled back
 * from that log. A write outside any unit takes the permit for itself.
 */
export class MemoryDb {
  readonly semaphore = Effect.unsafeMakeSemaphore(1)

  /** Runs `f` under the current unit, or as a unit of its own. */
  write<A>(f: (log: (undo: () => void) => void) => A): Effect.Effect<A> {
    return Effect.flatMap(FiberRef.get(currentTx), (tx) =>
      Option.isSome(tx)
        ? Effect.sync(() => f((undo) => tx.value.undo.push(undo)))
        : this.semaphore.withPermits(1)(Effect.sync(() => f(() => {})))
    )
  }

  /** Reads are synchronous snapshots of the maps. */
  read<A>(f: () => A): Effect.Effect<A> {
    return Effect.sync(f)
  }

  /**
   * Runs `effect` as a unit of work (nested in the current one, if any): rolled back
   * if it fails, dies or is interrupted, and failed, then rolled back, if it went on
   * after one of its writes was refused (see {@link refuse}). Nested units of one
   * unit run one after another: a rollback undoes the writes made since the nested
   * unit began, which would otherwise include a concurrent sibling's.
   */
  transaction<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | InfrastructureError, R> {
    return Effect.flatMap(FiberRef.get(currentTx), (outer) => {
      if (Option.isSome(outer)) {
        const tx = outer.value
        const nested = Effect.suspend(() => {
          const mark = tx.undo.length
          return Effect.onError(asUnit(effect), () => Effect.sync(() => rollback(tx, mark)))
        })
        return Effect.flatMap(FiberRef.get(currentUnit), (parent) =>
          parent === undefined ? nested : parent.nested.withPermits(1)(nested)
        )
      }
      return this.semaphore.withPermits(1)(
        Effect.suspend(() => {
          const tx: Tx = { undo: [] }
          return asUnit(effect).pipe(
            Effect.locally(currentTx, Option.some(tx)),
            Effect.onError(() => Effect.sync(() => rollback(tx, 0)))
          )
        })
      )
    })
  }
}

const rollback = (tx: Tx, mark: number) => {
  while (tx.undo.length > mark) tx.undo.pop()!()
}

/** @internal A map whose writes can be undone. */
export class Table<K, V> {
  readonly rows = new Map<K, V>()
  constructor(readonly db: MemoryDb) {}

  get(key: K): V | undefined {
    return this.rows.get(key)
  }

  set(key: K, value: V, log: (undo: () => void) => void): void {
    const had = this.rows.has(key)
    const before = this.rows.get(key)
    this.rows.set(key, value)
    log(() => {
      if (had) this.rows.set(key, before as V)
      else this.rows.delete(key)
    })
  }

  delete(key: K, log: (undo: () => void) => void): void {
    if (!this.rows.has(key)) return
    const before = this.rows.get(key) as V
    this.rows.delete(key)
    log(() => this.rows.set(key, before))
  }
}

/** @internal A page of rows in the order of `key` (then id, as the key's last part). */
export const page = <V>(
  rows: Iterable<V>,
  filter: (row: V) => boolean,
  key: (row: V) => Position,
  descending: boolean,
  after: Position | undefined,
  limit: number
): ReadonlyArray<V> => {
  const out: Array<{ row: V; key: Position }> = []
  for (const row of rows) {
    if (!filter(row)) continue
    const k = key(row)
    if (after !== undefined && comparePositions(k, after, descending) <= 0) continue
    out.push({ row, key: k })
  }
  out.sort((a, b) => comparePositions(a.key, b.key, descending))
  return out.slice(0, limit).map((x) => x.row)
}
