/**
 * Gateway keys: static ones (`server.apiKeys`), admin ones (`server.adminKeys`) and virtual
 * keys (`sk-gw-…`, created through the admin API, kept in the KeyStore).
 *
 * A static or admin key is hashed (SHA-256) and looked up by digest, so the comparison does not
 * leak a key's prefix through timing, and the digest — never the key — is the tenant scope for
 * cache entries and usage accounting. This path is synchronous and touches no database.
 *
 * A virtual key is verified against its salted hash in the store; the answer is kept for at
 * most `freshMs` (500 ms), so a key revoked or changed on another instance stops working there
 * within a second; the instance that revoked it forgets it at once (`forget`). Its scope is
 * `vkey:<id>`.
 */
import { createHash } from "node:crypto"
import type { GatewayConfig } from "@llm-gateway/core/config/ConfigSchema"
import type { KeyStoreShape } from "@llm-gateway/storage/KeyStore"
import { Effect, Option, Redacted } from "effect"
import type { Caller } from "./governance.ts"

/** The scope of every request when no gateway keys are configured (LLMManager's default). */
export const OPEN_SCOPE = "default"

export interface Authenticator {
  readonly required: boolean
  /** The tenant scope of an `Authorization` header, or `undefined` when it is not accepted (synchronously). */
  readonly scopeOf: (authorization: string | undefined) => string | undefined
  /** Static, admin and virtual keys; `undefined` when not accepted. */
  readonly callerOf: (authorization: string | undefined) => Effect.Effect<Caller | undefined>
  /** A virtual-key caller seen recently, by scope (the request path's lookup). */
  readonly cachedCaller: (scope: string) => Caller | undefined
  /** Drops what is cached for a virtual key (after a local revoke or update). */
  readonly forget: (keyId: string) => void
}

const digest = (key: string) => createHash("sha256").update(key).digest("hex")

export const scopeOfKey = (key: string): string => `key:${digest(key).slice(0, 16)}`

export const ADMIN_SCOPE_PREFIX = "admin:"

const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i

export interface AuthOptions {
  readonly keys?: KeyStoreShape | undefined
  /** How long a virtual key's verification is trusted; 500 ms by default. */
  readonly freshMs?: number | undefined
  /** The team of a key, for its budget (cached with the key). */
  readonly teamOf?: ((team: string) => Effect.Effect<Caller["team"]>) | undefined
}

const MaxCached = 10_000

export const makeAuthenticator = (config: GatewayConfig, options: AuthOptions = {}): Authenticator => {
  const scopes = new Map<string, string>()
  for (const k of config.server.apiKeys) {
    const key = Redacted.value(k)
    if (key.length > 0) scopes.set(digest(key), scopeOfKey(key))
  }
  const admins = new Map<string, string>()
  for (const k of config.server.adminKeys ?? []) {
    const key = Redacted.value(k)
    if (key.length > 0) admins.set(digest(key), `${ADMIN_SCOPE_PREFIX}${digest(key).slice(0, 16)}`)
  }
  const required = scopes.size > 0 || admins.size > 0
  const freshMs = options.freshMs ?? 500
  // presented-key digest → verification; scope → caller (for the governed manager)
  const verified = new Map<string, { readonly caller: Caller | undefined; readonly at: number }>()
  const byScope = new Map<string, Caller>()

  const presented = (authorization: string | undefined) => {
    if (authorization === undefined) return undefined
    const m = bearer.exec(authorization)
    return m === null ? undefined : m[1]
  }
  const scopeOf = (authorization: string | undefined) => {
    if (!required) return OPEN_SCOPE
    const key = presented(authorization)
    return key === undefined ? undefined : scopes.get(digest(key))
  }

  const verifyVirtual = (key: string): Effect.Effect<Caller | undefined> => {
    const store = options.keys
    if (store === undefined || !key.startsWith("sk-gw-")) return Effect.succeed(undefined)
    const d = digest(key)
    const hit = verified.get(d)
    const now = Date.now()
    if (hit !== undefined && now - hit.at < freshMs) return Effect.succeed(usable(hit.caller, now))
    return Effect.gen(function*() {
      const found = yield* store.verify(key).pipe(Effect.orElseSucceed(() => Option.none()))
      let caller: Caller | undefined
      if (Option.isSome(found)) {
        const record = found.value
        const team = record.team === null || options.teamOf === undefined ? undefined : yield* options.teamOf(record.team)
        caller = { scope: `vkey:${record.id}`, admin: false, key: record, team }
        byScope.set(caller.scope, caller)
      }
      if (verified.size >= MaxCached) verified.clear()
      verified.set(d, { caller, at: Date.now() })
      return usable(caller, Date.now())
    })
  }
  const usable = (caller: Caller | undefined, now: number) => {
    const key = caller?.key
    if (key === undefined) return caller
    if (key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now)) return undefined
    return caller
  }

  return {
    required,
    scopeOf,
    callerOf: (authorization) => {
      if (!required) {
        // an open gateway still honours a virtual key presented to it (its limits apply)
        const key = presented(authorization)
        return key !== undefined && key.startsWith("sk-gw-")
          ? Effect.map(verifyVirtual(key), (c) => c ?? { scope: OPEN_SCOPE, admin: false })
          : Effect.succeed({ scope: OPEN_SCOPE, admin: false })
      }
      const key = presented(authorization)
      if (key === undefined) return Effect.succeed(undefined)
      const d = digest(key)
      const staticScope = scopes.get(d)
      if (staticScope !== undefined) return Effect.succeed({ scope: staticScope, admin: false })
      const adminScope = admins.get(d)
      if (adminScope !== undefined) return Effect.succeed({ scope: adminScope, admin: true })
      return verifyVirtual(key)
    },
    cachedCaller: (scope) => byScope.get(scope),
    forget: (keyId) => {
      verified.clear()
      byScope.delete(`vkey:${keyId}`)
    }
  }
}
