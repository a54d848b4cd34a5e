"""Number the committed changes to what the dashboards show, so their pages can be cached.

Every table below gets a trigger. On PostgreSQL a statement-level trigger marks the writing
transaction once (a row keyed by its transaction id) and a deferred constraint trigger on that
mark adds one to the version as the transaction commits: cheap for bulk writes and COPY, held
locked only while committing, and in commit order. SQLite has row-level triggers only; it has
one writer at a time, so each written row adds one directly.

Not watched, as no cached page reads them and they change all the time: upload staging rows
and the uploads' progress (and their places), the audit log, pre-release access records,
worker heartbeats and users (their last log-in; their roles and grants are checked afresh on
every request, before any cache is read).
"""

from django.db import migrations, models

WATCHED_TABLES = [
    "strategy_sourcedocument",
    "strategy_organisation",
    "strategy_strategy",
    "strategy_outcome",
    "strategy_whatmatters",
    "strategy_need",
    "strategy_action",
    "strategy_focusarea",
    "strategy_theme",
    "strategy_priority",
    "strategy_deliverable",
    "strategy_deliverableupdate",
    "strategy_area",
    "strategy_place",
    "strategy_placemembership",
    "strategy_narrativepopulation",
    "strategy_placegrant",
    "kpis_disclosurerule",
    "kpis_kpi",
    "kpis_definitionversion",
    "kpis_target",
    "kpis_period",
    "kpis_breakdown",
    "kpis_series",
    "kpis_observation",
    "kpis_verdictruletable",
    "kpis_assessment",
    "kpis_nationalpublication",
    "kpis_areaspread",
    "kpis_release",
    "kpis_reportingexpectation",
    "kpis_commentary",
    # Many-to-many links.
    "strategy_deliverable_priorities",
    "strategy_deliverable_what_matters",
    "kpis_kpi_priorities",
    "kpis_kpi_outcomes",
    "kpis_kpi_what_matters",
    "kpis_areaspread_places",
    "kpis_release_uploads",
    "kpis_release_kpis",
    "kpis_release_publications",
]

POSTGRESQL_FUNCTIONS = """
CREATE TABLE kpis_figures_touched (txid xid8 PRIMARY KEY);

CREATE FUNCTION kpis_figures_touched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO kpis_figures_touched (txid) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE FUNCTION kpis_figures_committing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE kpis_figuresversion SET number = number + 1 WHERE id = 1;
  DELETE FROM kpis_figures_touched WHERE txid = NEW.txid;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER kpis_figures_committing AFTER INSERT ON kpis_figures_touched
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kpis_figures_committing();
"""

POSTGRESQL_TABLE = """
CREATE TRIGGER kpis_figures_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION kpis_figures_touched();
"""

SQLITE_TABLE = """
CREATE TRIGGER kpis_figures_changed_{event}_{table} AFTER {event} ON {table}
BEGIN UPDATE kpis_figuresversion SET number = number + 1 WHERE id = 1; END;
"""


def install_triggers(apps, schema_editor):
    apps.get_model("kpis", "FiguresVersion").objects.create(pk=1, number=0)
    vendor = schema_editor.connection.vendor
    statements = []
    if vendor == "postgresql":
        statements.append(POSTGRESQL_FUNCTIONS)
        statements += [POSTGRESQL_TABLE.format(table=table) for table in WATCHED_TABLES]
    elif vendor == "sqlite":
        statements += [
            SQLITE_TABLE.format(event=event, table=table)
            for table in WATCHED_TABLES
            for event in ("INSERT", "UPDATE", "DELETE")
        ]
    for statement in statements:
        schema_editor.execute(statement)


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in WATCHED_TABLES:
            schema_editor.execute(f"DROP TRIGGER kpis_figures_changed ON {table}")
        schema_editor.execute("DROP TABLE kpis_figures_touched")
        schema_editor.execute("DROP FUNCTION kpis_figures_touched(), kpis_figures_committing()")
    elif vendor == "sqlite":
        for table in WATCHED_TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                schema_editor.execute(f"DROP TRIGGER kpis_figures_changed_{event}_{table}")


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0017_return_approving"),
        ("strategy", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="FiguresVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
