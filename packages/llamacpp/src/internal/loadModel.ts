/**
 * Loading a GGUF into node-llama-cpp: the native binding, the model, one context with a fixed
 * number of sequences, and a free list of those sequences. Everything is released with the scope
 * the load runs in (the client's scope, not a request's).
 */
import type { ChatWrapper, Llama, LlamaContextSequence, LlamaEmbeddingContext, LlamaModel, Token } from "node-llama-cpp"
import { Effect, Queue, Scope } from "effect"
import { ConfigurationError } from "@llm-gateway/core/domain/LLMError"

/** How the client was configured, with defaults applied. */
export interface LlamaCppSettings {
  readonly provider: string
  readonly modelPath: string
  readonly contextLength: number | undefined
  readonly threads: number
  readonly gpu: boolean
  readonly contexts: number
}

export type NodeLlamaCpp = typeof import("node-llama-cpp")

export interface LoadedModel {
  readonly nlc: NodeLlamaCpp
  readonly llama: Llama
  readonly model: LlamaModel
  /** Tokens one sequence holds (prompt + completion); llama.cpp may round the request up. */
  readonly contextSize: number
  /** The model's own chat template, when its GGUF carries one; `undefined` means plain completion. */
  readonly chatWrapper: ChatWrapper | undefined
  /** The token llama.cpp puts in front of every prompt (BOS), when this vocabulary wants one. */
  readonly beginningToken: Token | undefined
  /** A free sequence for the life of the scope; waits when all are busy. */
  readonly sequence: Effect.Effect<LlamaContextSequence, never, Scope.Scope>
  /** A context for embeddings, created on the first embedding request (it holds its own KV cache). */
  readonly embeddings: Effect.Effect<LlamaEmbeddingContext, ConfigurationError>
}

/**
 * The last lines llama.cpp logged at warn or above: the only place it says why a load failed
 * ("tensor ... data is not within the file bounds"). Process-wide, like llama.cpp's logger.
 */
const recentLogs: Array<{ readonly seq: number; readonly line: string }> = []
let logSeq = 0
const pushLog = (line: string) => {
  recentLogs.push({ seq: ++logSeq, line: line.trim() })
  if (recentLogs.length > 4) recentLogs.shift()
}
/** What llama.cpp said after `seq`: earlier lines belong to other loads. */
const logsSince = (seq: number) => recentLogs.filter((l) => l.seq > seq).map((l) => l.line)

/**
 * One Llama (the native binding) per process and GPU choice. The binding is a process singleton
 * underneath: a second instance steals the first one's logger, and disposing any instance resets
 * it for all, so instances are shared and never disposed here (node-llama-cpp releases the
 * binding before the process exits). Models and contexts are per client.
 */
const llamas = new Map<boolean, Promise<Llama>>()

const sharedLlama = (nlc: NodeLlamaCpp, settings: LlamaCppSettings): Promise<Llama> => {
  let llama = llamas.get(settings.gpu)
  if (llama === undefined) {
    llama = nlc.getLlama({
      build: "never",
      skipDownload: true,
      progressLogs: false,
      usePrebuiltBinaries: true,
      gpu: settings.gpu ? "auto" : false,
      maxThreads: settings.threads,
      logLevel: nlc.LlamaLogLevel.warn,
      // llama.cpp is chatty on stderr; keep the last lines for error messages instead.
      logger: (_level, message) => pushLog(message)
    })
    llamas.set(settings.gpu, llama)
    // A failure is not kept: the next client may try again (its own failure is kept by it).
    llama.catch(() => llamas.delete(settings.gpu))
  }
  return llama.then((l) => {
    // The binding's thread pool is shared: let it grow to the largest client's need.
    if (l.maxThreads !== 0 && l.maxThreads < settings.threads) l.maxThreads = settings.threads
    return l
  })
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Mirrors node-llama-cpp's own rule (utils/tokenizerUtils `resolveBeginningTokenToPrepend`, not
 * exported): LlamaCompletion prepends this token, so usage must count it and a rendered chat
 * template must not carry it twice.
 */
const beginningTokenOf = (model: LlamaModel): Token | undefined => {
  const vocabulary: string = model.vocabularyType
  if (vocabulary === "rwkv" || vocabulary === "ugm") return undefined
  if (vocabulary === "wpm") return model.tokens.bos ?? undefined
  return model.tokens.shouldPrependBosToken ? (model.tokens.bos ?? undefined) : undefined
}

