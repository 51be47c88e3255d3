/**
 * The provider definitions llm-gateway ships with. Each comes from its provider package and
 * imports its SDK only in `make`; `llamacpp` is defined here because `@llm-gateway/llamacpp` is
 * an optional peer: the definition must exist (and say what to install) when the package does not.
 */
import { anthropicProvider } from "@llm-gateway/anthropic/AnthropicProvider"
import { ProviderConfig } from "@llm-gateway/core/config/ConfigSchema"
import { defineProvider, lazyMake, type ProviderDefinition } from "@llm-gateway/core/providers/ProviderDefinition"
import { ollamaProvider } from "@llm-gateway/ollama/OllamaProvider"
import {
  azureOpenAIProvider,
  geminiProvider,
  lmstudioProvider,
  openaiCompatibleProvider,
  openaiProvider,
  vllmProvider
} from "@llm-gateway/openai/OpenAIProvider"

/** `/models/qwen2.5-0.5b-instruct-q4_k_m.gguf` → `qwen2.5-0.5b-instruct-q4_k_m`. */
export const localModelId = (modelPath: string): string => {
  const base = modelPath.split(/[\\/]/).filter((s) => s !== "").at(-1) ?? modelPath
  return base.toLowerCase().endsWith(".gguf") ? base.slice(0, -5) : base
}

/** An embedded GGUF model on node-llama-cpp (~1 s and a native binding to load: only when configured). */
export const llamacppProvider = defineProvider({
  type: "llamacpp",
  family: "local",
  requiredFields: { modelPath: "a GGUF file" },
  // the embedded text models take no file parts (the client refuses them): routing skips it for one
  limits: { vision: false, audio: false, pdf: false },
  configFields: {
    modelPath: ProviderConfig.fields.modelPath,
    contextLength: ProviderConfig.fields.contextLength,
    threads: ProviderConfig.fields.threads,
    gpu: ProviderConfig.fields.gpu,
    contexts: ProviderConfig.fields.contexts
  },
  anyModelRank: 4,
  env: {
    name: "local",
    fields: [
      { field: "modelPath", vars: ["LLM_LOCAL_MODEL_PATH"], activates: true },
      { field: "threads", vars: ["LLM_LOCAL_THREADS"], kind: "int" },
      { field: "contextLength", vars: ["LLM_LOCAL_CONTEXT_LENGTH"], kind: "int" }
    ],
    model: { var: "LLM_LOCAL_MODEL_PATH", id: localModelId }
  },
  package: "@llm-gateway/llamacpp",
  make: lazyMake(
    () => import("@llm-gateway/llamacpp/LlamaCppClient"),
    (m, config) => m.makeLlamaCppClient(config),
    "@llm-gateway/llamacpp"
  )
})

/**
 * In this order env makes its providers (after the generic BYOK set), and bare model ids are
 * claimed: openai, anthropic, gemini, lmstudio, ollama, vllm, local (llama.cpp).
 */
export const builtinProviders: ReadonlyArray<ProviderDefinition> = [
  openaiProvider,
  anthropicProvider,
  geminiProvider,
  lmstudioProvider,
  ollamaProvider,
  vllmProvider,
  llamacppProvider,
  azureOpenAIProvider,
  openaiCompatibleProvider
]
