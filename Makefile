# nnc: one non-recursive Makefile.
#
#   make               build build/nnc and the runtime library build/libnnrt.a
#   make test          unit tests (check), golden diagnostics, examples, generated
#                      code (warnings, sanitizers, PyTorch golden files)
#   make demo          train fashion_mlp on Fashion-MNIST with the generated C
#   make bench         nnc's generated code against PyTorch, as ratios
#   make test-targets  the inference code on Cortex-M0/M4F/M7 (qemu-system-arm)
#                      and AArch64 (qemu-aarch64) against the host build, with
#                      instruction counts (tests/run_targets.sh, examples/embedded);
#                      the AArch64 training program against the golden files
#   make asan          the unit and diagnostic tests under AddressSanitizer + UBSan
#   make fuzz          the libFuzzer target on the front end for FUZZ_SECONDS
#   make golden-update rewrite the golden files (and tests/gen/) from the current compiler
#   make lint          cppcheck over compiler/ and runtime/
#   make layers        no file of compiler/ or runtime/ includes a header (and no
#                      object calls a function) of a higher layer
#                      (tests/check_layers.sh, docs/architecture.md)
#   make clean
#
# Flex and Bison output goes to build/, never to the source tree.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c99 -Wall -Wextra -pedantic -Wshadow -Wstrict-prototypes
# compiler/ has a folder per layer (tests/check_layers.sh, docs/architecture.md);
# its files include each other by name.
COMPILER_DIRS := base ops front ir target passes plan emit driver
CPPFLAGS_ALL := -D_POSIX_C_SOURCE=200809L $(COMPILER_DIRS:%=-Icompiler/%) -Iruntime -Ibuild
B       := build
SAN     :=
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)

