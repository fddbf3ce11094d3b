#!/usr/bin/python3
"""Image scores of an `efficientad eval --output DIR` run (DIR/eval.json) split by a group that the file names
carry, e.g. magnetic_tile's exposures (exp0..exp6): per group the good and defective images' mean score and the
image AUROC within the group, then the overall image AUROC as it is and with each score divided by the median good
score of its group. That last figure is an oracle (it uses the test set's good images), an upper bound for what
normalising the groups' difference away could give.

usage: tests/bench/scores_by_group.py EVAL_JSON [GROUP_REGEX (default: exp[0-9]+)]
"""
import json
import re
import statistics
import sys


def auroc(positives, negatives):
    """Probability that a defective image scores above a good one (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def mean(scores):
    return statistics.mean(scores) if scores else float("nan")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    pattern = re.compile(sys.argv[2] if len(sys.argv) == 3 else r"exp[0-9]+")
    try:
        with open(sys.argv[1]) as f:
            images = json.load(f)["images"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"{sys.argv[1]}: not an eval.json with per-image scores ({e})")
    groups = {}
    for image in images:
        match = pattern.search(image["path"])
        if not match:
            sys.exit(f"{image['path']}: no group matching {pattern.pattern} in the file name")
        good, defective = groups.setdefault(match.group(0), ([], []))
        (good if image["defect_type"] == "good" else defective).append(image["score"])
    print(f"{'group':8} {'good':>5} {'defect':>6} {'good mean':>10} {'defect mean':>12} {'AUROC within':>13}")
    for name in sorted(groups):
        good, defective = groups[name]
        print(f"{name:8} {len(good):5} {len(defective):6} {mean(good):10.3f} {mean(defective):12.3f}"
              f" {auroc(defective, good):13.3f}")
    all_good = [s for good, _ in groups.values() for s in good]
    all_defective = [s for _, defective in groups.values() for s in defective]
    print(f"overall image AUROC {auroc(all_defective, all_good):.3f}")
    medians = {name: statistics.median(good) for name, (good, _) in groups.items() if good}
    if len(medians) == len(groups) and all(m > 0 for m in medians.values()):
        scaled_good = [s / medians[n] for n, (good, _) in groups.items() for s in good]
        scaled_defective = [s / medians[n] for n, (_, defective) in groups.items() for s in defective]
        print(f"each score / its group's median good score (oracle): {auroc(scaled_defective, scaled_good):.3f}")
    else:
        print("oracle not computed: a group has no good image or a median good score of 0")


if __name__ == "__main__":
    main()
