# Mastodon.py, the Python library many bots and tools use, signing in to a Roundtable node as
# an app would and reading what apps read first. It prints what it saw as one JSON object;
# the Rust test asserts on it.
import json
import os

from mastodon import Mastodon

BASE = os.environ["NODE"]
LOGIN = os.environ["LOGIN"]
PASSWORD = os.environ["PASSWORD"]
REDIRECT = "https://app.example/callback"
SCOPES = ["read", "write", "follow", "push"]
out = {}

client_id, client_secret = Mastodon.create_app(
    "Mastodon.py test", scopes=SCOPES, redirect_uris=REDIRECT, api_base_url=BASE)
api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=BASE)
url = api.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, allow_http=True)
_, status, location = consent(url, LOGIN, PASSWORD, out)
out["approved"] = status
code = location.split("code=")[1].split("&")[0]
api.log_in(code=code, redirect_uri=REDIRECT, scopes=SCOPES, allow_http=True)

out["version"] = api.retrieve_mastodon_version()
out["api_version"] = api.mastodon_api_version
instance = api.instance()
out["instance_domain"] = instance.get("domain") or instance.get("uri")
out["instance_v1_uri"] = api.instance_v1()["uri"]
me = api.account_verify_credentials()
out["me"] = {"id": str(me["id"]), "username": me["username"], "acct": me["acct"],
             "group": me["group"], "source_language": me["source"]["language"]}
out["lookup_same"] = str(api.account_lookup(LOGIN)["id"]) == str(me["id"])
community = api.account_lookup("practice")
out["community"] = {"group": community["group"], "followers": community["followers_count"],
                    "locked": community["locked"], "username": community["username"]}
out["account_by_id"] = api.account(me["id"])["username"]
try:
    api.account_lookup("nobody-here")
    out["lookup_missing"] = "found"
except Exception as e:
    out["lookup_missing"] = type(e).__name__
out["emojis"] = api.custom_emojis()

# A status that mentions a community starts a thread in it; its first line is the title.
thread = api.status_post("@practice What we learned this quarter\nThree things stood out.")
out["thread"] = {"content": thread["content"], "visibility": thread["visibility"],
                 "mention": thread["mentions"][0]["acct"], "author": thread["account"]["username"],
                 "replies": thread["replies_count"]}
reply = api.status_post("Agreed, the second most of all.", in_reply_to_id=thread["id"])
out["reply_to"] = str(reply["in_reply_to_id"]) == str(thread["id"])
out["reply_to_account"] = str(reply["in_reply_to_account_id"]) == str(me["id"])
faved = api.status_favourite(reply["id"])
out["favourited"] = [faved["favourited"], faved["favourites_count"]]
out["unfavourited"] = api.status_unfavourite(reply["id"])["favourited"]
context = api.status_context(thread["id"])
out["descendants"] = [str(s["id"]) for s in context["descendants"]] == [str(reply["id"])]
out["ancestors"] = [str(s["id"]) for s in api.status_context(reply["id"])["ancestors"]] == [str(thread["id"])]
out["thread_replies"] = api.status(thread["id"])["replies_count"]
public_thread = api.status_post("@commons Open to all\nAnyone can read this one.")
out["public_visibility"] = public_thread["visibility"]
mine = [str(s["id"]) for s in api.account_statuses(me["id"])]
out["account_statuses"] = mine == [str(public_thread["id"]), str(reply["id"]), str(thread["id"])]
out["account_threads"] = [str(s["id"]) for s in api.account_statuses(me["id"], exclude_replies=True)] == [str(public_thread["id"]), str(thread["id"])]
out["community_statuses"] = [str(s["id"]) for s in api.account_statuses(community["id"])] == [str(reply["id"]), str(thread["id"])]
out["community_id"] = str(community["id"])
home = api.timeline_home()
out["home"] = [str(s["id"]) for s in home] == [str(public_thread["id"]), str(reply["id"]), str(thread["id"])]
first = api.timeline_home(limit=1)
second = api.fetch_next(first)
out["paged"] = [str(s["id"]) for s in first + second] == [str(public_thread["id"]), str(reply["id"])]
out["public_timeline"] = [str(s["id"]) for s in api.timeline_public()] == [str(public_thread["id"])]
out["local_timeline"] = len(api.timeline_local())
out["remote_timeline"] = len(api.timeline_public(remote=True))
try:
    api.status_post("No community named here.")
    out["no_community"] = "posted"
except Exception as e:
    out["no_community"] = [type(e).__name__, str(e)]
# Markers: set twice, read back with its version; favourites list what was liked.
api.markers_set(["home"], [thread["id"]])
api.markers_set(["home"], [public_thread["id"]])
marker = api.markers_get(["home"])["home"]
out["marker"] = [str(marker["last_read_id"]) == str(public_thread["id"]), marker["version"]]
api.status_favourite(thread["id"])
out["favourites"] = [str(s["id"]) for s in api.favourites()] == [str(thread["id"])]
out["preferences_language"] = api.preferences()["posting:default:language"]
out["empties"] = [len(api.lists()), len(api.filters()), len(api.bookmarks()), len(api.mutes()),
                  len(api.blocks())]
try:
    api.account_follow(me["id"])
    out["follow_person"] = "followed"
except Exception as e:
    out["follow_person"] = str(e)
rel = api.account_relationships([community["id"]])[0]
out["relationship_following"] = rel["following"]
deleted = api.status_delete(reply["id"])
out["deleted_text"] = deleted["text"]
try:
    api.status(reply["id"])
    out["after_delete"] = "found"
except Exception as e:
    out["after_delete"] = type(e).__name__
out["status_id"] = str(thread["id"])
out["peers"] = api.instance_peers()
activity = api.instance_activity()
out["activity"] = {
    "weeks": len(activity),
    "logins": sum(int(w["logins"]) for w in activity),
    "registrations": sum(int(w["registrations"]) for w in activity),
    "statuses": sum(int(w["statuses"]) for w in activity),
}
print(json.dumps(out, default=str))
