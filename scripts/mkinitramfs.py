#!/usr/bin/env python3
"""Makes the Linux guest's initramfs: a cpio "newc" archive (what Linux's initramfs takes and
pv-linux-shim reads) with Debian's static busybox as /bin/busybox, a link for each of its
applets, a small /etc, the device nodes a shell expects, and any files of your own.

  mkinitramfs.py --out rootfs.cpio [--busybox /bin/busybox] [--add HOST_PATH:GUEST_PATH ...]

--add puts a host file (or a directory, recursively) into the archive at GUEST_PATH; a later
--add replaces what an earlier one or the defaults put at the same path.
"""
import argparse
import os
import stat
import subprocess
import sys

S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR = 0o040000, 0o100000, 0o120000, 0o020000

ETC = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
    "etc/group": "root:x:0:\n",
    "etc/motd": "Kestrel: busybox in pv-linux-shim, a paravirtualized guest of an L4-style microkernel.\n",
    "etc/hostname": "kestrel\n",
}
DIRS = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc", "tmp", "root", "home"]
# Character devices: (major, minor), as Linux numbers them.
DEVICES = {"dev/console": (5, 1), "dev/tty": (5, 0), "dev/null": (1, 3), "dev/zero": (1, 5),
           "dev/full": (1, 7), "dev/urandom": (1, 9), "dev/random": (1, 8)}


def applets(busybox):
    """The applet names busybox was built with, and where each of its links lives."""
    out = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip() and line.strip() != "bin/busybox"]


class Archive:
    """Entries by path (no leading slash), written in path order: parents before children."""

    def __init__(self):
        self.entries = {}

    def add(self, path, mode, data=b"", rdev=(0, 0)):
        path = path.strip("/")
        parent = os.path.dirname(path)
        if parent and parent not in self.entries:
            self.add(parent, S_IFDIR | 0o755)
        self.entries[path] = (mode, data, rdev)

    def add_host(self, host, guest):
        if os.path.isdir(host):
            self.add(guest, S_IFDIR | (os.stat(host).st_mode & 0o7777))
            for name in sorted(os.listdir(host)):
                self.add_host(os.path.join(host, name), f"{guest.rstrip('/')}/{name}")
        elif os.path.islink(host):
            self.add(guest, S_IFLNK | 0o777, os.readlink(host).encode())
        else:
            with open(host, "rb") as f:
                self.add(guest, S_IFREG | (os.stat(host).st_mode & 0o7777), f.read())

    def bytes(self):
        out = bytearray()
        for ino, path in enumerate(sorted(self.entries), start=1):
            mode, data, (major, minor) = self.entries[path]
            out += header(ino, mode, len(data), path, major, minor) + data
            out += b"\0" * (-len(out) % 4)
        out += header(0, 0, 0, "TRAILER!!!", 0, 0)
        out += b"\0" * (-len(out) % 512)
        return bytes(out)


def header(ino, mode, size, name, rdev_major, rdev_minor):
    nlink = 2 if stat.S_ISDIR(mode) else 1
    fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev_major, rdev_minor, len(name) + 1, 0]
    encoded = b"070701" + b"".join(b"%08x" % value for value in fields) + name.encode() + b"\0"
    return encoded + b"\0" * (-len(encoded) % 4)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--busybox", default="/bin/busybox")
    parser.add_argument("--add", action="append", default=[], metavar="HOST_PATH:GUEST_PATH")
    opts = parser.parse_args()
    if not os.path.exists(opts.busybox):
        sys.exit(f"mkinitramfs: no busybox at {opts.busybox} (apt-get install busybox-static)")

    archive = Archive()
    for d in DIRS:
        archive.add(d, S_IFDIR | 0o755)
    archive.add("tmp", S_IFDIR | 0o1777)
    with open(opts.busybox, "rb") as f:
        archive.add("bin/busybox", S_IFREG | 0o755, f.read())
    for link in applets(opts.busybox):
        depth = link.count("/")
        archive.add(link, S_IFLNK | 0o777, ("../" * depth + "bin/busybox").encode())
    for path, text in ETC.items():
        archive.add(path, S_IFREG | 0o644, text.encode())
    for path, (major, minor) in DEVICES.items():
        archive.add(path, S_IFCHR | 0o666, rdev=(major, minor))
    for spec in opts.add:
        host, sep, guest = spec.partition(":")
        if not sep or not guest or not os.path.exists(host):
            sys.exit(f"mkinitramfs: --add {spec!r}: want an existing HOST_PATH:GUEST_PATH")
        archive.add_host(host, guest)
    with open(opts.out, "wb") as f:
        f.write(archive.bytes())


if __name__ == "__main__":
    main()
