/**
 * `npm run operator -- <name> <phone>` (from the repository's root; in this folder
 * `npm run operator -- …`): the first operator of a deployment that runs without the
 * demo (`SEED=false`, the default on `DATABASE_URL`), and a session token for it that
 * the server accepts. It reads the server's configuration (`DATABASE_URL` or
 * `DATA_DIR`, `DATABASE_SCHEMA`, `SESSION_SECRET`), migrates the
 * database as the server does, creates the operator account `operator` with core's
 * `Membership.bootstrapOperator` — or finds it, when it ran before: its name and
 * phone stay as they were — and prints the account with its phone masked (R64: the
 * output of a deploy job ends up in logs). Its session token, signed with
 * `SESSION_SECRET` and valid for 12 hours, is printed as `Authorization: Bearer
 * <token>` on a terminal only; otherwise (a job, a pipe) it is written to the file
 * `OPERATOR_TOKEN_FILE` names (default `operator-token`; relative to the folder the
 * command was run from), readable by its owner alone, and the output says where: a bearer token in a job's
 * log would let whoever reads the log act as the operator. Run it again for another
 * token. The operator then creates the members and their accounts through the API.
 *
 * It needs `SESSION_SECRET`, the server's: a server without one keeps its sessions
 * in its own memory, where a token issued here is unknown. On the embedded database
 * run it while the server is stopped (the data folder belongs to one process at a
 * time). A name or phone that is not one, or a missing secret, is refused on one line
 * (npm adds its own lines after it) before the database is opened, and nothing is
 * written.
 */
import { closeSync, openSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { Authentication } from "@zhongbao/adapter-http"
import { type Ids, Member, Membership } from "@zhongbao/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { persistence } from "./app.js"
import { commandConfig, explain, issuesOf, refuser } from "./config.js"

/**
 * Writes `text` to a new file at `path` that only its owner may read or write: a file
 * there before is replaced, not reused, so its mode cannot be a wider one.
 */
const writeOwnerOnly = (path: string, text: string) => {
  rmSync(path, { force: true })
  const fd = openSync(path, "wx", 0o600)
  try {
    writeFileSync(fd, text)
  } finally {
    closeSync(fd)
  }
}

/** The operator's account id: fixed, so that running the command again finds it. */
export const operatorId = "operator" as Ids.AccountId

const refuse = refuser("operator")

const [name, phone, ...extra] = process.argv.slice(2)
if (name === undefined || phone === undefined || extra.length > 0)
  refuse("usage: npm run operator -- <name> <phone>, for example npm run operator -- 王敏 13800000000")

const wanted = Either.getOrElse(
  Schema.decodeUnknownEither(Membership.BootstrapOperatorInput)({ id: operatorId, name, phone }),
  (error) => refuse(issuesOf(error))
)

const config = await commandConfig(refuse)
if (Option.isNone(config.sessionSecret))
  refuse(
    "SESSION_SECRET is needed, the server's: without one the server keeps its sessions in its own memory, where a token issued here is unknown"
  )
const secret = Option.getOrThrow(config.sessionSecret)

/**
 * Where the token goes: `undefined` to print it (a terminal, no `OPERATOR_TOKEN_FILE`),
 * else the file, relative to the folder the command was run from (npm's `INIT_CWD`:
 * `npm run -w` runs it in the workspace's folder). A folder that is not there, or a
 * path that is a folder, is refused before anything is written.
 */
const tokenFile = ((): string | undefined => {
  const file = process.env.OPERATOR_TOKEN_FILE
  if (process.stdout.isTTY === true && file === undefined) return undefined
  const path = resolve(
    process.env.INIT_CWD ?? process.cwd(),
    file === undefined || file === "" ? "operator-token" : file
  )
  const folder = statSync(dirname(path), { throwIfNoEntry: false })
  if (folder?.isDirectory() !== true) refuse(`OPERATOR_TOKEN_FILE: the folder of ${path} is not there`)
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory() === true)
    refuse(`OPERATOR_TOKEN_FILE: ${path} is a folder, not a file`)
  return path
})()

const operator = Effect.gen(function* () {
  const account = yield* Membership.bootstrapOperator({ id: operatorId, name: name!, phone: phone! })
  if (!account.active)
    refuse(
      `operator account ${account.id} is deactivated: another operator makes it active again (PUT /accounts/${account.id} with "active": true)`
    )
  const sessions = yield* Authentication.Sessions
  const token = yield* sessions.issue(account.id)
  return { account, token }
})

const services = Layer.mergeAll(persistence(config), Authentication.layerSessionsSigned({ secret }))

await Effect.runPromise(Effect.scoped(Effect.provide(operator, services))).then(
  ({ account, token }) => {
    const kept = account.name !== wanted.name || account.phone !== wanted.phone
    console.log(
      `operator account ${account.id}: ${account.name}, ${Member.maskPhone(account.phone)}${kept ? " (there already: its name and phone unchanged)" : ""}`
    )
    if (tokenFile === undefined) {
      console.log(`Authorization: Bearer ${Redacted.value(token)}`)
      console.log("(valid for 12 hours; run this again for another)")
      return
    }
    try {
      writeOwnerOnly(tokenFile, `${Redacted.value(token)}\n`)
    } catch (error) {
      refuse(`could not write the token to ${tokenFile} (run this again): ${explain(error)}`)
    }
    console.log(
      `the operator's session token is in ${tokenFile}, readable by its owner only (send it as Authorization: Bearer <token>; valid for 12 hours; run this again for another): it is not printed where a log would keep it`
    )
  },
  (error: unknown) => refuse(`could not create the operator: ${explain(error)}`)
)
