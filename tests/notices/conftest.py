import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))

from db_fixtures import *  # noqa: E402, F403  (fixtures shared with tests/cases)
