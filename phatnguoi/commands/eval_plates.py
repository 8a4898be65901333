"""``phatnguoi eval plates DIR``: exact match of the plate reader on a labelled folder.

``DIR/labels.csv`` has columns ``image_path`` (relative to DIR) and ``plate_text``; a ``layout``
column (``one-row`` / ``two-row``) is used where present, else the layout is inferred from the
crop's aspect ratio. Prints one JSON object with ``--json``, a table otherwise.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from cases.plates import normalize


@dataclass(frozen=True)
class PlateEvalResult:
    n: int
    exact: float
    exact_per_layout: dict[str, dict[str, float]]
    char_accuracy: float
    valid_reads: float
    ms_per_plate: float
    errors: list[dict[str, str]]
    audited: dict[str, Any] | None = None  # the same, against labels corrected by an audit
    reader: str = ""  # the model files that read, each with the start of its sha256
    by_confidence: list[dict[str, float | None]] = field(default_factory=list)  # ``confidence_table``

    def as_dict(self, *, with_errors: bool = False) -> dict:
        d = {
            "n": self.n,
            "exact": round(self.exact, 4),
            "exact_per_layout": self.exact_per_layout,
            "char_accuracy": round(self.char_accuracy, 4),
            "valid_reads": round(self.valid_reads, 4),
            "ms_per_plate": round(self.ms_per_plate, 3),
            "reader": self.reader,
            "by_confidence": self.by_confidence,
        }
        if self.audited is not None:
            d["audited"] = self.audited
        if with_errors:
            d["errors"] = self.errors
        return d


def read_corrections(path: Path) -> dict[str, tuple[str, str]]:
    """A label audit: CSV with ``image_path``, ``label`` (as in labels.csv) and ``photo_shows``
    (what the photo shows), -> image_path -> (label, photo_shows). Errors name the line."""
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = {"image_path", "label", "photo_shows"} - set(reader.fieldnames or [])
        if missing:
            raise click.ClickException(f"expected columns image_path, label, photo_shows in {path}, "
                                       f"missing {sorted(missing)}")
        out: dict[str, tuple[str, str]] = {}
        for i, row in enumerate(reader, start=2):
            seen = normalize(row["photo_shows"])
            if not seen or row["image_path"] in out:
                raise click.ClickException(f"{path} line {i}: expected a new image_path and a plate text, "
                                           f"got {row['image_path']!r}, {row['photo_shows']!r}")
            out[row["image_path"]] = (normalize(row["label"]), seen)
    return out


#: Read confidences (the weakest character's probability) at which ``confidence_table`` reports.
CONFIDENCE_STEPS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def confidence_table(confidences: Sequence[float], exact: Sequence[bool],
                     steps: Sequence[float] = CONFIDENCE_STEPS) -> list[dict[str, float | None]]:
    """For each threshold: the share of reads at or above it (``kept``, the rest would go to a
    person) and how many of those are exact (``exact``; None when none is kept). Shows whether a
    read's confidence can tell a right read from a wrong one, and where to set the bar."""
    if len(confidences) != len(exact):
        raise ValueError(f"expected one exact flag per confidence, got {len(confidences)} and {len(exact)}")
    rows: list[dict[str, float | None]] = []
    for t in steps:
        kept = [e for c, e in zip(confidences, exact, strict=True) if c >= t]
        rows.append({
            "min_confidence": t,
            "kept": round(len(kept) / max(1, len(exact)), 4),
            "exact": round(sum(kept) / len(kept), 4) if kept else None,
            "wrong_kept": len(kept) - sum(kept),
        })
    return rows


def _exact_per_layout(layouts: list[str], truths: list[str], reads: list[Any]) -> dict[str, list[int]]:
    """layout -> [plates, exact reads]."""
    per: dict[str, list[int]] = {}
    for layout, truth, read in zip(layouts, truths, reads, strict=True):
        per.setdefault(layout, [0, 0])
        per[layout][0] += 1
        per[layout][1] += read.text == truth
    return per


def _as_table(per: dict[str, list[int]]) -> dict[str, dict[str, float]]:
    return {k: {"n": v[0], "exact": round(v[1] / v[0], 4)} for k, v in sorted(per.items())}


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def read_labels(folder: Path) -> list[dict[str, str]]:
    """Rows of ``folder/labels.csv``; raises ``click.ClickException`` naming what is wrong."""
    labels = folder / "labels.csv"
    if not labels.is_file():
        raise click.ClickException(f"expected {labels}, found nothing")
    with labels.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = {"image_path", "plate_text"} - set(reader.fieldnames or [])
        if missing:
            raise click.ClickException(
                f"expected columns image_path, plate_text in {labels}, missing {sorted(missing)}"
            )
        rows = list(reader)
    if not rows:
        raise click.ClickException(f"expected at least one row in {labels}, got none")
    return rows


