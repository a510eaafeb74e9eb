#!/usr/bin/env python3
"""Drive a QEMU serial line through a script: the admin-shell and console tests.

    serial-session.py SOCKET LOG STEPS

Connects to QEMU's serial chardev (a listening Unix socket), copies every byte the machine sends
to LOG (which the harness's EXPECT/REJECT checks read as usual), and runs STEPS, one per line:

    expect RE            wait until RE (Python regex) matches the output after the previous match
    send TEXT            send TEXT; escapes \\r \\n \\t \\\\ and \\xNN (\\x1d is Ctrl-])
    type TEXT            as send, one byte at a time, 20 ms apart (a person typing)
    sleep SECONDS
    timeout SECONDS      for the following expect steps (default 90)
    paste FILE [flip=OFFSET] [truncate=N] [badsum]
                         type FILE as the admin shell's paste block (tools/gmeta-paste.sh's form:
                         "paste SIZE SUM", base64 lines, "end"), after flipping one byte / keeping
                         the first N bytes (the block's SIZE and SUM then describe the changed
                         bytes: the transport is fine, the content is not), or with a wrong SUM.
                         A relative FILE is taken from the directory STEPS is in
    monitor COMMAND      send one QEMU monitor (HMP) command through monitor.sock beside STEPS (the
                         harness starts QEMU with it), wait for the next prompt, and append the
                         exchange to monitor.log there (e.g. `mce 0 2 0xb400000000000135 0x5 0x7fe00000 0`)
    repeat N GAP_MS [until RE] monitor COMMAND
                         the monitor step N times, GAP_MS milliseconds apart (the machine's output is
                         read meanwhile), e.g. `repeat 1000 20 monitor nmi`: each command is answered
                         (its prompt back) before the next is sent; with `until RE`, the next is sent
                         only once RE has matched the output after the previous match (the machine
                         took the last one: QEMU keeps one pending NMI, so two sent before the CPU
                         takes the first are one NMI)
    screen LINES         grab the machine's display (`screendump` through monitor.sock, to screen.ppm
                         beside STEPS) and require at least LINES text rows that begin with the same
                         drawn pixels, on a grid of some glyph height 8-32: "postern: " lines of the
                         hypervisor's framebuffer log (docs/console.md "No UART"), read without OCR
    sequence RE FIRST LAST   in the guest's output so far, RE's group 1 takes exactly the values
                         FIRST..LAST in order, each once: nothing lost, duplicated or reordered.
                         The admin shell's sessions are cut out first (from its banner to the
                         "back to the guest console" line), which rejoins a guest line the shell
                         opened in the middle of
    # comment

Prints "session: all steps passed" or "session: step N (LINE): why" as soon as it knows, then keeps
copying the machine's output to LOG until QEMU closes the line (the harness kills QEMU when its own
checks are done), so nothing printed after the last step is lost to the log.
"""
import base64
import hashlib
import os
import re
import select
import socket
import sys
import time


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


class Line:
    def __init__(self, path, log):
        self.sock = None
        for _ in range(200):  # QEMU creates the socket when it starts
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                self.sock = None
                time.sleep(0.05)
        if self.sock is None:
            raise SystemExit(f"session: cannot connect to {path}")
        self.log = open(log, "ab", buffering=0)
        self.data = b""
        self.pos = 0  # where the next expect starts looking
        self.closed = False

    def pump(self, seconds):
        """Read whatever arrives within `seconds` into data and the log."""
        if self.closed:
            time.sleep(seconds)
            return
        r, _, _ = select.select([self.sock], [], [], seconds)
        if r:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                return
            self.data += chunk
            self.log.write(chunk)

    def send(self, raw, pace=0.0):
        for i in range(0, len(raw), 1 if pace else len(raw) or 1):
            self.sock.sendall(raw[i:i + 1] if pace else raw)
            if pace:
                self.pump(pace)
            else:
                break

    def expect(self, pattern, timeout):
        rx = re.compile(pattern.encode("latin-1"))
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.data, self.pos)
            if m:
                self.pos = m.end()
                return None
            left = end - time.monotonic()
            if left <= 0:
                return f"no /{pattern}/ within {timeout:g} s"
            if self.closed:
                return f"no /{pattern}/ (the machine closed the line)"
            self.pump(min(left, 0.2))


SHELL_SESSION = re.compile(rb"\r?\n\[postern\] admin shell:.*?\[postern\] back to the guest console[^\n]*\n", re.S)


def check_sequence(data, pattern, first, last):
    guest = SHELL_SESSION.sub(b"", data)
    got = [int(m.group(1)) for m in re.finditer(pattern.encode("latin-1"), guest)]
    want = list(range(first, last + 1))
    if got == want:
        return None
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"/{pattern}/: value {i + 1} is {g}, expected {w} ({len(got)} values seen)"
    return f"/{pattern}/: {len(got)} values seen, expected {len(want)}"


def paste_block(path, options):
    data = bytearray(open(path, "rb").read())
    badsum = False
    for opt in options:
        key, _, val = opt.partition("=")
        if key == "flip":
            data[int(val, 0)] ^= 0x01
        elif key == "truncate":
            del data[int(val, 0):]
        elif key == "badsum":
            badsum = True
        else:
            raise ValueError(f"paste: unknown option '{opt}'")
    digest = hashlib.sha256(data).hexdigest()[:16]
    if badsum:
        digest = ("0" if digest[0] != "0" else "1") + digest[1:]
    text = base64.b64encode(bytes(data)).decode()
    lines = [f"paste {len(data)} {digest}"] + [text[i:i + 64] for i in range(0, len(text), 64)] + ["end"]
    return ("\r".join(lines) + "\r").encode()


