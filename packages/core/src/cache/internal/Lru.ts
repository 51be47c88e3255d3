/**
 * The L1: a bounded LRU with per-entry expiry, on a plain `Map` (insertion order is recency
 * order: a read moves the entry to the end, eviction takes the first). Effect's `Cache` is
 * built around one fixed lookup function and stores `Exit`s in a `MutableHashMap`; the gateway
 * needs a per-call compute, L2 and semantic steps between lookup and compute, and a hit path
 * that allocates nothing — so this is the smaller tool. Time is passed in by the caller (from
 * `Clock`), which keeps `TestClock` in charge of expiry.
 */
interface Entry<V> {
  readonly value: V
  readonly expiresAt: number
}

export class Lru<V> {
  readonly #map = new Map<string, Entry<V>>()
  readonly #maxSize: number

  constructor(maxSize: number) {
    this.#maxSize = Math.max(1, maxSize)
  }

  get(key: string, now: number): V | undefined {
    const entry = this.#map.get(key)
    if (entry === undefined) return undefined
    this.#map.delete(key)
    if (entry.expiresAt <= now) return undefined
    this.#map.set(key, entry)
    return entry.value
  }

  set(key: string, value: V, expiresAt: number): void {
    this.#map.delete(key)
    this.#map.set(key, { value, expiresAt })
    if (this.#map.size > this.#maxSize) {
      // The first key is the least recently used.
      this.#map.delete(this.#map.keys().next().value!)
    }
  }

  delete(key: string): void {
    this.#map.delete(key)
  }

  /** Live entries; drops the expired ones it walks past (stats are not a hot path). */
  size(now: number): number {
    for (const [key, entry] of this.#map) {
      if (entry.expiresAt <= now) this.#map.delete(key)
    }
    return this.#map.size
  }
}
