"""Alerting: turning a JobReport into events, and events into messages people read, through
the channels a site already uses. A channel that fails never changes or hides a job's outcome."""
