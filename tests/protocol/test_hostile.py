"""Hostile inputs for Trellis: cells and protocol messages meant to crash,
hang, corrupt or wedge the kernel, or to give the user an unclear error.

After each attack on the shared kernel, the kernel must still answer a
normal `1+1` with `2`. Attacks that crash or wedge a kernel for good run on
a kernel of their own, which is killed at the end of the test.

Run through ../with_kernelspec.sh (it installs the kernelspec into a
temporary JUPYTER_PATH and fails the run on any sanitizer report):

    ../with_kernelspec.sh ../../build-hostile/trellis /usr/bin/python3 \\
        -m unittest -v test_hostile

Every wait has a timeout: a hung kernel fails a test, it never hangs it.
Tests that fail document kernel bugs (see each docstring).
"""
import contextlib
import os
import tempfile
import queue
import threading
import time
import unittest

from jupyter_client import BlockingKernelClient
from jupyter_client.manager import start_new_kernel

KERNEL = "trellis"
STARTUP_TIMEOUT = 60
REPLY_TIMEOUT = 20   # a reply that should come at once
WEDGE_TIMEOUT = 10   # how long a reply that may never come is waited for
EXEC_DEFAULTS = dict(silent=False, store_history=True, user_expressions={},
                     allow_stdin=False, stop_on_error=True)


# ---- helpers -----------------------------------------------------------------

def new_kernel(env=None):
    kw = {}
    if env:
        full = dict(os.environ)
        full.update(env)
        kw["env"] = full
    return start_new_kernel(kernel_name=KERNEL,
                            startup_timeout=STARTUP_TIMEOUT, **kw)


def stop_kernel(km, kc):
    for step in (lambda: kc.stop_channels(),
                 lambda: km.shutdown_kernel(now=True),
                 lambda: km.cleanup_resources()):
        try:
            step()
        except Exception:
            pass


@contextlib.contextmanager
def own_kernel(env=None):
    """A kernel for one attack that may crash or wedge it; always killed."""
    km, kc = new_kernel(env)
    try:
        yield km, kc
    finally:
        stop_kernel(km, kc)


def parent_id(msg):
    return (msg.get("parent_header") or {}).get("msg_id")


