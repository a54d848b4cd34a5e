from strategy.access import Role, user_can_see_unpublished, user_roles


def navigation(request):
    """Which links the header shows: each role sees the pages it may open."""
    roles = user_roles(request.user)
    return {
        "nav_returns": bool(
            roles & {Role.PLACE_LEAD.value, Role.SIG_MEMBER.value, Role.ADMINISTRATOR.value}
        ),
        "nav_internal": user_can_see_unpublished(request.user),
    }
