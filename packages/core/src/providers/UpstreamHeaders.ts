/**
 * What an upstream's response headers say about retrying, read the same way for every provider
 * (the rules openai-node and anthropic-sdk follow).
 */

type HeaderSource = { readonly get: (name: string) => string | null | undefined } | null | undefined

/**
 * Milliseconds the upstream asked us to wait: `retry-after-ms`, then `retry-after` (seconds or an
 * HTTP date); 0 when neither says (or says nonsense).
 */
export const retryAfterMs = (headers: HeaderSource, now: number = Date.now()): number => {
  if (headers == null) return 0
  const ms = headers.get("retry-after-ms")?.trim()
  if (ms) {
    const n = Number(ms)
    if (Number.isFinite(n) && n >= 0) return Math.ceil(n)
  }
  const after = headers.get("retry-after")?.trim()
  if (!after) return 0
  const seconds = Number(after)
  if (Number.isFinite(seconds)) return seconds > 0 ? Math.ceil(seconds * 1000) : 0
  const date = Date.parse(after)
  return Number.isFinite(date) ? Math.max(0, date - now) : 0
}

/** The upstream's own verdict (`x-should-retry: true|false`); undefined when it gave none. */
export const shouldRetryHeader = (headers: HeaderSource): boolean | undefined => {
  const value = headers?.get("x-should-retry")?.trim().toLowerCase()
  return value === "true" ? true : value === "false" ? false : undefined
}
