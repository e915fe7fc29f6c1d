/**
 * Model-based test of the demand lifecycle (§4), responding and selection (§5) and
 * the outcome (§6): fast-check generates sequences of commands — draft + submit,
 * approve, reject, resubmit, respond, withdraw, adopt, end selection, solved,
 * unsolved, restart, the selection sweeper, time passing, and two races
 * (respond ‖ adopt, concurrent approvals) — that run against the real services on one fresh memory runtime
 * (with the test clock) and against a small model. Each command checks its outcome
 * (success, or the error's tag and the rule it names) and then the invariants over
 * the stored data.
 *
 * Every command runs one second after the previous one, so that "after" can be
 * told apart by timestamps; only the two sides of a race share an instant.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Demand,
  type Ids,
  Outcome,
  Persistence,
  Publishing,
  Responding,
  Review,
  Selection,
  Sweeper,
  Zhongbao
} from "@zhongbao/core"
import { Fixtures } from "@zhongbao/testing"
import {
  DateTime,
  Effect,
  Either,
  FastCheck as fc,
  Layer,
  ManagedRuntime,
  TestClock,
  TestContext
} from "effect"
import { at, type Env, start } from "./helpers.js"

// ---------------------------------------------------------------------------
// The model's calendar, independent of core: Asia/Shanghai is UTC+8 all year.

const HOUR = 3_600_000
const DAY = 24 * HOUR
const ZONE_OFFSET = 8 * HOUR
const SELECTION_WINDOW_DAYS = 14

const dateOf = (ms: number) => new Date(ms + ZONE_OFFSET).toISOString().slice(0, 10)
const yearOf = (ms: number) => new Date(ms + ZONE_OFFSET).getUTCFullYear()
const plusDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10)
const endOf = (date: string) => Date.parse(`${date}T23:59:59.999+08:00`)

// ---------------------------------------------------------------------------
// The model

type Publisher = "enterprise" | "institution"
type PartyName = Publisher | "institute" | "expert" | "serviceInstitution" | "enterprise2"
type Status = "submitted" | "adopted" | "not_adopted" | "withdrawn"

interface MResponse {
  readonly id: Ids.ResponseId
  readonly responder: PartyName
  readonly round: number
  status: Status
}

interface MDemand {
  readonly id: Ids.DemandId
  readonly publisher: Publisher
  readonly cooperative: boolean
  state: "draft" | "pending_review" | "published" | "rejected" | "solved"
  number: string | null
  round: number
  deadline: string
  intakeClosed: boolean
  selectionEnded: boolean
  outcome: "unsolved" | "solved" | null
  readonly responses: Array<MResponse>
}

interface Model {
  now: number
  readonly demands: Array<MDemand>
  /** R12: the last sequence number handed out per year. */
  readonly lastSeq: Map<number, number>
}

type RealEnv = Env | Sweeper.Sweeper

interface Real {
  readonly rt: ManagedRuntime.ManagedRuntime<RealEnv, unknown>
  readonly world: Fixtures.World
}

const current = (d: MDemand) => d.responses.filter((x) => x.round === d.round)
const responseCount = (d: MDemand) => current(d).filter((x) => x.status !== "withdrawn").length
const adoptedCount = (d: MDemand) => current(d).filter((x) => x.status === "adopted").length
const isPublic = (d: MDemand) => d.state === "published" || d.state === "solved"
const beforeDeadline = (m: Model, d: MDemand) => m.now <= endOf(d.deadline)
const selectionOver = (m: Model, d: MDemand) =>
  d.selectionEnded || d.state === "solved" || m.now > endOf(plusDays(d.deadline, SELECTION_WINDOW_DAYS))
/** R25: the round's selection ends; what is still submitted is not adopted. */
const endRound = (d: MDemand) => {
  for (const x of current(d)) if (x.status === "submitted") x.status = "not_adopted"
}
const phaseOf = (m: Model, d: MDemand) =>
  d.state === "solved"
    ? "selection_over"
    : d.state !== "published"
      ? "not_published"
      : !d.cooperative
        ? "no_responses"
        : selectionOver(m, d)
          ? "selection_over"
          : !d.intakeClosed && beforeDeadline(m, d)
            ? "taking_responses"
            : "selecting"

