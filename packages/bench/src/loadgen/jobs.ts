/** The load generator's jobs and results: the messages between the bench and its loadgen child. */
import type { LatencySummary } from "../stats.ts"

export interface Target {
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  readonly origin: string
  readonly path: string
  readonly headers: Record<string, string>
}

export interface RequestSpec {
  readonly body: string
}

/** Closed loop at a fixed concurrency with autocannon; stats from the window after warm-up. */
export interface SaturateJob {
  readonly kind: "saturate"
  readonly target: Target
  /** Cycled per connection (autocannon `requests`); `[<id>]` in a body becomes a fresh id. */
  readonly requests: ReadonlyArray<RequestSpec>
  readonly connections: number
  readonly warmupMs: number
  readonly durationMs: number
}

/** Open loop: one request every 1/rate s (undici Pool), latency send → last byte. */
export interface PacedJob {
  readonly kind: "paced"
  readonly target: Target
  readonly body: string
  readonly rate: number
  readonly warmupMs: number
  readonly durationMs: number
}

/** Closed-loop streaming requests: time to first content chunk and to the end of the stream. */
export interface StreamsJob {
  readonly kind: "streams"
  readonly target: Target
  readonly body: string
  readonly concurrency: number
  readonly warmupMs: number
  readonly durationMs: number
}

/** Opens `count` streams at once; reports `holding` when every one has its first chunk. */
export interface HoldJob {
  readonly kind: "hold"
  readonly target: Target
  readonly body: string
  readonly count: number
  readonly timeoutMs: number
}

export type Job = SaturateJob | PacedJob | StreamsJob | HoldJob

export interface SaturateResult {
  readonly rps: number
  readonly latency: LatencySummary
  readonly ok: number
  readonly non2xx: number
  readonly errors: number
  /** Busy share per core over the window. */
  readonly cpu: ReadonlyArray<number>
}

export interface PacedResult {
  readonly latency: LatencySummary
  readonly ok: number
  readonly failed: number
  readonly achievedRps: number
  readonly cpu: ReadonlyArray<number>
}

export interface StreamsResult {
  readonly ttft: LatencySummary
  readonly total: LatencySummary
  readonly ok: number
  /** Non-200, errors, or a stream that ended without `[DONE]`. */
  readonly failed: number
  /** The `model` of the answering chunks, counted (a fallback to another model shows here). */
  readonly models: Record<string, number>
}

export interface HoldResult {
  readonly count: number
  readonly firstChunk: number
  readonly completed: number
  readonly failed: number
  /** Time until every stream had its first chunk. */
  readonly allOpenMs: number
  readonly firstError?: string | undefined
}

export type JobResult = SaturateResult | PacedResult | StreamsResult | HoldResult

export type ToLoadgen = { readonly id: number; readonly job: Job }
export type FromLoadgen =
  | { readonly type: "ready" }
  | { readonly id: number; readonly type: "result"; readonly result: JobResult }
  | { readonly id: number; readonly type: "error"; readonly message: string }
  | { readonly id: number; readonly type: "holding"; readonly firstChunk: number; readonly allOpenMs: number }
