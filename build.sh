#!/usr/bin/env bash
# Messenger's entry point on a fresh Debian machine (run as root). Installs what is missing, quietly and idempotently.
#
#   bash build.sh demo [ARGS...]   build and run `messenger demo ARGS...` (artifacts/messenger, ReadyToRun)
#   bash build.sh test             build and run every test; the last line is "N passed, N failed[, N skipped]"
#   bash build.sh bench [NAME...]  build and run benchmarks (e.g. processes) in a loopback-only namespace
#   bash build.sh fuzz [TARGET...] fuzz the parsers with afl++ (FUZZ_SECONDS each, default 600; all targets when none named)
#   bash build.sh --help
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# Native pieces the plugins load, and what only the tests need on top (see README: "What gets installed").
DEMO_PACKAGES=(libsqlcipher0 ffmpeg)
TEST_PACKAGES=(iproute2 libsqlcipher0 ffmpeg libusrsctp-examples python3-aiortc chromium tmux afl++)

usage() { sed -n '2,9s/^# \{0,1\}//p' "$0"; }

# Users run the command compiled ahead of time (ReadyToRun): set-up and the first seconds of a transfer do not wait
# for the JIT. Framework-dependent, so the machine's .NET runs it.
publish_ready_to_run() {
    dotnet publish "$1" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$2" -nologo -v:q -clp:ErrorsOnly
}

ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "build.sh: installing ${missing[*]}" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

ensure_dotnet() {
    if ! command -v dotnet >/dev/null 2>&1 || ! dotnet --list-sdks | grep -q '^10\.'; then
        echo "build.sh: the .NET 10 SDK is required (dotnet on PATH)." >&2
        exit 2
    fi
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
}