def evaluate_plates(
    folder: Path, *, limit: int | None = None, model: Path | Sequence[Path] | None = None,
    config: Path | None = None,
    batch_size: int = 32, corrections: dict[str, tuple[str, str]] | None = None,
) -> PlateEvalResult:
    """Read every crop listed in ``folder/labels.csv`` and compare with ``plate_text``.

    With ``corrections`` (``read_corrections``) the result also scores the reads against the
    audited labels (``audited``); a correction whose ``label`` no longer matches labels.csv is
    refused, so an audit cannot silently apply to a changed data set."""
    import cv2

    from detection.reader import OnnxPlateReader, infer_layout

    rows = read_labels(folder)[:limit] if limit else read_labels(folder)
    reader = OnnxPlateReader(model, config)
    crops, truths, layouts = [], [], []
    for i, row in enumerate(rows, start=2):
        path = folder / row["image_path"]
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise click.ClickException(f"labels.csv line {i}: expected an image at {path}, could not read it")
        crops.append(img)
        truths.append(normalize(row["plate_text"]))
        layouts.append(row.get("layout") or infer_layout(img.shape, truths[-1]))
    started = time.perf_counter()
    reads = []
    for start in range(0, len(crops), batch_size):
        reads.extend(reader.read_many(crops[start : start + batch_size]))
    elapsed = time.perf_counter() - started

    per_layout = _exact_per_layout(layouts, truths, reads)
    errors_total = chars_total = 0
    errors = []
    for row, truth, layout, read in zip(rows, truths, layouts, reads, strict=True):
        errors_total += _edit_distance(read.text, truth)
        chars_total += len(truth)
        if read.text != truth:
            errors.append(
                {"image_path": row["image_path"], "truth": truth, "read": read.text, "layout": layout}
            )
    n = len(reads)
    confidences = [r.confidence for r in reads]
    audited = None
    if corrections is not None:
        by_path = {row["image_path"]: truth for row, truth in zip(rows, truths, strict=True)}
        stale = [p for p, (label, _) in corrections.items() if p in by_path and by_path[p] != label]
        if stale:
            raise click.ClickException(f"the label audit does not match labels.csv for {', '.join(stale[:5])}")
        fixed = [corrections[row["image_path"]][1] if row["image_path"] in corrections else truth
                 for row, truth in zip(rows, truths, strict=True)]
        per = _exact_per_layout(layouts, fixed, reads)
        audited = {
            "corrected_labels": sum(row["image_path"] in corrections for row in rows),
            "exact": round(sum(v[1] for v in per.values()) / n, 4),
            "exact_per_layout": _as_table(per),
            "by_confidence": confidence_table(confidences, [r.text == f for r, f in zip(reads, fixed, strict=True)]),
        }
    return PlateEvalResult(
        n=n,
        exact=sum(v[1] for v in per_layout.values()) / n,
        exact_per_layout=_as_table(per_layout),
        char_accuracy=max(0.0, 1 - errors_total / max(1, chars_total)),
        valid_reads=sum(r.valid for r in reads) / n,
        ms_per_plate=1000 * elapsed / n,
        errors=errors,
        audited=audited,
        reader=reader.version,
        by_confidence=confidence_table(confidences, [r.text == t for r, t in zip(reads, truths, strict=True)]),
    )


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--limit", type=int, default=None, help="Only the first N rows.")
@click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True,
              help="ONNX model; repeat it to read with several and average them (default: the shipped one).")
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Plate config YAML (default: the shipped one).")
@click.option("--errors", "show_errors", is_flag=True, help="Also list the wrong reads.")
@click.option("--corrections", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A label audit (CSV: image_path, label, photo_shows; e.g. "
                   "docs/data/vn-plates-real-label-audit.csv): also score against the corrected labels.")
def group(folder: Path, as_json: bool, limit: int | None, model: tuple[Path, ...], config: Path | None,
          show_errors: bool, corrections: Path | None) -> None:
    """Exact match of the plate reader on FOLDER/labels.csv, overall and per layout."""
    result = evaluate_plates(folder, limit=limit, model=model or None, config=config,
                             corrections=read_corrections(corrections) if corrections else None)
    if as_json:
        click.echo(json.dumps(result.as_dict(with_errors=show_errors)))
        return
    click.echo(f"plates read        {result.n}")
    click.echo(f"exact match        {result.exact:.1%}")
    for layout, v in result.exact_per_layout.items():
        click.echo(f"  {layout:<16} {v['exact']:.1%} of {v['n']}")
    click.echo(f"character accuracy {result.char_accuracy:.1%}")
    click.echo(f"valid grammar      {result.valid_reads:.1%}")
    click.echo(f"ms per plate       {result.ms_per_plate:.2f}")
    click.echo("read confidence >= | reads kept | exact among them")
    for row in result.by_confidence:
        exact = "-" if row["exact"] is None else f"{row['exact']:.1%}"
        click.echo(f"  {row['min_confidence']:<16} | {row['kept']:>10.1%} | {exact} ({row['wrong_kept']} wrong)")
    if result.audited is not None:
        audited = result.audited
        click.echo(f"exact, audited     {audited['exact']:.1%} ({audited['corrected_labels']} labels corrected)")
    if show_errors:
        for e in result.errors:
            click.echo(f"  {e['image_path']}: read {e['read']!r}, truth {e['truth']!r} ({e['layout']})")