def get_reply(kc, msg_id, timeout=REPLY_TIMEOUT, channel="shell"):
    """The reply to msg_id on channel, or None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            msg = getattr(kc, "get_%s_msg" % channel)(timeout=left)
        except queue.Empty:
            return None
        if parent_id(msg) == msg_id:
            return msg


def iopub_until_idle(kc, msg_id, timeout=REPLY_TIMEOUT):
    """iopub messages parented by msg_id up to idle; (messages, saw_idle)."""
    deadline = time.monotonic() + timeout
    out = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out, False
        try:
            msg = kc.get_iopub_msg(timeout=left)
        except queue.Empty:
            return out, False
        if parent_id(msg) != msg_id:
            continue
        out.append(msg)
        if (msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"):
            return out, True


def execute(kc, code, timeout=REPLY_TIMEOUT, **kw):
    """(execute_reply or None, iopub messages up to idle)."""
    msg_id = kc.execute(code, **kw)
    reply = get_reply(kc, msg_id, timeout)
    if reply is None:
        return None, []
    io, _ = iopub_until_idle(kc, msg_id, timeout)
    return reply, io


def results(io):
    return [m["content"]["data"]["text/plain"] for m in io
            if m["msg_type"] == "execute_result"]


def stream_text(io, name=None):
    return "".join(m["content"]["text"] for m in io
                   if m["msg_type"] == "stream"
                   and (name is None or m["content"]["name"] == name))


def send(kc, channel, msg_type, content, buffers=None, parent=None):
    msg = kc.session.msg(msg_type, content, parent=parent)
    kc.session.send(getattr(kc, "%s_channel" % channel).socket, msg,
                    buffers=buffers)
    return msg["header"]["msg_id"]


def send_raw_content(kc, msg_type, content_bytes):
    """A correctly signed shell message whose content frame is given as
    bytes (JSON the Python client would never produce itself)."""
    header = kc.session.msg_header(msg_type)
    parts = [kc.session.pack(header), b"{}", b"{}", content_bytes]
    kc.shell_channel.socket.send_multipart(
        [b"<IDS|MSG>", kc.session.sign(parts)] + parts)
    return header["msg_id"]


def interrupt_then_reply(km, kc, code, delay=0.5, **kw):
    """Runs code, interrupts it after delay s; the reply or None."""
    msg_id = kc.execute(code, **kw)
    # interrupt only once the cell runs: an interrupt that reaches an idle
    # kernel is ignored (as ipykernel's), which a loaded machine can cause
    deadline = time.monotonic() + REPLY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.5)
        except Exception:
            continue
        if (msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "execute_input"):
            break
    time.sleep(delay)
    km.interrupt_kernel()
    reply = get_reply(kc, msg_id, WEDGE_TIMEOUT)
    # a request sent before the failed cell's idle is aborted (as with
    # ipykernel's stop_on_error): let the next check wait for that idle
    while reply is not None and time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.5)
        except Exception:
            continue
        if (msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"):
            break
    return reply


# ---- attacks on one shared kernel -------------------------------------------

class SharedKernel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = new_kernel()

    @classmethod
    def tearDownClass(cls):
        stop_kernel(cls.km, cls.kc)

    def setUp(self):
        # forget what an earlier test left behind
        for ch in ("shell", "iopub", "stdin", "control"):
            while True:
                try:
                    getattr(self.kc, "get_%s_msg" % ch)(timeout=0.01)
                except queue.Empty:
                    break

    def tearDown(self):
        self.assert_alive()

    def assert_alive(self):
        reply, io = execute(self.kc, "1+1", timeout=10)
        self.assertIsNotNone(reply, "kernel no longer answers `1+1`")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(results(io), ["2"])

    def run_cell(self, code, **kw):
        reply, io = execute(self.kc, code, **kw)
        self.assertIsNotNone(reply, "no execute_reply for %r" % code[:80])
        return reply["content"], io

    # -- Lua values, errors and output --

    def test_invalid_utf8_print_and_result_are_replaced(self):
        c, io = self.run_cell('print("\\xff\\xfe") return "\\xc3"')
        self.assertEqual(c["status"], "ok")
        self.assertEqual(stream_text(io), "\ufffd\ufffd\n")
        self.assertEqual(results(io), ['"\ufffd"'])

    def test_nul_bytes_in_output_are_shown(self):
        c, io = self.run_cell('print("a\\0b")')
        self.assertEqual(c["status"], "ok")
        self.assertEqual(stream_text(io), "a\u2400b\n")

    def test_error_with_invalid_utf8_keeps_traceback_headline(self):
        """BUG: the traceback's first line (`LuaError: ...`) is dropped
        when the message is not UTF-8: report() in lua_engine.c passes the
        raw text to json_string(), which returns NULL."""
        c, io = self.run_cell('error("bad \\xc3 byte")')
        self.assertEqual(c["status"], "error")
        self.assertIn("bad \ufffd byte", c["evalue"])
        self.assertTrue(any("LuaError" in line and "bad" in line
                            for line in c["traceback"]),
                        "no headline in traceback %r" % c["traceback"])

    def test_error_values_of_any_type_are_reported(self):
        for code, value in [("error({1, 2})", "{1, 2}"),
                            ("error(nil)", "nil"),
                            ("error(print)", "function: builtin"),
                            ("error(setmetatable({}, {__tostring = "
                             "function() error('x') end}))",
                             "<table (tostring failed)>")]:
            c, _ = self.run_cell(code)
            self.assertEqual(c["status"], "error", code)
            self.assertEqual(c["evalue"], value, code)

    def test_stack_overflow_is_an_error(self):
        c, _ = self.run_cell("function f() return f() + 1 end f()")
        self.assertEqual(c["status"], "error")
        self.assertIn("stack overflow", c["evalue"])

    def test_coroutine_yield_at_top_level_is_an_error(self):
        c, _ = self.run_cell("coroutine.yield()")
        self.assertEqual(c["status"], "error")
        self.assertIn("outside a coroutine", c["evalue"])

    def test_cyclic_table_result_is_truncated(self):
        c, io = self.run_cell("t = {} t.t = t return t")
        self.assertEqual(c["status"], "ok")
        self.assertEqual(results(io), ["{t = {t = {t = {...}}}}"])

    def test_bad_repr_html_falls_back_to_text(self):
        for meta in ("function() error('h') end", "function() return 5 end",
                     "function(s) return tostring(s) end"):
            c, io = self.run_cell(
                "return setmetatable({}, {__repr_html = %s})" % meta)
            self.assertEqual(c["status"], "ok", meta)
            self.assertEqual(len(results(io)), 1, meta)

    def test_large_output_reaches_the_client_whole(self):
        c, io = self.run_cell('print(string.rep("x", 16 * 1024 * 1024))',
                              timeout=60)
        self.assertEqual(c["status"], "ok")
        self.assertEqual(stream_text(io), "x" * (16 * 1024 * 1024) + "\n")
        c, io = self.run_cell("for i = 1, 100000 do print(i) end",
                              timeout=60)
        text = stream_text(io)
        self.assertEqual(text.count("\n"), 100000)
        self.assertTrue(text.endswith("\n99999\n100000\n"))

    def test_memory_bomb_with_string_rep_is_an_error(self):
        c, _ = self.run_cell('s = string.rep("x", 1e10)')
        self.assertEqual(c["status"], "error")

    def test_overridden_table_sort_is_not_run_by_completion(self):
        self.run_cell("__sort = table.sort\n"
                      "table.sort = function() print('USER CODE') "
                      "while true do end end;")
        try:
            msg_id = self.kc.complete("pri", 3)
            reply = get_reply(self.kc, msg_id, WEDGE_TIMEOUT)
            self.assertIsNotNone(reply, "completion ran user code")
            self.assertIn("print", reply["content"]["matches"])
            c, io = self.run_cell("return {b = 1, a = 2}")
            self.assertEqual(results(io), ["{a = 2, b = 1}"])
        finally:
            self.run_cell("table.sort = __sort __sort = nil;")

    def test_removed_tostring_does_not_break_results(self):
        """BUG: the repr calls the *global* tostring (lua_repr.c
        add_repr): after `tostring = nil` every result, even 1+1, shows
        as `<number (tostring failed)>`; a user-defined tostring runs
        (and may loop) on every result and every inspection."""
        self.run_cell("__tostring = tostring tostring = nil;")
        try:
            c, io = self.run_cell("40 + 2")
            self.assertEqual(results(io), ["42"])
        finally:
            self.run_cell("tostring = __tostring __tostring = nil;")

    def test_strict_global_table_still_shows_results(self):
        """BUG: with a strict _G (a __newindex that refuses new globals,
        the strict.lua idiom), every cell with a value fails with
        `error while showing the result` and an empty traceback:
        show_result() in lua_engine.c stores `_` with lua_setfield,
        which is not raw (its comment says it is)."""
        # `_` must not exist yet, as in a fresh kernel
        self.run_cell(
            "rawset(_G, '_', nil) "
            "setmetatable(_G, {__newindex = function(t, k) error("
            "'assignment to undeclared global ' .. k, 2) end});")
        try:
            c, io = self.run_cell("40 + 2")
            self.assertEqual(c["status"], "ok", c.get("evalue"))
            self.assertEqual(results(io), ["42"])
        finally:
            self.run_cell("setmetatable(_G, nil);")

    def test_binary_chunks_are_refused_by_load(self):
        """BUG: load() accepts precompiled chunks by default (mode "bt"),
        and Lua does not verify bytecode: a crafted chunk crashes the
        kernel (see test_malicious_bytecode_does_not_crash_the_kernel).
        Expected: load/loadfile/dofile default to text chunks."""
        c, io = self.run_cell(
            "local f = load(string.dump(function() return 1 end))\n"
            "return f == nil")
        self.assertEqual(results(io), ["true"])

    def test_require_refuses_binary_chunks_and_loads_text(self):
        d = tempfile.mkdtemp(dir=os.environ.get("TRELLIS_TEST_TMP"))
        c, io = self.run_cell(
            "local d = %r\n"
            "local f = io.open(d .. '/bin_mod.lua', 'wb')\n"
            "f:write(string.dump(function() return 42 end)) f:close()\n"
            "f = io.open(d .. '/text_mod.lua', 'w')\n"
            "f:write('return 41 + 1') f:close()\n"
            "package.path = d .. '/?.lua;' .. package.path\n"
            "local ok, e = pcall(require, 'bin_mod')\n"
            "return ok, tostring(e):find('binary chunk') ~= nil, "
            "(require('text_mod'))" % d)
        self.assertEqual(results(io), ["false\ttrue\t42"])

    # -- interrupts --

    def test_interrupt_stops_a_pcall_loop(self):
        reply = interrupt_then_reply(
            self.km, self.kc,
            "while true do pcall(function() while true do end end) end")
        self.assertIsNotNone(reply, "the interrupt did not stop the cell")
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")

    def test_interrupt_stops_io_read(self):
        reply = interrupt_then_reply(self.km, self.kc, "io.read()",
                                     allow_stdin=True)
        self.assertIsNotNone(reply, "the interrupt did not stop io.read")
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")

    def test_interrupt_request_when_idle_is_answered(self):
        msg_id = send(self.kc, "control", "interrupt_request", {})
        reply = get_reply(self.kc, msg_id, channel="control")
        self.assertIsNotNone(reply)
        self.assertEqual(reply["content"]["status"], "ok")

    # -- execute_request content --

    def test_execute_without_code_string_gets_error_reply(self):
        for content in ({}, dict(EXEC_DEFAULTS, code=5),
                        dict(EXEC_DEFAULTS, code=None)):
            msg_id = send(self.kc, "shell", "execute_request", content)
            reply = get_reply(self.kc, msg_id)
            self.assertIsNotNone(reply, content)
            self.assertEqual(reply["content"]["status"], "error")

    def test_nul_character_in_code_gets_a_reply(self):
        """BUG: a request whose JSON holds \\u0000 (valid JSON) is dropped
        with only a log line (wire.c trl__wire_decode: json_loadb without
        JSON_ALLOW_NUL): the client waits for ever, no busy, no reply."""
        msg_id = send_raw_content(
            self.kc, "execute_request",
            b'{"code": "x = \\"a\\u0000b\\"", "silent": false, '
            b'"store_history": true, "user_expressions": {}, '
            b'"allow_stdin": false, "stop_on_error": true}')
        reply = get_reply(self.kc, msg_id, WEDGE_TIMEOUT)
        self.assertIsNotNone(reply, "no reply to a request with a NUL character")
        # the cell fails with stop_on_error: tearDown's cell, sent before
        # this one's idle, would be aborted
        self.assertTrue(iopub_until_idle(self.kc, msg_id)[1])

    def test_silent_error_does_not_abort_queued_cells(self):
        """BUG: a failing silent=True request (a variable inspector, a
        widget poll) aborts the user's queued cells; ipykernel aborts
        only after non-silent errors (dispatch.c on_execute sets
        abort_pending regardless of silent)."""
        bg = self.kc.execute("local t = os.clock() "
                             "while os.clock() - t < 0.3 do end error('bg')",
                             silent=True)
        fg = self.kc.execute("40 + 2")
        self.assertEqual(get_reply(self.kc, bg)["content"]["status"],
                         "error")
        reply = get_reply(self.kc, fg)
        if reply["content"]["status"] == "aborted":
            # let the abort sweep end, or tearDown's cell is aborted too
            time.sleep(0.3)
        self.assertEqual(reply["content"]["status"], "ok")

    def test_silent_error_publishes_nothing(self):
        msg_id = self.kc.execute("error('quiet')", silent=True)
        reply = get_reply(self.kc, msg_id)
        self.assertEqual(reply["content"]["status"], "error")
        io, _ = iopub_until_idle(self.kc, msg_id)
        self.assertEqual([m["msg_type"] for m in io
                          if m["msg_type"] != "status"], [])

    def test_user_expressions_with_bad_values_are_each_answered(self):
        content = dict(EXEC_DEFAULTS, code="1", user_expressions={
            "num": 5, "null": None, "list": [1], "ok": "1 + 1",
            "err": "x.y.z"})
        reply = get_reply(self.kc, send(self.kc, "shell", "execute_request",
                                        content))
        ue = reply["content"]["user_expressions"]
        self.assertEqual(sorted(ue), ["err", "list", "null", "num", "ok"])
        self.assertEqual(ue["ok"]["data"]["text/plain"], "2")
        for k in ("num", "null", "list", "err"):
            self.assertEqual(ue[k]["status"], "error", k)
        for bad in ([1, 2], "x", 5):
            content = dict(EXEC_DEFAULTS, code="1", user_expressions=bad)
            reply = get_reply(self.kc, send(self.kc, "shell",
                                            "execute_request", content))
            self.assertEqual(reply["content"]["status"], "ok")

    def test_user_expression_errors_with_any_text_are_reported(self):
        """BUG: an expression whose error message is not UTF-8 (or is cut
        at 256 bytes inside a multi-byte character) vanishes from
        user_expressions: dispatch.c user_expressions() json_pack()s the
        raw message, gets NULL, and the key is silently missing."""
        content = dict(EXEC_DEFAULTS, code="1", user_expressions={
            "bytes": "error('x\\xff')",
            "long": "error(('\\u{e9}'):rep(200))"})
        reply = get_reply(self.kc, send(self.kc, "shell", "execute_request",
                                        content))
        ue = reply["content"]["user_expressions"]
        self.assertEqual(sorted(ue), ["bytes", "long"])
        self.assertEqual(ue["bytes"]["status"], "error")

    def test_huge_parent_header_and_buffers_are_accepted(self):
        msg_id = send(self.kc, "shell", "execute_request",
                      dict(EXEC_DEFAULTS, code="40 + 2"),
                      buffers=[b"x" * 100000, b""],
                      parent={"msg_id": "p", "blob": "y" * 5000000})
        reply = get_reply(self.kc, msg_id)
        self.assertIsNotNone(reply)
        self.assertEqual(reply["content"]["status"], "ok")

    def test_unknown_cell_magic_with_long_name_is_a_usage_error(self):
        c, _ = self.run_cell("%%" + "\u00e9" * 50 + "\n1")
        self.assertEqual(c["ename"], "UsageError")
        c, _ = self.run_cell("%" + "x" * 5000 + "\n1")
        self.assertEqual(c["ename"], "UsageError")

    # -- completion, inspection, is_complete --

    def test_complete_and_inspect_with_any_cursor_pos(self):
        code = "pr\u00e9nt(\U0001F600)"
        n = len(code)
        for cp in (-5, 0, 3, 7, n, n + 1, 10 ** 6, 2 ** 62, 1.5, "3", None):
            msg_id = send(self.kc, "shell", "complete_request",
                          {"code": code, "cursor_pos": cp})
            reply = get_reply(self.kc, msg_id)
            self.assertIsNotNone(reply, cp)
            c = reply["content"]
            self.assertEqual(c["status"], "ok", cp)
            self.assertTrue(0 <= c["cursor_start"] <= c["cursor_end"] <= n,
                            (cp, c))
            msg_id = send(self.kc, "shell", "inspect_request",
                          {"code": code, "cursor_pos": cp,
                           "detail_level": cp})
            reply = get_reply(self.kc, msg_id)
            self.assertIsNotNone(reply, cp)
            self.assertEqual(reply["content"]["status"], "ok", cp)

    def test_complete_odd_code(self):
        for code in (5, None, "", "%", ":", ".", "a..b.", '["', 'x["',
                     "%%lua\nprint", "string.", 's = ""\ns:'):
            msg_id = send(self.kc, "shell", "complete_request",
                          {"code": code, "cursor_pos": 100})
            reply = get_reply(self.kc, msg_id)
            self.assertIsNotNone(reply, code)
            self.assertEqual(reply["content"]["status"], "ok", code)

    def test_completion_survives_a_hostile_string_metatable(self):
        self.run_cell('getmetatable("").__index = function() '
                      'error("idx") end;')
        try:
            msg_id = self.kc.complete('s = ""\ns:', 8)
            reply = get_reply(self.kc, msg_id)
            self.assertEqual(reply["content"]["status"], "ok")
        finally:
            self.run_cell('getmetatable("").__index = string;')

    def test_is_complete_with_deep_nesting_answers(self):
        for code in ("do\n" * 300000, "(" * 300000, "%%nope\nx", 7):
            msg_id = send(self.kc, "shell", "is_complete_request",
                          {"code": code})
            reply = get_reply(self.kc, msg_id)
            self.assertIsNotNone(reply)
            self.assertIn(reply["content"]["status"],
                          ("complete", "incomplete", "invalid", "unknown"))

    # -- history, comms, other messages --

    def test_history_request_with_bogus_fields(self):
        for content in ({}, {"hist_access_type": 5},
                        {"hist_access_type": "tail", "n": -1},
                        {"hist_access_type": "tail", "n": "x"},
                        {"hist_access_type": "range", "session": "s",
                         "start": -100, "stop": None},
                        {"hist_access_type": "search",
                         "pattern": "'; DROP TABLE history; --"},
                        {"hist_access_type": "search", "pattern": "[",
                         "unique": True},
                        {"hist_access_type": "search", "pattern": None}):
            msg_id = send(self.kc, "shell", "history_request", content)
            reply = get_reply(self.kc, msg_id)
            self.assertIsNotNone(reply, content)
            self.assertEqual(reply["content"]["status"], "ok")
            self.assertIsInstance(reply["content"]["history"], list)
        c, io = self.run_cell("%history -g '; DROP TABLE history; --")
        self.assertEqual(c["status"], "ok")

    def test_comm_messages_with_missing_fields_are_ignored(self):
        send(self.kc, "shell", "comm_open", {})
        send(self.kc, "shell", "comm_open", {"comm_id": 5,
                                             "target_name": None})
        send(self.kc, "shell", "comm_msg", {})
        send(self.kc, "shell", "comm_close", {"comm_id": "nope"})
        msg_id = send(self.kc, "shell", "comm_info_request",
                      {"target_name": 5})
        reply = get_reply(self.kc, msg_id)
        self.assertEqual(reply["content"]["status"], "ok")

    def test_three_clients_executing_at_once(self):
        clients = []
        for _ in range(3):
            c = BlockingKernelClient()
            c.load_connection_info(
                self.km.get_connection_info(session=False))
            c.session.key = self.km.session.key
            c.start_channels()
            c.wait_for_ready(timeout=REPLY_TIMEOUT)
            clients.append(c)
        got = {}

        def work(i, c):
            got[i] = [results(execute(c, "return %d" % (i * 1000 + j))[1])
                      for j in range(15)]
        threads = [threading.Thread(target=work, args=(i, c))
                   for i, c in enumerate(clients)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        finally:
            for c in clients:
                c.stop_channels()
        for i in range(3):
            self.assertEqual(got.get(i),
                             [[str(i * 1000 + j)] for j in range(15)])


# ---- attacks that crash or wedge a kernel -----------------------------------

class OwnKernel(unittest.TestCase):
    def assert_alive(self, kc):
        reply, io = execute(kc, "1+1", timeout=10)
        self.assertIsNotNone(reply, "kernel no longer answers `1+1`")
        self.assertEqual(results(io), ["2"])

    def test_malicious_bytecode_does_not_crash_the_kernel(self):
        """BUG: a 5-line cell segfaults the kernel: load() takes binary
        chunks (a JMP to 32 MB before the code here). Set up in
        trl_lua_engine_new (lua_engine.c) by luaL_openlibs, unchanged."""
        code = ("local s = string.dump(function() end, true)\n"
                "assert(s:byte(39) == 0x81)\n"
                "local jmp = 56 | ((16777215 - 8000000) << 7)\n"
                "local evil = s:sub(1, 39) .. string.pack('<I4', jmp)"
                " .. s:sub(44)\n"
                "local f = load(evil)\n"
                "if f then f() end")
        with own_kernel() as (km, kc):
            reply, _ = execute(kc, code, timeout=10)
            self.assertTrue(km.is_alive(), "the kernel crashed")
            self.assertIsNotNone(reply)
            self.assert_alive(kc)

    def test_error_message_with_in_bracket_does_not_hang(self):
        """BUG: error("In [") hangs the kernel for ever, beyond interrupt:
        pretty_location() in lua_engine.c loops without advancing when
        the text starts with "In [" and no "]:" follows (next == s)."""
        with own_kernel() as (km, kc):
            msg_id = kc.execute('error("In [")')
            reply = get_reply(kc, msg_id, WEDGE_TIMEOUT)
            if reply is None:
                km.interrupt_kernel()
                reply = get_reply(kc, msg_id, 1)
            self.assertIsNotNone(reply, "no reply, even after an interrupt")
            self.assertEqual(reply["content"]["status"], "error")
            self.assert_alive(kc)

    def test_inspect_does_not_run_user_code_forever(self):
        """BUG: inspecting (shift-tab, `x?`) a value whose __tostring loops
        wedges the kernel for good: inspect calls the repr, which calls
        tostring -> __tostring, outside any cell (executing = 0), so
        interrupt_request and SIGINT do nothing (lua_complete.c
        inspect_impl -> lua_repr.c add_repr)."""
        with own_kernel() as (km, kc):
            execute(kc, "x = setmetatable({}, {__tostring = function() "
                        "while true do end end})")
            msg_id = kc.inspect("x", 1)
            reply = get_reply(kc, msg_id, WEDGE_TIMEOUT)
            if reply is None:
                km.interrupt_kernel()
                reply = get_reply(kc, msg_id, 1)
            self.assertIsNotNone(reply, "inspect never answered")
            self.assert_alive(kc)

    def test_user_expression_loop_can_be_interrupted(self):
        """An endless user expression must be interruptible (it was not
        before 3a29798: user_expressions ran with no engine armed)."""
        with own_kernel() as (km, kc):
            msg_id = kc.execute("1", user_expressions={
                "x": "(function() while true do end end)()"})
            time.sleep(0.5)
            km.interrupt_kernel()
            self.assertIsNotNone(get_reply(kc, msg_id, WEDGE_TIMEOUT),
                                 "no reply after interrupt")
            self.assert_alive(kc)

    def test_interrupt_stops_a_loop_inside_a_coroutine(self):
        """BUG: the interrupt hook is set on the main lua_State only
        (lua_engine.c eng_interrupt); a coroutine created before the
        interrupt has no hook, so its loop runs for ever."""
        with own_kernel() as (km, kc):
            reply = interrupt_then_reply(
                km, kc, "coroutine.wrap(function() while true do end end)()")
            self.assertIsNotNone(reply, "the interrupt did not stop it")
            self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
            self.assert_alive(kc)

    def test_interrupt_stops_a_loop_in_a_finalizer(self):
        """BUG (Lua turns hooks off in __gc): a looping finalizer cannot be
        interrupted; the kernel has no other way to stop a cell."""
        with own_kernel() as (km, kc):
            reply = interrupt_then_reply(
                km, kc, "setmetatable({}, {__gc = function() while true do "
                        "end end}) collectgarbage()")
            self.assertIsNotNone(reply, "the interrupt did not stop it")
            self.assert_alive(kc)

    def test_memory_full_of_live_data_can_still_be_freed(self):
        """BUG: once live data fills TRELLIS_LUA_MEMORY, every cell fails
        with MemoryError, `t = nil` included (loading the cell needs
        memory): the value the message says to free cannot be freed. The
        message also points at an environment variable, not %memory."""
        with own_kernel({"TRELLIS_LUA_MEMORY": "16M"}) as (km, kc):
            reply, _ = execute(kc, "t = {} for i = 1, 1e9 do t[#t + 1] = {} "
                                   "end", timeout=30)
            self.assertEqual(reply["content"]["ename"], "MemoryError")
            reply, _ = execute(kc, "t = nil")
            self.assertEqual(reply["content"]["status"], "ok",
                             reply["content"].get("evalue"))
            self.assert_alive(kc)

    def test_error_outside_the_cell_names_its_cause(self):
        """BUG: when the kernel's own protected call fails (here a user
        call hook that raises), the reply says `error while showing the
        result (a metamethod or a replaced global failed)` with an empty
        traceback, and the real message is thrown away (lua_engine.c
        eng_execute ignores the error value of trl__lua_protect)."""
        with own_kernel() as (km, kc):
            execute(kc, "debug.sethook(function() error('user hook') end, "
                        "'c');")
            reply, _ = execute(kc, "x = 1;")
            c = reply["content"]
            self.assertEqual(c["status"], "error")
            self.assertIn("user hook", c["evalue"])

    def test_interleaved_stdout_stderr_reaches_the_client(self):
        """BUG: alternating io.write / io.stderr:write defeats coalescing
        (iopub.c add_stream flushes the other stream on every switch):
        one iopub message per write, and past the XPUB high-water mark
        (never raised in kernel.c open_sockets) messages are dropped,
        output and the final idle status included: the client loses text
        and believes the kernel busy for ever."""
        with own_kernel() as (km, kc):
            msg_id = kc.execute("for i = 1, 10000 do io.write('o') "
                                "io.stderr:write('e') end")
            io, idle = iopub_until_idle(kc, msg_id, timeout=6)
            self.assertEqual(len(stream_text(io, "stdout")), 10000)
            self.assertEqual(len(stream_text(io, "stderr")), 10000)
            self.assertTrue(idle, "idle status never arrived")

    def test_oversized_message_gets_an_error_reply(self):
        """BUG (unclear error): a request over TRELLIS_MAX_MESSAGE is
        dropped by ZMQ_MAXMSGSIZE (kernel.c bind_channel), which drops the
        connection: no reply, no log line, the client waits for ever."""
        with own_kernel({"TRELLIS_MAX_MESSAGE": "100000"}) as (km, kc):
            msg_id = kc.execute("-- " + "x" * 200000)
            self.assertIsNotNone(get_reply(kc, msg_id, WEDGE_TIMEOUT),
                                 "no reply to an oversized request")
            self.assert_alive(kc)

    def test_shutdown_request_twice_exits_the_kernel(self):
        with own_kernel() as (km, kc):
            first = send(kc, "control", "shutdown_request",
                         {"restart": False})
            send(kc, "control", "shutdown_request", {"restart": False})
            self.assertIsNotNone(get_reply(kc, first, channel="control"))
            deadline = time.monotonic() + 10
            while km.is_alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertFalse(km.is_alive(), "kernel still running")


if __name__ == "__main__":
    unittest.main()
