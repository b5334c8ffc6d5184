#!/bin/sh
# tests/part.sh TITLE COMMAND...: one part of make test (or of the CI's
# later steps): "== TITLE", the command's output, then the seconds it took,
# so that a log shows where CI's time goes.  Exits with the command's
# status.
t0=$(date +%s)
echo "== $1"
shift
"$@"
st=$?
echo "   ($(($(date +%s) - t0)) s)"
exit $st
