"""The analysts' REST API (Django REST framework): serializers, views and permissions.

Access goes through the access table (``strategy.access``) only, by ``permissions``.
"""
