/*
 * test_wal.c — the write-ahead log file (udb/wal.c) and the shared-memory
 * region (udb/shm.c) as modules, below the pager:
 *   - page changes (wal_diff, wal_apply): random pages round-trip; hostile
 *     runs refused;
 *   - batches written and scanned back: every committed frame, in order,
 *     with the sizes of the last commit; an uncommitted tail is ignored;
 *   - every byte of a log damaged in turn (a torn or flipped batch): the
 *     scan keeps exactly the transactions before the damage;
 *   - a batch of another log (other salt) or out of sequence ends the log;
 *   - headers that lie (names with '/', "..", NUL, a file named twice,
 *     page sizes, counts) are refused;
 *   - wal_belongs: same inode, known first page, page 0 from a frame, a
 *     last first page with old bytes past the file's size; a foreign file
 *     refused;
 *   - the shm seqlock, slots (a dead owner's slot is reclaimed), robust
 *     mutex (owner died).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "crc32.h"
#include "shm.h"
#include "testutil.h"
#include "wal.h"

#define PS 4096u

static const char *dir;

static void member(wal_member *m, const char *name, uint64_t size)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->size = size;
    m->dev = 7;
    m->ino = 1234;
    m->crc0 = 99;
}

/* page images: byte pattern of (txn, page) */
static void fill(uint8_t *p, uint64_t txn, uint64_t page)
{
    for (unsigned i = 0; i < PS; i++)
        p[i] = (uint8_t)(txn * 31 + page * 7 + i);
}

/* An entry that writes page `page` of `file` whole: its change against
   zeros, built in data (PS + 8 bytes). */
static wal_entry whole(uint8_t *data, const uint8_t *img, unsigned file, uint64_t page)
{
    size_t n = wal_diff(data, NULL, img, 0, PS);
    return (wal_entry){file, page, wal_page0_crc(img, PS, PS), 0, data, n};
}

typedef struct seen {
    wal_frame f[4096];
    size_t n;
} seen;

static int collect(void *arg, const wal_frame *fr)
{
    seen *s = arg;
    if (s->n < 4096)
        s->f[s->n++] = *fr;
    return 0;
}

/* Write txns 1..ntx: txn t changes pages t..t+t%5 of file t%2, in batches
   of at most per pages; the last txn is left without its commit when
   open_tail. Returns the end of each committed txn in ends[]. */
static void write_log(const char *path, int ntx, unsigned per, int open_tail, uint64_t *ends)
{
    wal_log w;
    wal_member m[2];
    member(&m[0], "a.ndx", 8192);
    member(&m[1], "a.dat", 4096);
    wal_pos pos;
    udb_err err = {0};
    unlink(path);
    assert_int_equal(wal_create(&w, udb_os_posix(), &err, path, PS, 2, m, 0x1234, 1, &pos), 0);
    static uint8_t img[64][PS], data[64][PS + 8];
    for (int t = 1; t <= ntx; t++) {
        unsigned n = 1 + (unsigned)t % 5;
        wal_entry e[64];
        for (unsigned k = 0; k < n; k++) {
            fill(img[k], (uint64_t)t, (uint64_t)t + k);
            e[k] = whole(data[k], img[k], (unsigned)t % 2, (uint64_t)t + k);
        }
        uint64_t sizes[2] = {(uint64_t)t * PS + 100, (uint64_t)t * 2 * PS};
        for (unsigned k = 0; k < n; k += per) {
            unsigned m2 = n - k < per ? n - k : per;
            int commit = k + m2 == n && !(open_tail && t == ntx);
            assert_int_equal(wal_append(&w, &pos, (uint64_t)t, commit, sizes, e + k, m2), 0);
        }
        if (ends)
            ends[t] = pos.end;
    }
    wal_close(&w);
}

