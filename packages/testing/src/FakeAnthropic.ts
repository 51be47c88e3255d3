/**
 * A fake Anthropic Messages API on loopback, speaking the real wire format so the official
 * `@anthropic-ai/sdk` can be pointed at it: `POST /v1/messages` (JSON, or SSE with named
 * events when `stream: true`) and `GET /v1/models`. Faults are queued and consumed one per
 * request, in order, whatever the path.
 *
 * Token counts are deterministic (`fakeTokenCount`: one token per started 4 characters), so a
 * test can assert exact usage without knowing a real tokenizer.
 */
import type * as Http from "node:http"
import { Effect } from "effect"
import { checkMessagesRequest, type IssuedThinking } from "./fakes/anthropic/MessageRules.ts"
import { anthropicWireTurn, forcedTurn, promptCacheUsage, streamWireTurn } from "./fakes/anthropic/MessageTurn.ts"
import { type FakeScripting, isRich, makeTurnSource } from "./fakes/Script.ts"
import {
  applyFault,
  type Fault,
  type LoopbackServer,
  type RecordedRequest,
  sendJson,
  startLoopbackServer
} from "./LoopbackServer.ts"

export type { FakeResponder, FakeToolCall, FakeTurn } from "./fakes/Script.ts"
export { fakeSignature } from "./fakes/anthropic/MessageTurn.ts"

/** The request body the fake understands (the subset of Anthropic's it reads; the rest is recorded). */
export interface AnthropicMessagesBody {
  readonly model: string
  readonly max_tokens: number
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content: unknown }>
  readonly system?: unknown
  readonly stream?: boolean
  readonly stop_sequences?: ReadonlyArray<string>
  readonly temperature?: number
  readonly top_p?: number
  readonly tools?: ReadonlyArray<Record<string, unknown>>
  readonly tool_choice?: Record<string, unknown>
  readonly thinking?: Record<string, unknown>
  readonly [key: string]: unknown
}

/**
 * Anthropic-only fault: the stream starts normally, sends `afterChunks` text deltas, then an
 * `event: error` (what the real API does when it is overloaded mid-answer) and ends.
 */
export interface StreamErrorFault {
  readonly kind: "streamError"
  readonly afterChunks: number
  readonly errorType?: string
  readonly message?: string
}

/**
 * The stream ends cleanly (a well-formed end of the chunked body) after `afterChunks` text
 * deltas, without `message_delta`/`message_stop`: what a proxy that gives up looks like.
 */
export interface TruncateFault {
  readonly kind: "truncate"
  readonly afterChunks: number
}

export type AnthropicFault = Fault | StreamErrorFault | TruncateFault

export interface FakeAnthropicOptions {
  /** The assistant's answer (default `"Hello from fake Claude."`). */
  readonly reply?: string | ((body: AnthropicMessagesBody) => string)
  /** Text deltas a streamed answer is split into (default 4; fewer when the text is shorter). */
  readonly chunks?: number
  /** Pause between streamed events, ms (default 0). */
  readonly chunkIntervalMs?: number
  /** Pause before the response headers, ms (default 0). */
  readonly latencyMs?: number
  /** Override the deterministic counts. */
  readonly inputTokens?: number
  readonly outputTokens?: number
  /**
   * Prompt-cache counts to report. As the real API does, `input_tokens` then EXCLUDES them: it
   * is the prompt's count minus the cache reads and writes (never below 0).
   */
  readonly cacheReadInputTokens?: number
  readonly cacheCreationInputTokens?: number
  /**
   * Simulate prompt caching from the request's `cache_control` breakpoints (when the two counts
   * above are not set): a prefix seen before is read, a new one written (no 1024-token minimum).
   */
  readonly promptCache?: boolean
  /** When set, requests presenting another key (`x-api-key` or `Authorization: Bearer`) get a 401. */
  readonly apiKey?: string
  /** Listed by `GET /v1/models`. */
  readonly models?: ReadonlyArray<string>
}

/**
 * Beyond text: `script` / `respond` (fakes/Script.ts) make the fake answer with tool_use,
 * thinking and redacted_thinking blocks; requests breaking the API's tool-pairing, block and
 * thinking rules get its real 400 (fakes/anthropic/MessageRules.ts).
 */
