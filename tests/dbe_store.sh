#!/bin/sh
# dbe's record-store and maintenance commands: create-store, put, get, del,
# scan, compact, export, import, heap, read, recover, check of stores, hot
# journals, load --sorted — outputs, exit codes, bad arguments, binary
# values, both layouts, compressed stores, and export -> import -> export
# round trips in every format.
NAME=dbe_store; . tests/lib/dbe_test.sh
expect_in() { # expect_in EXIT FILE CMD...: the same with FILE on stdin
    want=$1; in=$2; shift 2
    "$@" <"$in" >"$T/out" 2>"$T/err"; got=$?
    if [ "$got" = "$want" ]; then ok "$* < $(basename "$in") -> $got"; else bad "$* < $in -> $got (want $want)"; cat "$T/err"; fi
}
err_has() { has "message" "$T/err" "$1"; }
clean() { # clean STORE-or-FILE: dbe check passes
    $DBE check "$1" >"$T/chk" 2>&1 && ok "dbe check $1" || { bad "dbe check $1"; cat "$T/chk"; }
}

# ---- create-store
S=$T/s
expect 0 $DBE create-store $S --index string:32 --index long_int:4:unique
[ -f $S.ndx ] && [ -f $S.dat ] && ok "STORE.ndx and STORE.dat" || bad "store files"
$DBE info $S.ndx | grep -q "layout: wide" && ok "wide is the default" || bad "default layout"
expect 2 $DBE create-store $S --index string:32
err_has "exists"
for spec in foo:3 string string:1 string:20:bogus block:0; do
    expect 2 $DBE create-store $T/bad --index $spec
done
expect 2 $DBE create-store $T/bad
expect 2 $DBE create-store $T/bad --index string:8 --layout sideways
expect 2 $DBE create-store $T/bad --index string:8 --bogus
ls $T/bad.* >/dev/null 2>&1 && bad "a failed create-store left files" || ok "failed create-stores leave nothing"
C=$T/c
expect 0 $DBE create-store $C --layout classic --compress -i string:16:delete -i integer:2
$DBE info $C.ndx | grep -q "layout: classic" && ok "classic store" || bad "classic store"

# ---- put, get
expect 0 $DBE put $S hello 1 -- world
expect 0 $DBE put $S 'tab\there' 2 -- "$(printf 'a\tb\\c')"
printf 'bin\000\001\377end' >"$T/bin"
expect_in 0 "$T/bin" $DBE put $S binary -3 -- -
expect 0 $DBE put $S empty 4 -- ''
expect 0 $DBE put $S -- 5 -- '-- and -'
expect 1 $DBE put $S other 1 -- clash
err_has "UNIQUE"
expect 2 $DBE put $S onlyone -- v
err_has "2 index(es)"
expect 2 $DBE put $S a 6 v
expect 2 $DBE put $S a 6 --
expect 2 $DBE put $S a six -- v
expect 2 $DBE put $S this-key-is-longer-than-thirty-two-bytes 7 -- v
expect 2 $DBE put $T/missing a 1 -- v
expect 0 $DBE get $S hello
same "get: the raw value" "$T/out" 'world'
$DBE get $S binary >"$T/got"
cmp -s "$T/bin" "$T/got" && ok "get: binary value" || bad "get: binary value"
expect 0 $DBE get $S -i 2 -3
cmp -s "$T/bin" "$T/out" && ok "get -i 2" || bad "get -i 2"
expect 0 $DBE get $S binary --hex
same "get --hex" "$T/out" \
    '00000000  62 69 6e 00 01 ff 65 6e  64                       |bin...end|\n00000009\n'
if command -v hexdump >/dev/null 2>&1; then
    hexdump -C "$T/bin" | cmp -s - "$T/out" && ok "get --hex == hexdump -C" || bad "get --hex != hexdump -C"
fi
expect 0 $DBE put $S '\x2dx' 9 -- dash
expect 0 $DBE get $S -- -x
same "get -- KEY" "$T/out" 'dash'
expect 0 $DBE del $S -- -x
expect 0 $DBE get $S empty
[ ! -s "$T/out" ] && ok "empty value" || bad "empty value"
expect 1 $DBE get $S nosuchkey
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] && ok "absent: no output" || bad "absent printed something"
expect 2 $DBE get $S -i 3 hello
expect 2 $DBE get $S
expect 2 $DBE get $T/missing k
expect 0 $DBE put $C 'a,b' 10 -- one
expect 0 $DBE put $C 'a,b' 11 -- two
printf 'compressible %.0s' $(seq 1 200) >"$T/big"
expect_in 0 "$T/big" $DBE put $C big 12 -- -
$DBE get $C big | cmp -s - "$T/big" && ok "compressed value" || bad "compressed value"
[ "$(wc -c <$C.dat)" -lt 1000 ] && ok "compressed in the heap" || bad "not compressed: $(wc -c <$C.dat) bytes"
expect 0 $DBE get $C 'a,b'
same "newest duplicate" "$T/out" 'two'
expect 0 $DBE get $C -i 2 11
same "classic -i 2" "$T/out" 'two'

