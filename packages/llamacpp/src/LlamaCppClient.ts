/**
 * The embedded local provider: a ModelClient that runs a GGUF in-process on node-llama-cpp's
 * prebuilt CPU binary (no download or source build, ever).
 *
 * - The file's existence is checked when the client is built; the model loads on the first
 *   request, once, shared by concurrent first requests (a corrupt file fails that request, and
 *   every later one, with ConfigurationError naming the file).
 * - Requests queue for one of `contexts` sequences of a single llama.cpp context (llama.cpp
 *   batches the busy ones together).
 * - Usage is exact: the prompt tokens the model reads and the tokens it generated.
 * - Interrupting a request (or stopping its stream) aborts generation, and the sequence goes
 *   back to the pool only once llama.cpp has actually stopped.
 */
import * as NodePath from "node:path"
import * as Os from "node:os"
import { stat } from "node:fs/promises"
import type { ChatHistoryItem, ChatModelFunctions, ChatWrapper, LlamaGrammar } from "node-llama-cpp"
import { Config, Duration, Effect, Layer, Queue, Scope, Stream } from "effect"
import {
  type EmbeddingRequest,
  type EmbeddingResponse,
  type FinishReason,
  type HealthStatus,
  isTokenInput,
  makeUsage,
  type ProviderRequest,
  type ProviderResponse,
  type ResponsePart,
  type StreamChunk,
  type Usage
} from "@llm-gateway/core/domain/Domain"
import {
  ConfigurationError,
  ContextTooLarge,
  InvalidRequest,
  type LLMError,
  ModelUnavailable
} from "@llm-gateway/core/domain/LLMError"
import { ModelClient, type ModelClientShape } from "@llm-gateway/core/providers/ModelClient"
import type { FieldPolicy } from "@llm-gateway/core/providers/RequestFields"
import type { LlamaCppConfig } from "./LlamaCppConfig.ts"
import { callForced, chatWrapperFor, generateWithFunctions, offeredTools, promptTokensOf, toChatHistory, toFunctions } from "./internal/functions.ts"
import { grammarFor } from "./internal/grammar.ts"
import { type LlamaCppSettings, type LoadedModel, loadModel } from "./internal/loadModel.ts"
import { renderPrompt } from "./internal/prompt.ts"

/**
 * The field rule (core RequestFields): OpenAI's `seed` is node-llama-cpp's; the rest is
 * ignored, or refused when it changes the answer (logprobs, logit_bias, penalties).
 */
export const fieldPolicy: FieldPolicy = { otherwise: "drop", mapped: ["seed"] }

/** Output tokens when the request does not say: small models ramble until the window is full. */
export const DEFAULT_MAX_TOKENS = 256

export interface LlamaCppClientOptions {
  /**
   * How chat messages become a prompt. `"auto"` (default): the GGUF's chat template when it has
   * one, else a plain completion of the message contents. `"none"`: always plain completion.
   * A node-llama-cpp `ChatWrapper`: that wrapper, template or not.
   */
  readonly chatWrapper?: "auto" | "none" | ChatWrapper | undefined
}

/**
 * One thread less than the machine has, at least one: llama.cpp spinning on more threads than
 * there are free cores makes generation orders of magnitude slower, not faster.
 */
export const defaultThreads = (): number => Math.max(1, Os.availableParallelism() - 1)

const modelIdOf = (modelPath: string) => NodePath.basename(modelPath).replace(/\.gguf$/i, "")

const fileExists = (path: string) => Effect.promise(() => stat(path).then((s) => s.isFile(), () => false))

const settingsOf = (config: LlamaCppConfig): Effect.Effect<LlamaCppSettings, ConfigurationError> =>
  config.modelPath === undefined
    ? Effect.fail(
      new ConfigurationError({
        message: `llamacpp provider ${config.name}: modelPath is required (the GGUF file to load)`,
        path: "modelPath"
      })
    )
    : Effect.succeed({
      provider: config.name,
      modelPath: NodePath.resolve(config.modelPath),
      contextLength: config.contextLength,
      threads: config.threads ?? defaultThreads(),
      gpu: config.gpu ?? false,
      contexts: config.contexts ?? 1
    })

interface Generated {
  readonly content: string
  readonly usage: Usage
  readonly finishReason: FinishReason
  /** Text and tool calls, when the answer made calls. */
  readonly parts?: ReadonlyArray<ResponsePart> | undefined
  /** The caller's stop sequence that ended the answer. */
  readonly stopSequence?: string | undefined
}

