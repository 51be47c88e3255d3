export { CacheService } from "./cache/CacheService.ts"
export type { CacheOptions, CacheResult, CacheServiceShape, CacheStats, CacheStatus } from "./cache/CacheService.ts"
export * from "./config/ConfigSchema.ts"
export * from "./conversations/ConversationStorage.ts"
export * from "./domain/Domain.ts"
export * from "./config/LLMConfig.ts"
export * as LLMError from "./domain/LLMError.ts"
export { LLMManager, StructuredOutputError } from "./manager/LLMManager.ts"
export type { CallContext, ChatOptions, ChatResponse, EmbedResult, LLMManagerShape } from "./manager/LLMManager.ts"
export * as ModelCatalog from "./config/ModelCatalog.ts"
export * from "./providers/ModelClient.ts"
export * from "./providers/ModelClients.ts"
export { ModelRouter } from "./routing/ModelRouter.ts"
export type {
  DeploymentInfo,
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
} from "./routing/ModelRouter.ts"
export * from "./accounting/UsageAccounting.ts"
