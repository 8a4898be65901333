"""Option parsers shared by several commands."""

from __future__ import annotations

from collections.abc import Sequence

import click

from detection.types import Rule


def parse_rates(values: Sequence[str]) -> dict[str, float]:
    """``RULE=SHARE`` options (``--rate wrong_way=0.15``) as {rule: share}, each checked."""
    rates: dict[str, float] = {}
    for value in values:
        name, _, share = value.partition("=")
        try:
            rule = Rule(name)
            rates[rule.value] = float(share)
        except ValueError:
            raise click.BadParameter(
                f"expected RULE=SHARE with RULE one of {', '.join(r.value for r in Rule)} and SHARE in 0..1, "
                f"got {value!r}"
            ) from None
        if not 0 <= rates[rule.value] <= 1:
            raise click.BadParameter(f"expected a share in 0..1, got {value!r}")
    return rates
