/**
 * The embedded provider against the real stories260K model (CPU, one thread). Greedy decoding
 * (the default without `temperature`) makes its output deterministic, so a stream can be
 * compared with a non-streamed answer.
 */
import { describe, expect, it } from "@effect/vitest"
import { ChatMLChatWrapper } from "node-llama-cpp"
import { ConfigProvider, Deferred, Effect, Fiber, Layer, Stream } from "effect"
import { ModelClient } from "@llm-gateway/core/providers/ModelClient"
import { layer, layerConfig } from "../src/LlamaCppClient.ts"
import { elapsed, MODEL, MODEL_PATH, PROMPT, providerConfig, referenceModel, request, setup } from "./fixtures.ts"

describe("LlamaCppClient", () => {
  it.live("generates a completion with exact usage, cut at maxTokens", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const model = yield* referenceModel
      const res = yield* client.generate(request({ maxTokens: 12 }))
      expect(res.content.trim().length).toBeGreaterThan(0)
      expect(res.model).toBe(MODEL)
      expect(res.finishReason).toBe("length")
      // The model reads BOS (its SPM vocabulary asks for one) and then the prompt's tokens.
      expect(model.tokens.shouldPrependBosToken).toBe(true)
      expect(res.usage.promptTokens).toBe(model.tokenize(PROMPT).length + 1)
      expect(res.usage.completionTokens).toBe(12)
      expect(res.usage.totalTokens).toBe(res.usage.promptTokens + 12)
      expect(client.provider).toBe("local")
      expect(client.type).toBe("llamacpp")
    }))

  it.live("streams token by token; deltas concatenate to the answer and the last chunk has usage", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const whole = yield* client.generate(request({ maxTokens: 20 }))
      const chunks = yield* Stream.runCollect(client.stream(request({ maxTokens: 20 })))
      const deltas = chunks.slice(0, -1)
      expect(deltas.length).toBeGreaterThan(10)
      expect(deltas.every((c) => c.delta.length > 0 && c.usage === undefined)).toBe(true)
      expect(chunks.map((c) => c.delta).join("")).toBe(whole.content)
      expect(chunks[chunks.length - 1]).toEqual({
        delta: "",
        model: MODEL,
        usage: whole.usage,
        finishReason: "length"
      })
    }))

  it.live("stops at a stop sequence (not included) with finishReason stop", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const free = yield* client.generate(request({ maxTokens: 40 }))
      expect(free.content).toContain("Lily")
      const res = yield* client.generate(request({ maxTokens: 40, stop: ["Lily"] }))
      expect(res.finishReason).toBe("stop")
      // Cut at the token holding the stop text: " Lily" is one token, so its space goes too.
      expect(res.content.trimEnd()).toBe(free.content.slice(0, free.content.indexOf("Lily")).trimEnd())
      expect(res.usage.completionTokens).toBeLessThan(40)
    }))

  it.live("a full context window ends the answer with length; usage adds up to the window", () =>
    Effect.gen(function*() {
      const client = yield* setup({ contextLength: 256 })
      const res = yield* client.generate(request({ maxTokens: 100_000 }))
      expect(res.finishReason).toBe("length")
      expect(res.usage.totalTokens).toBe(256)
    }))

  it.live("a prompt larger than the window is ContextTooLarge with its token count", () =>
    Effect.gen(function*() {
      const client = yield* setup({ contextLength: 256 })
      const model = yield* referenceModel
      const long = "Tom and Lily played in the park with a big red ball. ".repeat(30)
      const error = yield* Effect.flip(client.generate(request({ messages: [{ role: "user", content: long }] })))
      expect(error._tag).toBe("ContextTooLarge")
      if (error._tag !== "ContextTooLarge") return
      expect(error.tokenCount).toBe(model.tokenize(long).length + 1)
      expect(error.contextWindow).toBe(256)
      expect(error.model).toBe(MODEL)
    }))

  it.live("joins system, user and assistant contents into one plain prompt (no chat template)", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const model = yield* referenceModel
      const messages = [
        { role: "system" as const, content: "Tom had a dog." },
        { role: "user" as const, content: "One day" },
        { role: "assistant" as const, content: "the dog ran" }
      ]
      const res = yield* client.generate(request({ messages, maxTokens: 4 }))
      expect(res.usage.promptTokens).toBe(model.tokenize("Tom had a dog.\nOne day\nthe dog ran").length + 1)
    }))

  it.live("renders through a chat wrapper when one applies, BOS counted once", () =>
    Effect.gen(function*() {
      const wrapper = new ChatMLChatWrapper()
      const client = yield* setup({}, { chatWrapper: wrapper })
      const model = yield* referenceModel
      const res = yield* client.generate(request({ maxTokens: 6 }))
      const rendered = wrapper.generateContextState({
        chatHistory: [{ type: "user", text: PROMPT }, { type: "model", response: [] }]
      }).contextText.tokenize(model.tokenizer)
      // The template's tokens start with BOS already; the client must not add a second one.
      expect(rendered[0]).toBe(model.tokens.bos)
      expect(res.usage.promptTokens).toBe(rendered.length)
      expect(res.usage.completionTokens).toBeGreaterThan(0)
    }))

  it.live("cancellation stops generation and frees the only context at once", () =>
    Effect.gen(function*() {
      const client = yield* setup({ contexts: 1 })
      // The yardstick: 300 tokens. Each cancelled request below asks for the whole window
      // (2046 tokens), so had generation gone on, it (or the request queued behind it on the
      // one context) would take about 7 times as long.
      const [baseMs, base] = yield* elapsed(client.generate(request({ maxTokens: 300 })))
      expect(base.usage.completionTokens).toBe(300)
      const whole = request({ maxTokens: 5000 })

      // The consumer stops reading after three chunks.
      const [takeMs, firstChunks] = yield* elapsed(Stream.runCollect(client.stream(whole).pipe(Stream.take(3))))
      const text = firstChunks.map((c) => c.delta).join("")
      expect(text).toBe(base.content.slice(0, text.length))
      const [nextMs, next] = yield* elapsed(client.generate(request({ maxTokens: 5 })))
      expect(next.usage.completionTokens).toBe(5)
      expect(takeMs + nextMs).toBeLessThan(baseMs / 2)

      // The consuming fiber is interrupted mid-stream.
      const started = yield* Deferred.make<void>()
      const reader = yield* client.stream(whole).pipe(
        Stream.tap(() => Deferred.succeed(started, undefined)),
        Stream.runDrain,
        Effect.forkChild
      )
      yield* Deferred.await(started)
      const [interruptMs] = yield* elapsed(Fiber.interrupt(reader))
      const [afterMs, after] = yield* elapsed(client.generate(request({ maxTokens: 5 })))
      expect(after.finishReason).toBe("length")
      expect(interruptMs + afterMs).toBeLessThan(baseMs / 2)

      // A non-streamed generate is interrupted.
      const generating = yield* client.generate(whole).pipe(Effect.forkChild)
      yield* Effect.sleep("20 millis")
      const [abortMs] = yield* elapsed(Fiber.interrupt(generating))
      const [lastMs] = yield* elapsed(client.generate(request({ maxTokens: 5 })))
      expect(abortMs + lastMs).toBeLessThan(baseMs / 2)
    }))

  it.live("serves concurrent requests: in parallel on two contexts, queued on one", () =>
    Effect.gen(function*() {
      const model = yield* referenceModel
      const prompts = ["Once upon a time", "Tom and Lily", "The sun was shining"]
      for (const contexts of [2, 1]) {
        const client = yield* setup({ contexts })
        const answers = yield* Effect.all(
          prompts.map((p) => client.generate(request({ messages: [{ role: "user", content: p }], maxTokens: 30 }))),
          { concurrency: "unbounded" }
        )
        answers.forEach((a, i) => {
          expect(a.content.trim().length).toBeGreaterThan(0)
          expect(a.usage.promptTokens).toBe(model.tokenize(prompts[i]).length + 1)
          expect(a.usage.completionTokens).toBe(30)
        })
      }
    }))

  it.live("JSON schema and JSON mode are enforced by a grammar while sampling", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const schema = {
        type: "object",
        properties: { mood: { enum: ["happy", "sad"] }, done: { type: "boolean" } },
        required: ["mood", "done"]
      }
      const res = yield* client.generate(
        request({ maxTokens: 100, responseFormat: { type: "json_schema", name: "feeling", schema } })
      )
      const parsed = JSON.parse(res.content)
      expect(["happy", "sad"]).toContain(parsed.mood)
      expect(typeof parsed.done).toBe("boolean")
      expect(res.finishReason).toBe("stop")
      // A story model asked for plain text never starts with "{"; in JSON mode it must.
      const json = yield* client.generate(request({ maxTokens: 20, responseFormat: { type: "json_object" } }))
      expect(json.content.trimStart().startsWith("{")).toBe(true)
    }))

  it.live("embeds with the model's own embeddings, exact usage", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const model = yield* referenceModel
      const input = ["Once upon a time", "Tom and Lily went to the park"]
      const res = yield* client.embed({ model: MODEL, input })
      expect(res.embeddings).toHaveLength(2)
      expect(res.embeddings.every((v) => v.length === 64)).toBe(true) // the model's width
      expect(res.embeddings[0]).not.toEqual(res.embeddings[1])
      const again = yield* client.embed({ model: MODEL, input: [input[0]] })
      expect(again.embeddings[0]).toEqual(res.embeddings[0])
      expect(res.usage.promptTokens).toBe(input.reduce((n, t) => n + model.tokenize(t).length + 1, 0))
      expect(res.usage.completionTokens).toBe(0)
      const empty = yield* Effect.flip(client.embed({ model: MODEL, input: ["ok", ""] }))
      expect(empty).toMatchObject({ _tag: "InvalidRequest", param: "input[1]" })
    }))

  it.live("rejects an unknown model and an empty conversation", () =>
    Effect.gen(function*() {
      const client = yield* setup()
      const unknown = yield* Effect.flip(client.generate(request({ model: "llama-70b" })))
      expect(unknown._tag).toBe("ModelUnavailable")
      const empty = yield* Effect.flip(client.generate(request({ messages: [] })))
      expect(empty._tag).toBe("InvalidRequest")
    }))

  it.live("names the model after the file when no models are configured; health lists it", () =>
    Effect.gen(function*() {
      const client = yield* setup({ models: [] })
      expect(yield* client.health).toMatchObject({ healthy: true, models: [MODEL] })
      const res = yield* client.generate(request({ maxTokens: 3 }))
      expect(res.usage.completionTokens).toBe(3)
    }))

  it.live("provides ModelClient as a Layer", () =>
    Effect.gen(function*() {
      const client = yield* ModelClient
      const res = yield* client.generate(request({ maxTokens: 2 }))
      expect(res.usage.completionTokens).toBe(2)
    }).pipe(Effect.provide(layer(providerConfig()))))

  it.live("layerConfig serves the GGUF named by LLM_LOCAL_MODEL_PATH as provider local", () =>
    Effect.gen(function*() {
      const client = yield* ModelClient
      expect(client.provider).toBe("local")
      const res = yield* client.generate(request({ maxTokens: 2 }))
      expect(res.usage.completionTokens).toBe(2)
    }).pipe(
      Effect.provide(
        layerConfig.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ LLM_LOCAL_MODEL_PATH: MODEL_PATH }))))
      )
    ))

  it.live("the file's absence is a ConfigurationError naming the path, when the client is built", () =>
    Effect.gen(function*() {
      const missing = `${MODEL_PATH}.missing.gguf`
      const error = yield* Effect.flip(setup({ modelPath: missing }))
      expect(error._tag).toBe("ConfigurationError")
      expect(error.path).toBe(missing)
      expect(error.message).toContain(missing)
      const viaLayer = yield* Effect.flip(Layer.build(layer(providerConfig({ modelPath: missing }))))
      expect(viaLayer._tag).toBe("ConfigurationError")
      const noPath = yield* Effect.flip(setup({ modelPath: undefined }))
      expect(noPath).toMatchObject({ _tag: "ConfigurationError", path: "modelPath" })
    }))
})
