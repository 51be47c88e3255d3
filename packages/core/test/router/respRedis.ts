/**
 * A minimal RESP2 client behind effect's `Redis` service, for core's tests of the Redis breaker
 * and limiter stores (core does not depend on `redis` / platform-node; the gateway wires
 * `NodeRedis` in production). Replies are typed like node-redis's: integers as numbers, bulk
 * strings as strings, nil as null, arrays as arrays.
 */
import * as Net from "node:net"
import { Effect, Layer } from "effect"
import { Redis } from "effect/persistence"

type Reply = string | number | null | Error | ReadonlyArray<Reply>

const encode = (args: ReadonlyArray<string>): string =>
  `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")

/** Parses one reply at `offset`; undefined when the buffer does not hold all of it yet. */
const parse = (buf: Buffer, offset: number): [Reply, number] | undefined => {
  const eol = buf.indexOf("\r\n", offset)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[offset])
  const line = buf.toString("utf8", offset + 1, eol)
  const next = eol + 2
  switch (type) {
    case "+":
      return [line, next]
    case "-":
      return [new Error(line), next]
    case ":":
      return [Number(line), next]
    case "$": {
      const len = Number(line)
      if (len < 0) return [null, next]
      if (buf.length < next + len + 2) return undefined
      return [buf.toString("utf8", next, next + len), next + len + 2]
    }
    case "*": {
      const n = Number(line)
      if (n < 0) return [null, next]
      const items: Array<Reply> = []
      let at = next
      for (let i = 0; i < n; i++) {
        const r = parse(buf, at)
        if (r === undefined) return undefined
        items.push(r[0])
        at = r[1]
      }
      return [items, at]
    }
    default:
      return [new Error(`unexpected RESP type ${type}`), next]
  }
}

const connect = (url: string) =>
  new Promise<{ send: (args: ReadonlyArray<string>) => Promise<Reply>; close: () => void }>((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const socket = Net.connect({ host: hostname, port: Number(port || 6379) })
    const pending: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = []
    let buf = Buffer.alloc(0)
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk])
      let r: [Reply, number] | undefined
      while ((r = parse(buf, 0)) !== undefined) {
        buf = buf.subarray(r[1])
        const p = pending.shift()
        if (p === undefined) continue
        if (r[0] instanceof Error) p.reject(r[0])
        else p.resolve(r[0])
      }
    })
    const fail = (e: Error) => {
      for (const p of pending.splice(0)) p.reject(e)
    }
    socket.on("error", (e) => {
      fail(e)
      reject(e)
    })
    socket.on("close", () => fail(new Error("connection closed")))
    socket.once("connect", () =>
      resolve({
        send: (args) =>
          new Promise<Reply>((res, rej) => {
            pending.push({ resolve: res, reject: rej })
            socket.write(encode(args))
          }),
        close: () => socket.destroy()
      }))
  })

/** `Redis` for `url`; subscriptions are not supported (the stores do not use them). */
export const layerResp = (url: string) =>
  Layer.effect(
    Redis.Redis,
    Effect.gen(function*() {
      const open = Effect.tryPromise({ try: () => connect(url), catch: (cause) => new Redis.RedisError({ cause }) })
      const main = yield* Effect.acquireRelease(open, (c) => Effect.sync(c.close))
      const sendWith = (c: { send: (args: ReadonlyArray<string>) => Promise<Reply> }) =>
      <A>(command: string, ...args: ReadonlyArray<string>) =>
        Effect.tryPromise({
          try: () => c.send([command, ...args]) as Promise<A>,
          catch: (cause) => new Redis.RedisError({ cause })
        })
      return yield* Redis.make({
        send: sendWith(main),
        subscribe: () => Effect.die(new Error("subscribe is not supported by the test RESP client")),
        connect: Effect.map(open, (c) => ({ send: sendWith(c), close: Effect.sync(c.close) }))
      })
    })
  )
