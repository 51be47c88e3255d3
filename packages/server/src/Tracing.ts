/**
 * OpenTelemetry traces over OTLP/HTTP, with effect's own exporter (`effect/observability`
 * OtlpTracer: no OTel SDK). On when `tracing.endpoint` is set in the config file or the
 * standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is in env;
 * otherwise the server keeps the tracer disabled, so a request records no span at all.
 *
 * What a dead or slow collector may cost is bounded: effect's exporter keeps at most one
 * batch (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, 512 spans) in its buffer, but it starts one export
 * per full batch and never times an export out, so a collector that accepts connections and
 * never answers would collect batches without end. Here every export is timed out
 * (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s) and at most `OTEL_BSP_MAX_QUEUE_SIZE / batch` exports
 * (2048 / 512 = 4) are in flight; a batch beyond that is dropped and the exporter pauses for
 * 60 s (effect's rule after a failed export), dropping what it holds.
 */
import type { TracingConfig } from "@llm-gateway/core/config/ConfigSchema"
import { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import { Config, Effect, Layer, Option, Redacted, References, Tracer } from "effect"
import { FetchHttpClient, HttpClient, HttpClientError, HttpMiddleware } from "effect/http"
import { OtlpExporter, OtlpSerialization, OtlpTracer } from "effect/observability"

export interface TracingSettings {
  /** The OTLP/HTTP traces URL (`…/v1/traces`). */
  readonly url: string
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  /** Share of new (root) traces recorded; a caller's `traceparent` flag decides for its trace. */
  readonly sampleRatio: number
  readonly protocol: "http/json" | "http/protobuf"
  /** `OTEL_EXPORTER_OTLP_HEADERS`: vendor API keys live here. */
  readonly headers?: Redacted.Redacted<Record<string, string>> | undefined
  /** One export request, after which it counts as failed (and is retried by effect's exporter). */
  readonly timeoutMs: number
  /** How often a partial batch is sent. */
  readonly exportIntervalMs: number
  /** Spans per export request; a full batch is sent at once. */
  readonly maxBatchSize: number
  /** Export requests in flight at most; beyond it a batch is dropped (see the module note). */
  readonly maxInFlight: number
}

const DEFAULT_SERVICE_NAME = "llm-gateway"

const invalid = (name: string, message: string) => new ConfigurationError({ path: name, message })

/** `/v1/traces` is appended to a base URL, as OTel SDKs do for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
const tracesUrl = (base: string, name: string): Effect.Effect<string, ConfigurationError> =>
  Effect.try({
    try: () => {
      const url = new URL(base)
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)")
      if (!url.pathname.endsWith("/v1/traces")) url.pathname = `${url.pathname.replace(/\/$/, "")}/v1/traces`
      return url.toString()
    },
    catch: () => invalid(name, "not an http(s) URL (e.g. http://127.0.0.1:4318)")
  })

/** `k1=v1,k2=v2` with URL-encoded values (the OTel env format). */
const parseHeaders = (text: string, name: string): Effect.Effect<Record<string, string>, ConfigurationError> =>
  Effect.try({
    try: () => {
      const out: Record<string, string> = {}
      for (const pair of text.split(",")) {
        if (pair.trim() === "") continue
        const at = pair.indexOf("=")
        if (at <= 0) throw new Error("bad pair")
        out[decodeURIComponent(pair.slice(0, at).trim()).toLowerCase()] = decodeURIComponent(pair.slice(at + 1).trim())
      }
      return out
    },
    // never echo the value: it holds API keys
    catch: () => invalid(name, "expected key=value pairs separated by commas")
  })

const envVar = (name: string) =>
  Config.option(Config.String(name)).pipe(
    Effect.map((o) => Option.filter(o, (s) => s.trim() !== "").pipe(Option.map((s) => s.trim()), Option.getOrUndefined)),
    Effect.mapError(() => invalid(name, "cannot read"))
  )

const envInt = (name: string, fallback: number) =>
  Effect.flatMap(envVar(name), (v) => {
    if (v === undefined) return Effect.succeed(fallback)
    const n = Number(v)
    return Number.isInteger(n) && n > 0 ? Effect.succeed(n) : Effect.fail(invalid(name, "expected a positive integer"))
  })

/**
 * The settings from the config file's `tracing` section over the standard OTel env variables,
 * or `undefined` when tracing is off (nothing configured, `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`).
 */
export const resolve = (config: TracingConfig | undefined): Effect.Effect<TracingSettings | undefined, ConfigurationError> =>
  Effect.gen(function*() {
    if ((yield* envVar("OTEL_SDK_DISABLED"))?.toLowerCase() === "true") return undefined
    const exporter = (yield* envVar("OTEL_TRACES_EXPORTER"))?.toLowerCase()
    if (exporter !== undefined && exporter !== "otlp") {
      if (exporter === "none") return undefined
      return yield* invalid("OTEL_TRACES_EXPORTER", "only otlp (or none) is supported")
    }
    let url: string | undefined
    if (config?.endpoint !== undefined) url = yield* tracesUrl(config.endpoint, "tracing.endpoint")
    else {
      const traces = yield* envVar("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
      const base = yield* envVar("OTEL_EXPORTER_OTLP_ENDPOINT")
      if (traces !== undefined) url = yield* tracesUrl(traces, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
      else if (base !== undefined) url = yield* tracesUrl(base, "OTEL_EXPORTER_OTLP_ENDPOINT")
    }
    if (url === undefined) return undefined

    const protocol = (yield* envVar("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")) ?? (yield* envVar("OTEL_EXPORTER_OTLP_PROTOCOL")) ?? "http/json"
    if (protocol !== "http/json" && protocol !== "http/protobuf") {
      return yield* invalid("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json or http/protobuf (gRPC is not supported)")
    }
    let sampleRatio = config?.sampleRatio
    if (sampleRatio === undefined) {
      const sampler = (yield* envVar("OTEL_TRACES_SAMPLER"))?.toLowerCase()
      const arg = yield* envVar("OTEL_TRACES_SAMPLER_ARG")
      if (sampler === "always_off" || sampler === "parentbased_always_off") sampleRatio = 0
      else if ((sampler === "traceidratio" || sampler === "parentbased_traceidratio") && arg !== undefined) {
        const n = Number(arg)
        if (!(n >= 0 && n <= 1)) return yield* invalid("OTEL_TRACES_SAMPLER_ARG", "expected a number from 0 to 1")
        sampleRatio = n
      }
    }
    const headersText = (yield* envVar("OTEL_EXPORTER_OTLP_TRACES_HEADERS")) ?? (yield* envVar("OTEL_EXPORTER_OTLP_HEADERS"))
    const headers = headersText === undefined
      ? undefined
      : Redacted.make(yield* parseHeaders(headersText, "OTEL_EXPORTER_OTLP_HEADERS"))
    const maxBatchSize = yield* envInt("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)
    const maxQueue = yield* envInt("OTEL_BSP_MAX_QUEUE_SIZE", 2048)
    return {
      url,
      serviceName: config?.serviceName ?? (yield* envVar("OTEL_SERVICE_NAME")) ?? DEFAULT_SERVICE_NAME,
      sampleRatio: sampleRatio ?? 1,
      protocol,
      headers,
      timeoutMs: yield* envInt("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", yield* envInt("OTEL_EXPORTER_OTLP_TIMEOUT", 10_000)),
      exportIntervalMs: yield* envInt("OTEL_BSP_SCHEDULE_DELAY", 5_000),
      maxBatchSize,
      maxInFlight: Math.max(1, Math.floor(maxQueue / maxBatchSize))
    } satisfies TracingSettings
  })

/**
 * An HTTP client whose requests time out after `timeoutMs` and of which at most `maxInFlight`
 * run at once; one more is refused with a defect, which effect's exporter answers by dropping
 * its buffer and pausing (a typed transport error would be retried, holding the batch longer).
 */
export const boundedClient = (
  client: HttpClient.HttpClient,
  options: { readonly timeoutMs: number; readonly maxInFlight: number; readonly onFull?: Effect.Effect<void> | undefined }
): HttpClient.HttpClient => {
  let inFlight = 0
  return HttpClient.transform(client, (response, request) =>
    Effect.suspend(() => {
      if (inFlight >= options.maxInFlight) {
        const refused = Effect.die(new Error(`OTLP export dropped: ${inFlight} exports already in flight`))
        return options.onFull === undefined ? refused : Effect.andThen(options.onFull, refused)
      }
      inFlight++
      return response.pipe(
        Effect.timeoutOrElse({
          duration: options.timeoutMs,
          orElse: () =>
            Effect.fail(
              new HttpClientError.HttpClientError({
                reason: new HttpClientError.TransportError({ request, description: `no answer within ${options.timeoutMs} ms` })
              })
            )
        }),
        Effect.ensuring(Effect.sync(() => void inFlight--))
      )
    }))
}

/** Parent-based ratio sampling: only a trace's root span draws; children follow their parent. */
export const withSampleRatio = (tracer: Tracer.Tracer, ratio: number): Tracer.Tracer =>
  ratio >= 1
    ? tracer
    : Tracer.make({
      span: (options) =>
        tracer.span(
          options.sampled && Option.isNone(options.parent) && Math.random() >= ratio ? { ...options, sampled: false } : options
        ),
      context: tracer.context
    })

/** Spans of scrapes and probes would bury the requests that matter. */
const untracedUrls = ["/metrics", "/health", "/health/ready"]

/** The OTLP tracer, switched on for the server's requests. */
export const layerOtlp = (settings: TracingSettings, client: Layer.Layer<HttpClient.HttpClient> = FetchHttpClient.layer): Layer.Layer<never> => {
  let warned = Number.NEGATIVE_INFINITY
  // once a minute at most: a dead collector must not flood the log either
  const warnFull = Effect.suspend(() => {
    const now = Date.now()
    if (now - warned < 60_000) return Effect.void
    warned = now
    return Effect.logWarning(`tracing: the collector at ${settings.url} is not keeping up; spans are dropped for 60 s`)
  })
  const tracer = Layer.effect(
    Tracer.Tracer,
    Effect.map(
      OtlpTracer.make({
        url: settings.url,
        resource: { serviceName: settings.serviceName, serviceVersion: settings.serviceVersion },
        headers: settings.headers === undefined ? undefined : Redacted.value(settings.headers),
        exportInterval: settings.exportIntervalMs,
        maxBatchSize: settings.maxBatchSize
      }),
      (t) => withSampleRatio(t, settings.sampleRatio)
    )
  ).pipe(
    Layer.provide(OtlpExporter.layerFlusher),
    Layer.provide(settings.protocol === "http/protobuf" ? OtlpSerialization.layerProtobuf : OtlpSerialization.layerJson),
    Layer.provide(Layer.effect(
      HttpClient.HttpClient,
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        return boundedClient(client, { timeoutMs: settings.timeoutMs, maxInFlight: settings.maxInFlight, onFull: warnFull })
      })
    ).pipe(Layer.provide(client)))
  )
  return Layer.mergeAll(
    tracer,
    Layer.succeed(References.TracerEnabled, true),
    HttpMiddleware.layerTracerDisabledForUrls(untracedUrls)
  )
}

/** Tracing off: no span is created, the request path pays nothing. */
export const layerOff: Layer.Layer<never> = Layer.succeed(References.TracerEnabled, false)

/** From the config file's `tracing` section and the OTel env variables: the OTLP tracer, or off. */
export const layer = (config: TracingConfig | undefined): Layer.Layer<never, ConfigurationError> =>
  Layer.unwrap(Effect.map(resolve(config), (settings) => (settings === undefined ? layerOff : layerOtlp(settings))))
