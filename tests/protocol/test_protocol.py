"""Protocol tests for Trellis that the jupyter_kernel_test suite does not
cover: interrupts (signal and message), stop_on_error, the control channel
and heartbeat while a cell is busy, forged and garbage messages, stdin,
restart, shutdown, iopub framing, comms, code-point cursors and history.

Run through ../with_kernelspec.sh (it installs the kernelspec into a
temporary JUPYTER_PATH and points TRELLIS_HISTORY at a throw-away file):

    ../with_kernelspec.sh ../../build/trellis /usr/bin/python3 \\
        -m unittest -v test_protocol

Every wait has a timeout: a hung kernel fails a test, it never hangs it.
"""
import collections
import hashlib
import hmac
import json
import os
import queue
import re
import shutil
import tempfile
import time
import unittest
import uuid

import zmq
from jupyter_client.manager import start_new_kernel

KERNEL = "trellis"
STARTUP_TIMEOUT = 60
REPLY_TIMEOUT = 20      # a reply that should come "at once"
INTERRUPT_TIMEOUT = 15  # from interrupt to execute_reply
NO_REPLY_WAIT = 0.5     # how long "no reply" is watched for
BUSY_LOOP = "while true do end"
DELIMITER = b"<IDS|MSG>"


# ---- helpers -----------------------------------------------------------------

def new_kernel(kernel_name=KERNEL):
    return start_new_kernel(kernel_name=kernel_name,
                            startup_timeout=STARTUP_TIMEOUT)


def stop_kernel(km, kc):
    if kc is not None:
        try:
            kc.stop_channels()
        except Exception:
            pass
    if km is not None:
        try:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
        except Exception:
            pass
        try:
            km.cleanup_resources()
        except Exception:
            pass


# jupyter_client 7 channels are asyncio sockets: messages are read through
# kc.get_<channel>_msg (blocking wrappers), plus a per-client push-back queue
# so that a message can be looked at without being lost.
CHANNELS = ("shell", "iopub", "stdin", "control")


def _pending(kc, channel):
    if not hasattr(kc, "_test_pending"):
        kc._test_pending = {c: collections.deque() for c in CHANNELS}
    return kc._test_pending[channel]


def get_msg(kc, channel, timeout):
    """The next message on channel; queue.Empty after timeout seconds."""
    pend = _pending(kc, channel)
    if pend:
        return pend.popleft()
    return getattr(kc, "get_%s_msg" % channel)(timeout=max(timeout, 0))


def unget(kc, channel, msgs):
    _pending(kc, channel).extendleft(reversed(list(msgs)))


def msg_ready(kc, channel):
    try:
        msg = get_msg(kc, channel, 0)
    except queue.Empty:
        return False
    unget(kc, channel, [msg])
    return True


def drain(kc):
    """Forgets whatever earlier tests left in the client's queues."""
    for ch in CHANNELS:
        _pending(kc, ch).clear()
        while True:
            try:
                get_msg(kc, ch, 0.05)
            except queue.Empty:
                break


def parent_id(msg):
    return (msg.get("parent_header") or {}).get("msg_id")


