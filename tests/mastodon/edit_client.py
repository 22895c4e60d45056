# Mastodon.py editing statuses on one node, in a community that lives on another: it joins the
# community, starts a thread and replies, reads the thread's source, edits both (the thread's
# title through spoiler_text, as an app's edit screen sends it back), and reads the history
# and the source again; it likes the thread and lists who did, and sets its display name and
# note. It prints what it saw as one JSON object.
import json
import os
import time

from mastodon import Mastodon
from mastodon.errors import MastodonError

BASE = os.environ["NODE"]
COMMUNITY = os.environ["COMMUNITY"]
api = Mastodon(access_token=os.environ["TOKEN"], api_base_url=BASE)
out = {}


community = api.search_v2("@" + COMMUNITY, resolve=True)["accounts"][0]
api.account_follow(community["id"])
wait("the community to accept", lambda: api.account_relationships(community["id"])[0]["following"])
thread = api.status_post("@" + COMMUNITY + " Draft title\nFirst body.")
reply = api.status_post("A first answer.", in_reply_to_id=thread["id"])
out["thread_id"] = str(thread["id"])
out["thread_uri"] = thread["uri"]
out["reply_id"] = str(reply["id"])
out["edited_at_before"] = thread["edited_at"]
source = api.status_source(thread["id"])
out["source"] = {"text": source["text"], "spoiler_text": source["spoiler_text"]}
edited = api.status_update(thread["id"], "A better body.", spoiler_text="Final title")
out["edited"] = {"content": edited["content"], "edited_at": edited["edited_at"]}
edited_reply = api.status_update(reply["id"], "A better answer.")
out["edited_reply"] = {"content": edited_reply["content"], "edited_at": edited_reply["edited_at"]}
out["history"] = [v["content"] for v in api.status_history(thread["id"])]
out["reply_history"] = [v["content"] for v in api.status_history(reply["id"])]
source = api.status_source(thread["id"])
out["source_after"] = {"text": source["text"], "spoiler_text": source["spoiler_text"]}
out["read_back"] = api.status(thread["id"])["content"]
try:
    api.status_update(thread["id"], "   ")
    out["blank"] = None
except MastodonError as e:
    out["blank"] = [type(e).__name__, e.args[1] if len(e.args) > 1 else None]

# Who liked the thread, and the member's own profile.
api.status_favourite(thread["id"])
out["favourited_by"] = [a["acct"] for a in api.status_favourited_by(thread["id"])]
me = api.account_update_credentials(display_name="Bert Brook", note="On call on Tuesdays.")
out["credentials"] = {"display_name": me["display_name"], "note_source": me["source"]["note"]}
out["me_after"] = api.me()["display_name"]
try:
    api.account_update_credentials(display_name="x" * 500)
    out["long_name"] = None
except MastodonError as e:
    out["long_name"] = [type(e).__name__, e.args[1] if len(e.args) > 1 else None]
print(json.dumps(out, default=str))
