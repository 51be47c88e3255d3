/**
 * The HTTP transport handed to the SDK: undici's `fetch` over a keep-alive `Agent` owned by the
 * client's scope. The SDK's default (the global fetch and dispatcher) costs throughput; one
 * Agent per client keeps warm connections per upstream origin and is destroyed with the scope,
 * so no socket outlives the client.
 */
import { Effect } from "effect"
import { Agent, fetch as undiciFetch } from "undici"

export interface TransportOptions {
  /** Response-headers and body-inactivity limit; matches the SDK timeout so undici never cuts first. */
  readonly timeoutMs: number
  /** Connections per upstream origin (default: unlimited, as the global dispatcher). */
  readonly connections?: number | undefined
}

export interface Transport {
  readonly fetch: (url: string | URL | Request, init?: RequestInit) => Promise<Response>
  readonly fetchOptions: { readonly dispatcher: Agent }
}

export const makeTransport = (options: TransportOptions) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dispatcher = new Agent({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        connections: options.connections ?? null
      })
      const transport: Transport = {
        // undici's fetch and the SDK's expect the same WHATWG shapes; their TS types differ only nominally.
        fetch: undiciFetch as unknown as Transport["fetch"],
        fetchOptions: { dispatcher }
      }
      return transport
    }),
    // destroy, not close: close waits for in-flight requests, which a hung upstream never ends.
    (transport) => Effect.promise(() => transport.fetchOptions.dispatcher.destroy().catch(() => undefined))
  )
