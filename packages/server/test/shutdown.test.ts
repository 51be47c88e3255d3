/**
 * Graceful shutdown: a stream in flight when the server is asked to stop finishes (within the
 * bound), new connections are refused, and a stream that outlives the bound is cut.
 */
import { startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import { describe, expect, it } from "vitest"
import { type Gateway, startGateway } from "./support/harness.ts"

const REPLY = "one two three four five six seven eight"

const withSlowUpstream = async (chunkIntervalMs: number, shutdownTimeoutMs: number, f: (gw: Gateway) => Promise<void>) => {
  const upstream = await startFakeOpenAI({ reply: REPLY, chunkIntervalMs })
  const gw = await startGateway({
    providers: [{ name: "up", type: "openai-compatible", baseUrl: upstream.baseUrl, models: [{ id: "m" }] }],
    routing: { attemptTimeoutMs: 5000, timeoutMs: 10000 },
    conversations: { store: "memory" }
  }, { shutdownTimeoutMs })
  try {
    await f(gw)
  } finally {
    await upstream.close()
  }
}

/** Starts a stream and resolves once its first bytes arrived, with the rest of the body. */
const openStream = async (gw: Gateway) => {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "up/m", stream: true, messages: [{ role: "user", content: "count" }] })
  })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = decoder.decode((await reader.read()).value)
  const rest = (async () => {
    try {
      while (true) {
        const { done, value } = await reader.read()
        if (done) return { text, error: undefined }
        text += decoder.decode(value)
      }
    } catch (error) {
      return { text, error }
    }
  })()
  return { status: res.status, rest }
}

describe("cancellation", () => {
  it("a client that disconnects mid-stream aborts the upstream request", async () => {
    const upstream = await startFakeOpenAI({ reply: REPLY, chunkIntervalMs: 200 })
    const gw = await startGateway({
      providers: [{ name: "up", type: "openai-compatible", baseUrl: upstream.baseUrl, models: [{ id: "m" }] }],
      conversations: { store: "memory" }
    })
    try {
      const controller = new AbortController()
      const res = await fetch(`${gw.baseURL}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "up/m", stream: true, messages: [{ role: "user", content: "count" }] }),
        signal: controller.signal
      })
      const reader = res.body!.getReader()
      await reader.read()
      const closedBefore = upstream.server.closedConnections()
      controller.abort()
      // The upstream sees its connection closed long before the 1.6 s answer would end.
      await upstream.server.waitForClosedConnections(closedBefore + 1, 1000)
    } finally {
      await gw.close()
      await upstream.close()
    }
  })
})

describe("graceful shutdown", () => {
  it("lets an in-flight stream finish, refuses new connections, then stops", async () => {
    await withSlowUpstream(60, 5000, async (gw) => {
      const stream = await openStream(gw)
      expect(stream.status).toBe(200)
      const startedClosing = performance.now()
      const closed = gw.close()
      await new Promise((r) => setTimeout(r, 50))
      await expect(fetch(`${gw.url}/health`)).rejects.toThrow()
      const { text, error } = await stream.rest
      expect(error).toBeUndefined()
      expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true)
      await closed
      expect(performance.now() - startedClosing).toBeLessThan(4000)
    })
  })

  it("cuts a stream that outlives the shutdown bound with a server_shutting_down error event", async () => {
    await withSlowUpstream(1000, 300, async (gw) => {
      const stream = await openStream(gw)
      const startedClosing = performance.now()
      await gw.close()
      expect(performance.now() - startedClosing).toBeLessThan(2500)
      const { text, error } = await stream.rest
      // the body ends cleanly with the error event as its last frame, never a bare cut
      expect(error).toBeUndefined()
      expect(text).not.toContain("[DONE]")
      const frames = text.trim().split("\n\n")
      const last = JSON.parse(frames[frames.length - 1].replace(/^data: /, ""))
      expect(last.error).toMatchObject({ code: "server_shutting_down", type: "ServiceUnavailable" })
      expect(gw.logs.some((l) => l.includes("server_shutting_down"))).toBe(true)
    })
  })
})
