import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "storage", isolate: false, include: ["test/**/*.test.ts"] }
})
