# Postern — top-level build.
#   make run    install what is missing, build, boot Postern + the Linux guest in QEMU (serial on the terminal)
#   make test   install what is missing, build, run every unit and integration test
#   make bench  boot-time ratios (Postern against OVMF → Linux and a direct boot), VM-exit counts, the
#               guarded NIC, the idle loop, instructions per crossing (tests/bench/; docs/lab/performance.md)
#   make usb    build/postern-usb.img: a GPT disk image for a USB stick, ready for dd (README.md)
# Everything is built under build/.
#   make lint   format, shellcheck, cppcheck, extra warnings, commit subjects (tools/lint.sh)
# EXTRA_CFLAGS=... adds compiler flags to the EFI image and christoize (make lint uses it in build/lint/).

BUILD     := build
CC        ?= gcc
NASM      ?= nasm

# ---------------------------------------------------------------- the EFI image (loader + hypervisor)
EFI_INC   := /usr/include/efi
EFI_LIB   := /usr/lib
EFI_CRT0  := $(EFI_LIB)/crt0-efi-x86_64.o
EFI_LDS   := $(EFI_LIB)/elf_x86_64_efi.lds

# -mgeneral-regs-only: the guest's x87/SSE/AVX state stays live in the CPU while the hypervisor
# runs, so no hypervisor code may touch a vector register.
COMMON_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
    -ffreestanding -fno-stack-protector -fno-strict-aliasing -fpic -mno-red-zone \
    -mgeneral-regs-only -fshort-wchar -maccumulate-outgoing-args -I. -Ihv -MMD -MP $(EXTRA_CFLAGS)
BOOT_CFLAGS := $(COMMON_CFLAGS) -isystem $(EFI_INC) -isystem $(EFI_INC)/x86_64 -DEFI_FUNCTION_WRAPPER -DGNU_EFI_USE_MS_ABI
HV_CFLAGS   := $(COMMON_CFLAGS) -DPOSTERN_HV

BOOT_SRCS := $(wildcard boot/*.c)
HV_SRCS   := $(wildcard hv/*.c hv/*/*.c) $(wildcard arch/x86_64/*.c) $(wildcard arch/x86_64/svm/*.c) $(wildcard arch/x86_64/vmx/*.c) \
             $(wildcard drivers/*/*.c)
