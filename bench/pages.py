#!/usr/bin/env python3
"""Page render times of a Roundtable node, as a signed-in member sees them.

Starts `roundtable serve` (BIN, default target/release/roundtable) on a fresh SQLite database
(or DATABASE_URL), fills a community with THREADS threads and one thread with REPLIES replies
through the native API, signs in through the sign-in form, then GETs each page type N times
one after another and prints the median, 95th percentile and worst time in milliseconds,
measured by this client on loopback (so it includes HTTP, the session lookup and the
database). Uses only Python's standard library.

    cargo build --release && python3 bench/pages.py
    BIN=target/debug/roundtable N=100 python3 bench/pages.py
"""
import http.cookiejar, json, os, re, socket, statistics, subprocess, sys, tempfile, time
import urllib.parse, urllib.request

BIN = os.environ.get("BIN", "target/release/roundtable")
N = int(os.environ.get("N", "200"))
THREADS = int(os.environ.get("THREADS", "100"))
REPLIES = int(os.environ.get("REPLIES", "50"))
PASSWORD = "correct horse battery staple"

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

work = tempfile.mkdtemp(prefix="roundtable-bench-")
port = free_port()
base = f"http://localhost:{port}"
env = dict(os.environ,
           ROUNDTABLE__INSTANCE__DOMAIN=f"localhost:{port}",
           ROUNDTABLE__HTTP__BIND=f"127.0.0.1:{port}",
           ROUNDTABLE__FEDERATION__DEBUG="true",
           ROUNDTABLE__LOG__FILTER="warn",
           ROUNDTABLE__DATABASE__URL=os.environ.get("DATABASE_URL", f"sqlite://{work}/bench.db?mode=rwc"))
bin_path = os.path.abspath(BIN)

def cli(*args, stdin=None):
    return subprocess.run([bin_path, *args], cwd=work, env=env, input=stdin, text=True,
                          capture_output=True, check=True).stdout.strip()

cli("user", "create", "bench", "--password-stdin", "--email", "bench@example.org", stdin=PASSWORD + "\n")
cli("community", "create", "practice", "--owner", "bench", "--title", "Benchmark practice")
token = cli("token", "create", "bench", "--scopes", "read write").split()[-1]
server = subprocess.Popen([bin_path, "serve"], cwd=work, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/readyz"); break
        except Exception:
            time.sleep(0.1)

    def api(path, body):
        req = urllib.request.Request(f"{base}/api/roundtable/v1{path}", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(req))

    first = None
    for i in range(THREADS):
        t = api("/communities/practice/threads",
                {"title": f"Thread {i} about deployment pipelines", "content": f"Body of thread {i}, with **markdown**."})
        first = first or t["id"]
    for i in range(REPLIES):
        api(f"/threads/{first}/replies", {"content": f"Reply {i}: we use canary releases."})

    jar = http.cookiejar.CookieJar()
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k): return None
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(f"{base}/sign-in").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf": csrf, "login": "bench", "password": PASSWORD, "next": "/"}).encode()
    try:
        opener.open(f"{base}/sign-in", data=form)
    except urllib.error.HTTPError as e:
        assert e.code == 303, e.code

    pages = [("home", "/"), ("directory", "/communities"), ("community", "/communities/practice"),
             (f"thread ({REPLIES} replies)", f"/threads/{first}"), ("profile", "/people/bench"),
             ("search", "/search?q=pipelines")]
    print(f"{N} sequential GETs per page, signed in; {THREADS} threads, {REPLIES} replies; {BIN}")
    print(f"{'page':<24}{'median ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, path in pages:
        times = []
        for _ in range(N):
            start = time.perf_counter()
            body = opener.open(f"{base}{path}").read()
            times.append((time.perf_counter() - start) * 1000)
            assert b"<main" in body
        times.sort()
        print(f"{name:<24}{statistics.median(times):>10.1f}{times[int(len(times) * 0.95) - 1]:>10.1f}{times[-1]:>10.1f}")
finally:
    server.terminate(); server.wait()
