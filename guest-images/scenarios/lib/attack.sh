# shellcheck shell=sh
# Sourced by the attack suite's scenarios (attacks-kernel, attacks-metadata). Each attack prints
# three markers that tests/attacks/run.sh reads from the serial log:
#   ATTACK-BEGIN ID
#   ATTACK-RESULT ID granted=0|1|? WHAT THE GUEST SAW     (? = the attack could not be observed)
#   ATTACK-END ID hv=ANSWER     the version hypercall's answer right after it: the hypervisor alive
# The hypervisor's own lines about the attack are those since the ATTACK-END before its BEGIN.
# shellcheck disable=SC2034 # used by the scenarios that source this file
M=/lib/modules/postern

attack_begin() { echo "ATTACK-BEGIN $1"; }

# attack_result ID EVIDENCE NOT-GRANTED-TEXT [GRANTED-TEXT]: granted=0 when the evidence line shows
# NOT-GRANTED-TEXT, =1 when it shows GRANTED-TEXT or something else, ? when there is no evidence.
attack_result() {
    g=1
    case "$2" in
        "") g="?" ;;
        *"$3"*) g=0 ;;
    esac
    [ -z "${4:-}" ] || case "$2" in *"$4"*) g=1 ;; esac
    attack_report "$1" "$g" "$2"
}

# attack_report ID GRANTED EVIDENCE: the verdict decided by the scenario itself
attack_report() { echo "ATTACK-RESULT $1 granted=$2 $3" | tr -s ' '; }

# The hypervisor answers the version hypercall (rax 0 rbx 0x1); the tty is given time to drain
# before the next attack, so this line comes before anything the next attack makes the hypervisor log.
attack_end() {
    echo "ATTACK-END $1 hv=$(hvprobe hypercall 0x50530000 2>&1 | tr ' ' _)"
    sleep 0.3
}

# The newest kernel message containing TEXT.
last_dmesg() { dmesg | grep -- "$1" | tail -n 1 | sed 's/^\[[ 0-9.]*\] //'; }
