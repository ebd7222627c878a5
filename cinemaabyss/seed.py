"""Legacy seed data (docs/architecture.md §3). Idempotent: running it again inserts nothing.

Seed rows are legacy data that existed before the outbox; they are written directly and emit
no events.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert

from domain_services.movies.models import Movie, MovieGenre
from domain_services.payments.models import Payment, Subscription
from domain_services.payments.plans import PLAN_PRICES
from domain_services.users.models import User
from kernel.db import unit_of_work
from kernel.envelope import utcnow

MOVIES = [
    ("The Shawshank Redemption", "Two imprisoned men bond over a number of years.", "9.3", ["Drama"]),
    (
        "The Godfather",
        "The aging patriarch of an organized crime dynasty transfers control.",
        "9.2",
        ["Crime", "Drama"],
    ),
    ("The Dark Knight", "Batman faces the Joker, a criminal mastermind.", "9.0", ["Action", "Crime", "Drama"]),
    ("Pulp Fiction", "The lives of two mob hitmen, a boxer and others intertwine.", "8.9", ["Crime", "Drama"]),
    (
        "Forrest Gump",
        "The presidencies of Kennedy and Johnson through the eyes of an Alabama man.",
        "8.8",
        ["Drama", "Romance"],
    ),
]


def seed() -> dict[str, int]:
    """Insert whatever seed rows are missing; returns how many of each were added."""
    added = {"users": 0, "movies": 0, "payments": 0, "subscriptions": 0}
    now = utcnow()
    with unit_of_work() as uow:
        s = uow.session
        for n in (1, 2, 3):
            result = s.execute(
                insert(User).values(username=f"user{n}", email=f"user{n}@example.com").on_conflict_do_nothing()
                .returning(User.id)
            )
            added["users"] += len(result.all())
        for title, description, rating, genres in MOVIES:
            if s.scalar(select(exists().where(Movie.title == title))):
                continue
            s.add(
                Movie(
                    title=title,
                    description=description,
                    rating=Decimal(rating),
                    genres=[MovieGenre(genre=g) for g in genres],
                )
            )
            added["movies"] += 1
        s.flush()
        users = s.scalars(select(User).where(User.username.in_(["user1", "user2", "user3"])).order_by(User.id))
        # one seed user per plan, each paid at the plan's price
        for user, (plan, amount) in zip(users, PLAN_PRICES.items(), strict=True):
            result = s.execute(
                insert(Payment)
                .values(
                    user_id=user.id,
                    amount=amount,
                    status="completed",
                    payment_method="card",
                    transaction_id=f"seed-{user.username}",
                    plan_type=plan,
                )
                .on_conflict_do_nothing(index_elements=["transaction_id"])
                .returning(Payment.id)
            )
            added["payments"] += len(result.all())
            if not s.scalar(select(exists().where(Subscription.user_id == user.id))):
                s.add(
                    Subscription(
                        user_id=user.id,
                        plan_type=plan,
                        start_date=now,
                        end_date=now + timedelta(days=30),
                        auto_renew=True,
                    )
                )
                added["subscriptions"] += 1
    return added
