/**
 * Members, accounts and technology managers (§3, R1): what operators register and
 * what institutions keep.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Text } from "./Text.js"
import { denied, invalid, notFound } from "./Errors.js"
import * as Ids from "./Ids.js"
import { type AccountId, MemberId } from "./Ids.js"
import { makeRunner, strictly } from "./internal/command.js"
import {
  type Account,
  type Actor,
  Account as AccountSchema,
  isOperator,
  isRegisteredInstitution,
  Member as MemberSchema,
  MemberKind,
  Name,
  MobileNumber,
  PhoneNumber,
  type TechnologyManager,
  TechnologyManager as TechnologyManagerSchema
} from "./Member.js"
import { Page, PageRequest } from "./Pagination.js"
import * as Revision from "./Revision.js"
import { AccountRepository, MemberRepository, TechnologyManagerRepository } from "./Persistence.js"
import { pageOf } from "./internal/paging.js"
import * as SortKeys from "./SortKeys.js"

const operatorOnly = (rule: string) =>
  denied(rule, "operator.required", "only a platform operator may do this")

/** R1: the actor's member when it is a registered institution; refused otherwise. */
const registeredInstitution = (actor: Actor, doing: string) =>
  actor.member !== null && isRegisteredInstitution(actor.member)
    ? Effect.succeed(actor.member)
    : Effect.fail(
        denied(
          "R1",
          "institution.not_registered",
          `only a registered technology transfer institution ${doing}`
        )
      )

/** A person's record as an operator or an institution keeps it: an account, a technology manager. */
interface Kept {
  readonly name: string
  readonly phone: string
  readonly active: boolean
}

/** Whether an update leaves a kept record as it was (then it writes nothing). */
const unchanged = (before: Kept, after: Kept) =>
  after.name === before.name && after.phone === before.phone && after.active === before.active

/**
 * The audit of an update of a kept record: `<entity>.updated`, `.reactivated` or
 * `.<off>` (its deactivation), with its state before and after, never its phone.
 */
const updateAudit = (prefix: string, off: string, before: Kept, after: Kept) => {
  const state = (x: Kept) => (x.active ? "active" : "inactive")
  return {
    action:
      before.active === after.active
        ? `${prefix}.updated`
        : after.active
          ? `${prefix}.reactivated`
          : `${prefix}.${off}`,
    before: state(before),
    after: state(after)
  }
}

/**
 * Input of {@link Membership.createMember}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const CreateMemberInput = Schema.Struct({
  kind: MemberKind,
  name: Name,
  region: Schema.optional(Text(50))
})

/**
 * Input of {@link Membership.createAccount}: a member account (with `memberId`) or
 * an operator account (without).
 *
 * @since 0.1.0
 * @category inputs
 */
export const CreateAccountInput = Schema.Struct({
  memberId: Schema.optional(MemberId),
  name: Name,
  phone: MobileNumber
})

/**
 * Input of {@link Membership.updateAccount}: the account as it is to be, whole (its
 * name, its mobile number, whether it is active), and optionally the revisions of it
 * the caller read (`ifRevision`: the update is refused if it changed since).
 *
 * @since 0.1.1
 * @category inputs
 */
export const UpdateAccountInput = Schema.Struct({
  accountId: Ids.AccountId,
  name: Name,
  phone: MobileNumber,
  active: Schema.Boolean,
  ifRevision: Schema.optional(Revision.Expected)
})

/**
 * Input of {@link Membership.addTechnologyManager}.
 *
 * @since 0.1.0
 * @category inputs
 */
export const TechnologyManagerInput = Schema.Struct({ name: Name, phone: PhoneNumber })

/**
 * Input of {@link Membership.updateTechnologyManager}: the manager as it is to be,
 * whole (its name, its phone, whether it is active), and optionally the revisions of
 * it the caller read (`ifRevision`: the update is refused if it changed since).
 *
 * @since 0.1.1
 * @category inputs
 */
export const UpdateTechnologyManagerInput = Schema.Struct({
  technologyManagerId: Ids.TechnologyManagerId,
  name: Name,
  phone: PhoneNumber,
  active: Schema.Boolean,
  ifRevision: Schema.optional(Revision.Expected)
})

/**
 * Input of {@link bootstrapOperator}: the operator's name and phone, and optionally
 * the account's id.
 *
 * @since 0.1.0
 * @category inputs
 */
export const BootstrapOperatorInput = Schema.Struct({
  id: Schema.optional(Ids.AccountId),
  name: Name,
  phone: MobileNumber
})

