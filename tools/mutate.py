#!/usr/bin/env python3
"""A small mutation pass over the safety-critical code: ``.venv/bin/python tools/mutate.py``.

Each mutation in :data:`MUTATIONS` replaces one exact piece of source (it must occur exactly
once in its file) with a plausible mistake: a flipped comparison, a dropped condition, an early
return, a removed call. One at a time, on a copy of ``src`` and ``tests`` in a temporary
directory (the working tree is never written), the mutation's tests run with a timeout; a
failing run kills the mutant, a green one lets it survive. The table printed at the end (and,
with ``--markdown FILE``, written as a Markdown table) says which test killed which mutant.

Not part of ``tools/check.py`` (it takes minutes); ``tests/unit/test_mutation_list.py`` checks
that every target below still exists, so the list cannot silently rot.

    tools/mutate.py                 run every mutation
    tools/mutate.py -k safety       only the mutations whose id contains "safety"
    tools/mutate.py --list          print the list, run nothing
    tools/mutate.py --check         exit 1 when a target is missing or ambiguous
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "src/backup_keeper/"
TIMEOUT = 300.0
"""Seconds one mutant's tests may take; a mutant that hangs them is counted as killed."""

CHAINS = ("tests/unit/catalog/test_chains.py", "tests/unit/retention", "tests/unit/restore")
RETENTION = (
    "tests/unit/retention",
    "tests/unit/purge/test_purge_properties.py",
    "tests/unit/jobs/test_purge.py",
)
FREEZE = (
    "tests/unit/jobs/test_freeze_hooks.py",
    "tests/unit/jobs/test_external_backup.py",
    "tests/unit/jobs/test_doctor.py",
    "tests/unit/jobs/test_iris_call_bounds.py",
    "tests/unit/test_freeze_marker.py",
)
REDACTION = ("tests/unit/alerts",)
PURGE = ("tests/unit/purge", "tests/unit/jobs/test_purge.py")


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str
    """Relative to ``src/backup_keeper/``."""
    old: str
    new: str
    tests: tuple[str, ...]

    @property
    def path(self) -> str:
        return PACKAGE + self.file


def m(id: str, file: str, old: str, new: str, tests: tuple[str, ...]) -> Mutation:
    return Mutation(id, file, old, new, tests)


