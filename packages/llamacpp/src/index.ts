export * as LlamaCppClient from "./LlamaCppClient.ts"
export { DEFAULT_MAX_TOKENS, defaultThreads, layer, layerConfig, makeLlamaCppClient } from "./LlamaCppClient.ts"
export type { LlamaCppClientOptions } from "./LlamaCppClient.ts"
export { type LlamaCppConfig, llamacppConfigFields } from "./LlamaCppConfig.ts"
