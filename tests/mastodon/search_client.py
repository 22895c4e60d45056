# Mastodon.py completing a mention and reading the start-up lists. TOKEN (olga) runs the public
# guild; INSIDER (gina) runs the members-only circle, which olga is no member of; a remote
# person PEER_NAME on PEER_HOST is known to the node. Prints one JSON object.
import json
import os

import requests
from mastodon import Mastodon

BASE = os.environ["NODE"]
api = Mastodon(access_token=os.environ["TOKEN"], api_base_url=BASE, version_check_mode="none")
insider = Mastodon(access_token=os.environ["INSIDER"], api_base_url=BASE, version_check_mode="none")
out = {}


def accts(accounts):
    return sorted(a["acct"] for a in accounts)


# Prefixes, as an app asks while a member types "@g", "@gu", "@ci", "@ol"…
PEER = os.environ["PEER_NAME"][:3]
for who, client in [("olga", api), ("gina", insider)]:
    for prefix in ["g", "GU", "ci", "ol", "@gin", "%", "_", PEER]:
        out[f"{who}_{prefix}"] = accts(client.account_search(prefix))
out["olga_peer_host"] = accts(api.account_search(os.environ["PEER_NAME"] + "@" + os.environ["PEER_HOST"][:4]))
out["olga_peer_wrong_host"] = accts(api.account_search(os.environ["PEER_NAME"] + "@zz"))
# Limits and offsets page the matches.
out["olga_g_limit_1"] = accts(api.account_search("g", limit=1))
out["olga_g_offset_1"] = accts(api.account_search("g", limit=1, offset=1))
# following=true: the communities she joined.
out["gina_g_following"] = accts(insider.account_search("g", following=True))
out["olga_g_following"] = accts(api.account_search("g", following=True))
# Leaving the guild (unfollowing its account) takes it out of her following; joining again
# brings it back.
guild = insider.account_lookup("guild")
left = insider.account_unfollow(guild["id"])
out["gina_left"] = [left["following"], accts(insider.account_search("g", following=True))]
again = insider.account_follow(guild["id"])
out["gina_again"] = [again["following"], accts(insider.account_search("g", following=True))]
# The whole handle of the circle still finds it, as the lookup does.
out["olga_circle_whole"] = accts(api.account_search("circle"))
# v2 search completes names too.
out["olga_v2_gu"] = accts(api.search_v2("gu", result_type="accounts")["accounts"])
# Without a token, and without a query.
anon = requests.get(BASE + "/api/v1/accounts/search", params={"q": "ol"})
out["anonymous"] = [anon.status_code, anon.json()]
empty = requests.get(BASE + "/api/v1/accounts/search", params={"q": " "},
                     headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
out["empty"] = [empty.status_code, empty.json()]

# The lists apps read at start-up that this node answers with nothing yet.
out["trending_tags"] = api.trending_tags()
out["trending_statuses"] = api.trending_statuses()
out["announcements"] = api.announcements()
out["suggestions"] = api.suggestions()

print(json.dumps(out))
