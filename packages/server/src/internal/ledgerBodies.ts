/**
 * `ledger.storeBodies: true`: the request and the answer kept with the request's ledger row,
 * redacted of secrets and capped. Off by default — prompts are the users' data.
 *
 * Redacted: every secret of the config (the server's scrubber: provider keys, gateway and admin
 * keys, store URLs) and anything shaped like a credential a user may paste into a prompt (API
 * keys `sk-…`, `Bearer …` tokens, AWS access keys, `password=…`). Capped: at most
 * `MAX_BODY_CHARS` per row, the answer's share kept even when the prompt is long.
 */
import type { LLMRequest } from "@llm-gateway/core/domain/Domain"
import type { Scrubber } from "./secrets.ts"

export const MAX_BODY_CHARS = 8192
const MAX_PART = MAX_BODY_CHARS / 2 - 64

const CREDENTIALS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bsk-[A-Za-z0-9_-]{16,}/g, "[redacted]"],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi, "Bearer [redacted]"],
  [/\bAKIA[0-9A-Z]{16}\b/g, "[redacted]"],
  [/\b(password|passwd|secret|api[_-]?key|token)(["']?\s*[:=]\s*["']?)[^\s"',;]{4,}/gi, "$1$2[redacted]"]
]

const cap = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more chars]`)

export interface BodyRecorder {
  /** The row's `body`: `{"request":…,"response":…}` as JSON, redacted, capped. */
  readonly body: (req: LLMRequest, response: string | undefined) => string
}

export const makeBodyRecorder = (scrubber: Scrubber): BodyRecorder => {
  const redact = (text: string) => {
    let out = scrubber.scrub(text)
    for (const [pattern, replacement] of CREDENTIALS) out = out.replace(pattern, replacement)
    return out
  }
  return {
    body: (req, response) => {
      const request = req.messages !== undefined ? JSON.stringify(req.messages) : req.prompt ?? ""
      return JSON.stringify({
        request: cap(redact(request), MAX_PART),
        response: response === undefined ? null : cap(redact(response), MAX_PART)
      })
    }
  }
}
