# Mastodon.py and articles' and events' statuses where cards were missing. TOKEN (olga) made a
# thread, an article and an event in the public guild and a reply; INSIDER (gina) made an
# article (SECRET is its title) in the members-only circle, which olga is no member of.
# ARTICLE_URL, EVENT_URL and SECRET_URL are the articles' and event's ids (URLs). Reads list
# timelines, the two people's account statuses, favourited_by / reblogged_by / context of the
# article's status and searches by URL. Prints one JSON object.
import json
import os

import requests
from mastodon import Mastodon

BASE = os.environ["NODE"]
api = Mastodon(access_token=os.environ["TOKEN"], api_base_url=BASE, version_check_mode="none")
insider = Mastodon(access_token=os.environ["INSIDER"], api_base_url=BASE, version_check_mode="none")
anonymous = Mastodon(api_base_url=BASE, version_check_mode="none")
out = {}


def title(status):
    """The bold title a status starts with, or a reply's text."""
    content = status["content"]
    if "<strong>" not in content:
        return content.replace("<p>", "").replace("</p>", "").strip()
    start = content.find("<strong>") + len("<strong>")
    return content[start:content.find("</strong>")]


def brief(statuses):
    return [[str(s["id"]), title(s)] for s in statuses]


guild = api.account_lookup("guild")
circle = api.account_lookup("circle")
olga = api.account_lookup("olga")
gina = api.account_lookup("gina")

# A list of both communities: olga's shows the guild's article and event beside its posts,
# never the circle's article; gina's list of the circle shows it.
mine = api.list_create("Work")
api.list_accounts_add(mine["id"], [guild["id"], circle["id"]])
out["list"] = brief(api.timeline_list(mine["id"]))
walk, page = [], api.timeline_list(mine["id"], limit=1)
while page and len(walk) < 10:
    walk.append(str(page[0]["id"]))
    page = api.fetch_next(page)
out["list_walk_link"] = walk
walk, page = [], api.timeline_list(mine["id"], limit=1, min_id=int(out["list"][-1][0]) - 1)
while page and len(walk) < 10:
    walk.append(str(page[0]["id"]))
    page = api.timeline_list(mine["id"], limit=1, min_id=page[0]["id"])
out["list_walk_min_id"] = walk
theirs = insider.list_create("Circle")
insider.list_accounts_add(theirs["id"], [circle["id"]])
out["insider_list"] = brief(insider.timeline_list(theirs["id"]))

# Olga's account statuses: her posts, article and event in one keyset.
out["olga"] = brief(api.account_statuses(olga["id"]))
out["olga_no_replies"] = brief(api.account_statuses(olga["id"], exclude_replies=True))
out["olga_media"] = len(api.account_statuses(olga["id"], only_media=True))
out["olga_pinned"] = len(api.account_statuses(olga["id"], pinned=True))
walk, page = [], api.account_statuses(olga["id"], limit=1)
while page and len(walk) < 10:
    walk.append(str(page[0]["id"]))
    page = api.account_statuses(olga["id"], limit=1, max_id=page[0]["id"])
out["olga_walk_max_id"] = walk
first = out["olga"][-1][0]
out["olga_since"] = brief(api.account_statuses(olga["id"], since_id=first))
# Gina's: the circle's article for her, for nobody else.
out["gina_self"] = brief(insider.account_statuses(gina["id"]))
out["gina_for_olga"] = brief(api.account_statuses(gina["id"]))
out["gina_for_anonymous"] = brief(anonymous.account_statuses(gina["id"]))

# The article's status: nobody liked or boosted it, nothing above or below it.
article_id = [s for s, t in out["olga"] if t == "Incident handbook"][0]
auth = {"Authorization": "Bearer " + os.environ["TOKEN"]}
answers = {}
for part in ["favourited_by", "reblogged_by", "context"]:
    answer = requests.get(BASE + "/api/v1/statuses/" + article_id + "/" + part, headers=auth)
    answers[part] = [answer.status_code, answer.json()]
out["article_parts"] = answers
out["article_likers"] = len(api.status_favourited_by(article_id))
out["article_boosters"] = len(api.status_reblogged_by(article_id))
secret_id = [s for s, t in out["gina_self"] if t == os.environ["SECRET"]]
secret_id = secret_id[0] if secret_id else "0"
out["secret_parts_for_olga"] = [
    requests.get(BASE + "/api/v1/statuses/" + secret_id + "/" + part, headers=auth).status_code
    for part in ["favourited_by", "reblogged_by", "context"]]

# Search by URL: an article's or event's status, for those who may read it.
for name in ["ARTICLE_URL", "EVENT_URL", "SECRET_URL"]:
    url = os.environ[name]
    out["search_" + name] = brief(api.search_v2(url, resolve=True)["statuses"])
    out["insider_search_" + name] = brief(insider.search_v2(url, resolve=True)["statuses"])
out["anonymous_search_article"] = brief(requests.get(
    BASE + "/api/v2/search", params={"q": os.environ["ARTICLE_URL"], "resolve": "true"}
).json()["statuses"])

print(json.dumps(out))
