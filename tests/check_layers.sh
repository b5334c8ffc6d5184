#!/bin/sh
# make layers: the compiler's layers, and a check that no file reaches up.
#
# Every module of compiler/ (its .c and .h, named by the part of the file
# name before the dot) has a layer in the table below, the one place the
# layers are written; docs/architecture.md explains them.  Lowest first:
#
#   base     arena, diagnostics, the version: used by everything
#   ops      ops.def, the table of everything a .nn file can name, and
#            each operator's implementation record (ops_impl.h, ops_<family>.c)
#   front    the syntax tree, parsing (grammar/ -> build/parser.h, lexer.h), sema
#   ir       the dataflow graph: lowering, shape inference, autodiff, dumps
#   target   what the passes and the planner know of the code to come
#   passes   the optimising passes over the IR (fusion, conv_algo)
#   plan     the memory plan
#   emitter  the C printer: lines, floats, strings (no IR)
#   gemm     the GEMM the generated code carries
#   kernels  one C function per kernel, each operator's kernel record
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
# The same rule holds between the objects (build/obj/*.o, build/rt/*.o,
# read with nm): no object calls a function or uses a variable defined in
# a higher layer's object, which also catches a prototype written by hand
# instead of an include.
#
#   tests/check_layers.sh [DIR]          the includes of DIR (default .), a copy of the repository
#   tests/check_layers.sh --objects [B]  the objects of B/obj and B/rt (default build)
#   tests/check_layers.sh --selftest [B] show that the checks fail where they must
#                                        (the objects' too when B is given)
#
# POSIX sh, awk and nm (binutils, beside the C compiler); nothing to build.

LAYERS='
base     arena diag version gemm_const
ops      ops ops_impl ops_linear ops_conv ops_pool ops_act ops_norm ops_loss ops_struct ops_optim ops_train
front    ast sema parse parser lexer
ir       ir shape lower autodiff dump
target   target
passes   fold_batchnorm fuse_loss fuse_epilogue fuse_act_grad fuse_elementwise fuse_conv_pool conv_algo quantize
plan     kmem memplan
emitter  emitter cident
gemm     gemm
kernels  kernels kernels_act kernels_conv kernels_norm kernels_ops kernels_int8 dotsum
emit     emit_c
driver   compile main
'
# Modules made at build time (build/parser.h, build/lexer.h; from the
# helper C, build/helpers/gemm_const.h, the GEMM's constants, and
# build/helpers/dotsum.inc, whose stem gemm.inc shares with gemm): in
# the table without a file in compiler/.
GENERATED='parser lexer gemm_const dotsum'
# Compiler files that may include a runtime header, as "file:header".
RUNTIME_USERS='main.c:nnrt.h'

