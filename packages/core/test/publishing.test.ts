import { assert, describe, it } from "@effect/vitest"
import {
  AuditTrail,
  Commissioning,
  Deadline,
  Errors,
  Lists,
  Membership,
  Outcome,
  Persistence,
  Publishing,
  Responding,
  Review,
  Selection,
  Settings
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Context, DateTime, Effect, Option } from "effect"
import {
  auditIds,
  commission,
  draft,
  type FormOverrides,
  myDemandIds,
  offeredTo,
  proposal,
  submitted
} from "./demandHelpers.js"
import { at, expectError, failureOf, withPorts, withWorld } from "./helpers.js"

describe("publishing", () => {
  describe("R1: who publishes", () => {
    it.effect(
      "R1: an enterprise that names a technology manager, or a client to publish for, is refused naming the field; nothing is drafted",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const publishing = yield* Publishing.Publishing
            const manager = yield* expectError(
              publishing.draft(
                world.enterprise.account,
                yield* Fixtures.form({ technologyManagerId: world.manager })
              ),
              "Denied",
              "R1",
              "technologyManagerId"
            )
            assert.strictEqual((manager as Errors.Denied).code, "demand.manager_not_allowed")
            const client = yield* expectError(
              publishing.draft(
                world.enterprise.account,
                yield* Fixtures.form({ clientId: world.enterprise2.member.id })
              ),
              "Denied",
              "R1",
              "clientId"
            )
            assert.strictEqual((client as Errors.Denied).code, "demand.client_not_allowed")
            const mine = yield* (yield* Lists.Lists).myDemands(world.enterprise.account, {})
            assert.lengthOf(mine.items, 0)
          })
        )
    )

    it.effect(
      "R1: a registered institution publishes on behalf of its client and names a technology manager",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            yield* commission(world)
            const demand = yield* Fixtures.publish(
              world,
              world.institution.account,
              Fixtures.onBehalf(world, world.enterprise.member.id)
            )
            assert.strictEqual(demand.state, "published")
            assert.strictEqual(demand.publisherId, world.institution.member.id)
            assert.strictEqual(demand.createdBy, world.institution.account)
            assert.strictEqual(demand.form.clientId, world.enterprise.member.id)
            assert.strictEqual(demand.form.technologyManagerId, world.manager)
            assert.strictEqual(demand.number, "ZB20260001")

            const trail = yield* AuditTrail.AuditTrail
            const events = yield* trail.list(world.operator, { demandId: demand.id, limit: 100 })
            const drafted = events.items.find((e) => e.action === "demand.drafted")
            assert.isDefined(drafted)
            assert.strictEqual(drafted?.onBehalfOf, world.enterprise.member.id)
            assert.strictEqual(drafted?.actorMemberId, world.institution.member.id)
          })
        )
    )

    it.effect(
      "R1: a registered institution may also publish its own demand, naming a technology manager",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const demand = yield* Fixtures.publish(world, world.institution.account, Fixtures.onBehalf(world))
            assert.strictEqual(demand.publisherId, world.institution.member.id)
            assert.isUndefined(demand.form.clientId)
            assert.strictEqual(demand.form.technologyManagerId, world.manager)
          })
        )
    )

    it.effect("R1: an institution's demand must name a technology manager", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          yield* expectError(draft(world.institution.account), "InvalidInput", "R10", "technologyManagerId")
          assert.deepStrictEqual(yield* myDemandIds(world.institution.account), [])
        })
      )
    )

    it.effect("R1: an institution names only its own technology managers", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          yield* membership.registerInstitution(world.operator, { memberId: world.unregistered.member.id })
          const otherManager = yield* membership.addTechnologyManager(world.unregistered.account, {
            name: "赵经理",
            phone: Fixtures.nextPhone()
          })
          yield* expectError(
            draft(world.institution.account, { technologyManagerId: otherManager.id }),
            "InvalidInput",
            "R1",
            "technologyManagerId"
          )
          yield* expectError(
            draft(world.institution.account, { technologyManagerId: "no-such-manager" }),
            "InvalidInput",
            "R1",
            "technologyManagerId"
          )
        })
      )
    )

    it.effect(
      "R1: a retired technology manager is not named on a demand again (drafted, edited into a form, a draft naming it submitted, a demand naming it approved); the demands published naming it keep it; made active again, it is named again",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const membership = yield* Membership.Membership
            const publishing = yield* Publishing.Publishing
            const review = yield* Review.Review
            const published = yield* Fixtures.publish(
              world,
              world.institution.account,
              Fixtures.onBehalf(world)
            )
            const earlier = yield* draft(world.institution.account, { technologyManagerId: world.manager })
            const pending = yield* submitted(world.institution.account, {
              technologyManagerId: world.manager
            })
            const other = yield* membership.addTechnologyManager(world.institution.account, {
              name: "周经理",
              phone: Fixtures.nextPhone()
            })
            const elsewhere = yield* draft(world.institution.account, { technologyManagerId: other.id })
            const manager = (yield* membership.technologyManagers(world.institution.account, {
              institutionId: world.institution.member.id
            })).find((m) => m.id === world.manager)!
            const as = (active: boolean) => ({
              technologyManagerId: manager.id,
              name: manager.name,
              phone: manager.phone,
              active
            })
            yield* membership.updateTechnologyManager(world.institution.account, as(false))
            const drafts = yield* myDemandIds(world.institution.account)
            const refused = yield* expectError(
              draft(world.institution.account, { technologyManagerId: world.manager }),
              "InvalidInput",
              "R1",
              "technologyManagerId"
            )
            assert.strictEqual((refused as Errors.InvalidInput).code, "demand.manager_inactive")
            assert.deepStrictEqual(yield* myDemandIds(world.institution.account), drafts, "nothing drafted")
            const notSubmitted = yield* expectError(
              publishing.submit(world.institution.account, { demandId: earlier.id }),
              "InvalidInput",
              "R1",
              "technologyManagerId"
            )
            assert.strictEqual((notSubmitted as Errors.InvalidInput).code, "demand.manager_inactive")
            const notEdited = yield* expectError(
              publishing.edit(world.institution.account, {
                demandId: elsewhere.id,
                form: { ...elsewhere.form, technologyManagerId: world.manager }
              }),
              "InvalidInput",
              "R1",
              "form.technologyManagerId"
            )
            assert.strictEqual((notEdited as Errors.InvalidInput).code, "demand.manager_inactive")
            const notApproved = yield* expectError(
              review.approve(world.operator, { demandId: pending.id }),
              "InvalidState",
              "R1"
            )
            assert.strictEqual((notApproved as Errors.InvalidState).code, "demand.manager_inactive")
            const stillPending = yield* (yield* Persistence.DemandRepository).findById(pending.id)
            assert.strictEqual(Option.getOrThrow(stillPending).state, "pending_review", "nothing approved")
            const kept = yield* (yield* Persistence.DemandRepository).findById(published.id)
            assert.strictEqual(Option.getOrThrow(kept).form.technologyManagerId, world.manager)
            assert.strictEqual(Option.getOrThrow(kept).state, "published")
            yield* membership.updateTechnologyManager(world.institution.account, as(true))
            const again = yield* publishing.submit(world.institution.account, { demandId: earlier.id })
            assert.strictEqual(again.state, "pending_review")
          })
        )
    )

    it.effect(
      "R1: an unregistered institution can neither publish (whatever its form) nor name a technology manager",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            yield* expectError(draft(world.unregistered.account), "Denied", "R1")
            yield* expectError(draft(world.unregistered.account, Fixtures.onBehalf(world)), "Denied", "R1")
            // Told it may not publish, not to mend a field first.
            yield* expectError(draft(world.unregistered.account, { field: "不在分类中" }), "Denied", "R1")
            yield* expectError(
              draft(world.unregistered.account, { serviceMode: "no_such_mode" }),
              "Denied",
              "R1"
            )
            const membership = yield* Membership.Membership
            yield* expectError(
              membership.addTechnologyManager(world.unregistered.account, {
                name: "赵经理",
                phone: Fixtures.nextPhone()
              }),
              "Denied",
              "R1"
            )
            assert.deepStrictEqual(yield* myDemandIds(world.unregistered.account), [])
          })
        )
    )

    it.effect("R1: once registered by the operator, the institution publishes", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const membership = yield* Membership.Membership
          yield* expectError(draft(world.unregistered.account), "Denied", "R1")
          yield* membership.registerInstitution(world.operator, { memberId: world.unregistered.member.id })
          const manager = yield* membership.addTechnologyManager(world.unregistered.account, {
            name: "赵经理",
            phone: Fixtures.nextPhone()
          })
          const demand = yield* Fixtures.publish(world, world.unregistered.account, {
            technologyManagerId: manager.id
          })
          assert.strictEqual(demand.state, "published")
          assert.strictEqual(demand.publisherId, world.unregistered.member.id)
        })
      )
    )

    it.effect("R1: research institutes, experts and service institutions cannot draft demands", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          for (const party of [world.institute, world.expert, world.serviceInstitution]) {
            yield* expectError(draft(party.account), "Denied", "R1")
            assert.deepStrictEqual(yield* myDemandIds(party.account), [])
          }
        })
      )
    )

    it.effect("R1: an enterprise cannot name a technology manager or publish on behalf of a client", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const before = yield* auditIds(world)
          yield* expectError(
            draft(world.enterprise.account, { technologyManagerId: world.manager }),
            "Denied",
            "R1"
          )
          yield* expectError(
            draft(world.enterprise.account, { clientId: world.enterprise2.member.id }),
            "Denied",
            "R1"
          )
          yield* expectError(
            draft(world.enterprise.account, Fixtures.onBehalf(world, world.enterprise2.member.id)),
            "Denied",
            "R1"
          )
          assert.deepStrictEqual(yield* myDemandIds(world.enterprise.account), [])
          assert.deepStrictEqual(yield* auditIds(world), before)
        })
      )
    )

    it.effect("R1: an enterprise cannot name a technology manager when editing its draft either", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const d = yield* draft(world.enterprise.account)
          const form = yield* Fixtures.form(Fixtures.onBehalf(world))
          yield* expectError(
            publishing.edit(world.enterprise.account, { demandId: d.id, form }),
            "Denied",
            "R1"
          )
          const read = yield* publishing.get(world.enterprise.account, { demandId: d.id })
          assert.isUndefined(read.demand.form.technologyManagerId)
          assert.strictEqual(read.demand.version, 1)
        })
      )
    )
  })

  describe("R41: publishing for a client needs an active commission", () => {
    it.effect("R41: without a commission the institution cannot name a client", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          yield* expectError(
            draft(world.institution.account, Fixtures.onBehalf(world, world.enterprise.member.id)),
            "Denied",
            "R41"
          )
          assert.deepStrictEqual(yield* myDemandIds(world.enterprise.account), [])
        })
      )
    )

    it.effect("R41: a requested, declined or ended commission does not allow it; an active one does", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const commissioning = yield* Commissioning.Commissioning
          const forClient = (client: Fixtures.Party) =>
            draft(world.institution.account, Fixtures.onBehalf(world, client.member.id))

          const requested = yield* commissioning.request(world.enterprise.account, {
            institutionId: world.institution.member.id,
            message: "请代为发布"
          })
          yield* expectError(forClient(world.enterprise), "Denied", "R41")

          yield* commissioning.accept(world.institution.account, { commissionId: requested.id })
          const d = yield* forClient(world.enterprise)
          assert.strictEqual(d.form.clientId, world.enterprise.member.id)
          // the commission is with enterprise, not enterprise2
          yield* expectError(forClient(world.enterprise2), "Denied", "R41")

          yield* commissioning.end(world.enterprise.account, { commissionId: requested.id })
          yield* expectError(forClient(world.enterprise), "Denied", "R41")

          const declined = yield* commissioning.request(world.enterprise2.account, {
            institutionId: world.institution.member.id,
            message: "请代为发布"
          })
          yield* commissioning.decline(world.institution.account, { commissionId: declined.id })
          yield* expectError(forClient(world.enterprise2), "Denied", "R41")
        })
      )
    )

    it.effect("R41: the commissioning enterprise fills in nothing and finds the demand in its list", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          yield* commission(world)
          const demand = yield* Fixtures.publish(
            world,
            world.institution.account,
            Fixtures.onBehalf(world, world.enterprise.member.id)
          )
          const lists = yield* Lists.Lists
          const mine = yield* lists.myDemands(world.enterprise.account, { role: "client" })
          assert.deepStrictEqual(
            mine.items.map((d) => d.id),
            [demand.id]
          )
          const published = yield* lists.myDemands(world.enterprise.account, { role: "publisher" })
          assert.deepStrictEqual(published.items, [])
          assert.notStrictEqual(demand.createdBy, world.enterprise.account)
        })
      )
    )
  })

  describe("R2: only the publisher manages; the client reads", () => {
    it.effect(
      "R2: the commissioning enterprise reads its unpublished demand but cannot edit or submit it",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            yield* commission(world)
            const publishing = yield* Publishing.Publishing
            const d = yield* draft(
              world.institution.account,
              Fixtures.onBehalf(world, world.enterprise.member.id)
            )

            const read = yield* publishing.get(world.enterprise.account, { demandId: d.id })
            assert.strictEqual(read.demand.id, d.id)
            assert.strictEqual(read.demand.state, "draft")
            assert.deepStrictEqual(read.actions, [])

            const form = yield* Fixtures.form({
              ...Fixtures.onBehalf(world, world.enterprise.member.id),
              title: "改名"
            })
            yield* expectError(
              publishing.edit(world.enterprise.account, { demandId: d.id, form }),
              "Denied",
              "R2"
            )
            yield* expectError(
              publishing.submit(world.enterprise.account, { demandId: d.id }),
              "Denied",
              "R2"
            )

            const after = yield* publishing.get(world.institution.account, { demandId: d.id })
            assert.strictEqual(after.demand.state, "draft")
            assert.strictEqual(after.demand.form.title, d.form.title)
            assert.strictEqual(after.demand.version, d.version)
            assert.includeMembers([...after.actions], ["edit", "submit"])
          })
        )
    )

    it.effect("R2: the commissioning enterprise does not act on its published demand either", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          yield* commission(world)
          const demand = yield* Fixtures.publish(
            world,
            world.institution.account,
            Fixtures.onBehalf(world, world.enterprise.member.id)
          )
          const outcome = yield* Outcome.Outcome
          const selection = yield* Selection.Selection
          yield* expectError(
            outcome.appendLog(world.enterprise.account, {
              demandId: demand.id,
              entry: { date: "2026-05-04", text: "走访企业" }
            }),
            "Denied",
            "R2"
          )
          yield* expectError(
            outcome.unsolved(world.enterprise.account, { demandId: demand.id }),
            "Denied",
            "R2"
          )
          yield* expectError(
            outcome.solved(world.enterprise.account, { demandId: demand.id }),
            "Denied",
            "R2"
          )
          yield* expectError(
            selection.endSelection(world.enterprise.account, { demandId: demand.id }),
            "Denied",
            "R2"
          )
          const publishing = yield* Publishing.Publishing
          const read = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
          assert.strictEqual(read.demand.state, "published")
          assert.strictEqual(read.demand.version, demand.version)
          assert.deepStrictEqual(read.actions, [])
        })
      )
    )

    it.effect("R2: the commissioning enterprise follows its demand's progress; other members do not", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          yield* commission(world)
          const outcome = yield* Outcome.Outcome
          const demand = yield* Fixtures.publish(
            world,
            world.institution.account,
            Fixtures.onBehalf(world, world.enterprise.member.id)
          )
          yield* outcome.appendLog(world.institution.account, {
            demandId: demand.id,
            entry: { date: "2026-05-04", text: "走访企业，确认技术指标" }
          })
          const seen = yield* outcome.serviceLog(world.enterprise.account, { demandId: demand.id })
          assert.deepStrictEqual(
            seen.map((e) => e.text),
            ["走访企业，确认技术指标"]
          )
          yield* expectError(
            outcome.serviceLog(world.enterprise2.account, { demandId: demand.id }),
            "NotFound",
            "R5"
          )
        })
      )
    )

    it.effect("R2: other members get NotFound (R5) for an unpublished demand; operators read it", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          yield* commission(world)
          const publishing = yield* Publishing.Publishing
          const d = yield* draft(
            world.institution.account,
            Fixtures.onBehalf(world, world.enterprise.member.id)
          )
          for (const other of [
            world.enterprise2,
            world.institute,
            world.expert,
            world.serviceInstitution,
            world.unregistered
          ]) {
            const error = yield* expectError(
              publishing.get(other.account, { demandId: d.id }),
              "NotFound",
              "R5"
            )
            assert.strictEqual((error as { code?: string }).code, "demand.not_found")
            yield* expectError(publishing.submit(other.account, { demandId: d.id }), "NotFound", "R5")
          }
          yield* expectError(publishing.get(null, { demandId: d.id }), "NotFound", "R5")
          const byOperator = yield* publishing.get(world.operator, { demandId: d.id })
          assert.strictEqual(byOperator.demand.id, d.id)

          yield* publishing.submit(world.institution.account, { demandId: d.id })
          yield* expectError(publishing.get(world.enterprise2.account, { demandId: d.id }), "NotFound", "R5")
        })
      )
    )

    it.effect("R2: another member reads a published demand but cannot edit it", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const publishing = yield* Publishing.Publishing
          const read = yield* publishing.get(world.enterprise2.account, { demandId: demand.id })
          assert.strictEqual(read.demand.id, demand.id)
          yield* expectError(
            publishing.submit(world.enterprise2.account, { demandId: demand.id }),
            "Denied",
            "R2"
          )
          const outcome = yield* Outcome.Outcome
          yield* expectError(
            outcome.appendLog(world.enterprise2.account, {
              demandId: demand.id,
              entry: { date: "2026-05-04", text: "走访企业" }
            }),
            "Denied",
            "R2"
          )
        })
      )
    )
  })

  describe("R10: every field is validated", () => {
    it.effect(
      "R10: a field the form does not have (clientID for clientId) is refused naming it, at any depth; nothing is drafted, no response is given",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            yield* Fixtures.activeCommission(world)
            const form = yield* Fixtures.form(Fixtures.onBehalf(world))
            const publishing = yield* Publishing.Publishing
            const misspelt = { ...form, clientID: world.enterprise.member.id } as typeof form
            yield* expectError(
              publishing.draft(world.institution.account, misspelt),
              "InvalidInput",
              "R10",
              "clientID"
            )
            const nested = {
              ...form,
              contact: { name: "张三", phone: "13800000000", mobile: "13800000000" }
            } as typeof form
            yield* expectError(
              publishing.draft(world.institution.account, nested),
              "InvalidInput",
              "R10",
              "contact.mobile"
            )
            assert.deepStrictEqual(yield* myDemandIds(world.institution.account), [])
            const published = yield* Fixtures.publish(world, world.enterprise.account)
            const responding = yield* Responding.Responding
            const input = {
              demandId: published.id,
              proposal: { ...proposal, attachements: [] } as typeof proposal
            }
            yield* expectError(
              responding.respond(world.expert.account, input),
              "InvalidInput",
              "R20",
              "proposal.attachements"
            )
            const lists = yield* Lists.Lists
            assert.lengthOf((yield* lists.myResponses(world.expert.account, {})).items, 0)
          })
        )
    )

    const long = (n: number) => "测".repeat(n)
    const summary = {
      mainProblem: "主要问题",
      keyTechnology: "技术关键",
      expectedGoal: "预期目标"
    }
    const invalid: ReadonlyArray<readonly [string, FormOverrides, string, string]> = [
      ["empty title", { title: "" }, "title", "R10"],
      ["blank title", { title: "   " }, "title", "R10"],
      ["61-character title", { title: long(61) }, "title", "R10"],
      ["empty main problem", { summary: { ...summary, mainProblem: "" } }, "summary.mainProblem", "R10"],
      [
        "501-character key technology",
        { summary: { ...summary, keyTechnology: long(501) } },
        "summary.keyTechnology",
        "R10"
      ],
      [
        "501-character expected goal",
        { summary: { ...summary, expectedGoal: long(501) } },
        "summary.expectedGoal",
        "R10"
      ],
      ["no keywords", { keywords: [] }, "keywords", "R10"],
      ["six keywords", { keywords: ["一", "二", "三", "四", "五", "六"] }, "keywords", "R10"],
      ["field outside the taxonomy", { field: "航空航天" }, "field", "R10"],
      ["negative investment", { intendedInvestment: -1 }, "intendedInvestment", "R10"],
      ["fractional investment", { intendedInvestment: 100.5 }, "intendedInvestment", "R10"],
      ["unsafe investment", { intendedInvestment: 2 ** 53 }, "intendedInvestment", "R10"],
      ["unknown solving way", { solvingWay: "magic" as "other" }, "solvingWay", "R10"],
      ["51-character region", { region: long(51) }, "region", "R10"],
      ["unknown service mode", { serviceMode: "crowd_auction" }, "serviceMode", "R14"],
      ["invalid contact phone", { contact: { name: "张工", phone: "12345" } }, "contact.phone", "R10"]
    ]

    for (const [name, overrides, field, rule] of invalid) {
      it.effect(`R10: ${name} is refused naming "${field}", and nothing changes`, () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const before = yield* auditIds(world)
            const error = yield* expectError(
              draft(world.enterprise.account, overrides),
              "InvalidInput",
              rule,
              field
            )
            assert.include(error.message, field)
            assert.isString((error as { code?: string }).code)
            assert.deepStrictEqual(yield* myDemandIds(world.enterprise.account), [])
            assert.deepStrictEqual(yield* auditIds(world), before)
          })
        )
      )
    }

    for (const [name, deadline] of [
      ["a date that is not in the calendar", "2026-02-30"],
      ["a 29 February of a common year", "2027-02-29"],
      ["a date not written YYYY-MM-DD", "2026/06/30"]
    ] as const) {
      it.effect(`R10: responseDeadline ${name} (${deadline}) is refused, and nothing changes`, () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const before = yield* auditIds(world)
            const error = (yield* failureOf(
              draft(world.enterprise.account, { responseDeadline: deadline })
            )) as { _tag: string; rule?: string; field?: string; message: string }
            assert.strictEqual(error._tag, "InvalidInput")
            assert.strictEqual(error.field, "responseDeadline")
            // the deadline field is R10's (a calendar date) and R13's (the deadline rule)
            assert.oneOf(error.rule, ["R10", "R13"])
            assert.include(error.message, "responseDeadline")
            assert.deepStrictEqual(yield* myDemandIds(world.enterprise.account), [])
            assert.deepStrictEqual(yield* auditIds(world), before)
          })
        )
      )
    }

    it.effect("R10: a form at every limit is accepted, and its values are kept (phone normalised)", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const d = yield* draft(world.enterprise.account, {
            title: long(60),
            summary: { mainProblem: long(500), keyTechnology: "一", expectedGoal: long(500) },
            keywords: ["一", "二", "三", "四", "五"],
            field: "其他",
            intendedInvestment: 0,
            region: long(50),
            responseDeadline: "2028-02-29",
            contact: { name: "张工", phone: "138 1234 5678" }
          })
          assert.strictEqual(d.state, "draft")
          assert.strictEqual(d.form.title.length, 60)
          assert.strictEqual(d.form.intendedInvestment, 0)
          assert.strictEqual(d.form.responseDeadline, "2028-02-29")
          assert.strictEqual(d.form.contact?.phone, "+8613812345678")
          assert.deepStrictEqual(yield* myDemandIds(world.enterprise.account), [d.id])
        })
      )
    )

    it.effect("R10: every default technical field of the taxonomy is accepted", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          for (const field of [
            "电子信息",
            "光机电一体化",
            "生物技术与制药",
            "新材料及应用",
            "现代农业",
            "新能源与高效节能",
            "资源与环境",
            "高科技服务业",
            "海洋",
            "社会公共事业",
            "医疗卫生",
            "其他"
          ]) {
            const d = yield* draft(world.enterprise.account, { field })
            assert.strictEqual(d.form.field, field)
          }
        })
      )
    )

    it.effect("R10: title length counts characters, so 60 CJK Extension B characters fit", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          // U+20000 (𠀀) is one character but two UTF-16 code units
          const title = "𠀀".repeat(60)
          assert.strictEqual([...title].length, 60)
          const d = yield* draft(world.enterprise.account, { title })
          assert.strictEqual(d.form.title, title)
          yield* expectError(
            draft(world.enterprise.account, { title: "𠀀".repeat(61) }),
            "InvalidInput",
            "R10",
            "title"
          )
        })
      )
    )

    it.effect("R10: an invalid edit names the field and leaves the demand as it was", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const d = yield* draft(world.enterprise.account)
          const before = yield* auditIds(world)
          for (const [overrides, field] of [
            [{ title: long(61) }, "form.title"],
            [{ field: "航空航天" }, "form.field"],
            [{ keywords: [] }, "form.keywords"]
          ] as const) {
            const form = yield* Fixtures.form(overrides)
            const error = yield* expectError(
              publishing.edit(world.enterprise.account, { demandId: d.id, form }),
              "InvalidInput",
              "R10"
            )
            // the input nests the form: "form.title", or the bare field name
            assert.oneOf(error.field, [field, field.slice("form.".length)])
          }
          const read = yield* publishing.get(world.enterprise.account, { demandId: d.id })
          assert.deepStrictEqual(read.demand, d)
          assert.deepStrictEqual(yield* auditIds(world), before)
        })
      )
    )

    it.effect(
      "R11: an edit naming the version the demand was read at goes ahead; one naming an older version is refused (revision.stale) and changes and audits nothing; of several versions, any one matches, and * any",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const publishing = yield* Publishing.Publishing
            const me = world.enterprise.account
            const read = yield* draft(me)
            const edited = yield* publishing.edit(me, {
              demandId: read.id,
              form: yield* Fixtures.form({ title: "第二稿" }),
              ifVersion: [String(read.version)]
            })
            assert.strictEqual(edited.version, read.version + 1)
            const before = yield* auditIds(world)
            const stale = yield* expectError(
              publishing.edit(me, {
                demandId: read.id,
                form: yield* Fixtures.form({ title: "旧副本" }),
                ifVersion: [String(read.version)]
              }),
              "InvalidState",
              "R11"
            )
            assert.strictEqual((stale as Errors.InvalidState).code, "revision.stale")
            assert.deepStrictEqual(
              (yield* publishing.get(me, { demandId: read.id })).demand,
              edited,
              "the edit made since is kept"
            )
            assert.deepStrictEqual(yield* auditIds(world), before, "nothing audited")
            const third = yield* publishing.edit(me, {
              demandId: read.id,
              form: yield* Fixtures.form({ title: "第三稿" }),
              ifVersion: [String(read.version), "not-a-version", String(edited.version)]
            })
            assert.strictEqual(third.form.title, "第三稿")
            const any = yield* publishing.edit(me, {
              demandId: read.id,
              form: yield* Fixtures.form({ title: "任意" }),
              ifVersion: ["*"]
            })
            assert.strictEqual(any.form.title, "任意")
            // R5: another member naming any version is told the draft is not found, not that it changed.
            yield* expectError(
              publishing.edit(world.enterprise2.account, {
                demandId: read.id,
                form: yield* Fixtures.form({ title: "他人" }),
                ifVersion: ["0"]
              }),
              "NotFound",
              "R5"
            )
          })
        )
    )
  })

  describe("R13: submitting", () => {
    it.effect(
      "R13: a deadline more than maxDeadlineDays ahead is not submitted nor restarted with, naming responseDeadline; exactly that many days is taken",
      () =>
        withWorld(
          (world) =>
            Effect.gen(function* () {
              const publishing = yield* Publishing.Publishing
              const outcome = yield* Outcome.Outcome
              const me = world.enterprise.account
              const today = Deadline.dateAt(yield* DateTime.now, yield* Settings.Settings)
              assert.strictEqual(
                Deadline.latestDeadlineAt(yield* DateTime.now, yield* Settings.Settings),
                Deadline.addDays(today, 90)
              )
              // A draft keeps any deadline; submitting checks it.
              const saved = yield* draft(me, { responseDeadline: Deadline.addDays(today, 91) })
              const refused = yield* expectError(
                publishing.submit(me, { demandId: saved.id }),
                "InvalidInput",
                "R13",
                "responseDeadline"
              )
              assert.strictEqual((refused as { code?: string }).code, "demand.deadline_too_late")
              assert.include(refused.message, Deadline.addDays(today, 90))
              assert.strictEqual((yield* publishing.get(me, { demandId: saved.id })).demand.state, "draft")
              const last = yield* Fixtures.publish(world, me, {
                responseDeadline: Deadline.addDays(today, 90)
              })
              assert.strictEqual(last.state, "published")
              // A restart's new deadline is bounded the same way, from the day of the restart.
              const soon = yield* Fixtures.publish(world, me, {
                responseDeadline: Deadline.addDays(today, 1)
              })
              yield* outcome.unsolved(me, { demandId: soon.id })
              yield* at("2026-05-10T02:00:00Z")
              const restartDay = "2026-05-10" as Deadline.LocalDate
              yield* expectError(
                outcome.restart(me, {
                  demandId: soon.id,
                  form: yield* Fixtures.form({ responseDeadline: Deadline.addDays(restartDay, 91) })
                }),
                "InvalidInput",
                "R13",
                "form.responseDeadline"
              )
              const restarted = yield* outcome.restart(me, {
                demandId: soon.id,
                form: yield* Fixtures.form({ responseDeadline: Deadline.addDays(restartDay, 90) })
              })
              assert.strictEqual(restarted.round, 2)
            }),
          { maxDeadlineDays: 90 }
        )
    )
    it.effect("R13, R23: a deadline whose selection window would end after 9999-12-31 is not submitted", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const settings = yield* Settings.Settings
          // Half a year before the calendar's end, where maxDeadlineDays reaches past it.
          yield* at("9999-06-01T02:00:00Z")
          const latest = Deadline.latestDeadline(settings)
          assert.strictEqual(latest, "9999-12-17")
          const late = yield* draft(world.enterprise.account, { responseDeadline: "9999-12-18" })
          const before = yield* auditIds(world)
          yield* expectError(
            publishing.submit(world.enterprise.account, { demandId: late.id }),
            "InvalidInput",
            "R13",
            "responseDeadline"
          )
          assert.strictEqual(
            (yield* publishing.get(world.enterprise.account, { demandId: late.id })).demand.state,
            "draft"
          )
          assert.deepStrictEqual(yield* auditIds(world), before)

          const last = yield* Fixtures.publish(world, world.enterprise.account, { responseDeadline: latest })
          const view = yield* publishing.get(world.enterprise.account, { demandId: last.id })
          assert.deepStrictEqual(
            view.selectionEndsAt,
            Deadline.endOfDate("9999-12-31" as Deadline.LocalDate, settings)
          )
        })
      )
    )
    it.effect(
      "R13: a draft whose saved deadline is no longer allowed offers edit, not submit, until it is changed",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const publishing = yield* Publishing.Publishing
            const me = world.enterprise.account
            const offered = (demandId: string) => offeredTo(me, demandId)
            const soon = yield* draft(me, {}, 5)
            const late = yield* draft(me, { responseDeadline: "9999-12-18" })
            assert.deepStrictEqual(yield* offered(soon.id), ["edit", "submit"])
            assert.deepStrictEqual(yield* offered(late.id), ["edit"])

            yield* at(DateTime.add(yield* DateTime.now, { days: 5 }))
            assert.deepStrictEqual(yield* offered(soon.id), ["edit"])
            yield* expectError(
              publishing.submit(me, { demandId: soon.id }),
              "InvalidInput",
              "R13",
              "responseDeadline"
            )
            yield* publishing.edit(me, { demandId: soon.id, form: yield* Fixtures.form({}, 30) })
            assert.deepStrictEqual(yield* offered(soon.id), ["edit", "submit"])
            yield* publishing.submit(me, { demandId: soon.id })
          })
        )
    )
  })

  describe("R11: submitting", () => {
    it.effect(
      "R11: submitting sends a draft to review; a pending demand is neither edited nor resubmitted",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const publishing = yield* Publishing.Publishing
            const d = yield* draft(world.enterprise.account)
            assert.strictEqual(d.state, "draft")
            assert.isNull(d.number)
            const pending = yield* publishing.submit(world.enterprise.account, { demandId: d.id })
            assert.strictEqual(pending.state, "pending_review")
            assert.isNotNull(pending.submittedAt)
            assert.isNull(pending.number)

            const form = yield* Fixtures.form({ title: "改名" })
            yield* expectError(
              publishing.edit(world.enterprise.account, { demandId: d.id, form }),
              "InvalidState",
              "R11"
            )
            yield* expectError(
              publishing.submit(world.enterprise.account, { demandId: d.id }),
              "InvalidState",
              "R11"
            )
            const read = yield* publishing.get(world.enterprise.account, { demandId: d.id })
            assert.strictEqual(read.demand.state, "pending_review")
            assert.strictEqual(read.demand.form.title, d.form.title)
          })
        )
    )

    it.effect("R11: a draft may be edited before it is submitted", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const d = yield* draft(world.enterprise.account)
          const form = yield* Fixtures.form({ title: "碳化硅功率器件封装" })
          const edited = yield* publishing.edit(world.enterprise.account, { demandId: d.id, form })
          assert.strictEqual(edited.state, "draft")
          assert.strictEqual(edited.form.title, "碳化硅功率器件封装")
          assert.strictEqual(edited.version, d.version + 1)
        })
      )
    )

    it.effect("R11: a published demand can no longer be edited or submitted", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const form = yield* Fixtures.form({ title: "改名" })
          yield* expectError(
            publishing.edit(world.enterprise.account, { demandId: demand.id, form }),
            "InvalidState",
            "R11"
          )
          yield* expectError(
            publishing.submit(world.enterprise.account, { demandId: demand.id }),
            "InvalidState",
            "R11"
          )
        })
      )
    )
  })
})

