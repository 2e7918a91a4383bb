#!/usr/bin/python3
"""soak.py - load on one Trellis kernel: a soak (many execute and complete
requests from concurrent clients) and an interrupt storm, driven by the
lean clients of clients.py (each its own process), every message checked.

    soak.py soak  [--exec 100000] [--complete 10000] [--clients 2]
                  [--depth 16] [--warmup 10000] [--json FILE]
    soak.py storm [--method control|signal] [--seconds 10] [--every 0.01]

Both start a kernel from the `trellis` kernelspec (as a notebook server
does: KernelManager), print a figure block and exit non-zero when a check
fails. Run with Debian's /usr/bin/python3 (pyzmq and jupyter_client live
there), with the kernelspec installed: tests/with_kernelspec.sh does that.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import zmq

from clients import START_TIMEOUT, Wire, endpoint

KERNEL = "trellis"
CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "clients.py")


# ---- the kernel, from its kernelspec ------------------------------------------

def rss_kib(pid):
    """VmRSS of pid in KiB, or None once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def is_sanitized(pid):
    """Whether the kernel runs with AddressSanitizer (libasan mapped)."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


class Kernel:
    """A trellis kernel started by KernelManager; its pid and stderr."""

    def __init__(self):
        from jupyter_client import KernelManager
        self.log = tempfile.NamedTemporaryFile(
            prefix="trellis-soak-", suffix=".log", delete=False)
        self.km = KernelManager(kernel_name=KERNEL)
        self.km.start_kernel(stdout=self.log, stderr=self.log)
        proc = getattr(getattr(self.km, "provisioner", None), "process",
                       None) or self.km.kernel
        self.pid = proc.pid
        exe = os.path.realpath("/proc/%d/exe" % self.pid)
        want = os.path.realpath(self.km.kernel_spec.argv[0])
        if os.path.basename(exe) != os.path.basename(want):
            raise RuntimeError("pid %d runs %s, not %s" % (self.pid, exe,
                                                           want))
        with open(self.km.connection_file) as f:
            self.info = json.load(f)
        self.sanitized = is_sanitized(self.pid)

    def alive(self):
        return self.km.is_alive()

    def stderr(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self):
        try:
            self.km.shutdown_kernel(now=False)
        except Exception:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:
                pass
        self.log.close()
        os.unlink(self.log.name)


class ClientProc:
    """A client process and a thread reading its lines."""

    def __init__(self, kernel, *args):
        cmd = [sys.executable, CLIENTS, "--conn",
               kernel.km.connection_file] + [str(a) for a in args]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.done = 0
        self.ready = threading.Event()
        self.result = None
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            if line.startswith("progress "):
                self.done = int(line.split()[1])
            elif line.startswith("ready"):
                self.ready.set()
            elif line.startswith("result "):
                self.result = json.loads(line[7:])
        self.ready.set()  # exited: no point waiting

    def go(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()

    def wait(self, timeout):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.t.join(5)
        return self.result

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.p.stdin.close()
        self.t.join(5)
        self.p.stdout.close()


def start_together(procs, timeout=START_TIMEOUT):
    for c in procs:
        if not c.ready.wait(timeout) or c.p.poll() is not None:
            raise RuntimeError("a client did not start")
    for c in procs:
        c.go()


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[i]


def scale():
    """TRELLIS_SOAK_SCALE, for slow builds (ASan): 1 when unset."""
    try:
        return float(os.environ.get("TRELLIS_SOAK_SCALE") or 1)
    except ValueError:
        return 1.0


# ---- the soak --------------------------------------------------------------------

def soak(kernel, n_exec=100000, n_complete=10000, clients=2, depth=16,
         warmup=10000, timeout=900):
    """Runs the soak on kernel; returns a dict of figures and `errors`."""
    names = [chr(ord("a") + i) for i in range(clients)]
    per_exec = [n_exec // clients + (i < n_exec % clients)
                for i in range(clients)]
    per_comp = [n_complete // clients + (i < n_complete % clients)
                for i in range(clients)]
    procs = [ClientProc(kernel, "--role", "soak", "--name", names[i],
                        "--base", 10000000 * (i + 1), "--depth", depth,
                        "--exec", per_exec[i], "--complete", per_comp[i],
                        "--progress", 500, "--timeout", timeout)
             for i in range(clients)]
    errors = []
    rss_warm = rss_max = None
    rss_series = []
    try:
        start_together(procs)
        rss_start = rss_kib(kernel.pid)  # up and answering
        t0 = time.perf_counter()
        while any(c.p.poll() is None for c in procs):
            done = sum(c.done for c in procs)
            rss = rss_kib(kernel.pid)
            if rss is None:
                errors.append("the kernel died after %d requests" % done)
                break
            rss_max = max(rss_max or 0, rss)
            if rss_warm is None and done >= warmup:
                rss_warm, warm_at = rss, done
            if not rss_series or done - rss_series[-1][0] >= 10000:
                rss_series.append((done, rss))
            if time.perf_counter() - t0 > timeout + 30:
                errors.append("clients still running after %d s" % timeout)
                break
            time.sleep(0.05)
        results = [c.wait(30) for c in procs]
        wall = time.perf_counter() - t0
    finally:
        for c in procs:
            c.kill()
    rss_end = rss_kib(kernel.pid)
    if None in results:
        errors.append("a client exited without a result")
        results = [r for r in results if r]
    for r in results:
        errors.extend(r["errors"])
        if r["n_errors"] > len(r["errors"]):
            errors.append("%s: ... %d errors in all"
                          % (r["name"], r["n_errors"]))
    # execution counts: every cell of every client counted once, no gaps
    counts = sorted(c for r in results for c in r["counts"])
    if counts and (len(set(counts)) != len(counts)
                   or counts[-1] - counts[0] + 1 != len(counts)):
        errors.append("execution counts %d..%d over %d cells: duplicates "
                      "or gaps" % (counts[0], counts[-1], len(counts)))
    replies = {}
    for r in results:
        for k, v in r["replies"].items():
            replies[k] = replies.get(k, 0) + v
    if replies.get("execute_reply") != n_exec:
        errors.append("%s execute_reply for %d execute_request"
                      % (replies.get("execute_reply"), n_exec))
    if replies.get("complete_reply") != n_complete:
        errors.append("%s complete_reply for %d complete_request"
                      % (replies.get("complete_reply"), n_complete))
    lat = sorted(v for r in results for v in r["exec_latency_us"])
    clat = sorted(v for r in results for v in r["complete_latency_us"])
    if rss_warm is None:
        rss_warm, warm_at = rss_start, 0
    return {
        "requests": n_exec + n_complete, "execute": n_exec,
        "complete": n_complete, "clients": clients, "depth": depth,
        "replies": replies, "wall_s": wall,
        "rate": (n_exec + n_complete) / wall if wall else 0.0,
        "exec_p50_ms": percentile(lat, 0.50) / 1000,
        "exec_p99_ms": percentile(lat, 0.99) / 1000,
        "complete_p50_ms": percentile(clat, 0.50) / 1000,
        "complete_p99_ms": percentile(clat, 0.99) / 1000,
        "rss_start_kib": rss_start, "rss_warm_kib": rss_warm,
        "warm_at": warm_at, "rss_end_kib": rss_end, "rss_max_kib": rss_max,
        "rss_growth": ((rss_end - rss_warm) / rss_warm
                       if rss_end and rss_warm else float("nan")),
        "rss_series": rss_series,
        "iopub_per_client": [r["iopub_own"] + r["iopub_other"]
                             for r in results],
        "client_wall_s": [round(r["wall"], 2) for r in results],
        "sanitized": kernel.sanitized,
        "errors": errors,
    }


def soak_report(f):
    mib = lambda k: (k or 0) / 1024.0  # noqa: E731
    lines = [
        "== soak: %d requests (%d execute + %d complete) from %d clients, "
        "%d in flight each%s"
        % (f["requests"], f["execute"], f["complete"], f["clients"],
           f["depth"], ", ASan build" if f["sanitized"] else ""),
        "  replies            %s" % f["replies"],
        "  wall time          %.1f s (clients %s s)" % (f["wall_s"],
                                                        f["client_wall_s"]),
        "  requests/s         %.0f" % f["rate"],
        "  execute round trip p50 %.3f ms  p99 %.3f ms  (send -> "
        "execute_reply, %d in flight)" % (f["exec_p50_ms"], f["exec_p99_ms"],
                                          f["depth"]),
        "  complete round trip p50 %.3f ms  p99 %.3f ms"
        % (f["complete_p50_ms"], f["complete_p99_ms"]),
        "  kernel VmRSS       start %.2f MiB, after %d requests %.2f MiB, "
        "end %.2f MiB (max %.2f): growth %+.2f%%"
        % (mib(f["rss_start_kib"]), f["warm_at"], mib(f["rss_warm_kib"]),
           mib(f["rss_end_kib"]), mib(f["rss_max_kib"]),
           100 * f["rss_growth"]),
        "  VmRSS by requests  " + ", ".join(
            "%dk: %.2f" % (n // 1000, mib(k)) for n, k in f["rss_series"]),
        "  iopub messages seen by each client %s" % f["iopub_per_client"],
        "  errors             %d" % len(f["errors"]),
    ]
    lines += ["    " + e for e in f["errors"][:20]]
    return "\n".join(lines)


# ---- the interrupt storm -----------------------------------------------------------

class Interrupter:
    """Interrupts the way a client can: interrupt_request on control (what
    jupyter_client sends for interrupt_mode "message"), or SIGINT, both
    through KernelManager (the kernelspec's interrupt_mode "signal": the
    process group) and to the process itself."""

    def __init__(self, kernel, method):
        self.kernel = kernel
        self.method = method
        self.sent = 0
        self.replies = 0
        self.errors = []
        self.pending = set()
        if method == "control":
            self.wire = Wire(kernel.info["key"],
                             kernel.info.get("signature_scheme"))
            self.ctx = zmq.Context()
            self.sock = self.ctx.socket(zmq.DEALER)
            self.sock.setsockopt(zmq.IDENTITY, self.wire.bsession)
            self.sock.setsockopt(zmq.LINGER, 0)
            self.sock.connect(endpoint(kernel.info, "control_port"))

    def fire(self):
        if self.method == "control":
            msg_id, frames = self.wire.frames("interrupt_request", {})
            self.pending.add(msg_id)
            self.sock.send_multipart(frames)
            self.collect(0)
        elif self.sent % 2 == 0:
            self.kernel.km.interrupt_kernel()  # killpg, as Jupyter does
        else:
            os.kill(self.kernel.pid, signal.SIGINT)
        self.sent += 1

    def collect(self, timeout_ms):
        if self.method != "control":
            return
        while self.sock.poll(timeout_ms):
            timeout_ms = 0
            try:
                header, parent, _, content = self.wire.parts(
                    self.sock.recv_multipart())
            except ValueError as e:
                self.errors.append("control: %s" % e)
                continue
            mid = json.loads(parent).get("msg_id")
            mtype = json.loads(header).get("msg_type")
            if mid not in self.pending or mtype != "interrupt_reply":
                self.errors.append("control: unexpected %s to %s"
                                   % (mtype, mid))
                continue
            self.pending.discard(mid)
            self.replies += 1
            if json.loads(content).get("status") != "ok":
                self.errors.append("interrupt_reply %s" % content)

    def finish(self, timeout):
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            self.collect(100)
        if self.method == "control":
            if self.pending:
                self.errors.append("%d interrupt_request without a reply"
                                   % len(self.pending))
            self.sock.close(0)
            self.ctx.term()


def storm(kernel, method="control", seconds=10.0, every=0.01, timeout=120):
    """Interrupts every `every` s for `seconds` while one client runs cells
    (endless loops among them) and another asks for completions; then
    checks the kernel answers normally. Returns figures and `errors`."""
    from jupyter_client import BlockingKernelClient
    procs = [ClientProc(kernel, "--role", "execute", "--name", "a",
                        "--depth", 2, "--seconds", seconds,
                        "--timeout", timeout),
             ClientProc(kernel, "--role", "complete", "--name", "b",
                        "--depth", 1, "--seconds", seconds,
                        "--timeout", timeout)]
    irq = Interrupter(kernel, method)
    errors = []
    try:
        start_together(procs)
        rss_before = rss_kib(kernel.pid)  # up and answering
        t0 = time.monotonic()
        tick = t0
        while tick < t0 + seconds:
            irq.fire()
            tick += every
            pause = tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        storm_s = time.monotonic() - t0
        irq.finish(30)
        results = [c.wait(timeout) for c in procs]
    finally:
        for c in procs:
            c.kill()
    errors.extend(irq.errors)
    if None in results:
        errors.append("a client exited without a result")
        results = [r for r in results if r]
    for r in results:
        errors.extend(r["errors"])
    alive = kernel.alive()
    if not alive:
        errors.append("the kernel died")
    after = {}
    if alive:
        kc = BlockingKernelClient(connection_file=kernel.km.connection_file)
        kc.load_connection_file()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=30)
            r = kc.execute_interactive("answer = 6 * 7\nanswer", timeout=30,
                                       output_hook=lambda m: after.update(
                                           {m["msg_type"]: m["content"]}))
            after["reply"] = r["content"]
            ok = (r["content"]["status"] == "ok" and after.get(
                "execute_result", {}).get("data", {}).get("text/plain")
                == "42")
            if not ok:
                errors.append("after the storm, `6 * 7` gave %s / %s"
                              % (r["content"], after.get("execute_result")))
            kc.complete("string.fo", 9)
            c = kc.get_shell_msg(timeout=30)["content"]
            if c.get("matches") != ["format"]:
                errors.append("after the storm, completion gave %s" % c)
        except Exception as e:
            errors.append("after the storm: %r" % e)
        finally:
            kc.stop_channels()
    outcomes = {}
    replies = 0
    for r in results:
        replies += sum(r["replies"].values())
        for k, v in r["outcomes"].items():
            outcomes[k] = outcomes.get(k, 0) + v
    return {"method": method, "seconds": storm_s, "every": every,
            "interrupts": irq.sent, "interrupt_replies": irq.replies,
            "requests": sum(r["done"] for r in results), "replies": replies,
            "outcomes": outcomes, "rss_before_kib": rss_before,
            "rss_after_kib": rss_kib(kernel.pid),
            "sanitized": kernel.sanitized, "errors": errors}


def storm_report(f):
    how = {"control": "interrupt_request on control",
           "signal": "SIGINT (KernelManager.interrupt_kernel and kill)"}
    lines = [
        "== interrupt storm: %s every %.0f ms for %.1f s%s"
        % (how.get(f["method"], f["method"]), f["every"] * 1000,
           f["seconds"], ", ASan build" if f["sanitized"] else ""),
        "  interrupts sent    %d (interrupt_reply: %s)"
        % (f["interrupts"], f["interrupt_replies"]
           if f["method"] == "control" else "n/a"),
        "  requests / replies %d / %d" % (f["requests"], f["replies"]),
        "  outcomes           %s" % ", ".join(
            "%s %d" % kv for kv in sorted(f["outcomes"].items())),
        "  kernel VmRSS       before %.2f MiB, after %.2f MiB"
        % ((f["rss_before_kib"] or 0) / 1024,
           (f["rss_after_kib"] or 0) / 1024),
        "  errors             %d" % len(f["errors"]),
    ]
    lines += ["    " + e for e in f["errors"][:20]]
    return "\n".join(lines)


# ---- command line -----------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("soak")
    s.add_argument("--exec", dest="exec_n", type=int, default=100000)
    s.add_argument("--complete", dest="complete_n", type=int, default=10000)
    s.add_argument("--clients", type=int, default=2)
    s.add_argument("--depth", type=int, default=16)
    s.add_argument("--warmup", type=int, default=10000)
    s.add_argument("--timeout", type=float, default=900)
    s.add_argument("--json")
    t = sub.add_parser("storm")
    t.add_argument("--method", choices=("control", "signal"),
                   default="control")
    t.add_argument("--seconds", type=float, default=10.0)
    t.add_argument("--every", type=float, default=0.01)
    t.add_argument("--json")
    args = ap.parse_args()
    kernel = Kernel()
    try:
        if args.cmd == "soak":
            f = soak(kernel, args.exec_n, args.complete_n, args.clients,
                     args.depth, args.warmup, args.timeout)
            print(soak_report(f))
        else:
            f = storm(kernel, args.method, args.seconds, args.every)
            print(storm_report(f))
    finally:
        kernel.stop()
    if args.json:
        with open(args.json, "w") as out:
            json.dump(f, out, indent=1)
    sys.exit(1 if f["errors"] else 0)


if __name__ == "__main__":
    main()
