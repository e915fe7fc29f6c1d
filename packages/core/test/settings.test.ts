import { assert, describe, it } from "@effect/vitest"
import {
  Dispatcher,
  Lists,
  Persistence,
  Publishing,
  Responding,
  Selection,
  Settings,
  Zhongbao
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import { Effect, Layer } from "effect"
import { commission, draft, proposal } from "./demandHelpers.js"
import { at, expectError, withWorld, failureOf } from "./helpers.js"

const defaultFields = [
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
]

const events = [
  "response_adopted",
  "response_not_adopted",
  "demand_approved",
  "demand_rejected",
  "response_received",
  "consultation_message",
  "commission_requested",
  "commission_accepted",
  "commission_declined",
  "reward_approved",
  "reward_rejected"
]

describe("settings", () => {
  describe("§10: defaults", () => {
    it.effect(
      "§10: the defaults are prefix ZB, width 4, Asia/Shanghai, window 14 days, single adoption off",
      () =>
        Effect.gen(function* () {
          const s = yield* Settings.make()
          assert.strictEqual(s.numberingPrefix, "ZB")
          assert.strictEqual(s.sequenceWidth, 4)
          assert.strictEqual(s.timeZone, "Asia/Shanghai")
          assert.strictEqual(s.selectionWindowDays, 14)
          assert.strictEqual(s.minDeadlineDays, 1)
          assert.strictEqual(s.maxDeadlineDays, 365)
          assert.isFalse(s.singleAdoption)
          assert.strictEqual(s.fileSizeLimitBytes, 20 * 1024 * 1024)
        })
    )

    it.effect(
      "§10: the default service modes are cooperative (responses) and institution_service (none)",
      () =>
        Effect.gen(function* () {
          const s = yield* Settings.make()
          assert.deepStrictEqual(
            s.serviceModes.map((m) => [m.id, m.acceptsResponses]),
            [
              ["cooperative", true],
              ["institution_service", false]
            ]
          )
          assert.strictEqual(Settings.serviceMode(s, "cooperative")?.name, "合作服务")
          assert.isUndefined(Settings.serviceMode(s, "auction"))
        })
    )

    it.effect(
      "§10: the default taxonomy is the twelve fields of R10, and every notifying event has a template",
      () =>
        Effect.gen(function* () {
          const s = yield* Settings.make()
          assert.deepStrictEqual([...s.technicalFields], defaultFields)
          assert.sameMembers(Object.keys(s.smsTemplates), events)
          assert.sameMembers([...Settings.NotificationEvent.literals], events)
          for (const event of events) {
            assert.isNotEmpty(s.smsTemplates[event as Settings.NotificationEvent].templateId)
          }
        })
    )

    it.effect("§10: the services run with the defaults when nothing is overridden", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const s = yield* Settings.Settings
          const { zone: _zone, ...chosen } = s
          assert.deepStrictEqual(chosen, Settings.defaults)
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          assert.strictEqual(demand.number, "ZB20260001")
        })
      )
    )
  })

  describe("§10: overrides", () => {
    it.effect("§10: an override replaces only what it names", () =>
      Effect.gen(function* () {
        const s = yield* Settings.make({ numberingPrefix: "TJ", selectionWindowDays: 7 })
        assert.strictEqual(s.numberingPrefix, "TJ")
        assert.strictEqual(s.selectionWindowDays, 7)
        assert.strictEqual(s.sequenceWidth, 4)
        assert.strictEqual(s.timeZone, "Asia/Shanghai")
        assert.deepStrictEqual(s.serviceModes, Settings.defaults.serviceModes)
      })
    )

    for (const [name, overrides, field] of [
      ["a lower-case prefix", { numberingPrefix: "zb" }, "numberingPrefix"],
      ["a width of 0", { sequenceWidth: 0 }, "sequenceWidth"],
      ["a fractional width", { sequenceWidth: 2.5 }, "sequenceWidth"],
      ["an unknown time zone", { timeZone: "Mars/Olympus_Mons" }, "timeZone"],
      ["the abbreviation CST (Chicago to Intl, UTC-6 to PostgreSQL)", { timeZone: "CST" }, "timeZone"],
      ["the abbreviation IST (Kolkata to Intl, UTC+2 to PostgreSQL)", { timeZone: "IST" }, "timeZone"],
      ["the legacy name PRC", { timeZone: "PRC" }, "timeZone"],
      ["an offset written UTC+8", { timeZone: "UTC+8" }, "timeZone"],
      ["a negative selection window", { selectionWindowDays: -1 }, "selectionWindowDays"],
      ["no service modes", { serviceModes: [] }, "serviceModes"],
      ["an empty taxonomy", { technicalFields: [] }, "technicalFields"],
      [
        "R14: a service mode named twice (one taking responses, one not)",
        {
          serviceModes: [
            { id: "cooperative", name: "合作服务", acceptsResponses: false },
            { id: "cooperative", name: "合作服务（旧）", acceptsResponses: true }
          ]
        },
        "serviceModes.1.id"
      ],
      [
        "a technical field named twice",
        { technicalFields: ["电子信息", "新材料", "电子信息"] },
        "technicalFields.2"
      ],
      ["a zero file size limit", { fileSizeLimitBytes: 0 }, "fileSizeLimitBytes"],
      [
        "R54: a file size limit over 512 MiB (a file is stored as one value, and PostgreSQL's stop short of 1 GiB)",
        { fileSizeLimitBytes: Settings.maxFileSizeLimitBytes + 1 },
        "fileSizeLimitBytes"
      ],
      [
        "R64: a lease shorter than three send timeouts (no send could start in time)",
        { outbox: { ...Settings.defaults.outbox, leaseMillis: 2_001, sendTimeoutMillis: 1_000 } },
        "outbox.leaseMillis"
      ],
      [
        "R64: a backoff cap below its base",
        { outbox: { ...Settings.defaults.outbox, backoffBaseMillis: 5_000, backoffMaxMillis: 4_999 } },
        "outbox.backoffMaxMillis"
      ],
      [
        "R12, R64: a demand number longer than an SMS value (8 + 4 + 9 > 20 characters)",
        { numberingPrefix: "TJKJCGZB", sequenceWidth: 9 },
        "sequenceWidth"
      ],
      [
        "R12, R64: a demand number longer than a shorter SMS value (2 + 4 + 4 > 9)",
        { smsParamMaxLength: 9 },
        "sequenceWidth"
      ],
      [
        "R10: a technical field with spaces around it (a demand's trimmed field never equals it)",
        { technicalFields: [...defaultFields, " 海洋 "] },
        "technicalFields.12"
      ],
      ["R10: a technical field with U+0000", { technicalFields: ["电子\u0000信息"] }, "technicalFields.0"],
      [
        "R10: a technical field of zero-width characters only (no form could name it)",
        { technicalFields: [...defaultFields, "\u200b\u200b"] },
        "technicalFields.12"
      ],
      [
        "R10: a technical field with an unpaired surrogate",
        { technicalFields: ["海\ud800洋"] },
        "technicalFields.0"
      ],
      [
        "R10: a technical field of 41 characters",
        { technicalFields: ["海".repeat(41)] },
        "technicalFields.0"
      ],
      [
        "R14: a service mode's name with a line break",
        { serviceModes: [{ id: "cooperative", name: "合作\n服务", acceptsResponses: true }] },
        "serviceModes.0.name"
      ],
      [
        "R13: a longest deadline shorter than the shortest (no deadline could be chosen)",
        { minDeadlineDays: 7, maxDeadlineDays: 6 },
        "maxDeadlineDays"
      ],
      ["R13: a longest deadline of 0 days", { maxDeadlineDays: 0 }, "maxDeadlineDays"],
      [
        "R13: a shortest deadline of 0 days (the rule decides one day after approval at least)",
        { minDeadlineDays: 0 },
        "minDeadlineDays"
      ],
      [
        "R64: an SMS template id with a control character",
        {
          smsTemplates: {
            ...Settings.defaults.smsTemplates,
            demand_approved: { templateId: "SMS_1\u0007", params: ["number"] }
          }
        },
        "smsTemplates.demand_approved.templateId"
      ],
      [
        "R64: an SMS template naming a value its event does not give (it would be sent empty)",
        {
          smsTemplates: {
            ...Settings.defaults.smsTemplates,
            demand_rejected: { templateId: "ZB_DEMAND_REJECTED", params: ["title", "number"] }
          }
        },
        "smsTemplates.demand_rejected.params.1"
      ],
      [
        "§10: a key that is no setting (a misspelt numberingPrefix; its default would apply unseen)",
        { numberingPrefx: "TJ" } as Partial<Settings.PlatformSettings>,
        "numberingPrefx"
      ],
      [
        "§10: a key that is no outbox setting",
        { outbox: { ...Settings.defaults.outbox, sendConcurency: 3 } } as Partial<Settings.PlatformSettings>,
        "outbox.sendConcurency"
      ]
    ] as const) {
      it.effect(`§10: ${name} is refused naming "${field}"`, () =>
        Effect.gen(function* () {
          const error = yield* failureOf(Settings.make(overrides))
          assert.strictEqual(error._tag, "InvalidInput")
          assert.strictEqual(error.rule, "§10")
          assert.strictEqual(error.field, field)
          // the service layer refuses to build with it as well
          const built = yield* failureOf(Layer.build(Zhongbao.layerMemory(overrides)).pipe(Effect.scoped))
          assert.strictEqual(built._tag, "InvalidInput")
        })
      )
    }

    it.effect(
      "R10: a technical field of 40 characters outside the BMP is accepted, as a demand's field holds it",
      () =>
        Effect.gen(function* () {
          const field = "𠀀".repeat(40)
          const s = yield* Settings.make({ technicalFields: [field] })
          assert.deepStrictEqual(s.technicalFields, [field])
        })
    )

    it.effect("R64: a template may name its event's values in any order, or some of them", () =>
      Effect.gen(function* () {
        const s = yield* Settings.make({
          smsTemplates: {
            ...Settings.defaults.smsTemplates,
            response_not_adopted: { templateId: "SMS_2", params: ["reason", "number"] },
            reward_approved: { templateId: "SMS_3", params: [] }
          }
        })
        assert.deepStrictEqual(s.smsTemplates.response_not_adopted.params, ["reason", "number"])
      })
    )

    it("R64: the default templates name only values their events give", () => {
      for (const [event, template] of Object.entries(Settings.defaults.smsTemplates)) {
        const given: ReadonlyArray<string> = Settings.eventValues[event as Settings.NotificationEvent]
        for (const name of template.params) assert.include(given, name, `${event}: ${name}`)
      }
    })

    it.effect("R64: a lease of exactly three send timeouts is accepted", () =>
      Effect.gen(function* () {
        const s = yield* Settings.make({
          outbox: { ...Settings.defaults.outbox, leaseMillis: 3_000, sendTimeoutMillis: 1_000 }
        })
        assert.strictEqual(s.outbox.leaseMillis, 3 * s.outbox.sendTimeoutMillis)
      })
    )

    it.effect("R54: a file size limit of 512 MiB is accepted", () =>
      Effect.gen(function* () {
        const s = yield* Settings.make({ fileSizeLimitBytes: 512 * 1024 * 1024 })
        assert.strictEqual(s.fileSizeLimitBytes, Settings.maxFileSizeLimitBytes)
      })
    )

    it.effect("R64: a backoff cap equal to its base is accepted", () =>
      Effect.gen(function* () {
        const s = yield* Settings.make({
          outbox: { ...Settings.defaults.outbox, backoffBaseMillis: 5_000, backoffMaxMillis: 5_000 }
        })
        assert.strictEqual(s.outbox.backoffMaxMillis, s.outbox.backoffBaseMillis)
      })
    )

    it("R64: by default a message is retried through more than half an hour of a provider's outage before it is dead-lettered", () => {
      const { maxAttempts, backoffBaseMillis, backoffMaxMillis } = Settings.defaults.outbox
      const waited = (random: number) =>
        Array.from({ length: maxAttempts - 1 }, (_, i) =>
          Dispatcher.backoffMillis(i + 1, backoffBaseMillis, backoffMaxMillis, random)
        ).reduce((a, b) => a + b, 0)
      assert.isAbove(waited(0), 30 * 60_000, "the shortest wait, every jitter at its least")
      assert.isBelow(waited(1), 2 * 3600_000, "the longest wait stays under two hours")
    })

    it.effect("R12, R64: a demand number that fits an SMS value exactly is accepted (8 + 4 + 8 = 20)", () =>
      Effect.gen(function* () {
        const s = yield* Settings.make({ numberingPrefix: "TJKJCGZB", sequenceWidth: 8 })
        assert.strictEqual(s.numberingPrefix.length + 4 + s.sequenceWidth, s.smsParamMaxLength)
      })
    )

    it.effect("§10: IANA zone names and UTC are accepted", () =>
      Effect.gen(function* () {
        for (const timeZone of [
          "Asia/Shanghai",
          "UTC",
          "Etc/GMT-8",
          "America/Argentina/Buenos_Aires",
          "US/Pacific",
          "Asia/Kolkata"
        ])
          assert.strictEqual((yield* Settings.make({ timeZone })).timeZone, timeZone)
      })
    )

    it.effect("§10: the selection window is a setting (7 days: adopt until deadline + 7, R23)", () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const responding = yield* Responding.Responding
            const selection = yield* Selection.Selection
            const demand = yield* Fixtures.publish(world, world.enterprise.account, {
              responseDeadline: "2026-05-20"
            })
            const first = yield* responding.respond(world.institute.account, {
              demandId: demand.id,
              proposal
            })
            const second = yield* responding.respond(world.expert.account, { demandId: demand.id, proposal })
            yield* at("2026-05-27T15:59:59.999Z")
            yield* selection.adopt(world.enterprise.account, { responseId: first.id })
            yield* at("2026-05-27T16:00:00.000Z")
            yield* expectError(
              selection.adopt(world.enterprise.account, { responseId: second.id }),
              "InvalidState",
              "R23"
            )
          }),
        { selectionWindowDays: 7 }
      )
    )

    it.effect("§10: single adoption on refuses a second adoption in the round (R24)", () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const responding = yield* Responding.Responding
            const selection = yield* Selection.Selection
            const publishing = yield* Publishing.Publishing
            const demand = yield* Fixtures.publish(world, world.enterprise.account)
            const first = yield* responding.respond(world.institute.account, {
              demandId: demand.id,
              proposal
            })
            const second = yield* responding.respond(world.expert.account, { demandId: demand.id, proposal })
            yield* selection.adopt(world.enterprise.account, { responseId: first.id })
            yield* expectError(
              selection.adopt(world.enterprise.account, { responseId: second.id }),
              "InvalidState",
              "R24"
            )
            const read = yield* publishing.get(world.enterprise.account, { demandId: demand.id })
            assert.strictEqual(read.demand.adoptedCount, 1)
          }),
        { singleAdoption: true }
      )
    )

    it.effect("§10: with single adoption off, a second response may be adopted (R24)", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const selection = yield* Selection.Selection
          const demand = yield* Fixtures.publish(world, world.enterprise.account)
          const first = yield* responding.respond(world.institute.account, { demandId: demand.id, proposal })
          const second = yield* responding.respond(world.expert.account, { demandId: demand.id, proposal })
          yield* selection.adopt(world.enterprise.account, { responseId: first.id })
          const adopted = yield* selection.adopt(world.enterprise.account, { responseId: second.id })
          assert.strictEqual(adopted.status, "adopted")
        })
      )
    )

    it.effect("§10: the technical taxonomy is a setting (R10)", () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const d = yield* draft(world.enterprise.account, { field: "航空航天" })
            assert.strictEqual(d.form.field, "航空航天")
            yield* expectError(
              draft(world.enterprise.account, { field: "新材料及应用" }),
              "InvalidInput",
              "R10",
              "field"
            )
          }),
        { technicalFields: ["航空航天", "智能制造"] }
      )
    )

    it.effect("§10: the time zone is a setting: a deadline ends at 23:59:59.999 local time (R13)", () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const responding = yield* Responding.Responding
            const demand = yield* Fixtures.publish(world, world.enterprise.account, {
              responseDeadline: "2026-05-20"
            })
            // 2026-05-20 23:59:59.999 in Berlin (CEST, UTC+2)
            yield* at("2026-05-20T21:59:59.999Z")
            yield* responding.respond(world.institute.account, { demandId: demand.id, proposal })
            yield* at("2026-05-20T22:00:00.000Z")
            yield* expectError(
              responding.respond(world.expert.account, { demandId: demand.id, proposal }),
              "InvalidState",
              "R20"
            )
          }),
        { timeZone: "Europe/Berlin" }
      )
    )

    it.effect("§10: SMS templates are settings: the approval notice uses the configured template (R64)", () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const outbox = yield* Persistence.Outbox
            const demand = yield* Fixtures.publish(world, world.enterprise.account)
            const sent = (yield* outbox.list({ limit: 100 })).filter((m) => m.event === "demand_approved")
            assert.strictEqual(sent.length, 1)
            assert.strictEqual(sent[0]?.templateId, "TJ_APPROVED_V2")
            assert.deepStrictEqual(sent[0]?.params, { number: demand.number ?? "" })
          }),
        {
          smsTemplates: {
            ...Settings.defaults.smsTemplates,
            demand_approved: { templateId: "TJ_APPROVED_V2", params: ["number"] }
          }
        }
      )
    )
  })

  describe("R14: service modes", () => {
    it.effect("R14: an institution_service demand accepts no responses; its phase is no_responses", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const responding = yield* Responding.Responding
          const publishing = yield* Publishing.Publishing
          const demand = yield* Fixtures.publish(world, world.institution.account, {
            ...Fixtures.onBehalf(world),
            serviceMode: "institution_service"
          })
          assert.strictEqual(demand.state, "published")
          for (const responder of [world.institute, world.expert, world.enterprise]) {
            yield* expectError(
              responding.respond(responder.account, { demandId: demand.id, proposal }),
              "InvalidState",
              "R14"
            )
          }
          const view = yield* publishing.get(world.institute.account, { demandId: demand.id })
          assert.strictEqual(view.phase, "no_responses")
          assert.notInclude([...view.actions], "respond")
          assert.notInclude([...view.actions], "consult", "no consultation either (R14)")
          assert.isNull(view.selectionEndsAt)
          assert.strictEqual(view.demand.responseCount, 0)
        })
      )
    )

    it.effect(
      "R14: institution_service is chosen by transfer institutions only; an enterprise is refused naming serviceMode, and nothing changes",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const publishing = yield* Publishing.Publishing
            const lists = yield* Lists.Lists
            const me = world.enterprise.account
            const refused = yield* expectError(
              publishing.draft(me, yield* Fixtures.form({ serviceMode: "institution_service" })),
              "InvalidInput",
              "R14",
              "serviceMode"
            )
            assert.strictEqual((refused as { code?: string }).code, "demand.service_mode_not_allowed")
            assert.lengthOf((yield* lists.myDemands(me, {})).items, 0)
            const drafted = yield* draft(me)
            yield* expectError(
              publishing.edit(me, {
                demandId: drafted.id,
                form: yield* Fixtures.form({ serviceMode: "institution_service" })
              }),
              "InvalidInput",
              "R14",
              "form.serviceMode"
            )
            assert.strictEqual(
              (yield* publishing.get(me, { demandId: drafted.id })).demand.form.serviceMode,
              "cooperative"
            )
          })
        )
    )

    it.effect("R14: a platform's mode without publishers is open to every publisher", () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const demand = yield* Fixtures.publish(world, world.enterprise.account, {
              serviceMode: "showcase"
            })
            assert.strictEqual(demand.form.serviceMode, "showcase")
          }),
        {
          serviceModes: [
            { id: "cooperative", name: "合作服务", acceptsResponses: true },
            { id: "showcase", name: "成果展示", acceptsResponses: false }
          ]
        }
      )
    )

    it.effect("R14: a commissioned institution_service demand accepts no responses either", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          yield* commission(world)
          const responding = yield* Responding.Responding
          const demand = yield* Fixtures.publish(world, world.institution.account, {
            ...Fixtures.onBehalf(world, world.enterprise.member.id),
            serviceMode: "institution_service"
          })
          yield* expectError(
            responding.respond(world.institute.account, { demandId: demand.id, proposal }),
            "InvalidState",
            "R14"
          )
        })
      )
    )

    it.effect(
      "R14: the public hall lists an institution_service demand but not among those taking responses",
      () =>
        withWorld((world) =>
          Effect.gen(function* () {
            const lists = yield* Lists.Lists
            const own = yield* Fixtures.publish(world, world.institution.account, {
              ...Fixtures.onBehalf(world),
              serviceMode: "institution_service"
            })
            const open = yield* Fixtures.publish(world, world.enterprise.account)
            const hall = yield* lists.hall(null, {})
            assert.sameMembers(
              hall.items.map((d) => d.id),
              [own.id, open.id]
            )
            assert.strictEqual(hall.items.find((d) => d.id === own.id)?.phase, "no_responses")
            const taking = yield* lists.hall(null, { takingResponses: true })
            assert.deepStrictEqual(
              taking.items.map((d) => d.id),
              [open.id]
            )
          })
        )
    )

    it.effect("R14: service modes are configuration; each declares whether it accepts responses", () =>
      withWorld(
        (world) =>
          Effect.gen(function* () {
            const responding = yield* Responding.Responding
            const open = yield* Fixtures.publish(world, world.enterprise.account, {
              serviceMode: "open_call"
            })
            const response = yield* responding.respond(world.institute.account, {
              demandId: open.id,
              proposal
            })
            assert.strictEqual(response.status, "submitted")
            const closed = yield* Fixtures.publish(world, world.enterprise2.account, {
              serviceMode: "showcase"
            })
            yield* expectError(
              responding.respond(world.institute.account, { demandId: closed.id, proposal }),
              "InvalidState",
              "R14"
            )
            // the default modes are gone
            yield* expectError(
              draft(world.enterprise.account, { serviceMode: "cooperative" }),
              "InvalidInput",
              "R14",
              "serviceMode"
            )
          }),
        {
          serviceModes: [
            { id: "open_call", name: "公开征集", acceptsResponses: true },
            { id: "showcase", name: "展示", acceptsResponses: false }
          ]
        }
      )
    )

    it.effect("R14: an unknown service mode is refused naming the field", () =>
      withWorld((world) =>
        Effect.gen(function* () {
          const error = yield* expectError(
            draft(world.enterprise.account, { serviceMode: "auction" }),
            "InvalidInput",
            "R14",
            "serviceMode"
          )
          assert.include(error.message, "serviceMode")
        })
      )
    )
  })
})
