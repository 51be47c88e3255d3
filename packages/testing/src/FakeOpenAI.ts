/**
 * A fake OpenAI upstream on the loopback server, speaking OpenAI's real wire format so the real
 * `openai` SDK (and the gateway's pass-through path, and peer gateways in benchmarks) can talk to
 * it: chat completions (JSON and SSE), embeddings, models, and the Azure deployment paths.
 *
 * Token counts are deterministic — one token per whitespace-separated word (`fakeTokenCount`) —
 * so tests can assert exact usage. Faults are queued and consumed one per request, in order.
 * The hot path does no logging and no per-request allocation beyond the response itself.
 */
import type * as Http from "node:http"
import { Effect } from "effect"
import { checkChatRequest } from "./fakes/openai/ChatRules.ts"
import { forcedTurn, openAIWireTurn } from "./fakes/openai/ChatTurn.ts"
import { answerResponses, type FakeResponsesUsage } from "./fakes/openai/Responses.ts"
import { type FakeScripting, isRich, makeTurnSource } from "./fakes/Script.ts"
import {
  applyFault,
  type Fault,
  type LoopbackHandlerContext,
  type LoopbackServer,
  type RecordedRequest,
  sendJson,
  startLoopbackServer
} from "./LoopbackServer.ts"

export type { FakeResponder, FakeToolCall, FakeTurn } from "./fakes/Script.ts"

export interface FakeChatMessage {
  readonly role: string
  /** A string, or content parts (`text`, `image_url`, `input_audio`, `file`); null beside `tool_calls`. */
  readonly content: string | ReadonlyArray<Record<string, unknown>> | null
}

/** The parts of a chat request the fake looks at (the whole body is passed through). */
export interface FakeChatRequest {
  readonly model: string
  readonly messages: ReadonlyArray<FakeChatMessage>
  readonly stream?: boolean
  readonly stream_options?: { readonly include_usage?: boolean }
  readonly max_tokens?: number
  readonly max_completion_tokens?: number
  readonly [key: string]: unknown
}

export interface FakeOpenAIOptions {
  /** The assistant's answer, or a function of the request (default: `"Hello from the fake upstream."`). */
  readonly reply?: string | ((req: FakeChatRequest) => string)
  /** Content chunks a streamed answer is split into (default: one per word). */
  readonly chunks?: number
  /** Delay between streamed chunks (default 0: the whole stream is written at once). */
  readonly chunkIntervalMs?: number
  /** Delay before any response (headers included), e.g. to model upstream latency in benchmarks. */
  readonly latencyMs?: number
  /** Models listed by `GET /v1/models`. */
  readonly models?: ReadonlyArray<string>
  /** Length of each embedding vector (default 8). */
  readonly embeddingDimensions?: number
  /** When set, requests must carry it (`Authorization: Bearer …`, or `api-key` on Azure paths): 401 otherwise. */
  readonly apiKey?: string
  /** Usage details to report, as OpenAI does (default: none, the plain three counts). */
  readonly usageDetails?: FakeUsageDetails
}

/**
 * OpenAI's usage details: `prompt_tokens_details.cached_tokens` (at most the prompt's tokens,
 * which include them) and `completion_tokens_details.reasoning_tokens` (added to the answer's
 * tokens, which include them).
 */
export interface FakeUsageDetails {
  readonly cachedTokens?: number
  readonly reasoningTokens?: number
}

export interface FakeAzureRequest {
  readonly deployment: string
  readonly apiVersion: string | null
  readonly operation: "chat/completions" | "embeddings"
}

/**
 * Beyond text: `script` / `respond` (fakes/Script.ts) make the fake answer with tool calls and
 * reasoning; requests breaking OpenAI's tool and content-part rules get its real 400.
 */
