/**
 * Env variables (seeds 000-004) folded into the YAML file's shape. Pure: it reads an
 * `EnvSnapshot` and returns a partial config, the problems it found, and which env variable
 * each value came from (so a later schema failure can name the variable, not just the path).
 *
 * Within env, provider-specific variables (`OPENAI_API_KEY`) win over the generic BYOK set
 * (`LLM_API_KEY`); the YAML file wins over both (see configMerge.ts).
 */
import type { ModelEntry } from "../ConfigSchema.ts"
import { envNameOf, type ProviderSpec, specsByType } from "../ProviderSpec.ts"
import type { EnvName, EnvSnapshot } from "./env.ts"
import { type ConfigIssue, showValue } from "./issues.ts"
import { normalizeBaseUrl } from "./urls.ts"

export type RawProvider = Record<string, unknown> & { readonly name: string; readonly type: string }

export interface EnvConfig {
  /** Partial config in the file's shape (secrets still plain strings: they are decoded into `Redacted`). */
  readonly raw: Record<string, unknown>
  /** Providers env switches on (a key, a URL, a model path), in a stable order, BYOK first. */
  readonly providers: ReadonlyArray<RawProvider>
  /** Every provider env mentions by name: fills the missing fields of a same-named provider of the file. */
  readonly shadows: ReadonlyMap<string, RawProvider>
  /** The model env names for each provider (`OPENAI_MODEL` over `LLM_MODEL`): the default fallback order. */
  readonly primaryModels: ReadonlyMap<string, string>
  /** `server.port` → `LLM_GATEWAY_PORT`; provider fields as `provider:<name>.<field>`. */
  readonly origins: ReadonlyMap<string, string>
  /** For each task set by env, the variable behind each entry. */
  readonly taskOrigins: ReadonlyMap<string, ReadonlyArray<string>>
  /** Applied after merging to every provider without its own limit. */
  readonly rpm: number | undefined
  readonly tpm: number | undefined
  readonly issues: ReadonlyArray<ConfigIssue>
}

export const providerOrigin = (provider: string, field: string): string => `provider:${provider}.${field}`

interface GenericKind {
  readonly name: string
  readonly type: string
}

const kindOf = (spec: ProviderSpec): GenericKind => ({ name: envNameOf(spec), type: spec.type })

/** `LLM_PROVIDER` values → the type and provider name they select, from the definitions. */
const genericKindsOf = (specs: ReadonlyArray<ProviderSpec>): Map<string, GenericKind> => {
  const kinds = new Map<string, GenericKind>()
  for (const spec of specs) for (const alias of spec.env?.generic?.aliases ?? []) kinds.set(alias, kindOf(spec))
  return kinds
}

/** Without LLM_PROVIDER, guess from the key and URL (a generic BYOK setup sets only LLM_BASE_URL + LLM_API_KEY: notes/configuration.md). */
const inferGeneric = (
  specs: ReadonlyArray<ProviderSpec>,
  apiKey: string | undefined,
  baseUrl: string | undefined
): GenericKind | undefined => {
  const find = (p: (g: NonNullable<NonNullable<ProviderSpec["env"]>["generic"]>) => boolean) => {
    const spec = specs.find((s) => s.env?.generic !== undefined && p(s.env.generic))
    return spec === undefined ? undefined : kindOf(spec)
  }
  const byKey = apiKey === undefined ? undefined : find((g) => g.keyPrefix !== undefined && apiKey.startsWith(g.keyPrefix))
  if (byKey !== undefined) return byKey
  if (baseUrl === undefined) return find((g) => g.fallback === "withoutUrl")
  let host = ""
  try {
    host = new URL(baseUrl).hostname
  } catch {
    return find((g) => g.fallback === "otherUrl")
  }
  return find((g) => g.host?.(host) === true) ?? find((g) => g.fallback === "otherUrl")
}

/** Every env variable the definitions read (`readEnv` snapshots them with the gateway's own). */
export const providerEnvNames = (specs: ReadonlyArray<ProviderSpec>): Array<string> =>
  specs.flatMap((s) => [...(s.env?.fields ?? []).flatMap((f) => f.vars), ...(s.env?.model === undefined ? [] : [s.env.model.var])])