static void check_scan(const char *path, int ntx, const seen *s, const wal_pos *to)
{
    assert_int_equal(to->txn, (uint64_t)ntx);
    size_t i = 0, flen;
    uint8_t *file = read_file(path, &flen);
    assert_non_null(file);
    for (int t = 1; t <= ntx; t++)
        for (unsigned k = 0; k <= (unsigned)t % 5; k++, i++) {
            assert_true(i < s->n);
            assert_int_equal(s->f[i].file, (unsigned)t % 2);
            assert_int_equal(s->f[i].page, (uint64_t)t + k);
            uint8_t want[PS], got[PS];
            fill(want, (uint64_t)t, (uint64_t)t + k);
            assert_true(s->f[i].len <= PS + 8);
            assert_true(s->f[i].off <= flen && s->f[i].len <= flen - s->f[i].off);
            memset(got, 0x5a, PS);
            assert_int_equal(wal_apply(got, PS, s->f[i].zfrom, file + s->f[i].off, s->f[i].len), 0);
            assert_memory_equal(want, got, PS);
            assert_int_equal(s->f[i].crc, wal_page0_crc(want, PS, PS));
        }
    free(file);
    assert_int_equal(i, s->n);
    if (ntx) {
        assert_int_equal(to->sizes[0], (uint64_t)ntx * PS + 100);
        assert_int_equal(to->sizes[1], (uint64_t)ntx * 2 * PS);
    }
}

static void scan_file(const char *path, wal_pos *to, seen *s, int *open_rc)
{
    wal_log w;
    wal_pos st;
    udb_err err = {0};
    s->n = 0;
    *open_rc = wal_open(&w, udb_os_posix(), &err, path, 0, &st);
    if (*open_rc)
        return;
    assert_int_equal(wal_scan(&w, &st, 0, to, 1, collect, s), 0);
    wal_close(&w);
}

static void test_roundtrip(void **state)
{
    (void)state;
    const char *p = path_in(dir, "rt-wal");
    static seen s;
    wal_pos to;
    int orc;
    for (unsigned per = 1; per <= 6; per += 5) {
        write_log(p, 20, per, 0, NULL);
        scan_file(p, &to, &s, &orc);
        assert_int_equal(orc, 0);
        check_scan(p, 20, &s, &to);
        write_log(p, 20, per, 1, NULL); /* the last txn never committed */
        scan_file(p, &to, &s, &orc);
        check_scan(p, 19, &s, &to);
    }
}

/* Damage each byte of the log in turn (flip, and cut the file there): the
   scan keeps exactly the transactions that end before the damage. */
static void test_damage(void **state)
{
    (void)state;
    const char *p = path_in(dir, "dmg-wal"), *q = path_in(dir, "dmg2-wal");
    uint64_t ends[8];
    write_log(p, 6, 2, 0, ends);
    size_t len;
    uint8_t *orig = read_file(p, &len);
    assert_non_null(orig);
    static seen s;
    /* every 97th byte up to just past the last commit, then the zeros the
       log was grown by (doc/format.md) every 64 KiB */
    size_t past = (size_t)ends[6] + 2 * PS;
    for (size_t at = PS; at < len; at += at < past ? 97 : 65536) {
        int want = 0;
        while (want < 6 && ends[want + 1] <= at)
            want++;
        uint8_t *b = malloc(len);
        memcpy(b, orig, len);
        b[at] ^= 0x40;
        unlink(q); /* a new file: ext4 flushes one truncated and rewritten at its close */
        assert_int_equal(write_file(q, b, len), 0);
        wal_pos to;
        int orc;
        scan_file(q, &to, &s, &orc);
        assert_int_equal(orc, 0);
        check_scan(q, want, &s, &to);
        unlink(q);
        assert_int_equal(write_file(q, orig, at), 0); /* torn there */
        scan_file(q, &to, &s, &orc);
        check_scan(q, want, &s, &to);
        free(b);
    }
    free(orig);
}

/* wal_diff as a byte at a time: runs of differing bytes merged across
   fewer than 16 equal ones, or the whole range when that is no dearer. */
static size_t diff_ref(uint8_t *out, const uint8_t *before, const uint8_t *after, unsigned from,
                       unsigned to)
{
    size_t n = 0, cap = (size_t)(to - from) + 8;
#define SAME(i) (after[i] == (before ? before[i] : 0))
    for (size_t i = from; i < to;) {
        if (SAME(i)) {
            i++;
            continue;
        }
        size_t e = i + 1;
        for (size_t j = e; j < to && j - e < 16; j++)
            if (!SAME(j))
                e = j + 1;
        if (n + 8 + (e - i) > cap) {
            st32(out, from);
            st32(out + 4, to - from);
            memcpy(out + 8, after + from, to - from);
            return cap;
        }
        st32(out + n, (uint32_t)i);
        st32(out + n + 4, (uint32_t)(e - i));
        memcpy(out + n + 8, after + i, e - i);
        n += 8 + (e - i);
        i = e;
    }
#undef SAME
    return n;
}

