"""Every write of the KPI framework, one module per concern:

``audit`` (the audit log), ``catalogue`` (loading the KPI catalogue), ``observations``
(observation versions), ``progress`` (the progress engine and published assessments),
``returns`` (upload, submission, decision, ingestion), ``validation`` (background checking
and staging of an upload), ``national`` (national publications), ``releases``, ``calendar``
(the reporting calendar and reminders), ``demo`` (synthetic demo data), and ``enqueue`` (the
only way from a service to a Celery task).

Services take keyword arguments, check access through ``strategy.access``, and read through
``kpis.selectors``; the bulk-loading machinery they use lives in ``kpis.bulk``.
"""
