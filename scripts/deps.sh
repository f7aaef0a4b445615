#!/bin/sh
# Installs the Debian packages that building and testing sockit need, when any is missing.
# As root it uses apt-get; otherwise it names what is missing and carries on (the build says
# what fails). Cheap when nothing is missing: one dpkg query.
set -eu
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev python3 netbase curl openssl libssl-dev libuv1-dev valgrind iproute2"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || echo "deps: apt-get update failed; trying the cached lists" >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "deps: missing Debian packages:$missing (run 'make deps' as root to install them)" >&2
fi
