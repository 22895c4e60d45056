# Mastodon.py as three members of one node (bert, olga, sam) using what a member keeps for
# themselves: bookmarks, mutes and blocks, lists and their timeline, dismissing and clearing
# notifications, reports, follow requests (join requests of a community bert moderates),
# status search and Idempotency-Key, followers and following, and pinning threads. It prints what it saw as one JSON object.
import json
import os
import sys
import time

import requests
from mastodon import Mastodon
from mastodon.errors import MastodonError

BASE = os.environ["NODE"]
bert = Mastodon(access_token=os.environ["BERT"], api_base_url=BASE)
olga = Mastodon(access_token=os.environ["OLGA"], api_base_url=BASE)
sam = Mastodon(access_token=os.environ["SAM"], api_base_url=BASE)
out = {}


def error(call):
    try:
        call()
        return None
    except MastodonError as e:
        return [type(e).__name__, e.args[1] if len(e.args) > 1 else None]


def raw(method, path, token, **kwargs):
    r = requests.request(method, BASE + path, headers={"Authorization": "Bearer " + token}, **kwargs)
    return [r.status_code, r.json()]


def ids(items):
    return [str(i["id"]) for i in items]


def accts(items):
    return [a["acct"] for a in items]


guild = bert.search_v2("guild", resolve=False)["accounts"][0]
for api in (bert, olga, sam):
    api.account_follow(guild["id"])
olga_account = olga.me()
sam_account = sam.me()

# Idempotency-Key: the retried post is the first one, not a second thread.
thread = bert.status_post("@guild Bookmarkable questions\nWhat do you read on call?", idempotency_key="q-1")
again = bert.status_post("@guild Bookmarkable questions\nWhat do you read on call?", idempotency_key="q-1")
other = bert.status_post("@guild Another thread\nDifferent key.", idempotency_key="q-2")
out["idempotent"] = [str(thread["id"]) == str(again["id"]), str(other["id"]) != str(thread["id"])]
out["threads_by_bert"] = len(bert.account_statuses(bert.me()["id"], exclude_replies=True))

olga_reply = olga.status_post("The runbook, first.", in_reply_to_id=thread["id"])
sam_reply = sam.status_post("Buy cheap watches!", in_reply_to_id=thread["id"])

# Bookmarks: the latest bookmarked first; unbookmarking removes it.
out["bookmark_flag"] = bert.status_bookmark(thread["id"])["bookmarked"]
bert.status_bookmark(olga_reply["id"])
out["bookmarks"] = ids(bert.bookmarks())
out["bookmarked_in_status"] = bert.status(thread["id"])["bookmarked"]
bert.status_unbookmark(thread["id"])
out["bookmarks_after"] = ids(bert.bookmarks())
out["olga_bookmarks"] = ids(olga.bookmarks())
out["expected"] = {"thread": str(thread["id"]), "olga_reply": str(olga_reply["id"]), "sam_reply": str(sam_reply["id"])}


def note_accounts():
    return sorted(n["account"]["acct"] for n in bert.notifications())


def home_ids():
    return ids(bert.timeline_home())


out["notes_before"] = note_accounts()
out["home_has_sam"] = str(sam_reply["id"]) in home_ids()

# A mute hides sam's posts and notifications; the relationship says so; unmuting brings them back.
rel = bert.account_mute(sam_account["id"])
out["mute_rel"] = [rel["muting"], rel["muting_notifications"]]
out["mutes"] = accts(bert.mutes())
out["notes_muted"] = note_accounts()
out["home_muted_has_sam"] = str(sam_reply["id"]) in home_ids()
out["public_muted_has_sam"] = str(sam_reply["id"]) in ids(bert.timeline_public())
rel = bert.account_unmute(sam_account["id"])
out["unmute_rel"] = rel["muting"]
# Muting posts only: sam's notifications stay.
rel = bert.account_mute(sam_account["id"], notifications=False, duration=3600)
out["mute_posts_only"] = [rel["muting"], rel["muting_notifications"], note_accounts(), str(sam_reply["id"]) in home_ids()]
bert.account_unmute(sam_account["id"])

