import { compareCodePoints } from "../Pagination.js"

/**
 * @internal
 * A binary min-heap of (time, id) pairs: the memory outbox's queue of messages by the
 * instant they become claimable. Entries may go stale; readers check them against the
 * delivery they name and drop the ones that no longer match.
 */
export class TimeHeap {
  private readonly at: Array<number> = []
  private readonly ids: Array<string> = []

  get size(): number {
    return this.at.length
  }

  peekTime(): number | undefined {
    return this.at[0]
  }

  push(time: number, id: string): void {
    this.at.push(time)
    this.ids.push(id)
    let i = this.at.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
  }

  pop(): { time: number; id: string } | undefined {
    const n = this.at.length
    if (n === 0) return undefined
    const top = { time: this.at[0]!, id: this.ids[0]! }
    this.swap(0, n - 1)
    this.at.pop()
    this.ids.pop()
    let i = 0
    const size = this.at.length
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < size && this.less(l, m)) m = l
      if (r < size && this.less(r, m)) m = r
      if (m === i) break
      this.swap(i, m)
      i = m
    }
    return top
  }

  private less(a: number, b: number): boolean {
    const x = this.at[a]!
    const y = this.at[b]!
    return x < y || (x === y && compareCodePoints(this.ids[a]!, this.ids[b]!) < 0)
  }

  private swap(a: number, b: number): void {
    const t = this.at[a]!
    this.at[a] = this.at[b]!
    this.at[b] = t
    const s = this.ids[a]!
    this.ids[a] = this.ids[b]!
    this.ids[b] = s
  }
}
