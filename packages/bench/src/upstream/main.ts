/** Child entry: the upstream emulator on its own process (settings: `UpstreamOptions` as JSON). */
import { exitWithParent, ready, settings } from "../procs/child.ts"
import { startUpstream, type UpstreamOptions } from "./Upstream.ts"

const upstream = await startUpstream(settings<UpstreamOptions>())
exitWithParent(() => upstream.close())
ready({ port: upstream.port })
