"""Line magics through a real client: %lsmagic, %who, %reset, %history,
%memory, help with %name?, unknown magics, completion of magic names."""
import unittest

from jupyter_client.manager import start_new_kernel

TIMEOUT = 30


class MagicTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name="trellis")

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    def run_cell(self, code):
        """Returns (reply content, stdout text, [(msg_type, content)])."""
        msg_id = self.kc.execute(code)
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        out, msgs = [], []
        while True:
            m = self.kc.get_iopub_msg(timeout=TIMEOUT)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "status":
                if m["content"]["execution_state"] == "idle":
                    break
                continue
            if m["msg_type"] == "execute_input":
                continue
            if m["msg_type"] == "stream" and m["content"]["name"] == "stdout":
                out.append(m["content"]["text"])
            msgs.append((m["msg_type"], m["content"]))
        return reply["content"], "".join(out), msgs

    def test_lsmagic_lists_line_and_cell_magics(self):
        reply, out, _ = self.run_cell("%lsmagic")
        self.assertEqual(reply["status"], "ok")
        for name in ("%history", "%lsmagic", "%memory", "%reset", "%who",
                     "%%lua"):
            self.assertIn(name, out)

    def test_who_lists_user_names_with_types_and_reset_clears_them(self):
        self.run_cell("who_a = 1\nwho_t = {}\nfunction who_f() end")
        _, out, _ = self.run_cell("%who")
        self.assertRegex(out, r"who_a\s+number")
        self.assertRegex(out, r"who_t\s+table")
        self.assertRegex(out, r"who_f\s+function")
        self.assertNotIn("string", out.split())  # built-ins are hidden
        reply, out, _ = self.run_cell("%reset -f\nprint(who_a, type(print))")
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(out, "nil\tfunction\n")

    def test_magic_lines_then_code_in_one_cell(self):
        reply, out, msgs = self.run_cell("%who\n6 * 7")
        self.assertEqual(reply["status"], "ok")
        results = [c for t, c in msgs if t == "execute_result"]
        self.assertEqual(results[0]["data"]["text/plain"], "42")

    def test_history_numbers_this_sessions_inputs(self):
        self.run_cell("hist_marker = 12345")
        _, out, _ = self.run_cell("%history -n -l 2")
        self.assertRegex(out, r"\d+: hist_marker = 12345")
        _, out, _ = self.run_cell("%history -g hist_marker")
        self.assertIn("hist_marker = 12345", out)

    def test_memory_limit_can_be_lowered_and_is_enforced(self):
        reply, out, _ = self.run_cell("%memory")
        self.assertEqual(reply["status"], "ok")
        self.assertRegex(out, r"lua memory: .* in use, limit ")
        reply, out, _ = self.run_cell("%memory 32M")
        self.assertIn("limit 32.0 MiB", out)
        reply, _, msgs = self.run_cell(
            "big = {} for i = 1, 1e8 do big[i] = i end")
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "MemoryError")
        reply, _, msgs = self.run_cell("big = nil collectgarbage()\n1 + 1")
        self.assertEqual(reply["status"], "ok")
        self.run_cell("%memory 4G")
        reply, _, _ = self.run_cell("%memory lots")
        self.assertEqual(reply["status"], "error")
        self.assertIn("not a size", reply["evalue"])

    def test_unknown_magic_is_a_usage_error_and_code_does_not_run(self):
        reply, out, msgs = self.run_cell("%nosuchmagic\nprint('ran')")
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "UsageError")
        self.assertIn("%nosuchmagic", reply["evalue"])
        self.assertEqual(out, "")
        self.assertEqual([t for t, _ in msgs], ["error"])

    def test_question_mark_pages_the_magic_doc(self):
        reply, _, _ = self.run_cell("%who?")
        self.assertEqual(reply["payload"][0]["source"], "page")
        self.assertIn("%who", reply["payload"][0]["data"]["text/plain"])

    def test_magic_names_complete(self):
        self.kc.complete("%wh", 3)
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["content"]["matches"], ["%who"])
        self.assertEqual(reply["content"]["cursor_start"], 0)

    def test_magic_cell_is_complete(self):
        self.kc.is_complete("%who")
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["content"]["status"], "complete")


if __name__ == "__main__":
    unittest.main(verbosity=2)
