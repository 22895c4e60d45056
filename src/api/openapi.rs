//! The OpenAPI 3.1 description of the native API, served at `/api/roundtable/v1/openapi.json`.
//! Written by hand next to the handlers; a test checks that every route is described.

use axum::Json;
use serde_json::{json, Value};

/// A `limit` query parameter: larger values are lowered to `max`, not refused.
fn limit(default: u64, max: u64) -> Value {
    json!({"name": "limit", "in": "query", "description": format!("at most {max}; larger values are capped"),
           "schema": {"type": "integer", "minimum": 1, "maximum": max, "default": default}})
}

/// A cursor query parameter: the sort key of the last item of the page before, as the
/// previous answer's `next` URL carries it.
fn cursor(name: &str, what: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string"},
           "description": format!("{what}; take it from the previous page's `next` (400 when malformed)")})
}

/// An operation with its own query parameters.
fn with_params(mut op: Value, params: Value) -> Value {
    op["parameters"] = params;
    op
}

fn op(summary: &str, auth: bool, body: Option<Value>, ok: &str) -> Value {
    let mut o = json!({
        "summary": summary,
        "responses": {
            ok: {"description": "success", "content": {"application/json": {"schema": {"type": "object"}}}},
            "default": {"$ref": "#/components/responses/Error"},
        },
    });
    if auth {
        o["security"] = json!([{"bearer": []}]);
    }
    if let Some(schema) = body {
        o["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema}}});
    }
    o
}

fn obj(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

fn event_schema(required: &[&str]) -> Value {
    let s = json!({"type": "string"});
    obj(
        json!({"title": s, "description": s,
            "starts_at": {"type": "string", "format": "date-time", "description": "between 1970 and 2200"},
            "ends_at": {"type": "string", "format": "date-time", "description": "between 1970 and 2200, after starts_at, at most 366 days later"},
            "timezone": {"type": "string", "description": "IANA zone"},
            "place": {"type": ["object", "null"], "properties": {"name": s, "address": s, "latitude": {"type": "number"}, "longitude": {"type": "number"}}},
            "online_url": {"type": ["string", "null"]}, "capacity": {"type": ["integer", "null"], "minimum": 1},
            "join_mode": {"enum": ["free", "restricted", "invite", "none", "external"]}, "external_url": {"type": ["string", "null"]},
            "status": {"enum": ["confirmed", "tentative", "cancelled"]}, "category": {"type": ["string", "null"]}}),
        required,
    )
}

/// The values the paths share.
struct Params {
    s: Value,
    b: Value,
    handle: Value,
    id: Value,
    member: Value,
    lift_suspension: Value,
}

/// Every path of the API with its operations.
pub fn spec() -> Value {
    let s = json!({"type": "string"});
    let b = json!({"type": "boolean"});
    let handle = json!({"name": "handle", "in": "path", "required": true, "schema": s,
        "description": "slug (local), slug@domain or the community's actor URL"});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}});
    let member =
        json!({"name": "member_id", "in": "path", "required": true, "schema": {"type": "integer"}});
    let mut lift_suspension = op("Lift a suspension (administrators)", true, None, "204");
    lift_suspension["parameters"] =
        json!([{"name": "actor", "in": "query", "required": true, "schema": s}]);
    let p = Params {
        s,
        b,
        handle,
        id,
        member,
        lift_suspension,
    };
    let mut paths = serde_json::Map::new();
    for group in [discussion_paths(&p), knowledge_paths(&p), admin_paths(&p)] {
        if let Value::Object(g) = group {
            paths.extend(g);
        }
    }
    let s = &p.s;
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Roundtable native API", "version": "1",
            "description": "Every list answers one page: `limit` is clamped to the list's maximum (never refused), and `next` is the absolute URL of the following page (every other parameter kept), or null on the last one. Cursors are the sort key of a page's last item (`after` on lists in ascending order, `before` on newest-first ones); a malformed cursor is a 400. Calendar feeds name their next page in a `Link: <…>; rel=\"next\"` header."},
        "servers": [{"url": "/api/roundtable/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "A personal token (`roundtable token create`, `POST /tokens`) or one an app got through OAuth 2 (`/.well-known/oauth-authorization-server`). Its scopes decide what it opens: `read` every GET, `write` every change, `admin:read` and `admin:write` the admin API (administrators only; `admin` is both). A scope covers its sub-scopes (`read` covers `read:statuses`), not the reverse. A `calendar` token opens only its personal feed URL; an app-only token (client_credentials) reads only what anonymous readers may."}},
            "responses": {"Error": {"description": "an error", "content": {"application/json": {"schema":
                obj(json!({"error": s}), &["error"])}}}},
        },
        "paths": paths,
    })
}

