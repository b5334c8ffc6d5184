#!/bin/sh
# make layers: the compiler's layers, and a check that no file reaches up.
#
# Every module of compiler/ (its .c and .h, named by the part of the file
# name before the dot) has a layer in the table below, the one place the
# layers are written; docs/architecture.md explains them.  Lowest first:
#
#   base     arena, diagnostics, the version: used by everything
#   ops      ops.def, the table of everything a .nn file can name
#   front    the syntax tree, parsing (grammar/ -> build/parser.h, lexer.h), sema
#   ir       the dataflow graph: lowering, shape inference, autodiff, dumps
#   target   what the passes and the planner know of the code to come
#   passes   the optimising passes over the IR (fusion, conv_algo)
#   plan     the memory plan
#   emitter  the C printer: lines, floats, strings (no IR)
#   gemm     the GEMM the generated code carries
#   kernels  one C function per kernel
#   emit     the model emitter: API, schedules, parameters
#   driver   the pipeline (compile.c) and the command line (main.c)
#
# A file may include the headers of its own layer and of lower ones.  The
# check reads every `#include "..."` line of compiler/ and runtime/ and
# fails, naming the file, the line and both layers, when a file includes
# a header of a higher layer, or when a file (or a header it includes) has
# no layer.  Since layers only point down, no two modules of different
# layers can depend on each other in a circle.
#
# runtime/ (nnrt_) is its own layer, under the generated code, apart from
# the compiler: its files include only runtime headers, and a compiler
# file may include one only where RUNTIME_USERS says so (main.c reads
# safetensors weights for --inference with the runtime's reader).
#
#   tests/check_layers.sh [DIR]      check DIR (default .), a copy of the repository
#   tests/check_layers.sh --selftest show that the check fails where it must
#
# POSIX sh and awk; nothing to build.

LAYERS='
base     arena diag version
ops      ops
front    ast sema parse parser lexer
ir       ir shape lower autodiff dump
target   target
passes   fuse_loss fuse_epilogue fuse_act_grad fuse_elementwise fuse_conv_pool conv_algo
plan     memplan
emitter  emitter cident
gemm     gemm
kernels  kernels kernels_act kernels_conv kernels_norm
emit     emit_c
driver   compile main
'
# Modules made at build time (build/parser.h, build/lexer.h): in the table
# without a file in compiler/.
GENERATED='parser lexer'
# Compiler files that may include a runtime header, as "file:header".
RUNTIME_USERS='main.c:nnrt.h'

