"""Bulk loading into PostgreSQL: COPY (``copy``), staging a return's rows with their series
and period ids (``staging``) and the set-based SQL that turns staged rows into observation
versions (``ingest``). Services call these; they hold no permission checks or state changes.
"""
