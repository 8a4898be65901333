"""Option parsers shared by several commands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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


def detector_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--weights`` and ``--detections`` for the evaluations that run the detector
    (``phatnguoi.commands.eval_scenes.make_detector``)."""
    command = click.option(
        "--detections", "detections_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Keep the detector's answers per frame in this folder; a re-run of the same scenes and weights "
        "replays them (rule and tracker work).",
    )(command)
    return click.option(
        "--weights", type=click.Path(exists=True, path_type=Path), default=None,
        help="Detector weights (.pt, .onnx or OpenVINO folder; default: the shipped detector).",
    )(command)
