# udb — build, test, install.
#
#   make                      libudb.a, libudb.so (+ versioned names) and dbe/dbe,
#                             quiet (V=1: every command) and in parallel
#                             (-j of the CPU count unless -j is given)
#   make check                build and run every test (missing build
#                             dependencies: says which and why, then installs
#                             them with apt-get as root or with sudo, else
#                             prints the command and stops)
#   make check SANITIZE=1     the same under AddressSanitizer + UBSan
#   make valgrind             the unit tests under valgrind
#   make crashtest CYCLES=5000   many kill -9 cycles of a writer process
#   make fuzz                 every libFuzzer target briefly (clang; tests/fuzz/README.md)
#   make install PREFIX=/usr/local DESTDIR=   (make uninstall: the same files go)
#   make bench N=100000       the benchmark against SQLite, Berkeley DB, LMDB
#                             (bench/README.md: N=, REPS=, ENGINES=, BENCH_OUT=)
#   make bench-w1 N=4000000   the W1 part of make bench alone (ENGINES=udb-store,lmdb)
#   make bench-durability N=1000000   sync FULL vs OFF and single-record
#                             transactions, beside SQLite (bench/README.md)
#   make bench-bulk N=1000000   bulk load of sorted records (udb_store_load_sorted)
#                             beside LMDB, SQLite, Berkeley DB (bench/README.md)
#   make bench-w2 N0=100000   W2: single-record transactions, single lookups,
#                             readers beside a writer (bench/README.md)

CC ?= cc
CFLAGS ?= -O2 -g
PREFIX ?= /usr/local
DESTDIR ?=
PYTHON ?= python3

# parallel by default: one job per CPU unless -j is given (sub-makes share
# the jobs of the top one; `make clean all` stays in order)
ifeq ($(MAKELEVEL)$(filter -j%,$(MAKEFLAGS))$(filter clean,$(MAKECMDGOALS)),0)
  MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif
# quiet: "  CC  build/udb/pager.o"; V=1 prints the commands instead
ifeq ($(V),1)
  say =
else
  say = @printf '  %-4s%s\n' '$(1)' '$(2)';
endif

STD = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
DEPFLAGS = -MMD -MP
LDLIBS = -lz -lpthread

ifeq ($(SANITIZE),1)
  BUILD = build-san
  CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=address,undefined
  LIB = $(BUILD)/libudb.a
  DBE = $(BUILD)/dbe-bin
else ifeq ($(SANITIZE),thread)
  BUILD = build-tsan
  CFLAGS += -O1 -fsanitize=thread
  LDFLAGS += -fsanitize=thread
  LIB = $(BUILD)/libudb.a
  DBE = $(BUILD)/dbe-bin
else
  BUILD = build
  LIB = libudb.a
  DBE = dbe/dbe
endif

ALL_CFLAGS = $(STD) $(WARN) $(CFLAGS) -Iudb

# The shared library beside the archive: libudb.so.VERSION (VERSION is
# UDB_VERSION of udb/udb.h), its soname libudb.so.MAJOR and libudb.so
# (symbolic links). It exports only what udb.h and mdx.h mark UDB_API.
VERSION := $(shell sed -n 's/^\#define UDB_VERSION "\(.*\)"/\1/p' udb/udb.h)
SOMAJOR = $(firstword $(subst ., ,$(VERSION)))
SO = $(LIB:.a=.so)
SO_FILE = $(SO).$(VERSION)
SO_LINK = $(SO).$(SOMAJOR)

# The session's line editing and history: libedit when installed (pkg-config,
# else a test compile); without it the session reads plain lines.
EDIT := $(shell pkg-config --exists libedit 2>/dev/null && echo pc || { printf '\043include <stdio.h>\n\043include <editline/readline.h>\nint main(void) { return !readline(""); }\n' | $(CC) -x c - -ledit -o /dev/null 2>/dev/null && echo yes; })
ifneq ($(EDIT),)
  EDIT_CFLAGS = -DDBE_HAVE_LIBEDIT $(if $(filter pc,$(EDIT)),$(shell pkg-config --cflags libedit))
  EDIT_LIBS = $(if $(filter pc,$(EDIT)),$(shell pkg-config --libs libedit),-ledit)
endif

