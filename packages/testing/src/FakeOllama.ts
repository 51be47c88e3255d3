/**
 * A fake Ollama server on loopback that speaks Ollama's own wire format, so the real `ollama`
 * SDK can be tested end to end: `POST /api/chat` (JSON, or NDJSON when `stream` is not false —
 * Ollama streams by default), `POST /api/embed`, `GET /api/tags`, `GET /api/version`, and the
 * OpenAI-compatible `GET /v1/models` that Ollama and LM Studio both serve (for health checks).
 *
 * Everything is deterministic: token counts are word counts unless fixed by the options, and
 * embeddings are derived from a hash of the input text.
 */
import type * as Http from "node:http"
import { Effect } from "effect"
import { capabilitiesOf, checkOllamaChat, ollamaWireTurn, showResponse } from "./fakes/ollama/ChatTurn.ts"
import { type FakeScripting, type FakeTurn, isRich, makeTurnSource } from "./fakes/Script.ts"
import { type Fault, type LoopbackServer, sendJson, startLoopbackServer } from "./LoopbackServer.ts"

export type { FakeResponder, FakeToolCall, FakeTurn } from "./fakes/Script.ts"

export interface FakeOllamaMessage {
  readonly role: string
  readonly content: string
  /** Base64 images (the SDK encodes bytes before sending). */
  readonly images?: ReadonlyArray<string>
  readonly thinking?: string
  readonly tool_calls?: ReadonlyArray<{ readonly function: { readonly name: string; readonly arguments: Record<string, unknown> } }>
  readonly tool_name?: string
}

/** A chat request: the fields the fake reads, and every other field of the body as sent. */
export interface FakeOllamaChatRequest {
  readonly model: string
  readonly messages: ReadonlyArray<FakeOllamaMessage>
  readonly stream?: boolean
  readonly format?: unknown
  readonly options?: Record<string, unknown>
  readonly tools?: ReadonlyArray<Record<string, unknown>>
  readonly think?: boolean | "low" | "medium" | "high"
  readonly [key: string]: unknown
}

/**
 * Ollama-only faults on top of the shared `Fault`:
 * - `streamError`: a 200 NDJSON stream that sends N content chunks, then an in-band
 *   `{"error":"..."}` line — what Ollama does when generation fails after it started.
 */
export type OllamaFault = Fault | { readonly kind: "streamError"; readonly afterChunks: number; readonly message: string }

export interface FakeOllamaOptions {
  /** The assistant's answer (default "Hello from fake Ollama"). */
  readonly reply?: string | ((req: FakeOllamaChatRequest) => string)
  /** Stream the reply in this many content chunks (default: one chunk per word). */
  readonly chunks?: number
  readonly chunkIntervalMs?: number
  /** Delay before the response headers. */
  readonly latencyMs?: number
  /** `prompt_eval_count` (default: words in all messages). */
  readonly promptTokens?: number
  /** `eval_count` (default: words in the reply actually sent). */
  readonly completionTokens?: number
  /** Models listed by `/api/tags` and `/v1/models`. */
  readonly models?: ReadonlyArray<string>
  /** Answer 404 `model "x" not found` for chat/embed models not in `models`. */
  readonly strictModels?: boolean
  readonly embeddingDimensions?: number
  readonly version?: string
  /**
   * Capabilities per model, as `/api/show` reports them ("completion", "tools", "vision",
   * "thinking", "embedding"); a model not listed has every chat capability.
   */
  readonly capabilities?: Readonly<Record<string, ReadonlyArray<string>>>
}

/**
 * Beyond text: `script` / `respond` (fakes/Script.ts) make the fake answer with `tool_calls`
 * and `thinking`; tools, thinking or images a model cannot take get Ollama's 400.
 */
export interface FakeOllama extends FakeScripting<FakeOllamaChatRequest> {
  readonly url: string
  readonly server: LoopbackServer
  /** Faults consumed in order, one per request (any route). */
  readonly faults: Array<OllamaFault>
  readonly fail: (...faults: ReadonlyArray<OllamaFault>) => void
  /** Options can be changed between requests. */
  options: FakeOllamaOptions
  readonly chatRequests: () => ReadonlyArray<FakeOllamaChatRequest>
  readonly close: () => Promise<void>
}

const DEFAULT_MODELS = ["llama3.2:latest", "nomic-embed-text:latest"]

/** Ollama's own 404 text for an unknown model. */
export const ollamaModelNotFound = (model: string) => `model "${model}" not found, try pulling it first`

const defaultErrorMessage = (status: number, model: string): string => {
  switch (status) {
    case 400:
      return "invalid request"
    case 401:
      return "unauthorized"
    case 403:
      return "forbidden"
    case 404:
      return ollamaModelNotFound(model)
    case 429:
      return "too many requests"
    case 503:
      return "server busy, please try again.  maximum pending requests exceeded"
    default:
      return status >= 500 ? "internal server error" : `error ${status}`
  }
}

const words = (text: string): Array<string> => text.match(/\S+\s*/g) ?? []
const countWords = (text: string) => text.split(/\s+/).filter((w) => w.length > 0).length