def get_reply(kc, channel, msg_id, timeout=REPLY_TIMEOUT):
    """The message on channel whose parent is msg_id (others dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no %s reply to %s within %ss" % (
                channel, msg_id, timeout))
        try:
            msg = get_msg(kc, channel, left)
        except queue.Empty:
            continue
        if parent_id(msg) == msg_id:
            return msg


def iopub_until_idle(kc, msg_id, timeout=REPLY_TIMEOUT):
    """All iopub messages parented by msg_id, up to and including idle.
    Messages of other parents read on the way stay queued, in order."""
    deadline = time.monotonic() + timeout
    out, others = [], []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no idle for %s within %ss; got %s" % (
                    msg_id, timeout, [m["msg_type"] for m in out]))
            try:
                msg = get_msg(kc, "iopub", left)
            except queue.Empty:
                continue
            if parent_id(msg) != msg_id:
                others.append(msg)
                continue
            out.append(msg)
            if (msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"):
                return out
    finally:
        unget(kc, "iopub", others)


def wait_iopub(kc, msg_id, msg_type, timeout=REPLY_TIMEOUT):
    """Waits for an iopub message of msg_type parented by msg_id; it and
    the messages before it stay queued for iopub_until_idle."""
    deadline = time.monotonic() + timeout
    seen = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s for %s within %ss" % (
                    msg_type, msg_id, timeout))
            try:
                msg = get_msg(kc, "iopub", left)
            except queue.Empty:
                continue
            seen.append(msg)
            if parent_id(msg) == msg_id and msg["msg_type"] == msg_type:
                return msg
    finally:
        unget(kc, "iopub", seen)


def execute(kc, code, timeout=REPLY_TIMEOUT, **kw):
    """Runs code; returns (execute_reply, iopub messages up to idle)."""
    msg_id = kc.execute(code, **kw)
    reply = get_reply(kc, "shell", msg_id, timeout)
    return reply, iopub_until_idle(kc, msg_id, timeout)


def results(iopub):
    return [m["content"]["data"]["text/plain"] for m in iopub
            if m["msg_type"] == "execute_result"]


def send_request(kc, channel, msg_type, content=None):
    msg = kc.session.msg(msg_type, content or {})
    getattr(kc, "%s_channel" % channel).send(msg)
    return msg["header"]["msg_id"]


def wait_input_request(kc, msg_id, timeout=REPLY_TIMEOUT):
    try:
        req = get_msg(kc, "stdin", timeout)
    except queue.Empty:
        raise AssertionError("no input_request on stdin within %ss (the "
                             "cell is still waiting: no execute_reply)"
                             % timeout) from None
    assert req["msg_type"] == "input_request", req["msg_type"]
    assert parent_id(req) == msg_id, "input_request has the wrong parent"
    return req


def start_busy_cell(test, kc, code=BUSY_LOOP):
    """Starts a long cell and returns once it is running."""
    msg_id = kc.execute(code)
    wait_iopub(kc, msg_id, "execute_input")
    # execute_input is published just before the engine starts; give it a
    # moment so that an interrupt cannot land before the cell runs.
    time.sleep(0.5)
    test.assertFalse(msg_ready(kc, "shell"),
                     "the busy cell replied before it was interrupted")
    return msg_id


def check_interrupted(test, kc, msg_id):
    reply = get_reply(kc, "shell", msg_id, INTERRUPT_TIMEOUT)
    test.assertEqual(reply["content"]["status"], "error")
    test.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
    iopub = iopub_until_idle(kc, msg_id)
    errors = [m for m in iopub if m["msg_type"] == "error"]
    test.assertEqual(len(errors), 1, [m["msg_type"] for m in iopub])
    test.assertEqual(errors[0]["content"]["ename"], "KeyboardInterrupt")
    # the kernel stays usable
    reply, iopub = execute(kc, "1+1")
    test.assertEqual(reply["content"]["status"], "ok",
                     "a request sent after the interrupted cell's reply "
                     "and idle was answered %r" % reply["content"])
    test.assertEqual(results(iopub), ["2"])


def sign(key, parts):
    h = hmac.new(key, digestmod=hashlib.sha256)
    for p in parts:
        h.update(p)
    return h.hexdigest().encode("ascii")


def json_parts(msg_type, content, header=None):
    hdr = header or {
        "msg_id": uuid.uuid4().hex, "session": uuid.uuid4().hex,
        "username": "forger", "date": "2024-01-01T00:00:00.000000Z",
        "msg_type": msg_type, "version": "5.3"}
    return [json.dumps(hdr).encode(), b"{}", b"{}",
            json.dumps(content).encode()]


def process_exit_code(km, timeout):
    """The kernel's exit code once it has exited by itself, or None."""
    proc = km.provisioner.process
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc = proc.poll()
        if rc is not None:
            return rc
        time.sleep(0.02)
    return proc.poll()


class SharedKernel(unittest.TestCase):
    """One kernel for the whole class; each test starts with empty queues."""
    kernel_name = KERNEL

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = new_kernel(cls.kernel_name)

    @classmethod
    def tearDownClass(cls):
        stop_kernel(cls.km, cls.kc)

    def setUp(self):
        drain(self.kc)


class FreshKernel(unittest.TestCase):
    """A kernel of its own for every test (it may be killed or hang)."""

    def setUp(self):
        self.km, self.kc = new_kernel()

    def tearDown(self):
        stop_kernel(self.km, self.kc)


# ---- 1, 2: interrupts --------------------------------------------------------

