# Mastodon.py and hashtag streams, on one node. sam (TOKEN) follows #ops and listens to #rust
# over server-sent events and over a WebSocket, and to his own user stream; olga (OLGA) then
# posts a members-only thread tagged #rust #ops (sam is no member), a public one tagged #rust
# and a public one tagged #ops, then a members-only article and a public one, which sam's
# public stream carries as statuses (or not), and so does the stream of sam's list of both
# communities. Prints one JSON object.
import json
import os
import sys
import time

import requests

from mastodon import Mastodon, StreamListener

BASE = os.environ["NODE"]
sam = Mastodon(access_token=os.environ["TOKEN"], api_base_url=BASE, version_check_mode="none")
olga = Mastodon(access_token=os.environ["OLGA"], api_base_url=BASE, version_check_mode="none")
out = {}


class Heard(StreamListener):
    def __init__(self):
        self.updates = []

    def on_update(self, status):
        self.updates.append(status["content"])


out["follow"] = sam.tag_follow("Ops")["following"]
tag_heard, socket_heard, user_heard, local_heard = Heard(), Heard(), Heard(), Heard()
public_heard, list_heard = Heard(), Heard()
sam.stream_public(public_heard, run_async=True)
both = sam.list_create("Both")
sam.list_accounts_add(both["id"], [sam.account_lookup(slug)["id"] for slug in ("guild", "inner")])
sam.stream_list(both["id"], list_heard, run_async=True)
sam.stream_hashtag("rust", tag_heard, run_async=True)
sam.stream_hashtag("RUST", local_heard, local=True, run_async=True)
sam.stream_user(user_heard, run_async=True)
handle = sam.stream_open_websocket()
sam.stream_hashtag("rust", socket_heard, websocket_handle=handle)
time.sleep(1.5)
olga.status_post("@inner Secret budget #rust #ops")
olga.status_post("@guild Deploy notes #Rust")
olga.status_post("@guild Pager duty #Ops")
for slug, title in (("inner", "Secret runbook"), ("guild", "Public runbook")):
    made = requests.post(
        BASE + "/api/roundtable/v1/communities/" + slug + "/articles",
        json={"title": title, "content": "Restart the queue first."},
        headers={"Authorization": "Bearer " + os.environ["OLGA"]},
        timeout=20,
    )
    assert made.status_code == 201, made.text
# The streams send in the order posts were stored: once the later posts arrived, an earlier
# one that was going to come would have come.
wait("the streams", lambda: all(h.updates for h in (tag_heard, socket_heard, user_heard, local_heard))
     and len(public_heard.updates) >= 3 and len(list_heard.updates) >= 3)
time.sleep(1.5)
out["tag"] = tag_heard.updates
out["tag_local"] = local_heard.updates
out["socket"] = socket_heard.updates
out["user"] = user_heard.updates
out["public"] = public_heard.updates
out["list"] = list_heard.updates
print(json.dumps(out))
sys.stdout.flush()
os._exit(0)
