/**
 * Decoding the merged config into `GatewayConfig`, plus the checks a schema cannot express
 * (duplicate names, routes to unknown providers, missing base URLs). Every problem is located:
 * a config path, or the env variable a bad value came from.
 */
import { Effect, Redacted, Schema, SchemaIssue } from "effect"
import { type GatewayConfig, gatewayConfigWith, providerTypesWith } from "../ConfigSchema.ts"
import { type ProviderSpec, specsByType } from "../ProviderSpec.ts"
import type { ConfigurationError } from "../../domain/LLMError.ts"
import { type EnvConfig, providerOrigin } from "./fromEnv.ts"
import {
  type ConfigIssue,
  formatPath,
  isRecord,
  isSafePath,
  showValue,
  toConfigurationError,
  valueAt,
  withoutInput
} from "./issues.ts"
import type { Merged } from "./merge.ts"
import { resolveRoutes } from "./resolve.ts"
import { coerceScalar } from "./yaml.ts"

interface Located {
  readonly segments: ReadonlyArray<PropertyKey>
  readonly message: string
}

const leafHook: SchemaIssue.LeafHook = (issue) => {
  if (issue._tag === "UnexpectedKey") return "unknown key"
  if (issue._tag === "MissingKey") return "is required"
  return SchemaIssue.defaultLeafHook(issue)
}
const formatter = SchemaIssue.makeFormatterStandardSchemaV1({ leafHook })

interface Schemas {
  readonly config: ReturnType<typeof gatewayConfigWith>
  /** The entry's `type` alone: how a type no definition declares is reported. */
  readonly type: Schema.Struct<{ readonly type: ReturnType<typeof providerTypesWith> }>
}

const located = (issue: SchemaIssue.Issue, prefix: ReadonlyArray<PropertyKey> = []): Array<Located> =>
  formatter(issue).issues.map((i) => ({
    segments: [...prefix, ...(i.path ?? []).map((s) => (typeof s === "object" && s !== null && "key" in s ? s.key : s) as PropertyKey)],
    message: withoutInput(i.message)
  }))

/**
 * No member of the providers' union took `providers[i]`: its `type` is missing or no
 * definition's. Reported at `providers[i].type` with the accepted names, not as the union.
 */
const retarget = (raw: unknown, issue: Located, typeSchema: Schemas["type"]): Array<Located> => {
  const [head, index] = issue.segments
  const entry = issue.segments.length === 2 && head === "providers" && typeof index === "number" ? valueAt(raw, issue.segments) : undefined
  if (!isRecord(entry)) return [issue]
  const result = Schema.decodeUnknownResult(typeSchema)("type" in entry ? { type: entry.type } : {}, { errors: "all" })
  return result._tag === "Success" ? [issue] : located(result.failure.issue, issue.segments)
}

const decodeOnce = (raw: unknown, schemas: Schemas) => {
  const result = Schema.decodeUnknownResult(schemas.config)(raw, { errors: "all", onExcessProperty: "error" })
  // an entry is one member of the union of its definition's schema: the rest of the gateway reads its type through its definition
  if (result._tag === "Success") return { ok: true as const, config: result.success as GatewayConfig }
  return { ok: false as const, issues: located(result.failure.issue).flatMap((i) => retarget(raw, i, schemas.type)) }
}

/** Turns a path into the place a user edits: the env variable when the value came from env. */
const locate = (raw: Record<string, unknown>, env: EnvConfig, issue: Located): ConfigIssue => {
  const { segments } = issue
  const path = formatPath(segments)
  let message = issue.message
  const value = valueAt(raw, segments)
  // the value only for settings keys, and only when it does not look like a credential
  const shown = isSafePath(segments) ? showValue(value) : undefined
  if (shown !== undefined) message += `, got ${shown}`
  const last = segments.at(-1)
  if (issue.message === "unknown key" && typeof last === "string" && last.includes("_")) {
    message += ` (keys are camelCase: did you mean ${last.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())}?)`
  }

  let envName: string | undefined
  let envValue: unknown
  if (segments[0] === "providers" && typeof segments[1] === "number") {
    const name = valueAt(raw, ["providers", segments[1], "name"])
    const shadow = typeof name === "string" ? env.shadows.get(name) : undefined
    const rest = segments.slice(2)
    if (shadow !== undefined && rest.length > 0) {
      envName = env.origins.get(providerOrigin(shadow.name, formatPath(rest)))
      envValue = valueAt(shadow, rest)
    }
  } else {
    envName = env.origins.get(path)
    envValue = valueAt(env.raw, segments)
  }
  // the file wins over env: blame the variable only when its value is the one that was kept
  if (envName !== undefined && envValue === value) return { path: envName, message: `${message} (${path})` }
  return { path, message }
}

