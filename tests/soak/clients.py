#!/usr/bin/python3
"""clients.py - lean Jupyter clients for load tests, one process each: a
DEALER shell socket whose routing id is the session (as jupyter_client sets
it) and a SUB iopub socket. Each signs what it sends (HMAC-SHA256 over
header, parent_header, metadata and content, as the messaging spec says),
checks the signature of everything it receives, keeps up to --depth
requests in flight and checks every reply and iopub message against what
it asked. IOPub is broadcast, so a client sees every client's messages and
keeps those whose parent_header.session is its own.

Why lean: jupyter_client costs about 1 ms of CPU per request, so 110k
requests would take minutes and measure the client.

soak.py starts these as `clients.py --conn FILE --role ROLE --name N ...`:
each prints `ready` once subscribed, waits for a line on stdin (so all
start together), prints `progress N` as requests complete and finally
`result {json}`.
"""
import argparse
import datetime
import hashlib
import hmac
import json
import sys
import time
import uuid

import zmq

DELIM = b"<IDS|MSG>"
STALL = 60.0          # s without any progress before a client gives up
START_TIMEOUT = 60.0  # s for a client to see its iopub subscription work


# ---- the wire ----------------------------------------------------------------

def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


class Wire:
    """Signs and checks the four JSON parts of a message."""

    def __init__(self, key, scheme="hmac-sha256", session=None):
        key = key.encode() if isinstance(key, str) else (key or b"")
        algo = scheme.split("-", 1)[1] if scheme else "sha256"
        self.auth = hmac.new(key, digestmod=getattr(hashlib, algo)) \
            if key else None
        self.session = session or uuid.uuid4().hex
        self.bsession = self.session.encode()

    def sign(self, parts):
        if not self.auth:
            return b""
        h = self.auth.copy()
        for p in parts:
            h.update(p)
        return h.hexdigest().encode()

    def frames(self, msg_type, content):
        """-> (msg_id, frames) of a request from this session."""
        msg_id = uuid.uuid4().hex
        header = dumps({"msg_id": msg_id, "session": self.session,
                        "username": "soak", "date": now_iso(),
                        "msg_type": msg_type, "version": "5.3"})
        parts = [header, b"{}", b"{}", dumps(content)]
        return msg_id, [DELIM, self.sign(parts)] + parts

    def parts(self, frames):
        """The four JSON parts (bytes) of a received message; raises
        ValueError on a missing delimiter or a wrong signature."""
        i = frames.index(DELIM)
        parts = frames[i + 2:i + 6]
        if len(parts) != 4:
            raise ValueError("%d parts after the delimiter" % len(parts))
        if self.auth and not hmac.compare_digest(frames[i + 1],
                                                 self.sign(parts)):
            raise ValueError("bad signature")
        return parts


def endpoint(info, port_name):
    if info["transport"] == "ipc":
        return "ipc://%s-%s" % (info["ip"], info[port_name])
    return "%s://%s:%s" % (info["transport"], info["ip"], info[port_name])


def execute_content(code, stop_on_error=True):
    return {"code": code, "silent": False, "store_history": True,
            "user_expressions": {}, "allow_stdin": False,
            "stop_on_error": stop_on_error}


# ---- one client (its own process) ---------------------------------------------

