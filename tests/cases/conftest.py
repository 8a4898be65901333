from db_fixtures import *  # noqa: F403  (fixtures shared with tests/notices and tests/web)
