"""``phatnguoi db upgrade``, ``db import-registry`` and ``users add`` through the real CLI."""

from __future__ import annotations

import re

import pytest
from builders import PII_KEY, registry_csv
from click.testing import CliRunner
from sqlalchemy import select

from cases.accounts import authenticate
from cases.db import make_engine, session_factory
from cases.models import User, Vehicle
from phatnguoi.cli import main


def test_upgrade_then_users_add_with_generated_password(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "--database-url", url]).exit_code == 0
    result = runner.invoke(
        main,
        ["users", "add", "--username", "an", "--role", "officer", "--unit", "pc08"],
        env={"PHATNGUOI_DATABASE_URL": url},
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"password: (\S+)", result.output).group(1)
    assert len(password) >= 12
    engine = make_engine(url)
    with session_factory(engine)() as session:
        user = authenticate(session, username="an", password=password)
        assert user.role == "officer" and user.unit.code == "pc08"
        assert password not in session.scalar(select(User.password_hash))
    engine.dispose()
    again = runner.invoke(main, ["users", "add", "--username", "an", "--role", "officer", "--database-url", url])
    assert again.exit_code != 0 and "already exists" in again.output
    weak = runner.invoke(
        main,
        ["users", "add", "--username", "b", "--role", "admin", "--password", "short", "--database-url", url],
    )
    assert weak.exit_code != 0 and "at least 12" in weak.output


def test_import_registry_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade", "--database-url", url])
    csv_path = registry_csv(tmp_path / "registry.csv")
    result = runner.invoke(main, ["db", "import-registry", str(csv_path), "--database-url", url, "--pii-key", PII_KEY])
    assert result.exit_code == 0, result.output
    assert "2 inserted" in result.output
    engine = make_engine(url)
    with session_factory(engine)() as session:
        assert len(session.scalars(select(Vehicle)).all()) == 2
    engine.dispose()
    bad = tmp_path / "bad.csv"
    bad.write_text("plate_text\n51A12345\n", encoding="utf-8")
    result = runner.invoke(main, ["db", "import-registry", str(bad), "--database-url", url, "--pii-key", PII_KEY])
    assert result.exit_code != 0 and "missing" in result.output


def test_rotate_pii_re_encrypts_under_the_new_key(sqlite_url, tmp_path):
    from cryptography.fernet import Fernet

    from cases.models import Owner
    from cases.pii import PiiCipher, PiiKeyError
    from cases.registry import import_registry_csv

    engine = make_engine(sqlite_url)
    with session_factory(engine)() as session:
        import_registry_csv(session, registry_csv(tmp_path / "r.csv"), pii_key=PII_KEY)
        session.commit()
    new_key = Fernet.generate_key().decode()
    env = {"PHATNGUOI_ENV": "test", "PHATNGUOI_SECURITY__PII_KEY": new_key, "PHATNGUOI_CASES__PII_OLD_KEYS": PII_KEY}
    result = CliRunner().invoke(main, ["cases", "rotate-pii", "--database-url", sqlite_url], env=env)
    assert result.exit_code == 0, result.output
    assert "re-encrypted 8 values in 2 rows" in result.output  # two owners, e-mail empty
    with session_factory(engine)() as session:
        names = {PiiCipher(new_key).decrypt(o.name_enc) for o in session.scalars(select(Owner))}
        assert names == {"Nguyễn Văn An", "Trần Thị Bích"}
        with pytest.raises(PiiKeyError):
            PiiCipher(PII_KEY).decrypt(session.scalars(select(Owner)).first().name_enc)
    wrong = CliRunner().invoke(
        main,
        ["cases", "rotate-pii", "--database-url", sqlite_url],
        env=env | {"PHATNGUOI_SECURITY__PII_KEY": Fernet.generate_key().decode(), "PHATNGUOI_CASES__PII_OLD_KEYS": ""},
    )
    assert wrong.exit_code != 0 and "owners row" in wrong.output and "cannot be decrypted" in wrong.output
    engine.dispose()
