/**
 * Files over HTTP (R54) on the example server on `DATABASE_URL`, in a fresh schema
 * dropped at the end: what serving them costs the server in memory and time.
 *
 * Downloads (`GET /files/{id}/content`): one account uploads a PDF of each size in
 * `SIZES_MIB` (default 1 and 20, the default size limit); then, for each concurrency of
 * `CONCURRENCY` (default 1, 8, 32) and each size, `ROUNDS` (default 3) batches of that
 * many simultaneous downloads of the file. Printed per row (medians of the rounds): the
 * batch's wall time, MB/s delivered, the median time to the first byte and to the last,
 * and the server's CPU per MiB served. Each body is hashed as it arrives (the bench
 * holds none whole) and checked against the upload's SHA-256; mismatches are counted.
 *
 * Uploads (`POST /files`): for each concurrency, `ROUNDS` batches of that many
 * simultaneous uploads of the largest size (one multipart body, prepared once, sent by
 * each); printed: the batch's wall time, MB/s received, how many were stored (201), and
 * the server's CPU per MiB.
 *
 * Each row has a fresh instance (RSS seldom shrinks, so a row would carry the last
 * one's peak): its RSS once started and settled, at its highest over the row's rounds
 * (/proc every 5 ms), and that peak over the idle RSS per transfer in a batch. Run with
 * `npm run build && npm run bench:transfers`. Figures are printed, never asserted.
 */
import { createHash } from "node:crypto"
import { request } from "node:http"
import { procTimes } from "./support/cpu.js"
import { int, machine, median } from "./support/report.js"
import {
  dropSchema,
  freshSchema,
  query,
  type ServerProcess,
  startServer,
  tokenFor
} from "./support/server.js"

const list = (value: string | undefined, fallback: ReadonlyArray<number>) =>
  value === undefined ? fallback : value.split(",").map(Number)

const SIZES = list(process.env.SIZES_MIB, [1, 20]).map((mib) => Math.round(mib * 1024 * 1024))
const CONCURRENCY = list(process.env.CONCURRENCY, [1, 8, 32])
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const MIB = 1024 * 1024

/** A PDF of `size` bytes: its header, then bytes that do not compress. */
const pdfOf = (size: number) => {
  const bytes = new Uint8Array(size)
  let x = 2463534242
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    bytes[i] = x & 0xff
  }
  bytes.set(new TextEncoder().encode("%PDF-1.7\n"), 0)
  return bytes
}

/** One download: hashed as it arrives; its first and last byte's times after `start`. */
const download = (url: string, token: string, start: number) =>
  new Promise<{ sha256: string; bytes: number; firstMs: number; lastMs: number; status: number }>(
    (resolve, reject) => {
      const hash = createHash("sha256")
      let bytes = 0
      let firstMs = Number.NaN
      const req = request(url, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
        res.on("data", (chunk: Buffer) => {
          if (bytes === 0) firstMs = performance.now() - start
          bytes += chunk.length
          hash.update(chunk)
        })
        res.on("end", () =>
          resolve({
            sha256: hash.digest("hex"),
            bytes,
            firstMs,
            lastMs: performance.now() - start,
            status: res.statusCode ?? 0
          })
        )
        res.on("error", reject)
      })
      req.on("error", reject)
      req.end()
    }
  )

/** A multipart body with `bytes` as its part `file`. */
const multipart = (bytes: Uint8Array) =>
  Buffer.concat([
    Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="bench.pdf"\r\n\r\n'),
    bytes,
    Buffer.from("\r\n--b--\r\n")
  ])

/** One upload of a prepared multipart body; answers its status. */
const upload = (url: string, token: string, body: Buffer) =>
  new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "multipart/form-data; boundary=b",
          "content-length": String(body.length)
        }
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode ?? 0))
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.end(body)
  })

/** Samples the server's RSS every 5 ms until stopped; answers the highest. */
const sampleRss = (server: ServerProcess) => {
  let peak = server.rssBytes()
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, server.rssBytes())
    } catch {
      // the process is gone; its crash is reported by the batch
    }
  }, 5)
  return () => {
    clearInterval(timer)
    return peak
  }
}

const peakOf = (rounds: ReadonlyArray<{ readonly peak: number }>) => Math.max(...rounds.map((r) => r.peak))

/**
 * One batch: after a settling pause, `concurrency` transfers at once, each given the
 * batch's start; its wall time, the server's RSS at its highest and its CPU meanwhile.
 */
const batch = async <A>(
  server: ServerProcess,
  concurrency: number,
  transfer: (start: number) => Promise<A>
) => {
  await settle()
  const cpuBefore = procTimes(server.pid).self
  const stop = sampleRss(server)
  const start = performance.now()
  const results = await Promise.all(Array.from({ length: concurrency }, () => transfer(start)))
  const wall = performance.now() - start
  return { wall, peak: stop(), cpu: procTimes(server.pid).self - cpuBefore, results }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500))

