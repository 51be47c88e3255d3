/**
 * A tiny HTTP server on 127.0.0.1 for tests and benchmarks: the fake upstreams of every
 * provider stand on it. It records each request, and tracks connections so a test can assert
 * that the gateway closed the upstream connection (cancellation) or kill them (resets).
 */
import * as Http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { Effect } from "effect"

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: unknown
  readonly at: number
}

/**
 * A fault the fake upstream injects instead of a normal answer (or part-way through a stream).
 * - `status`: an error response with the provider's own error body and optional headers.
 * - `hang`: accept the request and never answer (until the client gives up).
 * - `reset`: destroy the socket without an answer (ECONNRESET at the client).
 * - `malformed`: a 200 with a body that is not valid JSON / SSE.
 * - `cutAfter`: a stream that stops (socket destroyed) after N content chunks.
 */
export type Fault =
  | { readonly kind: "status"; readonly status: number; readonly headers?: Record<string, string>; readonly body?: unknown }
  | { readonly kind: "hang" }
  | { readonly kind: "reset" }
  | { readonly kind: "malformed" }
  | { readonly kind: "cutAfter"; readonly chunks: number }

export interface LoopbackHandlerContext {
  readonly req: Http.IncomingMessage
  readonly res: Http.ServerResponse
  readonly path: string
  readonly body: unknown
}

export interface LoopbackServer {
  readonly url: string
  readonly port: number
  readonly requests: Array<RecordedRequest>
  /** Number of client connections that were opened and have since closed. */
  readonly closedConnections: () => number
  readonly openConnections: () => number
  /** Resolves when the next connection close happens (or immediately if `count` closes already happened). */
  readonly waitForClosedConnections: (count: number, timeoutMs?: number) => Promise<void>
  readonly close: () => Promise<void>
}

export const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    req.on("data", (c: Buffer) => parts.push(c))
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")))
    req.on("error", reject)
  })

export const sendJson = (res: Http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

export const startLoopbackServer = async (
  handler: (ctx: LoopbackHandlerContext) => void | Promise<void>
): Promise<LoopbackServer> => {
  const requests: Array<RecordedRequest> = []
  const sockets = new Set<Socket>()
  let closed = 0
  const waiters: Array<{ count: number; resolve: () => void }> = []
  const server = Http.createServer(async (req, res) => {
    const raw = await readBody(req)
    let body: unknown = raw
    try {
      body = raw.length > 0 ? JSON.parse(raw) : undefined
    } catch {
      // keep the raw text: a test may assert what was sent
    }
    const path = (req.url ?? "/").split("?")[0]
    requests.push({ method: req.method ?? "GET", path, headers: req.headers, body, at: Date.now() })
    try {
      await handler({ req, res, path, body })
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(error) } })
      else res.destroy()
    }
  })
  server.keepAliveTimeout = 5_000
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => {
      sockets.delete(socket)
      closed++
      for (const w of waiters.splice(0)) {
        if (closed >= w.count) w.resolve()
        else waiters.push(w)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    closedConnections: () => closed,
    openConnections: () => sockets.size,
    waitForClosedConnections: (count, timeoutMs = 5_000) =>
      new Promise<void>((resolve, reject) => {
        if (closed >= count) return resolve()
        const timer = setTimeout(() => reject(new Error(`expected ${count} closed connections, saw ${closed}`)), timeoutMs)
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) })
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

/** The server as a scoped Effect resource: closed when the scope (test) ends. */
export const loopbackServer = (handler: (ctx: LoopbackHandlerContext) => void | Promise<void>) =>
  Effect.acquireRelease(
    Effect.promise(() => startLoopbackServer(handler)),
    (server) => Effect.promise(() => server.close())
  )

/** Applies a non-stream fault; returns true when it handled the response. */
export const applyFault = (res: Http.ServerResponse, fault: Fault | undefined, errorBody: (status: number) => unknown): boolean => {
  if (fault === undefined) return false
  switch (fault.kind) {
    case "status":
      sendJson(res, fault.status, fault.body ?? errorBody(fault.status), fault.headers)
      return true
    case "hang":
      return true
    case "reset":
      res.socket?.destroy()
      return true
    case "malformed":
      res.writeHead(200, { "content-type": "application/json" })
      res.end("{\"id\": \"broken")
      return true
    case "cutAfter":
      return false
  }
}