/* wal_diff / wal_apply: random pages changed in random places (single
   bytes, runs, everything), zfrom anywhere: applying the change to the
   page as it was (garbage from zfrom on) gives the page after; a change
   never costs more than the range plus one run header; runs that leave
   the page or the data are refused. */
static void test_changes(void **state)
{
    (void)state;
    static uint8_t before[PS], after[PS], page[PS], data[PS + 16], ref[PS + 16];
    srand(7);
    for (int round = 0; round < 3000; round++) {
        for (unsigned i = 0; i < PS; i++)
            before[i] = (uint8_t)(round % 3 ? rand() : 0);
        memcpy(after, before, PS);
        int edits = rand() % 6 == 0 ? 0 : 1 + rand() % 40;
        for (int k = 0; k < edits; k++) {
            unsigned at = (unsigned)rand() % PS, len = 1 + (unsigned)rand() % (rand() % 4 ? 8 : 600);
            for (unsigned i = at; i < at + len && i < PS; i++)
                after[i] = (uint8_t)rand();
        }
        if (round % 50 == 0)
            memset(after, 0, PS);
        unsigned zfrom = (unsigned)(rand() % 3 ? rand() % (PS + 1) : rand() % 2 ? PS : 0);
        size_t n1 = wal_diff(data, before, after, 0, zfrom);
        assert_true(n1 <= zfrom + 8u);
        size_t n2 = wal_diff(data + n1, NULL, after, zfrom, PS);
        assert_true(n2 <= PS - zfrom + 8u);
        /* word at a time, byte for byte what the plain definition gives */
        assert_int_equal(diff_ref(ref, before, after, 0, zfrom), n1);
        assert_int_equal(diff_ref(ref + n1, NULL, after, zfrom, PS), n2);
        assert_memory_equal(ref, data, n1 + n2);
        memcpy(page, before, PS);
        for (unsigned i = zfrom; i < PS; i++)
            page[i] = (uint8_t)rand(); /* whatever lies past zfrom does not count */
        assert_int_equal(wal_apply(page, PS, zfrom, data, n1 + n2), 0);
        assert_memory_equal(page, after, PS);
        if (zfrom == PS && !memcmp(before, after, PS))
            assert_int_equal(n1 + n2, 0);
    }
    /* hostile runs */
    uint8_t bad[32] = {0};
    bad[0] = 0xf8; bad[1] = 0x0f; bad[4] = 9;          /* 4088 + 9 > PS */
    assert_int_equal(wal_apply(page, PS, PS, bad, 8 + 9), UDB_CORRUPT);
    memset(bad, 0, sizeof bad);
    bad[4] = 200;                                        /* longer than the data */
    assert_int_equal(wal_apply(page, PS, PS, bad, 20), UDB_CORRUPT);
    assert_int_equal(wal_apply(page, PS, PS, bad, 5), UDB_CORRUPT); /* a torn run header */
    assert_int_equal(wal_apply(page, PS, PS + 1, bad, 0), UDB_CORRUPT);
    bad[0] = 0xff; bad[1] = 0xff; bad[2] = 0xff; bad[3] = 0xff; bad[4] = 1; /* offset overflow */
    assert_int_equal(wal_apply(page, PS, PS, bad, 9), UDB_CORRUPT);
}

/* A header page with a field changed and the crc made right again. */
static void rewrite_header(const char *path, void (*edit)(uint8_t *))
{
    size_t len;
    uint8_t *b = read_file(path, &len);
    assert_non_null(b);
    edit(b);
    uint32_t c = udb_crc32(0, b, PS - 4);
    b[PS - 4] = (uint8_t)c;
    b[PS - 3] = (uint8_t)(c >> 8);
    b[PS - 2] = (uint8_t)(c >> 16);
    b[PS - 1] = (uint8_t)(c >> 24);
    assert_int_equal(write_file(path, b, len), 0);
    free(b);
}

