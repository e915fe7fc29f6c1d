import { assert, describe, it } from "@effect/vitest"
import {
  Consulting,
  Deadline,
  type Ids,
  Lists,
  Outcome,
  Pagination,
  Persistence,
  Publishing,
  Responding,
  Selection,
  SortKeys
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Context, DateTime, Effect, Encoding, TestClock } from "effect"
import { at, type Env, expectError, failureOf, start, withPorts, withWorld } from "./helpers.js"
import { deadlineEnd, justAfter, proposal, selectionEnd } from "./support.js"

const tick = TestClock.adjust("1 second")

type Paged<A> = { readonly items: ReadonlyArray<A>; readonly nextCursor: string | null }

/** Follows `nextCursor` to the end; returns the pages' sizes and every item in order. */
const walk = <A, E, R>(page: (cursor: string | undefined) => Effect.Effect<Paged<A>, E, R>) =>
  Effect.gen(function* () {
    const sizes: Array<number> = []
    const items: Array<A> = []
    let cursor: string | undefined
    do {
      const next = yield* page(cursor)
      sizes.push(next.items.length)
      items.push(...next.items)
      cursor = next.nextCursor ?? undefined
    } while (cursor !== undefined && sizes.length < 100)
    return { sizes, items }
  })

const chipForm = {
  title: "车规级芯片封装可靠性提升",
  summary: {
    mainProblem: "车规级芯片在高温循环下焊点开裂",
    keyTechnology: "-40℃至150℃循环1000次无失效",
    expectedGoal: "通过AEC-Q100认证"
  },
  keywords: ["芯片", "封装"],
  field: "电子信息",
  region: "北京市"
}

const riceForm = {
  title: "盐碱地水稻耐盐品种选育",
  summary: {
    mainProblem: "滨海盐碱地水稻产量低",
    keyTechnology: "耐盐度达到千分之六",
    expectedGoal: "亩产提高百分之二十"
  },
  keywords: ["水稻", "耐盐"],
  field: "现代农业"
}

