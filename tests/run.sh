#!/bin/sh
# Run the test programs and the dbe tests; fail when any fails.
#   tests/run.sh BUILD_DIR DBE TEST_BIN...
# Tests run UDB_TEST_JOBS at a time (default: the number of CPUs; every
# test works in its own temporary directory); results print in order.
# VALGRIND=1 runs the C tests under valgrind (leaks and errors fail).
# A shell test that exits 77 is skipped (what it needs is not installed; its
# log's SKIPPED line says what): reported, not failed.
if [ "$1" = --one ]; then # --one BUILD_DIR DBE TEST: run one, write BUILD_DIR/NAME.res
    build=$2; dbe=$3; t=$4
    start=$(date +%s)
    case "$t" in
    *.sh)
        name=$(basename "$t" .sh)
        DBE="$dbe" sh "$t" >"$build/$name.log" 2>&1 ;;
    *)
        name=$(basename "$t")
        if [ "$VALGRIND" = 1 ]; then
            UDB_TEST_QUICK=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                "$t" >"$build/$name.log" 2>&1
        else
            "$t" >"$build/$name.log" 2>&1
        fi ;;
    esac
    rc=$?
    secs=$(( $(date +%s) - start ))
    {
        if [ $rc = 0 ]; then
            echo "PASS $name (${secs}s)"
        elif [ $rc = 77 ] && [ "${t%.sh}" != "$t" ]; then
            echo "SKIP $name: $(grep -m1 '^SKIPPED' "$build/$name.log" | sed 's/^SKIPPED: //')"
        else
            echo "FAIL $name (exit $rc, ${secs}s); log: $build/$name.log"
            tail -n 25 "$build/$name.log" | sed 's/^/    /'
        fi
    } >"$build/$name.res"
    exit 0
fi
build=$1; dbe=$2; shift 2
jobs=${UDB_TEST_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
list=$(for t in "$@"; do echo "$t"; done
       [ "$VALGRIND" = 1 ] || for s in tests/*.sh; do [ "$s" = tests/run.sh ] || echo "$s"; done)
for t in $list; do rm -f "$build/$(basename "$t" .sh).res"; done
echo "$list" | xargs -P "$jobs" -n 1 sh tests/run.sh --one "$build" "$dbe"
fail=0; n=0; skip=0
for t in $list; do
    n=$((n + 1))
    res="$build/$(basename "$t" .sh).res"
    if [ ! -s "$res" ]; then
        echo "FAIL $(basename "$t"): no result (the runner was interrupted)"
        fail=$((fail + 1))
        continue
    fi
    cat "$res"
    case "$(head -c 4 "$res")" in
    FAIL) fail=$((fail + 1)) ;;
    SKIP) skip=$((skip + 1)) ;;
    esac
done
skipped=""; [ $skip = 0 ] || skipped=" ($skip skipped)"
if [ $fail = 0 ]; then echo "all $n test programs passed$skipped"; else echo "$fail of $n test programs FAILED$skipped"; fi
[ $fail = 0 ]
