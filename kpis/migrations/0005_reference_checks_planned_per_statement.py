from importlib import import_module

from django.db import migrations

# The update trigger's check joins the rows before and after an update. PL/pgSQL plans a static
# query once per connection and keeps the plan, so a connection whose first update of
# observations touched a handful of rows kept a nested loop, and a later update of tens of
# thousands (retiring a resubmitted return's values, publishing a release) took seconds per
# thousand rows, growing with the square of the count. The query now runs by EXECUTE, which
# plans it afresh each time from the actual number of rows.

CHECK_FUNCTION = """
CREATE OR REPLACE FUNCTION kpis_observation_references_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  series bigint[];
  periods bigint[];
  users bigint[];
  releases bigint[];
  uploads bigint[];
  publications bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- One pass over the written rows, whatever their number.
    SELECT array_agg(DISTINCT series_id),
           array_agg(DISTINCT period_id),
           array_agg(DISTINCT recorded_by_id) FILTER (WHERE recorded_by_id IS NOT NULL),
           array_agg(DISTINCT release_id) FILTER (WHERE release_id IS NOT NULL),
           array_agg(DISTINCT source_upload_id) FILTER (WHERE source_upload_id IS NOT NULL),
           array_agg(DISTINCT source_publication_id) FILTER (WHERE source_publication_id IS NOT NULL)
      INTO series, periods, users, releases, uploads, publications
      FROM written;
  ELSE
    -- Only the keys an update changed, as PostgreSQL's own checks skip unchanged ones (and so
    -- lock nothing when, say, a current version is retired). Planned for each statement: see
    -- migration 0005.
    EXECUTE $query$
      SELECT array_agg(DISTINCT n.series_id)
               FILTER (WHERE o.id IS NULL OR n.series_id <> o.series_id),
             array_agg(DISTINCT n.period_id)
               FILTER (WHERE o.id IS NULL OR n.period_id <> o.period_id),
             array_agg(DISTINCT n.recorded_by_id) FILTER (WHERE n.recorded_by_id IS NOT NULL
               AND (o.id IS NULL OR n.recorded_by_id IS DISTINCT FROM o.recorded_by_id)),
             array_agg(DISTINCT n.release_id) FILTER (WHERE n.release_id IS NOT NULL
               AND (o.id IS NULL OR n.release_id IS DISTINCT FROM o.release_id)),
             array_agg(DISTINCT n.source_upload_id) FILTER (WHERE n.source_upload_id IS NOT NULL
               AND (o.id IS NULL OR n.source_upload_id IS DISTINCT FROM o.source_upload_id)),
             array_agg(DISTINCT n.source_publication_id) FILTER (
               WHERE n.source_publication_id IS NOT NULL AND (o.id IS NULL
                 OR n.source_publication_id IS DISTINCT FROM o.source_publication_id))
        FROM written n LEFT JOIN previous o ON o.id = n.id
    $query$ INTO series, periods, users, releases, uploads, publications;
  END IF;
  PERFORM kpis_observation_reference_lock('kpis_series', series, 'series_id');
  PERFORM kpis_observation_reference_lock('kpis_period', periods, 'period_id');
  PERFORM kpis_observation_reference_lock('strategy_user', users, 'recorded_by_id');
  PERFORM kpis_observation_reference_lock('kpis_release', releases, 'release_id');
  PERFORM kpis_observation_reference_lock('kpis_returnupload', uploads, 'source_upload_id');
  PERFORM kpis_observation_reference_lock(
    'kpis_nationalpublication', publications, 'source_publication_id');
  RETURN NULL;
END $$;
"""


def replace_check(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHECK_FUNCTION, params=None)


def restore_check(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        earlier = import_module("kpis.migrations.0002_bulk_loading")
        schema_editor.execute(
            earlier.CHECK_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1),
            params=None,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('kpis', '0004_staging_without_btree'),
    ]

    operations = [
        migrations.RunPython(replace_check, restore_check),
    ]