/**
 * Creates the first operator account of a deployment, without an acting account.
 * Meant for installation and seeding only; never expose it to callers.
 *
 * With an `id`, it is safe to run on every start: an operator account with that id
 * is returned as it is (its name and phone unchanged, and inactive if an operator
 * deactivated it: `updateAccount` makes it active again), and only a missing one is
 * created (also when two instances start at once). An account with that id that is
 * not an operator is refused (`InvalidInput` on `id`). Without an `id`, every call
 * creates another operator.
 *
 * @since 0.1.0
 * @category bootstrap
 */
export const bootstrapOperator = (input: {
  readonly id?: AccountId | undefined
  readonly name: string
  readonly phone: string
}) =>
  Effect.gen(function* () {
    const accounts = yield* AccountRepository
    const decoded = yield* Schema.decodeUnknown(BootstrapOperatorInput, strictly)(input)
    const existing = (id: AccountId) =>
      Effect.flatMap(accounts.findById(id), (found) =>
        Option.isNone(found)
          ? Effect.succeedNone
          : found.value.role === "operator"
            ? Effect.succeedSome(found.value)
            : Effect.fail(
                invalid(
                  "§3",
                  "id",
                  "bootstrap.not_operator",
                  "id: this account exists and is not an operator"
                )
              )
      )
    const account: Account = {
      id: decoded.id ?? Ids.make(),
      memberId: null,
      role: "operator",
      name: decoded.name,
      phone: decoded.phone,
      active: true,
      reactivatedAt: null,
      createdAt: yield* DateTime.now
    }
    const insert = Effect.as(accounts.insert(account), account)
    const id = decoded.id
    if (id === undefined) return yield* insert
    const found = yield* existing(id)
    if (Option.isSome(found)) return found.value
    return yield* insert.pipe(
      Effect.catchTag("UniqueViolation", (violation) =>
        Effect.flatMap(existing(id), (found) =>
          Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(violation)
        )
      )
    )
  })

/**
 * Use cases of membership.
 *
 * @since 0.1.0
 * @category services
 */
