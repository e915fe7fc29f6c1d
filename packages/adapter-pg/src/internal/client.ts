import * as Pg from "pg"
import { lostPrepared } from "./prepared.js"

/*
 * The `pg` client of the pools `PgDatabase` makes: `pg.Client` with seven changes.
 * The first six leave every result as it was (issue 8's P2: a respond is 7
 * statements, and each round trip costs the server CPU and the caller latency); the
 * seventh makes a COMMIT that did not commit fail.
 *
 * 1. BEGIN travels with the transaction's first statement. A `BEGIN` sent on an
 *    idle connection (the server ready, nothing queued, outside a transaction) is
 *    answered at once and held; the next statement that uses the extended protocol
 *    (every statement with parameters, and every named one) and goes out at once
 *    carries it: Parse, Bind and Execute of BEGIN, then the statement's own
 *    messages, then one Sync. PostgreSQL runs them in order; should BEGIN fail, it
 *    skips the statement up to the Sync, so the statement never runs outside the
 *    transaction, and a statement that `pg` refuses before anything is written
 *    gives BEGIN back at once, held for the next. Any other command while BEGIN is
 *    held (a statement without parameters or name, which `pg` sends with the simple
 *    protocol, a cursor, a statement read in pages in pipeline mode, which `pg`
 *    refuses, a statement that would wait in the queue) gets a BEGIN of its own
 *    first, and is taken off the queue and failed should that BEGIN fail. A COMMIT
 *    or ROLLBACK while BEGIN is held ends a transaction that never started: nothing
 *    is sent. Commands answered without the server are answered on the tick queue,
 *    as `pg` answers a statement it refuses, so answers keep their order. In `pg`'s
 *    pipeline mode BEGIN is held the same way: the statements issued in the turn of
 *    the one that carries it are written behind it, each with its own Sync, and
 *    would run outside the transaction should BEGIN fail (on an idle connection it
 *    fails only when the connection does, which ends them too). What moves: the
 *    transaction starts
 *    with its first statement, so its `now()` is that statement's start, and
 *    `getTransactionStatus()` says idle while BEGIN is held. A named statement
 *    carries BEGIN under its name, so PostgreSQL parses and plans it once per
 *    connection there too (issue 8's P2: the first statement of a respond cost its
 *    backend 0.21 ms of CPU a transaction sent unnamed, 0.07 ms named). `pg` takes
 *    every ParseComplete for the running statement's and records its name as
 *    parsed on the first, so the client passes over BEGIN's and the setting's
 *    (`_handleParseComplete`): the name is recorded only once its own Parse is
 *    answered, and is not should BEGIN fail first.
 * 2. Rows are copies of a template of their keys made once per list of columns.
 *    `pg`'s `Result` clones a null-prototype template for every statement and row,
 *    which V8 does on its slow path; a row grown key by key reallocates its
 *    properties as it grows (the public hall's 21 rows of 37 columns: 59 of the
 *    203 KB a request allocated, issue 8's P1). The rows are the same plain objects
 *    with the same keys in the same order.
 * 3. A statement sent through `query` is written at the end of the event loop's
 *    turn (`setImmediate`): `submit` corks the socket once more and uncorks it then
 *    (in `pg`'s pipeline mode, the turn's statements of a connection go out
 *    together). `pg` corks it while it writes a statement's messages and uncorks
 *    it at once, so each statement woke its PostgreSQL backend in the middle of the
 *    turn; on a machine whose cores are busy, the woken backend
 *    took the core from the server's one JavaScript thread while that thread still
 *    had requests to run (issue 8's P2: 2.4 such preemptions per respond, its thread
 *    waiting as long as it ran). Written at the end of the turn, the backends wake
 *    when the turn's work is done: 2.0 preemptions per respond, 8 % less CPU on the
 *    main thread, 6 % more responds per second (median of four pairs of runs). The
 *    bytes, their order and the answers are as they were. What moves: a statement
 *    waits for the rest of its turn (for the next turn when it is sent from an
 *    immediate), so with idle cores and a distant server it overlaps less of the
 *    turn's other work; and one sent in the turn that ends or destroys its
 *    connection is not written at all (its caller is told the connection ended, as
 *    before, but the server never ran it). Cursors and other submittables, the BEGIN
 *    sent on its own ahead of a command that cannot carry it (1. above), and the
 *    messages `pg` writes later for a statement go out at once, as before.
 * 4. Outside `pg`'s pipeline mode (the embedded database, `pipelining: false`), a
 *    command issued while another runs or waits is held here and handed to `pg`
 *    once `pg` is idle again (its `drain`), in the order issued. `pg` would queue
 *    it itself, but that is deprecated and refused from `pg` 9 (core issues a unit
 *    of work's writes together: the example server printed pg's
 *    DeprecationWarning at its start). A BEGIN sent on its own ahead of a command
 *    (1. above) is answered before that command goes out; should it fail, the
 *    command is failed with its error and never sent. Commands still held when the
 *    connection ends are handed to `pg`, which fails them as it fails any command
 *    on a closed connection. A command's `query_timeout` counts from when it is
 *    handed to `pg`, not while it is held.
 * 5. A named statement that fails because the server holds no prepared statement of
 *    its name (26000: a `DEALLOCATE` or `DISCARD ALL` on the connection) is parsed
 *    again the next time it is sent on that connection, where `pg` would skip its
 *    Parse and fail it every time. Only that name is forgotten: another may still be
 *    held by the server, and parsing it again would fail (42P05). When `pg` had seen
 *    the name's Parse answered before the statement was sent, the error is marked
 *    (`lostPrepared`): the adapter then sends the text unnamed from then on.
 * 6. With `beginSetting` in its config (`PgDatabase`'s pools that name statements:
 *    `SET LOCAL plan_cache_mode = auto`), a BEGIN carried by a statement (1. above)
 *    is followed by that statement without parameters, in the same Sync: Parse, Bind
 *    and Execute of BEGIN, then of the setting, then the statement's own messages.
 *    Its answer is not the caller's, as BEGIN's is not. Should it fail, the
 *    transaction is aborted before the statement runs, which fails with its error.
 *    A BEGIN sent on its own (a command that cannot carry it) goes without it.
 * 7. A COMMIT that PostgreSQL answers with ROLLBACK fails, with SQLSTATE 25P02
 *    (`commitRolledBack`). PostgreSQL ends a transaction that a failed statement
 *    aborted with a rollback when asked to commit it, and says so only in the
 *    command's tag; `pg` and `@effect/sql` pass the tag over, so the caller was told
 *    its transaction committed when nothing of it was written. The adapter's units
 *    of work do not ask to commit after a failure they know of (`unitOfWork.ts`);
 *    this catches the ones they cannot see: a host's statement that failed and was
 *    caught, a statement of a fiber forked in a nested unit that failed after that
 *    unit ended. A host's own transactions on these pools get the same error.
 *
 * The first six lean on `pg`'s `Query`, `Result` and `Client` internals (the Submittable
 * protocol, `submit`, `prepare`, `handleCommandComplete`, `handleError`,
 * `addFields`, `parseRow`, the client's queue, `readyForQuery`, `_sentQueryQueue`,
 * `getTransactionStatus`, `_activeQuery`, `_handleParseComplete` and the connection's
 * `parsedStatements`; the socket's `cork` and `uncork`). `pg` is pinned in
 * package.json, and `test/client.test.ts` checks the changes against a plain
 * `pg.Client`.
 */

