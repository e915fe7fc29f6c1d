import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { canReadDemand, canSeeResponse, isClientOf, managesDemand } from "../Access.js"
import type { Demand } from "../Demand.js"
import { denied, type InfrastructureError, notFound } from "../Errors.js"
import type { DemandId, ResponseId } from "../Ids.js"
import type { Actor } from "../Member.js"
import { DemandRepository, ResponseRepository } from "../Persistence.js"
import type { Response } from "../Response.js"
import type { Ctx } from "./command.js"

/**
 * @internal
 * Loads demands for the use cases with the visibility rules applied: what the actor
 * may not read is not found (R5); what it may read but not manage is denied (R2).
 */
export const makeDemandAccess = Effect.gen(function* () {
  const demands = yield* DemandRepository
  const responses = yield* ResponseRepository
  /** The demand found, if the actor may read it (R5). */
  const visible = (actor: Actor | null, found: Option.Option<Demand>) =>
    Option.isSome(found) && canReadDemand(actor, found.value)
      ? Effect.succeed(found.value)
      : Effect.fail(notFound("demand"))

  const readable = (actor: Actor | null, id: DemandId, forUpdate = false) =>
    Effect.flatMap(forUpdate ? demands.findByIdForUpdate(id) : demands.findById(id), (found) =>
      visible(actor, found)
    )

  /** The demand found, if the actor may read (R5) and manage it (R2). */
  const managedOf = (actor: Actor, found: Option.Option<Demand>) =>
    Effect.flatMap(visible(actor, found), (demand) =>
      managesDemand(actor, demand)
        ? Effect.succeed(demand)
        : Effect.fail(
            isClientOf(actor, demand)
              ? denied(
                  "R2",
                  "demand.client_reads_only",
                  "a commissioning enterprise reads its demand but does not act on it"
                )
              : denied("R2", "demand.not_manager", "only the publisher's accounts manage a demand")
          )
    )

  /** The demand locked for update, if the actor manages it (R2). */
  const managed = (actor: Actor, id: DemandId) =>
    Effect.flatMap(demands.findByIdForUpdate(id), (found) => managedOf(actor, found))

  /**
   * A command's `prefetch` that locks the input's demand, read with the actor; the
   * command's body then checks it with {@link managedOf} (or `visible`). The lock is
   * taken before the actor is known, so even a caller refused afterwards holds it
   * until the unit of work ends.
   */
  const lock = (input: { readonly demandId: DemandId }) => demands.findByIdForUpdate(input.demandId)

  const nextOf = (before: Demand, changes: Partial<Demand>, now: Demand["updatedAt"]): Demand => ({
    ...before,
    ...changes,
    version: before.version + 1,
    updatedAt: now
  })

  /** Writes the next version of a demand. */
  const save = (before: Demand, changes: Partial<Demand>, now: Demand["updatedAt"]) => {
    const next = nextOf(before, changes, now)
    return Effect.as(demands.update(next), next)
  }

  /**
   * Like {@link save}, the write deferred to the end of the unit of work
   * (`Ctx.writeLater`): for a command that reads nothing of the demand back after it.
   */
  const saveLater = (
    ctx: Pick<Ctx, "now" | "writeLater">,
    before: Demand,
    changes: Partial<Demand>
  ): Effect.Effect<Demand> => {
    const next = nextOf(before, changes, ctx.now)
    return Effect.as(ctx.writeLater(demands.update(next)), next)
  }

  /**
   * A response and its demand, both as they are once the demand is locked (R26):
   * in one read where the adapter has `findWithDemandForUpdate`, else the response,
   * its demand locked, and the response again.
   */
  const withDemandForUpdate: (
    id: ResponseId
  ) => Effect.Effect<
    Option.Option<{ readonly response: Response; readonly demand: Demand }>,
    InfrastructureError
  > =
    responses.findWithDemandForUpdate ??
    ((id) =>
      Effect.flatMap(responses.findById(id), (first) =>
        Option.isNone(first)
          ? Effect.succeedNone
          : Effect.flatMap(demands.findByIdForUpdate(first.value.demandId), (demand) =>
              Option.isNone(demand)
                ? Effect.succeedNone
                : Effect.map(
                    responses.findById(id),
                    Option.map((response) => ({ response, demand: demand.value }))
                  )
            )
      ))

  /**
   * A command's `prefetch` that reads the input's response with its demand locked
   * ({@link withDemandForUpdate}), as {@link lock} does for a demand.
   */
  const lockResponse = (input: { readonly responseId: ResponseId }) => withDemandForUpdate(input.responseId)

  /**
   * The response and demand {@link lockResponse} found, if the actor manages the
   * demand: a response the actor may not see is not found (R4), nor is a demand it
   * may not read (R5); one it sees but does not manage is denied (R2).
   */
  const managedResponse = (
    actor: Actor,
    found: Option.Option<{ readonly response: Response; readonly demand: Demand }>
  ) =>
    Effect.gen(function* () {
      if (Option.isNone(found) || !canSeeResponse(actor, found.value.response))
        return yield* notFound("response", "R4")
      const { response, demand } = found.value
      if (!canReadDemand(actor, demand)) return yield* notFound("demand")
      if (!managesDemand(actor, demand))
        return yield* denied("R2", "demand.not_manager", "only the publisher's accounts act on its responses")
      return { response, demand }
    })

  return {
    visible,
    readable,
    managedOf,
    managed,
    lock,
    lockResponse,
    managedResponse,
    save,
    saveLater,
    withDemandForUpdate,
    repo: demands
  }
})