# A block hides both; unblocking brings them back.
rel = bert.account_block(sam_account["id"])
out["block_rel"] = rel["blocking"]
out["blocks"] = accts(bert.blocks())
out["notes_blocked"] = note_accounts()
out["home_blocked_has_sam"] = str(sam_reply["id"]) in home_ids()
# Relationships of several accounts at once, in the order asked; an unknown id is left out.
out["relationships"] = [
    [r["id"] == want["id"], r["blocking"], r["muting"], r["following"]]
    for r, want in zip(
        bert.account_relationships([sam_account["id"], "999999999", guild["id"], olga_account["id"]]),
        [sam_account, guild, olga_account])]
out["familiar_followers"] = [
    [f["id"] == want["id"], f["accounts"]]
    for f, want in zip(bert.account_familiar_followers([olga_account["id"], guild["id"]]), [olga_account, guild])]
bert.account_unblock(sam_account["id"])
out["blocks_after"] = accts(bert.blocks())
out["notes_unblocked"] = note_accounts()
out["mute_self"] = error(lambda: bert.account_mute(bert.me()["id"]))
out["mute_bad_duration"] = raw("POST", f"/api/v1/accounts/{sam_account['id']}/mute", os.environ["BERT"], data={"duration": "soon"})

# Dismiss one notification, read one by id, then clear them all; a later one still arrives.
notes = bert.notifications()
olga_note = [n for n in notes if n["account"]["acct"] == "olga"][0]
out["one_note"] = bert.notifications(id=olga_note["id"])["account"]["acct"]
bert.notifications_dismiss(olga_note["id"])
out["notes_dismissed"] = note_accounts()
out["dismissed_by_id"] = raw("GET", f"/api/v1/notifications/{olga_note['id']}", os.environ["BERT"])[0]
out["dismiss_bad"] = raw("POST", "/api/v1/notifications/not-a-number/dismiss", os.environ["BERT"])
bert.notifications_clear()
out["notes_cleared"] = note_accounts()
out["unread_cleared"] = raw("GET", "/api/v1/notifications/unread_count", os.environ["BERT"])[1]["count"]
time.sleep(0.01)
olga.status_post("One more thought.", in_reply_to_id=thread["id"])
out["notes_after_clear"] = note_accounts()

# Lists: olga's posts only; another member's list is not found.
people = bert.list_create("People I learn from", replies_policy="list")
bert.list_accounts_add(people["id"], [olga_account["id"]])
out["list_accounts"] = accts(bert.list_accounts(people["id"]))
out["list_timeline_authors"] = sorted(set(accts(s["account"] for s in bert.timeline_list(people["id"]))))
renamed = bert.list_update(people["id"], title="Mentors")
out["list_renamed"] = [renamed["title"], [l["title"] for l in bert.lists()]]
out["list_of_others"] = error(lambda: olga.list(people["id"]))
out["list_blank"] = error(lambda: bert.list_create("   "))
out["list_bad_policy"] = error(lambda: bert.list_create("Ok", replies_policy="everyone"))
bert.list_accounts_delete(people["id"], [olga_account["id"]])
out["list_accounts_after"] = accts(bert.list_accounts(people["id"]))
bert.list_delete(people["id"])
out["lists_after"] = bert.lists()

# A report about sam's reply; statuses of someone else are refused.
report = bert.report(sam_account["id"], status_ids=[sam_reply["id"]], comment="Spam in the guild", category="spam")
out["report"] = {"comment": report["comment"], "category": report["category"], "target": report["target_account"]["acct"], "status_ids": [str(s) for s in report["status_ids"]]}
out["report_wrong_status"] = error(lambda: bert.report(sam_account["id"], status_ids=[olga_reply["id"]], comment="x"))
out["report_no_account"] = raw("POST", "/api/v1/reports", os.environ["BERT"], data={"comment": "who?"})

# Follow requests: bert moderates "inner" (members only); olga and sam ask to join.
inner = bert.search_v2("inner", resolve=False)["accounts"][0]
out["olga_requested"] = olga.account_follow(inner["id"])["requested"]
sam.account_follow(inner["id"])
out["follow_requests"] = sorted(accts(bert.follow_requests()))
out["olga_follow_requests"] = accts(olga.follow_requests())
# A moderator hears of each request as a follow_request notification, in v1 and v2 alike.
asks = bert.notifications(types=["follow_request"])
out["follow_request_notes"] = sorted((n["type"], n["account"]["acct"]) for n in asks)
out["follow_request_notes_v2"] = sorted(
    g["type"] for g in bert.grouped_notifications(types=["follow_request"])["notification_groups"])
