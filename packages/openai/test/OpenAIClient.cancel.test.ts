/**
 * Cancellation reaches the wire: interrupting a call (or stopping a stream early) must close the
 * upstream connection, and a stream the upstream cuts short must fail, never end "successfully".
 * Every test runs on both chat transports (direct and SDK).
 */
import { expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { loopbackServer } from "@llm-gateway/testing/LoopbackServer"
import { ask, eachTransport, providerConfig, waitUntil } from "./fixtures.ts"

const LONG = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ")

eachTransport("cancellation", (t) => {
  it.live("interrupting a running stream closes the upstream connection", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup({ fake: { reply: LONG, chunkIntervalMs: 20 } })
      const seen: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Stream.runForEach(client.stream(ask("go")), (c) => Effect.sync(() => seen.push(c.delta)))
      )
      yield* waitUntil(() => seen.length >= 2)
      expect(fake.server.closedConnections()).toBe(0)
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
      expect(seen.length).toBeLessThan(60)
    }))

  it.live("a consumer that stops early (take) closes the upstream connection", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup({ fake: { reply: LONG, chunkIntervalMs: 20 } })
      const first = Array.from(yield* Stream.runCollect(Stream.take(client.stream(ask("go")), 3)))
      expect(first.map((c) => c.delta)).toEqual(["w0 ", "w1 ", "w2 "])
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))

  it.live("interrupting a stream still waiting for headers closes the connection", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      fake.enqueueFault({ kind: "hang" })
      const fiber = yield* Effect.forkChild(Stream.runDrain(client.stream(ask("go"))))
      yield* waitUntil(() => fake.server.requests.length === 1)
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))

  it.live("interrupting a hanging generate closes the upstream connection", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      fake.enqueueFault({ kind: "hang" })
      const fiber = yield* Effect.forkChild(client.generate(ask("x")))
      yield* waitUntil(() => fake.server.requests.length === 1)
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))

  it.live("an Effect timeout around a hanging generate interrupts it and closes the connection", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      fake.enqueueFault({ kind: "hang" })
      const result = yield* Effect.exit(Effect.timeout(client.generate(ask("x")), 100))
      expect(result._tag).toBe("Failure")
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
    }))

  it.live("a client that times itself fails a hanging generate with TimeoutError and closes the connection", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      // only the direct path enforces `timeoutMs`; the router times the SDK path itself
      if (client.enforcesTimeout !== true) return expect(t.transport).toBe("sdk")
      fake.enqueueFault({ kind: "hang" })
      const started = Date.now()
      const error = yield* Effect.flip(client.generate({ ...ask("x"), timeoutMs: 150 }))
      expect(Date.now() - started).toBeGreaterThanOrEqual(140)
      expect(Date.now() - started).toBeLessThan(2_000)
      expect(error).toMatchObject({ _tag: "TimeoutError", model: "oai/gpt-4o-mini", timeoutMs: 150 })
      yield* Effect.promise(() => fake.server.waitForClosedConnections(1, 2_000))
      // an answer within the budget is not affected
      const ok = yield* client.generate({ ...ask("y"), timeoutMs: 2_000 })
      expect(ok.content.length).toBeGreaterThan(0)
    }))

  it.live("finished calls keep their connections alive for reuse", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup()
      for (let i = 0; i < 5; i++) {
        yield* client.generate(ask("a"))
        yield* Stream.runDrain(client.stream(ask("b")))
      }
      expect(fake.server.requests.length).toBe(10)
      expect(fake.server.closedConnections()).toBe(0)
      // undici frees a socket a tick after the body ends, so back-to-back calls may use two
      expect(fake.server.openConnections()).toBeLessThanOrEqual(2)
    }))
})

eachTransport("truncated streams", (t) => {
  it.live("a stream cut after N chunks emits those chunks, then fails with a typed error", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* t.setup({ fake: { reply: LONG } })
      fake.enqueueFault({ kind: "cutAfter", chunks: 3 })
      const seen: Array<string> = []
      const error = yield* Effect.flip(
        Stream.runForEach(client.stream(ask("go")), (c) => Effect.sync(() => seen.push(c.delta)))
      )
      expect(seen).toEqual(["w0 ", "w1 ", "w2 "])
      expect(error).toMatchObject({ _tag: "NetworkError", model: "oai/gpt-4o-mini" })
      expect(error.isRetryable).toBe(true)
    }))

  it.live("a stream that ends cleanly without a finish_reason is an error, not a success", () =>
    Effect.gen(function*() {
      // What a misbehaving proxy produces: a well-formed SSE body that simply stops.
      const server = yield* loopbackServer(({ res }) => {
        const chunk = (content: string) =>
          `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.end(chunk("partial ") + chunk("answer"))
      })
      const client = yield* t.makeClient(providerConfig(`${server.url}/v1`))
      const seen: Array<string> = []
      const error = yield* Effect.flip(
        Stream.runForEach(client.stream(ask("go")), (c) => Effect.sync(() => seen.push(c.delta)))
      )
      expect(seen).toEqual(["partial ", "answer"])
      expect(error).toMatchObject({ _tag: "NetworkError", message: "stream ended before the upstream finished the answer" })
    }))
})