def monitor_command(steps, command, timeout=10.0, times=1, gap=0.0, line=None, until=None, until_timeout=90.0):
    """Send one HMP command to QEMU's monitor socket (times times, gap seconds apart, reading the
    serial line meanwhile); None, or why it failed."""
    here = os.path.dirname(steps)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mon, open(os.path.join(here, "monitor.log"), "ab") as log:
        try:
            mon.connect(os.path.join(here, "monitor.sock"))
        except OSError as e:
            return f"cannot connect to the monitor: {e}"
        got = b""
        sent = 0
        end = time.monotonic() + timeout
        for phase in ["banner"] + ["answer"] * times:
            if phase == "answer":
                if until is not None and sent:  # the machine took the previous one
                    why = line.expect(until, until_timeout)
                    if why:
                        log.write(got)
                        return why
                pause = time.monotonic() + gap
                while line is not None and time.monotonic() < pause:
                    line.pump(max(0.0, pause - time.monotonic()))
                end = time.monotonic() + timeout
                mon.sendall(command.encode("latin-1") + b"\n")
                sent += 1
                got = b""
            while not got.rstrip().endswith(b"(qemu)"):
                left = end - time.monotonic()
                r, _, _ = select.select([mon], [], [], max(0.0, left))
                if not r:
                    log.write(got)
                    return f"no monitor prompt within {timeout:g} s"
                chunk = mon.recv(65536)
                if not chunk:
                    log.write(got)
                    return "the monitor closed"
                got += chunk
            log.write(got)
    return None


def read_ppm(path):
    """(width, height, rows of RGB bytes) of a binary PPM (P6, maxval 255) as QEMU's screendump writes it."""
    data = open(path, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:
        m = re.compile(rb"\s*(#[^\n]*\n\s*)*(\S+)").match(data, pos)
        fields.append(m.group(2))
        pos = m.end()
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError(f"not a P6 PPM with maxval 255: {fields}")
    w, h = int(fields[1]), int(fields[2])
    pixels = data[pos + 1:]
    return w, h, [pixels[y * w * 3:(y + 1) * w * 3] for y in range(h)]


def screen_text_rows(path, left=48):
    """The most text rows whose left `left` pixels are the same non-blank block, over glyph heights 8-32."""
    w, h, rows = read_ppm(path)
    best = 0
    for gh in range(8, 33):
        counts = {}
        for top in range(0, h - gh + 1, gh):
            block = b"".join(rows[y][:left * 3] for y in range(top, top + gh))
            if block.strip(b"\x00"):
                counts[block] = counts.get(block, 0) + 1
        best = max([best] + list(counts.values()))
    return best


def screen_check(steps, want):
    path = os.path.join(os.path.dirname(steps), "screen.ppm")
    why = monitor_command(steps, f"screendump {path}")
    if why:
        return why
    try:
        got = screen_text_rows(path)
    except (OSError, ValueError, AttributeError) as e:
        return f"cannot read {path}: {e}"
    print(f"screen: {got} text rows begin alike", flush=True)
    return None if got >= want else f"only {got} text rows on the screen begin alike (want {want})"


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    sock, log, steps = sys.argv[1:]
    line = Line(sock, log)
    timeout = 90.0
    for n, text in enumerate(open(steps, encoding="utf-8").read().splitlines(), 1):
        step = text.strip()
        if not step or step.startswith("#"):
            continue
        verb, _, arg = step.partition(" ")
        why = None
        if verb == "expect":
            why = line.expect(arg, timeout)
        elif verb == "send":
            line.send(unescape(arg))
        elif verb == "type":
            line.send(unescape(arg), pace=0.02)
        elif verb == "sleep":
            end = time.monotonic() + float(arg)
            while time.monotonic() < end:
                line.pump(min(0.2, max(0.0, end - time.monotonic())))
        elif verb == "timeout":
            timeout = float(arg)
        elif verb == "paste":
            words = arg.split()
            path = words[0] if os.path.isabs(words[0]) else os.path.join(os.path.dirname(steps), words[0])
            # A line at a time, as a terminal's paste arrives: the shell reads it between exits.
            for chunk in paste_block(path, words[1:]).split(b"\r"):
                if chunk:
                    line.send(chunk + b"\r")
                    line.pump(0.01)
        elif verb == "monitor":
            why = monitor_command(steps, arg)
        elif verb == "repeat":
            count, gap_ms, inner = arg.split(" ", 2)
            until = None
            if inner.startswith("until "):
                until, _, inner = inner[len("until "):].partition(" monitor ")
                inner = "monitor " + inner
            iverb, _, iarg = inner.partition(" ")
            if iverb != "monitor":
                why = "repeat takes only a monitor step"
            else:
                why = monitor_command(steps, iarg, times=int(count), gap=int(gap_ms) / 1000.0, line=line,
                                      until=until, until_timeout=timeout)
                if not why and until is not None:
                    why = line.expect(until, timeout)  # the last one taken too
        elif verb == "screen":
            why = screen_check(steps, int(arg))
        elif verb == "sequence":
            rx, first, last = arg.rsplit(" ", 2)
            why = check_sequence(line.data, rx, int(first), int(last))
        else:
            why = f"unknown step '{verb}'"
        if why:
            print(f"session: step {n} ({step}): {why}", flush=True)
            break
    else:
        print("session: all steps passed", flush=True)
    while not line.closed:
        line.pump(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
