#!/bin/sh
# dbe's interactive session. The replay: the exact stdin of the classic
# original test program (l16_test.script) through `dbe --layout classic` must
# give a file whose every index lists exactly l16_test.manifest, is clean,
# and passes the independent checker; the same script on the wide layout
# must give the same records in a clean wide file. Then the session's own
# rules: bad commands keep going, end of input ends cleanly, BEGIN/ROLLBACK.
NAME=dbe_session; . tests/lib/dbe_test.sh
TOOLS=""
for d in /work/shared/tools ../shared/tools; do [ -f "$d/classic_check.py" ] && { TOOLS=$d; break; }; done
session() { # session EXIT INPUT ARGS...: feed INPUT (printf %b form), compare the exit status
    want=$1; in=$2; shift 2
    printf '%b' "$in" | $DBE "$@" >"$T/out" 2>"$T/err"; got=$?
    if [ "$got" = "$want" ]; then ok "session $* -> $got"; else bad "session $* -> $got (want $want)"; cat "$T/err"; fi
}
manifest_index() { # manifest_index MANIFEST N: key<TAB>datapos lines of index N
    awk -F'\t' -v ix="$2" '/^index /{ split($0, a, " "); cur = a[2]; next } NF >= 2 && cur == ix { print $1 "\t" $2 }' "$1"
}

# ---- the replay, both layouts
for layout in classic wide; do
    R=$T/replay-$layout.ndx
    $DBE --layout $layout $R <$F/classic/l16_test.script >"$T/out" 2>"$T/err"; rc=$?
    [ $rc = 0 ] && ok "replay $layout: exit 0" || bad "replay $layout: exit $rc"
    [ -s "$T/err" ] && { bad "replay $layout: messages"; head "$T/err"; } || ok "replay $layout: no messages"
    [ "$(wc -l <"$T/out")" = 2128 ] && ok "replay $layout: one line per command" || bad "replay $layout: $(wc -l <"$T/out") lines"
    for i in 1 2 3 4 5; do
        manifest_index $F/classic/l16_test.manifest $i >"$T/want"
        $DBE list $R -i $i >"$T/got"
        if [ -s "$T/want" ] && cmp -s "$T/want" "$T/got"; then ok "replay $layout: index $i = manifest"
        else bad "replay $layout: index $i differs from the manifest"; diff "$T/want" "$T/got" | head -5; fi
    done
    $DBE check $R >"$T/chk" 2>&1 && ok "replay $layout: dbe check clean" || { bad "replay $layout: dbe check"; tail -5 "$T/chk"; }
    $DBE info $R | grep -q "layout: $layout" && ok "replay $layout: layout" || bad "replay $layout: layout"
    [ -n "$TOOLS" ] || { echo "skip ${layout}_check.py (../shared/tools not found)"; continue; }
    python3 "$TOOLS/${layout}_check.py" $R >"$T/chk" 2>&1 && ok "replay $layout: ${layout}_check.py" ||
        { bad "replay $layout: ${layout}_check.py"; tail -5 "$T/chk"; }
done
R=$T/replay-classic.ndx
$DBE info $R | grep -q "index 3: STRING keysize 20 attrs ALLOW_DELETE maxitems 3" && ok "classic test configuration" || bad "classic configuration"
$DBE info $T/replay-wide.ndx | grep -q "index 5: STRING keysize 50 attrs ALLOW_DELETE maxitems 13" && ok "wide test configuration" || bad "wide configuration"
if [ -n "$TOOLS" ]; then # the checker's own reading of the file = the manifest, byte for byte
    python3 "$TOOLS/classic_check.py" $R --quiet --manifest "$T/m" >/dev/null 2>&1
    grep -v '^#' "$T/m" | cmp -s - $F/classic/l16_test.manifest && ok "replay classic: checker's manifest = fixture" ||
        bad "replay classic: checker's manifest differs"
fi

# ---- results, one line each; lower case works; X ends the session
S=$T/s.ndx
session 0 'C\nN 3\nA b\nA a\nA b\nF b\nF 2\nF 0\nT\nR\nT\n.\n-\n+\nL\nD b\nD b\nc 2\nL\nS\nx\nA never\n' $S
head -23 "$T/out" >"$T/head"
same "results" "$T/head" 'filled\t3\nadded\tb\t4\nadded\ta\t5\nadded\tb\t6\nfound\tb\t6\nfound\t2\t2\nabsent\t0
current\t1\t1\nremoved\t1\t1\ncurrent\t2\t2\nfirst\t2\t2\nbeginning of index\nnext\t3\t3
2\t2\n3\t3\na\t5\nb\t6\nb\t4\n5 record(s)\ndeleted\tb\t2\nabsent\tb\nindex\t2\n0 record(s)\n'
has "S: the active index" "$T/out" "^index 2: STRING keysize 50 attrs ALLOW_DELETE maxitems 7, 1 level(s), 0 record(s)"
has "S: the counter" "$T/out" "^next A data position: 7"
grep -q "never" "$T/out" && bad "a command after X ran" || ok "X ends the session"
grep -q '\[index' "$T/out" && bad "prompt in a pipe" || ok "no prompts in a pipe"
[ -s "$T/err" ] && bad "messages on a clean run" || ok "no messages"
$DBE list $S >"$T/l"
same "the session's changes are in the file" "$T/l" '2\t2\n3\t3\na\t5\n'

