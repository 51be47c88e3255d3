/**
 * Vitest global setup: tests that need PostgreSQL or Redis read DATABASE_URL / REDIS_URL.
 * When they are not set, private throw-away instances are started here and stopped after the
 * run, so the README's test command needs no manual service start.
 */
import type { TestProject } from "vitest/node"
import { startPrivatePostgres } from "./PrivatePostgres.ts"
import { startPrivateRedis } from "./PrivateRedis.ts"

export default async function setup(project: TestProject) {
  const stops: Array<() => Promise<void>> = []
  if (!process.env.DATABASE_URL) {
    const pg = await startPrivatePostgres()
    process.env.DATABASE_URL = pg.url
    stops.push(pg.stop)
  }
  if (!process.env.REDIS_URL) {
    const redis = await startPrivateRedis()
    process.env.REDIS_URL = redis.url
    stops.push(redis.stop)
  }
  project.provide("databaseUrl", process.env.DATABASE_URL)
  project.provide("redisUrl", process.env.REDIS_URL)
  return async () => {
    for (const stop of stops.reverse()) await stop()
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string
    redisUrl: string
  }
}