describe("control characters", () => {
  it.effect(
    "R10: a title with a NUL or other control character (C0 or C1), or half a character (an unpaired surrogate), is refused, naming the field",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const controls = ["\u0000", "\u001b", "\u007f", "\u0085", "\u009b"]
          for (const bad of [...controls, "\ud842", "\udfb7", "\udfb7\ud842"]) {
            const broken = yield* Fixtures.form({ title: `石墨烯${bad}散热膜` })
            yield* expectError(
              publishing.draft(world.enterprise.account, broken),
              "InvalidInput",
              "R10",
              "title"
            )
          }
          const whole = yield* Fixtures.form({ title: "石墨烯\ud842\udfb7散热膜" })
          const drafted = yield* publishing.draft(world.enterprise.account, whole)
          assert.strictEqual(
            drafted.form.title,
            "石墨烯𠮷散热膜",
            "a character outside the BMP, both its halves, is one character"
          )
          const ok = yield* Fixtures.form({
            summary: { mainProblem: "第一行\n第二行\t制表", keyTechnology: "关键", expectedGoal: "目标" }
          })
          yield* publishing.draft(world.enterprise.account, ok)
        })
      )
  )
})

describe("invisible text", () => {
  it.effect(
    "R10: a title, keyword or summary of zero-width or other format characters, fillers, a blank braille pattern or combining marks only is refused, naming the field; one visible character among them is taken",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const publishing = yield* Publishing.Publishing
          const summary = { mainProblem: "问题", keyTechnology: "关键", expectedGoal: "目标" }
          const refusals = [
            ["title", { title: "\u200b\u200b" }],
            ["title", { title: "\u2060\u200d\ufeff" }],
            ["title", { title: "\u2800" }],
            ["title", { title: "\u3164\u115f" }],
            ["title", { title: "\u0301" }],
            ["title", { title: "\u00ad\ufe0f" }],
            ["keywords.1", { keywords: ["石墨烯", "\u200b"] }],
            ["summary.keyTechnology", { summary: { ...summary, keyTechnology: "\u200e\u200f" } }]
          ] as const
          for (const [field, overrides] of refusals) {
            const form = yield* Fixtures.form(overrides)
            const refused = yield* expectError(
              publishing.draft(world.enterprise.account, form),
              "InvalidInput",
              "R10",
              field
            )
            assert.include(refused.message, "at least one visible", field)
          }
          assert.lengthOf(
            (yield* Lists.Lists.pipe(Effect.flatMap((l) => l.myDemands(world.enterprise.account, {})))).items,
            0,
            "nothing was drafted"
          )
          const drafted = yield* publishing.draft(
            world.enterprise.account,
            yield* Fixtures.form({ title: "\u200b石墨烯\u200d膜" })
          )
          assert.strictEqual(drafted.form.title, "\u200b石墨烯\u200d膜")
          const accented = yield* publishing.draft(
            world.enterprise.account,
            yield* Fixtures.form({ title: "Cafe\u0301 ⠁" })
          )
          assert.strictEqual(accented.form.title, "Cafe\u0301 ⠁", "a combining mark on a letter shows")
        })
      )
  )
})

