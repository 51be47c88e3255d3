import { describe, expect, it } from "vitest"
import * as Net from "node:net"
import { startPrivateRedis } from "../src/services/PrivateRedis.ts"

const ping = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("error", reject)
    socket.once("data", (d) => (socket.destroy(), resolve(d.toString())))
    socket.write("PING\r\n")
  })

describe("test services", () => {
  it("the global setup exposes a reachable Postgres and Redis", async () => {
    expect(process.env.DATABASE_URL).toMatch(/^postgres(ql)?:\/\//)
    expect(process.env.REDIS_URL).toMatch(/^redis:\/\//)
    const port = Number(new URL(process.env.REDIS_URL!).port || 6379)
    expect(await ping(port)).toBe("+PONG\r\n")
  })

  it("a private Redis can be killed and restarted without touching the shared one", async () => {
    const redis = await startPrivateRedis()
    expect(await ping(redis.port)).toBe("+PONG\r\n")
    await redis.kill()
    await expect(ping(redis.port)).rejects.toThrow()
    await redis.restart()
    expect(await ping(redis.port)).toBe("+PONG\r\n")
    await redis.stop()
    const shared = Number(new URL(process.env.REDIS_URL!).port || 6379)
    expect(await ping(shared)).toBe("+PONG\r\n")
  })
})
