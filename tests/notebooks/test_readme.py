"""The README's tour is real output: its cells run in a fresh kernel from the
repository's root, and what each prints must be what the README shows, but
for timings, timestamps and who ran it.

Run through tests/with_kernelspec.sh (ctest does)."""
import os
import re
import unittest

from jupyter_client.manager import start_new_kernel

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "..", ".."))
INDENT = " " * 8

# what may differ from run to run
VOLATILE = [
    (re.compile(r"\d+(\.\d+)? (ns|µs|ms|s)\b"), "<time>"),
    (re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z"), "<when>"),
    (re.compile(r"[\d,]+ loops? each"), "<n> loops each"),
    (re.compile(r"audit log entry (\d+): \S+"), r"audit log entry \1: <who>"),
]


def normalize(text):
    lines = []
    for line in text.split("\n"):
        line = line.rstrip()
        for pattern, repl in VOLATILE:
            line = pattern.sub(repl, line)
        if line:
            lines.append(line)
    return lines


def tour_cells():
    """[(code, expected output)] from the README's tour block."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    section = readme[readme.index("## A tour"):]
    block = section[section.index("```\n") + 4:]
    block = block[:block.index("```\n")]
    cells = []
    for chunk in re.split(r"^In \[\d+\]: ", block, flags=re.M)[1:]:
        lines = chunk.split("\n")
        code = [lines[0]]
        i = 1
        while i < len(lines) and lines[i].startswith(INDENT):
            code.append(lines[i][len(INDENT):])
            i += 1
        out = []
        for line in lines[i:]:
            m = re.match(r"Out\[\d+\]: (.*)", line)
            if m:
                out.append(m.group(1))
            elif line.startswith(INDENT) and out:
                out.append(line[len(INDENT):])
            else:
                out.append(line)
        cells.append(("\n".join(code), "\n".join(out)))
    return cells


class ReadmeTour(unittest.TestCase):
    def test_the_tour_prints_what_the_readme_shows(self):
        cells = tour_cells()
        self.assertGreaterEqual(len(cells), 5)
        env = dict(os.environ)
        km, kc = start_new_kernel(kernel_name="trellis", cwd=ROOT, env=env)
        try:
            for code, expected in cells:
                got = self.run_cell(kc, code)
                self.assertEqual(normalize(got), normalize(expected), code)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    @staticmethod
    def run_cell(kc, code):
        msg_id = kc.execute(code)
        parts = []
        displays = {}  # display_id -> index in parts
        while True:
            m = kc.get_iopub_msg(timeout=120)
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            t, c = m["msg_type"], m["content"]
            if t == "stream":
                parts.append(c["text"])
            elif t in ("display_data", "execute_result"):
                display_id = c.get("transient", {}).get("display_id")
                if display_id:
                    displays[display_id] = len(parts)
                parts.append(c["data"]["text/plain"] + "\n")
            elif t == "update_display_data":
                # a progress bar: the README shows its last state
                display_id = c.get("transient", {}).get("display_id")
                parts[displays[display_id]] = c["data"]["text/plain"] + "\n"
            elif t == "error":
                parts.append("%s: %s\n" % (c["ename"], c["evalue"]))
            elif t == "status" and c["execution_state"] == "idle":
                break
        kc.get_shell_msg(timeout=120)
        return "".join(parts)


if __name__ == "__main__":
    unittest.main()
