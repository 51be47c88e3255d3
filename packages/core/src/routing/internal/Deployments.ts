/**
 * The router's deployment table (not to be confused with `config/ModelCatalog`, the price and
 * context-window rows of well-known models): every model deployment (`provider/model`), the groups that
 * load balancing works on (deployments sharing an `alias`), and the candidate list of every task,
 * computed once at start so routing a request only orders a short precomputed list.
 */
import type { BuiltinTaskType } from "../../domain/Domain.ts"
import { parseModelRef } from "../../domain/Domain.ts"
import type { GatewayConfig, ModelEntry, ProviderConfig, ProviderFamily, ProviderType } from "../../config/ConfigSchema.ts"
import { resolveBareModel } from "../../config/LLMConfig.ts"

export interface Deployment {
  /** Position in config order, used as the final tie-breaker. */
  readonly index: number
  /** `provider/model`: the breaker, limiter and metrics key. */
  readonly ref: string
  readonly provider: string
  readonly providerType: ProviderType
  readonly family: ProviderFamily | undefined
  /** The provider's own model id. */
  readonly model: string
  readonly entry: ModelEntry
  readonly embedding: boolean
  readonly contextWindow: number | undefined
  readonly weight: number
  readonly rpm: number | undefined
  readonly tpm: number | undefined
  /** Key of the group this deployment balances in: `alias:<alias>` or its ref. */
  readonly group: string
}

/** One logical model: a lone deployment, or every deployment sharing an alias. */
export interface Group {
  readonly key: string
  /** Config position of the first member. */
  readonly index: number
  readonly members: ReadonlyArray<Deployment>
}

/**
 * Which seed-003 family a provider belongs to ("local" = zero-cost, self-hosted): its config's
 * `family`, which the config fills from its type's definition; none: routed only when named.
 */
export const familyOf = (provider: Pick<ProviderConfig, "family">): ProviderFamily | undefined => provider.family

/** Seed 003's default order per task (Claude = anthropic, GPT = openai, Llama = local). */
export const DEFAULT_TASK_FAMILIES: Readonly<Record<BuiltinTaskType, ReadonlyArray<ProviderFamily>>> = {
  analysis: ["anthropic", "openai", "local"],
  "ui-generation": ["openai", "anthropic", "local"],
  "config-management": ["local", "openai", "anthropic"],
  general: ["local", "openai", "anthropic"],
  // no default (notes/routing.md "Candidates"): LLM_SQL_MODEL_N only, i.e. whatever `routing.tasks.sql` says
  sql: [],
  // routed like `general` unless `routing.tasks` names models for it
  "alert-classification": ["local", "openai", "anthropic"]
}

export interface DeploymentTable {
  readonly deployments: ReadonlyArray<Deployment>
  readonly groups: ReadonlyArray<Group>
  readonly byRef: ReadonlyMap<string, Deployment>
  /** `provider/model`, an alias, or a bare model id → its group; undefined when unknown. */
  readonly resolve: (name: string) => Group | undefined
  /** The task's candidates in configured order (task list, fallbackOrder, else every chat model). */
  readonly candidatesFor: (taskType: string) => ReadonlyArray<Group>
  readonly embeddingGroups: ReadonlyArray<Group>
  /** Names in `routing.tasks` / `fallbackOrder` that matched nothing (reported at start). */
  readonly unresolved: ReadonlyArray<string>
}