/** Splits `pieces` into `n` nearly equal groups (never an empty group). */
const group = (pieces: ReadonlyArray<string>, n: number | undefined): Array<string> => {
  if (n === undefined || n >= pieces.length) return [...pieces]
  const out: Array<string> = []
  const size = Math.ceil(pieces.length / Math.max(1, n))
  for (let i = 0; i < pieces.length; i += size) out.push(pieces.slice(i, i + size).join(""))
  return out
}

/** A deterministic unit vector for a text (FNV-1a seeded per dimension). */
export const fakeOllamaEmbedding = (text: string, dims: number): Array<number> => {
  const v: Array<number> = []
  for (let d = 0; d < dims; d++) {
    let h = 0x811c9dc5 ^ d
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
    v.push(((h >>> 0) / 0xffffffff) * 2 - 1)
  }
  const norm = Math.hypot(...v) || 1
  return v.map((x) => x / norm)
}

// unref'd: a slow fake must not keep the test process alive after its sockets are gone
const sleep = (ms: number | undefined) =>
  ms && ms > 0 ? new Promise<void>((r) => void setTimeout(r, ms).unref()) : Promise.resolve()

/** Closes the socket once the chunks already written are flushed: the client sees a body cut short. */
const cut = (res: Http.ServerResponse) => void res.socket?.destroySoon()

const writeLine = (res: Http.ServerResponse, value: unknown) => res.write(JSON.stringify(value) + "\n")

