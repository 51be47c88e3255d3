/**
 * A printable summary of a loaded config for the CLI banner and `gateway models`: providers,
 * base URLs, models, routing and storage. Secrets are masked (`sk-…abcd`), never printed whole.
 */
import { Redacted } from "effect"
import type { GatewayConfig, ProviderConfig } from "../ConfigSchema.ts"

/** `sk-proj-abc…` → `sk-proj-…wxyz`; short secrets (where 4 characters are a big share) → `***`. */
export const maskSecret = (secret: Redacted.Redacted<string> | string): string => {
  const value = typeof secret === "string" ? secret : Redacted.value(secret)
  if (value.length < 16) return "***"
  const prefix = /^(sk-ant-|sk-proj-|sk-)/.exec(value)?.[1] ?? ""
  return `${prefix}…${value.slice(-4)}`
}

/** `postgres://user:pass@host:5432/db` → `postgres://host:5432/db` (credentials dropped). */
export const maskUrl = (secret: Redacted.Redacted<string>): string => {
  try {
    const u = new URL(Redacted.value(secret))
    const auth = u.username !== "" || u.password !== "" ? "***@" : ""
    return `${u.protocol}//${auth}${u.host}${u.pathname === "/" ? "" : u.pathname}`
  } catch {
    return "***"
  }
}

const price = (n: number | undefined): string => (n === undefined ? "?" : `$${n}`)

export interface DescribeOptions {
  /** List every model (default: the first few per provider, then a count). */
  readonly allModels?: boolean | undefined
}

const modelsShown = 6

const describeProvider = (p: ProviderConfig, options: DescribeOptions): Array<string> => {
  const where = p.type === "llamacpp" ? p.modelPath ?? "(no model file)" : p.baseUrl ?? "(SDK default URL)"
  const facts = [
    p.apiKey === undefined ? undefined : `key ${maskSecret(p.apiKey)}`,
    p.headers === undefined ? undefined : `headers ${Object.keys(p.headers).join(", ")}`,
    p.rpm === undefined ? undefined : `rpm ${p.rpm}`,
    p.tpm === undefined ? undefined : `tpm ${p.tpm}`,
    p.threads === undefined ? undefined : `threads ${p.threads}`,
    p.contextLength === undefined ? undefined : `context ${p.contextLength}`
  ].filter((s) => s !== undefined)
  const lines = [`  ${p.name} (${p.type}) ${where}${facts.length > 0 ? ` — ${facts.join(", ")}` : ""}`]
  if (p.models.length === 0) lines.push("    (no models listed)")
  const shown = options.allModels ? p.models : p.models.slice(0, modelsShown)
  for (const m of shown) {
    const bits = [
      m.embedding ? "embedding" : undefined,
      m.contextWindow === undefined ? undefined : `ctx ${m.contextWindow}`,
      m.inputCostPer1M === undefined && m.outputCostPer1M === undefined
        ? undefined
        : `${price(m.inputCostPer1M)}/${price(m.outputCostPer1M)} per 1M`,
      m.alias === undefined ? undefined : `alias ${m.alias}`
    ].filter((s) => s !== undefined)
    lines.push(`    ${p.name}/${m.id}${bits.length > 0 ? `  ${bits.join(", ")}` : ""}`)
  }
  if (shown.length < p.models.length) lines.push(`    … ${p.models.length - shown.length} more`)
  return lines
}

/** A multi-line, secret-free summary of the config. */
export const describeConfig = (config: GatewayConfig, options: DescribeOptions = {}): string => {
  const { server, routing, cache, conversations } = config
  const lines: Array<string> = [
    `server: http://${server.host}:${server.port}` +
    (server.apiKeys.length > 0 ? ` (${server.apiKeys.length} API key${server.apiKeys.length > 1 ? "s" : ""}: ${server.apiKeys.map(maskSecret).join(", ")})` : " (no API key required)"),
    `providers (${config.providers.length}):`
  ]
  if (config.providers.length === 0) lines.push("  (none: set OPENAI_API_KEY, CLAUDE_API_KEY, OLLAMA_BASE_URL, … or a config file)")
  for (const p of config.providers) lines.push(...describeProvider(p, options))
  lines.push(
    `routing: strategy ${routing.strategy}, retries ${routing.maxRetries}, timeout ${routing.timeoutMs} ms ` +
      `(attempt ${routing.attemptTimeoutMs} ms), load balancing ${routing.loadBalancing}, breaker ` +
      `${routing.circuitBreaker.failureThreshold} failures / ${routing.circuitBreaker.openMs} ms`
  )
  if (routing.fallbackOrder.length > 0) lines.push(`  fallback: ${routing.fallbackOrder.join(" → ")}`)
  for (const [task, models] of Object.entries(routing.tasks)) lines.push(`  task ${task}: ${models.join(" → ")}`)
  lines.push(
    `cache: ${cache.enabled ? `on, ttl ${cache.ttlSeconds} s, max ${cache.maxSize} entries` : "off"}` +
      (cache.semantic.enabled ? `, semantic ≥ ${cache.semantic.threshold}${cache.semantic.model ? ` via ${cache.semantic.model}` : ""}` : "")
  )
  if (config.redis !== undefined) lines.push(`redis: ${maskUrl(config.redis.url)}`)
  lines.push(
    `conversations: ${conversations.store}` +
      (conversations.store === "sqlite" && conversations.path !== undefined ? ` ${conversations.path}` : "") +
      (conversations.url !== undefined ? ` ${maskUrl(conversations.url)}` : "")
  )
  return lines.join("\n")
}
