# A pytest module: Mastodon.py on one node (NODE) taking part in a community that lives on
# another (ALPHA, the community COMMUNITY, whose moderator's native API token is OLGA_TOKEN).
# The tests run in order, each building on the one before: read the instance, register an app
# and sign in as LOGIN through the OAuth code flow, verify credentials, resolve the community by
# its handle, follow (join) it, start a thread by mentioning it, reply in it, favourite the
# reply, upload an image and attach it to another reply, read the home timeline (with a reply
# and a like written on the community's node), the notifications, the markers, and delete.
# The Rust test (tests/mastodon/mod.rs) starts both nodes and runs this with `python -m pytest`;
# what each test saw goes to the JSON file OUT, for the Rust test's own assertions.
import io
import json
import os

import pytest
import requests
from mastodon import Mastodon

BASE = os.environ["NODE"]
ALPHA = os.environ["ALPHA"]
COMMUNITY = os.environ["COMMUNITY"]
LOGIN = os.environ["LOGIN"]
REDIRECT = "https://app.example/callback"
SCOPES = ["read", "write", "follow", "push"]
OLGA = {"Authorization": "Bearer " + os.environ["OLGA_TOKEN"]}
NATIVE = ALPHA + "/api/roundtable/v1"
out = {}
# What one test leaves to the next.
kept = {}


@pytest.fixture(autouse=True)
def record():
    """Writes what the tests saw so far to OUT after each test, passed or failed."""
    yield
    with open(os.environ["OUT"], "w") as f:
        json.dump(out, f, default=str)


def test_instance():
    instance = Mastodon(api_base_url=BASE, version_check_mode="none").instance()
    out["version"] = instance["version"]
    assert "(compatible; Roundtable " in instance["version"]


def test_sign_in_and_verify_credentials():
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py federation test", scopes=SCOPES, redirect_uris=REDIRECT, api_base_url=BASE)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=BASE)
    url = api.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, allow_http=True)
    _, _, location = consent(url, LOGIN, os.environ["PASSWORD"], out)
    code = location.split("code=")[1].split("&")[0]
    out["token"] = api.log_in(code=code, redirect_uri=REDIRECT, scopes=SCOPES, allow_http=True)
    me = api.account_verify_credentials()
    out["me"] = me["acct"]
    assert me["acct"] == LOGIN
    kept["api"] = api


def test_search_resolves_the_remote_community():
    found = kept["api"].search_v2("@" + COMMUNITY, resolve=True)["accounts"]
    out["found"] = [a["acct"] for a in found]
    assert out["found"] == [COMMUNITY]
    out["group"] = found[0]["group"]
    assert out["group"] is True
    kept["community"] = found[0]


def test_follow():
    api, community = kept["api"], kept["community"]
    out["follow"] = api.account_follow(community["id"])["requested"] or True
    out["following"] = wait("the community to accept", lambda: (
        api.account_relationships(community["id"])[0]["following"]))
    assert out["following"] is True


def test_post_a_thread_by_mention():
    thread = kept["api"].status_post(
        "@" + COMMUNITY + " Shared on-call handbook\nWho keeps theirs in the repo?")
    out["thread_uri"] = thread["uri"]
    out["thread_id"] = str(thread["id"])
    slug = COMMUNITY.split("@")[0]

    def on_alpha():
        threads = requests.get(NATIVE + "/communities/" + slug + "/threads", headers=OLGA).json()
        return next((t for t in threads["threads"] if t["ap_id"] == thread["uri"]), None)

    # The thread is on the community's node.
    kept["alpha_thread"] = wait("the thread on the community's node", on_alpha)
    out["alpha_title"] = kept["alpha_thread"]["title"]
    assert out["alpha_title"] == "Shared on-call handbook"


def test_reply():
    reply = kept["api"].status_post("Mine is in the wiki.", in_reply_to_id=out["thread_id"])
    out["own_reply"] = [str(reply["id"]), str(reply["in_reply_to_id"])]
    assert out["own_reply"][1] == out["thread_id"]


def test_favourite():
    liked = kept["api"].status_favourite(out["own_reply"][0])
    out["favourited"] = [liked["favourited"], liked["favourites_count"]]
    assert out["favourited"] == [True, 1]


def test_upload_and_attach_an_image():
    api = kept["api"]
    upload = api.media_post(io.BytesIO(png(12, 8)), mime_type="image/png", file_name="rota.png",
                            description="The on-call rota")
    reply = api.status_post("Our rota, as a picture.", in_reply_to_id=out["thread_id"],
                            media_ids=[upload["id"]])
    out["image_reply"] = str(reply["id"])
    out["attached"] = [[str(m["id"]) == str(upload["id"]), m["type"], m["description"]]
                       for m in reply["media_attachments"]]
    assert out["attached"] == [[True, "image", "The on-call rota"]]


