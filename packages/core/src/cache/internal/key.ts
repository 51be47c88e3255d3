/**
 * The exact-cache key: a SHA-256 of a canonical JSON array of everything that can change the
 * answer, plus the caller's scope so one tenant never receives another tenant's answer.
 *
 * Normalisation (why two requests share a key):
 * - `prompt: "x"` and `messages: [{ role: "user", content: "x" }]` are the same request;
 * - a missing `taskType` is `general` (that is how the router reads it);
 * - object key order never matters (positional array, and canonical JSON for `responseFormat`);
 * - absent parameters are `null`, so `{}` and `{ temperature: undefined }` agree.
 * Who may answer: the model the request names (or `null` for `auto`), then every candidate as a
 * sorted set. A named model answers whenever it can, so its entry must never be shared with an
 * `auto` request (where any candidate may answer) or with another named model — even when both
 * have the same candidates. The set is sorted because round-robin, random balancing and breaker
 * state reorder candidates between otherwise identical requests.
 * What is left out on purpose: `conversationId` (the manager folds history into `messages`),
 * `preferences.strategy` (it only orders the candidates, which are in the key), and `cache`
 * (the bypass flag itself). Content is hashed byte-for-byte: whitespace can change an answer,
 * so it is not collapsed.
 */
import { hash } from "node:crypto"
import { type ChatMessage, type LLMRequest, requestMessages } from "../../domain/Domain.ts"

/**
 * Bump when the key layout changes so old L2 entries are never read with a new meaning.
 * 4: the named model is its own field (v3 put it first in the candidate list, which equalled
 * the `auto` key whenever the named model also sorted first).
 */
const VERSION = 4

/** The model the request names, or `null` when the router may pick any candidate. */
export const namedModel = (req: LLMRequest): string | null =>
  req.model === undefined || req.model === "" || req.model === "auto" ? null : req.model

/** The candidates as a set: their order changes between identical requests. */
const candidateSet = (candidates: ReadonlyArray<string>): ReadonlyArray<string> =>
  candidates.length < 2 ? candidates : [...candidates].sort()

export const cacheKey = (req: LLMRequest, scope: string, candidates: ReadonlyArray<string>): string => {
  const messages = requestMessages(req)
  const flat: Array<string> = new Array(messages.length * 2)
  for (let i = 0; i < messages.length; i++) {
    flat[2 * i] = messages[i].role
    flat[2 * i + 1] = contentKey(messages[i])
  }
  const p = req.preferences
  const canonical = JSON.stringify([
    VERSION,
    scope,
    namedModel(req),
    candidateSet(candidates),
    req.taskType ?? "general",
    flat,
    p?.maxTokens ?? null,
    p?.temperature ?? null,
    p?.topP ?? null,
    p?.stop ?? null, req.n ?? 1, req.extra === undefined ? null : canonicalJson(req.extra), // n and pass-through fields change the answer
    // Tools and reasoning options only when present, so text-only keys are unchanged.
    ...(req.tools === undefined && req.toolChoice === undefined && req.parallelToolCalls === undefined && req.reasoning === undefined
      ? []
      : [canonicalJson([req.tools ?? null, req.toolChoice ?? null, req.parallelToolCalls ?? null, req.reasoning ?? null])])
  ])
  const format = req.responseFormat === undefined ? "" : canonicalJson(req.responseFormat)
  // One-shot `crypto.hash` is about twice as fast as `createHash(...).update(...).digest()` for
  // inputs this small (no Hash object); the key is on the hot path of every cached request.
  return hash("sha256", format === "" ? canonical : canonical + format, "base64url")
}

/**
 * A message's content in the key: a string as is; parts as canonical JSON with every file's
 * base64 data replaced by the SHA-256 of its bytes (a key never holds a whole image).
 */
const contentKey = (message: ChatMessage): string => {
  if (typeof message.content === "string") return message.content
  const parts = message.content.map((part) =>
    part.type === "file" && typeof part.data === "string"
      ? { ...part, data: { sha256: hash("sha256", Buffer.from(part.data, "base64"), "hex") } }
      : part
  )
  // The role is beside it in `flat`; the prefix keeps a parts array from equalling a string.
  return "parts:" + canonicalJson(parts)
}

/** Text already rendered, on the work stack of {@link canonicalJson}. */
class Raw {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}
const OPEN_ARRAY = new Raw("[")
const CLOSE_ARRAY = new Raw("]")
const OPEN_OBJECT = new Raw("{")
const CLOSE_OBJECT = new Raw("}")
const COMMA = new Raw(",")

/**
 * Nesting past which {@link canonicalJson} gives up: a cycle, since callers bound caller input
 * far below this (the server and `LLMManager` refuse JSON deeper than `MAX_JSON_DEPTH`).
 */
const CYCLE_DEPTH = 100_000

/**
 * JSON with object keys sorted at every depth (JSON Schemas arrive in any key order).
 * Iterative, with an explicit work stack: it runs on caller input, and recursion would turn a
 * deeply nested schema into a stack overflow.
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  let out = ""
  let depth = 0
  const stack: Array<unknown> = [value]
  while (stack.length > 0) {
    const item = stack.pop()
    if (item instanceof Raw) {
      out += item.text
      if (item === CLOSE_ARRAY || item === CLOSE_OBJECT) depth--
      continue
    }
    if (item === null || typeof item !== "object") {
      out += JSON.stringify(item) ?? "null"
      continue
    }
    if (++depth > CYCLE_DEPTH) throw new RangeError("canonicalJson: value nested too deep (cyclic?)")
    // Pushed in reverse: the stack pops them in document order.
    if (Array.isArray(item)) {
      stack.push(CLOSE_ARRAY)
      for (let i = item.length - 1; i >= 0; i--) {
        stack.push(item[i])
        if (i > 0) stack.push(COMMA)
      }
      out += OPEN_ARRAY.text
      continue
    }
    const obj = item as Record<string, unknown>
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort()
    stack.push(CLOSE_OBJECT)
    for (let i = keys.length - 1; i >= 0; i--) {
      stack.push(obj[keys[i]], new Raw(`${JSON.stringify(keys[i])}:`))
      if (i > 0) stack.push(COMMA)
    }
    out += OPEN_OBJECT.text
  }
  return out
}
