#!/usr/bin/python3
"""Plots an anomalypublish JSON-lines log: the score of every analysed frame over stream time, the threshold,
the alarm intervals and, given the conveyor's parts.csv, the frames that show a defect. Prints what a line
operator wants to know: which defective parts raised an alarm, and the alarms on good parts.

usage: plot_scores.py LOG.jsonl PLOT.png [--parts parts.csv] [--fps 10] [--trained-frames N]
Needs matplotlib (Debian: python3-matplotlib). Exit status 1 when the log holds no frame records."""
import argparse
import csv
import json
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path, fps):
    """Per analysed frame (video frame index, score, threshold, alarm), in stream order. Every record with a
    stream time is one analysed frame: "frame", or "begin"/"end" when the alarm changed at that frame (the "end"
    that closes an alarm at end of stream has no stream time)."""
    frames = []
    with open(path, encoding="utf-8") as log:
        for number, line in enumerate(log, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                sys.exit(f"{path}:{number}: not a JSON record ({error})")
            t = record.get("stream_time_ns")
            if t is None or record.get("score") is None:
                continue
            index = round(t * fps / 1e9)
            frames.append((index, record["score"], record["threshold"], bool(record["alarm"])))
    return frames


def read_parts(path):
    with open(path, encoding="utf-8") as table:
        return [{k: (v if k == "defect" else int(v)) for k, v in row.items()} for row in csv.DictReader(table)]


def intervals(indices):
    """Runs of consecutive frame indices as (first, last)."""
    runs = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return [tuple(r) for r in runs]


def report(alarms, parts, trained_frames):
    """Per defective part: did an alarm cover a frame showing its defect? Alarms that cover no defect are false."""
    def shows_defect(alarm, part):
        return alarm[0] <= part["defect_last_frame"] and alarm[1] >= part["defect_first_frame"]

    defects = [p for p in parts if p["defect"] != "good"]
    caught = [p for p in defects if any(shows_defect(a, p) for a in alarms)]
    false_alarms = [a for a in alarms if not any(shows_defect(a, p) for p in defects)]
    missed = [f"part {p['part']} ({p['defect']})" for p in defects if p not in caught]
    print(f"defective parts with an alarm: {len(caught)} of {len(defects)}"
          + (f"; missed: {', '.join(missed)}" if missed else ""))
    inspected = [a for a in false_alarms if a[1] >= trained_frames]
    print(f"alarms on good parts: {len(inspected)}"
          + (f" (frames {', '.join(f'{a}-{b}' for a, b in inspected)})" if inspected else "")
          + (f"; {len(false_alarms) - len(inspected)} more inside the training capture" if len(inspected) < len(false_alarms) else ""))


def plot(frames, alarms, parts, fps, trained_frames, path):
    seconds = [i / fps for i, *_ in frames]
    fig, ax = plt.subplots(figsize=(14, 4.5), dpi=100)
    if trained_frames:
        ax.axvspan(0, trained_frames / fps, color="0.9", label="captured for training (good start)")
    for n, p in enumerate(p for p in parts if p["defect"] != "good"):
        ax.axvspan(p["defect_first_frame"] / fps, (p["defect_last_frame"] + 1) / fps, ymin=0.93, ymax=1.0,
                   color="tab:orange", label="defect in view" if n == 0 else None)
        ax.text((p["defect_first_frame"] + p["defect_last_frame"]) / 2 / fps, 1.0, p["defect"], ha="center",
                va="bottom", fontsize=8, transform=ax.get_xaxis_transform())
    for n, (a, b) in enumerate(alarms):
        ax.axvspan(a / fps, (b + 1) / fps, color="tab:red", alpha=0.18, label="alarm" if n == 0 else None)
    ax.plot(seconds, [s for _, s, _, _ in frames], color="tab:blue", linewidth=1.2, label="image score")
    ax.plot(seconds, [t for _, _, t, _ in frames], color="black", linestyle="--", linewidth=1, label="threshold")
    ax.set_xlabel("stream time (s)")
    ax.set_ylabel("anomaly score")
    ax.set_xlim(0, (frames[-1][0] + 1) / fps)
    ax.legend(loc="upper left", fontsize=8, ncol=5, bbox_to_anchor=(0, -0.15))
    fig.tight_layout()
    fig.savefig(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log")
    parser.add_argument("plot")
    parser.add_argument("--parts", help="the conveyor's parts.csv (efficientad conveyor)")
    parser.add_argument("--fps", type=float, default=10.0, help="frame rate, to map stream time to frames")
    parser.add_argument("--trained-frames", type=int, default=0, help="frames of the training capture")
    args = parser.parse_args()
    frames = read_log(args.log, args.fps)
    if not frames:
        sys.exit(f"{args.log}: no frame records (was anomalypublish's 'when' set to alarms only?)")
    alarms = intervals([i for i, _, _, alarm in frames if alarm])
    parts = read_parts(args.parts) if args.parts else []
    print(f"{len(frames)} frames, {len(alarms)} alarms")
    if parts:
        report(alarms, parts, args.trained_frames)
    plot(frames, alarms, parts, args.fps, args.trained_frames, args.plot)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
