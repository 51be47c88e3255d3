import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: [
      "packages/*/vitest.config.ts",
      "packages/server/vitest.isolated.config.ts",
      // the router's tests with self-timed clients (its fused path): packages/core/test/router/fixtures.ts
      "packages/core/vitest.selfTimed.config.ts"
    ],
    // Vitest's default is one worker per core minus one: a single worker on 2 cores, idle while a
    // test waits on the child processes and servers it started. Three keep both cores busy
    // (full suite 377 s → 266 s in one run on 2 cores).
    maxWorkers: 3,
    // Starts throw-away PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set; builds the
    // gateway's bundle when stale (the server tests run it as users do).
    globalSetup: ["packages/testing/src/services/globalSetup.ts", "packages/server/test/bundleSetup.ts"]
  }
})
