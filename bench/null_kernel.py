#!/usr/bin/python3
"""The floor for bench/latency: a single-threaded pyzmq stub that answers
every shell request at once (busy, reply, idle) without executing anything.
Its round trip is what the client, ZeroMQ and the loopback cost, plus this
stub's own few tens of microseconds of Python: an upper bound of the part of
every kernel's round trip that no kernel can remove.

Usage: null_kernel.py -f CONNECTION_FILE
"""
import hashlib
import hmac
import json
import sys
import uuid

import zmq

DELIM = b"<IDS|MSG>"


def main():
    info = json.load(open(sys.argv[sys.argv.index("-f") + 1]))
    key = info.get("key", "").encode()
    auth = hmac.new(key, digestmod=hashlib.sha256) if key else None
    ctx = zmq.Context()

    def url(port):
        if info.get("transport", "tcp") == "ipc":
            return "ipc://%s-%s" % (info["ip"], info[port])
        return "tcp://%s:%s" % (info["ip"], info[port])

    shell = ctx.socket(zmq.ROUTER)
    control = ctx.socket(zmq.ROUTER)
    iopub = ctx.socket(zmq.PUB)
    shell.bind(url("shell_port"))
    control.bind(url("control_port"))
    iopub.bind(url("iopub_port"))
    session = uuid.uuid4().hex.encode()

    def sign(parts):
        if not auth:
            return b""
        h = auth.copy()
        for p in parts:
            h.update(p)
        return h.hexdigest().encode()

    def msg(ids, parent, msg_type, content):
        header = (b'{"msg_id":"%s","session":"%s","username":"null",'
                  b'"date":"2000-01-01T00:00:00.000000Z","msg_type":"%s",'
                  b'"version":"5.3"}' % (uuid.uuid4().hex.encode(), session,
                                         msg_type))
        parts = [header, parent, b"{}", content]
        return ids + [DELIM, sign(parts)] + parts

    info_reply = json.dumps({
        "status": "ok", "protocol_version": "5.3",
        "implementation": "null", "implementation_version": "0",
        "language_info": {"name": "none", "version": "0",
                          "file_extension": ".txt"},
        "banner": "floor", "help_links": []}).encode()
    busy = b'{"execution_state":"busy"}'
    idle = b'{"execution_state":"idle"}'
    poller = zmq.Poller()
    poller.register(shell, zmq.POLLIN)
    poller.register(control, zmq.POLLIN)
    count = 0
    while True:
        for sock, _ in poller.poll():
            frames = sock.recv_multipart()
            i = frames.index(DELIM)
            ids, header = frames[:i], frames[i + 2]
            msg_type = json.loads(header)["msg_type"]
            iopub.send_multipart(msg([b"status"], header, b"status", busy))
            if msg_type == "kernel_info_request":
                reply = info_reply
            elif msg_type == "execute_request":
                count += 1
                reply = b'{"status":"ok","execution_count":%d,' \
                        b'"user_expressions":{}}' % count
            else:
                reply = b'{"status":"ok"}'
            rtype = msg_type.replace("_request", "_reply").encode()
            sock.send_multipart(msg(ids, header, rtype, reply))
            iopub.send_multipart(msg([b"status"], header, b"status", idle))
            if msg_type == "shutdown_request":
                return


if __name__ == "__main__":
    main()