class Client:
    """One session: DEALER shell + SUB iopub, up to `depth` requests in
    flight. Every request is tracked until both its reply and its idle have
    arrived; anything unexpected is recorded in self.errors."""

    MAX_ERRORS = 50

    def __init__(self, info, name, depth):
        self.name = name
        self.depth = depth
        self.wire = Wire(info["key"], info.get("signature_scheme"))
        self.ctx = zmq.Context()
        self.shell = self.ctx.socket(zmq.DEALER)
        self.shell.setsockopt(zmq.IDENTITY, self.wire.bsession)
        self.iopub = self.ctx.socket(zmq.SUB)
        # nothing may be dropped on our side either
        self.iopub.setsockopt(zmq.RCVHWM, 0)
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        for s in (self.shell, self.iopub):
            s.setsockopt(zmq.LINGER, 0)
        self.iopub.connect(endpoint(info, "iopub_port"))
        self.shell.connect(endpoint(info, "shell_port"))
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)
        # msg_id -> request record, until both its reply and its idle have
        # arrived. This, not the replies alone, bounds what is in flight:
        # iopub carries several messages per request to every client, and
        # a client that paced itself on replies would fall behind on iopub
        # and make the kernel queue it without end (its iopub queue is
        # unbounded on purpose).
        self.live = {}
        self.errors = []
        self.n_errors = 0
        self.done = 0
        self.replies = {"execute_reply": 0, "complete_reply": 0}
        self.exec_latency_us = []
        self.complete_latency_us = []
        self.counts = []    # execution_count of each reply, in reply order
        self.iopub_own = 0
        self.iopub_other = 0
        self.last_progress = time.monotonic()
        self.on_done = None

    def error(self, text):
        self.n_errors += 1
        if len(self.errors) < self.MAX_ERRORS:
            self.errors.append("%s: %s" % (self.name, text))

    def close(self):
        self.shell.close(0)
        self.iopub.close(0)
        self.ctx.term()

    def wait_subscribed(self):
        """kernel_info_request until iopub delivers something of ours (the
        subscription has reached the kernel), then drain."""
        deadline = time.monotonic() + START_TIMEOUT
        sent = set()
        while True:
            msg_id, frames = self.wire.frames("kernel_info_request", {})
            self.shell.send_multipart(frames)
            sent.add(msg_id)
            if self.iopub.poll(100) and any(
                    self.wire.bsession in p
                    for p in self.wire.parts(self.iopub.recv_multipart())):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("iopub never delivered")
        while sent:
            if not self.shell.poll(int(START_TIMEOUT * 1000)):
                raise RuntimeError("no kernel_info_reply")
            parent = json.loads(self.wire.parts(
                self.shell.recv_multipart())[1])
            sent.discard(parent.get("msg_id"))
        while self.iopub.poll(200):
            self.iopub.recv_multipart()

    # -- sending

    def send(self, msg_type, content, record):
        msg_id, frames = self.wire.frames(msg_type, content)
        record.update(type=msg_type, t0=time.perf_counter(), reply=None,
                      iopub=[], idle=False)
        self.live[msg_id] = record
        self.shell.send_multipart(frames)
        return msg_id

    # -- receiving

    def pump(self, timeout_ms):
        """Reads what is there (waiting up to timeout_ms for the first)."""
        events = dict(self.poller.poll(timeout_ms))
        while events:
            if self.shell in events:
                self.on_shell(self.shell.recv_multipart())
            if self.iopub in events:
                self.on_iopub(self.iopub.recv_multipart())
            events = dict(self.poller.poll(0))

    def on_shell(self, frames):
        t1 = time.perf_counter()
        try:
            header, parent, _, content = self.wire.parts(frames)
        except ValueError as e:
            return self.error("shell: %s" % e)
        if frames.index(DELIM) != 0:
            self.error("shell: routing frames reached the client")
        header = json.loads(header)
        parent = json.loads(parent)
        if parent.get("session") != self.wire.session:
            return self.error("shell: a reply to another session (%s, %s)"
                              % (header.get("msg_type"),
                                 parent.get("session")))
        rec = self.live.get(parent.get("msg_id"))
        if rec is None or rec["reply"] is not None:
            return self.error("shell: %s for %s, which %s"
                              % (header.get("msg_type"), parent.get("msg_id"),
                                 "was already answered" if rec
                                 else "is not a pending request"))
        want = rec["type"].replace("_request", "_reply")
        if header.get("msg_type") != want:
            self.error("shell: %s to a %s" % (header.get("msg_type"),
                                              rec["type"]))
        self.replies[want] = self.replies.get(want, 0) + 1
        rec["reply"] = json.loads(content)
        rec["t1"] = t1
        us = int((t1 - rec["t0"]) * 1e6)
        if want == "execute_reply":
            self.exec_latency_us.append(us)
        else:
            self.complete_latency_us.append(us)
        self.check_reply(rec)
        self.maybe_finish(parent["msg_id"], rec)

    def on_iopub(self, frames):
        try:
            header, parent, _, content = self.wire.parts(frames)
        except ValueError as e:
            return self.error("iopub: %s" % e)
        if self.wire.bsession not in parent:
            self.iopub_other += 1
            return
        self.iopub_own += 1
        header = json.loads(header)
        parent = json.loads(parent)
        msg_id = parent.get("msg_id")
        rec = self.live.get(msg_id)
        mtype = header.get("msg_type")
        if rec is None:
            return self.error("iopub: %s for %s, which is not pending "
                              "(after its idle, or never sent)"
                              % (mtype, msg_id))
        content = json.loads(content)
        if not rec["iopub"] and not (
                mtype == "status" and content["execution_state"] == "busy"):
            self.error("iopub: %s before busy (%s)" % (mtype, rec["type"]))
        rec["iopub"].append((mtype, content))
        if mtype == "status" and content["execution_state"] == "idle":
            rec["idle"] = True
            self.check_iopub(rec)
            self.maybe_finish(msg_id, rec)

    def maybe_finish(self, msg_id, rec):
        if rec["reply"] is not None and rec["idle"]:
            if rec["type"] == "execute_request":
                self.check_execute(rec)
            del self.live[msg_id]
            self.done += 1
            self.last_progress = time.monotonic()
            if self.on_done:
                self.on_done(self.done)

    # -- checks (a subclass says what each request should produce)

    def check_reply(self, rec):
        pass

    def check_iopub(self, rec):
        pass

    def check_execute(self, rec):
        pass

    def drain(self, deadline):
        """Until every request has its reply and idle, or the deadline."""
        while self.live:
            now = time.monotonic()
            if now > deadline or now - self.last_progress > STALL:
                kinds = {}
                for rec in self.live.values():
                    what = "%s (%s)" % (rec["type"],
                                        "no reply" if rec["reply"] is None
                                        else "no idle")
                    kinds[what] = kinds.get(what, 0) + 1
                self.error("gave up waiting: %s" % kinds)
                return
            self.pump(100)