/** The caller's stop sequence among the trigger llama.cpp stopped on (a template's end token is none). */
const stopSequenceOf = (trigger: ReadonlyArray<unknown> | undefined, stop: ReadonlyArray<string> | undefined): string | undefined => {
  if (trigger === undefined || stop === undefined || !trigger.every((t) => typeof t === "string")) return undefined
  const text = trigger.join("")
  return stop.includes(text) ? text : undefined
}

/** No vision or audio model runs here: a file part is an InvalidRequest naming it. */
const refuseFiles = (req: ProviderRequest, model: string): InvalidRequest | undefined => {
  for (const [i, m] of req.messages.entries()) {
    if (typeof m.content === "string") continue
    for (const [j, part] of m.content.entries()) {
      if (part.type !== "file") continue
      const at = `messages[${i}].content[${j}]`
      const kind = part.mediaType.startsWith("image/") ? "image" : part.mediaType.startsWith("audio/") ? "audio" : "file"
      return new InvalidRequest({ model, param: at, message: `${at}: ${kind} input is not supported by ${model} (llama.cpp runs a text-only model)` })
    }
  }
  return undefined
}

/**
 * One generation with tools (internal/functions.ts), on the same cancellation contract as
 * `complete`: interruption aborts llama.cpp and waits for it to stop.
 */
const completeWithFunctions = (
  loaded: LoadedModel,
  sequence: Effect.Success<LoadedModel["sequence"]>,
  req: ProviderRequest,
  plan: { readonly wrapper: ChatWrapper; readonly history: Array<ChatHistoryItem>; readonly functions: ChatModelFunctions; readonly promptTokens: number },
  onChunk: (chunk: StreamChunk) => void
) =>
  Effect.callback<Generated, ModelUnavailable | InvalidRequest>((resume) => {
    const controller = new AbortController()
    const done = generateWithFunctions({
      loaded,
      sequence,
      req,
      ...plan,
      maxTokens: req.maxTokens ?? DEFAULT_MAX_TOKENS,
      signal: controller.signal,
      onText: (delta) => onChunk({ delta }),
      onToolDelta: (delta) => onChunk({ delta: "", toolCallDeltas: [delta] })
    }).then(
      (out) =>
        resume(Effect.succeed({
          content: out.text,
          usage: makeUsage(plan.promptTokens, out.completionTokens),
          finishReason: out.calls > 0 ? "tool_calls" : out.maxTokensHit ? "length" : "stop",
          ...(out.calls > 0 ? { parts: out.parts } : {})
        })),
      (e: unknown) => {
        const message = e instanceof Error ? e.message : String(e)
        // node-llama-cpp refuses a parameters schema it cannot turn into a grammar
        resume(Effect.fail(
          /schema|grammar/i.test(message)
            ? new InvalidRequest({ model: req.model, param: "tools", message: `tools cannot be enforced by llama.cpp: ${message}` })
            : new ModelUnavailable({ model: req.model, message: `llama.cpp generation failed: ${message}` })
        ))
      }
    )
    return Effect.sync(() => controller.abort()).pipe(Effect.andThen(Effect.promise(() => done)))
  })

/**
 * Runs one completion on a sequence. Built on `Effect.callback` rather than `tryPromise`:
 * on interruption the cleanup aborts llama.cpp *and waits* for it to stop, so the sequence is
 * never handed to the next request while the old generation is still evaluating on it.
 */
const complete = (
  loaded: LoadedModel,
  sequence: Effect.Success<LoadedModel["sequence"]>,
  req: ProviderRequest,
  prompt: ReturnType<typeof renderPrompt>,
  grammar: LlamaGrammar | undefined,
  onDelta: (delta: string) => void
) =>
  Effect.callback<Generated, ModelUnavailable>((resume) => {
    const controller = new AbortController()
    const completion = new loaded.nlc.LlamaCompletion({ contextSequence: sequence })
    let completionTokens = 0
    const done = completion
      .generateCompletionWithMeta(prompt.tokens, {
        signal: controller.signal,
        maxTokens: req.maxTokens ?? DEFAULT_MAX_TOKENS,
        ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
        ...(req.topP !== undefined ? { topP: req.topP } : {}),
        ...(typeof req.extra?.seed === "number" ? { seed: req.extra.seed } : {}),
        customStopTriggers: [...prompt.stopTriggers, ...(req.stop ?? [])],
        ...(grammar !== undefined ? { grammar } : {}),
        // A full window ends the answer (finish reason "length") instead of silently dropping
        // the start of the conversation to make room, which is what a context shift does.
        disableContextShift: true,
        contextShiftSize: 1,
        onToken: (tokens) => {
          completionTokens += tokens.length
        },
        onTextChunk: (text) => {
          if (text.length > 0) onDelta(text)
        }
      })
      .then(
        (r) =>
          resume(Effect.succeed({
            content: r.response,
            usage: makeUsage(prompt.promptTokens, completionTokens),
            finishReason: r.metadata.stopReason === "maxTokens" ? "length" : "stop",
            stopSequence: r.metadata.stopReason === "customStopTrigger" ? stopSequenceOf(r.metadata.customStopTrigger, req.stop) : undefined
          })),
        (e: unknown) =>
          resume(Effect.fail(
            new ModelUnavailable({
              model: req.model,
              message: `llama.cpp generation failed: ${e instanceof Error ? e.message : String(e)}`
            })
          ))
      )
      .finally(() => completion.dispose())
    return Effect.sync(() => controller.abort()).pipe(Effect.andThen(Effect.promise(() => done)))
  })

