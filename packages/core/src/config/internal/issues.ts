/**
 * Problems found while loading configuration, and how they become one `ConfigurationError`.
 * Every problem names where it is: a config path (`providers[1].type`), an env variable
 * (`LLM_GATEWAY_PORT`) or a file position (`gateway.yaml:3:7`).
 */
import { ConfigurationError } from "../../domain/LLMError.ts"

export interface ConfigIssue {
  readonly path: string
  readonly message: string
}

export type Segment = string | number

/** A plain object (not an array, not a class instance such as `Redacted`). */
export const isRecord = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$-]*$/

/** `["providers", 1, "type"]` → `providers[1].type`; odd keys are quoted: `routing.tasks["a b"]`. */
export const formatPath = (segments: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const seg of segments) {
    if (typeof seg === "number") out += `[${seg}]`
    else {
      const key = String(seg)
      if (identifier.test(key)) out += out === "" ? key : `.${key}`
      else out += `[${JSON.stringify(key)}]`
    }
  }
  return out
}

const secretKeys: ReadonlySet<string> = new Set(["apiKey", "apiKeys", "headers", "url"])

/** Values under these keys are secrets: never quote them back in a message. */
export const isSecretPath = (segments: ReadonlyArray<PropertyKey>): boolean =>
  segments.some((s) => typeof s === "string" && secretKeys.has(s))

/** The value at `segments` in a plain JSON-like tree. */
export const valueAt = (root: unknown, segments: ReadonlyArray<PropertyKey>): unknown => {
  let cur = root
  for (const seg of segments) {
    if (Array.isArray(cur) && typeof seg === "number") cur = cur[seg]
    else if (isRecord(cur) && typeof seg === "string") cur = cur[seg]
    else return undefined
  }
  return cur
}

/**
 * One error for all problems: the first one's path, and a message that lists the rest, so a
 * user fixes a config file in one round rather than one problem per restart.
 */
export const toConfigurationError = (issues: ReadonlyArray<ConfigIssue>): ConfigurationError => {
  const [first, ...rest] = issues
  if (rest.length === 0) return new ConfigurationError({ path: first.path, message: first.message })
  const more = rest.map((i) => `${i.path}: ${i.message}`).join("; ")
  return new ConfigurationError({
    path: first.path,
    message: `${first.message} (and ${rest.length} more: ${more})`
  })
}

/**
 * Leaf keys holding settings, never credentials: only their values may be quoted in an error
 * ("got …"). A value under any other key — a misspelled `api_key`, a `baseUrl` with a token in
 * it, an unknown top-level key — may be a secret, so an error names the path and the problem.
 */
const safeKeys: ReadonlySet<string> = new Set([
  "name", "type", "strategy", "loadBalancing", "unknownTasks", "store", "host", "port", "maxBodyBytes",
  "metricsAuth", "rpm", "tpm", "maxRetries", "timeoutMs", "attemptTimeoutMs", "queueMs", "enabled",
  "ttlSeconds", "maxSize", "threshold", "contextWindow", "inputCostPer1M", "outputCostPer1M",
  "cachedInputCostPer1M", "cacheWriteCostPer1M", "maxOutputTokens", "embedding", "weight",
  "failureThreshold", "successThreshold", "openMs", "contextLength", "threads", "gpu", "contexts",
  "maxTokens", "temperature", "storeBodies", "flushMs", "maxBuffer", "ui"
])

/** True when `segments` ends in a settings key (see `safeKeys`) and nothing on the way is secret. */
export const isSafePath = (segments: ReadonlyArray<PropertyKey>): boolean => {
  const last = segments.at(-1)
  return typeof last === "string" && safeKeys.has(last) && !isSecretPath(segments)
}

/**
 * A value that could be a credential even under a settings key (`strategy: ${OPENAI_API_KEY}`
 * by mistake): a well-known key prefix, a URL with credentials, or a long token of letters
 * and digits.
 */
export const looksSecret = (s: string): boolean =>
  /^(sk|pk|rk|ak|key|xox[abpr]|gh[pousr]|glpat|AKIA|AIza|hf|eyJ)[-_]?/i.test(s) && s.length >= 12 ||
  /:\/\/[^/\s]*@/.test(s) ||
  s.length > 40 ||
  (s.length >= 16 && !/\s/.test(s) && /[A-Za-z]/.test(s) && /[0-9]/.test(s))

/** A short rendering of a scalar for "got …" in messages, or `undefined` when it might be a secret. */
export const showValue = (u: unknown): string | undefined => {
  if (typeof u === "string") return looksSecret(u) ? undefined : JSON.stringify(u)
  if (typeof u === "number" || typeof u === "boolean" || u === null) return String(u)
  return undefined
}

/**
 * Schema's messages quote the input (`Expected "cost" | …, got "sk-…"`, `Invalid data …`):
 * keep the expectation only; `showValue` adds the value back where it is safe.
 */
export const withoutInput = (message: string): string => {
  const got = message.indexOf(", got ")
  if (got >= 0) return message.slice(0, got)
  if (message.startsWith("Invalid data ")) return "invalid value"
  if (message.startsWith("Expected exactly one member to match the input")) return "Expected exactly one member to match"
  return message
}
