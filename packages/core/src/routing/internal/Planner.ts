/**
 * The route plan: the order in which a request will try deployments, computed before any
 * attempt from a snapshot of health, prices and latencies. Pure: same inputs, same plan.
 *
 * Steps: strategy orders the candidate groups → load balancing orders each group's members →
 * deployments whose context window is too small for the prompt are dropped → a stable
 * partition puts healthy deployments first, then rate-limited ones, then open circuits.
 */
import type { LoadBalancing } from "../../config/ConfigSchema.ts"
import type { Attempt, RoutingStrategy } from "../../domain/Domain.ts"
import { estimateRequestCost } from "../../accounting/Pricing.ts"
import type { Deployment, Group } from "./Deployments.ts"
import type { Need } from "./Capabilities.ts"
import { balanceMembers, orderByStrategy } from "./Strategies.ts"

/** Health of a deployment as the planner sees it. */
export type Health = "healthy" | "rate-limited" | "open"

export interface PlannedCandidate {
  readonly ref: string
  readonly provider: string
  readonly model: string
  readonly providerType: string
  readonly contextWindow: number | undefined
  readonly estimatedCostUsd: number
  readonly latencyMs: number | undefined
  readonly health: Health
  /**
   * Place in the strategy's order before the health partition: a candidate placed after one
   * with a larger `order` was moved back for its circuit or rate limit (see `passedOver`).
   */
  readonly order?: number | undefined
  /** @internal the deployment the executor runs */
  readonly deployment: Deployment
}

export interface RoutePlan {
  readonly taskType: string
  readonly strategy: RoutingStrategy
  /** Estimated prompt tokens (characters / 4). */
  readonly promptTokens: number
  readonly candidates: ReadonlyArray<PlannedCandidate>
  /** Deployments left out before any attempt, with the reason. */
  readonly excluded: ReadonlyArray<Excluded>
}

/**
 * A deployment left out of a plan: its window is too small, or it cannot take a part or field
 * of the request (`need`, capability planning). `order` is where the strategy ranked it (the
 * number of candidates placed ahead of it), so a success behind it can name it as skipped.
 */
export interface Excluded {
  readonly ref: string
  readonly reason: "context-window" | "unsupported"
  readonly need?: Need | undefined
  readonly order?: number | undefined
}

export interface PlanInput {
  readonly taskType: string
  readonly groups: ReadonlyArray<Group>
  readonly strategy: RoutingStrategy
  readonly loadBalancing: LoadBalancing
  readonly promptTokens: number
  readonly maxTokens: number | undefined
  readonly latency: (ref: string) => number | undefined
  readonly health: (ref: string) => Health
  /** Round-robin counter of a group (the caller advances it per request). */
  readonly counter: (groupKey: string) => number
  readonly random: () => number
  /** The first group is the model the request named: it keeps first place whatever the strategy. */
  readonly pinnedFirst?: boolean | undefined
  /** What of the request a deployment cannot take (Capabilities): it is left out, with the reason. */
  readonly unsupported?: ((d: Deployment) => Need | undefined) | undefined
}

interface GroupItem {
  readonly group: Group
  readonly position: number
  readonly cost: number
  readonly latency: number | undefined
}

const healthRank = (h: Health) => (h === "healthy" ? 0 : h === "rate-limited" ? 1 : 2)

