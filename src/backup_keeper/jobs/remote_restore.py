"""A restore from a destination: the chain fetched into a new staging directory, proved and
decrypted there, then restored by the local restore job exactly as from a directory.

Why through staging: ^DBREST reads a file, and a file fetched, proved against its copy record
and, once decrypted, against the backup's own checksum is the only one worth handing to it.
Why the local job unchanged: its rules (never on a mirror primary, a map naming what to
restore, system databases never overwritten in place, the instance's backup history, file by
file with nothing between them, journals selected and redirected) are the restore; a second
copy of them would drift. Two of them are also asked before a byte is fetched (a mirror
primary, no map), so a refusal never costs a download; the local job asks them again.

A fetch or decrypt failure restores nothing and leaves no staging directory behind; after
the restore the staged chain (the databases' data, decrypted) is removed unless
``keep_staging`` asks otherwise.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path, PurePath

from backup_keeper.catalog.manifest import RemoteCopy
from backup_keeper.catalog.record import BackupRecord
from backup_keeper.clock import Clock, system_clock
from backup_keeper.destinations.open import StoreOpener, open_destination
from backup_keeper.destinations.remote_settings import RemoteRestoreSettings
from backup_keeper.destinations.store import DestinationError, RemoteStore
from backup_keeper.encryption import EncryptionError, WrongIdentity, identity_fingerprints
from backup_keeper.iris.port import IrisPort
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.faults import describe_fault
from backup_keeper.jobs.remote_restore_plan import RemotePlan, make_remote_restore_plan
from backup_keeper.jobs.restore import run_restore
from backup_keeper.notify import Notifier
from backup_keeper.offsite.download import create_staging, download_backup
from backup_keeper.offsite.pacing import Transfer
from backup_keeper.offsite.stored_sidecars import backup_name, object_name
from backup_keeper.progress import NO_PROGRESS, Progress
from backup_keeper.report import JobReport
from backup_keeper.safe_files import check_bare_name, directory_fd
from backup_keeper.settings import RestoreSettings

_PRIMARY = "refused: this is the mirror primary (restore on a copy instead)"
_NO_MAP = (
    "nothing to restore: no --map given. ^DBREST (EXTSELCT) restores only the databases the "
    "map names: give --map SOURCE=TARGET for each database to restore (SOURCE=SOURCE restores "
    "it in place)"
)


def run_remote_restore(
    settings: RemoteRestoreSettings,
    *,
    iris: IrisPort,
    clock: Clock = system_clock,
    opener: StoreOpener = open_destination,
    notifier: Notifier | None = None,
    progress: Progress = NO_PROGRESS,
    transfer: Transfer | None = None,
) -> JobReport:
    """``progress`` hears of each object fetched, then of what the local restore reports.
    ``transfer`` paces the fetches and retries passing trouble (default: the copy job's)."""
    where = settings.where
    report = lifecycle.begin(
        "restore",
        clock=clock,
        directories=[where],
        options=settings.model_dump(mode="json", exclude={"destination", "instance"}),
        iris=iris.adapter_name,
    )
    run = _Run(settings, iris, report, clock, progress, transfer or Transfer())
    return lifecycle.conclude(
        report, lambda: run.steps(opener), clock=clock, notifier=notifier, what="restore"
    )


class _Run:
    def __init__(
        self,
        settings: RemoteRestoreSettings,
        iris: IrisPort,
        report: JobReport,
        clock: Clock,
        progress: Progress,
        transfer: Transfer,
    ) -> None:
        self.settings, self.iris, self.report = settings, iris, report
        self.clock, self.progress, self.transfer = clock, progress, transfer
        self.where = report.directories[0]

    def steps(self, opener: StoreOpener) -> str:
        if self.iris.mirror().role == "primary":
            self.report.errors.append(_PRIMARY)
            return "restore refused on the mirror primary"
        if not self.settings.directory_map:
            self.report.errors.append(_NO_MAP)
            return "restore refused: " + _NO_MAP
        try:
            store = opener(self.settings.destination, self.settings.instance)
        except DestinationError as exc:
            self.report.errors.append(f"{self.where}: {exc}")
            return "restore not run: destination not reached"
        try:
            staged = self._stage(store)
        finally:
            store.close()
        if isinstance(staged, str):
            return staged
        try:
            return self._restore(staged)
        finally:
            if not self.settings.keep_staging:
                _discard(staged, self.report)

    # -- plan and fetch -------------------------------------------------------------------------

    def _stage(self, store: RemoteStore) -> Path | str:
        """The staging directory holding the whole chain, proved; or the summary of why not
        (and then no staging directory is left)."""
        try:
            remote = make_remote_restore_plan(
                store, at=self.settings.at, timezone=self.settings.timezone, now=self.report.started
            )
        except DestinationError as exc:
            self.report.errors.append(f"{self.where}: cannot list the backups: {exc}")
            return "restore not run: destination not read"
        plan = remote.plan
        self.report.restore = plan
        self.report.warnings += plan.warnings
        if not plan.ok:
            self.report.errors += plan.problems
            return "nothing restorable: " + (plan.problems[0] if plan.problems else "no backups")
        problems = self._identity_problems(remote)
        if problems:
            self.report.errors += problems
            return "restore not run: " + problems[0]
        try:
            staging = create_staging(self.settings.staging)
        except OSError as exc:
            self.report.errors.append(f"cannot make a staging directory: {describe_fault(exc)}")
            return "restore not run: no staging directory"
        failed = self._fetch(store, remote, staging)
        if failed is not None:
            _discard(staging, self.report)
            return failed
        return staging

    def _fetch(self, store: RemoteStore, remote: RemotePlan, staging: Path) -> str | None:
        chain = remote.chain()
        for number, record in enumerate(chain, start=1):
            try:
                result = download_backup(
                    store,
                    backup_name(record),
                    staging,
                    identity_file=self.settings.identity_file,
                    transfer=self.transfer,
                    progress=self.progress,
                )
            except WrongIdentity:
                self.report.errors.append(self._wrong_identity(record, remote))
            except DestinationError as exc:
                self.report.errors.append(f"{record.path}: {exc.kind}: {exc.message}")
            except (EncryptionError, ValueError) as exc:
                self.report.errors.append(f"{record.path}: {exc}")
            except OSError as exc:
                self.report.errors.append(f"{record.path}: {describe_fault(exc)}")
            else:
                self.report.warnings += result.notes
                self.report.checked.append(
                    f"fetched {record.path}: proved against its copy record"
                    + (", decrypted" if result.decrypted else "")
                    + ", and against the backup's checksum"
                )
                continue
            return (
                f"restore not run: fetching file {number} of {len(chain)} "
                f"({object_name(record)}) failed; nothing was restored"
            )
        return None

    def _identity_problems(self, remote: RemotePlan) -> list[str]:
        """Before any fetch: an encrypted copy with no identity, or one the identity's keys
        certainly cannot open (all its recipients age keys, none of them the identity's)."""
        encrypted = [
            (record, copy)
            for record in remote.chain()
            if isinstance(copy := remote.sidecars.copy_of(record), RemoteCopy)
            and copy.encryption == "age"
        ]
        if not encrypted:
            return []
        identity = self.settings.identity_file
        if identity is None:
            return [
                f"{record.path}: encrypted with age to {_listed(copy.recipients)}: give the "
                "identity file that holds one of their private keys"
                for record, copy in encrypted
            ]
        try:
            held = set(identity_fingerprints(identity))
        except EncryptionError as exc:
            return [f"identity file: {exc}"]
        return [
            self._wrong_identity(record, remote)
            for record, copy in encrypted
            if held
            and copy.recipients
            and all(r.startswith("age ") for r in copy.recipients)
            and not held & set(copy.recipients)
        ]

    def _wrong_identity(self, record: BackupRecord, remote: RemotePlan) -> str:
        copy = remote.sidecars.copy_of(record)
        recipients = copy.recipients if isinstance(copy, RemoteCopy) else []
        identity = self.settings.identity_file
        try:
            held = ", ".join(identity_fingerprints(identity)) if identity else ""
        except EncryptionError:
            held = "no key that can be read"
        held = held or "no age key (an ssh key's fingerprint: ssh-keygen -l -f KEY.pub)"
        return (
            f"{record.path}: the identity file {identity} cannot decrypt it: it was encrypted "
            f"to {_listed(recipients)}; the identity file holds {held}"
        )

    # -- restore --------------------------------------------------------------------------------

    def _restore(self, staging: Path) -> str:
        """The local restore job over the staged chain, its report folded into this one."""
        local = RestoreSettings(
            directories=[staging],
            at=self.settings.at,
            timezone=self.settings.timezone,
            directory_map=self.settings.directory_map,
            apply_journals=self.settings.apply_journals,
        )
        done = run_restore(local, iris=self.iris, clock=self.clock, progress=self.progress)
        self.report.restore = done.restore or self.report.restore
        self.report.checked += done.checked
        self.report.warnings += done.warnings
        self.report.errors += done.errors
        kept = f"; the staged chain is kept in {staging}" if self.settings.keep_staging else ""
        return f"{done.summary} (fetched from {self.where}){kept}"


def _listed(fingerprints: list[str]) -> str:
    return ", ".join(fingerprints) or "no recorded key"


def _discard(staging: Path, report: JobReport) -> None:
    """Remove the staging directory this job made and what is in it (every entry is one this
    job wrote: the directory was new and its owner's only); what cannot be removed is said."""
    try:
        with directory_fd(staging) as fd:
            for name in os.listdir(fd):  # noqa: PTH208 - names under the directory's descriptor
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(check_bare_name(name), dir_fd=fd)
        staging.rmdir()
    except OSError as exc:
        report.warnings.append(
            f"{staging}: the staging directory was not removed ({describe_fault(exc)}); "
            f"it may hold decrypted backup data: remove it by hand ({PurePath(staging).name})"
        )
