/**
 * Competitor "SDK proxy": the floor for a gateway that keeps the official `openai` SDK in its
 * path. Parses the request, calls `chat.completions.create` and writes the SDK's objects back
 * (JSON, or SSE chunk by chunk). Nothing else: no routing, no validation beyond JSON.
 * Settings (argv JSON): `{ upstream: "http://127.0.0.1:N", fetch: "default" | "undici-pool" }`:
 * the SDK's default fetch (Node's global fetch), or undici's fetch over a `Pool` to the upstream.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import OpenAI, { type ClientOptions } from "openai"
import { fetch as undiciFetch, Pool } from "undici"
import { exitWithParent, ready, settings } from "../procs/child.ts"

const { upstream, fetch: mode } = settings<{ upstream: string; fetch: "default" | "undici-pool" }>()
const pool = mode === "undici-pool"
  ? new Pool(upstream, { connections: null, keepAliveTimeout: 30_000, pipelining: 1 })
  : undefined
const client = new OpenAI({
  apiKey: "sk-bench",
  baseURL: `${upstream}/v1`,
  maxRetries: 0,
  logLevel: "off",
  ...(pool !== undefined
    ? {
      fetch: undiciFetch as unknown as typeof globalThis.fetch,
      fetchOptions: { dispatcher: pool } as unknown as ClientOptions["fetchOptions"]
    }
    : {})
})

const fail = (res: Http.ServerResponse, error: unknown) => {
  const status = error instanceof OpenAI.APIError && typeof error.status === "number" ? error.status : 502
  if (!res.headersSent) res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify({ error: { message: String(error), type: "upstream_error", code: null } }))
}

const server = Http.createServer((req, res) => {
  const parts: Array<Buffer> = []
  req.on("data", (c: Buffer) => parts.push(c))
  req.on("end", async () => {
    const abort = new AbortController()
    res.on("close", () => {
      if (!res.writableFinished) abort.abort()
    })
    try {
      const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as OpenAI.ChatCompletionCreateParams
      if (body.stream === true) {
        const stream = await client.chat.completions.create(body, { signal: abort.signal })
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
        for await (const chunk of stream) res.write(`data: ${JSON.stringify(chunk)}\n\n`)
        res.end("data: [DONE]\n\n")
      } else {
        const completion = await client.chat.completions.create(body, { signal: abort.signal })
        const json = JSON.stringify(completion)
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) })
        res.end(json)
      }
    } catch (error) {
      if (!abort.signal.aborted) fail(res, error)
    }
  })
})
server.keepAliveTimeout = 120_000
server.headersTimeout = 121_000
server.listen(0, "127.0.0.1", () => {
  exitWithParent(() => server.close())
  ready({ port: (server.address() as AddressInfo).port })
})
