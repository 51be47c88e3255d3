import { defineProject } from "vitest/config"

/**
 * The router's and the manager's tests once more, with scripted clients that bound their own
 * calls (`enforcesTimeout`, as the OpenAI client's direct transport): the router answers a
 * first attempt on its fused path there (routing/internal/Generate), and one set of tests must
 * hold on both paths.
 */
export default defineProject({
  test: {
    name: "core-self-timed",
    isolate: false,
    include: ["test/ModelRouter.*.test.ts", "test/LLMManager.*.test.ts", "test/router/*.test.ts"],
    provide: { selfTimedClients: true }
  }
})
