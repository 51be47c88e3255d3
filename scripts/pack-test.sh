#!/usr/bin/env bash
# Acceptance test for installing llm-gateway outside this checkout (issue 15): build every
# publishable package, pack it with pnpm (workspace:* and catalog: become real versions,
# publishConfig swaps in dist/), npm-install the tarballs plus the newest effect in the peer
# range into a fresh project, then run a user's program there on Node 24 and typecheck it with a
# plain strict tsconfig (skipLibCheck off), and again with exactOptionalPropertyTypes +
# noUncheckedIndexedAccess.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
node="$root/node_modules/.bin/node"   # the project's Node 24, never the system one
pnpm=(npx -y pnpm@10)

# The packages a library user installs (ops: alert routes the server mounts; console: the /ui bundle the server serves). @llm-gateway/llamacpp is an optional peer of
# llm-gateway (node-llama-cpp's native builds are large) and is not installed here.
packages=(core openai anthropic ollama storage testing gateway ops server console)
# effect and @effect/platform-node as a user gets them: the newest versions in the declared peer
# range (PACK_TEST_EFFECT_VERSION pins one instead).
effect_range="$("$node" -p 'require("./packages/core/package.json").peerDependencies.effect')"
effect_version="${PACK_TEST_EFFECT_VERSION:-$effect_range}"

work="$(mktemp -d "${TMPDIR:-/tmp}/llm-gateway-pack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
started=$SECONDS
phase() { echo "pack-test: $1 ($((SECONDS - started)) s)"; }

# A clean build: a stale file in dist/ would otherwise ship.
rm -rf packages/*/dist
"${pnpm[@]}" build
phase "built"

mkdir -p "$work/tarballs" "$work/consumer"
filters=()
for p in "${packages[@]}"; do filters+=(--filter "./packages/$p"); done
"${pnpm[@]}" -r "${filters[@]}" pack --pack-destination "$work/tarballs" >/dev/null

phase "packed"

# What a tarball must not contain: sources, tests, build info.
for t in "$work"/tarballs/*.tgz; do
  if tar -tzf "$t" | grep -E '^package/(src|test)/|\.tsbuildinfo$|\.test\.'; then
    echo "pack-test: $(basename "$t") ships files it should not (above)" >&2
    exit 1
  fi
done

cp scripts/pack-consumer/consumer.ts scripts/pack-consumer/tsconfig.json scripts/pack-consumer/tsconfig.strictest.json "$work/consumer/"
cd "$work/consumer"
printf '{ "name": "llm-gateway-consumer", "private": true, "type": "module" }\n' > package.json
# typescript and @types/node at the versions this repository uses.
ts_version="$("$node" -p 'require(process.argv[1]).version' "$root/node_modules/typescript/package.json")"
npm install --no-audit --no-fund --loglevel=error \
  "$work"/tarballs/*.tgz "effect@$effect_version" "@effect/platform-node@$effect_version" "typescript@$ts_version" "@types/node@^24"

phase "installed"

installed_effect="$("$node" -p 'require("effect/package.json").version')"
# One effect for everyone: a second copy would split services and types.
dupes="$(find node_modules -path '*/node_modules/effect/package.json' -not -path 'node_modules/effect/package.json')"
if [ -n "$dupes" ]; then
  echo "pack-test: a package brought its own copy of effect: $dupes" >&2
  exit 1
fi

"$node" consumer.ts
phase "ran"
# Both typechecks at once (each ~15 s of CPU: effect's declarations are checked too).
"$node" node_modules/typescript/bin/tsc -p tsconfig.json & plain=$!
"$node" node_modules/typescript/bin/tsc -p tsconfig.strictest.json & strictest=$!
wait $plain
wait $strictest
echo "pack-test: OK in $((SECONDS - started)) s (effect $installed_effect for peer range $effect_range, Node $("$node" -p process.versions.node))"