const main = async () => {
  const schema = freshSchema("bench_transfers")
  const start = () =>
    startServer({
      schema,
      env: {
        WORKERS: "false",
        RATE_LIMIT_STORE: "memory",
        RATE_LIMITS_JSON: JSON.stringify({ uploads: { limit: 1000, windowMillis: 3_600_000 } }),
        // One account stands in for many: its turns are the server's (UPLOAD_CONCURRENCY).
        UPLOAD_CONCURRENCY_PER_ACCOUNT: process.env.UPLOAD_CONCURRENCY ?? "4"
      }
    })
  let server = await start()
  const lines: Array<string> = []
  const uploadLines: Array<string> = []
  try {
    const at = new Date().toISOString()
    await query(
      `INSERT INTO "${schema}".member (id, kind, name, region, registered, created_at)
       VALUES ('bench-institute', 'research_institute', '研究所', '天津市', false, $1::timestamptz)`,
      [at]
    )
    await query(
      `INSERT INTO "${schema}".account (id, member_id, role, name, phone, active, created_at)
       VALUES ('bench-account', 'bench-institute', 'member', '联系人', '+8613800000001', true, $1::timestamptz)`,
      [at]
    )
    const token = tokenFor("bench-account")
    const files: Array<{ size: number; id: string; sha256: string }> = []
    for (const size of SIZES) {
      const bytes = pdfOf(size)
      const form = new FormData()
      form.append("file", new File([bytes], `bench-${size}.pdf`, { type: "application/pdf" }))
      const answer = await fetch(`${server.url}/files`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: form
      })
      const stored = (await answer.json()) as { id: string; sha256: string }
      if (answer.status !== 201)
        throw new Error(`upload of ${size} bytes: ${answer.status} ${JSON.stringify(stored)}`)
      files.push({ size, id: stored.id, sha256: createHash("sha256").update(bytes).digest("hex") })
    }

    lines.push(
      "| size | at once | batch (median) | MB/s | first byte (median) | last byte (median) | RSS idle | RSS peak | (peak − idle) per download | server CPU per MiB | wrong bodies |",
      "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for (const concurrency of CONCURRENCY) {
      for (const file of files) {
        // A fresh instance per row: RSS rarely shrinks, so a row's peak would carry the last one's.
        await server.stop()
        server = await start()
        await settle()
        const idle = server.rssBytes()
        const rounds: Array<{
          wall: number
          first: number
          last: number
          peak: number
          cpu: number
          wrong: number
        }> = []
        for (let round = 0; round < ROUNDS; round++) {
          const { wall, peak, cpu, results } = await batch(server, concurrency, (start) =>
            download(`${server.url}/files/${file.id}/content`, token, start)
          )
          rounds.push({
            wall,
            first: median(results.map((r) => r.firstMs)),
            last: median(results.map((r) => r.lastMs)),
            peak,
            cpu,
            wrong: results.filter(
              (r) => r.status !== 200 || r.bytes !== file.size || r.sha256 !== file.sha256
            ).length
          })
        }
        const m = (f: (r: (typeof rounds)[number]) => number) => median(rounds.map(f))
        const served = (concurrency * file.size) / MIB
        lines.push(
          `| ${file.size / MIB} MiB | ${concurrency} | ${int(m((r) => r.wall))} ms | ${int(served / (m((r) => r.wall) / 1000))} | ${m((r) => r.first).toFixed(1)} ms | ${int(m((r) => r.last))} ms | ${int(idle / MIB)} MB | ${int(peakOf(rounds) / MIB)} MB | ${((peakOf(rounds) - idle) / concurrency / MIB).toFixed(1)} MB | ${(m((r) => r.cpu) / served).toFixed(1)} ms | ${rounds.reduce((n, r) => n + r.wrong, 0)} |`
        )
        console.log(lines.at(-1))
      }
    }

    const largest = Math.max(...SIZES)
    const body = multipart(pdfOf(largest))
    uploadLines.push(
      "| size | at once | batch (median) | MB/s | answered 201 | RSS idle | RSS peak | (peak − idle) per upload | server CPU per MiB |",
      "|---|---|---|---|---|---|---|---|---|"
    )
    for (const concurrency of CONCURRENCY) {
      await server.stop()
      server = await start()
      await settle()
      const idle = server.rssBytes()
      const rounds: Array<{ wall: number; peak: number; cpu: number; created: number }> = []
      for (let round = 0; round < ROUNDS; round++) {
        const { wall, peak, cpu, results } = await batch(server, concurrency, () =>
          upload(`${server.url}/files`, token, body)
        )
        rounds.push({ wall, peak, cpu, created: results.filter((status) => status === 201).length })
      }
      const m = (f: (r: (typeof rounds)[number]) => number) => median(rounds.map(f))
      const sent = (concurrency * largest) / MIB
      uploadLines.push(
        `| ${largest / MIB} MiB | ${concurrency} | ${int(m((r) => r.wall))} ms | ${int(sent / (m((r) => r.wall) / 1000))} | ${rounds.reduce((n, r) => n + r.created, 0)} of ${concurrency * ROUNDS} | ${int(idle / MIB)} MB | ${int(peakOf(rounds) / MIB)} MB | ${((peakOf(rounds) - idle) / concurrency / MIB).toFixed(1)} MB | ${(m((r) => r.cpu) / sent).toFixed(1)} ms |`
      )
      console.log(uploadLines.at(-1))
    }
  } finally {
    await server.stop()
    await dropSchema(schema)
  }
  console.log(
    `\n# Files over HTTP\n\nTaken ${new Date().toISOString()} on ${machine()}; ${ROUNDS} round(s) per row, MB = MiB.\n\n## Downloads\n\n${lines.join("\n")}\n\n## Uploads\n\n${uploadLines.join("\n")}`
  )
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