# The interop tests' node peers (tests/Messenger.Interop.Tests/peers/*/package.json; or the lock files named) need
# node and their npm packages; the test namespace has no network, so install them here, and only when
# package-lock.json is newer.
ensure_node_peers() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        ensure_packages nodejs npm
    fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "build.sh: node and npm are required for the interop tests (apt-get install nodejs npm)." >&2
        exit 2
    fi
    local lock dir locks=("$@")
    [ ${#locks[@]} -gt 0 ] || locks=(tests/Messenger.Interop.Tests/peers/*/package-lock.json)
    for lock in "${locks[@]}"; do
        [ -e "$lock" ] || continue
        dir=$(dirname "$lock")
        if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
            echo "build.sh: npm ci in $dir" >&2
            npm ci --no-audit --no-fund --loglevel=error --prefix "$dir" >/dev/null
            touch "$dir/node_modules"
        fi
    done
}

# Fuzzing (tests/Messenger.Fuzz): the harness is published without ReadyToRun (SharpFuzz instruments IL), the
# assemblies that parse what arrives from the network or the disk are instrumented, and afl-fuzz runs each target for
# $1 seconds from its corpus in tests/Messenger.Fuzz/corpus/. Prints one line per target; returns the number of targets
# with a crash or a hang (their inputs are under artifacts/fuzz/findings/TARGET/default/{crashes,hangs}).
run_fuzz() {
    local seconds=$1 target stats execs rate corpus crashes hangs bad=0
    shift
    local app=artifacts/fuzz/app tools=artifacts/tools
    rm -rf "$app"
    dotnet publish tests/Messenger.Fuzz -c Release -o "$app" -nologo -v:q -clp:ErrorsOnly
    if [ ! -x "$tools/sharpfuzz" ]; then
        dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
    fi
    local assembly
    for assembly in Messenger.Transport Messenger.Host Messenger.Plugins.FileTransfer Messenger.Plugins.Storage.SqlCipher; do
        "$tools/sharpfuzz" "$app/$assembly.dll" >/dev/null
    done
    local targets=("$@")
    [ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(dotnet "$app/Messenger.Fuzz.dll" list)
    printf '%-14s %12s %10s %8s %8s %6s\n' target executions "execs/s" corpus crashes hangs
    for target in "${targets[@]}"; do
        rm -rf "artifacts/fuzz/findings/$target"
        mkdir -p "artifacts/fuzz/findings"
        # No UI, no CPU-governor or core-pattern checks (not ours to change in a container), dotnet itself is not
        # instrumented (SharpFuzz speaks the fork-server protocol), and a .NET start takes longer than afl expects.
        AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
            AFL_FORKSRV_INIT_TMOUT=30000 AFL_QUIET=1 \
            afl-fuzz -i "tests/Messenger.Fuzz/corpus/$target" -o "artifacts/fuzz/findings/$target" -t 5000 -m none -V "$seconds" \
            -- dotnet "$app/Messenger.Fuzz.dll" afl "$target" >"artifacts/fuzz/findings/$target.log" 2>&1 || true
        stats="artifacts/fuzz/findings/$target/default/fuzzer_stats"
        if [ ! -f "$stats" ]; then
            printf '%-14s did not start (see artifacts/fuzz/findings/%s.log)\n' "$target" "$target"
            bad=$((bad + 1))
            continue
        fi
        execs=$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats")
        rate=$(awk -F' *: *' '$1=="execs_per_sec"{print $2}' "$stats")
        corpus=$(awk -F' *: *' '$1=="corpus_count"{print $2}' "$stats")
        crashes=$(awk -F' *: *' '$1=="saved_crashes"{print $2}' "$stats")
        hangs=$(awk -F' *: *' '$1=="saved_hangs"{print $2}' "$stats")
        printf '%-14s %12s %10s %8s %8s %6s\n' "$target" "$execs" "$rate" "$corpus" "$crashes" "$hangs"
        if [ "${crashes:-0}" -gt 0 ] || [ "${hangs:-0}" -gt 0 ]; then
            bad=$((bad + 1))
            echo "  replay: dotnet $app/Messenger.Fuzz.dll replay $target artifacts/fuzz/findings/$target/default/crashes artifacts/fuzz/findings/$target/default/hangs"
        fi
    done
    return "$bad"
}

run_tests() {
    local log rc passed failed skipped
    log=$(mktemp)
    dotnet build Messenger.sln -c Debug -nologo -v:q -clp:ErrorsOnly
    ensure_node_peers
    set +e
    # Tests run in a private network namespace that has only loopback (the interop tests start real WebRTC
    # peers that gather candidates on every interface they see): nothing leaves the machine.
    # A hung test fails the run after 5 minutes of silence instead of eating the CI budget.
    unshare -n bash -c 'ip link set lo up && exec dotnet test Messenger.sln -c Debug --no-build -nologo --blame-hang-timeout 5m' 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    # One summary line per test assembly: "Passed!  - Failed: 0, Passed: 46, Skipped: 0, Total: 46, ..."
    read -r passed failed skipped < <(awk '
        /(Passed|Failed)! +- Failed:/ {
            for (i = 1; i <= NF; i++) {
                gsub(",", "", $(i+1));
                if ($i == "Failed:") f += $(i+1); else if ($i == "Passed:") p += $(i+1); else if ($i == "Skipped:") s += $(i+1);
            }
        }
        END { print p + 0, f + 0, s + 0 }' "$log")
    rm -f "$log"
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1 # a test host crashed or the run failed before reporting: count it, never print a green line
    fi
    # A bounded fuzz smoke: each parser target under afl++ for a few seconds, each counted as one test.
    local fuzz_bad=0 fuzz_targets
    fuzz_targets=$(ls tests/Messenger.Fuzz/corpus | wc -l)
    run_fuzz "${FUZZ_SMOKE_SECONDS:-8}" || fuzz_bad=$?
    passed=$((passed + fuzz_targets - fuzz_bad))
    failed=$((failed + fuzz_bad))
    [ "$fuzz_bad" -eq 0 ] || rc=1
    if [ "$skipped" -gt 0 ]; then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
    [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
}

case "${1:-}" in
    demo)
        shift
        ensure_packages "${DEMO_PACKAGES[@]}"
        ensure_dotnet
        publish_ready_to_run src/Messenger.Cli artifacts/messenger
        exec dotnet artifacts/messenger/messenger.dll demo --plugins plugins.json "$@"
        ;;
    test)
        ensure_packages "${TEST_PACKAGES[@]}"
        ensure_dotnet
        run_tests
        ;;
    fuzz)
        shift
        ensure_packages afl++
        ensure_dotnet
        run_fuzz "${FUZZ_SECONDS:-600}" "$@"
        ;;
    bench)
        shift
        ensure_packages iproute2 "${DEMO_PACKAGES[@]}"
        ensure_dotnet
        ensure_node_peers tests/Messenger.Benchmarks/peers/package-lock.json
        publish_ready_to_run tests/Messenger.Benchmarks artifacts/benchmarks
        # end-to-end runs the messenger command itself, as users do (and its plugins, which this publish builds).
        publish_ready_to_run src/Messenger.Cli artifacts/messenger
        export BENCHMARK_PEERS="$PWD/tests/Messenger.Benchmarks/peers" MESSENGER_CLI="$PWD/artifacts/messenger/messenger.dll"
        exec unshare -n bash -c 'ip link set lo up && exec dotnet artifacts/benchmarks/Messenger.Benchmarks.dll "$@"' bash "$@"
        ;;
    -h|--help|help)
        usage
        ;;
    *)
        usage >&2
        exit 2
        ;;
esac