/// Communities, memberships, threads and replies.
fn discussion_paths(p: &Params) -> Value {
    let Params {
        s,
        b,
        handle,
        id,
        member,
        ..
    } = p;
    json!({
    "/communities": {"post": op("Create a community", true,
        Some(obj(json!({"slug": s, "title": s, "summary": s, "charter": s,
            "visibility": {"enum": ["public", "partners", "members"]}}), &["slug"])), "201")},
    "/communities/{handle}": {"parameters": [handle], "get": op("A community, resolving remote handles", false, None, "200"),
        "patch": op("Edit the community (moderators)", true, Some(obj(json!({"title": s, "summary": s, "charter": s,
            "icon_url": {"type": ["string", "null"]}, "banner_url": {"type": ["string", "null"]},
            "local_readers": {"type": "boolean", "description": "partners communities: every local user may read it, not only members"}}), &[])), "200")},
    "/communities/{handle}/join": {"parameters": [handle], "post": op("Join (remote: Follow, pending until accepted)", true, None, "200")},
    "/communities/{handle}/leave": {"parameters": [handle], "post": op("Leave", true, None, "200")},
    "/communities/{handle}/members": {"parameters": [handle, {"name": "state", "in": "query", "schema": {"enum": ["pending", "accepted"]}},
            cursor("after", "membership id of the last member seen"), limit(100, 200)],
        "get": op("Members with roles, in the order they joined (signed-in users; pending requests for moderators); paged with next", true, None, "200")},
    "/communities/{handle}/sync": {"parameters": [handle],
        "get": op("Where this node's replica stands in the host's stream: position, host_position, digest, host_digest, in_sync, contents (threads, replies, revisions, events), pages, applied, skipped, last_error (members of a confidential community only)", true, None, "200"),
        "post": op("Run the replication pass now for a community hosted elsewhere: reads the host's stream from the kept position", true, None, "202")},
    "/communities/{handle}/members/{member_id}/approve": {"parameters": [handle, member], "post": op("Approve a pending join (moderators)", true, None, "200")},
    "/communities/{handle}/members/{member_id}/reject": {"parameters": [handle, member], "post": op("Reject a pending join (moderators)", true, None, "200")},
    "/communities/{handle}/members/{member_id}/role": {"parameters": [handle, member], "post": op("Set role and title (moderators)", true,
        Some(obj(json!({"role": {"enum": ["moderator", "member"]}, "title": s}), &["role"])), "200")},
    "/communities/{handle}/threads": {"parameters": [handle, cursor("before", "pinned,id of the last thread seen (a bare id: an unpinned thread)"), limit(50, 200)],
        "get": op("Threads, pinned first, newest first; paged with next", false, None, "200"),
        "post": op("Start a thread (markdown content)", true, Some(obj(json!({"title": s, "content": s}), &["title", "content"])), "201")},
    "/communities/{handle}/bans": {"parameters": [handle],
        "get": with_params(op("Bans, oldest first (moderators; anyone else sees only their own ban); paged with next", true, None, "200"),
            json!([cursor("after", "id of the last ban seen"), limit(100, 200)])),
        "post": op("Ban an actor (moderators)", true, Some(obj(json!({"actor": s, "reason": s, "expires_at": {"type": "string", "format": "date-time"}}), &["actor"])), "201"),
        "delete": op("Lift a ban (?actor=…)", true, None, "200")},
    "/threads/{id}": {"parameters": [id],
        "get": with_params(op("A thread with the first page of its replies, oldest first; replies_next is the URL of the next page of /threads/{id}/replies", false, None, "200"),
            json!([limit(100, 200)])),
        "patch": op("Edit (author)", true, Some(obj(json!({"title": s, "content": s}), &[])), "200"),
        "delete": op("Delete (author) or remove (moderator)", true, None, "204")},
    "/threads/{id}/replies": {"parameters": [id],
        "get": with_params(op("A thread's replies, oldest first, every one (deleted ones too, so nesting holds); paged with next", false, None, "200"),
            json!([cursor("after", "published,id of the last reply seen"), limit(100, 200)])),
        "post": op("Reply", true, Some(obj(json!({"content": s, "in_reply_to": {"oneOf": [{"type": "integer"}, {"type": "string", "format": "uri"}]}, "parent_id": {"type": "integer"}}), &["content"])), "201")},
    "/threads/{id}/like": {"parameters": [id], "post": op("Like or unlike", true, Some(obj(json!({"liked": b}), &[])), "200")},
    "/threads/{id}/remove": {"parameters": [id], "post": op("Remove with a reason (moderators)", true, Some(obj(json!({"reason": s}), &[])), "204")},
    "/threads/{id}/lock": {"parameters": [id], "post": op("Lock or unlock (moderators)", true, Some(obj(json!({"locked": b}), &[])), "200")},
    "/threads/{id}/pin": {"parameters": [id], "post": op("Pin or unpin (moderators)", true, Some(obj(json!({"pinned": b}), &[])), "200")},
    "/threads/{id}/answer": {"parameters": [id],
        "post": op("Mark a reply of the thread as its answer (the thread's author or a moderator); the thread shows solved and answer (the reply's id) — on a replica once the community's node has announced it", true, Some(obj(json!({"reply": {"type": "integer"}}), &["reply"])), "200"),
        "delete": op("Unmark the thread's answer (the thread's author or a moderator)", true, None, "200")},
    "/communities/{handle}/insights": {"parameters": [handle,
            {"name": "window", "in": "query", "schema": {"enum": ["30d", "90d", "365d"]}, "description": "the last 30, 90 (default) or 365 days"},
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}, "description": "with to, instead of window: whole days, both included (UTC)"},
            {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}}],
        "get": op("Insights over a window, from this node's copy of the community (members only for a confidential community): organizations (member and contributing nodes, each node's share of threads, replies, edits, RSVPs), exchange (cross-node replies, node × node matrix), questions (opened, answered, solved, median and p90 seconds to first answer and to solution, unanswered after 7 days), hero_risk, knowledge, newcomers, events, rhythm (contributions per ISO week); a bad window is a 400", false, None, "200")},
    "/replies/{id}": {"parameters": [id],
        "get": op("A reply", false, None, "200"),
        "patch": op("Edit (author)", true, Some(obj(json!({"content": s}), &[])), "200"),
        "delete": op("Delete (author) or remove (moderator)", true, None, "204")},
    "/replies/{id}/like": {"parameters": [id], "post": op("Like or unlike", true, Some(obj(json!({"liked": b}), &[])), "200")},
    "/replies/{id}/remove": {"parameters": [id], "post": op("Remove with a reason (moderators)", true, Some(obj(json!({"reason": s}), &[])), "204")},
    })
}