describe("Lists", () => {
  it.effect(
    "§9: my demands show number, status, counts, deadline, selection end and the actions allowed now",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const lists = yield* Lists.Lists
          const publishing = yield* Publishing.Publishing
          const responding = yield* Responding.Responding
          const draft = yield* publishing.draft(
            world.enterprise.account,
            yield* Fixtures.form({ title: "草稿需求" })
          )
          yield* tick
          const pending = yield* publishing.draft(
            world.enterprise.account,
            yield* Fixtures.form({ title: "待审需求" })
          )
          yield* publishing.submit(world.enterprise.account, { demandId: pending.id })
          yield* tick
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          yield* responding.respond(world.institute.account, { demandId: demand.id, proposal: proposal() })
          yield* responding.respond(world.expert.account, {
            demandId: demand.id,
            proposal: proposal("专家方案")
          })
          yield* Fixtures.publish(world, world.enterprise2.account)

          const mine = yield* lists.myDemands(world.enterprise.account, {})
          assert.deepStrictEqual(
            mine.items.map((d) => d.id),
            [demand.id, pending.id, draft.id]
          )
          const [published, waiting, drafted] = mine.items
          assert.strictEqual(published!.number, "ZB20260001")
          assert.strictEqual(published!.title, demand.form.title)
          assert.strictEqual(published!.field, "新材料及应用")
          assert.strictEqual(published!.state, "published")
          assert.strictEqual(published!.phase, "taking_responses")
          assert.strictEqual(published!.responseCount, 2)
          assert.strictEqual(published!.responseDeadline, "2026-06-03")
          assert.isTrue(DateTime.Equivalence(published!.publishedAt!, DateTime.add(start, { seconds: 2 })))
          assert.strictEqual(DateTime.formatIso(published!.selectionEndsAt!), "2026-06-17T15:59:59.999Z")
          assert.deepStrictEqual([...published!.actions].sort(), [
            "adopt",
            "log_service",
            "record_solved",
            "record_unsolved",
            "view_responses"
          ])
          assert.strictEqual(waiting!.state, "pending_review")
          assert.isNull(waiting!.number)
          assert.deepStrictEqual(waiting!.actions, [])
          assert.strictEqual(drafted!.state, "draft")
          assert.deepStrictEqual([...drafted!.actions].sort(), ["edit", "submit"])

          // After the deadline: still selecting; the demand may be restarted once it is
          // recorded unsolved (R33).
          yield* at(justAfter(yield* deadlineEnd(demand)))
          const later = (yield* lists.myDemands(world.enterprise.account, { states: ["published"] }))
            .items[0]!
          assert.strictEqual(later.phase, "selecting")
          assert.include(later.actions, "adopt")
          assert.include(later.actions, "end_selection", "intake closed: selection may end (R20)")
          assert.notInclude(later.actions, "restart")
          assert.isNull(later.outcome, "no outcome recorded yet")
          yield* (yield* Outcome.Outcome).unsolved(world.enterprise.account, { demandId: demand.id })
          const unsolved = (yield* lists.myDemands(world.enterprise.account, { states: ["published"] }))
            .items[0]!
          assert.strictEqual(unsolved.outcome, "unsolved", "the row tells 未解决 (R32)")
          assert.strictEqual(
            (yield* lists.hall(null, {})).items.find((d) => d.id === demand.id)?.outcome,
            "unsolved",
            "in the hall too"
          )
          assert.include(unsolved.actions, "restart")
          assert.notInclude(unsolved.actions, "record_unsolved", "already recorded unsolved (R32)")
          assert.include(unsolved.actions, "record_solved", "it may still be solved (R31)")
          // After the selection window: no adoption any more.
          yield* at(justAfter(yield* selectionEnd(demand)))
          const over = (yield* lists.myDemands(world.enterprise.account, { states: ["published"] })).items[0]!
          assert.strictEqual(over.phase, "selection_over")
          assert.notInclude(over.actions, "adopt")
          assert.notInclude(over.actions, "end_selection")
          assert.include(over.actions, "view_responses")

          // Filters.
          const drafts = yield* lists.myDemands(world.enterprise.account, {
            states: ["draft", "pending_review"]
          })
          assert.deepStrictEqual(
            drafts.items.map((d) => d.id),
            [pending.id, draft.id]
          )
          const found = yield* lists.myDemands(world.enterprise.account, { keyword: "待审" })
          assert.deepStrictEqual(
            found.items.map((d) => d.id),
            [pending.id]
          )
          yield* expectError(lists.myDemands(null, {}), "Denied", "R5")
        })
      )
  )

  it.effect(
    "§9: a hall filter is trimmed as the forms are, and an empty one is refused naming it instead of matching nothing",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const lists = yield* Lists.Lists
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const ids = (input: Parameters<typeof lists.hall>[1]) =>
            Effect.map(lists.hall(null, input), (page) => page.items.map((d) => d.id))
          assert.deepStrictEqual(yield* ids({ field: " 新材料及应用 " }), [demand.id])
          assert.deepStrictEqual(yield* ids({ region: "天津市\n" }), [demand.id])
          for (const [name, input] of [
            ["field", { field: "" }],
            ["region", { region: "" }],
            ["region", { region: "  " }]
          ] as const) {
            const error = yield* expectError(lists.hall(null, input), "InvalidInput", "§9", name)
            assert.include(error.message, "between 1 and 100 characters", name)
          }
        })
      )
  )

  it.effect(
    "§9: an id or a filter with a control character or an unpaired surrogate is refused as input, naming the field",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const lists = yield* Lists.Lists
          const publishing = yield* Publishing.Publishing
          yield* Fixtures.publish(world, world.enterprise.account)
          for (const [name, input] of [
            ["region", { region: "天津\u0000" }],
            ["field", { field: "\u0000" }],
            ["region", { region: "天津\ud800" }]
          ] as const) {
            const error = yield* failureOf(lists.hall(null, input))
            assert.strictEqual(error._tag, "InvalidInput")
            assert.strictEqual((error as { field?: string }).field, name)
          }
          for (const demandId of ["d\u0000", "d\udc00"]) {
            const error = yield* failureOf(publishing.get(null, { demandId: demandId as Ids.DemandId }))
            assert.strictEqual(error._tag, "InvalidInput")
            assert.strictEqual((error as { field?: string }).field, "demandId")
          }
          assert.lengthOf(
            (yield* lists.hall(null, { region: "天津\t市" })).items,
            0,
            "a tab is a character like any other"
          )
        })
      )
  )

  it.effect("§9: the public hall shows the actions a reader may take now", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const actionsFor = (account: typeof world.operator | null) =>
          Effect.map(lists.hall(account, {}), (page) => [...page.items[0]!.actions].sort())
        assert.deepStrictEqual(yield* actionsFor(world.institute.account), ["consult", "respond"])
        assert.deepStrictEqual(yield* actionsFor(null), [])
        assert.notInclude(yield* actionsFor(world.enterprise.account), "respond")
        const r = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        yield* selection.adopt(world.enterprise.account, { responseId: r.id })
        assert.deepStrictEqual(yield* actionsFor(world.expert.account), ["consult"])
      })
    )
  )

  const respondOfferedOnce = <A, E>(
    run: (body: (world: Fixtures.World) => Effect.Effect<void, unknown, Env>) => Effect.Effect<A, E>
  ) =>
    run((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const publishing = yield* Publishing.Publishing
        const responding = yield* Responding.Responding
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const other = yield* Fixtures.publish(world, world.enterprise.account)
        const offered = (account: typeof world.operator) =>
          Effect.gen(function* () {
            const hall = yield* lists.hall(account, {})
            const item = (id: Ids.DemandId) => hall.items.find((i) => i.id === id)!
            const one = yield* publishing.get(account, { demandId: demand.id })
            return {
              hall: item(demand.id).actions.includes("respond"),
              get: one.actions.includes("respond"),
              other: item(other.id).actions.includes("respond")
            }
          })
        assert.deepStrictEqual(yield* offered(world.institute.account), {
          hall: true,
          get: true,
          other: true
        })
        const r = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        assert.deepStrictEqual(
          yield* offered(world.institute.account),
          { hall: false, get: false, other: true },
          "not offered where its response is active"
        )
        assert.deepStrictEqual(
          yield* offered(world.expert.account),
          { hall: true, get: true, other: true },
          "another member still is"
        )
        yield* expectError(
          responding.respond(world.institute.account, { demandId: demand.id, proposal: proposal() }),
          "InvalidState",
          "R21"
        )
        yield* tick
        yield* responding.withdraw(world.institute.account, { responseId: r.id })
        assert.deepStrictEqual(
          yield* offered(world.institute.account),
          { hall: true, get: true, other: true },
          "offered again once it is withdrawn"
        )
      })
    )

  it.effect("R21: respond is not offered to a member whose response in the round is active", () =>
    respondOfferedOnce((body) => withWorld(body))
  )

  it.effect(
    "R21: respond is not offered to a member whose response is active, on ports without findActiveAmong",
    () =>
      respondOfferedOnce((body) =>
        withPorts((ports) => {
          const { findActiveAmong: _among, ...responses } = Context.get(ports, Persistence.ResponseRepository)
          return Context.add(ports, Persistence.ResponseRepository, responses)
        }, body)
      )
  )

  it.effect("§9: responses submitted to me show demand, responder, time, status and consult thread", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const consulting = yield* Consulting.Consulting
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const elsewhere = yield* Fixtures.publish(world, world.enterprise2.account)
        const { thread } = yield* consulting.ask(world.institute.account, {
          demandId: demand.id,
          text: "请问预算？"
        })
        const a = yield* responding.respond(world.institute.account, {
          demandId: demand.id,
          proposal: proposal()
        })
        yield* tick
        const b = yield* responding.respond(world.expert.account, {
          demandId: demand.id,
          proposal: proposal("专家方案")
        })
        yield* tick
        const c = yield* responding.respond(world.serviceInstitution.account, {
          demandId: demand.id,
          proposal: proposal("服务机构方案")
        })
        yield* tick
        yield* responding.respond(world.institute.account, { demandId: elsewhere.id, proposal: proposal() })
        yield* responding.withdraw(world.serviceInstitution.account, { responseId: c.id })
        yield* selection.adopt(world.enterprise.account, { responseId: a.id })

        const toMe = yield* lists.responsesToMe(world.enterprise.account, {})
        assert.deepStrictEqual(
          toMe.items.map((r) => [r.id, r.status]),
          [
            [c.id, "withdrawn"],
            [b.id, "submitted"],
            [a.id, "adopted"]
          ]
        )
        const first = toMe.items[2]!
        assert.strictEqual(first.demandId, demand.id)
        assert.strictEqual(first.demandNumber, demand.number)
        assert.strictEqual(first.demandTitle, demand.form.title)
        assert.strictEqual(first.responderId, world.institute.member.id)
        assert.strictEqual(first.responderName, world.institute.member.name)
        assert.strictEqual(first.proposalTitle, a.proposal.title)
        assert.isTrue(DateTime.Equivalence(first.submittedAt, a.submittedAt))
        assert.strictEqual(first.threadId, thread.id)
        assert.isNull(toMe.items[1]!.threadId)

        // Filters; and once selection ends the open one reads as not adopted.
        const adopted = yield* lists.responsesToMe(world.enterprise.account, { statuses: ["adopted"] })
        assert.deepStrictEqual(
          adopted.items.map((r) => r.id),
          [a.id]
        )
        yield* selection.endSelection(world.enterprise.account, { demandId: demand.id })
        const after = yield* lists.responsesToMe(world.enterprise.account, { demandId: demand.id })
        assert.deepStrictEqual(
          after.items.map((r) => r.status),
          ["withdrawn", "not_adopted", "adopted"]
        )
        // Another member gets none of them.
        const theirs = yield* lists.responsesToMe(world.enterprise2.account, {})
        assert.deepStrictEqual(
          theirs.items.map((r) => r.demandId),
          [elsewhere.id]
        )
      })
    )
  )

  it.effect(
    "§9: the status filter matches the status shown: once the selection window has passed, before the sweeper runs, a submitted response is listed under not_adopted and no longer under submitted",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const lists = yield* Lists.Lists
          const responding = yield* Responding.Responding
          const responses = yield* Persistence.ResponseRepository
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const r = yield* responding.respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          const ids = (page: { readonly items: ReadonlyArray<{ readonly id: string }> }) =>
            page.items.map((x) => x.id)
          const lists4 = (statuses: ReadonlyArray<"submitted" | "not_adopted">) =>
            Effect.all([
              lists.responsesToMe(world.enterprise.account, { statuses }),
              lists.myResponses(world.institute.account, { statuses }),
              lists.demandResponses(world.enterprise.account, { demandId: demand.id, statuses })
            ])

          yield* at(yield* selectionEnd(demand))
          for (const page of yield* lists4(["submitted"]))
            assert.deepStrictEqual(ids(page), [r.id], "last instant of the window")
          for (const page of yield* lists4(["not_adopted"])) assert.deepStrictEqual(ids(page), [])

          yield* at(justAfter(yield* selectionEnd(demand)))
          const stored = yield* responses.findById(r.id)
          assert.strictEqual(
            stored._tag === "Some" ? stored.value.status : null,
            "submitted",
            "not swept yet"
          )
          for (const page of yield* lists4(["not_adopted"])) {
            assert.deepStrictEqual(ids(page), [r.id])
            assert.strictEqual(page.items[0]!.status, "not_adopted")
          }
          for (const page of yield* lists4(["submitted"])) assert.deepStrictEqual(ids(page), [])
        })
      )
  )

  it.effect(
    "§9: my demands, my responses and responses submitted to me belong to a member: an operator gets Denied",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const lists = yield* Lists.Lists
          yield* Fixtures.publish(world, world.enterprise.account)
          const refused = (list: Effect.Effect<unknown, { readonly _tag: string }>) =>
            Effect.map(expectError(list, "Denied", "§9"), (error) =>
              assert.strictEqual((error as { code?: string }).code, "list.member_required")
            )
          yield* refused(lists.myDemands(world.operator, {}))
          yield* refused(lists.myResponses(world.operator, {}))
          yield* refused(lists.responsesToMe(world.operator, {}))
          assert.lengthOf((yield* lists.myDemands(world.enterprise.account, {})).items, 1)
        })
      )
  )

  it.effect("§9: my responses list the responder's own responses only", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const responding = yield* Responding.Responding
        const outcome = yield* Outcome.Outcome
        const one = yield* Fixtures.publish(world, world.enterprise.account)
        const two = yield* Fixtures.publish(world, world.enterprise2.account, chipForm)
        const a = yield* responding.respond(world.institute.account, {
          demandId: one.id,
          proposal: proposal()
        })
        yield* tick
        const b = yield* responding.respond(world.institute.account, {
          demandId: two.id,
          proposal: proposal("芯片方案")
        })
        yield* responding.respond(world.expert.account, { demandId: one.id, proposal: proposal("专家方案") })
        yield* outcome.solved(world.enterprise.account, { demandId: one.id })

        const mine = yield* lists.myResponses(world.institute.account, {})
        assert.deepStrictEqual(
          mine.items.map((r) => [r.id, r.demandNumber, r.demandTitle, r.status]),
          [
            [b.id, two.number, chipForm.title, "submitted"],
            [a.id, one.number, one.form.title, "not_adopted"]
          ]
        )
        for (const r of mine.items) assert.strictEqual(r.responderId, world.institute.member.id)
        const onlyTwo = yield* lists.myResponses(world.institute.account, { demandId: two.id })
        assert.deepStrictEqual(
          onlyTwo.items.map((r) => r.id),
          [b.id]
        )
        assert.lengthOf((yield* lists.myResponses(world.serviceInstitution.account, {})).items, 0)
      })
    )
  )

  it.effect("§9: the public hall finds Chinese keywords in title, summary and keywords", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const publishing = yield* Publishing.Publishing
        const graphene = yield* Fixtures.publish(world, world.enterprise.account)
        const chip = yield* Fixtures.publish(world, world.enterprise2.account, chipForm)
        const rice = yield* Fixtures.publish(world, world.enterprise.account, riceForm)
        // Not public: a draft that would match.
        yield* publishing.draft(world.enterprise.account, yield* Fixtures.form({ title: "芯片草稿" }))
        const search = (keyword: string) =>
          Effect.map(lists.hall(null, { keyword }), (page) => page.items.map((d) => d.id).sort())

        assert.deepStrictEqual(yield* search("石墨烯"), [graphene.id])
        assert.deepStrictEqual(yield* search("芯片"), [chip.id])
        assert.deepStrictEqual(yield* search("良率"), [graphene.id])
        assert.deepStrictEqual(yield* search("耐盐"), [rice.id])
        assert.deepStrictEqual(yield* search("AEC-q100"), [chip.id])
        assert.deepStrictEqual(yield* search("  水稻 "), [rice.id])
        assert.deepStrictEqual(yield* search("量子"), [])
      })
    )
  )

  it.effect(
    "§9: a keyword is one line: one holding a line break or a tab, which would find text spanning two fields and in neither, is refused naming keyword, in the hall and in my demands",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const lists = yield* Lists.Lists
          // The fixture's title ends 量产工艺 and its main problem starts 石墨烯.
          const graphene = yield* Fixtures.publish(world, world.enterprise.account)
          const found = yield* lists.hall(null, { keyword: "量产工艺" })
          assert.deepStrictEqual(
            found.items.map((d) => d.id),
            [graphene.id]
          )
          for (const keyword of [
            "工艺\n石墨烯",
            "工艺\r\n石墨烯",
            "石墨烯\t散热",
            "工艺\u2028石墨烯",
            "工艺\u2029石墨烯"
          ]) {
            yield* expectError(lists.hall(null, { keyword }), "InvalidInput", "§9", "keyword")
            yield* expectError(
              lists.myDemands(world.enterprise.account, { keyword }),
              "InvalidInput",
              "§9",
              "keyword"
            )
          }
        })
      )
  )

  it.effect("§9: the public hall filters by field, region, state and intake, each narrowing the others", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const outcome = yield* Outcome.Outcome
        const responding = yield* Responding.Responding
        const selection = yield* Selection.Selection
        const graphene = yield* Fixtures.publish(world, world.enterprise.account)
        const chip = yield* Fixtures.publish(world, world.enterprise2.account, chipForm)
        const rice = yield* Fixtures.publish(world, world.enterprise.account, {
          ...riceForm,
          region: "天津市"
        })
        const solved = yield* Fixtures.publish(world, world.enterprise2.account, {
          title: "已解决的石墨烯需求"
        })
        yield* outcome.solved(world.enterprise2.account, { demandId: solved.id })
        const closed = yield* Fixtures.publish(world, world.enterprise.account, {
          title: "已采纳的石墨烯需求"
        })
        const r = yield* responding.respond(world.institute.account, {
          demandId: closed.id,
          proposal: proposal()
        })
        yield* selection.adopt(world.enterprise.account, { responseId: r.id })

        const ids = (input: Parameters<typeof lists.hall>[1]) =>
          Effect.map(lists.hall(null, input), (page) => page.items.map((d) => d.id).sort())
        const sorted = (...xs: ReadonlyArray<string>) => [...xs].sort()

        assert.deepStrictEqual(yield* ids({}), sorted(graphene.id, chip.id, rice.id, solved.id, closed.id))
        assert.deepStrictEqual(yield* ids({ field: "电子信息" }), [chip.id])
        assert.deepStrictEqual(yield* ids({ field: "现代农业" }), [rice.id])
        assert.deepStrictEqual(yield* ids({ region: "北京市" }), [chip.id])
        assert.deepStrictEqual(
          yield* ids({ region: "天津市" }),
          sorted(graphene.id, rice.id, solved.id, closed.id)
        )
        assert.deepStrictEqual(
          yield* ids({ region: "天津市", field: "新材料及应用", keyword: "石墨烯" }),
          sorted(graphene.id, solved.id, closed.id)
        )
        assert.deepStrictEqual(yield* ids({ states: ["solved"] }), [solved.id])
        assert.deepStrictEqual(yield* ids({ takingResponses: true }), sorted(graphene.id, chip.id, rice.id))
        assert.deepStrictEqual(
          yield* ids({ states: ["solved"], takingResponses: true }),
          [],
          "solved and taking: none"
        )
        assert.deepStrictEqual(
          yield* ids({ states: ["published", "solved"], takingResponses: true }),
          sorted(graphene.id, chip.id, rice.id)
        )
        assert.deepStrictEqual(yield* ids({ field: "海洋" }), [])
      })
    )
  )

  it.effect(
    "§9: a hall deadline range ending before it starts is refused naming deadlineTo; a one-day range finds its day",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const lists = yield* Lists.Lists
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const day = demand.form.responseDeadline
          const refused = yield* expectError(
            lists.hall(null, { deadlineFrom: day, deadlineTo: Deadline.addDays(day, -1) }),
            "InvalidInput",
            "§9",
            "deadlineTo"
          )
          assert.strictEqual((refused as { code?: string }).code, "list.range_invalid")
          const oneDay = yield* lists.hall(null, { deadlineFrom: day, deadlineTo: day })
          assert.deepStrictEqual(
            oneDay.items.map((d) => d.id),
            [demand.id]
          )
          const taking = yield* lists.hall(null, {
            deadlineFrom: day,
            deadlineTo: day,
            takingResponses: true
          })
          assert.deepStrictEqual(
            taking.items.map((d) => d.id),
            [demand.id]
          )
        })
      )
  )

  it.effect("§9: cursor pages walk 45 demands 10 at a time with no duplicate and no gap", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const published: Array<string> = []
        for (let i = 0; i < 45; i++) {
          // Every third demand shares its publication instant with the previous ones: ties break by id.
          if (i % 3 === 0) yield* tick
          const demand = yield* Fixtures.publish(world, world.enterprise.account, {}, 10 + (i % 7))
          published.push(demand.id)
        }
        const all = [...published].sort()

        const hall = yield* walk((cursor) => lists.hall(null, { limit: 10, ...(cursor ? { cursor } : {}) }))
        assert.deepStrictEqual(hall.sizes, [10, 10, 10, 10, 5])
        assert.strictEqual(new Set(hall.items.map((d) => d.id)).size, 45)
        assert.deepStrictEqual(hall.items.map((d) => d.id).sort(), all)
        const whole = yield* lists.hall(null, { limit: 100 })
        assert.deepStrictEqual(
          hall.items.map((d) => d.id),
          whole.items.map((d) => d.id)
        )
        for (let i = 1; i < hall.items.length; i++) {
          assert.isTrue(
            DateTime.greaterThanOrEqualTo(hall.items[i - 1]!.publishedAt!, hall.items[i]!.publishedAt!)
          )
        }

        const byDeadline = yield* walk((cursor) =>
          lists.myDemands(world.enterprise.account, {
            sort: "deadline",
            limit: 10,
            ...(cursor ? { cursor } : {})
          })
        )
        assert.deepStrictEqual(byDeadline.sizes, [10, 10, 10, 10, 5])
        assert.deepStrictEqual(byDeadline.items.map((d) => d.id).sort(), all)
        for (let i = 1; i < byDeadline.items.length; i++) {
          assert.isTrue(byDeadline.items[i - 1]!.responseDeadline <= byDeadline.items[i]!.responseDeadline)
        }

        // Every page size walks the same order.
        for (const limit of [1, 7, 44, 45]) {
          const pages = yield* walk((cursor) => lists.hall(null, { limit, ...(cursor ? { cursor } : {}) }))
          assert.deepStrictEqual(
            pages.items.map((d) => d.id),
            whole.items.map((d) => d.id)
          )
          assert.strictEqual(pages.sizes.length, Math.ceil(45 / limit))
        }
      })
    )
  )

  it.effect("§9: my demands sorted by publication keep those never published, after the others", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const publishing = yield* Publishing.Publishing
        const me = world.enterprise.account
        const first = yield* Fixtures.publish(world, me)
        yield* tick
        const second = yield* Fixtures.publish(world, me)
        const drafts: Array<string> = []
        for (let i = 0; i < 3; i++) drafts.push((yield* publishing.draft(me, yield* Fixtures.form())).id)
        const pending = yield* publishing.submit(me, { demandId: drafts[0]! })

        const sorted = yield* walk((cursor) =>
          lists.myDemands(me, { sort: "published", limit: 2, ...(cursor ? { cursor } : {}) })
        )
        assert.deepStrictEqual(sorted.sizes, [2, 2, 1])
        assert.deepStrictEqual(
          sorted.items.slice(0, 2).map((d) => d.id),
          [second.id, first.id]
        )
        assert.deepStrictEqual(
          sorted.items.slice(2).map((d) => d.id),
          [...drafts].sort().reverse()
        )
        assert.strictEqual(sorted.items.find((d) => d.id === pending.id)?.publishedAt, null)
        const byCreation = yield* lists.myDemands(me, { limit: 100 })
        assert.deepStrictEqual(sorted.items.map((d) => d.id).sort(), byCreation.items.map((d) => d.id).sort())
      })
    )
  )

  it.effect("§9: demands published between pages neither repeat nor hide rows", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const original: Array<string> = []
        for (let i = 0; i < 25; i++) {
          if (i % 2 === 0) yield* tick
          original.push((yield* Fixtures.publish(world, world.enterprise.account)).id)
        }
        const seen: Array<string> = []
        let cursor: string | undefined
        let pages = 0
        do {
          const page = yield* lists.hall(null, { limit: 10, ...(cursor ? { cursor } : {}) })
          seen.push(...page.items.map((d) => d.id))
          cursor = page.nextCursor ?? undefined
          pages++
          // Newer demands arrive while the reader pages.
          yield* tick
          yield* Fixtures.publish(world, world.enterprise2.account)
        } while (cursor !== undefined && pages < 10)
        assert.strictEqual(new Set(seen).size, seen.length)
        assert.deepStrictEqual([...seen].sort(), [...original].sort())
      })
    )
  )

  it.effect("§9: a value outside a choice is refused naming every value allowed, not the first alone", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const lists = yield* Lists.Lists
        const refused = yield* expectError(
          lists.myDemands(world.enterprise.account, { sort: "newest" as "created" }),
          "InvalidInput",
          "§9",
          "sort"
        )
        assert.strictEqual(
          refused.message,
          'sort: Expected "created" | "published" | "deadline", actual "newest"'
        )
      })
    )
  )

  it.effect(
    "§9: an invalid cursor is refused on the field cursor: not a cursor, keys of the wrong kind, control characters and unpaired surrogates, another list's or another sort's",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const lists = yield* Lists.Lists
          for (let i = 0; i < 3; i++) yield* Fixtures.publish(world, world.enterprise.account)
          const published = SortKeys.demandScope("published")
          const raw = (value: unknown) => Encoding.encodeBase64Url(JSON.stringify(value))
          const bad = [
            "not-a-cursor",
            "%%%",
            "x".repeat(600),
            raw(["demand.published", 1, "a", "b"]),
            raw([1, "a"]),
            Pagination.encodeCursor(published, ["only-one-part"]),
            Pagination.encodeCursor(published, ["x", "y"]),
            Pagination.encodeCursor(published, [1.5, "a"]),
            Pagination.encodeCursor(published, [1e300, "a"]),
            Pagination.encodeCursor(published, [-62135596800001, "a"]),
            Pagination.encodeCursor(published, [1, 2]),
            Pagination.encodeCursor(published, [1, ""]),
            Pagination.encodeCursor(published, [1, "a\u0000"]),
            Pagination.encodeCursor(published, [1, "\ud800"]),
            Pagination.encodeCursor(published, ["\udfff", "a"]),
            Pagination.encodeCursor(SortKeys.demandScope("deadline"), ["2026-02-30", "a"]),
            Pagination.encodeCursor(SortKeys.scopes.audit, [1, "a"])
          ]
          for (const cursor of bad) {
            yield* expectError(lists.hall(null, { cursor }), "InvalidInput", "§9", "cursor")
            yield* expectError(
              lists.myDemands(world.enterprise.account, { cursor }),
              "InvalidInput",
              "§9",
              "cursor"
            )
            yield* expectError(
              lists.responsesToMe(world.enterprise.account, { cursor }),
              "InvalidInput",
              "§9",
              "cursor"
            )
          }
          // A cursor this list handed out is accepted.
          const first = yield* lists.hall(null, { limit: 1 })
          const second = yield* lists.hall(null, { limit: 1, cursor: first.nextCursor! })
          assert.lengthOf(second.items, 1)
          assert.notStrictEqual(second.items[0]!.id, first.items[0]!.id)
          // It continues its order only: a creation time is not read as a publication time.
          const mine = yield* lists.myDemands(world.enterprise.account, { limit: 1, sort: "created" })
          for (const sort of ["published", "deadline"] as const) {
            yield* expectError(
              lists.myDemands(world.enterprise.account, { limit: 1, sort, cursor: mine.nextCursor! }),
              "InvalidInput",
              "§9",
              "cursor"
            )
          }
          const next = yield* lists.myDemands(world.enterprise.account, {
            limit: 1,
            sort: "created",
            cursor: mine.nextCursor!
          })
          assert.lengthOf(next.items, 1)
          // A list of the same rows in the same order takes it: the hall's is a position among published demands.
          const mineByPublication = yield* lists.myDemands(world.enterprise.account, {
            limit: 1,
            sort: "published",
            cursor: first.nextCursor!
          })
          assert.deepStrictEqual(
            mineByPublication.items.map((d) => d.id),
            second.items.map((d) => d.id)
          )
          // The instant keys of null (a demand never published) and of the years 1 and 9999 are keys.
          for (const key of [null, -62135596800000, 253402300799999]) {
            yield* lists.myDemands(world.enterprise.account, {
              sort: "published",
              cursor: Pagination.encodeCursor(published, [key, "a"])
            })
          }
          // Only there: every creation and submission time is set, so a null one is no position.
          yield* expectError(
            lists.myDemands(world.enterprise.account, {
              sort: "created",
              cursor: Pagination.encodeCursor(SortKeys.demandScope("created"), [null, "a"])
            }),
            "InvalidInput",
            "§9",
            "cursor"
          )
          yield* expectError(
            lists.responsesToMe(world.enterprise.account, {
              cursor: Pagination.encodeCursor(SortKeys.scopes.response, [null, "a"])
            }),
            "InvalidInput",
            "§9",
            "cursor"
          )
        })
      )
  )
})
