/**
 * Competitor "JSON proxy": the floor for a gateway that reads what passes through it. A node:http
 * server that parses the request body, sends it on re-serialized over an undici `Pool` (dispatch,
 * no body stream), parses the answer and writes it back re-serialized — no validation, routing,
 * accounting or metrics. Non-streamed JSON only (SSE is piped as the raw proxy does).
 * Settings (argv JSON): `{ upstream: "http://127.0.0.1:N", port?: N }`.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Pool } from "undici"
import type { Dispatcher } from "undici"
import { exitWithParent, ready, settings } from "../procs/child.ts"

const { upstream, port } = settings<{ upstream: string; port?: number }>()
const pool = new Pool(upstream, { connections: 64, pipelining: 1 })
const decoder = new TextDecoder()

const server = Http.createServer((req, res) => {
  const chunks: Array<Buffer> = []
  req.on("data", (c: Buffer) => chunks.push(c))
  req.on("end", () => {
    let body: unknown
    try {
      body = JSON.parse(decoder.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)))
    } catch {
      res.writeHead(400, { "content-type": "application/json" })
      res.end("{\"error\":{\"message\":\"invalid JSON\"}}")
      return
    }
    const parts: Array<Buffer> = []
    let status = 0
    // an SSE answer is piped as it comes, as the raw proxy does (its chunks are not re-serialized)
    let piping = false
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: () => {},
      onResponseStart: (_c, s, headers) => {
        status = s
        piping = String(headers["content-type"] ?? "").includes("text/event-stream")
        if (piping) res.writeHead(s, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      },
      onResponseData: (_c, chunk) => void (piping ? res.write(chunk) : parts.push(chunk)),
      onResponseEnd: () => {
        if (piping) return void res.end()
        let answer: unknown
        try {
          answer = JSON.parse(decoder.decode(parts.length === 1 ? parts[0] : Buffer.concat(parts)))
        } catch {
          res.writeHead(502, { "content-type": "application/json" })
          return void res.end("{\"error\":{\"message\":\"upstream answer is not JSON\"}}")
        }
        res.writeHead(status, { "content-type": "application/json" })
        res.end(JSON.stringify(answer))
      },
      onResponseError: () => {
        if (piping) return void res.destroy()
        res.writeHead(502, { "content-type": "application/json" })
        res.end("{\"error\":{\"message\":\"upstream unreachable\"}}")
      }
    }
    pool.dispatch({
      method: "POST",
      path: req.url ?? "/",
      headers: { "content-type": "application/json", authorization: req.headers.authorization ?? "" },
      body: JSON.stringify(body)
    }, handler)
  })
})
server.keepAliveTimeout = 120_000
server.headersTimeout = 121_000
server.listen(port ?? 0, "127.0.0.1", () => {
  exitWithParent(() => server.close())
  ready({ port: (server.address() as AddressInfo).port })
})
