/**
 * A user's program on the packed tarballs (scripts/pack-test.sh copies it into a fresh npm
 * project outside the checkout). Plain TypeScript that Node 24 runs as is: it imports only
 * what a user imports, and `tsc --noEmit` checks it against the published `.d.ts`.
 */
import * as GatewayServer from "@llm-gateway/server/GatewayServer"
import { startFakeOpenAI } from "@llm-gateway/testing"
import { Context, Effect, Layer, Schema, Stream } from "effect"
import { HttpServer } from "effect/http"
import { createDefaultLLMManager, gatewayLayer, LLMManager, makeLLMManager } from "llm-gateway"
import { layerTest } from "llm-gateway/testing"
import assert from "node:assert/strict"

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

const fake = await startFakeOpenAI({
  reply: (req) => req["response_format"] === undefined ? "Hello from the fake upstream" : "{\"name\":\"Ada\",\"age\":36}"
})

try {
  const config = {
    providers: [{
      name: "openai",
      type: "openai-compatible",
      baseUrl: fake.baseUrl,
      models: [{ id: "gpt-4o-mini", contextWindow: 128000, inputCostPer1M: 0.15, outputCostPer1M: 0.6 }]
    }],
    conversations: { store: "memory" }
  }

  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const manager = yield* makeLLMManager(config)

    const answer = yield* manager.generate({ prompt: "Say hello" })
    assert.equal(answer.content, "Hello from the fake upstream")
    assert.equal(answer.provider, "openai")
    assert.ok(answer.usage.totalTokens > 0)

    const chunks = yield* Stream.runCollect(manager.generateStream({ prompt: "Say hello again", cache: false }))
    assert.equal(chunks.map((c) => c.delta).join(""), "Hello from the fake upstream")
    assert.ok(chunks.at(-1)?.usage !== undefined, "the last chunk carries usage")

    const person = yield* manager.generateObject({ prompt: "Who wrote the first program?", cache: false }, Person)
    const typed: { readonly name: string; readonly age: number } = person.object
    assert.deepEqual(typed, { name: "Ada", age: 36 })
  })))

  // Seed 003's shape: a manager from env, plain Effects with no requirements.
  const manager = createDefaultLLMManager({
    env: { OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY: "sk-pack-test", LLM_CONVERSATIONS_STORE: "memory" }
  })
  try {
    const response = await Effect.runPromise(manager.generate({ prompt: "Hi" }))
    assert.equal(response.content, "Hello from the fake upstream")
  } finally {
    await manager.dispose()
  }

  // A test Layer: the real manager over scripted answers, no upstream at all.
  const scripted = await Effect.runPromise(
    Effect.provide(
      Effect.gen(function*() {
        const manager = yield* LLMManager
        return (yield* manager.generate({ prompt: "anything" })).content
      }),
      layerTest({ responses: ["scripted answer"] })
    )
  )
  assert.equal(scripted, "scripted answer")

  // The server package: the OpenAI-compatible API over the same config, on a free port.
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const services = yield* Layer.build(
      GatewayServer.layer({ host: "127.0.0.1", port: 0, shutdownTimeoutMs: 1000 }).pipe(Layer.provide(gatewayLayer({ config })))
    )
    const url = HttpServer.formatAddress(Context.get(services, HttpServer.HttpServer).address)
    const body = yield* Effect.promise(async () => {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] })
      })
      assert.equal(res.status, 200)
      return await res.json() as { choices: Array<{ message: { content: string } }> }
    })
    assert.equal(body.choices[0]?.message.content, "Hello from the fake upstream")
    // the web console ships in @llm-gateway/console's tarball and is served from node_modules
    yield* Effect.promise(async () => {
      const page = await fetch(`${url}/ui`)
      assert.equal(page.status, 200)
      assert.match(await page.text(), /<style>[\s\S]+<\/style>[\s\S]*\/ui\/app\.js/)
      assert.equal((await fetch(`${url}/ui/app.js`)).status, 200)
    })
  })))

  // The embedded llama.cpp provider is an optional peer, not installed here: asking for it is a
  // ConfigurationError that names the package to install, not a crash.
  const missing = await Effect.runPromise(Effect.flip(Effect.scoped(makeLLMManager({
    providers: [{ name: "local", type: "llamacpp", modelPath: "model.gguf", models: [{ id: "tiny" }] }]
  }))))
  assert.equal(missing._tag, "ConfigurationError")
  assert.match(missing.message, /npm install @llm-gateway\/llamacpp/)

  console.log("consumer: generate, stream, generateObject, createDefaultLLMManager, layerTest, the server, its /ui console and the missing-llamacpp error OK")
} finally {
  await fake.close()
}
