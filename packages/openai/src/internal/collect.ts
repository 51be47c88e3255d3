/**
 * One whole upstream answer through undici's `dispatch` with a handler of our own: status, headers
 * and the body's bytes, handed to one callback. What `pool.request` + `body.json()` does for a JSON
 * answer minus its per-request machinery — an `AsyncResource`, a `Readable` for the body, an abort
 * listener on an `AbortSignal`, and the promise chain of `json()` — which together cost more than
 * the rest of the upstream call on a loopback upstream (notes/benchmarks.md "Issue 19, fourth session").
 *
 * The handler is also the request's abort handle: `abort()` before the request was written aborts
 * it when undici starts it (a request still queued in the pool is never sent), after that it
 * aborts the connection's request as undici's own signal would.
 */
import type { IncomingHttpHeaders } from "node:http"
import type { Dispatcher, Pool } from "undici"

/** How a collected call ended: an answer (any status) or an error before or during it. */
export type Collected =
  | { readonly _tag: "Answer"; readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: Buffer }
  /** `status` set: the answer had begun (its body failed), so a body failure, not a connection one. */
  | { readonly _tag: "Failed"; readonly error: Error; readonly status: number | undefined; readonly headers: IncomingHttpHeaders | undefined }

/**
 * What every dispatch handler of ours shares: the abort handle (an abort before undici started
 * the request is applied when it starts, so a request still queued in the pool is never sent)
 * and the answer's status and headers (1xx informational answers are not the answer).
 */
export abstract class UpstreamHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined
  private reason: Error | undefined
  protected status: number | undefined
  protected headers: IncomingHttpHeaders | undefined

  /** Aborts the request (now, or when undici starts it); its late outcome is dropped. */
  abort(reason: Error): void {
    this.reason = reason
    this.controller?.abort(reason)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.reason !== undefined) controller.abort(this.reason)
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return
    this.status = statusCode
    this.headers = headers
  }

  abstract onResponseError(controller: Dispatcher.DispatchController, error: Error): void

  /** The pool's controller once undici started the request (pause and resume it). */
  protected get dispatchController(): Dispatcher.DispatchController | undefined {
    return this.controller
  }
}

export class CollectHandler extends UpstreamHandler {
  private chunks: Array<Buffer> = []
  private bytes = 0
  private done: ((result: Collected) => void) | undefined

  constructor(done: (result: Collected) => void) {
    super()
    this.done = done
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk)
    this.bytes += chunk.length
  }

  onResponseEnd(): void {
    const done = this.done
    if (done === undefined) return
    this.done = undefined
    const chunks = this.chunks
    done({
      _tag: "Answer",
      status: this.status ?? 0,
      headers: this.headers ?? {},
      body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.bytes)
    })
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const done = this.done
    if (done === undefined) return
    this.done = undefined
    done({ _tag: "Failed", error, status: this.status, headers: this.headers })
  }
}

/** Sends one request on `pool`; `done` is called exactly once. Returns the handle that aborts it. */
export const collect = (
  pool: Pool,
  options: Dispatcher.DispatchOptions,
  done: (result: Collected) => void
): CollectHandler => dispatchTo(pool, options, new CollectHandler(done))

/** Sends one request on `pool` with `handler`, which hears of every failure, a synchronous one included. */
export const dispatchTo = <H extends UpstreamHandler>(pool: Pool, options: Dispatcher.DispatchOptions, handler: H): H => {
  try {
    pool.dispatch(options, handler)
  } catch (error) {
    // invalid options or a closed pool: undici throws before it takes the handler
    handler.onResponseError(undefined as unknown as Dispatcher.DispatchController, error as Error)
  }
  return handler
}
