/**
 * `/v1/messages` passed through to an Anthropic deployment (core providers/Passthrough,
 * notes/http-api.md "Pass-through"): the route hands the manager the body as the client sent it
 * and the Anthropic headers that change what the API does; an Anthropic candidate answers it
 * natively, any other candidate (a fallback, or `auto` planning elsewhere) the translated request.
 * The answer is written as it came: the upstream's JSON, or its events one frame each.
 */
import type { StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { PassthroughRequest } from "@llm-gateway/core/providers/Passthrough"
import type { HttpServerRequest } from "effect/http"
import type { ApiError } from "../HttpError.ts"
import type { SseEncoder } from "./sseStream.ts"

/**
 * Headers forwarded upstream: the beta features and the API version the client asked for. Never
 * its credentials (the gateway key is the gateway's; the upstream gets the provider's own).
 */
const FORWARDED = ["anthropic-beta", "anthropic-version"] as const

export const anthropicPassthrough = (request: HttpServerRequest.HttpServerRequest, body: unknown): PassthroughRequest | undefined => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined
  const headers: Record<string, string> = {}
  for (const name of FORWARDED) {
    const value = request.headers[name]
    if (value !== undefined && value !== "") headers[name] = value
  }
  return { api: "anthropic.messages", body: body as Record<string, unknown>, headers }
}

/** The upstream's events as they came (each chunk's `native` frame); errors in Anthropic's shape. */
export class NativeEventEncoder implements SseEncoder {
  private readonly render: (e: ApiError) => string
  constructor(render: (e: ApiError) => string) {
    this.render = render
  }
  start(): string {
    return ""
  }
  chunks(batch: ReadonlyArray<StreamChunk>): string {
    let out = ""
    for (const c of batch) if (c.native !== undefined) out += c.native
    return out
  }
  end(): string {
    return ""
  }
  error(e: ApiError): string {
    return `event: error\ndata: ${this.render(e)}\n\n`
  }
}
