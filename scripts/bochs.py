#!/usr/bin/env python3
"""Bochs command lines for Kestrel: one place that knows the Bochs machine we boot.

Bochs models real CPUs (`bochs --help cpu`), among them ones with PCID and INVPCID, which
QEMU's TCG lacks: corei7_skylake_x has both, corei7_ivy_bridge_3770k has PCID only.
Legacy BIOS only. Debian's Bochs has its debugger built in and stops before the first
instruction, so it is fed "c" (continue) on stdin. It has no exit port: with exit=qemu the
kernel logs "leaving the emulator: exit code 0x10" and writes "Shutdown" to port 0x8900,
which makes Bochs quit (with a "Shutdown port" panic in its own log, and status 1).

  bochs.py --iso build/kestrel.iso [--cpu corei7_ivy_bridge_3770k] [--serial-file serial.log]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

BIOS = "/usr/share/bochs/BIOS-bochs-latest"
VGABIOS = "/usr/share/vgabios/vgabios.bin"
DEFAULT_CPU = "corei7_skylake_x"
CONTINUE = b"c\n"   # the debugger's first command

EXIT_LINE = re.compile(r"leaving the emulator: exit code 0x([0-9a-f]+)")


def exit_code(log):
    """The code of the last exit line in the serial log, as QEMU would report it
    ((v << 1) | 1, the numbers of qemu.EXIT_*), or None if the kernel never said it."""
    codes = EXIT_LINE.findall(log)
    return (int(codes[-1], 16) << 1) | 1 if codes else None


def binary():
    bochs = shutil.which("bochs")
    if bochs is None or not all(os.path.exists(path) for path in (BIOS, VGABIOS)):
        sys.exit("bochs.py: Bochs is not installed (apt-get install --no-install-recommends "
                 "bochs bochs-term bochsbios vgabios)")
    return bochs


def isolated():
    """The prefix that runs a program in a new network namespace (only a loopback device, down),
    or nothing where unshare is missing or not allowed (not root)."""
    try:
        subprocess.run(["unshare", "--net", "true"], check=True, capture_output=True)
        return ["unshare", "--net", "--"]
    except (OSError, subprocess.CalledProcessError):
        return []


def command(iso, workdir, serial, cpu=DEFAULT_CPU, memory_mb=256):
    """Writes workdir/bochsrc for booting `iso` and returns (argument vector, bytes for stdin).
    The serial console goes to the file `serial`, Bochs' own log to workdir/bochs.log."""
    bochs = binary()
    log = os.path.abspath(os.path.join(workdir, "bochs.log"))
    if os.path.exists(log):
        os.remove(log)   # so that an old one is not taken for this run's
    # rfb with timeout=0 is the headless display of Debian's build (it has no nogui): it does
    # not wait for a client, and listens on the first free port of 5900-5949, so runs in
    # parallel do not collide. It listens on all addresses (Bochs 2.7 has no option for it),
    # so where we may, Bochs runs in a network namespace of its own (isolated()): there the
    # display is reachable from nowhere else.
    # Sound goes nowhere (not to ALSA, which would complain on machines without a card).
    rc = f"""\
megs: {memory_mb}
cpu: model={cpu}, ips=50000000
romimage: file={BIOS}
vgaromimage: file={VGABIOS}
ata0-master: type=cdrom, path={os.path.abspath(iso)}, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev={os.path.abspath(serial)}
display_library: rfb, options="timeout=0"
log: {log}
panic: action=fatal
error: action=report
clock: sync=none, time0=local
sound: driver=dummy
"""
    path = os.path.join(workdir, "bochsrc")
    with open(path, "w") as f:
        f.write(rc)
    return isolated() + [bochs, "-q", "-f", path], CONTINUE


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iso", required=True)
    parser.add_argument("--cpu", default=DEFAULT_CPU, help="a model of `bochs --help cpu`")
    parser.add_argument("--serial-file", help="write the serial console to this file (default: here)")
    parser.add_argument("--memory", type=int, default=256, help="MiB")
    opts = parser.parse_args()
    binary()
    workdir = tempfile.mkdtemp(prefix="kestrel-bochs-")
    console = os.dup(1)   # Bochs' own stdout (banner, debugger prompt) goes to stderr
    serial = opts.serial_file or f"/dev/fd/{console}"
    args, stdin = command(opts.iso, workdir, serial, opts.cpu, opts.memory)
    print(f"bochs.py: {opts.cpu}, Bochs' log in {workdir}/bochs.log; stop with Ctrl-C", file=sys.stderr)
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=sys.stderr, pass_fds=(console,))
    try:
        process.communicate(stdin)
    except KeyboardInterrupt:
        process.kill()
        process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