/** A GGUF carries its chat template as `tokenizer.chat_template`; tiny base models have none. */
const hasChatTemplate = (model: LlamaModel): boolean => {
  const template = model.fileInfo.metadata?.tokenizer?.chat_template
  return typeof template === "string" && template.trim().length > 0
}

/**
 * Loads the model once. Every failure here is the operator's to fix (a corrupt or unsupported
 * file, no binary for this platform, not enough memory), so all of them are ConfigurationError
 * naming the file.
 */
export const loadModel = (
  settings: LlamaCppSettings,
  options: { readonly chatWrapper?: "auto" | "none" | ChatWrapper | undefined } = {}
): Effect.Effect<LoadedModel, ConfigurationError, Scope.Scope> =>
  Effect.gen(function*() {
    const logsBefore = logSeq
    // llama.cpp logs from its loader thread; those lines can reach JS after the rejection does.
    const logsSettled = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 25)))
    const attempt = <A>(what: string, f: () => Promise<A>) =>
      Effect.tryPromise({ try: f, catch: (e) => e }).pipe(
        Effect.catch((e) =>
          Effect.flatMap(logsSettled, () => {
            const detail = logsSince(logsBefore).join("; ")
            return Effect.fail(
              new ConfigurationError({
                message: `llamacpp provider ${settings.provider}: ${what} ${settings.modelPath}: ${errorMessage(e)}${
                  detail && !errorMessage(e).includes(detail) ? ` (llama.cpp: ${detail})` : ""
                }`,
                path: settings.modelPath
              })
            )
          })
        )
      )

    // Never fetch or compile llama.cpp at run time: only the prebuilt binary shipped in the
    // @node-llama-cpp/<platform> package is used. The env variable covers code paths that read
    // it at import; `build: "never"` + `skipDownload` cover getLlama itself.
    process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD ??= "true"
    // Imported here, not at the top: the gateway imports every provider, and the native binding
    // costs start-up time and memory (notes/benchmarks.md) for users who never configure a GGUF.
    const nlc = yield* attempt("cannot import node-llama-cpp for", () => import("node-llama-cpp"))
    const llama = yield* attempt("no usable llama.cpp binary (build: never) for", () => sharedLlama(nlc, settings))

    const model = yield* Effect.acquireRelease(
      attempt("cannot load model", () => llama.loadModel({ modelPath: settings.modelPath })),
      (m) => Effect.promise(() => m.dispose())
    )

    const context = yield* Effect.acquireRelease(
      attempt("cannot create a context for", () =>
        model.createContext({
          sequences: settings.contexts,
          // The trained window, capped: "auto" sizes for the memory it finds, which for a
          // large model on a server can mean gigabytes of KV cache per sequence.
          contextSize: settings.contextLength ?? Math.min(model.trainContextSize, 4096),
          threads: settings.threads
        })),
      (c) => Effect.promise(() => c.dispose())
    )

    const scope = yield* Effect.scope
    const embeddings = yield* Effect.cached(
      Effect.acquireRelease(
        attempt("cannot create an embedding context for", () =>
          model.createEmbeddingContext({ contextSize: context.contextSize, threads: settings.threads })),
        (c) => Effect.promise(() => c.dispose())
      ).pipe(Scope.provide(scope))
    )

    const free = yield* Queue.bounded<LlamaContextSequence>(settings.contexts)
    for (let i = 0; i < settings.contexts; i++) {
      yield* Queue.offer(free, context.getSequence())
    }

    const chatWrapper = options.chatWrapper === "none"
      ? undefined
      : options.chatWrapper !== undefined && options.chatWrapper !== "auto"
      ? options.chatWrapper
      : hasChatTemplate(model)
      ? nlc.resolveChatWrapper(model, { warningLogs: false })
      : undefined

    return {
      nlc,
      llama,
      model,
      contextSize: context.contextSize,
      chatWrapper,
      beginningToken: beginningTokenOf(model),
      sequence: Effect.acquireRelease(Queue.take(free), (s) => Queue.offer(free, s)),
      embeddings
    } satisfies LoadedModel
  })
