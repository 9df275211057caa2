#!/bin/sh
# dbe's commands people reach for (issue 14): a store named NAME, NAME.ndx or
# NAME.dat everywhere (and which store was opened said on stderr, stdout
# unchanged); a file of the wrong kind, an empty file or no udb file named
# as such; update, count, scan --limit --reverse --json; stat shows every
# attribute info shows; every help text fits 80 columns; progress clears
# its line on a terminal and writes no escape elsewhere.
NAME=dbe_cli; . tests/lib/dbe_test.sh
err_has() { has "message" "$T/err" "$1"; }
err_is() { # err_is WHAT TEXT: stderr is exactly one line, TEXT (printf %b form)
    same "$1: one line on stderr" "$T/err" "$2\n"
}
quiet() { [ ! -s "$T/err" ] && ok "$1: nothing on stderr" || { bad "$1: stderr"; cat "$T/err"; }; }
S=$T/people
$DBE create-store $S --index string:16 --index long_int:4:unique >/dev/null
for i in 5 3 9 1 7 12 30 21 2; do $DBE put $S k$i $i -- "value $i" >/dev/null; done
$DBE put $S k3 33 -- "second k3" >/dev/null
$DBE put $S bin 100 -- "$(printf 'a\377b')" >/dev/null
$DBE put $S 'x\xffy' 101 -- "$(printf 'caf\303\251 "q" \\ \001')" >/dev/null
sum() { cat $S.ndx $S.dat | md5sum; }

# ==== a store is named NAME, NAME.ndx or NAME.dat ===================================================
for cmd in "get @ k9" "get @ -i 2 9" "scan @" "scan @ -i 2 --keys" "count @" "count @ -i 2" "stat @ --json"; do
    c=$(echo "$cmd" | sed "s|@|$S|")
    $DBE $c >"$T/want" 2>"$T/err"; rc=$?
    [ $rc = 0 ] && ok "$c" || bad "$c -> $rc"
    quiet "$c (the store by its name)"
    case $cmd in stat*) continue ;; esac # stat of a file is the file's
    for ext in .ndx .dat; do
        c2=$(echo "$cmd" | sed "s|@|$S$ext|")
        $DBE $c2 >"$T/out" 2>"$T/err"; rc=$?
        [ $rc = 0 ] && ok "$c2" || bad "$c2 -> $rc"
        cmp -s "$T/want" "$T/out" && ok "$c2: stdout as for the store's name" || bad "$c2: stdout differs"
        err_is "$c2" "dbe: store $S ($S.ndx + $S.dat)"
    done
done
cp -p $S.ndx $T/keep.ndx; cp -p $S.dat $T/keep.dat
expect 0 $DBE put $S.ndx kx 200 -- via-ndx
err_is "put STORE.ndx" "dbe: store $S ($S.ndx + $S.dat)"
expect 0 $DBE update $S.dat kx -- via-dat
expect 0 $DBE get $S kx
same "put and update through the files' names" "$T/out" 'via-dat'
expect 0 $DBE del $S.dat -i 2 200
same "del STORE.dat" "$T/out" '1\n'
expect 0 $DBE checkpoint $S.dat
err_is "checkpoint STORE.dat" "dbe: store $S ($S.ndx + $S.dat)"
same "checkpoint names what it was given" "$T/out" "$S.dat: checkpointed\n"
expect 0 $DBE recover $S.dat
err_is "recover STORE.dat: the store's journal" "dbe: store $S ($S.ndx + $S.dat)"
expect 0 $DBE heap $S.ndx
err_is "heap STORE.ndx" "dbe: store $S ($S.ndx + $S.dat)"
has "heap STORE.ndx shows STORE.dat" "$T/out" "^file: $S.dat$"
# info, check and stat read a store's file alone, and say so
for c in info check stat; do
    for ext in .ndx .dat; do
        expect 0 $DBE $c $S$ext
        kind=index; [ $ext = .dat ] && kind=heap
        err_is "$c STORE$ext" "dbe: $c: $S$ext is the $kind file of the store $S: this file alone (dbe $c $S: the whole store)"
    done
    expect 0 $DBE $c $S
    quiet "$c STORE"
done
$DBE info $S.ndx 2>/dev/null | grep -q "^kind: MultiIndex" && ok "info STORE.ndx: the file" || bad "info STORE.ndx"
$DBE check $S >"$T/out" 2>&1 && ok "clean after the writes through the files' names" || { bad "check"; cat "$T/out"; }
# a plain index file beside a plain heap of the same name is no store's
cp $F/wide/m64_heap.ndx $T/plain.ndx; cp $F/wide/m64_heap.dat $T/plain.dat
expect 0 $DBE info $T/plain.ndx
quiet "info of a file that belongs to no store"

