"""Drives the real `jupyter console --kernel trellis` in a pseudo-terminal.

Run through tests/with_kernelspec.sh (ctest does), which installs the
kernelspec into a temporary JUPYTER_PATH:

    tests/with_kernelspec.sh build/trellis /usr/bin/python3 -m unittest -v test_console

Two ways of driving the console, each where it is reliable:

* The full prompt_toolkit UI (TERM=xterm, a fixed 30x200 window) for what
  only it does: Enter asks the kernel's is_complete (continuation prompt
  "...:"), Tab asks complete. Its output is full of escape sequences and
  redraws, so the helper strips CSI/OSC sequences and carriage returns and
  matches regular expressions in what is left. PROMPT_TOOLKIT_NO_CPR=1 stops
  prompt_toolkit from asking the pty for the cursor position (nobody answers,
  and it would print a warning after a delay).

* `--simple-prompt` (TERM=dumb, plain input()) for the interrupt. In the full
  UI, jupyter_console 6.4.4 with prompt_toolkit 3 loses its Ctrl-C relay after
  the first prompt: prompt_async removes its own SIGINT handler with
  loop.remove_signal_handler, which resets SIGINT to Python's default, so
  Ctrl-C only prints "KeyboardInterrupt escaped interact()" and the kernel is
  never interrupted -- with ipykernel just the same (jupyter/jupyter_console
  issue 296). The simple prompt keeps the relay, which calls the kernel
  manager's interrupt_kernel, as a user's Ctrl-C does.
"""

import os
import re
import signal
import time
import unittest

import pexpect

CONSOLE = "/usr/bin/jupyter-console"
STARTUP = 60   # seconds: console start + kernel_info
STEP = 20      # seconds for any single expected output

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]"     # CSI: colours, cursor moves
                  r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
                  r"|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def clean(raw):
    return ANSI.sub("", raw).replace("\r", "")


