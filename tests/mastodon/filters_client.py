# Mastodon.py and a member's filters and followed tags. TOKEN is bert's, SAM another member's.
# STEP=join: bert joins the guild and starts a thread in it. STEP=filters: filters v2 and v1
# (create, read, update, delete), how they mark, hide and stop marking what bert reads in
# home, conversations and notifications, sam's view of them, and bad input. STEP=tags:
# following hashtags brings their posts into home, as far as bert may read them.
# STEP=remote_join, remote_post: a member of another node joins the guild, posts in it and
# answers bert. STEP=domains: bert blocks that node's domain. Prints one JSON object.
import json
import os
import time

import requests
from mastodon import Mastodon

BASE = os.environ["NODE"]
STEP = os.environ["STEP"]
api = Mastodon(access_token=os.environ["TOKEN"], api_base_url=BASE, version_check_mode="none")
out = {}


def find(statuses, words):
    """The status whose content has `words`, or None."""
    return next((s for s in statuses if words in s["content"]), None)


def marks(status):
    """A status's filter results as [title, keyword_matches, status_matches]."""
    return [[r["filter"]["title"], r["keyword_matches"], r["status_matches"]]
            for r in status["filtered"]]


def home_marks():
    home = api.timeline_home(limit=40)
    return {words: (None if find(home, words) is None else marks(find(home, words)))
            for words in ["carpet cleaning", "finale was great", "Nothing to see", "Notify me"]}


def raw(method, path, token=None, **kwargs):
    r = requests.request(method, BASE + path, headers={
        "Authorization": "Bearer " + (token or os.environ["TOKEN"])}, **kwargs)
    body = r.json()
    return [r.status_code, isinstance(body, dict) and isinstance(body.get("error"), str)]


if STEP == "join":
    guild = api.account_lookup("guild")
    api.account_follow(guild["id"])
    wait("bert in the guild", lambda: api.account_relationships(guild["id"])[0]["following"])
    thread = api.status_post("@guild Notify me\nAbout the show, please.")
    out["thread_uri"] = thread["uri"]