# ==== the wrong kind of file, an empty file, no udb file =============================================
$DBE create $T/f.ndx --index string:10 >/dev/null
cp $F/classic/l16_heap.dat $T/h.dat
: >$T/empty; cp /etc/passwd $T/passwd 2>/dev/null || printf 'root:x:0:0:root:/root:/bin/sh\n' >$T/passwd
printf 'hello, world\n' >$T/text.txt
wrong() { # wrong EXIT MESSAGE CMD...: exit status, the message alone on stderr, nothing on stdout
    want=$1; msg=$2; shift 2
    expect $want "$@"
    err_is "$*" "$msg"
    [ ! -s "$T/out" ] && ok "$*: nothing on stdout" || bad "$*: stdout"
}
for c in list dump dot; do
    wrong 1 "dbe: $c: $S.dat is the HeapFile of the record store $S, not a MultiIndex file; use dbe scan $S" $DBE $c $S.dat
done
wrong 1 "dbe: find: $S.dat is the HeapFile of the record store $S, not a MultiIndex file; use dbe scan $S" $DBE find $S.dat k1
wrong 1 "dbe: append: $S.dat is the HeapFile of the record store $S, not a MultiIndex file; use dbe scan $S" $DBE append $S.dat k1 1
wrong 2 "dbe: list: $S is a record store ($S.ndx + $S.dat), not a single file; dbe scan $S lists its records, dbe list $S.ndx reads its index file" $DBE list $S
wrong 1 "dbe: list: $T/h.dat is a HeapFile, not a MultiIndex file (dbe heap $T/h.dat shows its holes)" $DBE list $T/h.dat
wrong 1 "dbe: heap: $T/f.ndx is a MultiIndex file, not a HeapFile (dbe list $T/f.ndx shows its records)" $DBE heap $T/f.ndx
for c in "get @ k" "scan @" "del @ k" "update @ k -- v" "put @ k -- v" "compact @"; do
    [ "$c" = "compact @" ] || # compact FILE.ndx lays an index file's leaves out in key order (dbe_write.sh)
    wrong 1 "dbe: ${c%% *}: $T/f.ndx is a MultiIndex file, not a record store (dbe list $T/f.ndx shows its records)" $DBE $(echo "$c" | sed "s|@|$T/f.ndx|")
    wrong 1 "dbe: ${c%% *}: $T/h.dat is a HeapFile, not a record store (dbe heap $T/h.dat shows its holes)" $DBE $(echo "$c" | sed "s|@|$T/h.dat|")
done
# dbe check (and every other reader) of a file that is no udb file: one clear line, exit 1
for c in check info stat list heap count; do
    wrong 1 "dbe: $c: $T/empty is an empty file (0 bytes), not a udb file" $DBE $c $T/empty
    for f in passwd text.txt; do
        wrong 1 "dbe: $c: $T/$f is not a udb file: neither a MultiIndex file nor a HeapFile of either layout (a udb file whose header is damaged looks the same)" $DBE $c $T/$f
    done
done
wrong 1 "dbe: get: $T/passwd is not a udb file: neither a MultiIndex file nor a HeapFile of either layout (a udb file whose header is damaged looks the same)" $DBE get $T/passwd k
wrong 2 "dbe: cannot open $T/nothing: No such file or directory" $DBE check $T/nothing
# a forced layout the file does not have: the library's own reason
expect 1 $DBE list $F/classic/l16_test.ndx --layout wide
err_has "not a MultiIndex file of the wide layout"

# ==== update ============================================================================================
before=$(sum)
expect 0 $DBE update $S k9 -- "nine, updated"
[ ! -s "$T/out" ] && ok "update prints nothing" || bad "update printed"
expect 0 $DBE get $S k9
same "update: the new value" "$T/out" 'nine, updated'
expect 0 $DBE update $S -i 2 33 -- "$(head -c 3000 /dev/zero | tr '\0' 'x')"
[ "$($DBE get $S k3 | wc -c)" = 3000 ] && ok "update -i 2: a longer value (moved), the newest k3" || bad "update -i 2"
printf 'from\000stdin' >"$T/v"
$DBE update $S k1 -- - <"$T/v" >"$T/out" 2>"$T/err" && ok "update VALUE - reads stdin" || bad "update -"
$DBE get $S k1 | cmp -s - "$T/v" && ok "update -: binary value" || bad "update -: value"
mid=$(sum)
expect 1 $DBE update $S nope -- x
err_is "update of an absent key" "dbe: update: index 1 holds no record with the key nope; nothing changed (dbe put adds one)"
expect 2 $DBE update $S k1 x
expect 2 $DBE update $S k1 --
expect 2 $DBE update $S -i 2 notanumber -- v
expect 2 $DBE update $S -i 3 k1 -- v
expect 2 $DBE update $T/nothing k -- v
[ "$(sum)" = "$mid" ] && ok "refused updates change nothing" || bad "a refused update changed the store"
[ "$mid" != "$before" ] && ok "the updates changed the store" || bad "updates changed nothing"
expect 0 $DBE update --sync off $S k2 -- two
$DBE check $S >"$T/out" 2>&1 && ok "clean after the updates" || { bad "check after update"; cat "$T/out"; }

