/**
 * The port every provider implements (one Layer per provider package).
 *
 * Contract for implementations:
 * - every failure is an `LLMError` (the provider's error table maps SDK errors);
 * - `stream` emits text deltas and ends with one chunk carrying `usage` and `finishReason`;
 * - interrupting the fiber (or stopping the stream early) aborts the upstream HTTP request;
 * - SDK retries are off: the router owns retries.
 */
import { Context, Effect, Layer, Stream } from "effect"
import type {
  EmbeddingRequest,
  EmbeddingResponse,
  HealthStatus,
  ProviderRequest,
  ProviderResponse,
  StreamChunk
} from "../domain/Domain.ts"
import { ConfigurationError, type LLMError } from "../domain/LLMError.ts"
import type { ModelClientPassthrough } from "./Passthrough.ts"
import type { FieldPolicy } from "./RequestFields.ts"

export interface ModelClientShape {
  /** The provider's configured name (the `provider` in `provider/model`). */
  readonly provider: string
  /** The provider type (`openai`, `anthropic`, `ollama`, `llamacpp`, …). */
  readonly type: string
  /**
   * `generate` honours `req.timeoutMs` itself, precisely, failing with TimeoutError (`model` =
   * `provider/model`), and `stream` honours `req.stallTimeoutMs` between chunks the same way.
   * The router then skips its own attempt timeout and its per-pull stall race, races of two
   * fibers that cost CPU per call and per chunk (notes/benchmarks.md "Figures quoted in source
   * comments"); clients without it are timed by the router.
   */
  readonly enforcesTimeout?: boolean | undefined
  /**
   * What the client does with `LLMRequest.extra` fields and `n` (RequestFields): pass them
   * through, map some, or neither. Undeclared: `defaultPolicy` (maps nothing, passes nothing).
   */
  readonly fields?: FieldPolicy | undefined
  readonly generate: (req: ProviderRequest) => Effect.Effect<ProviderResponse, LLMError>
  readonly stream: (req: ProviderRequest) => Stream.Stream<StreamChunk, LLMError>
  /** Fails with ConfigurationError when the provider has no embeddings. */
  readonly embed: (req: EmbeddingRequest) => Effect.Effect<EmbeddingResponse, LLMError>
  /** Never fails: an unreachable upstream is `healthy: false` with the reason. */
  readonly health: Effect.Effect<HealthStatus>
  /** Requests in the provider's own API, sent on unchanged but for the model (providers/Passthrough). */
  readonly passthrough?: ModelClientPassthrough | undefined
}

export class ModelClient extends Context.Service<ModelClient, ModelClientShape>()("@llm-gateway/core/ModelClient") {
  static readonly layerFrom = (client: ModelClientShape) => Layer.succeed(ModelClient, ModelClient.of(client))
}

/** For providers without embeddings. */
export const embeddingsUnsupported = (provider: string) => (_req: EmbeddingRequest) =>
  Effect.fail(new ConfigurationError({ message: `provider ${provider} has no embeddings endpoint` }))
