/**
 * The YAML file: parsing (with positions, never with source excerpts, since a line may hold a
 * key) and `${VAR}` / `${VAR:-default}` interpolation in string values. `$${` writes a literal
 * `${`. Variables are read through the `ConfigProvider`, like every other env value.
 */
import { Effect } from "effect"
import { parseDocument } from "yaml"
import { ConfigurationError } from "../../domain/LLMError.ts"
import { type ConfigIssue, formatPath, isRecord, type Segment, toConfigurationError } from "./issues.ts"

const position = (text: string, offset: number): string => {
  const before = text.slice(0, offset)
  const line = before.split("\n").length
  const col = offset - before.lastIndexOf("\n")
  return `${line}:${col}`
}

/** Parses one YAML document into plain data; an empty file is an empty config. */
export const parseYaml = (text: string, source: string): Effect.Effect<Record<string, unknown>, ConfigurationError> =>
  Effect.suspend(() => {
    // prettyErrors: false keeps the offending source line out of the message.
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true })
    if (doc.errors.length > 0) {
      return Effect.fail(toConfigurationError(doc.errors.map((e) => ({
        path: `${source}:${position(text, e.pos[0])}`,
        message: `invalid YAML: ${e.message}`
      }))))
    }
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) return Effect.succeed({})
    if (!isRecord(value)) {
      return Effect.fail(new ConfigurationError({ path: source, message: "expected a mapping (key: value) at the top level" }))
    }
    return Effect.succeed(value)
  })

export interface Interpolated {
  readonly value: unknown
  /** Paths of strings that were exactly one reference (`port: ${PORT}`): they may be read as numbers or booleans. */
  readonly wholeReferences: ReadonlySet<string>
}

type Lookup = (name: string) => Effect.Effect<string | undefined, ConfigurationError>

const reference = /\$\$\{|\$\{([^}]*)\}/g
const inner = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/
const whole = /^\$\{[^}]*\}$/

const collectNames = (value: unknown, into: Set<string>): void => {
  if (typeof value === "string") {
    for (const m of value.matchAll(reference)) {
      const parsed = m[1] === undefined ? null : inner.exec(m[1])
      if (parsed) into.add(parsed[1])
    }
  } else if (Array.isArray(value)) value.forEach((v) => collectNames(v, into))
  else if (isRecord(value)) Object.values(value).forEach((v) => collectNames(v, into))
}

/**
 * Replaces references in every string of `value`. A variable that is unset (or empty) without a
 * default is an error naming the path and the variable; all such problems are reported at once.
 */
export const interpolate = (value: unknown, lookup: Lookup): Effect.Effect<Interpolated, ConfigurationError> =>
  Effect.gen(function*() {
    const names = new Set<string>()
    collectNames(value, names)
    const vars = new Map<string, string | undefined>()
    for (const name of names) vars.set(name, yield* lookup(name))

    const issues: Array<ConfigIssue> = []
    const wholeReferences = new Set<string>()
    const substitute = (s: string, path: ReadonlyArray<Segment>): string =>
      s.replace(reference, (match, body: string | undefined) => {
        if (body === undefined) return "${"
        const parsed = inner.exec(body)
        if (parsed === null) {
          issues.push({ path: formatPath(path), message: `malformed reference ${match}: expected \${NAME} or \${NAME:-default}` })
          return match
        }
        const [, name, fallback] = parsed
        const found = vars.get(name)
        if (found !== undefined) return found
        if (fallback !== undefined) return fallback
        issues.push({
          path: formatPath(path),
          message: `environment variable ${name} is not set (write \${${name}:-default} to make it optional)`
        })
        return ""
      })
    const walk = (v: unknown, path: ReadonlyArray<Segment>): unknown => {
      if (typeof v === "string") {
        if (whole.test(v)) wholeReferences.add(formatPath(path))
        return v.includes("$") ? substitute(v, path) : v
      }
      if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]))
      if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]))
      return v
    }
    const result = walk(value, [])
    if (issues.length > 0) return yield* toConfigurationError(issues)
    return { value: result, wholeReferences }
  })

/** `"8080"` → 8080, `"true"` → true; anything else is left alone. */
export const coerceScalar = (s: string): unknown => {
  const t = s.trim()
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return Number(t)
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === "true"
  return s
}