# ==== count ===============================================================================================
expect 0 $DBE count $S
same "count" "$T/out" '12\n'
expect 0 $DBE count $S -i 2
same "count -i 2" "$T/out" '12\n'
expect 0 $DBE count $F/classic/l16_test.ndx -i 3
same "count of an index file" "$T/out" '220\n'
expect 0 $DBE count $F/wide/m64_empty.ndx
same "count of an empty index" "$T/out" '0\n'
expect 2 $DBE count $S -i 3
expect 2 $DBE count $F/classic/l16_test.ndx -i 9
expect 2 $DBE count
expect 2 $DBE count $S extra

# ==== scan --limit --reverse --json ===========================================================================
$DBE scan $S >"$T/all"
expect 0 $DBE scan $S --limit 3
head -n 3 "$T/all" | cmp -s - "$T/out" && ok "scan --limit 3" || bad "scan --limit 3"
expect 0 $DBE scan $S --limit 0
[ ! -s "$T/out" ] && ok "scan --limit 0" || bad "scan --limit 0"
expect 2 $DBE scan $S --limit -1
expect 2 $DBE scan $S --limit x
# --reverse is the forward scan backwards, whatever the bounds (duplicates and prefixes included)
for b in "" "--from k2" "--to k5" "--from k12 --to k7" "--from k3 --to k3" "--to k3" "--from k30" \
         "--prefix k1" "--prefix k3" "--from k2 --prefix k" "--to k0" "--from k9 --to k1" "--from zz" \
         "-i 2" "-i 2 --from 3 --to 30" "-i 2 --to 4" "-i 2 --from 31" "--keys --from k1 --to k3"; do
    $DBE scan $S $b >"$T/fwd" 2>"$T/err" || bad "scan $b"
    $DBE scan $S $b --reverse >"$T/rev" 2>>"$T/err" || bad "scan $b --reverse"
    tac "$T/fwd" | cmp -s - "$T/rev" && ok "scan $b --reverse = the forward scan backwards" ||
        { bad "scan $b --reverse"; diff "$T/fwd" "$T/rev"; }
    $DBE scan $S $b --reverse --limit 2 >"$T/rev2"
    tac "$T/fwd" | head -n 2 | cmp -s - "$T/rev2" && ok "scan $b --reverse --limit 2" || bad "scan $b --reverse --limit 2"
done
[ "$(grep -c '^k3	' "$T/all")" = 2 ] && ok "duplicates scanned" || bad "no duplicate in the store"
# --json: one object per line; UTF-8 as strings, other bytes as {"base64": ...}
expect 0 $DBE scan $S --json
python3 - "$T/out" "$T/all" <<'EOF' && ok "scan --json: JSON lines, the same records" || bad "scan --json"
import json, sys, base64
lines = open(sys.argv[1], 'rb').read().decode('utf-8').splitlines()
text = open(sys.argv[2], 'rb').read().splitlines()
assert len(lines) == len(text) == 12, (len(lines), len(text))
recs = [json.loads(l) for l in lines]
def val(v): return base64.b64decode(v['base64']) if isinstance(v, dict) else v.encode('utf-8')
by = {}
for r in recs:
    assert set(r) == {'key', 'value'}, r
    by.setdefault(json.dumps(r['key']), []).append(val(r['value']))
assert by['"bin"'] == [b'a\xffb'] and set(recs[0]['value']) == {'base64'}
assert by['"k9"'] == [b'nine, updated']
k = json.dumps({'base64': base64.b64encode(b'x\xffy').decode()})
assert by[k] == ['café "q" \\ \x01'.encode('utf-8')], by[k]
assert by['"k1"'] == [b'from\x00stdin']
EOF
has "scan --json: standard escapes" "$T/out" '"value": "café \\"q\\" \\\\ \\u0001"'
expect 0 $DBE scan $S -i 2 --json --keys --reverse --limit 2
same "scan -i 2 --json --keys --reverse --limit 2" "$T/out" '{"key": 101}\n{"key": 100}\n'

