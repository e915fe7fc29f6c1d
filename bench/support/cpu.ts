/**
 * CPU time read from /proc and `os.cpus()`, for the benches' "where the time goes"
 * lines: per process, every PostgreSQL process of the machine, and the machine.
 */
import { readdirSync, readFileSync } from "node:fs"
import { cpus } from "node:os"

/** Linux's clock tick (USER_HZ = 100). */
const TICK_MS = 10

/** Fields 14–17 of /proc/<pid>/stat (utime, stime, cutime, cstime), in ms, with the process's name. */
export const procTimes = (pid: string | number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
  const f = stat
    .slice(stat.lastIndexOf(")") + 2)
    .split(" ")
    .slice(11, 15)
    .map((x) => Number(x) * TICK_MS)
  return { comm, self: f[0]! + f[1]!, system: f[1]!, children: f[2]! + f[3]! }
}

/** {@link procTimes} of a process that may have exited meanwhile (a backend): `undefined` then, or without /proc. */
export const procTimesIfAlive = (pid: number) => {
  try {
    return procTimes(pid)
  } catch {
    return undefined
  }
}

/**
 * CPU time of every process named `postgres` on this machine (the server is local
 * here), its exited backends included through the postmaster's children times; in
 * ms, `undefined` without /proc.
 */
export const postgresCpu = (): number | undefined => {
  try {
    let total = 0
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue
      try {
        const p = procTimes(pid)
        if (p.comm === "postgres") total += p.self + p.children
      } catch {
        // the process ended meanwhile
      }
    }
    return total
  } catch {
    return undefined
  }
}

/** Busy and total CPU time of the machine (all cores), in ms. */
export const machineCpu = () =>
  cpus().reduce(
    (acc, c) => {
      const total = c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle
      return { busy: acc.busy + total - c.times.idle, total: acc.total + total }
    },
    { busy: 0, total: 0 }
  )

/**
 * The main thread of a process (the one that runs its JavaScript): the ms it ran
 * and the ms it was runnable but waited for a CPU (its run-queue delay), from
 * /proc/<pid>/schedstat, and its involuntary context switches (preempted), from
 * /proc/<pid>/status. Zeros without /proc.
 */
export const mainThread = (pid: string | number) => {
  try {
    const [ran, waited] = readFileSync(`/proc/${pid}/schedstat`, "utf8").trim().split(" ").map(Number)
    const involuntary = /nonvoluntary_ctxt_switches:\s*(\d+)/.exec(
      readFileSync(`/proc/${pid}/status`, "utf8")
    )
    return {
      ranMs: (ran ?? 0) / 1e6,
      waitedMs: (waited ?? 0) / 1e6,
      involuntary: Number(involuntary?.[1] ?? 0)
    }
  } catch {
    return { ranMs: 0, waitedMs: 0, involuntary: 0 }
  }
}

/** `count` calls of `call`, `concurrency` at a time (each lane starts its next call when its last ends). */
export const callConcurrently = async (count: number, concurrency: number, call: () => Promise<unknown>) => {
  let started = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started++ < count) await call()
    })
  )
}
