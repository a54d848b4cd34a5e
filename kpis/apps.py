from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = "KPIs and returns"

    def ready(self):
        import pandas as pd

        # pyarrow is installed for writing COPY data, and pandas would then back every string
        # column with Arrow; the validation's string work runs about a fifth faster on Python
        # strings (bench/returns_ingest.py), so strings stay as they are without pyarrow.
        pd.set_option("mode.string_storage", "python")
