/**
 * Installs both agent CLIs ahead of the tests (`.ci/run` starts it in the background while the
 * workspace typechecks, so the suite does not wait for ~800 MB of npm downloads). The tests take
 * the same install lock, so running them while this is still going is safe: they wait for it.
 */
import { claudeCode, codex, installClient } from "./installClients.ts"

const started = performance.now()
await Promise.all([installClient(claudeCode), installClient(codex)])
console.log(`agent clients ready in ${((performance.now() - started) / 1000).toFixed(1)} s`)
