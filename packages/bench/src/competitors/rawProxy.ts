/**
 * Competitor "raw proxy": the floor for any Node gateway. A node:http pass-through over a
 * keep-alive agent: no parsing, bodies and SSE piped through as they arrive.
 * Settings (argv JSON): `{ upstream: "http://127.0.0.1:N", port?: N }` (a free port by default).
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { exitWithParent, ready, settings } from "../procs/child.ts"

const { upstream, port } = settings<{ upstream: string; port?: number }>()
const target = new URL(upstream)
const agent = new Http.Agent({ keepAlive: true, keepAliveMsecs: 30_000, scheduling: "lifo" })
const hopByHop = new Set(["connection", "keep-alive", "host", "transfer-encoding", "upgrade", "proxy-connection"])

const server = Http.createServer((req, res) => {
  const headers: Http.OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(req.headers)) if (!hopByHop.has(k)) headers[k] = v
  const up = Http.request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
    (upRes) => {
      const out: Http.OutgoingHttpHeaders = {}
      for (const [k, v] of Object.entries(upRes.headers)) if (!hopByHop.has(k)) out[k] = v
      res.writeHead(upRes.statusCode ?? 502, out)
      upRes.pipe(res)
    }
  )
  up.on("error", () => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" })
    res.end("{\"error\":{\"message\":\"upstream unreachable\",\"type\":\"NetworkError\",\"code\":\"upstream_unreachable\"}}")
  })
  // A client that goes away aborts the upstream request (as a gateway must).
  res.on("close", () => {
    if (!res.writableFinished) up.destroy()
  })
  req.pipe(up)
})
server.keepAliveTimeout = 120_000
server.headersTimeout = 121_000
server.listen(port ?? 0, "127.0.0.1", () => {
  exitWithParent(() => server.close())
  ready({ port: (server.address() as AddressInfo).port })
})