type Callback = (error: Error | null | undefined, result?: unknown) => void

interface Field {
  readonly name: string
  readonly dataTypeID: number
  readonly format?: string
}

interface Protocol {
  parse(query: { readonly text: string; readonly name?: string }): void
  bind(config: {
    readonly portal?: string
    readonly statement?: string
    readonly values?: Array<unknown>
  }): void
  execute(config: { readonly portal?: string }): void
}

interface ResultInternals {
  fields: ReadonlyArray<Field>
  _parsers: Array<(value: unknown) => unknown> | undefined
  _types: { getTypeParser(oid: number, format: string): (value: unknown) => unknown } | undefined
  _lean: boolean
  addFields(fields: ReadonlyArray<Field>): void
  parseRow(values: ReadonlyArray<unknown>): unknown
}

interface QueryInternals {
  callback: Callback | undefined
  _rowMode: string | undefined
  types: unknown
  _result: ResultInternals
  _results: unknown
  readonly name: string | undefined
  requiresPreparation(): boolean
  submit(connection: unknown): Error | null
  prepare(connection: Protocol): void
  handleError(error: unknown, connection: unknown): void
  handleCommandComplete(message: unknown, connection: unknown): void
}

type ResultClass = new (rowMode: string | undefined, types: unknown) => ResultInternals
type QueryClass = new (config: unknown, values?: unknown, callback?: unknown) => QueryInternals