MUTATIONS: tuple[Mutation, ...] = (
    # -- chain closure: what a backup needs to be restored -----------------------------------
    m(
        "chain-failed-backup-is-a-base",
        "catalog/chains.py",
        "if record.status not in usable:",
        "if False:",
        CHAINS,
    ),
    m(
        "chain-broken-parent-still-complete",
        "catalog/chains.py",
        "elif last_usable is None or not last_usable.chain_complete:",
        "elif last_usable is None:",
        CHAINS,
    ),
    m(
        "chain-incremental-needs-only-its-parent",
        "catalog/chains.py",
        "record.chain = last_usable.chain + (last_usable.path,)",
        "record.chain = (last_usable.path,)",
        CHAINS,
    ),
    m(
        "chain-cumulative-needs-no-full",
        "catalog/chains.py",
        "record.chain, record.chain_complete = (last_full.path,), True",
        "record.chain, record.chain_complete = (), True",
        CHAINS,
    ),
    m(
        "chain-missing-recorded-parent-ignored",
        "catalog/chains.py",
        "if parent and _backup_name(parent) not in names and record.chain_complete:",
        "if False:",
        CHAINS,
    ),
    m(
        "chain-last-usable-never-advances",
        "catalog/chains.py",
        "        last_usable = record\n",
        "        last_usable = last_usable or record\n",
        CHAINS,
    ),
    m(
        "closure-call-removed",
        "retention/plan.py",
        "    _close_chains(ledger)\n",
        "",
        RETENTION,
    ),
    m(
        "closure-keeps-only-the-full",
        "retention/plan.py",
        "        for base in record.chain:\n",
        "        for base in record.chain[:1]:\n",
        RETENTION,
    ),
    m(
        "closure-skips-the-newest-kept",
        "retention/plan.py",
        "for record in sorted(ledger.kept.values(), key=ORDER_KEY):",
        "for record in sorted(ledger.kept.values(), key=ORDER_KEY)[:-1]:",
        RETENTION,
    ),
    # -- safety floor: the newest completed full and what builds on it ------------------------
    m(
        "safety-floor-call-removed",
        "retention/plan.py",
        "    _apply_safety_floor(restorable, ledger)\n",
        "",
        RETENTION,
    ),
    m(
        "safety-floor-keeps-only-the-full",
        "retention/plan.py",
        "    for record in _built_on(restorable, newest):\n        ledger.keep(record, why)",
        "    for record in ():\n        ledger.keep(record, why)",
        RETENTION,
    ),
    m(
        "safety-floor-any-kind-is-a-full",
        "retention/plan.py",
        "        if record.kind.starts_chain:\n",
        "        if True:\n",
        RETENTION,
    ),
    m(
        "built-on-only-direct-children",
        "retention/plan.py",
        "if record.chain and record.chain[0] in paths:",
        "if record.chain and record.chain[-1] in paths:",
        RETENTION,
    ),
    # -- hold after failure ---------------------------------------------------------------
    m(
        "hold-never",
        "retention/plan.py",
        "held_back = bool(past) and not past[-1].status.usable and not "
        "policy.allow_purge_after_failure",
        "held_back = False",
        RETENTION,
    ),
    m(
        "hold-ignores-allow-purge-after-failure",
        "retention/plan.py",
        "held_back = bool(past) and not past[-1].status.usable and not "
        "policy.allow_purge_after_failure",
        "held_back = bool(past) and not past[-1].status.usable",
        RETENTION,
    ),
    m(
        "hold-failure-itself-not-kept",
        "retention/plan.py",
        "        _keep_the_failure_that_holds(past, ledger)\n",
        "        pass\n",
        RETENTION,
    ),
    m(
        "hold-planted-unreadable-hides-the-failure",
        "retention/plan.py",
        "readable = [r for r in past if r.status is not _UNREADABLE]",
        "readable = past",
        RETENTION,
    ),
    m(
        "hold-keeps-old-failures-too",
        "retention/plan.py",
        "if record.path not in ledger.reasons and record.path not in ledger.deletes:",
        "if record.path not in ledger.reasons:",
        RETENTION,
    ),
    m(
        "failures-judged-by-day-start",
        "retention/plan.py",
        "elif now - _latest_time(record) > limit:",
        "elif now - record.time > limit:",
        RETENTION,
    ),
    # -- always thaw, and markers only after a confirmed thaw -------------------------------
    m(
        "thaw-only-when-nothing-raised",
        "jobs/external_backup.py",
        "    finally:  # the thaw: whatever happened above, an exception or a BaseException "
        "included\n",
        "    except Exception:\n        raise\n    if True:\n",
        FREEZE,
    ),
    m(
        "thaw-not-verified",
        "jobs/freeze_recovery.py",
        'return "ExternalThaw returned but the write daemon is still suspended" if still else None',
        "return None",
        FREEZE,
    ),
    m(
        "thaw-unchecked-counts-as-thawed",
        "jobs/freeze_recovery.py",
        'return f"ExternalThaw returned but the write daemon could not be checked: {exc}"',
        "return None",
        FREEZE,
    ),
    m(
        "recovery-thaws-a-live-freeze",
        "jobs/freeze_recovery.py",
        "    if not marker.is_stale(now):\n",
        "    if False:\n",
        FREEZE,
    ),
    m(
        "recovery-thaws-under-a-running-backup",
        "jobs/freeze_recovery.py",
        "    if running_backup:\n",
        "    if False:\n",
        FREEZE,
    ),
    m(
        "recovery-releases-markers-after-a-failed-thaw",
        "jobs/freeze_recovery.py",
        "        console(iris, message, Severity.FATAL)\n        return\n    release_markers(",
        "        console(iris, message, Severity.FATAL)\n    release_markers(",
        FREEZE,
    ),
    m(
        "failed-freeze-releases-markers-while-frozen",
        "jobs/freeze_recovery.py",
        "        if not frozen:\n",
        "        if True:\n",
        FREEZE,
    ),
    m(
        "unanswered-freeze-treated-as-refused",
        "jobs/freeze_recovery.py",
        'if isinstance(failure, IrisTimeout) and failure.call == "external_freeze":',
        "if False:",
        FREEZE,
    ),
    m(
        "release-clears-another-runs-iris-marker",
        "jobs/freeze_recovery.py",
        "        if inside == marker:\n",
        "        if inside is not None:\n",
        FREEZE,
    ),
    m(
        "clear-removes-another-runs-marker",
        "freeze_marker.py",
        "    if current != ours:\n",
        "    if False:\n",
        FREEZE,
    ),
    m(
        "marker-of-a-live-process-is-stale",
        "freeze_marker.py",
        "            return not alive(self.pid)\n",
        "            return True\n",
        FREEZE,
    ),
    m(
        "snapshot-freezes-a-frozen-instance",
        "jobs/external_backup.py",
        "    if iris.is_frozen():\n        try:\n",
        "    if False:\n        try:\n",
        FREEZE,
    ),
    m(
        "hook-thaw-unverified-releases",
        "jobs/freeze_hooks.py",
        '    if why is not None:\n        message = f"CRITICAL: the instance may still be frozen',
        '    if False:\n        message = f"CRITICAL: the instance may still be frozen',
        FREEZE,
    ),
    # -- redaction ----------------------------------------------------------------------
    m(
        "redact-nothing-in-records",
        "alerts/secrets.py",
        "record.msg, record.args = self.scrub(message), None",
        "record.msg, record.args = message, None",
        REDACTION,
    ),
    m(
        "redact-only-long-secrets",
        "alerts/secrets.py",
        "MIN_SECRET_LENGTH = 4\n",
        "MIN_SECRET_LENGTH = 40\n",
        REDACTION,
    ),
    m(
        "redact-no-decoded-forms",
        "alerts/secrets.py",
        "plain = {value, unquote(value), unquote_plus(value)}",
        "plain = {value}",
        REDACTION,
    ),
    m(
        "redact-no-encoded-forms",
        "alerts/secrets.py",
        'return plain | {quote(v, safe="") for v in plain} | {quote_plus(v, safe="") for v in '
        "plain}",
        "return plain",
        REDACTION,
    ),
    m(
        "redact-no-base64",
        "alerts/secrets.py",
        "whole |= _forms(value) | {base64.b64encode(value.encode()).decode()}",
        "whole |= _forms(value)",
        REDACTION,
    ),
    m(
        "redact-urls-left-whole",
        "alerts/secrets.py",
        "    text = _URL.sub(_scrub_url, text)\n",
        "",
        REDACTION,
    ),
    m(
        "redact-tracebacks-left-raw",
        "alerts/secrets.py",
        "        if record.exc_text:\n",
        "        if False:\n",
        REDACTION,
    ),
    m(
        "redact-stack-left-raw",
        "alerts/secrets.py",
        "        if record.stack_info:\n",
        "        if False:\n",
        REDACTION,
    ),
    m(
        "redact-shorter-secret-first",
        "alerts/secrets.py",
        'alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))',
        'alternatives = "|".join(re.escape(v) for v in sorted(values, key=len))',
        REDACTION,
    ),
    m(
        "redact-token-host-shown",
        "alerts/secrets.py",
        "    if _shown_host(host) == REDACTED:\n        parts.add(host)\n",
        "",
        REDACTION,
    ),
    m(
        "redact-no-filter-on-handlers",
        "alerts/secrets.py",
        "    for handler in logging.getLogger().handlers:\n        handler.addFilter(_PROCESS)\n",
        "",
        REDACTION,
    ),
    # -- intent recovery ----------------------------------------------------------------
    m(
        "intent-name-any-suffix",
        "purge/intent.py",
        "    if not name.endswith(BACKUP_SUFFIXES):\n",
        "    if False:\n",
        PURGE,
    ),
    m(
        "intent-name-not-bare",
        "purge/intent.py",
        "    check_bare_name(name)\n    if not name.endswith(BACKUP_SUFFIXES):\n",
        "    if not name.endswith(BACKUP_SUFFIXES):\n",
        PURGE,
    ),
    m(
        "intent-foreign-companions-accepted",
        "purge/intent.py",
        "        if foreign:\n",
        "        if False:\n",
        PURGE,
    ),
    m(
        "intent-unreadable-is-absent",
        "purge/intent.py",
        "    except OSError as exc:\n        raise IntentError(",
        "    except OSError as exc:\n        return None\n        raise IntentError(",
        PURGE,
    ),
    m(
        "intent-invalid-is-absent",
        "purge/intent.py",
        "    except ValidationError as exc:\n        raise IntentError(",
        "    except ValidationError as exc:\n        return None\n        raise IntentError(",
        PURGE,
    ),
    m(
        "intent-only-uncompressed-form-seen",
        "purge/intent.py",
        '    return (original, original + ".zst")\n',
        "    return (original,)\n",
        PURGE,
    ),
    m(
        "leftovers-of-a-present-backup-deleted",
        "purge/executor.py",
        "    if present:\n",
        "    if False:\n",
        PURGE,
    ),
    m(
        "leftovers-unlookable-name-is-gone",
        "purge/executor.py",
        "    except OSError:\n        return True\n    return True\n",
        "    except OSError:\n        return False\n    return True\n",
        PURGE,
    ),
    m(
        "leftovers-any-name",
        "purge/executor.py",
        "    if not _deletable(name):\n        outcome.errors.append(",
        "    if False:\n        outcome.errors.append(",
        PURGE,
    ),
    m(
        "intent-blocked-directory-purged",
        "jobs/purge.py",
        "targets = {d: records for d, records in targets.items() if d not in blocked}",
        "targets = dict(targets)",
        PURGE,
    ),
    m(
        "intent-not-written-before-deleting",
        "jobs/purge.py",
        "            _write_intents(targets, interrupted.leftovers, now)\n",
        "            pass\n",
        PURGE,
    ),
    m(
        "intent-cleared-despite-failures",
        "jobs/purge.py",
        "        if left:\n",
        "        if False:\n",
        PURGE,
    ),
    # -- executor checks ----------------------------------------------------------------
    m(
        "executor-unmanaged-deleted",
        "purge/executor.py",
        "        if record.source is _UNMANAGED:\n",
        "        if False:\n",
        PURGE,
    ),
    m(
        "executor-any-name-in-a-directory",
        "purge/executor.py",
        "if directory is None or (plain(name) is None and not _deletable(name)):",
        "if directory is None:",
        PURGE,
    ),
    m(
        "executor-foreign-companion-deleted",
        "purge/executor.py",
        "if c.startswith(prefix) and c[cut:] in own)",
        "if c.startswith(prefix))",
        PURGE,
    ),
    m(
        "executor-lone-companion-any-name",
        "purge/executor.py",
        "(companions[0] == path + _SIDECAR or companions[0] == path[:-4] + _LOG)",
        "True",
        PURGE,
    ),
    m(
        "executor-lone-companion-any-directory",
        "purge/executor.py",
        "companions[0] == path + _SIDECAR or",
        'companions[0].endswith("/" + name + _SIDECAR) or',
        PURGE,
    ),
    m(
        "executor-dry-run-names-only-the-backup",
        "purge/executor.py",
        "        for path in _in_deletion_order(record.companions):\n            add(",
        "        for path in ():\n            add(",
        PURGE,
    ),
    m(
        "executor-mtime-change-ignored",
        "purge/executor.py",
        "if st.st_size != target.size or st.st_mtime_ns != target.mtime_ns:",
        "if st.st_size != target.size:",
        PURGE,
    ),
    m(
        "executor-non-regular-file-deleted",
        "purge/executor.py",
        "    if not stat.S_ISREG(st.st_mode):\n",
        "    if False:\n",
        PURGE,
    ),
    m(
        "executor-companion-not-checked-regular",
        "purge/executor.py",
        "if name != target.name and not _is_regular(dir_fd, name):",
        "if False:",
        PURGE,
    ),
    m(
        "executor-companions-go-when-backup-stays",
        "purge/executor.py",
        "            if name == target.name:\n                break",
        "            if False:\n                break",
        PURGE,
    ),
    m(
        "executor-backup-deleted-last",
        "purge/executor.py",
        "return [target.name, *_in_deletion_order(target.companions)]",
        "return [*_in_deletion_order(target.companions), target.name]",
        PURGE,
    ),
    m(
        "executor-directory-symlink-followed",
        "purge/executor.py",
        "os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC",
        "os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC",
        PURGE,
    ),
    m(
        "executor-dry-run-deletes",
        "purge/executor.py",
        "            if dry_run:\n                _say_what_would_go(",
        "            if False:\n                _say_what_would_go(",
        PURGE,
    ),
)