def stream_text(rec, name="stdout"):
    return "".join(c["text"] for t, c in rec["iopub"]
                   if t == "stream" and c["name"] == name)


class SoakClient(Client):
    """Cells `x_<name> = <n> * 2` / `x_<name>` with n unique to this client
    and request, so a result, reply or stream given to the wrong request or
    client shows; completions with known answers in between."""

    def __init__(self, info, name, depth, base):
        super().__init__(info, name, depth)
        self.base = base
        self.var = "x_" + name
        self.completions = [
            # (code, cursor_pos, expected matches, cursor_start)
            ("string.fo", 9, ["format"], 7),
            (self.var, len(self.var), [self.var], 0),
            ("y = math.fl", 11, ["floor"], 9),
            # cursor_pos counts code points: "é" is two bytes, one point
            ('s = "é" .. string.up', 20, ["upper"], 18),
        ]

    def execute(self, i):
        n = self.base + i
        code = "%s = %d * 2\n%s" % (self.var, n, self.var)
        stdout = None
        if i % 50 == 0:
            stdout = "%s:%d\n" % (self.name, n)
            code = 'print("%s:%d")\n' % (self.name, n) + code
        self.send("execute_request", execute_content(code),
                  {"code": code, "result": str(2 * n), "stdout": stdout})

    def complete(self, i):
        code, pos, matches, start = self.completions[
            i % len(self.completions)]
        self.send("complete_request", {"code": code, "cursor_pos": pos},
                  {"matches": matches, "start": start, "end": pos,
                   "code": code})

    def check_reply(self, rec):
        c = rec["reply"]
        if rec["type"] == "complete_request":
            if (c.get("status") != "ok" or c.get("matches") != rec["matches"]
                    or c.get("cursor_start") != rec["start"]
                    or c.get("cursor_end") != rec["end"]):
                self.error("complete %r: %s" % (rec["code"], c))
            return
        if c.get("status") != "ok":
            return self.error("execute %r: %s" % (rec["code"], c))
        count = c.get("execution_count")
        if self.counts and count <= self.counts[-1]:
            self.error("execution_count %s after %s" % (count,
                                                        self.counts[-1]))
        self.counts.append(count)

    def check_iopub(self, rec):
        types = [t for t, _ in rec["iopub"]]
        if rec["type"] == "complete_request":
            if types != ["status", "status"]:
                self.error("complete: iopub %s" % types)
            return
        want = ["status", "execute_input", "execute_result", "status"]
        if rec["stdout"]:
            got = [t for t in types if t != "stream"]
            if stream_text(rec) != rec["stdout"]:
                self.error("stdout %r, expected %r"
                           % (stream_text(rec), rec["stdout"]))
        else:
            got = types
        if got != want:
            return self.error("execute: iopub %s" % types)
        c = rec["iopub"][types.index("execute_result")][1]
        if c["data"].get("text/plain") != rec["result"]:
            self.error("execute_result %r, expected %r (code %r)"
                       % (c["data"].get("text/plain"), rec["result"],
                          rec["code"]))
        inp = rec["iopub"][types.index("execute_input")][1]
        if inp["code"] != rec["code"]:
            self.error("execute_input code %r, sent %r"
                       % (inp["code"], rec["code"]))

    def check_execute(self, rec):
        count = rec["reply"].get("execution_count")
        for t, c in rec["iopub"]:
            if (t in ("execute_input", "execute_result")
                    and c.get("execution_count") != count):
                self.error("%s execution_count %s, reply %s"
                           % (t, c.get("execution_count"), count))

    def run(self, n_exec, n_complete, deadline):
        total = n_exec + n_complete
        i_exec = i_comp = 0
        for j in range(total):
            while len(self.live) >= self.depth:
                if time.monotonic() > deadline or \
                        time.monotonic() - self.last_progress > STALL:
                    self.error("stalled with %d in flight after %d sent"
                               % (len(self.live), j))
                    return
                self.pump(100)
            # completions spread evenly among the executes
            if (j + 1) * n_complete // total > j * n_complete // total:
                self.complete(i_comp)
                i_comp += 1
            else:
                self.execute(i_exec)
                i_exec += 1
            self.pump(0)
        self.drain(deadline)


