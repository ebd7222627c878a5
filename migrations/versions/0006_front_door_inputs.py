"""Front door: the editorial rating is kept apart from what users think of a movie.

``movies.rating`` was overwritten by the average of the users' ratings on every new rating,
so one user's vote replaced the editorial rating. ``user_rating`` (the average, one decimal,
null without votes) and ``votes`` now hold the users' side; ``rating`` is only ever set by
the catalogue's editors. Existing averages are computed from ``user_ratings``; an editorial
rating already overwritten cannot be recovered and stays as it is.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("movies", sa.Column("user_rating", sa.Numeric(3, 1), nullable=True))
    op.add_column("movies", sa.Column("votes", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.create_check_constraint("ck_movies_user_rating", "movies", "user_rating >= 1 AND user_rating <= 10")
    op.create_check_constraint("ck_movies_votes", "movies", "votes >= 0")
    op.execute(
        "UPDATE movies SET user_rating = r.average, votes = r.votes "
        "FROM (SELECT movie_id, round(avg(rating), 1) AS average, count(*) AS votes "
        "      FROM user_ratings GROUP BY movie_id) AS r "
        "WHERE movies.id = r.movie_id"
    )


def downgrade() -> None:
    op.drop_constraint("ck_movies_votes", "movies", type_="check")
    op.drop_constraint("ck_movies_user_rating", "movies", type_="check")
    op.drop_column("movies", "votes")
    op.drop_column("movies", "user_rating")
