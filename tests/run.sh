#!/bin/sh
# Run the test programs and the dbe tests; fail when any fails.
#   tests/run.sh BUILD_DIR DBE TEST_BIN...
# VALGRIND=1 runs the C tests under valgrind (leaks and errors fail).
# A shell test that exits 77 is skipped (what it needs is not installed; its
# log's SKIPPED line says what): reported, not failed.
build=$1; dbe=$2; shift 2
fail=0; n=0; skip=0
for t in "$@"; do
    n=$((n + 1))
    name=$(basename "$t")
    start=$(date +%s)
    if [ "$VALGRIND" = 1 ]; then
        UDB_TEST_QUICK=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            "$t" >"$build/$name.log" 2>&1
    else
        "$t" >"$build/$name.log" 2>&1
    fi
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc = 0 ]; then
        echo "PASS $name (${secs}s)"
    else
        echo "FAIL $name (exit $rc, ${secs}s); log: $build/$name.log"
        tail -n 25 "$build/$name.log" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
done
for s in tests/*.sh; do
    case "$s" in tests/run.sh) continue ;; esac
    [ "$VALGRIND" = 1 ] && continue
    n=$((n + 1))
    name=$(basename "$s" .sh)
    DBE="$dbe" sh "$s" >"$build/$name.log" 2>&1
    rc=$?
    if [ $rc = 0 ]; then
        echo "PASS $name"
    elif [ $rc = 77 ]; then
        echo "SKIP $name: $(grep -m1 '^SKIPPED' "$build/$name.log" | sed 's/^SKIPPED: //')"
        skip=$((skip + 1))
    else
        echo "FAIL $name; log: $build/$name.log"
        tail -n 25 "$build/$name.log" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
done
skipped=""; [ $skip = 0 ] || skipped=" ($skip skipped)"
if [ $fail = 0 ]; then echo "all $n test programs passed$skipped"; else echo "$fail of $n test programs FAILED$skipped"; fi
[ $fail = 0 ]
