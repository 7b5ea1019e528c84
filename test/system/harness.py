#!/usr/bin/env python3
"""System-test harness: boots a scenario in QEMU (or Bochs) and checks the serial log.

Each scenario names the kernel command line, the boot modules (generated files of exact
sizes), the firmware, the machine, the log lines expected in order, lines that must not
appear, and how the emulator must end (the kernel leaves through isa-debug-exit when given
exit=qemu). On timeout the emulator is killed and the test fails with the log's tail.

The machine is QEMU, or "bochs:<cpu model>" (scripts/bochs.py; BIOS only), for CPUs QEMU's
TCG does not model, such as PCID. Bochs has no exit port: its exit code is read from the
kernel's last "leaving the emulator: exit code 0x.." line, as QEMU would report it.

  harness.py --list
  harness.py --scenario banner-bios --kernel build/kernel/kernel --workdir build/test/system
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import bochs  # noqa: E402
import mkiso  # noqa: E402
import qemu  # noqa: E402

BANNER = r"Kestrel microkernel \d+\.\d+\.\d+ \(x86_64\)"


@dataclass
class Scenario:
    cmdline: str
    expect: list                      # regexes, matched in this order
    exit_code: int = qemu.EXIT_SUCCESS
    firmware: str = "bios"
    modules: list = field(default_factory=list)   # (size in bytes or "@program", command line)
    forbid: list = field(default_factory=lambda: [r"PANIC"])
    check: object = None              # optional function(log) -> error string or None
    timeout: float = 60.0
    machine: str = "qemu"             # or "bochs:<cpu model>" (see `bochs --help cpu`)
    # QEMU's clock counts instructions (-icount): timer interrupts come after the same work
    # on every run, however loaded the host is. For scenarios that test preemption.
    icount: bool = False
    # Bytes the serial port receives (from a file in the work directory), as fast as the UART
    # takes them. QEMU only.
    serial_input: bytes = None
    # Typed as a person would, through a FIFO: each step waits for its regex to appear in the
    # serial output after the previous step's match, then for `pause` seconds, then sends its
    # keys. QEMU only; with serial_input b"" (the FIFO starts empty).
    dialogue: list = None             # of (regex, pause seconds, keys)

    def __post_init__(self):
        kind, _, model = self.machine.partition(":")
        if not (self.machine == "qemu" or (kind == "bochs" and model)):
            raise ValueError(f"machine {self.machine!r}: want 'qemu' or 'bochs:<cpu model>'")
        if kind == "bochs" and self.firmware != "bios":
            raise ValueError(f"machine {self.machine!r} boots with BIOS only, not {self.firmware}")
        if kind == "bochs" and self.serial_input is not None:
            raise ValueError(f"machine {self.machine!r} takes no serial input")


MODULES = [(4096, "alpha"), (12345, "beta two words"), (1, "gamma")]

BANNER_LINES = [
    BANNER,
    r"cpu: \S+ \".*\" family \d+ model \d+ stepping \d+",
    r"cpu features:.* nx",
    r"boot loader: GRUB",
    r'command line: "exit=qemu"',
    r"memory: \d+ KiB available in \d+ regions, \d+ KiB free for allocation, kernel image \d+ KiB",
    r"modules: 3\n",
    r'  module 0: 0x[0-9a-f]+-0x[0-9a-f]+ 4096 bytes "alpha"\n',
    r'  module 1: 0x[0-9a-f]+-0x[0-9a-f]+ 12345 bytes "beta two words"\n',
    r'  module 2: 0x[0-9a-f]+-0x[0-9a-f]+ 1 bytes "gamma"\n',
    r"timer: local APIC [1-9]\d+ Hz \(calibrated against the PIT\), tick 100 Hz; TSC [1-9]\d* kHz",
    r"tlb: PCID off \(not on this CPU\)\n",
    r"boot complete",
]


def check_ticks(log):
    ticks = [int(n) for n in re.findall(r"test ticks: tick (\d+) ", log)]
    if len(ticks) != 10:
        return f"expected 10 tick lines, found {len(ticks)}"
    if any(b <= a for a, b in zip(ticks, ticks[1:])):
        return f"ticks do not advance: {ticks}"
    return None


def check_ktest(log, exactly=None, at_least=1):
    """A ktest program's run: every case it registered passed and none failed (a case that
    reached no check fails); it registered `exactly` cases, or at least `at_least`."""
    registered = re.findall(r"ktest: (\d+) cases? registered\n", log)
    summaries = re.findall(r"ktest: (\d+) passed, (\d+) failed\n", log)
    if len(registered) != 1 or len(summaries) != 1:
        return f"want one ktest 'cases registered' line and one summary, found {len(registered)} and {len(summaries)}"
    registered = int(registered[0])
    passed, failed = (int(n) for n in summaries[0])
    if passed != registered or failed != 0:
        return f"ktest: {passed} passed, {failed} failed of {registered} registered (want {registered} passed, 0 failed)"
    if exactly is not None and registered != exactly:
        return f"ktest: {registered} cases registered, want exactly {exactly}"
    if registered < at_least:
        return f"ktest: {registered} cases registered, want at least {at_least}"
    return None


def ktest_check(exactly=None, at_least=1):
    return lambda log: check_ktest(log, exactly, at_least)


def check_interleaving(log):
    order = re.findall(r"spinner ([AB]): round", log)
    switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
    if len(order) != 12 or switches < 3:
        return f"spinner reports do not interleave: {''.join(order)}"
    return None


def module_bytes(size, seed):
    # Deterministic, non-trivial content so a module mixed up with another would show.
    return bytes((seed * 31 + i * 7) & 0xff for i in range(size))


def module_sum(size, seed):
    """The byte sum of the generated module `seed` (its index) of `size` bytes."""
    return sum(module_bytes(size, seed))


def check_lines(log, lines, whole=True):
    """Each of `lines` in this order (other lines may come between): whole lines, or lines that
    begin so."""
    position = 0
    for line in lines:
        match = re.compile(r"(?m)^" + re.escape(line) + (r"$" if whole else "")).search(log, position)
        if match is None:
            return f"expected, in order: {line!r}"
        position = match.end()
    return None


def terminal_lines(log):
    """The serial log as a terminal would show it: each line as the cursor left it after
    carriage returns, backspaces and erase-to-end (ESC [ J or K); other escape sequences go."""
    lines = []
    for line in log.split("\n"):
        shown, cursor = [], 0
        for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|.", line):
            if token.startswith("\x1b"):
                if token[-1] in "JK":
                    del shown[cursor:]
            elif token == "\r":
                cursor = 0
            elif token == "\b":
                cursor = max(0, cursor - 1)
            else:
                shown[cursor:cursor + 1] = [token]
                cursor += 1
        lines.append("".join(shown))
    return "\n".join(lines)


def check_demo_guest(log, name, peer, role):
    """vmm-demo: the guest's lines whole and in order (the two guests' lines may interleave)."""
    hello = f'[{name}] hello, I am guest "{name}": 2048 KiB of memory at 0x400000, in my own task'
    if role == "ping":
        frames = [line for n in (1, 2, 3) for line in
                  (f'[{name}] sent "ping {n} from {name}"', f'[{name}] got "pong {n} from {peer}"')]
    else:
        frames = [f'[{name}] got "ping {n} from {peer}"' for n in (1, 2, 3)]
    return check_lines(log, [hello] + frames + [f"[{name}] done: powering off",
                                                f'vmm: guest "{name}" shut down (poweroff, status 0)'])


# The checks test/system/guests/pv_test_guest.cpp counts when all pass, without an initrd (one
# more with) and without a disk (PV_TEST_DISK_CHECKS more with).
PV_TEST_CHECKS = 193
PV_TEST_DISK_CHECKS = 38
PV_TEST_PEER_CHECKS = 25


def pv_test_broken_ring(name, ring="console output"):
    """The VMM's report of a ring the test guest breaks (pv_device_tests.cpp)."""
    return (f'vmm: guest "{name}": its {ring} ring is broken (request producer 1000000 runs ahead '
            f'of the ring): served no more')


def pv_test_ring_lines(name):
    """The lines the test guest writes through its console ring, in order."""
    return [re.escape(f"[{name}] pv-test: through the console ring: ok"),
            re.escape(f"[{name}] pv-test: the console ring after bad requests: ok"),
            re.escape(f"[{name}] pv-test: escapes ?[2J? show as ?, a CR goes"),
            re.escape(f"[{name}] " + "x" * 160), re.escape(f"[{name}] " + "x" * 10)]


