"""The demo settings with tests/custom_user's model as AUTH_USER_MODEL (see that package)."""

from project.settings import *  # noqa: F403
from project.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.custom_user"]
AUTH_USER_MODEL = "custom_user.User"

# Its own test database: the parent test run already holds the default one (``test_<NAME>`` on
# PostgreSQL in .ci/run's second pass), and pytest-django would otherwise try to recreate it.
DATABASES = {  # noqa: F405
    alias: config
    if config["ENGINE"].endswith("sqlite3")
    else {
        **config,
        "TEST": {**config.get("TEST", {}), "NAME": f"test_custom_user_{config['NAME']}"},
    }
    for alias, config in DATABASES.items()  # noqa: F405
}
