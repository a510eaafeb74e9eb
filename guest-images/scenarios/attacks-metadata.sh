#!/bin/sh
# The attack suite's metadata attacks (tests/attacks/cases/attacks-metadata.case, docs/security.md).
# The ESP carries, before gtest's genuine metadata in postern.cfg, gtest-v0's (an older text under
# the same name) with its signature forged and truncated, and after it gtest-v0's validly signed
# metadata (replayed) and gtwin's (another name signed over gtest's text hash). The hypervisor
# refused each at boot; here the guest tries to use what they would have granted.
# shellcheck source=guest-images/scenarios/lib/attack.sh
. /tests/lib/attack.sh

# gtest-v0.ko's registration: only the forged, truncated or replayed metadata describe its text.
old_gtest() {
    insmod $M/gtest-v0.ko && line=$(cut -d' ' -f1,2 /proc/gtest) || line=""
    rmmod gtest 2>/dev/null
    echo "gtest-v0 says: $line"
}

for id in forged-metadata truncated-metadata replayed-metadata; do
    attack_begin $id
    attack_result $id "$(old_gtest)" "read=0"
    attack_end $id
done

# gtwin's metadata named gtest's hash: gtest registers as gtest (its own binding, `test`) and no
# module gtwin ever exists to hold what gtwin is bound to (`idle` in the case's config).
attack_begin twin-metadata
insmod $M/gtest.ko && line=$(cut -d' ' -f1,2 /proc/gtest) || line=""
attack_result twin-metadata "gtest says: $line" "read=1"
rmmod gtest
attack_end twin-metadata
echo "ATTACKS-DONE metadata"