/// Articles, edits, search and events.
fn knowledge_paths(p: &Params) -> Value {
    let Params {
        s, b, handle, id, ..
    } = p;
    json!({
    "/communities/{handle}/articles": {"parameters": [handle, {"name": "overdue", "in": "query", "schema": b}],
        "get": with_params(op("Articles by title (only those overdue for review with ?overdue=true); paged with next", false, None, "200"),
            json!([cursor("after", "id,title of the last article seen"), limit(100, 200)])),
        "post": op("Create an article (201; 202 while a remote owner decides)", true,
            Some(obj(json!({"title": s, "content": s, "message": s, "review_interval_days": {"type": "integer"}}), &["title", "content"])), "201")},
    "/communities/{handle}/articles/{slug}": {"parameters": [handle, {"name": "slug", "in": "path", "required": true, "schema": s}],
        "get": op("An article by slug; former slugs answer 308 to the current one", false, None, "200")},
    "/articles/{id}": {"parameters": [id],
        "get": op("An article: current text, HTML, revision, authors, review state", false, None, "200"),
        "put": op("Edit: fast-forward, clean merge, or 409 with the conflict", true,
            Some(obj(json!({"content": s, "base_revision": s, "title": s, "message": s}), &["content", "base_revision"])), "200")},
    "/articles/{id}/revisions": {"parameters": [id, {"name": "before", "in": "query", "schema": {"type": "integer"}, "description": "only revisions numbered below this (the answer's next_before)"}, limit(100, 100)],
        "get": op("History, newest first, one page at a time; next (and next_before, the cursor alone) names the next page, null on the last", false, None, "200")},
    "/articles/{id}/revisions/{rev}": {"parameters": [id, {"name": "rev", "in": "path", "required": true, "schema": s}],
        "get": op("One revision with its text", false, None, "200")},
    "/articles/{id}/diff": {"parameters": [id, {"name": "from", "in": "query", "required": true, "schema": s}, {"name": "to", "in": "query", "required": true, "schema": s}],
        "get": op("Unified and structured line diff between two revisions; 422 when either has more than 4000 lines, 503 while the node is busy diffing", false, None, "200")},
    "/articles/{id}/protect": {"parameters": [id], "post": op("Protect or unprotect (moderators of the owning node)", true, Some(obj(json!({"protected": b}), &[])), "200")},
    "/articles/{id}/revert": {"parameters": [id], "post": op("Revert to a revision (moderators of the owning node)", true, Some(obj(json!({"revision": s}), &["revision"])), "200")},
    "/articles/{id}/review": {"parameters": [id], "post": op("Record that the article is still correct", true, Some(obj(json!({"interval_days": {"type": "integer"}}), &[])), "200")},
    "/edits/{id}": {"parameters": [id], "get": op("The state of an edit proposed to another node", true, None, "200")},
    "/search": {"parameters": [{"name": "q", "in": "query", "required": true, "schema": s}, {"name": "community", "in": "query", "schema": s},
            cursor("after", "score,id,kind of the last hit seen"), limit(20, 50)],
        "get": op("Full-text search over the articles and threads this node holds, best first; snippets mark matches with <mark>; paged with next (a page may hold fewer hits than limit where some are in communities the caller may not read)", false, None, "200")},
    "/communities/{handle}/events": {"parameters": [handle, {"name": "past", "in": "query", "schema": b},
            cursor("after", "starts_at,id of the last upcoming event seen"), cursor("before", "starts_at,id of the last past event seen (with past=true)"), limit(200, 200)],
        "get": op("Upcoming events, soonest first (past ones, latest first, with ?past=true); paged with next", false, None, "200"),
        "post": op("Schedule an event (moderators). 201 with the event in a community of this node; 202 {state: proposed} in a community elsewhere, whose node schedules it and announces it back", true, Some(event_schema(&["title", "starts_at", "ends_at", "timezone"])), "201")},
    "/events/{id}": {"parameters": [id],
        "get": op("An event", false, None, "200"),
        "patch": op("Change an event: move it, cancel it (status: cancelled)… (organizers; 202 for an event of a community elsewhere, changed by its node)", true, Some(event_schema(&[])), "200"),
        "delete": op("Delete an event (organizers; 202 for an event of a community elsewhere, deleted by its node)", true, None, "204")},
    "/communities/{handle}/events.ics": {"parameters": [handle, cursor("after", "starts_at,id of the last event of the page before")],
        "get": op("The community's events of the last month and to come as an iCalendar feed, soonest first, 500 a page; a Link header (rel=next) names the next page", false, None, "200")},
    "/me/calendar": {"post": op("Create the URL of your personal iCalendar feed (events you are going to)", true, None, "201")},
    "/events/{id}/invitations": {"parameters": [id], "post": op("Invite a member of the community (organizers); the only way into an invitation-only event", true, Some(obj(json!({"actor": s}), &["actor"])), "201")},
    "/events/{id}/rsvp": {"parameters": [id], "post": op("RSVP: going, pending (restricted), waitlisted (full) or rejected", true, Some(obj(json!({"going": b}), &["going"])), "200")},
    "/events/{id}/participants": {"parameters": [id, cursor("after", "id of the last participant seen"), limit(100, 200)],
        "get": op("Participants in the order they answered (organizers); paged with next", true, None, "200")},
    "/events/{id}/participants/{participant}/approve": {"parameters": [id, {"name": "participant", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "post": op("Approve a pending participant", true, None, "200")},
    "/events/{id}/participants/{participant}/reject": {"parameters": [id, {"name": "participant", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "post": op("Reject a pending participant", true, None, "200")},
    })
}

/// Federation, moderation, reports and tokens.
fn admin_paths(p: &Params) -> Value {
    let Params {
        s,
        b,
        id,
        lift_suspension,
        ..
    } = p;
    json!({
    "/admin/federation": {
        "get": op("The federation mode (administrators)", true, None, "200"),
        "put": op("Set the federation mode: open, allowlist or blocklist (administrators)", true, Some(obj(json!({"mode": {"enum": ["open", "allowlist", "blocklist"]}}), &["mode"])), "200")},
    "/admin/audit": {"parameters": [cursor("before", "id of the last entry seen"), limit(50, 500)],
        "get": op("The audit log of admin and moderator actions, newest first (administrators); paged with next", true, None, "200")},
    "/admin/instances": {
        "get": with_params(op("Listed domains by domain: partners, blocks and handshakes (administrators); paged with next", true, None, "200"),
            json!([cursor("after", "the last domain seen"), limit(100, 200)])),
        "post": op("List a domain as partner or blocked (administrators)", true, Some(obj(json!({"domain": s, "state": {"enum": ["partner", "blocked"]}, "reason": s}), &["domain", "state"])), "201")},
    "/reports": {"parameters": [{"name": "state", "in": "query", "schema": {"enum": ["open", "resolved", "dismissed", "all"]}}, cursor("before", "id of the last report seen"), limit(100, 500)],
        "get": op("The moderation queue, newest first: reports about this node's communities and users (moderators see their communities', admins all); paged with next", true, None, "200"),
        "post": op("Report a thread, reply, article, event or person (by ActivityPub id or user@domain); it reaches the community's moderators and the person's node", true, Some(obj(json!({"object": s, "reason": s}), &["object", "reason"])), "201")},
    "/reports/{id}/resolve": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "post": op("Resolve a report, with an optional note (recorded in the audit log)", true, Some(obj(json!({"note": s}), &[])), "200")},
    "/reports/{id}/dismiss": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "post": op("Dismiss a report, with an optional note (recorded in the audit log)", true, Some(obj(json!({"note": s}), &[])), "200")},
    "/admin/suspensions": {
        "get": with_params(op("Suspended people, newest first (administrators); paged with next", true, None, "200"),
            json!([cursor("before", "created_at,actor of the last suspension seen"), limit(100, 200)])),
        "post": op("Suspend a person on this node: a local user's tokens stop working, a remote person's activities are refused (administrators)", true, Some(obj(json!({"actor": s, "reason": s}), &["actor"])), "201"),
        "delete": lift_suspension},
    "/admin/partnerships": {
        "get": with_params(op("Partnership requests waiting for an answer, incoming and outgoing, by domain (administrators); paged with next", true, None, "200"),
            json!([cursor("after", "the last domain seen"), limit(100, 200)])),
        "post": op("Propose a partnership to another node (administrators)", true, Some(obj(json!({"domain": s}), &["domain"])), "202")},
    "/admin/partnerships/{domain}/accept": {"parameters": [{"name": "domain", "in": "path", "required": true, "schema": s}],
        "post": op("Accept another node's partnership request (administrators)", true, None, "200")},
    "/admin/partnerships/{domain}/reject": {"parameters": [{"name": "domain", "in": "path", "required": true, "schema": s}],
        "post": op("Decline another node's partnership request (administrators)", true, None, "200")},
    "/admin/instances/{domain}": {"parameters": [{"name": "domain", "in": "path", "required": true, "schema": s}, {"name": "purge", "in": "query", "schema": b}],
        "delete": op("Remove a domain's listing (administrators)", true, None, "204")},
    "/tokens": {
        "get": with_params(op("Your API tokens, oldest first: id, scopes, creation and expiry (never their secrets); paged with next", true, None, "200"),
            json!([cursor("after", "id of the last token seen"), limit(100, 200)])),
        "post": op("Create a token with at most the scopes of the calling token; optional expiry in days (1-3650)", true,
            Some(obj(json!({"scopes": s, "expires_days": {"type": "integer", "minimum": 1, "maximum": 3650}}), &["scopes"])), "201")},
    "/tokens/{id}": {"parameters": [id], "delete": op("Revoke one of your tokens", true, None, "204")},
    "/authorized-apps": {
        "get": op("The OAuth apps you authorized: id, name, website, scopes, live tokens, when", true, None, "200")},
    "/authorized-apps/{id}": {"parameters": [id], "delete": op("Sign an app out: every token you gave it stops working", true, None, "204")},
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
