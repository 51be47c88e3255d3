/**
 * The request most library callers send — text messages (or a prompt), a model, a task, plain
 * preferences — recognised without the Schema decode, which costs ~2.5 µs per request (a quarter
 * of an L1 hit; notes/benchmarks.md "Issue 19, sixth session"). The Schema stays the authority:
 * this accepts only values the `LLMRequest` decode accepts and returns unchanged (no excess keys,
 * no value the decode would transform), and everything else — tools, parts, `extra`, a response
 * format, a malformed field — goes to the decode, which also writes the error a caller sees. The
 * property test `core/test/plainRequest.property.test.ts` holds the two to agreeing.
 */
import type { LLMRequest } from "../../domain/Domain.ts"

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

const optionalString = (u: unknown) => u === undefined || typeof u === "string"

/** A text message: `{ role: system | user | assistant, content: string }`, nothing else. */
const isTextMessage = (u: unknown): boolean => {
  if (!isPlainObject(u)) return false
  for (const key in u) if (key !== "role" && key !== "content") return false
  const role = u.role
  return (role === "user" || role === "system" || role === "assistant") && typeof u.content === "string"
}

/** `Preferences` without `stop` or anything else: numbers in range, a known strategy. */
const isPlainPreferences = (u: unknown): boolean => {
  if (u === undefined) return true
  if (!isPlainObject(u)) return false
  for (const key in u) {
    const v = u[key]
    if (v === undefined) continue
    switch (key) {
      case "maxTokens":
        if (!Number.isSafeInteger(v) || (v as number) <= 0) return false
        break
      case "temperature":
        if (typeof v !== "number" || !(v >= 0 && v <= 2)) return false
        break
      case "topP":
        if (typeof v !== "number" || !(v >= 0 && v <= 1)) return false
        break
      case "strategy":
        if (v !== "cost" && v !== "performance" && v !== "balanced") return false
        break
      default:
        return false
    }
  }
  return true
}

/** True when `u` is a valid `LLMRequest` of the plain text shape, to be used as it is. */
export const isPlainTextRequest = (u: unknown): u is LLMRequest => {
  if (!isPlainObject(u)) return false
  for (const key in u) {
    const v = u[key]
    switch (key) {
      case "prompt":
      case "model":
      case "conversationId":
        if (!optionalString(v)) return false
        break
      case "taskType":
        if (v !== undefined && (typeof v !== "string" || v.length === 0)) return false
        break
      case "cache":
        if (v !== undefined && typeof v !== "boolean") return false
        break
      case "preferences":
        if (!isPlainPreferences(v)) return false
        break
      case "messages": {
        if (v === undefined) break
        if (!Array.isArray(v)) return false
        for (let i = 0; i < v.length; i++) if (!isTextMessage(v[i])) return false
        break
      }
      default:
        return false
    }
  }
  return true
}
