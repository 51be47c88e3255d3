/**
 * One `ModelClient` per `providers[]` entry, built by the `make` of its type's definition
 * (built-in or plug-in): the batteries-included wiring. Each client's transport lives in the
 * surrounding scope and closes with it.
 *
 * Definitions import their SDK in `make`, so a provider package's SDK loads when a provider of
 * its type is configured, not before: each costs start-up time and resident memory
 * (node-llama-cpp ~1 s and its native binding), and most gateways use one or two of them.
 */
import type { ProviderConfig } from "@llm-gateway/core/config/ConfigSchema"
import { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import type { ModelClientShape } from "@llm-gateway/core/providers/ModelClient"
import { ModelClients } from "@llm-gateway/core/providers/ModelClients"
import { byType, type ProviderDefinition } from "@llm-gateway/core/providers/ProviderDefinition"
import { Effect, Layer, type Scope } from "effect"
import { builtinProviders } from "./BuiltinProviders.ts"

/** The built-in definitions plus `plugins` (a plug-in of a built-in type replaces it). */
export const providerDefinitions = (plugins: ReadonlyArray<ProviderDefinition> = []): ReadonlyMap<string, ProviderDefinition> =>
  byType([...builtinProviders, ...plugins])

/** The client of one `providers[]` entry, by its definition's `make`. */
export const makeProviderClient = (
  config: ProviderConfig,
  plugins: ReadonlyArray<ProviderDefinition> = []
): Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope> => {
  const definition = providerDefinitions(plugins).get(config.type)
  return definition === undefined
    ? Effect.fail(new ConfigurationError({ message: `provider "${config.name}": no definition for type ${config.type}`, path: "type" }))
    : definition.make(config)
}

/**
 * Clients that replace the built ones, by provider name (a test's scripted or fake client).
 * Each is registered under that name, whatever its own `provider` field says.
 */
export type ClientOverrides = Readonly<Record<string, ModelClientShape>>

/** Every configured provider's client; fails at start when one cannot work (ConfigurationError). */
export const layerProviderClients = (
  providers: ReadonlyArray<ProviderConfig>,
  overrides: ClientOverrides = {},
  plugins: ReadonlyArray<ProviderDefinition> = []
): Layer.Layer<ModelClients, ConfigurationError> =>
  Layer.effect(
    ModelClients,
    Effect.map(
      Effect.forEach(providers, (p) => {
        const given = Object.hasOwn(overrides, p.name) ? overrides[p.name] : undefined
        return given === undefined ? makeProviderClient(p, plugins) : Effect.succeed({ ...given, provider: p.name })
      }),
      (clients) => ModelClients.of(ModelClients.fromClients(clients))
    )
  )