class StormClient(Client):
    """Requests while interrupts rain: endless loops (Lua and SQL), short
    cells (Lua and SQL), cells that spin 20 ms, results with a slow repr,
    or completions. A cell either finishes with its right result or fails
    with KeyboardInterrupt; an endless loop can only fail."""

    KINDS = ("loop", "short", "spin", "sql", "sqlloop", "short", "keys",
             "rows")
    ENDLESS = ("loop", "sqlloop")

    def __init__(self, info, name, depth, role):
        super().__init__(info, name, depth)
        self.role = role
        self.outcomes = {}

    def outcome(self, what):
        self.outcomes[what] = self.outcomes.get(what, 0) + 1

    def request(self, i, loops):
        if self.role == "complete":
            return self.send("complete_request",
                             {"code": "string.fo", "cursor_pos": 9},
                             {"kind": "complete"})
        n = 1000000 + i
        kind = self.KINDS[i % len(self.KINDS)]
        if kind in self.ENDLESS and not loops:
            kind = "short"
        code = {"loop": "while true do end",
                "short": "y_%s = %d * 2\ny_%s" % (self.name, n, self.name),
                "spin": "local t0 = os.clock()\n"
                        "while os.clock() - t0 < 0.02 do end\n"
                        "return %d * 2" % n,
                "sql": "%%%%sql\nSELECT %d * 2 AS v" % n,
                "sqlloop": "%%sql\nWITH RECURSIVE c(x) AS (SELECT 1 UNION "
                           "ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
                # results whose repr takes a few ms (3000 keys sorted; 300
                # records as an HTML table too), so interrupts land in it
                "keys": "k_%s = {}\nfor i = 1, 3000 do k_%s['k' .. i] = i "
                        "end\nk_%s" % (self.name, self.name, self.name),
                "rows": "r_%s = {}\nfor i = 1, 300 do r_%s[i] = {n = i, "
                        "s = 'x' .. i} end\nr_%s"
                        % (self.name, self.name, self.name),
                }[kind]
        result = {"keys": "{k1 = 1, k10 = 10, k100 = 100, ",
                  "rows": '{{n = 1, s = "x1"}, {n = 2, s = "x2"}, '
                  }.get(kind, str(2 * n))
        return self.send("execute_request",
                         execute_content(code, stop_on_error=False),
                         {"kind": kind, "result": result, "code": code})

    def check_reply(self, rec):
        c = rec["reply"]
        if rec["kind"] == "complete":
            if c.get("status") != "ok" or c.get("matches") != ["format"]:
                self.error("complete during the storm: %s" % c)
            return self.outcome("complete ok")
        if c.get("status") == "error" and c.get("ename") == "KeyboardInterrupt":
            return self.outcome("%s interrupted" % rec["kind"])
        if c.get("status") == "ok" and rec["kind"] not in self.ENDLESS:
            return self.outcome("%s ok" % rec["kind"])
        self.error("%s cell: %s" % (rec["kind"], {
            k: c.get(k) for k in ("status", "ename", "evalue")}))

    def check_iopub(self, rec):
        types = [t for t, _ in rec["iopub"]]
        if rec["kind"] == "complete":
            if types != ["status", "status"]:
                self.error("complete: iopub %s" % types)
            return
        if rec["reply"] is None:
            return  # checked against the reply in check_execute
        self.check_execute(rec)

    def check_execute(self, rec):
        if rec.get("checked"):
            return
        rec["checked"] = True
        types = [t for t, _ in rec["iopub"]]
        if rec["reply"].get("status") == "ok":
            want = ["status", "execute_input", "execute_result", "status"]
            if types != want:
                return self.error("%s ok: iopub %s" % (rec["kind"], types))
            bundle = rec["iopub"][2][1]["data"]
            data = bundle.get("text/plain")
            kind = rec["kind"]
            if kind == "sql":
                bad = " %s\n" % rec["result"] not in data
            elif kind in ("keys", "rows"):
                bad = not data.startswith(rec["result"]) or (
                    kind == "rows" and "<td>x1</td>"
                    not in bundle.get("text/html", ""))
            else:
                bad = data != rec["result"]
            if bad:
                self.error("%s: result %r, expected %r"
                           % (kind, data[:200], rec["result"]))
        elif types != ["status", "execute_input", "error", "status"]:
            self.error("%s interrupted: iopub %s" % (rec["kind"], types))

    def run(self, seconds, deadline):
        """Sends for `seconds`; endless loops only until 0.5 s before the
        end, so none outlives the storm."""
        t_end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < t_end:
            loops = time.monotonic() < t_end - 0.5
            while len(self.live) >= self.depth:
                if time.monotonic() > deadline or \
                        time.monotonic() - self.last_progress > STALL:
                    return self.error("stalled: %d in flight"
                                      % len(self.live))
                self.pump(50)
            self.request(i, loops)
            i += 1
            self.pump(0)
        self.drain(deadline)


