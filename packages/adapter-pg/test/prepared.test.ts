/**
 * The names of prepared statements (`internal/prepared.ts`): one name per text, at
 * most a limit of texts named, a forgotten text sent unnamed; which failures mean a
 * prepared statement is stale. The statements themselves are tested on PostgreSQL
 * in layers.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { isStalePrepared, lostPrepared, makeStatementNames } from "../src/internal/prepared.js"

describe("prepared statement names", () => {
  it("P1: one name per text, the same each time; at most `limit` texts named; a forgotten text is unnamed from then on", () => {
    const names = makeStatementNames(2)
    const a = names.nameOf("SELECT 1")
    const b = names.nameOf("SELECT 2")
    assert.match(a ?? "", /^zb_[0-9a-f]{24}$/)
    assert.match(b ?? "", /^zb_[0-9a-f]{24}$/)
    assert.notStrictEqual(a, b)
    assert.strictEqual(names.nameOf("SELECT 1"), a)
    assert.strictEqual(makeStatementNames().nameOf("SELECT 1"), a, "derived from the text alone")
    assert.isUndefined(names.nameOf("SELECT 3"), "over the limit: unnamed")
    names.forget("SELECT 1")
    assert.isUndefined(names.nameOf("SELECT 1"), "forgotten")
    assert.isUndefined(names.nameOf("SELECT 4"), "a forgotten text still counts toward the limit")
    names.forget("SELECT 5")
    assert.strictEqual(names.nameOf("SELECT 2"), b, "forgetting an unnamed text changes nothing")
  })

  it("a prepared statement is stale on a 26000 the client marked (its Parse had been answered), and on 0A000 raised where the server revalidates it, whatever the language of the message", () => {
    const lost = { code: "26000", message: 'prepared statement "zb_1" does not exist' }
    assert.isFalse(isStalePrepared(lost), "a 26000 the client did not mark: its Parse was never answered")
    lostPrepared.add(lost)
    assert.isTrue(isStalePrepared(lost))
    assert.isTrue(
      isStalePrepared({
        code: "0A000",
        message: "cached plan must not change result type",
        routine: "RevalidateCachedQuery"
      })
    )
    assert.isTrue(
      isStalePrepared({
        code: "0A000",
        message: "缓存的计划不能改变结果类型",
        routine: "RevalidateCachedQuery"
      })
    )
    assert.isFalse(
      isStalePrepared({ code: "0A000", message: "cached plan must not change result type" }),
      "no routine"
    )
    assert.isFalse(
      isStalePrepared({ code: "0A000", message: "feature not supported", routine: "transformLockingClause" }),
      "a 0A000 raised as the statement ran stands"
    )
    assert.isFalse(isStalePrepared({ code: "23505", message: "duplicate key value" }))
    assert.isFalse(isStalePrepared(new Error("connection terminated")))
    assert.isFalse(isStalePrepared(undefined))
  })
})
