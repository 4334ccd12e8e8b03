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
# the arguments stay relative to where the user is. The root must be the same
# absolute path however the launcher is called (./vhd, ../vhd, a symlink): the
# start-up cache records the jar's path. A subshell rather than readlink, which
# would start a program (a few ms of every command) when this is no symlink.
self=${BASH_SOURCE[0]}
if [[ -L $self ]]; then
    self=$(readlink -f -- "$self")
fi
[[ $self == */* ]] || self=./$self
root=$(CDPATH='' cd -P -- "${self%/*}" && pwd -P)

# shellcheck source=scripts/lib/java.sh
source "$root/scripts/lib/java.sh"

jar="$root/vhd-cli/target/vhd.jar"

# The build's inputs as of the jar: every pom.xml and every file and directory
# under */src/main and */src/build, one path a line, written after each build
# (or first check) so that later checks need not walk the tree (find took about
# 12 ms of every command; testing a listed path takes bash microseconds). A
# file added, deleted or renamed since changes its directory's mtime, and the
# directories are listed too.
inputs_list="$root/vhd-cli/target/vhd.inputs"

# Sets input_roots to the pom.xml files and source trees that exist.
find_input_roots() {
    local p
    input_roots=("$root/pom.xml")
    for p in "$root"/*/pom.xml "$root"/*/src/main "$root"/*/src/build; do
        [[ -e $p ]] && input_roots+=("$p")
    done
}

list_inputs() {
    find_input_roots
    find "${input_roots[@]}" >"$inputs_list.$$" 2>/dev/null && mv -f -- "$inputs_list.$$" "$inputs_list"
}

# True when the jar is missing or older than any build input.
needs_build() {
    [[ -f $jar ]] || return 0
    if [[ -f $inputs_list && ! $jar -nt $inputs_list ]]; then
        local p inputs
        mapfile -t inputs <"$inputs_list"
        for p in "${inputs[@]}"; do
            [[ $p -nt $jar ]] && return 0
        done
        return 1
    fi
    # No list, or one older than the jar (built by Maven directly): walk the tree once.
    find_input_roots
    [[ -n $(find "${input_roots[@]}" -newer "$jar" -print -quit 2>/dev/null) ]] && return 0
    list_inputs || true
    return 1
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
        list_inputs || true
    fi
    exec 9>&-
fi

java_flags=(--enable-native-access=ALL-UNNAMED)

# The command is the first argument that is not an option: none of vhd's own
# options takes a value. The quick commands, which read a few sectors and print,
# run differently from the long-running ones (serve, convert, digest, bench, vm ...):
#   - compiled by C1 alone, since C2's compilations would not pay off before they
#     finish and take CPU from the command (about a quarter of the CPU time of
#     `vhd info`; `check` and `map` of a 4 GiB image with every block allocated
#     were faster too);
#   - with the serial collector and no performance-data file, which start faster
#     and are all a command of a few megabytes needs;
#   - with a start-up cache of their own (below).
# BENCHMARKS.md, Start-up, has the figures.
command_word=""
for arg in "$@"; do
    if [[ $arg != -* ]]; then
        command_word=$arg
        break
    fi
done
case $command_word in
    "" | info | check | map | create | set | measure | completion)
        kind=quick
        java_flags+=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData)
        # Their cache holds no method profiles: compiling the profiled methods as their classes
        # load (as JDK 25 does with a cache that has them) cost a quick command about 18 ms of
        # its 0.26 s. A diagnostic option, so only on the training run: should a later JDK drop
        # it, that run fails and the commands run without the cache, slower, never broken.
        training_flags=(-XX:+UnlockDiagnosticVMOptions -XX:-AOTRecordTraining)
        ;;
    *)
        kind=full
        training_flags=()
        ;;
esac

# JDK 25's ahead-of-time cache (JEP 483/514): the classes a command uses, already
# parsed and linked, and their methods' profiles, made by a training run
# (org.vhdkit.cli.AotTraining) after each build: start-up drops from about a
# second to a fraction (BENCHMARKS.md). Two caches, quick.aot and full.aot, one
# per kind of command above: the JVM loads every class of its cache at start,
# so the quick commands' cache holds only what they use; each is made the first
# time a command of its kind runs after a build. A cache only ever speeds a
# command up: the JVM checks it against the jar and the flags and, if they do
# not match or it is damaged, runs without it; -Xlog:aot*=off keeps its notes
# off stdout, which belongs to the command. VHDKIT_AOT=off runs without one;
# VHDKIT_AOT_DIR moves them (default vhd-cli/target/aot).
cache=${VHDKIT_AOT_DIR:-$root/vhd-cli/target/aot}/$kind.aot
quiet_aot=(-Xlog:aot*=off -Xlog:cds*=off)

# True when the cache is missing or older than the jar, and no training run has
# failed on this jar (a failing one is not retried on every command).
needs_training() {
    [[ ! -f $cache || $jar -nt $cache ]] && [[ ! -f $cache.failed || $jar -nt $cache.failed ]]
}

if [[ ${VHDKIT_AOT:-on} != off ]]; then
    if needs_training; then
        mkdir -p "${cache%/*}"
        exec 8>"$cache.lock"
        flock 8
        if needs_training; then
            if [[ -t 2 ]]; then
                echo "vhd: making the start-up cache (once per build)..." >&2
            fi
            partial="$cache.$$.partial"
            if "$JAVA_HOME/bin/java" "${java_flags[@]}" "${training_flags[@]}" -XX:AOTCacheOutput="$partial" "${quiet_aot[@]}" \
                -cp "$jar" org.vhdkit.cli.AotTraining "$kind" >/dev/null 2>&1 && [[ -s $partial ]]; then
                mv -f -- "$partial" "$cache"
                rm -f -- "$cache.failed"
            else
                rm -f -- "$partial" "$partial.config"
                touch -- "$cache.failed"
            fi
        fi
        exec 8>&-
    fi
    if [[ -f $cache ]]; then
        java_flags+=(-XX:AOTCache="$cache" "${quiet_aot[@]}")
    fi
fi

# -cp and the main class rather than -jar: the cache records the class path the
# training run had, and the two must match.
exec "$JAVA_HOME/bin/java" "${java_flags[@]}" -cp "$jar" org.vhdkit.cli.VhdCommand "$@"
