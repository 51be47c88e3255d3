/**
 * Env variables (seeds 000-004) folded into the YAML file's shape. Pure: it reads an
 * `EnvSnapshot` and returns a partial config, the problems it found, and which env variable
 * each value came from (so a later schema failure can name the variable, not just the path).
 *
 * Within env, provider-specific variables (`OPENAI_API_KEY`) win over the generic BYOK set
 * (`LLM_API_KEY`); the YAML file wins over both (see configMerge.ts).
 */
import * as ModelCatalog from "../ModelCatalog.ts"
import type { ModelEntry, ProviderType } from "../ConfigSchema.ts"
import type { EnvName, EnvSnapshot } from "./env.ts"
import { type ConfigIssue, showValue } from "./issues.ts"
import { normalizeBaseUrl } from "./urls.ts"

export type RawProvider = Record<string, unknown> & { readonly name: string; readonly type: ProviderType }

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
  readonly type: ProviderType
}

const genericKinds: Record<string, GenericKind> = {
  openai: { name: "openai", type: "openai" },
  anthropic: { name: "anthropic", type: "anthropic" },
  claude: { name: "anthropic", type: "anthropic" },
  google: { name: "gemini", type: "gemini" },
  gemini: { name: "gemini", type: "gemini" },
  ollama: { name: "ollama", type: "ollama" },
  "openai-compatible": { name: "openai-compatible", type: "openai-compatible" },
  vllm: { name: "vllm", type: "vllm" },
  lmstudio: { name: "lmstudio", type: "lmstudio" },
  "lm-studio": { name: "lmstudio", type: "lmstudio" }
}

const defaultBaseUrls: Partial<Record<ProviderType, string>> = {
  ollama: "http://127.0.0.1:11434",
  vllm: "http://127.0.0.1:8000/v1",
  lmstudio: "http://127.0.0.1:1234/v1",
  gemini: "https://generativelanguage.googleapis.com/v1beta/openai"
}

export const defaultBaseUrl = (type: ProviderType): string | undefined => defaultBaseUrls[type]

/** Without LLM_PROVIDER, guess from the key and URL (seed 002 sets only LLM_BASE_URL + LLM_API_KEY). */
const inferGeneric = (apiKey: string | undefined, baseUrl: string | undefined): GenericKind => {
  if (apiKey?.startsWith("sk-ant-")) return genericKinds.anthropic
  if (baseUrl === undefined) return genericKinds.openai
  let host = ""
  try {
    host = new URL(baseUrl).hostname
  } catch {
    return genericKinds["openai-compatible"]
  }
  if (host === "api.openai.com") return genericKinds.openai
  if (host.endsWith("anthropic.com")) return genericKinds.anthropic
  if (host === "generativelanguage.googleapis.com") return genericKinds.gemini
  return genericKinds["openai-compatible"]
}

/** `/models/qwen2.5-0.5b-instruct-q4_k_m.gguf` → `qwen2.5-0.5b-instruct-q4_k_m`. */
export const localModelId = (modelPath: string): string => {
  const base = modelPath.split(/[\\/]/).filter((s) => s !== "").at(-1) ?? modelPath
  return base.toLowerCase().endsWith(".gguf") ? base.slice(0, -5) : base
}

