/**
 * The end of a graceful shutdown for streams. When the server stops listening, streams in
 * flight get the shutdown grace to finish; one still open shortly before the grace ends is cut
 * by its route with an SSE error event (`server_shutting_down`), so the client learns the
 * answer is incomplete instead of seeing the connection drop without `[DONE]` when the
 * platform interrupts what is left.
 */
import { Context, Effect } from "effect"

/** The failure a cut pull ends with. */
export class ShuttingDown {
  readonly _tag = "ShuttingDown"
}

export interface Drain {
  /**
   * `pull`, run so that a cut ends it at once with `ShuttingDown`, even while it waits for
   * an upstream chunk (one fiber, no race: cheap per pull, notes/benchmarks.md).
   */
  readonly cuttable: <A, E, R>(pull: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ShuttingDown, R>
  /** The server stopped listening: cut what is still open `graceMs` later, minus a margin. */
  readonly begin: (graceMs: number) => void
  /** Cuts every open pull, and every pull from now on. */
  readonly cut: () => void
}

/**
 * The cut comes a little before the grace ends: the error event must be written and the
 * connection closed before the platform interrupts the remaining requests.
 */
export const cutDelay = (graceMs: number): number => Math.max(0, graceMs - Math.min(500, graceMs / 4))

export const makeDrain = (): Drain => {
  const waiting = new Set<() => void>()
  let cut = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const shuttingDown = new ShuttingDown()
  const cutAll = () => {
    cut = true
    for (const resume of waiting) resume()
    waiting.clear()
  }
  return {
    cuttable: <A, E, R>(pull: Effect.Effect<A, E, R>) =>
      Effect.withFiber<A, E | ShuttingDown, R>((parent) => {
        if (cut) return Effect.fail(shuttingDown)
        return Effect.callback<A, E | ShuttingDown>((resume) => {
          const fiber = Effect.runForkWith(parent.context as Context.Context<R>)(pull)
          const onCut = () => {
            // resumed first: interrupting may complete the fiber, whose exit would win
            resume(Effect.fail(shuttingDown))
            fiber.interruptUnsafe()
          }
          waiting.add(onCut)
          fiber.addObserver((exit) => {
            waiting.delete(onCut)
            resume(exit)
          })
          return Effect.sync(() => {
            waiting.delete(onCut)
            fiber.interruptUnsafe()
          })
        })
      }),
    begin: (graceMs) => {
      if (timer !== undefined || cut) return
      timer = setTimeout(cutAll, cutDelay(graceMs))
      // a shutdown that finishes early must not wait for this timer
      timer.unref()
    },
    cut: cutAll
  }
}

/** The server's drain; outside `GatewayServer.layer` (route tests) nothing is ever cut. */
export const CurrentDrain = Context.Reference<Drain>("@llm-gateway/server/internal/shutdown/CurrentDrain", {
  defaultValue: makeDrain
})
