"""``phatnguoi eval``: accuracy of the shipped models."""


from phatnguoi.cli import LazyGroup

group = LazyGroup(
    name="eval",
    help="Measure the models and rules: plate reader, detector, scenes, speed.",
    commands={
        "plates": ("phatnguoi.commands.eval_plates", "Plate-reader exact match on a labelled folder."),
        "detector": ("phatnguoi.commands.eval_detector", "Detector mAP on the held-out simulator set."),
        "scenes": ("phatnguoi.commands.eval_scenes", "Per-rule precision/recall of the detection stage on sim scenes."),
        "speed": ("phatnguoi.commands.eval_speed", "Measured vs true speed of every timed vehicle: is sigma honest?"),
        "speeders": ("phatnguoi.commands.eval_speeders", "How near the fine threshold speeders drive."),
    },
)