def client_main(args):
    with open(args.conn) as f:
        info = json.load(f)
    if args.role == "soak":
        c = SoakClient(info, args.name, args.depth, args.base)
    else:
        c = StormClient(info, args.name, args.depth, args.role)
    every = args.progress

    def progress(done):
        if every and done % every == 0:
            print("progress %d" % done, flush=True)
    c.on_done = progress
    try:
        c.wait_subscribed()
        print("ready", flush=True)
        sys.stdin.readline()   # "go": both clients start together
        c.last_progress = time.monotonic()
        t0 = time.perf_counter()
        deadline = time.monotonic() + args.timeout
        if args.role == "soak":
            c.run(args.exec_n, args.complete_n, deadline)
        else:
            c.run(args.seconds, deadline)
        wall = time.perf_counter() - t0
    except Exception as e:  # reported, not raised: the parent decides
        c.error("client failed: %r" % e)
        wall = 0.0
    out = {"name": c.name, "session": c.wire.session, "wall": wall,
           "done": c.done, "replies": c.replies, "errors": c.errors,
           "n_errors": c.n_errors, "counts": c.counts,
           "exec_latency_us": c.exec_latency_us,
           "complete_latency_us": c.complete_latency_us,
           "iopub_own": c.iopub_own, "iopub_other": c.iopub_other,
           "outcomes": getattr(c, "outcomes", {})}
    sys.stdout.write("result " + json.dumps(out) + "\n")
    sys.stdout.flush()
    c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conn", required=True, help="connection file")
    ap.add_argument("--role", choices=("soak", "execute", "complete"),
                    required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--base", type=int, default=0)
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--exec", dest="exec_n", type=int, default=0)
    ap.add_argument("--complete", dest="complete_n", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--progress", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=900)
    client_main(ap.parse_args())


if __name__ == "__main__":
    main()
