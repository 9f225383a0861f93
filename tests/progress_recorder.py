"""A progress reporter that remembers every step, for tests that check what a job reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from backup_keeper.progress import Unit


@dataclass
class Step:
    task: str
    total: int | None
    unit: Unit
    done: int = 0
    finished: bool = False


@dataclass
class RecordingProgress:
    """Every step started, what was advanced in it, and whether it finished. Refuses what the
    interface forbids: advancing outside a step, starting one inside another."""

    steps: list[Step] = field(default_factory=list)

    def start(self, task: str, total: int | None, unit: Unit) -> None:
        assert not self.steps or self.steps[-1].finished, f"{task} started inside a step"
        self.steps.append(Step(task, total, unit))

    def advance(self, amount: int) -> None:
        assert self.steps and not self.steps[-1].finished, "advanced outside a step"
        assert amount >= 0
        self.steps[-1].done += amount

    def finish(self) -> None:
        assert self.steps and not self.steps[-1].finished, "finished twice"
        self.steps[-1].finished = True

    def named(self, prefix: str) -> list[Step]:
        return [s for s in self.steps if s.task.startswith(prefix)]
