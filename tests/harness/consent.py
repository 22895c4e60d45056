# Shared by the tests' Python clients: a requests.Session playing the user's browser through
# a Roundtable node's real sign-in and consent pages, `wait` for what arrives from another
# node, and `png` for the pictures apps upload. The Rust harness puts it in front of each client script (tests/harness/python.rs).
import html
import re
import struct
import time
import zlib

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# The node closes a keep-alive connection that stays idle longer than its header read timeout
# (slow-client protection). On a busy test machine a client can send its next request on such a
# connection just as it closes; like an app behind a flaky network, retry that (and only
# that: connection errors, never answers).
_open_session = requests.Session.__init__


def _session_with_retries(self, *args, **kwargs):
    _open_session(self, *args, **kwargs)
    retry = Retry(total=3, connect=3, read=2, status=0, other=0, allowed_methods=None,
                  raise_on_status=False)
    self.mount("http://", HTTPAdapter(max_retries=retry))


requests.Session.__init__ = _session_with_retries


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    return html.unescape(m.group(1)) if m else None


browser = requests.Session()


def consent(url, login, password, out):
    """Follows an authorization URL through sign-in to the consent page and approves. Returns
    the consent page's response, the approval's status and where it sent the browser."""
    page, answer = consent_answer(url, login, password, out)
    return page, answer.status_code, answer.headers.get("Location", "")


def consent_answer(url, login, password, out):
    """Like consent, returning the consent page's response and the approval's response."""
    base = url.split("/oauth/authorize")[0]
    r = browser.get(url, allow_redirects=False)
    if r.status_code == 303 and r.headers["Location"].startswith("/sign-in"):
        out.setdefault("sent_to_sign_in", True)
        page = browser.get(base + r.headers["Location"]).text
        r = browser.post(
            base + "/sign-in",
            data={
                "csrf": hidden(page, "csrf"),
                "login": login,
                "password": password,
                "next": hidden(page, "next"),
            },
            allow_redirects=False,
        )
        out.setdefault("after_sign_in", r.headers.get("Location", ""))
        r = browser.get(base + r.headers["Location"], allow_redirects=False)
    page = r.text
    fields = {}
    for name in ["csrf", "response_type", "client_id", "redirect_uri", "scope", "state",
                 "code_challenge", "code_challenge_method"]:
        value = hidden(page, name)
        if value is not None:
            fields[name] = value
    fields["decision"] = "approve"
    answer = browser.post(base + "/oauth/authorize", data=fields, allow_redirects=False)
    return r, answer


def code_from_page(page):
    """The code an out-of-band consent shows."""
    return hidden(page, "code") or re.search(r'id="code" type="text" readonly value="([^"]*)"', page).group(1)


def wait(what, check, seconds=25):
    """check()'s first truthy answer, asked every 0.3 s; the script ends if none comes."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise SystemExit(f"timed out waiting for {what}")


def png(width, height, exif=None):
    """A small RGB PNG, with an eXIf chunk of `exif` bytes if given."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"".join(bytes([(x * 37) % 256, (y * 53) % 256, 90]) for x in range(width))
                   for y in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + (chunk(b"eXIf", exif) if exif is not None else b"")
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))
