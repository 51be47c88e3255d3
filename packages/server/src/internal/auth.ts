/**
 * Gateway keys (`server.apiKeys`). The presented key is hashed (SHA-256) and looked up by
 * digest, so the comparison does not leak a key's prefix through timing, and the digest —
 * never the key — is the tenant scope for cache entries and usage accounting.
 */
import { createHash } from "node:crypto"
import type { GatewayConfig } from "@llm-gateway/core/config/ConfigSchema"
import { Redacted } from "effect"

/** The scope of every request when no gateway keys are configured (LLMManager's default). */
export const OPEN_SCOPE = "default"

export interface Authenticator {
  readonly required: boolean
  /** The tenant scope of an `Authorization` header, or `undefined` when it is not accepted. */
  readonly scopeOf: (authorization: string | undefined) => string | undefined
}

const digest = (key: string) => createHash("sha256").update(key).digest("hex")

export const scopeOfKey = (key: string): string => `key:${digest(key).slice(0, 16)}`

const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i

export const makeAuthenticator = (config: GatewayConfig): Authenticator => {
  const scopes = new Map<string, string>()
  for (const k of config.server.apiKeys) {
    const key = Redacted.value(k)
    if (key.length > 0) scopes.set(digest(key), scopeOfKey(key))
  }
  if (scopes.size === 0) return { required: false, scopeOf: () => OPEN_SCOPE }
  return {
    required: true,
    scopeOf: (authorization) => {
      if (authorization === undefined) return undefined
      const m = bearer.exec(authorization)
      return m === null ? undefined : scopes.get(digest(m[1]))
    }
  }
}
