#!/usr/bin/env python3
"""A live per-camera table from anomalypublish records (JSON lines on stdin, e.g. from mosquitto_sub):

    mosquitto_sub -h BROKER -t 'efficientad/+/results' | examples/fleet_table.py

One row per source: frames seen, anomalous frames, whether its alarm is on, the last score and threshold, the
largest region of the last anomalous frame, and how long ago the source was last heard from.
"""
import json
import sys
import time


def main():
    rows = {}
    last_draw = 0.0
    for line in sys.stdin:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # not a record
        row = rows.setdefault(record.get("source", "?"), {"frames": 0, "anomalous": 0, "largest": "-"})
        row["frames"] += 1
        row["anomalous"] += 1 if record.get("anomalous") else 0
        row["alarm"] = "ALARM" if record.get("alarm") else "ok"
        row["score"] = record.get("score")
        row["threshold"] = record.get("threshold")
        row["seen"] = time.monotonic()
        if record.get("anomalous") and record.get("regions"):
            r = record["regions"][0]
            row["largest"] = "%dx%d at %d,%d" % (r["width"], r["height"], r["x"], r["y"])
        if time.monotonic() - last_draw > 0.5:
            last_draw = time.monotonic()
            draw(rows)
    draw(rows)


def draw(rows):
    out = ["%-14s %7s %9s %6s %8s %9s %-22s %s" % ("source", "frames", "anomalous", "alarm", "score", "threshold",
                                                     "largest region", "last seen")]
    now = time.monotonic()
    for source in sorted(rows):
        r = rows[source]
        score = "%.3f" % r["score"] if r["score"] is not None else "-"
        threshold = "%.3f" % r["threshold"] if r["threshold"] is not None else "-"
        out.append("%-14s %7d %9d %6s %8s %9s %-22s %.1f s ago" % (source, r["frames"], r["anomalous"], r["alarm"],
                                                                 score, threshold, r["largest"], now - r["seen"]))
    sys.stdout.write(("\033[H\033[J" if sys.stdout.isatty() else "\n") + "\n".join(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
