#!/usr/bin/env bash
# make lint: the habits a machine checks. One line per check, "PASS: lint/<name>" or
# "FAIL: lint/<name>" with the offending output indented below it, then "N passed, N failed";
# exits non-zero on any failure. Needs no guest image. Checks:
#   (format)     clang-format --dry-run --Werror (.clang-format) on the tracked C files in scope
#   (shellcheck) every tracked shell script (*.sh, and files with a sh/bash shebang), -S warning
#   (cppcheck)   boot/ hv/ arch/ drivers/ christoize/, each with the defines its build uses
#   (warnings)   the EFI image and christoize built with extra warnings into build/lint/
#   (subjects)   commit subjects after daac996 are at most 72 characters
#   (pins)       no tracked file outside docs/ names a Debian kernel version (tools/check-no-pins.sh)
#   (layers)     no include in hv/, drivers/ or arch/ reaches up a layer (tools/check-layers.py)
# LINT_ONLY="format cppcheck" runs only those checks; LINT_SUBJECT_BASE overrides daac996 (in a clone
# without that commit, every subject is checked).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
pass=0 fail=0

# Not formatted by .clang-format, and why:
#   christoize/absorb/  kernel code built by kbuild against kernel headers: kernel style (tabs)
#   tests/fixtures/     test kernel modules in kernel style, and inputs whose exact code the tests use
FORMAT_EXCLUDE='^(christoize/absorb|tests/fixtures)/'
EXTRA_WARNINGS='-Wshadow -Wmissing-prototypes -Wstrict-prototypes'
SUBJECT_BASE=${LINT_SUBJECT_BASE:-daac996}
SUBJECT_MAX=72

# report NAME STATUS OUTPUT: one PASS/FAIL line; on failure the output, indented
report() {
    if [ "$2" -eq 0 ]; then
        echo "PASS: lint/$1"; pass=$((pass + 1))
    else
        echo "FAIL: lint/$1"; fail=$((fail + 1))
        [ -z "$3" ] || while IFS= read -r line; do echo "    $line"; done <<<"$3"
    fi
}

wanted() { [ -z "${LINT_ONLY:-}" ] || [[ " $LINT_ONLY " == *" $1 "* ]]; }

# tool NAME: fails the check (not the script) when the tool is missing
need() {
    command -v "$1" >/dev/null && return 0
    report "$2" 1 "$1 is not installed (tools/install-deps.sh installs it)"
    return 1
}

# ---------------------------------------------------------------- format
if wanted format && need "${CLANG_FORMAT:=clang-format}" format; then
    mapfile -t files < <(git ls-files '*.c' '*.h' | grep -vE "$FORMAT_EXCLUDE")
    out=$("$CLANG_FORMAT" --dry-run --Werror "${files[@]}" 2>&1); rc=$?
    # One line per file that needs formatting, with its count; anything else clang-format said
    # (a parse error, a bad .clang-format) is shown as it is.
    flagged=$(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' <<<"$out" |
              uniq -c | awk '{ printf "%s: %d places\n", $2, $1 }')
    other=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (error|warning): ' <<<"$out" | grep -v 'code should be clang-formatted')
    other+=$(grep -E '^(error|Error|YAML|Configuration)' <<<"$out")
    n=$(grep -c . <<<"$flagged")
    [ -n "$flagged" ] && flagged="$n of ${#files[@]} files need clang-format -i:"$'\n'"$flagged"
    report format "$rc" "$(printf '%s\n%s' "$other" "$flagged" | sed '/^$/d')"
fi

# ---------------------------------------------------------------- shellcheck
# Severity warning and above: the info/style notes (quoting of words meant to split, A && B || C
# used as a guard) are not yet worked through.
if wanted shellcheck && need shellcheck shellcheck; then
    mapfile -t scripts < <({
        git ls-files '*.sh'
        git ls-files | while read -r f; do
            [ -f "$f" ] && head -n 1 "$f" | grep -qE '^#!.*(/|env )(ba|da|k)?sh( |$)' && echo "$f"
        done
    } | sort -u)
    out=$(shellcheck -S warning -f gcc "${scripts[@]}" 2>&1); rc=$?
    report shellcheck "$rc" "$out"
fi

# ---------------------------------------------------------------- cppcheck
# Each tree with the defines its build uses, so that cppcheck checks the configuration that is
# compiled rather than guessing others. christoize/absorb/ is kernel code (kernel headers).
# A finding is suppressed only inline (// cppcheck-suppress ID) with a comment saying why.
if wanted cppcheck && need cppcheck cppcheck; then
    # shellcheck disable=SC2054 # --enable takes a comma-separated list
    cpp=(cppcheck -q --enable=warning,portability --std=c11 --platform=unix64 --inline-suppr
         --error-exitcode=1 -I. -Ihv)
    out=$({
        "${cpp[@]}" -DPOSTERN_HV hv arch drivers
        "${cpp[@]}" -DEFI_FUNCTION_WRAPPER -DGNU_EFI_USE_MS_ABI boot
        "${cpp[@]}" -DCB_DEFAULT_ABSORB_DIR='"absorb"' -i christoize/absorb christoize
    } 2>&1); rc=$?
    # the brace group's status is the last command's: any finding at all is a failure
    [ -n "$out" ] && rc=1
    report cppcheck "$rc" "$out"
fi

# ---------------------------------------------------------------- extra warnings
# Its own build directory, so the normal build/ is left alone.
if wanted warnings; then
    out=$(make --no-print-directory -j"${LINT_JOBS:-2}" efi christoize BUILD=build/lint \
          EXTRA_CFLAGS="$EXTRA_WARNINGS" 2>&1); rc=$?
    report warnings "$rc" "$(grep -E 'error|warning|Error' <<<"$out" | head -n 40)"
fi

# ---------------------------------------------------------------- commit subjects
if wanted subjects; then
    range=HEAD
    git rev-parse -q --verify "$SUBJECT_BASE^{commit}" >/dev/null && range="$SUBJECT_BASE..HEAD"
    out=$(git log --format='%h %s' "$range" | while read -r h s; do
              # characters, not bytes (subjects may hold UTF-8)
              n=$(LC_ALL=C.UTF-8 bash -c 'echo ${#1}' _ "$s")
              [ "$n" -le "$SUBJECT_MAX" ] || echo "$h $s ($n characters)"
          done)
    rc=0
    if [ -n "$out" ]; then
        rc=1 out="subjects over $SUBJECT_MAX characters in $range:"$'\n'"$out"
    fi
    report subjects "$rc" "$out"
fi

# ---------------------------------------------------------------- the tree's own rules
# Each checker prints its own PASS/FAIL line when run alone; here its findings go under ours.
for rule in pins:tools/check-no-pins.sh layers:tools/check-layers.py; do
    if wanted "${rule%%:*}"; then
        out=$("${rule#*:}" 2>&1); rc=$?
        report "${rule%%:*}" "$rc" "$(grep -vE '^(PASS|FAIL): ' <<<"$out" | sed 's/^    //')"
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
