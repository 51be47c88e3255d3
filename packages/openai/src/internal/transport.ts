/**
 * The client's connections: one undici `Pool` for the upstream's origin (a client talks to one
 * base URL, so one origin), keep-alive, no pipelining, owned by the client's scope. The direct
 * transport sends chat requests on it, and the SDK's `fetch` uses it as its dispatcher for
 * everything else (and for chat when `transport: "sdk"`), so both paths share warm sockets and
 * the same timeouts. The global fetch and dispatcher would cost throughput and outlive the client.
 */
import { Effect } from "effect"
import { fetch as undiciFetch, Pool } from "undici"

export interface TransportOptions {
  /** `scheme://host:port` of the upstream. */
  readonly origin: string
  /** Response-headers and body-inactivity limit; matches the SDK timeout so undici never cuts first. */
  readonly timeoutMs: number
  /** Connections to the upstream (default: unlimited). */
  readonly connections?: number | undefined
}

export interface Transport {
  readonly pool: Pool
  readonly fetch: (url: string | URL | Request, init?: RequestInit) => Promise<Response>
  readonly fetchOptions: { readonly dispatcher: Pool }
}

export const makeTransport = (options: TransportOptions) =>
  Effect.acquireRelease(
    Effect.sync((): Transport => {
      const pool = new Pool(options.origin, {
        connections: options.connections ?? null,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs
      })
      return {
        pool,
        // undici's fetch and the SDK's expect the same WHATWG shapes; their TS types differ only nominally.
        fetch: undiciFetch as unknown as Transport["fetch"],
        fetchOptions: { dispatcher: pool }
      }
    }),
    // destroy, not close: close waits for in-flight requests, which a hung upstream never ends.
    (transport) => Effect.promise(() => transport.pool.destroy().catch(() => undefined))
  )
