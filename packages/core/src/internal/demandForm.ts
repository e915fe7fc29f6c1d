import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CommissionRepository, TechnologyManagerRepository } from "../Persistence.js"
import { earliestDeadline, latestDeadlineAt } from "../Deadline.js"
import type { Demand, DemandForm } from "../Demand.js"
import { denied, type InvalidInput, invalid } from "../Errors.js"
import { type Member, isRegisteredInstitution } from "../Member.js"
import { type PlatformSettings, serviceMode } from "../Settings.js"
import { makeAttachmentCheck } from "./attachments.js"
import type { Ctx } from "./command.js"

/**
 * @internal R5: the rules a demand form's fields are refused under, where not R10's
 * (the field checks): by field, or under `prefix` (`form.`) when the form is a field
 * of the input.
 */
export const formRules = (prefix = ""): Readonly<Record<string, string>> => ({
  ...(prefix === "" ? {} : { [prefix.slice(0, -1)]: "R10" }),
  [`${prefix}responseDeadline`]: "R13",
  [`${prefix}serviceMode`]: "R14",
  [`${prefix}technologyManagerId`]: "R1",
  [`${prefix}clientId`]: "R41"
})

/**
 * @internal
 * R33: a demand that has its number keeps its client, through a restart and through
 * the edits after a rejection: the number names one client's demand, and its service
 * log is that client's to follow (R2).
 */
export const checkClientKept = (demand: Pick<Demand, "number" | "form">, form: DemandForm) =>
  demand.number !== null && (form.clientId ?? null) !== (demand.form.clientId ?? null)
    ? invalid(
        "R33",
        "form.clientId",
        "restart.client_changed",
        "form.clientId: a demand keeps the client it was numbered for; publish a new demand for another"
      )
    : Effect.void

/**
 * @internal
 * R10, R14: the form's technical field is one of the platform's, its service mode
 * exists and is one the publisher's kind may choose, under the settings now: checked
 * when the form is written, and again on approval (the settings may have changed
 * since). `suffix` is added to each message (what the operator can do about it).
 */
export const checkTaxonomy = (
  settings: PlatformSettings,
  publisher: Pick<Member, "kind">,
  form: Pick<DemandForm, "field" | "serviceMode">,
  prefix = "",
  suffix = ""
): Effect.Effect<void, InvalidInput> => {
  if (!settings.technicalFields.includes(form.field)) {
    return invalid(
      "R10",
      `${prefix}field`,
      "demand.field_unknown",
      `${prefix}field: not one of the platform's technical fields${suffix}`
    )
  }
  const mode = serviceMode(settings, form.serviceMode)
  if (mode === undefined) {
    return invalid(
      "R14",
      `${prefix}serviceMode`,
      "demand.service_mode_unknown",
      `${prefix}serviceMode: not one of the platform's service modes${suffix}`
    )
  }
  if (mode.publishers !== undefined && !mode.publishers.some((kind) => kind === publisher.kind)) {
    return invalid(
      "R14",
      `${prefix}serviceMode`,
      "demand.service_mode_not_allowed",
      `${prefix}serviceMode: ${mode.name} (${mode.id}) is chosen by ${mode.publishers.join(" or ")} publishers only${suffix}`
    )
  }
  return Effect.void
}

/**
 * @internal
 * R13: the response deadline lies between the earliest and the latest the settings
 * allow now: checked when the form is written, and again on approval (time has passed
 * and the settings may have changed since). `suffix` is added to each message.
 */
export const checkDeadlineWindow = (
  ctx: Pick<Ctx, "now" | "settings">,
  form: Pick<DemandForm, "responseDeadline">,
  prefix = "",
  suffix = ""
): Effect.Effect<void, InvalidInput> => {
  const earliest = earliestDeadline(ctx.now, ctx.settings)
  if (form.responseDeadline < earliest) {
    return invalid(
      "R13",
      `${prefix}responseDeadline`,
      "demand.deadline_too_soon",
      `${prefix}responseDeadline: must be on or after ${earliest}${suffix}`
    )
  }
  const latest = latestDeadlineAt(ctx.now, ctx.settings)
  if (form.responseDeadline > latest) {
    return invalid(
      "R13",
      `${prefix}responseDeadline`,
      "demand.deadline_too_late",
      `${prefix}responseDeadline: must be on or before ${latest} (at most ${ctx.settings.maxDeadlineDays} days ahead)${suffix}`
    )
  }
  return Effect.void
}

/**
 * @internal
 * The checks of a demand form that depend on the platform and the publisher: R1 a
 * registered institution (first: who may not publish is told so, not to mend a
 * field), R10 taxonomy, R14 service mode, R1 technology manager and client, R41 active
 * commission, (when `checkDeadline`) R13, and the attachments (R10, R54: files the
 * publisher uploaded).
 */
export const makeFormCheck = Effect.gen(function* () {
  const managers = yield* TechnologyManagerRepository
  const commissions = yield* CommissionRepository
  const checkAttachments = yield* makeAttachmentCheck
  return (ctx: Ctx, publisher: Member, form: DemandForm, checkDeadline: boolean, prefix = "") =>
    Effect.gen(function* () {
      if (publisher.kind === "transfer_institution" && !isRegisteredInstitution(publisher)) {
        return yield* denied(
          "R1",
          "institution.not_registered",
          "only a registered technology transfer institution may publish"
        )
      }
      yield* checkTaxonomy(ctx.settings, publisher, form, prefix)
      if (publisher.kind === "transfer_institution") {
        if (form.technologyManagerId === undefined) {
          return yield* invalid(
            "R10",
            `${prefix}technologyManagerId`,
            "demand.manager_required",
            `${prefix}technologyManagerId: an institution's demand names a technology manager`
          )
        }
        // Held until the unit of work ends: retiring the manager meanwhile waits (R1).
        const manager = yield* managers.findByIdForShare(form.technologyManagerId)
        if (Option.isNone(manager) || manager.value.institutionId !== publisher.id) {
          return yield* invalid(
            "R1",
            `${prefix}technologyManagerId`,
            "demand.manager_unknown",
            `${prefix}technologyManagerId: not a technology manager of this institution`
          )
        }
        if (!manager.value.active) {
          return yield* invalid(
            "R1",
            `${prefix}technologyManagerId`,
            "demand.manager_inactive",
            `${prefix}technologyManagerId: the technology manager is no longer active (retired by the institution)`
          )
        }
        if (form.clientId !== undefined) {
          const commission = yield* commissions.findOpenForShare(form.clientId, publisher.id)
          if (Option.isNone(commission) || commission.value.state !== "active") {
            return yield* denied(
              "R41",
              "demand.client_not_commissioning",
              `${prefix}clientId: the institution has no active commission from this enterprise`,
              `${prefix}clientId`
            )
          }
        }
      } else {
        if (form.technologyManagerId !== undefined) {
          return yield* denied(
            "R1",
            "demand.manager_not_allowed",
            `${prefix}technologyManagerId: only a registered institution names a technology manager`,
            `${prefix}technologyManagerId`
          )
        }
        if (form.clientId !== undefined) {
          return yield* denied(
            "R1",
            "demand.client_not_allowed",
            `${prefix}clientId: only a registered institution publishes on behalf of another member`,
            `${prefix}clientId`
          )
        }
      }
      if (checkDeadline) yield* checkDeadlineWindow(ctx, form, prefix)
      yield* checkAttachments("R10", `${prefix}attachments`, publisher.id, form.attachments)
    })
})