class InterruptTests(SharedKernel):

    def test_interrupt_signal_mode(self):
        self.assertEqual(self.km.kernel_spec.interrupt_mode, "signal")
        msg_id = start_busy_cell(self, self.kc)
        self.km.interrupt_kernel()
        check_interrupted(self, self.kc, msg_id)

    def test_interrupt_request_on_control(self):
        msg_id = start_busy_cell(self, self.kc)
        int_id = send_request(self.kc, "control",
                              "interrupt_request")
        reply = get_reply(self.kc, "control", int_id)
        self.assertEqual(reply["msg_type"], "interrupt_reply")
        self.assertEqual(reply["content"]["status"], "ok")
        check_interrupted(self, self.kc, msg_id)

    def test_interrupt_while_idle_is_harmless(self):
        int_id = send_request(self.kc, "control",
                              "interrupt_request")
        reply = get_reply(self.kc, "control", int_id)
        self.assertEqual(reply["content"]["status"], "ok")
        self.km.interrupt_kernel()
        time.sleep(0.2)
        reply, iopub = execute(self.kc, "2+3")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(results(iopub), ["5"])


class MessageModeInterruptTests(unittest.TestCase):
    """A kernelspec with interrupt_mode "message": km.interrupt_kernel()
    sends interrupt_request on control instead of SIGINT."""

    @classmethod
    def setUpClass(cls):
        cls.old_path = os.environ.get("JUPYTER_PATH")
        src = None
        for d in (cls.old_path or "").split(os.pathsep):
            if d and os.path.isfile(os.path.join(d, "kernels", KERNEL,
                                                 "kernel.json")):
                src = os.path.join(d, "kernels", KERNEL)
                break
        if src is None:
            raise unittest.SkipTest("no trellis kernelspec in JUPYTER_PATH "
                                    "(run through with_kernelspec.sh)")
        cls.tmp = tempfile.mkdtemp(prefix="trellis-msgmode-")
        dst = os.path.join(cls.tmp, "kernels", "trellis-msg")
        shutil.copytree(src, dst)
        with open(os.path.join(dst, "kernel.json")) as f:
            spec = json.load(f)
        spec["interrupt_mode"] = "message"
        spec["display_name"] = "Trellis (message interrupts)"
        with open(os.path.join(dst, "kernel.json"), "w") as f:
            json.dump(spec, f)
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            [cls.tmp] + ([cls.old_path] if cls.old_path else []))
        cls.km = cls.kc = None
        try:
            cls.km, cls.kc = new_kernel("trellis-msg")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        stop_kernel(cls.km, cls.kc)
        if cls.old_path is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = cls.old_path
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_interrupt_kernel_by_message(self):
        km, kc = self.km, self.kc
        drain(kc)
        self.assertEqual(km.kernel_spec.interrupt_mode, "message")
        signals = []
        real_signal = km.signal_kernel
        km.signal_kernel = lambda signum: signals.append(signum)
        try:
            msg_id = start_busy_cell(self, kc)
            km.interrupt_kernel()
            check_interrupted(self, kc, msg_id)
        finally:
            km.signal_kernel = real_signal
        self.assertEqual(signals, [], "interrupt went by signal, not message")


# ---- 3-7, 10-12: one kernel ----------------------------------------------------

# error() after a short busy wait, so that the requests sent right after it
# are surely queued in the kernel when it fails.
FAILING_CELL = ('local t = os.clock() while os.clock() - t < 0.3 do end '
                'error("x")')


