import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "llamacpp", include: ["test/**/*.test.ts"] }
})