static void name_slash(uint8_t *b) { b[40 + 32] = '/'; }
static void name_dotdot(uint8_t *b) { b[40 + 28] = 2; b[40 + 32] = '.'; b[40 + 33] = '.'; }
static void name_nul(uint8_t *b) { b[40 + 33] = 0; }
static void name_twice(uint8_t *b) { memcpy(b + 40 + 256 + 28, b + 40 + 28, 4 + 200); }
static void name_long(uint8_t *b) { b[40 + 28] = 201; }
static void count_zero(uint8_t *b) { b[32] = 0; }
static void count_big(uint8_t *b) { b[32] = 3; }
static void size_huge(uint8_t *b) { b[40 + 7] = 0x80; }

static void test_bad_headers(void **state)
{
    (void)state;
    const char *p = path_in(dir, "hdr-wal");
    void (*edits[])(uint8_t *) = {name_slash, name_dotdot, name_nul, name_twice, name_long,
                                  count_zero, count_big, size_huge};
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        write_log(p, 3, 4, 0, NULL);
        rewrite_header(p, edits[i]);
        wal_log w;
        wal_pos st;
        udb_err err = {0};
        assert_int_equal(wal_open(&w, udb_os_posix(), &err, p, 0, &st), UDB_CORRUPT);
    }
    /* not a log at all; torn header; no file */
    uint8_t junk[100] = "udbWAL";
    assert_int_equal(write_file(p, junk, sizeof junk), 0);
    wal_log w;
    wal_pos st;
    udb_err err = {0};
    assert_int_equal(wal_open(&w, udb_os_posix(), &err, p, 0, &st), UDB_CORRUPT);
    unlink(p);
    assert_int_equal(wal_open(&w, udb_os_posix(), &err, p, 0, &st), UDB_NOTFOUND);
}

/* A batch from another log (same chain start, other salt) is not read. */
static void test_other_salt(void **state)
{
    (void)state;
    const char *p = path_in(dir, "salt-wal");
    wal_log w;
    wal_member m[2];
    member(&m[0], "a.ndx", 8192);
    member(&m[1], "a.dat", 4096);
    wal_pos pos, st, to;
    udb_err err = {0};
    unlink(p);
    assert_int_equal(wal_create(&w, udb_os_posix(), &err, p, PS, 2, m, 1, 1, &pos), 0);
    static uint8_t img[PS], data[PS + 8];
    fill(img, 1, 1);
    wal_entry e = whole(data, img, 0, 1);
    uint64_t sizes[2] = {PS, PS};
    assert_int_equal(wal_append(&w, &pos, 1, 1, sizes, &e, 1), 0);
    w.salt = 2; /* what another log would have written */
    assert_int_equal(wal_append(&w, &pos, 2, 1, sizes, &e, 1), 0);
    w.salt = 1;
    assert_int_equal(wal_append(&w, &pos, 5, 1, sizes, &e, 1), 0); /* out of sequence */
    wal_close(&w);
    assert_int_equal(wal_open(&w, udb_os_posix(), &err, p, 0, &st), 0);
    assert_int_equal(wal_scan(&w, &st, 0, &to, 1, NULL, NULL), 0);
    assert_int_equal(to.txn, 1);
    assert_int_equal(to.end, 3 * PS);
    /* upto stops before a transaction that ends beyond it */
    assert_int_equal(wal_scan(&w, &st, 2 * PS, &to, 1, NULL, NULL), 0);
    assert_int_equal(to.txn, 0);
    wal_close(&w);
}

