"""An API protected the way FastAPI's documentation shows, one route per
security scheme class, so that the OpenAPI document FastAPI generates
declares every kind authbench reads. `python app.py` prints that document.
"""

import json
from typing import Annotated

from fastapi import Depends, FastAPI, Security
from fastapi.security import (
    APIKeyHeader,
    APIKeyQuery,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
    OpenIdConnect,
    SecurityScopes,
)

app = FastAPI(title="authbench compatibility app", version="1")

basic = HTTPBasic()
header_key = APIKeyHeader(name="X-API-Key")
query_key = APIKeyQuery(name="api_key")
bearer = HTTPBearer(bearerFormat="JWT")
oauth2 = OAuth2PasswordBearer(
    tokenUrl="token", scopes={"items:read": "read items", "items:write": "write items"}
)
oidc = OpenIdConnect(openIdConnectUrl="https://as.example.test/.well-known/openid-configuration")


def scoped(scopes: SecurityScopes, token: Annotated[str, Depends(oauth2)]) -> str:
    return token


@app.get("/public")
def public() -> dict:
    return {"ok": True}


@app.get("/basic")
def with_basic(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]) -> dict:
    return {"user": credentials.username}


@app.get("/key")
def with_key(key: Annotated[str, Depends(header_key)]) -> dict:
    return {"ok": True}


@app.get("/query-key")
def with_query_key(key: Annotated[str, Depends(query_key)]) -> dict:
    return {"ok": True}


@app.get("/bearer")
def with_bearer(token: Annotated[object, Depends(bearer)]) -> dict:
    return {"ok": True}


@app.get("/items/{item_id}", operation_id="readItem")
def read_item(item_id: str, token: Annotated[str, Security(scoped, scopes=["items:read"])]) -> dict:
    return {"id": item_id}


@app.post("/items", operation_id="createItem")
def create_item(token: Annotated[str, Security(scoped, scopes=["items:write"])]) -> dict:
    return {"ok": True}


@app.get("/profile")
def profile(token: Annotated[str, Depends(oidc)]) -> dict:
    return {"ok": True}


if __name__ == "__main__":
    print(json.dumps(app.openapi(), indent=2))
