"""The one Logger, Tracer and Metrics used by every function and module.

The service name comes from POWERTOOLS_SERVICE_NAME, which template.yaml sets per function: passing
`service=` here would override it and put every metric under one `service` dimension, out of reach
of the dashboard and alarms that select by function.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Onestop")
