"""The feature registry through a real client: CSV in, derived columns,
versions that survive a kernel restart, %features, clear errors that leave
the registry as it was."""
import os
import time
import tempfile
import unittest

from jupyter_client.manager import start_new_kernel

TIMEOUT = 60

CSV = ("user_id,plan,tenure,monthly_spend,churned\n"
       "1,basic,3,10.5,true\n"
       "2,pro,12,30.0,false\n"
       "3,basic,,12.25,true\n"
       "4,team,24,99.5,false\n"
       "5,pro,7,31.0,false\n")


def wait_idle(kc, msg_id):
    """Reads IOPub up to msg_id's idle: a request sent before it may be
    aborted after a failure, as ipykernel aborts its queue."""
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if (m["parent_header"].get("msg_id") == msg_id
                and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"):
            return


def interrupt_until_reply(km, kc, tries=10):
    """Interrupts until the running cell replies: an interrupt that lands
    before the cell has started is ignored (as ipykernel ignores one while
    idle), which a loaded machine makes likely. Returns the reply."""
    import queue
    for _ in range(tries):
        time.sleep(0.5)
        km.interrupt_kernel()
        try:
            return kc.get_shell_msg(timeout=2)
        except queue.Empty:
            continue
    raise AssertionError("no reply after %d interrupts" % tries)


def run(kc, code, allow_error=False):
    """Returns (reply content, stdout text, {mime: data} of the result)."""
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    out, result = [], {}
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        t = m["msg_type"]
        if t == "status" and m["content"]["execution_state"] == "idle":
            break
        if t == "stream":
            out.append(m["content"]["text"])
        elif t in ("execute_result", "display_data"):
            result.update(m["content"]["data"])
    c = reply["content"]
    if not allow_error and c["status"] != "ok":
        raise AssertionError("%s failed: %s: %s" % (code, c.get("ename"),
                                                    c.get("evalue")))
    return c, "".join(out), result


class FeatureRegistryTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="trellis-features-")
        self.csv = os.path.join(self.dir, "churn.csv")
        with open(self.csv, "w") as f:
            f.write(CSV)
        self.km, self.kc = start_new_kernel(kernel_name="trellis")

    def tearDown(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)

    def test_registered_versions_survive_a_restart(self):
        kc = self.kc
        run(kc, 'f = features.read_csv("%s")' % self.csv)
        run(kc, "f.spend_per_month = f.monthly_spend / (f.tenure + 1)")
        _, _, r = run(kc, 'features.register("churn_t", f)')
        ref = r["text/plain"].strip('"')
        self.assertRegex(ref, r"^churn_t@\d+$")
        _, before, _ = run(kc, 'print(features.get("%s").monthly_spend:sum())'
                           % ref)
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=TIMEOUT)
        _, after, _ = run(kc, 'g = features.get("%s")\n'
                          'print(g.monthly_spend:sum())' % ref)
        self.assertEqual(before, after)
        _, out, _ = run(kc, "print(#g, #g:columns(), g.plan[2])")
        self.assertEqual(out, "5\t6\tpro\n")
        _, lin, _ = run(kc, 'print(features.version("%s"):lineage())' % ref)
        self.assertIn("sha256", lin)
        self.assertIn("(monthly_spend / (tenure + 1))", lin)

    def test_features_magic_lists_versions_as_a_table(self):
        run(self.kc, 'features.register("listed", features.read_csv("%s"))'
            % self.csv)
        _, _, r = run(self.kc, "%features")
        self.assertIn("<table>", r["text/html"])
        self.assertIn("listed", r["text/html"])
        self.assertIn("listed", r["text/plain"])
        # it takes no arguments, and says so rather than ignore one
        reply, _, _ = run(self.kc, "%features listed", allow_error=True)
        self.assertEqual(reply["ename"], "UsageError")
        self.assertEqual(reply["evalue"], "%features takes no arguments, "
                                          "not 'listed'; usage: %features")

    def test_frames_display_like_pandas(self):
        run(self.kc, 'f = features.read_csv("%s")' % self.csv)
        _, _, r = run(self.kc, "f")
        self.assertIn("5 rows × 5 columns", r["text/html"])
        self.assertIn("[5 rows x 5 columns]", r["text/plain"])
        _, _, r = run(self.kc, "f:describe()")
        self.assertIn("monthly_spend", r["text/html"])

    def test_bad_csv_is_a_clear_error_and_registers_nothing(self):
        bad = os.path.join(self.dir, "bad.csv")
        with open(bad, "w") as f:
            f.write("a,b\n1,2\n3\n")
        _, before, _ = run(self.kc, "print(#features.list())")
        reply, _, _ = run(self.kc, 'x = features.read_csv("%s")' % bad,
                          allow_error=True)
        self.assertEqual(reply["status"], "error")
        self.assertIn("bad.csv", reply["evalue"])
        self.assertIn("line 3", reply["evalue"])
        _, after, _ = run(self.kc, "print(#features.list())")
        self.assertEqual(before, after)
        reply, _, _ = run(self.kc, 'features.get("no_such_frame")',
                          allow_error=True)
        self.assertIn("no_such_frame", reply["evalue"])

    def test_completion_offers_frame_columns(self):
        run(self.kc, 'f = features.read_csv("%s")' % self.csv)
        self.kc.complete("f.mon", 5)
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["content"]["matches"], ["monthly_spend"])

    def test_completion_offers_registered_names_in_strings(self):
        run(self.kc, 'f = features.read_csv("%s")\n'
                     'features.register("churn_a", f)\n'
                     'features.register("churn_b", f)\n'
                     'features.register("churn_b", f)' % self.csv)
        for code, want in [('g = features.get("ch', ["churn_a", "churn_a@1",
                                                      "churn_b", "churn_b@1",
                                                      "churn_b@2"]),
                           ("features.version('churn_b@", ["churn_b@1",
                                                           "churn_b@2"]),
                           ('models.get("ch', [])]:
            self.kc.complete(code, len(code))
            c = self.kc.get_shell_msg(timeout=TIMEOUT)["content"]
            self.assertEqual(c["matches"], want, code)
            self.assertEqual(c["cursor_start"],
                             max(code.rfind('"'), code.rfind("'")) + 1, code)

if __name__ == "__main__":
    unittest.main(verbosity=2)
