/**
 * The shape of the gateway's configuration: the YAML file of notes/configuration.md, after
 * `${VAR}` interpolation, with defaults filled in. Env variables (same note) are folded into the same
 * shape by `LLMConfig`, so everything downstream reads one validated value.
 */
import { Schema } from "effect"
import { ModelCapabilities, RoutingStrategy } from "../domain/Domain.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const Secret = Schema.RedactedFromValue(Schema.String)

export const ProviderType = Schema.Literals([
  "openai",
  "azure-openai",
  "openai-compatible",
  "vllm",
  "lmstudio",
  "gemini",
  "anthropic",
  "ollama",
  "llamacpp"
])
export type ProviderType = typeof ProviderType.Type

/** Seed 003's default task order is by family: Claude = anthropic, GPT = openai, Llama = local. */
export const ProviderFamily = Schema.Literals(["anthropic", "openai", "local"])
export type ProviderFamily = typeof ProviderFamily.Type

export const ModelEntry = Schema.Struct({
  id: Schema.NonEmptyString,
  contextWindow: Schema.optional(PositiveInt),
  inputCostPer1M: Schema.optional(NonNegative),
  outputCostPer1M: Schema.optional(NonNegative),
  /** Prompt tokens read from the provider's prompt cache, USD per 1M (default: the input price). */
  cachedInputCostPer1M: Schema.optional(NonNegative),
  /** Prompt tokens written to the provider's prompt cache, USD per 1M (default: the input price). */
  cacheWriteCostPer1M: Schema.optional(NonNegative),
  /** Output tokens this model accepts at most (Anthropic needs a max_tokens). */
  maxOutputTokens: Schema.optional(PositiveInt),
  embedding: Schema.optional(Schema.Boolean),
  /** Deployments sharing an alias are one logical model, balanced by `routing.loadBalancing`. */
  alias: Schema.optional(Schema.NonEmptyString),
  weight: Schema.optional(Schema.Finite.check(Schema.isGreaterThan(0))),
  /** What the model can take (tools, vision, audio, pdf, reasoning, jsonSchema); absent = assumed capable. */
  capabilities: Schema.optional(ModelCapabilities)
})
export type ModelEntry = typeof ModelEntry.Type

export const ProviderDefaults = Schema.Struct({
  maxTokens: Schema.optional(PositiveInt),
  temperature: Schema.optional(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 2 })))
})
export type ProviderDefaults = typeof ProviderDefaults.Type

/** The fields every provider entry has, whatever its `type`; a definition adds its own (`ProviderSpec.configFields`). */
export const providerCommonFields = {
  /** Models are addressed as `<name>/<model id>`. */
  name: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_.-]+$/)),
  type: Schema.String,
  /** The default task lists this provider joins; a plug-in definition's `family` when unset (built-ins: by type). */
  family: Schema.optional(ProviderFamily),
  baseUrl: Schema.optional(Schema.NonEmptyString),
  apiKey: Schema.optional(Secret),
  /** Extra headers sent upstream (values may be secrets; they are never printed). */
  headers: Schema.optional(Schema.Record(Schema.String, Secret)),
  rpm: Schema.optional(PositiveInt),
  tpm: Schema.optional(PositiveInt),
  /** Request defaults for this provider, used when a request does not say (OPENAI_MAX_TOKENS, OPENAI_TEMPERATURE). */
  defaults: Schema.optional(ProviderDefaults),
  models: Schema.Array(ModelEntry)
}

/**
 * One provider entry as a definition declares it: the common fields, its `type` `T` and its own
 * fields `F` (`ProviderSpec.configFields`). What a definition's `make` and its client read: a
 * field of another provider type is a compile error there.
 */
export type ProviderEntry<T extends string = string, F extends Schema.Struct.Fields = {}> =
  & Omit<Schema.Struct.Type<typeof providerCommonFields>, "type">
  & { readonly type: T }
  & Schema.Struct.Type<F>

/**
 * A provider entry of any built-in type: the common fields plus every built-in's own (the
 * clients' static type). With definitions, entries are validated by the union of their schemas
 * instead (`gatewayConfigWith`): Azure's fields on an `openai` entry are an unknown key.
 */
export const ProviderConfig = Schema.Struct({
  ...providerCommonFields,
  type: ProviderType,
  /** Azure OpenAI: `api-version` query parameter. */
  apiVersion: Schema.optional(Schema.NonEmptyString),
  /** Azure OpenAI: the deployment name (defaults to the model id). */
  deployment: Schema.optional(Schema.NonEmptyString),
  /** llamacpp: the GGUF file. */
  modelPath: Schema.optional(Schema.NonEmptyString),
  contextLength: Schema.optional(PositiveInt),
  threads: Schema.optional(PositiveInt),
  gpu: Schema.optional(Schema.Boolean),
  /** llamacpp: how many contexts (parallel generations) the model serves. */
  contexts: Schema.optional(PositiveInt)
})
export type ProviderConfig = typeof ProviderConfig.Type

