"""OpenAPI fragment of the movies domain: what ``movies/api.py`` serves."""

from __future__ import annotations

from domain_services.movies.services import DURATION_MINUTES, POSTER_URL_MAX
from kernel.openapi import PAGE_PARAMS, body, errors, id_param, ok, ref, text_param

_GENRES = {"type": "array", "maxItems": 20, "items": {"type": "string", "minLength": 1, "maxLength": 50}}

# Optional details; answers carry them (null when unknown), requests may leave them out.
_DETAILS = {
    "release_date": {"type": "string", "format": "date", "nullable": True, "description": "YYYY-MM-DD"},
    "duration_minutes": {"type": "integer", "minimum": DURATION_MINUTES[0], "maximum": DURATION_MINUTES[1],
                         "nullable": True, "description": "running time in minutes"},
    "poster_url": {"type": "string", "format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
                   "maxLength": POSTER_URL_MAX, "nullable": True, "description": "an http(s) address"},
}

FRAGMENT = {
    "components": {
        "schemas": {
            "Movie": {
                "type": "object",
                "required": ["id", "title", "description", "genres", "rating", "user_rating", "votes"],
                "properties": {
                    "id": {"type": "integer"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "genres": {"type": "array", "items": {"type": "string"}},
                    "rating": {"type": "number", "minimum": 0, "maximum": 10,
                               "description": "the editorial rating (users' ratings never change it)"},
                    "user_rating": {"type": "number", "minimum": 1, "maximum": 10, "nullable": True,
                                    "description": "average of the users' ratings, one decimal; null without votes"},
                    "votes": {"type": "integer", "minimum": 0, "description": "how many users rated"},
                    **_DETAILS,
                },
            },
            "NewMovie": {
                "type": "object",
                "required": ["title", "description", "rating"],
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
                    "description": {"type": "string", "maxLength": 10000},
                    "genres": _GENRES,
                    "rating": {"type": "number", "minimum": 0, "maximum": 10},
                    **_DETAILS,
                },
            },
            "Genre": {
                "type": "object",
                "required": ["genre", "count"],
                "properties": {"genre": {"type": "string"}, "count": {"type": "integer", "minimum": 1}},
            },
            "NewRating": {
                "type": "object",
                "required": ["rating"],
                "description": "the rating is the caller's (the gateway's X-User-Id); only admin/service "
                               "callers name a user_id",
                "properties": {
                    "user_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    "rating": {"type": "integer", "minimum": 1, "maximum": 10},
                    "review": {"type": "string", "maxLength": 10000},
                },
            },
            "Rating": {
                "type": "object",
                "required": ["movie_id", "user_id", "rating", "review", "movie"],
                "properties": {
                    "movie_id": {"type": "integer"},
                    "user_id": {"type": "integer"},
                    "rating": {"type": "integer", "minimum": 1, "maximum": 10},
                    "review": {"type": "string", "nullable": True},
                    "movie": ref("Movie"),
                },
            },
        }
    },
    "paths": {
        "/api/movies": {
            "get": {
                "summary": "list movies, or one movie with ?id=",
                "operationId": "listMovies",
                "parameters": [
                    id_param("id", "query", required=False, description="return this movie only (an object)"),
                    text_param("search", "case-insensitive title substring"),
                    text_param("genre", "only movies of this genre"),
                    *PAGE_PARAMS,
                ],
                "responses": {
                    **ok("movies (a plain array), or one movie when ?id= is given",
                         {"oneOf": [{"type": "array", "items": ref("Movie")}, ref("Movie")]}),
                    **errors(400, 404),
                },
            },
            "post": {
                "summary": "create a movie",
                "operationId": "createMovie",
                "requestBody": body(ref("NewMovie")),
                "responses": {**ok("created", ref("Movie"), 201)},
            },
        },
        "/api/movies/genres": {
            "get": {
                "summary": "distinct genres with movie counts",
                "operationId": "listGenres",
                "responses": ok("genres", {"type": "array", "items": ref("Genre")}),
            }
        },
        "/api/movies/{movie_id}/ratings": {
            "post": {
                "summary": "rate a movie 1..10 (one rating per user; a repeat replaces it)",
                "operationId": "rateMovie",
                "parameters": [
                    id_param("movie_id"),
                    {"name": "X-User-Id", "in": "header", "required": False,
                     "description": "the rating user, set by the gateway from the verified token "
                                    "(without it the call is anonymous: 401)",
                     "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"}},
                ],
                "requestBody": body(ref("NewRating")),
                "responses": {
                    **ok("the user's earlier rating was replaced", ref("Rating")),
                    **ok("first rating of this user", ref("Rating"), 201),
                    **errors(401, 404),
                },
            }
        },
    },
}
