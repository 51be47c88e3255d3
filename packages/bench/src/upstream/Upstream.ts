/**
 * The benchmark's upstream: an OpenAI wire-format emulator on node:http, built for load rather
 * than for tests. It differs from `@llm-gateway/testing/FakeOpenAI` in two ways a benchmark
 * needs: it keeps no request log (the fake records every request, which grows without bound over
 * a five-minute run and would skew the upstream's own GC), and the model name picks the stream
 * shape, so one upstream and one gateway config serve every scenario:
 *
 * - `bench-fast`   JSON at once; a streamed answer is written in one go (all chunks, one write);
 * - `bench-stream` `chunks` content chunks, the first at once, the rest `chunkIntervalMs` apart;
 * - `bench-hold`   like bench-stream with `holdIntervalMs` (keeps streams open for the memory scenario).
 *
 * Frames are byte-for-byte the shape FakeOpenAI writes (and OpenAI's), so the real SDK parses them.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export interface UpstreamOptions {
  readonly port?: number
  /** Delay before any response (models an upstream's own latency); default 0. */
  readonly latencyMs?: number
  /** Content chunks of `bench-stream` / `bench-hold` answers (default 20). */
  readonly chunks?: number
  readonly chunkIntervalMs?: number
  readonly holdIntervalMs?: number
}

export interface Upstream {
  readonly port: number
  readonly url: string
  readonly close: () => Promise<void>
}

export const REPLY = "The quick brown fox jumps over the lazy dog while the benchmark counts every byte it sends back."

/** The reply split into `n` near-equal pieces (the stream's content deltas). */
export const pieces = (text: string, n: number): Array<string> => {
  const size = Math.ceil(text.length / n)
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

/** The non-streamed answer (OpenAI's chat completion object), `REPLY` as its content. */
export const completionJson = (
  id: string,
  created: number,
  model: string,
  usage: { readonly prompt_tokens: number; readonly completion_tokens: number; readonly total_tokens: number }
): string =>
  JSON.stringify({
    id,
    object: "chat.completion",
    created,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: REPLY, refusal: null }, logprobs: null, finish_reason: "stop" }],
    usage,
    system_fingerprint: null
  })

const words = (text: string): number => text.split(/\s+/).filter((w) => w.length > 0).length

interface ChatBody {
  readonly model?: string
  readonly messages?: ReadonlyArray<{ readonly content?: unknown }>
  readonly stream?: boolean
  readonly stream_options?: { readonly include_usage?: boolean }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export const startUpstream = (options: UpstreamOptions = {}): Promise<Upstream> => {
  const latency = options.latencyMs ?? 0
  const chunkCount = options.chunks ?? 20
  const parts = pieces(REPLY, chunkCount)
  const completionTokens = words(REPLY)
  let seq = 0

  const answer = (res: Http.ServerResponse, body: ChatBody) => {
    const id = `chatcmpl-bench-${++seq}`
    const created = Math.floor(Date.now() / 1000)
    const model = body.model ?? "bench-fast"
    let promptTokens = 0
    for (const m of body.messages ?? []) promptTokens += typeof m.content === "string" ? words(m.content) : 0
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens }

    if (body.stream !== true) {
      const json = completionJson(id, created, model, usage)
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) })
      res.end(json)
      return
    }

    const frame = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`
    const frames: Array<string> = [frame({ role: "assistant", content: "" }, null)]
    for (const p of parts) frames.push(frame({ content: p }, null))
    frames.push(frame({}, "stop"))
    if (body.stream_options?.include_usage === true) {
      frames.push(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices: [], usage })}\n\n`)
    }
    frames.push("data: [DONE]\n\n")
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" })
    const interval = model.endsWith("bench-hold") ? options.holdIntervalMs ?? 100 : model.endsWith("bench-stream") ? options.chunkIntervalMs ?? 2 : 0
    if (interval <= 0) {
      res.end(frames.join(""))
      return
    }
    // The role frame and the first content chunk go at once: time to first token is then pure transport.
    res.write(frames[0] + frames[1])
    // The last content chunk leaves with the finish, usage and [DONE] frames.
    const lastContent = parts.length
    let i = 2
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer)
      if (i < lastContent) return void res.write(frames[i++])
      clearInterval(timer)
      res.end(frames.slice(i).join(""))
    }, interval)
    res.on("close", () => clearInterval(timer))
  }

  const server = Http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const path = req.url ?? "/"
      if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
        const json = JSON.stringify({ object: "list", data: ["bench-fast", "bench-stream", "bench-hold"].map((id) => ({ id, object: "model", created: 1700000000, owned_by: "bench" })) })
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) })
        return void res.end(json)
      }
      if (req.method !== "POST" || !path.endsWith("/chat/completions")) {
        res.writeHead(404, { "content-type": "application/json" })
        return void res.end(JSON.stringify({ error: { message: `no route ${req.method} ${path}`, type: "invalid_request_error", param: null, code: "unknown_url" } }))
      }
      let body: ChatBody
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatBody
      } catch {
        res.writeHead(400, { "content-type": "application/json" })
        return void res.end(JSON.stringify({ error: { message: "invalid JSON", type: "invalid_request_error", param: null, code: null } }))
      }
      if (latency > 0) void sleep(latency).then(() => answer(res, body))
      else answer(res, body)
    })
  })
  // Load generators keep connections open between trials; never let the upstream close them first.
  server.keepAliveTimeout = 120_000
  server.headersTimeout = 121_000
  server.maxConnections = 20_000
  return new Promise((resolve) => {
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
}
