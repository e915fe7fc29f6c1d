import * as Arr from "effect/Array"
import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import type { DemandBrief } from "../Demand.js"
import type { InfrastructureError } from "../Errors.js"
import type { Actor } from "../Member.js"
import { ResponseRepository } from "../Persistence.js"
import type { ResolvedSettings } from "../Settings.js"
import { dependsOnResponse } from "../View.js"

/** @internal Whether the reader's member has an active response in a demand's round, as `actionsOf` takes it. */
export type Responded = (demand: DemandBrief) => boolean

const never: Responded = () => false

/**
 * @internal
 * R21 for §9's actions: which of `demands` the actor's member already has an active
 * response to in the current round. Looked up only for the demands where it decides
 * an action ({@link dependsOnResponse}), in one read when the adapter has
 * `findActiveAmong`; other readers look nothing up.
 */
export const makeResponded = Effect.map(
  ResponseRepository,
  (responses) =>
    (
      actor: Actor | null,
      now: DateTime.DateTime,
      settings: ResolvedSettings,
      demands: ReadonlyArray<DemandBrief>
    ): Effect.Effect<Responded, InfrastructureError> => {
      const member = actor?.member
      const asked = demands.filter((d) => dependsOnResponse(d, actor, now, settings))
      if (member == null || asked.length === 0) return Effect.succeed(never)
      const found = responses.findActiveAmong
        ? responses.findActiveAmong(
            member.id,
            asked.map((d) => ({ demandId: d.id, round: d.round }))
          )
        : Effect.map(
            Effect.forEach(asked, (d) => responses.findActive(d.id, d.round, member.id)),
            Arr.getSomes
          )
      return Effect.map(found, (rows) => {
        const active = new Set(rows.map((r) => `${r.demandId}/${r.round}`))
        return (d) => active.has(`${d.id}/${d.round}`)
      })
    }
)