LIB_SRC = $(sort $(wildcard udb/*.c))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
DBE_SRC = $(sort $(wildcard dbe/*.c))
DBE_OBJ = $(DBE_SRC:%.c=$(BUILD)/%.o)

.PHONY: all clean check install uninstall deps valgrind fuzz bench bench-bin bench-durability bench-bulk demo tests
all: $(LIB) $(SO) $(DBE)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

# the library's objects serve the archive and the shared library
$(LIB_OBJ): ALL_CFLAGS += -fPIC -fvisibility=hidden

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(SO_FILE): $(LIB_OBJ)
	$(call say,LD,$@)$(CC) -shared -Wl,-soname,libudb.so.$(SOMAJOR) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(SO_LINK): $(SO_FILE)
$(SO): $(SO_LINK)
$(SO_LINK) $(SO):
	$(call say,LN,$@)ln -sf $(notdir $<) $@

$(DBE_OBJ): ALL_CFLAGS += $(EDIT_CFLAGS)
$(DBE): $(DBE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $(DBE_OBJ) $(LIB) $(EDIT_LIBS) $(LDLIBS) -o $@

TEST_SRC = $(sort $(wildcard tests/test_*.c))
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_UTIL = $(BUILD)/tests/testutil.o $(BUILD)/tests/model.o $(BUILD)/tests/faultos.o

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_UTIL) $(LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $< $(TEST_UTIL) $(LIB) -lcmocka $(LDLIBS) -o $@

.SECONDARY:

-include $(LIB_OBJ:.o=.d) $(DBE_OBJ:.o=.d) $(TEST_BIN:=.d) $(TEST_UTIL:.o=.d)

# Examples (examples/*.c): built by `make`, run by `make check` (tests/examples.sh).
EXAMPLE_SRC = $(sort $(wildcard examples/*.c))
EXAMPLE_BIN = $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
all: $(EXAMPLE_BIN)

$(BUILD)/examples/%: $(BUILD)/examples/%.o $(LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

-include $(EXAMPLE_BIN:=.d)

# Build dependencies: zlib and cmocka headers (when missing: named with the
# reason, then installed with apt-get as root or with sudo; else the exact
# command is printed and make stops). `tests` checks them before anything
# compiles, then builds what the tests run (test-bin).
deps:
	@.ci/deps.sh build

.PHONY: test-bin
tests: deps
	@$(MAKE) --no-print-directory test-bin

test-bin: $(LIB) $(SO) $(DBE) $(TEST_BIN)

test-bin: $(EXAMPLE_BIN)
check: export UDB_EXAMPLES = $(BUILD)/examples
check: tests
	@tests/run.sh $(BUILD) $(DBE) $(TEST_BIN)

# ---- fuzzing (tests/fuzz/README.md) ----------------------------------------------------
# libFuzzer targets on an in-memory file system, built with clang and
# ASan + UBSan into build-fuzz/. `make fuzz` runs each for FUZZ_SECONDS with
# its committed seed corpus (tests/fuzz/corpus/TARGET); new corpus units go
# to build-fuzz/corpus/TARGET, findings to build-fuzz/findings/.
#   make fuzz FUZZ_SECONDS=30      every target, one after the other
#   make fuzz-long                 the same for FUZZ_LONG_SECONDS (1 hour) each
#   make fuzz FUZZ_TARGETS=fuzz_writes FUZZ_ARGS=-jobs=2
#   make fuzz FUZZ_ENV="UDB_FUZZ_TOLERATE=escape ..."   past known bugs (README)
#   make fuzz-seeds                regenerate tests/fuzz/corpus (tests/fuzz/mkseed.c)
FUZZ_SECONDS ?= 30
FUZZ_LONG_SECONDS ?= 3600
FUZZ_TARGETS ?= fuzz_open fuzz_journal fuzz_store fuzz_writes fuzz_repair fuzz_wal
FUZZ_ARGS ?=
FUZZ_ENV ?=
FUZZ_CC ?= clang
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = $(STD) $(WARN) -g -O1 $(FUZZ_SAN) -Iudb -Itests/fuzz $(DEPFLAGS)
FUZZ_OBJ = $(LIB_SRC:%.c=build-fuzz/obj/%.o) build-fuzz/obj/tests/fuzz/fz.o build-fuzz/obj/tests/fuzz/memfs.o
FUZZ_BIN = $(addprefix build-fuzz/,$(FUZZ_TARGETS))
FUZZ_RUN = -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 \
    -print_final_stats=1 -dict=tests/fuzz/udb.dict $(FUZZ_ARGS)

# edge coverage (8-bit counters, PC table, indirect calls) without trace-cmp:
# the comparison callbacks cost a third of every execution and, measured,
# reached no coverage the faster runs did not (tests/fuzz/README.md, Speed)
FUZZ_COV = -fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp

build-fuzz/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_COV) -c $< -o $@

# the harness itself is not fuzzed: no coverage feedback from it
build-fuzz/obj/tests/fuzz/fz.o build-fuzz/obj/tests/fuzz/memfs.o: build-fuzz/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BIN): build-fuzz/%: build-fuzz/obj/tests/fuzz/%.o $(FUZZ_OBJ)
	$(call say,LD,$@)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

-include $(wildcard build-fuzz/obj/*/*.d build-fuzz/obj/*/*/*.d)

.PHONY: fuzz-build fuzz-long fuzz-seeds
fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@mkdir -p build-fuzz/findings
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p build-fuzz/corpus/$$t; \
	    echo "== $$t ($(FUZZ_SECONDS) s)"; \
	    env $(FUZZ_ENV) build-fuzz/$$t -max_total_time=$(FUZZ_SECONDS) $(FUZZ_RUN) \
	        -artifact_prefix=build-fuzz/findings/$$t- build-fuzz/corpus/$$t tests/fuzz/corpus/$$t \
	        2>build-fuzz/$$t.log || { tail -60 build-fuzz/$$t.log; exit 1; }; \
	    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' build-fuzz/$$t.log; \
	done

fuzz-long:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_LONG_SECONDS)

