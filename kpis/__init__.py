"""The KPI framework: definitions, observation versions, returns, national imports, releases
and the progress engine.

Layers (checked by import-linter): entry points (``admin``, ``management``) -> ``tasks`` ->
``services`` -> ``bulk`` -> ``selectors`` -> ``models``; the pure modules (``periods``,
``timeseries``, ``combine``, ``disclosure``, ``numbers``, ``assessment``, ``synthetic``, ``stats``,
``returns``, ``national``) import no Django."""
