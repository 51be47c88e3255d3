/**
 * Ordering rules, as pure functions over plain numbers so the planner stays cheap and a
 * property test can drive them. The formulas are written up in notes/routing.md.
 */
import type { LoadBalancing } from "../../config/ConfigSchema.ts"
import type { RoutingStrategy } from "../../domain/Domain.ts"

export interface Scored {
  /** Configured position (0 = first). */
  readonly position: number
  /** Estimated USD cost of this request on this candidate. */
  readonly cost: number
  /** Decaying average latency in ms, undefined when never measured. */
  readonly latency: number | undefined
}

const byPosition = (a: Scored, b: Scored) => a.position - b.position

/** `cost`: cheapest first; equal cost keeps the configured order. */
const orderByCost = <A extends Scored>(items: ReadonlyArray<A>): Array<A> =>
  items.slice().sort((a, b) => a.cost - b.cost || a.position - b.position)

/**
 * `performance`: fastest first among the measured candidates; a candidate never measured keeps
 * its configured slot (so new models get traffic and a latency figure).
 */
const orderByLatency = <A extends Scored>(items: ReadonlyArray<A>): Array<A> => {
  const out = items.slice().sort(byPosition)
  const slots: Array<number> = []
  const measured: Array<A> = []
  for (let i = 0; i < out.length; i++) {
    if (out[i].latency !== undefined) {
      slots.push(i)
      measured.push(out[i])
    }
  }
  measured.sort((a, b) => a.latency! - b.latency! || a.position - b.position)
  for (let i = 0; i < slots.length; i++) out[slots[i]] = measured[i]
  return out
}

/**
 * `balanced`: score = (π + ĉ + l̂) / 3, lowest first, rounded to 1/20 so near-ties go to
 * the configured order, where
 * π = position / (n − 1), ĉ = cost / max cost, l̂ = latency / max latency (an unmeasured
 * candidate gets the mean l̂ of the measured ones, 0 when none is measured).
 */
export const balancedScores = (items: ReadonlyArray<Scored>): Array<number> => {
  const n = items.length
  let maxCost = 0
  let maxLat = 0
  let latSum = 0
  let latCount = 0
  for (const it of items) {
    if (it.cost > maxCost) maxCost = it.cost
    if (it.latency !== undefined) {
      if (it.latency > maxLat) maxLat = it.latency
      latSum += it.latency
      latCount++
    }
  }
  const meanLat = latCount > 0 && maxLat > 0 ? latSum / latCount / maxLat : 0
  const maxPos = n > 1 ? n - 1 : 1
  // positions are ranks 0..n-1 in configured order
  const ranks = items.map((it, i) => [it.position, i] as const).sort((a, b) => a[0] - b[0])
  const rankOf = new Array<number>(n)
  ranks.forEach(([, i], r) => (rankOf[i] = r))
  return items.map((it, i) => {
    const p = rankOf[i] / maxPos
    const c = maxCost > 0 ? it.cost / maxCost : 0
    const l = it.latency === undefined ? meanLat : maxLat > 0 ? it.latency / maxLat : 0
    return (p + c + l) / 3
  })
}

/** Scores within one band (1/20 of the range) tie, so the configured order decides near-ties. */
export const BALANCED_BANDS = 20

const orderBalanced = <A extends Scored>(items: ReadonlyArray<A>): Array<A> => {
  const scores = balancedScores(items)
  const keyed = items.map((it, i) => ({ it, s: Math.round(scores[i] * BALANCED_BANDS) }))
  keyed.sort((a, b) => a.s - b.s || a.it.position - b.it.position)
  return keyed.map((k) => k.it)
}

export const orderByStrategy = <A extends Scored>(strategy: RoutingStrategy, items: ReadonlyArray<A>): Array<A> => {
  if (items.length < 2) return items.slice()
  switch (strategy) {
    case "cost":
      return orderByCost(items)
    case "performance":
      return orderByLatency(items)
    case "balanced":
      return orderBalanced(items)
  }
}

export interface Member {
  readonly position: number
  readonly latency: number | undefined
  readonly weight: number
}

/**
 * Orders the deployments of one alias group (`routing.loadBalancing`). Every member stays in
 * the list, so the others are the group's own failover.
 * - round-robin: rotate by `counter`;
 * - least-latency: never-measured first (config order), then fastest first;
 * - random: uniform shuffle from `random`;
 * - weighted: weighted order without replacement (key = u^(1/weight), highest first).
 */
export const balanceMembers = <A extends Member>(
  mode: LoadBalancing,
  members: ReadonlyArray<A>,
  counter: number,
  random: () => number
): Array<A> => {
  const n = members.length
  if (n < 2) return members.slice()
  switch (mode) {
    case "round-robin": {
      const start = ((counter % n) + n) % n
      const out = new Array<A>(n)
      for (let i = 0; i < n; i++) out[i] = members[(start + i) % n]
      return out
    }
    case "least-latency":
      return members.slice().sort((a, b) => {
        if (a.latency === undefined || b.latency === undefined) {
          return a.latency === b.latency ? a.position - b.position : a.latency === undefined ? -1 : 1
        }
        return a.latency - b.latency || a.position - b.position
      })
    case "random": {
      const out = members.slice()
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1))
        const t = out[i]
        out[i] = out[j]
        out[j] = t
      }
      return out
    }
    case "weighted": {
      const keyed = members.map((m) => ({ m, k: Math.pow(random(), 1 / m.weight) }))
      keyed.sort((a, b) => b.k - a.k || a.m.position - b.m.position)
      return keyed.map((x) => x.m)
    }
  }
}