export interface FakeOpenAI extends FakeScripting<FakeChatRequest> {
  /** The OpenAI-style base URL: `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string
  /** The origin, for Azure (`endpoint`) and full-URL configs. */
  readonly url: string
  readonly server: LoopbackServer
  /** Azure-path calls with their deployment and `api-version` (the loopback log drops the query). */
  readonly azureRequests: Array<FakeAzureRequest>
  /** The body of the last request the fake received (what the gateway sent upstream). */
  readonly lastBody: () => Record<string, unknown> | undefined
  /** Every chat completions body received (OpenAI and Azure paths), in order. */
  readonly requests: () => Array<FakeChatRequest>
  /** The next request (of any kind) gets this fault instead of a normal answer; faults queue up. */
  readonly enqueueFault: (fault: Fault, times?: number) => void
  readonly pendingFaults: () => number
  readonly setReply: (reply: string | ((req: FakeChatRequest) => string)) => void
  readonly setUsageDetails: (details: FakeUsageDetails | undefined) => void
  /** `POST /v1/responses` requests received (body and headers), in order (fakes/openai/Responses.ts). */
  readonly responsesRequests: () => Array<RecordedRequest>
  /** Turns for `/v1/responses` (its own queue: chat turns are not consumed by it). */
  readonly responsesScript: FakeScripting<Record<string, unknown>>
  /** Usage details `/v1/responses` reports (cached input, reasoning tokens). */
  readonly setResponsesUsage: (usage: FakeResponsesUsage | undefined) => void
  readonly close: () => Promise<void>
}

/** The fake's tokenizer: one token per whitespace-separated word. */
export const fakeTokenCount = (text: string): number => {
  let count = 0
  let inWord = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const space = c === 32 || c === 10 || c === 9 || c === 13
    if (!space && !inWord) count++
    inWord = !space
  }
  return count
}

export const fakePromptTokens = (messages: ReadonlyArray<FakeChatMessage>): number => {
  let n = 0
  for (const m of messages) {
    if (typeof m.content === "string") n += fakeTokenCount(m.content)
    else if (Array.isArray(m.content)) for (const p of m.content) n += typeof p.text === "string" ? fakeTokenCount(p.text) : 0
  }
  return n
}

