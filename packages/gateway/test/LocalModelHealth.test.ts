import { describe, expect, it } from "@effect/vitest"
import { fakeOllama } from "@llm-gateway/testing/FakeOllama"
import { loopbackServer, sendJson } from "@llm-gateway/testing/LoopbackServer"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Net from "node:net"
import { checkLocalModelHealth, healthProbes } from "../src/LocalModelHealth.ts"

const closedPort = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const srv = Net.createServer()
      srv.listen(0, "127.0.0.1", () => {
        const port = (srv.address() as Net.AddressInfo).port
        srv.close(() => resolve(port))
      })
    })
)

/** Waits in real time: the server side of these tests is real I/O. */
const waitUntil = (cond: () => boolean) =>
  Effect.promise(
    () =>
      new Promise<void>((resolve, reject) => {
        const started = Date.now()
        const tick = () =>
          cond() ? resolve() : Date.now() - started > 2_000 ? reject(new Error("timed out")) : setTimeout(tick, 5)
        tick()
      })
  )

describe("checkLocalModelHealth", () => {
  it("asks the API the URL names", () => {
    const urls = (e: string) => healthProbes(e)?.map((p) => `${p.kind} ${p.url}`)
    expect(urls("http://localhost:1234/v1")).toEqual(["openai http://localhost:1234/v1/models"])
    expect(urls("http://localhost:1234/v1/")).toEqual(["openai http://localhost:1234/v1/models"])
    expect(urls("http://localhost:8000/v1/chat/completions")).toEqual(["openai http://localhost:8000/v1/models"])
    expect(urls("http://localhost:11434")).toEqual([
      "ollama http://localhost:11434/api/tags",
      "openai http://localhost:11434/v1/models"
    ])
    expect(urls("http://localhost:1234")).toEqual([
      "openai http://localhost:1234/v1/models",
      "ollama http://localhost:1234/api/tags"
    ])
    expect(urls("http://box:9000/api")).toEqual(["ollama http://box:9000/api/tags"])
    expect(urls("http://user:pw@box:9000/v1")).toEqual(["openai http://box:9000/v1/models"])
    expect(healthProbes("not a url")).toBeUndefined()
  })

  it.live("an OpenAI-compatible base (LM Studio style) lists its models", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOllama({ models: ["openai/gpt-oss-20b", "qwen2.5-7b-instruct"] })
      const health = yield* checkLocalModelHealth(`${fake.url}/v1`)
      expect(health).toMatchObject({
        healthy: true,
        endpoint: `${fake.url}/v1`,
        models: ["openai/gpt-oss-20b", "qwen2.5-7b-instruct"]
      })
      expect(health.error).toBeUndefined()
      expect(health.latencyMs).toBeGreaterThanOrEqual(0)
      expect(fake.server.requests.map((r) => r.path)).toEqual(["/v1/models"])
    }))

  it.live("an Ollama API base lists the pulled models", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOllama({ models: ["llama3.2:latest"] })
      const health = yield* checkLocalModelHealth(`${fake.url}/api`)
      expect(health).toMatchObject({ healthy: true, models: ["llama3.2:latest"] })
      expect(fake.server.requests.map((r) => r.path)).toEqual(["/api/tags"])
    }))

  it.live("a server root falls back to the other API when the first route is missing", () =>
    Effect.gen(function*() {
      // an Ollama-only server (no OpenAI routes) on a port that is not 11434
      const server = yield* loopbackServer(({ res, path }) =>
        path === "/api/tags" ? sendJson(res, 200, { models: [{ name: "phi3:mini", model: "phi3:mini" }] }) : sendJson(res, 404, { error: "not found" })
      )
      const health = yield* checkLocalModelHealth(server.url)
      expect(health).toMatchObject({ healthy: true, models: ["phi3:mini"] })
      expect(server.requests.map((r) => r.path)).toEqual(["/v1/models", "/api/tags"])
    }))

  it.live("credentials in the URL travel as a Basic header and never show in the result", () =>
    Effect.gen(function*() {
      const server = yield* loopbackServer(({ res }) => sendJson(res, 500, { error: "boom" }))
      const endpoint = server.url.replace("http://", "http://admin:s3cret@") + "/v1"
      const health = yield* checkLocalModelHealth(endpoint)
      expect(server.requests[0].headers["authorization"]).toBe(`Basic ${Buffer.from("admin:s3cret").toString("base64")}`)
      expect(health.healthy).toBe(false)
      expect(health.error).not.toContain("s3cret")
    }))

  it.live("a 500 is unhealthy with the status in the reason", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOllama()
      fake.fail({ kind: "status", status: 500 })
      const health = yield* checkLocalModelHealth(`${fake.url}/v1`)
      expect(health).toMatchObject({ healthy: false, models: [] })
      expect(health.error).toBe("HTTP 500 from /v1/models: {\"error\":\"internal server error\"}")
    }))

  it.live("a refused connection is unhealthy, not a failure", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const health = yield* checkLocalModelHealth(`http://127.0.0.1:${port}/v1`)
      expect(health).toMatchObject({ healthy: false, models: [], error: "connection refused (ECONNREFUSED)" })
    }))

  it.live("an answer that is not a model list is unhealthy", () =>
    Effect.gen(function*() {
      const server = yield* loopbackServer(({ res }) => sendJson(res, 200, { hello: "world" }))
      const health = yield* checkLocalModelHealth(`${server.url}/v1`)
      expect(health).toMatchObject({ healthy: false, error: "/v1/models did not answer a model list" })
    }))

  it.effect("a hanging server times out after the configured limit and is disconnected", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOllama()
      fake.fail({ kind: "hang" })
      const fiber = yield* Effect.forkChild(checkLocalModelHealth(`${fake.url}/v1`, { timeoutMs: 500 }))
      yield* waitUntil(() => fake.server.requests.length === 1)
      yield* TestClock.adjust(500)
      const health = yield* Fiber.join(fiber)
      expect(health).toEqual({
        healthy: false,
        endpoint: `${fake.url}/v1`,
        models: [],
        latencyMs: 500,
        error: "timed out after 500 ms"
      })
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))

  it.effect("the default limit is 2 s", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOllama()
      fake.fail({ kind: "hang" })
      const fiber = yield* Effect.forkChild(checkLocalModelHealth(`${fake.url}/v1`))
      yield* waitUntil(() => fake.server.requests.length === 1)
      yield* TestClock.adjust(1_999)
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      expect((yield* Fiber.join(fiber)).error).toBe("timed out after 2000 ms")
    }))

  it.effect("an endpoint that is not an http URL is unhealthy", () =>
    Effect.gen(function*() {
      const health = yield* checkLocalModelHealth("localhost:1234")
      expect(health).toMatchObject({ healthy: false, error: "endpoint is not an http(s) URL" })
    }))
})
