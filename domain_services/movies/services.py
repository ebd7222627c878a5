"""Movies service functions: the only place movie rules live.

The monolith, the movies service, the console and the worker all call these. Writes run in
one unit of work that also writes the outbox event.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Select, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain_services.movies.models import Movie, MovieGenre, UserRating
from kernel import validation as v
from kernel.db import read_session, unit_of_work
from kernel.errors import InvalidInput, NotFound
from kernel.integrity import translate
from kernel.loose_scan import distinct_values
from kernel.outbox import add_event
from kernel.pagination import EVERYTHING, Page

SOURCE = "movies"
# In ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, ``xmax = 0`` tells an insert from an update.
_INSERTED = literal_column("(xmax = 0)")


#: The optional catalogue details: release date, running time in minutes, poster address.
DETAILS = ("release_date", "duration_minutes", "poster_url")
DURATION_MINUTES = (1, 1000)
POSTER_URL_MAX = 500  # the column's length
#: Oldest and latest release dates taken (the first films; a planned release far ahead is a typo).
RELEASE_DATES = (date(1870, 1, 1), date(2100, 12, 31))


def to_dict(movie: Movie) -> dict[str, Any]:
    """The contract representation ``{id, title, description, genres, rating, user_rating, votes,
    release_date, duration_minutes, poster_url}``.

    ``rating`` is the editorial rating; ``user_rating`` the users' average (``null`` without
    votes) and ``votes`` how many users rated. The details are ``null`` when unknown:
    ``release_date`` as ``YYYY-MM-DD``, ``duration_minutes`` the running time, ``poster_url``
    an http(s) address.
    """
    return {
        "id": movie.id,
        "title": movie.title,
        "description": movie.description or "",
        "genres": [g.genre for g in movie.genres],
        "rating": float(movie.rating) if movie.rating is not None else 0.0,
        "user_rating": float(movie.user_rating) if movie.user_rating is not None else None,
        "votes": movie.votes or 0,
        "release_date": movie.release_date.isoformat() if movie.release_date else None,
        "duration_minutes": movie.duration,
        "poster_url": movie.poster_url,
    }


def _movie_fields(data: Any, *, partial: bool) -> dict[str, Any]:
    data = v.require_object(data)
    fields: dict[str, Any] = {}
    required = not partial
    if not partial or "title" in data:
        fields["title"] = v.text(data, "title", required=True)
    if not partial or "description" in data:
        fields["description"] = (
            v.text(data, "description", required=required, max_length=10_000, allow_empty=True) or ""
        )
    if not partial or "rating" in data:
        fields["rating"] = v.number(data, "rating", required=True, minimum=0, maximum=10, places=1)
    if "genres" in data or not partial:
        fields["genres"] = v.string_list(data, "genres")
    if not partial or "release_date" in data:
        fields["release_date"] = _release_date(data)
    if not partial or "duration_minutes" in data:
        low, high = DURATION_MINUTES
        fields["duration_minutes"] = v.integer(data, "duration_minutes", required=False, minimum=low, maximum=high)
    if not partial or "poster_url" in data:
        fields["poster_url"] = poster_url(data.get("poster_url"))
    return fields


def _release_date(data: dict[str, Any]) -> date | None:
    """``release_date`` as a date (``YYYY-MM-DD``), or None when absent, null or empty."""
    value = v.get_field(data, "release_date", required=False)
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("field release_date must be a date like 1994-09-23") from None
    first, last = RELEASE_DATES
    if not first <= parsed <= last:
        raise InvalidInput(f"field release_date must be between {first.isoformat()} and {last.isoformat()}")
    return parsed


def poster_url(value: Any) -> str | None:
    """A poster address: an absolute ``http``/``https`` URL of at most ``POSTER_URL_MAX`` characters.

    Anything else (``javascript:``, ``data:``, a relative path) is refused: the console shows
    the poster as an image. None, or an empty string, means no poster.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput("field poster_url must be a string")
    value = value.strip()
    if len(value) > POSTER_URL_MAX:
        raise InvalidInput(f"field poster_url must be at most {POSTER_URL_MAX} characters")
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or any(ch.isspace() or ord(ch) < 0x20 for ch in value)):
        raise InvalidInput("field poster_url must be an http:// or https:// address")
    return value


