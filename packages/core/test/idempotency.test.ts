import { assert, describe, it } from "@effect/vitest"
import {
  AuditTrail,
  Errors,
  Idempotency,
  type Ids,
  Lists,
  Outcome,
  Persistence,
  Publishing,
  Responding,
  Review,
  Selection
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Context, Effect, Either, Option } from "effect"
import { type Env, expectError, withoutOneReadLookups, withPorts, withWorld } from "./helpers.js"
import { notices, proposal } from "./support.js"

const key = { idempotencyKey: "respond-7f3a9c" }

/** The ids of a demand's responses, as its publisher lists them. */
const responseIds = (world: Fixtures.World, demandId: Ids.DemandId) =>
  Effect.flatMap(Lists.Lists, (lists) =>
    Effect.map(lists.demandResponses(world.enterprise.account, { demandId }), (page) =>
      page.items.map((r) => r.id)
    )
  )

describe("Idempotency", () => {
  it.effect(
    "R63: a repeat whose stored first result no longer reads as the command's output (an earlier release's) is refused, naming the rule, and nothing runs again",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const records = yield* Persistence.IdempotencyRepository
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const other = yield* Fixtures.publish(world, world.enterprise.account)
          const account = world.institute.account
          yield* responding.respond(account, { demandId: demand.id, proposal: proposal() }, key)
          const stored = Option.getOrThrow(yield* records.find(account, key.idempotencyKey))
          const input = { demandId: other.id, proposal: proposal() }
          yield* records.insert({
            ...stored,
            key: "stored-by-an-earlier-release",
            fingerprint: `respond:${Idempotency.canonicalJson(input)}`,
            result: { responseId: "r-1", shape: "of an earlier release" }
          })
          const error = yield* expectError(
            responding.respond(account, input, { idempotencyKey: "stored-by-an-earlier-release" }),
            "InvalidState",
            "R63"
          )
          assert.strictEqual((error as Errors.InvalidState).code, "idempotency.result_unreadable")
          assert.deepStrictEqual(yield* responseIds(world, other.id), [], "not run again")
        })
      )
  )

  it.effect(
    "R63, R23: a repeat whose stored demand was encoded before rounds kept their window (no selectionWindowDays) is answered from it, the window read as none",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const review = yield* Review.Review
          const records = yield* Persistence.IdempotencyRepository
          const account = world.enterprise.account
          const draft = yield* publishing.draft(account, yield* Fixtures.form())
          yield* publishing.submit(account, { demandId: draft.id })
          const approve = { idempotencyKey: "approve-before-the-window" }
          const approved = yield* review.approve(world.operator, { demandId: draft.id }, approve)
          assert.strictEqual(approved.selectionWindowDays, 14)
          const stored = Option.getOrThrow(yield* records.find(world.operator, approve.idempotencyKey))
          const { selectionWindowDays: _, ...earlier } = stored.result as Record<string, unknown>
          yield* records.insert({ ...stored, key: "stored-by-an-earlier-release", result: earlier })
          const replayed = yield* review.approve(
            world.operator,
            { demandId: draft.id },
            { idempotencyKey: "stored-by-an-earlier-release" }
          )
          assert.deepStrictEqual(replayed, { ...approved, selectionWindowDays: null })
        })
      )
  )

  it.effect(
    "R63: a command whose commit landed but was answered with an unknown outcome is answered from its own record, and that is no replay: onReplay does not run",
    () => {
      let loseTheNextCommit = false
      return withPorts(
        (ports) => {
          const uow = Context.get(ports, Persistence.UnitOfWork)
          return Context.add(ports, Persistence.UnitOfWork, {
            ...uow,
            transaction: (effect) =>
              Effect.flatMap(uow.transaction(effect), (a) => {
                if (!loseTheNextCommit) return Effect.succeed(a)
                loseTheNextCommit = false
                return Effect.fail(
                  new Errors.InfrastructureError({
                    port: "UnitOfWork",
                    message: "the connection was lost at COMMIT",
                    outcome: "unknown"
                  })
                )
              })
          } as typeof uow)
        },
        (world) =>
          Effect.gen(function* () {
            const responding = yield* Responding.Responding
            const demand = yield* Fixtures.publish(world, world.enterprise.account)
            let replays = 0
            const options = { ...key, onReplay: Effect.sync(() => void replays++) }
            const input = { demandId: demand.id, proposal: proposal() }
            loseTheNextCommit = true
            const first = yield* responding.respond(world.institute.account, input, options)
            assert.deepStrictEqual(yield* responseIds(world, demand.id), [first.id], "it ran once")
            assert.strictEqual(replays, 0, "it ran: nothing to give back")
            yield* responding.respond(world.institute.account, input, options)
            assert.strictEqual(replays, 1, "its repeat is a replay")
          })
      )
    }
  )

  it.effect(
    "R63: a repeat is the same request when the input's schema reads it alike (a title with surrounding spaces is trimmed), whichever layer decoded it",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const input = { demandId: demand.id, proposal: proposal() }
          const first = yield* responding.respond(world.institute.account, input, key)
          const padded = { ...input, proposal: { ...input.proposal, title: `  ${input.proposal.title} ` } }
          assert.deepStrictEqual(yield* responding.respond(world.institute.account, padded, key), first)
          yield* expectError(
            responding.respond(
              world.institute.account,
              { ...input, proposal: { ...input.proposal, title: `${input.proposal.title}二` } },
              key
            ),
            "IdempotencyKeyReused",
            "R63"
          )
          assert.deepStrictEqual(yield* responseIds(world, demand.id), [first.id])
        })
      )
  )

  it.effect(
    "R63: onReplay runs once a repeat was answered from the key's stored result, never when the command ran or was refused",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const other = yield* Fixtures.publish(world, world.enterprise.account)
          const input = { demandId: demand.id, proposal: proposal() }
          let replays = 0
          const counting = { ...key, onReplay: Effect.sync(() => void replays++) }
          yield* responding.respond(world.institute.account, input, counting)
          assert.strictEqual(replays, 0, "the first run")
          yield* responding.respond(world.institute.account, input, counting)
          assert.strictEqual(replays, 1, "a repeat")
          yield* responding.respond(world.institute.account, input, { ...counting, replayOnly: true })
          assert.strictEqual(replays, 2, "a repeat answered with replayOnly")
          yield* expectError(
            responding.respond(world.institute.account, { ...input, demandId: other.id }, counting),
            "IdempotencyKeyReused",
            "R63"
          )
          yield* responding.respond(world.expert.account, input, {
            idempotencyKey: "expert-1",
            onReplay: Effect.sync(() => void replays++)
          })
          yield* expectError(
            responding.respond(world.expert.account, input, {
              idempotencyKey: "expert-2",
              onReplay: Effect.sync(() => void replays++)
            }),
            "InvalidState",
            "R21"
          )
          assert.strictEqual(replays, 2, "neither the key reused, a new run nor a refusal")
        })
      )
  )

  it.effect("R63: a repeat with the same key and input returns the first result and changes nothing", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const lists = yield* Lists.Lists
        const trail = yield* AuditTrail.AuditTrail
        const publishing = yield* Publishing.Publishing
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const input = { demandId: demand.id, proposal: proposal() }

        const first = yield* responding.respond(world.institute.account, input, key)
        const again = yield* responding.respond(world.institute.account, input, key)
        const third = yield* responding.respond(world.institute.account, { ...input }, key)
        assert.deepStrictEqual(again, first)
        assert.deepStrictEqual(third, first)

        const stored = yield* lists.demandResponses(world.enterprise.account, { demandId: demand.id })
        assert.deepStrictEqual(
          stored.items.map((r) => r.id),
          [first.id]
        )
        const events = (yield* trail.list(world.enterprise.account, { demandId: demand.id, limit: 100 }))
          .items
        assert.lengthOf(
          events.filter((e) => e.action === "response.submitted"),
          1
        )
        assert.lengthOf(yield* notices("response_received"), 1)
        assert.strictEqual(
          (yield* publishing.get(world.enterprise.account, { demandId: demand.id })).demand.responseCount,
          1
        )
      })
    )
  )

  it.effect("R63: replayOnly answers a repeat of the key and runs nothing new", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const lists = yield* Lists.Lists
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const input = { demandId: demand.id, proposal: proposal() }
        const replayOnly = { idempotencyKey: "respond-1", replayOnly: true }
        const refused = yield* expectError(
          responding.respond(world.institute.account, input, replayOnly),
          "InvalidState",
          "R63"
        )
        assert.strictEqual((refused as { code?: string }).code, "idempotency.not_replayed")
        yield* expectError(
          responding.respond(world.institute.account, input, { replayOnly: true }),
          "InvalidState",
          "R63"
        )
        const responses = () =>
          Effect.map(lists.demandResponses(world.enterprise.account, { demandId: demand.id }), (page) =>
            page.items.map((r) => r.id)
          )
        assert.deepStrictEqual(yield* responses(), [])
        assert.lengthOf(yield* notices("response_received"), 0)

        const first = yield* responding.respond(world.institute.account, input, {
          idempotencyKey: "respond-1"
        })
        assert.deepStrictEqual(yield* responding.respond(world.institute.account, input, replayOnly), first)
        yield* expectError(
          responding.respond(
            world.institute.account,
            { ...input, proposal: proposal("另一方案") },
            replayOnly
          ),
          "IdempotencyKeyReused",
          "R63"
        )
        assert.deepStrictEqual(yield* responses(), [first.id])
      })
    )
  )

  it.effect("R63: the same input in another key order is the same input", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const p = proposal()
        const first = yield* responding.respond(
          world.institute.account,
          { demandId: demand.id, proposal: { title: p.title, content: p.content } },
          key
        )
        const again = yield* responding.respond(
          world.institute.account,
          { proposal: { content: p.content, title: p.title }, demandId: demand.id },
          key
        )
        assert.strictEqual(again.id, first.id)
      })
    )
  )

  it.effect("R63: a repeat returns the first result even after the state has moved on", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const input = { demandId: demand.id, proposal: proposal() }
        const first = yield* responding.respond(world.institute.account, input, key)
        const adoptKey = { idempotencyKey: "adopt-1" }
        const adopted = yield* selection.adopt(world.enterprise.account, { responseId: first.id }, adoptKey)
        // Intake is closed now, yet the repeat is answered from the first run.
        const again = yield* responding.respond(world.institute.account, input, key)
        assert.deepStrictEqual(again, first)
        // And the adoption repeated does not notify twice.
        const adoptedAgain = yield* selection.adopt(
          world.enterprise.account,
          { responseId: first.id },
          adoptKey
        )
        assert.deepStrictEqual(adoptedAgain, adopted)
        assert.lengthOf(yield* notices("response_adopted"), 1)
        // Without the key, the adoption is refused as it should be.
        yield* expectError(
          selection.adopt(world.enterprise.account, { responseId: first.id }),
          "InvalidState",
          "R23"
        )
      })
    )
  )

  it.effect("R63: the same key with a different input is refused", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const lists = yield* Lists.Lists
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const first = yield* responding.respond(
          world.institute.account,
          { demandId: demand.id, proposal: proposal() },
          key
        )
        yield* expectError(
          responding.respond(
            world.institute.account,
            { demandId: demand.id, proposal: proposal("另一方案") },
            key
          ),
          "IdempotencyKeyReused",
          "R63",
          "idempotencyKey"
        )
        const other = yield* Fixtures.publish(world, world.enterprise2.account)
        yield* expectError(
          responding.respond(world.institute.account, { demandId: other.id, proposal: proposal() }, key),
          "IdempotencyKeyReused",
          "R63"
        )
        // Another command with the same key.
        yield* expectError(
          responding.withdraw(world.institute.account, { responseId: first.id }, key),
          "IdempotencyKeyReused",
          "R63"
        )
        const stored = yield* lists.response(world.institute.account, { responseId: first.id })
        assert.strictEqual(stored.status, "submitted")
        assert.strictEqual(stored.proposal.title, first.proposal.title)
        const mine = yield* lists.myResponses(world.institute.account, {})
        assert.deepStrictEqual(
          mine.items.map((r) => r.id),
          [first.id]
        )
      })
    )
  )

  it.effect(
    "R63: the same key for another command with the very same input is refused: the command is part of the request",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const outcome = yield* Outcome.Outcome
          const selection = yield* Selection.Selection
          const me = world.enterprise.account
          const demand = yield* Fixtures.publish(world, me)
          const same = { idempotencyKey: "outcome-3c1d" }
          const recorded = yield* outcome.unsolved(me, { demandId: demand.id }, same)
          assert.strictEqual(recorded.outcome, "unsolved")
          const trail = yield* AuditTrail.AuditTrail
          const events = () => trail.list(me, { demandId: demand.id, limit: 100 })
          const before = yield* events()
          yield* expectError(
            selection.endSelection(me, { demandId: demand.id }, same),
            "IdempotencyKeyReused",
            "R63",
            "idempotencyKey"
          )
          assert.deepStrictEqual(yield* events(), before)
          assert.isNull(
            (yield* (yield* Publishing.Publishing).get(me, { demandId: demand.id })).demand.selectionEndedAt
          )
          // The first command's repeat still replays.
          assert.deepStrictEqual(yield* outcome.unsolved(me, { demandId: demand.id }, same), recorded)
        })
      )
  )

  it.effect("R63: keys belong to the account that sent them", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const input = { demandId: demand.id, proposal: proposal() }
        const a = yield* responding.respond(world.institute.account, input, key)
        const b = yield* responding.respond(world.expert.account, input, key)
        assert.notStrictEqual(a.id, b.id)
        assert.strictEqual(b.responderId, world.expert.member.id)
      })
    )
  )

  it.effect("R63: a failed command stores nothing under its key", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const outcome = yield* Outcome.Outcome
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const earlier = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal("先前的方案")
        })
        const input = { demandId: demand.id, proposal: proposal("新方案") }
        yield* expectError(responding.respond(world.institute.account, input, key), "InvalidState", "R21")
        yield* responding.withdraw(world.institute.account, { responseId: earlier.id })
        const retried = yield* responding.respond(world.institute.account, input, key)
        assert.strictEqual(retried.status, "submitted")
        assert.strictEqual(retried.proposal.title, "新方案")
        assert.deepStrictEqual(yield* responding.respond(world.institute.account, input, key), retried)

        // A refused input (R31) leaves the key free for the corrected request.
        const own = yield* Fixtures.publish(world, world.institution.account, Fixtures.onBehalf(world))
        const solveKey = { idempotencyKey: "solve-1" }
        yield* expectError(
          outcome.solved(world.institution.account, { demandId: own.id }, solveKey),
          "InvalidInput",
          "R31"
        )
        const solved = yield* outcome.solved(
          world.institution.account,
          { demandId: own.id, serviceFee: 300_000 },
          solveKey
        )
        assert.strictEqual(solved.state, "solved")
      })
    )
  )

  it.effect("R63: concurrent repeats with one key run the command once", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const lists = yield* Lists.Lists
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const input = { demandId: demand.id, proposal: proposal() }
        const results = yield* Effect.all(
          Array.from({ length: 6 }, () =>
            Effect.either(responding.respond(world.institute.account, input, key))
          ),
          { concurrency: "unbounded" }
        )
        assert.isTrue(results.every(Either.isRight))
        const ids = new Set(results.map((r) => Either.getOrThrow(r).id))
        assert.strictEqual(ids.size, 1)
        const stored = yield* lists.demandResponses(world.enterprise.account, { demandId: demand.id })
        assert.lengthOf(stored.items, 1)
        assert.lengthOf(yield* notices("response_received"), 1)
      })
    )
  )

  it.effect("R63: a malformed key is refused before anything runs", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const lists = yield* Lists.Lists
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        for (const idempotencyKey of ["", "has space", "键", "x".repeat(256)]) {
          yield* expectError(
            responding.respond(
              world.institute.account,
              { demandId: demand.id, proposal: proposal() },
              { idempotencyKey }
            ),
            "InvalidInput",
            "R63",
            "idempotencyKey"
          )
        }
        assert.lengthOf(
          (yield* lists.demandResponses(world.enterprise.account, { demandId: demand.id })).items,
          0
        )
      })
    )
  )

  /**
   * Memory ports that count `IdempotencyRepository.find`, with or without the
   * one-read lookups of the acting account (`findWithMember`,
   * `findWithMemberAndRecord`).
   */
  const withCountedPorts = <A, E>(
    oneRead: boolean,
    body: (world: Fixtures.World, finds: () => number) => Effect.Effect<A, E, Env>
  ) => {
    let finds = 0
    return withPorts(
      (full) => {
        const idempotency = Context.get(full, Persistence.IdempotencyRepository)
        const counted = Context.add(full, Persistence.IdempotencyRepository, {
          ...idempotency,
          find: (accountId, key) =>
            Effect.zipRight(
              Effect.sync(() => finds++),
              idempotency.find(accountId, key)
            )
        })
        return oneRead ? counted : withoutOneReadLookups(counted)
      },
      (world) => body(world, () => finds)
    )
  }

  for (const oneRead of [true, false]) {
    it.effect(
      `R5 before R63 (${oneRead ? "one read" : "base ports"}): an account made inactive is refused, even for a repeat its record would answer`,
      () =>
        withCountedPorts(oneRead, (world) =>
          Effect.gen(function* () {
            const responding = yield* Responding.Responding
            const accounts = yield* Persistence.AccountRepository
            const demand = yield* Fixtures.publish(world, world.enterprise.account)
            const input = { demandId: demand.id, proposal: proposal() }
            yield* responding.respond(world.institute.account, input, key)
            const account = yield* Effect.flatten(accounts.findById(world.institute.account))
            yield* accounts.update({ ...account, active: false })
            yield* expectError(responding.respond(world.institute.account, input, key), "Denied", "R5")
            yield* expectError(
              responding.respond("no-such-account" as typeof world.institute.account, input, key),
              "Denied",
              "R5"
            )
          })
        )
    )

    it.effect(
      `R63: ${oneRead ? "with findWithMemberAndRecord, the actor and its record are one read" : "through the base ports, the record is found by IdempotencyRepository.find"}: a repeat answers the first result, another input under the key is refused`,
      () =>
        withCountedPorts(oneRead, (world, finds) =>
          Effect.gen(function* () {
            const responding = yield* Responding.Responding
            const demand = yield* Fixtures.publish(world, world.enterprise.account)
            const input = { demandId: demand.id, proposal: proposal() }
            const before = finds()
            const first = yield* responding.respond(world.institute.account, input, key)
            assert.deepStrictEqual(yield* responding.respond(world.institute.account, input, key), first)
            yield* expectError(
              responding.respond(
                world.institute.account,
                { ...input, proposal: proposal("另一个方案") },
                key
              ),
              "IdempotencyKeyReused",
              "R63",
              "idempotencyKey"
            )
            assert.strictEqual(finds() - before, oneRead ? 0 : 3, "IdempotencyRepository.find calls")
            assert.deepStrictEqual(yield* responseIds(world, demand.id), [first.id])
          })
        )
    )
  }

  /**
   * Memory ports whose next lookup of a key's record (through either read) finds
   * nothing once `blind()` is called: what a repeat sent while the first was still
   * running reads on PostgreSQL, before the first commits (the race itself runs in
   * the conformance suite's R63 test on PostgreSQL).
   */
  const withBlindLookup = <A, E>(
    oneRead: boolean,
    body: (world: Fixtures.World, blind: () => void) => Effect.Effect<A, E, Env>
  ) => {
    let misses = 0
    const miss = () => misses > 0 && misses-- > 0
    return withPorts(
      (full) => {
        const idempotency = Context.get(full, Persistence.IdempotencyRepository)
        const accounts = Context.get(full, Persistence.AccountRepository)
        const withRecord = accounts.findWithMemberAndRecord!
        const blinded = full.pipe(
          Context.add(Persistence.IdempotencyRepository, {
            ...idempotency,
            find: (accountId, key) =>
              Effect.suspend(() => (miss() ? Effect.succeedNone : idempotency.find(accountId, key)))
          }),
          Context.add(Persistence.AccountRepository, {
            ...accounts,
            findWithMemberAndRecord: (id, key) =>
              Effect.map(withRecord(id, key), (found) =>
                miss() ? Option.map(found, (f) => ({ ...f, record: Option.none() })) : found
              )
          })
        )
        return oneRead ? blinded : withoutOneReadLookups(blinded)
      },
      (world) =>
        body(world, () => {
          misses = 1
        })
    )
  }

  for (const oneRead of [true, false]) {
    it.effect(
      `R63 (${oneRead ? "one read" : "base ports"}): a repeat that ran beside the first (it read no record, and the first's response refused it, R21) is answered with the first result; another input under the key is refused`,
      () =>
        withBlindLookup(oneRead, (world, blind) =>
          Effect.gen(function* () {
            const responding = yield* Responding.Responding
            const demand = yield* Fixtures.publish(world, world.enterprise.account)
            const input = { demandId: demand.id, proposal: proposal() }
            const first = yield* responding.respond(world.institute.account, input, key)
            blind()
            assert.deepStrictEqual(yield* responding.respond(world.institute.account, input, key), first)
            blind()
            yield* expectError(
              responding.respond(
                world.institute.account,
                { ...input, proposal: proposal("另一个方案") },
                key
              ),
              "IdempotencyKeyReused",
              "R63",
              "idempotencyKey"
            )
            // Without a record under the key, the refusal stands.
            blind()
            yield* expectError(
              responding.respond(world.institute.account, input, { idempotencyKey: "another-key" }),
              "InvalidState",
              "R21"
            )
            assert.deepStrictEqual(yield* responseIds(world, demand.id), [first.id])
            assert.lengthOf(yield* notices("response_received"), 1)
          })
        )
    )
  }
})
