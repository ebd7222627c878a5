"""Movies domain: metadata, genres, ratings."""