# ---- scan
expect 0 $DBE scan $S
same "scan: key<TAB>value with C escapes" "$T/out" \
    '--\t-- and -\nbinary\tbin\\x00\\x01\\xffend\nempty\t\nhello\tworld\ntab\\there\ta\\tb\\\\c\n'
expect 0 $DBE scan $S -i 2 --keys
same "scan -i 2 --keys" "$T/out" '-3\n1\n2\n4\n5\n'
expect 0 $DBE scan $S --from c --to hello --keys
same "scan --from --to" "$T/out" 'empty\nhello\n'
expect 0 $DBE scan $S --prefix 'tab\t'
same "scan --prefix" "$T/out" 'tab\\there\ta\\tb\\\\c\n'
expect 0 $DBE scan $S -i 2 --from 2 --to 4
same "scan typed bounds" "$T/out" '2\ta\\tb\\\\c\n4\t\n'
expect 0 $DBE scan $S --prefix zzz
[ ! -s "$T/out" ] && ok "scan: nothing" || bad "scan: nothing"
expect 2 $DBE scan $S -i 2 --from x
expect 2 $DBE scan $S -i 7
expect 2 $DBE scan $S --bogus
expect 0 $DBE scan $C
same "scan classic compressed" "$T/out" "a,b\ttwo\na,b\tone\nbig\t$(cat "$T/big")\n"
expect 0 $DBE put $S 0x4142 6 -- 'typed as hex'
expect 0 $DBE put $S '\x30xab' 8 -- 'text, not hex'
expect 0 $DBE scan $S --keys --from 0 --to B
same "a STRING key starting 0x prints as text" "$T/out" '\\x30xab\nAB\n'
expect 0 $DBE get $S '\x30xab'
same "... and reads back" "$T/out" 'text, not hex'

# ---- del
expect 0 $DBE del $C 'a,b'
same "del prints the count" "$T/out" '2\n'
expect 1 $DBE del $C 'a,b'
same "del of an absent key prints 0" "$T/out" '0\n'
expect 1 $DBE get $C -i 2 10
expect 0 $DBE del $S -i 2 8
same "del -i 2" "$T/out" '1\n'
expect 1 $DBE get $S '\x30xab'
expect 2 $DBE del $S
expect 2 $DBE del $S -i 2 x
clean $S
clean $C

# ---- compact
K=$T/k
$DBE create-store $K --index integer:2 >/dev/null
i=1; while [ $i -le 60 ]; do $DBE put $K $i -- "record $i $(printf 'x%.0s' $(seq 1 $i))" || bad "put $i"; i=$((i + 1)); done
i=1; while [ $i -le 60 ]; do $DBE del $K $i >/dev/null; i=$((i + 3)); done
$DBE scan $K >"$T/before"
$DBE heap $K >"$T/heap"
has "heap of a store by name" "$T/heap" "^free: [1-9][0-9]* hole(s)"
before=$(wc -c <$K.dat)
expect 0 $DBE compact $K
after=$(wc -c <$K.dat)
same "compact reports the sizes" "$T/out" "$K.dat: $before bytes before, $after after ($((before - after)) freed)\n"
[ "$after" -lt "$before" ] && ok "compact shrinks" || bad "compact: $before -> $after"
$DBE scan $K | cmp -s - "$T/before" && ok "compact keeps every record" || bad "compact lost records"
$DBE heap $K >"$T/heap"
has "no holes after compact" "$T/heap" "^free: 0 hole(s), 0 bytes"
clean $K
expect 2 $DBE compact $T/missing
expect 2 $DBE compact $K extra

# ---- check of a store: clean, then damaged
expect 0 $DBE check $K
has "check names the store" "$T/out" "^store: $K.ndx + $K.dat, 1 index(es)"
has "check: clean" "$T/out" "^clean"
cp $K.ndx $T/dmg.ndx; cp $K.dat $T/dmg.dat
size=$(wc -c <$T/dmg.dat)
printf 'XXXX' | dd of=$T/dmg.dat bs=1 seek=$((size - 8)) conv=notrunc 2>/dev/null
expect 1 $DBE check $T/dmg
has "damage reported" "$T/out" "^problem: "
has "damage summary" "$T/out" "problem(s)"
: >$T/dmg
expect 1 $DBE check $T/dmg

