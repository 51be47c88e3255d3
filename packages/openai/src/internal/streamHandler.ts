/**
 * One streamed upstream answer (server-sent events) through undici's `dispatch` with a handler of
 * our own, read as a pull of element batches. What `pool.request` + a flowing body `Readable` did
 * minus their per-request and per-chunk machinery (the `AsyncResource`, the `Readable` with its
 * string decoder and events, the `AbortSignal` listener, the response promise): each network chunk
 * goes straight from `onResponseData` through a streaming `TextDecoder` into the SSE splitter, and
 * what the caller's reader makes of its events waits for the next pull.
 *
 * - Ordering: a chunk is parsed as it arrives, and a pull takes everything parsed so far before a
 *   failure, so bytes that arrived before a connection drop are delivered before the error.
 * - Backpressure: past `HIGH_WATER` undelivered elements the handler pauses the response through
 *   its controller (undici stops reading the socket); the pull that takes them resumes it.
 * - Cancellation: `close()` aborts the request unless the answer is complete (the reader's end
 *   marker or the end of the body), so a finished stream's connection goes back to the pool.
 * - Failures: before the status, `connectionFailure`; after a 2xx status, `bodyFailure` (also for
 *   what the reader throws); a non-2xx answer is collected whole for `errorAnswer` (with "" when
 *   its body cannot be read: the status still decides, as the SDK does).
 * - Time (`SseTiming`, the router's bounds for a client that times itself): no first batch within
 *   `firstMs` of the dispatch, or a pull after it that waits `stallMs`, fails with `timedOut`.
 *   One timer per stream: the stall timer is armed when a pull starts to wait and, when it fires,
 *   re-armed for the rest if a batch came meanwhile, so a chunk costs no timer of its own (the
 *   router's race per pull forked two fibers and set a timer for every chunk).
 */
import { Cause, Effect } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { IncomingHttpHeaders } from "node:http"
import { type Dispatcher, errors, type Pool } from "undici"
import { dispatchTo, UpstreamHandler } from "./collect.ts"
import { type SseHandler, SseSplitter } from "./sse.ts"

/** What a stream's events and failures become; one per stream. */
export interface SseReader<A, E> {
  /** One event: pushes what it maps to onto `out`; true at the stream's own end marker. May throw. */
  readonly event: (event: string | undefined, data: string, out: Array<A>) => boolean
  /** The answer is complete: pushes its last element onto `out`, or returns why it is not whole. */
  readonly end: (out: Array<A>) => E | undefined
  readonly connectionFailure: (error: Error) => E
  readonly bodyFailure: (error: unknown) => E
  /** A non-2xx answer, its body decoded as text. */
  readonly errorAnswer: (status: number, headers: IncomingHttpHeaders, body: string) => E
  /** Out of time (`SseTiming`): before the first batch (`stalled` false) or between two. */
  readonly timedOut?: ((ms: number, stalled: boolean) => E) | undefined
}

/** Time bounds of one stream, in ms (either may be absent: then nothing is timed there). */
export interface SseTiming {
  /** From the dispatch to the first batch. */
  readonly firstMs?: number | undefined
  /** A pull's wait, once the first batch is in. */
  readonly stallMs?: number | undefined
}

/** Past this many undelivered elements the response is paused (and undici pauses the socket). */
const HIGH_WATER = 256

const STREAM: TextDecodeOptions = { stream: true }
const textDecoder = new TextDecoder()
const { RequestAbortedError } = errors

type Resume<A, E> = (effect: Effect.Effect<NonEmptyReadonlyArray<A>, E | Cause.Done>) => void

export class SseStreamHandler<A, E> extends UpstreamHandler {
  /** The body of a non-2xx answer, collected for `errorAnswer`. */
  private errorBody: Array<Buffer> | undefined
  private readonly decoder = new TextDecoder()
  private readonly splitter = new SseSplitter()
  private out: Array<A> = []
  private failure: E | undefined
  /** The answer is complete: nothing more is parsed, and `close()` does not abort. */
  private finished = false
  private paused = false
  private waiting: Resume<A, E> | undefined
  private readonly reader: SseReader<A, E>
  private readonly stallMs: number | undefined
  /** A batch went out: the first-batch bound is over, the stall bound applies. */
  private delivered = false
  private timer: ReturnType<typeof setTimeout> | undefined
  /** When the waiting pull started to wait (Date.now()). */
  private waitingSince = 0

  constructor(reader: SseReader<A, E>, timing?: SseTiming) {
    super()
    this.reader = reader
    this.stallMs = reader.timedOut === undefined ? undefined : timing?.stallMs
    const firstMs = reader.timedOut === undefined ? undefined : timing?.firstMs
    if (firstMs !== undefined) this.timer = setTimeout(this.firstTimedOut, firstMs, firstMs)
  }