def problems(root: Path = ROOT) -> list[str]:
    """Why the list does not fit the source under ``root``: unknown files, targets that are
    gone or ambiguous, no-op mutations, duplicate ids, missing test paths."""
    found: list[str] = []
    ids = [mutation.id for mutation in MUTATIONS]
    found += [f"duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for mutation in MUTATIONS:
        source = root / mutation.path
        if not source.is_file():
            found.append(f"{mutation.id}: no file {mutation.path}")
            continue
        count = source.read_text().count(mutation.old)
        if count != 1:
            found.append(f"{mutation.id}: target occurs {count} times in {mutation.path}")
        if mutation.old == mutation.new:
            found.append(f"{mutation.id}: changes nothing")
        found += [
            f"{mutation.id}: no test path {t}" for t in mutation.tests if not (root / t).exists()
        ]
    return found


def line_of(mutation: Mutation, root: Path = ROOT) -> int:
    text = (root / mutation.path).read_text()
    return text[: text.index(mutation.old)].count("\n") + 1


@dataclass
class Result:
    mutation: Mutation
    line: int
    killed: bool
    by: str
    seconds: float


def copy_tree(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("src", "tests"):
        shutil.copytree(ROOT / part, target / part, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", target / "pyproject.toml")


def run_tests(copy: Path, tests: tuple[str, ...], timeout: float) -> tuple[bool, str]:
    """(passed, the first failing test or why the run failed)."""
    env = {**os.environ, "PYTHONPATH": str(copy / "src"), "CI": "1"}
    env.pop("BACKUP_KEEPER_FAKE_STATE", None)
    argv = [sys.executable, "-m", "pytest", "-x", "-q", "-rf", "-p", "no:cacheprovider", *tests]
    with subprocess.Popen(
        argv,
        cwd=copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return False, f"(timed out after {timeout:g} s)"
    if process.returncode == 0:
        return True, ""
    failed = re.search(r"^FAILED (\S+)", output, re.MULTILINE)
    if failed:
        return False, failed[1]
    error = re.search(r"^ERROR (\S+)", output, re.MULTILINE)
    return False, error[1] if error else f"(pytest exited {process.returncode})"


def check_copy_is_used(copy: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    where = subprocess.run(
        [sys.executable, "-c", "import backup_keeper; print(backup_keeper.__file__)"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(where).is_relative_to(copy):
        sys.exit(f"the copy is not what the tests import ({where}); nothing was run")


def run(selected: list[Mutation], timeout: float) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="backup-keeper-mutants-") as temp:
        copy = Path(temp)
        copy_tree(copy)
        check_copy_is_used(copy)
        for tests in sorted({m.tests for m in selected}):
            passed, by = run_tests(copy, tests, timeout)
            if not passed:
                sys.exit(f"the unmutated tests fail ({by}): fix them before a mutation pass")
        for mutation in selected:
            source = copy / mutation.path
            original = source.read_text()
            line = line_of(mutation)
            started = time.monotonic()
            try:
                source.write_text(original.replace(mutation.old, mutation.new, 1))
                passed, by = run_tests(copy, mutation.tests, timeout)
            finally:
                source.write_text(original)
            result = Result(mutation, line, not passed, by, time.monotonic() - started)
            results.append(result)
            verdict = "killed" if result.killed else "SURVIVED"
            print(f"{verdict:8} {mutation.id} ({result.seconds:.0f} s) {by}", flush=True)
    return results


def table(results: list[Result]) -> str:
    rows = [
        "| mutation | file:line | outcome | killed by |",
        "|---|---|---|---|",
    ]
    for r in results:
        where = f"{r.mutation.file}:{r.line}"
        outcome = "killed" if r.killed else "**survived**"
        rows.append(f"| {r.mutation.id} | {where} | {outcome} | {r.by.replace('|', '/')} |")
    killed = sum(r.killed for r in results)
    rows.append("")
    rows.append(f"{killed} of {len(results)} mutants killed.")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="pattern", default="", help="only ids containing this")
    parser.add_argument("--list", action="store_true", help="print the mutations, run nothing")
    parser.add_argument("--check", action="store_true", help="check the list against the source")
    parser.add_argument("--timeout", type=float, default=TIMEOUT)
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    wrong = problems()
    if wrong:
        print("\n".join(wrong), file=sys.stderr)
        return 1
    if args.check:
        print(f"{len(MUTATIONS)} mutations, every target found once")
        return 0
    selected = [mutation for mutation in MUTATIONS if args.pattern in mutation.id]
    if args.list:
        for mutation in selected:
            print(f"{mutation.id:50} {mutation.file}:{line_of(mutation)}")
        return 0
    text = table(run(selected, args.timeout))
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
