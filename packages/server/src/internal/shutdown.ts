/**
 * The end of a graceful shutdown for streams. When the server stops listening, streams in
 * flight get the shutdown grace to finish; one still open shortly before the grace ends is cut
 * by its route with an SSE error event (`server_shutting_down`), so the client learns the
 * answer is incomplete instead of seeing the connection drop without `[DONE]` when the
 * platform interrupts what is left.
 */
import { Context, Effect, Exit, Fiber, Scope } from "effect"

/** The failure a cut pull ends with. */
export class ShuttingDown {
  readonly _tag = "ShuttingDown"
}

export interface Drain {
  /**
   * A stream's `pull` (pulled again and again), as a pull that a cut ends at once with
   * `ShuttingDown`, even while it waits for an upstream chunk. One fiber per stream runs the
   * pulls, one batch ahead of the caller, and is interrupted when `scope` closes; each pull is a
   * callback, not a fiber of its own (a fiber per pull waited out every gap between two chunks and
   * was promoted to the old generation: notes/benchmarks.md, tenth session).
   */
  readonly cuttable: <A, E>(pull: Effect.Effect<A, E>, scope: Scope.Scope) => Effect.Effect<Effect.Effect<A, E | ShuttingDown>>
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
  const open = new Set<() => void>()
  let cut = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const shuttingDown = Exit.fail(new ShuttingDown())
  const cutAll = () => {
    cut = true
    for (const onCut of open) onCut()
    open.clear()
  }

  const cuttable = <A, E>(pull: Effect.Effect<A, E>, scope: Scope.Scope) =>
    Effect.withFiber<Effect.Effect<A, E | ShuttingDown>>((parent) => {
      type Result = Exit.Exit<A, E | ShuttingDown>
      let producer: Fiber.Fiber<void> | undefined
      /** The batch pulled ahead, not yet taken. */
      let ready: Result | undefined
      /** The caller waiting for a batch. */
      let waiter: ((result: Result) => void) | undefined
      /** The producer waiting for its batch to be taken. */
      let taken: (() => void) | undefined
      let ended = false

      const offer = (result: Result) => {
        const resume = waiter
        if (resume === undefined) return void (ready = result)
        waiter = undefined
        resume(result)
      }
      const parked = Effect.callback<void>((resume) => {
        taken = () => resume(Effect.void)
      })
      // pull, hand over, and pull the next once this one is taken; the stream's end or failure ends it
      const produce: Effect.Effect<void> = Effect.flatMap(Effect.exit(pull), (result) => {
        offer(result)
        if (Exit.isFailure(result)) return Effect.void
        return ready === undefined ? produce : Effect.andThen(parked, produce)
      })
      const onCut = () => {
        offer(shuttingDown)
        producer?.interruptUnsafe()
      }
      const stop = Effect.suspend(() => {
        ended = true
        open.delete(onCut)
        return producer === undefined ? Effect.void : Fiber.interrupt(producer)
      })

      const next: Effect.Effect<A, E | ShuttingDown> = Effect.suspend(() => {
        if (cut) return shuttingDown
        if (ended) return Effect.interrupt
        const result = ready
        if (result !== undefined) {
          ready = undefined
          const wake = taken
          taken = undefined
          wake?.()
          return result
        }
        return Effect.callback<A, E | ShuttingDown>((resume) => {
          waiter = resume
          producer ??= Effect.runForkWith(parent.context as Context.Context<never>)(produce)
          // the caller went away (a client that disconnected): the stream is over
          return Effect.sync(() => {
            waiter = undefined
            producer?.interruptUnsafe()
          })
        })
      })

      if (cut) return Effect.succeed(next)
      open.add(onCut)
      return Effect.as(Scope.addFinalizer(scope, stop), next)
    })

  return {
    cuttable,
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
