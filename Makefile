# nnc: one non-recursive Makefile.
#   make            build build/nnc
#   make test       unit tests (check), golden error tests, example checks
#   make asan       the same tests with AddressSanitizer and UBSan
#   make fuzz       libFuzzer target on the front end (clang), FUZZ_SECONDS
#   make lint       cppcheck on compiler/
#   make clean

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c99 -Wall -Wextra -pedantic -Wshadow -Wstrict-prototypes
CPPFLAGS_ALL := -D_POSIX_C_SOURCE=200809L -Icompiler -Ibuild
B       := build

COMPILER_SRC := compiler/arena.c compiler/diag.c compiler/ops.c compiler/ast.c \
                compiler/parse.c compiler/sema.c compiler/ir.c compiler/lower.c \
                compiler/shape.c compiler/dump.c compiler/compile.c
GEN_SRC      := $(B)/parser.c $(B)/lexer.c
COMPILER_OBJ := $(COMPILER_SRC:compiler/%.c=$(B)/obj/%.o) $(B)/obj/parser.o $(B)/obj/lexer.o
HEADERS      := $(wildcard compiler/*.h) compiler/ops.def $(B)/parser.h $(B)/lexer.h

all: $(B)/nnc

$(B)/parser.c $(B)/parser.h: grammar/parser.y
	@mkdir -p $(B)
	bison -Wall -Werror --header=$(B)/parser.h -o $(B)/parser.c $<

$(B)/lexer.c $(B)/lexer.h: grammar/lexer.l
	@mkdir -p $(B)
	flex --header-file=$(B)/lexer.h -o $(B)/lexer.c $<

$(B)/obj/%.o: compiler/%.c $(HEADERS)
	@mkdir -p $(B)/obj
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) -c -o $@ $<

# Generated code: flex's skeleton has unused helpers and signed compares.
$(B)/obj/parser.o: $(B)/parser.c $(HEADERS)
	@mkdir -p $(B)/obj
	$(CC) $(CPPFLAGS_ALL) -std=c99 -Wall -Wextra $(CFLAGS) -c -o $@ $<
$(B)/obj/lexer.o: $(B)/lexer.c $(HEADERS)
	@mkdir -p $(B)/obj
	$(CC) $(CPPFLAGS_ALL) -std=c99 -Wall -Wextra -Wno-unused-function -Wno-sign-compare $(CFLAGS) -c -o $@ $<

$(B)/nnc: $(COMPILER_OBJ) $(B)/obj/main.o
	$(CC) $(CFLAGS) -o $@ $^ -lm

.PHONY: all clean
clean:
	rm -rf $(B)
