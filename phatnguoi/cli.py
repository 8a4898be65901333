"""The ``phatnguoi`` command. Each sub-command group lives in ``phatnguoi/commands/<name>.py`` as a
click group called ``group`` and is imported only when used, so ``phatnguoi --help`` stays fast."""

from __future__ import annotations

import importlib

import click

# name -> (module, help). The module defines ``group`` (a click.Group or click.Command).
COMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("phatnguoi.commands.sim", "Traffic-scene simulator: render scenes, make data sets."),
    "eval": ("phatnguoi.commands.eval", "Measure the models: plate reader, detector."),
    "train": ("phatnguoi.commands.train", "Train the shipped models from simulator data."),
    "demo": ("phatnguoi.commands.demo", "Run the whole pipeline on one machine."),
    "worker": ("phatnguoi.commands.worker", "Run one pipeline worker (ingest, detection, cases, notices, web)."),
    "db": ("phatnguoi.commands.db", "Database: migrations."),
    "users": ("phatnguoi.commands.users", "User accounts."),
    "notices": ("phatnguoi.commands.notices", "Notices: the daily print batch for the post."),
    "cases": ("phatnguoi.commands.cases", "Back office: deadline job, PII key rotation."),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use from ``commands``:
    name -> (module, help); the module defines ``group``."""

    def __init__(self, *args: object, commands: dict[str, tuple[str, str]] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = COMMANDS if commands is None else commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.lazy)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return None
        module_name, _ = self.lazy[cmd_name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None
        command = module.group
        command.name = cmd_name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in sorted(self.lazy.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="phatnguoi")
def main() -> None:
    """phatnguoi: remote traffic fines (phạt nguội) from camera to closed case."""


if __name__ == "__main__":
    main()
