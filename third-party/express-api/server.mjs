// An Express 5 API protected the way each library's README shows it, for
// authbench's compatibility test (harness/tests/third_party.rs): nothing
// here is tuned to pass authbench's cases.
//
// - HTTP Basic: express-basic-auth with a users map and `challenge: true`
//   (the README's option for sending WWW-Authenticate).
// - API keys: passport with passport-headerapikey, `session: false`.
// - JWT: express-jwt verifying RS256 with the issuer's public key, issuer and
//   audience set, and the README's error handler for UnauthorizedError.
//
// Usage: node server.mjs PORT CERT.pem KEY.pem STATE_DIR API_KEY PASSWORD
// Writes STATE_DIR/jwt-signing.pem (the RS256 private key, for the profile)
// and prints `ready https://localhost:PORT` once it listens.

import { generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";

import express from "express";
import basicAuth from "express-basic-auth";
import { expressjwt } from "express-jwt";
import passport from "passport";
import { HeaderAPIKeyStrategy } from "passport-headerapikey";

const [port, certFile, keyFile, stateDir, apiKey, password] = process.argv.slice(2);

const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
writeFileSync(
  path.join(stateDir, "jwt-signing.pem"),
  privateKey.export({ type: "pkcs8", format: "pem" }),
  { mode: 0o600 },
);

const app = express();

app.get("/baseline", (req, res) => res.json({ ok: true }));

app.use(
  "/basic",
  basicAuth({ users: { alice: password }, challenge: true, realm: "express-api" }),
);
app.get("/basic/resource", (req, res) => res.json({ user: req.auth.user }));

passport.use(
  new HeaderAPIKeyStrategy({ header: "X-API-Key", prefix: "" }, false, (key, done) => {
    if (key === apiKey) {
      return done(null, { application: "demo-app" });
    }
    return done(null, false);
  }),
);
app.use(passport.initialize());
app.get(
  "/api-key/resource",
  passport.authenticate("headerapikey", { session: false }),
  (req, res) => res.json({ application: req.user.application }),
);

app.get(
  "/jwt/resource",
  expressjwt({
    secret: publicKey.export({ type: "spki", format: "pem" }),
    algorithms: ["RS256"],
    issuer: "https://issuer.express-api.test",
    audience: "https://api.express-api.test",
  }),
  (req, res) => res.json({ sub: req.auth.sub }),
);

// The same key under RSASSA-PSS: a [[jwt.variants]] resource (PS256).
app.get(
  "/jwt/ps256/resource",
  expressjwt({
    secret: publicKey.export({ type: "spki", format: "pem" }),
    algorithms: ["PS256"],
    issuer: "https://issuer.express-api.test",
    audience: "https://api.express-api.test",
  }),
  (req, res) => res.json({ sub: req.auth.sub }),
);

// express-jwt's README error handler.
app.use((err, req, res, next) => {
  if (err.name === "UnauthorizedError") {
    res.status(401).send("invalid token...");
  } else {
    next(err);
  }
});

const server = https.createServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile) },
  app,
);
server.listen(Number(port), "127.0.0.1", () => {
  console.log(`ready https://localhost:${server.address().port}`);
});
