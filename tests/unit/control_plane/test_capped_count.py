"""The catalogue list's capped count: exact below the cap, "N+" with numbered pages up to it above."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, func
from sqlalchemy.dialects import postgresql

from control_plane.capped_count import CappedCountQuery, list_pager


def test_below_the_cap_the_count_is_exact_and_every_page_numbered():
    pager = list_pager(2345, page=3, page_size=50, cap=10_000)
    assert (pager.label, pager.num_pages, pager.beyond) == ("2,345 results", 47, None)


def test_one_result_is_singular_and_none_is_a_count_too():
    assert list_pager(1, 0, 50, cap=100).label == "1 result"
    assert (list_pager(0, 0, 50, cap=100).label, list_pager(0, 0, 50, cap=100).num_pages) == ("0 results", 0)


def test_exactly_the_cap_is_still_exact():
    assert list_pager(100, 0, 10, cap=100).label == "100 results"


def test_above_the_cap_pages_are_numbered_up_to_it_and_a_link_leads_on():
    pager = list_pager(10_001, page=0, page_size=50, cap=10_000)
    assert (pager.label, pager.num_pages, pager.beyond) == ("10,000+ results", 200, 200)


def test_past_the_cap_the_list_pages_by_next_alone():
    pager = list_pager(10_001, page=200, page_size=50, cap=10_000)
    assert (pager.label, pager.num_pages, pager.beyond) == ("10,000+ results", None, None)


def test_the_count_reads_at_most_cap_plus_one_rows():
    movies = Table("movies", MetaData(), Column("id", Integer), Column("rating", Integer))
    query = CappedCountQuery([func.count("*")]).select_from(movies).filter(movies.c.rating > 5)
    query.cap = 10
    sql = str(query.capped().compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    assert " ".join(sql.split()) == ("SELECT count(*) AS count_1 FROM (SELECT 1 FROM movies "
                                     "WHERE movies.rating > 5 LIMIT 11) AS anon_1")
