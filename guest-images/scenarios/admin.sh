#!/bin/sh
# The administrator binds, unbinds and revokes gtest's `test` privilege from the admin shell while
# this loop watches from inside the guest: read=1 when gtest's read callback held `test`
# (tests/integration/cases/shell-bind-revoke.case drives the shell).
insmod /lib/modules/postern/gtest.ko && echo "ADMIN-INSMOD ok" || echo "FAIL admin-insmod"
i=0
while [ $i -lt 1000 ]; do
    line=$(cat /proc/gtest 2>&1)
    r=${line#*read=}
    echo "ADMIN-PROBE $i read=${r%% *}"
    i=$((i + 1))
    usleep 200000
done
