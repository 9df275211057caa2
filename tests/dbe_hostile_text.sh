#!/bin/sh
# Damaged text thrown at every dbe command that reads text: import of
# TSV, CSV, JSON lines and COPY text (into a store and into an index
# file, plain and --sorted), load, textload of store and index-file dumps,
# and the interactive session on a pipe. The inputs are dbe's own output,
# each damaged by a few mutations (bit flips, cuts, copies, random bytes,
# and pieces a parser stumbles on: NUL, lone escapes, quotes, unpaired
# surrogates, numbers past 64 bits, 5000-byte fields). Every command must
# end with exit 0, 1 or 2 (no signal, no sanitizer report, no hang); an
# import or textload that succeeds must leave a store that checks clean;
# one that fails must leave the target as it was (an import: the same
# count; textload: no file). Fixed seed; UDB_HOSTILE_ROUNDS=N for more
# (default 60), UDB_HOSTILE_SEED=S for others. Under `make check
# SANITIZE=1` it runs against the sanitizer build.
NAME=dbe_hostile_text; . tests/lib/dbe_test.sh
command -v python3 >/dev/null || { echo "SKIPPED: python3 is not installed"; exit 77; }
D=$DBE; case "$DBE" in /*) ;; *) D="$PWD/$DBE" ;; esac

DBE_ABS=$D python3 - "$T" "${UDB_HOSTILE_SEED:-1}" "${UDB_HOSTILE_ROUNDS:-60}" <<'EOF'
import os, random, shutil, subprocess, sys
T, seed, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
DBE = os.environ['DBE_ABS']
W = os.path.join(T, 'w')
os.makedirs(W)
rnd = random.Random(seed)
env = dict(os.environ, ASAN_OPTIONS='detect_leaks=1:' + os.environ.get('ASAN_OPTIONS', ''))

def run(args, inp=b''):
    try:
        p = subprocess.run([DBE] + args, cwd=W, input=inp, capture_output=True, timeout=60, env=env)
        return p.returncode, p.stdout, p.stderr.decode('latin1')
    except subprocess.TimeoutExpired:
        return 'timeout', b'', ''

STORE = ['--index', 'long_int:4:unique+delete', '--index', 'string:12:delete']
NDX = ['--index', 'string:16:delete', '--index', 'long_int:4:unique']
run(['create-store', 'src'] + STORE + ['--compress'])
for i in range(1, 50):
    run(['put', 'src', str(i), 'name%d' % (i % 7), '--', 'value-%d-%s\t"\\' % (i, 'x' * (i * 13 % 200))])
run(['create', 'ix.ndx'] + NDX)
run(['load', 'ix.ndx'], b''.join(b'key%d\t%d\n' % (i, i * 10) for i in range(60)))
seeds = {}
for fmt in ('tsv', 'csv', 'jsonl', 'copy'):
    seeds['store', fmt] = run(['export', 'src', '--format', fmt])[1]
    seeds['ndx', fmt] = run(['export', 'ix.ndx', '--format', fmt])[1]
seeds['dump', 'store'] = run(['textdump', 'src'])[1]
seeds['dump', 'ndx'] = run(['textdump', 'ix.ndx'])[1]
seeds['load', ''] = b''.join(b'key%d\t%d\n' % (i, i * 10) for i in range(40))
seeds['session', ''] = b'A k1 5\nA k2 7\nF k1\nL\nN\n.\n+\n-\nT\nD k1\nBEGIN\nA k3 9\nROLLBACK\nS\nX\n'
fails = 0
for k, v in seeds.items():
    if not v:
        print('FAIL no seed for %s' % (k,)); fails += 1

PIECES = [b'\x00', b'\xff', b'\\', b'\\x', b'\\xZZ', b'"', b'""', b'\t', b'\n', b'\r\n', b',', b'{', b'}',
          b'[', b']', b'"base64":', b'-', b'9' * 40, b'-9223372036854775809', b'18446744073709551616',
          b'0x', b'0x' + b'f' * 80, b'\\u0000', b'\\ud800', b'\xc3\x28', b'A' * 5000, b'null', b'1e999',
          b'index', b'layout', b'wide', b'classic', b'\\.', b'\\N']

def mutate(b):
    b = bytearray(b)
    for _ in range(rnd.randint(1, 6)):
        op, pos = rnd.randrange(6), rnd.randrange(len(b) + 1)
        if op == 0 and b:
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        elif op == 1:
            b[pos:pos] = rnd.choice(PIECES)
        elif op == 2 and b:
            del b[pos:pos + rnd.randint(1, 40)]
        elif op == 3 and b:
            a, n = rnd.randrange(len(b)), rnd.randint(1, 200)
            b[pos:pos] = b[a:a + n]
        elif op == 4:
            del b[pos:]
        else:
            b[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
    return bytes(b)

def count(name):
    rc, out, _ = run(['count', name])
    return out.strip() if rc == 0 else None

kinds = sorted(seeds)
ok = 0
for r in range(rounds):
    kind = kinds[r % len(kinds)] if r < len(kinds) else rnd.choice(kinds)
    data = mutate(seeds[kind])
    for f in os.listdir(W):
        if f.startswith('t.') or f == 't':
            os.remove(os.path.join(W, f))
    what, fmt = kind
    sorted_ = ['--sorted'] if rnd.random() < 0.3 else []
    if what == 'store':
        run(['create-store', 't'] + STORE)
        name, cmd = 't', ['import', 't', '--format', 'tsv' if fmt == 'copy' else fmt] + sorted_
    elif what == 'ndx':
        run(['create', 't.ndx'] + NDX)
        name, cmd = 't.ndx', ['import', 't.ndx', '--format', 'tsv' if fmt == 'copy' else fmt] + sorted_
    elif what == 'dump':
        name, cmd = 't' if fmt == 'store' else 't.ndx', ['textload', 't' if fmt == 'store' else 't.ndx']
    elif what == 'load':
        run(['create', 't.ndx', '--index', 'string:16:delete'])
        name, cmd = 't.ndx', ['load', 't.ndx'] + sorted_
    else:
        run(['create', 't.ndx', '--index', 'string:16:delete'])
        name, cmd = 't.ndx', ['session', 't.ndx']
    before = count(name) if what != 'dump' else None
    rc, _, err = run(cmd, data)
    problem = None
    if rc == 'timeout' or rc not in (0, 1, 2) or 'Sanitizer' in err or 'runtime error' in err:
        problem = 'crashed, hung or left the exit codes'
    elif rc == 0 and what in ('store', 'ndx', 'dump', 'load'):
        crc, _, cerr = run(['check', name])
        if crc != 0:
            problem, err = 'succeeded and left a file that does not check clean', cerr
    elif rc != 0 and what in ('store', 'ndx', 'load') and count(name) != before:
        problem = 'failed and changed the records (%s -> %s)' % (before, count(name))
    elif rc != 0 and what == 'dump' and any(f == 't' or f.startswith('t.') for f in os.listdir(W)):
        problem = 'failed and left a file'
    if problem:
        fails += 1
        keep = os.path.join(T, 'case%d.in' % fails)
        open(keep, 'wb').write(data)
        print('FAIL %s: dbe %s -> %s (input kept in %s)\n%s' % (problem, ' '.join(cmd), rc, keep, err[-1500:]))
    ok += rc == 0
print('%d damaged inputs (%d taken whole), %d failure(s)' % (rounds, ok, fails))
sys.exit(1 if fails else 0)
EOF
[ $? = 0 ] && ok "damaged text inputs: every reader held" || bad "damaged text inputs (above)"
finish
