export { DEFAULT_BASE_URL, HEALTH_TIMEOUT_MS, layer, makeAnthropicClient, REQUEST_TIMEOUT_MS } from "./AnthropicClient.ts"
export type { AnthropicClientOptions } from "./AnthropicClient.ts"
