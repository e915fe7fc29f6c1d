/**
 * `FileStore.get` of adapter-pg (R54) on the PostgreSQL of `DATABASE_URL`, in a fresh
 * schema dropped at the end: files of 1, 5 and 20 MiB (the default size limit) put
 * once, then read `READS` times each; printed per size: the median time of a read and
 * the memory JavaScript held (heap and external) at its highest during a read
 * (sampled every millisecond and at its end, after a full collection before it),
 * over the file's size. Run with `npm run bench:files` (node's `--expose-gc`). Figures are printed,
 * never asserted.
 */
import { createHash } from "node:crypto"
import { PgDatabase, PgPersistence } from "@zhongbao/adapter-pg"
import { FileStore, Ids, Persistence } from "@zhongbao/core"
import { DateTime, Effect, Layer, Redacted } from "effect"
import { median } from "./support/report.js"
import { databaseUrl, dropSchema, freshSchema } from "./support/server.js"

const READS = Number(process.env.READS ?? 5)
const SIZES = [1, 5, 20].map((mib) => mib * 1024 * 1024)

const schema = freshSchema("bench_files")
const layer = PgPersistence.layer({ schema }).pipe(
  Layer.provideMerge(PgDatabase.layerPool({ url: Redacted.make(databaseUrl), maxConnections: 2 }))
)

const gc = (globalThis as { gc?: () => void }).gc

/** What JavaScript holds: the heap and the memory outside it (buffers, strings' backing stores). */
const held = () => {
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

const readOnce = (store: FileStore.FileStore["Type"], id: Ids.FileId, sha256: string) =>
  Effect.gen(function* () {
    gc?.()
    const before = held()
    let peak = before
    const timer = setInterval(() => {
      peak = Math.max(peak, held())
    }, 1)
    const started = performance.now()
    const got = yield* store.get(id)
    const ms = performance.now() - started
    clearInterval(timer)
    peak = Math.max(peak, held())
    if (got._tag === "None" || createHash("sha256").update(got.value.bytes).digest("hex") !== sha256) {
      return yield* Effect.dieMessage("the file read back is not the file written")
    }
    return { ms, grown: peak - before }
  })

const program = Effect.gen(function* () {
  const store = yield* FileStore.FileStore
  const owner = "bench-owner" as Ids.MemberId
  yield* (yield* Persistence.MemberRepository).insert({
    id: owner,
    kind: "transfer_institution",
    name: "基准机构",
    region: null,
    registered: true,
    createdAt: DateTime.unsafeNow()
  })
  const lines: Array<string> = []
  for (const size of SIZES) {
    const bytes = new Uint8Array(size).map((_, i) => (i * 7 + (i >> 10)) & 0xff)
    const sha256 = createHash("sha256").update(bytes).digest("hex") as FileStore.Sha256
    const id = Ids.make() as Ids.FileId
    yield* store.put(
      {
        id,
        ownerMemberId: owner,
        name: "材料.pdf",
        contentType: "application/pdf",
        size,
        sha256,
        createdAt: DateTime.unsafeNow()
      },
      bytes
    )
    const reads = []
    for (let i = 0; i < READS; i++) reads.push(yield* readOnce(store, id, sha256))
    lines.push(
      `| ${size / 1024 / 1024} MiB | ${median(reads.map((r) => r.ms)).toFixed(0)} ms | ${(
        Math.max(...reads.map((r) => r.grown)) / size
      ).toFixed(1)} × the file |`
    )
  }
  console.log(
    `FileStore.get on PostgreSQL (${READS} reads per size${gc === undefined ? ", without --expose-gc" : ""})\n\n| file | median read | memory held at its highest |\n|---|---|---|\n${lines.join("\n")}`
  )
})

try {
  await Effect.runPromise(program.pipe(Effect.provide(layer)))
} finally {
  await dropSchema(schema)
}
process.exit(0)
