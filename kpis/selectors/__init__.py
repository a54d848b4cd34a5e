"""Every read of the KPI framework, one module per concern:

``observations`` (versions and frames of values), ``assessments`` (internal assessments),
``public`` (published figures only), ``returns``, ``calendar``, ``releases``, ``audit``,
``catalogue`` (KPI and place frames for the engine) and ``places``.

Selectors return querysets with their fetch shape applied, or plain data; they never write.
"""