def check_reported(log, line, times):
    found = len(re.findall(r"(?m)^" + re.escape(line) + r"$", log))
    return None if found == times else f"{found} times, expected {times}: {line!r}"


def pv_test_disk_run(rerun):
    """vmm-pv-test: the lines of one run of its guest, with a disk; it reboots after the first."""
    disk = module_bytes(5120, 4)   # module 4
    last = "as an earlier run wrote it" if rerun else "new"
    pattern = disk[:4608] if rerun else disk
    lines = (
        r'vmm: guest "pvtest" started: 8192 KiB at 0x400000, entry 0x4[0-9a-f]{5}, kernel memory \d+ KiB',
        *([] if rerun else [r"vmm: 1 of 1 guests started"]),
        re.escape('[pvtest] pv-test: I am "pvtest", 8192 KiB at 0x400000, command line '
                  '"hello from the command line, with a disk"'),
        r"\[pvtest\] pv-test: initrd of 5000 bytes at 0x4[0-9a-f]{2}000, byte sum " + str(module_sum(5000, 3)),
        re.escape("[pvtest] pv-test: one byte at a time: ok"),
        re.escape("[pvtest] pv-test: forty bytes exactly in 5 words"),
        *pv_test_ring_lines("pvtest"),
        re.escape(pv_test_broken_ring("pvtest")),
        re.escape(f"[pvtest] pv-test: disk of 10 sectors, first byte {disk[0]}, byte sum {sum(pattern)} of "
                  f"{len(pattern)} bytes, the last sector {last}"),
        re.escape(pv_test_broken_ring("pvtest", "block")),
        re.escape(f"[pvtest] pv-test: {PV_TEST_CHECKS + 1 + PV_TEST_DISK_CHECKS} passed, 0 failed"),
        re.escape(f'vmm: guest "pvtest" shut down ({"poweroff" if rerun else "reboot"}, status 0)'))
    return [r"(?m)^" + line + r"$" for line in lines]


def check_pv_net(log):
    """vmm-pv-net: the test guest and its peer run at once: their lines in any order between them."""
    wanted = [
        (re.escape(f"[pvnet] pv-test: {PV_TEST_CHECKS + PV_TEST_PEER_CHECKS} passed, 0 failed"), 1),
        (re.escape('vmm: guest "pvnet" shut down (poweroff, status 0)'), 1),
        (re.escape(pv_test_broken_ring("pvnet")), 1),
        # echo 1 to 5; not the spoofed frame nor the one the test guest sent to itself.
        (re.escape("[peer] net-peer: sent back 5 frames"), 1),
        (re.escape('vmm: guest "peer" shut down (poweroff, status 0)'), 1),
    ]
    for pattern, count in wanted:
        found = len(re.findall(r"(?m)^" + pattern + r"$", log))
        if found != count:
            return f"want {count} line(s) {pattern!r}, found {found}"
    return None


# The process guest's checks: 2 (endpoint, memory back) + 12 for the first process + 5 for the
# refused one + 9 for each of the 50 more (make, 5 messages' badges, the #UD, delivery, exit 7).
PROCESS_TEST_CHECKS = 2 + 12 + 5 + 50 * 9


# The summary lines of test/linux/'s programs in pv-linux-shim, as they print them on the host.
# On the host each has 0 failed (files 234, processes 62, memory 59, pipes 51, time 31, misc 52,
# signals 56 checks); in the shim, until the calls they find missing or wrong are done, exactly
# these (the failed checks are listed in the log).
LINUX_C_TESTS = ["files: 191 passed, 43 failed", "processes: 62 passed, 0 failed", "memory: 59 passed, 0 failed",
                 "pipes: 43 passed, 8 failed", "time: 31 passed, 0 failed", "misc: 52 passed, 0 failed",
                 "signals: 56 passed, 0 failed"]
LINUX_C_TESTS_FAILING = 2   # programs with a failed check: /t/run's exit status


def vmm_leaves(status):
    """The VMM's last lines when its guests have stopped with `status` (booted with exit=qemu)."""
    return re.escape(f"vmm: all guests have stopped: status {status}\nvmm: leaving the emulator: exit code {status:#x}\n")


def vmm_scenario(modules, started, status, check, forbid=(r"PANIC", r"FAIL"), cmdline="exit=qemu", **options):
    """vmm-server with these guest modules: `started` guests start, and when all have stopped
    the VMM leaves with `status`; `check` looks at the rest."""
    return Scenario(cmdline, [r'root task "vmm-server"', rf"vmm: {started} of {started} guests started",
                                  r"(?m)^" + vmm_leaves(status) + r"\Z"],
                    modules=[("@sigma0", "sigma0"), ("@vmm-server", "vmm-server")] + modules, check=check,
                    exit_code=qemu.vmm_exit_code(status), forbid=list(forbid), **options)


def qemu_status(code):
    """The status the VMM wrote to isa-debug-exit for QEMU's exit code `code`."""
    return code >> 1


def check_guest_faults(log):
    """vmm-guest-faults: the lines of guests running at once come in any order between them."""
    ud = r'vmm: guest "crasher" stopped: #UD invalid opcode \(vector 6\) at rip 0x4[0-9a-f]{5}'
    wanted = [
        (re.escape(f"[good] pv-test: {PV_TEST_CHECKS} passed, 0 failed"), 1),
        (re.escape(pv_test_broken_ring("good")), 1),
    ] + [(line, 1) for line in pv_test_ring_lines("good")] + [
        (re.escape('vmm: guest "good" shut down (poweroff, status 0)'), 1),
        (re.escape('vmm: guest "quiet" shut down (poweroff, status 0)'), 1),
        (re.escape(pv_test_broken_ring("quiet")), 1),
        (r"\[quiet\] .*", 0),
        (re.escape('[crasher] crash-test: "crasher" crashes with ud2'), 4),
        (ud, 4),
        (re.escape('[wild] crash-test: "wild" crashes with wild-write'), 1),
        (r'vmm: guest "wild" stopped: page fault \(write at 0x610000\) at rip 0x4[0-9a-f]{5}', 1),
        (re.escape('[priv] crash-test: "priv" crashes with privileged'), 1),
        (r'vmm: guest "priv" stopped: #GP general protection \(vector 13\) at rip 0x4[0-9a-f]{5}', 1),
        (re.escape('vmm: guest "crasher" is not restarted: it crashed 4 times'), 1),
    ] + [(re.escape(f'vmm: restarting guest "crasher" ({n} of 3)'), 1) for n in (1, 2, 3)]
    for pattern, count in wanted:
        found = len(re.findall(r"(?m)^" + pattern + r"$", log))
        if found != count:
            return f"want {count} line(s) {pattern!r}, found {found}"
    if not re.search(r"(?m)^" + vmm_leaves(qemu_status(qemu.EXIT_GUEST_FAULT)) + r"\Z", log):
        return "the VMM did not leave with the fault status at the end"
    return None


