/**
 * One `ModelClient` per `providers[]` entry, built by its `type`: the batteries-included wiring.
 * Each client's transport lives in the surrounding scope and closes with it.
 *
 * Provider packages are imported when a provider of their type is configured, not before: each
 * SDK costs start-up time and resident memory (node-llama-cpp ~1 s and its native binding), and
 * most gateways use one or two of them.
 */
import type { ProviderConfig } from "@llm-gateway/core/config/ConfigSchema"
import { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import type { ModelClientShape } from "@llm-gateway/core/providers/ModelClient"
import { ModelClients } from "@llm-gateway/core/providers/ModelClients"
import { Effect, Layer, type Scope } from "effect"

type Make = (config: ProviderConfig) => Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope>

const loaders: Record<"openai" | "anthropic" | "ollama" | "llamacpp", () => Promise<Make>> = {
  openai: () => import("@llm-gateway/openai/OpenAIClient").then((m) => (config) => m.makeOpenAIClient(config)),
  anthropic: () => import("@llm-gateway/anthropic/AnthropicClient").then((m) => (config) => m.makeAnthropicClient(config)),
  ollama: () => import("@llm-gateway/ollama/OllamaClient").then((m) => (config) => m.makeOllamaClient(config)),
  llamacpp: () => import("@llm-gateway/llamacpp/LlamaCppClient").then((m) => (config) => m.makeLlamaCppClient(config))
}

const packageFor = (type: ProviderConfig["type"]): keyof typeof loaders => {
  switch (type) {
    case "anthropic":
    case "ollama":
    case "llamacpp":
      return type
    case "openai":
    case "azure-openai":
    case "openai-compatible":
    case "vllm":
    case "lmstudio":
    case "gemini":
      return "openai"
  }
}

/** What each loader imports: `@llm-gateway/llamacpp` is an optional peer of llm-gateway, so it may be absent. */
const packageNames: Record<keyof typeof loaders, string> = {
  openai: "@llm-gateway/openai",
  anthropic: "@llm-gateway/anthropic",
  ollama: "@llm-gateway/ollama",
  llamacpp: "@llm-gateway/llamacpp"
}

const isNotInstalled = (cause: unknown, name: string): boolean =>
  cause instanceof Error && (cause as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND" &&
  cause.message.includes(`'${name}'`)

/** The provider package's constructor; a package that is not installed is a ConfigurationError saying which. */
const load = (config: ProviderConfig): Effect.Effect<Make, ConfigurationError> => {
  const key = packageFor(config.type)
  return Effect.tryPromise({ try: loaders[key], catch: (cause) => cause }).pipe(
    Effect.catch((cause) =>
      isNotInstalled(cause, packageNames[key])
        ? Effect.fail(
          new ConfigurationError({
            message: `provider "${config.name}" (type ${config.type}) needs the package ${packageNames[key]}: npm install ${
              packageNames[key]
            }`
          })
        )
        : Effect.die(cause)
    )
  )
}

export const makeProviderClient = (config: ProviderConfig): Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope> =>
  Effect.flatMap(load(config), (make) => make(config))

/**
 * Clients that replace the built ones, by provider name (a test's scripted or fake client).
 * Each is registered under that name, whatever its own `provider` field says.
 */
export type ClientOverrides = Readonly<Record<string, ModelClientShape>>

/** Every configured provider's client; fails at start when one cannot work (ConfigurationError). */
export const layerProviderClients = (
  providers: ReadonlyArray<ProviderConfig>,
  overrides: ClientOverrides = {}
): Layer.Layer<ModelClients, ConfigurationError> =>
  Layer.effect(
    ModelClients,
    Effect.map(
      Effect.forEach(providers, (p) => {
        const given = Object.hasOwn(overrides, p.name) ? overrides[p.name] : undefined
        return given === undefined ? makeProviderClient(p) : Effect.succeed({ ...given, provider: p.name })
      }),
      (clients) => ModelClients.of(ModelClients.fromClients(clients))
    )
  )
