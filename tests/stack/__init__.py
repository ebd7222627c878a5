"""Tests of the no-Docker local stack (``cinemaabyss.stack``)."""