/** `ok`, or the tag of the error and the rule it must name. */
type Expected = "ok" | readonly [tag: "InvalidState" | "InvalidInput" | "Denied" | "NotFound", rule: string]

/** R3, R5, R14, R20 (the deadline before R24/R25), R21, R24 (R25 when selection was ended without adoption), in the order core checks them. */
const expectRespond = (m: Model, d: MDemand, who: PartyName): Expected =>
  who === d.publisher
    ? ["Denied", "R3"]
    : !isPublic(d)
      ? ["NotFound", "R5"]
      : d.state !== "published"
        ? ["InvalidState", "R20"]
        : !d.cooperative
          ? ["InvalidState", "R14"]
          : !beforeDeadline(m, d)
            ? ["InvalidState", "R20"]
            : d.intakeClosed
              ? current(d).some((x) => x.status === "adopted")
                ? ["InvalidState", "R24"]
                : ["InvalidState", "R25"]
              : current(d).some((x) => x.responder === who && x.status !== "withdrawn")
                ? ["InvalidState", "R21"]
                : "ok"

/** R23, R33 (singleAdoption is off: further responses may be adopted). */
const expectAdopt = (m: Model, d: MDemand, x: MResponse): Expected =>
  x.round !== d.round
    ? ["InvalidState", "R33"]
    : d.state !== "published"
      ? ["InvalidState", "R23"]
      : x.status !== "submitted"
        ? ["InvalidState", "R23"]
        : selectionOver(m, d)
          ? ["InvalidState", "R23"]
          : "ok"

/** R11, R13. */
const expectApprove = (m: Model, d: MDemand): Expected =>
  d.state !== "pending_review"
    ? ["InvalidState", "R11"]
    : d.deadline < plusDays(dateOf(m.now), 1)
      ? ["InvalidInput", "R13"]
      : "ok"

// ---------------------------------------------------------------------------
// Running commands and comparing outcomes

type Failure = { readonly _tag: string; readonly rule?: string; readonly message?: string }

const party = (world: Fixtures.World, name: PartyName) => world[name]

const describeOutcome = <A>(result: Either.Either<A, Failure>) =>
  Either.isRight(result)
    ? "ok"
    : `${result.left._tag} ${result.left.rule ?? "?"} (${result.left.message ?? ""})`

const same = <A>(result: Either.Either<A, Failure>, expected: Expected) =>
  Either.isRight(result)
    ? expected === "ok"
    : expected !== "ok" && result.left._tag === expected[0] && result.left.rule === expected[1]

/** Asserts the outcome is one of `allowed`; returns the value on success. */
const outcome = <A>(label: string, result: Either.Either<A, Failure>, ...allowed: Array<Expected>) => {
  assert.isTrue(
    allowed.some((expected) => same(result, expected)),
    `${label}: got ${describeOutcome(result)}, the model expected ${allowed.map(String).join(" or ")}`
  )
  return Either.getOrUndefined(result)
}

const exec = async <A, E extends Failure>(
  label: string,
  r: Real,
  effect: Effect.Effect<A, E, RealEnv>,
  expected: Expected
): Promise<A | undefined> => outcome(label, await r.rt.runPromise(Effect.either(effect)), expected)

const proposal = { title: "应答方案", content: "采用化学气相沉积工艺提高良率" }

const formFor = (world: Fixtures.World, publisher: Publisher, cooperative: boolean, deadline: string) =>
  Fixtures.form({
    ...(publisher === "institution" ? Fixtures.onBehalf(world) : {}),
    serviceMode: cooperative ? "cooperative" : "institution_service",
    responseDeadline: deadline
  })

const respondFx = (r: Real, d: MDemand, who: PartyName) =>
  Effect.flatMap(Responding.Responding, (responding) =>
    responding.respond(party(r.world, who).account, { demandId: d.id, proposal })
  )

const adoptFx = (r: Real, d: MDemand, x: MResponse) =>
  Effect.flatMap(Selection.Selection, (selection) =>
    selection.adopt(party(r.world, d.publisher).account, { responseId: x.id })
  )

const approveFx = (r: Real, d: MDemand) =>
  Effect.flatMap(Review.Review, (review) => review.approve(r.world.operator, { demandId: d.id }))

const applyRespond = (d: MDemand, who: PartyName, id: Ids.ResponseId) =>
  d.responses.push({ id, responder: who, round: d.round, status: "submitted" })

