// A real OpenID Connect provider for the tests: npm oidc-provider on the installed
// Node, on a loopback port (tests/sso/oidc.py starts it). Its dev interactions
// sign in any login (the password is not checked: the login names the account);
// the accounts and their claims come from OIDC_ACCOUNTS (JSON: sub -> claims).
//   node oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || "{}");

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "preferred_username", "locale", "groups"],
  },
  conformIdTokenClaims: false, // the claims in the ID token, as Keycloak and Entra send them
  pkce: { required: () => true, methods: ["S256"] },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["helpdesk-test-cookie-key"] },
  findAccount: async (ctx, sub) =>
    accounts[sub] && {
      accountId: sub,
      claims: async () => ({ sub, ...accounts[sub] }),
    },
});
provider.listen(Number(port), "127.0.0.1", () => console.log(`listening on ${port}`));
