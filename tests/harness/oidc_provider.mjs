// A real OpenID provider for Roundtable's single sign-on tests: the certified `oidc-provider`
// (8.x) with one confidential client, an RSA key generated at start, test accounts set over a
// control endpoint, a one-form login+consent interaction, and fault injection on the ID token
// the token endpoint returns.
//
//   node oidc_provider.mjs PORT CLIENT_JSON
//   POST /__test/account {"sub": "...", "email": ..., "email_verified": ..., ...claims}
//   POST /__test/mode    {"mode": "none" | "tamper" | "expired" | "nonce"}
import Provider from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.argv[2]);
const client = JSON.parse(process.argv[3]);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'roundtable-test', alg: 'RS256', use: 'sig' };

const accounts = new Map();
let mode = 'none';

const provider = new Provider(issuer, {
  clients: [client],
  jwks: { keys: [jwk] },
  cookies: { keys: ['roundtable-test-cookies'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name', 'groups'],
  },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    if (!accounts.has(sub)) return undefined;
    return { accountId: sub, claims: async () => ({ ...accounts.get(sub), sub }) };
  },
});

async function body(ctx) {
  let data = '';
  for await (const chunk of ctx.req) data += chunk;
  return data;
}

// Rewrites an ID token as the current mode says: `tamper` changes a claim and keeps the
// signature; `expired` and `nonce` re-sign with this provider's own key.
async function fault(idToken) {
  const [header, payload, signature] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  if (mode === 'tamper') {
    claims.email = 'mallory@example.org';
    claims.email_verified = true;
    return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
  }
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'expired') {
    claims.iat = now - 7200;
    claims.exp = now - 3600;
  } else if (mode === 'nonce') {
    claims.nonce = 'the-nonce-of-another-sign-in';
  }
  const protectedHeader = JSON.parse(Buffer.from(header, 'base64url').toString());
  return new jose.SignJWT(claims).setProtectedHeader(protectedHeader).sign(privateKey);
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/__test/account') {
    const account = JSON.parse(await body(ctx));
    accounts.set(account.sub, account);
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/__test/mode') {
    mode = JSON.parse(await body(ctx)).mode;
    ctx.status = 204;
    return;
  }
  const interaction = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (interaction && ctx.method === 'GET') {
    const { uid } = await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>Test identity provider</title>
<form method="post" action="/interaction/${uid}"><label>Login <input name="login"></label>
<button>Sign in</button> <button name="abort" value="1">Cancel</button></form>`;
    return;
  }
  if (interaction && ctx.method === 'POST') {
    const form = Object.fromEntries(new URLSearchParams(await body(ctx)));
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let result;
    if (form.abort) {
      result = { error: 'access_denied', error_description: 'the user cancelled the sign-in' };
    } else if (!accounts.has(form.login)) {
      ctx.status = 400;
      ctx.body = 'no such test account';
      return;
    } else {
      const grant = new provider.Grant({ accountId: form.login, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      result = { login: { accountId: form.login }, consent: { grantId: await grant.save() } };
    }
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.redirect(to);
    ctx.status = 303;
    return;
  }
  await next();
  if (ctx.path === '/token' && mode !== 'none' && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await fault(ctx.body.id_token) };
  }
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
provider.listen(port, '127.0.0.1', () => console.log('READY'));
