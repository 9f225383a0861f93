# IRIS community with iris-backup-keeper installed through IPM, the production set to start,
# the Task Manager schedule created (suspended: resume the tasks in the portal when ready).
ARG IMAGE=intersystemsdc/iris-community:latest
FROM ${IMAGE}
USER root
RUN mkdir -p /backups && chown irisowner:irisowner /backups
USER irisowner
WORKDIR /home/irisowner/dev
COPY --chown=irisowner:irisowner . .
RUN iris start IRIS \
 && iris merge IRIS merge.cpf \
 && iris session IRIS < iris.script \
 && iris stop IRIS quietly
