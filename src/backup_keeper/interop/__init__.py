"""The Interoperability door (iris-pex-embedded-python 4.x): messages, business operations, a
scheduler service and the production. Operations translate a message into settings, make one
job call through ``backup_keeper.door`` and answer with the JobReport."""
