"""Faults: a kernel killed (kill -9) while it registers a frame or trains a
model, a full disk, a read-only registry, and a client that vanishes in the
middle of a cell.

How each fault is made (as root in a container that may lack
CAP_SYS_ADMIN, so nothing here needs mount except the tests that say so):

- kill -9: SIGKILL to the kernel process at points read from the files
  themselves (the -wal file filling during the write, the database file
  growing during the checkpoint that follows the commit), at times during
  training, and once the cell has replied. Each run starts from a copy of
  a cleanly closed registry, so the -wal file starts empty and its size is
  the write's progress. After each kill a copy of the files is checked
  from Python (integrity_check, the set of versions, every version's
  content hash recomputed from its column blobs, every model's artifact
  hash), then a new kernel opens the same files, reads every version back,
  registers again and shuts down cleanly.
- full disk: RLIMIT_FSIZE set on the running kernel (prlimit), so writes
  past the limit fail with EFBIG, as on a full disk; it needs no privilege.
  Where mount is allowed, also a real full file system (a small tmpfs).
- read-only registry: root ignores file modes, so the kernel is started
  through setpriv without CAP_DAC_OVERRIDE (and the other capabilities that
  bypass file modes): a 0400 file is then read-only to it, as to any user.
  Where mount is allowed, also a read-only bind mount.
- a client that vanishes: a client in a subprocess starts a cell and is
  killed (SIGKILL); a new client connects with the same connection file.

Run through ../with_kernelspec.sh; every wait has a timeout.
"""
import array
import contextlib
import hashlib
import json
import os
import queue
import resource
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel

KERNEL = "trellis"
TIMEOUT = 60

# The frame whose registration is killed: ROWS rows of an i64 column `a`
# (1..ROWS) and COLS f64 columns c_j = a * j + K, where K tells the runs
# apart. 34 MB of column data: long enough to kill at many points of the
# write, short enough for 15 runs.
ROWS = 1 << 18
COLS = 16
FRAME_BYTES = ROWS * (COLS + 1) * 8

BIG_FRAME = """
local t = {}
for i = 1, %(rows)d do t[i] = i end
big = features.frame{a = t}
for j = 1, %(cols)d do big["c" .. j] = big.a * j + %(k)d end
"""
REGISTER_BIG = BIG_FRAME + 'features.register("big", big)\n'

TRAIN_ROWS = """
local a, b = {}, {}
for i = 1, 20000 do
  a[i] = (i * 7919) % 1000 / 1000
  b[i] = (i * 104729) % 997 / 997
end
tr = features.frame{a = a, b = b}
tr.c = tr.a * tr.b
tr.y = (tr.a + tr.b * 0.5 + tr.c):gt(0.9)
features.register("train_rows", tr)
"""
# rounds enough for a second or two of training (one thread), so kills
# land inside it
TRAIN_ROUNDS = 200
TRAIN = ('m = models.train{name = "m", data = "train_rows@1", target = "y",'
         ' params = {max_depth = 6, eta = 0.1, num_boost_round = %d,'
         ' nthread = 1}}')

# What a restarted kernel reads back: every frame version (each load
# recomputes the content hash) with its row count and the sum of `a`, and
# every model version (each load checks the artifact hash).
READ_BACK = """
for _, e in ipairs(features.list()) do
  local ref = e.name .. "@" .. e.version
  local g = features.get(ref)
  print("frame", ref, #g, string.format("%.17g", g.a:sum()))
end
for _, e in ipairs(models.list()) do
  local ref = e.name .. "@" .. e.version
  print("model", models.get(ref).ref)
end
"""


# ---- kernels and cells -------------------------------------------------------

def start_kernel(registry, kernel_name=KERNEL):
    env = dict(os.environ, TRELLIS_REGISTRY=registry)
    return start_new_kernel(kernel_name=kernel_name, env=env,
                            startup_timeout=TIMEOUT)


def stop_kernel(km, kc, now=False):
    for step in (kc.stop_channels,
                 lambda: km.shutdown_kernel(now=now),
                 km.cleanup_resources):
        try:
            step()
        except Exception:
            pass


@contextlib.contextmanager
def kernel(registry, kernel_name=KERNEL):
    km, kc = start_kernel(registry, kernel_name)
    try:
        yield km, kc
    finally:
        stop_kernel(km, kc)


def pid_of(km):
    return km.provisioner.process.pid


