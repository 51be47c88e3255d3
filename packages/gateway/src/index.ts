/**
 * llm-gateway: every provider behind one typed API, with routing, fallbacks, caching and
 * conversations. Start here: `createDefaultLLMManager()` or `makeLLMManager(config)`.
 */
export * from "@llm-gateway/core"
export { checkLocalModelHealth } from "./LocalModelHealth.ts"
export * from "./GatewayLayer.ts"
export * from "./LLMManagerFactory.ts"
export { type ClientOverrides, layerProviderClients, makeProviderClient, providerDefinitions } from "./ProviderClients.ts"
export { builtinProviders } from "./BuiltinProviders.ts"
export { defineProvider, lazyMake, type ProviderDefinition, type ProviderFamily } from "@llm-gateway/core/providers/ProviderDefinition"
export { embeddedModelPath, embeddedProvider, withEmbeddedDefault } from "./EmbeddedDefault.ts"
export { Effect, Stream } from "effect"
export * from "./LocalDiscovery.ts"
export * from "./StreamAdapters.ts"
export { type GatewayMetadata, languageModelLayer, layerLanguageModel, type LanguageModelOptions, makeLanguageModel } from "./LanguageModel.ts"