# ==== stat shows every attribute info shows ====================================================================
check_attrs() { # check_attrs FILE: info --json's members are in stat --json, with the same values
    $DBE info "$1" --json >"$T/i.json" 2>/dev/null; $DBE stat "$1" --json >"$T/s.json" 2>/dev/null
    python3 - "$T/i.json" "$T/s.json" <<'EOF' && ok "stat $1 has info's attributes" || bad "stat $1 lacks some of info's"
import json, sys
i, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def same(a, b, where):
    for k, v in a.items():
        if k == 'indexes':
            continue
        assert k in b, (where, k)
        assert b[k] == v, (where, k, b[k], v)
if i['kind'] == 'store':
    same({k: v for k, v in i.items() if k not in ('store', 'layout')}, s, 'store')
    assert i['layout'] == s['index_file']['layout'] == s['heap_file']['layout']
    for d, x in zip(i['indexes'], s['index_file']['indexes']):
        same(d, x, d['index'])
else:
    same(i, s, 'file')
    for a, b in zip(i.get('indexes', []), s.get('indexes', [])):
        same(a, b, a['index'])
    assert len(i.get('indexes', [])) == len(s.get('indexes', []))
EOF
}
for f in $F/classic/l16_test.ndx $F/classic/l16_types.ndx $F/wide/m64_types.ndx $F/wide/m64_empty.ndx \
         $F/classic/l16_heap.dat $F/wide/m64_heap.dat $S; do
    check_attrs $f
done
expect 0 $DBE stat $F/classic/l16_test.ndx
has "stat: attrs" "$T/out" "^  attrs ALLOW_DELETE$"
has "stat: batches" "$T/out" "^  batches: 50 nodes, 150 leaves$"
has "stat: tree positions" "$T/out" "^  levels 6, root [0-9]*, first leaf [0-9]*, last leaf [0-9]*, free node"
has "stat: the index count" "$T/out" "^indexes: 5$"
expect 0 $DBE stat $S
has "stat of a store: its descriptor" "$T/out" "^descriptor: version 2, 2 index(es), new records stored plain$"
has "stat of a store: the rebuild line" "$T/out" "^rebuild: yes"

# ==== files that are no udb file, or a store whose heap is damaged: every command that reads them exits 1 or 2 ====
# (an exit code of a udb error passed through (243 for an empty index file
# given to compact) and a store name leaked on a failed open (checkpoint,
# under the sanitizers) were found by a campaign of damaged files)
: >"$T/empty.ndx"
head -c 3000 /dev/urandom >"$T/junk.ndx"
$DBE create-store $T/hd --index string:8 >/dev/null && $DBE put $T/hd k -- v >/dev/null
printf 'XXXXXXXX' | dd of=$T/hd.dat bs=1 seek=0 conv=notrunc 2>/dev/null
exit12() { # exit12 CMD...: the command fails with 1 or 2, no sanitizer report
    "$@" >"$T/out" 2>"$T/err"; got=$?
    if { [ $got = 1 ] || [ $got = 2 ]; } && ! grep -q "Sanitizer\|runtime error" "$T/err"; then
        ok "$* -> $got"
    else
        bad "$* -> $got (want 1 or 2)"; cat "$T/err"
    fi
}
for f in "$T/empty.ndx" "$T/junk.ndx"; do
    for c in "info @" "list @" "find @ k" "check @" "count @" "dump @" "dot @" "stat @" "export @" \
             "textdump @" "compact @" "repair @" "repair @ -o $T/r.ndx" "convert @ $T/c.ndx" \
             "backup @ $T/bk.ndx" "checkpoint @" "append @ k 1" "delete @ k" "heap @"; do
        exit12 $DBE $(echo "$c" | sed "s|@|$f|")
    done
done
for c in "info @" "check @" "count @" "scan @" "get @ k" "put @ j -- w" "del @ k" "update @ k -- w" \
         "compact @" "checkpoint @" "export @" "textdump @" "backup @ $T/bk2" "heap @" "stat @"; do
    exit12 $DBE $(echo "$c" | sed "s|@|$T/hd|")