export const computePlan = (input: PlanInput): RoutePlan => {
  const { groups, promptTokens, maxTokens } = input
  const items: Array<GroupItem> = new Array(groups.length)
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]
    let cost = Infinity
    let latency: number | undefined
    for (const m of g.members) {
      const c = estimateRequestCost(m.entry, promptTokens, maxTokens)
      if (c < cost) cost = c
      const l = input.latency(m.ref)
      if (l !== undefined && (latency === undefined || l < latency)) latency = l
    }
    items[i] = { group: g, position: i, cost, latency }
  }
  const ordered = input.pinnedFirst === true && items.length > 0
    ? [items[0], ...orderByStrategy(input.strategy, items.slice(1))]
    : orderByStrategy(input.strategy, items)

  const candidates: Array<PlannedCandidate> = []
  const excluded: Array<Excluded> = []
  for (const item of ordered) {
    const members = item.group.members
    const balanced = members.length === 1
      ? members
      : balanceMembers(
        input.loadBalancing,
        members.map((d, position) => ({ d, position, latency: input.latency(d.ref), weight: d.weight })),
        input.counter(item.group.key),
        input.random
      ).map((m) => m.d)
    for (const d of balanced) {
      if (d.contextWindow !== undefined && promptTokens > d.contextWindow) {
        excluded.push({ ref: d.ref, reason: "context-window" })
        continue
      }
      const need = input.unsupported?.(d)
      if (need !== undefined) {
        excluded.push({ ref: d.ref, reason: "unsupported", need, order: candidates.length })
        continue
      }
      candidates.push({
        ref: d.ref,
        provider: d.provider,
        model: d.model,
        providerType: d.providerType,
        contextWindow: d.contextWindow,
        estimatedCostUsd: estimateRequestCost(d.entry, promptTokens, maxTokens),
        latencyMs: input.latency(d.ref),
        health: input.health(d.ref),
        order: candidates.length,
        deployment: d
      })
    }
  }
  // stable partition: healthy, then rate-limited, then open circuits
  const partitioned = candidates.every((c) => c.health === "healthy")
    ? candidates
    : candidates
      .map((c, i) => [c, i] as const)
      .sort((a, b) => healthRank(a[0].health) - healthRank(b[0].health) || a[1] - b[1])
      .map(([c]) => c)
  return {
    taskType: input.taskType,
    strategy: input.strategy,
    promptTokens,
    candidates: partitioned,
    excluded
  }
}

const none: ReadonlyArray<Attempt> = []
const skippedAs = { "rate-limited": "skipped:RateLimited", open: "skipped:CircuitOpen" } as const
/** The outcome of a deployment left out because it cannot take a part or field of the request. */
export const SKIPPED_UNSUPPORTED = "skipped:Unsupported"

/**
 * The candidates the health partition moved behind `ref` although the strategy ranked them
 * ahead of it, as the attempts they would have been: a success on `ref` passed over them without
 * a call, and the route a caller sees (`attempts`, `x-llm-route`) must say why they were skipped.
 */
export const passedOver = (plan: RoutePlan, ref: string): ReadonlyArray<Attempt> => {
  const unsupported = plan.excluded.length === 0 ? none : unsupportedAhead(plan, ref)
  // the usual case: the strategy's first choice answered, nothing was ahead of it
  if (plan.candidates[0]?.ref === ref && plan.candidates[0].order === 0) return unsupported
  const at = plan.candidates.findIndex((c) => c.ref === ref)
  const order = plan.candidates[at]?.order
  if (order === undefined) return unsupported
  const out: Array<Attempt> = [...unsupported]
  for (let i = at + 1; i < plan.candidates.length; i++) {
    const c = plan.candidates[i]
    if (c.order !== undefined && c.order < order && c.health !== "healthy") out.push({ model: c.ref, outcome: skippedAs[c.health], ms: 0 })
  }
  return out.sort((a, b) => orderOf(plan, a.model) - orderOf(plan, b.model))
}

const orderOf = (plan: RoutePlan, ref: string) =>
  plan.candidates.find((c) => c.ref === ref)?.order ?? plan.excluded.find((e) => e.ref === ref)?.order ?? 0

/** Deployments the strategy ranked ahead of `ref` but left out for a part or field they cannot take. */
const unsupportedAhead = (plan: RoutePlan, ref: string): ReadonlyArray<Attempt> => {
  const order = plan.candidates.find((c) => c.ref === ref)?.order
  if (order === undefined) return none
  const out: Array<Attempt> = []
  for (const e of plan.excluded) {
    if (e.reason === "unsupported" && e.order !== undefined && e.order <= order) out.push({ model: e.ref, outcome: SKIPPED_UNSUPPORTED, ms: 0 })
  }
  return out
}

/**
 * The same plan once its request's prompt changed size (`chat` trims a conversation's history
 * to the first candidate's window after planning): order and round-robin turns stay, the token
 * count is the new prompt's, and candidates whose window it no longer fits move to `excluded`.
 * Nothing is re-ordered, so this is not a second plan.
 */
export const fitPlan = <P extends RoutePlan>(plan: P, promptTokens: number): P => {
  const fits = (c: PlannedCandidate) => c.contextWindow === undefined || promptTokens <= c.contextWindow
  if (promptTokens === plan.promptTokens && plan.candidates.every(fits)) return plan
  return {
    ...plan,
    promptTokens,
    candidates: plan.candidates.filter(fits),
    excluded: [
      ...plan.excluded,
      ...plan.candidates.filter((c) => !fits(c)).map((c): Excluded => ({ ref: c.ref, reason: "context-window" }))
    ]
  }
}