check() { # dir: 0 when its layers hold, else 1 after a line per fault
    dir=$1
    for f in "$dir"/compiler/*.c "$dir"/compiler/*.h "$dir"/compiler/*/*.c "$dir"/compiler/*/*.h "$dir"/compiler/*/*.def \
        "$dir"/runtime/*.c "$dir"/runtime/*.h; do
        [ -f "$f" ] && printf '%s\n' "$f"
    done >"$tmp.files"
    # every table entry names a module that exists (or is generated)
    echo "$LAYERS" | awk -v gen=" $GENERATED " 'NF { for (i = 2; i <= NF; i++) if (index(gen, " " $i " ") == 0) print $i }' |
        while read -r m; do
            ls "$dir"/compiler/*/"$m".* >/dev/null 2>&1 ||
                echo "tests/check_layers.sh: module $m has a layer but no file compiler/*/$m.c or .h"
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
        # the folder of a layer: its name, but the four layers of C emission share emit/
        function folder(l) { return l ~ /^(emitter|gemm|kernels)$/ ? "emit" : l }
        function base(path,    b) { b = path; sub(/.*\//, "", b); return b }
        FNR == 1 {
            name = FILENAME; if (index(name, dir) == 1) name = substr(name, length(dir) + 1)
            rt = name ~ /^runtime\//
            me = rt ? "runtime" : layer[stem(name)]
            if (me == "")
                printf "%s: has no layer: add its module %s to the table in tests/check_layers.sh\n", name, stem(name)
            else if (!rt && name !~ "^compiler/" folder(me) "/[^/]*$")
                printf "%s: module %s of layer %s belongs in compiler/%s/\n", name, stem(name), me, folder(me)
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

objects() { # bdir: the same layers between the objects in bdir/obj and bdir/rt
    bdir=$1
    for o in "$bdir"/obj/*.o "$bdir"/rt/*.o; do
        [ -f "$o" ] || continue
        m=$(basename "$o" .o)
        case $o in "$bdir"/rt/*) m="rt:$m" ;; esac
        nm -P -g --defined-only "$o" | awk -v m="$m" '{ print "D", $1, m }'
        nm -P -u "$o" | awk -v m="$m" '{ print "U", $1, m }'
    done >"$tmp.syms" || return 1
    [ -s "$tmp.syms" ] || { echo "tests/check_layers.sh: no objects in $bdir/obj (make all first)"; return 1; }
    awk -v layers="$LAYERS" -v users=" $RUNTIME_USERS " -v bdir="$bdir" '
        BEGIN {
            n = split(layers, row, "\n")
            for (i = 1; i <= n; i++) {
                k = split(row[i], w, " ")
                if (k == 0) continue
                rank[w[1]] = ++nl
                for (j = 2; j <= k; j++) layer[w[j]] = w[1]
            }
        }
        function lay(m) { return m ~ /^rt:/ ? "runtime" : layer[m] }
        function obj(m) { return m ~ /^rt:/ ? bdir "/rt/" substr(m, 4) ".o" : bdir "/obj/" m ".o" }
        $1 == "D" { def[$2] = $3; mods[$3] = 1; next }
        { use[++nu] = $2; by[nu] = $3 }
        END {
            for (m in mods)
                if (lay(m) == "")
                    printf "%s: has no layer: add its module %s to the table in tests/check_layers.sh\n", obj(m), m
            for (i = 1; i <= nu; i++) {
                s = use[i]; m = by[i]
                if (!(s in def) || def[s] == m) continue
                d = def[s]; lm = lay(m); ld = lay(d)
                if (lm == "" || ld == "") continue
                if (lm == "runtime" && ld != "runtime")
                    printf "%s: calls %s (%s, compiler) from layer runtime\n", obj(m), s, obj(d)
                else if (ld == "runtime" && lm != "runtime") {
                    if (index(users, " " m ".c:") == 0)
                        printf "%s: calls %s (%s, runtime) from layer %s: only RUNTIME_USERS in tests/check_layers.sh may\n", obj(m), s, obj(d), lm
                } else if (rank[ld] > rank[lm])
                    printf "%s: calls %s of %s, layer %s, from layer %s: a lower layer may not call a higher one\n", obj(m), s, obj(d), ld, lm
            }
        }
    ' "$tmp.syms" | sort >"$tmp.out"
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
    expect_fault 'printf "#include \"emit_c.h\"\n" >>compiler/plan/memplan.c' \
        '^compiler/plan/memplan.c:[0-9]*: includes "emit_c.h" of layer emit from layer plan'
    # a header including one above it
    expect_fault 'printf "#include \"kernels.h\"\n" >>compiler/emit/emitter.h' \
        '^compiler/emit/emitter.h:[0-9]*: includes "kernels.h" of layer kernels from layer emitter'
    # a new module nobody placed, and an include of it
    expect_fault 'echo "int x;" >compiler/newpass.c' \
        '^compiler/newpass.c: has no layer'
    expect_fault 'printf "#include \"newpass.h\"\n" >>compiler/driver/compile.c' \
        '^compiler/driver/compile.c:[0-9]*: includes "newpass.h", which has no layer'
    # the runtime reaching into the compiler, and the compiler into the runtime
    expect_fault 'printf "#include \"ir.h\"\n" >>runtime/rng.c' \
        '^runtime/rng.c:[0-9]*: includes "ir.h" (compiler) from layer runtime'
    expect_fault 'printf "#include \"nnrt.h\"\n" >>compiler/emit/kernels.c' \
        '^compiler/emit/kernels.c:[0-9]*: includes "nnrt.h" (runtime) from layer kernels'
    # a table entry whose files are gone
    expect_fault 'rm compiler/target/target.c compiler/target/target.h; sed -i.bak "/target.h/d" compiler/*/*.c compiler/*/*.h' \
        'module target has a layer but no file'
    # a module in another layer's folder
    expect_fault 'mv compiler/plan/kmem.c compiler/emit/kmem.c' \
        '^compiler/emit/kmem.c: module kmem of layer plan belongs in compiler/plan/'
    n=8
    # Objects (with --selftest BDIR): a call that reaches up without an
    # include (a prototype written by hand) is caught by the symbols.
    if [ -n "$2" ]; then
        objects "$2" >/dev/null || { echo "check_layers selftest: the objects in $2 fail"; exit 1; }
        mkdir -p "$tmp.b/obj" "$tmp.b/rt"
        cp "$2"/obj/*.o "$tmp.b/obj/" && cp "$2"/rt/*.o "$tmp.b/rt/" || exit 1
        printf 'struct Emitter;\nvoid emit_line(struct Emitter *e, const char *fmt, ...);\n%s\n' \
            'void mem_bad(struct Emitter *e) { emit_line(e, "x"); }' >"$tmp.bad.c"
        ${CC:-cc} -c -o "$tmp.b/obj/memplan_bad.o" "$tmp.bad.c" || exit 1
        if objects "$tmp.b" >"$tmp.got"; then
            echo "check_layers selftest FAILED: an object of no layer passed"
            fails=$((fails + 1))
        elif ! grep -q 'memplan_bad.o: has no layer' "$tmp.got"; then
            echo "check_layers selftest FAILED: no line names memplan_bad.o"; cat "$tmp.got"
            fails=$((fails + 1))
        fi
        mv "$tmp.b/obj/memplan_bad.o" "$tmp.b/obj/memplan.o"
        if objects "$tmp.b" >"$tmp.got"; then
            echo "check_layers selftest FAILED: memplan.o calling emit_line passed"
            fails=$((fails + 1))
        elif ! grep -q 'obj/memplan.o: calls emit_line of .*emitter.o, layer emitter, from layer plan' "$tmp.got"; then
            echo "check_layers selftest FAILED: no line names the call"; cat "$tmp.got"
            fails=$((fails + 1))
        fi
        n=$((n + 2))
    fi
    [ "$fails" -eq 0 ] && echo "check_layers selftest: $n faults found, $n expected"
    [ "$fails" -eq 0 ]
    exit
fi
if [ "$1" = --objects ]; then
    bdir=${2:-build}
    if objects "$bdir"; then
        echo "layers: $(awk '$1 == "D" { print $3 }' "$tmp.syms" | sort -u | wc -l | tr -d ' ') objects of $bdir/obj and $bdir/rt, no call reaches up"
    else
        exit 1
    fi
    exit
fi
if check "${1:-.}"; then
    echo "layers: $(wc -l <"$tmp.files" | tr -d ' ') files of compiler/ and runtime/, no include reaches up"
else
    exit 1
fi
