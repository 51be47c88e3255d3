/**
 * @llm-gateway/server: the gateway over HTTP (OpenAI-compatible `/v1`, the seed endpoints,
 * `/metrics`, health) and the `gateway` CLI (`src/cli.ts`).
 */
export * as GatewayServer from "./GatewayServer.ts"
export * as HttpError from "./HttpError.ts"
export * as ProviderHealth from "./ProviderHealth.ts"
