# A sweep of bad input over the Mastodon API: every route with ids that are no ids (words,
# negative, past 64 bits, fractions, very long), paging and limits that are no numbers or far
# too large, bodies of the wrong types and broken JSON, as a member (TOKEN) and without a
# token. Prints one JSON object: how many requests, how many answers of each status, and every
# answer that was not a Mastodon-shaped 4xx (a 5xx, a body without an "error" string, or no
# JSON at all), as [method, path, body, status, text].
import json
import os

import requests

BASE = os.environ["NODE"]
auth = {"Authorization": "Bearer " + os.environ["TOKEN"]}
session = requests.Session()

IDS = ["abc", "-1", "0", "1.5", "99999999999999999999999", "9223372036854775807",
       "x" * 3000, "%20", "1e5", "null"]
ID_ROUTES = [
    ("GET", "/api/v1/accounts/{}"), ("GET", "/api/v1/accounts/{}/statuses"),
    ("GET", "/api/v1/accounts/{}/followers"), ("GET", "/api/v1/accounts/{}/following"),
    ("POST", "/api/v1/accounts/{}/follow"), ("POST", "/api/v1/accounts/{}/unfollow"),
    ("POST", "/api/v1/accounts/{}/mute"), ("POST", "/api/v1/accounts/{}/unmute"),
    ("POST", "/api/v1/accounts/{}/block"), ("POST", "/api/v1/accounts/{}/unblock"),
    ("GET", "/api/v1/statuses/{}"), ("DELETE", "/api/v1/statuses/{}"),
    ("PUT", "/api/v1/statuses/{}"), ("GET", "/api/v1/statuses/{}/history"),
    ("GET", "/api/v1/statuses/{}/source"), ("GET", "/api/v1/statuses/{}/context"),
    ("POST", "/api/v1/statuses/{}/favourite"), ("POST", "/api/v1/statuses/{}/unfavourite"),
    ("GET", "/api/v1/statuses/{}/favourited_by"), ("GET", "/api/v1/statuses/{}/reblogged_by"),
    ("POST", "/api/v1/statuses/{}/reblog"), ("POST", "/api/v1/statuses/{}/unreblog"),
    ("POST", "/api/v1/statuses/{}/bookmark"), ("POST", "/api/v1/statuses/{}/unbookmark"),
    ("POST", "/api/v1/statuses/{}/pin"), ("POST", "/api/v1/statuses/{}/unpin"),
    ("GET", "/api/v1/media/{}"), ("PUT", "/api/v1/media/{}"),
    ("GET", "/api/v1/timelines/list/{}"), ("GET", "/api/v1/timelines/tag/{}"),
    ("GET", "/api/v1/tags/{}"), ("POST", "/api/v1/tags/{}/follow"),
    ("POST", "/api/v1/tags/{}/unfollow"),
    ("GET", "/api/v2/notifications/{}"), ("GET", "/api/v2/notifications/{}/accounts"),
    ("POST", "/api/v2/notifications/{}/dismiss"), ("GET", "/api/v1/notifications/{}"),
    ("POST", "/api/v1/notifications/{}/dismiss"),
    ("GET", "/api/v1/lists/{}"), ("PUT", "/api/v1/lists/{}"), ("DELETE", "/api/v1/lists/{}"),
    ("GET", "/api/v1/lists/{}/accounts"), ("POST", "/api/v1/lists/{}/accounts"),
    ("DELETE", "/api/v1/lists/{}/accounts"),
    ("GET", "/api/v1/filters/{}"), ("PUT", "/api/v1/filters/{}"), ("DELETE", "/api/v1/filters/{}"),
    ("GET", "/api/v2/filters/{}"), ("PUT", "/api/v2/filters/{}"), ("DELETE", "/api/v2/filters/{}"),
    ("GET", "/api/v2/filters/{}/keywords"), ("POST", "/api/v2/filters/{}/keywords"),
    ("GET", "/api/v2/filters/{}/statuses"), ("POST", "/api/v2/filters/{}/statuses"),
    ("GET", "/api/v2/filters/keywords/{}"), ("PUT", "/api/v2/filters/keywords/{}"),
    ("DELETE", "/api/v2/filters/keywords/{}"), ("GET", "/api/v2/filters/statuses/{}"),
    ("DELETE", "/api/v2/filters/statuses/{}"),
    ("POST", "/api/v1/follow_requests/{}/authorize"), ("POST", "/api/v1/follow_requests/{}/reject"),
]
PAGED = [
    "/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/notifications",
    "/api/v2/notifications", "/api/v1/favourites", "/api/v1/bookmarks", "/api/v1/mutes",
    "/api/v1/blocks", "/api/v1/domain_blocks", "/api/v1/followed_tags", "/api/v1/follow_requests",
    "/api/v1/lists", "/api/v1/filters", "/api/v2/filters", "/api/v1/accounts/relationships",
    "/api/v1/accounts/familiar_followers", "/api/v1/accounts/lookup", "/api/v2/search",
    "/api/v1/accounts/search",
    "/api/v1/markers", "/api/v1/notifications/unread_count", "/api/v2/notifications/unread_count",
    "/api/v1/timelines/tag/x", "/api/v1/instance/peers", "/api/v1/instance/activity",
    "/api/v1/accounts/2/statuses", "/api/v1/accounts/1/followers", "/api/v1/timelines/list/1",
    "/api/v1/statuses/1/reblogged_by", "/api/v1/statuses/2/reblogged_by",
]
PARAMS = [
    {"limit": "abc"}, {"limit": "99999999999999999999999"}, {"limit": "-5"},
    {"max_id": "abc"}, {"since_id": "99999999999999999999999"}, {"min_id": "-1"},
    {"q": "x" * 5000}, {"q": ""}, {"acct": "@@@"}, {"id[]": "abc"}, {"id": "x" * 3000},
    {"types[]": "nonsense"}, {"exclude_types[]": "x"}, {"timeline[]": "nope"},
    {"local": "maybe"}, {"resolve": "perhaps"}, {"offset": "-3"}, {"type": "everything"},
    {"q": "%_\\"}, {"q": "a", "following": "sometimes"},
]
BODIES = [
    {"status": 5}, {"status": ["a"]}, {"status": "hi", "media_ids": "x"},
    {"status": "hi", "in_reply_to_id": {"a": 1}}, {"status": "hi", "visibility": 3},
    {"title": 7}, {"title": None}, {"account_ids": "x"}, {"account_ids": [{"a": 1}]},
    {"keywords_attributes": "x"}, {"context": "home"}, {"expires_in": "soon"},
    {"phrase": ["x"], "context": 5}, {"home": {"last_read_id": {"x": 1}}},
    {"comment": 5, "account_id": []}, {"domain": 7}, {"display_name": ["a"]},
    {"description": 5, "focus": "a,b"}, {"keyword": 5}, {"status_id": "abc"},
    {"whole_word": "perhaps"}, {"irreversible": "maybe"},
]
POSTED = [
    ("POST", "/api/v1/statuses"), ("POST", "/api/v1/lists"), ("POST", "/api/v2/filters"),
    ("POST", "/api/v1/filters"), ("POST", "/api/v1/markers"), ("POST", "/api/v1/reports"),
    ("POST", "/api/v1/domain_blocks"), ("DELETE", "/api/v1/domain_blocks"),
    ("PATCH", "/api/v1/accounts/update_credentials"), ("POST", "/api/v1/notifications/clear"),
    ("POST", "/api/v1/media"), ("POST", "/api/v2/media"),
]
# Grouped notifications' keys whose ids and days are past what ids hold.
KEYS = ["ungrouped-9223372036854775807", "ungrouped--5", "favourite-1-106751991",
        "favourite-1-106751990", "favourite-1--106751991", "favourite-x-1", "reblog-1-",
        "favourite-9223372036854775807-9223372036854775807", "mention-1-1"]
