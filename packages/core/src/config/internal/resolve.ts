/**
 * Model references in routing: `provider/model`, or a bare model id that is resolved to the
 * provider that lists it, else by prefix (`gpt-` → openai, `claude-` → anthropic, others → the
 * local provider). Resolved ids a provider does not list yet are added to its models, so the
 * router finds an entry (with catalog prices when the id is well known) for every route.
 */
import type { GatewayConfig, ModelEntry, ProviderConfig } from "../ConfigSchema.ts"
import { envNameOf, type ProviderSpec, specsByType } from "../ProviderSpec.ts"
import { type ParsedModelRef, parseModelRef } from "../../domain/Domain.ts"
import * as ModelCatalog from "../ModelCatalog.ts"
import { type ConfigIssue, formatPath } from "./issues.ts"

/** The part of a config a resolver needs (a decoded `GatewayConfig` fits). */
export interface ModelsView {
  readonly providers: ReadonlyArray<{
    readonly name: string
    readonly type: string
    readonly models: ReadonlyArray<{ readonly id: string; readonly alias?: string | undefined }>
  }>
}

/** A model reference resolved from a routing entry or a bare id, and whether its provider lists it. */
export interface ResolvedModel extends ParsedModelRef {
  /** Whether the provider lists the model (false: resolved by prefix only). */
  readonly listed: boolean
}

const byType = (config: ModelsView, types: ReadonlyArray<string>) =>
  types.map((t) => config.providers.find((p) => p.type === t)).find((p) => p !== undefined)
const byName = (config: ModelsView, names: ReadonlyArray<string>) =>
  names.map((n) => config.providers.find((p) => p.name === n)).find((p) => p !== undefined)

interface Owner {
  readonly name: string
  readonly types: ReadonlyArray<string>
}

/** Which types a bare id's name points to (`gpt-` → openai and azure-openai; `undefined`: a local model's id). */
const prefixOwner = (id: string, specs: ReadonlyArray<ProviderSpec>): Owner | undefined => {
  const owners = specs.filter((s) => s.ownsModelId?.(id) === true)
  return owners.length === 0 ? undefined : { name: envNameOf(owners[0]), types: owners.map((s) => s.type) }
}

/** The types that serve any model id, by rank (lmstudio, ollama, vllm, local for the built-ins). */
const anyModelOwners = (specs: ReadonlyArray<ProviderSpec>): { readonly names: ReadonlyArray<string>; readonly types: ReadonlyArray<string> } => {
  const ranked = specs.filter((s) => s.anyModelRank !== undefined).sort((a, b) => a.anyModelRank! - b.anyModelRank!)
  return { names: ranked.map(envNameOf), types: ranked.map((s) => s.type) }
}

/**
 * Resolves a bare model id (`gpt-4o-mini`, `llama3.2`) to a provider: the first provider that
 * lists it (by id, then by alias); else by prefix — `gpt-`/`o1`/`o3`/`o4`/`chatgpt-`/
 * `text-embedding-` → `openai`, `claude-` → `anthropic`, `gemini-` → `gemini`, anything else →
 * the local provider (the first present of `lmstudio`, `ollama`, `vllm`, `local`). Returns
 * `undefined` when the provider it points to is not configured.
 */
export const resolveBareModel = (
  config: ModelsView,
  id: string,
  specs: ReadonlyArray<ProviderSpec> = []
): ResolvedModel | undefined => {
  for (const p of config.providers) {
    if (p.models.some((m) => m.id === id)) return { provider: p.name, model: id, listed: true }
  }
  for (const p of config.providers) {
    if (p.models.some((m) => m.alias === id)) return { provider: p.name, model: id, listed: true }
  }
  const family = prefixOwner(id, specs)
  const local = anyModelOwners(specs)
  const provider = family !== undefined
    ? byName(config, [family.name]) ?? byType(config, family.types)
    : byName(config, local.names) ?? byType(config, local.types)
  return provider === undefined ? undefined : { provider: provider.name, model: id, listed: false }
}