out["olga_follow_request_notes"] = len(olga.notifications(types=["follow_request"]))
out["authorized"] = bert.follow_request_authorize(olga_account["id"])["id"] == olga_account["id"]
bert.follow_request_reject(sam_account["id"])
out["follow_requests_after"] = accts(bert.follow_requests())
out["follow_request_notes_after"] = len(bert.notifications(types=["follow_request"]))
out["olga_following_inner"] = olga.account_relationships(inner["id"])[0]["following"]
out["sam_inner"] = [sam.account_relationships(inner["id"])[0][k] for k in ("following", "requested")]
out["authorize_again"] = error(lambda: bert.follow_request_authorize(sam_account["id"]))

# Search finds statuses by words, and never what the searcher may not read.
bert.status_post("@inner Quarterly capacity zebrafish review\nOnly for members.")
out["search_guild"] = ids(bert.search_v2("Bookmarkable", result_type="statuses")["statuses"])
out["search_by_url"] = ids(olga.search_v2(thread["uri"], result_type="statuses")["statuses"])
out["search_inner_member"] = len(olga.search_v2("zebrafish", result_type="statuses")["statuses"])
out["search_inner_outsider"] = len(sam.search_v2("zebrafish", result_type="statuses")["statuses"])
out["search_anonymous"] = requests.get(BASE + "/api/v2/search", params={"q": "zebrafish", "type": "statuses"}).json()["statuses"]

# Followers are a community's members; a confidential community's only to those who may read it.
out["guild_followers"] = sorted(accts(sam.account_followers(guild["id"])))
out["inner_followers_member"] = sorted(accts(olga.account_followers(inner["id"])))
out["inner_followers_outsider"] = accts(sam.account_followers(inner["id"]))
out["olga_following_seen_by_bert"] = sorted(accts(bert.account_following(olga_account["id"])))
out["olga_following_seen_by_sam"] = sorted(accts(sam.account_following(olga_account["id"])))
out["olga_followers"] = accts(bert.account_followers(olga_account["id"]))

# Moderators pin threads in their community; they are the community's pinned statuses.
out["pinned"] = bert.status_pin(thread["id"])["pinned"]
out["community_pins"] = ids(olga.account_statuses(guild["id"], pinned=True))
out["pin_by_member"] = error(lambda: olga.status_pin(other["id"]))
out["pin_reply"] = error(lambda: bert.status_pin(olga_reply["id"]))
out["unpinned"] = bert.status_unpin(thread["id"])["pinned"]
out["community_pins_after"] = ids(olga.account_statuses(guild["id"], pinned=True))

# Grouped notifications (v2): two likes of one thread are one group; a mention stands alone.
olga.status_favourite(thread["id"])
sam.status_favourite(thread["id"])
grouped = bert.grouped_notifications()
groups = grouped["notification_groups"]
out["groups"] = [[g["type"], g["notifications_count"], str(g["status_id"])] for g in groups]
likes = [g for g in groups if g["type"] == "favourite"][0]
by_id = {str(a["id"]): a["acct"] for a in grouped["accounts"]}
out["group_samples"] = sorted(by_id[str(i)] for i in likes["sample_account_ids"])
out["group_statuses"] = ids(grouped["statuses"])
out["v1_group_keys"] = sorted(set(n["group_key"] for n in bert.notifications()))
out["v2_group_keys"] = sorted(g["group_key"] for g in groups)
out["group_by_key"] = bert.grouped_notification(likes["group_key"])["notification_groups"][0]["notifications_count"]
out["group_accounts"] = accts(bert.grouped_notification_accounts(likes["group_key"]))
out["ungrouped_when_asked"] = [g["type"] for g in bert.grouped_notifications(grouped_types=["mention"])["notification_groups"]]
out["unread_groups"] = bert.unread_grouped_notifications_count()
bert.dismiss_grouped_notification(likes["group_key"])
out["groups_after_dismiss"] = [g["type"] for g in bert.grouped_notifications()["notification_groups"]]
out["bad_group_key"] = raw("GET", "/api/v2/notifications/favourite-x-y", os.environ["BERT"])[0]

