#!/usr/bin/env bash
# The real-IRIS suites in one command, the same that .github/workflows/iris.yml runs:
#
#   bash tools/e2e.sh
#
# Builds docker-compose.yml's stack (compose project "backup-keeper-e2e", so the stack of
# `docker compose up -d` is left alone; ports 1972 and 52773 must be free), waits until the
# container is healthy (IRIS up, BackupKeeper.Production running), grants /api/monitor the
# role of the BACKUPKEEPER database (the one manual step of README's Metrics section), then runs
# inside it the e2e suite (tests/e2e) and the contract suite on EmbeddedIris, and from this
# machine the contract suite on NativeIris. Whatever happens, the container log, messages.log
# and the backup transcripts (the .log files IRIS writes beside each .cbk) are copied to
# $ARTIFACTS, and the stack is removed (BACKUP_KEEPER_E2E_KEEP=1 keeps it).
#
# Needs: docker with the compose plugin (v2.17+ for --wait-timeout), python3 >= 3.11, and for
# the NativeIris run either root or sudo (IRIS writes the contract files as UID 51773; the run
# reads them back).
set -euo pipefail
cd "$(dirname "$0")/.."

ARTIFACTS=${BACKUP_KEEPER_E2E_ARTIFACTS:-e2e-artifacts}
CONTRACT_DIR=${BACKUP_KEEPER_CONTRACT_DIR:-/tmp/backup-keeper-contract}
DEPS=/home/irisowner/e2e-deps
export BACKUP_KEEPER_CONTRACT_DIR=$CONTRACT_DIR
compose=(docker compose -p backup-keeper-e2e -f docker-compose.yml -f tests/e2e/compose.contract.yml)

die() {
    echo "tools/e2e.sh: $*" >&2
    exit 2
}

command -v docker >/dev/null 2>&1 ||
    die "docker is not installed: this suite needs Docker with the compose plugin (and runs in CI: .github/workflows/iris.yml)"
docker compose version >/dev/null 2>&1 || die "the docker compose plugin (v2) is missing"
docker info >/dev/null 2>&1 || die "no Docker daemon answers (is it running, may this user use it?)"
command -v python3 >/dev/null 2>&1 || die "python3 (3.11 or newer) is needed for the NativeIris run"

collect() {
    mkdir -p "$ARTIFACTS/transcripts"
    "${compose[@]}" logs --no-color >"$ARTIFACTS/container.log" 2>&1 || true
    "${compose[@]}" cp iris:/usr/irissys/mgr/messages.log "$ARTIFACTS/messages.log" >/dev/null 2>&1 || true
    # Only the transcripts: the .cbk files are whole databases. "$1" is expanded by the
    # container's bash, not here.
    # shellcheck disable=SC2016
    "${compose[@]}" exec -T iris bash -c \
        'find /backups "$1" -name "*.log" -print0 | tar --null -cf - -T -' _ "$CONTRACT_DIR" 2>/dev/null |
        tar -xf - -C "$ARTIFACTS/transcripts" 2>/dev/null || true
}

finish() {
    local status=$?
    collect
    if [ -z "${BACKUP_KEEPER_E2E_KEEP:-}" ]; then
        "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    fi
    echo "tools/e2e.sh: artifacts in $ARTIFACTS; exit $status"
    exit "$status"
}

# The NativeIris run and IRIS share this directory at one path; IRIS (UID 51773) must write in it.
mkdir -p "$CONTRACT_DIR"
chmod 1777 "$CONTRACT_DIR"
trap finish EXIT

echo "+ build and start, wait until healthy"
"${compose[@]}" up -d --build --wait --wait-timeout 900

# The one step README's Metrics section leaves to the administrator: /api/monitor runs
# BackupKeeper.Metrics only with the role of the namespace's database among its application
# roles (an empty match role: always granted). Added to the pair with an empty match role that
# is there, else as a pair of its own; roles already there are kept, and a second run changes
# nothing. Security.Applications Get/Modify and the MatchRoles form: docs/iris-ledger.md.
echo "+ grant /api/monitor the role %DB_BACKUPKEEPER (README, Metrics)"
granted=$("${compose[@]}" exec -T iris iris session IRIS -U %SYS <<'OBJECTSCRIPT'
set app="/api/monitor", role="%DB_BACKUPKEEPER"
set sc=##class(Security.Applications).Get(app,.props), roles=$get(props("MatchRoles"))
set (have,out)="" for i=1:1:$length(roles,",") { set pair=$piece(roles,",",i) if pair'="",$piece(pair,":")="" { set:(pair_":")'[(":"_role_":") pair=pair_":"_role set have=1 } set:pair'="" out=out_$select(out="":"",1:",")_pair }
set:'have out=out_$select(out="":"",1:",")_":"_role
kill props set props("MatchRoles")=out
set:sc sc=##class(Security.Applications).Modify(app,.props)
write !,$select(sc:"granted: "_app_" MatchRoles="_out,1:"not granted: "_$system.Status.GetErrorText(sc)),!
halt
OBJECTSCRIPT
) || true
grep -x -E "granted: /api/monitor MatchRoles=.*:%DB_BACKUPKEEPER.*" <<<"$granted" ||
    die "could not grant /api/monitor the role %DB_BACKUPKEEPER: $granted"

echo "+ test dependencies into $DEPS (tests/e2e/requirements.txt)"
"${compose[@]}" exec -T iris irispython -m pip install --quiet --disable-pip-version-check \
    --target "$DEPS" -r tests/e2e/requirements.txt

# Runs irispython inside the container with the test dependencies on its path.
in_iris() {
    "${compose[@]}" exec -T -e PYTHONPATH="$DEPS" -e PYTHONDONTWRITEBYTECODE=1 \
        -e BACKUP_KEEPER_INSIDE_IRIS=1 "$@"
}

echo "+ e2e suite, inside the container"
in_iris -e BACKUP_KEEPER_E2E=1 iris irispython -m pytest -p no:cacheprovider -rs tests/e2e

echo "+ contract suite on EmbeddedIris, inside the container"
in_iris -e BACKUP_KEEPER_CONTRACT_DIR=/backups/contract -e BACKUP_KEEPER_CONTRACT_REQUIRE=embedded \
    iris irispython -m pytest -p no:cacheprovider -rs -k embedded tests/unit/iris/test_contract.py

echo "+ contract suite on NativeIris, from this machine"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
as_root=()
if [ "$(id -u)" != 0 ]; then
    as_root=(sudo)
fi
${as_root[@]+"${as_root[@]}"} env IRIS_HOST=localhost IRIS_PORT=1972 IRIS_NAMESPACE=BACKUPKEEPER \
    IRIS_USERNAME=_SYSTEM IRIS_PASSWORD=SYS BACKUP_KEEPER_CONTRACT_DIR="$CONTRACT_DIR" \
    BACKUP_KEEPER_CONTRACT_REQUIRE=native PYTHONDONTWRITEBYTECODE=1 \
    bash -c 'umask 000 && exec .venv/bin/python -m pytest -p no:cacheprovider -rs -k native tests/unit/iris/test_contract.py'