class StopOnErrorTests(SharedKernel):

    def test_queued_requests_are_aborted(self):
        kc = self.kc
        ids = [kc.execute(FAILING_CELL), kc.execute("y = 1"),
               kc.execute("y")]
        replies = [get_reply(kc, "shell", i) for i in ids]
        self.assertEqual(replies[0]["content"]["status"], "error")
        self.assertEqual(replies[0]["content"]["ename"], "LuaError")
        self.assertEqual(replies[1]["content"]["status"], "aborted")
        self.assertEqual(replies[2]["content"]["status"], "aborted")
        for i in ids:
            iopub = iopub_until_idle(kc, i)
            states = [m["content"]["execution_state"] for m in iopub
                      if m["msg_type"] == "status"]
            self.assertEqual(states, ["busy", "idle"], i)
            self.assertEqual(iopub[0]["msg_type"], "status")
            self.assertEqual(iopub[0]["content"]["execution_state"], "busy")
        # the aborted cells did not run: y is still nil
        reply, iopub = execute(kc, "y == nil")
        self.assertEqual(results(iopub), ["true"])

    def test_aborted_reply_has_no_execution_count(self):
        # As ipykernel and the spec's abort reply: the status alone. The
        # classic Notebook shows a reply's execution_count as the cell's
        # prompt, so a count made aborted cells look run, all numbered
        # like the failed cell; and the counter does not move for them.
        kc = self.kc
        ids = [kc.execute(FAILING_CELL), kc.execute("y = 1")]
        failed, aborted = [get_reply(kc, "shell", i) for i in ids]
        self.assertEqual(failed["content"]["status"], "error")
        self.assertEqual(aborted["content"], {"status": "aborted"})
        for i in ids:
            iopub_until_idle(kc, i)
        reply, _ = execute(kc, "1")
        self.assertEqual(reply["content"]["execution_count"],
                         failed["content"]["execution_count"] + 1)

    def test_stop_on_error_false_runs_the_next(self):
        kc = self.kc
        first = kc.execute(FAILING_CELL, stop_on_error=False)
        second = kc.execute("z = 7")
        r1 = get_reply(kc, "shell", first)
        r2 = get_reply(kc, "shell", second)
        self.assertEqual(r1["content"]["status"], "error")
        self.assertEqual(r2["content"]["status"], "ok")
        reply, iopub = execute(kc, "z")
        self.assertEqual(results(iopub), ["7"])

    def test_after_abort_new_requests_run(self):
        kc = self.kc
        reply, _ = execute(kc, 'error("once")')
        self.assertEqual(reply["content"]["status"], "error")
        reply, iopub = execute(kc, "40 + 2")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(results(iopub), ["42"])

    def test_request_sent_after_idle_is_not_aborted(self):
        # Only requests queued before the failed cell's reply and idle may
        # be aborted. A large cell makes the kernel's after-idle work (its
        # history write) long enough for the next request to arrive.
        kc = self.kc
        failing = "--" + "x" * 2000000 + '\nerror("big")'
        for i in range(5):
            reply, _ = execute(kc, failing)
            self.assertEqual(reply["content"]["status"], "error")
            # sent as soon as idle was seen
            reply, iopub = execute(kc, "40 + 2")
            self.assertEqual(
                reply["content"]["status"], "ok",
                "round %d: a request sent after the failed cell's reply "
                "and idle was answered %r" % (i, reply["content"]))
            self.assertEqual(results(iopub), ["42"])


BUSY_3S = "local t = os.clock() while os.clock() - t < 3 do end"


class BusyKernelTests(SharedKernel):

    def test_control_answers_while_cell_runs(self):
        kc = self.kc
        cell = start_busy_cell(self, kc, BUSY_3S)
        ki = send_request(kc, "control", "kernel_info_request")
        try:
            reply = get_reply(kc, "control", ki, timeout=1.0)
        finally:
            running = not msg_ready(kc, "shell")
            get_reply(kc, "shell", cell)
        self.assertEqual(reply["msg_type"], "kernel_info_reply")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertTrue(running, "the cell had already finished")

    def test_heartbeat_while_cell_runs(self):
        kc = self.kc
        info = self.km.get_connection_info()
        ctx = zmq.Context.instance()
        hb = ctx.socket(zmq.REQ)
        hb.setsockopt(zmq.LINGER, 0)
        hb.connect("%s://%s:%d" % (info["transport"], info["ip"],
                                   info["hb_port"]))
        try:
            cell = start_busy_cell(self, kc, BUSY_3S)
            for _ in range(3):
                hb.send(b"ping")
                self.assertTrue(hb.poll(1000, zmq.POLLIN),
                                "no heartbeat echo within 1 s")
                self.assertEqual(hb.recv(), b"ping")
            still_running = not msg_ready(kc, "shell")
            get_reply(kc, "shell", cell)
            self.assertTrue(still_running, "the cell had already finished")
        finally:
            hb.close(0)