bad = []
count = 0
codes = {}


def check(method, path, headers, **kwargs):
    global count
    count += 1
    try:
        r = session.request(method, BASE + path, headers=headers, timeout=30, **kwargs)
    except requests.RequestException as e:
        bad.append([method, path[:120], str(kwargs)[:200], None, str(e)[:200]])
        return
    codes[str(r.status_code)] = codes.get(str(r.status_code), 0) + 1
    if r.status_code < 400 and r.status_code != 500:
        return
    try:
        body = r.json()
        shaped = isinstance(body, dict) and isinstance(body.get("error"), str)
    except ValueError:
        shaped = False
    if r.status_code >= 500 or not shaped:
        bad.append([method, path[:120], str(kwargs)[:200], r.status_code, r.text[:200]])


for headers in [auth, {}]:
    for method, route in ID_ROUTES:
        for bad_id in IDS:
            check(method, route.format(bad_id), headers)
    for key in KEYS:
        for route in ["/api/v2/notifications/{}", "/api/v2/notifications/{}/accounts"]:
            check("GET", route.format(key), headers)
        check("POST", "/api/v2/notifications/{}/dismiss".format(key), headers)
    for path in PAGED:
        for params in PARAMS:
            check("GET", path, headers, params=params)
    for method, path in POSTED + [(m, r.format("1")) for m, r in ID_ROUTES if m != "GET"]:
        for body in BODIES:
            check(method, path, headers, json=body)
        check(method, path, dict(headers, **{"Content-Type": "application/json"}), data="{broken")
        check(method, path, dict(headers, **{"Content-Type": "application/x-www-form-urlencoded"}),
              data="status=%zz&limit=%FF")
        check(method, path, dict(headers, **{"Content-Type": "multipart/form-data"}), data="--x")

print(json.dumps({"count": count, "codes": codes, "bad": bad}))
