import pytest

from strategy.models import Place, Priority
from strategy.tasks import strategy_fixtures_load_task


@pytest.mark.worker
def test_fixture_load_task_runs_on_a_real_worker_through_redis(celery_worker):
    assert Priority.objects.count() == 0
    result = strategy_fixtures_load_task.delay()
    # Results are not stored (job state lives in our tables), so wait on the database.
    import time

    deadline = time.monotonic() + 60
    while Priority.objects.count() < 46 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert result.id
    assert Priority.objects.filter(strategy__code="set-2023-28").count() == 46
    assert Place.objects.filter(kind="alliance").count() == 6
