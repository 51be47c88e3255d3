import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "bench", isolate: false, include: ["test/**/*.test.ts"] }
})
