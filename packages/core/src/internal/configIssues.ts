/**
 * Problems found while loading configuration, and how they become one `ConfigurationError`.
 * Every problem names where it is: a config path (`providers[1].type`), an env variable
 * (`LLM_GATEWAY_PORT`) or a file position (`gateway.yaml:3:7`).
 */
import { ConfigurationError } from "../LLMError.ts"

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

/** A short, safe rendering of a scalar for "got …" in messages (secrets are never passed here). */
export const showValue = (u: unknown): string | undefined => {
  if (typeof u === "string") return JSON.stringify(u.length > 60 ? `${u.slice(0, 57)}...` : u)
  if (typeof u === "number" || typeof u === "boolean" || u === null) return String(u)
  return undefined
}
