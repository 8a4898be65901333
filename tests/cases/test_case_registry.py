"""Vehicle registry import and owner lookup; owners' data encrypted at rest and masked for display."""

from __future__ import annotations

import pytest
from builders import PII_KEY, REGISTRY_HEADER, registry_csv
from sqlalchemy import text

from cases.pii import PiiCipher, PiiKeyError, generate_key, mask_address, mask_digits, mask_name
from cases.registry import RegistryImportError, import_registry_csv, lookup_owner, owner_details


def test_import_and_lookup_by_any_printed_form(sqlite_session, tmp_path):
    result = import_registry_csv(sqlite_session, registry_csv(tmp_path / "r.csv"), pii_key=PII_KEY)
    assert (result.inserted, result.updated) == (2, 0)
    vehicle = lookup_owner(sqlite_session, "59-X1 / 234.56")
    assert (
        vehicle is not None
        and vehicle.plate_printed == "59-X1 / 234.56"
        and vehicle.vehicle_type == "motorbike"
    )
    assert owner_details(vehicle.owner, pii_key=PII_KEY).name == "Trần Thị Bích"
    assert lookup_owner(sqlite_session, "51A99999") is None
    again = import_registry_csv(sqlite_session, registry_csv(tmp_path / "r.csv"), pii_key=PII_KEY)
    assert (again.inserted, again.updated) == (0, 2)


def test_personal_data_is_not_readable_in_the_database(sqlite_session, tmp_path):
    import_registry_csv(sqlite_session, registry_csv(tmp_path / "r.csv"), pii_key=PII_KEY)
    sqlite_session.flush()
    raw = " ".join(str(v) for row in sqlite_session.execute(text("SELECT * FROM owners")).all() for v in row)
    for secret in ("Nguyễn", "Lê Lợi", "079123456789", "0901234567"):
        assert secret not in raw
    vehicle = lookup_owner(sqlite_session, "51A12345")
    with pytest.raises(PiiKeyError, match="wrong key"):
        owner_details(vehicle.owner, pii_key=generate_key())


def test_header_aliases_are_accepted(sqlite_session, tmp_path):
    path = tmp_path / "alias.csv"
    path.write_text(
        "Plate,Name,Address,CCCD,Phone,Vehicle Class,Color\n51A12345,An,Q1,1,2,car,yellow\n", encoding="utf-8"
    )
    import_registry_csv(sqlite_session, path, pii_key=PII_KEY)
    assert lookup_owner(sqlite_session, "51A-123.45").plate_colour == "yellow"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("plate_text,owner_name\n51A12345,An\n", "missing \\['address', 'vehicle_type'\\]"),
        (REGISTRY_HEADER + "HELLO,An,Q1,1,2,car,white,x\n", r":2: plate_text: expected a Vietnamese plate"),
        (REGISTRY_HEADER + "51A12345,An,Q1,1,2,boat,white,x\n", r":2: vehicle_type"),
        (REGISTRY_HEADER + "51A12345,An,Q1,1,2,car,purple,x\n", r":2: colour"),
        (REGISTRY_HEADER + "51A12345,,Q1,1,2,car,white,x\n", r":2: owner_name"),
        (
            REGISTRY_HEADER + "51A12345,An,Q1,1,2,car,white,x\n51A-123.45,B,Q1,1,2,car,white,x\n",
            r":3: .*twice",
        ),
        ("", "expected a header row"),
    ],
)
def test_bad_rows_are_named(sqlite_session, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RegistryImportError, match=message):
        import_registry_csv(sqlite_session, path, pii_key=PII_KEY)


def test_missing_file_is_a_clear_error(sqlite_session, tmp_path):
    with pytest.raises(RegistryImportError, match="cannot read"):
        import_registry_csv(sqlite_session, tmp_path / "nope.csv", pii_key=PII_KEY)


def test_key_rotation_and_masks():
    old, new = generate_key(), "a-long-random-settings-secret-0123456789abcdef"
    token = PiiCipher(old).encrypt("Nguyễn Văn An")
    rotated = PiiCipher(f"{new},{old}").rotate(token)
    assert PiiCipher(new).decrypt(rotated) == "Nguyễn Văn An"
    with pytest.raises(PiiKeyError, match="at least 32"):
        PiiCipher("short")
    assert mask_name("Nguyễn Văn An") == "N***** V** A*"
    assert mask_digits("0901234567") == "*******567"
    assert mask_address("12 Lê Lợi, Phường Sài Gòn, TP. Hồ Chí Minh") == "***, TP. Hồ Chí Minh"


def test_the_simulators_registry_csv_imports_as_it_is(sqlite_session, tmp_path):
    import numpy as np

    from ingest.sim.plates import random_plate
    from ingest.sim.registry import registry_entry, write_registry

    rng = np.random.default_rng(7)
    entries = {}
    for cls in ("car", "motorbike", "bus", "truck") * 5:
        plate = random_plate(rng, cls)
        entries[plate.text] = registry_entry(plate, seed=7, vehicle_class=cls)
    path = write_registry(list(entries.values()), tmp_path / "registry.csv")
    result = import_registry_csv(sqlite_session, path, pii_key=PII_KEY)
    assert result.inserted == len(entries)
    for plate_text, entry in entries.items():
        vehicle = lookup_owner(sqlite_session, plate_text)
        assert vehicle.vehicle_type == entry.vehicle_class
        assert vehicle.plate_colour == entry.plate_colour and vehicle.plate_printed == entry.plate_printed
        assert owner_details(vehicle.owner, pii_key=PII_KEY).name == entry.owner_name
