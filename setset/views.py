"""Project-level views: the health check."""

from django.db import connection
from django.http import HttpResponse


def healthz(request):
    """Liveness for the container: the app answers and the database responds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