export const makeDeploymentTable = (
  config: GatewayConfig,
  /** Bare model id → provider: the one that lists it, else by prefix (DESIGN, LLMConfig). */
  resolveBare: (config: GatewayConfig, id: string) => { readonly provider: string; readonly model: string } | undefined =
    resolveBareModel
): DeploymentTable => {
  const deployments: Array<Deployment> = []
  const byRef = new Map<string, Deployment>()
  const providers = new Map<string, ProviderConfig>()
  const makeDeployment = (p: ProviderConfig, entry: ModelEntry): Deployment => {
    const ref = `${p.name}/${entry.id}`
    return {
      index: deployments.length,
      ref,
      provider: p.name,
      providerType: p.type,
      family: familyOf(p),
      model: entry.id,
      entry,
      embedding: entry.embedding === true,
      // a model loaded in-process (llama.cpp) has the window of the context it is loaded with
      contextWindow: entry.contextWindow ?? p.contextLength,
      weight: entry.weight ?? 1,
      rpm: p.rpm,
      tpm: p.tpm,
      group: entry.alias !== undefined ? `alias:${entry.alias}` : ref
    }
  }
  for (const p of config.providers) {
    providers.set(p.name, p)
    for (const entry of p.models) {
      const d = makeDeployment(p, entry)
      if (byRef.has(d.ref)) continue
      deployments.push(d)
      byRef.set(d.ref, d)
    }
  }

  const groupsByKey = new Map<string, Group>()
  for (const d of deployments) {
    const g = groupsByKey.get(d.group)
    if (g === undefined) groupsByKey.set(d.group, { key: d.group, index: d.index, members: [d] })
    else groupsByKey.set(d.group, { ...g, members: [...g.members, d] })
  }
  const groups = [...groupsByKey.values()]
  const aliases = new Map<string, Group>()
  for (const d of deployments) {
    if (d.entry.alias !== undefined) aliases.set(d.entry.alias, groupsByKey.get(d.group)!)
  }

  // A provider that lists no chat models (a local server whose models are whatever is pulled)
  // accepts any model id: such ad-hoc deployments are created on first use and kept.
  const adHoc = new Map<string, Group>()
  const openProvider = (provider: string, model: string): Group | undefined => {
    const p = providers.get(provider)
    if (p === undefined || p.models.some((m) => m.embedding !== true)) return undefined
    const ref = `${provider}/${model}`
    let g = adHoc.get(ref)
    if (g === undefined) {
      const d = { ...makeDeployment(p, { id: model }), index: deployments.length + adHoc.size }
      g = { key: ref, index: d.index, members: [d] }
      adHoc.set(ref, g)
    }
    return g
  }

  const resolveCache = new Map<string, Group | undefined>()
  const resolveUncached = (name: string): Group | undefined => {
    const exact = byRef.get(name)
    if (exact !== undefined) return groupsByKey.get(exact.group)
    const alias = aliases.get(name)
    if (alias !== undefined) return alias
    const parsed = parseModelRef(name)
    if (parsed !== undefined && providers.has(parsed.provider)) return openProvider(parsed.provider, parsed.model)
    const bare = resolveBare(config, name)
    if (bare === undefined) return undefined
    const listed = byRef.get(`${bare.provider}/${bare.model}`)
    if (listed !== undefined) return groupsByKey.get(listed.group)
    return openProvider(bare.provider, bare.model)
  }
  const resolve = (name: string): Group | undefined => {
    if (resolveCache.has(name)) return resolveCache.get(name)
    const g = resolveUncached(name)
    if (resolveCache.size < 10_000) resolveCache.set(name, g)
    return g
  }

  const unresolved: Array<string> = []
  const resolveList = (names: ReadonlyArray<string>): Array<Group> => {
    const out: Array<Group> = []
    for (const n of names) {
      const g = resolve(n)
      if (g === undefined) unresolved.push(n)
      else if (!g.members[0].embedding) out.push(g)
    }
    return out
  }

  const chatGroups = groups.filter((g) => !g.members[0].embedding)
  const familyGroups = (families: ReadonlyArray<ProviderFamily>): Array<Group> =>
    families.flatMap((f) => chatGroups.filter((g) => g.members[0].family === f))
  const dedupe = (lists: ReadonlyArray<ReadonlyArray<Group>>): ReadonlyArray<Group> => {
    const seen = new Set<string>()
    const out: Array<Group> = []
    for (const list of lists) {
      for (const g of list) {
        if (!seen.has(g.key)) {
          seen.add(g.key)
          out.push(g)
        }
      }
    }
    return out
  }

  const fallback = resolveList(config.routing.fallbackOrder)
  const taskLists = new Map<string, ReadonlyArray<Group>>()
  const taskNames = new Set<string>([...Object.keys(DEFAULT_TASK_FAMILIES), ...Object.keys(config.routing.tasks)])
  for (const task of taskNames) {
    const configured = config.routing.tasks[task]
    // A configured fallbackOrder is the order the user asked for: the seed's per-task family
    // defaults (which put any local / openai-compatible model first for `general`) apply only
    // where the config says nothing, else `auto` goes to a model the user never ordered.
    const head = configured !== undefined
      ? resolveList(configured)
      : fallback.length > 0
      ? []
      : familyGroups(DEFAULT_TASK_FAMILIES[task as BuiltinTaskType] ?? DEFAULT_TASK_FAMILIES.general)
    const list = dedupe([head, fallback])
    taskLists.set(task, list.length > 0 ? list : chatGroups)
  }
  const unknownTask = taskLists.get("general")!
  const candidatesFor = (taskType: string) => taskLists.get(taskType) ?? unknownTask

  return {
    deployments,
    groups,
    byRef,
    resolve,
    candidatesFor,
    embeddingGroups: groups.filter((g) => g.members[0].embedding),
    unresolved: [...new Set(unresolved)]
  }
}