const describeFamily = (id: string, specs: ReadonlyArray<ProviderSpec>): string => {
  const family = prefixOwner(id, specs)
  if (family === undefined) return `no local provider (${anyModelOwners(specs).names.join(", ")}) is configured`
  return `it looks like a ${family.name} model, but no ${family.name} provider is configured`
}

/**
 * Resolves one routing entry. `lenient` (env entries) lets `org/model` with an unknown prefix
 * fall back to bare-id resolution, since local model ids often contain a slash; in the file an
 * unknown prefix is a typo and an error.
 */
export const resolveEntry = (
  config: ModelsView,
  entry: string,
  lenient: boolean,
  specs: ReadonlyArray<ProviderSpec>
): ResolvedModel | string => {
  const ref = parseModelRef(entry)
  const named = ref === undefined ? undefined : config.providers.find((p) => p.name === ref.provider)
  if (ref !== undefined && named !== undefined && named.models.some((m) => m.id === ref.model || m.alias === ref.model)) {
    return { provider: named.name, model: ref.model, listed: true }
  }
  const listing = config.providers.find((p) => p.models.some((m) => m.id === entry))
  if (listing !== undefined) return { provider: listing.name, model: entry, listed: true }
  if (ref !== undefined && named !== undefined) return { provider: named.name, model: ref.model, listed: false }
  if (ref !== undefined && !lenient) {
    const known = config.providers.map((p) => p.name).join(", ") || "none"
    return `${JSON.stringify(entry)} names unknown provider ${JSON.stringify(ref.provider)} (configured: ${known})`
  }
  return resolveBareModel(config, entry, specs) ??
    `cannot route ${JSON.stringify(entry)}: ${describeFamily(entry, specs)}`
}

export interface RouteOrigins {
  readonly envTasks: ReadonlySet<string>
  readonly taskOrigins: ReadonlyMap<string, ReadonlyArray<string>>
}

/** Rewrites every routing entry to `provider/model` and adds unlisted models to their providers. */
export const resolveRoutes = (
  config: GatewayConfig,
  origins: RouteOrigins,
  specs: ReadonlyArray<ProviderSpec>
): { readonly config: GatewayConfig; readonly issues: ReadonlyArray<ConfigIssue> } => {
  const specOf = specsByType(specs)
  const issues: Array<ConfigIssue> = []
  const added = new Map<string, Array<string>>()
  const resolve = (entry: string, path: string, lenient: boolean): string => {
    const r = resolveEntry(config, entry, lenient, specs)
    if (typeof r === "string") {
      issues.push({ path, message: r })
      return entry
    }
    if (!r.listed) {
      const ids = added.get(r.provider) ?? []
      if (!ids.includes(r.model)) added.set(r.provider, [...ids, r.model])
    }
    return `${r.provider}/${r.model}`
  }

  const tasks: Record<string, ReadonlyArray<string>> = {}
  for (const [task, entries] of Object.entries(config.routing.tasks)) {
    const fromEnv = origins.envTasks.has(task)
    tasks[task] = entries.map((e, i) =>
      resolve(
        e,
        fromEnv
          ? origins.taskOrigins.get(task)?.[i] ?? formatPath(["routing", "tasks", task, i])
          : formatPath(["routing", "tasks", task, i]),
        fromEnv
      )
    )
  }
  const fallbackOrder = config.routing.fallbackOrder.map((e, i) => resolve(e, `routing.fallbackOrder[${i}]`, false))
  const semanticModel = config.cache.semantic.model
  const semantic = semanticModel === undefined
    ? config.cache.semantic
    : { ...config.cache.semantic, model: resolve(semanticModel, "cache.semantic.model", false) }

  const providers: Array<ProviderConfig> = config.providers.map((p) => {
    const ids = added.get(p.name)
    if (ids === undefined) return p
    const extra: Array<ModelEntry> = ids.map((id) => ModelCatalog.enrich({ id }, specOf.get(p.type)?.models ?? []))
    return { ...p, models: [...p.models, ...extra] }
  })
  return {
    config: {
      ...config,
      providers,
      routing: { ...config.routing, tasks, fallbackOrder },
      cache: { ...config.cache, semantic }
    },
    issues
  }
}
