//! The identity providers: the HTTP client `openidconnect` talks through, the configured
//! providers, their discovery documents and keys (cached per issuer), and the OIDC client.

use super::*;

// ----- the HTTP client the crate talks through -----

/// `openidconnect`'s HTTP client over the node's reqwest (0.13): no redirects, a timeout per
/// request and a cap on the answer's size. The crate's own reqwest feature would compile a
/// second, older reqwest. This is not the federation client: an organization's provider
/// often has a private address, which that client refuses; the issuer is set by the admin.
pub(super) struct IdpHttp {
    client: reqwest::Client,
    timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum HttpError {
    #[error("{0}")]
    Request(#[from] reqwest::Error),
    #[error("{0}")]
    Http(#[from] openidconnect::http::Error),
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

impl<'c> AsyncHttpClient<'c> for IdpHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut request = reqwest::Request::try_from(request)?;
            *request.timeout_mut() = Some(self.timeout);
            let mut response = self.client.execute(request).await?;
            let mut answer = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(answer.body(body)?)
        })
    }
}

pub(super) fn http(node: &Node) -> Result<IdpHttp, Error> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    let client = match CLIENT.get() {
        Some(c) => c.clone(),
        None => {
            let built = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(5))
                .user_agent(concat!("Roundtable/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot build the identity provider client");
                    Error::internal()
                })?;
            CLIENT.get_or_init(|| built).clone()
        }
    };
    Ok(IdpHttp {
        client,
        timeout: node.settings.request_timeout(),
    })
}

// ----- providers and their discovery -----

/// A provider people can sign in with, for the sign-in page.
pub struct ProviderLink {
    pub id: String,
    pub label: String,
}

/// The configured providers, in id order.
pub fn providers(node: &Node) -> Vec<ProviderLink> {
    node.settings
        .sso
        .providers
        .iter()
        .map(|(id, p)| ProviderLink {
            id: id.clone(),
            label: p.label(id).to_string(),
        })
        .collect()
}

/// Refuses password sign-in, sign-up and reset when the node turned local passwords off.
pub fn passwords_allowed(node: &Node) -> Result<(), Error> {
    if node.settings.accounts.local_passwords {
        return Ok(());
    }
    let names: Vec<String> = providers(node).into_iter().map(|p| p.label).collect();
    Err(Error::forbidden(format!(
        "this node does not use passwords: sign in with {}",
        names.join(" or ")
    )))
}

pub(super) fn provider<'a>(node: &'a Node, id: &str) -> Result<&'a SsoProvider, Error> {
    node.settings
        .sso
        .providers
        .get(id)
        .ok_or_else(|| Error::not_found(format!("this node has no sign-in provider {id:?}")))
}

pub(super) struct Discovered {
    metadata: Arc<ProviderMetadataWithLogout>,
    at: Instant,
}

pub(super) static DISCOVERED: LazyLock<Mutex<HashMap<String, Discovered>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

pub(super) fn cache() -> std::sync::MutexGuard<'static, HashMap<String, Discovered>> {
    DISCOVERED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forgets a provider's discovery, so the next sign-in reads it (and its keys) again.
pub(super) fn forget(issuer: &str) {
    cache().remove(issuer);
}

/// The provider's metadata and keys: cached for an hour; a stale copy is used while the
/// provider cannot be reached.
pub(super) async fn metadata(
    node: &Node,
    p: &SsoProvider,
) -> Result<Arc<ProviderMetadataWithLogout>, Error> {
    let stale = match cache().get(&p.issuer) {
        Some(d) if d.at.elapsed() < METADATA_FRESH => return Ok(d.metadata.clone()),
        Some(d) => Some(d.metadata.clone()),
        None => None,
    };
    let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|_| {
        Error::unavailable("this sign-in provider's issuer is not a URL; tell the node's admin")
    })?;
    let client = http(node)?;
    match ProviderMetadataWithLogout::discover_async(issuer, &client).await {
        Ok(found) => {
            let found = Arc::new(found);
            cache().insert(
                p.issuer.clone(),
                Discovered {
                    metadata: found.clone(),
                    at: Instant::now(),
                },
            );
            Ok(found)
        }
        Err(e) => {
            tracing::warn!(issuer = %p.issuer, error = %e, "OpenID Connect discovery failed");
            stale.ok_or_else(|| {
                Error::unavailable(
                    "the identity provider cannot be reached right now; try again in a moment",
                )
            })
        }
    }
}

pub(super) fn secret(p: &SsoProvider) -> Result<Option<ClientSecret>, Error> {
    let missing = |what: String| {
        tracing::error!(issuer = %p.issuer, "{what}");
        Error::unavailable("this sign-in provider is not set up completely; tell the node's admin")
    };
    let raw = if !p.client_secret_file.is_empty() {
        std::fs::read_to_string(&p.client_secret_file).map_err(|e| {
            missing(format!(
                "cannot read client_secret_file {}: {e}",
                p.client_secret_file
            ))
        })?
    } else if !p.client_secret_env.is_empty() {
        std::env::var(&p.client_secret_env).map_err(|_| {
            missing(format!(
                "client_secret_env names {}, which is not set",
                p.client_secret_env
            ))
        })?
    } else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(missing("the client secret is empty".into()));
    }
    Ok(Some(ClientSecret::new(raw.to_string())))
}

/// Where the provider sends the browser back: `https://DOMAIN/sso/{id}/callback`.
pub fn callback_url(node: &Node, id: &str) -> String {
    format!("{}/sso/{id}/callback", node.settings.base_url())
}

pub(super) fn client(
    node: &Node,
    id: &str,
    p: &SsoProvider,
    metadata: &ProviderMetadataWithLogout,
) -> Result<OidcClient, Error> {
    let redirect = RedirectUrl::new(callback_url(node, id)).map_err(|_| Error::internal())?;
    Ok(OidcClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(p.client_id.clone()),
        secret(p)?,
    )
    .set_redirect_uri(redirect))
}
