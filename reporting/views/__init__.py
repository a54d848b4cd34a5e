"""Views by audience: ``public`` (no log-in, published figures only), ``internal`` (the
Strategy Implementation Group's pages) and ``returns`` (place leads' uploads and the reviewers'
decisions). Every check of who may see or do what goes through ``access.require``, which asks
the access table in ``strategy.access``."""