export const startFakeOllama = async (initial: FakeOllamaOptions = {}): Promise<FakeOllama> => {
  const faults: Array<OllamaFault> = []
  const chats: Array<FakeOllamaChatRequest> = []
  const turns = makeTurnSource<FakeOllamaChatRequest>()
  const state = { options: initial }
  const models = () => state.options.models ?? DEFAULT_MODELS
  const unknownModel = (model: string) => state.options.strictModels === true && !models().includes(model)

  const sendError = (res: Http.ServerResponse, status: number, message: string, headers?: Record<string, string>) =>
    sendJson(res, status, { error: message }, headers)

  const promptWords = (req: FakeOllamaChatRequest) => req.messages.reduce((n, m) => n + countWords(m.content ?? ""), 0)

  /** A scripted turn with thinking or tool calls (fakes/ollama/ChatTurn.ts); faults count lines. */
  const richChat = async (res: Http.ServerResponse, req: FakeOllamaChatRequest, turn: FakeTurn, fault: OllamaFault | undefined) => {
    const o = state.options
    const wire = ollamaWireTurn(turn, req)
    const final = {
      done: true,
      done_reason: "stop",
      total_duration: 1_000_000,
      load_duration: 100_000,
      prompt_eval_count: o.promptTokens ?? promptWords(req),
      prompt_eval_duration: 200_000,
      eval_count: o.completionTokens ?? countWords(wire.producedText),
      eval_duration: 700_000
    }
    const created_at = new Date().toISOString()
    if (req.stream === false) return sendJson(res, 200, { model: req.model, created_at, message: wire.message, ...final })
    res.writeHead(200, { "content-type": "application/x-ndjson" })
    for (const [i, message] of wire.chunks.entries()) {
      if (fault?.kind === "cutAfter" && i >= fault.chunks) return cut(res)
      if (fault?.kind === "streamError" && i >= fault.afterChunks) return void res.end(JSON.stringify({ error: fault.message }) + "\n")
      if (i > 0) await sleep(o.chunkIntervalMs)
      if (res.destroyed) return
      writeLine(res, { model: req.model, created_at, message, done: false })
    }
    if (fault?.kind === "cutAfter") return cut(res)
    writeLine(res, { model: req.model, created_at, message: { role: "assistant", content: "" }, ...final })
    res.end()
  }

  const chat = async (res: Http.ServerResponse, req: FakeOllamaChatRequest, fault: OllamaFault | undefined) => {
    const o = state.options
    const turn = turns.next(req)
    if (turn !== undefined && isRich(turn)) return richChat(res, req, turn, fault)
    const created_at = new Date().toISOString()
    const reply = turn?.text ?? (typeof o.reply === "function" ? o.reply(req) : (o.reply ?? "Hello from fake Ollama"))
    let pieces = words(reply)
    const numPredict = typeof req.options?.num_predict === "number" ? req.options.num_predict : undefined
    const truncated = numPredict !== undefined && numPredict >= 0 && numPredict < pieces.length
    if (truncated) pieces = pieces.slice(0, numPredict)
    const content = pieces.join("")
    const promptTokens = o.promptTokens ?? promptWords(req)
    const evalCount = o.completionTokens ?? pieces.length
    const final = {
      done: true,
      done_reason: truncated ? "length" : "stop",
      total_duration: 1_000_000,
      load_duration: 100_000,
      prompt_eval_count: promptTokens,
      prompt_eval_duration: 200_000,
      eval_count: evalCount,
      eval_duration: 700_000
    }
    if (req.stream === false) {
      sendJson(res, 200, { model: req.model, created_at, message: { role: "assistant", content }, ...final })
      return
    }
    res.writeHead(200, { "content-type": "application/x-ndjson" })
    const chunks = group(pieces, o.chunks)
    for (let i = 0; i < chunks.length; i++) {
      if (fault?.kind === "cutAfter" && i >= fault.chunks) return cut(res)
      if (fault?.kind === "streamError" && i >= fault.afterChunks) {
        writeLine(res, { error: fault.message })
        return void res.end()
      }
      if (i > 0) await sleep(o.chunkIntervalMs)
      if (res.destroyed) return
      writeLine(res, { model: req.model, created_at, message: { role: "assistant", content: chunks[i] }, done: false })
    }
    if (fault?.kind === "cutAfter") return cut(res)
    if (fault?.kind === "streamError") {
      writeLine(res, { error: fault.message })
      return void res.end()
    }
    await sleep(o.chunkIntervalMs)
    if (res.destroyed) return
    writeLine(res, { model: req.model, created_at: new Date().toISOString(), message: { role: "assistant", content: "" }, ...final })
    res.end()
  }

  const server = await startLoopbackServer(async ({ req, res, path, body }) => {
    const fault = faults.shift()
    const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>
    const model = typeof b.model === "string" ? b.model : ""
    await sleep(state.options.latencyMs)
    if (fault !== undefined) {
      switch (fault.kind) {
        case "status":
          return sendJson(res, fault.status, fault.body ?? { error: defaultErrorMessage(fault.status, model) }, fault.headers)
        case "hang":
          return
        case "reset":
          return void res.socket?.destroy()
        case "malformed":
          if (path === "/api/chat" && b.stream !== false) {
            res.writeHead(200, { "content-type": "application/x-ndjson" })
            return void res.end("{\"model\": \"broken\n")
          }
          res.writeHead(200, { "content-type": "application/json; charset=utf-8" })
          return void res.end("{\"model\": \"broken")
        default:
          break // stream faults are applied by the chat handler
      }
    }
    const method = req.method ?? "GET"
    if (method === "POST" && path === "/api/chat") {
      const chatReq: FakeOllamaChatRequest = {
        ...b,
        model,
        messages: Array.isArray(b.messages) ? (b.messages as FakeOllamaChatRequest["messages"]) : [],
        stream: b.stream as boolean | undefined,
        format: b.format,
        options: b.options as Record<string, unknown> | undefined
      }
      chats.push(chatReq)
      if (unknownModel(model)) return sendError(res, 404, ollamaModelNotFound(model))
      const refused = checkOllamaChat(b, capabilitiesOf(model, state.options.capabilities))
      if (refused !== undefined) return sendError(res, 400, refused)
      return chat(res, chatReq, fault)
    }
    if (method === "POST" && path === "/api/show") {
      if (unknownModel(model)) return sendError(res, 404, `model '${model}' not found`)
      return sendJson(res, 200, showResponse(model, capabilitiesOf(model, state.options.capabilities)))
    }
    if (method === "POST" && path === "/api/embed") {
      if (unknownModel(model)) return sendError(res, 404, ollamaModelNotFound(model))
      const input = typeof b.input === "string" ? [b.input] : Array.isArray(b.input) ? (b.input as Array<string>) : []
      // `dimensions` truncates the vector, as Ollama 0.11+ does
      const dims = typeof b.dimensions === "number" ? b.dimensions : state.options.embeddingDimensions ?? 8
      return sendJson(res, 200, {
        model,
        embeddings: input.map((t) => fakeOllamaEmbedding(String(t), dims)),
        total_duration: 500_000,
        load_duration: 100_000,
        prompt_eval_count: state.options.promptTokens ?? input.reduce((n, t) => n + countWords(String(t)), 0)
      })
    }
    if (method === "GET" && path === "/api/tags") {
      return sendJson(res, 200, {
        models: models().map((name) => ({
          name,
          model: name,
          modified_at: "2025-01-01T00:00:00Z",
          size: 2_019_393_189,
          digest: "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
          details: {
            parent_model: "",
            format: "gguf",
            family: "llama",
            families: ["llama"],
            parameter_size: "3.2B",
            quantization_level: "Q4_K_M"
          }
        }))
      })
    }
    if (method === "GET" && path === "/api/version") {
      return sendJson(res, 200, { version: state.options.version ?? "0.12.6" })
    }
    if (method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, {
        object: "list",
        data: models().map((id) => ({ id, object: "model", created: 1735689600, owned_by: "library" }))
      })
    }
    // Ollama's router (Go's net/http) answers unknown routes in plain text.
    res.writeHead(404, { "content-type": "text/plain" })
    res.end("404 page not found")
  })

  return {
    url: server.url,
    server,
    faults,
    fail: (...more) => void faults.push(...more),
    get options() {
      return state.options
    },
    set options(next: FakeOllamaOptions) {
      state.options = next
    },
    chatRequests: () => chats,
    ...turns.scripting,
    close: () => server.close()
  }
}

/** The fake as a scoped resource: closed when the scope (test) ends. */
export const fakeOllama = (options?: FakeOllamaOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeOllama(options)),
    (fake) => Effect.promise(() => fake.close())
  )
