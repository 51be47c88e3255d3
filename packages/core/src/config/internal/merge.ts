/**
 * Layering: defaults < env < the YAML file < an explicit input object. Sections merge key by
 * key; lists replace. Providers are special: a file that lists `providers` owns the set (env
 * only fills the missing fields of same-named entries, e.g. `apiKey` from `OPENAI_API_KEY`),
 * so a config file stays hermetic on a machine whose shell exports other keys.
 */
import { Redacted } from "effect"
import * as ModelCatalog from "../ModelCatalog.ts"
import { type ProviderSpec, specsByType } from "../ProviderSpec.ts"
import type { EnvConfig } from "./fromEnv.ts"
import { isRecord } from "./issues.ts"

export const defaults = {
  server: { host: "127.0.0.1", port: 8080, apiKeys: [], maxBodyBytes: 1_048_576 },
  routing: {
    strategy: "balanced",
    fallbackOrder: [],
    tasks: {},
    maxRetries: 3,
    timeoutMs: 30_000,
    attemptTimeoutMs: 10_000,
    loadBalancing: "round-robin",
    circuitBreaker: { failureThreshold: 5, successThreshold: 2, openMs: 60_000 }
  },
  cache: { enabled: true, ttlSeconds: 3600, maxSize: 1000, semantic: { enabled: false, threshold: 0.95 } },
  conversations: { store: "sqlite", path: ".data/conversations.db" }
} as const

/** Right wins; plain objects merge recursively, everything else (lists included) replaces. */
export const deepMerge = (left: unknown, right: unknown): unknown => {
  if (right === undefined) return left
  if (!isRecord(left) || !isRecord(right)) return right
  const out: Record<string, unknown> = { ...left }
  for (const [k, v] of Object.entries(right)) out[k] = deepMerge(left[k], v)
  return out
}

/** Left wins: fills only what `target` leaves out. */
const fill = (target: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> =>
  deepMerge(from, target) as Record<string, unknown>

/** Secrets handed in as `Redacted` (e.g. a decoded config passed back in) become plain strings again until decoding. */
export const unwrapRedacted = (u: unknown): unknown => {
  if (Redacted.isRedacted(u)) return Redacted.value(u)
  if (Array.isArray(u)) return u.map(unwrapRedacted)
  if (isRecord(u)) return Object.fromEntries(Object.entries(u).map(([k, v]) => [k, unwrapRedacted(v)]))
  return u
}

/**
 * An entry finished from its type's definition: the catalog rows (all of them when it lists no
 * models; a well-known id written without prices borrows the row's numbers), the default base
 * URL (unless the client applies it, or a file entry must name one), the family, env's limits.
 */
const finishProvider = (p: unknown, env: EnvConfig, specs: ReadonlyMap<string, ProviderSpec>): unknown => {
  const spec = isRecord(p) && typeof p.type === "string" ? specs.get(p.type) : undefined
  if (spec === undefined) return p
  const out: Record<string, unknown> = { ...(p as Record<string, unknown>) }
  const catalog = spec.models ?? []
  if (out.models === undefined) out.models = [...catalog]
  else if (Array.isArray(out.models)) {
    out.models = out.models.map((m) => {
      const known = isRecord(m) ? catalog.find((c) => c.id === m.id) : undefined
      return known === undefined || !isRecord(m) ? m : { ...known, ...ModelCatalog.scaledCacheRates(m, known), ...m }
    })
  }
  if (out.baseUrl === undefined && spec.defaultBaseUrl !== undefined && spec.clientDefaultsBaseUrl !== true && spec.needsBaseUrl !== true) {
    out.baseUrl = spec.defaultBaseUrl
  }
  if (spec.limits !== undefined && Array.isArray(out.models)) {
    const limits = spec.limits
    out.models = out.models.map((m) => isRecord(m) ? { ...m, capabilities: { ...(isRecord(m.capabilities) ? m.capabilities : {}), ...limits } } : m)
  }
  if (out.family === undefined && spec.family !== undefined) out.family = spec.family
  if (out.rpm === undefined && env.rpm !== undefined) out.rpm = env.rpm
  if (out.tpm === undefined && env.tpm !== undefined) out.tpm = env.tpm
  return out
}

export interface Merged {
  /** The config before decoding (file shape, defaults filled). */
  readonly raw: Record<string, unknown>
  /** Tasks whose model list came from `LLM_<TASK>_MODEL_<N>` (bare ids resolve leniently there). */
  readonly envTasks: ReadonlySet<string>
}

const has = (u: unknown, ...keys: ReadonlyArray<string>): boolean => {
  let cur = u
  for (const k of keys) {
    if (!isRecord(cur) || !(k in cur)) return false
    cur = cur[k]
  }
  return true
}

export const merge = (
  env: EnvConfig,
  explicitLayers: ReadonlyArray<Record<string, unknown>>,
  specs: ReadonlyArray<ProviderSpec>
): Merged => {
  const specOf = specsByType(specs)
  const explicit = explicitLayers.reduce<Record<string, unknown>>((acc, l) => deepMerge(acc, l) as Record<string, unknown>, {})
  const { providers: explicitProviders, ...explicitRest } = explicit
  const raw = deepMerge(deepMerge(defaults, env.raw), explicitRest) as Record<string, unknown>

  const providers = "providers" in explicit
    ? Array.isArray(explicitProviders)
      ? explicitProviders.map((p) => {
        const shadow = isRecord(p) && typeof p.name === "string" ? env.shadows.get(p.name) : undefined
        return shadow === undefined ? p : fill(p as Record<string, unknown>, shadow)
      })
      : explicitProviders
    : env.providers.map((p) => ({ ...p }))
  raw.providers = Array.isArray(providers) ? providers.map((p) => finishProvider(p, env, specOf)) : providers

  if (!has(explicit, "routing", "fallbackOrder") && Array.isArray(raw.providers) && isRecord(raw.routing)) {
    const names = raw.providers.flatMap((p) => isRecord(p) && typeof p.name === "string" ? [p.name] : [])
    const fallback = names.flatMap((n) => {
      const id = env.primaryModels.get(n)
      return id === undefined ? [] : [`${n}/${id}`]
    })
    if (fallback.length > 0) raw.routing = { ...raw.routing, fallbackOrder: fallback }
  }

  if (isRecord(raw.conversations)) {
    const { path, url, ...rest } = raw.conversations
    raw.conversations = {
      ...rest,
      ...(rest.store === "sqlite" && path !== undefined ? { path } : {}),
      ...(rest.store === "postgres" && url !== undefined ? { url } : {})
    }
  }

  const envTasks = new Set<string>()
  for (const task of env.taskOrigins.keys()) {
    if (!has(explicit, "routing", "tasks", task)) envTasks.add(task)
  }
  return { raw, envTasks }
}
