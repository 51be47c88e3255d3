export * as OpenAIClient from "./OpenAIClient.ts"
export { makeOpenAIClient, type OpenAIClientOptions } from "./OpenAIClient.ts"
