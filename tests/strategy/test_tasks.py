import time

import pytest

from strategy.models import Priority
from strategy.tasks import strategy_fixtures_load_task


@pytest.mark.worker
def test_fixture_load_task_runs_on_a_real_worker_through_redis(celery_worker, strategy_data):
    Priority.objects.filter(code="A-PEI-01").update(text="tampered")
    strategy_fixtures_load_task.delay()
    # Results are not stored (job state lives in our own tables): watch the database.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Priority.objects.get(code="A-PEI-01").text != "tampered":
            break
        time.sleep(0.2)
    assert Priority.objects.get(code="A-PEI-01").text.startswith("Provide information and support")
