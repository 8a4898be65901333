"""The shipped plate reader: exact reads of fixed synthetic plates, the PlateRead contract, and the
real-plate evaluation where ../shared/datasets/vn-plates-real exists."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cases.plates import Layout, PlateColour, PlateKind, is_valid
from detection.reader import DEFAULT_CONFIG, DEFAULT_MODEL, MODEL_DIR, OnnxPlateReader, PlateReader, infer_layout
from ingest.sim.plates import SimPlate, render_plate

REAL = Path(__file__).parents[2] / ".." / "shared" / "datasets" / "vn-plates-real"

FIXED = [
    SimPlate("51A12345", "51A-123.45", Layout.ONE_ROW, PlateColour.WHITE, PlateKind.CAR),
    SimPlate("59X123456", "59-X1 / 234.56", Layout.TWO_ROW, PlateColour.WHITE, PlateKind.MOTORBIKE),
    SimPlate("52S24832", "52-S2 / 4832", Layout.TWO_ROW, PlateColour.WHITE, PlateKind.MOTORBIKE),
    SimPlate("51F44614", "51F-446.14", Layout.ONE_ROW, PlateColour.YELLOW, PlateKind.CAR),
    SimPlate("29HA00233", "29-HA / 002.33", Layout.TWO_ROW, PlateColour.WHITE, PlateKind.MOTORBIKE),
    SimPlate("30K5678", "30K-5678", Layout.ONE_ROW, PlateColour.BLUE, PlateKind.CAR),
    SimPlate("51G31691", "51G / 316.91", Layout.TWO_ROW, PlateColour.WHITE, PlateKind.CAR),
]


@pytest.fixture(scope="module")
def reader() -> OnnxPlateReader:
    return OnnxPlateReader()


def _crop(plate: SimPlate) -> np.ndarray:
    """A clean render with a small dark margin, like a tight detector box, at the size a street
    camera sees a plate (32 px one-row, 64 px two-row)."""
    img = render_plate(plate, 32 if plate.layout == Layout.ONE_ROW else 64)
    return np.pad(img, ((3, 3), (4, 4), (0, 0)), constant_values=40)


def test_shipped_model_is_in_the_repository_and_small():
    assert DEFAULT_MODEL.is_file() and DEFAULT_CONFIG.is_file()
    assert DEFAULT_MODEL.stat().st_size < 8_000_000
    every_model = [p for p in MODEL_DIR.parent.rglob("*") if p.is_file()]  # the detector's files too
    assert sum(p.stat().st_size for p in every_model) < 20_000_000


def test_several_models_are_averaged_and_named_in_the_version(reader):
    """Given several ONNX files, every model reads every view and the character probabilities are
    averaged; ``version`` names each file with the start of its sha256."""

    class Constant:  # stands in for the second model's ONNX Runtime session
        def __init__(self, out: np.ndarray) -> None:
            self.out = out

        def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
            return [np.repeat(self.out, len(feed["input"]), axis=0)]

    crops = [reader._prepare(_crop(p)) for p in FIXED[:3]]
    single = reader._probabilities(crops)
    pair = OnnxPlateReader([DEFAULT_MODEL, DEFAULT_MODEL])
    assert pair._probabilities(crops) == pytest.approx(single, abs=1e-6)
    cfg = reader._recognizer.config
    slots, chars = cfg.max_plate_slots, len(cfg.alphabet)
    flat = np.full((1, slots, chars), 1.0 / chars, np.float32)  # every character equally likely
    pair._recognizers[1].model = Constant(flat)  # type: ignore[assignment]
    assert pair._probabilities(crops) == pytest.approx((single + flat.reshape(1, -1)) / 2, abs=1e-6)
    sha = pair.version.split("+")
    assert len(sha) == 2 and sha[0] == sha[1] == reader.version
    name, digest = reader.version.split("@")
    assert name == DEFAULT_MODEL.stem and len(digest) == 12 and int(digest, 16) >= 0


def test_reads_fixed_synthetic_plates_exactly(reader):
    assert isinstance(reader, PlateReader)
    for plate in FIXED:
        read = reader.read(_crop(plate))
        assert read.text == plate.text, plate.printed
        assert read.valid
        assert read.layout == plate.layout.value
        assert len(read.char_confidences) == len(read.text)
        assert all(0.0 <= c <= 1.0 for c in read.char_confidences)


def test_read_many_matches_single_reads_in_order(reader):
    crops = [_crop(p) for p in FIXED]
    many = reader.read_many(crops)
    assert [r.text for r in many] == [reader.read(c).text for c in crops]
    assert reader.read_many([]) == []


def test_one_view_is_fast_plate_ocrs_own_read():
    """With one unpadded view the reader's own batching and decoding give exactly what
    fast-plate-ocr's ``LicensePlateRecognizer.run`` gives (text and confidences)."""
    import cv2

    single = OnnxPlateReader(DEFAULT_MODEL, pad_views=(0.0,))
    for plate in FIXED:
        crop = _crop(plate)
        ours = single.read(crop)
        theirs = single._recognizer.run(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), return_confidence=True)[0]
        assert ours.text == theirs.plate.replace("_", "")
        assert ours.char_confidences == pytest.approx(list(theirs.char_probs[: len(ours.text)]), abs=1e-6)


