#!/bin/sh
# The generated program's file handling, end to end (issue 16, items 4, 5,
# 6 and 8), on examples/xor.nn built with nnc --exe:
#   - saving: /dev/full stays a device and says why; a symbolic link stays a
#     link; a 0600 file stays 0600; a 249-character name saves; kill -9
#     during saves leaves at most one temporary file and a loadable
#     checkpoint;
#   - reading: a FIFO with no writer and /dev/zero are refused at once; a
#     1 MB gzip whose IDX header promises 10 samples but inflates to 1 GiB
#     is refused after those samples;
#   - CSV: a byte-order mark does not cost the first row;
#   - a NaN in a weights file is named.
# NNC names the compiler (default build/nnc).
NNC=${NNC:-build/nnc}
pass=0
fail=0
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "keeping $tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() {
    echo "FAIL: $1"
    [ -f "$tmp/err" ] && tail -n 5 "$tmp/err"
    fail=$((fail + 1))
}

if ! "$NNC" examples/xor.nn --exe -o "$tmp/xor" >"$tmp/err" 2>&1; then
    bad "nnc examples/xor.nn --exe"
    exit 1
fi
P="$tmp/xor"

# 20 samples of XOR, the features behind a UTF-8 byte-order mark.
printf '\357\273\277' >"$tmp/x.csv"
awk 'BEGIN { for (i = 0; i < 20; i++) printf "%d,%d\n", i % 2, int(i / 2) % 2 }' >>"$tmp/x.csv"
awk 'BEGIN { for (i = 0; i < 20; i++) printf "%d\n", (i % 2 + int(i / 2) % 2) % 2 }' >"$tmp/y.csv"
if "$P" train --data "$tmp/x.csv" --labels "$tmp/y.csv" --epochs 2 --quiet \
    --save "$tmp/w.st" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "train"; fi

# CSV: the byte-order mark does not turn the first row into a header.
"$P" predict --weights "$tmp/w.st" --data "$tmp/x.csv" --output "$tmp/p.npy" >"$tmp/out" 2>"$tmp/err"
if grep -a -q "'shape': (20, 1)" "$tmp/p.npy" 2>/dev/null; then ok; else bad "BOM CSV: predict keeps 20 rows"; fi

# /dev/full: an error naming ENOSPC, and the device stays a device.
if [ -w /dev/full ]; then
    if "$P" predict --weights "$tmp/w.st" --data "$tmp/x.csv" --output /dev/full >"$tmp/out" 2>"$tmp/err"; then
        bad "predict --output /dev/full succeeded"
    elif grep -q "No space left on device" "$tmp/err" && [ -c /dev/full ]; then ok
    else bad "predict --output /dev/full: message or device"; fi
fi

# A symbolic link is followed; the link stays a link.
"$P" predict --weights "$tmp/w.st" --data "$tmp/x.csv" --output "$tmp/real.npy" >/dev/null 2>&1
ln -s real.npy "$tmp/link.npy"
if "$P" predict --weights "$tmp/w.st" --data "$tmp/x.csv" --output "$tmp/link.npy" >"$tmp/out" 2>"$tmp/err" &&
    [ -L "$tmp/link.npy" ] && [ -f "$tmp/real.npy" ]; then ok; else bad "save through a symlink"; fi

# Permissions are kept.
: >"$tmp/priv.npy"
chmod 600 "$tmp/priv.npy"
"$P" predict --weights "$tmp/w.st" --data "$tmp/x.csv" --output "$tmp/priv.npy" >"$tmp/out" 2>"$tmp/err"
if [ "$(ls -l "$tmp/priv.npy" | cut -c1-10)" = "-rw-------" ]; then ok; else bad "0600 stays 0600"; fi

# A 249-character file name.
long=$(awk 'BEGIN { s = ""; for (i = 0; i < 245; i++) s = s "n"; print s }')
if "$P" predict --weights "$tmp/w.st" --data "$tmp/x.csv" --output "$tmp/$long.npy" >"$tmp/out" 2>"$tmp/err" &&
    [ -f "$tmp/$long.npy" ]; then ok; else bad "a 249-character name saves"; fi

