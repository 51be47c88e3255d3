/**
 * The fast route's registry of requests in flight (internal/inFlight.ts): closing the server's
 * scope interrupts every request fiber still running and waits for their finalizers; a finished
 * request is forgotten. End to end (a real server stopped mid-request): shutdown.test.ts.
 */
import { expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { makeInFlight } from "../src/internal/inFlight.ts"

/** A request fiber that runs until interrupted, then records its finalizer in `log`. */
const request = (name: string, log: Array<string>, release?: Deferred.Deferred<void>) =>
  Effect.runFork(
    (release === undefined ? Effect.never : Deferred.await(release)).pipe(
      Effect.onInterrupt(() => Effect.sleep("5 millis").pipe(Effect.andThen(Effect.sync(() => log.push(`${name} cleaned up`)))))
    )
  )

it.effect("closing the scope interrupts every request in flight and waits for their finalizers", () =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const inFlight = makeInFlight(scope)
    const log: Array<string> = []
    const fibers = ["a", "b", "c"].map((name) => request(name, log))
    for (const fiber of fibers) inFlight.add(fiber)
    expect(inFlight.size()).toBe(3)
    yield* Scope.close(scope, Exit.void)
    expect([...log].sort()).toEqual(["a cleaned up", "b cleaned up", "c cleaned up"])
    for (const fiber of fibers) expect(Exit.hasInterrupts(fiber.pollUnsafe()!)).toBe(true)
  }), { timeout: 5000 })

it.effect("a request that ends is forgotten, wherever it sits in the list; the others stay tracked", () =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const inFlight = makeInFlight(scope)
    const log: Array<string> = []
    const releases = yield* Effect.all([Deferred.make<void>(), Deferred.make<void>(), Deferred.make<void>(), Deferred.make<void>()])
    const fibers = ["first", "middle", "other", "last"].map((name, i) => request(name, log, releases[i]))
    for (const fiber of fibers) inFlight.add(fiber)
    // the list is newest first: "last" is its head, "first" its tail
    for (const i of [1, 0, 3]) {
      yield* Deferred.succeed(releases[i], undefined)
      yield* Fiber.await(fibers[i])
    }
    expect(inFlight.size()).toBe(1)
    yield* Scope.close(scope, Exit.void)
    expect(log).toEqual(["other cleaned up"])
    expect(inFlight.size()).toBe(0)
  }), { timeout: 5000 })

it.effect("a request that arrives after the scope closed is interrupted at once; one already done is not tracked", () =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const inFlight = makeInFlight(scope)
    const done = Effect.runFork(Effect.succeed(1))
    yield* Fiber.await(done)
    inFlight.add(done)
    expect(inFlight.size()).toBe(0)
    yield* Scope.close(scope, Exit.void)
    const late = request("late", [])
    inFlight.add(late)
    const exit = yield* Fiber.await(late)
    expect(Exit.hasInterrupts(exit)).toBe(true)
    expect(inFlight.size()).toBe(0)
  }), { timeout: 5000 })