export const ServerConfig = Schema.Struct({
  host: Schema.String,
  port: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })),
  apiKeys: Schema.Array(Secret),
  maxBodyBytes: PositiveInt,
  /**
   * Browser origins allowed to call the API (CORS), e.g. `["https://app.example.com"]` or
   * `["*"]`. Absent: no CORS headers, so only same-origin pages and non-browser clients.
   */
  corsOrigins: Schema.optional(Schema.Array(Schema.String.check(Schema.isNonEmpty()))),
  /**
   * `true`: `GET /metrics` needs a gateway key (`Authorization: Bearer <key>`; Prometheus's
   * `authorization` / `bearer_token`), since it shows spend and traffic per model. Default
   * `false` (open, like `/health`).
   */
  metricsAuth: Schema.optional(Schema.Boolean),
  /** The web console at `/ui` (default `true`; the page holds no secret, its API calls need a key). */
  ui: Schema.optional(Schema.Boolean),
  /**
   * Keys for the admin API (`/admin/v1/…`, `Authorization: Bearer <key>`): virtual keys, teams,
   * usage, and every tenant's figures on `/api/v1/llm/status`. Absent: no admin API.
   */
  adminKeys: Schema.optional(Schema.Array(Secret))
})
export type ServerConfig = typeof ServerConfig.Type

export const CircuitBreakerConfig = Schema.Struct({
  failureThreshold: PositiveInt,
  successThreshold: PositiveInt,
  openMs: PositiveInt
})

export const LoadBalancing = Schema.Literals(["round-robin", "least-latency", "random", "weighted"])
export type LoadBalancing = typeof LoadBalancing.Type

export const UnknownTasks = Schema.Literals(["general", "reject"])
export type UnknownTasks = typeof UnknownTasks.Type

export const RoutingConfig = Schema.Struct({
  strategy: RoutingStrategy,
  fallbackOrder: Schema.Array(Schema.String),
  tasks: Schema.Record(Schema.String, Schema.Array(Schema.String)),
  maxRetries: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  timeoutMs: PositiveInt,
  attemptTimeoutMs: PositiveInt,
  loadBalancing: LoadBalancing,
  circuitBreaker: CircuitBreakerConfig,
  /**
   * How long a request may wait for a rate-limit permit on one candidate before it is skipped
   * (or, on the last candidate, answered 429 with the wait as retry-after). Unset: 0 for every
   * candidate but the last, 1000 ms for the last.
   */
  queueMs: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /**
   * A task name that is neither built in nor in `tasks`: `general` (default) routes it as
   * `general`; `reject` answers 400. Either way the raw name is never a key, label or cache dimension.
   */
  unknownTasks: Schema.optional(UnknownTasks)
})
export type RoutingConfig = typeof RoutingConfig.Type

export const CacheConfig = Schema.Struct({
  enabled: Schema.Boolean,
  ttlSeconds: PositiveInt,
  maxSize: PositiveInt,
  semantic: Schema.Struct({
    enabled: Schema.Boolean,
    threshold: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
    /** `provider/model` of the embedding model. */
    model: Schema.optional(Schema.String)
  })
})
export type CacheConfig = typeof CacheConfig.Type

export const ConversationsConfig = Schema.Struct({
  store: Schema.Literals(["memory", "sqlite", "postgres"]),
  path: Schema.optional(Schema.String),
  url: Schema.optional(Secret),
  ttlSeconds: Schema.optional(PositiveInt)
})
export type ConversationsConfig = typeof ConversationsConfig.Type

/** The gateway's own store (keys, usage ledger, audit log, alert outbox); see GatewayDatabase. */
export const DatabaseConfig = Schema.Struct({
  /** Postgres; absent (and no DATABASE_URL): a SQLite file, `path`. */
  url: Schema.optional(Secret),
  /** The SQLite file; `.data/gateway.db` in the working directory by default. */
  path: Schema.optional(Schema.NonEmptyString)
})
export type DatabaseConfig = typeof DatabaseConfig.Type

/** The usage ledger: one row per request, written in batches off the request path. */
export const LedgerConfig = Schema.Struct({
  /** Keep request/response bodies (redacted of secrets, capped) in the ledger; default false. */
  storeBodies: Schema.optional(Schema.Boolean),
  /** How often buffered rows are written; 1000 ms by default. */
  flushMs: Schema.optional(PositiveInt),
  /** Rows held in memory while the store is slow or down; beyond it rows are dropped (and counted). 100000 by default. */
  maxBuffer: Schema.optional(PositiveInt)
})
export type LedgerConfig = typeof LedgerConfig.Type