const BaseResult = (Pg as unknown as { readonly Result: ResultClass }).Result
const BaseQuery = Pg.Query as unknown as QueryClass
const defaultTypes = Pg.types as unknown as NonNullable<ResultInternals["_types"]>

/** How many row templates {@link templateOf} keeps, the oldest forgotten first. */
const templatesKept = 512
const templates = new Map<string, Readonly<Record<string, null>>>()

/**
 * An object with a row's keys, in order, each `null`: every row of a statement is a
 * copy of it (`{ ...template }`), then filled. Made by `JSON.parse`, which gives V8
 * an object of that shape in one piece; a copy of it is allocated once at its full
 * size, where a row grown key by key reallocates its properties as it grows.
 */
const templateOf = (fields: ReadonlyArray<Field>): Readonly<Record<string, null>> => {
  const key = fields.map((f) => f.name).join("\u0000")
  let template = templates.get(key)
  if (template === undefined) {
    template = JSON.parse(`{${fields.map((f) => `${JSON.stringify(f.name)}:null`).join(",")}}`) as Record<
      string,
      null
    >
    if (templates.size >= templatesKept) templates.delete(templates.keys().next().value!)
    templates.set(key, template)
  }
  return template
}

/** `pg`'s `Result` building rows from a template of their keys (see above). */
class LeanResult extends BaseResult {
  _template: Readonly<Record<string, null>> = {}
  override addFields(fields: ReadonlyArray<Field>): void {
    this._lean = !fields.some((f) => f.name === "__proto__")
    if (!this._lean) {
      super.addFields(fields)
      return
    }
    this.fields = fields
    this._template = templateOf(fields)
    if (fields.length > 0) this._parsers = new Array(fields.length)
    const types = this._types ?? defaultTypes
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!
      this._parsers![i] = types.getTypeParser(field.dataTypeID, field.format || "text")
    }
  }

  override parseRow(values: ReadonlyArray<unknown>): unknown {
    if (!this._lean) return super.parseRow(values)
    const row: Record<string, unknown> = { ...this._template }
    const fields = this.fields
    const parsers = this._parsers!
    for (let i = 0; i < values.length; i++) {
      const raw = values[i]
      const field = fields[i]!
      row[field.name] =
        raw === null ? null : parsers[i]!(field.format === "binary" ? Buffer.from(raw as Uint8Array) : raw)
    }
    return row
  }
}

/** The socket `pg` writes to, as far as 3. above needs it. */
interface Corkable {
  cork(): void
  uncork(): void
}

/**
 * `pg`'s `Query` with lean rows, written at the end of the turn (3. above), and
 * optionally BEGIN before it in the same Sync.
 */
class LeanQuery extends BaseQuery {
  private begin = false
  /** Whether `pg` had seen this name's Parse answered on the connection when it was sent (5. below). */
  private parsedBefore = false
  /** A statement without parameters sent right after BEGIN, in the same Sync (6. below). */
  private setting: string | undefined
  /** How many of BEGIN's and the setting's CommandCompletes are still to come. */
  private leading = 0
  /** How many of BEGIN's and the setting's ParseCompletes are still to come (1. above). */
  leadingParses = 0
  private prepared = false
  /** Called when the statement fails before anything was written (BEGIN is then still to be sent). */
  private unsent: (() => void) | undefined

  /** A per-statement read timeout, which `pg` reads from the object it queues. */
  readonly query_timeout: number | undefined

  constructor(config: unknown, values?: unknown, callback?: unknown) {
    super(config, values, callback)
    this._result = new LeanResult(this._rowMode, this.types)
    this._results = this._result
    this.query_timeout =
      typeof config === "object" ? (config as { query_timeout?: number }).query_timeout : undefined
  }

  /**
   * Sends BEGIN ahead of this statement (which must use the extended protocol);
   * `unsent` runs if the statement fails before anything is written.
   */
  withBegin(unsent: () => void, setting?: string): this {
    this.begin = true
    this.setting = setting
    this.leading = setting === undefined ? 1 : 2
    this.leadingParses = this.leading
    this.unsent = unsent
    return this
  }

  override prepare(connection: Protocol): void {
    this.prepared = true
    this.parsedBefore =
      this.name !== undefined &&
      (connection as { parsedStatements?: Record<string, unknown> }).parsedStatements?.[this.name] !==
        undefined
    if (this.begin) {
      for (const text of this.setting === undefined ? ["BEGIN"] : ["BEGIN", this.setting]) {
        connection.parse({ text })
        connection.bind({ values: [] })
        connection.execute({})
      }
    }
    super.prepare(connection)
  }

