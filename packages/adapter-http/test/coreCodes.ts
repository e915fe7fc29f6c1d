/**
 * The error codes core raises, read from its source, with the status each answers
 * over HTTP: `invalid` 400, `denied` 403, `invalidState` 409 (as `ApiError` maps
 * core's errors), `actor.unknown` 401 (the adapter answers it as an invalid
 * credential, `internal/handle.ts`), `revision.stale` 412 (a failed `If-Match`, the
 * only way an update names a revision over HTTP).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const statusOf = { invalid: 400, denied: 403, invalidState: 409 } as const
const answeredAs: Readonly<Record<string, number>> = { "actor.unknown": 401, "revision.stale": 412 }

/** `invalid(rule, field?, code, …)`, `denied(rule, code, …)`, `invalidState(rule, code, …)`. */
const call = /\b(invalid|denied|invalidState)\(\s*[^,()]+,\s*(?:[^,()]+,\s*)?"([a-z_]+\.[a-z_.]+)"/g

const walk = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )

/** Each code core raises, with the statuses it answers with (one, unless raised by two kinds of call). */
export const coreCodes = (): ReadonlyMap<string, ReadonlySet<number>> => {
  const codes = new Map<string, Set<number>>()
  for (const file of walk(fileURLToPath(new URL("../../core/src", import.meta.url)))) {
    for (const [, kind, code] of readFileSync(file, "utf8").matchAll(call)) {
      const status = answeredAs[code!] ?? statusOf[kind as keyof typeof statusOf]
      codes.set(code!, (codes.get(code!) ?? new Set()).add(status))
    }
  }
  return codes
}
