"""OpenAPI fragment of the users domain: what ``users/api.py`` serves."""

from __future__ import annotations

from domain_services.shared.openapi import PAGE_PARAMS, body, errors, id_param, ok, ref, text_param
from domain_services.users.auth import MAX_PASSWORD, MIN_PASSWORD

_USERNAME = {"type": "string", "minLength": 3, "maxLength": 50, "pattern": r"^[A-Za-z0-9_.\-]{3,50}$"}
_EMAIL = {"type": "string", "format": "email", "maxLength": 255, "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"}

FRAGMENT = {
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"}},
        "schemas": {
            "User": {
                "type": "object",
                "required": ["id", "username", "email"],
                "properties": {"id": {"type": "integer"}, "username": {"type": "string"},
                               "email": {"type": "string"}},
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
            "Token": {
                "type": "object",
                "required": ["token", "token_type", "expires_in", "user"],
                "properties": {
                    "token": {"type": "string"},
                    "token_type": {"type": "string", "enum": ["Bearer"]},
                    "expires_in": {"type": "integer", "description": "seconds"},
                    "user": ref("User"),
                },
            },
        },
    },
    "paths": {
        "/api/users": {
            "get": {
                "summary": "list users, or one user with ?id=",
                "operationId": "listUsers",
                "parameters": [
                    id_param("id", "query", required=False, description="return this user only (an object)"),
                    text_param("search", "username or e-mail substring"),
                    *PAGE_PARAMS,
                ],
                "responses": {
                    **ok("users (a plain array), or one user when ?id= is given",
                         {"oneOf": [{"type": "array", "items": ref("User")}, ref("User")]}),
                    **errors(400, 404),
                },
            },
            "post": {
                "summary": "create a user (no password; legacy)",
                "operationId": "createUser",
                "requestBody": body(ref("NewUser")),
                "responses": {**ok("created", ref("User"), 201), **errors(409)},
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
                "responses": {**ok("registered", ref("User"), 201), **errors(409)},
            }
        },
        "/api/auth/login": {
            "post": {
                "summary": "log in; returns a signed bearer token (EdDSA JWT, subject = user id)",
                "operationId": "login",
                "requestBody": body(ref("Credentials")),
                "responses": {**ok("logged in", ref("Token")), **errors(401, 429)},
            }
        },
    },
}
