/**
 * The suite against the memory store stripped of every optional capability, as a
 * minimal adapter would be: it passes, and the tests of the capabilities it lacks
 * are reported skipped (with the capability named), not passed.
 */
import { afterAll, assert } from "@effect/vitest"
import { FileStore, Persistence, PersistenceMemory } from "@zhongbao/core"
import { Conformance } from "@zhongbao/testing/conformance"
import { Context, Effect, Layer } from "effect"

const minimal = Layer.scopedContext(
  Effect.map(Layer.build(PersistenceMemory.layerMemory), (full) => {
    const {
      findWithMember: _m,
      findWithMemberAndRecord: _r,
      ...accounts
    } = Context.get(full, Persistence.AccountRepository)
    const {
      findWithDemandForUpdate: _d,
      findActiveAmong: _a,
      ...responses
    } = Context.get(full, Persistence.ResponseRepository)
    const { settleMany: _s, purge: _p, ...outbox } = Context.get(full, Persistence.Outbox)
    const { read: _read, ...unitOfWork } = Context.get(full, Persistence.UnitOfWork)
    const { read: _stream, ...fileStore } = Context.get(full, FileStore.FileStore)
    return full.pipe(
      Context.omit(Persistence.Journal),
      Context.add(Persistence.AccountRepository, accounts),
      Context.add(Persistence.ResponseRepository, responses),
      Context.add(Persistence.Outbox, outbox),
      Context.add(Persistence.UnitOfWork, unitOfWork),
      Context.add(FileStore.FileStore, fileStore)
    ) as Context.Context<Persistence.Ports>
  })
)

Conformance.suite("memory without its optional capabilities", minimal)

/** The tests' names and skip notes, depth first. */
const skipped = (task: { readonly tasks?: ReadonlyArray<unknown> }): Array<string | undefined> =>
  (task.tasks ?? []).flatMap((t) => {
    const child = t as {
      readonly type: string
      readonly tasks?: ReadonlyArray<unknown>
      readonly result?: { readonly state?: string; readonly note?: string }
    }
    if (child.type !== "test") return skipped(child)
    return child.result?.state === "skip" ? [child.result.note] : []
  })

afterAll((file) => {
  const notes = skipped(file)
  assert.lengthOf(notes, 15, "the tests of the 9 capabilities the store lacks (Journal's in three groups)")
  for (const note of notes) assert.match(note ?? "", /^the adapter lacks the optional capability \S+$/)
  assert.includeMembers(
    [...new Set(notes)],
    [
      "the adapter lacks the optional capability Journal",
      "the adapter lacks the optional capability FileStore.read",
      "the adapter lacks the optional capability Outbox.settleMany",
      "the adapter lacks the optional capability Outbox.purge",
      "the adapter lacks the optional capability findWithMember"
    ]
  )
})