done
# a FIFO under a data file's name, or under a side file's (journal, log,
# shared memory), is refused, never waited on (reading ones hung before)
if command -v mkfifo >/dev/null && command -v timeout >/dev/null; then
    mkfifo "$T/fifo.ndx" "$T/fifo.dat"
    for c in "info @.ndx" "list @.ndx" "check @.ndx" "count @.ndx" "dump @.ndx" "read @.ndx 0 16" "recover @.ndx" \
             "append @.ndx k 1" "heap @.dat" "info @.dat" "read @.dat 0 16"; do
        exit12 timeout 20 $DBE $(echo "$c" | sed "s|@|$T/fifo|")
    done
    for side in ndx-journal ndx-wal ndx-shm dat-journal dat-wal; do
        rm -f $T/sf.*; $DBE create-store $T/sf --index string:8 >/dev/null && $DBE put $T/sf k -- v >/dev/null
        rm -f $T/sf.$side; mkfifo $T/sf.$side
        for c in "get @ k" "put @ j --journal wal -- w" "check @" "recover @"; do
            timeout 20 $DBE $(echo "$c" | sed "s|@|$T/sf|") >"$T/out" 2>"$T/err"; got=$?
            [ $got -le 2 ] && ok "sf.$side a FIFO: $c -> $got" || bad "sf.$side a FIFO: $c -> $got"
        done
    done
fi

# ==== every help text fits 80 columns ===========================================================================
wide() { # wide WHAT FILE: no line of FILE is longer than 80 characters
    if awk 'length > 80 { exit 1 }' "$2"; then ok "$1 fits 80 columns"; else bad "$1 is wider than 80:"; awk 'length > 80' "$2"; fi
}
$DBE help >"$T/help" && ok "dbe help" || bad "dbe help"
wide "dbe help" "$T/help"
$DBE --help | cmp -s - "$T/help" && ok "dbe --help = dbe help" || bad "dbe --help"
cmds=$(sed -n 's/^  dbe \([a-z][a-z-]*\) .*/\1/p' "$T/help")
[ "$(echo $cmds | wc -w)" -ge 27 ] && ok "help lists the commands ($(echo $cmds | wc -w))" || bad "help lists $(echo $cmds | wc -w) commands"
for c in $cmds session; do
    $DBE $c --help >"$T/h1" 2>&1 && grep -q "^usage: dbe \[*$c" "$T/h1" && ok "dbe $c --help" || bad "dbe $c --help"
    wide "dbe $c --help" "$T/h1"
    $DBE help $c | cmp -s - "$T/h1" && ok "dbe help $c" || bad "dbe help $c"
    grep -q "^\.B $c\b" doc/dbe.1 && ok "dbe.1: $c" || bad "dbe.1 lacks $c"
done
$DBE put >/dev/null 2>"$T/h1"; wide "a usage error" "$T/h1"
expect 2 $DBE help frobnicate
for h in "$S" "$T/f.ndx"; do
    printf 'H\n' | $DBE session $h >"$T/h1" 2>&1
    wide "the session's help on $h" "$T/h1"
done

# ==== progress: a terminal's line is cleared; no escape anywhere else ==============================================
B=$T/big.ndx
$DBE create $B --index long_int:4 >/dev/null
seq 1 20000 | awk '{print $1 "\t" $1}' | $DBE load $B --sorted >/dev/null
DBE_PROGRESS=1 $DBE check $B >/dev/null 2>"$T/perr"
grep -q "check: [0-9]" "$T/perr" && ok "DBE_PROGRESS=1: progress" || bad "DBE_PROGRESS=1: no progress"
if grep -q "$(printf '\033')" "$T/perr"; then bad "escape codes when stderr is no terminal"; else ok "no escape codes when stderr is no terminal"; fi
[ "$(tail -c 1 "$T/perr" | od -An -c | tr -d ' ')" = '\n' ] && ok "forced progress ends its line" || bad "forced progress: no newline at the end"
$DBE check $B >/dev/null 2>"$T/perr"
[ ! -s "$T/perr" ] && ok "no progress in a pipe" || bad "progress in a pipe"
if command -v script >/dev/null 2>&1; then
    script -qec "$DBE check $B" /dev/null >"$T/tty" 2>&1
    grep -q "$(printf 'check: [0-9].*%%)\033\\[K')" "$T/tty" && ok "terminal: each update clears the rest of the line" ||
        { bad "terminal: no ESC [K after an update"; od -c "$T/tty" | head -5; }
    grep -q "$(printf '\033\\[K\r\033\\[K')" "$T/tty" && ok "terminal: the line is cleared before the result" ||
        { bad "terminal: progress line not cleared"; od -c "$T/tty" | head -5; }
else
    ok "script(1) not installed: terminal test skipped"
fi

finish
