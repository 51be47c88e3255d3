/**
 * The exact-cache key: a SHA-256 of a canonical JSON array of everything that can change the
 * answer, plus the caller's scope so one tenant never receives another tenant's answer.
 *
 * Normalisation (why two requests share a key):
 * - `prompt: "x"` and `messages: [{ role: "user", content: "x" }]` are the same request;
 * - a missing `taskType` is `general` (that is how the router reads it);
 * - object key order never matters (positional array, and canonical JSON for `responseFormat`);
 * - absent parameters are `null`, so `{}` and `{ temperature: undefined }` agree.
 * What is left out on purpose: `conversationId` (the manager folds history into `messages`),
 * `preferences.strategy` and `model` (both only choose the candidates, which are in the key —
 * as a set: round-robin, random balancing and breaker state reorder them between requests),
 * and `cache` (the bypass flag itself). Content is hashed byte-for-byte: whitespace can change
 * an answer, so it is not collapsed.
 */
import { hash } from "node:crypto"
import { type LLMRequest, requestMessages } from "../../Domain.ts"

/** Bump when the key layout changes so old L2 entries are never read with a new meaning. */
const VERSION = 3

/**
 * The candidates as a set (round-robin, random balancing and breaker state reorder them between
 * requests) — except a model the request names, which stays first: asking for another model is
 * another answer, even when both share the candidate set.
 */
const candidateSet = (req: LLMRequest, candidates: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (candidates.length < 2) return candidates
  const pinned = req.model !== undefined && req.model !== "" && req.model !== "auto"
  return pinned ? [candidates[0], ...candidates.slice(1).sort()] : [...candidates].sort()
}

export const cacheKey = (req: LLMRequest, scope: string, candidates: ReadonlyArray<string>): string => {
  const messages = requestMessages(req)
  const flat: Array<string> = new Array(messages.length * 2)
  for (let i = 0; i < messages.length; i++) {
    flat[2 * i] = messages[i].role
    flat[2 * i + 1] = messages[i].content
  }
  const p = req.preferences
  const canonical = JSON.stringify([
    VERSION,
    scope,
    candidateSet(req, candidates),
    req.taskType ?? "general",
    flat,
    p?.maxTokens ?? null,
    p?.temperature ?? null,
    p?.topP ?? null,
    p?.stop ?? null
  ])
  const format = req.responseFormat === undefined ? "" : canonicalJson(req.responseFormat)
  // One-shot `crypto.hash` is about twice as fast as `createHash(...).update(...).digest()` for
  // inputs this small (no Hash object); the key is on the hot path of every cached request.
  return hash("sha256", format === "" ? canonical : canonical + format, "base64url")
}

/** JSON with object keys sorted at every depth (JSON Schemas arrive in any key order). */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`
}