class ForgedMessageTests(SharedKernel):

    def setUp(self):
        super().setUp()
        info = self.km.get_connection_info()
        self.key = info["key"]
        if isinstance(self.key, str):
            self.key = self.key.encode()
        self.assertTrue(self.key, "the connection has no key")
        self.assertEqual(info["signature_scheme"], "hmac-sha256")
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect("%s://%s:%d" % (info["transport"], info["ip"],
                                          info["shell_port"]))

    def tearDown(self):
        self.sock.close(0)

    def assert_no_reply(self, what):
        got = self.sock.poll(int(NO_REPLY_WAIT * 1000), zmq.POLLIN)
        if got:
            frames = self.sock.recv_multipart()
            self.fail("%s got a reply: %r" % (what, frames[:6]))

    def reply_frames(self, timeout=REPLY_TIMEOUT):
        self.assertTrue(self.sock.poll(int(timeout * 1000), zmq.POLLIN),
                        "a valid message got no reply")
        return self.sock.recv_multipart()

    def assert_kernel_fine(self):
        self.assertTrue(self.km.is_alive())
        reply, iopub = execute(self.kc, "6 * 7")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(results(iopub), ["42"])

    def test_wrong_key(self):
        parts = json_parts("execute_request",
                           {"code": "forged_a = 1", "silent": False})
        self.sock.send_multipart([DELIMITER, sign(b"wrong key", parts)]
                                 + parts)
        self.assert_no_reply("wrong key")
        self.assert_kernel_fine()
        reply, iopub = execute(self.kc, "forged_a == nil")
        self.assertEqual(results(iopub), ["true"], "a forged cell ran")

    def test_no_signature(self):
        parts = json_parts("execute_request",
                           {"code": "forged_b = 1", "silent": False})
        self.sock.send_multipart([DELIMITER, b""] + parts)
        self.assert_no_reply("empty signature")
        self.assert_kernel_fine()
        reply, iopub = execute(self.kc, "forged_b == nil")
        self.assertEqual(results(iopub), ["true"], "an unsigned cell ran")

    def test_no_delimiter(self):
        parts = json_parts("kernel_info_request", {})
        self.sock.send_multipart([sign(self.key, parts)] + parts)
        self.assert_no_reply("no delimiter")
        self.assert_kernel_fine()

    def test_non_json_header(self):
        parts = json_parts("kernel_info_request", {})
        parts[0] = b"{this is not json"
        self.sock.send_multipart([DELIMITER, sign(self.key, parts)] + parts)
        self.assert_no_reply("non-JSON header")
        self.assert_kernel_fine()

    def test_header_is_array(self):
        parts = json_parts("kernel_info_request", {})
        parts[0] = b'["msg_id", "msg_type", "kernel_info_request"]'
        self.sock.send_multipart([DELIMITER, sign(self.key, parts)] + parts)
        self.assert_no_reply("array header")
        self.assert_kernel_fine()

    def test_other_parts_not_objects(self):
        for i, bad in ((1, b"null"), (2, b"[]"), (3, b'"str"')):
            parts = json_parts("kernel_info_request", {})
            parts[i] = bad
            self.sock.send_multipart([DELIMITER, sign(self.key, parts)]
                                     + parts)
            self.assert_no_reply("part %d = %r" % (i, bad))
        self.assert_kernel_fine()

    def test_header_without_msg_type(self):
        hdr = {"msg_id": uuid.uuid4().hex, "session": "s", "username": "u",
               "date": "2024-01-01T00:00:00.000000Z", "version": "5.3"}
        parts = json_parts(None, {}, header=hdr)
        self.sock.send_multipart([DELIMITER, sign(self.key, parts)] + parts)
        self.assert_no_reply("header without msg_type")
        self.assert_kernel_fine()

    def test_replay_gets_no_second_reply(self):
        parts = json_parts("kernel_info_request", {})
        frames = [DELIMITER, sign(self.key, parts)] + parts
        self.sock.send_multipart(frames)
        first = self.reply_frames()
        self.assertIn(DELIMITER, first)
        reply = json.loads(first[first.index(DELIMITER) + 2])
        self.assertEqual(reply["msg_type"], "kernel_info_reply")
        self.sock.send_multipart(frames)
        self.assert_no_reply("replayed message")
        self.assert_kernel_fine()

    def test_random_frames(self):
        rnd = os.urandom
        garbage = [
            [b""],
            [rnd(1)],
            [rnd(64)],
            [rnd(16), rnd(300), rnd(7)],
            [DELIMITER],
            [DELIMITER, rnd(64)],
            [DELIMITER, rnd(64), rnd(10), rnd(10), rnd(10), rnd(10)],
            [rnd(8), DELIMITER, b"", b"", b"", b"", b""],
            [DELIMITER, b"0" * 64, b"{}", b"{}", b"{}", b"{}"],
            [DELIMITER] * 12,
            [rnd(1000) for _ in range(20)],
        ]
        for frames in garbage:
            self.sock.send_multipart(frames)
            self.assert_no_reply("garbage %r" % ([f[:16] for f in frames],))
        self.assert_kernel_fine()

    def test_valid_raw_message_still_works(self):
        # the same raw socket, correctly signed: the harness itself is sound
        parts = json_parts("kernel_info_request", {})
        self.sock.send_multipart([DELIMITER, sign(self.key, parts)] + parts)
        frames = self.reply_frames()
        i = frames.index(DELIMITER)
        self.assertEqual(frames[i + 1], sign(self.key, frames[i + 2:i + 6]))