def pids_with_arg(fragment):
    """Processes whose command line contains FRAGMENT (kernels this test's
    console started: their connection file is named after the console's pid)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        if fragment in cmd:
            found.append(int(pid))
    return found


class Console:
    def __init__(self, test, simple=False):
        self.test = test
        args = ["--kernel", "trellis"]
        env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", LC_ALL="C.UTF-8",
                   LANG="C.UTF-8")
        if simple:
            args.append("--simple-prompt")
            env["TERM"] = "dumb"
        else:
            env["TERM"] = "xterm"
        self.child = pexpect.spawn(CONSOLE, args, env=env, dimensions=(30, 200),
                                   encoding="utf-8", codec_errors="replace",
                                   timeout=STEP)
        self.raw = ""
        self.pos = 0  # how much of clean(self.raw) expect() has consumed
        # jupyter_client names the kernel's connection file after the console.
        self.kernel_tag = "kernel-%d.json" % self.child.pid

    def text(self):
        return clean(self.raw)

    def _read(self, wait):
        try:
            self.raw += self.child.read_nonblocking(65536, timeout=wait)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def expect(self, pattern, timeout=STEP, flags=re.M):
        """Waits until PATTERN matches the cleaned output after what earlier
        expects consumed; returns the match."""
        rx = re.compile(pattern, flags)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text(), self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 0.2)):  # timeout or EOF
                m = rx.search(self.text(), self.pos)
                if m:
                    self.pos = m.end()
                    return m
                self.test.fail("timed out waiting for %r; console output since "
                               "the last match:\n%s" % (pattern, self.text()[self.pos:]))

    def settle(self, seconds):
        """Reads (and keeps) output for SECONDS."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self._read(0.1):
            pass

    def send(self, s):
        self.child.send(s)

    def prompt(self, n, timeout=STEP):
        return self.expect(r"In \[%d\]: " % n, timeout)

    def kernels(self):
        return pids_with_arg(self.kernel_tag)

    def close(self):
        """Kills what is left if a test failed half-way: the console, then its
        kernel (which outlives a killed console)."""
        kernels = self.kernels()
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close(force=True)
        for pid in kernels:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class FullUI(unittest.TestCase):
    """The default prompt_toolkit interface, as a user gets it."""

    def setUp(self):
        self.c = Console(self)
        self.addCleanup(self.c.close)
        self.c.prompt(1, STARTUP)
        # prompt_toolkit draws the prompt before it reads keys: typing at
        # once can lose the Enter (seen under the slower ASan build)
        self.c.settle(0.5)

    def test_result(self):
        self.c.send("1+2\r")
        self.c.expect(r"Out\[1\]: 3$")
        self.c.prompt(2)

    def test_multiline_loop_uses_is_complete(self):
        c = self.c
        c.send("for i = 1, 3 do\r")
        # incomplete: a continuation prompt, not an execution
        c.expect(r"^ *\.\.\.: ")
        c.send("print(i)\r")
        c.expect(r"^ *\.\.\.: ")
        self.assertNotRegex(c.text(), r"In \[2\]")
        c.send("end\r")
        c.expect(r"^1\n2\n3\n")
        c.prompt(2)

    def test_unicode_print(self):
        self.c.send('print("héllo")\r')
        self.c.expect(r"^héllo$")
        self.c.prompt(2)

    def test_error(self):
        self.c.send('error("boom")\r')
        self.c.expect(r"^LuaError: In \[1\], line 1: boom$")
        self.c.prompt(2)
        self.c.send("6*7\r")
        self.c.expect(r"Out\[2\]: 42$")

    def test_tab_completion(self):
        c = self.c
        c.send("strin")
        c.expect(r"strin")
        c.send("\t")
        # the completion inserts the missing "g" (the only match: string)
        c.expect(r"g")
        c.send('.rep("ab", 2)\r')
        # the accepted line is redrawn in full, then run
        c.expect(r'In \[1\]: string\.rep\("ab", 2\)$')
        c.expect(r'Out\[1\]: "abab"$')

    def test_sql_cell_waits_for_its_semicolon(self):
        c = self.c
        c.send("t = features.frame{x = {1, 2, 3}}\r")
        c.prompt(2)
        c.settle(0.3)
        c.send("%%sql\r")
        c.expect(r"^ *\.\.\.: ")
        c.send("SELECT sum(x) AS s\r")
        c.expect(r"^ *\.\.\.: ")
        c.send("FROM t;\r")
        c.expect(r"Out\[2\]: ")
        c.expect(r"^1 row in ")
        c.prompt(3)
        c.settle(0.3)
        c.send("%timeit -n 10 -r 2 local y = 1\r")
        c.expect(r"per loop \(mean \u00b1 std\. dev\. of 2 runs, 10 loops "
                 r"each\)$")

    def test_python_block_waits_for_a_blank_line(self):
        c = self.c
        c.send("%%python\r")
        c.expect(r"^ *\.\.\.: ")
        c.send("for i in range(3):\r")
        c.expect(r"^ *\.\.\.: ")
        # the kernel's indent is typed for us; a block waits, as in IPython
        c.send("print(i * 2)\r")
        c.expect(r"^ *\.\.\.: ")
        self.assertNotRegex(c.text(), r"In \[2\]")
        c.send("\r")
        c.expect(r"^0\n2\n4\n")
        c.prompt(2)

    def test_ctrl_d_exits_and_shuts_the_kernel_down(self):
        c = self.c
        kernels = c.kernels()
        self.assertEqual(len(kernels), 1, "expected one kernel process")
        c.send("\x04")
        c.expect(r"Do you really want to exit \(\[y\]/n\)\?")
        c.send("y\r")
        c.expect(r"Shutting down kernel")
        c.child.expect(pexpect.EOF, timeout=STEP)
        c.child.close()
        self.assertEqual(c.child.exitstatus, 0)
        deadline = time.monotonic() + STEP
        while c.kernels() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(c.kernels(), [], "the kernel outlived the console")


class SimplePrompt(unittest.TestCase):
    """--simple-prompt: see the module docstring for why the interrupt is here."""

    def setUp(self):
        self.c = Console(self, simple=True)
        self.addCleanup(self.c.close)
        self.c.prompt(1, STARTUP)

    def test_interrupt_infinite_loop(self):
        c = self.c
        c.send("while true do end\r")
        c.expect(r"while true do end\n")
        # Ctrl-C reaches the console's relay only once it runs the cell; a
        # later retry covers a slow start (the loop never ends by itself).
        for attempt in range(3):
            time.sleep(1)
            c.child.sendintr()
            try:
                c.expect(r"KeyboardInterrupt: ", timeout=10)  # after the echoed ^C
                break
            except AssertionError:
                if attempt == 2:
                    raise
        c.prompt(2)
        c.send("2*21\r")
        c.expect(r"Out\[2\]: 42$")
        c.prompt(3)

    def test_exit_with_ctrl_d(self):
        c = self.c
        c.send("1\r")
        c.expect(r"Out\[1\]: 1$")
        c.prompt(2)
        c.child.sendeof()
        c.expect(r"Do you really want to exit \(\[y\]/n\)\?")
        c.send("y\r")
        c.child.expect(pexpect.EOF, timeout=STEP)
        c.child.close()
        self.assertEqual(c.child.exitstatus, 0)


if __name__ == "__main__":
    unittest.main()
