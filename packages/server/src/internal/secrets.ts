/**
 * The last line of defence of the secret rule: every secret in the config (provider keys,
 * secret headers, gateway keys, storage URLs) is known at start-up, and any text the server is
 * about to send or log on an error path is scrubbed of them. Providers' error tables already
 * keep keys out of messages; this makes a slip in any of them harmless.
 */
import type { GatewayConfig } from "@llm-gateway/core/config/ConfigSchema"
import { Redacted } from "effect"

export interface Scrubber {
  readonly scrub: (text: string) => string
}

/** Shorter values would match ordinary words; no real key is this short. */
const MIN_SECRET_LENGTH = 6

export const secretsOf = (config: GatewayConfig): Array<string> => {
  const out: Array<string> = []
  const add = (r: Redacted.Redacted<string> | undefined) => {
    if (r === undefined) return
    const v = Redacted.value(r)
    if (v.length >= MIN_SECRET_LENGTH) out.push(v)
  }
  for (const p of config.providers) {
    add(p.apiKey)
    if (p.headers !== undefined) for (const k in p.headers) add(p.headers[k])
  }
  for (const k of config.server.apiKeys) add(k)
  for (const k of config.server.adminKeys ?? []) add(k)
  add(config.redis?.url)
  add(config.conversations.url)
  add(config.database?.url)
  // Longest first, so a key that contains another is removed whole.
  return out.sort((a, b) => b.length - a.length)
}

export const makeScrubber = (secrets: ReadonlyArray<string>): Scrubber => ({
  scrub: (text) => {
    if (secrets.length === 0) return text
    let out = text
    for (const s of secrets) if (out.includes(s)) out = out.split(s).join("[redacted]")
    return out
  }
})
