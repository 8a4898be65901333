from case_factory import module_sqlite_engine, rolled_back  # noqa: F401  (state-machine fixtures)
from db_fixtures import *  # noqa: F403  (fixtures shared with tests/notices and tests/web)
