# Mastodon.py against a node that allows 5 requests per token every 3 seconds: what the
# headers say, what happens past the limit, and waiting as they say. Prints one JSON object.
import datetime
import json
import os

import requests
from dateutil import parser as dates
from mastodon import Mastodon
from mastodon.errors import MastodonRatelimitError

BASE = os.environ["NODE"]
out = {}

bert = Mastodon(access_token=os.environ["BERT"], api_base_url=BASE, ratelimit_method="throw",
                version_check_mode="none")
remaining = []
for _ in range(5):
    bert.account_verify_credentials()
    remaining.append(bert.ratelimit_remaining)
out["remaining"] = remaining
out["limit"] = bert.ratelimit_limit

try:
    bert.account_verify_credentials()
    out["sixth"] = None
except MastodonRatelimitError as e:
    out["sixth"] = type(e).__name__

r = requests.get(BASE + "/api/v1/accounts/verify_credentials",
                 headers={"Authorization": "Bearer " + os.environ["BERT"]})
out["raw_status"] = r.status_code
out["raw_body"] = r.json()
out["raw_retry_after"] = r.headers.get("Retry-After")
out["raw_remaining"] = r.headers.get("X-RateLimit-Remaining")
reset = dates.parse(r.headers["X-RateLimit-Reset"])
date = dates.parse(r.headers["Date"])
out["reset_after_date"] = date <= reset <= date + datetime.timedelta(seconds=4)

olga = Mastodon(access_token=os.environ["OLGA"], api_base_url=BASE, version_check_mode="none")
olga.account_verify_credentials()
out["olga_remaining"] = olga.ratelimit_remaining

anon = requests.get(BASE + "/api/v1/instance")
out["anonymous"] = [anon.status_code, "X-RateLimit-Remaining" in anon.headers]

# The default mode: on a 429 Mastodon.py sleeps until the window's end, then goes on.
waiter = Mastodon(access_token=os.environ["BERT"], api_base_url=BASE, ratelimit_method="wait",
                  version_check_mode="none")
out["after_waiting"] = waiter.account_verify_credentials()["acct"]

print(json.dumps(out))
