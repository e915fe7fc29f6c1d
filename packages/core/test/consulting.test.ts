import { assert, describe, it } from "@effect/vitest"
import {
  Consulting,
  type Ids,
  Lists,
  Outcome,
  Persistence,
  Publishing,
  Responding,
  Review,
  Settings
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Context, Effect } from "effect"
import { at, expectError, underSettings, withPorts, withWorld } from "./helpers.js"
import {
  activeCommission,
  deadlineEnd,
  justAfter,
  notices,
  phoneOf,
  proposal,
  secondAccount
} from "./support.js"

/** Memory ports that record, in order, each lock a use case takes on a demand or a thread. */
const recordingLocks = (locks: Array<string>) => (ports: Context.Context<Persistence.Ports>) => {
  const demands = Context.get(ports, Persistence.DemandRepository)
  const threads = Context.get(ports, Persistence.ConsultationRepository)
  const responses = Context.get(ports, Persistence.ResponseRepository)
  const withDemand = responses.findWithDemandForUpdate
  return ports.pipe(
    Context.add(Persistence.ResponseRepository, {
      ...responses,
      ...(withDemand === undefined
        ? {}
        : {
            findWithDemandForUpdate: (id) =>
              Effect.zipRight(
                Effect.sync(() => locks.push("demand")),
                withDemand(id)
              )
          })
    }),
    Context.add(Persistence.DemandRepository, {
      ...demands,
      findByIdForUpdate: (id) =>
        Effect.zipRight(
          Effect.sync(() => locks.push("demand")),
          demands.findByIdForUpdate(id)
        )
    }),
    Context.add(Persistence.ConsultationRepository, {
      ...threads,
      findThreadForUpdate: (id) =>
        Effect.zipRight(
          Effect.sync(() => locks.push("thread")),
          threads.findThreadForUpdate(id)
        )
    })
  )
}

/** `account`'s member responds to the demand with a proposal (R20). */
const respondTo = (account: Ids.AccountId, demandId: Ids.DemandId) =>
  Effect.flatMap(Responding.Responding, (r) => r.respond(account, { demandId, proposal: proposal() }))

