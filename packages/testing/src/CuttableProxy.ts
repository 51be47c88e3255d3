/**
 * A loopback TCP proxy in front of a real service (Postgres, Redis, …) that a test or a bench
 * scenario can cut: `cut()` drops every open connection and refuses new ones until `restore()`.
 * `url` is the target's URL with the proxy's host and port, so a client configured with it
 * goes through the proxy.
 */
import { createServer, Socket } from "node:net"
import type { AddressInfo } from "node:net"

export interface CuttableProxy {
  readonly url: string
  readonly cut: () => void
  readonly restore: () => void
  readonly close: () => Promise<void>
}

export const startCuttableProxy = async (target: URL, defaultPort = 5432): Promise<CuttableProxy> => {
  let down = false
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    if (down) return void client.destroy()
    const upstream = new Socket().connect(Number(target.port || defaultPort), target.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on("close", () => sockets.delete(s))
      s.on("error", () => s.destroy())
    }
    client.pipe(upstream).pipe(client)
    // one side gone: the other goes too, as a dropped connection does
    client.on("close", () => upstream.destroy())
    upstream.on("close", () => client.destroy())
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const url = new URL(target)
  url.hostname = "127.0.0.1"
  url.port = String((server.address() as AddressInfo).port)
  return {
    url: url.toString(),
    cut: () => {
      down = true
      for (const s of sockets) s.destroy()
    },
    restore: () => void (down = false),
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
}
