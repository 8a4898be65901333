"""``phatnguoi train``: retrain the shipped models from simulator data."""

from phatnguoi.cli import LazyGroup

group = LazyGroup(
    name="train",
    help="Train the shipped models from simulator data (long).",
    commands={
        "plates": ("phatnguoi.commands.train_plates", "Train the plate reader (fast-plate-ocr)."),
        "detector": ("phatnguoi.commands.train_detector", "Train the vehicle/plate detector (YOLO)."),
    },
)