class StdinTests(FreshKernel):

    def test_input_with_stdin(self):
        kc = self.kc
        msg_id = kc.execute('x = input("name? ")', allow_stdin=True)
        req = wait_input_request(kc, msg_id)
        self.assertEqual(req["content"]["prompt"], "name? ")
        self.assertIs(req["content"]["password"], False)
        kc.input("Ada")
        reply = get_reply(kc, "shell", msg_id)
        self.assertEqual(reply["content"]["status"], "ok")
        iopub_until_idle(kc, msg_id)
        reply, iopub = execute(kc, "x")
        self.assertEqual(results(iopub), ['"Ada"'])

    def test_io_read_with_stdin(self):
        kc = self.kc
        msg_id = kc.execute("line = io.read()", allow_stdin=True)
        wait_input_request(kc, msg_id)
        kc.input("höhe 42")
        reply = get_reply(kc, "shell", msg_id)
        self.assertEqual(reply["content"]["status"], "ok")
        reply, iopub = execute(kc, "line")
        self.assertEqual(results(iopub), ['"höhe 42"'])

    def test_input_without_stdin(self):
        kc = self.kc
        reply, iopub = execute(kc, 'w = input("name? ")', allow_stdin=False)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertRegex(reply["content"]["evalue"].lower(), r"stdin|input")
        self.assertIn("error", [m["msg_type"] for m in iopub])
        with self.assertRaises(queue.Empty):
            get_msg(kc, "stdin", NO_REPLY_WAIT)

    def test_interrupt_while_waiting_for_input(self):
        kc = self.kc
        msg_id = kc.execute('v = input("wait: ")', allow_stdin=True)
        wait_input_request(kc, msg_id)
        self.km.interrupt_kernel()
        check_interrupted(self, kc, msg_id)


HEADER_DATE = re.compile(
    rb'"date":\s*"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"')


