/*
 * journal.h — the rollback journal file (NAME-journal): original page images
 * and file sizes protected by crc32, and a commit counter other handles use
 * to notice changes. Part of the pager layer.
 */
#ifndef UDB_JOURNAL_H
#define UDB_JOURNAL_H

#include "pager_int.h"

/* The journals of member idx, just opened at path: the group's own for
   member 0; the other journal that may cover the group (xjpath). */
int journal_attach(pager_group *g, const char *path, int idx);
void journal_close(pager_group *g);
/* Queue the current image of page pg of f (before its first change). */
int journal_add(pager_group *g, pager_file *f, uint64_t pg);
/* Queue a record that pages [pg, pg + n) of f were zeros (a hole). */
int journal_add_zeros(pager_group *g, pager_file *f, uint64_t pg, uint64_t n);
/* A write transaction begins: its records go where the journal's last
   commit left room (journal_peek read it). */
void journal_begin(pager_group *g);
/* The largest number of pages a commit record lists. */
size_t journal_commit_max(const pager_group *g);
/* Queue the commit record: the files' sizes after the commit and, for
   each of the n pages the commit writes, file, page and the crc32 of its
   bytes. Recovery that finds the files so skips the rollback: the commit
   then needs no synced clean header. page NULL (n 0): a void record that
   never matches, ending the records of a commit retried after UDB_LOCKED
   that has no record of its own now, so that the earlier attempt's is not
   the last. */
int journal_add_commit(pager_group *g, const uint32_t *file, const uint64_t *page, const uint32_t *crc,
                       size_t n);
/* Make the journal durable (per sync policy) before any file page changes. */
int journal_sync(pager_group *g);
/* Mark the journal clean and bump the commit counter. */
int journal_finish(pager_group *g);
/* Forget this transaction's records (after a rollback): the next one
   writes from the start again. */
void journal_reset(pager_group *g);
/* The same for a transaction that ends without having changed the files
   after its journal was made hot: mark it clean again (not synced: played
   back after a crash it would restore the pages the files still hold). */
int journal_cancel(pager_group *g);
/* Read the state of the group's journal (hot?) and of the other journal
   that may cover a member (xjpath); counters for change detection. A hot journal's
   header is checked (UDB_CORRUPT / UDB_RECOVER when refused); a read-only
   group, which cannot play it back, checks all of it. */
int journal_peek(pager_group *g, int *hot, uint64_t *counter, int *xhot, uint64_t *xcounter);
/* Check the hot journal at jpath whole (its group's files only, every
   field and record), then roll it back onto its member files. After a
   crash (undo 0) a commit record that finds the files as its commit left
   them keeps them so; undo 1 (this handle's own transaction, rolled back)
   restores them whatever it says. */
int journal_playback(pager_group *g, const char *jpath, int undo);

#endif
