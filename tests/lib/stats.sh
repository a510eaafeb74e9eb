# shellcheck shell=bash
# Sourced by the bench scripts (tests/bench/*.sh): small statistics on numbers, one a line.
#   median        the median of the numbers on stdin (the mean of the middle two for an even count;
#                 nothing for no input)
#   ratio A B     A / B to two decimals ("?" when B is zero or either is missing)

median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
    awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "?"; else printf "%.2f\n", a / b }'
}