def check_hostile(log):
    """vmm-hostile-guest: each guest's lines once, in its own order; steady made progress while
    hostile was hostile; the broken ring reported at the producer hostile set."""
    wanted = [
        ("hostile", ["hostile: 3 echoes from echo, turning hostile",
                     "hostile: 13 bogus hypercalls, each refused as documented",
                     "hostile: flooded 20000 hypercalls, 20000 doorbells, 5000 frames to itself, 1000 spoofed as echo",
                     "hostile: 6 malformed transmit entries, each answered as documented",
                     "hostile: a chain of 16 factories, the last one emptied by ",
                     "hostile: back after a restart (my marker is on the disk), behaving",
                     "hostile: 3 echoes from echo again, 0 checks wrong"]),
        ("steady", [f"steady: {n} echoes" for n in (100, 200, 300, 400)] +
         ["steady: 400 of 400 echoes, 0 unexpected frames"]),
    ]
    for name, lines in wanted:
        problem = check_lines(log, [f"[{name}] {line}" for line in lines], whole=False)
        if problem:
            return problem
    producer = re.search(r"(?m)^\[hostile\] hostile: my transmit producer now runs ahead, at (\d+); now a write "
                         r"outside my memory$", log)
    broken = re.findall(r'(?m)^vmm: guest "hostile": its network ring is broken \(request producer (\d+) runs '
                        r'ahead of the ring\): served no more$', log)
    if producer is None or broken != [producer.group(1)]:
        return f"want one broken-ring report at the producer hostile set, found {broken}"
    stopped = re.findall(r'(?m)^vmm: guest "hostile" stopped: page fault \(write at 0x610000\) at rip 0x4[0-9a-f]{5}$',
                         log)
    restarted = re.findall(r'(?m)^vmm: restarting guest "hostile" \(1 of 3\)$', log)
    if len(stopped) != 1 or len(restarted) != 1:
        return f"want hostile stopped once and restarted once, found {len(stopped)} and {len(restarted)}"
    # Every ping gets its echo: 400 of steady's, 3 of each of hostile's lives, and one more for
    # each that steady sent again when its echo was slow to come.
    resent = re.search(r"(?m)^\[steady\] steady: 400 of 400 echoes, 0 unexpected frames, (\d+) resent after the "
                       r"first \((\d+) before\)$", log)
    echoes = re.search(r"(?m)^\[echo\] echo: (\d+) echoes sent, 0 other frames, both clients said quit$", log)
    if resent is None or echoes is None or int(echoes.group(1)) != 406 + int(resent.group(1)) + int(resent.group(2)):
        return "want echo's count of echoes to be 406 and one for each ping steady sent again"
    # Every stop gives back the same kernel memory, however the guest used its quota.
    given_back = re.findall(r'(?m)^vmm: guest "(\w+)" gave back (\d+) bytes of kernel memory$', log)
    if sorted(name for name, _ in given_back) != ["echo", "hostile", "hostile", "steady"] or \
            len(set(n for _, n in given_back)) != 1:
        return f"want each stop to give back the same kernel memory: {given_back}"
    meanwhile = re.search(r"(?m)^\[echo\] echo: (\d+) pings from steady came while hostile attacked, crashed and "
                          r"restarted$", log)
    if meanwhile is None or int(meanwhile.group(1)) == 0:
        return "steady made no progress while hostile attacked"
    return None


# What the vmm-console-input scenario types, and what each of its two console guests
# (test/system/guests/console_guest.cpp) and the VMM say about it. Ctrl-] is 0x1d.
CONSOLE_INPUT = (b"\n" * 16                    # the UART's reset at boot may drop some: skipped
                 + b"hello first\n"            # the first guest started has the input
                 + b"\x1d2hello second\n"      # Ctrl-] 2: the second guest
                 + b"a\x1d9b\x1d0c\x1d\n"       # Ctrl-] then a byte that begins no sequence: that byte
                 + b"\x1d\x1dliteral\n"        # Ctrl-] Ctrl-]: one Ctrl-]
                 + b"\x1d\x1d\x1dy\x1dN\n"      # one Ctrl-], then Ctrl-] y and Ctrl-] N
                 + b"\x1d3\x1d8"                # no guests 3 and 8: the input stays
                 + b"\x1d1back to first\n"
                 + b"\x1dnend\n"                # Ctrl-] n: the second again, which stops polling
                 + b"\x1dnbye\n")               # the first, which powers off: the second has the input
CONSOLE_GUEST_LINES = {
    "first": ["reading the console", 'got "hello first"', 'got "back to first"', 'got "bye"', "powering off"],
    "second": ["reading the console", 'got "hello second"', 'got "a9b0c"', 'got "\\x1dliteral"',
               'got "\\x1dyN"', 'got "end"'],
}
CONSOLE_VMM_LINES = [
    'vmm: console input goes to guest "first"',
    'vmm: console input goes to guest "second"',
    "vmm: no running guest 3 for console input",
    "vmm: no running guest 8 for console input",
    'vmm: console input goes to guest "first"',
    'vmm: console input goes to guest "second"',
    'vmm: console input goes to guest "first"',
    'vmm: guest "first" shut down (poweroff, status 0)',
    'vmm: console input goes to guest "second"',
]


def check_console_input(log):
    """vmm-console-input: each guest's lines and the VMM's about the input, exactly (the two
    guests' lines may interleave)."""
    for name, want in CONSOLE_GUEST_LINES.items():
        got = re.findall(rf"(?m)^\[{name}\] (.*)$", log)
        if got != want:
            return f"guest {name}: lines {got!r}, want {want!r}"
    got = re.findall(r"(?m)^vmm: (?:console input|no running guest|no serial input|guest \S+ shut down).*$", log)
    if got != CONSOLE_VMM_LINES:
        return f"the VMM's console lines {got!r}, want {CONSOLE_VMM_LINES!r}"
    return None


def vmm_start(*guests):
    """The VMM's first lines, each whole and in order, when every guest (name, KiB) starts."""
    started = [rf'vmm: guest "{name}" started: {kib} KiB at 0x400000, entry 0x4[0-9a-f]{{5}}, kernel memory \d+ KiB'
               for name, kib in guests]
    started.append(rf"vmm: {len(guests)} of {len(guests)} guests started")
    return [r'root task "vmm-server"'] + [r"(?m)^" + line + r"$" for line in started]


# A sanity floor for the full ktest program (security_tests.cpp among its files): a file of
# cases that fell out of the build shows as fewer registered. Raise it as cases come.
KTEST_MIN_CASES = 220


def panic_lines(name, vector):
    return [rf"PANIC: CPU exception {re.escape(name)} \(vector {vector}\) in kernel mode",
            r"rax=[0-9a-f]{16} rbx=[0-9a-f]{16}",
            r"rip=[0-9a-f]{16} cs=0008",
            r"cr0=[0-9a-f]{16} cr2=[0-9a-f]{16} cr3=[0-9a-f]{16}",
            r"backtrace:\n  #0  0xffffffff8[0-9a-f]{7} \S+\+0x[0-9a-f]+\n",
            r"  #\d+ +0xffffffff8[0-9a-f]{7} kernel_main\+0x[0-9a-f]+\n"]


def bochs_ktest(cpu, tlb_line):
    """ktest (as in user-ktest) on a Bochs CPU model: CPUs with PCID, which QEMU's TCG lacks."""
    return Scenario("exit=qemu", [BANNER, tlb_line, r"ktest: \d+ passed, 0 failed", r"all user threads have exited"],
                    modules=[("@ktest", "ktest")], check=ktest_check(at_least=KTEST_MIN_CASES),
                    forbid=[r"PANIC", r"ktest: FAIL"], timeout=120, machine=f"bochs:{cpu}")


def user_ktest(firmware):
    """The ktest program as sigma0: every case of it passes."""
    return Scenario("exit=qemu loglevel=debug",
                    [BANNER, r'sigma0 "ktest": \d segments, entry 0x4[0-9a-f]{5}', r"ktest: \d+ cases registered\n",
                     r"ktest: debug_write works", r"ktest: a long line in slices: (0123456789){10}\|end\n",
                     r'debug: vm: 2 MiB page at 0x80000000 in "ktest"',
                     r"ktest: \d+ passed, 0 failed", r"all user threads have exited"],
                    modules=[("@ktest", "ktest")], firmware=firmware, check=ktest_check(at_least=KTEST_MIN_CASES),
                    forbid=[r"PANIC", r"ktest: FAIL"])


