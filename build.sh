#!/usr/bin/env bash
# Messenger's entry point on a fresh Debian machine (run as root). Installs what is missing, quietly and idempotently.
#
#   bash build.sh demo [ARGS...]   build and run `messenger demo ARGS...` (artifacts/messenger, ReadyToRun)
#   bash build.sh test             build and run every test; the last line is "N passed, N failed[, N skipped]"
#   bash build.sh bench [NAME...]  build and run benchmarks (e.g. processes) in a loopback-only namespace
#   bash build.sh --help
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# Native pieces the plugins load, and what only the tests need on top (see README: "What gets installed").
DEMO_PACKAGES=(libsqlcipher0 ffmpeg)
TEST_PACKAGES=(iproute2 libsqlcipher0 ffmpeg libusrsctp-examples python3-aiortc chromium tmux)

usage() { sed -n '2,8s/^# \{0,1\}//p' "$0"; }

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