def run(kc, code, allow_error=False, timeout=TIMEOUT):
    """(reply content, stdout) of code; fails on an error unless allowed."""
    msg_id = kc.execute(code, store_history=False)
    out = []
    reply = None
    idle = False
    deadline = time.monotonic() + timeout
    while reply is None or not idle:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no reply in %ds to %r" % (timeout,
                                                            code[:80]))
        if reply is None:
            try:
                m = kc.get_shell_msg(timeout=min(left, 0.05))
                if m["parent_header"].get("msg_id") == msg_id:
                    reply = m
            except queue.Empty:
                pass
        if idle:
            continue
        try:
            m = kc.get_iopub_msg(timeout=min(left, 0.05))
        except queue.Empty:
            continue
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "stream":
            out.append(m["content"]["text"])
        idle = (m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle")
    c = reply["content"]
    if not allow_error and c["status"] != "ok":
        raise AssertionError("%r failed: %s: %s" % (code[:80], c.get("ename"),
                                                     c.get("evalue")))
    return c, "".join(out)


def size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


# ---- the registry file, read from Python ----------------------------------------

def u64(v):
    return struct.pack("<Q", v)


def hash_blob(h, b):
    """As store.c's hash_blob: length-prefixed; NULL is length 2^64-1."""
    if b is None:
        h.update(u64(2 ** 64 - 1))
    else:
        h.update(u64(len(b)))
        h.update(b)


def column_sum(dtype, data, valid):
    a = array.array({"f64": "d", "i64": "q"}[dtype])
    a.frombytes(data)
    if valid is not None:
        return sum(x for x, ok in zip(a, valid) if ok)
    return sum(a)


def read_registry(path):
    """Checks the registry at path (closed: no kernel has it open) and
    returns {"frames": {ref: (rows, sum of a, first c1)}, "models":
    {ref}}. Fails on any damage: integrity_check, a version whose columns
    do not hash to its content_hash, a model whose artifact does not hash
    to its artifact_hash or that has no stage history."""
    con = sqlite3.connect(path)
    try:
        ok = con.execute("PRAGMA integrity_check").fetchall()
        assert ok == [("ok",)], "integrity_check: %r" % ok
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        frames = {}
        for name, version, nrows, ncols, want in con.execute(
                "SELECT name, version, nrows, ncols, content_hash FROM "
                "frames"):
            ref = "%s@%d" % (name, version)
            h = hashlib.sha256(u64(nrows))
            a_sum = first_c1 = None
            cols = con.execute(
                "SELECT position, col_name, dtype, data, valid, dictionary "
                "FROM columns WHERE name = ? AND version = ? ORDER BY "
                "position", (name, version)).fetchall()
            assert [c[0] for c in cols] == list(range(ncols)), \
                "%s: columns %r of %d" % (ref, [c[0] for c in cols], ncols)
            for _, col, dtype, data, valid, dictionary in cols:
                for b in (col.encode(), dtype.encode(), data):
                    hash_blob(h, b)
                hash_blob(h, valid)
                hash_blob(h, dictionary)
                if col == "a":
                    a_sum = column_sum(dtype, data, valid)
                if col == "c1":
                    first_c1 = column_sum(dtype, data[:8], None)
            assert h.hexdigest() == want, "%s: content hash" % ref
            frames[ref] = (nrows, a_sum, first_c1)
        models = set()
        for name, version, artifact, want in con.execute(
                "SELECT name, version, artifact, artifact_hash FROM models"):
            ref = "%s@%d" % (name, version)
            assert hashlib.sha256(artifact).hexdigest() == want, \
                "%s: artifact hash" % ref
            n = con.execute("SELECT count(*) FROM model_stages WHERE name = ?"
                            " AND version = ?", (name, version)).fetchone()
            assert n[0] >= 1, "%s: no stage history" % ref
            models.add(ref)
        orphans = con.execute("SELECT count(*) FROM model_stages s WHERE NOT "
                              "EXISTS (SELECT 1 FROM models m WHERE m.name = "
                              "s.name AND m.version = s.version)").fetchone()
        assert orphans[0] == 0, "stage history of a model that is not there"
        return {"frames": frames, "models": models}
    finally:
        con.close()


def snapshot(path, into):
    """Copies the registry as a kill left it (the file and its -wal, not
    the -shm, which a new connection rebuilds from the -wal as a restarted
    kernel does) and reads the copy, so the original stays for the kernel
    to recover."""
    assert not os.path.exists(path + "-journal"), "a rollback journal in " \
        "WAL mode"
    copy = os.path.join(into, "snapshot.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(copy + suffix):
            os.unlink(copy + suffix)
    shutil.copyfile(path, copy)
    if os.path.exists(path + "-wal"):
        shutil.copyfile(path + "-wal", copy + "-wal")
    return read_registry(copy)


def close_cleanly(path):
    """Checkpoints everything into the file and removes the -wal, as the
    last connection to close does."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    assert not os.path.exists(path + "-wal")


# ---- killing at a point ----------------------------------------------------------

def kill_at(km, kc, msg_id, registry, point):
    """Waits for point, a (kind, value) pair, then SIGKILLs the kernel:
    "wal" kills once the -wal file holds value bytes, "db" once the
    database file has grown by value bytes (the checkpoint copies the
    committed pages into it), "run" value seconds after the cell started
    (its execute_input), "idle" after the cell replied. Returns what the
    files held once the kernel was dead and whether the cell had replied."""
    kind, value = point
    wal = registry + "-wal"
    db0 = size(registry)
    started = None
    replied = False
    deadline = time.monotonic() + TIMEOUT
    next_look = 0.0
    while True:
        now = time.monotonic()
        if now > deadline:
            raise AssertionError("kill point %r never came" % (point,))
        if kind == "wal" and size(wal) >= value:
            break
        if kind == "db" and size(registry) - db0 >= value:
            break
        if kind == "run" and started is not None and now - started >= value:
            break
        if now < next_look:
            continue
        # the channels every few ms: the files are what must be watched
        # closely
        next_look = now + 0.003
        while started is None:
            try:
                m = kc.get_iopub_msg(timeout=0)
            except queue.Empty:
                break
            if (m["parent_header"].get("msg_id") == msg_id
                    and m["msg_type"] == "execute_input"):
                started = time.monotonic()
        try:
            m = kc.get_shell_msg(timeout=0)
        except queue.Empty:
            continue
        if m["parent_header"].get("msg_id") == msg_id:
            replied = True
            if m["content"]["status"] != "ok":
                raise AssertionError("the cell failed before its kill: %s"
                                     % m["content"].get("evalue"))
            break
    os.kill(pid_of(km), signal.SIGKILL)
    km.provisioner.process.wait()
    return {"wal": size(wal), "db_growth": size(registry) - db0,
            "replied": replied}


class KillDuringWrite(unittest.TestCase):
    """kill -9 while a frame is registered or a model trained: afterwards
    the file is intact and holds the old versions or the old ones and the
    new one, whole; a new kernel on the same file reads every version and
    registers again."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="trellis-faults-")
        cls.baseline = os.path.join(cls.dir, "baseline.sqlite")
        cls.registry = os.path.join(cls.dir, "registry.sqlite")
        cls.report = []
        with kernel(cls.baseline) as (km, kc):
            run(kc, 'features.register("small", features.frame{a = {1, 2, '
                    '3}})')
            run(kc, REGISTER_BIG % {"rows": ROWS, "cols": COLS, "k": 0})
            run(kc, TRAIN_ROWS)
            t0 = time.monotonic()
            run(kc, TRAIN % TRAIN_ROUNDS)
            cls.train_seconds = time.monotonic() - t0
        close_cleanly(cls.baseline)
        cls.old = read_registry(cls.baseline)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        for line in cls.report:
            print(line, file=sys.stderr)

    def fresh_registry(self):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.registry + suffix):
                os.unlink(self.registry + suffix)
        shutil.copyfile(self.baseline, self.registry)

    def kill_once(self, code, point):
        """Runs code on a kernel over a fresh copy of the baseline, kills it
        at point; returns (what the files held, the registry read back)."""
        self.fresh_registry()
        km, kc = start_kernel(self.registry)
        try:
            msg_id = kc.execute(code, store_history=False)
            state = kill_at(km, kc, msg_id, self.registry, point)
        finally:
            stop_kernel(km, kc, now=True)
        return state, snapshot(self.registry, self.dir)

    def restart_and_register(self, seen, register):
        """A new kernel on the files the kill left: it reads back every
        version Python saw (same rows and sums), registers with `register`,
        and after a clean shutdown nothing of the crash is left over."""
        with kernel(self.registry) as (km, kc):
            _, out = run(kc, READ_BACK)
            frames, models = {}, set()
            for line in out.splitlines():
                f = line.split("\t")
                if f[0] == "frame":
                    frames[f[1]] = (int(f[2]), float(f[3]))
                else:
                    models.add(f[1])
            self.assertEqual(set(frames), set(seen["frames"]))
            for ref, (rows, a_sum, _) in seen["frames"].items():
                self.assertEqual(frames[ref][0], rows, ref)
                # the kernel sums in its own order
                self.assertAlmostEqual(frames[ref][1], a_sum,
                                       delta=abs(a_sum) * 1e-12, msg=ref)
            self.assertEqual(models, seen["models"])
            run(kc, register)
            self.assertEqual(run(kc, "print(1 + 1)")[1], "2\n")
        self.assertFalse(os.path.exists(self.registry + "-wal"),
                         "a clean shutdown left the -wal file")
        read_registry(self.registry)

    def outcome(self, seen, new_frames=(), new_models=()):
        """"old" or "new", failing on any other set of versions."""
        old_f, old_m = set(self.old["frames"]), self.old["models"]
        got_f, got_m = set(seen["frames"]), seen["models"]
        self.assertEqual({r: v for r, v in seen["frames"].items()
                          if r in old_f}, self.old["frames"])
        if got_f == old_f and got_m == old_m:
            return "old"
        self.assertEqual((got_f, got_m), (old_f | set(new_frames),
                                          old_m | set(new_models)),
                         "versions neither old nor old + new")
        return "new"

    def test_kill_while_registering_a_frame(self):
        wal_points = [1, FRAME_BYTES // 10, FRAME_BYTES * 3 // 10,
                      FRAME_BYTES // 2, FRAME_BYTES * 7 // 10,
                      FRAME_BYTES * 9 // 10, FRAME_BYTES]
        db_points = [1, FRAME_BYTES // 4, FRAME_BYTES // 2,
                     FRAME_BYTES * 3 // 4, FRAME_BYTES * 49 // 50]
        points = ([("run", 0.02)] + [("wal", n) for n in wal_points]
                  + [("db", n) for n in db_points] + [("idle", None)])
        outcomes = []
        for k, point in enumerate(points, start=1):
            code = REGISTER_BIG % {"rows": ROWS, "cols": COLS, "k": k}
            state, seen = self.kill_once(code, point)
            got = self.outcome(seen, new_frames=["big@2"])
            if got == "new":
                # the whole new frame: its own K, all its rows
                self.assertEqual(seen["frames"]["big@2"][0], ROWS)
                self.assertEqual(seen["frames"]["big@2"][2], 1.0 + k)
            # what must have happened, from what the files held at the kill
            if state["replied"] or state["db_growth"] > 0:
                self.assertEqual(got, "new", "committed, then lost: %r"
                                 % state)
            elif state["wal"] < FRAME_BYTES:
                self.assertEqual(got, "old", "registered from a WAL too "
                                 "short to hold it: %r" % state)
            outcomes.append(got)
            self.report.append(
                "frame kill %-5s %-9s -> wal %9d, db +%9d, replied %-5s: %s"
                % (point[0], point[1], state["wal"], state["db_growth"],
                   state["replied"], got))
            self.restart_and_register(
                seen, 'features.register("small", features.frame{a = {4}})')
        # the points fell both before and after the commit
        self.assertGreaterEqual(outcomes.count("old"), 4, outcomes)
        self.assertGreaterEqual(outcomes.count("new"), 4, outcomes)

    def test_kill_while_training_and_registering_a_model(self):
        # times well inside the training, should this run be faster than
        # the baseline's
        t = self.train_seconds
        points = [("run", t * 0.05), ("run", t * 0.2), ("run", t * 0.4),
                  ("wal", 1), ("wal", 64 << 10), ("idle", None)]
        outcomes = []
        for point in points:
            state, seen = self.kill_once(TRAIN % TRAIN_ROUNDS, point)
            got = self.outcome(seen, new_models=["m@2"])
            if state["replied"]:
                self.assertEqual(got, "new")
            elif state["wal"] == 0:
                self.assertEqual(got, "old")
            outcomes.append(got)
            self.report.append(
                "model kill %-5s %-9s -> wal %9d, replied %-5s: %s"
                % (point[0], point[1] if point[0] != "run"
                   else "%.2fs" % point[1], state["wal"], state["replied"],
                   got))
            self.restart_and_register(seen, TRAIN % 5)
        self.assertIn("old", outcomes)
        self.assertIn("new", outcomes)


# ---- a full disk ------------------------------------------------------------------

def try_mount(args, target):
    """Runs mount; None when it worked, else why not (no CAP_SYS_ADMIN in
    most containers)."""
    try:
        r = subprocess.run(["mount"] + args + [target], capture_output=True,
                           text=True, timeout=30)
    except OSError as e:
        return str(e)
    return None if r.returncode == 0 else (r.stderr.strip() or "failed")


def umount(target):
    subprocess.run(["umount", "-l", target], capture_output=True, timeout=30)


def frames_of(kc):
    """{ref: rows} of every registered frame version, as the kernel reads
    them."""
    _, out = run(kc, READ_BACK)
    return {f[1]: int(f[2]) for f in (line.split("\t")
                                     for line in out.splitlines())
            if f[0] == "frame"}


class FullDisk(unittest.TestCase):
    """A register that does not fit: an error naming the registry, saying
    the disk is full and what to do; nothing half-registered; the kernel
    keeps working and registers again once there is room."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="trellis-full-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def assert_full_error(self, reply, registry):
        self.assertEqual(reply["status"], "error")
        e = reply["evalue"]
        for want in (registry, "cannot register 'big'", "disk is full",
                     "free space", "TRELLIS_REGISTRY"):
            self.assertIn(want, e)

    def test_register_past_the_file_size_limit(self):
        registry = os.path.join(self.dir, "registry.sqlite")
        with kernel(registry) as (km, kc):
            run(kc, 'features.register("small", features.frame{a = {1, 2, '
                    '3}})')
            run(kc, BIG_FRAME % {"rows": ROWS, "cols": COLS, "k": 1})
            pid = pid_of(km)
            soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
            # room for what the files hold, not for the frame; the soft
            # limit alone, which may be raised again without privilege
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (8 << 20, hard))
            reply, _ = run(kc, 'features.register("big", big)',
                           allow_error=True)
            self.assert_full_error(reply, registry)
            self.assertTrue(km.is_alive())
            self.assertEqual(frames_of(kc), {"small@1": 3})
            self.assertEqual(snapshot(registry, self.dir)["frames"].keys(),
                             {"small@1"})
            # what fits still registers; the cell after runs
            run(kc, 'features.register("small", big:head(1000))')
            self.assertEqual(run(kc, "print(#big)")[1], "%d\n" % ROWS)
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
            self.assertEqual(run(kc, 'print(features.register("big", '
                                     'big))')[1], "big@1\n")
            self.assertEqual(frames_of(kc), {"small@1": 3, "small@2": 1000,
                                             "big@1": ROWS})
        self.assertEqual(set(read_registry(registry)["frames"]),
                         {"small@1", "small@2", "big@1"})

    def test_register_on_a_full_file_system(self):
        mnt = os.path.join(self.dir, "mnt")
        os.mkdir(mnt)
        why = try_mount(["-t", "tmpfs", "-o", "size=24m", "trellis-full"],
                        mnt)
        if why:
            self.skipTest("cannot mount a small tmpfs here (%s); the file "
                          "size limit test makes the full disk" % why)
        self.addCleanup(umount, mnt)
        registry = os.path.join(mnt, "registry.sqlite")
        filler = os.path.join(mnt, "filler")
        with kernel(registry) as (km, kc):
            run(kc, 'features.register("small", features.frame{a = {1, 2, '
                    '3}})')
            run(kc, BIG_FRAME % {"rows": ROWS, "cols": COLS, "k": 1})
            with open(filler, "wb") as f:
                f.write(b"\0" * (8 << 20))
            reply, _ = run(kc, 'features.register("big", big)',
                           allow_error=True)
            self.assert_full_error(reply, registry)
            self.assertEqual(frames_of(kc), {"small@1": 3})
            self.assertEqual(run(kc, "print(1 + 1)")[1], "2\n")
            os.unlink(filler)
            self.assertEqual(run(kc, 'print(features.register("mid", '
                                     'big:head(20000)))')[1], "mid@1\n")
            # a kernel that opens a new registry on the full disk says why
            # a cell cannot use it
            with open(filler, "wb") as f:
                try:
                    f.write(b"\0" * (64 << 20))
                except OSError:
                    pass
            with kernel(os.path.join(mnt, "new.sqlite")) as (km2, kc2):
                reply, _ = run(kc2, "features.list()", allow_error=True)
                self.assertIn("the feature registry is not available: "
                              "feature registry", reply["evalue"])
                self.assertIn("disk is full", reply["evalue"])
                self.assertEqual(run(kc2, "print(1 + 1)")[1], "2\n")
            os.unlink(filler)
        self.assertEqual(set(read_registry(registry)["frames"]),
                         {"small@1", "mid@1"})


# ---- a read-only registry -----------------------------------------------------------

# The capabilities that let root read and write whatever the file modes say.
FILE_MODE_CAPS = "-dac_override,-dac_read_search,-fowner"


def install_kernelspec_without_file_mode_caps(into):
    """A kernelspec trellis_nodac under into/kernels that starts Trellis
    through setpriv without FILE_MODE_CAPS, so file modes bind it even as
    root; None when setpriv cannot drop them here (no setpriv, or no
    CAP_SETPCAP), else the JUPYTER_PATH entry."""
    # the proof: a 0400 file it cannot open for writing (without
    # CAP_SETPCAP, setpriv may run and leave the capabilities as they were)
    probe = os.path.join(into, "probe")
    with open(probe, "w"):
        pass
    os.chmod(probe, 0o400)
    try:
        r = subprocess.run(["setpriv", "--inh-caps=-all", "--bounding-set="
                            + FILE_MODE_CAPS, "--", "sh", "-c",
                            'exec 3>>"$0"', probe],
                           capture_output=True, timeout=30)
    except OSError:
        return None
    finally:
        os.unlink(probe)
    if r.returncode == 0:
        return None
    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    d = os.path.join(into, "kernels", "trellis_nodac")
    os.makedirs(d)
    with open(os.path.join(d, "kernel.json"), "w") as f:
        json.dump({"argv": ["setpriv", "--inh-caps=-all", "--bounding-set="
                            + FILE_MODE_CAPS, "--"] + spec.argv,
                   "display_name": "Trellis (file modes bind)",
                   "language": spec.language,
                   "interrupt_mode": spec.interrupt_mode}, f)
    return into


def restore_env(name, value):
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


class ReadOnlyRegistry(unittest.TestCase):
    """A registry the kernel may read but not write: every version reads,
    a register is a clear error that says what to do, and the kernel
    keeps working."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="trellis-ro-")
        # a cleanup, so that those added later (modes) run before it
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def make_registry(self, path):
        with kernel(path) as (km, kc):
            run(kc, 'features.register("small", features.frame{a = {1, 2, '
                    '3}})')
            run(kc, TRAIN_ROWS)
            run(kc, TRAIN % 5)
        self.assertFalse(os.path.exists(path + "-wal"))
        return read_registry(path)

    def file_modes_bind(self):
        """The kernel to start for file modes to bind it: as root, one
        without the capabilities that let root ignore them."""
        if os.geteuid() != 0:
            return KERNEL
        path = install_kernelspec_without_file_mode_caps(self.dir)
        if path is None:
            self.skipTest("setpriv cannot drop CAP_DAC_OVERRIDE here, and "
                          "root writes where the modes say it may not")
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            [path] + ([old] if old else []))
        self.addCleanup(restore_env, "JUPYTER_PATH", old)
        return "trellis_nodac"

    def check_read_only(self, registry, why, kernel_name=KERNEL,
                        source=None):
        """why: what the refusals must say; source: the same file where
        Python can open it (SQLite cannot read a WAL file on a read-only
        mount either)."""
        source = source or registry
        before = read_registry(source)
        with kernel(registry, kernel_name) as (km, kc):
            self.assertEqual(frames_of(kc), {"small@1": 3,
                                             "train_rows@1": 20000})
            reply, _ = run(kc, 'features.register("small", '
                               'features.frame{a = {4}})', allow_error=True)
            self.assertEqual(reply["status"], "error")
            for want in (registry, "cannot register 'small'", why,
                         "TRELLIS_REGISTRY"):
                self.assertIn(want, reply["evalue"])
            reply, _ = run(kc, TRAIN % 5, allow_error=True)
            self.assertIn("cannot register model 'm'", reply["evalue"])
            self.assertIn(why, reply["evalue"])
            # it still reads, models too, and runs cells
            _, out = run(kc, 'print(#features.get("small"), '
                             'models.get("m@1").ref)')
            self.assertEqual(out, "3\tm@1\n")
            self.assertEqual(run(kc, "print(1 + 1)")[1], "2\n")
        self.assertEqual(read_registry(source), before)

    def test_file_the_kernel_may_not_write(self):
        """A 0400 file: root ignores modes, so the kernel runs without the
        capabilities that let it (setpriv); a user that is not root needs
        no setpriv."""
        registry = os.path.join(self.dir, "registry.sqlite")
        self.make_registry(registry)
        os.chmod(registry, 0o400)
        self.check_read_only(registry, "read-only to this kernel, which can "
                             "still read it: to register, make it writable "
                             "(chmod u+w", self.file_modes_bind())
        self.assertEqual(os.stat(registry).st_mode & 0o777, 0o400)

    def test_directory_the_kernel_may_not_write(self):
        """A writable file in a 0555 directory, closed cleanly: SQLite
        cannot make the -shm file WAL mode reads need beside it (a team's
        registry in a directory of its own, say)."""
        shared = os.path.join(self.dir, "shared")
        os.mkdir(shared)
        registry = os.path.join(shared, "registry.sqlite")
        self.make_registry(registry)
        os.chmod(shared, 0o555)
        self.addCleanup(os.chmod, shared, 0o755)
        self.check_read_only(registry, "can only be read here (its "
                             "directory is read-only to this kernel",
                             self.file_modes_bind())

    def test_read_only_file_system(self):
        """A registry on a read-only mount, closed cleanly (no -wal): SQLite
        cannot make the -shm file WAL mode reads need beside it."""
        src = os.path.join(self.dir, "src")
        mnt = os.path.join(self.dir, "mnt")
        os.mkdir(src)
        os.mkdir(mnt)
        self.make_registry(os.path.join(src, "registry.sqlite"))
        why = try_mount(["--bind", src], mnt)
        if why:
            self.skipTest("cannot bind-mount here (%s); the file the kernel "
                          "may not write is the read-only test" % why)
        self.addCleanup(umount, mnt)
        why = try_mount(["-o", "remount,bind,ro"], mnt)
        if why:
            self.skipTest("cannot remount read-only here (%s)" % why)
        self.check_read_only(os.path.join(mnt, "registry.sqlite"),
                             "can only be read here (it is on a read-only "
                             "file system)",
                             source=os.path.join(src, "registry.sqlite"))


# ---- a client that vanishes ---------------------------------------------------------

# A client in its own process: starts a cell, says "running" on stdout once
# the cell is under way, then waits to be killed.
CLIENT = r"""
import sys, time
from jupyter_client import BlockingKernelClient
kc = BlockingKernelClient(connection_file=sys.argv[1])
kc.load_connection_file()
kc.start_channels()
kc.wait_for_ready(timeout=60)
mode, code = sys.argv[2], sys.argv[3]
if mode == "watch":
    # subscribed to iopub, and about to stop reading it
    print("running", flush=True)
else:
    msg_id = kc.execute(code, allow_stdin=(mode == "input"))
    while True:
        if mode == "input":
            kc.get_stdin_msg(timeout=60)
            break
        m = kc.get_iopub_msg(timeout=60)
        if (m["parent_header"].get("msg_id") == msg_id
                and m["msg_type"] == "stream"):
            break
    print("running", flush=True)
time.sleep(600)
"""

LOOP = ("n = 0 while true do n = n + 1 "
        "if n % 1000000 == 0 then print(n) end end")
INPUT = 'name = input("name? ")'
# about two seconds of CPU, printing as it goes
TWO_SECONDS = ("local t0, last = os.clock(), 0 "
               "while os.clock() - t0 < 2 do "
               "if os.clock() - last > 0.1 then last = os.clock() "
               "print(last - t0) end end")


class ClientVanishes(unittest.TestCase):
    """A client that dies in the middle of a cell (SIGKILL: its sockets
    close with no goodbye) leaves a kernel another client can use through
    the same connection file."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="trellis-client-")
        self.km, self.kc0 = start_kernel(os.path.join(self.dir,
                                                      "reg.sqlite"))
        self.kc0.stop_channels()  # only the clients below talk to it
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.stop_channels()
        stop_kernel(self.km, self.kc0, now=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def vanishing_client(self, mode, code=""):
        """A client process that has started code (mode "run"), is in
        code's input() (mode "input") or just listens (mode "watch")."""
        p = subprocess.Popen([sys.executable, "-c", CLIENT,
                              self.km.connection_file, mode, code],
                             stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (p.kill(), p.wait(), p.stdout.close()))
        line = p.stdout.readline()
        self.assertEqual(line, "running\n", "the client never got going")
        return p

    def new_client(self):
        from jupyter_client import BlockingKernelClient
        kc = BlockingKernelClient(connection_file=self.km.connection_file)
        kc.load_connection_file()
        kc.start_channels()
        self.clients.append(kc)
        time.sleep(0.3)  # the connections come up
        return kc

    def interrupt_and_run(self, kc, interrupt, code="1 + 1"):
        """Interrupts what runs (by interrupt()) until code, sent by kc, is
        run: the first request may be aborted with the interrupted cell,
        as ipykernel aborts the queue after an error. Returns code's
        reply content and stdout."""
        seen = []  # what each try got, for the failure message
        for _ in range(10):
            msg_id = kc.execute(code, store_history=False)
            interrupt()
            deadline = time.monotonic() + 5
            outcome = "no reply in 5 s"
            while time.monotonic() < deadline:
                try:
                    m = kc.get_shell_msg(timeout=0.5)
                except queue.Empty:
                    continue
                if m["parent_header"].get("msg_id") != msg_id:
                    continue
                c = m["content"]
                outcome = c["status"] + (":" + c["ename"] if "ename" in c
                                         else "")
                # aborted with the interrupted cell, or the interrupt hit
                # code itself: both are the race this loop retries
                if c["status"] == "ok" or (c["status"] == "error" and
                                           c["ename"] != "KeyboardInterrupt"):
                    return c
                break
            seen.append(outcome)
        raise AssertionError("no reply to %r after 10 interrupts: %s" %
                             (code, seen))

    def assert_usable(self, kc):
        self.assertEqual(run(kc, "print(6 * 7)")[1], "42\n")
        msg_id = kc.complete("featu", 5)
        while True:
            m = kc.get_shell_msg(timeout=TIMEOUT)
            if m["parent_header"].get("msg_id") == msg_id:
                break
        self.assertIn("features", m["content"]["matches"])
        kc.kernel_info()
        self.assertEqual(kc.get_shell_msg(timeout=TIMEOUT)["msg_type"],
                         "kernel_info_reply")

    def interrupt_by_message(self, kc):
        msg = kc.session.msg("interrupt_request", {})
        kc.control_channel.send(msg)
        reply = kc.get_control_msg(timeout=TIMEOUT)
        self.assertEqual(reply["msg_type"], "interrupt_reply")

    def test_killed_during_a_loop_with_output_then_interrupt_signal(self):
        p = self.vanishing_client("run", LOOP)
        p.kill()
        p.wait()
        kc = self.new_client()
        reply = self.interrupt_and_run(kc, self.km.interrupt_kernel)
        self.assertEqual(reply["status"], "ok")
        self.assert_usable(kc)

    def test_killed_while_input_waits_then_interrupt_request(self):
        p = self.vanishing_client("input", INPUT)
        p.kill()
        p.wait()
        kc = self.new_client()
        reply = self.interrupt_and_run(
            kc, lambda: self.interrupt_by_message(kc))
        self.assertEqual(reply["status"], "ok")
        self.assert_usable(kc)
        # stdin works for the new client
        msg_id = kc.execute(INPUT + " print(name)", allow_stdin=True,
                            store_history=False)
        req = kc.get_stdin_msg(timeout=TIMEOUT)
        self.assertEqual(req["content"]["prompt"], "name? ")
        kc.input("ada")
        while True:
            m = kc.get_shell_msg(timeout=TIMEOUT)
            if m["parent_header"].get("msg_id") == msg_id:
                break
        self.assertEqual(m["content"]["status"], "ok")

    def test_cell_of_a_vanished_client_runs_to_its_end(self):
        p = self.vanishing_client("run", TWO_SECONDS)
        p.kill()
        p.wait()
        kc = self.new_client()
        reply, out = run(kc, "print(1 + 1)", timeout=30)
        self.assertEqual(out, "2\n")
        self.assert_usable(kc)

    def test_stopped_client_does_not_hold_up_the_others(self):
        """A client that stops reading (SIGSTOP) while the kernel publishes
        more output than socket buffers hold, then dies."""
        p = self.vanishing_client("watch")
        os.kill(p.pid, signal.SIGSTOP)
        kc = self.new_client()
        _, out = run(kc, 'local s = string.rep("x", 999) '
                         'for i = 1, 20000 do print(s) end', timeout=120)
        self.assertEqual(len(out), 20000 * 1000)
        p.kill()
        p.wait()
        self.assert_usable(kc)


# The client that started the kernel (jupyter console, nbconvert, a
# notebook server) in its own process: prints the kernel's pid, starts a
# cell that never ends and waits to be killed.
LAUNCHER = r"""
import sys, time
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=60)
print(km.provisioner.process.pid, flush=True)
msg_id = kc.execute(sys.argv[2])
while True:
    m = kc.get_iopub_msg(timeout=60)
    if (m["parent_header"].get("msg_id") == msg_id
            and m["msg_type"] == "stream"):
        break
print("running", flush=True)
time.sleep(600)
"""


def process_gone(pid):
    """True once pid has exited (a zombie counts: whoever reaps orphans
    here may not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


class LauncherVanishes(unittest.TestCase):
    def test_kernel_exits_when_its_launcher_dies_mid_cell(self):
        """The client that started the kernel is killed while a cell loops:
        the kernel must not spin on as an orphan nobody can reach (it
        exits between cells already; mid-cell it looped for ever)."""
        env = dict(os.environ, TRELLIS_REGISTRY=":memory:")
        p = subprocess.Popen([sys.executable, "-c", LAUNCHER, KERNEL, LOOP],
                             stdout=subprocess.PIPE, text=True, env=env)
        self.addCleanup(lambda: (p.kill(), p.wait(), p.stdout.close()))
        pid = int(p.stdout.readline())
        self.addCleanup(lambda: process_gone(pid)
                        or os.kill(pid, signal.SIGKILL))
        self.assertEqual(p.stdout.readline(), "running\n")
        p.kill()
        p.wait()
        deadline = time.monotonic() + 15
        while not process_gone(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertTrue(process_gone(pid), "the orphaned kernel still runs")


if __name__ == "__main__":
    unittest.main(verbosity=2)
