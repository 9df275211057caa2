# udb — build, test, install.
#
#   make                      libudb.a and dbe/dbe
#   make check                build and run every test (installs missing
#                             build dependencies with apt-get when it can)
#   make check SANITIZE=1     the same under AddressSanitizer + UBSan
#   make valgrind             the unit tests under valgrind
#   make fuzz                 a short libFuzzer run (clang)
#   make install PREFIX=/usr/local DESTDIR=
#   make bench N=100000       the benchmark against SQLite, Berkeley DB, LMDB

CC ?= cc
CFLAGS ?= -O2 -g
PREFIX ?= /usr/local
DESTDIR ?=
PYTHON ?= python3

STD = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
DEPFLAGS = -MMD -MP
LDLIBS = -lz -lpthread

ifeq ($(SANITIZE),1)
  BUILD = build-san
  CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=address,undefined
  LIB = $(BUILD)/libudb.a
  DBE = $(BUILD)/dbe
else ifeq ($(SANITIZE),thread)
  BUILD = build-tsan
  CFLAGS += -O1 -fsanitize=thread
  LDFLAGS += -fsanitize=thread
  LIB = $(BUILD)/libudb.a
  DBE = $(BUILD)/dbe
else
  BUILD = build
  LIB = libudb.a
  DBE = dbe/dbe
endif

ALL_CFLAGS = $(STD) $(WARN) $(CFLAGS) -Iudb

LIB_SRC = $(sort $(wildcard udb/*.c))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
DBE_SRC = $(sort $(wildcard dbe/*.c))
DBE_OBJ = $(DBE_SRC:%.c=$(BUILD)/%.o)

.PHONY: all clean check install uninstall deps valgrind fuzz bench
all: $(LIB) $(DBE)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(DBE): $(DBE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(DBE_OBJ) $(LIB) $(LDLIBS) -o $@

-include $(LIB_OBJ:.o=.d) $(DBE_OBJ:.o=.d)

clean:
	rm -rf build build-san build-tsan build-fuzz libudb.a dbe/dbe tests/out bench/out