/**
 * OpenTelemetry trace export over OTLP/HTTP (JSON). Absent, and no `OTEL_EXPORTER_OTLP_ENDPOINT`
 * in env: tracing is off (no spans are recorded at all).
 */
export const TracingConfig = Schema.Struct({
  /** The collector, e.g. `http://127.0.0.1:4318` (`/v1/traces` is appended unless the path ends in it). */
  endpoint: Schema.optional(Schema.String),
  /** `service.name` of the exported resource; `OTEL_SERVICE_NAME`, else `llm-gateway`. */
  serviceName: Schema.optional(Schema.String),
  /** Share of new traces recorded (0..1, default 1); a caller's `traceparent` decides for its own trace. */
  sampleRatio: Schema.optional(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })))
})
export type TracingConfig = typeof TracingConfig.Type

/** `@llm-gateway/ops`: Alertmanager classification and forwarding (notes/ops.md). */
export const AlertsConfig = Schema.Struct({
  /** Classify with the model; default: `LLM_ENABLED`, else on when a chat model is configured. */
  llmEnabled: Schema.optional(Schema.Boolean),
  /** How long a classification is reused: `24h` (default), `30m`, `3600s`, or seconds. */
  cacheTtl: Schema.optional(Schema.Union([PositiveInt, Schema.String.check(Schema.isPattern(/^\d+(ms|s|m|h|d)$/))])),
  /** The enrichment mode until one is set over HTTP (default `transparent`, as in the seeds). */
  mode: Schema.optional(Schema.Literals(["transparent", "enriched", "transparent_with_recommendations"])),
  /** Another Alertmanager receiver that gets the enriched alerts (`ALERTS_DOWNSTREAM_URL`). */
  downstream: Schema.optional(Schema.Struct({
    url: Schema.NonEmptyString,
    headers: Schema.optional(Schema.Record(Schema.String, Secret))
  })),
  /** Payloads classified at once (default 4) and waiting (default 1000). */
  workers: Schema.optional(PositiveInt),
  queueSize: Schema.optional(PositiveInt),
  /** Body limit of `POST /api/v1/alerts` (default 10 MiB: a big group is large). */
  maxBodyBytes: Schema.optional(PositiveInt)
})
export type AlertsConfig = typeof AlertsConfig.Type

export const GatewayConfig = Schema.Struct({
  /**
   * Modules exporting provider definitions (`defineProvider`), loaded before the rest is
   * validated so entries of their `type` work like built-in ones: a path relative to the config
   * file's directory (`./my-provider.ts`) or a package name (from the working directory).
   */
  plugins: Schema.optional(Schema.Array(Schema.NonEmptyString)),
  server: ServerConfig,
  providers: Schema.Array(ProviderConfig),
  routing: RoutingConfig,
  redis: Schema.optional(Schema.Struct({ url: Secret })),
  cache: CacheConfig,
  conversations: ConversationsConfig,
  tracing: Schema.optional(TracingConfig),
  database: Schema.optional(DatabaseConfig),
  ledger: Schema.optional(LedgerConfig),
  alerts: Schema.optional(AlertsConfig)
})
export type GatewayConfig = typeof GatewayConfig.Type

/** What the config schema needs of a definition: its `type` and the fields only its entries have. */
export interface ProviderConfigMember {
  readonly type: string
  readonly configFields?: Schema.Struct.Fields | undefined
}

/** The `type`s the config accepts with these definitions, in the order a bad `type` lists them. */
export const providerTypesWith = (members: ReadonlyArray<ProviderConfigMember>) =>
  Schema.Literals([...new Set<string>([...ProviderType.literals, ...members.map((m) => m.type)])])

/**
 * `GatewayConfig` whose provider entries are a union discriminated by `type`, one member per
 * definition (the common fields plus its `configFields`; a later definition of a type replaces
 * an earlier one), and the wide `ProviderConfig` for built-in names no definition covers.
 * With no definitions, `GatewayConfig` itself.
 */
export const gatewayConfigWith = (members: ReadonlyArray<ProviderConfigMember>) => {
  if (members.length === 0) return GatewayConfig
  const byType = new Map(members.map((m) => [m.type, m] as const))
  const uncovered = ProviderType.literals.filter((t) => !byType.has(t))
  const entry = Schema.Union([
    ...[...byType.values()].map((m) => Schema.Struct({ ...providerCommonFields, type: Schema.Literal(m.type), ...m.configFields })),
    ...(uncovered.length > 0 ? [ProviderConfig.mapFields((f) => ({ ...f, type: Schema.Literals(uncovered) }))] : [])
  ])
  return GatewayConfig.mapFields((fields) => ({ ...fields, providers: Schema.Array(entry) }))
}
/** The file as written: every section optional, filled from env and defaults by `LLMConfig`. */
export type GatewayConfigEncoded = typeof GatewayConfig.Encoded