#: Rows per server-side cursor fetch when a list is streamed (memory per request stays ~constant).
STREAM_BATCH = 1000


def list_movies(
    page: Page = EVERYTHING, *, search: str | None = None, genre: str | None = None
) -> list[dict[str, Any]]:
    """Movies ordered by id, optionally filtered by title substring and genre, optionally paged."""
    with read_session() as session:
        return [to_dict(m) for m in session.scalars(_list_query(page, search, genre))]


def iter_movies(
    page: Page = EVERYTHING, *, search: str | None = None, genre: str | None = None
) -> Generator[dict[str, Any], None, None]:
    """The rows of :func:`list_movies`, one at a time, read through a server-side cursor.

    For the unpaged legacy list: memory stays bounded by one batch however large the
    catalogue, instead of holding every movie (and its JSON) at once. The session lives as
    long as the iterator; closing it (the WSGI server does when a client goes away) ends it.
    """
    query = _list_query(page, search, genre).execution_options(yield_per=STREAM_BATCH)
    with read_session() as session:
        # the session's identity map holds weak references: a batch no longer used is freed
        for movie in session.scalars(query):
            yield to_dict(movie)


def _list_query(page: Page, search: str | None, genre: str | None) -> Select[tuple[Movie]]:
    query = select(Movie).order_by(Movie.id)
    if search:
        query = query.where(title_contains(search))
    if genre:
        query = query.where(Movie.id.in_(select(MovieGenre.movie_id).where(MovieGenre.genre == genre)))
    return page.apply(query)


def title_contains(term: str) -> ColumnElement[bool]:
    """The catalogue's title search (the API's ``search``, the console's search box): ``term`` as a
    whole anywhere in the title, any case; ``%`` and ``_`` match themselves. One ``ILIKE`` that
    the trigram index ``ix_movies_title_trgm`` serves."""
    return Movie.title.ilike(f"%{_escape_like(term)}%", escape="\\")


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _load(session: Session, movie_id: int) -> Movie:
    movie = session.get(Movie, movie_id)
    if movie is None:
        raise NotFound(f"movie {movie_id} not found")
    return movie


def get_movie(movie_id: int) -> dict[str, Any]:
    """One movie or :class:`NotFound`."""
    with read_session() as session:
        return to_dict(_load(session, movie_id))


def create_movie(data: Any) -> dict[str, Any]:
    """Validate and insert a movie with its genres; emits ``movie.created``."""
    fields = _movie_fields(data, partial=False)
    with unit_of_work() as uow:
        movie = Movie(
            title=fields["title"],
            description=fields["description"],
            rating=fields["rating"],
            genres=[MovieGenre(genre=g) for g in fields["genres"]],
            release_date=fields["release_date"],
            duration=fields["duration_minutes"],
            poster_url=fields["poster_url"],
        )
        uow.session.add(movie)
        uow.session.flush()
        result = to_dict(movie)
        add_event(uow, "movie.created", movie.id, {"movie_id": movie.id, **_event_fields(result)}, SOURCE)
    return result


def update_movie(movie_id: int, data: Any) -> dict[str, Any]:
    """Change any of title/description/rating/genres and the details (null clears one); emits ``movie.updated``."""
    fields = _movie_fields(data, partial=True)
    with unit_of_work() as uow:
        movie = _load(uow.session, movie_id)
        for name, column in (("title", "title"), ("description", "description"), ("rating", "rating"),
                             ("release_date", "release_date"), ("duration_minutes", "duration"),
                             ("poster_url", "poster_url")):
            if name in fields:
                setattr(movie, column, fields[name])
        if "genres" in fields:
            movie.genres = [MovieGenre(genre=g) for g in fields["genres"]]
        uow.session.flush()
        result = to_dict(movie)
        add_event(uow, "movie.updated", movie.id, {"movie_id": movie.id, **_event_fields(result)}, SOURCE)
    return result


def delete_movie(movie_id: int) -> None:
    """Delete a movie (genres and ratings cascade); emits ``movie.deleted``."""
    with unit_of_work() as uow:
        movie = _load(uow.session, movie_id)
        title = movie.title
        uow.session.delete(movie)
        add_event(uow, "movie.deleted", movie_id, {"movie_id": movie_id, "title": title}, SOURCE)


