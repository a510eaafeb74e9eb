#!/usr/bin/env bash
# check-no-pins.sh: no tracked file outside docs/ names a Debian kernel ABI version (MAJOR.MINOR.PATCH-ABI-amd64)
# or a versioned kernel package (linux-image-, linux-source- and a version). Debian moves; a fresh
# machine gets what is current, and guest-images/kernel.sh is the one place that decides the guest
# kernel (build/guest/kernel-release). docs/ may quote what a measurement ran on.
# Prints "PASS: pins/no-kernel-version" or "FAIL: ..." with each offending line; exit 1 on a finding.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
# An ABI release (MAJOR.MINOR.PATCH-ABI-FLAVOUR) or a versioned package name. The pattern is split
# so that this file does not match itself.
abi='[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-(amd64|cloud-amd64|rt-amd64|common)'
pkg='linux-(image|headers|source|modules)''-[0-9]+\.[0-9]+'
hits=$(git ls-files -z -- . ':!docs/' | xargs -0 grep -nIE "$abi|$pkg" -- 2>/dev/null)
if [ -n "$hits" ]; then
    echo "FAIL: pins/no-kernel-version (a Debian kernel version is named outside docs/: read build/guest/kernel-release instead)"
    sed 's/^/    /' <<<"$hits"
    exit 1
fi
echo "PASS: pins/no-kernel-version"