export const fromEnv = (env: EnvSnapshot, specs: ReadonlyArray<ProviderSpec>): EnvConfig => {
  const specOf = specsByType(specs)
  const issues: Array<ConfigIssue> = []
  const origins = new Map<string, string>()
  const str = (name: string): string | undefined => {
    const v = env.get(name)?.trim()
    return v === undefined || v === "" ? undefined : v
  }
  const invalid = (name: string, expected: string) => {
    const shown = showValue(str(name))
    issues.push({ path: name, message: shown === undefined ? `expected ${expected}` : `expected ${expected}, got ${shown}` })
    return undefined
  }
  const int = (name: string): number | undefined => {
    const s = str(name)
    if (s === undefined) return undefined
    return /^[-+]?\d+$/.test(s) ? Number(s) : invalid(name, "an integer")
  }
  const positiveInt = (name: string): number | undefined => {
    const n = int(name)
    return n === undefined || n > 0 ? n : invalid(name, "a positive integer")
  }
  const finite = (name: string): number | undefined => {
    const s = str(name)
    if (s === undefined) return undefined
    const n = Number(s)
    return Number.isFinite(n) ? n : invalid(name, "a number")
  }
  const bool = (name: string): boolean | undefined => {
    const s = str(name)?.toLowerCase()
    if (s === undefined) return undefined
    if (["true", "1", "yes", "on", "y"].includes(s)) return true
    if (["false", "0", "no", "off", "n"].includes(s)) return false
    return invalid(name, "true or false")
  }
  const seconds = (name: string): number | undefined => {
    const s = str(name)
    if (s === undefined) return undefined
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(s)
    if (m === null) return invalid(name, "seconds (3600) or a duration (30m, 24h)")
    const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s").toLowerCase() as "s"]
    return Math.ceil(Number(m[1]) * factor)
  }
  /** Sets `obj[key]` when the env value exists, remembering which variable it came from. */
  const put = (obj: Record<string, unknown>, origin: string, key: string, name: string, value: unknown) => {
    if (value === undefined) return
    obj[key] = value
    origins.set(origin, name)
  }

  // ---- providers -------------------------------------------------------------------------
  // Every provider env mentions is collected; only those a variable switches on (a key, a URL,
  // a model path) are added on their own. The rest only fill a same-named provider of the file.
  const byName = new Map<string, Record<string, unknown>>()
  const order: Array<string> = []
  const active = new Set<string>()
  const named = new Map<string, Array<string>>()
  const touch = (name: string, type: string) => {
    let p = byName.get(name)
    if (p === undefined) {
      p = { name, type }
      byName.set(name, p)
      order.push(name)
    }
    return p
  }
  const activate = (name: string, type: string, on: unknown) => {
    if (on === undefined) return
    touch(name, type)
    active.add(name)
  }
  /** Specific variables are applied after the generic set, so they overwrite it field by field. */
  const setField = (name: string, type: string, field: string, envName: string, value: unknown) => {
    if (value !== undefined) put(touch(name, type), providerOrigin(name, field), field, envName, value)
  }
  const nameModel = (name: string, type: string, id: string | undefined) => {
    if (id === undefined) return
    touch(name, type)
    // applied after the generic LLM_MODEL, the specific variable becomes the primary choice
    named.set(name, [id, ...(named.get(name) ?? []).filter((m) => m !== id)])
  }
  const url = (name: string, type: string) => {
    const s = str(name)
    return s === undefined ? undefined : normalizeBaseUrl(s, specOf.get(type))
  }

  const genericEnabled = bool("LLM_ENABLED") ?? true
  const genericProvider = str("LLM_PROVIDER")?.toLowerCase()
  if (genericEnabled && (genericProvider ?? str("LLM_API_KEY") ?? str("LLM_BASE_URL")) !== undefined) {
    const kinds = genericKindsOf(specs)
    const generic = genericProvider === undefined
      ? inferGeneric(specs, str("LLM_API_KEY"), str("LLM_BASE_URL"))
      : kinds.get(genericProvider)
    if (generic === undefined) {
      invalid("LLM_PROVIDER", `one of ${[...kinds.keys()].join(", ")}`)
    } else {
      activate(generic.name, generic.type, true)
      setField(generic.name, generic.type, "apiKey", "LLM_API_KEY", str("LLM_API_KEY"))
      setField(generic.name, generic.type, "baseUrl", "LLM_BASE_URL", url("LLM_BASE_URL", generic.type))
      nameModel(generic.name, generic.type, str("LLM_MODEL"))
    }
  }

  // Each definition's variables, in definition order; within one, the first set of `vars` wins.
  for (const spec of specs) {
    if (spec.env === undefined) continue
    const name = envNameOf(spec)
    const { type } = spec
    const values = (spec.env.fields ?? []).map((f) => {
      const envName = f.vars.find((v) => str(v) !== undefined) ?? f.vars[0]
      const kind = f.kind ?? "string"
      const value = kind === "url" ? url(envName, type) : kind === "int" ? int(envName) : kind === "number" ? finite(envName) : str(envName)
      return { f, envName, value }
    })
    const model = spec.env.model
    const modelValue = model === undefined ? undefined : str(model.var)
    activate(name, type, values.find((v) => v.f.activates === true && v.value !== undefined)?.value ?? (model?.activates === true ? modelValue : undefined))
    for (const { envName, f, value } of values) {
      const [head, ...rest] = f.field.split(".")
      if (rest.length === 0) setField(name, type, head, envName, value)
      else if (value !== undefined) {
        // a nested field (`defaults.maxTokens`): the section object is made only when a variable sets it
        const p = touch(name, type)
        const section = (p[head] ??= {}) as Record<string, unknown>
        put(section, providerOrigin(name, f.field), rest.join("."), envName, value)
      }
    }
    if (model !== undefined && modelValue !== undefined) nameModel(name, type, model.id === undefined ? modelValue : model.id(modelValue))
  }

  const all = new Map<string, RawProvider>()
  for (const name of order) {
    const p = byName.get(name)! as RawProvider
    const ids = named.get(name) ?? []
    const spec = specOf.get(p.type)
    const catalog = spec?.models ?? []
    const first: Array<ModelEntry> = ids.map((id) => catalog.find((m) => m.id === id) ?? { id })
    // a model loaded in-process (LLM_LOCAL_CONTEXT_LENGTH) has the window it is loaded with
    if (typeof p.contextLength === "number" && first.length > 0) {
      first[0] = { ...first[0], contextWindow: p.contextLength }
    }
    const fallbackUrl = spec?.defaultBaseUrl !== undefined && spec.clientDefaultsBaseUrl !== true ? spec.defaultBaseUrl : undefined
    if (active.has(name) && p.baseUrl === undefined && fallbackUrl !== undefined) p.baseUrl = fallbackUrl
    // Shadows get models only when env names one, so a file's provider keeps its own list otherwise.
    if (active.has(name) || ids.length > 0) p.models = [...first, ...catalog.filter((m) => !ids.includes(m.id))]
    all.set(name, p)
  }
  const primaryModels = new Map<string, string>()
  for (const [name, ids] of named) primaryModels.set(name, ids[0])

  // ---- everything else -------------------------------------------------------------------
  const raw: Record<string, unknown> = {}
  const section = (key: string) => (raw[key] ??= {}) as Record<string, unknown>

  const routing: Record<string, unknown> = {}
  put(routing, "routing.strategy", "strategy", "LLM_ROUTING_STRATEGY", str("LLM_ROUTING_STRATEGY")?.toLowerCase())
  put(routing, "routing.maxRetries", "maxRetries", "LLM_MAX_RETRIES", int("LLM_MAX_RETRIES"))
  put(routing, "routing.timeoutMs", "timeoutMs", "LLM_TIMEOUT_MS", int("LLM_TIMEOUT_MS"))
  put(routing, "routing.attemptTimeoutMs", "attemptTimeoutMs", "LLM_ATTEMPT_TIMEOUT_MS", int("LLM_ATTEMPT_TIMEOUT_MS"))
  const tasks: Record<string, Array<string>> = {}
  const taskOrigins = new Map<string, Array<string>>()
  for (const v of env.taskVars) {
    ;(tasks[v.task] ??= []).push(v.value)
    taskOrigins.set(v.task, [...(taskOrigins.get(v.task) ?? []), v.name])
  }
  if (Object.keys(tasks).length > 0) routing.tasks = tasks
  if (Object.keys(routing).length > 0) raw.routing = routing

  const cacheTtlName: EnvName = str("LLM_CACHE_TTL_SECONDS") !== undefined ? "LLM_CACHE_TTL_SECONDS" : "LLM_CACHE_TTL"
  put(section("cache"), "cache.enabled", "enabled", "LLM_CACHE_ENABLED", bool("LLM_CACHE_ENABLED"))
  put(section("cache"), "cache.ttlSeconds", "ttlSeconds", cacheTtlName, seconds(cacheTtlName))
  put(section("cache"), "cache.maxSize", "maxSize", "LLM_CACHE_SIZE", int("LLM_CACHE_SIZE"))

  const redisUrl = str("REDIS_URL")
  if (redisUrl !== undefined) raw.redis = { url: redisUrl }
  const conversations = section("conversations")
  put(conversations, "conversations.store", "store", "LLM_CONVERSATIONS_STORE", str("LLM_CONVERSATIONS_STORE")?.toLowerCase())
  put(conversations, "conversations.path", "path", "LLM_CONVERSATIONS_PATH", str("LLM_CONVERSATIONS_PATH"))
  put(conversations, "conversations.url", "url", "DATABASE_URL", str("DATABASE_URL"))
  put(section("database"), "database.url", "url", "DATABASE_URL", str("DATABASE_URL"))

  const server = section("server")
  put(server, "server.host", "host", "LLM_GATEWAY_HOST", str("LLM_GATEWAY_HOST"))
  put(server, "server.port", "port", "LLM_GATEWAY_PORT", int("LLM_GATEWAY_PORT"))
  const keys = str("LLM_GATEWAY_API_KEYS")?.split(",").map((k) => k.trim()).filter((k) => k !== "")
  put(server, "server.apiKeys", "apiKeys", "LLM_GATEWAY_API_KEYS", keys)

  for (const key of Object.keys(raw)) {
    const v = raw[key]
    if (typeof v === "object" && v !== null && Object.keys(v).length === 0) delete raw[key]
  }
  return {
    raw,
    providers: order.filter((n) => active.has(n)).map((n) => all.get(n)!),
    shadows: all,
    primaryModels,
    origins,
    taskOrigins,
    rpm: positiveInt("LLM_RPM"),
    tpm: positiveInt("LLM_TPM"),
    issues
  }
}
