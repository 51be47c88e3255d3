/**
 * The OpenAI wire format as provider definitions: OpenAI itself, and the flavours that speak it
 * (Azure OpenAI, vLLM, LM Studio, Gemini's OpenAI-compatible endpoint, any compatible server),
 * each the OpenAI definition with its differences. The SDK is imported by `make`, not here.
 */
import * as ModelCatalog from "@llm-gateway/core/config/ModelCatalog"
import { defineProvider, lazyMake } from "@llm-gateway/core/providers/ProviderDefinition"

export const openaiProvider = defineProvider({
  type: "openai",
  family: "openai",
  defaultBaseUrl: "https://api.openai.com/v1",
  models: ModelCatalog.openai,
  package: "@llm-gateway/openai",
  make: lazyMake(() => import("./OpenAIClient.ts"), (m, config) => m.makeOpenAIClient(config))
})

export const azureOpenAIProvider = defineProvider({ ...openaiProvider, type: "azure-openai", defaultBaseUrl: undefined, needsBaseUrl: true })

/** Any server that speaks OpenAI's API; its models are whatever it serves (no catalog, no prices). */
export const openaiCompatibleProvider = defineProvider({
  ...openaiProvider,
  type: "openai-compatible",
  family: "local",
  defaultBaseUrl: undefined,
  needsBaseUrl: true,
  models: []
})

export const vllmProvider = defineProvider({ ...openaiCompatibleProvider, type: "vllm", defaultBaseUrl: "http://127.0.0.1:8000/v1" })

export const lmstudioProvider = defineProvider({ ...openaiCompatibleProvider, type: "lmstudio", defaultBaseUrl: "http://127.0.0.1:1234/v1" })

/** Gemini through Google's OpenAI-compatible endpoint: hosted and priced, but not in a seed-003 family. */
export const geminiProvider = defineProvider({
  ...openaiProvider,
  type: "gemini",
  family: undefined,
  defaultBaseUrl: "https://generativelanguage.googleapis.com/v1beta/openai",
  models: ModelCatalog.gemini
})

export const openaiProviders = [
  openaiProvider,
  azureOpenAIProvider,
  openaiCompatibleProvider,
  vllmProvider,
  lmstudioProvider,
  geminiProvider
] as const
