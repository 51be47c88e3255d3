/**
 * The two ways a library user gets a manager (notes/architecture.md):
 * - `makeLLMManager(config)`: an Effect (scoped) that builds it from a config in the YAML shape;
 * - `createDefaultLLMManager()`: one directly, configured from env, whose methods are plain
 *   Effects with no requirements, so `await Effect.runPromise(manager.generate(req))` just works.
 */
import type { GatewayConfigInput } from "@llm-gateway/core/config/LLMConfig"
import type { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import type { ProviderDefinition } from "@llm-gateway/core/providers/ProviderDefinition"
import { LLMManager, type LLMManagerShape } from "@llm-gateway/core/manager/LLMManager"
import { Context, Effect, Layer, ManagedRuntime, type Scope, Stream } from "effect"
import { gatewayLayer, type GatewayOptions } from "./GatewayLayer.ts"
import type { ClientOverrides } from "./ProviderClients.ts"

export interface MakeLLMManagerOptions {
  /**
   * Clients that replace the configured providers' clients, by provider name: a test swaps
   * `openai` for a scripted client (`@llm-gateway/testing`) and keeps everything else real.
   */
  readonly clients?: ClientOverrides | undefined
  /**
   * Provider definitions from outside the project (`defineProvider`): config entries with their
   * `type` then work like built-in ones (routing, breaker, limits, cost, metrics).
   */
  readonly providers?: ReadonlyArray<ProviderDefinition> | undefined
}

/**
 * The manager from a config in the YAML file's shape (string fields such as `type` or
 * `strategy` are checked at run time: a bad value is a ConfigurationError naming its path).
 * Scoped: provider connections and stores close with the scope (`Effect.scoped`).
 */
export const makeLLMManager = (
  config: GatewayConfigInput,
  options: MakeLLMManagerOptions = {}
): Effect.Effect<LLMManagerShape, ConfigurationError, Scope.Scope> =>
  Effect.map(Layer.build(gatewayLayer({ config, clients: options.clients, providers: options.providers })), (context) => Context.get(context, LLMManager))

type Lazy<F extends (...args: never) => Effect.Effect<unknown, unknown>> = (
  ...args: Parameters<F>
) => Effect.Effect<Effect.Success<ReturnType<F>>, Effect.Error<ReturnType<F>> | ConfigurationError>

export interface DefaultLLMManager extends Omit<LLMManagerShape, "usage" | "getConversation" | "deleteConversation" | "saveConversation"> {
  /** Fails with ConfigurationError only when the env config is invalid (the lazy start failed). */
  readonly usage: Effect.Effect<Effect.Success<LLMManagerShape["usage"]>, ConfigurationError>
  readonly getConversation: Lazy<LLMManagerShape["getConversation"]>
  readonly deleteConversation: Lazy<LLMManagerShape["deleteConversation"]>
  readonly saveConversation: Lazy<LLMManagerShape["saveConversation"]>
  /** Closes provider connections, stores and timers. */
  readonly dispose: () => Promise<void>
}

/**
 * Builds lazily: the first call starts the gateway (a bad env config then fails that call with a
 * ConfigurationError); later calls reuse it.
 */
export const createDefaultLLMManager = (options: GatewayOptions = {}): DefaultLLMManager => {
  const runtime = ManagedRuntime.make(gatewayLayer(options))
  const manager = Effect.map(runtime.contextEffect, (context) => Context.get(context, LLMManager))
  return {
    generate: (req, ctx) => Effect.flatMap(manager, (m) => m.generate(req, ctx)),
    generateStream: (req, ctx) => Stream.unwrap(Effect.map(manager, (m) => m.generateStream(req, ctx))),
    chat: (id, message, options) => Effect.flatMap(manager, (m) => m.chat(id, message, options)),
    getConversation: (id, ctx) => Effect.flatMap(manager, (m) => m.getConversation(id, ctx)),
    deleteConversation: (id, ctx) => Effect.flatMap(manager, (m) => m.deleteConversation(id, ctx)),
    saveConversation: (conversation, ctx) => Effect.flatMap(manager, (m) => m.saveConversation(conversation, ctx)),
    embed: (texts, options) => Effect.flatMap(manager, (m) => m.embed(texts, options)),
    generateObject: (req, schema, ctx) => Effect.flatMap(manager, (m) => m.generateObject(req, schema, ctx)),
    usage: Effect.flatMap(manager, (m) => m.usage),
    dispose: () => runtime.dispose()
  }
}