  /**
   * A statement `pg` refuses before writing anything (its values are not an array, a
   * named statement's text changed) gives BEGIN back at once, before any other
   * command of the same tick is queued: `pg` reports the refusal only on a later tick.
   */
  override submit(connection: unknown): Error | null {
    const stream = (connection as { stream?: Corkable }).stream
    if (
      typeof stream?.cork === "function" &&
      typeof stream.uncork === "function" &&
      typeof setImmediate === "function"
    ) {
      setImmediate(() => stream.uncork())
      stream.cork()
    }
    const refused = super.submit(connection)
    if (refused) this.giveBack()
    return refused
  }

  override handleError(error: unknown, connection: unknown): void {
    this.giveBack()
    // The server has lost a prepared statement `pg` thinks it holds (5. above).
    if (this.name && (error as { code?: unknown } | null)?.code === "26000") {
      delete (connection as { parsedStatements: Record<string, string> }).parsedStatements[this.name]
      if (this.parsedBefore && typeof error === "object" && error !== null) lostPrepared.add(error)
    }
    super.handleError(error, connection)
  }

  /** Gives the held BEGIN back, once, if it was never written. */
  private giveBack(): void {
    if (!this.begin || this.prepared) return
    const unsent = this.unsent
    this.unsent = undefined
    unsent?.()
  }

  override handleCommandComplete(message: unknown, connection: unknown): void {
    if (this.leading > 0) {
      this.leading--
      return
    }
    super.handleCommandComplete(message, connection)
  }
}

/** `pg`'s own handling of a ParseComplete, which names the running statement parsed. */
const baseParseComplete = (Pg.Client.prototype as unknown as { _handleParseComplete(): void })
  ._handleParseComplete

const supported =
  typeof BaseResult === "function" &&
  typeof baseParseComplete === "function" &&
  typeof (BaseResult.prototype as Partial<ResultInternals>).addFields === "function" &&
  typeof (BaseQuery.prototype as Partial<QueryInternals>).prepare === "function" &&
  typeof (BaseQuery.prototype as Partial<QueryInternals>).handleCommandComplete === "function"

interface ClientInternals {
  readonly getTransactionStatus?: () => string | null | undefined
  readonly readyForQuery?: boolean
  readonly _queryQueue?: Array<unknown>
  readonly _activeQuery?: unknown
  /** `pg`'s pipeline mode, where statements are written before earlier ones are answered. */
  readonly pipeline?: boolean
  /** Statements written and not yet answered, in `pg`'s pipeline mode. */
  readonly _sentQueryQueue?: Array<unknown>
  readonly _queryable?: boolean
  readonly _ending?: boolean
  readonly connection: unknown
}

const answered = (command: string): unknown => {
  const result = new BaseResult(undefined, undefined) as unknown as { command: string | null }
  result.command = command
  return result
}

const isSubmittable = (config: unknown) => typeof (config as { submit?: unknown }).submit === "function"

const isCommand = (config: unknown, values: unknown, command: string) =>
  config === command && (values === undefined || (Array.isArray(values) && values.length === 0))

const isRollback = (result: unknown) =>
  typeof result === "object" && result !== null && (result as { command?: unknown }).command === "ROLLBACK"

/**
 * @internal
 * What a COMMIT answered with ROLLBACK fails with (7. above): SQLSTATE 25P02, the
 * state of the aborted transaction it ended.
 */
export const commitRolledBack = (): Error =>
  Object.assign(
    new Error(
      "COMMIT was answered with ROLLBACK: a statement had failed and aborted the transaction, so nothing of it was written"
    ),
    { code: "25P02", severity: "ERROR" }
  )

/** A COMMIT's callback that takes an answer of ROLLBACK for the failure it is (7. above). */
const refusingRollback =
  (done: Callback): Callback =>
  (error, result) =>
    error || !isRollback(result) ? done(error, result) : done(commitRolledBack())

/**
 * @internal
 * The client class of the pools `PgDatabase` makes to a PostgreSQL server (see
 * above).
 */
export class Client extends Pg.Client {
  /** Whether BEGIN is held for the next statement (1. above). */
  protected readonly holdsBegin: boolean = true
  private beginHeld = false
  /** Commands issued while another runs or waits, outside pipeline mode (4. above), to hand to `pg` in order. */
  private readonly held: Array<() => void> = []
  /** The statement sent right after a BEGIN carried by a statement (6. above), from the config's `beginSetting`. */
  private readonly beginSetting: string | undefined

