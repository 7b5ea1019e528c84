#!/usr/bin/env python3
"""Runs an initramfs on Debian's own Linux kernel in QEMU, for comparison with pv-linux-shim.

  linux_ref.py --initrd rootfs.cpio --init /bin/prog [--icount] [--cache DIR]

The kernel is the one Debian's linux-image-amd64 depends on, taken from its package without
installing it (apt-get download, then only /boot/vmlinuz out of it) into the cache directory
(default build/linux-ref). QEMU boots it as scripts/bench boots Kestrel (q35, -cpu max, TCG,
-icount shift=0 with --icount), with `rdinit=INIT` on the serial console; the serial output
goes to standard output. INIT ends the run by powering off (reboot(2)) or by exiting.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def kernel(cache):
    """The path of Debian's current kernel image, downloaded into `cache` the first time."""
    found = sorted(glob.glob(os.path.join(cache, "boot", "vmlinuz-*")))
    if found:
        return found[-1]
    depends = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], check=True, capture_output=True,
                             text=True).stdout.split()
    package = next((word for word in depends if word.startswith("linux-image-") and word[12:13].isdigit()), None)
    if package is None:
        sys.exit("linux_ref.py: apt-cache names no kernel package for linux-image-amd64 (apt-get update first)")
    os.makedirs(cache, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as download:
        os.chmod(download, 0o777)  # apt's own user writes there, without a warning about it
        subprocess.run(["apt-get", "download", "-qq", package], check=True, cwd=download)
        deb = glob.glob(os.path.join(download, "*.deb"))[0]
        unpacked = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", cache, "--wildcards", "./boot/vmlinuz-*"], check=True,
                       stdin=unpacked.stdout)
        if unpacked.wait() != 0:
            sys.exit(f"linux_ref.py: cannot unpack {deb}")
    return kernel(cache)


def version(build_dir):
    """The cached kernel's version (from its file name), or "(not fetched)"."""
    found = sorted(glob.glob(os.path.join(build_dir, "linux-ref", "boot", "vmlinuz-*")))
    return os.path.basename(found[-1])[len("vmlinuz-"):] if found else "(not fetched)"


def run(initrd, init, cache, icount=False, timeout=600, memory="256M"):
    """Boots `initrd` with `init` as its first process; returns the serial output."""
    qemu = shutil.which("qemu-system-x86_64") or sys.exit("linux_ref.py: qemu-system-x86_64 not found")
    args = [qemu, "-machine", "q35", "-m", memory, "-smp", "1", "-no-reboot", "-display", "none",
            "-accel", "tcg", "-cpu", "max", "-kernel", kernel(cache), "-initrd", initrd,
            "-append", f"console=ttyS0 rdinit={init} quiet panic=-1", "-serial", "stdio", "-monitor", "none"]
    if icount:
        args += ["-icount", "shift=0,align=off,sleep=off"]
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit(f"linux_ref.py: Linux did not power off within {timeout} s")
    return done.stdout.decode(errors="replace").replace("\r\n", "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--initrd", required=True)
    parser.add_argument("--init", required=True)
    parser.add_argument("--icount", action="store_true")
    parser.add_argument("--cache", default=os.path.join(ROOT, "build", "linux-ref"))
    opts = parser.parse_args()
    sys.stdout.write(run(opts.initrd, opts.init, opts.cache, opts.icount))


if __name__ == "__main__":
    main()
