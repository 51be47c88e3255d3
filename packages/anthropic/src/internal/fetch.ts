/**
 * The `fetch` the SDK is given: a thin WHATWG-fetch face on undici's `request`, over a
 * keep-alive `Agent` owned by the client's scope.
 *
 * Why not the global fetch: measured against the loopback fake (16 concurrent, SDK on both
 * sides), the `request` path answers more requests per second than Node's fetch for JSON
 * and for streams (figures: notes/benchmarks.md), while undici's own `fetch` on the same Agent gains nothing — the
 * cost is in fetch's spec machinery, not the connection pool. The Agent keeps warm
 * connections to the upstream and is destroyed with the client, so a closed gateway leaves
 * no sockets behind.
 *
 * What the SDK relies on is kept: `status`, `headers`, a streamed `body`, `text()`/`json()`,
 * and `signal` (abort before the answer rejects with an AbortError; abort during the body
 * errors the body stream and closes the socket). Redirects are not followed and bodies are
 * not decompressed (no `accept-encoding` is sent), which the Anthropic API never needs.
 */
import { Readable } from "node:stream"
import { Effect, type Scope } from "effect"
import { Agent, fetch as undiciFetch } from "undici"

export interface FetchOptions {
  /** Idle keep-alive sockets are closed after this long (ms). */
  readonly keepAliveTimeoutMs?: number
  /** Upper bound of sockets per origin (undefined: unbounded, like Node's fetch). */
  readonly connections?: number
}

type Fetch = typeof globalThis.fetch

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304])

const flatHeaders = (init: HeadersInit | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  if (init === undefined) return out
  new Headers(init).forEach((value, name) => {
    out[name] = value
  })
  return out
}

const toHeaders = (raw: Record<string, string | Array<string> | undefined>): Headers => {
  const headers = new Headers()
  for (const name in raw) {
    const value = raw[name]
    if (Array.isArray(value)) for (const v of value) headers.append(name, v)
    else if (value !== undefined) headers.set(name, value)
  }
  return headers
}

const makeFetch = (agent: Agent): Fetch => {
  // Anything this fast path does not cover (Request objects, stream or form bodies) goes
  // through undici's full fetch on the same Agent.
  const slow = ((input: unknown, init?: RequestInit) =>
    undiciFetch(input as string, { ...(init as object), dispatcher: agent })) as unknown as Fetch
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const body = init.body
    if (
      input instanceof Request ||
      (body != null && typeof body !== "string" && !(body instanceof Uint8Array))
    ) {
      return slow(input, init)
    }
    const url = typeof input === "string" ? new URL(input) : input
    const answer = await agent.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: (init.method ?? "GET") as "GET",
      headers: flatHeaders(init.headers),
      body: body ?? null,
      signal: init.signal ?? undefined
    })
    const stream = NULL_BODY_STATUS.has(answer.statusCode)
      ? (answer.body.resume(), null)
      : (Readable.toWeb(answer.body) as ReadableStream<Uint8Array>)
    return new Response(stream, { status: answer.statusCode, headers: toHeaders(answer.headers) })
  }) as Fetch
}

/** A scoped `fetch`: the Agent and every socket it holds are destroyed when the scope closes. */
export const scopedFetch = (options: FetchOptions = {}): Effect.Effect<Fetch, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() =>
        new Agent({
          keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
          keepAliveMaxTimeout: 10 * 60_000,
          connections: options.connections ?? null
        })
      ),
      // destroy, not close: close would wait for requests still hanging on an upstream.
      (agent) => Effect.promise(() => agent.destroy().catch(() => undefined))
    ),
    makeFetch
  )
