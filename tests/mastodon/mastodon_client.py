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
out["peers"] = api.instance_peers()
print(json.dumps(out, default=str))
