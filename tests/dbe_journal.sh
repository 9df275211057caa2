#!/bin/sh
# Hostile journals through dbe: a journal travels with its data files (a
# copy, an archive, a shared folder), so every byte of it is checked before
# anything is written. A crafted sub/I.ndx-journal that names ../victim.txt
# (the attack of issue 13) and one journal per other hostile field are
# refused by append, list, check, heap and recover on an index file, a store
# and a heap file; the victim outside the directory, the data files and the
# journal keep their bytes; removing the journal is the way out. A valid
# crafted journal is applied (so the refusals are the fields under test).
NAME=dbe_journal; . tests/lib/dbe_test.sh
PS=$(getconf PAGESIZE)
err_has() { has "message: $1" "$T/err" "$1"; }
unchanged() { # unchanged WHAT FILE COPY
    cmp -s "$2" "$3" && ok "$1: $(basename "$2") unchanged" || bad "$1: $2 changed"
}

# mkj OUT [-p PSIZE] [-n NFILES] NAME=ORIG[=NLEN]... [-- FILE:PAGE:FILL...]
# writes a hot journal as udb/journal.c and doc/format.md describe it, every
# crc32 valid (zlib's). NAME takes Python escapes (\x00); FILL is a byte.
cat >"$T/mkj.py" <<'EOF'
import struct, sys, zlib
a = sys.argv[1:]
out, a = a[0], a[1:]
ps, nf, files, recs, salt = None, None, [], [], 0x5eed
while a:
    x, a = a[0], a[1:]
    if x == '-p': ps, a = int(a[0]), a[1:]
    elif x == '-n': nf, a = int(a[0]), a[1:]
    elif x == '--': recs, a = a, []
    else: files.append(x.split('='))
h = bytearray(512)
h[0:8] = b'udbjrnl\x01'
struct.pack_into('<IIQQI', h, 8, 1, ps, 7, salt, len(files) if nf is None else nf)
for i, f in enumerate(files):
    name = f[0].encode().decode('unicode_escape').encode('latin-1')
    nlen = int(f[2]) if len(f) > 2 else len(name)
    struct.pack_into('<QH', h, 40 + 216 * i, int(f[1]), nlen)
    h[50 + 216 * i:50 + 216 * i + min(len(name), 200)] = name[:200]
struct.pack_into('<I', h, 508, zlib.crc32(bytes(h[:508])))
body = b''
for r in recs:
    fi, pg, fill = (int(v) for v in r.split(':'))
    rh = bytearray(32)
    rh[0:4] = b'1rec'
    struct.pack_into('<IQQ', rh, 4, fi, pg, salt)
    img = bytes([fill]) * ps
    struct.pack_into('<I', rh, 24, zlib.crc32(img, zlib.crc32(bytes(rh[:24]))))
    body += bytes(rh) + img
open(out, 'wb').write(bytes(h) + body)
EOF
mkj() { out=$1; shift; python3 "$T/mkj.py" "$out" -p "$PS" "$@" || bad "mkj $*"; }
size() { wc -c <"$1" | tr -d ' '; }

printf 'precious data\n' >"$T/victim.txt"
cp "$T/victim.txt" "$T/victim.orig"
mkdir "$T/sub"
I=$T/sub/I.ndx
$DBE create $I --index string:8 >/dev/null && $DBE append $I a 1 >/dev/null || bad "setup $I"
cp $I "$T/I.orig"
ISZ=$(size $I)

# ---- the attack: file 1 is ../victim.txt (without and with a page record)
mkj $I-journal I.ndx=$ISZ ../victim.txt=3
cp $I-journal "$T/j.orig"
expect 1 $DBE append $I b 2
err_has "refused"
err_has "$I-journal"
err_has "'../victim.txt'"
unchanged "append" "$T/victim.txt" "$T/victim.orig"
unchanged "append" $I "$T/I.orig"
unchanged "append" $I-journal "$T/j.orig"
mkj $I-journal I.ndx=$ISZ ../victim.txt=14 -- 1:0:65
cp $I-journal "$T/j.orig"
for cmd in "recover $I" "append $I b 2" "list $I" "find $I a"; do
    expect 1 $DBE $cmd
    err_has "refused"
    unchanged "$cmd" "$T/victim.txt" "$T/victim.orig"
    unchanged "$cmd" $I "$T/I.orig"
    unchanged "$cmd" $I-journal "$T/j.orig"
done
expect 1 $DBE check $I
has "check reports the refusal" "$T/err" "refused"
unchanged "check" "$T/victim.txt" "$T/victim.orig"

# ---- the way out: the journal, inspected, is removed; the file opens as it is
expect 0 $DBE read $I-journal 0 64
rm $I-journal
expect 0 $DBE append $I b 2
expect 0 $DBE check $I
unchanged "after the way out" "$T/victim.txt" "$T/victim.orig"
cp $I "$T/I.orig"
ISZ=$(size $I)

# ---- one journal per hostile field, on the index file (dbe recover and append)
long=$(printf '%0201d' 0)
n=0
while read -r what args; do
    n=$((n + 1))
    eval "mkj $I-journal $args"
    cp $I-journal "$T/j.orig"
    for cmd in "recover $I" "append $I c 3"; do
        expect 1 $DBE $cmd
        err_has "refused"
        unchanged "$what: $cmd" $I "$T/I.orig"
        unchanged "$what: $cmd" $I-journal "$T/j.orig"
        unchanged "$what: $cmd" "$T/victim.txt" "$T/victim.orig"
    done
