/** How long and how often each scenario runs, in quick and full mode, and the result shapes. */
import type { CompetitorId } from "./Competitors.ts"
import type { InProcessResult } from "./inprocess/result.ts"
import type { HoldResult, PacedResult, SaturateResult, StreamsResult } from "./loadgen/jobs.ts"

export interface Plan {
  readonly mode: "quick" | "full"
  readonly rounds: number
  readonly saturate: { readonly concurrencies: ReadonlyArray<number>; readonly warmupMs: number; readonly durationMs: number }
  readonly paced: { readonly rate: number; readonly warmupMs: number; readonly durationMs: number }
  readonly streams: { readonly concurrency: number; readonly chunks: number; readonly chunkIntervalMs: number; readonly warmupMs: number; readonly durationMs: number }
  readonly hold: { readonly count: number; readonly holdIntervalMs: number; readonly competitors: ReadonlyArray<CompetitorId> }
  readonly drift: { readonly durationMs: number; readonly sampleMs: number; readonly connections: number } | undefined
  readonly inProcess: boolean
}

export const quickPlan: Plan = {
  mode: "quick",
  rounds: 1,
  saturate: { concurrencies: [16, 64], warmupMs: 200, durationMs: 600 },
  paced: { rate: 200, warmupMs: 200, durationMs: 800 },
  streams: { concurrency: 4, chunks: 20, chunkIntervalMs: 2, warmupMs: 100, durationMs: 500 },
  hold: { count: 1_000, holdIntervalMs: 100, competitors: ["raw", "gateway"] },
  drift: undefined,
  inProcess: true
}

export const fullPlan: Plan = {
  mode: "full",
  rounds: 3,
  saturate: { concurrencies: [16, 64], warmupMs: 400, durationMs: 2_000 },
  paced: { rate: 200, warmupMs: 400, durationMs: 2_000 },
  streams: { concurrency: 4, chunks: 20, chunkIntervalMs: 2, warmupMs: 200, durationMs: 1_200 },
  hold: { count: 1_000, holdIntervalMs: 200, competitors: ["raw", "sdk-undici", "gateway", "portkey"] },
  drift: { durationMs: 300_000, sampleMs: 5_000, connections: 8 },
  inProcess: true
}

/** A saturation trial plus the CPU its processes used (share of one core). */
export interface SaturateTrial extends SaturateResult {
  /** `sut`: the competitor's process (the upstream for direct); `driver`: load generator + upstream (load generator only for direct). */
  readonly procCpu: { readonly sut: number; readonly driver: number }
}

export interface MemoryResult {
  readonly idleRss: number
  /** Highest RSS seen while the streams were open. */
  readonly holdRss: number
  readonly hold: HoldResult
}

export interface DriftResult {
  readonly competitor: CompetitorId
  readonly durationMs: number
  readonly samples: ReadonlyArray<{ readonly tMs: number; readonly rss: number }>
  readonly load: SaturateResult
}

export interface CompetitorInfo {
  readonly id: CompetitorId
  readonly label: string
  readonly available: boolean
  readonly reason?: string | undefined
  readonly notes?: ReadonlyArray<string> | undefined
  /** RSS right after start and the functional check, bytes. */
  readonly startRss?: number | undefined
}

export interface Results {
  readonly mode: Plan["mode"]
  readonly plan: Plan
  readonly startedAt: string
  elapsedMs: number
  readonly machine: Record<string, string>
  readonly layout: string
  readonly competitors: Array<CompetitorInfo>
  /** By concurrency ("16"), then competitor: one result per round. */
  readonly saturate: Record<string, Partial<Record<CompetitorId, Array<SaturateTrial>>>>
  readonly paced: Partial<Record<CompetitorId, Array<PacedResult>>>
  readonly streams: Partial<Record<CompetitorId, Array<StreamsResult>>>
  /** 1,000 open streams after the scenarios (the heap grown by saturation). */
  readonly memory: Partial<Record<CompetitorId, MemoryResult>>
  /** The same right after start, before any other load. */
  memoryFresh?: Partial<Record<CompetitorId, MemoryResult>>
  /** CPU µs of the competitor's process per streamed chunk, per round (streams scenario). */
  streamCpu?: Partial<Record<CompetitorId, Array<number>>>
  /** llm-gateway at c16 with requests of one size in three shapes (text, tool call, multi-part), per round. */
  shapes?: Partial<Record<"text" | "tools" | "parts", Array<SaturateTrial>>>
  /** The JSON proxy with the same three bodies: what parsing and re-serializing each shape costs any reading proxy. */
  shapesFloor?: Partial<Record<"text" | "tools" | "parts", Array<SaturateTrial>>>
  /** `gateway serve --workers auto` (unpinned), by concurrency, per round. */
  workers?: Record<string, Array<SaturateResult>>
  /** The `--baseline` checkout's own in-process bench, when it has one. */
  baselineInProcess?: InProcessResult | { readonly unavailable: string } | undefined
  drift?: DriftResult | { readonly unavailable: string } | undefined
  inProcess?: InProcessResult | { readonly unavailable: string } | undefined
}