elif STEP == "filters":
    sam = Mastodon(access_token=os.environ["SAM"], api_base_url=BASE, version_check_mode="none")
    guild = sam.account_lookup("guild")
    sam.account_follow(guild["id"])
    wait("sam in the guild", lambda: sam.account_relationships(guild["id"])[0]["following"])
    out["before"] = [len(api.filters_v2()), len(api.filters())]
    # Create, read, update.
    spoilers = api.create_filter_v2(
        title="Spoilers", context=["home", "thread", "notifications"], filter_action="warn",
        keywords_attributes=[{"keyword": "FINALE", "whole_word": True}])
    out["created"] = [spoilers["title"], spoilers["context"], spoilers["filter_action"],
                      [[k["keyword"], k["whole_word"]] for k in spoilers["keywords"]],
                      spoilers["expires_at"], spoilers["statuses"]]
    out["read"] = api.filter_v2(spoilers["id"])["title"]
    updated = api.update_filter_v2(spoilers["id"], title="Show spoilers", keywords_attributes=[
        {"keyword": "car", "whole_word": True}])
    out["updated"] = [updated["title"], updated["context"], [k["keyword"] for k in updated["keywords"]]]
    car = next(k for k in updated["keywords"] if k["keyword"] == "car")
    temp = api.add_filter_keyword_v2(spoilers["id"], "temporary", whole_word=False)
    out["keywords"] = [len(api.filter_keywords_v2(spoilers["id"])), temp["keyword"], temp["whole_word"]]
    api.delete_filter_keyword_v2(temp["id"])
    out["keywords_after_delete"] = [k["keyword"] for k in api.filter_keywords_v2(spoilers["id"])]
    out["list"] = [f["title"] for f in api.filters_v2()]
    # The v1 view: one filter per keyword.
    out["v1"] = sorted([f["phrase"], f["context"], f["whole_word"], f["irreversible"]] for f in api.filters())
    v1 = api.filter_create("digest", ["public"], irreversible=True, whole_word=False)
    out["v1_created"] = [v1["phrase"], v1["context"], v1["irreversible"], v1["whole_word"]]
    out["v1_read"] = api.filter(v1["id"])["phrase"]
    out["v1_as_v2"] = sorted([f["title"], f["filter_action"]] for f in api.filters_v2())
    v1u = api.filter_update(v1["id"], phrase="digests", irreversible=False)
    out["v1_updated"] = [v1u["phrase"], v1u["irreversible"], v1u["context"]]
    api.filter_delete(v1["id"])
    out["after_v1_delete"] = [f["title"] for f in api.filters_v2()]

    # Marking in home: FINALE matches "finale" (any case, a whole word); "car" as a whole word
    # does not match "carpet".
    out["home_warn"] = home_marks()
    api.update_filter_v2(spoilers["id"], keywords_attributes=[{"id": car["id"], "whole_word": False}])
    out["home_part_word"] = home_marks()
    # Back to whole words, and the digest named as a status.
    api.update_filter_v2(spoilers["id"], keywords_attributes=[{"id": car["id"], "_destroy": True}])
    digest = find(api.timeline_home(limit=40), "carpet cleaning")
    fs = api.add_filter_status_v2(spoilers["id"], digest["id"])
    out["digest_id"] = str(digest["id"])
    out["filter_status"] = [str(fs["status_id"]), len(api.filter_statuses_v2(spoilers["id"])),
                            str(api.filter_status_v2(fs["id"])["status_id"])]
    out["home_status"] = home_marks()
    api.delete_filter_status_v2(fs["id"])
    out["filter_statuses_after_delete"] = len(api.filter_statuses_v2(spoilers["id"]))

    # In a conversation: the reply about the finale is marked.
    show = find(api.timeline_home(limit=40), "finale was great")
    notify = find(api.timeline_home(limit=40), "Notify me")
    context = api.status_context(notify["id"])
    out["context"] = sorted([d["content"][:40], marks(d)] for d in context["descendants"])

    # Hide: the status is gone from home; with an end long ahead it still hides, and one whose
    # end has passed no longer applies.
    hide = api.create_filter_v2(title="No news", context=["home"], filter_action="hide",
                                keywords_attributes=[{"keyword": "nothing to see", "whole_word": True}])
    out["home_hide"] = home_marks()
    api.delete_filter_v2(hide["id"])
    api.create_filter_v2(title="Later", context=["home"], filter_action="hide", expires_in=3600,
                         keywords_attributes=[{"keyword": "nothing", "whole_word": True}])
    short = api.create_filter_v2(title="Soon over", context=["home"], filter_action="warn", expires_in=1,
                                 keywords_attributes=[{"keyword": "carpet", "whole_word": True}])
    out["expires_set"] = short["expires_at"] is not None
    time.sleep(2.5)  # past the short filter's end (wall time only moves forward)
    out["home_expired"] = home_marks()

    # Notifications: the reply bert's hide filter matches is left out, the other is marked.
    api.create_filter_v2(title="Quiet", context=["notifications"], filter_action="hide",
                         keywords_attributes=[{"keyword": "ignore me", "whole_word": True}])
    notes = api.notifications(types=["mention"])
    out["notifications"] = sorted([n["status"]["content"][:40], marks(n["status"])] for n in notes)
    grouped = requests.get(BASE + "/api/v2/notifications", params={"types[]": "mention"}, headers={
        "Authorization": "Bearer " + os.environ["TOKEN"]}).json()
    out["grouped"] = [len(grouped["notification_groups"]),
                      sorted([s["content"][:40], marks(s)] for s in grouped["statuses"])]
    out["unread"] = requests.get(BASE + "/api/v1/notifications/unread_count", headers={
        "Authorization": "Bearer " + os.environ["TOKEN"]}).json()["count"]

    # Another member sees none of bert's filters, and cannot touch them.
    kid = api.filter_keywords_v2(spoilers["id"])[0]["id"]
    out["sam_list"] = [len(sam.filters_v2()), len(sam.filters())]
    out["sam"] = [
        raw("GET", f"/api/v2/filters/{spoilers['id']}", os.environ["SAM"]),
        raw("PUT", f"/api/v2/filters/{spoilers['id']}", os.environ["SAM"], json={"title": "mine"}),
        raw("DELETE", f"/api/v2/filters/{spoilers['id']}", os.environ["SAM"]),
        raw("GET", f"/api/v2/filters/keywords/{kid}", os.environ["SAM"]),
        raw("DELETE", f"/api/v2/filters/keywords/{kid}", os.environ["SAM"]),
        raw("GET", f"/api/v1/filters/{kid}", os.environ["SAM"]),
        raw("POST", f"/api/v2/filters/{spoilers['id']}/keywords", os.environ["SAM"], json={"keyword": "x"}),
    ]
    out["sam_home"] = marks(find(sam.timeline_home(limit=40), "finale was great"))
    out["still_there"] = api.filter_v2(spoilers["id"])["title"]

    # A form with a list of keywords, as Tusky sends it.
    r = requests.post(BASE + "/api/v2/filters", headers={"Authorization": "Bearer " + os.environ["TOKEN"]}, data={
        "title": "Form made", "context[]": "public", "filter_action": "hide",
        "keywords_attributes[0][keyword]": "Tusky", "keywords_attributes[0][whole_word]": "false",
        "keywords_attributes[1][keyword]": "Ivory"})
    made = r.json()
    out["form"] = [r.status_code, made["title"], made["context"], made["filter_action"],
                   [[k["keyword"], k["whole_word"]] for k in made["keywords"]]]
    api.delete_filter_v2(made["id"])

    # Bad input is a Mastodon-shaped 422 or 404.
    out["bad"] = [
        raw("POST", "/api/v2/filters", json={"title": "x", "context": ["nowhere"]}),
        raw("POST", "/api/v2/filters", json={"title": "x", "context": []}),
        raw("POST", "/api/v2/filters", json={"title": " ", "context": ["home"]}),
        raw("POST", "/api/v2/filters", json={"title": "x", "context": ["home"], "filter_action": "explode"}),
        raw("POST", "/api/v2/filters", json={"title": "x", "context": ["home"], "expires_in": "soon"}),
        raw("POST", "/api/v2/filters", json={"title": "x", "context": ["home"],
                                             "keywords_attributes": [{"keyword": "  "}]}),
        raw("POST", f"/api/v2/filters/{spoilers['id']}/keywords", data={"keyword": ""}),
        raw("PUT", f"/api/v2/filters/{spoilers['id']}", json={"keywords_attributes": [{"id": "999999", "_destroy": True}]}),
        raw("POST", "/api/v1/filters", data={"context[]": "home"}),
        raw("POST", "/api/v1/filters", data={"phrase": "x", "context[]": "everywhere"}),
        raw("GET", "/api/v2/filters/999999"),
        raw("GET", "/api/v2/filters/abc"),
        raw("GET", "/api/v2/filters/keywords/999999"),
        raw("GET", "/api/v2/filters/statuses/999999"),
        raw("POST", f"/api/v2/filters/{spoilers['id']}/statuses", data={"status_id": "999999"}),
        raw("PUT", "/api/v1/filters/999999", data={"phrase": "y"}),
    ]
    out["after"] = sorted(f["title"] for f in api.filters_v2())
