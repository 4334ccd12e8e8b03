#!/usr/bin/env bash
# Runs the vhd command from this checkout: `./vhd info disk.vhd`.
#
# Builds vhd-cli/target/vhd.jar on first use and again whenever a pom.xml or a
# file under */src/main is newer than the jar, so the command always runs the
# code in the tree. A build is announced by one line on stderr, terminal or not
# (a script or CI log would otherwise see a minute of silence); Maven's output
# goes to stderr only when the build fails: stdout belongs to the command (JSON
# output is read from it).
set -euo pipefail

# Resolve our real location (this file may be reached through a symlink, e.g.
# ~/bin/vhd) without changing the user's working directory: relative paths in
# the arguments stay relative to where the user is.
self=$(readlink -f -- "${BASH_SOURCE[0]}")
root=$(dirname -- "$self")

# shellcheck source=scripts/lib/java.sh
source "$root/scripts/lib/java.sh"

jar="$root/vhd-cli/target/vhd.jar"

# True when the jar is missing or older than any build input. Directories are
# listed too, so a deleted source file (its directory's mtime changes) counts.
needs_build() {
    [[ -f $jar ]] || return 0
    local inputs=("$root/pom.xml")
    local p
    for p in "$root"/*/pom.xml "$root"/*/src/main; do
        [[ -e $p ]] && inputs+=("$p")
    done
    [[ -n $(find "${inputs[@]}" -newer "$jar" -print -quit 2>/dev/null) ]]
}

if needs_build; then
    mkdir -p "$root/vhd-cli/target"
    # Two first runs at once (e.g. tests starting ./vhd in parallel) must not
    # run two Maven builds into the same target/ folders: the second waits.
    exec 9>"$root/vhd-cli/target/.vhd-build.lock"
    flock 9
    # Re-check under the lock: whoever held it may have just built.
    if needs_build; then
        echo "vhd: building vhd-cli (first use or sources changed)..." >&2
        log=$(mktemp "${TMPDIR:-/tmp}/vhd-build.XXXXXX")
        if ! (cd "$root" && mvn -q -B -DskipTests -pl vhd-cli -am package) >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "vhd: build failed (Maven output above); fix it or run: cd $root && mvn -B -DskipTests -pl vhd-cli -am package" >&2
            exit 70
        fi
        rm -f "$log"
        if [[ ! -f $jar ]]; then
            echo "vhd: build succeeded but $jar is missing (check vhd-cli's shade plugin)" >&2
            exit 70
        fi
        # Maven may leave an up-to-date jar untouched; mark it as built now so
        # a touched-but-unchanged input does not cause a build on every run.
        touch -c "$jar"
    fi
    exec 9>&-
fi

exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" "$@"
