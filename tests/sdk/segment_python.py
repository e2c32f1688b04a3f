#!/usr/bin/env python3
"""Sends usage to Kizuna with Segment's official Python SDK (segment-analytics-python), unchanged
but for the host: identify, group, track, page, screen and alias, gzipped, through the SDK's own
batching, then flushes. Exits non-zero if the SDK reported any error.

Environment: KIZUNA_URL (the server), KIZUNA_WRITE_KEY (a write-scope API token).
"""

import os
import sys

import segment.analytics as analytics

errors = []


def on_error(error, items):
    errors.append("%s (%d messages)" % (error, len(items)))


analytics.write_key = os.environ["KIZUNA_WRITE_KEY"]
analytics.host = os.environ["KIZUNA_URL"]
analytics.gzip = True
analytics.on_error = on_error
analytics.max_retries = 1

analytics.identify("sdk-user-1", {"email": "hana@sdk.example", "name": "Hana Sato", "title": "Ops lead"})
analytics.group("sdk-user-1", "sdk-acct-1", {"name": "SDK Co", "industry": "Software", "employees": 42})
for n in range(25):
    analytics.track(
        "sdk-user-1",
        "Report Exported",
        {"format": "csv", "n": n},
        context={"groupId": "sdk-acct-1"},
    )
analytics.page("sdk-user-1", "Docs", "Getting started", {"path": "/docs"}, context={"groupId": "sdk-acct-1"})
analytics.screen("sdk-user-1", "App", "Dashboard", context={"groupId": "sdk-acct-1"})
analytics.alias("sdk-user-1", "sdk-anon-9")
analytics.flush()
analytics.shutdown()

if errors:
    print("SDK errors: " + "; ".join(errors), file=sys.stderr)
    sys.exit(1)
print("sent")
