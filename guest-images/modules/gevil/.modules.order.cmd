cmd_/work/main/guest-images/modules/gevil/modules.order := {   echo /work/main/guest-images/modules/gevil/gevil.ko; :; } > /work/main/guest-images/modules/gevil/modules.order