elif STEP == "tags":
    def home_has(words):
        return find(api.timeline_home(limit=40), words) is not None
    out["before"] = [home_has("Open gardening"), home_has("Secret gardening"), api.tag("gardening")["following"]]
    followed = api.tag_follow("Gardening")
    out["follow"] = [followed["name"], followed["following"], api.tag("GARDENING")["following"]]
    out["home"] = [home_has("Open gardening"), home_has("Secret gardening")]
    for name in ["compost", "seeds"]:
        api.tag_follow(name)
    first = api.followed_tags(limit=2)
    rest = api.fetch_next(first) or []
    out["followed"] = [[t["name"] for t in first], [t["name"] for t in rest]]
    api.tag_unfollow("gardening")
    out["after_unfollow"] = [home_has("Open gardening"), api.tag("gardening")["following"],
                             sorted(t["name"] for t in api.followed_tags())]
    out["bad_tag"] = raw("POST", "/api/v1/tags/no%20tag/follow")

elif STEP == "remote_join":
    # On the other node: join the guild there.
    guild = api.search_v2("@" + os.environ["COMMUNITY"], resolve=True)["accounts"][0]
    api.account_follow(guild["id"])
    wait("the guild to accept", lambda: api.account_relationships(guild["id"])[0]["following"])
elif STEP == "remote_post":
    # On the other node: a thread in the guild, and a reply to bert's thread once it arrives.
    thread = api.status_post("@" + os.environ["COMMUNITY"] + " Remote hello\nFrom the other node.")
    out["thread_uri"] = thread["uri"]
    berts = wait("bert's thread", lambda: find(api.timeline_home(limit=40), "Notify me"))
    api.status_post("Remote answer to bert", in_reply_to_id=berts["id"])
elif STEP == "domains":
    other = os.environ["OTHER"]

    def seen():
        home = api.timeline_home(limit=40)
        notes = api.notifications()
        return [find(home, "Remote hello") is not None, find(home, "Notify me") is not None,
                sorted(n["account"]["acct"] for n in notes)]
    out["before"] = wait("the remote thread and reply", lambda: (lambda s: s if s[0] and s[2] else None)(seen()))
    out["before_blocks"] = api.domain_blocks()
    api.domain_block(other)
    out["blocked"] = seen()
    out["unread_blocked"] = requests.get(BASE + "/api/v1/notifications/unread_count", headers={
        "Authorization": "Bearer " + os.environ["TOKEN"]}).json()["count"]
    api.domain_block("other.example")
    first = api.domain_blocks(limit=1)
    rest = api.fetch_next(first) or []
    out["blocks"] = [list(first), list(rest)]
    api.domain_unblock(other)
    out["unblocked"] = seen()
    out["after_blocks"] = api.domain_blocks()
    own = BASE.split("://", 1)[1]
    out["bad"] = [raw("POST", "/api/v1/domain_blocks", data={"domain": own}),
                  raw("POST", "/api/v1/domain_blocks", data={"domain": ""}),
                  raw("POST", "/api/v1/domain_blocks", data={"domain": "not a domain"})]

print(json.dumps(out))
