/**
 * The fibers of the fast route's requests in flight, so that closing the server's scope
 * interrupts them (and waits for them), as `Fiber.runIn(fiber, scope)` would.
 *
 * Why not `Fiber.runIn`: it gives every request a finalizer closure and an entry in the scope's
 * finalizer `Map`, and drops the `Map` whenever the last request in flight ends. That was a
 * quarter of all the bytes a non-streamed request promotes to the old generation, whose
 * mark-compacts are what the gateway's p99 at low load waits for (notes/benchmarks.md, "Figures
 * quoted in source comments"). Effect's `FiberSet` does the same job with a `Set` and promotes
 * nearly as much (29.1 against 22.3 MB over the same 60,000 requests): a hash table that lives in
 * the old generation and holds young fibers. Here a request costs one list node and one observer,
 * and the scope one finalizer.
 */
import { Effect, Fiber, Scope } from "effect"

interface Node {
  readonly fiber: Fiber.Fiber<unknown, unknown>
  prev: Node | undefined
  next: Node | undefined
}

export interface InFlight {
  /** Tracks `fiber` until it exits; a fiber arriving after the scope closed is interrupted at once. */
  readonly add: (fiber: Fiber.Fiber<unknown, unknown>) => void
  /** How many are tracked now (counted along the list: for tests and diagnostics, not the hot path). */
  readonly size: () => number
}

/** A registry whose finalizer on `scope` interrupts every fiber still in flight and waits for them all. */
export const makeInFlight = (scope: Scope.Scope): InFlight => {
  let head: Node | undefined
  let closed = false
  const unlink = (node: Node) => {
    if (node.prev !== undefined) node.prev.next = node.next
    else if (head === node) head = node.next
    else return
    if (node.next !== undefined) node.next.prev = node.prev
    node.prev = node.next = undefined
  }
  Effect.runSync(Scope.addFinalizer(scope, Effect.suspend(() => {
    closed = true
    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    for (let node = head; node !== undefined; node = node.next) fibers.push(node.fiber)
    return Fiber.interruptAll(fibers)
  })))
  return {
    add: (fiber) => {
      if (fiber.pollUnsafe() !== undefined) return
      if (closed) {
        fiber.interruptUnsafe()
        return
      }
      const node: Node = { fiber, prev: undefined, next: head }
      if (head !== undefined) head.prev = node
      head = node
      fiber.addObserver(() => unlink(node))
    },
    size: () => {
      let n = 0
      for (let node = head; node !== undefined; node = node.next) n++
      return n
    }
  }
}