const applyAdopt = (d: MDemand, x: MResponse) => {
  x.status = "adopted"
  d.intakeClosed = true
}

// ---------------------------------------------------------------------------
// Invariants over the stored data, checked after every command

const snapshot = Effect.gen(function* () {
  const demands = yield* Persistence.DemandRepository
  const responses = yield* Persistence.ResponseRepository
  const outbox = yield* Persistence.Outbox
  const stored = yield* demands.list({ scope: { _tag: "all" }, sort: "created", limit: 100_000 })
  const storedResponses = yield* Effect.forEach(stored, (d) =>
    responses.list({ scope: { _tag: "demand", demandId: d.id }, limit: 100_000 })
  )
  const messages = yield* outbox.list({ limit: 100_000 })
  return { stored, responses: storedResponses.flat(), messages }
})

const phases = (r: Real, ids: ReadonlyArray<Ids.DemandId>) =>
  Effect.flatMap(Publishing.Publishing, (publishing) =>
    Effect.forEach(ids, (demandId) =>
      Effect.map(publishing.get(r.world.operator, { demandId }), (view) => view.phase)
    )
  )

const checkInvariants = async (m: Model, r: Real, label: string) => {
  const { stored, responses, messages } = await r.rt.runPromise(snapshot)
  const where = (what: string) => `after ${label}: ${what}`
  assert.strictEqual(stored.length, m.demands.length, where("number of demands"))

  // R12: numbers unique, and gapless from 0001 within each approval year.
  const numbers = stored.flatMap((d) => (d.number === null ? [] : [d.number]))
  assert.strictEqual(new Set(numbers).size, numbers.length, where(`numbers unique: ${numbers}`))
  const byYear = new Map<number, Array<number>>()
  for (const n of numbers) {
    const parsed = Demand.parseNumber(n, "ZB")
    assert.isDefined(parsed, where(`number ${n} parses`))
    byYear.set(parsed!.year, [...(byYear.get(parsed!.year) ?? []), parsed!.sequence])
  }
  assert.deepStrictEqual(
    [...byYear.keys()].sort(),
    [...m.lastSeq.keys()].sort(),
    where("years with numbered demands")
  )
  for (const [year, seqs] of byYear) {
    assert.deepStrictEqual(
      [...seqs].sort((a, b) => a - b),
      Array.from({ length: m.lastSeq.get(year) ?? 0 }, (_, i) => i + 1),
      where(`numbers of ${year} gapless from 0001`)
    )
  }

  const byId = new Map(stored.map((d) => [d.id, d]))
  const responsesOf = new Map<string, Array<(typeof responses)[number]>>()
  for (const x of responses) responsesOf.set(x.demandId, [...(responsesOf.get(x.demandId) ?? []), x])

  for (const md of m.demands) {
    const real = byId.get(md.id)
    assert.isDefined(real, where(`demand ${md.id} stored`))
    const d = real!
    const rs = responsesOf.get(md.id) ?? []
    const tag = `demand ${md.number ?? md.id.slice(0, 8)}`

    // The stored demand and its responses are the model's.
    assert.deepStrictEqual(
      {
        state: d.state,
        number: d.number,
        round: d.round,
        deadline: d.form.responseDeadline,
        intakeClosed: d.intakeClosedAt !== null,
        selectionEnded: d.selectionEndedAt !== null,
        outcome: d.outcome,
        responseCount: d.responseCount,
        adoptedCount: d.adoptedCount
      },
      {
        state: md.state,
        number: md.number,
        round: md.round,
        deadline: md.deadline,
        intakeClosed: md.intakeClosed,
        selectionEnded: md.selectionEnded,
        outcome: md.outcome,
        responseCount: responseCount(md),
        adoptedCount: adoptedCount(md)
      },
      where(tag)
    )
    assert.deepStrictEqual(
      Object.fromEntries(rs.map((x) => [x.id, `round ${x.round} ${x.status}`])),
      Object.fromEntries(md.responses.map((x) => [x.id, `round ${x.round} ${x.status}`])),
      where(`${tag}: responses`)
    )

    // responseCount is the number of active (not withdrawn) responses of the round;
    // adoptedCount the number adopted in it.
    const active = rs.filter((x) => x.round === d.round && x.status !== "withdrawn")
    assert.strictEqual(d.responseCount, active.length, where(`${tag}: responseCount`))
    assert.strictEqual(
      d.adoptedCount,
      active.filter((x) => x.status === "adopted").length,
      where(`${tag}: adoptedCount`)
    )

    // R21: at most one active response per responder per round.
    const keys = rs.filter((x) => x.status !== "withdrawn").map((x) => `${x.round}/${x.responderId}`)
    assert.strictEqual(new Set(keys).size, keys.length, where(`${tag}: one active response per responder`))

    // R24, R26: no response of a round is later than the round's first adoption
    // (the same instant only in a race, whose order the outcomes checked).
    for (const round of new Set(rs.map((x) => x.round))) {
      const inRound = rs.filter((x) => x.round === round)
      const adoptions = inRound.flatMap((x) => (x.adoptedAt === null ? [] : [x.adoptedAt.epochMillis]))
      if (adoptions.length === 0) continue
      const first = Math.min(...adoptions)
      for (const x of inRound) {
        assert.isAtMost(x.submittedAt.epochMillis, first, where(`${tag}: response after the first adoption`))
      }
    }

    // R31: a solved demand took no response after it was closed.
    if (d.state === "solved") {
      assert.isNotNull(d.closedAt, where(`${tag}: closedAt`))
      for (const x of rs) {
        assert.isBelow(
          x.submittedAt.epochMillis,
          d.closedAt!.epochMillis,
          where(`${tag}: response after solved`)
        )
      }
    }
  }

  // §4: the phase readers see is the model's.
  assert.deepStrictEqual(
    await r.rt.runPromise(
      phases(
        r,
        m.demands.map((d) => d.id)
      )
    ),
    m.demands.map((d) => phaseOf(m, d)),
    where("phases")
  )

  // R25: one "adopted" notice per adopted response, one "not adopted" per response not adopted.
  const noticed = (event: string) =>
    messages
      .filter((x) => x.event === event)
      .map((x) => x.dedupeKey.split(":")[1])
      .sort()
  const withStatus = (status: Status) =>
    m.demands
      .flatMap((d) => d.responses)
      .filter((x) => x.status === status)
      .map((x) => x.id as string)
      .sort()
  assert.deepStrictEqual(noticed("response_adopted"), withStatus("adopted"), where("adopted notices"))
  assert.deepStrictEqual(
    noticed("response_not_adopted"),
    withStatus("not_adopted"),
    where("not-adopted notices")
  )
}

