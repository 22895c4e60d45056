//! The member's own pages over HTTP: settings (profile, password, API tokens, calendar link)
//! and notifications (replies and likes, the unread count in the header, read on opening).

use super::{member, open_node, PASSWORD};
use crate::harness::{browser::Browser, http};
use serde_json::Value;

/// The unread count `/notifications/unread` gives.
async fn unread(b: &Browser) -> i64 {
    let page = b.get("/notifications/unread").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body: Value = serde_json::from_str(&page.body).expect("JSON");
    body["count"].as_i64().expect("a count")
}

#[tokio::test]
async fn settings_change_the_profile_and_refuse_an_unknown_time_zone_beside_its_field() {
    let node = open_node().await;
    let visitor = Browser::new(node.addr.port());
    let out = visitor.get("/settings").await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/sign-in?next=%2Fsettings"));

    let rita = member(&node, "rita").await;
    let page = rita.get("/settings").await;
    page.shows(200, "Save profile");
    assert!(page
        .body
        .contains("class=\"me-name\" href=\"/people/rita\""));
    assert!(page.body.contains("<a href=\"/settings\">Settings</a>"));
    assert!(page.body.contains("/sessions") && page.body.contains("/authorized-apps"));
    assert!(page.body.contains("rita@example.org"), "{}", page.body);

    let saved = rita
        .submit(
            "/settings",
            "/settings/profile",
            &[
                ("display_name", "Rita Rosenthal"),
                ("summary", "Knits *socks* for the guild."),
                ("time_zone", "Europe/Zurich"),
                ("locale", "de-CH"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    rita.get(saved.location.as_deref().expect("back to settings"))
        .await
        .shows(200, "Your profile is saved.")
        .shows(200, "value=\"Europe/Zurich\"")
        .shows(200, "value=\"de-CH\"");
    let profile = rita.get("/people/rita").await;
    profile
        .shows(200, "Rita Rosenthal")
        .shows(200, "<em>socks</em>");
    let account = node
        .state
        .db
        .user_by_email("rita@example.org")
        .await
        .expect("q")
        .expect("user");
    assert_eq!(account.time_zone, "Europe/Zurich");
    assert_eq!(account.locale, "de-CH");

    let refused = rita
        .submit(
            "/settings",
            "/settings/profile",
            &[
                ("display_name", "Rita R."),
                ("summary", ""),
                ("time_zone", "Mars/Olympus_Mons"),
                ("locale", "en"),
            ],
        )
        .await;
    assert!((400..500).contains(&refused.status), "{}", refused.body);
    refused.shows(refused.status, "id=\"field-time_zone-error\"");
    let error_at = refused
        .body
        .find("id=\"field-time_zone-error\"")
        .expect("error");
    assert!(refused.body[error_at..].contains("is not a time zone"));
    // Beside its own field: after the time zone's input, before the locale's.
    let input_at = refused.body.find("id=\"field-time_zone\"").expect("input");
    let next_at = refused
        .body
        .find("id=\"field-locale\"")
        .expect("next input");
    assert!(input_at < error_at && error_at < next_at);
    // The refused input is kept in the form, and nothing was saved.
    assert!(refused.body.contains("value=\"Mars/Olympus_Mons\""));
    rita.get("/people/rita").await.shows(200, "Rita Rosenthal");
}

#[tokio::test]
async fn settings_change_the_password_with_the_current_one() {
    let node = open_node().await;
    let sam = member(&node, "sam").await;
    let other = Browser::new(node.addr.port());
    assert_eq!(other.sign_in("sam", PASSWORD).await.status, 303);

    let wrong = sam
        .submit(
            "/settings",
            "/settings/password",
            &[
                ("current_password", "not my password"),
                ("new_password", "a brand new secret"),
            ],
        )
        .await;
    assert!((400..500).contains(&wrong.status), "{}", wrong.body);
    wrong.shows(wrong.status, "id=\"field-current_password-error\"");
    assert!(wrong.body.contains("not your current password"));

    let short = sam
        .submit(
            "/settings",
            "/settings/password",
            &[("current_password", PASSWORD), ("new_password", "short")],
        )
        .await;
    assert!((400..500).contains(&short.status), "{}", short.body);
    short.shows(short.status, "id=\"field-new_password-error\"");

    let changed = sam
        .submit(
            "/settings",
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    // This browser stays signed in; the other one is signed out.
    assert_eq!(sam.signed_in_as().await.as_deref(), Some("sam"));
    assert_eq!(other.signed_in_as().await, None);

    let old = Browser::new(node.addr.port());
    assert_ne!(old.sign_in("sam", PASSWORD).await.status, 303);
    assert_eq!(old.signed_in_as().await, None);
    let new = Browser::new(node.addr.port());
    assert_eq!(new.sign_in("sam", "a brand new secret").await.status, 303);
    assert_eq!(new.signed_in_as().await.as_deref(), Some("sam"));
}

#[tokio::test]
async fn settings_make_use_and_revoke_an_api_token_and_a_calendar_link() {
    let node = open_node().await;
    let tom = member(&node, "tom").await;
    let made = tom
        .submit("/settings", "/settings/tokens", &[("scopes", "read")])
        .await;
    made.shows(201, "Copy it now");
    let start = made.body.find("id=\"new-token\">").expect("token shown") + 15;
    let end = made.body[start..].find('<').expect("end") + start;
    let token = made.body[start..end].to_string();
    assert!(token.starts_with("rt_"), "{token}");

    let api = || async {
        http()
            .get(node.url("/api/roundtable/v1/tokens"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET")
    };
    let listed = api().await;
    assert_eq!(listed.status(), 200);
    let body: Value = listed.json().await.expect("JSON");
    let id = body["tokens"][0]["id"].as_i64().expect("the token's id");
    assert_eq!(body["tokens"][0]["scopes"], "read");

    // Shown once: the settings page lists it without its secret.
    let page = tom.get("/settings").await;
    assert!(!page.body.contains(&token));
    assert!(page.body.contains(&format!("/settings/tokens/{id}/revoke")));

    let revoked = tom
        .submit("/settings", &format!("/settings/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    assert_eq!(api().await.status(), 401);
    // Someone else's (or no) token: not found, not a 500.
    tom.submit("/settings", &format!("/settings/tokens/{id}/revoke"), &[])
        .await
        .shows(404, "no such token");

    let admin = tom
        .submit("/settings", "/settings/tokens", &[("scopes", "admin")])
        .await;
    assert!((400..500).contains(&admin.status), "{}", admin.body);
    admin.shows(admin.status, "id=\"field-scopes-error\"");

    let calendar = tom.submit("/settings", "/settings/calendar", &[]).await;
    calendar.shows(201, "id=\"calendar-url\"");
    let start = calendar.body.find("id=\"calendar-url\">").expect("url") + 18;
    let end = calendar.body[start..].find('<').expect("end") + start;
    let url = calendar.body[start..end]
        .replace("&#x2f;", "/")
        .replace("&#47;", "/");
    let path = &url[url.find("/calendar/").expect("a calendar path")..];
    let feed = http().get(node.url(path)).send().await.expect("GET");
    assert_eq!(feed.status(), 200);
    assert!(feed.text().await.expect("body").contains("BEGIN:VCALENDAR"));
}

#[tokio::test]
async fn notifications_list_replies_and_likes_and_are_read_on_opening() {
    let node = open_node().await;
    let una = member(&node, "una").await;
    let vic = member(&node, "vic").await;
    let stranger = member(&node, "wes").await;

    una.get("/notifications").await.shows(200, "Nothing new.");
    assert_eq!(unread(&una).await, 0);

    let made = una
        .submit(
            "/communities/new",
            "/communities/new",
            &[
                ("slug", "yarn"),
                ("title", "Yarn Club"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let posted = una
        .submit(
            "/communities/yarn",
            "/communities/yarn/threads",
            &[
                ("title", "Favourite wool"),
                ("content", "Merino, obviously."),
            ],
        )
        .await;
    let thread = posted.location.clone().expect("redirect to the thread");
    let id = thread.trim_start_matches("/threads/").to_string();

    let joined = vic
        .submit("/communities/yarn", "/communities/yarn/join", &[])
        .await;
    assert!(joined.status < 400, "{}", joined.body);
    let reply = vic
        .submit(
            &thread,
            &format!("{thread}/reply"),
            &[("content", "Alpaca is softer!")],
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let liked = vic
        .submit(&thread, &format!("/posts/{id}/like"), &[("liked", "true")])
        .await;
    assert!(liked.status < 400, "{}", liked.body);

    assert_eq!(unread(&una).await, 2);
    // Mastodon apps count the same notifications after the same marker.
    let made = una
        .submit("/settings", "/settings/tokens", &[("scopes", "read")])
        .await;
    let start = made.body.find("id=\"new-token\">").expect("token shown") + 15;
    let end = made.body[start..].find('<').expect("end") + start;
    let token = made.body[start..end].to_string();
    let app_count = || async {
        let body: Value = http()
            .get(node.url("/api/v1/notifications/unread_count"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        body["count"].as_i64().expect("count")
    };
    assert_eq!(app_count().await, 2);
    una.get("/settings").await.shows(
        200,
        "Notifications <span class=\"count\" data-count>(2)</span>",
    );

    let page = una.get("/notifications").await;
    page.shows(200, "Alpaca is softer!")
        .shows(200, "liked your post in")
        .shows(200, "replied in")
        .shows(200, "Favourite wool")
        .shows(200, "/people/vic");
    assert!(page.body.contains(&format!("href=\"{thread}#r")));
    assert!(
        page.body.contains(&format!("href=\"{thread}#r{id}\""))
            || page.body.contains(&format!("href=\"{thread}\""))
    );
    // Newest first: the like came after the reply.
    let like_at = page.body.find("liked your post in").expect("like");
    let reply_at = page.body.find("replied in").expect("reply");
    assert!(like_at < reply_at);
    assert!(!page.body.contains("data-count>("), "read on opening");

    assert_eq!(unread(&una).await, 0);
    assert_eq!(app_count().await, 0);
    let settings = una.get("/settings").await;
    assert!(!settings.body.contains("data-count>("), "{}", settings.body);

    // Nobody else sees them.
    stranger
        .get("/notifications")
        .await
        .shows(200, "Nothing new.");
    assert!(!stranger.get("/notifications").await.body.contains("Alpaca"));
    assert_eq!(unread(&stranger).await, 0);
    let visitor = Browser::new(node.addr.port());
    assert_eq!(visitor.get("/notifications").await.status, 303);
    assert_eq!(visitor.get("/notifications/unread").await.status, 401);
}
