"""What reaches the users: pages by audience (``views``), the analysts' API (``api``), charts
and downloads (``charts``, ``exports``), composed from the KPI and strategy apps' selectors
and services."""
