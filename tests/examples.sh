#!/bin/sh
# The examples (examples/): each runs, exits 0, and prints what it verified.
#   UDB_EXAMPLES = directory of the example binaries (make check sets it)
set -u
EX=${UDB_EXAMPLES:-build/examples}
DBE=${DBE:-dbe/dbe}
mkdir -p tests/out
T=$(mktemp -d tests/out/examples.XXXXXX)
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
has() { # has FILE TEXT: the output holds the line TEXT
    if grep -qxF -- "$2" "$1"; then ok "$(basename "$1"): $2"; else bad "$(basename "$1") lacks: $2"; fi
}

# tracestore: 100,000 traces; queries verified against the generated data
if "$EX/tracestore" "$T" >"$T/tracestore.out" 2>"$T/tracestore.err"; then
    ok "tracestore exits 0"
else
    bad "tracestore exits $?"; cat "$T/tracestore.err"
fi
has "$T/tracestore.out" "inserted 100000 traces into $T/traces (one transaction)"
has "$T/tracestore.out" "  #100001 UDB_NOTFOUND"
has "$T/tracestore.out" "tracestore: all results verified"
grep -q '^by function: \([0-9]*\) traces of db_query (expected \1)' "$T/tracestore.out" &&
    ok "by function: counts agree" || bad "by function: counts differ"
[ "$(sed -n '/^slowest 10:/,/^range/p' "$T/tracestore.out" | grep -c '^ *[0-9]*\. ')" = 10 ] &&
    ok "slowest 10: ten lines" || bad "slowest 10: not ten lines"
[ -s "$T/traces.ndx" ] && [ -s "$T/traces.dat" ] && ok "store files written" || bad "store files missing"
# the files are an ordinary store: dbe checks them
if [ -x "$DBE" ]; then
    "$DBE" check "$T/traces.ndx" >"$T/check.out" 2>&1 && ok "dbe check traces.ndx" ||
        { bad "dbe check traces.ndx"; cat "$T/check.out"; }
fi

# kv: the key-value façade
if "$EX/kv" "$T" >"$T/kv.out" 2>"$T/kv.err"; then ok "kv exits 0"; else bad "kv exits $?"; cat "$T/kv.err"; fi
has "$T/kv.out" 'get user:bob       -> "owner"'
has "$T/kv.out" "get user:dave      -> UDB_NOTFOUND"
has "$T/kv.out" "scan user:         -> user:bob=owner user:carol=viewer"
has "$T/kv.out" "kv: all results verified"

# a second run starts afresh (the examples remove their old files)
"$EX/kv" "$T" >/dev/null 2>&1 && ok "kv runs twice" || bad "kv second run"

# the README's quick-start demo
if [ -x "$DBE" ]; then
    sh examples/demo.sh "$DBE" >"$T/demo.out" 2>&1 && ok "examples/demo.sh" ||
        { bad "examples/demo.sh"; tail "$T/demo.out"; }
fi

[ $fails = 0 ] && rm -rf "$T"
echo "$fails failure(s)"
[ $fails = 0 ]
