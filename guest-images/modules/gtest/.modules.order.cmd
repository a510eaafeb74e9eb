cmd_/work/main/guest-images/modules/gtest/modules.order := {   echo /work/main/guest-images/modules/gtest/gtest.ko; :; } > /work/main/guest-images/modules/gtest/modules.order