describe("Consulting", () => {
  it.effect(
    "R22: reply locks the demand before the thread, as ask and askResponder do (no deadlock between them)",
    () => {
      const locks: Array<string> = []
      return withPorts(recordingLocks(locks), (world) =>
        Effect.gen(function* () {
          const consulting = yield* Consulting.Consulting
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const opened = yield* consulting.ask(world.institute.account, { demandId: demand.id, text: "请问" })
          locks.length = 0
          yield* consulting.reply(world.enterprise.account, { threadId: opened.thread.id, text: "答复" })
          assert.deepStrictEqual(locks, ["demand", "thread"], "reply")
          locks.length = 0
          yield* consulting.reply(world.institute.account, { threadId: opened.thread.id, text: "追问" })
          assert.deepStrictEqual(locks, ["demand", "thread"], "the responder's reply")
          locks.length = 0
          yield* consulting.ask(world.institute.account, { demandId: demand.id, text: "再问" })
          assert.deepStrictEqual(locks, ["demand"], "ask locks only the demand, then writes the thread")
          const response = yield* respondTo(world.expert.account, demand.id)
          locks.length = 0
          yield* consulting.askResponder(world.enterprise.account, {
            responseId: response.id,
            text: "请补充"
          })
          assert.deepStrictEqual(locks, ["demand"], "askResponder, as ask, locks only the demand")
        })
      )
    }
  )

  it.effect("R22: both sides write in one thread; messages are numbered 1..n in order", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const consulting = yield* Consulting.Consulting
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const opened = yield* consulting.ask(world.institute.account, {
          demandId: demand.id,
          text: "请问导热系数的测试标准是什么？"
        })
        assert.strictEqual(opened.message.seq, 1)
        assert.strictEqual(opened.message.side, "responder")
        assert.strictEqual(opened.thread.responderId, world.institute.member.id)
        assert.strictEqual(opened.thread.demandId, demand.id)
        const threadId = opened.thread.id

        const answer = yield* consulting.reply(world.enterprise.account, {
          threadId,
          text: "按 ASTM D5470 测试。"
        })
        assert.strictEqual(answer.message.side, "demand")
        const again = yield* consulting.ask(world.institute.account, {
          demandId: demand.id,
          text: "样品尺寸有要求吗？"
        })
        assert.strictEqual(again.thread.id, threadId)
        const colleague = yield* secondAccount(world, world.institute)
        yield* consulting.reply(colleague, { threadId, text: "我们可提供 100mm×100mm 样品。" })
        yield* consulting.reply(world.enterprise.account, { threadId, text: "可以。" })

        const all = yield* consulting.messages(world.enterprise.account, { threadId })
        assert.deepStrictEqual(
          all.map((m) => [m.seq, m.side, m.text]),
          [
            [1, "responder", "请问导热系数的测试标准是什么？"],
            [2, "demand", "按 ASTM D5470 测试。"],
            [3, "responder", "样品尺寸有要求吗？"],
            [4, "responder", "我们可提供 100mm×100mm 样品。"],
            [5, "demand", "可以。"]
          ]
        )
        const tail = yield* consulting.messages(world.institute.account, { threadId, afterSeq: 3 })
        assert.deepStrictEqual(
          tail.map((m) => m.seq),
          [4, 5]
        )
        yield* expectError(
          consulting.messages(world.institute.account, { threadId, afterSeq: 2_147_483_648 }),
          "InvalidInput",
          "R22",
          "afterSeq"
        )
        const head = yield* consulting.messages(world.institute.account, { threadId, limit: 2 })
        assert.deepStrictEqual(
          head.map((m) => m.seq),
          [1, 2]
        )
        // The demand's side is notified when the responder writes after it (1, 3), not of 4.
        const phone = yield* phoneOf(world.enterprise.account)
        const sent = (yield* notices("consultation_message")).filter((m) => m.recipientPhone === phone)
        assert.lengthOf(sent, 2)
      })
    )
  )

  it.effect(
    "R64: a responder's messages in a row notify the demand's side once, and again after it answers",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const consulting = yield* Consulting.Consulting
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const first = yield* consulting.ask(world.institute.account, {
            demandId: demand.id,
            text: "第一条"
          })
          const threadId = first.thread.id
          yield* consulting.ask(world.institute.account, { demandId: demand.id, text: "第二条" })
          yield* consulting.reply(world.institute.account, { threadId, text: "第三条" })
          const phone = yield* phoneOf(world.enterprise.account)
          const sentTo = Effect.map(notices("consultation_message"), (all) =>
            all.filter((m) => m.recipientPhone === phone).map((m) => m.dedupeKey)
          )
          assert.deepStrictEqual(yield* sentTo, [`consultation_message:${first.message.id}:${phone}`])

          yield* consulting.reply(world.enterprise.account, { threadId, text: "请讲。" })
          const after = yield* consulting.reply(world.institute.account, { threadId, text: "第四条" })
          yield* consulting.reply(world.institute.account, { threadId, text: "第五条" })
          assert.deepStrictEqual(yield* sentTo, [
            `consultation_message:${first.message.id}:${phone}`,
            `consultation_message:${after.message.id}:${phone}`
          ])

          // The demand's side opening a thread with a responder: the responder's first answer is notified.
          const response = yield* respondTo(world.expert.account, demand.id)
          const asked = yield* consulting.askResponder(world.enterprise.account, {
            responseId: response.id,
            text: "方案的周期多长？"
          })
          const answer = yield* consulting.reply(world.expert.account, {
            threadId: asked.thread.id,
            text: "三个月。"
          })
          assert.include(yield* sentTo, `consultation_message:${answer.message.id}:${phone}`)
          assert.lengthOf(yield* sentTo, 3)
        })
      )
  )

  it.effect(
    "R64: a restarted demand's new round starts a new run: the responder's first message in it is notified though its last one of the round before went unanswered",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const consulting = yield* Consulting.Consulting
          const outcome = yield* Outcome.Outcome
          const review = yield* Review.Review
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const phone = yield* phoneOf(world.enterprise.account)
          const sent = Effect.map(notices("consultation_message"), (all) =>
            all.filter((m) => m.recipientPhone === phone).map((m) => m.dedupeKey)
          )
          const first = yield* consulting.ask(world.institute.account, {
            demandId: demand.id,
            text: "第一轮的问题"
          })
          yield* at(justAfter(yield* deadlineEnd(demand)))
          yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
          yield* outcome.restart(world.enterprise.account, {
            demandId: demand.id,
            form: yield* Fixtures.form({}, 60)
          })
          const restarted = yield* review.approve(world.operator, { demandId: demand.id })
          assert.strictEqual(restarted.round, 2)
          const second = yield* consulting.reply(world.institute.account, {
            threadId: first.thread.id,
            text: "第二轮的问题"
          })
          yield* consulting.ask(world.institute.account, { demandId: demand.id, text: "第二轮的追问" })
          assert.deepStrictEqual(yield* sent, [
            `consultation_message:${first.message.id}:${phone}`,
            `consultation_message:${second.message.id}:${phone}`
          ])
        })
      )
  )

  it.effect("R22: an operator, who reads every thread, does not write in one as the demand's side", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const consulting = yield* Consulting.Consulting
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const opened = yield* consulting.ask(world.institute.account, {
          demandId: demand.id,
          text: "请问测试标准？"
        })
        yield* expectError(
          consulting.reply(world.operator, { threadId: opened.thread.id, text: "运营代答" }),
          "Denied",
          "R22"
        )
      })
    )
  )

  it.effect("R22: messages are append-only: earlier ones never change", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const consulting = yield* Consulting.Consulting
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const { thread } = yield* consulting.ask(world.expert.account, {
          demandId: demand.id,
          text: "第一条"
        })
        yield* consulting.reply(world.enterprise.account, { threadId: thread.id, text: "第二条" })
        const before = yield* consulting.messages(world.expert.account, { threadId: thread.id })
        for (let i = 0; i < 5; i++) {
          yield* consulting.ask(world.expert.account, { demandId: demand.id, text: `追加${i}` })
        }
        const after = yield* consulting.messages(world.expert.account, { threadId: thread.id })
        assert.lengthOf(after, 7)
        assert.deepStrictEqual(after.slice(0, 2), before)
        assert.deepStrictEqual(
          after.map((m) => m.seq),
          [1, 2, 3, 4, 5, 6, 7]
        )
      })
    )
  )

  it.effect("R22: consultation is open while the demand is published", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const consulting = yield* Consulting.Consulting
        const publishing = yield* Publishing.Publishing
        const outcome = yield* Outcome.Outcome

        const draft = yield* publishing.draft(world.enterprise.account, yield* Fixtures.form())
        yield* expectError(
          consulting.ask(world.institute.account, { demandId: draft.id, text: "在吗？" }),
          "NotFound",
          "R5"
        )

        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const { thread } = yield* consulting.ask(world.institute.account, {
          demandId: demand.id,
          text: "你好"
        })
        // After the response deadline the demand is still published.
        yield* at(justAfter(yield* deadlineEnd(demand)))
        yield* consulting.ask(world.institute.account, { demandId: demand.id, text: "截止后还能沟通吗？" })
        yield* consulting.reply(world.enterprise.account, { threadId: thread.id, text: "可以。" })

        yield* outcome.solved(world.enterprise.account, { demandId: demand.id })
        yield* expectError(
          consulting.ask(world.institute.account, { demandId: demand.id, text: "还在吗？" }),
          "InvalidState",
          "R22"
        )
        yield* expectError(
          consulting.reply(world.enterprise.account, { threadId: thread.id, text: "已解决。" }),
          "InvalidState",
          "R22"
        )
        // The thread stays readable.
        const messages = yield* consulting.messages(world.institute.account, { threadId: thread.id })
        assert.lengthOf(messages, 3)
      })
    )
  )

  it.effect("R14: a demand whose service mode takes no responses takes no consultation either", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const consulting = yield* Consulting.Consulting
        const noResponses = yield* Fixtures.publish(world, world.institution.account, {
          serviceMode: "institution_service",
          ...Fixtures.onBehalf(world)
        })
        yield* expectError(
          consulting.ask(world.institute.account, { demandId: noResponses.id, text: "可以合作吗？" }),
          "InvalidState",
          "R14"
        )
        const threads = yield* consulting.threads(world.institution.account, { demandId: noResponses.id })
        assert.lengthOf(threads.items, 0)
        assert.lengthOf(yield* notices("consultation_message"), 0)
        // A cooperative demand of the same publisher takes it.
        const cooperative = yield* Fixtures.publish(
          world,
          world.institution.account,
          Fixtures.onBehalf(world)
        )
        yield* consulting.ask(world.institute.account, { demandId: cooperative.id, text: "可以合作吗？" })
      })
    )
  )

  it.effect(
    "R14, R22: in a mode switched off since its round took responses, the demand's side and its responders still consult while it is published (consult offered to them); a member that did not respond is refused and offered none",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const response = yield* (yield* Responding.Responding).respond(world.institute.account, {
            demandId: demand.id,
            proposal: proposal()
          })
          yield* underSettings({
            serviceModes: Settings.defaults.serviceModes.map((m) => ({ ...m, acceptsResponses: false }))
          })(
            Effect.gen(function* () {
              const consulting = yield* Consulting.Consulting
              const publishing = yield* Publishing.Publishing
              const viewOf = (account: Ids.AccountId) => publishing.get(account, { demandId: demand.id })
              const managed = yield* viewOf(world.enterprise.account)
              assert.strictEqual(managed.phase, "selecting")
              assert.include(managed.actions, "adopt")
              assert.include((yield* viewOf(world.institute.account)).actions, "consult")
              assert.notInclude((yield* viewOf(world.expert.account)).actions, "consult")
              const asked = yield* consulting.askResponder(world.enterprise.account, {
                responseId: response.id,
                text: "请介绍中试计划"
              })
              yield* consulting.ask(world.institute.account, { demandId: demand.id, text: "计划如下" })
              yield* consulting.reply(world.enterprise.account, { threadId: asked.thread.id, text: "收到" })
              yield* expectError(
                consulting.ask(world.expert.account, { demandId: demand.id, text: "可以合作吗？" }),
                "InvalidState",
                "R14"
              )
              const threads = yield* consulting.threads(world.enterprise.account, { demandId: demand.id })
              assert.deepStrictEqual(
                threads.items.map((t) => [t.responderId, t.messageCount]),
                [[world.institute.member.id, 3]]
              )
            })
          )
        })
      )
  )

  it.effect("R22: a member does not consult on its own demand (R3)", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const consulting = yield* Consulting.Consulting
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        yield* expectError(
          consulting.ask(world.enterprise.account, { demandId: demand.id, text: "自问自答" }),
          "Denied",
          "R3"
        )
        yield* expectError(
          consulting.ask(world.operator, { demandId: demand.id, text: "运营提问" }),
          "Denied",
          "R22"
        )
      })
    )
  )

  it.effect("R22: other members can neither read nor write a thread (R4)", () =>
    withWorld((world) =>
      Effect.gen(function* () {
        const consulting = yield* Consulting.Consulting
        const demand = yield* Fixtures.publish(world, world.enterprise.account)
        const { thread } = yield* consulting.ask(world.institute.account, {
          demandId: demand.id,
          text: "我们的报价可以面谈。"
        })
        yield* consulting.ask(world.expert.account, { demandId: demand.id, text: "专家的问题" })

        yield* expectError(
          consulting.messages(world.expert.account, { threadId: thread.id }),
          "NotFound",
          "R4"
        )
        yield* expectError(consulting.messages(null, { threadId: thread.id }), "Denied", "R5")
        yield* expectError(
          consulting.reply(world.expert.account, { threadId: thread.id, text: "插话" }),
          "NotFound",
          "R4"
        )
        yield* expectError(
          consulting.messages(world.enterprise2.account, { threadId: thread.id }),
          "NotFound",
          "R4"
        )
        // The two sides and operators read it.
        assert.lengthOf(yield* consulting.messages(world.institute.account, { threadId: thread.id }), 1)
        assert.lengthOf(yield* consulting.messages(world.enterprise.account, { threadId: thread.id }), 1)
        assert.lengthOf(yield* consulting.messages(world.operator, { threadId: thread.id }), 1)

        // Thread lists: all for the demand's side, one's own for a responder, none for others.
        const forDemand = yield* consulting.threads(world.enterprise.account, { demandId: demand.id })
        assert.lengthOf(forDemand.items, 2)
        const forExpert = yield* consulting.threads(world.expert.account, { demandId: demand.id })
        assert.deepStrictEqual(
          forExpert.items.map((t) => t.responderId),
          [world.expert.member.id]
        )
        const forOther = yield* consulting.threads(world.enterprise2.account, { demandId: demand.id })
        assert.lengthOf(forOther.items, 0)
      })
    )
  )

  it.effect(
    "R22: the demand's side writes to a member that responded, opening their thread; the responder's own consultation joins it",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const consulting = yield* Consulting.Consulting
          const lists = yield* Lists.Lists
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const response = yield* respondTo(world.institute.account, demand.id)
          const threadOf = Effect.map(
            lists.responsesToMe(world.enterprise.account, {}),
            (page) => page.items.find((r) => r.id === response.id)!.threadId
          )
          assert.isNull(yield* threadOf, "the responder has not consulted")

          const opened = yield* consulting.askResponder(world.enterprise.account, {
            responseId: response.id,
            text: "请补充中试数据。"
          })
          assert.deepStrictEqual(
            [opened.message.seq, opened.message.side, opened.thread.responderId, opened.thread.demandId],
            [1, "demand", world.institute.member.id, demand.id]
          )
          assert.strictEqual(yield* threadOf, opened.thread.id, "§9: the row carries the thread")
          const mine = yield* lists.myResponses(world.institute.account, {})
          assert.deepStrictEqual(
            mine.items.map((r) => [r.id, r.threadId]),
            [[response.id, opened.thread.id]],
            "the responder finds it on its response"
          )
          const answer = yield* consulting.ask(world.institute.account, {
            demandId: demand.id,
            text: "数据见附件。"
          })
          assert.strictEqual(answer.thread.id, opened.thread.id)
          const colleague = yield* secondAccount(world, world.enterprise)
          const again = yield* consulting.askResponder(colleague, { responseId: response.id, text: "收到。" })
          assert.strictEqual(again.thread.id, opened.thread.id)
          assert.deepStrictEqual(
            (yield* consulting.messages(world.institute.account, { threadId: opened.thread.id })).map((m) => [
              m.seq,
              m.side,
              m.text
            ]),
            [
              [1, "demand", "请补充中试数据。"],
              [2, "responder", "数据见附件。"],
              [3, "demand", "收到。"]
            ]
          )
          assert.lengthOf(
            (yield* consulting.threads(world.enterprise.account, { demandId: demand.id })).items,
            1
          )
          // R64: consultation messages notify the demand's side only.
          const toResponder = yield* phoneOf(world.institute.account)
          const sent = yield* notices("consultation_message")
          assert.deepStrictEqual(
            sent.map((m) => m.recipientPhone === toResponder),
            [false]
          )
        })
      )
  )

  it.effect(
    "R22: only the demand's managing side writes to a responder: who may not see the response finds nothing (R4), operators and the responder are refused (R2)",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const consulting = yield* Consulting.Consulting
          yield* activeCommission(world)
          const demand = yield* Fixtures.publish(
            world,
            world.institution.account,
            Fixtures.onBehalf(world, world.enterprise.member.id)
          )
          const response = yield* respondTo(world.institute.account, demand.id)
          const write = (account: typeof world.operator) =>
            consulting.askResponder(account, { responseId: response.id, text: "您好" })
          yield* expectError(write(world.expert.account), "NotFound", "R4")
          yield* expectError(write(world.enterprise.account), "NotFound", "R4")
          yield* expectError(write(world.operator), "Denied", "R2")
          yield* expectError(write(world.institute.account), "Denied", "R2")
          assert.lengthOf((yield* consulting.threads(world.operator, { demandId: demand.id })).items, 0)
          const opened = yield* write(world.institution.account)
          assert.strictEqual(opened.message.side, "demand")
        })
      )
  )

  it.effect(
    "R22: the demand's side writes to a responder only while the demand is published (not solved, not restarted and under review), and a refusal opens no thread",
    () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const consulting = yield* Consulting.Consulting
          const outcome = yield* Outcome.Outcome
          const respond = (demandId: Ids.DemandId) => respondTo(world.institute.account, demandId)
          const threadCount = (demandId: Ids.DemandId) =>
            Effect.map(
              consulting.threads(world.enterprise.account, { demandId }),
              (page) => page.items.length
            )
          const write = (responseId: Ids.ResponseId) =>
            consulting.askResponder(world.enterprise.account, { responseId, text: "还在吗？" })

          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const restartedResponse = yield* respond(demand.id)
          const other = yield* Fixtures.publish(world, world.enterprise.account)
          const solvedResponse = yield* respond(other.id)

          yield* outcome.solved(world.enterprise.account, { demandId: other.id })
          yield* expectError(write(solvedResponse.id), "InvalidState", "R22")
          assert.strictEqual(yield* threadCount(other.id), 0)

          yield* at(justAfter(yield* deadlineEnd(demand)))
          yield* outcome.unsolved(world.enterprise.account, { demandId: demand.id })
          yield* outcome.restart(world.enterprise.account, {
            demandId: demand.id,
            form: yield* Fixtures.form()
          })
          yield* expectError(write(restartedResponse.id), "InvalidState", "R22")
          assert.strictEqual(yield* threadCount(demand.id), 0)
        })
      )
  )
})