/** Splits a reply into stream pieces: by word (each keeps its trailing space), or into `n` near-equal parts. */
export const splitReply = (text: string, n?: number): Array<string> => {
  if (text.length === 0) return []
  if (n === undefined) return text.match(/\S+\s*|\s+/g) ?? [text]
  const parts = Math.max(1, Math.min(n, text.length))
  const size = Math.ceil(text.length / parts)
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

/** The deterministic vector the fake returns for an input (same text, same vector). */
export const fakeEmbedding = (text: string, dimensions = 8): Array<number> => {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  const out = new Array<number>(dimensions)
  for (let i = 0; i < dimensions; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0
    // Values a float32 holds exactly, so base64 and float encodings decode to the same numbers.
    out[i] = ((h % 2001) - 1000) / 1024
  }
  return out
}

const errorTypes: Record<number, [type: string, code: string | null, message: string]> = {
  400: ["invalid_request_error", null, "Invalid request."],
  401: ["invalid_request_error", "invalid_api_key", "Incorrect API key provided."],
  403: ["invalid_request_error", "unsupported_country_region_territory", "Permission denied."],
  404: ["invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."],
  408: ["timeout", null, "Request timed out."],
  409: ["invalid_request_error", null, "Conflict: the resource is locked."],
  422: ["invalid_request_error", null, "Unprocessable entity."],
  429: ["requests", "rate_limit_exceeded", "Rate limit reached for requests."]
}

/** OpenAI's error body for a status: `{ error: { message, type, param, code } }`. */
export const openAIErrorBody = (status: number, message?: string, code?: string | null, param?: string | null) => {
  const [type, defaultCode, defaultMessage] = errorTypes[status] ?? ["server_error", null, "The server had an error while processing your request."]
  return { error: { message: message ?? defaultMessage, type, param: param ?? null, code: code === undefined ? defaultCode : code } }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const sseHeaders = { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" }

export const startFakeOpenAI = async (options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> => {
  const faults: Array<Fault> = []
  const azureRequests: Array<FakeAzureRequest> = []
  let reply = options.reply ?? "Hello from the fake upstream."
  let details = options.usageDetails
  let seq = 0
  const turns = makeTurnSource<FakeChatRequest>()
  const responsesTurns = makeTurnSource<Record<string, unknown>>()
  let responsesUsage: FakeResponsesUsage | undefined
  const models = options.models ?? ["gpt-4o-mini", "text-embedding-3-small"]
  const dims = options.embeddingDimensions ?? 8
  const latency = options.latencyMs ?? 0
  const interval = options.chunkIntervalMs ?? 0

  const authorized = (req: Http.IncomingMessage, azure: boolean): boolean => {
    if (options.apiKey === undefined) return true
    return azure ? req.headers["api-key"] === options.apiKey : req.headers.authorization === `Bearer ${options.apiKey}`
  }

  const chat = async ({ res }: LoopbackHandlerContext, body: FakeChatRequest, fault: Fault | undefined) => {
    const violation = checkChatRequest(body)
    if (violation !== undefined) return sendJson(res, 400, openAIErrorBody(400, violation.message, violation.code, violation.param))
    const id = `chatcmpl-fake-${++seq}`
    const created = Math.floor(Date.now() / 1000)
    const model = body.model
    const turn = turns.next(body) ?? forcedTurn(body)
    // Tool calls and reasoning take the rich encoder; a text turn takes the plain path below.
    const rich = turn !== undefined && isRich(turn) ? openAIWireTurn(turn, body, seq, fakeTokenCount) : undefined
    let text = turn?.text ?? (typeof reply === "string" ? reply : reply(body))
    let finish: string = rich?.finishReason ?? "stop"
    // A max-tokens cap truncates the answer (by the fake's word tokens), as a real model would.
    const cap = body.max_completion_tokens ?? body.max_tokens
    if (rich === undefined && cap !== undefined && fakeTokenCount(text) > cap) {
      text = (text.match(/\S+\s*/g) ?? []).slice(0, cap).join("").trimEnd()
      finish = "length"
    }
    const promptTokens = fakePromptTokens(body.messages ?? [])
    const reasoningTokens = rich?.reasoningTokens ?? details?.reasoningTokens ?? 0
    const completionTokens = fakeTokenCount(rich?.producedText ?? text) + reasoningTokens
    const usage: Record<string, unknown> = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens
    }
    if (details !== undefined || reasoningTokens > 0) {
      usage.prompt_tokens_details = { cached_tokens: Math.min(details?.cachedTokens ?? 0, promptTokens), audio_tokens: 0 }
      usage.completion_tokens_details = {
        reasoning_tokens: reasoningTokens,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0
      }
    }

    if (body.stream !== true) {
      const payload = {
        id,
        object: "chat.completion",
        created,
        model,
        // `n` choices, as OpenAI answers (each the same reply: the fake is deterministic)
        choices: Array.from({ length: typeof body.n === "number" && body.n > 1 ? body.n : 1 }, (_, index) => ({
          index,
          message: rich?.message ?? { role: "assistant", content: text, refusal: null },
          logprobs: null,
          finish_reason: finish
        })),
        usage,
        system_fingerprint: null
      }
      if (fault?.kind === "cutAfter") {
        const json = JSON.stringify(payload)
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) })
        res.write(json.slice(0, json.length >> 1), () => res.socket?.destroy())
        return
      }
      return sendJson(res, 200, payload)
    }

    const chunk = (delta: object, finishReason: string | null) =>
      `data: ${JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        system_fingerprint: null,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }]
      })}\n\n`
    res.writeHead(200, sseHeaders)
    if (fault?.kind === "malformed") {
      res.end(`${chunk({ role: "assistant", content: "" }, null)}data: {"id": "broken\n\n`)
      return
    }
    const deltas = rich?.deltas ?? splitReply(text, options.chunks).map((content) => ({ content }))
    const cut = fault?.kind === "cutAfter" ? fault.chunks : -1
    // OpenAI opens a tool-call answer with `content: null`, a text answer with `content: ""`.
    const frames: Array<string> = [chunk({ role: "assistant", content: rich?.message.tool_calls !== undefined && turn?.text === undefined ? null : "" }, null)]
    for (let i = 0; i < deltas.length; i++) {
      if (i === cut) break
      frames.push(chunk(deltas[i], null))
    }
    if (cut >= 0) {
      // Write what the upstream got out, then drop the connection mid-answer.
      res.write(frames.join(""), () => res.socket?.destroy())
      return
    }
    frames.push(chunk({}, finish))
    if (body.stream_options?.include_usage === true) {
      frames.push(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices: [], usage })}\n\n`)
    }
    frames.push("data: [DONE]\n\n")
    if (interval <= 0) {
      res.end(frames.join(""))
      return
    }
    for (let i = 0; i < frames.length; i++) {
      if (res.destroyed || res.writableEnded) return
      if (i > 0) await sleep(interval)
      if (res.destroyed) return
      res.write(frames[i])
    }
    res.end()
  }

  const embeddings = ({ res }: LoopbackHandlerContext, body: Record<string, unknown>) => {
    const raw = body.input
    // token arrays (number[] or number[][]) embed as the text of their ids, one token per id
    const tokenIds = Array.isArray(raw) && raw.length > 0 && typeof raw[0] !== "string"
    const inputs: Array<string> = !tokenIds
      ? Array.isArray(raw) ? raw.map(String) : [String(raw ?? "")]
      : typeof raw[0] === "number"
      ? [(raw as Array<number>).join(" ")]
      : (raw as Array<Array<number>>).map((ids) => ids.join(" "))
    // `dimensions` shortens the vector, as OpenAI's text-embedding-3 models do
    const size = typeof body.dimensions === "number" ? body.dimensions : dims
    const base64 = body.encoding_format === "base64"
    let tokens = 0
    const data = inputs.map((input, index) => {
      tokens += fakeTokenCount(input)
      const vector = fakeEmbedding(input, size)
      return {
        object: "embedding",
        index,
        embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector
      }
    })
    sendJson(res, 200, { object: "list", data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } })
  }

  const listModels = ({ res }: LoopbackHandlerContext) =>
    sendJson(res, 200, { object: "list", data: models.map((id) => ({ id, object: "model", created: 1700000000, owned_by: "fake" })) })

  const server = await startLoopbackServer(async (ctx) => {
    const { req, res, path } = ctx
    if (latency > 0) await sleep(latency)
    const fault = faults.shift()
    if (fault?.kind === "malformed" && (ctx.body as FakeChatRequest | undefined)?.stream === true) {
      // handled by `chat`: a 200 SSE response with a broken event
    } else if (applyFault(res, fault, (status) => openAIErrorBody(status))) {
      return
    }
    const body = (typeof ctx.body === "object" && ctx.body !== null ? ctx.body : {}) as FakeChatRequest

    if (path.startsWith("/openai/")) {
      const url = new URL(req.url ?? "/", "http://fake")
      const apiVersion = url.searchParams.get("api-version")
      const m = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(path)
      if (m !== null) azureRequests.push({ deployment: decodeURIComponent(m[1]), apiVersion, operation: m[2] as FakeAzureRequest["operation"] })
      // Azure answers a request without api-version with 404 Resource not found.
      if (apiVersion === null) return sendJson(res, 404, { error: { code: "404", message: "Resource not found" } })
      if (!authorized(req, true)) return sendJson(res, 401, { error: { code: "401", message: "Access denied due to invalid subscription key or wrong API endpoint." } })
      if (m !== null && req.method === "POST") {
        return m[2] === "embeddings" ? embeddings(ctx, { ...body, model: body.model ?? m[1] }) : chat(ctx, { ...body, model: body.model ?? m[1] }, fault)
      }
      if (path === "/openai/models" && req.method === "GET") return listModels(ctx)
      return sendJson(res, 404, { error: { code: "404", message: "Resource not found" } })
    }

    if (!authorized(req, false)) return sendJson(res, 401, openAIErrorBody(401))
    if (req.method === "POST" && path === "/v1/chat/completions") return chat(ctx, body, fault)
    if (req.method === "POST" && path === "/v1/embeddings") return embeddings(ctx, body)
    if (req.method === "POST" && path === "/v1/responses") {
      const turn = responsesTurns.next(body)
      return answerResponses(res, body, {
        seq: ++seq,
        text: turn?.text ?? (typeof reply === "string" ? reply : reply(body)),
        turn,
        usage: responsesUsage,
        tokenCount: fakeTokenCount,
        split: (text) => splitReply(text, options.chunks)
      })
    }
    if (req.method === "GET" && path === "/v1/models") return listModels(ctx)
    return sendJson(res, 404, openAIErrorBody(404, `Unknown request URL: ${req.method} ${path}`, "unknown_url"))
  })

  return {
    baseUrl: `${server.url}/v1`,
    url: server.url,
    server,
    azureRequests,
    enqueueFault: (fault, times = 1) => {
      for (let i = 0; i < times; i++) faults.push(fault)
    },
    pendingFaults: () => faults.length,
    lastBody: () => server.requests.at(-1)?.body as Record<string, unknown> | undefined,
    requests: () => server.requests.filter((r) => r.path.endsWith("/chat/completions")).map((r) => r.body as FakeChatRequest),
    ...turns.scripting,
    setReply: (r) => {
      reply = r
    },
    setUsageDetails: (d) => {
      details = d
    },
    responsesRequests: () => server.requests.filter((r) => r.path === "/v1/responses"),
    responsesScript: responsesTurns.scripting,
    setResponsesUsage: (u) => {
      responsesUsage = u
    },
    close: () => server.close()
  }
}

/** The fake as a scoped resource: closed when the scope (test) ends. */
export const fakeOpenAI = (options?: FakeOpenAIOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeOpenAI(options)),
    (fake) => Effect.promise(() => fake.close())
  )