/**
 * Builds the client. Fails at once with ConfigurationError (naming the path) when `modelPath`
 * is missing or is not a file; loading the model waits for the first request. The model and its
 * contexts are released when the scope closes.
 */
export const makeLlamaCppClient = Effect.fn("LlamaCppClient.make")(function*(
  config: LlamaCppConfig,
  options: LlamaCppClientOptions = {}
): Effect.fn.Return<ModelClientShape, ConfigurationError, Scope.Scope> {
  const settings = yield* settingsOf(config)
  if (!(yield* fileExists(settings.modelPath))) {
    return yield* new ConfigurationError({
      message: `llamacpp provider ${settings.provider}: model file not found: ${settings.modelPath}`,
      path: settings.modelPath
    })
  }
  const modelIds = config.models.length > 0 ? config.models.map((m) => m.id) : [modelIdOf(settings.modelPath)]

  const scope = yield* Effect.scope
  let loadError: string | undefined
  // Effect.cached: concurrent first requests share one load, and its Exit (a corrupt file's
  // error included) is kept for the life of the client.
  const load = yield* Effect.cached(
    loadModel(settings, { chatWrapper: options.chatWrapper }).pipe(
      Effect.tapError((e) => Effect.sync(() => (loadError = e.message))),
      Scope.provide(scope)
    )
  )

  const checkModel = (model: string) =>
    modelIds.includes(model) ? Effect.void : Effect.fail(
      new ModelUnavailable({
        model,
        message: `llamacpp provider ${settings.provider} serves ${modelIds.join(", ")}, not ${model}`,
        shouldRetry: false
      })
    )

  const run = (req: ProviderRequest, onChunk: (chunk: StreamChunk) => void): Effect.Effect<Generated, LLMError> =>
    Effect.gen(function*() {
      yield* checkModel(req.model)
      if (req.messages.length === 0) {
        return yield* new InvalidRequest({ message: "no messages to complete", model: req.model, param: "messages" })
      }
      const refused = refuseFiles(req, `${settings.provider}/${req.model}`)
      if (refused !== undefined) return yield* refused
      const tools = offeredTools(req)
      const model = yield* load
      if (tools !== undefined) {
        // llama.cpp samples under one grammar: the functions' or the response format's
        if (req.responseFormat !== undefined) {
          return yield* new InvalidRequest({ message: "response_format cannot be combined with tools on llama.cpp", model: req.model, param: "response_format" })
        }
        const wrapper = chatWrapperFor(model, callForced(req))
        const history = toChatHistory(req.messages)
        const functions = toFunctions(tools)
        const promptTokens = promptTokensOf(model, wrapper, history, functions)
        if (promptTokens > model.contextSize - 1) {
          return yield* new ContextTooLarge({
            model: req.model,
            tokenCount: promptTokens,
            contextWindow: model.contextSize,
            message: `prompt with the tools' documentation is ${promptTokens} tokens; the context holds ${model.contextSize}`
          })
        }
        const sequence = yield* model.sequence
        return yield* completeWithFunctions(model, sequence, req, { wrapper, history, functions, promptTokens }, onChunk)
      }
      const prompt = renderPrompt(model, req.messages)
      // LlamaCompletion would otherwise cut the prompt's beginning to fit, without a word.
      if (prompt.promptTokens > model.contextSize - 1) {
        return yield* new ContextTooLarge({
          model: req.model,
          tokenCount: prompt.promptTokens,
          contextWindow: model.contextSize,
          message: `prompt is ${prompt.promptTokens} tokens; the context holds ${model.contextSize}`
        })
      }
      const grammar = yield* grammarFor(model.llama, req.responseFormat, req.model)
      const sequence = yield* model.sequence
      // the prompt is counted before generation: the first chunk says so
      let first = true
      return yield* complete(model, sequence, req, prompt, grammar, (delta) => {
        onChunk(first ? { delta, promptTokens: prompt.promptTokens } : { delta })
        first = false
      })
    }).pipe(Effect.scoped)

  const generate = Effect.fn("LlamaCppClient.generate")(function*(req: ProviderRequest) {
    const out = yield* run(req, () => {})
    return {
      content: out.content,
      model: req.model,
      usage: out.usage,
      finishReason: out.finishReason,
      ...(out.parts !== undefined ? { parts: out.parts } : {}),
      ...(out.stopSequence !== undefined ? { stopSequence: out.stopSequence } : {})
    } satisfies ProviderResponse
  })

  const stream = (req: ProviderRequest): Stream.Stream<StreamChunk, LLMError> =>
    Stream.callback<StreamChunk, LLMError>((queue) =>
      run(req, (chunk) => {
        Queue.offerUnsafe(queue, chunk)
      }).pipe(
        Effect.flatMap((out) =>
          Queue.offer(queue, {
            delta: "",
            model: req.model,
            usage: out.usage,
            finishReason: out.finishReason,
            ...(out.stopSequence !== undefined ? { stopSequence: out.stopSequence } : {})
          })
        ),
        Effect.andThen(Queue.end(queue))
      )
    ).pipe(Stream.withSpan("LlamaCppClient.stream"))

  /** The GGUF's own embeddings (meaningful for embedding models); inputs run one at a time. */
  const embed = Effect.fn("LlamaCppClient.embed")(function*(req: EmbeddingRequest) {
    yield* checkModel(req.model)
    // both change the answer and llama.cpp has neither: a 400 naming the field
    if (isTokenInput(req.input)) {
      return yield* new InvalidRequest({ message: "'input' as token arrays is not supported by llama.cpp; send strings", model: req.model, param: "input" })
    }
    if (req.dimensions !== undefined) {
      return yield* new InvalidRequest({ message: "'dimensions' is not supported by llama.cpp (the model's vector length is fixed)", model: req.model, param: "dimensions" })
    }
    const texts = req.input as ReadonlyArray<string>
    const index = texts.findIndex((text) => text.length === 0)
    if (index >= 0) {
      return yield* new InvalidRequest({ message: "input must not be empty", model: req.model, param: `input[${index}]` })
    }
    const loaded = yield* load
    const context = yield* loaded.embeddings
    const embeddings: Array<ReadonlyArray<number>> = []
    let promptTokens = 0
    for (const text of texts) {
      const tokens = context.calculateInputLength(text)
      if (tokens >= loaded.contextSize) {
        return yield* new ContextTooLarge({ model: req.model, tokenCount: tokens, contextWindow: loaded.contextSize })
      }
      const embedding = yield* Effect.tryPromise({
        try: () => context.getEmbeddingFor(text),
        catch: (e) =>
          new ModelUnavailable({ model: req.model, message: `llama.cpp embedding failed: ${e instanceof Error ? e.message : String(e)}` })
      })
      embeddings.push(embedding.vector)
      promptTokens += tokens
    }
    return { model: req.model, embeddings, usage: makeUsage(promptTokens, 0) } satisfies EmbeddingResponse
  })

  const health: Effect.Effect<HealthStatus> = Effect.gen(function*() {
    if (!(yield* fileExists(settings.modelPath))) {
      return { healthy: false, error: `model file not found: ${settings.modelPath}` }
    }
    if (loadError !== undefined) return { healthy: false, error: loadError }
    return { healthy: true, models: modelIds }
  }).pipe(
    Effect.timed,
    Effect.map(([took, status]) => ({ ...status, latencyMs: Duration.toMillis(took) }))
  )

  return {
    provider: settings.provider,
    type: "llamacpp",
    fields: fieldPolicy,
    generate,
    stream,
    embed,
    health
  } satisfies ModelClientShape
})

/** ModelClient for one `type: llamacpp` provider entry. */
export const layer = (config: LlamaCppConfig, options?: LlamaCppClientOptions) =>
  Layer.effect(ModelClient, makeLlamaCppClient(config, options))

/** ModelClient for the GGUF named by `LLM_LOCAL_MODEL_PATH` (provider `local`, defaults otherwise). */
export const layerConfig = Layer.unwrap(
  Effect.map(
    Config.NonEmptyString("LLM_LOCAL_MODEL_PATH"),
    (modelPath) => layer({ name: "local", type: "llamacpp", modelPath, models: [] })
  )
)
