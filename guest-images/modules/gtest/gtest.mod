/work/main/guest-images/modules/gtest/gtest.o