// ---------------------------------------------------------------------------
// Commands

type Cmd = fc.AsyncCommand<Model, Real>

const command = (
  name: string,
  check: (m: Readonly<Model>) => boolean,
  run: (m: Model, r: Real, label: string) => Promise<void>
): Cmd => ({
  check,
  run: async (m, r) => {
    m.now += 1000
    await r.rt.runPromise(TestClock.adjust(1000))
    await run(m, r, name)
    await checkInvariants(m, r, name)
  },
  toString: () => name
})

const hasDemands = (m: Readonly<Model>) => m.demands.length > 0
/**
 * A demand by index: four times in five among those the command most likely
 * applies to, if there are any, else among all (so that refusals are exercised too).
 */
const pick = (m: Readonly<Model>, i: number, prefer: (d: MDemand) => boolean) => {
  const preferred = m.demands.filter(prefer)
  return i % 5 !== 0 && preferred.length > 0
    ? preferred[Math.floor(i / 5) % preferred.length]!
    : m.demands[Math.floor(i / 5) % m.demands.length]!
}
const inState =
  (...states: ReadonlyArray<MDemand["state"]>) =>
  (d: MDemand) =>
    states.includes(d.state)
const hasResponses = (m: Readonly<Model>) => m.demands.some((d) => d.responses.length > 0)
/**
 * A response by index, among the demands that have some: four times in five among
 * the responses still awaiting a decision, if there are any.
 */
const pickResponse = (m: Readonly<Model>, i: number, j: number) => {
  const open = m.demands.flatMap((d) =>
    d.state === "published" ? current(d).flatMap((x) => (x.status === "submitted" ? [{ d, x }] : [])) : []
  )
  if (j % 5 !== 0 && open.length > 0) return open[i % open.length]!
  const withResponses = m.demands.filter((d) => d.responses.length > 0)
  const d = withResponses[i % withResponses.length]!
  return { d, x: d.responses[Math.floor(j / 5) % d.responses.length]! }
}