# ---- F on a missing key, then R, removes the next larger record (the script does it 26 times)
session 0 'O\nF 25\nR\nF zzz\nT\nR\n-\n' $S
same "F miss then R" "$T/out" 'absent\t25\nremoved\t3\t3\nabsent\tzzz\nno current record\nnot removed: no current record\nprev\ta\t5\n'

# ---- bad commands and arguments are refused; the session goes on and ends at end of input,
# with exit status 1 in a pipe (a command failed). An existing file is opened without the
# C/O question; a first line O (the originals' answer) is taken as said.
session 1 'bogus\nc\nX\n' $T/answer.ndx
has "bad answer" "$T/err" "line 1: answer C (create .*) or O (open it), not 'bogus'"
[ -e $T/answer.ndx ] && ok "the answer after a bad one creates" || bad "no file after the second answer"
session 1 'O\n\n\n# a comment\nQ\nA\nA x y\nT extra\nADD k\nC 0\nC 6\nC x\nN -1\nN ten\nA this-key-is-much-longer-than-fifty-characters-so-it-is-refused\nROLLBACK\nCOMMIT\nBEGIN\nBEGIN\nCOMMIT\nA kept\n' $S
has "unknown command" "$T/err" "line 5: unknown command 'Q'"
has "missing argument" "$T/err" "line 6: usage: A key"
has "extra argument" "$T/err" "line 7: usage: A key (a key is one word)"
has "argument to T" "$T/err" "line 8: T takes no argument"
has "whole words only" "$T/err" "line 9: unknown command 'ADD'"
has "index 0" "$T/err" "line 10: C takes an index number 1..5, not '0'"
has "index 6" "$T/err" "line 11: C takes an index number 1..5"
has "index x" "$T/err" "line 12: C takes an index number"
has "negative count" "$T/err" "line 13: N takes a count"
has "count ten" "$T/err" "line 14: N takes a count"
has "key too long" "$T/err" "line 15: key 'this-key.*' has 62 characters; index 1 holds at most 49"
has "ROLLBACK without BEGIN" "$T/err" "line 16: ROLLBACK without BEGIN"
has "COMMIT without BEGIN" "$T/err" "line 17: COMMIT without BEGIN"
has "nested BEGIN" "$T/err" "line 19: a transaction is already open"
[ "$(wc -l <"$T/err")" = 14 ] && ok "one message per bad line" || { bad "messages"; cat "$T/err"; }
same "good lines still run" "$T/out" 'begun\ncommitted\nadded\tkept\t1\n'
$DBE find $S kept >/dev/null && ok "end of input keeps the work" || bad "end of input lost the work"

# ---- BEGIN/ROLLBACK really rolls back; COMMIT keeps; an open transaction at the end rolls back
session 0 'O\nBEGIN\nA r1\nN 10\nD a\nC 2\nA r2\nROLLBACK\nT\nA after\nL\nC 1\nL\n' $S
same "rollback (the counter too; the active index stays)" "$T/out" 'begun\nadded\tr1\t1\nfilled\t10\ndeleted\ta\t1
index\t2\nadded\tr2\t11\nrolled back\nno current record\nadded\tafter\t1\nafter\t1\n1 record(s)\nindex\t1
2\t2\na\t5\nkept\t1\n3 record(s)\n'
session 1 'O\nBEGIN\nA c1\nA c2\nCOMMIT\nBEGIN\nD c1\nA lost\n' $S
has "open transaction at the end" "$T/err" "never committed: rolled back"
$DBE list $S >"$T/l"
same "commit kept, the unfinished transaction did not" "$T/l" '2\t2\na\t5\nc1\t1\nc2\t2\nkept\t1\n'
$DBE check $S >/dev/null && ok "clean after the transactions" || bad "check after the transactions"