# The seed generator runs on the in-memory file system too (no fuzzer runtime);
# make check builds it, so memfs and the harness compile with every compiler.
test-bin: $(BUILD)/tests/fuzz/mkseed
$(BUILD)/tests/fuzz/mkseed: $(BUILD)/tests/fuzz/mkseed.o $(BUILD)/tests/fuzz/fz.o $(BUILD)/tests/fuzz/memfs.o $(LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# fixsum: checksums recomputed over damaged files (tests/dbe_hostile.sh)
test-bin: $(BUILD)/tests/fuzz/fixsum
$(BUILD)/tests/fuzz/fixsum: $(BUILD)/tests/fuzz/fixsum.o $(BUILD)/tests/fuzz/fz.o $(BUILD)/tests/fuzz/memfs.o $(LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

-include $(BUILD)/tests/fuzz/mkseed.d $(BUILD)/tests/fuzz/fz.d $(BUILD)/tests/fuzz/memfs.d $(BUILD)/tests/fuzz/fixsum.d

fuzz-seeds: $(BUILD)/tests/fuzz/mkseed
	rm -rf tests/fuzz/corpus
	$(BUILD)/tests/fuzz/mkseed tests/fuzz/corpus

# Many real crashes (tests/test_kill.c kills a writer process CYCLES times
# per store); make check runs a short version. Not part of CI.
CYCLES ?= 5000
.PHONY: crashtest
crashtest: tests
	UDB_KILL_CYCLES=$(CYCLES) $(BUILD)/tests/test_kill

valgrind: tests
	@VALGRIND=1 tests/run.sh $(BUILD) $(DBE) $(TEST_BIN)

# udb.pc is written at every install: it holds the PREFIX of that install.
# The headers go to include/udb/; include/udb.h forwards to udb/udb.h so
# that both #include <udb.h> and #include <udb/udb.h> work.
.PHONY: udb.pc
udb.pc:
	$(call say,GEN,$@)printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	    'Name: udb' 'Description: key -> position -> record storage for EMDX and UDB files' \
	    'Version: $(VERSION)' 'Libs: -L$${libdir} -ludb' 'Libs.private: -lz -lpthread' \
	    'Cflags: -I$${includedir}' > $@

HEADERS = udb/udb.h udb/mdx.h
DOCS = $(wildcard doc/*.md) doc/tree.svg
INC = $(DESTDIR)$(PREFIX)/include
LIBDIR = $(DESTDIR)$(PREFIX)/lib
DOCDIR = $(DESTDIR)$(PREFIX)/share/doc/udb

install: $(LIB) $(SO) $(DBE) udb.pc
	install -d $(LIBDIR)/pkgconfig $(INC)/udb $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DOCDIR)
	install -m 644 $(LIB) $(LIBDIR)/libudb.a
	install -m 755 $(SO_FILE) $(LIBDIR)/$(notdir $(SO_FILE))
	ln -sf $(notdir $(SO_FILE)) $(LIBDIR)/$(notdir $(SO_LINK))
	ln -sf $(notdir $(SO_LINK)) $(LIBDIR)/libudb.so
	install -m 644 $(HEADERS) $(INC)/udb/
	printf '%s\n' '/* udb: the public API is <udb/udb.h>; this keeps #include <udb.h> working. */' \
	    '#include "udb/udb.h"' > $(INC)/udb.h
	chmod 644 $(INC)/udb.h
	install -m 755 $(DBE) $(DESTDIR)$(PREFIX)/bin/dbe
	install -m 644 udb.pc $(LIBDIR)/pkgconfig/udb.pc
	install -m 644 doc/dbe.1 $(DESTDIR)$(PREFIX)/share/man/man1/dbe.1
	install -m 644 $(DOCS) $(DOCDIR)/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig 2>/dev/null || true; fi

uninstall:
	rm -f $(LIBDIR)/libudb.a $(LIBDIR)/$(notdir $(SO_FILE)) $(LIBDIR)/$(notdir $(SO_LINK)) \
	    $(LIBDIR)/libudb.so $(LIBDIR)/pkgconfig/udb.pc $(INC)/udb.h \
	    $(addprefix $(INC)/udb/,$(notdir $(HEADERS))) $(DESTDIR)$(PREFIX)/bin/dbe \
	    $(DESTDIR)$(PREFIX)/share/man/man1/dbe.1 $(addprefix $(DOCDIR)/,$(notdir $(DOCS)))
	rmdir $(INC)/udb $(DOCDIR) 2>/dev/null || true

# ---- benchmark (bench/README.md); never part of make check --------------------------
# The peers (SQLite, Berkeley DB, LMDB) are linked only into the bench
# programs: udb-bench (every engine, the durability and bulk-load runs) and
# udb-churn (the heap's space bound).
N ?= 100000
REPS ?= 3
ENGINES ?=
BENCH_OUT ?= bench/out
BENCH_LIBS = -lsqlite3 -ldb -llmdb
BENCH_OBJ = $(addprefix $(BUILD)/bench/,driver.o workload.o report.o durability.o bulk.o \
    w2.o w2_work.o engines.o eng_udb_store.o eng_udb_ndx.o eng_sqlite.o eng_bdb.o eng_lmdb.o)

$(BUILD)/bench/udb-bench: $(BENCH_OBJ) $(LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $^ $(BENCH_LIBS) $(LDLIBS) -o $@

$(BUILD)/bench/udb-churn: $(BUILD)/bench/churn.o $(LIB)
	$(call say,LD,$@)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

bench-bin: $(BUILD)/bench/udb-bench $(BUILD)/bench/udb-churn

-include $(BENCH_OBJ:.o=.d) $(BUILD)/bench/churn.d

# W2 (bench/README.md, "W2"): N0 preloaded records, commit1 W2_TXNS transactions,
# commit4 4 x W2_TXNS4, get1 W2_GETS lookups, mixed W2_SECONDS s; W2_ENGINES
# a comma-separated subset.
N0 ?= 100000
W2_SECONDS ?= 10
W2_TXNS ?= 5000
W2_TXNS4 ?= 2000
W2_GETS ?= 100000
W2_ENGINES ?=
W2_RUN = $(BUILD)/bench/udb-bench w2 -n $(N0) -r $(REPS) -o $(BENCH_OUT) -s $(W2_SECONDS) \
    -t $(W2_TXNS) -T $(W2_TXNS4) -g $(W2_GETS) $(if $(W2_ENGINES),-e $(W2_ENGINES))

# The W1 run, then the heap churn, the bulk load and W2 (bench/README.md).
bench:
	@.ci/deps.sh bench
	@$(MAKE) --no-print-directory bench-bin
	@$(BUILD)/bench/udb-bench run -n $(N) -r $(REPS) -o $(BENCH_OUT) $(if $(ENGINES),-e $(ENGINES))
	@$(BUILD)/bench/udb-churn -o $(BENCH_OUT)
	@$(BUILD)/bench/udb-bench bulk -n $(N) -r $(REPS) -o $(BENCH_OUT)
	@$(W2_RUN)

# W1 alone (bench/README.md): make bench-w1 N=4000000 ENGINES=udb-store,lmdb
.PHONY: bench-w1
bench-w1:
	@.ci/deps.sh bench
	@$(MAKE) --no-print-directory bench-bin
	@$(BUILD)/bench/udb-bench run -n $(N) -r $(REPS) -o $(BENCH_OUT) $(if $(ENGINES),-e $(ENGINES))

.PHONY: bench-w2
bench-w2:
	@.ci/deps.sh bench
	@$(MAKE) --no-print-directory bench-bin
	@$(W2_RUN)

# The durability cost (bench/README.md, "Durability"): the load phase with
# sync FULL and OFF and 10,000 single-record transactions with sync FULL,
# udb-store beside SQLite.
bench-durability:
	@.ci/deps.sh bench
	@$(MAKE) --no-print-directory bench-bin
	@$(BUILD)/bench/udb-bench durability -n $(N) -r $(REPS) -o $(BENCH_OUT)

# The bulk load of sorted input (bench/README.md, "Bulk load"): udb_store_load_sorted
# beside LMDB (MDB_APPEND), SQLite and Berkeley DB, sync FULL / durable commits.
bench-bulk:
	@.ci/deps.sh bench
	@$(MAKE) --no-print-directory bench-bin
	@$(BUILD)/bench/udb-bench bulk -n $(N) -r $(REPS) -o $(BENCH_OUT)

# The quick-start demo: build, then show dbe on a shipped fixture.
demo: all
	@sh examples/demo.sh $(DBE)

clean:
	rm -f udb.pc libudb.so libudb.so.*
	rm -rf build build-san build-tsan build-fuzz libudb.a dbe/dbe tests/out bench/out