class IopubTests(SharedKernel):

    def check_busy_idle(self, msg_type, content, channel=None):
        kc = self.kc
        channel = channel or "shell"
        msg_id = send_request(kc, channel, msg_type, content)
        reply = get_reply(kc, channel, msg_id)
        iopub = iopub_until_idle(kc, msg_id)
        self.assertEqual(iopub[0]["msg_type"], "status", msg_type)
        self.assertEqual(iopub[0]["content"]["execution_state"], "busy")
        states = [m["content"]["execution_state"] for m in iopub
                  if m["msg_type"] == "status"]
        self.assertEqual(states, ["busy", "idle"], msg_type)
        # the kernel's own clock orders busy <= reply <= idle
        self.assertLessEqual(iopub[0]["header"]["date"],
                             reply["header"]["date"], msg_type)
        self.assertLessEqual(reply["header"]["date"],
                             iopub[-1]["header"]["date"], msg_type)
        return reply, iopub

    def test_busy_idle_around_every_request(self):
        shell = [
            ("execute_request", {"code": "1", "silent": False,
                                 "store_history": True,
                                 "user_expressions": {},
                                 "allow_stdin": False}),
            ("kernel_info_request", {}),
            ("complete_request", {"code": "pri", "cursor_pos": 3}),
            ("inspect_request", {"code": "print", "cursor_pos": 5,
                                 "detail_level": 0}),
            ("is_complete_request", {"code": "x = 1"}),
            ("history_request", {"hist_access_type": "tail", "n": 3,
                                 "output": False, "raw": True}),
            ("comm_info_request", {}),
        ]
        for msg_type, content in shell:
            reply, _ = self.check_busy_idle(msg_type, content)
            self.assertEqual(reply["msg_type"],
                             msg_type.replace("_request", "_reply"))
        reply, _ = self.check_busy_idle("kernel_info_request", {},
                                        "control")
        self.assertEqual(reply["msg_type"], "kernel_info_reply")

    def test_execute_input(self):
        code = "local a = 1\nprint(a)"
        reply, iopub = execute(self.kc, code)
        inputs = [m for m in iopub if m["msg_type"] == "execute_input"]
        self.assertEqual(len(inputs), 1)
        self.assertEqual(inputs[0]["content"]["code"], code)
        self.assertEqual(inputs[0]["content"]["execution_count"],
                         reply["content"]["execution_count"])
        reply2, iopub2 = execute(self.kc, "2")
        self.assertEqual(reply2["content"]["execution_count"],
                         reply["content"]["execution_count"] + 1)
        self.assertEqual([m for m in iopub2
                          if m["msg_type"] == "execute_input"][0]
                         ["content"]["execution_count"],
                         reply2["content"]["execution_count"])

    def test_raw_frames(self):
        # a raw SUB socket of our own, to check the bytes on the wire
        info = self.km.get_connection_info()
        key = info["key"] if isinstance(info["key"], bytes) \
            else info["key"].encode()
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect("%s://%s:%d" % (info["transport"], info["ip"],
                                    info["iopub_port"]))
        try:
            # XPUB: our subscription is answered by an iopub_welcome
            deadline = time.monotonic() + REPLY_TIMEOUT
            welcomed = False
            while not welcomed and time.monotonic() < deadline:
                if not sub.poll(200, zmq.POLLIN):
                    continue
                frames = sub.recv_multipart()
                i = frames.index(DELIMITER)
                welcomed = json.loads(frames[i + 2])["msg_type"] == \
                    "iopub_welcome"
            self.assertTrue(welcomed, "no iopub_welcome on a raw SUB socket")

            msg_id = self.kc.execute('display(42)\nprint("hi")\n1 + 1')
            get_reply(self.kc, "shell", msg_id)
            seen = []
            deadline = time.monotonic() + REPLY_TIMEOUT
            while time.monotonic() < deadline:
                if not sub.poll(200, zmq.POLLIN):
                    continue
                frames = sub.recv_multipart()
                i = frames.index(DELIMITER)
                raw_header = frames[i + 2]
                header = json.loads(raw_header)
                parent = json.loads(frames[i + 3])
                if parent.get("msg_id") != msg_id:
                    continue
                content = json.loads(frames[i + 5])
                seen.append(header["msg_type"])
                self.assertEqual(frames[i + 1], sign(key, frames[i + 2:i + 6]),
                                 "bad signature on %s" % header["msg_type"])
                self.assertRegex(raw_header, HEADER_DATE)
                self.assertEqual(header["version"], "5.3")
                self.assertEqual(json.loads(frames[i + 4]), {})
                if header["msg_type"] in ("display_data", "execute_result"):
                    self.assertIn(b'"metadata":', frames[i + 5])
                    self.assertIsInstance(content.get("metadata"), dict,
                                          header["msg_type"])
                    self.assertEqual(content["metadata"], {})
                if (header["msg_type"] == "status"
                        and content["execution_state"] == "idle"):
                    break
            self.assertEqual(seen[0], "status")
            self.assertEqual(seen[-1], "status")
            for t in ("execute_input", "display_data", "stream",
                      "execute_result"):
                self.assertIn(t, seen)
        finally:
            sub.close(0)


class CommAndUnknownTests(SharedKernel):

    def test_comm_open_unknown_target_is_closed(self):
        kc = self.kc
        comm_id = uuid.uuid4().hex
        msg_id = send_request(kc, "shell", "comm_open",
                              {"comm_id": comm_id,
                               "target_name": "no.such.target", "data": {}})
        iopub = iopub_until_idle(kc, msg_id)
        closes = [m for m in iopub if m["msg_type"] == "comm_close"]
        self.assertEqual(len(closes), 1, [m["msg_type"] for m in iopub])
        self.assertEqual(closes[0]["content"]["comm_id"], comm_id)

    def test_comm_info(self):
        kc = self.kc
        msg_id = kc.comm_info()
        reply = get_reply(kc, "shell", msg_id)
        self.assertEqual(reply["msg_type"], "comm_info_reply")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertIsInstance(reply["content"]["comms"], dict)

    def test_comm_msg_and_close_for_unknown_comm(self):
        kc = self.kc
        for t in ("comm_msg", "comm_close"):
            msg_id = send_request(kc, "shell", t,
                                  {"comm_id": uuid.uuid4().hex, "data": {}})
            iopub = iopub_until_idle(kc, msg_id)
            self.assertEqual([m["msg_type"] for m in iopub],
                             ["status", "status"])
        self.assertTrue(self.km.is_alive())

    def test_unknown_request_type(self):
        kc = self.kc
        for channel in ("shell", "control"):
            msg_id = send_request(kc, channel, "bogus_request", {"x": 1})
            iopub = iopub_until_idle(kc, msg_id)
            self.assertEqual(
                [m["content"]["execution_state"] for m in iopub
                 if m["msg_type"] == "status"], ["busy", "idle"])
            with self.assertRaises(queue.Empty):
                get_msg(kc, channel, NO_REPLY_WAIT)
        self.assertTrue(self.km.is_alive())
        reply, iopub = execute(kc, "3 * 3")
        self.assertEqual(results(iopub), ["9"])


