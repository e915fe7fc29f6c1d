/**
 * Dispatcher throughput to the memory SMS sender (goal ≥ 10,000 messages/s): the
 * outbox is filled with N messages, then dispatchers drain it; the figure is
 * messages settled per second of draining, printed with the settings used.
 */
import {
  Dispatcher,
  type Ids,
  Persistence,
  PersistenceMemory,
  Settings,
  SmsSender,
  Zhongbao
} from "@zhongbao/core"
import { DateTime, Effect, Layer } from "effect"
import { cpus } from "node:os"

const total = Number(process.env.BENCH_MESSAGES ?? 50_000)
const dispatchers = 4
const outbox = {
  ...Settings.defaults.outbox,
  batchSize: Number(process.env.BATCH ?? 500),
  sendConcurrency: Number(process.env.CONC ?? 64)
}

const main = Effect.gen(function* () {
  const port = yield* Persistence.Outbox
  const now = yield* DateTime.now
  const messages = Array.from({ length: total }, (_, i) => ({
    id: `b-${i}` as Ids.OutboxMessageId,
    event: "response_adopted" as const,
    dedupeKey: `response_adopted:b-${i}:+86139${String(10_000_000 + i)}`,
    recipientPhone: `+86139${String(10_000_000 + i)}`,
    templateId: "ZB_RESPONSE_ADOPTED",
    params: { number: "ZB20260001", title: "石墨烯散热膜量产工艺" },
    createdAt: now
  }))
  for (let i = 0; i < messages.length; i += 1000) yield* port.enqueue(messages.slice(i, i + 1000))
  const dispatcher = yield* Dispatcher.Dispatcher
  const t0 = performance.now()
  const counts = yield* Effect.all(
    Array.from({ length: dispatchers }, (_, i) =>
      Effect.iterate(0, {
        while: (n) => n >= 0,
        body: () => Effect.map(dispatcher.dispatchOnce(`bench-${i}`), (r) => (r.claimed === 0 ? -1 : r.sent))
      })
    ),
    { concurrency: "unbounded" }
  )
  const seconds = (performance.now() - t0) / 1000
  const rest = yield* port.claim({ owner: "check", now: yield* DateTime.now, leaseMillis: 60_000, limit: 10 })
  void counts
  console.log(`node ${process.version} · ${cpus()[0]?.model ?? "cpu"} · ${cpus().length} cores`)
  console.log(
    `dispatcher → memory sender: ${total} messages, ${dispatchers} dispatchers, batch ${outbox.batchSize}, concurrency ${outbox.sendConcurrency}`
  )
  console.log(
    `  ${(total / seconds).toFixed(0)} messages/s (goal ≥ 10000) in ${seconds.toFixed(2)} s; left undelivered: ${rest.length}`
  )
})

const memory = SmsSender.makeMemory()
const layer = Layer.mergeAll(Zhongbao.layerWorkers).pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      PersistenceMemory.layerMemory,
      Settings.layer({ outbox }),
      Layer.succeed(SmsSender.SmsSender, memory.sender)
    )
  )
)

Effect.runPromise(main.pipe(Effect.provide(Layer.orDie(layer)))).then(
  () => console.log(`  sender calls: ${memory.log.requests.length}`),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