export const fromEnv = (env: EnvSnapshot): EnvConfig => {
  const issues: Array<ConfigIssue> = []
  const origins = new Map<string, string>()
  const str = (name: EnvName): string | undefined => {
    const v = env.get(name)?.trim()
    return v === undefined || v === "" ? undefined : v
  }
  const invalid = (name: EnvName, expected: string) => {
    const shown = showValue(str(name))
    issues.push({ path: name, message: shown === undefined ? `expected ${expected}` : `expected ${expected}, got ${shown}` })
    return undefined
  }
  const int = (name: EnvName): number | undefined => {
    const s = str(name)
    if (s === undefined) return undefined
    return /^[-+]?\d+$/.test(s) ? Number(s) : invalid(name, "an integer")
  }
  const positiveInt = (name: EnvName): number | undefined => {
    const n = int(name)
    return n === undefined || n > 0 ? n : invalid(name, "a positive integer")
  }
  const finite = (name: EnvName): number | undefined => {
    const s = str(name)
    if (s === undefined) return undefined
    const n = Number(s)
    return Number.isFinite(n) ? n : invalid(name, "a number")
  }
  const bool = (name: EnvName): boolean | undefined => {
    const s = str(name)?.toLowerCase()
    if (s === undefined) return undefined
    if (["true", "1", "yes", "on", "y"].includes(s)) return true
    if (["false", "0", "no", "off", "n"].includes(s)) return false
    return invalid(name, "true or false")
  }
  const seconds = (name: EnvName): number | undefined => {
    const s = str(name)
    if (s === undefined) return undefined
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(s)
    if (m === null) return invalid(name, "seconds (3600) or a duration (30m, 24h)")
    const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s").toLowerCase() as "s"]
    return Math.ceil(Number(m[1]) * factor)
  }
  /** Sets `obj[key]` when the env value exists, remembering which variable it came from. */
  const put = (obj: Record<string, unknown>, origin: string, key: string, name: EnvName, value: unknown) => {
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
  const touch = (name: string, type: ProviderType) => {
    let p = byName.get(name)
    if (p === undefined) {
      p = { name, type }
      byName.set(name, p)
      order.push(name)
    }
    return p
  }
  const activate = (name: string, type: ProviderType, on: unknown) => {
    if (on === undefined) return
    touch(name, type)
    active.add(name)
  }
  /** Specific variables are applied after the generic set, so they overwrite it field by field. */
  const setField = (name: string, type: ProviderType, field: string, envName: EnvName, value: unknown) => {
    if (value !== undefined) put(touch(name, type), providerOrigin(name, field), field, envName, value)
  }
  const nameModel = (name: string, type: ProviderType, id: string | undefined) => {
    if (id === undefined) return
    touch(name, type)
    // applied after the generic LLM_MODEL, the specific variable becomes the primary choice
    named.set(name, [id, ...(named.get(name) ?? []).filter((m) => m !== id)])
  }
  const url = (name: EnvName, type: ProviderType) => {
    const s = str(name)
    return s === undefined ? undefined : normalizeBaseUrl(s, type)
  }

  const genericEnabled = bool("LLM_ENABLED") ?? true
  const genericProvider = str("LLM_PROVIDER")?.toLowerCase()
  if (genericEnabled && (genericProvider ?? str("LLM_API_KEY") ?? str("LLM_BASE_URL")) !== undefined) {
    const generic = genericProvider === undefined
      ? inferGeneric(str("LLM_API_KEY"), str("LLM_BASE_URL"))
      : genericKinds[genericProvider]
    if (generic === undefined) {
      invalid("LLM_PROVIDER", `one of ${Object.keys(genericKinds).join(", ")}`)
    } else {
      activate(generic.name, generic.type, true)
      setField(generic.name, generic.type, "apiKey", "LLM_API_KEY", str("LLM_API_KEY"))
      setField(generic.name, generic.type, "baseUrl", "LLM_BASE_URL", url("LLM_BASE_URL", generic.type))
      nameModel(generic.name, generic.type, str("LLM_MODEL"))
    }
  }

  activate("openai", "openai", str("OPENAI_API_KEY") ?? str("OPENAI_BASE_URL"))
  setField("openai", "openai", "apiKey", "OPENAI_API_KEY", str("OPENAI_API_KEY"))
  setField("openai", "openai", "baseUrl", "OPENAI_BASE_URL", url("OPENAI_BASE_URL", "openai"))
  nameModel("openai", "openai", str("OPENAI_MODEL"))
  const maxTokens = int("OPENAI_MAX_TOKENS")
  const temperature = finite("OPENAI_TEMPERATURE")
  if (maxTokens !== undefined || temperature !== undefined) {
    const defaults: Record<string, unknown> = {}
    put(defaults, providerOrigin("openai", "defaults.maxTokens"), "maxTokens", "OPENAI_MAX_TOKENS", maxTokens)
    put(defaults, providerOrigin("openai", "defaults.temperature"), "temperature", "OPENAI_TEMPERATURE", temperature)
    touch("openai", "openai").defaults = defaults
  }

  const claudeKey: EnvName = str("CLAUDE_API_KEY") !== undefined ? "CLAUDE_API_KEY" : "ANTHROPIC_API_KEY"
  activate("anthropic", "anthropic", str(claudeKey) ?? str("ANTHROPIC_BASE_URL"))
  setField("anthropic", "anthropic", "apiKey", claudeKey, str(claudeKey))
  setField("anthropic", "anthropic", "baseUrl", "ANTHROPIC_BASE_URL", url("ANTHROPIC_BASE_URL", "anthropic"))
  nameModel("anthropic", "anthropic", str("CLAUDE_MODEL"))

  activate("gemini", "gemini", str("GEMINI_API_KEY"))
  setField("gemini", "gemini", "apiKey", "GEMINI_API_KEY", str("GEMINI_API_KEY"))
  nameModel("gemini", "gemini", str("GEMINI_MODEL"))

  activate("lmstudio", "lmstudio", str("LM_STUDIO_ENDPOINT") ?? str("LM_STUDIO_MODEL"))
  setField("lmstudio", "lmstudio", "baseUrl", "LM_STUDIO_ENDPOINT", url("LM_STUDIO_ENDPOINT", "lmstudio"))
  nameModel("lmstudio", "lmstudio", str("LM_STUDIO_MODEL"))

  activate("ollama", "ollama", str("OLLAMA_BASE_URL") ?? str("OLLAMA_MODEL"))
  setField("ollama", "ollama", "baseUrl", "OLLAMA_BASE_URL", url("OLLAMA_BASE_URL", "ollama"))
  nameModel("ollama", "ollama", str("OLLAMA_MODEL"))

  activate("vllm", "vllm", str("VLLM_BASE_URL") ?? str("VLLM_MODEL"))
  setField("vllm", "vllm", "baseUrl", "VLLM_BASE_URL", url("VLLM_BASE_URL", "vllm"))
  setField("vllm", "vllm", "apiKey", "VLLM_API_KEY", str("VLLM_API_KEY"))
  nameModel("vllm", "vllm", str("VLLM_MODEL"))

  const modelPath = str("LLM_LOCAL_MODEL_PATH")
  activate("local", "llamacpp", modelPath)
  setField("local", "llamacpp", "modelPath", "LLM_LOCAL_MODEL_PATH", modelPath)
  setField("local", "llamacpp", "threads", "LLM_LOCAL_THREADS", int("LLM_LOCAL_THREADS"))
  setField("local", "llamacpp", "contextLength", "LLM_LOCAL_CONTEXT_LENGTH", int("LLM_LOCAL_CONTEXT_LENGTH"))
  if (modelPath !== undefined) nameModel("local", "llamacpp", localModelId(modelPath))

  const all = new Map<string, RawProvider>()
  for (const name of order) {
    const p = byName.get(name)! as RawProvider
    const ids = named.get(name) ?? []
    const catalog = ModelCatalog.forType(p.type)
    const first: Array<ModelEntry> = ids.map((id) => catalog.find((m) => m.id === id) ?? { id })
    if (p.type === "llamacpp" && typeof p.contextLength === "number" && first.length > 0) {
      first[0] = { ...first[0], contextWindow: p.contextLength }
    }
    const fallbackUrl = defaultBaseUrl(p.type)
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
