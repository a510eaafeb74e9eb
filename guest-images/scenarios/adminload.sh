#!/bin/sh
# Like admin.sh, but waits for a line typed on the console first: the administrator loads gtest's
# metadata and binds `test` from the admin shell before gtest registers
# (tests/integration/cases/shell-metadata.case).
echo "ADMIN-WAITING (type a line to go on)"
read -r go
echo "ADMIN-GO $go"
exec /tests/admin.sh
