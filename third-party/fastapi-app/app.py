"""An API protected the way FastAPI's documentation shows, one route per
security scheme class, so that the OpenAPI document FastAPI generates
declares every kind authbench reads, and every credential is verified for
real: Basic with a constant-time comparison, API keys in a header and in
the query, HS256 JWTs (PyJWT: signature, exp, iss and aud required) behind
HTTPBearer, OAuth2PasswordBearer with scopes (403 insufficient_scope) and
OpenIdConnect.

`python app.py` prints the generated document; `python app.py serve PORT`
serves the app on 127.0.0.1 with the credentials in the environment
(APP_USER, APP_PASSWORD, APP_API_KEY, APP_JWT_SECRET, APP_ISSUER,
APP_AUDIENCE).
"""

import json
import os
import secrets
import sys
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, HTTPException, Security
from fastapi.security import (
    APIKeyHeader,
    APIKeyQuery,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
    OpenIdConnect,
    SecurityScopes,
)

USER = os.environ.get("APP_USER", "alice")
PASSWORD = os.environ.get("APP_PASSWORD", "")
API_KEY = os.environ.get("APP_API_KEY", "")
JWT_SECRET = os.environ.get("APP_JWT_SECRET", "")
ISSUER = os.environ.get("APP_ISSUER", "https://fastapi.authbench.test")
AUDIENCE = os.environ.get("APP_AUDIENCE", "authbench-fastapi")

app = FastAPI(title="authbench compatibility app", version="1")

basic = HTTPBasic()
header_key = APIKeyHeader(name="X-API-Key")
query_key = APIKeyQuery(name="api_key")
bearer = HTTPBearer(bearerFormat="JWT")
oauth2 = OAuth2PasswordBearer(
    tokenUrl="token", scopes={"items:read": "read items", "items:write": "write items"}
)
oidc = OpenIdConnect(openIdConnectUrl="https://as.example.test/.well-known/openid-configuration")


def same(given: str, expected: str) -> bool:
    # An unset secret matches nothing.
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


def refuse(challenge: str) -> HTTPException:
    return HTTPException(status_code=401, detail="Not authenticated", headers={"WWW-Authenticate": challenge})


def claims_of(token: str) -> dict:
    if not JWT_SECRET:
        raise refuse('Bearer error="invalid_token"')
    try:
        return jwt.decode(
            token,
            JWT_SECRET,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.PyJWTError:
        raise refuse('Bearer error="invalid_token"') from None


def checked_basic(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]) -> str:
    # Both compared, always: no early exit that tells users from passwords.
    user_ok = same(credentials.username, USER)
    password_ok = same(credentials.password, PASSWORD)
    if not (user_ok and password_ok):
        raise refuse('Basic realm="app", charset="UTF-8"')
    return credentials.username


def checked_header_key(key: Annotated[str, Depends(header_key)]) -> str:
    if not same(key, API_KEY):
        raise refuse('ApiKey realm="app"')
    return key


def checked_query_key(key: Annotated[str, Depends(query_key)]) -> str:
    if not same(key, API_KEY):
        raise refuse('ApiKey realm="app"')
    return key


def checked_bearer(credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]) -> dict:
    return claims_of(credentials.credentials)


def scoped(scopes: SecurityScopes, token: Annotated[str, Depends(oauth2)]) -> dict:
    claims = claims_of(token)
    granted = str(claims.get("scope", "")).split()
    if any(s not in granted for s in scopes.scopes):
        raise HTTPException(
            status_code=403,
            detail="Not enough permissions",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scopes.scope_str}"'},
        )
    return claims


def checked_oidc(authorization: Annotated[str, Depends(oidc)]) -> dict:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise refuse("Bearer")
    return claims_of(token)


@app.get("/public")
def public() -> dict:
    return {"ok": True}


@app.get("/basic")
def with_basic(user: Annotated[str, Depends(checked_basic)]) -> dict:
    return {"user": user}


@app.get("/key")
def with_key(key: Annotated[str, Depends(checked_header_key)]) -> dict:
    return {"ok": True}


@app.get("/query-key")
def with_query_key(key: Annotated[str, Depends(checked_query_key)]) -> dict:
    return {"ok": True}


@app.get("/bearer")
def with_bearer(claims: Annotated[dict, Depends(checked_bearer)]) -> dict:
    return {"sub": claims.get("sub")}


@app.get("/items/{item_id}", operation_id="readItem")
def read_item(item_id: str, claims: Annotated[dict, Security(scoped, scopes=["items:read"])]) -> dict:
    return {"id": item_id}


@app.post("/items", operation_id="createItem")
def create_item(claims: Annotated[dict, Security(scoped, scopes=["items:write"])]) -> dict:
    return {"ok": True}


@app.get("/profile")
def profile(claims: Annotated[dict, Depends(checked_oidc)]) -> dict:
    return {"sub": claims.get("sub")}


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    else:
        print(json.dumps(app.openapi(), indent=2))
