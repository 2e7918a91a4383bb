"""run_notebook_test.py ARTIFACT_DIR - the browser test's driver.

Runs inside tests/with_kernelspec.sh (the Trellis kernelspec in a temporary
JUPYTER_PATH, TRELLIS_TEST_TMP for scratch files). It installs the pinned
playwright-core when node_modules is missing, starts Debian's classic
Notebook server on loopback with a known token over a temporary notebook
directory holding churn.csv, runs notebook.test.mjs (headless Debian
chromium), checks the notebook the browser saved and that the kernel was
shut down, and stops the server. Screenshots, the saved notebook and the
server log go to ARTIFACT_DIR, which outlives the temporary directory.
"""
import fcntl
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = os.environ.get("TRELLIS_CHROMIUM", "/usr/bin/chromium")
# Every wait in the browser and here is bounded by this (ms); the ASan
# kernel is several times slower, so it is generous, never a sleep.
WAIT_MS = int(os.environ.get("TRELLIS_BROWSER_TIMEOUT_MS", "120000"))

CSV = """user_id,plan,tenure,monthly_spend,churned
1,basic,3,20.5,true
2,pro,26,55.0,false
3,basic,1,19.9,true
4,team,40,120.25,false
5,pro,12,49.5,false
6,basic,7,21.0,true
7,team,30,110.0,false
8,pro,2,52.75,true
"""


class Failure(Exception):
    pass


def log(msg):
    print("[driver] " + msg, flush=True)


def ensure_node_modules():
    """npm ci when node_modules lacks the locked playwright-core, under a
    lock so two builds testing at once do not install over each other."""
    with open(os.path.join(HERE, "package-lock.json")) as fp:
        want = json.load(fp)["packages"]["node_modules/playwright-core"]["version"]
    have_file = os.path.join(HERE, "node_modules", "playwright-core", "package.json")
    with open(os.path.join(HERE, ".npm-install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(have_file) as fp:
                if json.load(fp)["version"] == want:
                    return
        except (OSError, ValueError, KeyError):
            pass
        log("npm ci (playwright-core %s, no browser download)" % want)
        env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE,
                       env=env, check=True, timeout=600)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url, token, method="GET"):
    req = urllib.request.Request(url, method=method,
                                 headers={"Authorization": "token " + token})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


def wait_for_server(proc, runtime_dir, token):
    """The server writes nbserver-PID.json once it listens (with the port
    it really got: port_retries may have moved it); then the kernelspec
    API must list trellis."""
    info_file = os.path.join(runtime_dir, "nbserver-%d.json" % proc.pid)
    deadline = time.monotonic() + WAIT_MS / 1000
    info = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failure("notebook server exited with %d before listening"
                          % proc.returncode)
        if info is None and os.path.exists(info_file):
            try:
                with open(info_file) as fp:
                    info = json.load(fp)
            except ValueError:
                info = None  # being written
        if info is not None:
            try:
                specs = http_json(info["url"] + "api/kernelspecs", token)
                if "trellis" not in specs["kernelspecs"]:
                    raise Failure("the server does not list the trellis "
                                  "kernelspec: %s" % sorted(specs["kernelspecs"]))
                return info
            except (urllib.error.URLError, ConnectionError):
                pass
        time.sleep(0.1)  # polling interval, not synchronisation
    raise Failure("notebook server not ready after %d ms" % WAIT_MS)


def stop_server(proc):
    if proc.poll() is not None:
        return
    # SIGTERM: the server shuts its kernels down, then exits
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        log("server ignored SIGTERM for 60 s: killing it")
        proc.kill()
        proc.wait()


