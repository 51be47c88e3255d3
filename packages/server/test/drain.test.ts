/**
 * The shutdown drain's cuttable pull (internal/shutdown.ts): one fiber per stream pulls one batch
 * ahead; a cut ends a waiting pull at once, and closing the stream's scope stops the upstream pull.
 * End to end (a real server, a slow upstream): shutdown.test.ts.
 */
import { expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { makeDrain, ShuttingDown } from "../src/internal/shutdown.ts"

/** An upstream whose pulls answer from `batches` in order, then end (a `Cause.done` failure, like a Pull). */
const upstream = (batches: ReadonlyArray<number>) => {
  let pulls = 0
  const pull = Effect.suspend(() => pulls < batches.length ? Effect.succeed(batches[pulls++]) : Cause.done())
  return { pull, pulls: () => pulls }
}

it.effect("hands the upstream's batches over in order, at most one ahead, then its end", () =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const source = upstream([1, 2, 3])
    const next = yield* makeDrain().cuttable(source.pull, scope)
    expect(yield* next).toBe(1)
    yield* Effect.yieldNow
    // the producer has pulled the next batch, and waits for it to be taken before pulling again
    expect(source.pulls()).toBe(2)
    expect(yield* next).toBe(2)
    expect(yield* next).toBe(3)
    const end = yield* Effect.exit(next)
    expect(Exit.isFailure(end) && Cause.hasFails(end.cause)).toBe(true)
    yield* Scope.close(scope, Exit.void)
  }))

it.effect("a cut ends a pull that waits for the upstream at once, with ShuttingDown, and interrupts the upstream", () =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const drain = makeDrain()
    const interrupted = yield* Deferred.make<void>()
    const waitsForever = Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined))
    const next = yield* drain.cuttable(waitsForever, scope)
    const pulling = yield* Effect.forkChild(next)
    yield* Effect.yieldNow
    drain.cut()
    const exit = yield* Fiber.await(pulling)
    expect(Exit.isFailure(exit) && Cause.findErrorOption(exit.cause)).toMatchObject({ value: expect.any(ShuttingDown) })
    yield* Deferred.await(interrupted)
    // and every pull after the cut
    const after = yield* Effect.exit(next)
    expect(Exit.isFailure(after)).toBe(true)
    yield* Scope.close(scope, Exit.void)
  }))

it.effect("a cut while a batch waits to be taken answers ShuttingDown, not the batch", () =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const drain = makeDrain()
    const next = yield* drain.cuttable(upstream([1, 2, 3]).pull, scope)
    expect(yield* next).toBe(1)
    yield* Effect.yieldNow
    drain.cut()
    const exit = yield* Effect.exit(next)
    expect(Exit.isFailure(exit) && Cause.findErrorOption(exit.cause)).toMatchObject({ value: expect.any(ShuttingDown) })
    yield* Scope.close(scope, Exit.void)
  }))

it.effect("closing the stream's scope (the client went away) interrupts the upstream pull in flight", () =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const interrupted = yield* Deferred.make<void>()
    let first = true
    const pull = Effect.suspend(() => {
      if (first) {
        first = false
        return Effect.succeed(1)
      }
      return Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined))
    })
    const next = yield* makeDrain().cuttable(pull, scope)
    expect(yield* next).toBe(1)
    yield* Effect.yieldNow
    yield* Scope.close(scope, Exit.void)
    expect(yield* Deferred.isDone(interrupted)).toBe(true)
  }))