SCENARIOS = {
    "banner-bios": Scenario("exit=qemu", BANNER_LINES, modules=MODULES),
    "banner-uefi": Scenario("exit=qemu", BANNER_LINES, modules=MODULES, firmware="uefi"),
    "ticks": Scenario("exit=qemu test=ticks",
                      [BANNER, r"test ticks: tick \d+ \(\+1\)", r"test ticks: 10 ticks advanced in \d+ TSC cycles",
                       r"boot complete"], check=check_ticks),
    "panic-page-fault": Scenario(
        "exit=qemu test=pagefault",
        [BANNER, r"test page fault: reading 0xdead0000",
         r"PANIC: CPU exception #PF page fault \(vector 14\) in kernel mode, error code 0x0\n",
         r"fault address \(cr2\): 0x00000000dead0000\n",
         r"page fault: read access by kernel to a non-present page\n"] + panic_lines("#PF page fault", 14)[1:4] +
        [r"backtrace:\n  #0  0xffffffff8[0-9a-f]{7} run_test_hook\+0x[0-9a-f]+\n",
         r"  #1  0xffffffff8[0-9a-f]{7} kernel_main\+0x[0-9a-f]+\n",
         r"  #2  0xffffffff8[0-9a-f]{7} higher_half\+0x[0-9a-f]+\n"],
        exit_code=qemu.EXIT_PANIC, forbid=[r"boot complete"]),
    "panic-stack-overflow": Scenario(
        "exit=qemu test=stackoverflow",
        [BANNER, r"test stack overflow"] + panic_lines("#DF double fault", 8)[:4],
        exit_code=qemu.EXIT_PANIC, forbid=[r"boot complete", r"PANIC while panicking"]),
    # A thread's kernel stack (kernel_stack.cpp) overflowing into its guard: a clean panic that says so.
    "panic-kernel-stack-overflow": Scenario(
        "exit=qemu test=kstackoverflow",
        [BANNER, r"test kernel stack overflow: recursing on a thread's kernel stack at 0xffffffff4",
         r"PANIC: CPU exception #DF double fault \(vector 8\) in kernel mode",
         r"kernel stack overflow: rsp 0xffffffff4[0-9a-f]+ ran into the guard below a kernel stack",
         r"rax=[0-9a-f]{16} rbx=[0-9a-f]{16}", r"rip=[0-9a-f]{16} cs=0008", r"backtrace:\n  #0  0xffffffff8"],
        exit_code=qemu.EXIT_PANIC, forbid=[r"boot complete", r"PANIC while panicking"]),
    "panic-invalid-opcode": Scenario(
        "exit=qemu test=ud",
        [BANNER, r"test invalid opcode"] + panic_lines("#UD invalid opcode", 6),
        exit_code=qemu.EXIT_PANIC, forbid=[r"boot complete"]),
    "wx-write-rodata": Scenario(
        "exit=qemu test=writerodata",
        [BANNER, r"test W\^X: writing to \.rodata at (0xffffffff8[0-9a-f]{7})",
         r"PANIC: CPU exception #PF page fault \(vector 14\) in kernel mode, error code 0x3\n",
         r"page fault: write access by kernel to a present \(protection\) page\n"],
        exit_code=qemu.EXIT_PANIC, forbid=[r"W\^X is broken", r"boot complete"]),
    "wx-exec-data": Scenario(
        "exit=qemu test=execdata",
        [BANNER, r"test W\^X: calling into \.data",
         r"PANIC: CPU exception #PF page fault \(vector 14\) in kernel mode, error code 0x11\n",
         r"page fault: instruction fetch access by kernel to a present \(protection\) page\n"],
        exit_code=qemu.EXIT_PANIC, forbid=[r"NX is broken", r"boot complete"]),
    "panic-software": Scenario(
        "exit=qemu test=panic",
        [BANNER, r"PANIC: test panic: the kernel's own check failed \(1 of 2\)\n",
         r"rsp=ffffffff8[0-9a-f]{7} rbp=ffffffff8[0-9a-f]{7}\n", r"cr0=[0-9a-f]{16} cr2=[0-9a-f]{16} cr3=[0-9a-f]{16}",
         r"backtrace:\n  #0  0xffffffff8[0-9a-f]{7} run_test_hook\+0x[0-9a-f]+\n",   # panic() is inlined
         r"  #1  0xffffffff8[0-9a-f]{7} kernel_main\+0x[0-9a-f]+\n",
         r"  #2  0xffffffff8[0-9a-f]{7} higher_half\+0x[0-9a-f]+\n"],
        exit_code=qemu.EXIT_PANIC, forbid=[r"boot complete", r" \?\n"]),
    "panic-uefi-page-fault": Scenario(
        "exit=qemu test=pagefault",
        [BANNER, r"fault address \(cr2\): 0x00000000dead0000\n", r"backtrace:"],
        exit_code=qemu.EXIT_PANIC, firmware="uefi", forbid=[r"boot complete"]),
    "user-ktest": user_ktest("bios"),
    # The same under OVMF: UEFI's memory map and boot path (about 6 s more for the firmware).
    "user-ktest-uefi": user_ktest("uefi"),
    "bochs-ktest-pcid-invpcid": bochs_ktest("corei7_skylake_x", r"tlb: PCID on, INVPCID on"),
    "bochs-ktest-pcid": bochs_ktest("corei7_ivy_bridge_3770k", r"tlb: PCID on, INVPCID off"),
    "bochs-pcid-off": Scenario("exit=qemu pcid=off", [BANNER, r"cpu features:.* pcid invpcid",
                                                      r"tlb: PCID off \(pcid=off\)\n", r"boot complete"],
                               modules=[("@sigma0", "sigma0")], machine="bochs:corei7_skylake_x"),
    "user-fault-isolated": Scenario(
        "exit=qemu", [r'root task "faulter"', r"faulter: executing ud2",
                      r'thread "faulter": #UD invalid opcode \(vector 6\) at rip 0x4[0-9a-f]{5}.*: thread stopped',
                      r"all user threads have exited"],
        modules=[("@ktest", "ktest"), ("@faulter", "faulter")], check=ktest_check(at_least=KTEST_MIN_CASES),
        forbid=[r"PANIC", r"faulter: survived", r"ktest: FAIL"]),
    "user-preemption": Scenario(
        "exit=qemu", [r"spinner [AB]: round 5", r"spinner [AB]: round 5", r"all user threads have exited"],
        modules=[("@spinner-a", "spinner-a"), ("@spinner-b", "spinner-b")], check=check_interleaving, icount=True),
    "user-fpu-state": Scenario(
        "exit=qemu", [r"fpu [AB]: 0 registers changed", r"fpu [AB]: 0 registers changed",
                      r"all user threads have exited"],
        modules=[("@fpu-a", "fpu-a"), ("@fpu-b", "fpu-b")], timeout=120, icount=True),
    "user-bad-elf": Scenario(
        "exit=qemu", [r'error: sigma0 "junk": not loaded: not an ELF file \(bad magic\)',
                      r'root task "spinner-a"', r"spinner A: round 5", r"all user threads have exited"],
        modules=[(5000, "junk"), ("@spinner-a", "spinner-a")]),
    "bench-runs": Scenario(
        "exit=qemu", [r"bench: null_syscall median \d+", r"bench: ipc_call_reply_inter_as median \d+",
                      r"bench: ipc_call_reply_intra_as median \d+", r"bench: notify_signal_wait median \d+",
                      r"bench: exception_ipc_round_trip median \d+",
                      r"bench: foreign_syscall_round_trip median \d+", r"bench: thread_switch_yield median \d+",
                      r"bench: page_fault_round_trip median \d+", r"bench: map_unmap_4k median \d+",
                      r"bench: map_unmap_2m median \d+",
                      r"bench: done", r"all user threads (have exited|are blocked)"],
        modules=[("@bench-server", "bench-server"), ("@bench", "bench")], forbid=[r"PANIC", r"FAILED"],
        timeout=120),
    # The paravirtual benchmarks of scripts/bench (test/bench/pv_bench_guest.cpp) run to the end.
    "bench-vmm": Scenario(
        "exit=qemu", [r"\[sender\] bench: hypercall_round_trip median [1-9]\d* min \d+ runs 10000",
                      r"\[sender\] bench: timer_expiry_to_guest median [1-9]\d* min \d+ runs 100",
                      r"\[sender\] bench: switch_frame_1500 median [1-9]\d* min \d+ runs 11",
                      r"(?m)^" + vmm_leaves(0) + r"\Z"],
        modules=[("@sigma0", "sigma0"), ("@vmm-server", "vmm-server"),
                 ("@pv-bench-guest", "guest name=sender mem=4M -- sender"),
                 ("@pv-bench-guest", "guest name=receiver mem=4M -- receiver")],
        check=lambda log: None if re.search(r"(?m)^\[receiver\] bench: received 2816 frames of 1514 bytes, none lost, 0 stray$",
                                            log) else "the receiver did not get every frame",
        exit_code=qemu.vmm_exit_code(0), forbid=[r"PANIC", r"FAILED"], timeout=120),
    "boot-sigma0": Scenario(
        "exit=qemu", [BANNER, r'sigma0 "sigma0": \d segments', r"sigma0: [1-9]\d* KiB to hand out",
                      r"sigma0: no root task to serve, done\n", r"all user threads have exited"],
        modules=[("@sigma0", "sigma0")]),
    "sigma0-protocol": Scenario(
        "exit=qemu", [r'sigma0 "sigma0"', r'root task "sigma0-client"', r"sigma0: \d+ KiB to hand out",
                      r"ktest: passed sigma0_never_hands_out_a_page_twice",
                      r"ktest: passed sigma0_io_ports_grants_exactly_the_range",
                      r"ktest: passed sigma0_irq_line_once_and_bound", r"ktest: \d+ passed, 0 failed"],
        modules=[("@sigma0", "sigma0"), ("@sigma0-client", "sigma0-client")],
        check=ktest_check(exactly=9),
        forbid=[r"PANIC", r"ktest: FAIL"]),
    "loader": Scenario(
        "exit=qemu", [r'root task "loader-root"', r"ktest: passed loader_sigma0_client",
                      r"ktest: passed loader_heap_over_sigma0_pages",
                      r"ktest: passed loader_rejects_bad_images_and_options",
                      r'loader: started "child": entry 0x4[0-9a-f]{5}, 3 segments',
                      r"child: hello from a loaded task",
                      r"child: \.data sum 1123885750 ok, \.bss 32768 bytes zero ok",
                      r"child: wrote \.data and \.bss, touched 24 KiB of stack \(checksum 1128\), done",
                      r"loader: child finished \(\d+ faults served, \d+ pages from sigma0\)",
                      r"ktest: passed loader_runs_child_from_boot_module",
                      r"child: hello from a loaded task",
                      r"child: \.data sum 1123885750 ok, \.bss 32768 bytes zero ok",
                      r"loader: child finished on junk-filled pages",
                      r"ktest: passed loader_fills_every_byte_of_a_page",
                      r'loader: started "child-null"', r"child: touching address 0",
                      r'pager refused its page fault at 0x0: thread stopped',
                      r"loader: child-null stopped after \d+ faults served, 1 refused; the root task goes on",
                      r"ktest: passed loader_refuses_a_fault_outside_the_image",
                      r"ktest: passed loader_pager_decisions", r"ktest: 7 passed, 0 failed"],
        modules=[("@sigma0", "sigma0"), ("@loader-root", "loader-root"), ("@child", "child"),
                 ("@child-null", "child-null")], check=ktest_check(exactly=7),
        forbid=[r"PANIC", r"ktest: FAIL", r"WRONG", r"child: survived"]),
    # The system-call fuzzer as sigma0 (test/system/tasks/fuzz.cpp); -icount makes a seed's run repeat exactly.
    "user-fuzz": Scenario(
        "exit=qemu", [BANNER, r'sigma0 "fuzz"', r"fuzz: seed \d+ \(\d+ iterations",
                      # regression checks of the kernel bugs it found
                      r"fuzz: bug 1: ipc_receive with timeout 2\^64 - 2 waited",
                      r"fuzz: bug 2: the kTimeoutNever wait returned ok", r"fuzz: bug 2: the sleep returned timeout",
                      r"fuzz: bug 2: back from the yield",
                      r"fuzz: bug 3: a page mapped with no quota left for page tables: the task's factory has "
                      r"(\d+) bytes free after the task died, \1 before",
                      r"fuzz: bug 4: a page mapped to the last user page: the task's factory has (\d+) bytes free "
                      r"after the task died, \1 before",
                      r"fuzz: histogram",
                      # the hostile classes (fuzz_hostile.cpp) ran
                      r"fuzz: hostile: [1-9]\d* calls with popf flags checked, \d+ exceptions of our trap threads "
                      r"\([1-9]\d* single steps",
                      r"fuzz: hostile: [1-9]\d* far transfers and segment loads: [1-9]\d* landed, #GP [1-9]",
                      r"fuzz: hostile: write_registers on threads blocked in IPC: [1-9]\d* \([1-9]\d* refused\), "
                      r"blocked in send [1-9]\d*, call [1-9]\d*, receive [1-9]",
                      r"fuzz: hostile: chains of tasks: [1-9]", r"fuzz: hostile: chains of factories: [1-9]",
                      r"fuzz: hostile: chains of capabilities: [1-9]", r"fuzz: hostile: chains of mappings: [1-9]",
                      r"fuzz: \d+ calls, 0 unexpected, kernel alive", r"ktest: 1 passed, 0 failed",
                      r"all user threads (have exited|are blocked)"],
        modules=[("@fuzz", "fuzz seed=1")], check=ktest_check(exactly=1),
        forbid=[r"PANIC", r"fuzz: UNEXPECTED", r"ktest: FAIL"],
        timeout=120, icount=True),
    # The same fuzzer with PCIDs and INVPCID (Bochs): tasks and mappings come and go under tags.
    "bochs-fuzz-pcid": Scenario(
        "exit=qemu", [BANNER, r"tlb: PCID on, INVPCID on", r"fuzz: seed 4 \(100000 iterations",
                      r"fuzz: \d+ calls, 0 unexpected, kernel alive", r"ktest: 1 passed, 0 failed",
                      r"all user threads (have exited|are blocked)"],
        modules=[("@fuzz", "fuzz seed=4 iterations=100000")], check=ktest_check(exactly=1),
        forbid=[r"PANIC", r"fuzz: UNEXPECTED", r"ktest: FAIL"],
        timeout=150, machine="bochs:corei7_skylake_x"),
    # The example of docs/tutorial.md (test/system/tasks/tutorial_server.cpp) as the root task: each of
    # its lines, whole and in order, so that the tutorial's quoted output stays true.
    "tutorial": Scenario(
        "exit=qemu", [r'root task "tutorial-server"'] +
        [r"(?m)^" + re.escape(line) + r"$" for line in (
            "tutorial: step 4, an echo server",
            "server: request 1: label 1, 3 words: 1 2 3, badge 0x0",
            "client: reply label 0, 4 words: 1 2 3 1",
            "tutorial: step 5, capabilities",
            "client: cap_copy with rights send and badge 0xc1: error 0",
            "server: request 2: label 1, 3 words: 4 5 6, badge 0xc1",
            "client: reply label 0, 4 words: 4 5 6 2",
            "client: receive through the weak copy: error 3 (missing_rights)",
            "client: receive through a copy of it asking for all rights: error 3 (missing_rights)",
            "client: after cap_revoke, echo through the weak copy: error 1 (invalid_selector)",
            "server: quit",
            "tutorial: step 6, a pager",
            "pager: fault at 0x500000000000, access 1 (read)",
            'worker: read "page 0 from the pager"',
            "pager: fault at 0x500000001000, access 2 (write)",
            "worker: wrote 42 to 0x500000001000",
            "pager: the worker is done, 2 faults served",
            "tutorial: done")] +
        [r"all user threads are blocked: nothing left to run"],
        modules=[("@sigma0", "sigma0"), ("@tutorial-server", "tutorial-server")],
        # sigma0 and the tutorial's first line race (two boot tasks): sigma0's line comes anywhere.
        check=lambda log: None if re.search(r"(?m)^sigma0: \d+ KiB to hand out$", log) else "no sigma0 line",
        forbid=[r"PANIC", r"UNEXPECTED", r"failed", r"pager: stops", r"refused"]),
    # vmm-server as the root task with the paravirtual test guest (test/system/guests/): every
    # hypercall with good and bad arguments, the start-info and vCPU pages, a clean shutdown.
    "vmm-pv-test": Scenario(
        "exit=qemu", [r'root task "vmm-server"'] + pv_test_disk_run(rerun=False) +
        [re.escape('vmm: restarting guest "pvtest" (1 of 3)')] + pv_test_disk_run(rerun=True) +
        [r"(?m)^" + vmm_leaves(0) + r"\Z"], exit_code=qemu.vmm_exit_code(0),
        modules=[("@sigma0", "sigma0"), ("@vmm-server", "vmm-server"),
                 ("@pv-test-guest", "guest name=pvtest mem=8M initrd=blob disk=disk restart=on-crash -- "
                                    "hello from the command line, with a disk"),
                 (5000, "blob"), (5120, "disk")],
        # Once a run: a restart gives the guest fresh devices.
        check=lambda log: (check_reported(log, pv_test_broken_ring("pvtest"), 2) or
                           check_reported(log, pv_test_broken_ring("pvtest", "block"), 2)),
        forbid=[r"PANIC", r"FAIL", r"refused", r"not started"]),
    # The test guest with a peer on the switch (test/system/guests/frame_echo_guest.cpp) that sends
    # frames back: rx buffers good and bad, learning, spoofing, a frame to oneself.
    "vmm-pv-net": Scenario(
        "exit=qemu", [r'root task "vmm-server"', r"(?m)^vmm: 2 of 2 guests started$",
                      r"(?m)^" + vmm_leaves(0) + r"\Z"], exit_code=qemu.vmm_exit_code(0),
        modules=[("@sigma0", "sigma0"), ("@vmm-server", "vmm-server"),
                 ("@pv-test-guest", "guest name=pvnet mem=4M -- hello from the command line, with a peer"),
                 ("@frame-echo-guest", "guest name=peer mem=2M")],
        check=check_pv_net, forbid=[r"PANIC", r"FAIL", r"refused", r"not started"]),
    # The image scripts/run boots (meson.build, kestrel.iso): the VMM and two demonstration guests
    # (vmm-server/demo/hello_guest.cpp), each line whole and in order, ending as README says.
    "vmm-demo": Scenario(
        "exit=qemu", vmm_start(("alpha", 2048), ("beta", 2048)) +
        [r"(?m)^" + vmm_leaves(0) + r"\Z"], exit_code=qemu.vmm_exit_code(0),
        modules=[("@sigma0", "sigma0"), ("@vmm-server", "vmm-server"),
                 ("@hello-guest", "guest name=alpha mem=2M -- ping"),
                 ("@hello-guest", "guest name=beta mem=2M -- pong")],
        check=lambda log: check_demo_guest(log, "alpha", "beta", "ping") or check_demo_guest(log, "beta", "alpha", "pong")),
    # Guests that crash (an invalid opcode, restarted on crash until it has crashed four times; a
    # write outside its memory; a privileged instruction), bad guest lines and a corrupt kernel, beside a good guest: each is
    # reported by name, and the good guest still passes.
    "vmm-guest-faults": Scenario(
        "exit=qemu", [r'root task "vmm-server"'] + [r"(?m)^" + line + r"$" for line in (
            re.escape('vmm: guest "bad" (module 6) refused: word "mem=12Q": bad size (digits, then K, M or G)'),
            re.escape("vmm: module 7: guest refused: missing name="),
            r'vmm: guest "good" started: 4096 KiB at 0x400000, entry 0x4[0-9a-f]{5}, kernel memory \d+ KiB',
            r'vmm: guest "crasher" started: 2048 KiB at 0x400000, entry 0x4[0-9a-f]{5}, kernel memory \d+ KiB',
            r'vmm: guest "wild" started: 2048 KiB at 0x400000, entry 0x4[0-9a-f]{5}, kernel memory \d+ KiB',
            r'vmm: guest "junk" not started: its kernel is no ELF it can run: .+ \(program header 0\)',
            r'vmm: guest "quiet" started: 4096 KiB at 0x400000, entry 0x4[0-9a-f]{5}, kernel memory \d+ KiB',
            r'vmm: guest "priv" started: 1024 KiB at 0x400000, entry 0x4[0-9a-f]{5}, kernel memory \d+ KiB',
            r"vmm: 5 of 6 guests started")],
        modules=[("@sigma0", "sigma0"), ("@vmm-server", "vmm-server"),
                 ("@pv-test-guest", "guest name=good mem=4M -- hello from the command line"),
                 ("@crash-guest", "guest name=crasher mem=2M restart=on-crash -- ud2"),
                 ("@crash-guest", "guest name=wild mem=2M -- wild-write"),
                 (5000, "guest name=junk mem=2M"),
                 ("@pv-test-guest", "guest name=bad mem=12Q"),
                 ("@pv-test-guest", "guest mem=4M"),
                 # console=off: its output, through hypercalls and ring, is dropped; its status
                 # says whether all its checks passed.
                 ("@pv-test-guest", "guest name=quiet mem=4M console=off -- hello from the command line"),
                 # a privileged instruction (cli) in user mode: #GP
                 ("@crash-guest", "guest name=priv mem=1M -- privileged")],
        check=lambda log: check_guest_faults(log), forbid=[r"PANIC", r"FAIL"], exit_code=qemu.EXIT_GUEST_FAULT),
    # Three guests on the switch (test/system/guests/net_peer_guest.cpp): steady pings echo all
    # along while hostile, after a few frames with echo, attacks and crashes; hostile is stopped,
    # reported and restarted, and steady sees nothing of it.
    "vmm-hostile-guest": vmm_scenario(
        [("@net-peer-guest", "guest name=echo mem=2M -- echo"),
         ("@net-peer-guest", "guest name=steady mem=2M -- steady"),
         ("@net-peer-guest", "guest name=hostile mem=2M disk=mark restart=on-crash -- hostile"),
         (4096, "mark")], started=3, status=0, check=lambda log: check_hostile(log), icount=True),
    # A guest makes processes of its own with its factory (test/system/guests/process_guest.cpp):
    # foreign-ABI system calls and page faults reach it as IPC; nothing leaks over 52 processes.
    "vmm-guest-processes": vmm_scenario(
        [("@process-guest", "guest name=procs mem=2M")], started=1, status=0,
        check=lambda log: None if re.search(
            r"(?m)^\[procs\] process-test: a process ran: getpid 4242, sum 123, exit 7\n"
            r"(?:.*\n)?"  # the kernel's line about the refused fault
            r"\[procs\] process-test: 52 processes made and gone; kernel memory (\d+) bytes free before, \1 after\n"
            r"\[procs\] process-test: " + str(PROCESS_TEST_CHECKS) + r" passed, 0 failed$", log)
        else "want the process guest's three lines, all checks passed"),
    # pv-linux-shim runs Debian's static busybox from its initramfs (docs/pv-linux-shim.md).
    "linux-busybox-echo": vmm_scenario(
        [("@pv-linux-shim", "guest name=linux0 mem=32M initrd=rootfs -- /bin/echo hello from busybox"),
         ("@rootfs.cpio", "rootfs")], started=1, status=0,
        check=lambda log: check_lines(log, ["[linux0] hello from busybox", "[linux0] shim: /bin/echo exited with status 0"])),
    # console=raw: the guest's bytes as they come, without its name or line buffering (a prompt).
    "linux-busybox-raw-console": vmm_scenario(
        [("@pv-linux-shim", "guest name=linux0 mem=32M initrd=rootfs console=raw -- /usr/bin/printf prompt>"),
         ("@rootfs.cpio", "rootfs")], started=1, status=0,
        check=lambda log: None if re.search(r"(?m)^prompt>shim: all processes gone: ", log)
        else "want printf's bytes without a name or a newline, then the shim's line"),
    # An interactive busybox shell in pv-linux-shim, typed into over the serial line: its prompt,
    # a builtin's output, a command run as a child process, and `exit 3` passing its status out.
    "linux-busybox-shell": vmm_scenario(
        [("@pv-linux-shim", "guest name=linux0 mem=32M initrd=rootfs console=raw -- /bin/sh -i"),
         ("@rootfs.cpio", "rootfs")], started=1, status=3,
        serial_input=b"\n" * 4 + b"echo hello from ash\runame -a\rls /\rcat /etc/motd\r"
                     b"echo written > /tmp/f; mkdir /tmp/d; cd /tmp/d; pwd; cat /tmp/f\r"
                     b"echo a b c | tr a-z A-Z | sed s/B/x/\rseq 1 2000 | tail -n 2\rexit 3\r", timeout=30,
        check=lambda log: check_lines(log, ["BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) built-in shell (ash)",
                                            "/ # echo hello from ash", "hello from ash",
                                            # a child: fork, execve of /proc/self/exe, wait4
                                            "/ # uname -a", "Linux kestrel 6.1.0-kestrel #1 pv-linux-shim x86_64 GNU/Linux",
                                            # files: the initramfs as a ramfs, written at run time
                                            "/ # ls /", "bin      etc      linuxrc  root     tmp",
                                            "dev      home     proc     sbin     usr",
                                            "/ # cat /etc/motd", "Kestrel: busybox in pv-linux-shim, a paravirtualized "
                                            "guest of an L4-style microkernel.",
                                            "/ # echo written > /tmp/f; mkdir /tmp/d; cd /tmp/d; pwd; cat /tmp/f",
                                            "/tmp/d", "written",
                                            # pipes: three processes, and a writer that fills the pipe
                                            "/tmp/d # echo a b c | tr a-z A-Z | sed s/B/x/", "A x C",
                                            "/tmp/d # seq 1 2000 | tail -n 2", "1999", "2000",
                                            "/tmp/d # exit 3", "shim: /bin/sh exited with status 3"])),
    # 1,000 fork+exec+exit cycles (and pipes, files) in pv-linux-shim give back every page and
    # every byte of kernel memory once they are gone.
    "linux-busybox-no-leaks": vmm_scenario(
        # (a boot module's command line holds 111 bytes: docs/boot.md)
        [("@pv-linux-shim", "guest name=l mem=32M initrd=r -- /bin/sh -c "
          "'for i in $(seq 1000);do /bin/true;done;echo $i|cat;ls /|wc -l'"),
         ("@rootfs.cpio", "r")], started=1, status=0,
        check=lambda log: check_lines(log, ["[l] 1000", "[l] 10"]) or (
            None if re.search(r"(?m)^\[l\] shim: all processes gone: (\d+) of \1 pages and (\d+) of \2 bytes of "
                              r"kernel memory back$", log) else "want every page and byte back"),
        timeout=150),  # about 60 s alone, more beside other tests
    # pv-linux-shim's memory and processes (test/system/linux/mem_test.c): copy-on-write fork,
    # MAP_SHARED across fork, futex, fork up to the 64-process limit (EAGAIN after 63 children of
    # init) and back, memory exhaustion killing only the faulting child; every page and byte back.
    "linux-mem": vmm_scenario(
        [("@pv-linux-shim", "guest name=m mem=32M kmem=5M initrd=r -- /bin/mem-test"), ("@mem-rootfs.cpio", "r")],
        started=1, status=0,
        check=lambda log: check_lines(log, ["[m] mem-test: 4 forks of a 12 MiB parent",
                                            "[m] mem-test: 63 processes forked, then errno 11",
                                            "[m] mem-test: 42 passed, 0 failed"]) or (
            None if re.search(r"(?m)^\[m\] shim: all processes gone: (\d+) of \1 pages and (\d+) of \2 bytes of "
                              r"kernel memory back$", log) else "want every page and byte back")),
    # Signals (test/system/guests/linux_signals.sh): handlers by trap, default actions, a
    # SIGPIPE, stop and continue, SIGKILL, errors, and ten signals in a row all handled.
    "linux-signals": vmm_scenario(
        [("@pv-linux-shim", "guest name=l mem=32M initrd=r -- /bin/sh /t/signals.sh"),
         ("@signals-rootfs.cpio", "r")], started=1, status=0,
        check=lambda log: check_lines(log, ["[l] " + line for line in (
            "start", "got usr1", "after usr1", "Terminated", "killed sleep: 143", "y", "y", "Terminated",
            "self term: 143", "child int", "child goes on", "sub hup", "sub: 4", "Terminated",
            "stopped, continued, killed: 143", "Killed", "kill -9: 137", "chld", "kill -0: 0",
            "sh: can't kill pid 99: No such process", "no such: 1", "sh: bad signal name 'BOGUS'",
            "bad signal: 1", "usr2 handled 10 times", "timeout: 143", "end",
            "shim: /bin/sh exited with status 0")]) or (
            None if re.search(r"(?m)^\[l\] shim: all processes gone: (\d+) of \1 pages and (\d+) of \2 bytes of "
                              r"kernel memory back$", log) else "want every page and byte back")),
    # An interactive busybox shell typed into as a person would (Scenario.dialogue): a typo
    # erased with backspace, history (up arrow), Ctrl-C interrupting sleep, Ctrl-Z stopping it,
    # `fg` continuing it, and Ctrl-C then; `$?` after each.
    "linux-interactive": vmm_scenario(
        [("@pv-linux-shim", "guest name=linux0 mem=32M initrd=rootfs console=raw -- /bin/sh -i"),
         ("@rootfs.cpio", "rootfs")], started=1, status=5, serial_input=b"", timeout=60, cmdline="exit=qemu-waiting",
        dialogue=[(r"/ # ", 0.2, b"echo hellp\x7fo\r"),
                  (r"\nhello\r?\n/ # ", 0.2, b"\x1b[A"),
                  (r"echo hello", 0.2, b"\r"),
                  (r"\nhello\r?\n/ # ", 0.2, b"sleep 30\r"),
                  (r"sleep 30\r?\n", 1.0, b"\x03"),
                  (r"/ # ", 0.2, b"echo status $?\r"),
                  (r"status 130\r?\n/ # ", 0.2, b"sleep 40\r"),
                  (r"sleep 40\r?\n", 1.0, b"\x1a"),
                  (r"Stopped.*sleep 40.*\n/ # ", 0.2, b"jobs\r"),
                  (r"jobs\r?\n.*Stopped.*\n/ # ", 0.2, b"fg\r"),
                  (r"fg\r?\nsleep 40\r?\n", 1.0, b"\x03"),
                  (r"/ # ", 0.2, b"echo status $?\r"),
                  (r"status 130\r?\n/ # ", 0.2, b"exit 5\r")],
        check=lambda log: check_lines(terminal_lines(log), [
            "/ # echo hello", "hello", "/ # echo hello", "hello", "/ # sleep 30", "", "/ # echo status $?",
            "status 130", "/ # sleep 40", "[1]+  Stopped                    sleep 40", "/ # jobs",
            "[1]+  Stopped                    sleep 40", "/ # fg", "sleep 40", "", "/ # echo status $?",
            "status 130", "/ # exit 5", "shim: /bin/sh exited with status 5"])),
    # Two Linux guests at once, each with its shell on the console switch (Ctrl-] 2 moves the
    # keyboard): a file one writes is not in the other's file system, a job one starts is not
    # among the other's jobs; each exits with its own status, the largest reaches QEMU.
    "linux-two-guests": vmm_scenario(
        [("@pv-linux-shim", "guest name=linux0 mem=32M initrd=rootfs console=raw -- /bin/sh -i"),
         ("@pv-linux-shim", "guest name=linux1 mem=32M initrd=rootfs console=raw -- /bin/sh -i"),
         ("@rootfs.cpio", "rootfs")], started=2, status=7, serial_input=b"", timeout=60, cmdline="exit=qemu-waiting",
        dialogue=[(r"(?s)/ # .*/ # ", 0.3, b"echo one > /tmp/x; sleep 60 & cat /tmp/x\r"),
                  (r"\none\r?\n", 0.2, b"\x1d2"),
                  (r"console input goes to guest \"linux1\"", 0.2, b"cat /tmp/x; jobs; echo listed\r"),
                  (r"\nlisted\r?\n", 0.2, b"exit 7\r"),
                  (r"guest \"linux1\" shut down", 0.3, b"jobs; kill %1; wait; rm /tmp/x; exit 3\r")],
        check=lambda log: check_lines(terminal_lines(log), [
            "one", "cat: can't open '/tmp/x': No such file or directory",
            "listed", 'vmm: guest "linux1" shut down (poweroff, status 7)',
            "[1]+  Running                    sleep 60", 'vmm: guest "linux0" shut down (poweroff, status 3)']) or (
            # Every byte of kernel memory back in both; every page in linux1, which made no file (the
            # ramfs's heap keeps the small-block page that linux0's /tmp/x had, for its next file).
            None if len(re.findall(r"(?m)^shim: all processes gone: (\d+) of \1 pages and (\d+) of \2 bytes of "
                                   r"kernel memory back\r?$", log)) == 1 and
            len(re.findall(r"(?m)^shim: all processes gone: \d+ of \d+ pages and (\d+) of \1 bytes of "
                           r"kernel memory back\r?$", log)) == 2 else "want every byte back in both, every page in linux1")),
    # Our static C test programs (test/linux/) in pv-linux-shim: each one's exact summary.
    "linux-c-tests": vmm_scenario(
        [("@pv-linux-shim", "guest name=t mem=64M initrd=r -- /bin/sh /t/run"), ("@linux-tests.cpio", "r")],
        started=1, status=LINUX_C_TESTS_FAILING, timeout=120, forbid=[r"PANIC"],   # a check's text may say MAP_FAILED
        check=lambda log: check_lines(log, [f"[t] {line}" for line in LINUX_C_TESTS] + [
            f"[t] c-tests: {LINUX_C_TESTS_FAILING} programs failed",
            f"[t] shim: /bin/sh exited with status {LINUX_C_TESTS_FAILING}"])),
    # A script's `poweroff -f` (reboot(2)) ends the guest and QEMU with status 0 at once.
    "linux-poweroff": vmm_scenario(
        [("@pv-linux-shim", "guest name=p mem=32M initrd=r -- /bin/sh /t/poweroff"), ("@linux-tests.cpio", "r")],
        started=1, status=0, forbid=[r"PANIC", r"FAIL", r"still running"],
        check=lambda log: check_lines(log, ["[p] powering off", "[p] shim: powered off by reboot(2) from process 2"])),
    # The shell's `poweroff` (busybox sends SIGUSR2 to init, a shell with no handler for it): the
    # guest and QEMU end, with status 0.
    "linux-shell-poweroff": vmm_scenario(
        [("@pv-linux-shim", "guest name=p mem=32M initrd=r -- /bin/sh -c 'poweroff; sleep 5; echo still running'"),
         ("@rootfs.cpio", "r")], started=1, status=0, forbid=[r"PANIC", r"FAIL", r"\[p\] still running"],
        check=lambda log: check_lines(log, ["[p] shim: powered off by SIGUSR2 to init from process 2"])),
    # A script's `exit 7` as init: 7 is QEMU's exit status.
    "linux-init-exit-status": vmm_scenario(
        [("@pv-linux-shim", "guest name=e mem=32M initrd=r -- /bin/sh /t/exit7"), ("@linux-tests.cpio", "r")],
        started=1, status=7, check=lambda log: check_lines(log, ["[e] exiting with 7",
                                                               "[e] shim: /bin/sh exited with status 7"])),
    # Guests' exit statuses reach QEMU's exit code: the largest of them (docs/hypercalls.md).
    "vmm-exit-status": vmm_scenario(
        [("@crash-guest", "guest name=five mem=1M -- exit 5"),
         ("@crash-guest", "guest name=forty-two mem=1M -- exit 42"),
         ("@crash-guest", "guest name=zero mem=1M -- exit 0")], started=3, status=42,
        check=lambda log: None if all(
            re.search(rf'(?m)^vmm: guest "{name}" shut down \(poweroff, status {status}\)$', log)
            for name, status in (("five", 5), ("forty-two", 42), ("zero", 0))) else "a guest's shutdown line is missing",
        forbid=[r"PANIC", r"crashes with"]),
    # Serial input for two console guests (test/system/guests/console_guest.cpp): the key
    # sequence moves it between them, and when the first powers off it goes to the second, which
    # keeps running (so the run ends with every thread blocked).
    "vmm-console-input": Scenario(
        "exit=qemu", vmm_start(("first", 2048), ("second", 2048)) + [r"all user threads are blocked: nothing left to run"],
        modules=[("@sigma0", "sigma0"), ("@vmm-server", "vmm-server"),
                 ("@console-guest", "guest name=first mem=2M"), ("@console-guest", "guest name=second mem=2M")],
        serial_input=CONSOLE_INPUT, check=check_console_input, timeout=30,
        forbid=[r"PANIC", r"FAIL", r"refused", r"broken", r"cannot", r"vmm: all guests have stopped"]),
    "bad-options": Scenario(
        "exit=qemu frobnicate loglevel=loud",
        [r'warning: 1 unknown kernel option\(s\), first "frobnicate"',
         r'warning: 1 kernel option\(s\) with a bad value kept their default, first "loglevel=loud"', BANNER, r"boot complete"]),
}


