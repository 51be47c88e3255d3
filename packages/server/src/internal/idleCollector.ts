/**
 * A full garbage collection when the server has gone quiet after traffic, so that the first
 * requests after a burst do not pay for it (`server.idleGc`, on by default; notes/operations.md
 * "Collecting when idle").
 *
 * Why: under load V8 promotes some of every request's short-lived objects to the old generation
 * (the usage ledger's rows wait there for their flush, a request's fiber outlives a scavenge or
 * two). That garbage stays until a mark-compact, which V8 starts when the old generation crosses
 * its limit, checked when something allocates: after a burst, that is the next request. Measured
 * on the bench (the gateway pinned to one core, 200 req/s right after saturation): the
 * mark-compact's steps and pause held those requests 8–28 ms, several times per trial. V8's own
 * memory reducer is meant to collect in quiet times, but it judges quiet by allocation rates
 * sampled at GCs, and with no GC since the burst it still sees the burst's rate and waits. The
 * JVM's G1 does the same as this file when idle (`G1PeriodicGCInterval`).
 *
 * What counts as quiet: the event loop busy under 1 % of the time over two ticks (0.5 s) — 200
 * small requests a second keep it at ~6 %. A collection runs only when the old generation has
 * grown by 4 MB since the last major GC (V8's or this one's), so an idle gateway is left alone.
 * A full collection of the gateway's heap takes ~40 ms of the one thread; a request arriving then
 * waits for it, as it would have waited for the mark-compact it replaces.
 */
import { setFlagsFromString, getHeapSpaceStatistics } from "node:v8"
import { runInNewContext } from "node:vm"
import { performance } from "node:perf_hooks"
import { Duration, Effect, Schedule } from "effect"
import type { Scope } from "effect"

/** What the collector reads from and does to the runtime (a test gives its own). */
export interface HeapProbe {
  /** The share of time the event loop was busy since the previous call, 0–1. */
  readonly busyShare: () => number
  /** Bytes used in the old generation (old, large-object and code spaces). */
  readonly oldGenerationBytes: () => number
  /** A full collection, now, on this thread. */
  readonly collect: () => void
}

export interface IdleCollectorOptions {
  readonly tick: Duration.Input
  /** Ticks in a row with the event loop busy less than `busyBelow` before the server counts as quiet. */
  readonly quietTicks: number
  readonly busyBelow: number
  /** Old-generation growth since the last major GC that makes a collection worth its pause. */
  readonly growthBytes: number
}

export const defaultIdleCollectorOptions: IdleCollectorOptions = {
  tick: Duration.millis(250),
  quietTicks: 2,
  busyBelow: 0.01,
  growthBytes: 4 * 1024 * 1024
}

const oldSpaces: ReadonlySet<string> = new Set(["old_space", "large_object_space", "code_space"])

/**
 * The probe of this Node process. `gc` is V8's own function, reached without `--expose-gc` on
 * the command line: the flag is set at run time and read by the context created after it.
 */
export const nodeHeapProbe = (): HeapProbe => {
  const exposed = (globalThis as { gc?: unknown }).gc
  let gc: () => void
  if (typeof exposed === "function") {
    gc = exposed as () => void
  } else {
    setFlagsFromString("--expose-gc")
    gc = runInNewContext("gc") as () => void
  }
  let last = performance.eventLoopUtilization()
  return {
    busyShare: () => {
      const now = performance.eventLoopUtilization()
      const share = performance.eventLoopUtilization(now, last).utilization
      last = now
      return share
    },
    oldGenerationBytes: () => {
      let bytes = 0
      for (const space of getHeapSpaceStatistics()) if (oldSpaces.has(space.space_name)) bytes += space.space_used_size
      return bytes
    },
    collect: () => gc()
  }
}

/**
 * Watches the probe every tick for as long as the scope is open. The old generation only shrinks
 * in a major GC, so a reading below the previous one means V8 ran one since: that reading is the
 * new baseline.
 */
export const runIdleCollector = (
  probe: HeapProbe,
  options: IdleCollectorOptions = defaultIdleCollectorOptions
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.suspend(() => {
    let previous = probe.oldGenerationBytes()
    let baseline = previous
    let quiet = 0
    probe.busyShare()
    const tick = Effect.sync(() => {
      const used = probe.oldGenerationBytes()
      if (used < previous) baseline = used
      previous = used
      quiet = probe.busyShare() < options.busyBelow ? quiet + 1 : 0
      if (quiet < options.quietTicks || used - baseline < options.growthBytes) return
      probe.collect()
      baseline = previous = probe.oldGenerationBytes()
      // the collection's own time is not traffic
      probe.busyShare()
    })
    return Effect.asVoid(Effect.forkScoped(Effect.repeat(tick, Schedule.spaced(options.tick))))
  })
