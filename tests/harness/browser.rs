//! A browser-style client: a cookie jar, form posts, no redirects followed (tests look at
//! them), and the hidden fields (the CSRF token) read from the page that holds the form.

use std::time::Duration;

pub struct Browser {
    client: reqwest::Client,
    /// `http://127.0.0.1:PORT` of the node it talks to (cookies are per host, not per port,
    /// so two nodes on 127.0.0.1 see the same cookies, like two processes of one node).
    pub base: String,
}

/// What a page answered.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    pub set_cookie: Vec<String>,
    pub content_type: String,
}

impl Page {
    /// The value of the hidden input `name` in the page's (first) form.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find('"')? + start;
        Some(html_unescape(&self.body[start..end]))
    }

    pub fn csrf(&self) -> String {
        self.hidden("csrf")
            .unwrap_or_else(|| panic!("no CSRF token in page ({}): {}", self.status, self.body))
    }

    /// Asserts an HTML page (never JSON, never a 500) that contains `text`.
    pub fn shows(&self, status: u16, text: &str) -> &Page {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(
            self.content_type.starts_with("text/html"),
            "{} {}",
            self.content_type,
            self.body
        );
        assert!(self.body.contains(text), "{text:?} not in: {}", self.body);
        self
    }
}

fn html_unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#43;", "+")
        .replace("&#61;", "=")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

impl Browser {
    pub fn new(port: u16) -> Browser {
        Browser::with_agent(port, "Roundtable test browser")
    }

    pub fn with_agent(port: u16, agent: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .user_agent(agent)
                .build()
                .expect("client"),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Another node (process) on the same host: the same cookies go there too.
    pub fn at(&self, port: u16) -> Browser {
        Browser {
            client: self.client.clone(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            // A link from a mail names the node by its domain, localhost:PORT.
            let parsed = url::Url::parse(path).expect("a link");
            let mut query = parsed.query().map(|q| format!("?{q}")).unwrap_or_default();
            if query == "?" {
                query.clear();
            }
            format!("{}{}{query}", self.base, parsed.path())
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header("location");
        let content_type = header("content-type").unwrap_or_default();
        let set_cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let body = response.text().await.unwrap_or_default();
        assert_ne!(status, 500, "a 500: {body}");
        Page {
            status,
            body,
            location,
            set_cookie,
            content_type,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    /// Posts `fields` as a form, exactly as given (no CSRF token added).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Self::page(
            self.client
                .post(self.url(path))
                .form(fields)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Page {
        Self::page(
            self.client
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Opens the page at `page`, then posts its form to `action` with `fields`, the page's
    /// hidden fields (CSRF token included) added.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let form = self.get(page).await;
        assert_eq!(form.status, 200, "the form page {page}: {}", form.body);
        let mut all: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for name in ["csrf", "token", "next"] {
            if let Some(v) = form.hidden(name) {
                if !fields.iter().any(|(k, _)| *k == name) {
                    all.push((name.to_string(), v));
                }
            }
        }
        Self::page(
            self.client
                .post(self.url(action))
                .form(&all)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// GET of an absolute URL on another server (an identity provider), with the same
    /// cookies.
    pub async fn get_url(&self, url: &str) -> Page {
        Self::page(self.client.get(url).send().await.expect("GET")).await
    }

    /// Posts `fields` as a form to an absolute URL on another server.
    pub async fn post_url(&self, url: &str, fields: &[(&str, &str)]) -> Page {
        Self::page(
            self.client
                .post(url)
                .form(fields)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn sign_in(&self, login: &str, password: &str) -> Page {
        self.submit(
            "/sign-in",
            "/sign-in",
            &[("login", login), ("password", password)],
        )
        .await
    }

    /// The name the home page says is signed in, if any.
    pub async fn signed_in_as(&self) -> Option<String> {
        let home = self.get("/").await;
        assert_eq!(home.status, 200, "{}", home.body);
        let marker = home.body.find("class=\"me-name\"")?;
        let start = home.body[marker..].find('>')? + marker + 1;
        let end = home.body[start..].find('<')? + start;
        Some(home.body[start..end].to_string())
    }
}