const index = fc.nat(1000)
/** Days from today to a new deadline; 0 is too soon (R13). */
const days = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 10 }), weight: 9 },
  { arbitrary: fc.constant(0), weight: 1 }
)
/** Mostly members that may respond; sometimes a publisher (R3 for its own demands). */
const responder = fc.oneof(
  {
    arbitrary: fc.constantFrom<PartyName>("institute", "expert", "serviceInstitution", "enterprise2"),
    weight: 5
  },
  { arbitrary: fc.constantFrom<PartyName>("enterprise", "institution"), weight: 1 }
)

/** R10, R11, R13, R14: a new demand is drafted and submitted for review. */
const draftSubmit = fc
  .record({
    publisher: fc.constantFrom<Publisher>("enterprise", "institution"),
    cooperative: fc.integer({ min: 0, max: 4 }).map((n) => n > 0),
    days
  })
  .map(({ publisher, cooperative, days }) =>
    command(
      `draftSubmit(${publisher}, ${cooperative ? "cooperative" : "institution_service"}, +${days}d)`,
      () => true,
      async (m, r, label) => {
        const deadline = plusDays(dateOf(m.now), days)
        const account = party(r.world, publisher).account
        // R14: institution_service is for the institution that serves the demand itself.
        const allowed = cooperative || publisher === "institution"
        const draft = await exec(
          label,
          r,
          Effect.flatMap(
            Effect.zip(Publishing.Publishing, formFor(r.world, publisher, cooperative, deadline)),
            ([publishing, form]) => publishing.draft(account, form)
          ),
          allowed ? "ok" : ["InvalidInput", "R14"]
        )
        if (!allowed) return
        const d: MDemand = {
          id: draft!.id,
          publisher,
          cooperative,
          state: "draft",
          number: null,
          round: 1,
          deadline,
          intakeClosed: false,
          selectionEnded: false,
          outcome: null,
          responses: []
        }
        m.demands.push(d)
        const submitted = await exec(
          `${label}: submit`,
          r,
          Effect.flatMap(Publishing.Publishing, (publishing) =>
            publishing.submit(account, { demandId: d.id })
          ),
          days < 1 ? ["InvalidInput", "R13"] : "ok"
        )
        if (submitted !== undefined) d.state = "pending_review"
      }
    )
  )

/** R12: the model's next number for an approval now, or the one the demand keeps (R33). */
const numberOnApproval = (m: Model, d: MDemand) => {
  if (d.number !== null) return d.number
  const year = yearOf(m.now)
  const seq = (m.lastSeq.get(year) ?? 0) + 1
  m.lastSeq.set(year, seq)
  return `ZB${year}${String(seq).padStart(4, "0")}`
}

/** R11, R12, R13: approval publishes; a first approval numbers the demand. */
const approve = index.map((i) =>
  command(`approve(#${i})`, hasDemands, async (m, r, label) => {
    const d = pick(m, i, inState("pending_review"))
    const result = await exec(label, r, approveFx(r, d), expectApprove(m, d))
    if (result === undefined) return
    d.number = numberOnApproval(m, d)
    assert.strictEqual(result.number, d.number, `${label}: number`)
    d.state = "published"
  })
)

/**
 * R12, R26: every demand pending review is approved at once, concurrently; the
 * numbers are the next ones of the year, in some order.
 */
const approveAll = command(
  "approveAll(concurrently)",
  (m) => m.demands.filter((d) => d.state === "pending_review").length >= 2,
  async (m, r, label) => {
    const pending = m.demands.filter((d) => d.state === "pending_review")
    const results = await r.rt.runPromise(
      Effect.all(
        pending.map((d) => Effect.either(approveFx(r, d))),
        { concurrency: "unbounded" }
      )
    )
    const expectedNew: Array<string> = []
    const gotNew: Array<string> = []
    pending.forEach((d, k) => {
      const result = outcome(`${label} #${k}`, results[k]!, expectApprove(m, d))
      if (result === undefined) return
      if (d.number === null) {
        expectedNew.push(numberOnApproval(m, d))
        gotNew.push(result.number!)
      } else {
        assert.strictEqual(result.number, d.number, `${label}: a restarted demand keeps its number`)
      }
      d.number = result.number
      d.state = "published"
    })
    assert.deepStrictEqual(gotNew.sort(), expectedNew.sort(), `${label}: numbers handed out`)
  }
)