  constructor(config?: unknown) {
    super(config as Pg.ClientConfig)
    const setting = (config as { readonly beginSetting?: unknown } | undefined)?.beginSetting
    this.beginSetting = typeof setting === "string" && setting !== "" ? setting : undefined
    // Handed over until one of them is with `pg`: a command answered without the
    // server (a held BEGIN, a COMMIT or ROLLBACK of a transaction that never
    // started, one whose own BEGIN failed) leaves `pg` idle, with no `drain` to come.
    this.on("drain", () => {
      while (this.held.length > 0 && !this.busy()) this.held.shift()!()
    })
    this.on("end", () => {
      while (this.held.length > 0) this.held.shift()!()
    })
    // A FATAL error (the backend terminated, the server shutting down) ends the session:
    // `pg` hands it to the running statement and learns of the end only when the socket
    // closes, after the pool may have taken the connection back as healthy. Marked at
    // once, it is refused for further statements and dropped when released. Told by
    // its code, which is never translated (the severity is, in the server's message
    // language): 57P01–57P03 (terminated, shut down, cannot connect now) and class 08.
    ;(this as unknown as { connection: Pg.Connection }).connection.on(
      "errorMessage",
      (message: { readonly code?: string; readonly severity?: string }) => {
        if (
          /^(57P0[1-3]|08)/.test(message.code ?? "") ||
          message.severity === "FATAL" ||
          message.severity === "PANIC"
        )
          (this as unknown as { _queryable: boolean })._queryable = false
      }
    )
  }

  /**
   * A ParseComplete, which `pg` takes for the running statement's: BEGIN's and the
   * setting's ahead of a statement that carries them are passed over (1. above).
   */
  _handleParseComplete(): void {
    const active = (this as unknown as ClientInternals)._activeQuery
    if (active instanceof LeanQuery && active.leadingParses > 0) {
      active.leadingParses--
      return
    }
    baseParseComplete.call(this)
  }

  /** Whether `pg` has a command running or queued. */
  private busy(): boolean {
    const self = this as unknown as ClientInternals
    return self._activeQuery != null || (self._queryQueue?.length ?? 0) > 0
  }

  /** Whether a command issued now must wait for the ones before it (4. above). */
  private mustWait(): boolean {
    return (this as unknown as ClientInternals).pipeline !== true && (this.busy() || this.held.length > 0)
  }

  /**
   * Whether a command sent now goes out at once: the server has said it is ready,
   * nothing is active and nothing waits in the queue.
   */
  private ready(): boolean {
    const self = this as unknown as ClientInternals
    return (
      self._queryable === true &&
      self._ending !== true &&
      self.readyForQuery === true &&
      self._activeQuery == null &&
      Array.isArray(self._queryQueue) &&
      self._queryQueue.length === 0 &&
      (self._sentQueryQueue === undefined || self._sentQueryQueue.length === 0)
    )
  }

  /**
   * Whether the connection is known to be idle, outside a transaction, with nothing
   * queued. The transaction status is the one of the last ReadyForQuery, so it is
   * only read once the server is ready again (a failed statement's callback runs
   * before its ReadyForQuery).
   */
  private idle(): boolean {
    const self = this as unknown as ClientInternals
    return (
      this.ready() && typeof self.getTransactionStatus === "function" && self.getTransactionStatus() === "I"
    )
  }

  /**
   * Whether `pg` refuses `config` without submitting it, on a later tick, so it
   * cannot give a BEGIN it carries back in time: in pipeline mode, a statement
   * reading its rows in pages (`rows`).
   */
  private refusesAtOnce(config: unknown): boolean {
    return (
      (this as unknown as ClientInternals).pipeline === true &&
      typeof config === "object" &&
      config !== null &&
      (config as { rows?: unknown }).rows !== undefined
    )
  }

  /**
   * Sends BEGIN on its own, then the command `args` (at once, so that the order of
   * commands is kept). Should BEGIN fail, the command is taken off the queue before it
   * goes out (BEGIN's error comes before the server is ready for it) and fails with
   * BEGIN's error: it never runs outside the transaction.
   */
  private beginThen(
    send: (c: unknown, v?: unknown, cb?: unknown) => unknown,
    args: readonly [config: unknown, values?: unknown, callback?: unknown],
    failed: (error: Error) => void
  ): unknown {
    if ((this as unknown as ClientInternals).pipeline !== true) {
      let refused = false
      send("BEGIN", (error: Error | undefined) => {
        if (!error) return
        refused = true
        failed(error)
      })
      this.held.unshift(() => {
        if (!refused) send(...args)
      })
      return isSubmittable(args[0]) ? args[0] : undefined
    }
    send("BEGIN", (error: Error | undefined) => {
      if (!error) return
      const queue = (this as unknown as ClientInternals)._queryQueue
      const at = queue?.indexOf(args[0]) ?? -1
      if (at >= 0) {
        queue!.splice(at, 1)
        failed(error)
      }
    })
    return send(...args)
  }

