"""OpenAPI fragment of the users domain: what ``users/api.py`` serves."""

from __future__ import annotations

from domain_services.users.auth import MAX_PASSWORD, MIN_PASSWORD
from kernel.openapi import PAGE_PARAMS, body, errors, id_param, ok, ref, text_param
from kernel.tokens import ROLES

_USERNAME = {"type": "string", "minLength": 3, "maxLength": 50, "pattern": r"^[A-Za-z0-9_.\-]{3,50}$"}
_EMAIL = {"type": "string", "format": "email", "maxLength": 255, "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"}

FRAGMENT = {
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"}},
        "schemas": {
            "User": {
                "type": "object",
                "required": ["id", "username", "email"],
                "description": "email is null unless the caller is this user or an admin",
                "properties": {"id": {"type": "integer"}, "username": {"type": "string"},
                               "email": {"type": "string", "nullable": True}},
            },
            "UserChange": {
                "type": "object",
                "description": "username/email: the user or an admin; role/disabled: admins only "
                               "(disabling revokes the user's tokens)",
                "properties": {"username": _USERNAME, "email": _EMAIL,
                               "role": {"type": "string", "enum": list(ROLES)}, "disabled": {"type": "boolean"}},
            },
            "RefreshRequest": {
                "type": "object",
                "required": ["refresh_token"],
                "properties": {"refresh_token": {"type": "string"}},
            },
            "RevokeRequest": {
                "type": "object",
                "description": "user_id defaults to the caller; another user's id needs the admin role",
                "properties": {"user_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}},
            },
            "Revocation": {
                "type": "object",
                "required": ["user_id", "not_before"],
                "properties": {"user_id": {"type": "integer"},
                               "not_before": {"type": "number", "description": "epoch seconds; tokens issued "
                                                                               "earlier are refused"}},
            },
            "NewUser": {
                "type": "object",
                "required": ["username", "email"],
                "properties": {"username": _USERNAME, "email": _EMAIL},
            },
            "Registration": {
                "type": "object",
                "required": ["username", "email", "password"],
                "properties": {
                    "username": _USERNAME,
                    "email": _EMAIL,
                    "password": {"type": "string", "minLength": MIN_PASSWORD, "maxLength": MAX_PASSWORD},
                },
            },
            "Credentials": {
                "type": "object",
                "required": ["username", "password"],
                "properties": {"username": {"type": "string", "minLength": 1, "maxLength": 50},
                               "password": {"type": "string"}},
            },
            "TokenPair": {
                "type": "object",
                "required": ["token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"],
                "properties": {
                    "token": {"type": "string", "description": "access token (EdDSA JWT: sub, role, typ, iat, exp)"},
                    "token_type": {"type": "string", "enum": ["Bearer"]},
                    "expires_in": {"type": "integer", "description": "seconds"},
                    "refresh_token": {"type": "string", "description": "works once, at /api/auth/refresh"},
                    "refresh_expires_in": {"type": "integer", "description": "seconds"},
                },
            },
            "Token": {"allOf": [ref("TokenPair"), {"type": "object", "required": ["user"],
                                                    "properties": {"user": ref("User")}}]},
        },
    },
    "paths": {
        "/api/users": {
            "get": {
                "summary": "list users, or one user with ?id= (e-mails only for oneself or an admin)",
                "operationId": "listUsers",
                "parameters": [
                    id_param("id", "query", required=False, description="return this user only (an object)"),
                    text_param("search", "username substring (admins: also e-mail)"),
                    *PAGE_PARAMS,
                ],
                "responses": {
                    **ok("users (a plain array), or one user when ?id= is given",
                         {"oneOf": [{"type": "array", "items": ref("User")}, ref("User")]}),
                    **errors(400, 404),
                },
            },
            "post": {
                "summary": "create a user without a password (legacy provisioning: admins and services only)",
                "operationId": "createUser",
                "requestBody": body(ref("NewUser")),
                "responses": {**ok("created", ref("User"), 201), **errors(401, 403, 409)},
            },
        },
        "/api/users/{user_id}": {
            "patch": {
                "summary": "change a user (self or admin; role and disabled: admin)",
                "operationId": "updateUser",
                "parameters": [id_param("user_id")],
                "requestBody": body(ref("UserChange")),
                "responses": {**ok("changed", ref("User")), **errors(401, 403, 404, 409)},
            },
            "delete": {
                "summary": "delete a user (self or admin); their tokens are revoked",
                "operationId": "deleteUser",
                "parameters": [id_param("user_id")],
                "responses": {"204": {"description": "deleted"}, **errors(401, 403, 404, 409)},
            },
        },
        "/api/users/me": {
            "get": {
                "summary": "the user of the bearer token",
                "operationId": "me",
                "security": [{"bearer": []}],
                "responses": {**ok("the user", ref("User")), **errors(401)},
            }
        },
        "/api/auth/register": {
            "post": {
                "summary": "sign up with a password (argon2id-hashed)",
                "operationId": "register",
                "requestBody": body(ref("Registration")),
                "responses": {**ok("registered", ref("User"), 201), **errors(409, 429)},
            }
        },
        "/api/auth/login": {
            "post": {
                "summary": "log in; returns an access token (EdDSA JWT) and a refresh token",
                "operationId": "login",
                "requestBody": body(ref("Credentials")),
                "responses": {**ok("logged in", ref("Token")), **errors(401, 403, 429)},
            }
        },
        "/api/auth/refresh": {
            "post": {
                "summary": "exchange a refresh token for a new pair; the presented one is spent "
                           "(presenting it again revokes all of the user's tokens)",
                "operationId": "refresh",
                "requestBody": body(ref("RefreshRequest")),
                "responses": {**ok("new tokens", ref("TokenPair")), **errors(401)},
            }
        },
        "/api/auth/logout": {
            "post": {
                "summary": "revoke every token of the caller",
                "operationId": "logout",
                "security": [{"bearer": []}],
                "responses": {**ok("revoked", ref("Revocation")), **errors(401)},
            }
        },
        "/api/auth/revoke": {
            "post": {
                "summary": "revoke a user's tokens (admin: anyone; a user: themself)",
                "operationId": "revoke",
                "security": [{"bearer": []}],
                "requestBody": {"required": False, "content": {"application/json": {"schema": ref("RevokeRequest")}}},
                "responses": {**ok("revoked", ref("Revocation")), **errors(401, 403, 404)},
            }
        },
    },
}
