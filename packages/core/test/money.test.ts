import { assert, describe, it } from "@effect/vitest"
import { Money } from "@zhongbao/core"

describe("Money", () => {
  it("R31, R53: fromYuan reads a decimal yuan string as whole fen, exactly", () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ["1200", 120_000],
      ["1200.5", 120_050],
      ["1200.50", 120_050],
      ["0.01", 1],
      ["0", 0],
      [" 12.34 ", 1_234],
      ["0.29", 29],
      ["1.13", 113],
      ["9999999999999.99", 999_999_999_999_999]
    ]
    for (const [yuan, fen] of cases) assert.strictEqual(Money.fromYuan(yuan), fen, yuan)
    for (let fen = 0; fen < 100_000; fen += 7) {
      const yuan = `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`
      assert.strictEqual(Money.fromYuan(yuan), fen, yuan)
    }
  })

  it("R31, R53: fromYuan refuses what is not a plain decimal yuan amount of at most 13 digits and 2 decimals", () => {
    for (const yuan of [
      "",
      "1.234",
      "-1",
      "+1",
      "1e3",
      "12.",
      ".5",
      "1,200",
      "１２",
      "0x10",
      "10000000000000",
      "NaN"
    ]) {
      assert.isUndefined(Money.fromYuan(yuan), JSON.stringify(yuan))
    }
  })
})
