# toot, the Mastodon command-line client, against a Roundtable node: it logs in through the
# out-of-band code flow (it prints the URL, the user signs in and approves in the browser,
# pastes the code), posts (STEP=post), then reads the timeline and notifications
# (STEP=read). It prints what each command said as one JSON object.
import json
import os
import subprocess
import sys

BASE = os.environ["NODE"]
STEP = os.environ["STEP"]
env = dict(os.environ, XDG_CONFIG_HOME=os.environ["TOOT_HOME"], BROWSER="true")
toot = os.path.join(os.path.dirname(sys.executable), "toot")
out = {}


def run(*args):
    r = subprocess.run([toot, *args], capture_output=True, text=True, env=env, timeout=60)
    return {"code": r.returncode, "out": r.stdout, "err": r.stderr}


if STEP == "post":
    login = subprocess.Popen([toot, "login", "--instance", BASE], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = None
    while url is None:
        line = login.stdout.readline()
        if not line:
            break
        if line.startswith("http"):
            url = line.strip()
    out["login_url"] = url
    page, answer = consent_answer(url, os.environ["LOGIN"], os.environ["PASSWORD"], out)
    out["code_page"] = answer.status_code
    rest, _ = login.communicate("n\n" + code_from_page(answer.text) + "\n", timeout=60)
    out["login"] = {"code": login.returncode, "out": rest}
    out["post"] = run("post", "@practice Hello from toot\nFirst post from the command line.")
else:
    out["timeline"] = run("timeline")
    out["notifications"] = run("notifications")
print(json.dumps(out))
