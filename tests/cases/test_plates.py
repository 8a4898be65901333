"""The plate grammar of shared/DOMAIN.md, as a table."""

import pytest

from cases.plates import Layout, PlateColour, PlateKind, colour_allowed, is_valid, normalize, parse, printed


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("51A12345", {PlateKind.CAR, PlateKind.MOTORBIKE}),  # car, or legacy motorbike 51-A1 / 2345
        ("51A1234", {PlateKind.CAR}),
        ("59X123456", {PlateKind.MOTORBIKE}),
        ("29HA00233", {PlateKind.MOTORBIKE}),
        ("29B11234", {PlateKind.CAR, PlateKind.MOTORBIKE}),
        ("60LD00584", {PlateKind.SPECIAL, PlateKind.MOTORBIKE}),
        ("80NG12345", {PlateKind.FOREIGN}),
        ("59-X1 / 234.56", {PlateKind.MOTORBIKE}),
    ],
)
def test_valid_plates_parse_to_their_kinds(text: str, kinds: set[PlateKind]) -> None:
    assert {p.kind for p in parse(text)} == kinds


@pytest.mark.parametrize(
    "text",
    [
        "13A12345",  # 13 is an unused province code
        "42A12345",  # unused
        "51I12345",  # I is not a series letter
        "51O12345",  # nor O
        "51A123",  # serial too short
        "51A1234567",  # too long
        "5A12345",
        "",
        "ABCDEFG",
    ],
)
def test_invalid_plates_parse_to_nothing(text: str) -> None:
    assert parse(text) == []
    assert not is_valid(text)


@pytest.mark.parametrize(
    ("text", "layout", "kind", "expected"),
    [
        ("51A12345", Layout.ONE_ROW, PlateKind.CAR, "51A-123.45"),
        ("51A12345", Layout.TWO_ROW, PlateKind.CAR, "51A / 123.45"),
        ("51A1234", Layout.ONE_ROW, PlateKind.CAR, "51A-1234"),
        ("59X123456", Layout.TWO_ROW, PlateKind.MOTORBIKE, "59-X1 / 234.56"),
        ("29HA00233", Layout.TWO_ROW, PlateKind.MOTORBIKE, "29-HA / 002.33"),
        ("60LD00584", Layout.ONE_ROW, PlateKind.SPECIAL, "60LD-005.84"),
    ],
)
def test_printed_forms(text: str, layout: Layout, kind: PlateKind, expected: str) -> None:
    assert printed(text, layout, kind) == expected
    assert normalize(expected) == text


def test_printed_refuses_a_non_plate() -> None:
    with pytest.raises(ValueError, match="expected a Vietnamese plate"):
        printed("13A12345", Layout.ONE_ROW)


def test_blue_plates_only_for_state_series() -> None:
    assert colour_allowed("80A12345", PlateColour.BLUE)
    assert not colour_allowed("51X12345", PlateColour.BLUE)
    assert colour_allowed("51X12345", PlateColour.WHITE)
