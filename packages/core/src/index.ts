export { CacheService } from "./CacheService.ts"
export type { CacheOptions, CacheResult, CacheServiceShape, CacheStats, CacheStatus } from "./CacheService.ts"
export * from "./ConfigSchema.ts"
export * from "./ConversationStorage.ts"
export * from "./Domain.ts"
export * from "./LLMConfig.ts"
export * as LLMError from "./LLMError.ts"
export { LLMManager, StructuredOutputError } from "./LLMManager.ts"
export type { CallContext, ChatOptions, ChatResponse, EmbedResult, LLMManagerShape } from "./LLMManager.ts"
export * from "./LocalModelHealth.ts"
export * as ModelCatalog from "./ModelCatalog.ts"
export * from "./ModelClient.ts"
export * from "./ModelClients.ts"
export { ModelRouter } from "./ModelRouter.ts"
export type {
  DeploymentStats,
  ModelInfo,
  ModelRouterOptions,
  ModelRouterShape,
  PlannedCandidate,
  ProviderStats,
  RoutedEmbedding,
  RoutedResponse,
  RoutePlan,
  RouterStats
} from "./ModelRouter.ts"
export * from "./UsageAccounting.ts"