COMPILER_SRC := $(filter-out compiler/driver/main.c,$(wildcard $(COMPILER_DIRS:%=compiler/%/*.c)))
RUNTIME_SRC  := $(wildcard runtime/*.c)
COMPILER_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(notdir $(COMPILER_SRC))) $(B)/obj/parser.o $(B)/obj/lexer.o
RUNTIME_OBJ  := $(RUNTIME_SRC:runtime/%.c=$(B)/rt/%.o)
# The helper C the generated code carries (compiler/emit/helpers/NAME.c, real C)
# as the string tables and constants the compiler includes (build/helpers/).
HELPERS      := $(wildcard compiler/emit/helpers/*.c)
HELPER_GEN   := $(HELPERS:compiler/emit/helpers/%.c=$(B)/helpers/%.inc) $(HELPERS:compiler/emit/helpers/%.c=$(B)/helpers/%_const.h)
HEADERS      := $(wildcard $(COMPILER_DIRS:%=compiler/%/*.h)) compiler/ops/ops.def $(B)/parser.h $(B)/lexer.h runtime/nnrt.h $(HELPER_GEN)

# nnc --exe compiles generated code against these, wherever nnc is run from.
PATHS := -DNNC_RUNTIME_DIR='"$(abspath runtime)"' -DNNC_RUNTIME_LIB='"$(abspath $(B)/libnnrt.a)"'

all: $(B)/nnc $(B)/libnnrt.a

$(B)/parser.c $(B)/parser.h &: grammar/parser.y
	@mkdir -p $(B)
	bison -Wall -Werror --header=$(B)/parser.h -o $(B)/parser.c $<

$(B)/lexer.c $(B)/lexer.h &: grammar/lexer.l
	@mkdir -p $(B)
	flex --header-file=$(B)/lexer.h -o $(B)/lexer.c $<

# scripts/embed_c.c: each section of a helper into a table, its constants
# into NNC_HELPER_* (docs/architecture.md, "The helper C").
$(B)/embed_c: scripts/embed_c.c
	@mkdir -p $(B)
	$(CC) $(WARN) $(CFLAGS) -o $@ $<
$(B)/helpers/%.inc $(B)/helpers/%_const.h: compiler/emit/helpers/%.c $(B)/embed_c
	@mkdir -p $(B)/helpers
	$(B)/embed_c $< $(B)/helpers/$*.inc $(B)/helpers/$*_const.h

# build/obj/NAME.o from compiler/LAYER/NAME.c, whichever folder holds it
vpath %.c $(COMPILER_DIRS:%=compiler/%)
$(B)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(B)/obj
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(SAN) $(CFLAGS) $(PATHS) -c -o $@ $<

# Generated code: flex's skeleton has unused helpers and signed compares.
$(B)/obj/parser.o: $(B)/parser.c $(HEADERS)
	@mkdir -p $(B)/obj
	$(CC) $(CPPFLAGS_ALL) -std=c99 -Wall -Wextra $(SAN) $(CFLAGS) -c -o $@ $<
$(B)/obj/lexer.o: $(B)/lexer.c $(HEADERS)
	@mkdir -p $(B)/obj
	$(CC) $(CPPFLAGS_ALL) -std=c99 -Wall -Wextra -Wno-unused-function -Wno-sign-compare $(SAN) $(CFLAGS) -c -o $@ $<

$(B)/rt/%.o: runtime/%.c runtime/nnrt.h $(wildcard runtime/*.h)
	@mkdir -p $(B)/rt
	$(CC) -D_POSIX_C_SOURCE=200809L -Iruntime $(WARN) $(SAN) $(CFLAGS) -c -o $@ $<

$(B)/libnnrt.a: $(RUNTIME_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/libnnc.a: $(COMPILER_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/nnc: $(B)/obj/main.o $(B)/libnnc.a $(B)/libnnrt.a
	$(CC) $(SAN) $(CFLAGS) -o $@ $^ -lz -lm

# ---- tests -------------------------------------------------------------------

UNIT_FRONT   := $(wildcard tests/unit/test_front*.c tests/unit/test_lex*.c tests/unit/test_sema*.c tests/unit/test_shape*.c tests/unit/test_diag*.c)
UNIT_RUNTIME := $(wildcard tests/unit/test_runtime.c tests/unit/test_driver.c)

$(B)/test_front: $(UNIT_FRONT) $(B)/libnnc.a $(B)/libnnrt.a $(wildcard tests/unit/*.h)
	$(CC) $(CPPFLAGS_ALL) -std=c99 -Wall -Wextra $(SAN) $(CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) \
	    -o $@ $(UNIT_FRONT) $(B)/libnnc.a $(B)/libnnrt.a $(CHECK_LIBS) -lz -lm

$(B)/test_runtime: tests/unit/test_runtime.c $(B)/libnnrt.a runtime/nnrt.h
	$(CC) $(CPPFLAGS_ALL) -std=c99 -Wall -Wextra $(SAN) $(CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) \
	    -o $@ $< $(B)/libnnrt.a $(CHECK_LIBS) -lz -lm

$(B)/test_driver: tests/unit/test_driver.c $(B)/libnnrt.a runtime/nnrt.h
	$(CC) $(CPPFLAGS_ALL) -std=c99 -Wall -Wextra $(SAN) $(CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) \
	    -o $@ $< $(B)/libnnrt.a $(CHECK_LIBS) -lz -lm

# The back half of the pipeline (pass table, autodiff, fusion, memplan).
$(B)/test_passes: tests/unit/test_passes.c $(B)/libnnc.a $(B)/libnnrt.a
	$(CC) $(CPPFLAGS_ALL) -std=c99 -Wall -Wextra $(SAN) $(CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) \
	    -o $@ $< $(B)/libnnc.a $(B)/libnnrt.a $(CHECK_LIBS) -lz -lm

# The target description and nnc --target's pruning (target.c).
$(B)/test_target: tests/unit/test_target.c $(B)/libnnc.a $(B)/libnnrt.a
	$(CC) $(CPPFLAGS_ALL) -std=c99 -Wall -Wextra $(SAN) $(CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) \
	    -o $@ $< $(B)/libnnc.a $(B)/libnnrt.a $(CHECK_LIBS) -lz -lm

# The helper C (compiler/emit/helpers/) alone, in each configuration of the
# generated code (tests/unit/helpers_cfg.c once per configuration, its
# flags below; the x86 ones where $(CC) makes x86-64 code, whose test
# skips what the CPU lacks), against naive loops (tests/unit/test_helpers.c).
HELPER_CFGS := $(if $(findstring x86_64,$(shell $(CC) -dumpmachine)),plain plain_fma v4 v8 v8_fma v16_fma,plain vec)
HELPER_OBJ  := $(HELPER_CFGS:%=$(B)/helpers/cfg_%.o)
$(B)/helpers/cfg_plain.o: HELPER_FLAGS := -DNNC_SCALAR
$(B)/helpers/cfg_plain_fma.o: HELPER_FLAGS := -DNNC_SCALAR -mfma
$(B)/helpers/cfg_v8.o: HELPER_FLAGS := -mavx
$(B)/helpers/cfg_v8_fma.o: HELPER_FLAGS := -mavx2 -mfma
$(B)/helpers/cfg_v16_fma.o: HELPER_FLAGS := -mavx512f -mfma
$(B)/helpers/cfg_%.o: tests/unit/helpers_cfg.c tests/unit/helpers_cfg.h $(HELPERS) compiler/emit/helpers/prelude.h
	@mkdir -p $(B)/helpers
	$(CC) -std=c99 -Wall -Wextra -Werror -Icompiler/emit/helpers $(SAN) $(CFLAGS) $(HELPER_FLAGS) -DCFG=cfg_$* -c -o $@ $<
$(B)/test_helpers: tests/unit/test_helpers.c $(HELPER_OBJ) $(B)/libnnc.a $(B)/libnnrt.a $(B)/embed_c
	$(CC) $(CPPFLAGS_ALL) -std=c99 -Wall -Wextra $(SAN) $(CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) \
	    -o $@ $< $(HELPER_OBJ) $(B)/libnnc.a $(B)/libnnrt.a $(CHECK_LIBS) -lz -lm

UNIT_BINS := $(if $(UNIT_FRONT),$(B)/test_front) $(if $(wildcard tests/unit/test_runtime.c),$(B)/test_runtime) \
             $(if $(wildcard tests/unit/test_driver.c),$(B)/test_driver) \
             $(if $(wildcard tests/unit/test_passes.c),$(B)/test_passes) \
             $(if $(wildcard tests/unit/test_target.c),$(B)/test_target) \
             $(if $(wildcard tests/unit/test_helpers.c),$(B)/test_helpers)

deps-test:
	@scripts/install-deps.sh test

FMNIST := /usr/share/datasets/fashion-mnist

# The main job: compile examples/fashion_mlp.nn to C, build the training
# program (nnc --exe's default flags, as a user gets them), train 3 epochs on the 60,000 Fashion-MNIST images and report the
# accuracy on the 10,000 test images; the curves go to build/demo-log.csv
# and, with gnuplot, build/demo-curves.png.
demo:
	@scripts/install-deps.sh demo
	@$(MAKE) --no-print-directory all
	$(B)/nnc examples/fashion_mlp.nn --exe -o $(B)/fashion_mlp
	$(B)/fashion_mlp train --data $(FMNIST)/train-images-idx3-ubyte.gz --labels $(FMNIST)/train-labels-idx1-ubyte.gz \
	    --test-data $(FMNIST)/t10k-images-idx3-ubyte.gz --test-labels $(FMNIST)/t10k-labels-idx1-ubyte.gz \
	    --save $(B)/fashion_mlp.safetensors --log $(B)/demo-log.csv
	@echo "weights saved to $(B)/fashion_mlp.safetensors (PyTorch state_dict names)"
	@if command -v gnuplot >/dev/null 2>&1; then \
	    gnuplot -e "set datafile separator ','; set term png; set output '$(B)/demo-curves.png'; \
	        plot '$(B)/demo-log.csv' using 'epoch':'train_loss' with lines title 'train', \
	        '' using 'epoch':'test_loss' with lines title 'test'" && \
	    echo "training curves in $(B)/demo-curves.png (from $(B)/demo-log.csv)"; fi

# make test runs its parts in parallel, one per core (TEST_JOBS), each
# part's output shown whole when it ends (-O); the longest start first.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TEST_PARTS = test-codegen test-golden test-gradcheck test-examples test-arena test-quant test-embed test-fold \
	test-layers test-unit test-program test-init-stats test-gen-c test-reliability test-errors test-ops-doc
test: deps-test all $(UNIT_BINS)
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) -O $(TEST_PARTS)
	@echo "make test: all parts passed"

test-layers: all
	@sh tests/part.sh layers $(MAKE) --no-print-directory layers
test-unit: all $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; CK_FORK=no $$t; done
test-errors: all
	@sh tests/part.sh "diagnostics (tests/errors)" env NNC=$(B)/nnc sh tests/run_errors.sh
test-examples: all
	@sh tests/part.sh "examples" env NNC=$(B)/nnc sh tests/run_examples.sh
test-program: all
	@sh tests/part.sh "the generated program" env NNC=$(B)/nnc sh tests/run_program.sh
test-codegen: all
	@sh tests/part.sh "generated code" env NNC=$(B)/nnc sh tests/run_codegen.sh
test-embed: all
	@sh tests/part.sh "the embedding API (C, C++, sanitizers, Cortex-M)" env NNC=$(B)/nnc sh tests/run_embed.sh
test-quant: all
	@sh tests/part.sh "int8 quantization (tests/quant)" env NNC=$(B)/nnc sh tests/run_quant.sh
test-golden: all
	@sh tests/part.sh "golden outputs against PyTorch" env NNC=$(B)/nnc sh tests/run_golden.sh
test-gradcheck: all
	@sh tests/part.sh "finite-difference gradient check" env NNC=$(B)/nnc sh tests/run_gradcheck.sh
test-init-stats: all
	@sh tests/part.sh "initialiser statistics" env NNC=$(B)/nnc sh tests/run_init_stats.sh
test-ops-doc: all
	@sh tests/part.sh "docs/ops.md is current" env NNC=$(B)/nnc sh tests/check_ops_doc.sh
test-reliability: all
	@sh tests/part.sh "reliability" env NNC=$(B)/nnc sh tests/run_reliability.sh
test-fold: all
	@sh tests/part.sh "batchnorm folding against PyTorch's eval mode" env NNC=$(B)/nnc sh tests/run_fold.sh
test-gen-c: all
	@sh tests/part.sh "generated C of every example (tests/gen)" env NNC=$(B)/nnc sh tests/run_gen_c.sh
test-arena: all
	@sh tests/part.sh "the batch-1 inference arena is what the code writes" env NNC=$(B)/nnc sh tests/run_arena.sh

golden-update: all
	NNC=$(B)/nnc sh tests/run_errors.sh --update
	NNC=$(B)/nnc sh tests/run_examples.sh --update
	NNC=$(B)/nnc sh tests/check_ops_doc.sh --update
	NNC=$(B)/nnc sh tests/run_gen_c.sh --update

# The compiler, the runtime and the unit tests built with the sanitizers
# (build/asan), then three parts that make -j runs side by side.
ASAN_UNIT_BINS := $(subst $(B)/,build/asan/,$(UNIT_BINS))
asan: asan-examples asan-unit asan-errors
asan-build:
	$(MAKE) B=build/asan SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	    CFLAGS="-O1 -g" all $(ASAN_UNIT_BINS)
asan-unit: asan-build
	@set -e; for t in $(ASAN_UNIT_BINS); do echo "== $$t (asan)"; \
	    ASAN_OPTIONS=detect_leaks=1 CK_FORK=no $$t; done
asan-errors: asan-build
	@sh tests/part.sh "diagnostics (asan)" env NNC=build/asan/nnc sh tests/run_errors.sh
asan-examples: asan-build
	@sh tests/part.sh "examples (asan)" env NNC=build/asan/nnc sh tests/run_examples.sh

# The --inference --batch 1 code of the Fashion-MNIST examples, built by
# examples/embedded for Cortex-M0, M4F and M7 (bare metal on QEMU's mps2
# boards) and AArch64 (qemu-aarch64), on real test images: outputs against
# the host build's, instructions per inference against tests/targets/counts.txt
# (NNC=build/nnc sh tests/run_targets.sh --update records them); then the
# training program cross-built for AArch64 (runtime in build/aarch64/)
# against the PyTorch golden files under qemu-aarch64.  Two parts, each
# mostly one process at a time, which make -j2 runs side by side.
test-targets: test-targets-qemu test-targets-golden
test-targets-qemu: all
	@sh tests/part.sh "the inference code on Cortex-M and AArch64 (QEMU)" env NNC=$(B)/nnc sh tests/run_targets.sh
test-targets-golden: all
	@sh tests/part.sh "the AArch64 training program against the golden files (qemu-aarch64)" \
	    env NNC=$(B)/nnc sh tests/run_golden.sh --target aarch64

# nnc's generated code and the same models in PyTorch, side by side, as
# ratios (bench/run.sh; results in build/bench/ and docs/performance.md).
bench:
	sh bench/run.sh

# this tree's generated code against commit BASE's, side by side (bench/ab.sh)
bench-ab:
	@test -n "$(BASE)" || { echo 'usage: make bench-ab BASE=commit' >&2; exit 2; }
	sh bench/ab.sh $(BASE)

FUZZ_SECONDS ?= 60
fuzz:
	@scripts/install-deps.sh fuzz
	bash tests/fuzz/run.sh $(FUZZ_SECONDS)

# The layers of compiler/ and runtime/ (the table in tests/check_layers.sh):
# no include and no call between objects reaches up, so no dependency
# circle; then the checks are shown faults they must catch.
layers: $(B)/obj/main.o $(B)/libnnc.a $(B)/libnnrt.a
	sh tests/check_layers.sh
	sh tests/check_layers.sh --objects $(B)
	CC="$(CC)" sh tests/check_layers.sh --selftest $(B)

# compiler/emit/helpers: cppcheck cannot follow the arrays the GEMM's K8 tree
# and dotsum_block() fill in loops and switches (uninitvar, false).
lint:
	cppcheck --quiet --error-exitcode=1 --std=c99 --enable=warning,portability \
	    --suppress=missingIncludeSystem --suppress='uninitvar:compiler/emit/helpers/*' \
	    $(COMPILER_DIRS:%=-Icompiler/%) -Iruntime -I$(B) compiler runtime

clean:
	rm -rf $(B)

.PHONY: all test $(TEST_PARTS) test-targets test-targets-qemu test-targets-golden demo bench bench-ab asan asan-build asan-unit asan-errors asan-examples fuzz lint layers clean golden-update deps-test
