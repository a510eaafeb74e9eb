#!/usr/bin/env python3
"""mkspcr.py OUT [--io PORT | --mmio ADDR] [--baud N] [--iftype N]: an ACPI SPCR table (revision 2,
the 80-byte fixed part) for QEMU's -acpitable file=OUT, with a correct checksum.

The serial-spcr integration case makes one naming COM2; tests/unit/test_spcr.c parses this script's
output with Postern's parser. Layout: Microsoft's "Serial Port Console Redirection Table" spec.
"""
import argparse
import struct
import sys

BAUD_CODES = {0: 0, 9600: 3, 19200: 4, 57600: 6, 115200: 7}  # 0: "as is"


def spcr(space, addr, baud, iftype, irq):
    body = struct.pack('<B3x', iftype)                          # 36: interface type, reserved
    width = 8 if space == 1 else 32
    body += struct.pack('<BBBBQ', space, width, 0, 1 if space == 1 else 3, addr)  # 40: base address GAS
    body += struct.pack('<BBI', 0x01 if irq else 0, irq, irq)   # 52: interrupt type (8259), IRQ, GSI
    body += struct.pack('<BBBBBB', BAUD_CODES[baud], 0, 1, 0, 0, 0)  # 58: baud, parity, stop, flow, terminal, lang
    body += struct.pack('<HHBBBIB', 0xffff, 0xffff, 0, 0, 0, 0, 0)   # 64: not a PCI device
    body += struct.pack('<I', 0)                                 # 76: reserved (rev 2)
    length = 36 + len(body)
    assert length == 80
    hdr = struct.pack('<4sIBB6s8sI4sI', b'SPCR', length, 2, 0, b'POSTRN', b'TESTSPCR', 1, b'PSTN', 1)
    table = bytearray(hdr + body)
    table[9] = (-sum(table)) & 0xff
    return bytes(table)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out', help="the table's file ('-': standard output)")
    where = ap.add_mutually_exclusive_group()
    where.add_argument('--io', type=lambda s: int(s, 0), help='I/O port (default 0x2f8)')
    where.add_argument('--mmio', type=lambda s: int(s, 0), help='MMIO address (a 32-bit register UART)')
    ap.add_argument('--baud', type=int, default=115200, choices=sorted(BAUD_CODES))
    ap.add_argument('--iftype', type=lambda s: int(s, 0), default=0, help='interface type (0: full 16550)')
    ap.add_argument('--irq', type=int, default=3)
    a = ap.parse_args()
    space, addr = (0, a.mmio) if a.mmio is not None else (1, 0x2f8 if a.io is None else a.io)
    data = spcr(space, addr, a.baud, a.iftype, a.irq)
    if a.out == '-':
        sys.stdout.buffer.write(data)
    else:
        with open(a.out, 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