/** `port: ${PORT}` is a string after interpolation; read it as a number where the schema wants one. */
const coerce = (raw: Record<string, unknown>, issues: ReadonlyArray<Located>, whole: ReadonlySet<string>) => {
  let changed = false
  const copy = structuredClone(raw)
  for (const { segments } of issues) {
    if (!whole.has(formatPath(segments)) || segments.length === 0) continue
    const parent = valueAt(copy, segments.slice(0, -1))
    const key = segments.at(-1)!
    const current = valueAt(copy, segments)
    if (typeof current !== "string" || (!isRecord(parent) && !Array.isArray(parent))) continue
    const next = coerceScalar(current)
    if (next === current) continue
    ;(parent as Record<PropertyKey, unknown>)[key] = next
    changed = true
  }
  return changed ? copy : undefined
}

const isHttpUrl = (s: string): boolean => {
  try {
    const u = new URL(s)
    return u.protocol === "http:" || u.protocol === "https:"
  } catch {
    return false
  }
}

/**
 * A connection URL the driver will accept. Checked here because the drivers throw a bare
 * `TypeError: Invalid URL` (with a stack) at start-up; the message never quotes the URL,
 * which may carry a password.
 */
const urlIssue = (url: Redacted.Redacted<string>, protocols: ReadonlyArray<string>): string | undefined => {
  const expected = `expected a ${protocols.map((p) => `${p}//`).join(" or ")} URL`
  try {
    const u = new URL(Redacted.value(url))
    return protocols.includes(u.protocol) ? undefined : expected
  } catch {
    return `${expected} (it does not parse; a password with @ / : # must be percent-encoded)`
  }
}

const semanticIssues = (config: GatewayConfig, specs: ReadonlyArray<ProviderSpec>): Array<Located> => {
  const specOf = specsByType(specs)
  const issues: Array<Located> = []
  const seen = new Map<string, number>()
  config.providers.forEach((p, i) => {
    const first = seen.get(p.name)
    if (first !== undefined) {
      issues.push({ segments: ["providers", i, "name"], message: `duplicate provider name ${JSON.stringify(p.name)} (also providers[${first}])` })
    } else seen.set(p.name, i)
    const spec = specOf.get(p.type)
    if (spec?.needsBaseUrl === true && p.baseUrl === undefined) {
      issues.push({ segments: ["providers", i, "baseUrl"], message: `provider ${JSON.stringify(p.name)} of type ${p.type} needs a baseUrl` })
    }
    if (p.baseUrl !== undefined && !isHttpUrl(p.baseUrl)) {
      issues.push({ segments: ["providers", i, "baseUrl"], message: "expected an http(s) URL" })
    }
    for (const [field, meaning] of Object.entries(spec?.requiredFields ?? {})) {
      if ((p as Record<string, unknown>)[field] === undefined) {
        issues.push({ segments: ["providers", i, field], message: `provider ${JSON.stringify(p.name)} of type ${p.type} needs a ${field} (${meaning})` })
      }
    }
  })
  if (config.server.metricsAuth === true && config.server.apiKeys.length === 0) {
    issues.push({ segments: ["server", "metricsAuth"], message: "needs server.apiKeys: a scraper must have a key to present" })
  }
  config.server.apiKeys.forEach((k, i) => {
    if (Redacted.value(k).trim() === "") {
      issues.push({ segments: ["server", "apiKeys", i], message: "is empty (an unset variable with an empty default?)" })
    }
  })
  if (config.conversations.store === "postgres" && config.conversations.url === undefined) {
    issues.push({ segments: ["conversations", "url"], message: "store postgres needs a url (or set DATABASE_URL)" })
  }
  const redisUrl = config.redis === undefined ? undefined : urlIssue(config.redis.url, ["redis:", "rediss:"])
  if (redisUrl !== undefined) issues.push({ segments: ["redis", "url"], message: redisUrl })
  const pgUrl = config.conversations.store === "postgres" && config.conversations.url !== undefined
    ? urlIssue(config.conversations.url, ["postgres:", "postgresql:"])
    : undefined
  if (pgUrl !== undefined) issues.push({ segments: ["conversations", "url"], message: pgUrl })
  return issues
}

/** Decodes, checks and resolves routes; fails with one `ConfigurationError` listing every problem. */
export const validate = (
  merged: Merged,
  env: EnvConfig,
  wholeReferences: ReadonlySet<string>,
  specs: ReadonlyArray<ProviderSpec>
): Effect.Effect<GatewayConfig, ConfigurationError> =>
  Effect.suspend(() => {
    const schema: Schemas = { config: gatewayConfigWith(specs), type: Schema.Struct({ type: providerTypesWith(specs) }) }
    let raw = merged.raw
    let decoded = decodeOnce(raw, schema)
    if (!decoded.ok) {
      const coerced = coerce(raw, decoded.issues, wholeReferences)
      if (coerced !== undefined) {
        raw = coerced
        decoded = decodeOnce(raw, schema)
      }
    }
    if (!decoded.ok) return Effect.fail(toConfigurationError(decoded.issues.map((i) => locate(raw, env, i))))
    const semantic = semanticIssues(decoded.config, specs)
    const routes = resolveRoutes(decoded.config, { envTasks: merged.envTasks, taskOrigins: env.taskOrigins }, specs)
    const issues = [...semantic.map((i) => locate(raw, env, i)), ...routes.issues]
    return issues.length > 0 ? Effect.fail(toConfigurationError(issues)) : Effect.succeed(routes.config)
  })