describe("R5: a write conflict names the command's rule", () => {
  /** Memory ports whose demand updates fail as a concurrent writer's would, while `race.on`. */
  const racing =
    (race: { on: boolean }) =>
    (ports: Context.Context<Persistence.Ports>): Context.Context<Persistence.Ports> => {
      const demands = Context.get(ports, Persistence.DemandRepository)
      return Context.add(ports, Persistence.DemandRepository, {
        ...demands,
        update: (demand) =>
          race.on
            ? Effect.fail(new Errors.StaleWrite({ entity: "demand", id: demand.id }))
            : demands.update(demand)
      })
    }

  it.effect("R5: an edit meeting a concurrent change names R10, a respond R26; nothing is written", () => {
    const race = { on: false }
    return withPorts(racing(race), (world) =>
      Effect.gen(function* () {
        const publishing = yield* Publishing.Publishing
        const me = world.enterprise.account
        const drafted = yield* draft(me)
        const published = yield* Fixtures.publish(world, me)
        const before = yield* auditIds(world)
        race.on = true
        const edit = yield* expectError(
          publishing.edit(me, { demandId: drafted.id, form: yield* Fixtures.form({ title: "改" }, 30) }),
          "InvalidState",
          "R10"
        )
        assert.strictEqual((edit as { code?: string }).code, "concurrent_change")
        const respond = yield* expectError(
          (yield* Responding.Responding).respond(world.expert.account, {
            demandId: published.id,
            proposal
          }),
          "InvalidState",
          "R26"
        )
        assert.strictEqual((respond as { code?: string }).code, "concurrent_change")
        race.on = false
        assert.deepStrictEqual(yield* auditIds(world), before)
        assert.notStrictEqual((yield* publishing.get(me, { demandId: drafted.id })).demand.form.title, "改")
      })
    )
  })
})
