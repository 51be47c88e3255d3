/**
 * The field rule: what becomes of an OpenAI chat-completions field the gateway does not
 * interpret itself (`LLMRequest.extra`: `seed`, `user`, `logprobs`, …) once the provider that
 * will answer is known.
 *
 * - OpenAI-wire upstreams get every such field unchanged (`otherwise: "pass"`).
 * - Other providers map the fields they have an equivalent for (`mapped`: Anthropic `user` →
 *   `metadata.user_id`, Ollama `seed`/penalties → `options`, …).
 * - A field left over that changes the answer (`answerChanging`) is refused: an InvalidRequest
 *   naming it (400), never a silently different answer. A neutral value (`logprobs: false`,
 *   a penalty of 0, an empty `logit_bias`) changes nothing and is not refused.
 * - Anything else left over is ignored and named (`ignored` → the `x-llm-ignored-fields` header).
 *
 * The router applies this per candidate (notes/http-api.md has the table per provider).
 */
import { InvalidRequest } from "../domain/LLMError.ts"

export interface FieldPolicy {
  /** Fields neither mapped nor refused: sent unchanged (OpenAI's wire), or dropped (and named). */
  readonly otherwise: "pass" | "drop"
  /** Fields the client translates to its own equivalent; they reach it in `ProviderRequest.extra`. */
  readonly mapped?: ReadonlyArray<string> | undefined
  /** The upstream generates `n` choices itself; otherwise the manager fans out n calls. */
  readonly nativeN?: boolean | undefined
}

/** What a client that declares nothing gets: its own fields only, nothing passed blindly. */
export const defaultPolicy: FieldPolicy = { otherwise: "drop" }

/** OpenAI-wire upstreams: every field passes. */
export const openAIWirePolicy = (nativeN: boolean): FieldPolicy => ({ otherwise: "pass", nativeN })

/** Fields whose absence changes the answer a caller gets (token probabilities, sampling, modality). */
export const answerChanging: ReadonlySet<string> = new Set([
  "logprobs",
  "top_logprobs",
  "logit_bias",
  "frequency_penalty",
  "presence_penalty",
  "reasoning_effort",
  "verbosity",
  "modalities",
  "audio",
  "web_search_options"
])

/** A value that asks for nothing beyond the default: dropping it changes nothing. */
const isNeutral = (field: string, value: unknown): boolean => {
  switch (field) {
    case "logprobs":
      return value === false
    case "top_logprobs":
    case "frequency_penalty":
    case "presence_penalty":
      return value === 0
    case "logit_bias":
      return typeof value === "object" && value !== null && Object.keys(value).length === 0
    case "modalities":
      return Array.isArray(value) && value.length === 1 && value[0] === "text"
    default:
      return false
  }
}

export interface FieldDecision {
  /** The fields to hand the client (passed or mapped); `undefined` when none. */
  readonly send: Readonly<Record<string, unknown>> | undefined
  /** Fields dropped without changing the answer, in request order. */
  readonly ignored: ReadonlyArray<string>
  /** The first field the provider cannot honour and that changes the answer. */
  readonly refused: string | undefined
}

const nothing: FieldDecision = { send: undefined, ignored: [], refused: undefined }

export const decideFields = (
  policy: FieldPolicy | undefined,
  extra: Readonly<Record<string, unknown>> | undefined
): FieldDecision => {
  if (extra === undefined) return nothing
  const p = policy ?? defaultPolicy
  if (p.otherwise === "pass") return { send: extra, ignored: [], refused: undefined }
  let send: Record<string, unknown> | undefined
  const ignored: Array<string> = []
  let refused: string | undefined
  for (const field of Object.keys(extra)) {
    const value = extra[field]
    if (value === undefined || value === null) continue
    if (p.mapped?.includes(field) === true) {
      ;(send ??= {})[field] = value
    } else if (answerChanging.has(field) && !isNeutral(field, value)) {
      refused ??= field
    } else {
      ignored.push(field)
    }
  }
  return { send, ignored, refused }
}

/** The 400 for a field the chosen provider cannot honour. */
export const refusal = (field: string, ref: string, providerType: string): InvalidRequest =>
  new InvalidRequest({
    model: ref,
    param: field,
    message: `'${field}' is not supported by ${ref} (provider type ${providerType}); ` +
      `remove it or pick a model whose provider supports it`
  })
