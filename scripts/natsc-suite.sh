#!/usr/bin/env bash
# nats.c v3.4.1's own test suite (the C client Debian ships as libnats), built from its source and
# run one test at a time against the real nats-server and against cuebus, each started by the
# suite itself from PATH as `nats-server <flags>`. Not part of `npm test`: it takes about half an
# hour per server (the suite's reconnect and timeout tests wait on the clock). See
# docs/development.md, "nats.c's test suite".
#
#   NATSC_SRC=<nats.c source: a checkout, an extracted tarball, or a git dir with tag v3.4.1> \
#     scripts/natsc-suite.sh [nats-server|cuebus ...] [-- TestName ...]
#
# Environment: NATSC_BUILD (default /tmp/natsc: build and work directory), NATSC_TIMEOUT (seconds
# a test may take, default 300), NATS_SERVER_BIN (the real server, default: nats-server on PATH).
# Writes $NATSC_BUILD/results-<server>.tsv (test, result, seconds), logs/<server>/<test>.log, and
# prints a table of the tests that failed on either server.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${NATSC_BUILD:-/tmp/natsc}
timeout_s=${NATSC_TIMEOUT:-300}
tag=v3.4.1

servers=()
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; only=("$@"); break ;;
    nats-server|cuebus) servers+=("$1"); shift ;;
    *) echo "usage: NATSC_SRC=<dir> $0 [nats-server|cuebus ...] [-- TestName ...]" >&2; exit 2 ;;
  esac
done
[ ${#servers[@]} -gt 0 ] || servers=(nats-server cuebus)

# Tools: cmake, a C compiler and OpenSSL's headers (the TLS tests). Streaming (protobuf-c) is off.
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v gcc >/dev/null || missing+=(gcc)
command -v make >/dev/null || missing+=(make)
[ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y "${missing[@]}"
  else
    echo "natsc-suite: missing ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}'" >&2
    exit 1
  fi
fi

# The source, at $build/src.
if [ ! -f "$build/src/test/test.c" ]; then
  src=${NATSC_SRC:-}
  if [ -z "$src" ]; then
    echo "natsc-suite: set NATSC_SRC to nats.c's source at $tag (a checkout, a tarball's directory or a git dir)" >&2
    exit 1
  fi
  mkdir -p "$build/src"
  if [ -f "$src/test/test.c" ]; then
    cp -a "$src/." "$build/src/"
  elif git --git-dir="$src" rev-parse -q --verify "$tag^{commit}" >/dev/null 2>&1; then
    git --git-dir="$src" archive "$tag" | tar -x -C "$build/src"
  elif git --git-dir="$src/.git" rev-parse -q --verify "$tag^{commit}" >/dev/null 2>&1; then
    git --git-dir="$src/.git" archive "$tag" | tar -x -C "$build/src"
  else
    echo "natsc-suite: $src holds neither nats.c's source nor a git repository with tag $tag" >&2
    exit 1
  fi
fi

# The library (static) and the test program, without streaming.
if [ ! -x "$build/out/test/testsuite" ]; then
  cmake -S "$build/src" -B "$build/out" -DCMAKE_BUILD_TYPE=Release -DNATS_BUILD_STREAMING=OFF \
    -DNATS_BUILD_WITH_TLS=ON -DNATS_BUILD_TLS_USE_OPENSSL_1_1_API=ON -DNATS_BUILD_LIB_STATIC=ON \
    -DNATS_BUILD_LIB_SHARED=OFF -DNATS_BUILD_EXAMPLES=OFF -DBUILD_TESTING=ON >"$build/cmake.log"
  make -C "$build/out" -j"$(nproc)" testsuite >"$build/make.log"
fi

# cuebus runs from a copy of dist/ taken now, so that rebuilding the work tree during the run
# (it takes half an hour) does not change the server under test.
[ -f "$here/dist/src/cli/main.js" ] || (cd "$here" && npx tsc -p tsconfig.json)
rm -rf "$build/cuebus"
mkdir -p "$build/cuebus"
cp -a "$here/dist" "$here/bin" "$here/package.json" "$build/cuebus/"
ln -s "$here/node_modules" "$build/cuebus/node_modules"

real=${NATS_SERVER_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}

run_suite() {
  local server=$1 bindir work results
  bindir="$build/bin-$server"
  work="$build/work-$server"
  results="$build/results-$server.tsv"
  rm -rf "$bindir" "$work" "$build/logs/$server"
  mkdir -p "$bindir" "$build/logs/$server"
  if [ "$server" = cuebus ]; then ln -s "$build/cuebus/bin/nats-server" "$bindir/nats-server"; else ln -s "$real" "$bindir/nats-server"; fi
  # The suite reads its certificates and config files from, and writes server.log, conf_* and
  # datastore_* to, the directory it runs in: a fresh copy of test/ per server.
  cp -a "$build/src/test" "$work"
  (cd "$work" && "$build/out/test/testsuite" >/dev/null) # writes list.txt (without the Stan tests)
  : >"$results"
  local i=0 name start status secs
  while read -r name; do
    if [ ${#only[@]} -eq 0 ] || printf '%s\n' "${only[@]}" | grep -qx "$name"; then
      start=$(date +%s.%N)
      # timeout kills the test's whole process group, its servers included, when it hangs.
      if (cd "$work" && PATH="$bindir:$PATH" NATS_TEST_SERVER_VERSION="nats-server: v2.9.10" \
          timeout -s KILL "$timeout_s" "$build/out/test/testsuite" "$i" "$i") >"$build/logs/$server/$name.log" 2>&1 \
          && grep -q "ALL PASSED" "$build/logs/$server/$name.log"; then
        status=pass
      else
        status=FAIL
      fi
      secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
      printf '%s\t%s\t%.1f\n' "$name" "$status" "$secs" >>"$results"
      printf '%-12s %-45s %s %6.1fs\n' "$server" "$name" "$status" "$secs"
    fi
    i=$((i + 1))
  done <"$work/list.txt"
}

for s in "${servers[@]}"; do
  t0=$(date +%s)
  run_suite "$s"
  echo "$s: $(grep -c $'\tpass\t' "$build/results-$s.tsv" || true) of $(wc -l <"$build/results-$s.tsv") passed in $(( $(date +%s) - t0 )) s"
done

# Side by side: every test that failed on either server.
if [ -f "$build/results-nats-server.tsv" ] && [ -f "$build/results-cuebus.tsv" ]; then
  echo
  echo "| test | nats-server | cuebus |"
  echo "|---|---|---|"
  join -t $'\t' <(sort "$build/results-nats-server.tsv") <(sort "$build/results-cuebus.tsv") |
    awk -F'\t' '$2 != "pass" || $4 != "pass" { printf "| %s | %s | %s |\n", $1, $2, $4 }'
fi
