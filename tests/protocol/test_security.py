"""Security policy (issue 10): where the kernel listens, which connection
files it refuses, which files it makes private, and that it runs no other
program. The signature, replay and size checks are in test_protocol.py and
test_hostile.py."""
import json
import os
import select
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.localinterfaces import public_ips
from jupyter_client.manager import KernelManager

from test_features import run

PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port",
              "hb_port")


def trellis_binary():
    return KernelSpecManager().get_kernel_spec("trellis").argv[0]


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def listening(port):
    """The local addresses (hex, as /proc/net/tcp writes them) listening on
    port, over IPv4 and IPv6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                addr, hexport = fields[1].split(":")
                if fields[3] == "0A" and int(hexport, 16) == port:
                    found.append(addr)
    return found


class ListenAddress(unittest.TestCase):
    def test_sockets_listen_on_the_connection_ip_only(self):
        km = KernelManager(kernel_name="trellis")
        km.ip = "127.0.0.1"
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=30)
            self.assertEqual(run(kc, "1 + 1")[2]["text/plain"], "2")
            info = km.get_connection_info()
            others = [ip for ip in public_ips() if ":" not in ip]
            for name in PORT_NAMES:
                # 127.0.0.1 in /proc's little-endian hex
                self.assertEqual(listening(info[name]), ["0100007F"], name)
                for ip in others:
                    with socket.socket() as s:
                        with self.assertRaises(ConnectionRefusedError,
                                               msg="%s on %s" % (name, ip)):
                            s.connect((ip, info[name]))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


class ConnectionFileMode(unittest.TestCase):
    def start(self, mode, extra_env=None):
        """Starts the kernel on a connection file of the given mode; returns
        the process."""
        tmp = tempfile.mkdtemp(dir=os.environ.get("TRELLIS_TEST_TMP"))
        path = os.path.join(tmp, "kernel.json")
        info = dict(zip(PORT_NAMES, free_ports(5)), ip="127.0.0.1",
                    transport="tcp", signature_scheme="hmac-sha256",
                    key="0123456789abcdef")
        with open(path, "w") as f:
            json.dump(info, f)
        os.chmod(path, mode)
        env = dict(os.environ)
        env.pop("TRELLIS_ALLOW_SHARED_CONNECTION_FILE", None)
        env.update(extra_env or {})
        self.path = path
        return subprocess.Popen([trellis_binary(), "kernel", "-f", path],
                                stderr=subprocess.PIPE, text=True, env=env)

    def test_key_every_user_can_read_is_refused(self):
        p = self.start(0o644)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("lets every user on this machine read its key", err)
        self.assertNotIn("Traceback", err)
        self.assertIn("chmod 600 '%s'" % self.path, err)

    def test_refusal_can_be_overridden_with_a_warning(self):
        p = self.start(0o644, {"TRELLIS_ALLOW_SHARED_CONNECTION_FILE": "1"})
        self.assert_starts_with_warning(p, "starting anyway")

    def test_key_its_group_can_read_starts_with_a_warning(self):
        p = self.start(0o640)
        self.assert_starts_with_warning(p, "lets its group read the key")

    def assert_starts_with_warning(self, p, needle):
        try:
            # a missing warning must fail the test, not hang it
            ready, _, _ = select.select([p.stderr], [], [], 30)
            self.assertTrue(ready, "no line on stderr in 30 s")
            line = p.stderr.readline()
            self.assertIn(needle, line)
            time.sleep(0.5)
            self.assertIsNone(p.poll(), "the kernel exited")
        finally:
            p.kill()
            p.communicate()


class PrivateFiles(unittest.TestCase):
    def test_registry_and_history_are_created_private(self):
        tmp = tempfile.mkdtemp(dir=os.environ.get("TRELLIS_TEST_TMP"))
        registry = os.path.join(tmp, "registry.sqlite")
        history = os.path.join(tmp, "history.sqlite")
        old = os.umask(0o022)
        try:
            km = KernelManager(kernel_name="trellis")
            km.start_kernel(env=dict(os.environ, TRELLIS_REGISTRY=registry,
                                     TRELLIS_HISTORY=history))
        finally:
            os.umask(old)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=30)
            csv = os.path.join(tmp, "t.csv")
            with open(csv, "w") as f:
                f.write("x\n1\n2\n")
            run(kc, 'features.register("t", features.read_csv(%r))' % csv)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        for path in (registry, history):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600,
                             path)


class NoShellOut(unittest.TestCase):
    def test_the_kernel_imports_no_way_to_run_a_program(self):
        # User Lua code may call os.execute, as Python code may call
        # os.system: that is the user's own doing. The kernel itself never
        # hands text to a shell or another program.
        out = subprocess.run(["nm", "-D", "--undefined-only",
                              trellis_binary()], capture_output=True,
                             text=True, check=True).stdout
        imported = {line.split()[-1].split("@")[0]
                    for line in out.splitlines() if line.strip()}
        for name in ("system", "popen", "fork", "vfork", "execv", "execve",
                     "execvp", "execl", "execlp", "execle", "posix_spawn",
                     "posix_spawnp"):
            self.assertNotIn(name, imported)
        self.assertIn("zmq_bind", imported)  # the list is the real one


if __name__ == "__main__":
    unittest.main()
