# Mastodon.py and hashtags. STEP=post: resolve a community on another node, join it, start a
# thread with two hashtags. STEP=read: wait for the tagged posts and read the tag's timeline
# (in any case, local and remote), the Tag entity and a bad tag. STEP=count: how many posts
# the caller (TOKEN, or nobody) finds under #rust. Prints one JSON object.
import json
import os

import requests
from mastodon import Mastodon

BASE = os.environ["NODE"]
STEP = os.environ["STEP"]
TOKEN = os.environ["TOKEN"] or None
api = Mastodon(access_token=TOKEN, api_base_url=BASE, version_check_mode="none")
out = {}


if STEP == "post":
    community = api.search_v2("@" + os.environ["COMMUNITY"], resolve=True)["accounts"][0]
    api.account_follow(community["id"])
    wait("the community to accept", lambda: api.account_relationships(community["id"])[0]["following"])
    thread = api.status_post("@" + os.environ["COMMUNITY"] + " Release notes #Rust #Release2026\nWe ship on Friday.")
    out["thread_uri"] = thread["uri"]
elif STEP == "read":
    found = wait("both tagged posts", lambda: (lambda t: t if len(t) == 2 else None)(api.timeline_hashtag("RUST")))
    out["rust"] = [[s["content"], [t["name"] for t in s["tags"]]] for s in found]
    out["release"] = len(api.timeline_hashtag("release2026"))
    out["rust_local"] = len(api.timeline_hashtag("rust", local=True))
    out["rust_remote"] = len(api.timeline_hashtag("rust", remote=True))
    tag = api.tag("Rust")
    out["tag"] = [tag["name"], tag["following"]]
    out["bad_tag"] = requests.get(BASE + "/api/v1/timelines/tag/no%20tag").status_code
else:
    out["rust"] = len(api.timeline_hashtag("rust"))
    out["rust_local"] = len(api.timeline_hashtag("rust", local=True))

print(json.dumps(out))