/** R11: rejection with a reason. */
const reject = index.map((i) =>
  command(`reject(#${i})`, hasDemands, async (m, r, label) => {
    const d = pick(m, i, inState("pending_review"))
    const result = await exec(
      label,
      r,
      Effect.flatMap(Review.Review, (review) =>
        review.reject(r.world.operator, { demandId: d.id, reason: "截止日期过近" })
      ),
      d.state !== "pending_review" ? ["InvalidState", "R11"] : "ok"
    )
    if (result !== undefined) d.state = "rejected"
  })
)

/** R11, R13: a draft or rejected demand is edited (new deadline) and submitted again. */
const resubmit = fc.record({ i: index, days }).map(({ i, days }) =>
  command(`resubmit(#${i}, +${days}d)`, hasDemands, async (m, r, label) => {
    const d = pick(m, i, inState("draft", "rejected"))
    const deadline = plusDays(dateOf(m.now), days)
    const account = party(r.world, d.publisher).account
    const editable = d.state === "draft" || d.state === "rejected"
    const edited = await exec(
      `${label}: edit`,
      r,
      Effect.flatMap(
        Effect.zip(Publishing.Publishing, formFor(r.world, d.publisher, d.cooperative, deadline)),
        ([publishing, form]) => publishing.edit(account, { demandId: d.id, form })
      ),
      editable ? "ok" : ["InvalidState", "R11"]
    )
    if (edited === undefined) return
    d.deadline = deadline
    const submitted = await exec(
      `${label}: submit`,
      r,
      Effect.flatMap(Publishing.Publishing, (publishing) => publishing.submit(account, { demandId: d.id })),
      days < 1 ? ["InvalidInput", "R13"] : "ok"
    )
    if (submitted !== undefined) d.state = "pending_review"
  })
)

/** R3, R14, R20, R21, R24: respond now, as one of several members. */
const respond = fc.record({ i: index, who: responder }).map(({ i, who }) =>
  command(`respond(#${i}, ${who})`, hasDemands, async (m, r, label) => {
    const d = pick(m, i, (d) => phaseOf(m, d) === "taking_responses")
    const result = await exec(label, r, respondFx(r, d, who), expectRespond(m, d, who))
    if (result === undefined) return
    assert.strictEqual(result.round, d.round, `${label}: round`)
    applyRespond(d, who, result.id)
  })
)

/** R21, R33: the responder withdraws its response. */
const withdraw = fc.record({ i: index, j: index }).map(({ i, j }) =>
  command(`withdraw(#${i}, response #${j})`, hasResponses, async (m, r, label) => {
    const { d, x } = pickResponse(m, i, j)
    const expected: Expected =
      x.round !== d.round
        ? ["InvalidState", "R33"]
        : !isPublic(d)
          ? ["NotFound", "R5"]
          : x.status !== "submitted" || d.state !== "published" || !beforeDeadline(m, d)
            ? ["InvalidState", "R21"]
            : "ok"
    const result = await exec(
      label,
      r,
      Effect.flatMap(Responding.Responding, (responding) =>
        responding.withdraw(party(r.world, x.responder).account, { responseId: x.id })
      ),
      expected
    )
    if (result !== undefined) x.status = "withdrawn"
  })
)

/** R23, R24, R33: the publisher adopts a response. */
const adopt = fc.record({ i: index, j: index }).map(({ i, j }) =>
  command(`adopt(#${i}, response #${j})`, hasResponses, async (m, r, label) => {
    const { d, x } = pickResponse(m, i, j)
    const result = await exec(label, r, adoptFx(r, d, x), expectAdopt(m, d, x))
    if (result !== undefined) applyAdopt(d, x)
  })
)

/**
 * R26: a response and an adoption on the same demand race. Either the response
 * lands first (and may be adopted later), or the adoption commits first and the
 * response is refused as intake closed — never both afterwards.
 */
