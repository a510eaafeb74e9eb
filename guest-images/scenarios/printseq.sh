#!/bin/sh
# Numbered lines, as fast as the console takes them, then SEQ-END: the console tests open the admin
# shell meanwhile and check that every line arrives once, in order (more than the 64 KiB Postern
# holds back while the shell has the line, so the guest is also paused, not just buffered).
n=${1:-4000}
sleep 1
i=1
while [ $i -le "$n" ]; do
    echo "SEQ $i ................................"
    i=$((i + 1))
done
echo "SEQ-END $n"