static void test_belongs(void **state)
{
    (void)state;
    const char *p = path_in(dir, "own-wal");
    write_log(p, 4, 8, 0, NULL);
    wal_log w;
    wal_pos st;
    udb_err err = {0};
    assert_int_equal(wal_open(&w, udb_os_posix(), &err, p, 0, &st), 0);
    wal_member now[2];
    member(&now[0], "a.ndx", 1);
    member(&now[1], "a.dat", 1);
    assert_int_equal(wal_belongs(&w, 2, now, &st), 0); /* same inodes */
    now[1].ino = 5;
    now[1].crc0 = 1;
    assert_int_equal(wal_belongs(&w, 2, now, &st), UDB_CORRUPT); /* other file, unknown page */
    now[1].crc0 = 99;
    assert_int_equal(wal_belongs(&w, 2, now, &st), 0); /* copied: first page as it was */
    now[1].crc0 = 1;
    assert_int_equal(wal_belongs(&w, 2, now, &st), UDB_CORRUPT);
    snprintf(now[0].name, sizeof now[0].name, "b.ndx");
    now[1].crc0 = 99;
    assert_int_equal(wal_belongs(&w, 2, now, &st), UDB_CORRUPT); /* another name */
    assert_int_equal(wal_belongs(&w, 1, now, &st), UDB_CORRUPT);
    wal_close(&w);
    /* page 0 written by a transaction (and maybe checkpointed): known too */
    wal_member m[1];
    wal_pos pos;
    member(&m[0], "c.ndx", PS);
    unlink(p);
    assert_int_equal(wal_create(&w, udb_os_posix(), &err, p, PS, 1, m, 3, 1, &pos), 0);
    static uint8_t img[PS], data[PS + 8];
    fill(img, 9, 0);
    wal_entry e = whole(data, img, 0, 0);
    uint64_t sizes[1] = {PS};
    assert_int_equal(wal_append(&w, &pos, 1, 1, sizes, &e, 1), 0);
    wal_close(&w);
    assert_int_equal(wal_open(&w, udb_os_posix(), &err, p, 0, &st), 0);
    member(&now[0], "c.ndx", PS);
    now[0].ino = 1;
    now[0].crc0 = wal_page0_crc(img, PS, PS);
    assert_int_equal(wal_belongs(&w, 1, now, &st), 0);
    wal_close(&w);

    /* a file whose first page is its last: a crash between copying that
       page and cutting the file to its size leaves old bytes beyond it;
       the bytes up to the size (the frame's commit, or the log's start)
       still identify it */
    unlink(p);
    member(&m[0], "d.ndx", PS / 2);
    static uint8_t disk[PS];
    fill(disk, 4, 0);
    memset(img, 0, PS);
    memcpy(img, disk, PS / 2); /* the file at the log's start: PS / 2 bytes */
    m[0].crc0 = wal_page0_crc(img, PS / 2, PS);
    assert_int_equal(wal_create(&w, udb_os_posix(), &err, p, PS, 1, m, 3, 1, &pos), 0);
    wal_close(&w);
    assert_int_equal(wal_open(&w, udb_os_posix(), &err, p, 0, &st), 0);
    member(&now[0], "d.ndx", PS);
    now[0].ino = 1;
    now[0].crc0 = wal_page0_crc(disk, PS, PS); /* old bytes past PS / 2 */
    assert_int_equal(wal_belongs(&w, 1, now, &st), UDB_CORRUPT); /* the page alone */
    now[0].first = disk;
    assert_int_equal(wal_belongs(&w, 1, now, &st), 0); /* cut at the size the log started with */
    disk[PS / 2 - 1] ^= 1;
    assert_int_equal(wal_belongs(&w, 1, now, &st), UDB_CORRUPT); /* a byte below it differs */
    wal_close(&w);
    /* the same with the page as a commit left it, at a third of a page */
    assert_int_equal(wal_open(&w, udb_os_posix(), &err, p, 1, &st), 0);
    pos = st;
    fill(img, 6, 0);
    memset(img + PS / 3, 0, PS - PS / 3);
    e = whole(data, img, 0, 0);
    e.crc = wal_page0_crc(img, PS / 3, PS);
    sizes[0] = PS / 3;
    assert_int_equal(wal_append(&w, &pos, 1, 1, sizes, &e, 1), 0);
    wal_close(&w);
    assert_int_equal(wal_open(&w, udb_os_posix(), &err, p, 0, &st), 0);
    memcpy(disk, img, PS / 3); /* copied up to the size; the rest as it was */
    now[0].crc0 = wal_page0_crc(disk, PS, PS);
    assert_int_equal(wal_belongs(&w, 1, now, &st), 0);
    disk[0] ^= 1;
    now[0].crc0 = wal_page0_crc(disk, PS, PS);
    assert_int_equal(wal_belongs(&w, 1, now, &st), UDB_CORRUPT);
    now[0].first = NULL;
    wal_close(&w);
}

