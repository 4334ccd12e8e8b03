# shellcheck shell=bash
# Sourced by ./vhd and scripts/*: finds a JDK >= 25 and Maven, then exports
# JAVA_HOME and PATH so that `java` and `mvn` below mean the right ones.
#
# Why this exists: the machines we build on (developers' and CI's) have an
# older default `java` (17) on PATH and a JDK 25 installed beside it under
# /usr/lib/jvm, not selected. Maven runs on $JAVA_HOME, so picking the JDK here
# is what makes `mvn` compile for release 25.
#
# Order: $JAVA_HOME if it is a JDK >= 25; else the newest /usr/lib/jvm/* JDK
# >= 25; else the JDK behind `javac` on PATH if that is >= 25; else one line on
# stderr and exit 1. Callers run with `set -euo pipefail`.

readonly VHDKIT_MIN_JAVA=25

# Sets vhdkit_major to the feature (major) version of a `java` binary, or to
# nothing. Handles both `version "25.0.3"` and the old `version "1.8.0_402"`
# form. Reads the JDK's `release` file (JAVA_VERSION="25.0.3") when it has one:
# running `java -version` starts a whole JVM, which would double the start-up
# time of every ./vhd command (BENCHMARKS.md). A variable rather than output,
# so that callers need no $(...) subshell: ./vhd runs this on every command.
vhdkit_java_major() {
    local out="" line
    vhdkit_major=""
    if [[ $1 == */bin/java && -r ${1%/bin/java}/release ]]; then
        while IFS= read -r line; do
            if [[ $line == JAVA_VERSION=* ]]; then
                out="version ${line#JAVA_VERSION=}"
                break
            fi
        done <"${1%/bin/java}/release"
    fi
    if [[ -z $out ]]; then
        out=$("$1" -version 2>&1) || return 0
    fi
    if [[ $out =~ version\ \"([0-9]+)(\.([0-9]+))? ]]; then
        if [[ ${BASH_REMATCH[1]} == 1 && -n ${BASH_REMATCH[3]} ]]; then
            vhdkit_major=${BASH_REMATCH[3]}
        else
            vhdkit_major=${BASH_REMATCH[1]}
        fi
    fi
}

# True when $1 is a JDK home (java and javac: Maven needs the compiler, a bare
# JRE will not do) whose java is at least VHDKIT_MIN_JAVA; leaves its version
# in vhdkit_major.
vhdkit_is_jdk25() {
    local home=$1
    vhdkit_major=""
    [[ -x $home/bin/java && -x $home/bin/javac ]] || return 1
    vhdkit_java_major "$home/bin/java"
    [[ -n $vhdkit_major && $vhdkit_major -ge $VHDKIT_MIN_JAVA ]]
}

vhdkit_find_jdk() {
    local looked=() candidate major best="" best_major=0 javac_path

    if [[ -n ${JAVA_HOME:-} ]]; then
        if vhdkit_is_jdk25 "$JAVA_HOME"; then
            return 0
        fi
        looked+=("JAVA_HOME=$JAVA_HOME")
    fi

    # Newest wins, so a later JDK 26 is picked over 25 without edits here.
    for candidate in /usr/lib/jvm/*; do
        [[ -d $candidate ]] || continue
        if vhdkit_is_jdk25 "$candidate"; then
            major=$vhdkit_major
            if ((major > best_major)); then
                best=$candidate
                best_major=$major
            fi
        fi
    done
    looked+=("/usr/lib/jvm/*")
    if [[ -n $best ]]; then
        export JAVA_HOME=$best
        return 0
    fi

    # Last resort: a JDK put on PATH by hand (sdkman, a tarball).
    if javac_path=$(command -v javac 2>/dev/null); then
        candidate=$(dirname "$(dirname "$(readlink -f "$javac_path")")")
        if vhdkit_is_jdk25 "$candidate"; then
            export JAVA_HOME=$candidate
            return 0
        fi
        looked+=("javac on PATH ($javac_path)")
    fi

    local where
    where=$(printf '%s; ' "${looked[@]}")
    echo "vhdkit: no JDK ${VHDKIT_MIN_JAVA}+ found (looked at: ${where%; }); install a JDK ${VHDKIT_MIN_JAVA} (e.g. Temurin) and set JAVA_HOME to it." >&2
    exit 1
}

vhdkit_find_mvn() {
    if command -v mvn >/dev/null 2>&1; then
        return 0
    fi
    # Debian's 'maven' package is 3.8.7 on bookworm, which the enforcer accepts.
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "vhdkit: mvn not found; installing Debian's maven package" >&2
        local log
        log=$(mktemp)
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends maven; } >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            echo "vhdkit: could not install maven with apt-get (output above)." >&2
            exit 1
        fi
        rm -f "$log"
        hash -r
        return 0
    fi
    echo "vhdkit: mvn not found; install Maven 3.8.7 or newer (Debian/Ubuntu: sudo apt-get install maven)." >&2
    exit 1
}

vhdkit_find_jdk
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
vhdkit_find_mvn

# Maven 3.8's own libraries (Guava, jansi) call sun.misc.Unsafe, and JDK 24+
# warns about that on every run; the warnings are about Maven, not our code.
if [[ " ${MAVEN_OPTS:-} " != *" --sun-misc-unsafe-memory-access="* ]]; then
    export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }--sun-misc-unsafe-memory-access=allow"
fi
