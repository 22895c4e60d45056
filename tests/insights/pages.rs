//! The seeded month of `figures.rs` as people see it: the insights page over HTTP and in a
//! real browser (SVG values, axe-core, the CSV downloaded and parsed), the administrators'
//! overview, and the solved thread's page.

use std::collections::BTreeMap;

/// The insights page of the same month, over HTTP as a browser reads it: the SVG charts carry
/// the figures, the findings say them in words, and the CSV parses back to them.
pub(super) async fn the_page_draws_the_same_figures(
    alpha: &crate::harness::Node,
    q1: i64,
    r1: i64,
) {
    use crate::harness::browser::Browser;
    let password = "correct horse battery staple";
    roundtable::service::accounts::create_user(&alpha.state.db, "wes", Some(password), false)
        .await
        .expect("user");
    let visitor = Browser::new(alpha.addr.port());
    let window = "from=2026-03-02&to=2026-03-29";
    let page = visitor
        .get(&format!("/communities/practice/insights?{window}"))
        .await;
    assert_eq!(page.status, 303, "visitors are sent to sign in");
    let wes = Browser::new(alpha.addr.port());
    assert_eq!(wes.sign_in("wes", password).await.status, 303);
    let page = wes
        .get(&format!("/communities/practice/insights?{window}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    for (week, n) in [
        ("2026-W10", 13),
        ("2026-W11", 5),
        ("2026-W12", 4),
        ("2026-W13", 1),
    ] {
        let bar = format!("data-week=\"{week}\" data-value=\"{n}\"");
        assert!(page.body.contains(&bar), "{bar} in {}", page.body);
    }
    // The tallest week fills the chart (160 px), the others in proportion: 5 of 13 → 61 px.
    assert!(page.body.contains("height=\"160\""), "{}", page.body);
    assert!(page.body.contains("height=\"61\""), "{}", page.body);
    for text in [
        "5 questions opened, 3 answered by someone else, 2 solved.",
        "2 questions waited more than a week for an answer.",
        "50 % of answers come from one member; 1 member gave half of them.",
        "75 % of replies cross organizations (6 of 8).",
        "1 article is overdue for review.",
        "2 of 3 newcomers contributed.",
    ] {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    let csv = wes
        .get(&format!(
            "/communities/practice/insights.csv?table=rhythm&{window}"
        ))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let rows: Vec<Vec<&str>> = csv.body.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows,
        [
            vec!["week", "starts", "contributions"],
            vec!["2026-W10", "2026-03-02", "13"],
            vec!["2026-W11", "2026-03-09", "5"],
            vec!["2026-W12", "2026-03-16", "4"],
            vec!["2026-W13", "2026-03-23", "1"],
        ]
    );
    let csv = wes
        .get(&format!(
            "/communities/practice/insights.csv?table=summary&{window}"
        ))
        .await;
    let summary: BTreeMap<&str, &str> = csv
        .body
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .collect();
    assert_eq!(summary.get("questions_solved"), Some(&"2"), "{}", csv.body);
    assert_eq!(
        summary.get("first_answer_p90_secs"),
        Some(&"864000"),
        "{}",
        csv.body
    );
    assert_eq!(
        summary.get("median_days_since_review"),
        Some(&"25.5"),
        "{}",
        csv.body
    );
    let bad = wes
        .get(&format!(
            "/communities/practice/insights.csv?table=nope&{window}"
        ))
        .await;
    assert_eq!(bad.status, 400);
    // The solved thread: a badge, its answer highlighted; wes neither wrote it nor moderates,
    // so no button to change the mark.
    let thread = wes.get(&format!("/threads/{q1}")).await;
    assert_eq!(thread.status, 200, "{}", thread.body);
    assert!(
        thread.body.contains("tag ok solved\">solved"),
        "{}",
        thread.body
    );
    assert!(
        thread.body.contains(&format!("answer\" id=\"r{r1}\"")),
        "{}",
        thread.body
    );
    assert!(thread.body.contains("Accepted answer"), "{}", thread.body);
    assert!(
        !thread.body.contains("Mark as the answer"),
        "{}",
        thread.body
    );
    // The administrators' overview puts the month of `practice` beside the node's other
    // communities; others are refused it.
    assert_eq!(wes.get("/admin/insights").await.status, 403);
    roundtable::service::accounts::create_user(&alpha.state.db, "ada", Some(password), true)
        .await
        .expect("admin");
    let ada = Browser::new(alpha.addr.port());
    assert_eq!(ada.sign_in("ada", password).await.status, 303);
    let overview = ada.get(&format!("/admin/insights?{window}")).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    let row = "<td>3</td><td>3</td><td>5</td><td>2</td><td>2</td><td>75 %</td><td>50 %</td>\
               <td>1</td><td>3</td><td>2</td>";
    assert!(overview.body.contains(row), "{}", overview.body);
    in_a_browser(
        alpha,
        &format!("/communities/practice/insights?{window}"),
        password,
    )
    .await;
    let list = wes.get("/communities/practice").await;
    assert!(list.body.contains(">solved</span>"), "{}", list.body);
    assert!(
        list.body.contains("/insights\">Insights</a>"),
        "{}",
        list.body
    );
}

/// The same page in a real browser (with JavaScript and without): the charts' values, axe-core,
/// and the CSV downloaded and parsed.
async fn in_a_browser(alpha: &crate::harness::Node, path: &str, password: &str) {
    use crate::harness::chromium;
    for js in [true, false] {
        let out = chromium::run(
            "insights",
            include_str!("insights.mjs"),
            &[
                ("A", alpha.base.clone()),
                ("PAGE", path.to_string()),
                ("SHOTS", chromium::screenshot_dir().display().to_string()),
                ("JS", if js { "on" } else { "off" }.into()),
                ("LOGIN", "wes".into()),
                ("PASSWORD", password.into()),
            ],
        )
        .await;
        assert!(
            out["error"].is_null(),
            "the browser run failed: {}",
            out["error"]
        );
        assert_eq!(out["violations"], serde_json::json!([]), "axe-core: {out}");
        assert_eq!(out["cspErrors"], serde_json::json!([]), "CSP: {out}");
        assert_eq!(out["serverErrors"], serde_json::json!([]), "5xx: {out}");
        let weeks: Vec<(String, u64, u64)> = out["weeks"]
            .as_array()
            .expect("weeks")
            .iter()
            .map(|w| {
                assert_eq!(w["text"].as_str(), Some(w["value"].to_string().as_str()));
                (
                    w["week"].as_str().expect("week").to_string(),
                    w["value"].as_u64().expect("value"),
                    w["height"].as_u64().expect("height"),
                )
            })
            .collect();
        // Heights: 160 px for the tallest week, the others in proportion (rounded down).
        let expected: Vec<(String, u64, u64)> = [
            ("2026-W10", 13, 160),
            ("2026-W11", 5, 61),
            ("2026-W12", 4, 49),
            ("2026-W13", 1, 12),
        ]
        .into_iter()
        .map(|(w, v, h)| (w.to_string(), v, h))
        .collect();
        assert_eq!(weeks, expected, "{out}");
        // Shares of replies: alpha 50 %, beta and gamma 25 % (3 px a percent).
        let shares: BTreeMap<String, (u64, u64)> = out["shares"]
            .as_array()
            .expect("shares")
            .iter()
            .map(|s| {
                (
                    s["node"].as_str().expect("node").to_string(),
                    (
                        s["percent"].as_u64().expect("p"),
                        s["width"].as_u64().expect("w"),
                    ),
                )
            })
            .collect();
        assert_eq!(
            shares.values().copied().collect::<Vec<_>>().len(),
            3,
            "{out}"
        );
        let mut percents: Vec<u64> = shares.values().map(|(p, _)| *p).collect();
        percents.sort_unstable();
        assert_eq!(percents, [25, 25, 50], "{out}");
        assert!(shares.values().all(|(p, w)| *w == p * 3), "{out}");
        // The exchange matrix: nine cells, eight replies, each cell's text its value.
        let cells = out["cells"].as_array().expect("cells");
        assert_eq!(cells.len(), 9, "{out}");
        let total: u64 = cells.iter().map(|c| c["value"].as_u64().expect("v")).sum();
        assert_eq!(total, 8, "{out}");
        assert!(cells
            .iter()
            .all(|c| c["text"].as_str() == Some(c["value"].to_string().as_str())));
        let findings = out["findings"].to_string();
        assert!(
            findings.contains("2 questions waited more than a week"),
            "{findings}"
        );
        assert_eq!(
            out["csv"],
            serde_json::json!([
                ["week", "starts", "contributions"],
                ["2026-W10", "2026-03-02", "13"],
                ["2026-W11", "2026-03-09", "5"],
                ["2026-W12", "2026-03-16", "4"],
                ["2026-W13", "2026-03-23", "1"]
            ]),
            "{out}"
        );
    }
}