export class Membership extends Effect.Service<Membership>()("@zhongbao/core/Membership", {
  effect: Effect.gen(function* () {
    const { command, query } = yield* makeRunner
    const members = yield* MemberRepository
    const accounts = yield* AccountRepository
    const managers = yield* TechnologyManagerRepository

    const memberOrNotFound = (id: MemberId, lock = false) =>
      Effect.flatMap(
        lock ? members.findByIdForUpdate(id) : members.findById(id),
        Option.match({
          onNone: () => Effect.fail(notFound("member", "R5", "memberId")),
          onSome: Effect.succeed
        })
      )

    return {
      /** §3: an operator registers a member organisation or expert. */
      createMember: command(
        { name: "createMember", input: CreateMemberInput, output: MemberSchema, rule: "§3" },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly("§3")
            const member = {
              id: Ids.make<MemberId>(),
              kind: input.kind,
              name: input.name,
              region: input.region ?? null,
              registered: false,
              createdAt: ctx.now
            }
            yield* members.insert(member)
            yield* ctx.audit({
              entity: "member",
              entityId: member.id,
              action: "member.created",
              after: member.kind,
              members: [member.id]
            })
            return member
          })
      ),

      /** R1: an operator registers a transfer institution. */
      registerInstitution: command(
        {
          name: "registerInstitution",
          input: Schema.Struct({ memberId: MemberId }),
          output: MemberSchema,
          rule: "R1"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly("R1")
            // Locked: a registration at the same moment waits, then finds it registered.
            const member = yield* memberOrNotFound(input.memberId, true)
            if (member.kind !== "transfer_institution") {
              return yield* invalid(
                "R1",
                "memberId",
                "member.not_institution",
                "only a technology transfer institution can be registered"
              )
            }
            if (member.registered) return member
            const registered = { ...member, registered: true }
            yield* members.update(registered)
            yield* ctx.audit({
              entity: "member",
              entityId: member.id,
              action: "institution.registered",
              before: "unregistered",
              after: "registered",
              members: [member.id]
            })
            return registered
          })
      ),

      /** §3: an operator creates an account for a member, or another operator. */
      createAccount: command(
        { name: "createAccount", input: CreateAccountInput, output: AccountSchema, rule: "§3" },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly("§3")
            if (input.memberId !== undefined) yield* memberOrNotFound(input.memberId)
            const account: Account = {
              id: Ids.make<AccountId>(),
              memberId: input.memberId ?? null,
              role: input.memberId === undefined ? "operator" : "member",
              name: input.name,
              phone: input.phone,
              active: true,
              reactivatedAt: null,
              createdAt: ctx.now
            }
            yield* accounts.insert(account)
            yield* ctx.audit({
              entity: "account",
              entityId: account.id,
              action: "account.created",
              after: account.role,
              members: [account.memberId]
            })
            return account
          })
      ),

      /**
       * §3: an operator corrects an account's name or phone, deactivates it (its person
       * left the member) or makes it active again. The input is the account as it is to
       * be; an input that changes nothing writes nothing. An inactive account no longer
       * acts (R5: `actor.unknown`) and is sent no SMS: its demands' notices go to its
       * member's first active account (R64). An operator does not deactivate its own
       * account (`account.self_deactivation`), so the platform keeps an operator who can
       * undo it; two deactivating each other at once are taken in turn (the account is
       * read with `findByIdForUpdate`), and the second is refused as inactive. The body
       * is the whole account: one naming the revision it was read at (`ifRevision`) is
       * refused if the account changed since (`revision.stale`); one without
       * overwrites a change made since, and is audited as the change it makes.
       * Messages already in the outbox keep the phone they were written with.
       * Made active again, the account records when (`reactivatedAt`) and does not act
       * on a credential issued before (`Member.credentialIssuedAt`).
       * Audited as `account.updated`, `account.deactivated` or `account.reactivated`,
       * with the account's state before and after (never its phone).
       */
      updateAccount: command(
        { name: "updateAccount", input: UpdateAccountInput, output: AccountSchema, rule: "§3" },
        (ctx, input) =>
          Effect.gen(function* () {
            if (!isOperator(ctx.actor)) return yield* operatorOnly("§3")
            const me = ctx.actor.account.id
            // Locked, in id order, with the actor's own account when it deactivates
            // another: two operators deactivating each other at once are taken in turn,
            // and the second finds itself inactive.
            const locking =
              !input.active && input.accountId !== me ? [me, input.accountId].sort() : [input.accountId]
            const locked = new Map<string, Option.Option<Account>>()
            for (const id of locking) locked.set(id, yield* accounts.findByIdForUpdate(id))
            const mine = locked.get(me)
            if (mine !== undefined && !Option.exists(mine, (a) => a.active)) {
              return yield* denied("R5", "actor.unknown", "the acting account is unknown or inactive")
            }
            const found = locked.get(input.accountId)!
            if (Option.isNone(found)) return yield* notFound("account", "R5", "accountId")
            const before = found.value
            yield* Revision.check(AccountSchema, before, input.ifRevision, "§3", "account")
            if (!input.active && before.id === me) {
              return yield* invalid(
                "§3",
                "active",
                "account.self_deactivation",
                "an operator does not deactivate its own account"
              )
            }
            const after: Account = {
              ...before,
              name: input.name,
              phone: input.phone,
              active: input.active,
              reactivatedAt: input.active && !before.active ? ctx.now : before.reactivatedAt
            }
            if (unchanged(before, after)) return before
            yield* accounts.update(after)
            yield* ctx.audit({
              entity: "account",
              entityId: before.id,
              ...updateAudit("account", "deactivated", before, after),
              members: [before.memberId]
            })
            return after
          })
      ),

      /**
       * R1: a registered institution names its technology managers, active. Audited as
       * `technology_manager.added` on the manager (entity `technology_manager`, as its
       * later changes are), on the institution's trail.
       */
      addTechnologyManager: command(
        {
          name: "addTechnologyManager",
          input: TechnologyManagerInput,
          output: TechnologyManagerSchema,
          rule: "R1"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            const member = yield* registeredInstitution(ctx.actor, "names technology managers")
            const manager = {
              id: Ids.make<Ids.TechnologyManagerId>(),
              institutionId: member.id,
              name: input.name,
              phone: input.phone,
              active: true,
              createdAt: ctx.now
            }
            yield* managers.insert(manager)
            yield* ctx.audit({
              entity: "technology_manager",
              entityId: manager.id,
              action: "technology_manager.added",
              after: "active",
              members: [member.id]
            })
            return manager
          })
      ),

      /**
       * R1: a registered institution corrects one of its technology managers' name or
       * phone, retires it (`active: false`: it left, or no longer follows demands) or
       * makes it active again. The input is the manager as it is to be; an input that
       * changes nothing writes nothing. A retired manager is not named on a demand form
       * again (`demand.manager_inactive`), nor is a demand naming it approved; the
       * demands published naming it keep it. The manager is read with
       * `findByIdForUpdate` and a form checks it with `findByIdForShare`: a retirement
       * and a demand naming the manager at once are taken in turn. Another
       * institution's manager is not found. An input naming the revision the manager
       * was read at (`ifRevision`) is refused if it changed since (`revision.stale`).
       * Audited as `technology_manager.updated`,
       * `technology_manager.retired` or `technology_manager.reactivated`, with its state
       * before and after (never its phone).
       */
      updateTechnologyManager: command(
        {
          name: "updateTechnologyManager",
          input: UpdateTechnologyManagerInput,
          output: TechnologyManagerSchema,
          rule: "R1"
        },
        (ctx, input) =>
          Effect.gen(function* () {
            const member = yield* registeredInstitution(ctx.actor, "keeps technology managers")
            const found = yield* managers.findByIdForUpdate(input.technologyManagerId)
            if (Option.isNone(found) || found.value.institutionId !== member.id) {
              return yield* notFound("technology_manager", "R1", "technologyManagerId")
            }
            const before = found.value
            yield* Revision.check(
              TechnologyManagerSchema,
              before,
              input.ifRevision,
              "R1",
              "technology manager"
            )
            const after: TechnologyManager = {
              ...before,
              name: input.name,
              phone: input.phone,
              active: input.active
            }
            if (unchanged(before, after)) return before
            yield* managers.update(after)
            yield* ctx.audit({
              entity: "technology_manager",
              entityId: before.id,
              ...updateAudit("technology_manager", "retired", before, after),
              members: [member.id]
            })
            return after
          })
      ),

      /**
       * The technology managers of an institution, retired ones included (`active`),
       * the earliest named first (its own accounts and operators).
       */
      technologyManagers: query(
        { input: Schema.Struct({ institutionId: MemberId }), rule: "R1" },
        (ctx, input) =>
          Effect.gen(function* () {
            if (
              ctx.actor === null ||
              !(isOperator(ctx.actor) || ctx.actor.member?.id === input.institutionId)
            ) {
              return yield* notFound("member")
            }
            return yield* managers.listByInstitution(input.institutionId)
          })
      ),

      /**
       * §3: a member's accounts, active or not, the earliest created first (operators):
       * what an operator reads to find the account to correct or deactivate
       * ({@link Membership.updateAccount}). An unknown member is not found.
       */
      accounts: query({ input: Schema.Struct({ memberId: MemberId }), rule: "§3" }, (ctx, input) =>
        Effect.gen(function* () {
          if (ctx.actor === null || !isOperator(ctx.actor)) return yield* operatorOnly("§3")
          yield* memberOrNotFound(input.memberId)
          return yield* accounts.listByMember(input.memberId)
        })
      ),

      /** R40: the registered institutions an enterprise may commission (public). */
      registeredInstitutions: query({ input: PageRequest, rule: "R40", anonymous: true }, (_ctx, input) =>
        pageOf(
          input,
          SortKeys.scopes.member,
          (range) => members.list({ kind: "transfer_institution", registered: true, ...range }),
          SortKeys.member
        )
      ),

      /** A member, for any signed-in account. */
      member: query({ input: Schema.Struct({ memberId: MemberId }), rule: "§3" }, (_ctx, input) =>
        memberOrNotFound(input.memberId)
      ),

      /**
       * §3: the signed-in account and the member it acts for (none for an operator), as
       * the platform holds them now: what a portal shows its user, and the member id
       * that member-scoped reads take (its technology managers, its audit trail).
       */
      me: query({ input: Schema.Struct({}), rule: "§3" }, ({ actor }) =>
        actor === null
          ? Effect.fail(denied("R5", "actor.required", "this needs a signed-in account"))
          : Effect.succeed<Me>({ account: actor.account, member: actor.member })
      )
    }
  })
}) {}

/**
 * What {@link Membership}'s `me` answers: the signed-in account and its member, `null`
 * for an operator's account.
 *
 * @since 0.1.0
 * @category outputs
 */
export const Me = Schema.Struct({
  account: AccountSchema,
  member: Schema.NullOr(MemberSchema)
}).annotations({ identifier: "Me" })

/** @since 0.1.0 @category outputs */
export type Me = typeof Me.Type

/**
 * Schema of a page of members.
 *
 * @since 0.1.0
 * @category outputs
 */
export const MemberPage = Page(MemberSchema)
