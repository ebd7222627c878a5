"""Movies tables (legacy schema): movies, movie_genres, user_ratings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db import Base


class Movie(Base):
    """A title in the catalogue. ``rating`` is editorial (set by editors, never by users' votes)."""

    __tablename__ = "movies"
    __table_args__ = (
        CheckConstraint("rating >= 0 AND rating <= 10", name="ck_movies_rating"),
        CheckConstraint("user_rating >= 1 AND user_rating <= 10", name="ck_movies_user_rating"),
        CheckConstraint("votes >= 0", name="ck_movies_votes"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    # indexed: the console sorts and filters the catalogue by rating
    rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 1), index=True)
    # What users think, kept apart from the editorial ``rating``: their average (null without
    # votes) and how many rated; maintained by ``services.rate_movie``.
    user_rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 1))
    votes: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # indexed: the console sorts and filters the catalogue by release date
    release_date: Mapped[date | None] = mapped_column(Date, index=True)
    duration: Mapped[int | None] = mapped_column(Integer)  # minutes
    poster_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    genres: Mapped[list[MovieGenre]] = relationship(
        back_populates="movie",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="MovieGenre.genre",
    )

    def __str__(self) -> str:
        return self.title


class MovieGenre(Base):
    """One genre of one movie."""

    __tablename__ = "movie_genres"

    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"), primary_key=True)
    genre: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)
    movie: Mapped[Movie] = relationship(back_populates="genres")


class UserRating(Base):
    """A user's 1..10 rating of a movie. ``user_id`` points into the users domain by value only."""

    __tablename__ = "user_ratings"
    __table_args__ = (CheckConstraint("rating >= 1 AND rating <= 10", name="ck_user_ratings_rating"),)

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    movie_id: Mapped[int] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"), primary_key=True)
    rating: Mapped[int] = mapped_column(Integer)
    review: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