const race = fc.record({ i: index, j: index, who: responder }).map(({ i, j, who }) =>
  command(`race(respond ${who} ‖ adopt #${i}/#${j})`, hasResponses, async (m, r, label) => {
    const { d, x } = pickResponse(m, i, j)
    const adoptExpected = expectAdopt(m, d, x)
    const respondFirst = expectRespond(m, d, who)
    const adoptFirst = expectRespond(m, { ...d, intakeClosed: true }, who)
    const [responded, adopted] = await r.rt.runPromise(
      Effect.all([Effect.either(respondFx(r, d, who)), Effect.either(adoptFx(r, d, x))], {
        concurrency: "unbounded"
      })
    )
    const adoptResult = outcome(`${label}: adopt`, adopted, adoptExpected)
    const respondResult =
      adoptResult === undefined
        ? outcome(`${label}: respond`, responded, respondFirst)
        : outcome(`${label}: respond`, responded, respondFirst, adoptFirst)
    if (respondResult !== undefined) applyRespond(d, who, respondResult.id)
    if (adoptResult !== undefined) applyAdopt(d, x)
  })
)

/** R25, R61: the publisher ends selection early, once intake has closed (R20), where there is one (R14). */
const endSelection = index.map((i) =>
  command(`endSelection(#${i})`, hasDemands, async (m, r, label) => {
    const d = pick(m, i, inState("published"))
    const result = await exec(
      label,
      r,
      Effect.flatMap(Selection.Selection, (selection) =>
        selection.endSelection(party(r.world, d.publisher).account, { demandId: d.id })
      ),
      d.state !== "published" || selectionOver(m, d)
        ? ["InvalidState", "R25"]
        : phaseOf(m, d) === "no_responses"
          ? ["InvalidState", "R14"]
          : phaseOf(m, d) === "taking_responses"
            ? ["InvalidState", "R20"]
            : "ok"
    )
    if (result === undefined) return
    endRound(d)
    d.selectionEnded = true
    d.intakeClosed = true
  })
)

/** R31: outcome solved; an institution's demand needs its service fee, an enterprise's takes none. */
const solved = fc
  .record({ i: index, proper: fc.integer({ min: 0, max: 3 }).map((n) => n > 0) })
  .map(({ i, proper }) =>
    command(`solved(#${i}${proper ? "" : ", fee wrong"})`, hasDemands, async (m, r, label) => {
      const d = pick(m, i, inState("published"))
      const fee = (d.publisher === "institution") === proper
      const result = await exec(
        label,
        r,
        Effect.flatMap(Outcome.Outcome, (o) =>
          o.solved(party(r.world, d.publisher).account, {
            demandId: d.id,
            ...(fee ? { serviceFee: 2_000_00 } : {})
          })
        ),
        d.state !== "published" ? ["InvalidState", "R31"] : proper ? "ok" : ["InvalidInput", "R31"]
      )
      if (result === undefined) return
      endRound(d)
      d.state = "solved"
      d.outcome = "solved"
      d.selectionEnded = true
      d.intakeClosed = true
    })
  )

/** R32: outcome unsolved; the demand stays published. */
const unsolved = index.map((i) =>
  command(`unsolved(#${i})`, hasDemands, async (m, r, label) => {
    // Past the deadline by preference, where a restart (R33) may follow.
    const d = pick(m, i, (d) => d.state === "published" && (i % 2 === 0 || !beforeDeadline(m, d)))
    const result = await exec(
      label,
      r,
      Effect.flatMap(Outcome.Outcome, (o) =>
        o.unsolved(party(r.world, d.publisher).account, { demandId: d.id })
      ),
      d.state !== "published" || d.outcome === "unsolved" ? ["InvalidState", "R32"] : "ok"
    )
    if (result !== undefined) d.outcome = "unsolved"
  })
)

