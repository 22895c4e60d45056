# Mastodon.py uploading images on one node (STEP=post): a JPEG the test made (with EXIF: an
# orientation and a GPS note), described and given a focal point; it joins a community on
# another node and starts a thread there carrying the image; it tries bad uploads (text sent
# as an image, files past the node's limit) and reusing an attached image; in a members-only
# community of its own node it posts a PNG it makes here (with an eXIf chunk) and leaves
# another upload unattached. It prints what it saw as one JSON object.
import io
import json
import os
import time

from mastodon import Mastodon
from mastodon.errors import MastodonError

BASE = os.environ["NODE"]
COMMUNITY = os.environ["COMMUNITY"]
INNER = os.environ["INNER"]
REDIRECT = "https://app.example/callback"
SCOPES = ["read", "write", "follow"]
out = {}


def refused(call):
    try:
        call()
    except MastodonError as e:
        # Mastodon.py's errors carry (method, status, reason, error message).
        return [type(e).__name__, e.args[1] if len(e.args) > 1 else None, str(e.args[-1])]
    return None


def png_with_exif(width, height):
    return png(width, height, exif=b"MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"
               + b"GPS 48.8584N 2.2945E png-secret")


client_id, client_secret = Mastodon.create_app(
    "Mastodon.py media test", scopes=SCOPES, redirect_uris=REDIRECT, api_base_url=BASE)
api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=BASE)
url = api.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, allow_http=True)
_, _, location = consent(url, os.environ["LOGIN"], os.environ["PASSWORD"], out)
code = location.split("code=")[1].split("&")[0]
out["token"] = api.log_in(code=code, redirect_uri=REDIRECT, scopes=SCOPES, allow_http=True)

jpeg = open(os.environ["JPEG"], "rb").read()
started = time.time()
upload = api.media_post(io.BytesIO(jpeg), mime_type="image/jpeg", file_name="rota.jpg",
                        description="A whiteboard", focus=(0.5, -0.5))
out["upload_seconds"] = time.time() - started
out["upload"] = upload
out["updated"] = api.media_update(upload["id"], description="The on-call rota on a whiteboard")
out["fetched"] = api.media(upload["id"])

found = api.search_v2("@" + COMMUNITY, resolve=True)["accounts"]
community = found[0]
api.account_follow(community["id"])
wait("the community to accept", lambda: api.account_relationships(community["id"])[0]["following"])
thread = api.status_post("@" + COMMUNITY + " Our rota\nThis is how we share the nights.",
                         media_ids=[upload["id"]])
out["thread"] = thread
out["thread_again"] = api.status(thread["id"])
out["reuse"] = refused(lambda: api.status_post("@" + COMMUNITY + " Again\nsame picture",
                                               media_ids=[upload["id"]]))
out["describe_attached"] = refused(lambda: api.media_update(upload["id"], description="changed"))

# Bad input: text sent as an image, an image past the limit, a body far past it.
out["text_as_image"] = refused(lambda: api.media_post(
    io.BytesIO(b"just some words, not a picture\n" * 10), mime_type="image/png", file_name="a.png"))
big = b"\x89PNG\r\n\x1a\n" + os.urandom(int(os.environ["JUST_TOO_BIG"]))
out["too_big"] = refused(lambda: api.media_post(io.BytesIO(big), mime_type="image/png", file_name="b.png"))
huge = b"\x89PNG\r\n\x1a\n" + os.urandom(int(os.environ["FAR_TOO_BIG"]))
out["far_too_big"] = refused(lambda: api.media_post(io.BytesIO(huge), mime_type="image/png", file_name="c.png"))
out["five_images"] = refused(lambda: api.status_post(
    "@" + INNER + " Five\nmany", media_ids=["1", "2", "3", "4", "5"]))

# A members-only community of this node: an attached PNG and one left unattached.
picture = png_with_exif(24, 16)
secret = api.media_post(io.BytesIO(picture), mime_type="image/png", file_name="secret.png",
                        description="The incident timeline")
secret_status = api.status_post("@" + INNER + " Incident notes\nWhat happened on Tuesday.",
                                media_ids=[secret["id"]])
out["secret"] = {"status": str(secret_status["id"]), "media": secret_status["media_attachments"],
                 "visibility": secret_status["visibility"]}
out["unattached"] = api.media_post(io.BytesIO(picture), mime_type="image/png", file_name="draft.png")
print(json.dumps(out, default=str))
