/**
 * Effect's `Redis` service on a node-redis client that never makes anyone wait for Redis.
 *
 * `NodeRedis.layer` from @effect/platform-node awaits the first connection while the layer is
 * built (so a gateway could not start while Redis is down), gives up reconnecting unless told
 * otherwise, queues commands while offline, and logs every failed reconnect. Here instead:
 * - the client connects in the background: building the layer never fails, and waits only for
 *   the outcome of the first attempt (bounded by connectTimeout);
 * - `disableOfflineQueue`: while disconnected a command fails at once instead of queueing;
 * - it reconnects forever with capped backoff, so Redis coming back is picked up by itself;
 * - one warning when the connection is lost (or cannot be made at start), one info when it is
 *   back, whatever the number of reconnect attempts in between;
 * - commands carry the fiber's AbortSignal, so a caller's timeout also drops the queued command.
 */
import { Effect, Redacted } from "effect"
import * as Redis from "effect/persistence/Redis"
import type { createClient } from "redis"

export interface ResilientRedisOptions {
  /** `redis://[user:password@]host:port[/db]`; never logged. */
  readonly url: string | Redacted.Redacted<string>
  /** Upper bound of one connection attempt (default 1000 ms). */
  readonly connectTimeoutMs?: number | undefined
  /** Longest pause between reconnect attempts (default 1000 ms). */
  readonly maxReconnectDelayMs?: number | undefined
}

type Client = ReturnType<typeof createClient>

/** Host and port only: the URL may carry a password. */
const describeTarget = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || "6379"}`
  } catch {
    return "redis"
  }
}

const errorMessage = (cause: unknown): string =>
  cause instanceof Error ? cause.message || cause.name : String(cause)

export const makeResilientRedis = Effect.fnUntraced(function*(options: ResilientRedisOptions) {
  const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
  const target = describeTarget(url)
  const maxDelay = options.maxReconnectDelayMs ?? 1000
  const socket = {
    connectTimeout: options.connectTimeoutMs ?? 1000,
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, maxDelay) + Math.floor(Math.random() * 50)
  }
  const runFork = Effect.runForkWith(yield* Effect.context<never>())

  // the driver loads with the first Redis client (not with every gateway that never uses one)
  const { createClient: create } = yield* Effect.promise(() => import("redis"))
  const client: Client = yield* Effect.acquireRelease(
    Effect.sync(() => create({ url, disableOfflineQueue: true, socket })),
    // `destroy`, not `close`: close waits for in-flight commands, which may never answer.
    (c) => Effect.sync(() => c.isOpen && c.destroy())
  )

  // node-redis rethrows `error` events that have no listener; this one also keeps the log to
  // one line per outage.
  let connected = false
  let reported = false
  client.on("error", (cause: unknown) => {
    if (reported) return
    reported = true
    runFork(Effect.logWarning(
      connected
        ? `Redis ${target}: connection lost, reconnecting in the background (${errorMessage(cause)})`
        : `Redis ${target}: not reachable, retrying in the background (${errorMessage(cause)})`
    ))
  })
  client.on("ready", () => {
    if (reported) runFork(Effect.logInfo(`Redis ${target}: connected again`))
    connected = true
    reported = false
  })
  // Not awaited: the first connection (and every later one) happens in the background. Only
  // the outcome of the first attempt is waited for (bounded by connectTimeout), so a healthy
  // Redis is in use from the first request, and a refused one costs a few milliseconds.
  client.connect().catch(() => undefined)
  yield* Effect.callback<void>((resume) => {
    const settle = () => resume(Effect.void)
    client.once("ready", settle)
    client.once("error", settle)
    return Effect.sync(() => {
      client.off("ready", settle)
      client.off("error", settle)
    })
  }).pipe(Effect.timeoutOption(socket.connectTimeout))

  const sendWith = (c: Client) => <A>(command: string, ...args: ReadonlyArray<string>) =>
    Effect.tryPromise({
      try: (signal) => c.sendCommand([command, ...args], { abortSignal: signal }) as Promise<A>,
      catch: (cause) => new Redis.RedisError({ cause })
    })

  const dedicated = (reconnect: boolean) =>
    Effect.tryPromise({
      try: async () => {
        const c = client.duplicate({ socket: reconnect ? socket : { ...socket, reconnectStrategy: false } })
        c.on("error", () => undefined)
        try {
          await c.connect()
          return c
        } catch (cause) {
          if (c.isOpen) c.destroy()
          throw cause
        }
      },
      catch: (cause) => new Redis.RedisError({ cause })
    })

  const redis = yield* Redis.make({
    send: sendWith(client),
    connect: Effect.map(dedicated(false), (c) => ({
      send: sendWith(c),
      close: Effect.sync(() => c.isOpen && c.destroy())
    })),
    subscribe: (channel, onMessage) =>
      Effect.acquireRelease(
        Effect.flatMap(dedicated(true), (c) =>
          Effect.as(
            Effect.tryPromise({
              try: () => c.subscribe(channel, (message, ch) => onMessage({ channel: ch, message })),
              catch: (cause) => new Redis.RedisError({ cause })
            }),
            c
          )),
        (c) => Effect.sync(() => c.isOpen && c.destroy())
      ).pipe(Effect.as(Effect.never))
  })
  return { redis: Redis.Redis.of(redis), isReady: () => client.isReady }
})

