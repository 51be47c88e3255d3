/**
 * `/v1/responses` passed through to the real OpenAI (core providers/Passthrough, notes/http-api.md
 * "Pass-through"): the route hands the manager the body as the client sent it; an `openai`
 * deployment answers it natively, any other candidate the translated request. The native answer
 * is written as it came (its model id aside) and recorded like any other: stored under its own id
 * in the conversation store (`store`, the default), so `GET /v1/responses/{id}` finds it and a
 * follow-up naming it as `previous_response_id` continues the thread on whichever provider the
 * router then picks.
 *
 * A request with `previous_response_id` is not passed through: the thread it continues lives in
 * the gateway's store, which OpenAI cannot read, so it goes the translated way with the thread
 * resolved.
 */
import type { ChatMessage, StreamChunk } from "@llm-gateway/core/domain/Domain"
import type { PassthroughRequest } from "@llm-gateway/core/providers/Passthrough"
import { Effect } from "effect"
import type { HttpServerRequest } from "effect/http"
import type { ApiError } from "../HttpError.ts"
import type { ServerContext } from "./context.ts"
import { readItems } from "./responsesItems.ts"
import { saveResponse } from "./responsesStore.ts"
import { failureCode, type ResponsesCall } from "./responsesWire.ts"
import type { SseEncoder } from "./sseStream.ts"
import { Reader } from "./validate.ts"

type Rec = Record<string, unknown>

/** Headers forwarded upstream besides the body: the beta opt-in. Never credentials. */
const FORWARDED = ["openai-beta"] as const

export const responsesPassthrough = (
  request: HttpServerRequest.HttpServerRequest,
  body: unknown,
  call: ResponsesCall
): PassthroughRequest | undefined => {
  if (call.previousResponseId !== undefined) return undefined
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined
  const headers: Record<string, string> = {}
  for (const name of FORWARDED) {
    const value = request.headers[name]
    if (value !== undefined && value !== "") headers[name] = value
  }
  return { api: "openai.responses", body: body as Rec, headers }
}

/** The native Response's output as thread messages; `undefined` when an item does not read back. */
const outputThread = (response: Rec): ReadonlyArray<ChatMessage> | undefined => {
  const r = new Reader()
  const messages = readItems(Array.isArray(response.output) ? response.output : [], "output", { r, names: new Map(), ignored: [] })
  return r.failed ? undefined : messages
}

/** Stores a natively answered Response like the gateway's own (the thread is this input and its output). */
export const saveNative = (
  ctx: ServerContext,
  scope: string,
  call: ResponsesCall,
  thread: ReadonlyArray<ChatMessage>,
  response: Rec | undefined
): Effect.Effect<void> => {
  if (!call.store || response === undefined || typeof response.id !== "string") return Effect.void
  const output = outputThread(response)
  if (output === undefined) {
    return Effect.logWarning(`pass-through response ${response.id} not stored: its output holds items the gateway cannot read back`)
  }
  return saveResponse(ctx, scope, response.id, [...thread, ...output], response)
}

const dataOf = (frame: string): Rec | undefined => {
  const at = frame.indexOf("\ndata: ")
  if (at < 0) return undefined
  try {
    return JSON.parse(frame.slice(at + 7).trimEnd()) as Rec
  } catch {
    return undefined
  }
}

/**
 * The upstream's events as they came. The closing event (`response.completed` / `.failed` /
 * `.incomplete`, the chunk with the finish reason) is held back to `end`, so the route stores the
 * Response before the client sees it complete (a follow-up sent at once then finds it).
 */
export class NativeResponsesEncoder implements SseEncoder {
  private sent = 0
  private closing: string | undefined
  start(): string {
    return ""
  }
  chunks(batch: ReadonlyArray<StreamChunk>): string {
    let out = ""
    for (const c of batch) {
      if (c.native === undefined) continue
      if (c.finishReason !== undefined) this.closing = c.native
      else out += c.native
      this.sent++
    }
    return out
  }
  /** The final Response, from the closing event. */
  final(): Rec | undefined {
    const data = this.closing === undefined ? undefined : dataOf(this.closing)
    return data?.response as Rec | undefined
  }
  end(): string {
    return this.closing ?? ""
  }
  /** OpenAI's in-band `error` event, numbered after the events already written. */
  error(e: ApiError): string {
    const data = { type: "error", code: failureCode(e), message: e.message, param: null, sequence_number: this.sent }
    return `event: error\ndata: ${JSON.stringify(data)}\n\n`
  }
}