done <<EOF
absolute-path I.ndx=$ISZ $(pwd)/$T/victim.txt=3 -- 1:0:65
other-file-beside I.ndx=$ISZ other.dat=3
dot-dot ..=3
slash ./I.ndx=$ISZ
empty-name =$ISZ
nul-in-name 'I.ndx\\x00/../../victim.txt=$ISZ'
duplicate I.ndx=$ISZ I.ndx=$ISZ -- 1:0:65
name-over-field $long=$ISZ=201
no-files -n 0 I.ndx=$ISZ
three-files -n 3 I.ndx=$ISZ I.dat=0
size-negative I.ndx=9223372036854775808
size-overflowing I.ndx=18446744073709551615
size-beyond-records I.ndx=$((ISZ + 8 * PS)) -- 0:0:65
record-file-out-of-range I.ndx=$ISZ -- 1:0:65
record-page-beyond I.ndx=$ISZ -- 0:$(( (ISZ + PS - 1) / PS )):65
record-page-wraps I.ndx=$ISZ -- 0:$(python3 -c "print(2**64 // $PS)"):65
valid-then-bad I.ndx=$ISZ -- 0:0:65 7:0:65
page-size-512 -p 512 I.ndx=$ISZ
page-size-1000 -p 1000 I.ndx=$ISZ
page-size-131072 -p 131072 I.ndx=$ISZ
EOF
[ $n = 20 ] && ok "20 hostile journals" || bad "$n hostile journals"
rm -f $I-journal

# ---- a symbolic link as the journal: never followed
ln -s ../victim.txt $I-journal
expect 1 $DBE append $I c 3
err_has "symbolic link"
unchanged "journal link" "$T/victim.txt" "$T/victim.orig"
rm $I-journal
ln -s ../made.txt $I-journal
expect 1 $DBE append $I c 3
[ -e "$T/made.txt" ] && bad "a dangling journal link made its target" || ok "a dangling journal link made nothing"
rm $I-journal

# ---- a store, and its heap file opened alone
mkdir "$T/st"
S=$T/st/s
$DBE create-store $S --index string:8 >/dev/null && $DBE put $S k -- v >/dev/null || bad "setup $S"
cp $S.ndx "$T/s.ndx.orig"; cp $S.dat "$T/s.dat.orig"
mkj $S.ndx-journal s.ndx=$(size $S.ndx) ../victim.txt=3 -- 1:0:65
for cmd in "put $S k2 -- v2" "get $S k" "recover $S" "heap $S.dat" "recover $S.dat" "check $S"; do
    expect 1 $DBE $cmd
    unchanged "store: $cmd" "$T/victim.txt" "$T/victim.orig"
    unchanged "store: $cmd" $S.ndx "$T/s.ndx.orig"
    unchanged "store: $cmd" $S.dat "$T/s.dat.orig"
done
has "store: the refusal" "$T/err" "refused"
mkj $S.ndx-journal s.ndx=$(size $S.ndx) s.dat=18446744073709551615
expect 1 $DBE recover $S
err_has "impossible"
rm $S.ndx-journal
expect 0 $DBE get $S k
# a heap file alone: its own journal names only itself
mkdir "$T/hp"
H=$T/hp/h.dat
cp $S.dat $H
mkj $H-journal h.dat=$(size $H) ../victim.txt=3 -- 1:0:65
for cmd in "heap $H" "recover $H"; do
    expect 1 $DBE $cmd
    err_has "refused"
    unchanged "heap: $cmd" "$T/victim.txt" "$T/victim.orig"
    unchanged "heap: $cmd" $H "$T/s.dat.orig"
done
rm $H-journal

# ---- the same crafting with every field right is applied
mkj $I-journal I.ndx=$ISZ -- 0:0:65
expect 0 $DBE recover $I
same "a valid crafted journal is rolled back" "$T/out" "$I: hot journal rolled back\n"
[ "$(head -c 16 $I)" = AAAAAAAAAAAAAAAA ] && ok "its page is in the file" || bad "its page is not in the file"
unchanged "valid journal" "$T/victim.txt" "$T/victim.orig"

# ---- a small commit whose clean header a crash lost: its commit record
# finds the files whole, and recover keeps it (doc/api.md, sync)
K=$T/kept/k
mkdir "$T/kept"
$DBE create-store $K --index string:8 >/dev/null && $DBE put $K a -- one >/dev/null &&
    $DBE put $K b -- two >/dev/null || bad "setup $K"
python3 - "$K.ndx-journal" <<'EOF' || bad "make the journal hot again"
import struct, sys, zlib
p = sys.argv[1]
j = bytearray(open(p, 'rb').read())
state, counter = struct.unpack_from('<I', j, 8)[0], struct.unpack_from('<Q', j, 16)[0]
assert state == 2 and struct.unpack_from('<Q', j, 480)[0] > 512  # clean, not synced: next past its records
struct.pack_into('<I', j, 8, 1)
struct.pack_into('<Q', j, 16, counter - 1)
struct.pack_into('<Q', j, 480, 512)
struct.pack_into('<I', j, 508, zlib.crc32(bytes(j[:508])))
open(p, 'wb').write(bytes(j))
EOF
expect 0 $DBE recover $K
same "a whole commit is kept" "$T/out" "$K: hot journal: its commit had reached the files whole and is kept\n"
expect 0 $DBE get $K b
same "its record is there" "$T/out" "two"
expect 0 $DBE check $K
finish