def make_module(path, size, seed):
    data = module_bytes(size, seed)
    with open(path, "wb") as f:
        f.write(data)


def tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Machine:
    name: str                         # for the reports
    args: list
    stdin: bytes = b""
    own_log: str = None               # the emulator's own log, shown on failure
    exit_code: object = lambda returncode, log: returncode   # as QEMU's, or None if unknown


def machine(scenario, iso, work, serial):
    cpu = scenario.machine.partition(":")[2]
    if scenario.machine.startswith("bochs:"):
        args, stdin = bochs.command(iso, work, serial, cpu=cpu)
        return Machine(f"bochs {cpu}", args, stdin, os.path.join(work, "bochs.log"),
                       lambda returncode, log: bochs.exit_code(log))
    serial_input = None
    if scenario.serial_input is not None:
        serial_input = os.path.join(work, "serial.in")   # beside serial.out: see qemu.command
        if os.path.exists(serial_input):
            os.remove(serial_input)
        if scenario.dialogue is not None:
            os.mkfifo(serial_input)
        else:
            with open(serial_input, "wb") as f:
                f.write(scenario.serial_input)
        open(serial, "wb").close()
    return Machine("qemu", qemu.command(iso, firmware=scenario.firmware, serial=serial, icount=scenario.icount,
                                        serial_input=serial_input))