  // @ts-expect-error `pg.Client#query` is overloaded; this takes every form and passes it on.
  override query(config: unknown, values?: unknown, callback?: unknown): unknown {
    if (!isCommand(config, typeof values === "function" ? undefined : values, "COMMIT"))
      return this.inOrder(config, values, callback)
    const done = typeof values === "function" ? values : callback
    if (typeof done === "function") return this.inOrder(config, undefined, refusingRollback(done as Callback))
    return (this.inOrder(config, values) as Promise<unknown>).then((result) => {
      if (isRollback(result)) throw commitRolledBack()
      return result
    })
  }

  /** A command handed to `pg` now, or held until the ones before it are (4. above). */
  private inOrder(config: unknown, values?: unknown, callback?: unknown): unknown {
    if (config === null || config === undefined || !this.mustWait())
      return this.issue(config, values, callback)
    const answers =
      isSubmittable(config) ||
      typeof values === "function" ||
      typeof callback === "function" ||
      (typeof config === "object" && typeof (config as { callback?: unknown }).callback === "function")
    if (answers) {
      this.held.push(() => void this.issue(config, values, callback))
      return isSubmittable(config) ? config : undefined
    }
    return new Promise((resolve, reject) => {
      this.held.push(() => (this.issue(config, values) as Promise<unknown>).then(resolve, reject))
    })
  }

  /** A command handed to `pg` now (1. to 3. above). */
  private issue(config: unknown, values?: unknown, callback?: unknown): unknown {
    const send = (super.query as (c: unknown, v?: unknown, cb?: unknown) => unknown).bind(this)
    if (!supported || config === null || config === undefined || isSubmittable(config)) {
      if (!this.beginHeld) return send(config, values, callback)
      this.beginHeld = false
      const failed = (error: Error) =>
        (config as { handleError?: (e: Error, c: unknown) => void }).handleError?.(
          error,
          (this as unknown as ClientInternals).connection
        )
      return this.beginThen(send, [config, values, callback], failed)
    }
    const args = typeof values === "function" ? undefined : values
    const own = typeof config === "object" ? (config as { callback?: unknown }).callback : undefined
    let done = (typeof values === "function" ? values : (callback ?? own)) as Callback | undefined
    let promise: Promise<unknown> | undefined
    if (typeof done !== "function") {
      promise = new Promise((resolve, reject) => {
        done = (error, result) => (error ? reject(error) : resolve(result))
      })
    }
    const answer = (command: string) => {
      const callback = done!
      // On the tick queue, as pg answers a statement it refuses: answers keep their order.
      process.nextTick(() => callback(null, answered(command)))
    }
    if (this.beginHeld) {
      this.beginHeld = false
      if (isCommand(config, args, "COMMIT") || isCommand(config, args, "ROLLBACK")) {
        answer(config as string)
        return promise
      }
      const statement = new LeanQuery(config, args, done)
      if (statement.requiresPreparation() && this.ready() && !this.refusesAtOnce(config)) {
        send(
          statement.withBegin(() => {
            this.beginHeld = true
          }, this.beginSetting)
        )
        return promise
      }
      this.beginThen(send, [statement], (error) =>
        statement.handleError(error, (this as unknown as ClientInternals).connection)
      )
      return promise
    }
    if (this.holdsBegin && isCommand(config, args, "BEGIN") && this.idle()) {
      this.beginHeld = true
      answer("BEGIN")
      return promise
    }
    send(new LeanQuery(config, args, done))
    return promise
  }
}

/**
 * @internal
 * The client class of the pools `PgDatabase` makes to the embedded database: lean
 * rows and statements written at the end of the turn (2. and 3. above), no BEGIN
 * held. pglite-socket serves PGlite's one backend to every connection, one protocol
 * message at a time; with BEGIN and a statement in one
 * sequence, concurrent connections lost the statement's portal (SQLSTATE 34000, in
 * the conformance suite's races), so BEGIN goes out on its own there.
 */
export class EmbeddedClient extends Client {
  protected override readonly holdsBegin: boolean = false
}
