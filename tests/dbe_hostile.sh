#!/bin/sh
# Damaged files, journals and logs thrown at every dbe command: index files,
# stores and heaps of both layouts (written by udb, and the originals'
# fixtures), hot rollback journals and write-ahead logs, each damaged by a
# few mutations (bit flips, interesting values, cuts, copies) whose
# checksums are then recomputed most of the time (tests/fuzz/fixsum, as an
# attacker would). Every reading and writing command must end with exit 0,
# 1 or 2 (no signal, no sanitizer report, no hang); a reading command must
# change no byte; a file that dbe check calls clean must read through
# every reading command and take a write without an I/O error; nothing
# outside the directory changes. Fixed seed; UDB_HOSTILE_ROUNDS=N damages
# more (default 40), UDB_HOSTILE_SEED=S others. Under `make check
# SANITIZE=1` it runs against the sanitizer build.
# (Found with it: dbe compact exiting 243, a leak in dbe checkpoint, store
# commands refused beside a WAL log, a create crashing on an earlier
# file's hot journal.)
NAME=dbe_hostile; . tests/lib/dbe_test.sh
command -v python3 >/dev/null || { echo "SKIPPED: python3 is not installed"; exit 77; }
B=$(dirname "$DBE"); [ "$B" = dbe ] && B=build
FIX=$B/tests/fuzz/fixsum
[ -x "$FIX" ] || { bad "no $FIX (make test-bin builds it)"; finish; exit 1; }
build_hot
[ -n "$H" ] || { bad "cannot build tests/dbe_hot.c"; finish; exit 1; }

