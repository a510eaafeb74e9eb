#!/bin/sh
# The guest runs commands: a kernel version and a pipeline.
r=$(uname -r)
echo "uname: $r"
if [ -n "$r" ] && [ "$(echo postern | tr a-z A-Z)" = POSTERN ]; then echo "PASS shell"; else echo "FAIL shell"; fi
