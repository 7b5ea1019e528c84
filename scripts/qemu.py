#!/usr/bin/env python3
"""QEMU command lines for Kestrel: one place that knows the machine we boot.

TCG is the default (on hosts whose /dev/kvm is a nested emulation KVM is far slower);
--accel kvm selects KVM on hosts with real hardware virtualization. --icount makes the
TSC count retired instructions exactly (for scripts/bench).
"""
import argparse
import os
import shutil
import sys

OVMF_CANDIDATES = ["/usr/share/ovmf/OVMF.fd", "/usr/share/qemu/OVMF.fd"]
DEBUG_EXIT_PORT = "0xf4"

# Values the kernel writes to isa-debug-exit (platform.hpp); QEMU exits with (v << 1) | 1.
EXIT_SUCCESS = (0x10 << 1) | 1
EXIT_FAILURE = (0x11 << 1) | 1
EXIT_PANIC = (0x12 << 1) | 1


def vmm_exit_code(status):
    """QEMU's exit code when vmm-server leaves with its guests' status (docs/hypercalls.md)."""
    return (min(status, 127) << 1) | 1


EXIT_GUEST_FAULT = vmm_exit_code(127)   # a guest stopped on a fault, or refused


def ovmf_path():
    for path in OVMF_CANDIDATES:
        if os.path.exists(path):
            return path
    sys.exit("qemu.py: no OVMF firmware found (apt-get install ovmf)")


def command(iso, firmware="bios", accel="tcg", serial="stdio", memory="256M", icount=False,
            extra=(), serial_input=None):
    """The argument vector that boots `iso`; serial is 'stdio', 'mon:stdio' or a file path.
    serial_input is a file whose bytes the serial port receives, as fast as the UART takes them:
    QEMU 7.2's file backend takes no input, its pipe backend reads BASE.in and writes BASE.out
    (plain files will do), so serial must be BASE.out, an existing file, and serial_input BASE.in."""
    qemu = shutil.which("qemu-system-x86_64") or sys.exit("qemu.py: qemu-system-x86_64 not found")
    args = [qemu, "-machine", "q35", "-m", memory, "-smp", "1", "-no-reboot",
            "-display", "none", "-boot", "d", "-cdrom", iso,
            "-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT},iosize=0x04"]
    if accel == "kvm":
        args += ["-accel", "kvm", "-cpu", "host"]
    else:
        args += ["-accel", "tcg", "-cpu", "max"]
    if icount:
        args += ["-icount", "shift=0,align=off,sleep=off"]
    if firmware == "uefi":
        args += ["-bios", ovmf_path()]
    if serial in ("stdio", "mon:stdio"):
        if serial_input is not None:
            raise ValueError("serial input comes from a file only with the serial port on a file")
        args += ["-serial", serial]
    elif serial_input is not None:
        base = serial[:-len(".out")]
        if not serial.endswith(".out") or serial_input != base + ".in":
            raise ValueError(f"serial input {serial_input!r} with output {serial!r}: want BASE.in and BASE.out")
        args += ["-serial", f"pipe:{base}"]
    else:
        args += ["-serial", f"file:{serial}"]
    return args + list(extra)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iso", required=True)
    parser.add_argument("--firmware", choices=["bios", "uefi"], default="bios")
    parser.add_argument("--accel", choices=["tcg", "kvm"], default="tcg")
    parser.add_argument("--interactive", action="store_true", help="serial and monitor on this terminal")
    parser.add_argument("--serial-file", help="write the serial console to this file")
    parser.add_argument("--serial-input", help="BASE.in, with --serial-file BASE.out: the serial port receives "
                                               "its bytes")
    parser.add_argument("extra", nargs="*", help="more QEMU arguments (after --)")
    opts = parser.parse_args()
    serial = "mon:stdio" if opts.interactive else (opts.serial_file or "stdio")
    if opts.serial_input:
        if not opts.serial_file:
            parser.error("--serial-input needs --serial-file")
        open(opts.serial_file, "ab").close()   # the pipe backend opens it, but does not create it
    try:
        args = command(opts.iso, opts.firmware, opts.accel, serial, extra=opts.extra,
                       serial_input=opts.serial_input)
    except ValueError as e:
        parser.error(str(e))
    if opts.interactive:
        print("QEMU: quit with Ctrl-A X", file=sys.stderr)
    os.execv(args[0], args)


if __name__ == "__main__":
    main()
