#!/usr/bin/env bash
# Run nats.js v3.3.1's own transport-node tests against a server they start as `nats-server` from
# PATH: cuebus (this repo's bin/nats-server) or the real one. Prints one line per test file.
#
#   scripts/natsjs-tests.sh cuebus|nats-server [test file names, default: all]
#
# The nats.js source: NATSJS_GIT=<git dir holding tag v3.3.1> or NATSJS_DIR=<a checkout of it>;
# without either it is cloned from GitHub. The suite's lib/ is the published
# @nats-io/transport-node 3.3.1 from this repo's node_modules (the same version, already built);
# the packages its tests require are installed into a temp dir (npm, pinned to 3.3.1).
# NATSJS_KEEP=1 keeps the work dir (its path is printed) with each file's full output.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
server=${1:?usage: scripts/natsjs-tests.sh cuebus|nats-server [test files]}
shift
tag=v3.3.1

work=$(mktemp -d "${TMPDIR:-/tmp}/natsjs-tests.XXXXXX")
if [ "${NATSJS_KEEP:-}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi

if [ -n "${NATSJS_GIT:-}" ]; then
  git --git-dir="$NATSJS_GIT" archive "$tag" transport-node | tar -x -C "$work"
elif [ -n "${NATSJS_DIR:-}" ]; then
  cp -r "$NATSJS_DIR/transport-node" "$work/"
else
  git clone -q --depth 1 --branch "$tag" https://github.com/nats-io/nats.js "$work/src"
  mv "$work/src/transport-node" "$work/" && rm -rf "$work/src"
fi

published="$repo/node_modules/@nats-io/transport-node"
[ "$(node -p "require('$published/package.json').version")" = 3.3.1 ] || { echo "natsjs-tests: need @nats-io/transport-node 3.3.1 in node_modules" >&2; exit 1; }
cp -r "$published/lib" "$work/transport-node/lib"
(cd "$work" && npm install -s --no-save --no-audit --no-fund --no-package-lock \
  @nats-io/nats-core@3.3.1 @nats-io/jetstream@3.3.1 @nats-io/kv@3.3.1 @nats-io/obj@3.3.1 @nats-io/nkeys@2.0.3 @nats-io/nuid@2.0.3 >/dev/null)

case "$server" in
  cuebus)
    [ -f "$repo/dist/src/cli/main.js" ] || { echo "natsjs-tests: build first (npm run build)" >&2; exit 1; }
    bindir="$repo/bin" ;;
  nats-server)
    bindir="$work/bin"; mkdir "$bindir"
    real=$(command -v nats-server || echo /usr/sbin/nats-server)
    ln -s "$real" "$bindir/nats-server" ;;
  *) echo "natsjs-tests: server is cuebus or nats-server" >&2; exit 2 ;;
esac

cd "$work/transport-node"
files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(cd tests && ls ./*_test.js | sed 's|^\./||')
echo "nats.js $tag transport-node tests on $server ($(timeout 5 "$bindir/nats-server" --version 2>&1 | head -1))"
status=0
for f in "${files[@]}"; do
  out="$work/${f%.js}.$server.out"
  # TMPDIR is where the launcher asks servers for their ports files.
  if PATH="$bindir:$PATH" TMPDIR="$work" timeout 600 node --test --test-force-exit "tests/$f" >"$out" 2>&1; then rc=0; else rc=$?; status=1; fi
  pass=$(grep -E '^# pass ' "$out" | awk '{print $3}')
  fail=$(grep -E '^# fail ' "$out" | awk '{print $3}')
  # Failed tests by name, leaving out the suites that only contain them.
  failed=$(awk '/^ *not ok [0-9]+ - /{if(n!="")print n; n=$0; sub(/^ *not ok [0-9]+ - /,"",n); next} /type: .suite./{n=""} /^ *(ok|not ok) /{if(n!="")print n; n=""} END{if(n!="")print n}' "$out" | paste -sd ';' - || true)
  printf '%-20s pass %-3s fail %-3s%s%s\n' "$f" "${pass:-?}" "${fail:-?}" "$([ "$rc" -ne 0 ] && [ -z "$fail" ] && echo " exit $rc")" "${failed:+  failed: $failed}"
done
[ "${NATSJS_KEEP:-}" = 1 ] && echo "outputs kept in $work"
exit $status
