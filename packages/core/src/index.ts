export * from "./Domain.ts"
export * as LLMError from "./LLMError.ts"
export * from "./ModelClient.ts"