# ---- the files to damage
mkdir "$T/base" "$T/out"
cd "$T/base"
D="$OLDPWD/$DBE"; case "$DBE" in /*) D=$DBE ;; esac
case "$H" in /*) ;; *) H="$OLDPWD/$H" ;; esac
$D create-store ws --index long_int:4:unique+delete --index string:12:delete --compress >/dev/null
$D create-store cs --index long_int:4:unique+delete --index string:8:delete --index long_int:4:delete --layout classic >/dev/null
awk 'BEGIN { for (i = 1; i <= 150; i++) { v = ""; for (j = 0; j < (i * 7) % 300; j++) v = v "x"; printf "%d\tname%d\tvalue-%d-%s\n", i, i % 37, i, v } }' >ws.tsv
awk 'BEGIN { for (i = 1; i <= 120; i++) { v = ""; for (j = 0; j < (i * 11) % 500; j++) v = v "y"; printf "%d\tn%d\t%d\tv%d%s\n", i, i % 23, i * 3, i, v } }' >cs.tsv
$D import ws ws.tsv --tsv --key 1 --key 2 --value 3 >/dev/null
$D import cs cs.tsv --tsv --key 1 --key 2 --key 3 --value 4 >/dev/null
for i in $(seq 3 3 120); do echo "$i"; done | while read -r k; do $D del ws "$k" >/dev/null; done
$D create wi.ndx --index string:16:delete --index long_int:4:unique+delete >/dev/null
$D create ci.ndx --index string:10:delete --index long_int:4 --layout classic >/dev/null
awk 'BEGIN { for (i = 1; i <= 200; i++) printf "key%d\t%d\n", i, i * 100 }' | $D load wi.ndx >/dev/null
awk 'BEGIN { for (i = 1; i <= 200; i++) printf "%d\t%d\n", i, i * 7 }' | $D load wi.ndx -i 2 >/dev/null
awk 'BEGIN { for (i = 1; i <= 150; i++) printf "k%d\t%d\n", i, i * 10 }' | $D load ci.ndx >/dev/null
$D create h1.ndx --index long_int:4 >/dev/null && $H ndx h1.ndx
$D create-store h2 --index long_int:4 >/dev/null && $H store h2
$D create-store h3 --index long_int:4 >/dev/null && $H walcrash h3 30
$D create-store h4 --index long_int:4 --layout classic --compress >/dev/null && $H store h4
rm -f h3.ndx-shm
cp "$OLDPWD/$F/classic/l16_types.ndx" "$OLDPWD/$F/classic/l16_heap.dat" "$OLDPWD/$F/wide/m64_types.ndx" \
   "$OLDPWD/$F/wide/m64_heap.ndx" "$OLDPWD/$F/wide/m64_heap.dat" . && chmod 644 ./*
for f in ws cs wi.ndx ci.ndx; do $D check $f >/dev/null || bad "the base file $f is not clean"; done
cd "$OLDPWD"
echo victim >"$T/victim"

DBE_ABS=$D python3 - "$T" "$FIX" "${UDB_HOSTILE_SEED:-1}" "${UDB_HOSTILE_ROUNDS:-40}" <<'EOF'
import hashlib, os, random, shutil, subprocess, sys
T, FIX, seed, rounds = sys.argv[1], os.path.abspath(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
DBE = os.environ['DBE_ABS']
B, W = os.path.join(T, 'base'), os.path.join(T, 'work')
rnd = random.Random(seed)
env = dict(os.environ, ASAN_OPTIONS='detect_leaks=1:allocator_may_return_null=1:' + os.environ.get('ASAN_OPTIONS', ''))
# (kind, files, layout or fixer); hot kinds damage their last file only
BASES = [('store', ['ws.ndx', 'ws.dat'], 'wide'), ('store', ['cs.ndx', 'cs.dat'], 'classic'),
         ('ndx', ['wi.ndx'], 'wide'), ('ndx', ['ci.ndx'], 'classic'), ('ndx', ['l16_types.ndx'], 'classic'),
         ('ndx', ['m64_types.ndx'], 'wide'), ('ndx', ['m64_heap.ndx'], 'wide'), ('heap', ['m64_heap.dat'], 'wide'),
         ('heap', ['l16_heap.dat'], 'classic'), ('hotndx', ['h1.ndx', 'h1.ndx-journal'], 'journal'),
         ('hotstore', ['h2.ndx', 'h2.dat', 'h2.ndx-journal'], 'journal'),
         ('hotstore', ['h4.ndx', 'h4.dat', 'h4.ndx-journal'], 'journal'), ('wal', ['h3.ndx', 'h3.dat', 'h3.ndx-wal'], 'log')]
STORES = ('store', 'hotstore', 'wal')
READ = {'store': ['info S', 'check S', 'count S', 'scan S', 'scan S -i 2 --reverse', 'export S --format jsonl', 'textdump S',
                  'get S 5', 'get S -i 2 name3', 'stat S', 'heap S', 'count S -i 2'],
        'ndx': ['info F', 'check F', 'list F', 'list F -i 2 --reverse', 'find F key5', 'count F', 'dump F', 'stat F', 'export F',
                'textdump F'],
        'heap': ['info F', 'heap F', 'check F', 'stat F', 'read F 0 64'],
        'hotndx': ['info F', 'check F', 'list F', 'find F 5', 'count F', 'dump F', 'export F']}
READ['hotstore'] = READ['wal'] = ['info S', 'check S', 'count S', 'scan S', 'get S 5', 'heap S', 'textdump S']
WRITE = {'store': ['put S 999 zz 77 -- hello', 'del S 7', 'update S 10 -- new', 'compact S', 'compact S -i 2', 'repair S',
                   'backup S BK', 'recover S', 'checkpoint S'],
         'ndx': ['append F key77 5', 'delete F key9', 'compact F', 'repair F -o R.ndx', 'repair F', 'convert F C.ndx --layout classic',
                 'convert F C2.ndx --layout wide', 'backup F BK.ndx', 'recover F'],
         'heap': ['recover F'],
         'hotndx': ['recover F', 'append F 99999 5', 'compact F', 'repair F', 'backup F BK.ndx', 'checkpoint F']}
WRITE['hotstore'] = WRITE['wal'] = ['recover S', 'put S 99999 -- x', 'compact S', 'repair S', 'backup S BK', 'checkpoint S', 'del S 7']
# commands a store with one index or a foreign file may refuse for what they are, not for damage
ASK = ('get', 'find', 'list F -i 2', 'scan S -i 2', 'count S -i 2', 'del S', 'update', 'put S 999 zz')
VALUES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 2**32, 2**63 - 1, 2**64 - 1, 4096, 65536]

def mutate(b):
    b = bytearray(b)
    for _ in range(rnd.randint(1, 5)):
        if not b:
            break
        m = rnd.random()
        if m < 0.35:
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        elif m < 0.8:
            w = rnd.choice([1, 2, 4, 8]); i = rnd.randrange(max(1, len(b) - w))
            b[i:i + w] = (rnd.choice(VALUES + [rnd.getrandbits(32)]) & ((1 << 8 * w) - 1)).to_bytes(w, 'little')
        elif m < 0.9:
            b = b[:rnd.randrange(len(b))]
        else:
            i, j, n = rnd.randrange(len(b)), rnd.randrange(len(b)), rnd.randint(1, 64)
            b[j:j + n] = b[i:i + n]
    return bytes(b)

def digest(paths):
    h = hashlib.sha1()
    for p in paths:
        h.update(open(p, 'rb').read() if os.path.exists(p) else b'-')
    return h.hexdigest()

def run(cmd):
    try:
        p = subprocess.run([DBE] + cmd, cwd=W, capture_output=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
        return p.returncode, p.stderr.decode('latin1')
    except subprocess.TimeoutExpired:
        return 'timeout', ''

fails = 0
def bad(what, cmd, rc, err, files):
    global fails
    fails += 1
    keep = os.path.join(T, 'out', 'case%d' % fails)
    shutil.copytree(os.path.join(T, 'snap'), keep)
    print('FAIL %s: dbe %s -> %s (damaged files kept in %s)\n%s' % (what, ' '.join(cmd), rc, keep, err[-1500:]))

victim = [os.path.join(T, 'victim')] + [os.path.join(B, f) for f in ('ws.ndx', 'ws.dat')]
checked = clean = 0
for r in range(rounds):
    kind, files, fix = BASES[r % len(BASES)] if r < len(BASES) else rnd.choice(BASES)
    shutil.rmtree(W, ignore_errors=True); os.makedirs(W)
    for f in files:
        shutil.copy(os.path.join(B, f), W)
    hot = kind in ('hotndx', 'hotstore', 'wal')
    targets = [files[-1]] if hot else [rnd.choice(files)] if kind == 'store' and rnd.random() < 0.8 else files
    for f in targets:
        p = os.path.join(W, f); open(p, 'wb').write(mutate(open(p, 'rb').read()))
    if rnd.random() < 0.75 and kind != 'heap':
        p = [os.path.join(W, f) for f in files]
        subprocess.run([FIX, fix, p[-1]] if hot else [FIX, 'ndx'] + p + [fix], check=True)
    shutil.rmtree(os.path.join(T, 'snap'), ignore_errors=True); shutil.copytree(W, os.path.join(T, 'snap'))
    snap = {f: open(os.path.join(W, f), 'rb').read() for f in files}
    paths = [os.path.join(W, f) for f in files]
    name = files[0][:-4] if kind in STORES else files[0]
    v0 = digest(victim)
    res = {}
    for c in READ[kind]:
        cmd = [name if a in ('S', 'F') else a for a in c.split()]
        before = digest(paths)
        rc, err = run(cmd)
        res[c] = rc
        if rc == 'timeout' or rc < 0 or rc > 2 or 'Sanitizer' in err or 'runtime error' in err:
            bad('a reading command crashed, hung or left the exit codes', cmd, rc, err, files)
        elif digest(paths) != before:
            bad('a reading command changed the files', cmd, rc, err, files)
    checked += 1
    is_clean = res.get('check S' if kind in STORES else 'check F') == 0
    clean += is_clean
    if is_clean:
        for c, rc in res.items():
            if rc != 0 and not c.startswith(ASK):
                bad('check said clean, then a read failed', c.split(), rc, '', files)
    for c in WRITE[kind]:
        for f in files:
            open(os.path.join(W, f), 'wb').write(snap[f])
        for x in os.listdir(W):
            if x not in files:
                os.unlink(os.path.join(W, x))
        cmd = [name if a in ('S', 'F') else a for a in c.split()]
        rc, err = run(cmd)
        if rc == 'timeout' or rc < 0 or rc > 2 or 'Sanitizer' in err or 'runtime error' in err:
            bad('a writing command crashed, hung or left the exit codes', cmd, rc, err, files)
        elif is_clean and rc == 2 and not c.startswith(ASK):
            bad('check said clean, then a write failed', cmd, rc, err, files)
        elif is_clean and rc == 0 and cmd[0] in ('put', 'del', 'update', 'compact', 'append', 'delete', 'repair'):
            rc2, err2 = run(['check', name])
            if rc2 != 0:
                bad('a write on a clean file left it unclean', cmd, rc2, err2, files)
    if digest(victim) != v0:
        bad('a file outside the directory changed', [kind] + files, '-', '', files)
print('%d damaged sets (%d that check called clean), %d failure(s)' % (checked, clean, fails))
sys.exit(1 if fails else 0)
EOF
[ $? = 0 ] && ok "damaged files, journals and logs: every command held" || bad "damaged files (above)"
finish
