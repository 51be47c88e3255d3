/**
 * The semantic cache's index: unit-length embeddings grouped by scope and task, searched by
 * cosine similarity (a dot product once normalised). A linear scan is fine at the sizes a
 * gateway keeps in memory (`cache.maxSize`, 1000 by default: about a millisecond at 1536
 * dimensions, far below the embedding call that precedes it). Bounded: the oldest entry goes
 * first, and expired entries are skipped and dropped.
 */
interface Entry<V> {
  readonly group: string
  readonly vector: Float64Array
  readonly value: V
  readonly expiresAt: number
}

export const groupOf = (scope: string, task: string): string => `${scope}\u0000${task}`

/** Unit-length copy of `v`, or `undefined` for an empty or all-zero vector (no direction). */
export const normalise = (v: ReadonlyArray<number>): Float64Array | undefined => {
  let sum = 0
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i]
  if (!(sum > 0) || !Number.isFinite(sum)) return undefined
  const norm = Math.sqrt(sum)
  const out = new Float64Array(v.length)
  for (let i = 0; i < v.length; i++) out[i] = v[i] / norm
  return out
}

export class SemanticIndex<V> {
  readonly #entries = new Map<string, Entry<V>>()
  readonly #maxSize: number

  constructor(maxSize: number) {
    this.#maxSize = Math.max(1, maxSize)
  }

  /** The most similar live entry of `group` whose similarity is at least `threshold`. */
  search(group: string, vector: Float64Array, threshold: number, now: number): { value: V; similarity: number } | undefined {
    let best: Entry<V> | undefined
    let bestScore = -Infinity
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(key)
        continue
      }
      if (entry.group !== group || entry.vector.length !== vector.length) continue
      let dot = 0
      for (let i = 0; i < vector.length; i++) dot += entry.vector[i] * vector[i]
      if (dot > bestScore) {
        bestScore = dot
        best = entry
      }
    }
    return best !== undefined && bestScore >= threshold ? { value: best.value, similarity: bestScore } : undefined
  }

  add(key: string, group: string, vector: Float64Array, value: V, expiresAt: number): void {
    this.#entries.delete(key)
    this.#entries.set(key, { group, vector, value, expiresAt })
    if (this.#entries.size > this.#maxSize) this.#entries.delete(this.#entries.keys().next().value!)
  }

  get size(): number {
    return this.#entries.size
  }
}
