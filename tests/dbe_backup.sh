#!/bin/sh
# dbe backup (udb_store_backup, udb_ndx_backup, udb_heap_backup): copies
# taken while a writer process commits keys 1..N one transaction each and a
# reader scans, in both journal modes, are clean (dbe check) and hold
# exactly keys 1..k for some k; a copy of a quiet file is identical to it
# byte for byte; DST is never overwritten and a failed backup leaves
# nothing.
NAME=dbe_backup; . tests/lib/dbe_test.sh
build_helper xfer_writer
W=$H
[ -n "$W" ] || { bad "cannot build tests/xfer_writer.c"; finish; exit; }

keys() { # keys KIND FILE: the keys of index 1, one a line
    if [ "$1" = store ]; then $DBE export "$2" | tail -n +2 | cut -f1; else $DBE list "$2" | cut -f1; fi
}

# backups_beside KIND SRC MODE N: back SRC up again and again while the
# writer commits 1..N and a reader reads
backups_beside() {
    kind=$1 src=$2 mode=$3 n=$4
    rm -f "$T/wdone" "$T/wout"
    ( "$W" $kind "$src" $n $mode >"$T/wout" 2>"$T/werr"; echo $? >"$T/wdone" ) &
    while [ ! -s "$T/wout" ] && [ ! -e "$T/wdone" ]; do sleep 0.01; done # its mode is settled
    ( while [ ! -e "$T/wdone" ]; do keys $kind "$src" >/dev/null 2>&1; done ) &
    j=0 mid=0 fails_before=$fails
    while [ ! -e "$T/wdone" ] || [ $j = 0 ]; do
        j=$((j + 1))
        dst=$T/bk; [ $kind = ndx ] && dst=$T/bk.ndx
        rm -f $T/bk.*
        if ! $DBE backup "$src" "$dst" >/dev/null 2>"$T/berr"; then
            bad "$kind $mode: backup $j failed"; cat "$T/berr"; continue
        fi
        $DBE check "$dst" >"$T/chk" 2>&1 || { bad "$kind $mode: backup $j is not clean"; cat "$T/chk"; }
        keys $kind "$dst" >"$T/keys"
        k=$(wc -l <"$T/keys")
        seq 1 $k | cmp -s - "$T/keys" || { bad "$kind $mode: backup $j holds other keys than 1..$k"; head "$T/keys"; }
        [ $k -gt 0 ] && [ $k -lt $n ] && mid=$((mid + 1))
    done
    wait
    [ "$(cat "$T/wdone")" = 0 ] && ok "$kind $mode: the writer committed 1..$n" || { bad "$kind $mode: the writer failed"; cat "$T/werr"; }
    [ $fails = $fails_before ] && ok "$kind $mode: $j backups, each clean and a prefix 1..k" || true
    [ $mid -gt 0 ] && ok "$kind $mode: $mid backups taken mid-way" || bad "$kind $mode: no backup was taken while the writer ran"
    keys $kind "$src" | cmp -s - "$(seq 1 $n >"$T/all"; echo "$T/all")" && ok "$kind $mode: the source holds 1..$n" || bad "$kind $mode: source keys"
}

for mode in rollback wal; do
    S=$T/s-$mode
    $DBE create-store $S --index long_int:4:unique --journal $mode >/dev/null
    backups_beside store $S $mode 1500
    F=$T/f-$mode.ndx
    $DBE create $F --index long_int:4 --journal $mode >/dev/null
    backups_beside ndx $F $mode 1500
done

# a quiet file: the copy is the same bytes
S=$T/s-rollback
rm -f $T/bk.*
expect 0 $DBE backup $S $T/bk
same "the sizes printed" "$T/out" "$T/bk.ndx: $(wc -c <$S.ndx) bytes\n$T/bk.dat: $(wc -c <$S.dat) bytes\n"
cmp -s $S.ndx $T/bk.ndx && cmp -s $S.dat $T/bk.dat && ok "store copy identical" || bad "store copy differs"
# WAL mode: the copy is the file as a checkpoint leaves it (a reader may have
# been the last to close, leaving the log)
expect 0 $DBE backup $T/f-wal.ndx $T/g.ndx
expect 0 $DBE checkpoint $T/f-wal.ndx
[ ! -e $T/f-wal.ndx-wal ] && ok "checkpointed" || bad "the log is left"
cmp -s $T/f-wal.ndx $T/g.ndx && ok "index file copy identical to it" || bad "index file copy differs"
expect 0 $DBE backup $S.dat $T/h.dat
cmp -s $S.dat $T/h.dat && ok "heap file copy identical" || bad "heap copy differs"

# DST is never overwritten; a failed backup leaves nothing
sum=$(cat $T/bk.ndx $T/bk.dat | md5sum)
expect 2 $DBE backup $S $T/bk
has "message" "$T/err" "exists; a backup never overwrites a file"
[ "$(cat $T/bk.ndx $T/bk.dat | md5sum)" = "$sum" ] && ok "the existing copy is untouched" || bad "existing copy changed"
echo keep >$T/only.dat
expect 2 $DBE backup $S $T/only
[ ! -e $T/only.ndx ] && [ "$(cat $T/only.dat)" = keep ] && ok "DST.dat exists: no DST.ndx left, DST.dat kept" || bad "half a backup left"
expect 2 $DBE backup $T/missing $T/x
expect 2 $DBE backup $S $T/nodir/x
[ ! -e $T/x.ndx ] && ok "nothing for a missing source" || bad "files for a missing source"
expect 2 $DBE backup $S
expect 2 $DBE backup $S $T/a $T/b
finish
