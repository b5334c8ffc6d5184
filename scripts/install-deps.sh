#!/bin/sh
# Install the Debian packages nnc needs, if any are missing.
#   scripts/install-deps.sh [build|test|demo|fuzz|golden]...
# Runs apt-get (through sudo when not root) only when something is missing,
# so repeated `make test` runs stay offline and fast.
set -eu

pkgs="make gcc flex bison pkg-config check zlib1g-dev"
for what in "$@"; do
    case "$what" in
    build) ;;
    test) pkgs="$pkgs clang" ;;
    fuzz) pkgs="$pkgs clang libclang-rt-14-dev" ;;
    demo) pkgs="$pkgs dataset-fashion-mnist" ;;
    golden) pkgs="$pkgs python3-torch python3-numpy" ;;
    *) echo "install-deps: unknown set '$what'" >&2; exit 2 ;;
    esac
done

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