/* ---- shm ------------------------------------------------------------------------------------ */
static void *shm_region(const char *path, int *fd)
{
    int rc = udb_os_posix()->open(NULL, path, UDB_OS_RDWR | UDB_OS_CREATE, fd);
    assert_int_equal(rc, 0);
    assert_int_equal(ftruncate(*fd, SHM_SIZE), 0);
    void *b = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    assert_true(b != MAP_FAILED);
    return b;
}

static void test_shm(void **state)
{
    (void)state;
    const char *p = path_in(dir, "x-shm");
    unlink(p);
    int fd, fd2;
    void *b = shm_region(p, &fd), *b2 = shm_region(p, &fd2);
    shm s, s2;
    shm_attach(&s, b, fd, udb_os_posix());
    shm_attach(&s2, b2, fd2, udb_os_posix());
    assert_false(shm_ready(&s, PS));
    shm_view v = {.gen = 1, .end = PS, .sizes = {10, 20}};
    assert_int_equal(shm_format(&s, PS, &v), 0);
    assert_true(shm_ready(&s2, PS));
    assert_false(shm_ready(&s2, 2 * PS));
    v.end = 5 * PS;
    v.txn = 3;
    shm_publish(&s.h->view, &v);
    shm_view r;
    assert_int_equal(shm_read(&s2.h->view, &r), 0);
    assert_int_equal(r.end, 5 * PS);
    assert_int_equal(r.txn, 3);
    assert_int_equal(r.sizes[1], 20);
    /* slots: two handles get two slots; the smallest snapshot wins */
    assert_int_equal(shm_slot_claim(&s), 0);
    assert_int_equal(shm_slot_claim(&s2), 0);
    assert_int_not_equal(s.slot, s2.slot);
    atomic_store(&s2.slots[s2.slot].snap, shm_snap(1, 3 * PS, PS));
    assert_int_equal(shm_min_reader(&s, 1, 5 * PS), 3 * PS);
    atomic_store(&s2.slots[s2.slot].snap, shm_snap(2, 3 * PS, PS)); /* another gen */
    assert_int_equal(shm_min_reader(&s, 1, 5 * PS), 0);
    /* a slot whose owner is gone is cleared */
    pid_t pid = fork();
    if (pid == 0) {
        shm c;
        int cfd;
        void *cb = shm_region(p, &cfd);
        shm_attach(&c, cb, cfd, udb_os_posix());
        if (shm_slot_claim(&c))
            _exit(1);
        atomic_store(&c.slots[c.slot].snap, shm_snap(1, PS, PS));
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_int_equal(WEXITSTATUS(st), 0);
    shm_slot_release(&s2);
    assert_int_equal(shm_min_reader(&s, 1, 5 * PS), 5 * PS);
    /* a torn publish (a publisher died between the two seq stores) */
    atomic_fetch_add(&s.h->view.seq, 1);
    assert_int_equal(shm_read(&s2.h->view, &r), UDB_LOCKED);
    atomic_fetch_add(&s.h->view.seq, 1);
    assert_int_equal(shm_read(&s2.h->view, &r), 0);
    /* robust mutex: the owner dies holding it */
    int died;
    pid = fork();
    if (pid == 0) {
        shm c;
        int cfd;
        void *cb = shm_region(p, &cfd);
        shm_attach(&c, cb, cfd, udb_os_posix());
        _exit(shm_lock(&c.h->writer, 0, &died) ? 1 : 0);
    }
    waitpid(pid, &st, 0);
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(shm_lock(&s.h->writer, 100, &died), 0);
    assert_int_equal(died, 1);
    assert_int_equal(shm_lock(&s2.h->writer, 0, &died), UDB_LOCKED);
    assert_int_equal(shm_lock(&s2.h->writer, 30, &died), UDB_LOCKED);
    shm_unlock(&s.h->writer);
    assert_int_equal(shm_lock(&s2.h->writer, 0, &died), 0);
    assert_int_equal(died, 0);
    shm_unlock(&s2.h->writer);
    shm_slot_release(&s);
    munmap(b, SHM_SIZE);
    munmap(b2, SHM_SIZE);
    close(fd);
    close(fd2);
}

int main(void)
{
    dir = scratch_dir("wal");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),   cmocka_unit_test(test_damage),
        cmocka_unit_test(test_changes),
        cmocka_unit_test(test_bad_headers), cmocka_unit_test(test_other_salt),
        cmocka_unit_test(test_belongs),     cmocka_unit_test(test_shm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
