import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "packages/server/vitest.isolated.config.ts"],
    // Starts throw-away PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set.
    globalSetup: ["packages/testing/src/services/globalSetup.ts"]
  }
})