check() { # dir: 0 when its layers hold, else 1 after a line per fault
    dir=$1
    for f in "$dir"/compiler/*.c "$dir"/compiler/*.h "$dir"/compiler/*.def "$dir"/runtime/*.c "$dir"/runtime/*.h; do
        [ -f "$f" ] && printf '%s\n' "$f"
    done >"$tmp.files"
    # every table entry names a module that exists (or is generated)
    echo "$LAYERS" | awk -v gen=" $GENERATED " 'NF { for (i = 2; i <= NF; i++) if (index(gen, " " $i " ") == 0) print $i }' |
        while read -r m; do
            ls "$dir"/compiler/"$m".* >/dev/null 2>&1 ||
                echo "tests/check_layers.sh: module $m has a layer but no file compiler/$m.c or .h"
        done >"$tmp.out"
    # shellcheck disable=SC2046
    awk -v layers="$LAYERS" -v users=" $RUNTIME_USERS " -v dir="$dir/" '
        BEGIN {
            n = split(layers, row, "\n")
            for (i = 1; i <= n; i++) {
                k = split(row[i], w, " ")
                if (k == 0) continue
                rank[w[1]] = ++nl
                for (j = 2; j <= k; j++) layer[w[j]] = w[1]
            }
        }
        function stem(path,    b) { b = path; sub(/.*\//, "", b); sub(/\..*/, "", b); return b }
        function base(path,    b) { b = path; sub(/.*\//, "", b); return b }
        FNR == 1 {
            name = FILENAME; if (index(name, dir) == 1) name = substr(name, length(dir) + 1)
            rt = name ~ /^runtime\//
            me = rt ? "runtime" : layer[stem(name)]
            if (me == "")
                printf "%s: has no layer: add its module %s to the table in tests/check_layers.sh\n", name, stem(name)
        }
        /^[ \t]*#[ \t]*include[ \t]*"/ {
            h = $0; sub(/^[^"]*"/, "", h); sub(/".*/, "", h)
            hrt = h ~ /^nnrt/
            if (rt) {
                if (!hrt)
                    printf "%s:%d: includes \"%s\" (compiler) from layer runtime: the runtime includes only its own headers\n", name, FNR, h
                next
            }
            if (hrt) {
                if (index(users, " " base(name) ":" h " ") == 0)
                    printf "%s:%d: includes \"%s\" (runtime) from layer %s: only RUNTIME_USERS in tests/check_layers.sh may\n", name, FNR, h, me
                next
            }
            hl = layer[stem(h)]
            if (hl == "")
                printf "%s:%d: includes \"%s\", which has no layer: add module %s to the table in tests/check_layers.sh\n", name, FNR, h, stem(h)
            else if (me != "" && rank[hl] > rank[me])
                printf "%s:%d: includes \"%s\" of layer %s from layer %s: a lower layer may not include a higher one\n", name, FNR, h, hl, me
        }
    ' $(cat "$tmp.files") >>"$tmp.out"
    if [ -s "$tmp.out" ]; then
        cat "$tmp.out"
        return 1
    fi
    return 0
}

# A copy of the repository's compiler/ and runtime/ with one fault added
# by the command in $1 must fail with a line matching $2.
expect_fault() { # edit pattern
    rm -rf "$tmp.copy"
    mkdir -p "$tmp.copy"
    cp -R compiler runtime "$tmp.copy"/ || exit 1
    (cd "$tmp.copy" && eval "$1") || { echo "selftest: cannot apply: $1"; exit 1; }
    if check "$tmp.copy" >"$tmp.got"; then
        echo "check_layers selftest FAILED: passed after: $1"
        fails=$((fails + 1))
    elif ! grep -q "$2" "$tmp.got"; then
        echo "check_layers selftest FAILED: after $1, no line matches: $2"
        cat "$tmp.got"
        fails=$((fails + 1))
    fi
}

tmp=$(mktemp)
trap 'rm -rf "$tmp" "$tmp".*' EXIT
if [ "$1" = --selftest ]; then
    fails=0
    check . >/dev/null || { echo "check_layers selftest: the repository itself fails"; exit 1; }
    # an upward include (the old circle: the planner reaching into the emitter)
    expect_fault 'printf "#include \"emit_c.h\"\n" >>compiler/memplan.c' \
        '^compiler/memplan.c:[0-9]*: includes "emit_c.h" of layer emit from layer plan'
    # a header including one above it
    expect_fault 'printf "#include \"kernels.h\"\n" >>compiler/emitter.h' \
        '^compiler/emitter.h:[0-9]*: includes "kernels.h" of layer kernels from layer emitter'
    # a new module nobody placed, and an include of it
    expect_fault 'echo "int x;" >compiler/newpass.c; printf "#include \"newpass.h\"\n" >>compiler/compile.c' \
        '^compiler/newpass.c: has no layer'
    expect_fault 'printf "#include \"newpass.h\"\n" >>compiler/compile.c' \
        '^compiler/compile.c:[0-9]*: includes "newpass.h", which has no layer'
    # the runtime reaching into the compiler, and the compiler into the runtime
    expect_fault 'printf "#include \"ir.h\"\n" >>runtime/rng.c' \
        '^runtime/rng.c:[0-9]*: includes "ir.h" (compiler) from layer runtime'
    expect_fault 'printf "#include \"nnrt.h\"\n" >>compiler/kernels.c' \
        '^compiler/kernels.c:[0-9]*: includes "nnrt.h" (runtime) from layer kernels'
    # a table entry whose files are gone
    expect_fault 'rm compiler/target.c compiler/target.h; sed -i.bak "/target.h/d" compiler/*.c compiler/*.h' \
        'module target has a layer but no file'
    [ "$fails" -eq 0 ] && echo "check_layers selftest: 7 faults found, 7 expected"
    [ "$fails" -eq 0 ]
    exit
fi
if check "${1:-.}"; then
    echo "layers: $(wc -l <"$tmp.files" | tr -d ' ') files of compiler/ and runtime/, no include reaches up"
else
    exit 1
fi