export interface FakeAnthropic extends FakeScripting<AnthropicMessagesBody> {
  readonly url: string
  readonly server: LoopbackServer
  readonly requests: Array<RecordedRequest>
  /** Bodies of the `POST /v1/messages` requests, in order. */
  readonly messageBodies: () => Array<AnthropicMessagesBody>
  /** Queue faults: each one answers exactly one upcoming request. */
  readonly fail: (...faults: ReadonlyArray<AnthropicFault>) => void
  /** Change the options for subsequent requests. */
  readonly configure: (options: FakeAnthropicOptions) => void
  readonly close: () => Promise<void>
}

export const DEFAULT_REPLY = "Hello from fake Claude."

/** One token per started 4 characters: the fake's tokenizer, exported so tests can predict usage. */
export const fakeTokenCount = (text: string): number => Math.ceil(text.length / 4)

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
    ? content.map((b) => (b && typeof b === "object" && "text" in b ? String(b.text) : b?.type === "tool_result" ? textOf(b.content) : "")).join("")
    : ""

/** The fake's input count: system text plus every message's text, through `fakeTokenCount`. */
export const fakeInputTokens = (body: AnthropicMessagesBody): number =>
  fakeTokenCount(textOf(body.system) + body.messages.map((m) => textOf(m.content)).join(""))

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  408: "timeout_error",
  409: "conflict_error",
  413: "request_too_large",
  422: "invalid_request_error",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error"
}

/** Anthropic's error envelope. */
export const anthropicErrorBody = (status: number, message?: string) => {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error")
  return { type: "error", error: { type, message: message ?? type.replace(/_/g, " ") } }
}

/** The 400 the real API answers for an over-long prompt. */
export const promptTooLongFault = (tokens = 210000, maximum = 200000): Fault => ({
  kind: "status",
  status: 400,
  body: anthropicErrorBody(400, `prompt is too long: ${tokens} tokens > ${maximum} maximum`)
})

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve())

/** Splits `text` into at most `n` non-empty pieces that concatenate back to it. */
const split = (text: string, n: number): Array<string> => {
  if (text.length === 0) return []
  const count = Math.max(1, Math.min(n, text.length))
  const size = Math.ceil(text.length / count)
  const parts: Array<string> = []
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size))
  return parts
}

interface Answer {
  readonly text: string
  readonly stopReason: "end_turn" | "max_tokens" | "stop_sequence"
  readonly stopSequence: string | null
  readonly inputTokens: number
  readonly outputTokens: number
  /** `input_tokens` and the cache counts, as the API reports them. */
  readonly inputUsage: Record<string, number>
}

const inputUsageOf = (
  inputTokens: number,
  options: FakeAnthropicOptions,
  simulated?: { readonly read: number; readonly write: number }
): Record<string, number> => {
  const read = options.cacheReadInputTokens ?? simulated?.read
  const write = options.cacheCreationInputTokens ?? simulated?.write
  if (read === undefined && write === undefined) return { input_tokens: inputTokens }
  return {
    input_tokens: Math.max(inputTokens - (read ?? 0) - (write ?? 0), 0),
    cache_creation_input_tokens: write ?? 0,
    cache_read_input_tokens: read ?? 0
  }
}

/** What the fake model says: the reply, cut at a stop sequence or at `max_tokens`. */
const answer = (body: AnthropicMessagesBody, options: FakeAnthropicOptions, cache?: { read: number; write: number }): Answer => {
  let text = typeof options.reply === "function" ? options.reply(body) : options.reply ?? DEFAULT_REPLY
  let stopReason: Answer["stopReason"] = "end_turn"
  let stopSequence: string | null = null
  for (const seq of body.stop_sequences ?? []) {
    const at = seq.length > 0 ? text.indexOf(seq) : -1
    if (at >= 0) {
      text = text.slice(0, at)
      stopReason = "stop_sequence"
      stopSequence = seq
    }
  }
  if (fakeTokenCount(text) > body.max_tokens) {
    text = text.slice(0, body.max_tokens * 4)
    stopReason = "max_tokens"
    stopSequence = null
  }
  const inputTokens = options.inputTokens ?? fakeInputTokens(body)
  return {
    text,
    stopReason,
    stopSequence,
    inputTokens,
    outputTokens: options.outputTokens ?? fakeTokenCount(text),
    inputUsage: inputUsageOf(inputTokens, options, cache)
  }
}

