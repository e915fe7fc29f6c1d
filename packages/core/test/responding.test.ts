import { assert, describe, it } from "@effect/vitest"
import { Lists, Outcome, Persistence, Publishing, Responding, Selection, Sweeper } from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Context, DateTime, Effect, Either, Option } from "effect"
import { at, expectError, withPorts, withWorld } from "./helpers.js"
import { activeCommission, deadlineEnd, justAfter, proposal, secondAccount, selectionEnd } from "./support.js"

describe("Responding", () => {
  it.effect("R20: a published cooperative demand takes responses until the end of its deadline date", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        assert.strictEqual(demand.form.responseDeadline, "2026-06-03")
        const end = yield* deadlineEnd(demand)
        assert.strictEqual(DateTime.formatIso(end), "2026-06-03T15:59:59.999Z")

        yield* at(end)
        const response = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        assert.strictEqual(response.status, "submitted")
        assert.strictEqual(response.round, 1)
        assert.strictEqual(response.responderId, world.institute.member.id)
        assert.strictEqual(response.demandId, demand.id)

        yield* at(justAfter(end))
        yield* expectError(
          responding.respond(world.expert.account, { demandId: demand.id, proposal: proposal() }),
          "InvalidState",
          "R20"
        )
      })
    )
  )

  it.effect("R20: only a published demand takes responses", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const publishing = yield* Publishing.Publishing
        const outcome = yield* Outcome.Outcome
        const respond = (demandId: string) =>
          responding.respond(world.institute.account, { demandId, proposal: proposal() })

        const draft = yield* publishing.draft(world.enterprise.account, yield* Fixtures.form())
        yield* expectError(respond(draft.id), "NotFound", "R5")
        yield* publishing.submit(world.enterprise.account, { demandId: draft.id })
        yield* expectError(respond(draft.id), "NotFound", "R5")

        const solved = yield* Fixtures.publish(world, world.enterprise.account)
        yield* outcome.solved(world.enterprise.account, { demandId: solved.id })
        yield* expectError(respond(solved.id), "InvalidState", "R20")
      })
    )
  )

  it.effect("R20: a demand whose service mode takes no responses refuses them (R14)", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const demand = yield* Fixtures.publish(world, world.institution.account, {
          serviceMode: "institution_service",
          ...Fixtures.onBehalf(world)
        })
        assert.strictEqual(demand.state, "published")
        yield* expectError(
          responding.respond(world.institute.account, { demandId: demand.id, proposal: proposal() }),
          "InvalidState",
          "R14"
        )
      })
    )
  )

  it.effect("R20: no response is taken once one is adopted in the round", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const first = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        yield* selection.adopt(world.enterprise.account, { responseId: first.id })
        yield* expectError(
          responding.respond(world.expert.account, { demandId: demand.id, proposal: proposal() }),
          "InvalidState",
          "R24"
        )
      })
    )
  )

  it.effect(
    "R20: after the deadline a response is refused naming the deadline (respond.deadline_passed), whether the demand's side or the sweeper (R25) ended selection, and nothing is stored",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const selection = yield* Selection.Selection
          const byItsSide = yield* Fixtures.publish(world, world.enterprise.account)
          const bySweeper = yield* Fixtures.publish(world, world.enterprise.account)
          for (const demand of [byItsSide, bySweeper]) {
            yield* responding.respond(world.institute.account, { demandId: demand.id, proposal: proposal() })
          }
          yield* at(justAfter(yield* deadlineEnd(byItsSide)))
          yield* selection.endSelection(world.enterprise.account, { demandId: byItsSide.id })
          yield* at(justAfter(yield* selectionEnd(bySweeper)))
          const swept = Effect.flatMap(Sweeper.Sweeper, (sweeper) => sweeper.sweepOnce())
          assert.strictEqual(yield* swept.pipe(Effect.provide(Sweeper.Sweeper.Default)), 1)
          const stored = yield* Persistence.ResponseRepository
          for (const demand of [byItsSide, bySweeper]) {
            const error = yield* expectError(
              responding.respond(world.expert.account, { demandId: demand.id, proposal: proposal() }),
              "InvalidState",
              "R20"
            )
            assert.strictEqual((error as { code?: string }).code, "respond.deadline_passed")
            assert.lengthOf(yield* stored.listByDemandRound(demand.id, demand.round), 1)
          }
        })
      )
  )

  it.effect("R20: responses are submitted by members, not by operators", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        yield* expectError(
          responding.respond(world.operator, { demandId: demand.id, proposal: proposal() }),
          "Denied",
          "R20"
        )
      })
    )
  )

  it.effect("R3: a member cannot respond to its own demand or one published on its behalf", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const own = yield* Fixtures.publish(world, world.enterprise.account)
        yield* expectError(
          responding.respond(world.enterprise.account, { demandId: own.id, proposal: proposal() }),
          "Denied",
          "R3"
        )
        yield* activeCommission(world)
        const commissioned = yield* Fixtures.publish(
          world,
          world.institution.account,
          Fixtures.onBehalf(world, world.enterprise.member.id)
        )
        yield* expectError(
          responding.respond(world.enterprise.account, { demandId: commissioned.id, proposal: proposal() }),
          "Denied",
          "R3"
        )
        yield* expectError(
          responding.respond(world.institution.account, { demandId: commissioned.id, proposal: proposal() }),
          "Denied",
          "R3"
        )
      })
    )
  )

  it.effect(
    "R21: one active response per responder per round; a refused respond writes nothing (its deferred writes and journal undone)",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const lists = yield* Lists.Lists
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          yield* responding.respond(world.institute.account, { demandId: demand.id, proposal: proposal() })
          yield* expectError(
            responding.respond(world.institute.account, {
              demandId: demand.id,
              proposal: proposal("第二方案")
            }),
            "InvalidState",
            "R21"
          )
          const colleague = yield* secondAccount(world, world.institute)
          yield* expectError(
            responding.respond(colleague, { demandId: demand.id, proposal: proposal("同事的方案") }),
            "InvalidState",
            "R21"
          )
          const page = yield* lists.demandResponses(world.enterprise.account, { demandId: demand.id })
          assert.strictEqual(page.items.length, 1)
          const view = yield* (yield* Publishing.Publishing).get(world.enterprise.account, {
            demandId: demand.id
          })
          assert.strictEqual(view.demand.responseCount, 1)
          const events = yield* (yield* Persistence.AuditRepository).list({ demandId: demand.id, limit: 50 })
          assert.strictEqual(events.filter((e) => e.action === "response.submitted").length, 1)
          const messages = yield* (yield* Persistence.Outbox).list({ limit: 50 })
          assert.strictEqual(messages.filter((m) => m.event === "response_received").length, 1)
        })
      )
  )

  for (const [label, ports] of [
    ["through the Journal port", (c: Context.Context<Persistence.Ports>) => c],
    [
      "through the base ports",
      (c: Context.Context<Persistence.Ports>) => Context.omit(Persistence.Journal)(c)
    ]
  ] as const) {
    it.effect(
      `R64: a deactivated account is sent nothing; its member's first active account is, if it has one (${label})`,
      () =>
        withPorts(ports, (world) =>
          Effect.gen(function* () {
            const responding = yield* Responding.Responding
            const accounts = yield* Persistence.AccountRepository
            const outbox = yield* Persistence.Outbox
            const demand = yield* Fixtures.publish(world, world.enterprise.account)
            const drafter = Option.getOrThrow(yield* accounts.findById(world.enterprise.account))
            const received = Effect.map(outbox.list({ limit: 50 }), (all) =>
              all.filter((m) => m.event === "response_received").map((m) => m.recipientPhone)
            )
            yield* responding.respond(world.institute.account, { demandId: demand.id, proposal: proposal() })
            assert.deepStrictEqual(yield* received, [drafter.phone])

            // The drafter leaves: the member's only account is inactive, nobody is sent it.
            yield* accounts.update({ ...drafter, active: false })
            yield* responding.respond(world.expert.account, {
              demandId: demand.id,
              proposal: proposal("专家方案")
            })
            assert.deepStrictEqual(yield* received, [drafter.phone])

            // A colleague's account is added: it stands in for the drafter's.
            const colleague = Option.getOrThrow(
              yield* accounts.findById(yield* secondAccount(world, world.enterprise))
            )
            yield* responding.respond(world.serviceInstitution.account, {
              demandId: demand.id,
              proposal: proposal("服务机构方案")
            })
            assert.deepStrictEqual(yield* received, [drafter.phone, colleague.phone])
            assert.lengthOf(
              yield* (yield* Persistence.ResponseRepository).listByDemandRound(demand.id, 1),
              3,
              "every response was accepted"
            )
          })
        )
    )
  }

  it.effect(
    "R5: a respond by an unknown account is refused before its demand (read with the actor) is looked at",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const stranger = "no-such-account" as typeof world.operator
          for (const demandId of [demand.id, "no-such-demand" as typeof demand.id]) {
            yield* expectError(
              responding.respond(stranger, { demandId, proposal: proposal() }),
              "Denied",
              "R5"
            )
          }
          yield* expectError(
            responding.respond(world.institute.account, {
              demandId: "no-such-demand" as typeof demand.id,
              proposal: proposal()
            }),
            "NotFound",
            "R5"
          )
        })
      )
  )

  it.effect("R21: concurrent responses of one responder leave exactly one active", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const lists = yield* Lists.Lists
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const results = yield* Effect.all(
          Array.from({ length: 8 }, (_, i) =>
            responding.respond(world.institute.account, {
              demandId: demand.id,
              proposal: proposal(`方案${i}`)
            })
          ),
          { concurrency: "unbounded", mode: "either" }
        )
        const ok = results.filter(Either.isRight)
        assert.strictEqual(ok.length, 1)
        for (const failure of results.filter(Either.isLeft)) {
          assert.strictEqual(failure.left._tag, "InvalidState")
          assert.strictEqual((failure.left as { rule?: string }).rule, "R21")
        }
        const page = yield* lists.demandResponses(world.enterprise.account, { demandId: demand.id })
        assert.deepStrictEqual(
          page.items.map((r) => r.id),
          ok.map((r) => r.right.id)
        )
      })
    )
  )

  it.effect(
    "R64: a member's response withdrawn and submitted again does not notify the demand's side again; another member's does",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const outbox = yield* Persistence.Outbox
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const received = Effect.map(outbox.list({ limit: 50 }), (all) =>
            all.filter((m) => m.event === "response_received").map((m) => m.dedupeKey.split(":")[1])
          )
          let current = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          for (const title of ["第二版", "第三版"]) {
            yield* responding.withdraw(world.institute.account, { responseId: current.id })
            current = yield* responding.respond(world.institute.account, {
              demandId: demand.id,
              proposal: proposal(title)
            })
          }
          assert.deepStrictEqual(yield* received, [
            `${demand.id}/${demand.round}/${world.institute.member.id}`
          ])
          yield* responding.respond(world.expert.account, {
            demandId: demand.id,
            proposal: proposal("专家方案")
          })
          assert.deepStrictEqual(yield* received, [
            `${demand.id}/${demand.round}/${world.institute.member.id}`,
            `${demand.id}/${demand.round}/${world.expert.member.id}`
          ])
        })
      )
  )

  it.effect("R21: the responder revises and withdraws until the deadline", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const mine = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        const end = yield* deadlineEnd(demand)
        yield* at(end)
        const revised = yield* responding.revise(world.institute.account, {
          responseId: mine.id,
          proposal: proposal("修订后的方案")
        })
        assert.strictEqual(revised.id, mine.id)
        assert.strictEqual(revised.proposal.title, "修订后的方案")
        assert.strictEqual(revised.status, "submitted")
        assert.isTrue(revised.version > mine.version)

        yield* at(justAfter(end))
        yield* expectError(
          responding.revise(world.institute.account, { responseId: mine.id, proposal: proposal("再修订") }),
          "InvalidState",
          "R21"
        )
        yield* expectError(
          responding.withdraw(world.institute.account, { responseId: mine.id }),
          "InvalidState",
          "R21"
        )
        const stored = yield* (yield* Lists.Lists).response(world.institute.account, { responseId: mine.id })
        assert.strictEqual(stored.proposal.title, "修订后的方案")
        assert.strictEqual(stored.status, "submitted")
      })
    )
  )

  it.effect(
    "R21: a revision naming the version the response was read at goes ahead; one naming an older version (another account of the responder revised it since) is refused (revision.stale) and changes and audits nothing; * matches any",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const read = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          const colleague = yield* secondAccount(world, world.institute)
          const revised = yield* responding.revise(colleague, {
            responseId: read.id,
            proposal: proposal("同事修订的方案"),
            ifVersion: [String(read.version)]
          })
          const events = Effect.map(
            Effect.flatMap(Persistence.AuditRepository, (audit) => audit.list({ limit: 1000 })),
            (list) => list.length
          )
          /** A revision naming `version` by the responder is refused as stale. */
          const refusedAsStale = (version: number, title: string) =>
            Effect.map(
              expectError(
                responding.revise(world.institute.account, {
                  responseId: read.id,
                  proposal: proposal(title),
                  ifVersion: [String(version)]
                }),
                "InvalidState",
                "R21"
              ),
              (error) => assert.strictEqual((error as { readonly code: string }).code, "revision.stale")
            )
          const before = yield* events
          yield* refusedAsStale(read.version, "旧副本")
          const stored = yield* (yield* Lists.Lists).response(world.institute.account, {
            responseId: read.id
          })
          assert.strictEqual(stored.proposal.title, "同事修订的方案", "the revision made since is kept")
          assert.strictEqual(stored.version, revised.version)
          assert.strictEqual(yield* events, before, "nothing audited")
          const again = yield* responding.revise(world.institute.account, {
            responseId: read.id,
            proposal: proposal("在新版本上修订"),
            ifVersion: [String(revised.version)]
          })
          assert.strictEqual(again.proposal.title, "在新版本上修订")
          const any = yield* responding.revise(world.institute.account, {
            responseId: read.id,
            proposal: proposal("任意"),
            ifVersion: ["*"]
          })
          assert.strictEqual(any.proposal.title, "任意")
          // R4: another member naming any version is told the response is not found, not that it changed.
          yield* expectError(
            responding.revise(world.expert.account, {
              responseId: read.id,
              proposal: proposal("他人"),
              ifVersion: ["0"]
            }),
            "NotFound",
            "R4"
          )
          // R61: a reason given ahead of the decision raises the version the responder reads without it.
          yield* (yield* Selection.Selection).giveFeedback(world.enterprise.account, {
            responseId: read.id,
            feedback: { reason: "cost_too_high" }
          })
          yield* refusedAsStale(any.version, "反馈之后")
          const reread = yield* (yield* Lists.Lists).response(world.institute.account, {
            responseId: read.id
          })
          assert.isNull(reread.feedback, "the responder does not see the reason")
          const after = yield* responding.revise(world.institute.account, {
            responseId: read.id,
            proposal: proposal("反馈之后"),
            ifVersion: [String(reread.version)]
          })
          assert.strictEqual(after.proposal.title, "反馈之后")
        })
      )
  )

  it.effect("R21: an adopted or not adopted response can no longer be revised or withdrawn", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const adopted = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        const other = yield* responding.respond(world.expert.account, {
          demandId: demand.id,
          proposal: proposal("专家方案")
        })
        yield* selection.adopt(world.enterprise.account, { responseId: adopted.id })
        yield* expectError(
          responding.revise(world.institute.account, { responseId: adopted.id, proposal: proposal("改") }),
          "InvalidState",
          "R21"
        )
        yield* expectError(
          responding.withdraw(world.institute.account, { responseId: adopted.id }),
          "InvalidState",
          "R21"
        )
        yield* selection.endSelection(world.enterprise.account, { demandId: demand.id })
        yield* expectError(
          responding.revise(world.expert.account, { responseId: other.id, proposal: proposal("改") }),
          "InvalidState",
          "R21"
        )
        yield* expectError(
          responding.withdraw(world.expert.account, { responseId: other.id }),
          "InvalidState",
          "R21"
        )
      })
    )
  )

  it.effect("R21: after withdrawing, the responder may respond again", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const lists = yield* Lists.Lists
        const publishing = yield* Publishing.Publishing
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const first = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        const withdrawn = yield* responding.withdraw(world.institute.account, { responseId: first.id })
        assert.strictEqual(withdrawn.status, "withdrawn")
        assert.strictEqual(
          (yield* publishing.get(world.enterprise.account, { demandId: demand.id })).demand.responseCount,
          0
        )
        yield* expectError(
          responding.revise(world.institute.account, { responseId: first.id, proposal: proposal("改") }),
          "InvalidState",
          "R21"
        )

        const second = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal("重新提交的方案")
        })
        assert.notStrictEqual(second.id, first.id)
        assert.strictEqual(
          (yield* publishing.get(world.enterprise.account, { demandId: demand.id })).demand.responseCount,
          1
        )
        const mine = yield* lists.myResponses(world.institute.account, { demandId: demand.id })
        assert.deepStrictEqual(
          new Map(mine.items.map((r) => [r.id, r.status])),
          new Map([
            [first.id, "withdrawn"],
            [second.id, "submitted"]
          ])
        )
      })
    )
  )

  it.effect("R21: only the responder revises or withdraws its response (R4)", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const responding = yield* Responding.Responding
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const mine = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        yield* responding.respond(world.expert.account, { demandId: demand.id, proposal: proposal("专家") })
        // Another responder does not even see it.
        yield* expectError(
          responding.revise(world.expert.account, { responseId: mine.id, proposal: proposal("篡改") }),
          "NotFound",
          "R4"
        )
        yield* expectError(
          responding.withdraw(world.serviceInstitution.account, { responseId: mine.id }),
          "NotFound",
          "R4"
        )
        // The demand's side and operators see it but may not change it.
        yield* expectError(
          responding.revise(world.enterprise.account, { responseId: mine.id, proposal: proposal("篡改") }),
          "Denied",
          "R21"
        )
        yield* expectError(responding.withdraw(world.operator, { responseId: mine.id }), "Denied", "R21")
        // Another account of the responder member may.
        const colleague = yield* secondAccount(world, world.institute)
        const revised = yield* responding.revise(colleague, {
          responseId: mine.id,
          proposal: proposal("同事修订")
        })
        assert.strictEqual(revised.proposal.title, "同事修订")
      })
    )
  )
})