def check_saved_notebook(path):
    """What the browser saved: kernelspec and language metadata from the
    kernel, and the outputs the page showed."""
    with open(path) as fp:
        nb = json.load(fp)
    meta = nb["metadata"]
    if meta.get("kernelspec", {}).get("name") != "trellis":
        raise Failure("saved kernelspec is %r" % meta.get("kernelspec"))
    if meta.get("language_info", {}).get("name") != "lua":
        raise Failure("saved language_info is %r" % meta.get("language_info"))
    kinds = set()
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            kinds.add(out["output_type"])
            kinds.update(out.get("data", {}).keys())
    for want in ("stream", "execute_result", "error", "text/html"):
        if want not in kinds:
            raise Failure("saved notebook has no %s output (has %s)"
                          % (want, sorted(kinds)))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: run_notebook_test.py ARTIFACT_DIR")
    artifacts = os.path.abspath(sys.argv[1])
    os.makedirs(artifacts, exist_ok=True)
    for old in glob.glob(os.path.join(artifacts, "browser-*")):
        os.remove(old)
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            raise Failure("%s is not installed (scripts/deps.sh installs it)" % tool)
    if not os.access(CHROMIUM, os.X_OK):
        raise Failure("%s is missing (scripts/deps.sh installs chromium)" % CHROMIUM)
    ensure_node_modules()

    tmp = os.environ.get("TRELLIS_TEST_TMP")
    if not tmp or not os.environ.get("JUPYTER_RUNTIME_DIR"):
        raise Failure("run through tests/with_kernelspec.sh")
    nbdir = os.path.join(tmp, "notebooks")
    os.makedirs(nbdir)
    with open(os.path.join(nbdir, "churn.csv"), "w") as fp:
        fp.write(CSV)
    runtime = os.environ["JUPYTER_RUNTIME_DIR"]
    os.makedirs(runtime, exist_ok=True)
    token = secrets.token_hex(16)
    server_log_path = os.path.join(tmp, "notebook-server.log")
    server_log = open(server_log_path, "w")
    cmd = ["/usr/bin/python3", "-m", "notebook", "--no-browser",
           "--ip=127.0.0.1", "--port=%d" % free_port(),
           "--NotebookApp.port_retries=50",
           "--NotebookApp.token=" + token,
           "--notebook-dir=" + nbdir, "--allow-root"]
    log("starting " + " ".join(c if token not in c else c.replace(token, "***")
                                for c in cmd))
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=server_log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=nbdir)
    ok = False
    try:
        info = wait_for_server(proc, runtime, token)
        log("server %s ready after %.1f s" % (info["url"], time.monotonic() - started))
        env = dict(os.environ, TRELLIS_NB_URL=info["url"], TRELLIS_NB_TOKEN=token,
                   TRELLIS_ARTIFACTS=artifacts, TRELLIS_CHROMIUM=CHROMIUM,
                   TRELLIS_BROWSER_TIMEOUT_MS=str(WAIT_MS))
        # the browser is no sanitized program: keep the kernel's ASan
        # settings away from it
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            env.pop(var, None)
        res = subprocess.run(["node", os.path.join(HERE, "notebook.test.mjs")],
                             env=env, timeout=WAIT_MS / 1000 * 6)
        if res.returncode != 0:
            raise Failure("notebook.test.mjs failed (exit %d)" % res.returncode)
        saved = os.path.join(nbdir, "Untitled.ipynb")
        check_saved_notebook(saved)
        shutil.copy(saved, os.path.join(artifacts, "browser-notebook.ipynb"))
        kernels = http_json(info["url"] + "api/kernels", token)
        if kernels:
            raise Failure("kernels still running after Close and Halt: %s" % kernels)
        ok = True
    finally:
        stop_server(proc)
        server_log.close()
        shutil.copy(server_log_path, os.path.join(artifacts, "browser-server.log"))
        if not ok:
            with open(server_log_path, errors="replace") as fp:
                sys.stderr.write("---- notebook server log ----\n" + fp.read()
                                 + "---- end of server log ----\n")
    if proc.returncode not in (0, -signal.SIGTERM):
        raise Failure("notebook server exited with %d" % proc.returncode)
    log("passed in %.1f s; artifacts:" % (time.monotonic() - started))
    for path in sorted(glob.glob(os.path.join(artifacts, "browser-*"))):
        print("  " + path)


if __name__ == "__main__":
    try:
        main()
    except (Failure, subprocess.SubprocessError) as e:
        print("[driver] FAIL: %s" % e, file=sys.stderr, flush=True)
        sys.exit(1)
