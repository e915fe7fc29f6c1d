import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import { Ids } from "@zhongbao/core"

const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** `n` ids made in a row. */
const made = (n: number) => Array.from({ length: n }, () => Ids.make<Ids.DemandId>())

const assertAscending = (ids: ReadonlyArray<string>) => {
  for (let i = 1; i < ids.length; i++) {
    assert.isTrue(ids[i - 1]! < ids[i]!, `id ${i} sorts after id ${i - 1}: ${ids[i - 1]} < ${ids[i]}`)
  }
}

describe("Ids.make", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it("§9: ids are UUID version 7 and sort in the order they were made, with their creation millisecond first", () => {
    const before = Date.now()
    const ids = made(1_000)
    for (const id of ids) assert.match(id, uuidV7)
    assertAscending(ids)
    const millis = Number.parseInt(ids[0]!.replaceAll("-", "").slice(0, 12), 16)
    assert.isAtLeast(millis, before)
    assert.isAtMost(millis, Date.now())
  })

  it("§9: past 4,096 ids in one millisecond, or with the clock set back, later ids still sort after earlier ones", () => {
    const now = Date.now()
    const clock = vi.spyOn(Date, "now").mockReturnValue(now)
    const burst = made(10_000)
    clock.mockReturnValue(now - 5_000)
    const afterSetBack = made(100)
    const ids = [...burst, ...afterSetBack]
    for (const id of ids) assert.match(id, uuidV7)
    assert.strictEqual(new Set(ids).size, ids.length)
    assertAscending(ids)
  })
})
