/**
 * `node src/profile/tracing.ts [seconds] [rounds]`: what tracing costs a request. One in-process
 * gateway per mode over the loopback fake OpenAI (no latency, cache off), each loaded by
 * autocannon (16 connections, non-streamed chat) in turn: tracing off (nothing configured),
 * on (OTLP/HTTP JSON to a local receiver that answers 200, every trace sampled), and on with
 * `sampleRatio: 0` (spans created but none exported). Prints requests/s and p50/p99 per mode.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { startFakeOpenAI } from "@llm-gateway/testing/FakeOpenAI"
import * as GatewayServer from "@llm-gateway/server/GatewayServer"
import { layerFromConfig, loadGatewayConfig } from "llm-gateway/GatewayLayer"
import autocannon from "autocannon"
import { ConfigProvider, Context, Effect, Exit, Layer, Logger, Redacted, Scope } from "effect"
import { HttpServer } from "effect/http"

const seconds = Number(process.argv[2] ?? 5)
const rounds = Number(process.argv[3] ?? 2)

const receiver = createServer((req, res) => {
  req.resume()
  req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"))
})
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r))
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
const fake = await startFakeOpenAI({ reply: "Hello from the fake upstream." })

const modes: Record<string, { readonly endpoint: string; readonly sampleRatio?: number } | undefined> = {
  off: undefined,
  on: { endpoint: receiverUrl },
  "on, sampleRatio 0": { endpoint: receiverUrl, sampleRatio: 0 }
}

const start = async (tracing: { readonly endpoint: string; readonly sampleRatio?: number } | undefined) => {
  const config = await Effect.runPromise(loadGatewayConfig({
    config: {
      providers: [{ name: "openai", type: "openai", baseUrl: fake.baseUrl, apiKey: Redacted.make("sk-bench"), models: [{ id: "gpt-4o-mini" }] }],
      cache: { enabled: false, ttlSeconds: 60, maxSize: 10 },
      conversations: { store: "memory" },
      ...(tracing === undefined ? {} : { tracing })
    },
    env: {}
  }))
  const layer = GatewayServer.layer({ host: "127.0.0.1", port: 0 }).pipe(
    Layer.provide(layerFromConfig(config)),
    Layer.provide(Logger.layer([])),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: {} })))
  )
  const scope = Scope.makeUnsafe()
  const ctx = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const address = Context.get(ctx, HttpServer.HttpServer).address
  if (address._tag === "UnixPathAddress") throw new Error("expected TCP")
  return { url: `http://127.0.0.1:${address.port}`, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

interface Result {
  readonly requests: { readonly average: number }
  readonly latency: { readonly p50: number; readonly p99: number }
  readonly errors: number
  readonly non2xx: number
}

const body = JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "Say hello" }] })
const results: Record<string, Array<{ rps: number; p50: number; p99: number }>> = {}
for (let round = 0; round < rounds; round++) {
  for (const [name, tracing] of Object.entries(modes)) {
    const gw = await start(tracing)
    const run = (duration: number) =>
      new Promise<Result>((resolve, reject) =>
        autocannon({
          url: `${gw.url}/v1/chat/completions`,
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          connections: 16,
          duration
        }, (error, result) => (error === null ? resolve(result as Result) : reject(error)))
      )
    await run(1) // warm-up
    const r = await run(seconds)
    await gw.close()
    ;(results[name] ??= []).push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 })
    console.log(`${name}: ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, errors ${r.errors + r.non2xx}`)
  }
}
for (const [name, rs] of Object.entries(results)) {
  const mean = (f: (x: { rps: number; p50: number; p99: number }) => number) => rs.reduce((n, x) => n + f(x), 0) / rs.length
  console.log(`mean ${name}: ${mean((x) => x.rps).toFixed(0)} req/s, p50 ${mean((x) => x.p50).toFixed(2)} ms, p99 ${mean((x) => x.p99).toFixed(2)} ms`)
}
await fake.close()
receiver.close()
process.exit(0)