# A FIFO with no writer and /dev/zero: refused at once, never a hang.
mkfifo "$tmp/fifo"
timeout 20 "$P" eval --weights "$tmp/fifo" --data "$tmp/x.csv" --labels "$tmp/y.csv" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "is a FIFO" "$tmp/err"; then ok; else bad "--weights FIFO (exit $rc)"; fi
timeout 20 "$P" eval --weights /dev/zero --data "$tmp/x.csv" --labels "$tmp/y.csv" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "is a character device" "$tmp/err"; then ok; else bad "--weights /dev/zero (exit $rc)"; fi
timeout 20 "$P" predict --weights "$tmp/w.st" --data "$tmp/fifo" --output "$tmp/o.npy" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "is a FIFO" "$tmp/err"; then ok; else bad "--data FIFO (exit $rc)"; fi

# A gzip bomb: an IDX header for 10 samples of 2 floats, then 1 GiB of
# zeros deflated to about 1 MB (one fully flushed MiB, repeated).
if command -v python3 >/dev/null 2>&1; then
    python3 - "$tmp/bomb.gz" <<'EOF'
import struct, sys, zlib
head = b"\0\0\x0d\x02" + struct.pack(">II", 10, 2) + struct.pack(">20f", *([0.5] * 20))
z = zlib.compressobj(9, zlib.DEFLATED, -15)
first = z.compress(head) + z.flush(zlib.Z_FULL_FLUSH)
zeros = bytes(1 << 20)
chunk = z.compress(zeros) + z.flush(zlib.Z_FULL_FLUSH)
crc = zlib.crc32(head)
czero = zlib.crc32(zeros)
with open(sys.argv[1], "wb") as f:
    f.write(b"\x1f\x8b\x08\0\0\0\0\0\0\x03" + first)
    for _ in range(1024):
        f.write(chunk)
        crc = zlib.crc32(zeros, crc)
    f.write(z.flush(zlib.Z_FINISH))
    f.write(struct.pack("<II", crc & 0xffffffff, (len(head) + 1024 * len(zeros)) & 0xffffffff))
EOF
    timeout 20 "$P" predict --weights "$tmp/w.st" --data "$tmp/bomb.gz" --output "$tmp/o.npy" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 1 ] && grep -q "stopped reading after" "$tmp/err"; then ok; else bad "gzip bomb (exit $rc)"; fi
fi

# NaN in the weights: the last float of the file is the last element of
# its last tensor.
cp "$tmp/w.st" "$tmp/nan.st"
size=$(wc -c <"$tmp/nan.st")
printf '\000\000\300\177' | dd of="$tmp/nan.st" bs=1 seek=$((size - 4)) conv=notrunc 2>/dev/null
"$P" eval --weights "$tmp/nan.st" --data "$tmp/x.csv" --labels "$tmp/y.csv" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "nan.st: tensor '.*' holds NaN at index" "$tmp/err"; then ok; else bad "NaN weights named (exit $rc)"; fi

# kill -9 during saves (every epoch saves): at most one temporary file
# (.k.st.tmp) and, if a checkpoint exists, it loads.  (TMPDIR: a killed
# run also leaves the scratch file of its last weights snapshot, which
# belongs in this test's directory, not /tmp.)
for i in 1 2 3 4 5 6; do
    TMPDIR=$tmp "$P" train --data "$tmp/x.csv" --labels "$tmp/y.csv" --epochs 100000 --quiet \
        --save "$tmp/k.st" >/dev/null 2>&1 &
    pid=$!
    sleep 0.$((i + 1))
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
done
n=$(ls -a "$tmp" | grep -c 'k\.st.*tmp')
if [ "$n" -le 1 ]; then ok; else bad "kill -9 left $n temporary files"; fi
if [ ! -e "$tmp/k.st" ] ||
    "$P" eval --weights "$tmp/k.st" --data "$tmp/x.csv" --labels "$tmp/y.csv" >"$tmp/out" 2>"$tmp/err"; then ok
else bad "checkpoint after kill -9 loads"; fi

echo "reliability: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