# Boosts: olga and sam boost bert's thread (olga twice: still one boost); bert hears them as
# one reblog group; the count, the flag and the boosters show; sam takes his back.
boosted = olga.status_reblog(thread["id"])
out["boost_wrapper"] = [str(boosted["reblog"]["id"]), boosted["account"]["acct"], boosted["reblog"]["reblogged"]]
sam.status_reblog(thread["id"])
olga.status_reblog(thread["id"])
seen_by_olga = olga.status(thread["id"])
out["boost_count"] = [seen_by_olga["reblogs_count"], seen_by_olga["reblogged"], bert.status(thread["id"])["reblogged"]]
out["reblogged_by"] = sorted(accts(bert.status_reblogged_by(thread["id"])))
boost_groups = bert.grouped_notifications(types=["reblog"])["notification_groups"]
out["boost_groups"] = [[g["type"], g["notifications_count"], str(g["status_id"])] for g in boost_groups]
out["boost_notes"] = sorted(n["account"]["acct"] for n in bert.notifications(types=["reblog"]))
out["unboost"] = [sam.status_unreblog(thread["id"])["reblogged"], bert.status(thread["id"])["reblogs_count"]]
out["reblogged_by_after"] = accts(bert.status_reblogged_by(thread["id"]))
out["boost_missing"] = error(lambda: olga.status_reblog("999999999"))

# The streaming API: bert's user stream hears olga's reply (a status of his community, and a
# notification), and nothing of sam, whom he mutes.
from mastodon import StreamListener


class Heard(StreamListener):
    def __init__(self):
        self.updates = []
        self.notifications = []

    def on_update(self, status):
        self.updates.append(status["content"])

    def on_notification(self, notification):
        self.notifications.append([notification["type"], notification["account"]["acct"]])


heard = Heard()
bert.account_mute(sam_account["id"])
bert.stream_user(heard, run_async=True)
time.sleep(1.5)
sam.status_post("Streamed spam.", in_reply_to_id=thread["id"])
olga.status_post("Streamed answer.", in_reply_to_id=thread["id"])
wait_until = time.time() + 20
while time.time() < wait_until and not (heard.updates and heard.notifications):
    time.sleep(0.2)
time.sleep(1.5)
# Mastodon.py's close() waits for the next keep-alive; the process's exit below ends the
# stream instead.
out["streamed_updates"] = list(heard.updates)
out["streamed_notifications"] = list(heard.notifications)
out["streaming_health"] = bert.stream_healthy()

# The same over one WebSocket, as web apps stream: Mastodon.py subscribes bert's user stream;
# an anonymous socket (websocket-client) subscribes the local public stream by message.
import websocket

socket_heard = Heard()
handle = bert.stream_open_websocket()
bert.stream_user(socket_heard, websocket_handle=handle)
anonymous = websocket.create_connection(BASE.replace("http://", "ws://") + "/api/v1/streaming", timeout=20)
anonymous.send(json.dumps({"type": "subscribe", "stream": "public:local"}))
anonymous.send(json.dumps({"type": "subscribe", "stream": "user"}))
out["socket_anonymous_user"] = json.loads(anonymous.recv())
time.sleep(1.5)
sam.status_post("Socket spam.", in_reply_to_id=thread["id"])
olga.status_post("Socket answer.", in_reply_to_id=thread["id"])
wait_until = time.time() + 20
while time.time() < wait_until and not (socket_heard.updates and socket_heard.notifications):
    time.sleep(0.2)
time.sleep(1.5)
out["socket_updates"] = socket_heard.updates
out["socket_notifications"] = socket_heard.notifications
public_frames = []
while len(public_frames) < 2:
    frame = json.loads(anonymous.recv())
    public_frames.append([frame["stream"], frame["event"], json.loads(frame["payload"])["content"]])
out["socket_public"] = public_frames
try:
    websocket.create_connection(BASE.replace("http://", "ws://") + "/api/v1/streaming?access_token=nope&stream=user", timeout=5)
    out["socket_bad_token"] = None
except websocket.WebSocketBadStatusException as e:
    out["socket_bad_token"] = e.status_code
out["streaming_anonymous_user"] = requests.get(BASE + "/api/v1/streaming/user", timeout=5).status_code
print(json.dumps(out, default=str))
# The stream's reader thread ends with the process.
sys.stdout.flush()
os._exit(0)
