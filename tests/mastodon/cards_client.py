# Mastodon.py and knowledge articles and events as statuses with a card. TOKEN is a member of
# the guild (where a thread, then an article, then an event were made) who is not a member of
# the members-only circle; INSIDER is a member of the circle; SECRET is the title of the
# circle's article. Reads the statuses, walks home one status at a time both ways, reads the
# guild's account statuses, tries to favourite the article, applies a hiding filter, posts a
# thread after them. Prints one JSON object.
import json
import os

import requests
from mastodon import Mastodon, MastodonAPIError

BASE = os.environ["NODE"]
api = Mastodon(access_token=os.environ["TOKEN"], api_base_url=BASE, version_check_mode="none")
insider = Mastodon(access_token=os.environ["INSIDER"], api_base_url=BASE, version_check_mode="none")
out = {}


def title(status):
    """The bold title a status starts with."""
    content = status["content"]
    start = content.find("<strong>") + len("<strong>")
    return content[start:content.find("</strong>")]


def brief(statuses):
    return [[str(s["id"]), title(s)] for s in statuses]


home = api.timeline_home()
out["home"] = brief(home)
ids = [str(s["id"]) for s in home]
event_id, article_id, thread_id = ids[0], ids[1], ids[2]

for name, sid in [("article", article_id), ("event", event_id)]:
    s = api.status(sid)
    card = s["card"]
    out[name] = {
        "id": str(s["id"]),
        "url": s["url"],
        "uri": s["uri"],
        "account": s["account"]["acct"],
        "visibility": s["visibility"],
        "mentions": [m["acct"] for m in s["mentions"]],
        "content": s["content"],
        "counts": [s["favourites_count"], s["reblogs_count"], s["replies_count"]],
        "favourited": s["favourited"],
        "card": [card["url"], card["title"], card["description"], card["type"],
                 card["provider_name"], card["image"]],
        "context": [len(c) for c in api.status_context(sid).values()],
    }

# One status a page, older with max_id, newer with min_id.
walk, page = [], api.timeline_home(limit=1)
while page and len(walk) < 10:
    walk.append(str(page[0]["id"]))
    page = api.timeline_home(limit=1, max_id=page[0]["id"])
out["walk_max_id"] = walk
walk, page = [], api.timeline_home(limit=1, min_id=int(thread_id) - 1)
while page and len(walk) < 10:
    walk.append(str(page[0]["id"]))
    page = api.timeline_home(limit=1, min_id=page[0]["id"])
out["walk_min_id"] = walk
# The Link header leads the same way.
first = api.timeline_home(limit=1)
out["link_next"] = brief(api.fetch_next(first))
out["since"] = brief(api.timeline_home(since_id=thread_id))
out["between"] = brief(api.timeline_home(max_id=event_id, min_id=thread_id))

guild = api.account_lookup("guild")
out["guild"] = brief(api.account_statuses(guild["id"]))
out["guild_pinned"] = len(api.account_statuses(guild["id"], pinned=True))
out["public"] = brief(api.timeline_public())

# The circle's article: its member sees it, this member does not, by id or in any timeline.
secret = [s for s in insider.timeline_home() if title(s) == os.environ["SECRET"]]
out["insider_sees"] = len(secret)
secret_id = str(secret[0]["id"]) if secret else "0"
out["insider_by_id"] = title(insider.status(secret_id)) if secret else None
out["insider_visibility"] = secret[0]["visibility"] if secret else None
auth = {"Authorization": "Bearer " + os.environ["TOKEN"]}
out["outsider_by_id"] = requests.get(BASE + "/api/v1/statuses/" + secret_id, headers=auth).status_code
out["anonymous_by_id"] = requests.get(BASE + "/api/v1/statuses/" + secret_id).status_code
out["outsider_favourite"] = requests.post(
    BASE + "/api/v1/statuses/" + secret_id + "/favourite", headers=auth).status_code
seen = set()
for timeline in [api.timeline_home(), api.timeline_public(), api.timeline_public(local=True)]:
    seen.update(str(s["id"]) for s in timeline)
out["outsider_sees_secret"] = secret_id in seen

# Nothing can be done to an article's status from an app: a 422 saying why.
answer = requests.post(BASE + "/api/v1/statuses/" + article_id + "/favourite", headers=auth)
out["favourite"] = [answer.status_code, "error" in answer.json()]
out["bookmark"] = requests.post(
    BASE + "/api/v1/statuses/" + article_id + "/bookmark", headers=auth).status_code

# A filter hiding "handbook" at home hides the article; the others stay.
hide = api.create_filter_v2("kb", ["home"], "hide",
                            keywords_attributes=[{"keyword": "handbook", "whole_word": True}])
out["filtered_home"] = brief(api.timeline_home())
api.delete_filter_v2(hide["id"])
warn = api.create_filter_v2("ev", ["home"], "warn",
                            keywords_attributes=[{"keyword": "war story", "whole_word": False}])
out["warned"] = [[str(s["id"]), [r["filter"]["title"] for r in s["filtered"]]]
                 for s in api.timeline_home()]
api.delete_filter_v2(warn["id"])

# A thread posted after them has a larger id than both.
later = api.status_post("@guild Later news\nAfter the handbook and the event.")
out["later"] = str(later["id"])
out["home_after"] = [str(s["id"]) for s in api.timeline_home()]

print(json.dumps(out))
