# An independent OAuth 2 client (authlib's requests integration) signing in to a Roundtable
# node the way a Mastodon app does: it registers, sends its user through the node's real
# sign-in and consent pages (a requests.Session plays the browser), exchanges the code with
# PKCE S256, calls the API, refreshes, revokes, and tries the refusals. It prints what it
# observed as one JSON object; the Rust test asserts on it.
import json
import os

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

BASE = os.environ["NODE"]
LOGIN = os.environ["LOGIN"]
PASSWORD = os.environ["PASSWORD"]
REDIRECT = "https://app.example/callback"
API = BASE + "/api/roundtable/v1"
TOKEN_URL = BASE + "/oauth/token"
out = {}


def new_client(app, scope="read"):
    return OAuth2Session(app["client_id"], app["client_secret"], scope=scope,
                         redirect_uri=REDIRECT, code_challenge_method="S256")


def authorize(client):
    verifier = generate_token(48)
    url, state = client.create_authorization_url(BASE + "/oauth/authorize",
                                                 code_verifier=verifier)
    page, status, location = consent(url, LOGIN, PASSWORD, out)
    return page, status, location, verifier, state


def status_with(token):
    r = requests.get(API + "/tokens", headers={"Authorization": "Bearer " + token})
    return r.status_code


def error_of(call):
    try:
        call()
        return None
    except OAuthError as e:
        return e.error


# Registration, form-encoded as Mastodon apps send it.
r = requests.post(BASE + "/api/v1/apps", data={
    "client_name": "Authlib Reader", "redirect_uris": REDIRECT,
    "scopes": "read write", "website": "https://app.example"})
out["register_status"] = r.status_code
app = r.json()
out["app_scopes"] = app.get("scopes")

# The authorization code flow with PKCE, through the real pages.
client = new_client(app)
page, status, location, verifier, state = authorize(client)
out["consent_status"] = page.status_code
out["consent_names_app"] = "Authlib Reader" in page.text
out["consent_csp"] = page.headers.get("Content-Security-Policy", "")
out["approve_status"] = status
out["redirected_to"] = location.split("?")[0]
out["state_returned"] = ("state=" + state) in location
token = client.fetch_token(TOKEN_URL, authorization_response=location, code_verifier=verifier)
out["token_scope"] = token["scope"]
out["token_type"] = token["token_type"]
first_access = token["access_token"]
first_refresh = token["refresh_token"]
out["api_with_token"] = status_with(first_access)
# A read token on a route that needs write.
r = client.post(API + "/communities", json={"name": "nope", "title": "Nope"})
out["write_with_read_token"] = r.status_code
out["write_error"] = r.json().get("error")

# Refresh: a new pair; the old access token and the used refresh token stop working.
refreshed = client.refresh_token(TOKEN_URL, refresh_token=first_refresh)
out["refreshed_differs"] = refreshed["access_token"] != first_access
out["api_with_refreshed"] = status_with(refreshed["access_token"])
out["api_with_old_access"] = status_with(first_access)
out["reused_refresh"] = error_of(lambda: client.refresh_token(TOKEN_URL, refresh_token=first_refresh))

# Revocation (RFC 7009), then the token opens nothing.
r = client.revoke_token(BASE + "/oauth/revoke", token=refreshed["access_token"])
out["revoke_status"] = r.status_code
out["api_after_revoke"] = status_with(refreshed["access_token"])

# A code used twice: refused, and the tokens the first use gave are revoked.
client = new_client(app)
_, _, location, verifier, _ = authorize(client)
token = client.fetch_token(TOKEN_URL, authorization_response=location, code_verifier=verifier)
out["replay"] = error_of(lambda: new_client(app).fetch_token(
    TOKEN_URL, authorization_response=location, code_verifier=verifier))
out["api_after_replay"] = status_with(token["access_token"])

# A wrong PKCE verifier.
client = new_client(app)
_, _, location, verifier, _ = authorize(client)
out["wrong_verifier"] = error_of(lambda: client.fetch_token(
    TOKEN_URL, authorization_response=location, code_verifier=generate_token(48)))

# A redirect URI at the token endpoint that differs from the authorization request's.
client = new_client(app)
_, _, location, verifier, _ = authorize(client)
other = new_client(app)
other.redirect_uri = "https://app.example/elsewhere"
out["wrong_redirect_at_token"] = error_of(lambda: other.fetch_token(
    TOKEN_URL, authorization_response=location, code_verifier=verifier))

# A redirect URI the app never registered, at the authorization endpoint: a page, no redirect.
evil = OAuth2Session(app["client_id"], app["client_secret"], scope="read",
                     redirect_uri="https://evil.example/steal", code_challenge_method="S256")
url, _ = evil.create_authorization_url(BASE + "/oauth/authorize", code_verifier=generate_token(48))
r = browser.get(url, allow_redirects=False)
out["unregistered_redirect_status"] = r.status_code
out["unregistered_redirect_location"] = r.headers.get("Location")

# A wrong client secret at the token endpoint.
bad = OAuth2Session(app["client_id"], "not-the-secret", redirect_uri=REDIRECT)
out["wrong_secret"] = error_of(lambda: bad.fetch_token(
    TOKEN_URL, grant_type="client_credentials"))

print(json.dumps(out))
