// panva/node-oidc-provider, configured as a production deployment would be for
// a confidential web client, serving HTTPS on loopback for authbench's
// compatibility test (harness/tests/third_party.rs). Only test fixtures here:
// the client secrets and the login accept-anything page are oidc-provider's
// development interactions, never for real use.
//
// usage: node server.mjs PORT CERT_PEM KEY_PEM [CLIENT_JWKS_JSON]   (PORT 0: any free port)
// CLIENT_JWKS_JSON registers a private_key_jwt client (RFC 7523) with that key set.
// prints `ready https://127.0.0.1:PORT` once listening.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const [port, certFile, keyFile, clientJwksFile] = process.argv.slice(2);
if (!port || !certFile || !keyFile) {
  console.error('usage: node server.mjs PORT CERT_PEM KEY_PEM');
  process.exit(2);
}
const OTHER_RESOURCE = 'https://other-api.authbench.test';

const client = (id, secret, redirect) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: [redirect],
  grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: 'openid offline_access read write',
});

// Listen first: with port 0 the issuer is known only once the port is.
const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
await new Promise((resolve) => server.listen(Number(port), '127.0.0.1', resolve));
const issuer = `https://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    client('authbench-client', 'authbench-client-secret-0123456789', 'https://client.authbench.test/callback'),
    client('authbench-other-client', 'authbench-other-secret-0123456789', 'https://client.authbench.test/other-callback'),
    // A native app (RFC 8252): a public client with a loopback redirect URI,
    // whose port it picks at each request.
    {
      client_id: 'authbench-native-client',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'openid offline_access read',
    },
    // A client authenticating with assertions signed by its key (private_key_jwt).
    ...(clientJwksFile
      ? [{
          client_id: 'authbench-jwt-client',
          redirect_uris: ['https://client.authbench.test/callback'],
          grant_types: ['authorization_code', 'client_credentials'],
          response_types: ['code'],
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'ES256',
          // The same key signs its request objects (RFC 9101).
          request_object_signing_alg: 'ES256',
          jwks: JSON.parse(readFileSync(clientJwksFile, 'utf8')),
          scope: 'openid offline_access read write',
        }]
      : []),
  ],
  scopes: ['openid', 'offline_access', 'read', 'write'],
  // The code flow only: no implicit or hybrid response types (RFC 9700 §2.1.2).
  responseTypes: ['code'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    dPoP: { enabled: true },
    requestObjects: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Tokens for another API, to check that the userinfo resource refuses them.
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== OTHER_RESOURCE) throw new Error('unknown resource');
        return { scope: 'read write', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 300 };
      },
    },
  },
  // Refresh tokens for every code grant of a client allowed to refresh (the
  // default also asks for offline_access and consent).
  issueRefreshToken: async (ctx, c) => c.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: { AccessToken: 300, AuthorizationCode: 10, ClientCredentials: 300, RefreshToken: 3600 },
  cookies: { keys: ['authbench-compat-cookie-key-0123456789'] },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
});

server.on('request', provider.callback());
console.log(`ready ${issuer}`);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
