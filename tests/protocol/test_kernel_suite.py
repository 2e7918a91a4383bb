"""The jupyter_kernel_test suite (Debian python3-jupyter-kernel-test) against
the Trellis kernelspec: every test it offers, with Lua samples."""
import unittest

import jupyter_kernel_test


class TrellisKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "trellis"
    language_name = "lua"
    file_extension = ".lua"

    code_hello_world = 'print("hello, world")'
    code_stderr = 'io.stderr:write("oops\\n")'
    code_page_something = "?print"
    code_generate_error = 'error("boom")'
    code_clear_output = "clear_output()"

    completion_samples = [
        {"text": "pri", "matches": {"print"}},
        {"text": "string.up", "matches": {"upper"}},
        {"text": "zzz_no_such_name", "matches": set()},
    ]
    complete_code_samples = ["1", 'print("hello, world")', "x = 1",
                             "for i = 1, 3 do print(i) end"]
    incomplete_code_samples = ["for i = 1, 3 do", "function f()",
                               "x = {", 's = "abc', "s = [[long"]
    invalid_code_samples = ["x = = 1", "1 +* 2", "end"]

    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "x = 6\nx * 7", "result": "42"},
        {"code": '"hi" .. "!"', "result": '"hi!"'},
        {"code": "{1, 2, 3}", "result": "{1, 2, 3}"},
    ]
    code_display_data = [
        {"code": 'display("<b>bold</b>", "text/html")', "mime": "text/html"},
        {"code": "display({{a = 1}, {a = 2}})", "mime": "text/html"},
        {"code": "display(42)", "mime": "text/plain"},
    ]
    code_history_pattern = "1 + *"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "print"


if __name__ == "__main__":
    unittest.main(verbosity=2)