def test_views_are_averaged(reader):
    """The default reader averages the probabilities of the crop and of its padded copy."""
    crops = [reader._prepare(_crop(p)) for p in FIXED[:3]]
    plain = OnnxPlateReader(pad_views=(0.0,))._probabilities(crops)
    padded = OnnxPlateReader(pad_views=(0.08,))._probabilities(crops)
    assert reader.pad_views == (0.0, 0.08)
    assert not np.allclose(plain, padded)  # the padded view is a different input
    assert reader._probabilities(crops) == pytest.approx((plain + padded) / 2, abs=1e-5)


@pytest.mark.parametrize("views", [(), (0.6,), (-0.1, 0.0)])
def test_bad_pad_views_are_refused(views):
    with pytest.raises(ValueError, match="expected one or more pad_views between 0 and 0.5"):
        OnnxPlateReader(pad_views=views)


def test_invalid_read_is_flagged_not_corrected(reader):
    noise = np.random.default_rng(0).integers(0, 256, (40, 120, 3), dtype=np.uint8)
    read = reader.read(noise)
    assert read.valid == is_valid(read.text)
    grey = reader.read(np.full((50, 68), 200, np.uint8))  # greyscale crops are accepted too
    assert grey.valid == is_valid(grey.text)


def test_bad_crops_are_rejected_with_clear_errors(reader):
    with pytest.raises(TypeError, match="numpy BGR image"):
        reader.read("plate.jpg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 4x4"):
        reader.read(np.zeros((2, 30, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        reader.read(np.zeros((30, 60, 3), np.float32))
    with pytest.raises(ValueError, match="index 1"):
        reader.read_many([np.zeros((30, 60, 3), np.uint8), np.zeros((30, 60, 4), np.uint8)])


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.onnx"):
        OnnxPlateReader(tmp_path / "nothing.onnx")
    with pytest.raises(FileNotFoundError, match="second.onnx"):
        OnnxPlateReader([DEFAULT_MODEL, tmp_path / "second.onnx"])
    with pytest.raises(ValueError, match="one or more plate-reader models"):
        OnnxPlateReader([])


def test_layout_from_aspect_ratio_and_text():
    assert infer_layout((110, 520)) == "one-row"
    assert infer_layout((140, 190)) == "two-row"
    assert infer_layout((100, 260), "59X123456") == "two-row"
    assert infer_layout((100, 280), "51A12345") == "one-row"


def _real_sample(tmp_path: Path, per_layout: dict[str, int]) -> Path:
    if not (REAL / "labels.csv").is_file():
        pytest.skip(f"real plate set not found at {REAL.resolve()} (evaluation data lives outside the repo)")
    with (REAL / "labels.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    picked = []
    for layout, k in per_layout.items():
        picked += [r for r in rows if r["layout"] == layout][::7][:k]
    with (tmp_path / "labels.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_path", "plate_text", "layout"])
        for r in picked:
            w.writerow([str((REAL / r["image_path"]).resolve()), r["plate_text"], r["layout"]])
    return tmp_path


def test_real_plate_evaluation_runs(tmp_path):
    from phatnguoi.commands.eval_plates import group

    folder = _real_sample(tmp_path, {"two-row": 40, "one-row": 20})
    result = CliRunner().invoke(group, [str(folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["n"] == 60
    assert set(report["exact_per_layout"]) == {"one-row", "two-row"}
    assert report["exact_per_layout"]["two-row"]["n"] == 40
    assert 0 <= report["char_accuracy"] <= 1 and report["ms_per_plate"] > 0
    kept = [row["kept"] for row in report["by_confidence"]]
    assert kept == sorted(kept, reverse=True) and all(0 <= k <= 1 for k in kept)  # a higher bar keeps fewer
    # A floor well under the measured accuracy (docs/model-plate-reader.md): catches a broken model.
    assert report["exact"] >= EXACT_FLOOR, report


EXACT_FLOOR = 0.5


def test_eval_reports_a_missing_labels_file(tmp_path):
    from phatnguoi.commands.eval_plates import group

    result = CliRunner().invoke(group, [str(tmp_path), "--json"])
    assert result.exit_code != 0
    assert "labels.csv" in result.output


def test_train_command_refuses_bad_settings_before_any_work(tmp_path):
    from phatnguoi.commands.train_plates import group

    runner = CliRunner()
    bad_epochs = runner.invoke(group, ["--epochs", "0", "--out", str(tmp_path / "a")])
    assert bad_epochs.exit_code != 0 and "epochs" in bad_epochs.output
    missing = runner.invoke(group, ["--init-onnx", str(tmp_path / "none.onnx"), "--out", str(tmp_path / "b")])
    assert missing.exit_code != 0 and "none.onnx" in missing.output
    keep = runner.invoke(group, ["--keep-init", "0.5", "--out", str(tmp_path / "c")])
    assert keep.exit_code != 0 and "--init-onnx" in keep.output
    other = tmp_path / "other.yaml"
    other.write_text("model: cct\n")
    widen = runner.invoke(group, ["--init-config", str(other), "--out", str(tmp_path / "d")])
    assert widen.exit_code != 0 and "--init-config only with --init-onnx" in widen.output
    no_config = runner.invoke(group, ["--model-config", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "e")])
    assert no_config.exit_code != 0 and "none.yaml" in no_config.output
    share = runner.invoke(group, ["--two-letter-p", "1.5", "--out", str(tmp_path / "f")])
    assert share.exit_code != 0 and "--two-letter-p between 0 and 1" in share.output
    assert not any((tmp_path / d).exists() for d in "abcdef")  # nothing generated


def test_eval_scores_against_an_audited_label_too(tmp_path):
    """A wrong label in labels.csv counts as an error; the audit's correction is scored
    separately (``audited``), and an audit that no longer matches the labels is refused."""
    import cv2

    from phatnguoi.commands.eval_plates import group

    plates = FIXED[:3]
    with (tmp_path / "labels.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_path", "plate_text", "layout"])
        for i, plate in enumerate(plates):
            cv2.imwrite(str(tmp_path / f"{i}.png"), _crop(plate))
            label = "59X723456" if i == 1 else plate.text  # the label has 7 where the plate has 1
            w.writerow([f"{i}.png", label, plate.layout.value])
    audit = tmp_path / "audit.csv"
    audit.write_text("image_path,label,photo_shows\n1.png,59X723456,59-X1 234.56\n")
    result = CliRunner().invoke(group, [str(tmp_path), "--json", "--corrections", str(audit)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["exact"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["audited"]["corrected_labels"] == 1 and report["audited"]["exact"] == 1.0
    # the wrong label makes one kept read "wrong"; against the audit none is
    assert report["by_confidence"][0]["wrong_kept"] == 1 and report["audited"]["by_confidence"][0]["wrong_kept"] == 0
    stale = tmp_path / "stale.csv"
    stale.write_text("image_path,label,photo_shows\n1.png,59X000000,59X123456\n")
    refused = CliRunner().invoke(group, [str(tmp_path), "--json", "--corrections", str(stale)])
    assert refused.exit_code != 0 and "does not match labels.csv for 1.png" in refused.output


def test_confidence_table_counts_the_reads_kept_and_their_exact_share():
    from phatnguoi.commands.eval_plates import confidence_table

    table = confidence_table([0.99, 0.95, 0.7, 0.4], [True, False, True, False], steps=(0.5, 0.9, 0.999))
    assert table == [
        {"min_confidence": 0.5, "kept": 0.75, "exact": pytest.approx(2 / 3, abs=1e-4), "wrong_kept": 1},
        {"min_confidence": 0.9, "kept": 0.5, "exact": 0.5, "wrong_kept": 1},
        {"min_confidence": 0.999, "kept": 0.0, "exact": None, "wrong_kept": 0},
    ]
    with pytest.raises(ValueError, match="one exact flag per confidence"):
        confidence_table([0.5], [])