# ---- C never destroys; O needs the file; end of input before the answer
sum=$(md5sum <$S)
session 2 'C\nA x\n' $S
has "C on an existing file" "$T/err" "exists; dbe never overwrites"
[ "$(md5sum <$S)" = "$sum" ] && ok "existing file untouched" || bad "C changed an existing file"
session 2 'O\n' $T/missing.ndx
[ -e $T/missing.ndx ] && bad "O created a file" || ok "O creates nothing"
session 0 '' $T/none.ndx
session 0 '\n\n' $T/none.ndx
[ -e $T/none.ndx ] && bad "no answer created a file" || ok "no answer: nothing created"
session 0 'c\nX\n' --layout classic $T/cl.ndx
$DBE info $T/cl.ndx | grep -q "index 5: STRING keysize 20 attrs ALLOW_DELETE maxitems 25" && ok "C --layout classic" || bad "C --layout classic"
session 0 'create\nX\n' session $T/wd.ndx
$DBE info $T/wd.ndx | grep -q "layout: wide" && ok "C defaults to wide" || bad "C default layout"
session 2 '' --layout sideways $T/x.ndx
session 2 '' $T/a.ndx $T/b.ndx
session 2 '' frobnicate

# ---- other key types: typed text, as the subcommands
cp $F/classic/l16_types.ndx $T/types.ndx
session 1 'O\nC 6\nF -4000\nF 12abc\nC 3\nF 0x64000000\n' $T/types.ndx
has "INTEGER key" "$T/out" "^found	-4000	"
has "bad INTEGER key" "$T/err" "'12abc' is not a INTEGER"

# ---- an existing file opens at once: the first line is a command; C alone is the refused answer
session 0 'A q1\nF q1\n' $S
same "no question for an existing file" "$T/out" 'added\tq1\t1\nfound\tq1\t1\n'
session 2 'c\n' $S
has "C on an existing file" "$T/err" "exists; dbe never overwrites a file"
session 0 '# the originals answer first\n\nO\nF q1\n' $S
same "O after a comment and a blank line is still the answer" "$T/out" 'found\tq1\t1\n'
session 1 'F q1\nC\n' $S
has "C later is C n" "$T/err" "line 2: usage: C n"

# ---- quit, exit, help, .help; exit status 0 when every command worked, 1 when one failed
for q in quit exit QUIT X x; do
    session 0 "F q1\n$q\nA never\n" $S
    grep -q never "$T/out" && bad "$q did not end the session" || ok "$q ends the session"
done
session 0 'help\n' $S; cp "$T/out" "$T/help1"
for h in .help H h '?'; do
    session 0 "$h\n" $S
    cmp -s "$T/out" "$T/help1" && ok "$h is help" || bad "$h is not help"
done
has "help names the aliases" "$T/help1" "also quit, exit"
awk 'length > 80' "$T/help1" | grep -q . && bad "session help wider than 80" || ok "session help fits 80 columns"
session 1 'F q1\nfrobnicate\nF q1\n' $S
same "good lines around a bad one still run" "$T/out" 'found\tq1\t1\nfound\tq1\t1\n'
session 1 'D nothing-here\nget q1\n' $S
same "absent is a result, a store command in an index file a failure" "$T/out" 'absent\tnothing-here\n'
has "store command refused" "$T/err" "line 2: get works on a record store; .* is an index file"

