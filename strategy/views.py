from django.shortcuts import render

from .selectors import priorities_by_cohort_and_theme, strategy_get


def strategy_on_a_page(request):
    strategy = strategy_get()
    return render(
        request,
        "strategy/home.html",
        {"strategy": strategy, "sections": priorities_by_cohort_and_theme(strategy)},
    )
