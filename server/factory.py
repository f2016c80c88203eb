"""The app as ``crm serve`` runs it: the scheduler in-process unless CRM_RUN_SCHEDULER=0."""

import os

from server.app import create_app

app = create_app(run_scheduler=os.environ.get("CRM_RUN_SCHEDULER", "0") == "1")