def _event_fields(movie: dict[str, Any]) -> dict[str, Any]:
    return {k: movie[k] for k in ("title", "description", "genres", "rating")}


def list_genres() -> list[dict[str, Any]]:
    """Distinct genres with the number of movies in each, ordered by genre name."""
    query = (
        select(MovieGenre.genre, func.count(MovieGenre.movie_id))
        .group_by(MovieGenre.genre)
        .order_by(MovieGenre.genre)
    )
    with read_session() as session:
        return [{"genre": genre, "count": count} for genre, count in session.execute(query)]


#: Genres offered as suggestions at most (a form's list, not a report).
GENRE_SUGGESTIONS = 200

def genre_names(limit: int = GENRE_SUGGESTIONS) -> list[str]:
    """The first ``limit`` distinct genres in use, by name (suggestions for a movie form)."""
    with read_session() as session:
        # one index probe per genre (ix_movie_genres_genre): DISTINCT read every row
        return list(session.scalars(distinct_values(MovieGenre.__table__.c.genre, limit)))


def rate_movie(movie_id: int, data: Any, *, user_id: int | None = None) -> tuple[dict[str, Any], bool]:
    """Record ``user_id``'s 1..10 rating of a movie (one per user, a repeat replaces it).

    ``user_id`` is the caller's (the gateway's verified token); ``None`` means a privileged
    caller (admin/service, console) names the user in the body's ``user_id``. The movie's
    ``user_rating`` becomes the average of its user ratings, rounded to one decimal, and
    ``votes`` their number; the editorial ``rating`` is never touched. Emits
    ``movie.rated``. Returns ``(result, created)``; ``created`` is False when an earlier
    rating of the same user was replaced.
    """
    data = v.require_object(data)
    if user_id is None:
        user_id = v.integer(data, "user_id", minimum=1)
    rating = v.integer(data, "rating", minimum=1, maximum=10)
    review = v.text(data, "review", required=False, max_length=10_000, allow_empty=True)
    try:
        with unit_of_work() as uow:
            # Lock the movie so concurrent ratings of it recompute the average one at a time.
            movie = uow.session.get(Movie, movie_id, with_for_update=True)
            if movie is None:
                raise NotFound(f"movie {movie_id} not found")
            created = _upsert_rating(uow.session, movie_id, user_id, rating, review)
            movie.user_rating, movie.votes = _users_view(uow.session, movie_id)
            uow.session.flush()
            result = {
                "movie_id": movie_id,
                "user_id": user_id,
                "rating": rating,
                "review": review,
                "movie": to_dict(movie),
            }
            payload = {
                "movie_id": movie_id,
                "title": movie.title,
                "user_id": user_id,
                "rating": rating,
                "movie_rating": result["movie"]["rating"],
                "user_rating": result["movie"]["user_rating"],
                "votes": result["movie"]["votes"],
            }
            add_event(uow, "movie.rated", movie_id, payload, SOURCE)
    except IntegrityError as exc:
        raise translate(exc, {"fk_user_ratings_user": InvalidInput(f"user {user_id} does not exist")}) from None
    return result, created


def _upsert_rating(session: Session, movie_id: int, user_id: int, rating: int, review: str | None) -> bool:
    """Insert or replace the rating; True when it is the user's first rating of the movie."""
    statement = insert(UserRating).values(user_id=user_id, movie_id=movie_id, rating=rating, review=review)
    statement = statement.on_conflict_do_update(
        index_elements=[UserRating.user_id, UserRating.movie_id],
        set_={"rating": rating, "review": review, "created_at": func.now()},
    ).returning(_INSERTED)
    return bool(session.execute(statement).scalar_one())


def _users_view(session: Session, movie_id: int) -> tuple[Decimal, int]:
    """Average of the movie's user ratings (rounded half-up to one decimal) and their count."""
    average, votes = session.execute(
        select(func.avg(UserRating.rating), func.count()).where(UserRating.movie_id == movie_id)
    ).one()
    return Decimal(average).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), votes