# ---- a record store through a pipe: get put update del scan, C n, S, transactions
P=$T/people
$DBE create-store $P --index string:16 --index long_int:4:unique >/dev/null
session 0 'put ann 1 first value\nput bob 2 tab\\there \\x41\nput ann 3 second\nget ann\nget zed\nupdate ann new\\nline\nget ann\nC 2\nget 1\nscan\ndel 1\ndel 1\nC 1\nscan\nscan b\nBEGIN\nput tmp 9 x\nROLLBACK\nget tmp\nBEGIN\nput keep 10 y\nCOMMIT\nX\nput after 11 z\n' $P
same "store session results" "$T/out" 'added\tann\t1\nadded\tbob\t2\nadded\tann\t3\nfound\tann\tsecond\nabsent\tzed
updated\tann\nfound\tann\tnew\\nline\nindex\t2\nfound\t1\tfirst value\n1\tfirst value\n2\ttab\\there A\n3\tnew\\nline
3 record(s)\ndeleted\t1\t1\nabsent\t1\nindex\t1\nann\tnew\\nline\nbob\ttab\\there A\n2 record(s)\nbob\ttab\\there A
1 record(s)\nbegun\nadded\ttmp\t9\nrolled back\nabsent\ttmp\nbegun\nadded\tkeep\t10\ncommitted\n'
[ -s "$T/err" ] && { bad "messages in a clean store session"; cat "$T/err"; } || ok "no messages"
$DBE scan $P >"$T/l"
same "the session's changes are in the store" "$T/l" 'ann\tnew\\nline\nbob\ttab\\there A\nkeep\ty\n'
$DBE check $P >/dev/null && ok "store clean after the session" || bad "store check after the session"
session 0 'S\n' $P
same "S of a store" "$T/out" 'store: '$P' ('$P'.ndx + '$P'.dat), 2 index(es)
index 1: STRING keysize 16 attrs none maxitems 169, 3 record(s) (active)
index 2: LONG_INT keysize 4 attrs UNIQUE maxitems 339, 3 record(s)\ntransaction: none (each command is one)\n'
sum=$(cat $P.ndx $P.dat | md5sum)
session 1 'put only-one\nput x notanumber v\nput dup 2 v\nget\nA x\nL\nupdate\nupdate zed v\nput bad\\q 4 v\nput k 5 bad\\q\nC 3\n' $P
has "put: too few keys" "$T/err" "line 1: usage: put key... value (one key for each of the 2 index(es)"
has "put: a bad key" "$T/err" "line 2: index 2: 'notanumber' is not a LONG_INT"
has "put: UNIQUE" "$T/err" "line 3: put: "
has "get needs a key" "$T/err" "line 4: usage: get key"
has "index commands refused" "$T/err" "line 5: A works on an index file; .* is a record store"
has "L refused" "$T/err" "line 6: L works on an index file"
has "update needs a key" "$T/err" "line 7: usage: update key value"
has "a bad escape in a key" "$T/err" "line 9: index 1: "
has "a bad escape in a value" "$T/err" "line 10: the value has a bad escape"
has "C 3" "$T/err" "line 11: C takes an index number 1..2"
same "only results on stdout" "$T/out" 'absent\tzed\n'
[ "$(cat $P.ndx $P.dat | md5sum)" = "$sum" ] && ok "refused store lines change nothing" || bad "a refused line changed the store"
session 1 'get ann\nBEGIN\nput open 20 v\n' $P
has "store: open transaction rolled back" "$T/err" "never committed: rolled back"
expect 1 $DBE get $P open
# the store's own index file is refused as an index session (issue 13), with the way out named
printf 'A zed\nX\n' | $DBE session $P.ndx >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 2 ] && ok "session on STORE.ndx refused" || bad "session on STORE.ndx -> $rc"
has "the way out" "$T/err" "or dbe update or session $P"
printf 'X\n' | $DBE session $P.dat >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 1 ] && ok "session on STORE.dat refused" || bad "session on STORE.dat -> $rc"
has "STORE.dat named" "$T/err" "$P.dat is the HeapFile of the record store $P, not a MultiIndex file; use dbe session $P"
# a bare store name starts a session as a file name does
case $DBE in /*) AD=$DBE ;; *) AD=$PWD/$DBE ;; esac
AT=$PWD/$T
(cd $T && printf 'get bob\n' | $AD people >"$AT/out" 2>"$AT/err") && ok "dbe STORE starts a session" || { bad "dbe STORE"; cat "$T/err"; }
same "dbe STORE" "$T/out" 'found\tbob\ttab\\there A\n'

# ---- on a terminal: the schema at the start, prompts, exit 0 whatever failed, line editing
if command -v script >/dev/null 2>&1; then
    tty_session() { # tty_session INPUT ARGS...: the session on a pseudo-terminal; $T/tty, $rc
        printf '%b' "$1" >"$T/tty_in"; shift
        script -qec "$DBE $*" /dev/null <"$T/tty_in" >"$T/tty" 2>&1; rc=$?
    }
    tty_session 'S\nbogus\nquit\n' $P
    [ $rc = 0 ] && ok "terminal: exit 0 after a failed command" || bad "terminal: exit $rc"
    has "terminal: the store and its schema" "$T/tty" "^$P: record store, 2 index(es); H lists the commands"
    has "terminal: index 2 of the schema" "$T/tty" "^  index 2: LONG_INT keysize 4 attrs UNIQUE maxitems 339"
    has "terminal: a prompt" "$T/tty" "\[index 1, error 0\] > "
    tty_session 'X\n' $S
    has "terminal: an index file's schema" "$T/tty" "^  index 5: STRING keysize 50 attrs ALLOW_DELETE maxitems 13"
    if $DBE --version | grep -q "line editing: libedit"; then
        tty_session 'F q1\n\033[A\nX\n' $S
        [ "$(grep -c 'found.*q1' "$T/tty")" = 2 ] && ok "terminal: history (up arrow) repeats a line" ||
            { bad "terminal: no history"; cat -A "$T/tty" | tail -5; }
    else
        ok "built without libedit: history not tested"
    fi
else
    ok "script(1) not installed: terminal tests skipped"
fi

finish