# ---- check tells the truth: whatever a later read or write refuses, it reports
poke() { # poke FILE OFFSET BYTES (printf form): overwrite in place
    printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
set_hole() { # set_hole FILE LAYOUT POS SIZE: hole 1 of the first holes table, checksum kept
    python3 - "$@" <<'PY'
import struct, sys
path, layout, pos, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
d = bytearray(open(path, 'rb').read())
w, f = (8, '<qq') if layout == 'wide' else (4, '<ii')
t = struct.unpack_from('<q' if w == 8 else '<i', d, 1)[0]
at = t + (11 if w == 8 else 15)
new = struct.pack(f, pos, size)
for a, b in zip(d[at:at + 2 * w], new):
    d[t] ^= a ^ b
d[at:at + 2 * w] = new
open(path, 'wb').write(d)
PY
}
V=$T/v
printf 'compressible %.0s' $(seq 1 50) >"$T/big"
$DBE create-store $V --compress -i string:8 -i long_int:4:unique >/dev/null
$DBE put $V a 1 -- "$(cat $T/big)" >/dev/null
$DBE put $V b 2 -- "$(cat $T/big)" >/dev/null
$DBE put $V c 3 -- "$(cat $T/big)" >/dev/null
$DBE del $V b >/dev/null
clean $V
dmg() { cp $V.ndx $T/w.ndx; cp $V.dat $T/w.dat; }
# record a follows the 11-byte header and the descriptor frame (9 bytes +
# its payload, whose length is at 12): tag 0xA7, its uncompressed length
# 9 bytes in, its keys 13 bytes in
REC=$(python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(); print(20 + struct.unpack_from('<I', d, 12)[0])" $V.dat)
for raw in '\377\377\377\377' '\001\000\000\000' '\0\0\0\0'; do
    dmg; poke $T/w.dat $((REC + 9)) "$raw"
    expect 1 $DBE check $T/w
    has "check names the lying record" "$T/out" "^problem: offset $REC: .*the record at offset $REC"
    expect 1 $DBE scan $T/w
    expect 1 $DBE export $T/w
    expect 1 $DBE get $T/w a
done
dmg; poke $T/w.dat $((REC + 13)) 'z'
expect 1 $DBE check $T/w
has "check: index 1's key" "$T/out" "index 1 has no entry for the record at $REC"
expect 1 $DBE del $T/w -i 2 1
dmg; set_hole $T/w.dat wide 200 9223372036854775807
expect 1 $DBE check $T/w
has "check: a hole of 2^63-1 bytes" "$T/out" "^problem: offset [0-9]*: a hole at 200 (9223372036854775807 bytes) lies outside the file"
expect 2 $DBE put $T/w d 4 -- v   # put: every refusal but UNIQUE is 2
dmg; set_hole $T/w.dat wide 0 5
expect 1 $DBE check $T/w
expect 2 $DBE put $T/w d 4 -- v   # put: every refusal but UNIQUE is 2
# a heap file of an original: every hole the allocator refuses
for hole in "9999 5" "0 5" "207 3" "20 40" "20 -5" "20 0" "20 2147483647"; do
    cp $F/classic/l16_heap.dat $T/h.dat; set_hole $T/h.dat classic $hole
    expect 1 $DBE check $T/h.dat
    has "heap check: hole $hole" "$T/out" "^problem: offset 207: a hole at"
done
expect 0 $DBE check $F/classic/l16_heap.dat
has "heap check: the summary" "$T/out" "^heap: 3 holes table(s), 5 hole(s), 77 bytes free"

# ---- heap and read on the fixtures
expect 0 $DBE heap $F/classic/l16_heap.dat
same "heap: tables and holes" "$T/out" "file: $F/classic/l16_heap.dat
layout: classic (32-bit positions)
size: 324 bytes
first holes table: 207
slots per table: 4 (39 bytes per table)
table 1 at 207: 3 record(s) in use, next 246
  hole 1: position 20, 10 bytes
  hole 2: position 57, 5 bytes
  hole 3: position 120, 33 bytes
table 2 at 246: 2 record(s) in use, next 285
  hole 1: position 160, 12 bytes
  hole 2: position 190, 17 bytes
table 3 at 285: 0 record(s) in use, next -1
free: 5 hole(s), 77 bytes in 3 table(s)\n"
expect 0 $DBE heap $F/wide/m64_heap.dat
grep '^table' "$T/out" | awk '{ sub(":", "", $4); print $2, $4, $5, $(NF) }' >"$T/t1"
awk '/^table [0-9]+ pos=/{ split($3, p, "="); split($4, u, "="); split($5, n, "="); print $2, p[2], u[2], n[2] }' \
    $F/wide/m64_heap.dat.manifest >"$T/t2"
cmp -s "$T/t1" "$T/t2" && ok "heap: wide tables = manifest" || { bad "heap: wide tables"; diff "$T/t1" "$T/t2" | head; }
expect 1 $DBE heap $F/classic/l16_test.ndx
expect 2 $DBE heap $T/missing
expect 2 $DBE heap
expect 0 $DBE read $F/classic/l16_heap.dat 200 50
same "read: hexdump -C style" "$T/out" \
'000000c8  4c 4d 4e 4f 50 51 52 8e  03 00 f6 00 00 00 00 00  |LMNOPQR.........|
000000d8  00 00 00 00 00 00 14 00  00 00 0a 00 00 00 39 00  |..............9.|
000000e8  00 00 05 00 00 00 78 00  00 00 21 00 00 00 1d 02  |......x...!.....|
000000f8  00 1d                                             |..|
000000fa\n'
if command -v hexdump >/dev/null 2>&1; then
    for spec in "classic/l16_heap.dat 0 324" "classic/l16_heap.dat 7 1000" "wide/m64_heap.dat 100 5000" \
                "classic/l16_test.ndx 3 70000" "wide/m64_strings.ndx 129000 39" "wide/m64_empty.ndx 0 0"; do
        set -- $spec
        $DBE read $F/$1 $2 $3 >"$T/a" 2>"$T/err" || bad "read $spec failed"
        hexdump -C -s $2 -n $3 $F/$1 | cmp -s - "$T/a" && ok "read $spec == hexdump -C" || bad "read $spec != hexdump -C"
    done
fi
expect 0 $DBE read $F/classic/l16_heap.dat 320 100
same "read: clamped at the end" "$T/out" '00000140  00 00 00 00                                       |....|\n00000144\n'
expect 2 $DBE read $F/classic/l16_heap.dat 400 1
expect 2 $DBE read $F/classic/l16_heap.dat -1 1
expect 2 $DBE read $F/classic/l16_heap.dat 0 x
expect 2 $DBE read $F/classic/l16_heap.dat 0
expect 2 $DBE read $T/missing 0 1
printf 'not a udb file' >"$T/plain"
expect 0 $DBE read "$T/plain" 4 3
same "read: any file, raw" "$T/out" '00000004  61 20 75                                          |a u|\n00000007\n'
err_has "raw bytes"

# ---- hot journals: a helper leaves one, as a killed dbe would
build_hot
if [ -z "$H" ]; then
    echo "skip hot-journal tests: cannot build tests/dbe_hot.c against $lib"
else
    $DBE create $T/h.ndx --index long_int:4 >/dev/null
    $H ndx $T/h.ndx && ok "hot journal made" || bad "dbe_hot ndx"
    expect 1 $DBE check $T/h.ndx
    has "check reports the hot journal" "$T/out" "^problem: hot journal"
    has "check says what to do" "$T/out" "dbe recover $T/h.ndx"
    expect 1 $DBE list $T/h.ndx
    err_has "hot journal"
    expect 0 $DBE recover $T/h.ndx
    same "recover: rolled back" "$T/out" "$T/h.ndx: hot journal rolled back\n"
    expect 0 $DBE recover $T/h.ndx
    same "recover: none" "$T/out" "$T/h.ndx: no hot journal\n"
    clean $T/h.ndx
    [ "$($DBE list $T/h.ndx | wc -l)" = 0 ] && ok "the interrupted records are gone" || bad "records survived"
    $DBE create-store $T/hs --index long_int:4 >/dev/null
    $DBE put $T/hs 7 -- kept >/dev/null
    $H store $T/hs && ok "hot store journal made" || bad "dbe_hot store"
    expect 1 $DBE check $T/hs
    has "store check reports it" "$T/out" "^problem: hot journal"
    expect 1 $DBE check $T/hs.dat
    expect 1 $DBE get $T/hs 7
    err_has "hot journal"
    expect 0 $DBE recover $T/hs
    same "recover STORE" "$T/out" "$T/hs: hot journal rolled back\n"
    clean $T/hs
    expect 0 $DBE scan $T/hs
    same "the store as it was" "$T/out" '7\tkept\n'
    # a hot journal left by an earlier store of the same name, its files
    # gone: a new store does not take it (a create played it onto the new
    # files and crashed, SIGSEGV)
    $DBE create-store $T/hn --index long_int:4 >/dev/null
    $H store $T/hn && ok "hot journal of hn made" || bad "dbe_hot store hn"
    rm $T/hn.ndx $T/hn.dat
    cksum <$T/hn.ndx-journal >"$T/j1"
    for c in "create-store $T/hn --index long_int:4" "create $T/hn.ndx --index long_int:4"; do
        expect 2 $DBE $c
        err_has "hot journal $T/hn.ndx-journal beside the new file was left by an earlier file"
        [ ! -e $T/hn.ndx ] && [ ! -e $T/hn.dat ] && ok "no file left" || bad "files left: $(ls $T/hn.*)"
    done
    cksum <$T/hn.ndx-journal | cmp -s - "$T/j1" && ok "the journal is untouched" || bad "the journal changed"
    mv $T/hn.ndx-journal $T/hn.old-journal
    expect 0 $DBE create-store $T/hn --index long_int:4
fi
expect 0 $DBE recover $S
same "recover: no journal" "$T/out" "$S: no hot journal\n"
expect 2 $DBE recover $T/missing

# ---- load --sorted
L=$T/l.ndx; L2=$T/l2.ndx
$DBE create $L --index string:12 --index long_int:4:unique >/dev/null
$DBE create $L2 --index string:12 >/dev/null
seq 1 3000 | awk '{ printf "k%05d\t%d\n", $1 % 1000, $1 }' | LC_ALL=C sort -s -k1,1 >"$T/sorted"
expect_in 0 "$T/sorted" $DBE load $L --sorted
same "load --sorted count" "$T/out" '3000\n'
$DBE load $L2 <"$T/sorted" >/dev/null
$DBE list $L | cmp -s - "$T/sorted" && ok "load --sorted: equal keys keep their order" || bad "load --sorted order"
clean $L
sum=$(md5sum <$L2)
printf '2\t1\n1\t2\n' >"$T/unsorted"
expect_in 2 "$T/unsorted" $DBE load $L -i 2 --sorted
err_has "line 2:"
err_has "not in key order"
expect_in 2 "$T/sorted" $DBE load $L2 --sorted
err_has "not empty"
[ "$(md5sum <$L2)" = "$sum" ] && ok "failed --sorted changes nothing" || bad "failed --sorted changed the file"
printf '1\t1\nx\t2\nbad\n3\t3\n' >"$T/badlines"
expect_in 2 "$T/badlines" $DBE load $L -i 2 --sorted
err_has "line 2: 'x' is not a LONG_INT"
err_has "line 3: no TAB"
err_has "nothing loaded (2 bad line(s) of 4; rolled back)"
[ "$($DBE list $L -i 2 | wc -l)" = 0 ] && ok "bad --sorted: index 2 still empty" || bad "bad --sorted loaded"
printf '5\t1\n5\t2\n' >"$T/dupu"
expect_in 2 "$T/dupu" $DBE load $L -i 2 --sorted
err_has "UNIQUE"
printf '1\t10\n2\t20\n' >"$T/ok2"
expect_in 0 "$T/ok2" $DBE load $L -i 2 --sorted
clean $L

# ---- export and import
X=$T/x
$DBE create-store $X --index string:40 --index long_int:4 --index block:3 >/dev/null
put() { $DBE put "$@" >/dev/null 2>"$T/err" || { bad "put $*"; cat "$T/err"; }; }
put $X plain 1 abc -- hello
put $X 'comma,quote"tab\tnl\nend' 2 0x010203 -- "$(printf 'x\001\002')"
put $X '' 3 0x000000 -- ''
put $X 'back\\slash' 4 abd -- 'a\b'
put $X '\\.' 5 '\t\n\r' -- 'end marker'
put $X 'caf\xc3\xa9' 6 abc -- 'utf-8'
put $X 'cr\rlf' 7 0xffffff -- "$(printf 'line\r\nbreak')"
put $X ' spaces ' -8 abc -- ' v '
put $X dup 9 abc -- first
put $X dup 10 abc -- second
put $X '\x30xnot hex' 11 abc -- hex-looking
printf '\000\377\000\n\t,"' >"$T/binval"
$DBE put $X binary 12 abc -- - <"$T/binval" || bad "put binary"
for fmt in tsv csv jsonl; do
    expect 0 $DBE export $X --format $fmt
    mv "$T/out" "$T/e1.$fmt"
    [ ! -s "$T/err" ] && ok "export $fmt: quiet in a pipe" || { bad "export $fmt wrote to stderr"; cat "$T/err"; }
    for how in plain sorted; do
        Y=$T/y-$fmt-$how
        $DBE create-store $Y --index string:40 --index long_int:4 --index block:3 >/dev/null
        if [ $how = sorted ]; then
            expect_in 0 "$T/e1.$fmt" $DBE import $Y --format $fmt --sorted
        else
            expect_in 0 "$T/e1.$fmt" $DBE import $Y --format $fmt
        fi
        same "import $fmt $how: count" "$T/out" '12\n'
        [ ! -s "$T/err" ] && ok "import $fmt: quiet in a pipe" || bad "import $fmt wrote to stderr"
        $DBE export $Y --format $fmt >"$T/e2"
        cmp -s "$T/e1.$fmt" "$T/e2" && ok "$fmt $how: export -> import -> export is the same" ||
            { bad "$fmt $how round trip"; diff "$T/e1.$fmt" "$T/e2" | head; }
        $DBE get $Y binary | cmp -s - "$T/binval" && ok "$fmt $how: binary value" || bad "$fmt $how: binary value"
        clean $Y
    done
done
same "tsv export" "$T/e1.tsv" 'k1\tk2\tk3\tv
\t3\t0x000000\t
 spaces \t-8\t0x616263\t v 
\\x30xnot hex\t11\t0x616263\thex-looking
\\\\.\t5\t0x090a0d\tend marker
back\\\\slash\t4\t0x616264\ta\\\\b
binary\t12\t0x616263\t\\x00\\xff\\x00\\n\\t,"
caf\\xc3\\xa9\t6\t0x616263\tutf-8
comma,quote"tab\\tnl\\nend\t2\t0x010203\tx\\x01\\x02
cr\\x0dlf\t7\t0xffffff\tline\\x0d\\nbreak
dup\t10\t0x616263\tsecond
dup\t9\t0x616263\tfirst
plain\t1\t0x616263\thello
'
same "csv export" "$T/e1.csv" 'k1,k2,k3,v
"",3,0x000000,\\x
 spaces ,-8,0x616263,\\x207620
0xnot hex,11,0x616263,\\x6865782d6c6f6f6b696e67
"\\.",5,0x090a0d,\\x656e64206d61726b6572
back\\slash,4,0x616264,\\x615c62
binary,12,0x616263,\\x00ff000a092c22
caf\0303\0251,6,0x616263,\\x7574662d38
"comma,quote""tab\tnl
end",2,0x010203,\\x780102
"cr\rlf",7,0xffffff,\\x6c696e650d0a627265616b
dup,10,0x616263,\\x7365636f6e64
dup,9,0x616263,\\x6669727374
plain,1,0x616263,\\x68656c6c6f
'
same "jsonl export" "$T/e1.jsonl" '{"k1": "", "k2": 3, "k3": "0x000000", "v": ""}
{"k1": " spaces ", "k2": -8, "k3": "0x616263", "v": "IHYg"}
{"k1": "0xnot hex", "k2": 11, "k3": "0x616263", "v": "aGV4LWxvb2tpbmc="}
{"k1": "\\\\.", "k2": 5, "k3": "0x090a0d", "v": "ZW5kIG1hcmtlcg=="}
{"k1": "back\\\\slash", "k2": 4, "k3": "0x616264", "v": "YVxi"}
{"k1": "binary", "k2": 12, "k3": "0x616263", "v": "AP8ACgksIg=="}
{"k1": "caf\0303\0251", "k2": 6, "k3": "0x616263", "v": "dXRmLTg="}
{"k1": "comma,quote\\"tab\\tnl\\nend", "k2": 2, "k3": "0x010203", "v": "eAEC"}
{"k1": "cr\\rlf", "k2": 7, "k3": "0xffffff", "v": "bGluZQ0KYnJlYWs="}
{"k1": "dup", "k2": 10, "k3": "0x616263", "v": "c2Vjb25k"}
{"k1": "dup", "k2": 9, "k3": "0x616263", "v": "Zmlyc3Q="}
{"k1": "plain", "k2": 1, "k3": "0x616263", "v": "aGVsbG8="}
'
expect 0 $DBE export $X -i 2 --format csv
head -3 "$T/out" >"$T/i2head"
same "export -i 2: in the order of index 2" "$T/i2head" 'k1,k2,k3,v\n spaces ,-8,0x616263,\\x207620\nplain,1,0x616263,\\x68656c6c6f\n'
Y=$T/y-i2
$DBE create-store $Y --index string:40 --index long_int:4 --index block:3 >/dev/null
$DBE export $X -i 2 >"$T/e-i2"
expect_in 2 "$T/e-i2" $DBE import $Y --sorted
err_has "not in key order"
[ "$($DBE scan $Y | wc -l)" = 0 ] && ok "unsorted --sorted: nothing imported" || bad "unsorted --sorted imported"
expect_in 0 "$T/e-i2" $DBE import $Y
$DBE export $Y -i 2 | cmp -s - "$T/e-i2" && ok "import in index 2 order, export -i 2" || bad "import -i 2 order"

# a compressed store in the classic layout: the same records
Z=$T/z
$DBE create-store $Z --layout classic --compress --index string:40 --index long_int:4 --index block:3 >/dev/null
for fmt in tsv csv jsonl; do
    $DBE create-store $Z-$fmt --layout classic --compress --index string:40 --index long_int:4 \
        --index block:3 >/dev/null
    expect_in 0 "$T/e1.$fmt" $DBE import $Z-$fmt --format $fmt
    $DBE export $Z-$fmt --format $fmt | cmp -s - "$T/e1.$fmt" && ok "classic compressed $fmt round trip" ||
        bad "classic compressed $fmt round trip"
    clean $Z-$fmt
done

# JSON written by other tools: \u escapes, surrogate pairs, any member order
printf '%s\n' '{"v": "aGk=", "k3": "abc", "k2": 100, "k1": "caf\u00e9 \ud83d\ude00"}' '' \
    '  {"k1":"x\/y","k2":"101","k3":"0x616263","v":""}  ' >"$T/other.jsonl"
expect_in 0 "$T/other.jsonl" $DBE import $Z --format jsonl
same "foreign JSON: count" "$T/out" '2\n'
expect 0 $DBE scan $Z
same "foreign JSON: decoded" "$T/out" 'caf\\xc3\\xa9 \\xf0\\x9f\\x98\\x80\thi\nx/y\t\n'

# a STRING key that is not UTF-8: written as it is, with a note
$DBE create-store $T/u --index string:8 >/dev/null
$DBE put $T/u 'a\xffb' -- v >/dev/null
expect 0 $DBE export $T/u --format csv
same "non-UTF-8 key in CSV: its bytes" "$T/out" 'k1,v\na\0377b,\\x76\n'
err_has "1 STRING key(s) are not UTF-8"
expect 0 $DBE export $T/u
same "... escaped in TSV" "$T/out" 'k1\tv\na\\xffb\tv\n'
[ ! -s "$T/err" ] && ok "TSV: no note" || bad "TSV: a note"

# an index file: key and datapos
N=$T/n.ndx
$DBE create $N --index string:20 --index integer:2 >/dev/null
printf 'b,x\t1\na\t2\nb,x\t3\n' | $DBE load $N >/dev/null
printf '7\t5\n-7\t6\n' | $DBE load $N -i 2 >/dev/null
for fmt in tsv csv jsonl; do
    $DBE export $N --format $fmt >"$T/n1.$fmt" || bad "export $N $fmt"
    $DBE create $T/n-$fmt.ndx --index string:20 --index integer:2 >/dev/null
    expect_in 0 "$T/n1.$fmt" $DBE import $T/n-$fmt.ndx --format $fmt
    $DBE export $T/n-$fmt.ndx --format $fmt | cmp -s - "$T/n1.$fmt" && ok "index file $fmt round trip" ||
        bad "index file $fmt round trip"
done
same "index file csv" "$T/n1.csv" 'key,datapos\na,2\n"b,x",3\n"b,x",1\n'
$DBE export $N -i 2 --format jsonl >"$T/n2"
same "index file -i 2 jsonl" "$T/n2" '{"key": -7, "datapos": 6}\n{"key": 7, "datapos": 5}\n'
expect_in 0 "$T/n2" $DBE import $T/n-tsv.ndx -i 2 --format jsonl --sorted
$DBE list $T/n-tsv.ndx -i 2 >"$T/l"
same "index file import -i 2 --sorted" "$T/l" '-7\t6\n7\t5\n'

# bad input: reported with its line, nothing imported
cp $Z.ndx $T/zz.ndx; cp $Z.dat $T/zz.dat
sum=$(cat $T/zz.ndx $T/zz.dat | md5sum)
printf 'k1\tk2\tk3\tv\nok\t1\tabc\tv\nshort\t2\n\t3\tabc\tbad\\q\nlong-key-longer-than-forty-bytes-xxxxxxxxxx\t4\tabc\tv\nn\tx\tabc\tv\n' >"$T/bad.tsv"
expect_in 2 "$T/bad.tsv" $DBE import $T/zz
err_has "line 3: 2 field(s); the columns are 4"
err_has "line 4: v: not text with C escapes"
err_has "line 5: k1:"
err_has "line 6: k2: 'x' is not a LONG_INT"
err_has "nothing imported (4 bad record(s); rolled back)"
printf 'k1,k2,k3,v\nx,1,abc,\\x\n"open,2,abc,\\x\n' >"$T/bad.csv"
expect_in 2 "$T/bad.csv" $DBE import $T/zz --format csv
err_has "line 3: the input ends inside a quoted field"
printf 'k1,k2,k3,v\nx,2,abc,\\xzz\ny,3,abc,nohex\n"q"x,4,abc,\\x\nw,5,ab"c,\\x\n' >"$T/bad.csv"
expect_in 2 "$T/bad.csv" $DBE import $T/zz --format csv
err_has "line 2: v: not \\\\x and pairs of hex digits"
err_has "line 3: v: not"
err_has "line 4: text after a closing quote"
err_has "line 5: a quote inside a field"
printf '%s\n' '{"k1": "a", "k2": 1, "k3": "abc"}' '{"k1": "a", "k2": 1, "k3": "abc", "v": "!!"}' \
    '{"k1": "a", "k2": 1, "k3": "abc", "v": "", "x": 1}' '["k1"]' '{"k1": "a", "k1": "b"}' \
    '{"k1": true}' '{"k1": "a", "k2": 1, "k3": "abc", "v": ""} x' '{"k1": "\ud800", "k2": 1}' >"$T/bad.jsonl"
expect_in 2 "$T/bad.jsonl" $DBE import $T/zz --format jsonl
err_has 'line 1: "v" is missing'
err_has "line 2: v: not a base64 string"
err_has 'line 3: unknown name "x"'
err_has "line 4: not a JSON object"
err_has 'line 5: "k1" appears twice'
err_has "line 6: values are strings or numbers"
err_has "line 7: text after the object"
err_has "line 8: a \\\\u escape of a lone surrogate"
printf 'key\tv\n' >"$T/badhead"
expect_in 2 "$T/badhead" $DBE import $T/zz
err_has "the first line must name the columns of $T/zz: k1<TAB>k2<TAB>k3<TAB>v"
[ "$(cat $T/zz.ndx $T/zz.dat | md5sum)" = "$sum" ] && ok "bad imports change nothing" || bad "a bad import changed the store"
printf 'k1\tk2\tk3\tv\na\t1\tabc\tv\n' >"$T/one.tsv"
expect_in 2 "$T/one.tsv" $DBE import $T/zz --sorted
err_has "not empty"
: >"$T/empty"
expect_in 0 "$T/empty" $DBE import $T/zz
same "empty input" "$T/out" '0\n'
expect 2 $DBE export $X --format xml
expect 2 $DBE import $X --format xml
expect 2 $DBE import $X -i 2
expect 2 $DBE export $X -i 4
expect 2 $DBE export $T/missing
expect 2 $DBE export $X extra
expect 1 $DBE export $F/classic/l16_heap.dat

# ---- a store larger than memory opens writable (regression: the room for
# its growth, a quarter of its size, was charged as memory up front, so a
# writable open of a heap four times RAM + swap failed with ENOMEM)
kib=$(awk '/^(MemTotal|SwapTotal):/ {k += $2} END {print k + 0}' /proc/meminfo 2>/dev/null)
if [ "${kib:-0}" -gt 0 ]; then
    B=$T/hugestore
    expect 0 $DBE create-store $B --index long_int:4
    expect 0 $DBE put $B 1 -- one
    truncate -s $(( (kib / 1048576 + 1) * 4 + 8 ))G $B.dat
    expect 0 $DBE put $B 2 -- two
    expect 0 $DBE get $B 2
    same "the record of a store larger than memory" "$T/out" 'two'
    rm -f $B.*
fi

# ---- help and the man page name every new command
$DBE --help >"$T/help"
for c in create-store put get del scan compact export import heap read recover; do
    grep -q "dbe $c " "$T/help" && ok "--help: $c" || bad "--help lacks $c"
    $DBE $c --help >"$T/h1" && grep -q "usage: dbe $c" "$T/h1" && ok "dbe $c --help" || bad "dbe $c --help"
    grep -q "^\.B $c " doc/dbe.1 && ok "dbe.1: $c" || bad "dbe.1 lacks $c"
done

finish
