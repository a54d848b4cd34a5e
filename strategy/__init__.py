"""The strategy as published: vision, outcomes, "What matters to people", themes, priorities,
deliverables, partners, users and roles, and the places it covers (areas and place sets on a
geography basis). ``access`` is the one table of who may do what."""