def run(name, scenario, kernel, workdir, programs):
    work = os.path.abspath(os.path.join(workdir, name))   # the emulator runs in it
    os.makedirs(work, exist_ok=True)
    modules = []
    for index, (content, cmdline) in enumerate(scenario.modules):
        if isinstance(content, str):  # "@name": a user program built by meson
            modules.append((programs[content[1:]], cmdline))
            continue
        path = os.path.join(work, f"module{index}.bin")
        make_module(path, content, index)
        modules.append((path, cmdline))
    iso = os.path.join(work, "test.iso")
    mkiso.make_iso(kernel, iso, scenario.cmdline, modules)

    log_path = os.path.join(work, "serial.log" if scenario.serial_input is None else "serial.out")
    if os.path.exists(log_path):
        os.remove(log_path)
    emulator = machine(scenario, iso, work, log_path)
    start = time.monotonic()
    stdin_read, stdin_write = os.pipe()   # what it reads is small: written whole before it starts
    os.write(stdin_write, emulator.stdin)
    os.close(stdin_write)
    # Its own session, so that a timeout kills the emulator with anything it started.
    process = subprocess.Popen(emulator.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=stdin_read,
                               cwd=work, start_new_session=True)
    os.close(stdin_read)
    banner_at = None
    # The dialogue's FIFO, held open for reading too so that neither end blocks or sees an end.
    keyboard = os.open(os.path.join(work, "serial.in"), os.O_RDWR) if scenario.dialogue is not None else None
    steps, typed_at, said_at = list(scenario.dialogue or []), 0, None
    while process.poll() is None and time.monotonic() - start < scenario.timeout:
        if (banner_at is None or steps) and os.path.exists(log_path):
            with open(log_path, errors="replace") as f:
                text = f.read()
            if banner_at is None and re.search(BANNER, text):
                banner_at = time.monotonic() - start
            match = re.compile(steps[0][0]).search(text, typed_at) if steps else None
            if match is not None:
                said_at = said_at or time.monotonic()
                if time.monotonic() - said_at >= steps[0][1]:
                    os.write(keyboard, steps[0][2])
                    typed_at, said_at = match.end(), None
                    steps.pop(0)
        time.sleep(0.02)
    if keyboard is not None:
        os.close(keyboard)
    timed_out = process.poll() is None
    if timed_out:
        os.killpg(process.pid, signal.SIGKILL)
    output = process.communicate()[0].decode(errors="replace")
    log = ""   # none if the emulator failed before it opened the serial port's file
    if os.path.exists(log_path):
        with open(log_path, errors="replace") as f:
            log = f.read().replace("\r\n", "\n")

    failures = []
    exit_code = emulator.exit_code(process.returncode, log)
    if timed_out:
        failures.append(f"timed out after {scenario.timeout:.0f} s")
    elif exit_code is None:
        failures.append(f"{emulator.name} stopped (status {process.returncode}) without the kernel's "
                        f"'leaving the emulator: exit code' line")
    elif exit_code != scenario.exit_code:
        failures.append(f"{emulator.name} exited with {exit_code}, expected {scenario.exit_code}")
    position = 0
    for pattern in scenario.expect:
        match = re.compile(pattern).search(log, position)
        if match is None:
            failures.append(f"expected, in order: {pattern!r}")
            break
        position = match.end()
    for pattern in scenario.forbid:
        if re.search(pattern, log):
            failures.append(f"must not appear: {pattern!r}")
    if scenario.check is not None:
        problem = scenario.check(log)
        if problem:
            failures.append(problem)

    elapsed = time.monotonic() - start
    if banner_at is None and re.search(BANNER, log):
        banner_at = elapsed  # the emulator ended between two polls: an upper bound
    banner = f"{banner_at:.2f} s" if banner_at is not None else "never"
    print(f"{name}: {emulator.name}, firmware {scenario.firmware}, banner after {banner}, ran {elapsed:.2f} s")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        print(f"--- serial log tail ({log_path}) ---\n{tail(log)}")
        if output.strip():
            print(f"--- {emulator.name} ---\n{tail(output)}")
        if emulator.own_log and os.path.exists(emulator.own_log):
            with open(emulator.own_log, errors="replace") as f:
                print(f"--- {emulator.own_log} ---\n{tail(f.read(), 15)}")
        return False
    print("passed")
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--scenario")
    parser.add_argument("--kernel")
    parser.add_argument("--workdir", default=".")
    parser.add_argument("--program", action="append", default=[], metavar="NAME=PATH",
                        help="a user program scenarios may boot as a module")
    opts = parser.parse_args()
    programs = dict(p.split("=", 1) for p in opts.program)
    if opts.list:
        print("\n".join(SCENARIOS))
        return 0
    if opts.scenario not in SCENARIOS or not opts.kernel:
        parser.error("need --scenario (one of --list) and --kernel")
    return 0 if run(opts.scenario, SCENARIOS[opts.scenario], opts.kernel, opts.workdir, programs) else 1


if __name__ == "__main__":
    sys.exit(main())