/** R33: after the deadline the demand is restarted: new deadline, review, round + 1. */
const restart = fc.record({ i: index, days }).map(({ i, days }) =>
  command(`restart(#${i}, +${days}d)`, hasDemands, async (m, r, label) => {
    const d = pick(m, i, (d) => d.state === "published" && !beforeDeadline(m, d) && d.outcome === "unsolved")
    const deadline = plusDays(dateOf(m.now), days)
    const result = await exec(
      label,
      r,
      Effect.gen(function* () {
        const o = yield* Outcome.Outcome
        const form = yield* formFor(r.world, d.publisher, d.cooperative, deadline)
        return yield* o.restart(party(r.world, d.publisher).account, { demandId: d.id, form })
      }),
      d.state !== "published" || beforeDeadline(m, d) || d.outcome !== "unsolved"
        ? ["InvalidState", "R33"]
        : days < 1
          ? ["InvalidInput", "R13"]
          : "ok"
    )
    if (result === undefined) return
    endRound(d)
    d.state = "pending_review"
    d.round += 1
    d.deadline = deadline
    d.intakeClosed = false
    d.selectionEnded = false
    d.outcome = null
  })
)

/**
 * R25: the sweeper ends the selection of every cooperative demand whose window has
 * passed without it being ended; its responses not adopted get their notices.
 */
const sweep = command("sweep", hasDemands, async (m, r, label) => {
  const due = m.demands.filter(
    (d) =>
      d.state === "published" &&
      d.cooperative &&
      !d.selectionEnded &&
      m.now > endOf(plusDays(d.deadline, SELECTION_WINDOW_DAYS))
  )
  const closed = await exec(
    label,
    r,
    Effect.flatMap(Sweeper.Sweeper, (sweeper) => sweeper.sweepOnce(1000)),
    "ok"
  )
  assert.strictEqual(closed, due.length, `${label}: demands closed`)
  for (const d of due) {
    endRound(d)
    d.selectionEnded = true
    d.intakeClosed = true
  }
})

/** Time passes: hours, or days (past deadlines, selection windows, the year's end). */
const advance = fc
  .oneof(
    { arbitrary: fc.integer({ min: 1, max: 48 }).map((h) => h * HOUR), weight: 3 },
    { arbitrary: fc.integer({ min: 1, max: 20 }).map((n) => n * DAY), weight: 2 }
  )
  .map((ms) =>
    command(
      `advance(${ms % DAY === 0 ? `${ms / DAY}d` : `${ms / HOUR}h`})`,
      () => true,
      async (m, r) => {
        m.now += ms
        await r.rt.runPromise(TestClock.adjust(ms))
      }
    )
  )

/** Each command arbitrary as many times as its weight: fc.commands picks among them uniformly. */
const weighted = (pairs: ReadonlyArray<readonly [fc.Arbitrary<Cmd>, number]>) =>
  pairs.flatMap(([arbitrary, weight]) => Array.from({ length: weight }, () => arbitrary))

const commands = fc.commands(
  weighted([
    [draftSubmit, 2],
    [approve, 3],
    [fc.constant(approveAll), 1],
    [reject, 1],
    [resubmit, 1],
    [respond, 5],
    [withdraw, 1],
    [adopt, 3],
    [race, 1],
    [endSelection, 1],
    [solved, 1],
    [unsolved, 2],
    [restart, 3],
    [fc.constant(sweep), 1],
    [advance, 2]
  ]),
  { maxCommands: 40, size: "max" }
)

/** Where the clock starts: a spring morning, or six hours before the year ends (R12 per year). */
const startAt = fc.constantFrom(start, DateTime.unsafeMake("2026-12-31T10:00:00Z"))

describe("model", () => {
  it("R20–R26, R11–R12, R31–R33: random command sequences over demands keep the invariants", async () => {
    await fc.assert(
      fc.asyncProperty(startAt, commands, async (t0, cmds) => {
        // A new layer value and the runtime's own memo map: one fresh store per run,
        // shared by the services and the sweeper. (Layer.fresh here would build the
        // store twice, once for each side of provideMerge.)
        const rt = ManagedRuntime.make(
          Layer.mergeAll(
            Sweeper.Sweeper.Default.pipe(Layer.provideMerge(Zhongbao.layerMemory())),
            TestContext.TestContext
          )
        ) as ManagedRuntime.ManagedRuntime<RealEnv, unknown>
        try {
          await rt.runPromise(at(t0))
          const world = await rt.runPromise(Fixtures.makeWorld)
          const model: Model = { now: DateTime.toEpochMillis(t0), demands: [], lastSeq: new Map() }
          await fc.asyncModelRun(() => ({ model, real: { rt, world } }), cmds)
        } finally {
          await rt.dispose()
        }
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 100) }
    )
  }, 600_000)
})
