/**
 * The suite against the memory store stripped of every optional capability, as a
 * minimal adapter would be: it passes, and the tests of the capabilities it lacks
 * are reported skipped (with the capability named), not passed.
 */
import { Persistence, PersistenceMemory } from "@zhongbao/core"
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
    const { settleMany: _s, ...outbox } = Context.get(full, Persistence.Outbox)
    const { read: _read, ...unitOfWork } = Context.get(full, Persistence.UnitOfWork)
    return full.pipe(
      Context.omit(Persistence.Journal),
      Context.add(Persistence.AccountRepository, accounts),
      Context.add(Persistence.ResponseRepository, responses),
      Context.add(Persistence.Outbox, outbox),
      Context.add(Persistence.UnitOfWork, unitOfWork)
    ) as Context.Context<Persistence.Ports>
  })
)

Conformance.suite("memory without its optional capabilities", minimal)