let nextId = 0

/** The API takes `x-api-key`; SDK 1.x sends the key as a bearer token. */
const presentedKey = (req: Http.IncomingMessage): string | undefined => {
  const header = req.headers["x-api-key"]
  if (typeof header === "string") return header
  const auth = req.headers.authorization
  return auth?.startsWith("Bearer ") ? auth.slice(7) : undefined
}

const sse = (res: Http.ServerResponse, event: string, data: unknown) =>
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

/**
 * Kills the connection mid-body, after what was written has reached the client (a bare
 * destroy would discard the unsent buffer, and the client would see nothing before the cut).
 */
const cut = async (res: Http.ServerResponse) => {
  await new Promise<void>((resolve) => res.write("", () => resolve()))
  await sleep(15)
  res.socket?.destroy()
}

const streamAnswer = async (
  res: Http.ServerResponse,
  body: AnthropicMessagesBody,
  ans: Answer,
  options: FakeAnthropicOptions,
  fault: AnthropicFault | undefined
) => {
  const interval = options.chunkIntervalMs ?? 0
  res.on("error", () => undefined) // a client that went away is an expected outcome here
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": "req_fake" })
  if (fault?.kind === "malformed") {
    res.end("event: message_start\ndata: {\"type\": \"message_start\", \"message\": {broken\n\n")
    return
  }
  const gone = () => res.destroyed || res.writableEnded
  sse(res, "message_start", {
    type: "message_start",
    message: {
      id: `msg_fake_${++nextId}`,
      type: "message",
      role: "assistant",
      model: body.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...ans.inputUsage, output_tokens: 1 }
    }
  })
  sse(res, "content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })
  sse(res, "ping", { type: "ping" })
  let sent = 0
  for (const piece of split(ans.text, options.chunks ?? 4)) {
    if (fault?.kind === "cutAfter" && sent >= fault.chunks) return cut(res)
    if ((fault?.kind === "streamError" || fault?.kind === "truncate") && sent >= fault.afterChunks) break
    await sleep(interval)
    if (gone()) return
    sse(res, "content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } })
    sent++
  }
  if (fault?.kind === "cutAfter") return cut(res)
  if (fault?.kind === "truncate") return void res.end()
  if (fault?.kind === "streamError") {
    sse(res, "error", anthropicErrorBodyOfType(fault.errorType ?? "overloaded_error", fault.message ?? "Overloaded"))
    return void res.end()
  }
  await sleep(interval)
  if (gone()) return
  sse(res, "content_block_stop", { type: "content_block_stop", index: 0 })
  sse(res, "message_delta", {
    type: "message_delta",
    delta: { stop_reason: ans.stopReason, stop_sequence: ans.stopSequence },
    usage: { output_tokens: ans.outputTokens }
  })
  sse(res, "message_stop", { type: "message_stop" })
  res.end()
}

const anthropicErrorBodyOfType = (type: string, message: string) => ({ type: "error", error: { type, message } })

/** Starts the fake on a free loopback port. */
export const startFakeAnthropic = async (initial: FakeAnthropicOptions = {}): Promise<FakeAnthropic> => {
  let options = initial
  const faults: Array<AnthropicFault> = []
  const turns = makeTurnSource<AnthropicMessagesBody>()
  const issued: IssuedThinking = { signatures: new Map(), redacted: new Set() }
  const cachedPrefixes = new Set<string>()
  const server = await startLoopbackServer(async ({ req, res, path, body }) => {
    const fault = faults.shift()
    await sleep(options.latencyMs ?? 0)
    if (options.apiKey !== undefined && presentedKey(req) !== options.apiKey) {
      return sendJson(res, 401, anthropicErrorBody(401, "invalid x-api-key"))
    }
    const isStream = path === "/v1/messages" && (body as AnthropicMessagesBody | undefined)?.stream === true
    // Stream faults need the stream's own framing (stream-only faults on other requests are ignored).
    const streamFault = isStream && (fault?.kind === "malformed" || fault?.kind === "cutAfter")
    const sharedFault = fault?.kind === "streamError" || fault?.kind === "truncate" ? undefined : fault
    if (!streamFault && applyFault(res, sharedFault, (s) => anthropicErrorBody(s))) return
    if (req.method === "GET" && path === "/v1/models") {
      const ids = options.models ?? ["claude-3-haiku-20240307", "claude-sonnet-4-5"]
      const data = ids.map((id) => ({ type: "model", id, display_name: id, created_at: "2024-03-07T00:00:00Z" }))
      return sendJson(res, 200, { data, has_more: false, first_id: ids[0] ?? null, last_id: ids.at(-1) ?? null })
    }
    if (req.method !== "POST" || path !== "/v1/messages") {
      return sendJson(res, 404, anthropicErrorBody(404, `no route ${req.method} ${path}`))
    }
    const msg = body as AnthropicMessagesBody
    if (typeof msg !== "object" || msg === null || !Array.isArray(msg.messages) || typeof msg.max_tokens !== "number") {
      return sendJson(res, 400, anthropicErrorBody(400, "messages and max_tokens are required"))
    }
    const violation = checkMessagesRequest(msg, issued)
    if (violation !== undefined) return sendJson(res, 400, anthropicErrorBody(400, violation), { "request-id": "req_fake" })
    const cache = options.promptCache === true ? promptCacheUsage(msg, cachedPrefixes, fakeTokenCount) : undefined
    const turn = turns.next(msg) ?? forcedTurn(msg)
    // (a malformed-stream fault is written by the plain path, which handles it first)
    if (turn !== undefined && isRich(turn) && !(msg.stream === true && fault?.kind === "malformed")) {
      const wire = anthropicWireTurn(turn, msg, ++nextId, issued)
      const inputTokens = options.inputTokens ?? fakeInputTokens(msg)
      const outputTokens = options.outputTokens ?? fakeTokenCount(wire.producedText)
      const usage = { ...inputUsageOf(inputTokens, options, cache), output_tokens: outputTokens }
      const message = { id: `msg_fake_${nextId}`, type: "message", role: "assistant", model: msg.model, content: wire.content, stop_reason: wire.stopReason, stop_sequence: null, usage }
      if (msg.stream !== true) return sendJson(res, 200, message, { "request-id": "req_fake" })
      const textPieces = (text: string) => split(text, options.chunks ?? 4)
      return streamWireTurn(res, { message: { ...message, usage: { ...usage, output_tokens: 1 } }, wire, outputTokens, fault, intervalMs: options.chunkIntervalMs ?? 0, textPieces })
    }
    const ans = answer(msg, turn?.text === undefined ? options : { ...options, reply: turn.text }, cache)
    if (msg.stream === true) return streamAnswer(res, msg, ans, options, fault)
    const message = {
      id: `msg_fake_${++nextId}`,
      type: "message",
      role: "assistant",
      model: msg.model,
      content: [{ type: "text", text: ans.text }],
      stop_reason: ans.stopReason,
      stop_sequence: ans.stopSequence,
      usage: { ...ans.inputUsage, output_tokens: ans.outputTokens }
    }
    if (fault?.kind === "cutAfter") {
      // A JSON answer cut half-way: the promised content-length never arrives.
      const text = JSON.stringify(message)
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
      res.write(text.slice(0, text.length >> 1))
      return cut(res)
    }
    sendJson(res, 200, message, { "request-id": "req_fake" })
  })
  return {
    url: server.url,
    server,
    requests: server.requests,
    messageBodies: () =>
      server.requests.filter((r) => r.path === "/v1/messages").map((r) => r.body as AnthropicMessagesBody),
    fail: (...more) => void faults.push(...more),
    ...turns.scripting,
    configure: (next) => void (options = { ...options, ...next }),
    close: () => server.close()
  }
}

/** The fake as a scoped resource: closed when the scope ends. */
export const fakeAnthropic = (options?: FakeAnthropicOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeAnthropic(options)),
    (fake) => Effect.promise(() => fake.close())
  )
