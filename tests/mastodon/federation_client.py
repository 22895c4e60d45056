# Mastodon.py on one node taking part in a community that lives on another: it resolves the
# community by its handle, follows (joins) it, and starts a thread by mentioning it (STEP=join);
# later it waits for a reply written on the community's node to reach its home timeline
# (STEP=read). It prints what it saw as one JSON object.
import json
import os
import time

from mastodon import Mastodon

BASE = os.environ["NODE"]
STEP = os.environ["STEP"]
COMMUNITY = os.environ["COMMUNITY"]
REDIRECT = "https://app.example/callback"
SCOPES = ["read", "write", "follow", "push"]
out = {}


if STEP == "join":
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py federation test", scopes=SCOPES, redirect_uris=REDIRECT, api_base_url=BASE)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=BASE)
    url = api.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, allow_http=True)
    _, _, location = consent(url, os.environ["LOGIN"], os.environ["PASSWORD"], out)
    code = location.split("code=")[1].split("&")[0]
    out["token"] = api.log_in(code=code, redirect_uri=REDIRECT, scopes=SCOPES, allow_http=True)
    found = api.search_v2("@" + COMMUNITY, resolve=True)["accounts"]
    out["found"] = [a["acct"] for a in found]
    community = found[0]
    out["group"] = community["group"]
    out["follow"] = api.account_follow(community["id"])["requested"] or True
    rel = wait("the community to accept", lambda: (
        api.account_relationships(community["id"])[0]["following"]))
    out["following"] = rel
    thread = api.status_post("@" + COMMUNITY + " Shared on-call handbook\nWho keeps theirs in the repo?")
    out["thread_uri"] = thread["uri"]
    out["thread_id"] = str(thread["id"])
else:
    api = Mastodon(access_token=os.environ["TOKEN"], api_base_url=BASE)
    thread_id = os.environ["THREAD"]

    def reply_arrived():
        for s in api.timeline_home():
            if str(s["in_reply_to_id"]) == thread_id:
                return s
        return None

    reply = wait("the reply from the community's node", reply_arrived)
    out["reply_content"] = reply["content"]
    out["reply_author"] = reply["account"]["acct"]
    out["reply_author_id"] = str(reply["account"]["id"])
    out["context"] = [str(s["id"]) for s in api.status_context(thread_id)["descendants"]] == [str(reply["id"])]
    # The reply and the like, both written on the community's node, are notifications here.
    notes = wait("two notifications", lambda: (
        (lambda n: n if len(n) >= 2 else None)(api.notifications())))
    out["notifications"] = [[n["type"], n["account"]["acct"], str(n["status"]["id"])] for n in notes]
    out["mentions_only"] = [n["type"] for n in api.notifications(types=["mention"])]
    out["unread"] = api.notifications_unread_count()["count"]
    api.markers_set(["notifications"], [notes[0]["id"]])
    out["unread_after_marker"] = api.notifications_unread_count()["count"]
    older = api.notifications(max_id=notes[0]["id"])
    out["older"] = [str(n["id"]) for n in older] == [str(n["id"]) for n in notes[1:]]
print(json.dumps(out, default=str))
