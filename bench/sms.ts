/**
 * The SMS sender's CPU per send over each transport (`npm run bench:sms`): an
 * `AliyunSms` sender sends rounds of Aliyun SendSms requests, 64 at a time, each to
 * its own number, to the local fake Aliyun (the adapter's test fake, which checks
 * every signature) running in a child process; the figure is this process's CPU
 * time per send (`process.cpuUsage`), so the fake's own work is not in it.
 *
 * Each transport runs in a process of its own, the three alternating, `PAIRS` times
 * (default 3); a process runs `ROUNDS` rounds (default 4) of `N` sends (default
 * 4,000) and the first round, which warms the JIT, is left out of its median.
 * Every send must be answered `Sent`, or the run fails.
 */
import { spawn } from "node:child_process"
import { cpus, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { AliyunSms, Transport } from "@zhongbao/adapter-sms"
import { SmsSender } from "@zhongbao/core"
import { Effect, Layer, ManagedRuntime, Redacted, Scope } from "effect"
import * as FakeAliyun from "../packages/adapter-sms/test/support/FakeAliyun.js"
import * as FakeProvider from "../packages/adapter-sms/test/support/FakeProvider.js"

const N = Number(process.env.N ?? 4000)
const ROUNDS = Number(process.env.ROUNDS ?? 4)
const PAIRS = Number(process.env.PAIRS ?? 3)
const CONCURRENCY = 64

const transports = {
  undici: Transport.layerUndici(),
  node: Transport.layerNode(),
  "HttpClient (undici)": Transport.layerHttpClient.pipe(Layer.provide(NodeHttpClient.layerUndici))
} satisfies Record<string, Layer.Layer<Transport.Transport>>
type Name = keyof typeof transports

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** The fake provider of a child process: prints its URL, serves until killed. */
const serveFake = async () => {
  const aliyun = FakeAliyun.aliyun()
  const scope = Effect.runSync(Scope.make())
  const fake = await Effect.runPromise(Scope.extend(FakeProvider.start(aliyun), scope))
  setInterval(() => {
    fake.requests.length = 0
  }, 1_000)
  console.log(`fake at ${fake.url}`)
}

/** One transport's rounds against the fake at `url`: CPU µs per send of each round. */
const measure = async (name: Name, url: string): Promise<ReadonlyArray<number>> => {
  const sender = AliyunSms.layer({
    accessKeyId: Redacted.make(FakeAliyun.keyId),
    accessKeySecret: Redacted.make(FakeAliyun.secret),
    signName: "众包平台",
    endpoint: url
  }).pipe(Layer.provide(transports[name]))
  const runtime = ManagedRuntime.make(sender)
  const perSend: Array<number> = []
  let seq = 0
  for (let round = 0; round < ROUNDS; round++) {
    const messages = Array.from({ length: N }, (): SmsSender.SmsRequest => {
      const i = seq++
      return {
        messageId: `bench-${i}`,
        dedupeKey: `response_adopted:bench-${i}`,
        phone: `+86139${String(10_000_000 + i)}`,
        templateId: "SMS_465000001",
        params: { number: "ZB20260001", title: "石墨烯散热膜量产工艺" }
      }
    })
    const before = process.cpuUsage()
    const results = await runtime.runPromise(
      Effect.flatMap(SmsSender.SmsSender, (s) =>
        Effect.forEach(messages, (m) => s.send(m), { concurrency: CONCURRENCY })
      )
    )
    const used = process.cpuUsage(before)
    const notSent = results.filter((r) => r._tag !== "Sent")
    if (notSent.length > 0) throw new Error(`${notSent.length} not sent: ${JSON.stringify(notSent[0])}`)
    perSend.push((used.user + used.system) / N)
  }
  await runtime.dispose()
  return perSend
}

/** Runs `args` as a child of this script and answers the first line matching `pattern`, the child left running. */
const child = (env: Record<string, string>, pattern: RegExp) =>
  new Promise<{ readonly match: RegExpExecArray; readonly kill: () => void; readonly done: Promise<void> }>(
    (resolve, reject) => {
      const p = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "inherit"]
      })
      let output = ""
      const done = new Promise<void>((ok, fail) =>
        p.once("exit", (code) => (code === 0 || code === null ? ok() : fail(new Error(`exit ${code}`))))
      )
      p.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8")
        const match = pattern.exec(output)
        if (match) resolve({ match, kill: () => p.kill(), done })
      })
      p.once("exit", (code) => reject(new Error(`the child exited (${code}) before printing: ${output}`)))
    }
  )

const main = async () => {
  const fake = await child({ SMS_BENCH_ROLE: "fake" }, /fake at (\S+)/)
  const url = fake.match[1]!
  try {
    console.log(
      `node ${process.version} · ${cpus()[0]?.model ?? "cpu"} · ${cpus().length} cores · load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`
    )
    console.log(
      `AliyunSms → fake Aliyun (child process): ${PAIRS} pairs of processes, each ${ROUNDS} rounds of ${N} sends, ${CONCURRENCY} at a time`
    )
    const medians: Record<string, Array<number>> = {}
    for (let pair = 0; pair < PAIRS; pair++) {
      for (const name of Object.keys(transports) as Array<Name>) {
        const run = await child(
          { SMS_BENCH_ROLE: "sender", SMS_BENCH_TRANSPORT: name, SMS_BENCH_URL: url },
          /perSend (.*)\n/
        )
        await run.done
        const rounds = (JSON.parse(run.match[1]!) as Array<number>).slice(1)
        medians[name] = [...(medians[name] ?? []), median(rounds)]
        console.log(
          `  ${name}: CPU per send ${rounds.map((x) => `${x.toFixed(0)} µs`).join(", ")} (after a warm-up round)`
        )
      }
    }
    for (const [name, xs] of Object.entries(medians)) {
      console.log(
        `${name}: median CPU per send ${median(xs).toFixed(0)} µs (of the processes: ${xs.map((x) => x.toFixed(0)).join(", ")})`
      )
    }
  } finally {
    fake.kill()
  }
}

switch (process.env.SMS_BENCH_ROLE) {
  case "fake":
    await serveFake()
    break
  case "sender":
    console.log(
      `perSend ${JSON.stringify(await measure(process.env.SMS_BENCH_TRANSPORT as Name, process.env.SMS_BENCH_URL!))}\n`
    )
    break
  default:
    await main()
}
