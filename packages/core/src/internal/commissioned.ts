import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { DemandBrief } from "../Demand.js"
import type { InfrastructureError } from "../Errors.js"
import type { MemberId } from "../Ids.js"
import type { Actor } from "../Member.js"
import { CommissionRepository } from "../Persistence.js"
import { dependsOnCommission } from "../View.js"

/** @internal Whether the commission behind a demand is active, as `actionsOf` takes it. */
export type CommissionActive = (demand: DemandBrief) => boolean

const always: CommissionActive = () => true

/**
 * @internal
 * R41 for §9's actions: whether the commission behind each of `demands` is active
 * for `actor`. Looked up only for the demands whose actions depend on it
 * ({@link dependsOnCommission}), once per client; other readers look nothing up.
 */
export const makeCommissionActive = Effect.map(
  CommissionRepository,
  (commissions) =>
    (
      actor: Actor | null,
      demands: ReadonlyArray<DemandBrief>
    ): Effect.Effect<CommissionActive, InfrastructureError> => {
      const institution = actor?.member?.id
      const clients = new Set<MemberId>()
      for (const d of demands) if (dependsOnCommission(d, actor)) clients.add(d.form.clientId!)
      if (institution === undefined || clients.size === 0) return Effect.succeed(always)
      return Effect.map(
        Effect.forEach(clients, (client) =>
          Effect.map(commissions.findOpen(client, institution), (c) =>
            Option.isSome(c) && c.value.state === "active" ? null : client
          )
        ),
        (found) => {
          const ended = new Set(found.filter((c): c is MemberId => c !== null))
          return (d) => d.form.clientId === undefined || !ended.has(d.form.clientId)
        }
      )
    }
)
