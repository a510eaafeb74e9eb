/work/main/guest-images/modules/gevil/gevil.o
