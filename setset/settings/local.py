"""Local development and the README's run command: safe defaults, demo accounts allowed."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only-insecure-key-not-for-production")
DEBUG = env.bool("DJANGO_DEBUG", default=True)
DEMO_ACCOUNTS_ALLOWED = env.bool("SETSET_DEMO_ACCOUNTS_ALLOWED", default=True)