ASM_SRCS  := $(wildcard arch/x86_64/*.asm) $(wildcard arch/x86_64/svm/*.asm) $(wildcard arch/x86_64/vmx/*.asm)

# mbedTLS from Debian's libmbedtls-dev, taken at build time (hv/crypto/hosted.c explains the calling rules):
# SHA-256 and ECDSA P-256 verification with what they pull in (ECDSA blinds with an HMAC_DRBG, which
# needs the md layer and its hashes; bignum divides with libgcc's __udivti3), partially linked into
# one object whose only global symbols are the functions hv/crypto/sha256.c and hv/guard/sigcheck.c call. What
# it still needs from libc comes from hv/crypto/hosted.c; the postern.so link fails on anything missing.
MBEDCRYPTO_A := /usr/lib/x86_64-linux-gnu/libmbedcrypto.a
LIBGCC_A     := $(shell $(CC) -print-libgcc-file-name)
MBEDTLS_MEMBERS := sha256.c.o ecdsa.c.o ecp.c.o ecp_curves.c.o bignum.c.o constant_time.c.o hmac_drbg.c.o \
    md.c.o md2.c.o md4.c.o md5.c.o sha1.c.o sha512.c.o ripemd160.c.o
MBEDTLS_API := mbedtls_sha256_init mbedtls_sha256_starts_ret mbedtls_sha256_update_ret mbedtls_sha256_finish_ret \
    mbedtls_ecp_group_init mbedtls_ecp_group_free mbedtls_ecp_group_load mbedtls_ecp_point_init \
    mbedtls_ecp_point_free mbedtls_ecp_point_read_binary mbedtls_ecp_check_pubkey mbedtls_mpi_init \
    mbedtls_mpi_free mbedtls_mpi_read_binary mbedtls_ecdsa_verify
MBEDTLS_OBJS := $(BUILD)/efi/mbedtls/mbedtls-hv.o

BOOT_OBJS := $(BOOT_SRCS:%.c=$(BUILD)/efi/%.o)
HV_OBJS   := $(HV_SRCS:%.c=$(BUILD)/efi/%.o)
ASM_OBJS  := $(ASM_SRCS:%.asm=$(BUILD)/efi/%.o)
EFI_OBJS  := $(BOOT_OBJS) $(HV_OBJS) $(ASM_OBJS) $(MBEDTLS_OBJS)

.PHONY: all efi guest unit test run bench bench-guard deps clean integration christoize fuzz lint usb
all: efi guest christoize unit
	$(MAKE) $(USB_IMG)

efi: $(BUILD)/postern.efi

$(BUILD)/efi/boot/%.o: boot/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(BOOT_CFLAGS) -c $< -o $@

$(BUILD)/efi/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/efi/%.o: %.asm arch/x86_64/guest_gprs.inc
	@mkdir -p $(dir $@)
	@echo "  NASM    $<"; $(NASM) -f elf64 -i ./ -o $@ $<

$(BUILD)/efi/mbedtls/mbedtls-hv.o: $(MBEDCRYPTO_A) Makefile
	@rm -rf $(dir $@)x && mkdir -p $(dir $@)x
	@echo "  AR      $(words $(MBEDTLS_MEMBERS)) objects from $(MBEDCRYPTO_A), _udivdi3.o from libgcc"
	@cd $(dir $@)x && ar x $(MBEDCRYPTO_A) $(MBEDTLS_MEMBERS) && ar x $(LIBGCC_A) _udivdi3.o
	@echo "  LD -r   $@"; ld -r -o $@.all $(addprefix $(dir $@)x/,$(MBEDTLS_MEMBERS) _udivdi3.o)
	@objcopy $(addprefix --keep-global-symbol=,$(MBEDTLS_API)) $@.all $@

$(BUILD)/postern.so: $(EFI_OBJS)
	ld -nostdlib -znocombreloc -T $(EFI_LDS) -shared -Bsymbolic -L$(EFI_LIB) \
	   $(EFI_CRT0) $(EFI_OBJS) -o $@ -lefi -lgnuefi
	@# A PE image cannot carry unresolved symbols: fail here rather than at boot.
	@if nm -u $@ | grep -q .; then echo "undefined symbols in $@:"; nm -u $@; rm -f $@; exit 1; fi

# Header dependencies: every object's .d file, written by -MMD -MP as it is compiled.
-include $(BOOT_OBJS:.o=.d) $(HV_OBJS:.o=.d)

$(BUILD)/postern.efi: $(BUILD)/postern.so
	objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j .rel.* -j .rela.* \
	   -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@

# ---------------------------------------------------------------- guest image
# Every .gmeta the guest image carries is signed with this build's administrator key, made once by
# christoize keygen into $(BUILD)/keys/ (never committed; `make clean` forgets it). The guest build
# copies admin.pub beside the image, and tools/mkesp.sh puts it on the ESP.
ADMIN_KEY := $(abspath $(BUILD))/keys/admin.key

guest: christoize
	@[ -r $(ADMIN_KEY) ] || { echo "  KEYGEN  $(dir $(ADMIN_KEY))"; $(BUILD)/christoize/christoize keygen --out $(dir $(ADMIN_KEY)) >/dev/null; }
	$(MAKE) -C guest-images BUILD=$(abspath $(BUILD))/guest CHRISTOIZE=$(abspath $(BUILD))/christoize/christoize \
	    SIGN_KEY=$(ADMIN_KEY)

# ---------------------------------------------------------------- christoize (host tool)
christoize:
	$(MAKE) -C christoize BUILD=$(abspath $(BUILD))/christoize

# ---------------------------------------------------------------- host unit tests
# Each tests/unit/test_*.c names the sources it links in a line "UNIT-SOURCES: a.c b.c".
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test_*.c))
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -I. -Ihv -Itests/unit \
    -DHOST_TEST -fsanitize=address,undefined -fno-sanitize-recover=undefined -MMD -MP
unit_sources = $(shell sed -n 's/.*UNIT-SOURCES:\(.*\)\*\/.*/\1/p' $(1))
# ... and, optionally, a line "UNIT-LIBS: -lfoo" for host libraries it needs.
unit_libs = $(shell sed -n 's/.*UNIT-LIBS:\(.*\)\*\/.*/\1/p' $(1))

.SECONDEXPANSION:
$(BUILD)/unit/%: tests/unit/%.c $$(call unit_sources,tests/unit/%.c)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"; $(CC) $(UNIT_CFLAGS) -o $@ $< $(call unit_sources,$<) $(call unit_libs,$<) -lcmocka

unit: $(UNIT_TESTS)

-include $(UNIT_TESTS:=.d)

# ---------------------------------------------------------------- the two commands
deps:
	@tools/install-deps.sh

test: deps
	$(MAKE) all
	tests/run-all.sh

# Style and static checks (tools/lint.sh); needs no guest image. make test runs it first.
lint: deps
	tools/lint.sh

run: deps
	$(MAKE) efi guest
	tools/run-qemu.sh

# The USB stick for a real machine: tools/mkusb.sh (GPT, one FAT32 ESP with the layout tools/mkesp.sh
# gives the tests) with the commented real-machine config and REPORT-BUG.txt.
# `make all` (so `make test`, whose usb-stick-boot case boots it) writes it after efi and guest.
USB_IMG := $(BUILD)/postern-usb.img
usb: deps
	$(MAKE) efi guest
	$(MAKE) $(USB_IMG)

$(USB_IMG): $(BUILD)/postern.efi $(BUILD)/guest/vmlinuz $(BUILD)/guest/initrd.img $(wildcard $(BUILD)/guest/modules/*.gmeta) \
            tools/postern-usb.cfg tools/REPORT-BUG.txt tools/mkusb.sh tools/esp.sh
	tools/mkusb.sh $@ tools/postern-usb.cfg

# libFuzzer harnesses (docs/fuzzing.md): make fuzz FUZZ_SECONDS=600; make test runs a short smoke pass.
FUZZ_SECONDS ?= 60
fuzz: deps
	tests/fuzz/run.sh $(FUZZ_SECONDS)

bench: deps
	$(MAKE) efi guest $(BUILD)/perf/guard_bench
	tests/bench/guard.sh $(BUILD)/guest/modules/e1000.gmeta
	tests/bench/boot.sh
	tests/bench/nic.sh
	tests/bench/idle.sh
	tests/bench/summary.sh

# ---------------------------------------------------------------- host instructions per crossing
# The state machine's own cost, counted by callgrind on the host (tests/bench/guard_bench.c; no
# QEMU): hv/guard/guard.c, hv/guard/privilege.c and hv/lib/string.c built exactly as for the EFI image, with the
# image's byte-loop memset/memcpy (GNU-EFI's, tests/bench/efi_mem.c); every string symbol is renamed
# so the host's libc never stands in for them. `make bench-guard` runs it alone.
PERF_HV_OBJS := $(patsubst hv/%.c,$(BUILD)/perf/hv/%.o,hv/guard/guard.c hv/guard/privilege.c hv/lib/string.c)
PERF_RENAME := memset=efi_memset memcpy=efi_memcpy memmove=hv_memmove memcmp=hv_memcmp strlen=hv_strlen \
    strnlen=hv_strnlen strcmp=hv_strcmp strncmp=hv_strncmp

$(BUILD)/perf/hv/%.o: hv/%.c $(wildcard hv/*/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"; $(CC) $(HV_CFLAGS) -c $< -o $@.tmp && \
	    objcopy $(addprefix --redefine-sym ,$(PERF_RENAME)) $@.tmp $@ && rm -f $@.tmp

$(BUILD)/perf/efi_mem.o: tests/bench/efi_mem.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"; $(CC) $(HV_CFLAGS) -fno-tree-loop-distribute-patterns -c $< -o $@

$(BUILD)/perf/guard_bench: tests/bench/guard_bench.c hv/guard/gmeta.c hv/lib/fmt.c tests/unit/guard_mem_host.c $(PERF_HV_OBJS) $(BUILD)/perf/efi_mem.o
	@echo "  CC      $@"; $(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. -Ihv -DHOST_TEST -o $@ \
	    tests/bench/guard_bench.c hv/guard/gmeta.c hv/lib/fmt.c tests/unit/guard_mem_host.c $(PERF_HV_OBJS) $(BUILD)/perf/efi_mem.o

bench-guard: $(BUILD)/perf/guard_bench
	tests/bench/guard.sh $(wildcard $(BUILD)/guest/modules/e1000.gmeta)

clean:
	rm -rf $(BUILD)
