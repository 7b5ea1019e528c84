#!/usr/bin/env python3
"""Builds a GRUB ISO (BIOS and UEFI) holding the kernel and its boot modules.

  mkiso.py --kernel build/kernel/kernel --out kestrel.iso --cmdline "loglevel=info" \
           --module build/sigma0/sigma0 "sigma0" --module FILE "NAME ARGS"

Each module's command line conventionally starts with its name.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile


SAFE_IN_GRUB = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%^~!")


def grub_words(cmdline):
    """The command line as grub.cfg words: a word with a character GRUB's script language would
    take (> < | & ; $ quotes, backslash, braces, #) is single-quoted, so that it arrives as it is."""
    words = []
    for word in cmdline.split():
        if set(word) <= SAFE_IN_GRUB:
            words.append(word)
        else:
            words.append("'" + word.replace("'", "'\\''") + "'")
    return " ".join(words)


def grub_config(cmdline, modules):
    lines = [
        "set timeout=0",
        "set timeout_style=hidden",
        "set default=0",
        "insmod all_video",   # GRUB under EFI wants a video driver before multiboot2
        'menuentry "Kestrel" {',
        f"    multiboot2 /boot/kernel {grub_words(cmdline)}".rstrip(),
    ]
    for index, (_, module_cmdline) in enumerate(modules):
        lines.append(f"    module2 /boot/module{index} {grub_words(module_cmdline)}".rstrip())
    lines += ["    boot", "}"]
    return "\n".join(lines) + "\n"


def make_iso(kernel, out, cmdline="", modules=()):
    """modules: sequence of (path, command line)."""
    if shutil.which("grub-mkrescue") is None:
        sys.exit("mkiso: grub-mkrescue not found (apt-get install grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools)")
    with tempfile.TemporaryDirectory(prefix="kestrel-iso-") as root:
        boot = os.path.join(root, "boot")
        os.makedirs(os.path.join(boot, "grub"))
        shutil.copy(kernel, os.path.join(boot, "kernel"))
        for index, (path, _) in enumerate(modules):
            shutil.copy(path, os.path.join(boot, f"module{index}"))
        with open(os.path.join(boot, "grub", "grub.cfg"), "w") as cfg:
            cfg.write(grub_config(cmdline, modules))
        tmp_out = out + ".tmp"
        result = subprocess.run(["grub-mkrescue", "-o", tmp_out, root],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            sys.exit(f"mkiso: grub-mkrescue failed:\n{result.stdout}")
        os.replace(tmp_out, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cmdline", default="")
    parser.add_argument("--module", nargs=2, action="append", default=[], metavar=("FILE", "CMDLINE"))
    opts = parser.parse_args()
    make_iso(opts.kernel, opts.out, opts.cmdline, [tuple(m) for m in opts.module])


if __name__ == "__main__":
    main()
