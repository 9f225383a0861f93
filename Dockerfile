# IRIS community with iris-backup-keeper installed through IPM, BackupKeeper.Production set to
# start with the instance, the Task Manager schedule created (suspended: resume the tasks in the
# portal when ready).
#
# The image is pinned by version, never :latest. The code needs Python >= 3.11: IRIS 2024.1
# containers ship Python 3.10; the 2025.3 community images run Ubuntu 24.04 with its Python 3.12.3
# (a public bug report of 2026-06 lists the IRIS for Health community image 2025.3 as Build 226U,
# Ubuntu 24.04.3, Python 3.12.3, embedded Python working; it also reports the 2025.1 community
# image no longer starting, its licence expired, and in-process embedded Python crashing on
# 2026.1/2026.2 under Docker Desktop on WSL2). Public compose files and CI jobs pin this same tag
# (intersystemsdc/iris-community:2025.3), one reporting that an embedded-Python build which
# segfaults on a newer image completes on it. Community images carry a time-limited licence, so
# an old pin eventually stops starting: move this tag forward, and the same tag in docker-compose.yml and
# .github/workflows/iris.yml (tests/cls/test_container.py keeps the three equal).
ARG IMAGE=intersystemsdc/iris-community:2025.3
FROM ${IMAGE}

# What the InterSystems templates and IoP's own image set for irispython and the iop command:
# IRISNAMESPACE is the namespace an irispython process starts in (ours, IRIS_NAMESPACE, is only
# read by the NativeIris adapter on a remote client); IRISUSERNAME/IRISPASSWORD are the community
# image's default account (change it). LD_LIBRARY_PATH names the IRIS bin directory alone: an
# empty entry would add the working directory to the library search path.
ENV IRISNAMESPACE=BACKUPKEEPER \
    IRISUSERNAME=_SYSTEM \
    IRISPASSWORD=SYS \
    LD_LIBRARY_PATH=${ISC_PACKAGE_INSTALLDIR}/bin \
    PATH=/home/irisowner/.local/bin:${ISC_PACKAGE_INSTALLDIR}/bin:${PATH}

# IRIS runs as irisowner (UID 51773) and owns nothing as root. /backups is created here owned by
# irisowner: a new named volume mounted there (docker-compose.yml) takes the ownership of the
# image's directory, so IRIS can write to it on a Linux host. A bind mount would not: the host
# directory keeps its owner (README: "The two commands").
USER root
RUN mkdir -p /backups && chown irisowner:irisowner /backups
USER irisowner

WORKDIR /home/irisowner/dev
COPY --chown=irisowner:irisowner . .

# Start IRIS, create the BACKUPKEEPER database and interoperability namespace (merge.cpf), load
# the module through IPM and set the production to start with the instance (iris.script), stop.
RUN iris start IRIS \
 && iris merge IRIS merge.cpf \
 && iris session IRIS < iris.script \
 && iris stop IRIS quietly
