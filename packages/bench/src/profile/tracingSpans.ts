/**
 * `node src/profile/tracingSpans.ts [n]`: the cost of tracing per span and of the off path, in
 * process (no HTTP): `n` iterations of what a request does per traced step, (a) with the tracer
 * disabled as the server runs it when nothing is configured, bare and through the gateway's
 * span helpers (GenAiSpans.annotated, traceparentOf), and (b) with the OTLP tracer exporting to
 * a local receiver (sampled, and with sampleRatio 0). A request makes ~6 spans when on.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { annotated, traceparentOf } from "@llm-gateway/core/metrics/GenAiSpans"
import * as Tracing from "@llm-gateway/server/Tracing"
import { Effect, Layer } from "effect"

const n = Number(process.argv[2] ?? 200_000)
const receiver = createServer((req, res) => {
  req.resume()
  req.on("end", () => res.writeHead(200).end("{}"))
})
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r))
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`
const settings = (sampleRatio: number): Tracing.TracingSettings => ({
  url,
  serviceName: "bench",
  sampleRatio,
  protocol: "http/json",
  timeoutMs: 10_000,
  exportIntervalMs: 1_000,
  maxBatchSize: 512,
  maxInFlight: 4
})

const response = { provider: "openai", model: "gpt-4o-mini", usage: { promptTokens: 10, completionTokens: 5 }, finishReason: "stop" }
const request = { model: "openai/gpt-4o-mini" }
const step = Effect.succeed(response)

const time = (label: string, body: Effect.Effect<void>, layer: Layer.Layer<never>) => {
  const run = Effect.gen(function*() {
    const t0 = performance.now()
    yield* body
    return performance.now() - t0
  }).pipe(Effect.provide(layer))
  return Effect.runPromise(run).then((ms) => console.log(`${label}: ${((ms * 1e6) / n).toFixed(0)} ns per iteration`))
}

const bare = Effect.gen(function*() {
  for (let i = 0; i < n; i++) yield* step
})
const helpers = Effect.gen(function*() {
  for (let i = 0; i < n; i++) {
    yield* annotated("chat", () => request, (r) => r.provider, step)
    yield* Effect.withFiber((f) => Effect.succeed(traceparentOf(f)))
  }
})
const span = Effect.gen(function*() {
  for (let i = 0; i < n; i++) yield* Effect.withSpan(annotated("chat", () => request, (r) => r.provider, step), "step")
})

for (let round = 0; round < 2; round++) {
  await time("off, bare step", bare, Tracing.layerOff)
  await time("off, step through the span helpers", helpers, Tracing.layerOff)
  await time("off, Effect.withSpan step (what an Effect.fn method does)", span, Tracing.layerOff)
  await time("on, one exported span per step", span, Tracing.layerOtlp(settings(1)))
  await time("on, sampleRatio 0 (span built, not exported)", span, Tracing.layerOtlp(settings(0)))
}
receiver.close()
process.exit(0)
