#!/bin/sh
# dbe in WAL mode: --journal wal on writing commands, the side files gone
# after each command, dbe checkpoint, commands beside a process that holds
# the store open in WAL mode (they join its mode; --journal rollback is
# refused), a log left by a crash recovered by the next command in either
# mode, a log of another store refused with nothing changed.
NAME=dbe_wal; . tests/lib/dbe_test.sh
err_has() { has "message" "$T/err" "$1"; }
gone() { # gone NAME: no log, no shared memory
    [ ! -e "$1.ndx-wal" ] && [ ! -e "$1.ndx-shm" ] && ok "no side files of $1" || { bad "side files of $1 left"; ls -l "$1".*; }
}

S=$T/s
expect 0 $DBE create-store $S --index long_int:4:unique --journal wal
gone $S
expect 0 $DBE put --journal wal $S 1 -- one
expect 0 $DBE put --journal wal $S 2 -- two
gone $S
expect 0 $DBE get $S 2
same "get after WAL puts" "$T/out" "two"
expect 2 $DBE put --journal bogus $S 3 -- x
err_has "--journal takes wal or rollback"
expect 0 $DBE checkpoint $S
same "checkpoint, nothing open" "$T/out" "$S: checkpointed\n"
expect 0 $DBE check $S
X=$T/x.ndx
expect 0 $DBE create $X --index string:8 --journal wal
expect 0 $DBE append --journal wal $X a 1
expect 0 $DBE list $X
same "index file in WAL mode" "$T/out" "a\t1\n"
expect 0 $DBE checkpoint $X

# ---- beside a process holding the store open in WAL mode
build_hot
if [ -z "$H" ]; then
    bad "cannot build tests/dbe_hot.c against $lib"
else
    $H walhold $S 3 >"$T/hold" &
    hold=$!
    n=0
    while [ ! -s "$T/hold" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
    [ -e "$S.ndx-wal" ] && ok "the holder has a log" || bad "no log while held"
    expect 0 $DBE get $S 1000
    same "get joins WAL mode" "$T/out" "$(printf 'w%.0s' $(seq 1 100))"
    expect 0 $DBE put $S 3 -- three
    expect 0 $DBE get $S 3
    same "put beside the holder" "$T/out" "three"
    expect 0 $DBE checkpoint $S
    [ -e "$S.ndx-wal" ] && ok "checkpoint beside a handle keeps the log" || bad "log removed while held"
    expect 2 $DBE put --journal rollback $S 4 -- four
    err_has "open in WAL mode by another handle"
    wait $hold
    gone $S
    expect 0 $DBE check $S

    # ---- a crash leaves the log: the next command recovers it
    $H walcrash $S 50 && ok "crash left a log" || bad "dbe_hot walcrash"
    [ -e "$S.ndx-wal" ] && ok "the log is there" || bad "no log after the crash"
    mkdir $T/copy; cp $S.ndx $S.dat $S.ndx-wal $T/copy/
    expect 0 $DBE get $S 150
    same "a read-only get reads through the log" "$T/out" "$(printf 'w%.0s' $(seq 1 100))"
    [ -e "$S.ndx-wal" ] && ok "a read-only command leaves the log" || bad "log gone after a read"
    # the commands that read the heap's header or holes read through the
    # log too (they were refused: "belongs to a record store with a
    # write-ahead log")
    for c in info heap stat textdump "backup @ $T/bk"; do
        expect 0 $DBE $(echo "$c" | sed "s|@|$S|; t; s|\$| $S|")
    done
    expect 0 $DBE check $T/bk
    expect 0 $DBE get $T/bk 150
    [ -e "$S.ndx-wal" ] && ok "still the log" || bad "log gone after reads"
    expect 0 $DBE put --journal rollback $S 4 -- four
    gone $S
    expect 0 $DBE get $S 150
    expect 0 $DBE put --journal wal $T/copy/s 5 -- five
    expect 0 $DBE get $T/copy/s 149
    expect 0 $DBE check $T/copy/s
    # a log of another store: refused, nothing changes
    $DBE create-store $T/f --index long_int:4:unique >/dev/null
    $H walcrash $T/f 10 && ok "another crash" || bad "dbe_hot walcrash"
    $DBE create-store $T/o --index long_int:4:unique >/dev/null
    cp $T/f.ndx-wal $T/o.ndx-wal
    cksum $T/o.ndx $T/o.dat >"$T/sum1"
    expect 1 $DBE get $T/o 1
    err_has "belongs to"
    cksum $T/o.ndx $T/o.dat >"$T/sum2"
    cmp -s "$T/sum1" "$T/sum2" && ok "the other store is unchanged" || bad "the other store changed"
    [ -e "$T/o.ndx-wal" ] && ok "the foreign log is left alone" || bad "foreign log removed"
    # a log left by an earlier store of the same name, its files gone: a new
    # store does not take it
    $DBE create-store $T/g --index long_int:4:unique >/dev/null
    $H walcrash $T/g 10 && ok "a crash of g" || bad "dbe_hot walcrash g"
    rm $T/g.ndx $T/g.dat
    expect 2 $DBE create-store $T/g --index long_int:4
    err_has "write-ahead log $T/g.ndx-wal beside the new file was left by an earlier file"
    [ ! -e $T/g.ndx ] && [ ! -e $T/g.dat ] && [ -e $T/g.ndx-wal ] && ok "nothing made, the log left" || bad "after the refused create: $(ls $T/g.*)"
    rm -f $T/g.ndx-wal $T/g.ndx-shm
    expect 0 $DBE create-store $T/g --index long_int:4
    # a raw heap writer in WAL mode writes through the store's log ...
    expect 0 $DBE put $T/g 5 -- five
    $H heapwal $T/g.dat && ok "a raw heap writer died" || bad "dbe_hot heapwal"
    [ -e $T/g.ndx-wal ] && [ ! -e $T/g.dat-wal ] && ok "it wrote into the store's log" || bad "logs: $(ls $T/g.*)"
    expect 0 $DBE get $T/g 5
    expect 0 $DBE recover $T/g
    gone $T/g
    # ... and a log of the heap alone (its NAME.ndx away) is refused until
    # dbe recover NAME copies it in
    mv $T/g.ndx $T/g.away && $H heapwal $T/g.dat && mv $T/g.away $T/g.ndx
    [ -e $T/g.dat-wal ] && ok "a log of the heap alone" || bad "no g.dat-wal: $(ls $T/g.*)"
    expect 1 $DBE get $T/g 5
    err_has "has a write-ahead log of its own"
    expect 0 $DBE recover $T/g
    [ ! -e $T/g.dat-wal ] && ok "dbe recover copied the heap's log in" || bad "g.dat-wal left"
    expect 0 $DBE get $T/g 5
    expect 0 $DBE recover $T/f
    gone $T/f
    expect 0 $DBE get $T/f 110
fi
expect 0 $DBE checkpoint --help
finish