  /** The next batch of elements; fails with the stream's failure, or `Cause.Done` at its end. */
  readonly pull: Effect.Effect<NonEmptyReadonlyArray<A>, E | Cause.Done> = Effect.callback((resume) => {
    this.waiting = resume
    this.deliver()
    if (this.waiting !== undefined && this.delivered && this.stallMs !== undefined) {
      this.waitingSince = Date.now()
      if (this.timer === undefined) this.timer = setTimeout(this.checkStall, this.stallMs)
    }
    return this.forget
  })

  /** An interrupted pull leaves nobody waiting (what arrives meanwhile stays for the next pull). */
  private readonly forget = Effect.sync(() => {
    this.waiting = undefined
  })

  /** The stream's scope closed: aborts the request unless the answer is complete. */
  close(): void {
    this.stopTimer()
    if (!this.finished) this.abort(new RequestAbortedError("the stream was closed"))
  }

  private stopTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }

  private readonly firstTimedOut = (ms: number) => {
    this.timer = undefined
    if (this.delivered || this.out.length > 0 || this.finished || this.failure !== undefined) return
    this.failure = this.reader.timedOut!(ms, false)
    this.deliver()
  }

  /** The stall timer fired: fails a pull that has waited `stallMs`, else waits out the rest. */
  private readonly checkStall = () => {
    this.timer = undefined
    const stallMs = this.stallMs!
    if (this.waiting === undefined || this.finished || this.failure !== undefined) return
    const waited = Date.now() - this.waitingSince
    // (1 ms of slack: a timer's clock and Date.now() may disagree by that much)
    if (waited < stallMs - 1) {
      this.timer = setTimeout(this.checkStall, stallMs - waited)
      return
    }
    this.failure = this.reader.timedOut!(stallMs, true)
    this.deliver()
  }

  override onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    super.onResponseStart(controller, statusCode, headers)
    if (statusCode >= 300) this.errorBody = []
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.errorBody !== undefined) {
      this.errorBody.push(chunk)
      return
    }
    if (this.finished || this.failure !== undefined) return
    try {
      this.splitter.push(this.decoder.decode(chunk, STREAM), this.onEvent)
    } catch (error) {
      this.failure = this.reader.bodyFailure(error)
    }
    this.deliver()
    // A complete or failed stream reads on without holding: its rest is dropped, and a paused
    // body would pin the connection after the consumer let go of the stream.
    if (this.out.length >= HIGH_WATER && !this.finished && this.failure === undefined) {
      this.paused = true
      controller.pause()
    }
  }

  onResponseEnd(): void {
    const errorBody = this.errorBody
    if (errorBody !== undefined) {
      this.errorBody = undefined
      this.finished = true
      this.failure = this.reader.errorAnswer(this.status!, this.headers!, textDecoder.decode(Buffer.concat(errorBody)))
    } else if (!this.finished && this.failure === undefined) {
      // The decoder is not flushed: an unfinished character can only be in an unterminated event,
      // which the splitter drops anyway.
      this.finish()
    }
    this.deliver()
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.errorBody !== undefined) {
      this.errorBody = undefined
      this.failure = this.reader.errorAnswer(this.status!, this.headers!, "")
    } else if (!this.finished && this.failure === undefined) {
      // no status yet: the connection failed; a status in: the body did
      this.failure = this.status === undefined ? this.reader.connectionFailure(error) : this.reader.bodyFailure(error)
    }
    this.deliver()
  }

  private readonly onEvent: SseHandler = (event, data) => {
    if (!this.finished && this.reader.event(event, data, this.out)) this.finish()
  }

  private finish(): void {
    this.finished = true
    const failure = this.reader.end(this.out)
    if (failure !== undefined) this.failure = failure
  }

  private deliver(): void {
    const resume = this.waiting
    if (resume === undefined) return
    if (this.out.length > 0) {
      this.waiting = undefined
      const batch = this.out
      this.out = []
      if (!this.delivered) {
        this.delivered = true
        this.stopTimer()
      }
      if (this.paused) {
        this.paused = false
        // Not synchronously: this pull may run inside another response's parser callback, and
        // undici's resume runs the parser at once (as `Readable.resume` did, a tick later).
        queueMicrotask(this.resumeBody)
      }
      resume(Effect.succeed(batch as unknown as NonEmptyReadonlyArray<A>))
    } else if (this.failure !== undefined) {
      this.waiting = undefined
      this.stopTimer()
      resume(Effect.fail(this.failure))
    } else if (this.finished) {
      this.waiting = undefined
      this.stopTimer()
      resume(Cause.done())
    }
  }

  private readonly resumeBody = () => {
    this.dispatchController?.resume()
  }
}

/** Sends one streaming request on `pool`. Returns its handler: the pull, and `close()` for the stream's scope. */
export const streamSse = <A, E>(
  pool: Pool,
  options: Dispatcher.DispatchOptions,
  reader: SseReader<A, E>,
  timing?: SseTiming
): SseStreamHandler<A, E> => dispatchTo(pool, options, new SseStreamHandler(reader, timing))
