import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "gateway", isolate: false, include: ["test/**/*.test.ts"] }
})