class CompletionTests(SharedKernel):

    def test_cursor_in_code_points(self):
        code = 's = "héllo" pri'
        msg_id = self.kc.complete(code, cursor_pos=len(code))
        reply = get_reply(self.kc, "shell", msg_id)
        c = reply["content"]
        self.assertEqual(c["status"], "ok")
        self.assertIn("print", c["matches"])
        self.assertEqual(c["cursor_end"], len(code))
        self.assertEqual(c["cursor_start"], len(code) - len("pri"))

    def test_cursor_in_code_points_astral(self):
        # a 4-byte UTF-8 character (one code point, two UTF-16 units)
        code = 's = "😀😀" string.up'
        msg_id = self.kc.complete(code, cursor_pos=len(code))
        c = get_reply(self.kc, "shell", msg_id)["content"]
        self.assertTrue(any(m.endswith("upper") for m in c["matches"]),
                        c["matches"])
        self.assertEqual(c["cursor_end"], len(code))
        self.assertIn(c["cursor_start"],
                      (len(code) - len("up"), len(code) - len("string.up")))

    def test_cursor_in_the_middle(self):
        code = 'é = 1; pri; x = "ü"'
        pos = code.index(";", 6)  # right after "pri"
        msg_id = self.kc.complete(code, cursor_pos=pos)
        c = get_reply(self.kc, "shell", msg_id)["content"]
        self.assertIn("print", c["matches"])
        self.assertEqual(c["cursor_end"], pos)
        self.assertEqual(c["cursor_start"], pos - 3)


# ---- 8, 9, 13: fresh kernels ------------------------------------------------------

class RestartTests(FreshKernel):

    def restart(self):
        self.km.restart_kernel()
        self.kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
        drain(self.kc)

    def test_restart(self):
        kc = self.kc
        pid_before = self.km.provisioner.process.pid
        execute(kc, "x = 42")
        reply, iopub = execute(kc, "x")
        self.assertEqual(results(iopub), ["42"])
        self.assertEqual(reply["content"]["execution_count"], 2)
        self.restart()
        self.assertNotEqual(self.km.provisioner.process.pid, pid_before)
        msg_id = kc.kernel_info()
        info = get_reply(kc, "shell", msg_id)
        self.assertEqual(info["content"]["status"], "ok")
        reply, iopub = execute(kc, "x")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(results(iopub), [], "globals survived the restart")
        self.assertEqual(reply["content"]["execution_count"], 1)

    def test_history_persists_across_restart(self):
        kc = self.kc
        marker = "-- history marker %s" % uuid.uuid4().hex
        code = "%s\nlocal h = 1" % marker
        reply, _ = execute(kc, code)
        self.assertEqual(reply["content"]["status"], "ok")
        self.restart()
        msg_id = kc.history(hist_access_type="tail", n=50, output=False,
                            raw=True)
        reply = get_reply(kc, "shell", msg_id)
        self.assertEqual(reply["content"]["status"], "ok")
        sources = [entry[2] for entry in reply["content"]["history"]]
        self.assertIn(code, sources)


class ShutdownTests(FreshKernel):

    def shutdown_and_wait(self):
        msg_id = self.kc.shutdown()
        reply = get_reply(self.kc, "control", msg_id)
        self.assertEqual(reply["msg_type"], "shutdown_reply")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertIs(reply["content"]["restart"], False)
        rc = process_exit_code(self.km, 2.0)
        self.assertIsNotNone(rc, "the kernel did not exit within 2 s")
        self.assertFalse(self.km.is_alive())
        self.assertEqual(rc, 0)

    def test_clean_shutdown(self):
        self.shutdown_and_wait()

    def test_shutdown_while_busy(self):
        start_busy_cell(self, self.kc)
        self.shutdown_and_wait()

    def test_shutdown_on_shell(self):
        # the shell channel is allowed too (older clients used it)
        msg_id = send_request(self.kc, "shell",
                              "shutdown_request", {"restart": False})
        reply = get_reply(self.kc, "shell", msg_id)
        self.assertEqual(reply["msg_type"], "shutdown_reply")
        rc = process_exit_code(self.km, 2.0)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
