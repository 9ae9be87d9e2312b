# bench-bin.sh - sourced by the bench scripts: bench_bin SCRIPT BUILD NAME
# prints the path of the benchmark program NAME, from BUILD when given,
# else from build-bench, then build, under the source tree ($src); it
# fails, naming SCRIPT, when there is none.
bench_bin() {
    if [ -z "$2" ]; then
        for d in "$src/build-bench" "$src/build"; do
            if [ -x "$d/bench/$3" ]; then
                echo "$d/bench/$3"
                return 0
            fi
        done
    elif [ -x "$2/bench/$3" ]; then
        echo "$2/bench/$3"
        return 0
    fi
    echo "$1: $3 not found in ${2:-build-bench or build}; build the $3 target" >&2
    return 1
}
