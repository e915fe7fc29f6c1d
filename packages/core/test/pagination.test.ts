import { assert, describe, it } from "@effect/vitest"
import { Pagination } from "@zhongbao/core"
import { FastCheck as fc } from "effect"
import { TimeHeap } from "../src/internal/heap.js"

const utf8Order = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))

describe("Pagination", () => {
  it('§9: strings compare by code point, as their UTF-8 bytes (PostgreSQL\'s "C" collation) do', () => {
    assert.isBelow(Pagination.compareCodePoints("a一", "aＡ"), 0)
    assert.isBelow(Pagination.compareCodePoints("aＡ", "a😀"), 0, "U+FF21 before U+1F600")
    assert.isAbove(Pagination.compareCodePoints("a😀", "a\uffff"), 0)
    assert.isBelow(Pagination.compareCodePoints("a", "a😀"), 0, "a prefix first")
    assert.strictEqual(Pagination.compareCodePoints("张三😀", "张三😀"), 0)
    fc.assert(
      fc.property(fc.fullUnicodeString(), fc.fullUnicodeString(), (a, b) => {
        assert.strictEqual(Math.sign(Pagination.compareCodePoints(a, b)), utf8Order(a, b), `${a} vs ${b}`)
      }),
      { numRuns: 2_000 }
    )
    // Strings alike up to a character from each of the ranges that matter.
    const near = fc.tuple(
      fc.constantFrom("", "ZB", "甲"),
      fc.constantFrom("a", "一", "\ud7ff", "\ue000", "Ａ", "\uffff", "😀", "𠀀", "\u{10ffff}")
    )
    fc.assert(
      fc.property(near, near, ([p, x], [q, y]) => {
        assert.strictEqual(Math.sign(Pagination.compareCodePoints(p + x, q + y)), utf8Order(p + x, q + y))
      })
    )
  })

  it("§9: positions compare element by element, null first, strings by code point, descending flipped", () => {
    const order = (a: Pagination.Position, b: Pagination.Position, descending = false) =>
      Math.sign(Pagination.comparePositions(a, b, descending))
    assert.strictEqual(order([1, "aＡ"], [1, "a😀"]), -1)
    assert.strictEqual(order([1, "aＡ"], [1, "a😀"], true), 1)
    assert.strictEqual(order([null, "z"], [0, "a"]), -1)
    assert.strictEqual(order([2, "a"], [10, "a"]), -1, "numbers as numbers")
    assert.strictEqual(order(["2026-05-04", "b"], ["2026-05-04", "b"]), 0)
  })
})

describe("TimeHeap (the memory outbox's claim order)", () => {
  it("R64: messages due at one instant are claimed by id in code-point order, as on PostgreSQL", () => {
    const heap = new TimeHeap()
    for (const id of ["m😀", "mＡ", "m一", "m2"]) heap.push(1_000, id)
    heap.push(500, "z")
    const order: Array<string> = []
    for (let next = heap.pop(); next !== undefined; next = heap.pop()) order.push(next.id)
    assert.deepStrictEqual(order, ["z", "m2", "m一", "mＡ", "m😀"])
  })
})
