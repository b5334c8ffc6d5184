#!/bin/sh
# run_errors.sh: the golden diagnostic tests.
#
# Each tests/errors/NAME.nn is a small model with a mistake in it.  Beside it,
# tests/errors/NAME.err holds what `nnc tests/errors/NAME.nn --check` must do:
#
#   line 1      `# exit N`, the expected exit status (1 for model errors,
#               0 for a model that only draws warnings, 2 for I/O errors)
#   the rest    the exact expected stderr, source excerpts and carets included
#
# A case whose first line is `# flags: ...` is run with those options
# added (`# flags: -Werror`).
#
# Case names start with the layer they test: lex_ syn_ name_ arg_ shape_
# stmt_ train_ multi_ (several independent errors in one file) and warn_
# (warnings: exit 0, or 1 under -Werror).
#
# Paths in the messages are as given on the command line, so run this from
# the repository root.  stdout must stay empty: --check prints only
# diagnostics.  A case that runs longer than NNC_TIMEOUT seconds (default 10;
# needs timeout(1)) fails as a hang.
#
# Usage:
#   tests/run_errors.sh [NAME...]            run all cases, or only these
#   tests/run_errors.sh --update [NAME...]   rewrite the .err files from what
#                                            the compiler prints now
#                                            (make golden-update); review the
#                                            diff before committing it
# Environment: NNC, the compiler to test (default build/nnc).
#
# Prints one FAIL line with a unified diff per failing case, then the line
# `N passed, M failed`.  Exit status: 0 all passed, 1 some failed, 2 usage.

NNC=${NNC:-build/nnc}
NNC_TIMEOUT=${NNC_TIMEOUT:-10}
dir=tests/errors

update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
case ${1:-} in
-*)
    echo "usage: $0 [--update] [NAME...]" >&2
    exit 2
    ;;
esac

if [ ! -x "$NNC" ]; then
    echo "$0: no compiler at '$NNC' (build it with make, or set NNC)" >&2
    exit 2
fi
if [ ! -d "$dir" ]; then
    echo "$0: no $dir here; run this from the repository root" >&2
    exit 2
fi

run_limit=
if command -v timeout >/dev/null 2>&1; then
    run_limit="timeout $NNC_TIMEOUT"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nnc-errors.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The cases to run: the arguments, or every .nn file in the directory.
if [ $# -eq 0 ]; then
    set -- "$dir"/*.nn
    [ -e "$1" ] || set --
else
    names=
    for n in "$@"; do
        n=${n##*/}
        names="$names $dir/${n%.nn}.nn"
    done
    # shellcheck disable=SC2086
    set -- $names
fi

passed=0
failed=0
for nn in "$@"; do
    name=${nn##*/}
    name=${name%.nn}
    err=$dir/$name.err
    if [ ! -f "$nn" ]; then
        echo "FAIL $name: no $nn"
        failed=$((failed + 1))
        continue
    fi

    flags=$(sed -n '1s/^# flags: //p' "$nn")
    # shellcheck disable=SC2086
    $run_limit "$NNC" "$nn" --check $flags >"$tmp/stdout" 2>"$tmp/stderr"
    rc=$?
    {
        echo "# exit $rc"
        cat "$tmp/stderr"
    } >"$tmp/actual"

    if [ "$update" -eq 1 ]; then
        if [ ! -f "$err" ] || ! cmp -s "$tmp/actual" "$err"; then
            cp "$tmp/actual" "$err"
            echo "updated $err"
        fi
    fi

    why=
    if [ -n "$run_limit" ] && [ "$rc" -eq 124 ]; then
        why="took longer than ${NNC_TIMEOUT}s"
    elif [ "$rc" -gt 128 ]; then
        why="killed by signal $((rc - 128))"
    elif [ "$rc" -eq 70 ]; then
        why="internal compiler error"
    elif [ -s "$tmp/stdout" ]; then
        why="wrote to stdout under --check"
    elif [ ! -f "$err" ]; then
        why="no $err (make one with --update, then check it by eye)"
    elif ! cmp -s "$err" "$tmp/actual"; then
        why="stderr or exit status differs"
    fi

    if [ -z "$why" ]; then
        passed=$((passed + 1))
        continue
    fi
    failed=$((failed + 1))
    echo "FAIL $name: $why"
    if [ -f "$err" ]; then
        diff -u "$err" "$tmp/actual" | sed -e "1s|^--- .*|--- $err (expected)|" \
            -e "2s|^+++ .*|+++ $NNC $nn --check (actual)|"
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
