"""The movies domain's console view: the catalogue editors work in."""

from __future__ import annotations

from typing import Any

from flask_admin.contrib.sqla import ModelView
from sqlalchemy.orm import scoped_session
from wtforms import DateField, IntegerField, StringField, URLField
from wtforms.validators import Optional

from control_plane.admin_views import DomainModelView
from domain_services.movies import services as movies
from domain_services.movies.models import Movie
from kernel.errors import InvalidInput


def _web_address(url: str | None) -> str | None:
    """``url`` when the domain would accept it as a poster (http or https), else None: a legacy row's
    ``javascript:`` or relative value is never put into an ``<img>``."""
    try:
        return movies.poster_url(url)
    except InvalidInput:
        return None


class MovieView(DomainModelView):
    """Movies with their genres and details (editor and admin)."""

    entity = "movie"
    count_searches = False  # a capped count still reads up to half the titles for a mid-common term
    column_list = ("id", "title", "rating", "genres", "release_date", "duration", "updated_at")
    column_labels = {"duration": "Minutes", "duration_minutes": "Duration (minutes)", "poster_url": "Poster URL",
                     "genres_text": "Genres"}
    column_searchable_list = ("title",)
    column_filters = ("rating", "release_date", "genres.genre")
    column_sortable_list = ("id", "title", "rating", "release_date", "updated_at")
    column_formatters = {"genres": lambda _v, _c, m, _n: ", ".join(g.genre for g in m.genres)}
    column_details_list = ("id", "title", "description", "rating", "genres", "release_date", "duration",
                           "poster_url", "created_at", "updated_at")
    column_formatters_detail = column_formatters
    form_columns = ("title", "description", "rating", "genres_text", "release_date", "duration_minutes",
                    "poster_url")
    audit_fields = ("id", "title", "description", "rating", "genres", "release_date", "duration", "poster_url")
    create_template = "admin/model/movie_create.html"
    edit_template = "admin/model/movie_edit.html"
    form_extra_fields = {
        "genres_text": StringField("Genres", description="comma separated, e.g. Drama, Crime"),
        # html5 inputs: the browser's own date picker; bounds shown from the domain's rules
        "release_date": DateField("Release date", validators=[Optional()]),
        "duration_minutes": IntegerField(
            "Duration (minutes)", validators=[Optional()],
            render_kw={"min": movies.DURATION_MINUTES[0], "max": movies.DURATION_MINUTES[1]}),
        "poster_url": URLField("Poster URL", validators=[Optional()], description="an http:// or https:// address",
                               render_kw={"maxlength": movies.POSTER_URL_MAX}),
    }

    def render(self, template: str, **kwargs: Any) -> Any:
        """The create and edit forms get the genres in use as suggestions."""
        if template in (self.create_template, self.edit_template):
            kwargs["genre_suggestions"] = movies.genre_names()
        if template == self.edit_template and kwargs.get("model") is not None:
            kwargs["poster"] = _web_address(kwargs["model"].poster_url)
        return super().render(template, **kwargs)

    def _apply_search(self, query: Any, count_query: Any, joins: Any, count_joins: Any, search: str) -> Any:
        """The domain's title search: the whole term, as the API's ``search`` takes it.

        Flask-Admin would AND one ``ILIKE`` per word; a word found in most titles then made the
        planner walk the list in id order testing every title (0.3 to 0.8 s at a million movies
        for "movie 0500" with a genre), where the single phrase is a trigram index lookup.
        """
        term = search.strip()
        if term:
            query = query.filter(movies.title_contains(term))
            count_query = count_query.filter(movies.title_contains(term)) if count_query is not None else None
        return query, count_query, joins, count_joins

    def on_form_prefill(self, form: Any, id: Any) -> None:
        """Show the movie's genres and running time in their fields when editing."""
        movie = self.get_one(id)
        form.genres_text.data = ", ".join(g.genre for g in movie.genres)
        form.duration_minutes.data = movie.duration

    def form_data(self, form: Any, *, creating: bool) -> dict[str, Any]:
        """Form → ``{title, description, rating, genres, release_date, duration_minutes, poster_url}``."""
        rating, released = form.rating.data, form.release_date.data
        return {
            "title": form.title.data or "",
            "description": form.description.data or "",
            "rating": float(rating) if rating is not None else None,
            "genres": [g.strip() for g in (form.genres_text.data or "").split(",") if g.strip()],
            "release_date": released.isoformat() if released else None,
            "duration_minutes": form.duration_minutes.data,
            "poster_url": (form.poster_url.data or "").strip() or None,
        }

    def current_data(self, model):
        """The movie as the edit form holds it."""
        return {"title": model.title or "", "description": model.description or "",
                "rating": float(model.rating) if model.rating is not None else None,
                "genres": [g.genre for g in model.genres],
                "release_date": model.release_date.isoformat() if model.release_date else None,
                "duration_minutes": model.duration, "poster_url": model.poster_url or None}

    def domain_create(self, data):
        return movies.create_movie(data)

    def domain_update(self, pk, data):
        return movies.update_movie(pk, data)

    def domain_delete(self, pk):
        return movies.delete_movie(pk)



def views(session: scoped_session) -> list[ModelView]:
    """The movies domain's views."""
    return [MovieView(Movie, session, name="Movies", endpoint="movies", category="Catalogue")]