def test_home_timeline():
    api, thread_id = kept["api"], out["thread_id"]
    # Olga, on the community's node, replies to the thread and likes it.
    alpha_id = str(kept["alpha_thread"]["id"])
    answer = requests.post(NATIVE + "/threads/" + alpha_id + "/replies",
                           json={"content": "Ours is, next to the runbooks."}, headers=OLGA)
    assert answer.status_code == 201, answer.text
    answer = requests.post(NATIVE + "/threads/" + alpha_id + "/like", json={}, headers=OLGA)
    assert answer.status_code == 200, answer.text

    def reply_arrived():
        for s in api.timeline_home():
            if str(s["in_reply_to_id"]) == thread_id and s["account"]["acct"] != LOGIN:
                return s
        return None

    reply = wait("the reply from the community's node", reply_arrived)
    out["reply_id"] = str(reply["id"])
    out["reply_content"] = reply["content"]
    out["reply_author"] = reply["account"]["acct"]
    out["reply_author_id"] = str(reply["account"]["id"])
    out["home"] = [str(s["id"]) for s in api.timeline_home()]
    assert out["home"] == [out["reply_id"], out["image_reply"], out["own_reply"][0], thread_id]
    # The thread's replies, in the order the community's node took them in (bert's replies
    # travel there too, so olga's may come before his second one).
    out["context"] = sorted(
        str(s["id"]) for s in api.status_context(thread_id)["descendants"])
    assert out["context"] == sorted([out["own_reply"][0], out["image_reply"], out["reply_id"]])


def test_notifications_include_the_remote_reply():
    api = kept["api"]
    # The reply and the like, both written on the community's node, are notifications here.
    notes = wait("two notifications", lambda: (
        (lambda n: n if len(n) >= 2 else None)(api.notifications())))
    kept["notes"] = notes
    out["notifications"] = [[n["type"], n["account"]["acct"], str(n["status"]["id"])] for n in notes]
    assert [n[0] for n in out["notifications"]] == ["favourite", "mention"]
    assert out["notifications"][1][2] == out["reply_id"]
    out["mentions_only"] = [n["type"] for n in api.notifications(types=["mention"])]
    assert out["mentions_only"] == ["mention"]
    # The entities as sent carry the attributes Mastodon documents as always present:
    # Notification (v1) and the grouped notifications' page and groups (v2).
    auth = {"Authorization": "Bearer " + api.access_token}
    raw = requests.get(BASE + "/api/v1/notifications", headers=auth, timeout=20).json()
    assert len(raw) >= 2, raw
    for n in raw:
        missing = [f for f in ["id", "type", "group_key", "created_at", "account", "status"] if f not in n]
        assert not missing, (missing, n)
        assert isinstance(n["id"], str) and n["id"].isdigit(), n
    grouped = requests.get(BASE + "/api/v2/notifications", headers=auth, timeout=20).json()
    missing = [f for f in ["accounts", "statuses", "notification_groups"] if f not in grouped]
    assert not missing, (missing, grouped)
    for g in grouped["notification_groups"]:
        fields = ["group_key", "notifications_count", "type", "most_recent_notification_id",
                  "sample_account_ids"]
        missing = [f for f in fields if f not in g]
        assert not missing, (missing, g)
    out["notification_fields"] = sorted(raw[0].keys())


def test_markers():
    api, notes = kept["api"], kept["notes"]
    out["unread"] = api.notifications_unread_count()["count"]
    assert out["unread"] == 2
    api.markers_set(["notifications"], [notes[0]["id"]])
    out["marker"] = str(api.markers_get(["notifications"])["notifications"]["last_read_id"])
    assert out["marker"] == str(notes[0]["id"])
    out["unread_after_marker"] = api.notifications_unread_count()["count"]
    assert out["unread_after_marker"] == 0
    older = api.notifications(max_id=notes[0]["id"])
    out["older"] = [str(n["id"]) for n in older] == [str(n["id"]) for n in notes[1:]]
    assert out["older"] is True


def test_delete():
    api = kept["api"]
    deleted = api.status_delete(out["image_reply"])
    out["deleted"] = [str(deleted["id"]), deleted["text"]]
    assert out["deleted"] == [out["image_reply"], "Our rota, as a picture."]
    answer = requests.get(BASE + "/api/v1/statuses/" + out["image_reply"],
                          headers={"Authorization": "Bearer " + out["token"]})
    out["deleted_status"] = answer.status_code
    assert out["deleted_status"] == 404
    out["context_after_delete"] = sorted(
        str(s["id"]) for s in api.status_context(out["thread_id"])["descendants"])
    assert out["context_after_delete"] == sorted([out["own_reply"][0], out["reply_id"]])
